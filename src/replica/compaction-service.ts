// A replica's compactions, the I/O shell around the manual-compaction core (manual-compact.ts):
// it evaluates the table's `manual_compact.*` envs when they arrive and on a periodic check, waits
// for one of the server's slots for the table (`max_concurrent_running_count`), runs the store's
// compaction pass and records the finish time in the store. The pass does what Pegasus's
// compaction filter does: it drops expired records, gives records without a TTL the table's
// `default_ttl`, drops stale keys after a split (`replica.split.validate_partition_hash`) and
// applies the `user_specified_compaction` operations. Between manual compactions the same pass
// runs as a sweep every `ttl_reclaim_interval_seconds`, standing in for RocksDB's automatic
// compactions, which run the filter in Pegasus: LevelDB has no filter, so without the sweep a
// record that expired would stay on disk until the next manual compaction.
import { log, type Gpid } from '../base/index.ts';
import { gpidText, type ManualCompactStatus } from '../cluster/index.ts';
import { defineFlag } from '../config/index.ts';
import { defineMetric, type MetricEntity } from '../metrics/index.ts';
import type { CompactOptions, CompactStats, ReplicaStore } from '../storage/index.ts';
import {
  ManualCompactCore, localDateTime, staleSplitKeyPredicate, type CompactRequest, type CompactStateReport,
} from './manual-compact.ts';
import {
  ENV_USER_SPECIFIED_COMPACTION, applyUserOperations, parseUserSpecifiedCompaction, type UserCompactionOperation,
} from './user-specified-compaction.ts';

export const manualCompactMinIntervalSeconds = defineFlag({
  section: 'pegasus.server',
  name: 'manual_compact_min_interval_seconds',
  type: 'FV_INT32',
  default: 0,
  description: 'minimal interval time in seconds to start a new manual compaction, <= 0 means no interval limit',
  mutable: true,
});

export const ttlReclaimIntervalSeconds = defineFlag({
  section: 'pegasus.server',
  name: 'ttl_reclaim_interval_seconds',
  type: 'FV_UINT32',
  default: 3600,
  description: 'How often each replica sweeps records whose TTL expired off disk (skipped while the table\'s usage scenario is bulk_load); 0 turns the sweep off',
  mutable: true,
});

/** How often the envs are looked at again, so `periodic` trigger times are caught between config syncs. */
export const COMPACTION_CHECK_INTERVAL_MS = 10_000;

/** The server-wide slot key of the TTL sweeps: one replica sweeps at a time. */
const TTL_SWEEP_SLOT = 'ttl-sweep';
const TTL_SWEEP_SLOTS = 1;

const queuedTasksMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_manual_compact_queued_tasks', unit: 'Tasks',
  desc: 'The number of current queued tasks of rocksdb manual compaction',
});
const runningTasksMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_manual_compact_running_tasks', unit: 'Tasks',
  desc: 'The number of current running tasks of rocksdb manual compaction',
});
const lastFinishTimeMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_manual_compact_last_finish_time_ms', unit: 'MilliSeconds',
  desc: 'When the last manual compaction finished, in milliseconds since the Unix epoch (0: never)',
});
const bytesBeforeMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_manual_compact_last_disk_bytes_before', unit: 'Bytes',
  desc: 'The bytes the replica\'s database took on disk when the last manual compaction started',
  prometheus: { name: 'rdb_manual_compact_last_disk_before' },
});
const bytesAfterMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_manual_compact_last_disk_bytes_after', unit: 'Bytes',
  desc: 'The bytes the replica\'s database took on disk when the last manual compaction finished',
  prometheus: { name: 'rdb_manual_compact_last_disk_after' },
});
const expiredDroppedMetric = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'rdb_compaction_dropped_expired_records', unit: 'Keys',
  desc: 'The number of expired records the manual compactions and TTL sweeps dropped',
});

interface SlotWaiter {
  key: string;
  limit: () => number;
  grant: (granted: boolean) => void;
}

/** A slot asked for: `granted` resolves true when it is held, false when cancelled first. */
export interface SlotRequest {
  readonly granted: Promise<boolean>;
  cancel(): void;
  /** Gives the slot back (after it was granted). */
  release(): void;
}

/**
 * A server's compaction slots, counted per key (a table's manual compactions, the TTL sweeps).
 * Waiters are served first come first served while fewer than their limit run.
 */
export class CompactionSlots {
  private readonly runningByKey = new Map<string, number>();
  private readonly waiters: SlotWaiter[] = [];

  running(key: string): number {
    return this.runningByKey.get(key) ?? 0;
  }

