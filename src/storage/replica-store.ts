// The database of one replica: Pegasus's data and meta column families as key prefixes of one
// engine, the decree bookkeeping the replica's mutation path relies on and expiry-aware reads.
// Its compaction pass (compaction.ts) and logical checkpoints for learning (checkpoint.ts) live
// in their own files and run through its write queue.
//
// Every change goes through one write queue, so decrees are applied strictly in order and a
// compaction never races a mutation on the same key. Mutations that pile up behind a write in
// flight are committed together (group commit), still as one atomic batch per group. A failed engine write leaves the store
// failed: its state on disk is no longer known to match memory, and the replica must reopen it.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PteronError, assert } from '../base/index.ts';
import { classicLevelEngine } from './classic-level-engine.ts';
import { ENTRIES_BATCH_DEFAULT, type EngineCursor, type EngineFactory, type EngineSnapshot, type StorageEngine, type WriteOp } from './engine.ts';
import {
  DATA_VERSION_LATEST, EXPIRE_TS_MAX, compositeKeyOf, dataFamilyBounds, dataStoreKey, decodeValue, encodeValue,
  hashKeyBounds, isExpireTsPassed, isValidKey, metaStoreKey, now2016Seconds, readExpireTs, toDataFamilyBounds, ttlRemainingSeconds,
  type KeyBounds, type StoredRecord,
} from './schema.ts';
import { ingestBulkLoad, type IngestOptions, type IngestStats } from './bulk-ingest.ts';
import { compactStore, type CompactOptions, type CompactStats } from './compaction.ts';
import { importCheckpoint, openCheckpoint, type Checkpoint, type ImportStats, type OpenCheckpoint } from './checkpoint.ts';
import {
  META_DATA_VERSION, META_IMPORT_IN_PROGRESS, META_LAST_APPLIED_DECREE, META_LAST_MANUAL_COMPACT_FINISH_TIME, failedEarlier, metaPut, parseMetaNumber, type StoreInternals, type WriteJob,
} from './store-internals.ts';

const RESERVED_META = new Set([META_LAST_APPLIED_DECREE, META_DATA_VERSION, META_IMPORT_IN_PROGRESS]);

/** A group commit takes at most this many mutations, or this many bytes of keys and values. */
/** A LevelDB table file's name. */
const TABLE_FILE = /^\d+\.(ldb|sst)$/;

const GROUP_MUTATIONS_MAX = 256;
const GROUP_BYTES_MAX = 4 * 1024 * 1024;

/** `<data_dir>/replica/reps/<app_id>.<pidx>.pegasus`, the directory of one replica. */
export function replicaDirOf(dataDir: string, appId: number, partitionIndex: number): string {
  assert(Number.isInteger(appId) && appId > 0, 'app id is a positive integer');
  assert(Number.isInteger(partitionIndex) && partitionIndex >= 0, 'partition index is a non-negative integer');
  return join(dataDir, 'replica', 'reps', `${appId}.${partitionIndex}.pegasus`);
}

/** The database directory inside a replica directory (Pegasus's `data/rdb`). */
export function rdbDirOf(replicaDir: string): string {
  return join(replicaDir, 'data', 'rdb');
}

export type MutationOp =
  | {
      type: 'put';
      /** Composite key (schema.encodeKey). */
      key: Buffer;
      userData: Buffer;
      /** Seconds since 2016; 0 = never expires. */
      expireTs: number;
      /** Written into v1 values; ignored by v0 databases. Default 0. */
      timetag?: bigint;
    }
  | { type: 'del'; key: Buffer };

export interface ReplicaStoreOptions {
  /** The replica directory; the database lives in `<replicaDir>/data/rdb`. */
  replicaDir: string;
  /** Default: LevelDB through classic-level. */
  engineFactory?: EngineFactory;
  /** fsync every mutation (default false: the write reaches the OS, so it survives a process crash). */
  syncWrites?: boolean;
  /** Value schema for a new database (0 or 1; default 1). Existing databases keep theirs. */
  dataVersion?: number;
}

export interface ScanOptions {
  reverse?: boolean;
  /** Seconds since 2016 used to decide expiry (default: now). */
  now?: number;
  /** Read under this snapshot instead of the store's current state. */
  snapshot?: EngineSnapshot;
}

