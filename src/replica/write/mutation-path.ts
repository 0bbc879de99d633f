// The write path of one replica: client writes become mutations with increasing decrees under
// the current ballot, and go to a committer; each write's promise settles once its mutation is
// committed, with the decree and the write's outcome.
//
// Handlers only ever call `submit(write)` and await the result. What "committed" means is the
// committer's business: the replica's PacificA committer appends the mutation to the log,
// prepares it on the secondaries and resolves once the mutation is committed and applied
// (`StoreApplier`, this file), handing mutations over and resolving in decree order.
//
// Batching starts from Pegasus's mutation queue: at most `maxInFlight` mutations are on their way
// to commit (`staleness_for_commit`); PUTs and REMOVEs that arrive while a mutation waits pile
// into it (up to a size limit), every other write waits in a mutation of its own. A mutation
// leaves only at the end of the event-loop turn its first write came in, so the writes of every
// request read in that turn share it. Unlike Pegasus, a mutation of PUTs and REMOVEs also waits
// while another mutation is in flight (unless it is full): each mutation costs a log write, a
// prepare and an acknowledgement per secondary and a store batch, whatever the number of writes
// it carries, and in Node those costs are far above a write's own. Writes that cannot share a
// mutation (incr, check_and_*, multi_*) still go out at once, up to `maxInFlight`.
//
// With the table's atomic_idempotent (Pegasus's make_idempotent), an incr or check_and_* waits
// until every earlier mutation is committed and applied, is executed against the store, and goes
// out as the plain puts and removes it results in; its client gets the outcome of that execution.
import { PteronError, assert, log } from '../../base/index.ts';
import { now2016Seconds, type ReplicaStore } from '../../storage/index.ts';
import { applyMutationWrites, makeIdempotent, type ApplyEnv, type IdempotentForm } from './apply-writes.ts';
import { isAtomicWrite, isBatchable, readsBeforeWrite, type ClientWrite, type Mutation, type WriteOutcome } from './mutation.ts';
import { STATUS_OK } from '../status.ts';
import type { IngestionRequest } from '../../wire/index.ts';

export interface CommitResult {
  decree: number;
  outcome: WriteOutcome;
}

export interface MutationCommitter {
  /**
   * Called once per mutation, in decree order, as soon as the mutation is formed. Resolves with
   * one outcome per write once the mutation is committed. A rejection means the replica can no
   * longer commit (a storage or log failure): every later mutation is refused too.
   */
  commit(mutation: Mutation): Promise<WriteOutcome[]>;
}

export interface MutationPathOptions {
  committer: MutationCommitter;
  /** The decree the next mutation follows (the last committed or prepared one). */
  lastDecree: number;
  ballot: number;
  /** Mutations on their way to commit at once. */
  maxInFlight: number;
  /** Client writes waiting for a slot; past it, submit fails with ERR_BUSY. */
  maxQueuedWrites: number;
  /** A waiting mutation stops taking batchable writes at this many bytes. */
  batchBytesMax?: number;
  /** Called once, on the first commit failure. */
  onCommitFailure?: (error: unknown) => void;
  /** Turns atomic writes into idempotent ones while `enabled()` says so (the table's atomic_idempotent). */
  idempotence?: {
    enabled(): boolean;
    /** Called only when no mutation is in flight: every earlier write is applied. */
    convert(write: ClientWrite, timestampUs: bigint): Promise<IdempotentForm>;
  };
}

interface Waiter {
  resolve: (result: CommitResult) => void;
  reject: (error: unknown) => void;
}

interface WaitingMutation {
  writes: ClientWrite[];
  waiters: Waiter[];
  bytes: number;
  batchable: boolean;
  /** What the single waiter gets in place of the writes' outcomes (an atomic write made idempotent). */
  outcome?: WriteOutcome;
}

const BATCH_BYTES_MAX_DEFAULT = 1 << 20;
const BATCH_WRITES_MAX = 1024;

