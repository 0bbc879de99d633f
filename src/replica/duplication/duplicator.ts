// One duplication of one primary replica (Pegasus's replica_duplicator). In DS_PREPARE it makes
// the store durable up to the decree it started at and reports the checkpoint prepared; in
// DS_LOG it loads the committed mutations after the last shipped decree from the mutation log,
// cuts them into batches (./batching.ts) and sends each to the follower table's partition of the
// same index, one at a time, retrying by the fail mode (./fail-mode.ts). The progress it reports
// in the sync is the last decree shipped; the meta's confirmed decree (persisted, answered back)
// is where a new primary starts, and the log is never collected past it.
import { log, type Gpid } from '../../base/index.ts';
import { gpidText } from '../../cluster/index.ts';
import {
  DuplicationFailMode, DuplicationStatus,
  type DuplicateRequest, type DuplicateResponse, type DuplicationConfirmEntry, type DuplicationEntry,
} from '../../wire/index.ts';
import { duplicateLogBatchBytes } from '../../cluster/index.ts';
import type { LogRecord } from '../log/mutation-log.ts';
import { batchMutations, committedMutationsAfter, type DuplicateBatch } from './batching.ts';
import { onShipFailure } from './fail-mode.ts';
import { dupMaxAllowedWriteSize } from './flags.ts';
import type { DuplicationMetrics } from './metrics.ts';

/** A confirmed decree the meta has not set yet (Pegasus's invalid_decree). */
export const INVALID_DECREE = -1;

/** How often an idle duplicator looks for newly committed mutations. */
const IDLE_POLL_MS = 100;

export interface DuplicateTarget {
  remoteCluster: string;
  remoteAppName: string;
  partitionIndex: number;
}

/** The sending side, implemented with the client by the server (the replica layer does not import it). */
export interface DuplicateSender {
  /** Resolves with the follower's answer; rejects when no primary of the partition could be reached. */
  send(target: DuplicateTarget, request: DuplicateRequest): Promise<DuplicateResponse>;
}

/** What a duplicator needs of its replica. */
export interface DuplicatorHost {
  readonly gpid: Gpid;
  /** The table's name: the follower's when the meta names none. */
  appName(): string;
  /** This cluster's id, stamped on every entry. */
  clusterId(): number;
  isPrimary(): boolean;
  lastCommittedDecree(): number;
  lastAppliedDecree(): number;
  /** The records of the log files that may hold decrees after `after`, and the bytes read. */
  readLog(after: number): Promise<{ records: LogRecord[]; bytes: number }>;
  /** Makes the applied state durable; resolves with the durable decree. */
  syncStore(): Promise<number>;
  sender: DuplicateSender | undefined;
  metrics: DuplicationMetrics;
}

/** One duplication's state as `/replica/duplication` shows it. */
export interface DuplicatorState {
  dupid: number;
  duplicating: boolean;
  lastDecree: number;
  confirmedDecree: number;
  failMode: DuplicationFailMode;
  remoteAppName: string;
}

export class ReplicaDuplicator {
  readonly dupid: number;
  readonly remote: string;
  readonly remoteAppName: string;
  private status: DuplicationStatus;
  private failMode: DuplicationFailMode;
  /** Shipped (or given up) up to here: the progress the next sync reports. */
  private lastDecree: number;
  /** What the meta persisted; INVALID_DECREE until it has. */
  private confirmedDecree = INVALID_DECREE;
  /** The checkpoint for the follower covers at least this decree (what the store held at the start). */
  private readonly minCheckpointDecree: number;
  private checkpointPrepared = false;
  private preparing = false;
  /** FAIL_FAST gave up: nothing is shipped until the duplication is changed. */
  private stopped = false;
  private closed = false;
  private shipping = false;
  private wake: (() => void) | undefined;
  /** Raw bytes loaded from the log and not shipped yet. */
  pendingBytes = 0;
  /** Decrees the log no longer held when they were to be loaded, at the last load that missed some. */
  lostMutations = 0;