export interface ScanStep {
  /** Live records, in scan order. */
  records: StoredRecord[];
  /** True when the range has no more entries. */
  done: boolean;
}

/**
 * A walk over live records of a composite-key range, for scanners that keep their position
 * across requests. Expired records are skipped and counted, never returned.
 */
export class RecordCursor {
  scannedEntries = 0;
  expiredSkipped = 0;
  private finished = false;

  constructor(
    private readonly cursor: EngineCursor,
    private readonly dataVersion: number,
    private now: number,
  ) {}

  get closed(): boolean {
    return this.cursor.closed;
  }

  /**
   * Up to `maxRecords` live records, reading at most `step.maxScanned` entries (expired ones
   * count toward it), so one step is bounded even when the range is full of expired data.
   * `step.now` overrides the cursor's expiry clock (a scanner context lives across requests).
   */
  async next(maxRecords: number, step: { maxScanned?: number; now?: number } = {}): Promise<ScanStep> {
    const maxScanned = step.maxScanned ?? Number.MAX_SAFE_INTEGER;
    if (step.now !== undefined) this.now = step.now;
    assert(Number.isInteger(maxRecords) && maxRecords > 0, 'a scan step asks for at least one record');
    assert(maxScanned > 0, 'a scan step may read at least one entry');
    const records: StoredRecord[] = [];
    let scanned = 0;
    while (!this.finished && records.length < maxRecords && scanned < maxScanned) {
      const want = Math.min(maxRecords - records.length, maxScanned - scanned, ENTRIES_BATCH_DEFAULT);
      const batch = await this.cursor.next(want);
      if (batch.length === 0) {
        this.finished = true;
        break;
      }
      scanned += batch.length;
      for (const [storeKey, raw] of batch) {
        const parts = decodeValue(raw, this.dataVersion);
        if (isExpireTsPassed(parts.expireTs, this.now)) {
          this.expiredSkipped += 1;
          continue;
        }
        records.push({ key: compositeKeyOf(storeKey), ...parts });
      }
    }
    this.scannedEntries += scanned;
    return { records, done: this.finished };
  }

  async close(): Promise<void> {
    await this.cursor.close();
  }
}

function checkMutationOp(op: MutationOp): void {
  if (!isValidKey(op.key)) {
    throw new PteronError('ERR_INVALID_PARAMETERS', `malformed composite key of ${op.key.length} bytes`);
  }
  if (op.type === 'put' && !(Number.isInteger(op.expireTs) && op.expireTs >= 0 && op.expireTs <= EXPIRE_TS_MAX)) {
    throw new PteronError('ERR_INVALID_PARAMETERS', `expire_ts ${op.expireTs} is outside [0, ${EXPIRE_TS_MAX}]`);
  }
}

export class ReplicaStore {
  readonly replicaDir: string;
  readonly engine: StorageEngine;
  private readonly syncWrites: boolean;
  private appliedDecree = 0;
  private version = DATA_VERSION_LATEST;
  private writeTail: Promise<unknown> = Promise.resolve();
  /** The mutation group whose write job is queued but not started: new mutations join it. */
  private openGroup: MutationGroup | undefined;
  private failure: Error | undefined;
  private closing = false;
  /** True when open found an interrupted import and reset the store to empty at decree 0. */
  recoveredInterruptedImport = false;

  /** What checkpoint.ts and compaction.ts work on. */
  private readonly internals: StoreInternals;

  private constructor(engine: StorageEngine, options: ReplicaStoreOptions) {
    this.engine = engine;
    this.replicaDir = options.replicaDir;
    this.syncWrites = options.syncWrites === true;
    const store = this;
    this.internals = {
      engine,
      syncWrites: this.syncWrites,
      get dataVersion() {
        return store.version;
      },
      get failure() {
        return store.failure;
      },
      get appliedDecree() {
        return store.appliedDecree;
      },
      enqueue: (job) => this.enqueue(job),
      resetToEmpty: () => this.resetToEmpty(),
      installed: (decree, dataVersion) => {
        this.appliedDecree = decree;
        this.version = dataVersion;
      },
    };
  }

