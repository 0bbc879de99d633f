// The meta's periodic work on real timers: the failure-detector check (fd_check_interval_seconds),
// the guardian's sweep over every partition (lb_interval_ms), the cold backups
// (backup_check_interval_ms) and the bulk loads (bulk_load_request_interval_ms). The state's own logic stays
// timer-free; this is the thin I/O shell around it.
import { log } from '../base/index.ts';
import { backupCheckIntervalMs } from './backup/flags.ts';
import { bulkLoadRequestIntervalMs } from './bulk-load/flags.ts';
import { lbIntervalMs } from './flags.ts';
import type { MetaServerState } from './server-state.ts';

export interface MetaBackgroundOptions {
  /** Default: the failure detector's check interval. */
  checkNodesIntervalMs?: number;
  /** Default: lb_interval_ms. */
  checkAllIntervalMs?: number;
  onError?: (what: string, error: unknown) => void;
  /** While true, runs are skipped (the state store cannot be written, e.g. ZooKeeper is away). */
  paused?: () => boolean;
}

/** Starts the timers; returns a function that stops them. A run never overlaps the previous one. */
export function startMetaBackgroundWork(state: MetaServerState, options: MetaBackgroundOptions = {}): () => void {
  const onError = options.onError ?? ((what, error) => log.error({ err: error }, `meta background work failed: ${what}`));
  const timers: NodeJS.Timeout[] = [];
  const every = (what: string, intervalMs: number, work: () => Promise<unknown>): void => {
    let running = false;
    const timer = setInterval(() => {
      if (running || options.paused?.()) return;
      running = true;
      work()
        .catch((error: unknown) => onError(what, error))
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    timer.unref();
    timers.push(timer);
  };
  every('check nodes', options.checkNodesIntervalMs ?? state.failureDetector.options.checkIntervalMs, () => state.checkNodes());
  every('check all partitions', options.checkAllIntervalMs ?? lbIntervalMs.value, () => state.checkAllPartitions());
  every('cold backups', backupCheckIntervalMs.value, () => state.tickBackups());
  every('bulk loads', bulkLoadRequestIntervalMs.value, async () => state.tickBulkLoads());
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
