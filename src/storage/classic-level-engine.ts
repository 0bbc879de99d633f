// StorageEngine on classic-level (LevelDB): one database directory per engine, Buffer keys and
// values throughout. LevelDB runs reads and writes on libuv's thread pool; getSync is the one
// call that runs on the JS thread. A directory that holds another engine's files (RocksDB, as in
// a Pegasus data directory) is refused at open instead of being handed to LevelDB.
import { readdir, rm, stat } from 'node:fs/promises';
import { ClassicLevel, type Iterator as LevelIterator, type Snapshot as LevelSnapshot } from 'classic-level';
import { PteronError, assert } from '../base/index.ts';
import {
  checkBounds, type CursorOptions, type EngineCursor, type EngineOptions, type EngineSnapshot, type EngineStatus, type Entry,
  type ReadOptions, type StorageEngine, type WriteOp, type WriteOptions,
} from './engine.ts';
import type { KeyBounds } from './schema.ts';

/** LevelDB's write buffer when none is set. */
export const LEVELDB_WRITE_BUFFER_DEFAULT = 4 * 1024 * 1024;

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

/** Files LevelDB itself writes into its directory. */
const LEVELDB_FILE = /^(CURRENT|LOCK|LOG|LOG\.old|MANIFEST-\d+|\d+\.(log|ldb|sst|dbtmp))$/;
/** Files only RocksDB writes: its database id and its options files. */
const ROCKSDB_FILE = /^(IDENTITY|OPTIONS-\d+(\.dbtmp)?)$/;

/**
 * Why the directory listing `names` is not a LevelDB store LevelDB may open, or undefined when it
 * is one (or empty). A directory without CURRENT that holds only LevelDB's own files is a store
 * whose creation was cut short: LevelDB creates it afresh.
 */
export function foreignStoreReason(names: readonly string[]): string | undefined {
  const rocksdbFile = names.find((name) => ROCKSDB_FILE.test(name));
  if (rocksdbFile !== undefined) {
    return `it holds a RocksDB database (${rocksdbFile}; a Pegasus replica's data/rdb is one), and this build stores data in LevelDB, which cannot read it`;
  }
  if (names.includes('CURRENT')) return undefined;
  const other = names.find((name) => !LEVELDB_FILE.test(name));
  return other === undefined ? undefined : `it holds ${other} but no LevelDB CURRENT file, so it is not a LevelDB database`;
}

/** Refuses a location that exists but is not a LevelDB store (see foreignStoreReason). */
async function checkLevelDbLocation(location: string): Promise<void> {
  const refuse = (reason: string) => new PteronError('ERR_LOCAL_APP_FAILURE', `refusing to open ${location} as a LevelDB store: ${reason}`);
  const found = await stat(location).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (found === undefined) return;
  if (!found.isDirectory()) throw refuse('it is not a directory');
  const reason = foreignStoreReason(await readdir(location));
  if (reason !== undefined) throw refuse(reason);
}

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

  get writeBufferBytes(): number {
    return this.tuning.writeBufferBytes ?? LEVELDB_WRITE_BUFFER_DEFAULT;
  }

  async open(): Promise<void> {
    if (this.database === undefined) {
      await checkLevelDbLocation(this.location);
      this.database = this.makeDatabase();
    }
    try {
      await this.database.open();
    } catch (error) {
      // abstract-level says only "Database failed to open"; LevelDB's reason is the cause.
      const cause = (error as { cause?: Error }).cause ?? (error as Error);
      throw new PteronError('ERR_LOCAL_APP_FAILURE', `LevelDB could not open ${this.location}: ${cause.message}`);
    }
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

  /** classic-level's options for a read; undefined for a plain one (the common, cheapest call). */
  private levelReadOptions(options: ReadOptions | undefined): { snapshot?: LevelSnapshot; fillCache?: boolean } | undefined {
    const snapshot = this.snapshotOption(options);
    const fillCache = options?.fillCache;
    if (snapshot === undefined && fillCache !== false) return undefined;
    return { ...(snapshot !== undefined && { snapshot }), ...(fillCache === false && { fillCache }) };
  }

  get(key: Buffer, options?: ReadOptions): Promise<Buffer | undefined> {
    const levelOptions = this.levelReadOptions(options);
    return levelOptions === undefined ? this.db.get(key) : this.db.get(key, levelOptions);
  }

  getSync(key: Buffer, options?: ReadOptions): Buffer | undefined {
    const levelOptions = this.levelReadOptions(options);
    return levelOptions === undefined ? this.db.getSync(key) : this.db.getSync(key, levelOptions);
  }

  getMany(keys: readonly Buffer[], options?: ReadOptions): Promise<Array<Buffer | undefined>> {
    if (keys.length === 0) return Promise.resolve([]);
    const levelOptions = this.levelReadOptions(options);
    const list = keys as Buffer[];
    return levelOptions === undefined ? this.db.getMany(list) : this.db.getMany(list, levelOptions);
  }

  hasMany(keys: readonly Buffer[], options?: ReadOptions): Promise<boolean[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const levelOptions = this.levelReadOptions(options);
    const list = keys as Buffer[];
    return levelOptions === undefined ? this.db.hasMany(list) : this.db.hasMany(list, levelOptions);
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
      ...(options.fillCache !== undefined && { fillCache: options.fillCache }),
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

/** The default engine factory: a LevelDB database at `location`; `options` override `tuning`. */
export function classicLevelEngine(tuning: ClassicLevelTuning = {}): (location: string, options?: EngineOptions) => ClassicLevelEngine {
  return (location, options = {}) => new ClassicLevelEngine(location, {
    ...tuning,
    ...(options.writeBufferBytes !== undefined && { writeBufferBytes: options.writeBufferBytes }),
  });
}