export class MutationPath {
  private readonly committer: MutationCommitter;
  private readonly maxInFlight: number;
  private readonly maxQueuedWrites: number;
  private readonly batchBytesMax: number;
  private readonly onCommitFailure: ((error: unknown) => void) | undefined;
  private readonly idempotence: MutationPathOptions['idempotence'];
  /** An atomic write is being made idempotent: nothing else leaves meanwhile. */
  private converting = false;
  private lastPrepared: number;
  private lastCommitted: number;
  private currentBallot: number;
  private lastTimestampUs = 0n;
  private inFlight = 0;
  private readonly waiting: WaitingMutation[] = [];
  private queuedWrites = 0;
  private failure: unknown;
  private pumpScheduled = false;
  private drainWaiters: Array<() => void> = [];

  constructor(options: MutationPathOptions) {
    assert(Number.isSafeInteger(options.lastDecree) && options.lastDecree >= 0, 'last decree is a non-negative integer');
    assert(options.maxInFlight >= 1 && options.maxQueuedWrites >= 1, 'the write path has room for at least one write');
    this.committer = options.committer;
    this.lastPrepared = options.lastDecree;
    this.lastCommitted = options.lastDecree;
    this.currentBallot = options.ballot;
    this.maxInFlight = options.maxInFlight;
    this.maxQueuedWrites = options.maxQueuedWrites;
    this.batchBytesMax = options.batchBytesMax ?? BATCH_BYTES_MAX_DEFAULT;
    this.onCommitFailure = options.onCommitFailure;
    this.idempotence = options.idempotence;
  }

  /** The decree of the last mutation handed to the committer. */
  get lastPreparedDecree(): number {
    return this.lastPrepared;
  }

  /** The decree of the last mutation whose commit resolved (commits resolve in decree order). */
  get lastCommittedDecree(): number {
    return this.lastCommitted;
  }

  get ballot(): number {
    return this.currentBallot;
  }

  set ballot(value: number) {
    assert(value >= this.currentBallot, `ballot goes back from ${this.currentBallot} to ${value}`);
    this.currentBallot = value;
  }

  get mutationsInFlight(): number {
    return this.inFlight;
  }

  get writesWaiting(): number {
    return this.queuedWrites;
  }