  /** Opens (creating if needed) the database of the replica at `options.replicaDir`. */
  static async open(options: ReplicaStoreOptions): Promise<ReplicaStore> {
    const factory = options.engineFactory ?? classicLevelEngine();
    const engine = factory(rdbDirOf(options.replicaDir));
    await engine.open();
    const store = new ReplicaStore(engine, options);
    try {
      await store.load(options.dataVersion ?? DATA_VERSION_LATEST);
    } catch (error) {
      await engine.close();
      throw error;
    }
    return store;
  }

  /** The decree of the last mutation whose writes are in the database. */
  get lastAppliedDecree(): number {
    return this.appliedDecree;
  }

  /** The database-wide value schema version (v0/v1 records follow it). */
  get dataVersion(): number {
    return this.version;
  }

  /**
   * Data records in the database, expired-but-not-compacted ones included, counted by a key
   * scan. Not kept up to date on every write: that would cost a lookup of every written key.
   */
  async countKeys(): Promise<number> {
    const cursor = this.engine.cursor(dataFamilyBounds());
    let count = 0;
    try {
      for (;;) {
        const batch = await cursor.next(1024);
        if (batch.length === 0) return count;
        count += batch.length;
      }
    } finally {
      await cursor.close();
    }
  }

  /** The error that failed the store, if one did. */
  get failedWith(): Error | undefined {
    return this.failure;
  }

  private async load(newDataVersion: number): Promise<void> {
    assert(newDataVersion === 0 || newDataVersion === 1, 'new databases use value schema v0 or v1');
    const names = [META_DATA_VERSION, META_LAST_APPLIED_DECREE, META_IMPORT_IN_PROGRESS];
    const [versionRaw, decreeRaw, importRaw] = await this.engine.getMany(names.map(metaStoreKey));
    const version = parseMetaNumber(META_DATA_VERSION, versionRaw);
    if (version === undefined) {
      if (await this.hasDataRecords()) {
        throw new PteronError('ERR_CORRUPTION', `${this.engine.location} holds data but no ${META_DATA_VERSION}`);
      }
      this.version = newDataVersion;
      await this.engine.write(
        [metaPut(META_DATA_VERSION, newDataVersion), metaPut(META_LAST_APPLIED_DECREE, 0)],
        { sync: true },
      );
      return;
    }
    if (version > 1) {
      throw new PteronError('ERR_INVALID_VERSION', `${this.engine.location} uses value schema v${version}; this build writes v0/v1 only`);
    }
    this.version = version;
    if (importRaw !== undefined) {
      await this.resetToEmpty();
      this.recoveredInterruptedImport = true;
      return;
    }
    const decree = parseMetaNumber(META_LAST_APPLIED_DECREE, decreeRaw);
    if (decree === undefined) throw new PteronError('ERR_CORRUPTION', `${this.engine.location} has no ${META_LAST_APPLIED_DECREE}`);
    this.appliedDecree = decree;
  }

  private async hasDataRecords(): Promise<boolean> {
    const cursor = this.engine.cursor({ ...dataFamilyBounds(), limit: 1 });
    try {
      return (await cursor.next(1)).length > 0;
    } finally {
      await cursor.close();
    }
  }

  /** Drops all data and bookkeeping except the data version: an empty replica at decree 0. */
  private async resetToEmpty(): Promise<void> {
    await this.engine.clearRange(dataFamilyBounds());
    await this.engine.write(
      [
        metaPut(META_LAST_APPLIED_DECREE, 0),
        { type: 'del', key: metaStoreKey(META_IMPORT_IN_PROGRESS) },
      ],
      { sync: true },
    );
    this.appliedDecree = 0;
  }

  /**
   * Runs `job` after every earlier queued job. A job that throws after the engine may have
   * changed data (`mayHaveWritten` says so) fails the store; earlier throws reject only the job.
   */
  private enqueue<T>(job: WriteJob<T>): Promise<T> {
    if (this.closing) return Promise.reject(new PteronError('ERR_INVALID_STATE', 'replica store is closed'));
    // Mutations issued after this job must not join a group queued before it.
    this.openGroup = undefined;
    const run = async (): Promise<T> => {
      if (this.failure !== undefined) throw failedEarlier(this.failure);
      const progress = { mayHaveWritten: false };
      try {
        return await job(progress);
      } catch (error) {
        if (progress.mayHaveWritten) this.failure = error instanceof Error ? error : new Error(String(error));
        throw error;
      }
    };
    const result = this.writeTail.then(run, run);
    this.writeTail = result.catch(() => undefined);
    return result;
  }