  acquire(key: string, limit: () => number): SlotRequest {
    let settled = false;
    let held = false;
    let waiter: SlotWaiter | undefined;
    const granted = new Promise<boolean>((resolve) => {
      waiter = {
        key,
        limit,
        grant: (value) => {
          settled = true;
          held = value;
          resolve(value);
        },
      };
    });
    this.waiters.push(waiter!);
    this.pump();
    return {
      granted,
      cancel: () => {
        if (settled) return;
        this.waiters.splice(this.waiters.indexOf(waiter!), 1);
        waiter!.grant(false);
      },
      release: () => {
        if (!held) return;
        held = false;
        this.runningByKey.set(key, this.running(key) - 1);
        this.pump();
      },
    };
  }

  /** Grants what the limits allow now (also after a limit was raised). */
  pump(): void {
    for (let index = 0; index < this.waiters.length;) {
      const waiter = this.waiters[index]!;
      if (this.running(waiter.key) < waiter.limit()) {
        this.waiters.splice(index, 1);
        this.runningByKey.set(waiter.key, this.running(waiter.key) + 1);
        waiter.grant(true);
      } else {
        index += 1;
      }
    }
  }
}

/** What the service reads of its replica's table, current at each call. */
export interface CompactionTable {
  envs: Readonly<Record<string, string>>;
  partitionCount: number;
  defaultTtlSeconds: number;
  splitValidatePartitionHash: boolean;
}

export interface CompactionServiceOptions {
  gpid: Gpid;
  slots: CompactionSlots;
  /** The replica's metric entity. */
  entity: MetricEntity;
  table: () => CompactionTable;
  clockMs?: () => number;
}

export class CompactionService {
  private readonly core = new ManualCompactCore();
  private readonly gpid: Gpid;
  private readonly slots: CompactionSlots;
  private readonly table: () => CompactionTable;
  private readonly clockMs: () => number;
  private readonly bytesBefore;
  private readonly bytesAfter;
  private readonly expiredDropped;
  private store: ReplicaStore | undefined;
  /** The replica's compactions run one after another (a manual one waits for a sweep). */
  private jobs: Promise<void> = Promise.resolve();
  private pendingJobs = 0;
  /** The slots asked for and not granted yet, by what asked: cancelled on close (and the manual one when compaction is disabled). */
  private readonly waitingSlots = new Map<'manual' | 'sweep', SlotRequest>();
  private nextCheckMs = 0;
  private nextSweepMs = 0;
  private closed = false;
  /** The `user_specified_compaction` env last parsed, and its operations. */
  private userOperations: { text: string | undefined; operations: UserCompactionOperation[] } = { text: undefined, operations: [] };

  constructor(options: CompactionServiceOptions) {
    this.gpid = options.gpid;
    this.slots = options.slots;
    this.table = options.table;
    this.clockMs = options.clockMs ?? Date.now;
    const { entity } = options;
    entity.gauge(queuedTasksMetric).sampleWith(() => (this.core.queued ? 1 : 0));
    entity.gauge(runningTasksMetric).sampleWith(() => (this.core.running ? 1 : 0));
    entity.gauge(lastFinishTimeMetric).sampleWith(() => this.core.lastFinishTimeMs);
    this.bytesBefore = entity.gauge(bytesBeforeMetric);
    this.bytesAfter = entity.gauge(bytesAfterMetric);
    this.expiredDropped = entity.counter(expiredDroppedMetric);
  }

  /** The store is open: restores the last finish time and looks at the envs. */
  async open(store: ReplicaStore): Promise<void> {
    this.core.restoreLastFinish(await store.lastManualCompactFinishTimeMs());
    if (this.closed) return;
    this.store = store;
    const now = this.clockMs();
    this.nextSweepMs = now + ttlReclaimIntervalSeconds.value * 1000;
    this.onEnvs(now);
  }

  status(): ManualCompactStatus {
    return this.core.status();
  }

  report(): CompactStateReport {
    return this.core.report(localDateTime);
  }

  /** The table's envs arrived (config sync, proposal, open): queues a manual compaction if one is due. */
  onEnvs(nowMs: number = this.clockMs()): void {
    if (this.store === undefined || this.closed) return;
    this.nextCheckMs = nowMs + COMPACTION_CHECK_INTERVAL_MS;
    const verdict = this.core.evaluate(this.table().envs, nowMs, manualCompactMinIntervalSeconds.value);
    if (this.core.disabled) this.waitingSlots.get('manual')?.cancel();
    // A raised max_concurrent_running_count lets waiting compactions start.
    this.slots.pump();
    if (typeof verdict === 'string') return;
    log.info({ gpid: gpidText(this.gpid), rule: verdict.rule, ...verdict.settings }, 'manual compaction queued');
    this.enqueueJob(() => this.runManual(verdict));
  }