  constructor(entry: DuplicationEntry, confirmed: number, private readonly host: DuplicatorHost) {
    this.dupid = entry.dupid;
    this.remote = entry.remote;
    this.remoteAppName = entry.remoteAppName ?? host.appName();
    this.status = entry.status;
    this.failMode = entry.failMode ?? DuplicationFailMode.FAIL_SLOW;
    this.minCheckpointDecree = Math.max(host.lastAppliedDecree(), 1);
    // Without a confirmed decree (a new duplication) shipping starts after the checkpoint's decree.
    this.lastDecree = confirmed === INVALID_DECREE ? this.minCheckpointDecree : confirmed;
    this.confirmedDecree = confirmed;
    log.info({ gpid: gpidText(host.gpid), dupid: this.dupid, remote: this.remote, status: DuplicationStatus[this.status], lastDecree: this.lastDecree }, 'duplication started on the primary');
    this.kick();
  }

  /** A newer answer of the meta: its status, fail mode and confirmed decree. */
  update(entry: DuplicationEntry, confirmed: number): void {
    this.takeConfirmed(confirmed);
    const failMode = entry.failMode ?? this.failMode;
    if (entry.status !== this.status || failMode !== this.failMode) this.stopped = false;
    this.status = entry.status;
    this.failMode = failMode;
    this.kick();
  }

  private takeConfirmed(confirmed: number): void {
    if (confirmed === INVALID_DECREE || confirmed <= this.confirmedDecree) return;
    if (this.confirmedDecree !== INVALID_DECREE) this.host.metrics.confirmedMutations.increment(confirmed - this.confirmedDecree);
    this.confirmedDecree = confirmed;
    if (this.lastDecree < confirmed) this.lastDecree = confirmed;
  }

  /** The entry of the next sync, or undefined when the meta knows all of it (Pegasus's rule). */
  confirmEntry(): DuplicationConfirmEntry | undefined {
    const checkpointNews = this.status === DuplicationStatus.DS_PREPARE && this.checkpointPrepared;
    if (this.lastDecree === this.confirmedDecree && !checkpointNews) return undefined;
    return {
      dupid: this.dupid,
      confirmedDecree: BigInt(this.lastDecree),
      checkpointPrepared: this.checkpointPrepared,
      lastCommittedDecree: BigInt(this.host.lastCommittedDecree()),
    };
  }

  /** The log must be kept after this decree. */
  get retainedAfter(): number {
    return this.confirmedDecree === INVALID_DECREE ? this.lastDecree : Math.min(this.confirmedDecree, this.lastDecree);
  }

  get pendingMutations(): number {
    return Math.max(0, this.host.lastCommittedDecree() - this.lastDecree);
  }