  /**
   * Applies the writes of decree `decree` and records it as the last applied decree, in one
   * atomic batch. Decrees must arrive in order (last + 1); calls may be issued before earlier
   * ones resolve, they run in call order. An empty `ops` just advances the decree (Pegasus's
   * "empty write").
   *
   * Group commit: mutations issued while an earlier write is in flight are written together in
   * one atomic batch that ends with the last of their decrees, so the database still only ever
   * holds the state after some whole decree.
   */
  applyMutation(decree: number, ops: readonly MutationOp[], options: { sync?: boolean } = {}): Promise<void> {
    try {
      assert(Number.isSafeInteger(decree) && decree > 0, `decree ${decree} is a positive integer`);
      for (const op of ops) checkMutationOp(op);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closing) return Promise.reject(new PteronError('ERR_INVALID_STATE', 'replica store is closed'));
    const opBytes = ops.reduce((sum, op) => sum + op.key.length + (op.type === 'put' ? op.userData.length : 0), 0);
    return new Promise<void>((resolve, reject) => {
      let group = this.openGroup;
      if (group === undefined || group.items.length >= GROUP_MUTATIONS_MAX || group.bytes + opBytes > GROUP_BYTES_MAX) {
        const fresh: MutationGroup = { items: [], bytes: 0 };
        this.enqueue(async (progress) => {
          if (this.openGroup === fresh) this.openGroup = undefined;
          await this.writeGroup(fresh, progress);
        }).catch((error: unknown) => {
          for (const item of fresh.items) if (!item.settled) item.reject(error);
        });
        this.openGroup = fresh;
        group = fresh;
      }
      group.items.push({ decree, ops, sync: options.sync ?? this.syncWrites, resolve, reject, settled: false });
      group.bytes += opBytes;
    });
  }

  /** Writes the in-order mutations of a group as one batch; out-of-order ones are refused alone. */
  private async writeGroup(group: MutationGroup, progress: { mayHaveWritten: boolean }): Promise<void> {
    const accepted: PendingMutation[] = [];
    let nextDecree = this.appliedDecree + 1;
    for (const item of group.items) {
      if (item.decree === nextDecree) {
        accepted.push(item);
        nextDecree += 1;
      } else {
        item.settled = true;
        item.reject(new PteronError('ERR_INVALID_STATE', `decree ${item.decree} does not follow last applied decree ${nextDecree - 1}`));
      }
    }
    if (accepted.length === 0) return;
    const ops = accepted.flatMap((item) => item.ops);
    const batch: WriteOp[] = ops.map((op) =>
      op.type === 'put'
        ? { type: 'put', key: dataStoreKey(op.key), value: encodeValue(this.version, op.userData, op.expireTs, op.timetag ?? 0n) }
        : { type: 'del', key: dataStoreKey(op.key) },
    );
    const lastDecree = accepted[accepted.length - 1]!.decree;
    batch.push(metaPut(META_LAST_APPLIED_DECREE, lastDecree));
    progress.mayHaveWritten = true;
    await this.engine.write(batch, { sync: accepted.some((item) => item.sync) });
    this.appliedDecree = lastDecree;
    for (const item of accepted) {
      item.settled = true;
      item.resolve();
    }
  }

  /**
   * Forces everything applied so far onto disk (the store's own writes are not synced: the
   * mutation log is the write-ahead log). Returns the decree that is now durable, up to which
   * the log may be dropped.
   */
  syncApplied(): Promise<number> {
    return this.enqueue(async (progress) => {
      const decree = this.appliedDecree;
      progress.mayHaveWritten = true;
      await this.engine.write([metaPut(META_LAST_APPLIED_DECREE, decree)], { sync: true });
      return decree;
    });
  }