  /** The replica's clock tick: the periodic env check and the TTL sweep when due. */
  tick(nowMs: number): void {
    if (this.store === undefined || this.closed) return;
    if (nowMs >= this.nextCheckMs) this.onEnvs(nowMs);
    const intervalMs = ttlReclaimIntervalSeconds.value * 1000;
    if (intervalMs === 0 || nowMs < this.nextSweepMs || this.pendingJobs > 0 || this.core.queued) return;
    // The analogue of RocksDB's disable_auto_compactions under the bulk_load scenario.
    if (this.table().envs['rocksdb.usage_scenario'] === 'bulk_load') return;
    this.nextSweepMs = nowMs + intervalMs;
    this.enqueueJob(() => this.runSweep());
  }

  /** Resolves once every compaction queued so far has ended. */
  async idle(): Promise<void> {
    while (this.pendingJobs > 0) await this.jobs;
  }

  /** Drops a queued compaction and waits for a running one to stop (the store closing under it ends it). */
  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.waitingSlots.values()) slot.cancel();
    await this.jobs;
  }

  private enqueueJob(job: () => Promise<void>): void {
    this.pendingJobs += 1;
    this.jobs = this.jobs.then(job).catch((error: unknown) => {
      log.warn({ gpid: gpidText(this.gpid), err: (error as Error).message }, 'compaction failed');
    }).finally(() => {
      this.pendingJobs -= 1;
    });
  }

  /** The compaction pass with what the table asks for now. */
  private compactOptions(): CompactOptions {
    const table = this.table();
    const stale = table.splitValidatePartitionHash ? staleSplitKeyPredicate(this.gpid.partitionIndex, table.partitionCount) : undefined;
    const userText = table.envs[ENV_USER_SPECIFIED_COMPACTION];
    if (userText !== this.userOperations.text) {
      this.userOperations = { text: userText, operations: userText === undefined ? [] : parseUserSpecifiedCompaction(userText) };
    }
    const { operations } = this.userOperations;
    return {
      defaultTtlSeconds: table.defaultTtlSeconds,
      ...(stale && { drop: (record) => stale(record.key) }),
      ...(operations.length > 0 && { userOperations: (record, now) => applyUserOperations(operations, record, now) }),
    };
  }

  private async waitForSlot(purpose: 'manual' | 'sweep', key: string, limit: () => number): Promise<SlotRequest | undefined> {
    if (this.closed) return undefined;
    const slot = this.slots.acquire(key, limit);
    this.waitingSlots.set(purpose, slot);
    const granted = await slot.granted;
    this.waitingSlots.delete(purpose);
    if (!granted) return undefined;
    if (this.closed) {
      slot.release();
      return undefined;
    }
    return slot;
  }

  private async runManual(request: CompactRequest): Promise<void> {
    const store = this.store!;
    const slot = await this.waitForSlot('manual', `app.${this.gpid.appId}`, () => this.core.maxConcurrentRunningCount);
    const startMs = this.clockMs();
    if (slot === undefined || !this.core.begin(startMs)) {
      this.core.drop();
      slot?.release();
      return;
    }
    try {
      const before = await store.diskBytes();
      log.info({ gpid: gpidText(this.gpid), rule: request.rule, diskBytes: before }, 'manual compaction started');
      const stats = await store.compact(this.compactOptions());
      const finishMs = this.clockMs();
      await store.recordManualCompactFinish(finishMs);
      const after = await store.diskBytes();
      this.bytesBefore.set(before);
      this.bytesAfter.set(after);
      this.expiredDropped.increment(stats.expiredDropped);
      this.core.end(finishMs);
      // The sweep would find nothing new right after a full pass.
      this.nextSweepMs = finishMs + ttlReclaimIntervalSeconds.value * 1000;
      log.info({ gpid: gpidText(this.gpid), rule: request.rule, usedMs: finishMs - startMs, diskBytesBefore: before, diskBytesAfter: after, ...statsFields(stats) }, 'manual compaction finished');
    } catch (error) {
      this.core.drop();
      throw error;
    } finally {
      slot.release();
    }
  }

  private async runSweep(): Promise<void> {
    const store = this.store!;
    const slot = await this.waitForSlot('sweep', TTL_SWEEP_SLOT, () => TTL_SWEEP_SLOTS);
    if (slot === undefined) return;
    try {
      const stats = await store.compact(this.compactOptions());
      this.expiredDropped.increment(stats.expiredDropped);
      if (stats.expiredDropped + stats.predicateDropped + stats.userDropped + stats.ttlApplied > 0) {
        log.info({ gpid: gpidText(this.gpid), ...statsFields(stats) }, 'TTL sweep reclaimed records');
      }
    } finally {
      slot.release();
    }
  }
}

function statsFields(stats: CompactStats): Record<string, number> {
  return { scanned: stats.scannedEntries, expiredDropped: stats.expiredDropped, staleDropped: stats.predicateDropped, userDropped: stats.userDropped, ttlApplied: stats.ttlApplied };
}