  state(): DuplicatorState {
    return {
      dupid: this.dupid,
      duplicating: this.mayShip(),
      lastDecree: this.lastDecree,
      confirmedDecree: this.confirmedDecree,
      failMode: this.failMode,
      remoteAppName: this.remoteAppName,
    };
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  private mayShip(): boolean {
    return !this.closed && !this.stopped && this.status === DuplicationStatus.DS_LOG && this.host.isPrimary();
  }

  private kick(): void {
    this.wake?.();
    if (this.status === DuplicationStatus.DS_PREPARE && !this.checkpointPrepared && !this.preparing) void this.prepareCheckpoint();
    if (this.mayShip() && !this.shipping) {
      this.shipping = true;
      void this.shipLoop().finally(() => {
        this.shipping = false;
      });
    }
  }

  private async prepareCheckpoint(): Promise<void> {
    this.preparing = true;
    try {
      const durable = await this.host.syncStore();
      this.checkpointPrepared = durable >= this.minCheckpointDecree;
    } catch (error) {
      log.warn({ gpid: gpidText(this.host.gpid), dupid: this.dupid, err: (error as Error).message }, 'preparing the checkpoint for duplication failed; retried at the next sync');
    } finally {
      this.preparing = false;
    }
  }

  /** Waits `ms`, or less when the duplication changes or closes. */
  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async shipLoop(): Promise<void> {
    while (this.mayShip()) {
      const lastCommitted = this.host.lastCommittedDecree();
      if (lastCommitted <= this.lastDecree) {
        await this.idle(IDLE_POLL_MS);
        continue;
      }
      let batches: DuplicateBatch[];
      try {
        batches = await this.load(lastCommitted);
      } catch (error) {
        log.warn({ gpid: gpidText(this.host.gpid), dupid: this.dupid, err: (error as Error).message }, 'loading the mutation log for duplication failed');
        await this.idle(IDLE_POLL_MS * 10);
        continue;
      }
      if (batches.length === 0) await this.idle(IDLE_POLL_MS);
      for (const batch of batches) {
        if (!(await this.ship(batch))) break;
      }
      this.pendingBytes = 0;
    }
  }

  private async load(lastCommitted: number): Promise<DuplicateBatch[]> {
    const { records, bytes } = await this.host.readLog(this.lastDecree);
    const loaded = committedMutationsAfter(records, this.lastDecree, lastCommitted);
    this.host.metrics.logReadBytes.increment(bytes);
    this.host.metrics.logReadMutations.increment(loaded.mutations.length);
    if (loaded.lost > 0) {
      log.error({ gpid: gpidText(this.host.gpid), dupid: this.dupid, after: this.lastDecree, lost: loaded.lost }, 'mutations to duplicate are no longer in the log; the follower misses them');
      this.lostMutations = loaded.lost;
      this.lastDecree += loaded.lost;
    }
    const batches = batchMutations(loaded.mutations, this.host.clusterId(), duplicateLogBatchBytes.value, dupMaxAllowedWriteSize.value);
    this.pendingBytes = batches.reduce((sum, batch) => sum + batch.bytes, 0);
    return batches;
  }

  /** Ships one batch; false when shipping stopped meanwhile (the batch then stays unshipped). */
  private async ship(batch: DuplicateBatch): Promise<boolean> {
    const { metrics } = this.host;
    for (let attempts = 1; ; attempts++) {
      if (!this.mayShip()) return false;
      if (batch.entries.length === 0) return this.advance(batch);
      let failure: string;
      try {
        const sender = this.host.sender;
        if (sender === undefined) throw new Error('no sender of DUPLICATE requests on this server');
        const target = { remoteCluster: this.remote, remoteAppName: this.remoteAppName, partitionIndex: this.host.gpid.partitionIndex };
        const response = await sender.send(target, { entries: batch.entries });
        if ((response.error ?? 0) === 0) {
          metrics.shippedSuccessfulRequests.increment();
          metrics.shippedBytes.increment(batch.bytes);
          metrics.shippedMutations.increment(batch.mutations);
          return this.advance(batch);
        }
        failure = `follower answered error ${response.error}${response.errorHint ? `: ${response.errorHint}` : ''}`;
      } catch (error) {
        failure = (error as Error).message;
      }
      metrics.shippedFailedRequests.increment();
      const action = onShipFailure(this.failMode, attempts);
      const context = { gpid: gpidText(this.host.gpid), dupid: this.dupid, remote: this.remote, lastDecree: batch.lastDecree, attempts, err: failure };
      if (action.kind === 'retry') {
        if (attempts === 1) log.warn(context, 'shipping a duplication batch failed; retrying');
        await this.idle(action.delayMs);
        continue;
      }
      if (action.kind === 'skip') {
        log.error(context, 'shipping a duplication batch failed; skipped (FAIL_SKIP)');
        metrics.skippedMutations.increment(batch.mutations);
        return this.advance(batch);
      }
      log.error(context, 'shipping a duplication batch failed; duplication stopped (FAIL_FAST)');
      this.stopped = true;
      return false;
    }
  }

  private advance(batch: DuplicateBatch): boolean {
    this.lastDecree = Math.max(this.lastDecree, batch.lastDecree);
    this.pendingBytes = Math.max(0, this.pendingBytes - batch.bytes);
    return true;
  }
}