  /** Sets or (with undefined) removes bookkeeping meta keys of other layers; never advances the decree. */
  writeMeta(entries: Record<string, string | undefined>): Promise<void> {
    for (const name of Object.keys(entries)) {
      if (RESERVED_META.has(name)) return Promise.reject(new Error(`meta key ${name} is owned by the replica store`));
    }
    return this.enqueue(async (progress) => {
      const batch: WriteOp[] = Object.entries(entries).map(([name, value]) =>
        value === undefined
          ? { type: 'del', key: metaStoreKey(name) }
          : { type: 'put', key: metaStoreKey(name), value: Buffer.from(value, 'utf8') },
      );
      progress.mayHaveWritten = true;
      await this.engine.write(batch, { sync: this.syncWrites });
    });
  }

  async readMeta(name: string): Promise<string | undefined> {
    return (await this.engine.get(metaStoreKey(name)))?.toString('utf8');
  }

  // -------------------------------------------------------------------------------------------
  // Reads. Expired records are never returned.

  private liveRecord(key: Buffer, raw: Buffer | undefined, now: number): StoredRecord | undefined {
    if (raw === undefined) return undefined;
    const parts = decodeValue(raw, this.version);
    return isExpireTsPassed(parts.expireTs, now) ? undefined : { key, ...parts };
  }

  /** The live record at a composite key. */
  async get(key: Buffer, now: number = now2016Seconds(), snapshot?: EngineSnapshot): Promise<StoredRecord | undefined> {
    const raw = await this.engine.get(dataStoreKey(key), snapshot && { snapshot });
    return this.liveRecord(key, raw, now);
  }

  /** As `get`, on the JS thread: fast for cached data, blocks the loop on a disk read. */
  getSync(key: Buffer, now: number = now2016Seconds(), snapshot?: EngineSnapshot): StoredRecord | undefined {
    return this.liveRecord(key, this.engine.getSync(dataStoreKey(key), snapshot && { snapshot }), now);
  }

  /** Live records at several composite keys, in request order (undefined where absent or expired). */
  async getMany(keys: readonly Buffer[], now: number = now2016Seconds(), snapshot?: EngineSnapshot): Promise<Array<StoredRecord | undefined>> {
    const raws = await this.engine.getMany(keys.map(dataStoreKey), snapshot && { snapshot });
    return raws.map((raw, index) => this.liveRecord(keys[index]!, raw, now));
  }

  /** The ttl RPC: seconds left, -1 without expiry, undefined when absent or expired. */
  async ttlSeconds(key: Buffer, now: number = now2016Seconds()): Promise<number | undefined> {
    const raw = await this.engine.get(dataStoreKey(key));
    return raw === undefined ? undefined : ttlRemainingSeconds(readExpireTs(raw, this.version), now);
  }

  /** A cursor over live records with composite keys inside `bounds`. */
  openScan(bounds: KeyBounds, options: ScanOptions = {}): RecordCursor {
    const cursor = this.engine.cursor({
      ...toDataFamilyBounds(bounds),
      reverse: options.reverse === true,
      ...(options.snapshot && { snapshot: options.snapshot }),
    });
    return new RecordCursor(cursor, this.version, options.now ?? now2016Seconds());
  }

  /** Live records with composite keys inside `bounds`, in order. */
  async *records(bounds: KeyBounds, options: ScanOptions = {}): AsyncGenerator<StoredRecord, void, undefined> {
    const cursor = this.openScan(bounds, options);
    try {
      for (;;) {
        const step = await cursor.next(ENTRIES_BATCH_DEFAULT);
        yield* step.records;
        if (step.done) return;
      }
    } finally {
      await cursor.close();
    }
  }

  /** Live records of one hash key (sortkey_count). */
  async sortKeyCount(hashKey: Uint8Array, now: number = now2016Seconds()): Promise<number> {
    const cursor = this.openScan(hashKeyBounds(hashKey), { now });
    let count = 0;
    try {
      for (;;) {
        const step = await cursor.next(1024);
        count += step.records.length;
        if (step.done) return count;
      }
    } finally {
      await cursor.close();
    }
  }

  /** A consistent read view for several reads; close it when done. */
  snapshot(): EngineSnapshot {
    return this.engine.snapshot();
  }