  /** Queues a write; resolves once its mutation committed. `bytes` is its size, for batching. */
  submit(write: ClientWrite, bytes: number): Promise<CommitResult> {
    if (this.failure !== undefined) return Promise.reject(new PteronError('ERR_INVALID_STATE', 'the replica failed to commit earlier writes'));
    if (this.queuedWrites >= this.maxQueuedWrites) return Promise.reject(new PteronError('ERR_BUSY', 'too many writes waiting'));
    return new Promise<CommitResult>((resolve, reject) => {
      const batchable = isBatchable(write);
      const last = this.waiting[this.waiting.length - 1];
      const joins = batchable && last !== undefined && last.batchable && last.writes.length < BATCH_WRITES_MAX && last.bytes + bytes <= this.batchBytesMax;
      if (joins) {
        last.writes.push(write);
        last.waiters.push({ resolve, reject });
        last.bytes += bytes;
      } else {
        this.waiting.push({ writes: [write], waiters: [{ resolve, reject }], bytes, batchable });
      }
      this.queuedWrites += 1;
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        setImmediate(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Refuses every write that has not been handed to the committer yet (the replica stops being primary). */
  failWaiting(error: unknown): void {
    const dropped = this.waiting.splice(0);
    this.queuedWrites = 0;
    for (const mutation of dropped) for (const waiter of mutation.waiters) waiter.reject(error);
    this.settleDrain();
  }

  /** Resolves once no mutation is on its way to commit and none is waiting. */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.waiting.length === 0 && !this.converting) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private settleDrain(): void {
    if (this.inFlight !== 0 || this.waiting.length !== 0 || this.converting) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Unique and increasing microseconds, for the records' timetags. */
  private nextTimestampUs(): bigint {
    const now = BigInt(Date.now()) * 1000n;
    this.lastTimestampUs = now > this.lastTimestampUs ? now : this.lastTimestampUs + 1n;
    return this.lastTimestampUs;
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.failure === undefined && !this.converting && this.mayLeave(this.waiting[0]!)) {
      const next = this.waiting.shift()!;
      this.queuedWrites -= next.writes.length;
      if (this.madeIdempotent(next)) this.convert(next);
      else this.dispatch(next);
    }
  }

  /** An atomic write (never batched) of a table that makes them idempotent. */
  private madeIdempotent(next: WaitingMutation): boolean {
    return this.idempotence !== undefined && isAtomicWrite(next.writes[0]!) && this.idempotence.enabled();
  }

  private convert(atomic: WaitingMutation): void {
    this.converting = true;
    const waiter = atomic.waiters[0]!;
    this.idempotence!.convert(atomic.writes[0]!, this.nextTimestampUs()).then(
      (form) => {
        this.converting = false;
        if (this.failure !== undefined) waiter.reject(new PteronError('ERR_INVALID_STATE', 'the replica failed to commit earlier writes'));
        else if (form.writes.length === 0) waiter.resolve({ decree: this.lastCommitted, outcome: form.outcome });
        else this.dispatch({ writes: form.writes, waiters: [waiter], bytes: atomic.bytes, batchable: false, outcome: form.outcome });
      },
      (error: unknown) => {
        this.converting = false;
        waiter.reject(error);
      },
    ).finally(() => {
      this.pump();
      this.settleDrain();
    });
  }

  /**
   * Whether the oldest waiting mutation may go to the committer now: never past `maxInFlight`;
   * one of PUTs and REMOVEs only when no other mutation is in flight or it is full, so that it
   * gathers the writes that arrive meanwhile.
   */
  private mayLeave(next: WaitingMutation): boolean {
    if (this.inFlight >= this.maxInFlight) return false;
    if (this.madeIdempotent(next)) return this.inFlight === 0;
    if (!next.batchable || this.inFlight === 0) return true;
    return next.writes.length >= BATCH_WRITES_MAX || next.bytes >= this.batchBytesMax;
  }

  private dispatch(waiting: WaitingMutation): void {
    const mutation: Mutation = {
      decree: this.lastPrepared + 1,
      ballot: this.currentBallot,
      timestampUs: this.nextTimestampUs(),
      writes: waiting.writes,
    };
    this.lastPrepared = mutation.decree;
    this.inFlight += 1;
    let committed: Promise<WriteOutcome[]>;
    try {
      committed = this.committer.commit(mutation);
    } catch (error) {
      committed = Promise.reject(error);
    }
    committed.then(
      (outcomes) => {
        assert(outcomes.length === waiting.writes.length, 'one outcome per write');
        assert(mutation.decree === this.lastCommitted + 1, `decree ${mutation.decree} committed after ${this.lastCommitted}`);
        this.lastCommitted = mutation.decree;
        waiting.waiters.forEach((waiter, index) => waiter.resolve({ decree: mutation.decree, outcome: waiting.outcome ?? outcomes[index]! }));
      },
      (error: unknown) => {
        // Prepared, and maybe logged by the secondaries, a mutation that failed to commit here may
        // still be committed by the next primary: its writers must not send it again as new.
        const cause = error instanceof Error ? error.message : String(error);
        const outcomeUnknown = new PteronError('ERR_TIMEOUT', `the write was prepared at decree ${mutation.decree} but did not commit here (${cause}); it may still commit`);
        for (const waiter of waiting.waiters) waiter.reject(outcomeUnknown);
        if (this.failure === undefined) {
          this.failure = error;
          // A primary that loses its role (a move, a new ballot) rejects what is in flight: the
          // clients retry elsewhere. Anything else (a store or log failure) is an error.
          const roleChange = error instanceof PteronError && error.code === 'ERR_INVALID_STATE';
          log[roleChange ? 'warn' : 'error']({ err: error, decree: mutation.decree }, 'mutation commit failed; the replica stops taking writes');
          this.failWaiting(new PteronError('ERR_INVALID_STATE', 'the replica failed to commit earlier writes'));
          this.onCommitFailure?.(error);
        }
      },
    ).finally(() => {
      this.inFlight -= 1;
      this.pump();
      this.settleDrain();
    });
  }
}

/** Ingests a bulk load's files into the store as decree `decree` (the replica's bulk loader). */
export type Ingestor = (request: IngestionRequest, decree: number) => Promise<void>;

/** Defaults the applier reads from the table when it applies a mutation. */
export interface ApplySettings {
  defaultTtlSeconds: number;
  /** This cluster's id for the timetags (default 0: no `[duplication-group]`). */
  clusterId?: number;
}

const UNIX_MS_PER_US = 1000n;

/**
 * Applies committed mutations to the local store, in the order they arrive. Mutations that read
 * before writing (incr, check_and_*) wait until every earlier mutation reached the store, so they
 * see the state after all of them. Time-dependent results (TTLs) use the mutation's own
 * timestamp, so every replica that applies a mutation computes the same records.
 */
export class StoreApplier {
  private planning: Promise<unknown> = Promise.resolve();
  private lastWrite: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: ReplicaStore,
    private readonly settings: () => ApplySettings,
    private readonly ingest: Ingestor = () => Promise.reject(new PteronError('ERR_INVALID_STATE', 'this replica cannot ingest bulk loads')),
  ) {}

  /** Resolves once every mutation handed over so far reached the store (or failed). */
  settled(): Promise<void> {
    return this.planning.then(() => this.lastWrite).then(() => undefined, () => undefined);
  }

  apply(mutation: Mutation): Promise<WriteOutcome[]> {
    const ingestion = mutation.writes[0]?.op === 'ingest' ? mutation.writes[0] : undefined;
    if (ingestion !== undefined) return this.applyIngestion(mutation.decree, ingestion.request);
    const reads = mutation.writes.some(readsBeforeWrite);
    const planned = this.planning.then(async () => {
      if (reads) await this.lastWrite.catch(() => undefined);
      const applied = await applyMutationWrites(mutation, this.envAt(mutation.timestampUs));
      const written = this.store.applyMutation(mutation.decree, applied.ops);
      this.lastWrite = written;
      return { outcomes: applied.outcomes, written };
    });
    this.planning = planned.catch(() => undefined);
    return planned.then(async ({ outcomes, written }) => {
      await written;
      return outcomes;
    });
  }

  /** An ingestion waits for every earlier mutation to reach the store, and later ones wait for it. */
  private applyIngestion(decree: number, request: IngestionRequest): Promise<WriteOutcome[]> {
    const planned = this.planning.then(async () => {
      await this.lastWrite.catch(() => undefined);
      const written = this.ingest(request, decree);
      this.lastWrite = written;
      await written;
    });
    this.planning = planned.catch(() => undefined);
    return planned.then(() => [{ error: STATUS_OK }]);
  }

  /** An atomic write as the plain writes it results in now; the caller makes sure every earlier mutation was applied. */
  makeIdempotent(write: ClientWrite, timestampUs: bigint): Promise<IdempotentForm> {
    return makeIdempotent(write, timestampUs, this.envAt(timestampUs));
  }

  private envAt(timestampUs: bigint): ApplyEnv {
    return {
      read: (key) => this.store.get(key),
      now: now2016Seconds(Number(timestampUs / UNIX_MS_PER_US)),
      defaultTtlSeconds: this.settings().defaultTtlSeconds,
      clusterId: this.settings().clusterId ?? 0,
    };
  }
}
