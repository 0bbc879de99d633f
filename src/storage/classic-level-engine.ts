// StorageEngine on classic-level (LevelDB): one database directory per engine, Buffer keys and
// values throughout. LevelDB runs reads and writes on libuv's thread pool; getSync is the one
// call that runs on the JS thread.
import { rm } from 'node:fs/promises';
import { ClassicLevel, type Iterator as LevelIterator, type Snapshot as LevelSnapshot } from 'classic-level';
import { assert } from '../base/index.ts';
import {
  checkBounds, type CursorOptions, type EngineCursor, type EngineSnapshot, type EngineStatus, type Entry,
  type ReadOptions, type StorageEngine, type WriteOp, type WriteOptions,
} from './engine.ts';
import type { KeyBounds } from './schema.ts';

/** LevelDB tuning, fixed when the database opens. Unset fields keep classic-level's defaults. */
export interface ClassicLevelTuning {
  /** Memtable size before it is written out as a table file (default 4 MiB). */
  writeBufferBytes?: number;
  /** Block cache (default 8 MiB). */
  cacheBytes?: number;
  /** Approximate uncompressed block size (default 4 KiB). */
  blockBytes?: number;
  /** Table file size before LevelDB starts a new one (default 2 MiB). */
  maxFileBytes?: number;
  maxOpenFiles?: number;
  /** Snappy compression (default on). */
  compression?: boolean;
}

type Db = ClassicLevel<Buffer, Buffer>;

/** The part of abstract-level's private API for implementations that `write` calls. */
interface ImplementerApi {
  _batch(operations: readonly WriteOp[], options: { sync: boolean }): Promise<void>;
}

class ClassicSnapshot implements EngineSnapshot {
  closed = false;
  constructor(readonly owner: ClassicLevelEngine, readonly inner: LevelSnapshot) {}
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inner.close();
  }
}

class ClassicCursor implements EngineCursor {
  closed = false;
  constructor(private readonly iterator: LevelIterator<Db, Buffer, Buffer>) {}
  async next(maxEntries: number): Promise<Entry[]> {
    assert(Number.isInteger(maxEntries) && maxEntries > 0, 'a cursor step asks for at least one entry');
    if (this.closed) return [];
    return (await this.iterator.nextv(maxEntries)) as Entry[];
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.iterator.close();
  }
}

export class ClassicLevelEngine implements StorageEngine {
  readonly location: string;
  private readonly tuning: ClassicLevelTuning;
  /** Made by the first open: abstract-level databases start opening as soon as they exist. */
  private database: Db | undefined;

  constructor(location: string, tuning: ClassicLevelTuning = {}) {
    this.location = location;
    this.tuning = tuning;
  }