  /** Approximate bytes on disk of the data family. */
  approximateDataBytes(): Promise<number> {
    const bounds = dataFamilyBounds();
    return this.engine.approximateSize(bounds.gte!, bounds.lt!);
  }

  /**
   * Bytes of the files in the database directory (tables, write-ahead log, manifest): what the
   * store takes on disk. 0 for an engine that keeps no files there.
   */
  async diskBytes(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.engine.location);
    } catch {
      return 0;
    }
    let total = 0;
    for (const name of names) {
      // A file LevelDB deletes between the listing and the stat counts as gone.
      const info = await stat(join(this.engine.location, name)).catch(() => undefined);
      if (info?.isFile()) total += info.size;
    }
    return total;
  }

  /**
   * LevelDB's table files (`NNNNNN.ldb`, or `.sst` from older versions): what Pegasus reports as
   * the store's SST files. Records still in the write-ahead log are not in them yet.
   */
  async tableFiles(): Promise<{ count: number; bytes: number }> {
    let names: string[];
    try {
      names = await readdir(this.engine.location);
    } catch {
      return { count: 0, bytes: 0 };
    }
    let count = 0;
    let bytes = 0;
    for (const name of names.filter((candidate) => TABLE_FILE.test(candidate))) {
      const info = await stat(join(this.engine.location, name)).catch(() => undefined);
      if (!info?.isFile()) continue;
      count++;
      bytes += info.size;
    }
    return { count, bytes };
  }

  // -------------------------------------------------------------------------------------------
  // Compaction

  /** When the last manual compaction finished (ms since the Unix epoch; 0: never), as recorded in the meta family. */
  async lastManualCompactFinishTimeMs(): Promise<number> {
    return parseMetaNumber(META_LAST_MANUAL_COMPACT_FINISH_TIME, await this.engine.get(metaStoreKey(META_LAST_MANUAL_COMPACT_FINISH_TIME))) ?? 0;
  }

  /** Records when a manual compaction finished, so a restarted replica does not run a `once` trigger again. */
  recordManualCompactFinish(finishMs: number): Promise<void> {
    assert(Number.isSafeInteger(finishMs) && finishMs >= 0, 'a finish time is a non-negative integer of milliseconds');
    return this.writeMeta({ [META_LAST_MANUAL_COMPACT_FINISH_TIME]: String(finishMs) });
  }

  /**
   * Drops expired records (and those `options.drop` selects), gives TTL-less records the
   * default TTL if one is set, then compacts the data family so the space is freed
   * (compaction.ts).
   */
  compact(options: CompactOptions = {}): Promise<CompactStats> {
    return compactStore(this.internals, options);
  }

  // -------------------------------------------------------------------------------------------
  // Checkpoints (logical copies for learning)

  /** A consistent copy of the store for a learner; close it to release its snapshot (checkpoint.ts). */
  openCheckpoint(): Promise<OpenCheckpoint> {
    return openCheckpoint(this.internals);
  }

  /** Replaces the whole content of the store with `checkpoint` (learning; checkpoint.ts). */
  importCheckpoint(checkpoint: Checkpoint): Promise<ImportStats> {
    return importCheckpoint(this.internals, checkpoint);
  }

  // -------------------------------------------------------------------------------------------
  // Bulk load

  /** Writes the records of bulk-load data files as decree `decree` (bulk-ingest.ts). */
  ingestBulkLoad(decree: number, files: readonly string[], options: IngestOptions): Promise<IngestStats> {
    return ingestBulkLoad(this.internals, decree, files, options);
  }

  // -------------------------------------------------------------------------------------------

  /** Waits for queued writes (new ones are refused), then closes the engine (and any open snapshots and cursors). */
  async close(): Promise<void> {
    if (this.closing) return;
    const drained = this.writeTail;
    this.closing = true;
    await drained;
    await this.engine.close();
  }

  /** Closes the store and deletes its database. */
  async destroy(): Promise<void> {
    await this.close();
    await this.engine.destroy();
  }
}

interface PendingMutation {
  decree: number;
  ops: readonly MutationOp[];
  sync: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
  settled: boolean;
}

interface MutationGroup {
  items: PendingMutation[];
  bytes: number;
}