  private makeDatabase(): Db {
    const tuning = this.tuning;
    return new ClassicLevel<Buffer, Buffer>(this.location, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      createIfMissing: true,
      errorIfExists: false,
      ...(tuning.writeBufferBytes !== undefined && { writeBufferSize: tuning.writeBufferBytes }),
      ...(tuning.cacheBytes !== undefined && { cacheSize: tuning.cacheBytes }),
      ...(tuning.blockBytes !== undefined && { blockSize: tuning.blockBytes }),
      ...(tuning.maxFileBytes !== undefined && { maxFileSize: tuning.maxFileBytes }),
      ...(tuning.maxOpenFiles !== undefined && { maxOpenFiles: tuning.maxOpenFiles }),
      ...(tuning.compression !== undefined && { compression: tuning.compression }),
    });
  }

  private get db(): Db {
    if (this.database === undefined) throw new Error(`LevelDB database ${this.location} is not open`);
    return this.database;
  }

  get status(): EngineStatus {
    return this.database?.status ?? 'closed';
  }

  async open(): Promise<void> {
    this.database ??= this.makeDatabase();
    await this.database.open();
  }

  async close(): Promise<void> {
    await this.database?.close();
  }

  /** Closes the database and removes its directory. */
  async destroy(): Promise<void> {
    await this.close();
    await rm(this.location, { recursive: true, force: true });
  }

  private snapshotOption(options: ReadOptions | undefined): LevelSnapshot | undefined {
    const snapshot = options?.snapshot;
    if (snapshot === undefined) return undefined;
    assert(snapshot instanceof ClassicSnapshot && snapshot.owner === this, 'snapshot belongs to this engine');
    assert(!snapshot.closed, 'snapshot is still open');
    return snapshot.inner;
  }

  get(key: Buffer, options?: ReadOptions): Promise<Buffer | undefined> {
    const snapshot = this.snapshotOption(options);
    return snapshot === undefined ? this.db.get(key) : this.db.get(key, { snapshot });
  }

  getSync(key: Buffer, options?: ReadOptions): Buffer | undefined {
    const snapshot = this.snapshotOption(options);
    return snapshot === undefined ? this.db.getSync(key) : this.db.getSync(key, { snapshot });
  }

  getMany(keys: readonly Buffer[], options?: ReadOptions): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return Promise.resolve([]);
    const snapshot = this.snapshotOption(options);
    const list = keys as Buffer[];
    return snapshot === undefined ? this.db.getMany(list) : this.db.getMany(list, { snapshot });
  }

  hasMany(keys: readonly Buffer[], options?: ReadOptions): Promise<boolean[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const snapshot = this.snapshotOption(options);
    const list = keys as Buffer[];
    return snapshot === undefined ? this.db.hasMany(list) : this.db.hasMany(list, { snapshot });
  }

  async write(ops: readonly WriteOp[], options: WriteOptions = {}): Promise<void> {
    if (ops.length === 0) return;
    const db = this.db;
    const batchOptions = { sync: options.sync === true };
    // An open database takes the operations through abstract-level's implementer API: its public
    // batch() clones every operation to run hooks and encodings this engine never uses (keys and
    // values are Buffers already), which costs about as much CPU as LevelDB's own write.
    if (db.status === 'open') await (db as unknown as ImplementerApi)._batch(ops, batchOptions);
    else await db.batch(ops as WriteOp[], batchOptions);
  }

  async clearRange(bounds: KeyBounds): Promise<void> {
    checkBounds(bounds);
    await this.db.clear({ ...bounds });
  }

  cursor(options: CursorOptions = {}): EngineCursor {
    checkBounds(options);
    const snapshot = this.snapshotOption(options);
    const limit = options.limit;
    assert(limit === undefined || (Number.isInteger(limit) && limit >= 0), 'cursor limit is a non-negative integer');
    const iterator = this.db.iterator({
      ...(options.gt !== undefined && { gt: options.gt }),
      ...(options.gte !== undefined && { gte: options.gte }),
      ...(options.lt !== undefined && { lt: options.lt }),
      ...(options.lte !== undefined && { lte: options.lte }),
      reverse: options.reverse === true,
      limit: limit ?? -1,
      ...(snapshot !== undefined && { snapshot }),
    });
    return new ClassicCursor(iterator);
  }

  snapshot(): EngineSnapshot {
    return new ClassicSnapshot(this, this.db.snapshot());
  }

  compactRange(start: Buffer, end: Buffer): Promise<void> {
    return this.db.compactRange(start, end);
  }

  approximateSize(start: Buffer, end: Buffer): Promise<number> {
    return this.db.approximateSize(start, end);
  }

  property(name: string): string | undefined {
    if (this.status !== 'open') return undefined;
    // LevelDB answers an unknown property with an empty string.
    const value = this.db.getProperty(name);
    return value === '' ? undefined : value;
  }
}

/** The default engine factory: a LevelDB database at `location`. */
export function classicLevelEngine(tuning: ClassicLevelTuning = {}): (location: string) => ClassicLevelEngine {
  return (location) => new ClassicLevelEngine(location, tuning);
}
