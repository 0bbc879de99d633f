// The storage engine contract: an ordered byte-key store with atomic batches, consistent read
// views and manual compaction. The replica store builds Pegasus's semantics (composite keys,
// expiry, meta keys, checkpoints) on top of it; engines know nothing about Pegasus.
import type { KeyBounds } from './schema.ts';

export type { KeyBounds } from './schema.ts';

/** One key/value pair as the engine stores it. */
export type Entry = [key: Buffer, value: Buffer];

export type WriteOp =
  | { type: 'put'; key: Buffer; value: Buffer }
  | { type: 'del'; key: Buffer };

export interface WriteOptions {
  /** Wait for the write to reach stable storage (fsync) before resolving. */
  sync?: boolean;
}

/**
 * A consistent, read-only view of the whole store at the moment it was taken. Reads and cursors
 * that name it see nothing written later. Close it when done: it pins old data in the engine.
 */
export interface EngineSnapshot {
  readonly closed: boolean;
  close(): Promise<void>;
}

export interface ReadOptions {
  snapshot?: EngineSnapshot;
  /**
   * Keep the blocks this read loads in the engine's block cache (Pegasus's `fill_cache`). Unset:
   * the engine's own default (LevelDB: point reads fill it, cursors do not, so the store's own
   * full walks leave it alone). Engines without a cache ignore it.
   */
  fillCache?: boolean;
}

export interface CursorOptions extends KeyBounds, ReadOptions {
  /** Visit keys in descending order. */
  reverse?: boolean;
  /** Stop after this many entries (unset: no limit). */
  limit?: number;
}

/**
 * An ordered walk over a key range. Without an explicit snapshot, a cursor still reads one
 * consistent view: the store as it was when the cursor was opened. After its own close(),
 * next() returns []; after the engine closed under it, next() rejects (so a cut-short walk is
 * never mistaken for the end of the range).
 */
export interface EngineCursor {
  /** Up to `maxEntries` next entries; an empty array means the walk is over. */
  next(maxEntries: number): Promise<Entry[]>;
  close(): Promise<void>;
  readonly closed: boolean;
}

export type EngineStatus = 'opening' | 'open' | 'closing' | 'closed';

export interface StorageEngine {
  /** Where the engine keeps its files (or its name, for in-memory engines). */
  readonly location: string;
  readonly status: EngineStatus;

  /** Opens, creating the store if it does not exist. */
  open(): Promise<void>;
  /** Closes open cursors and snapshots too. Closing a closed engine is a no-op. */
  close(): Promise<void>;
  /** Closes the engine and deletes everything it stored at its location. */
  destroy(): Promise<void>;

  get(key: Buffer, options?: ReadOptions): Promise<Buffer | undefined>;
  /** Blocks the event loop for the lookup: fast for cached data, use for hot point reads. */
  getSync(key: Buffer, options?: ReadOptions): Buffer | undefined;
  getMany(keys: readonly Buffer[], options?: ReadOptions): Promise<Array<Buffer | undefined>>;
  hasMany(keys: readonly Buffer[], options?: ReadOptions): Promise<boolean[]>;

  /** Applies every op, in order, as one atomic batch: after a crash either all or none are there. */
  write(ops: readonly WriteOp[], options?: WriteOptions): Promise<void>;
  /**
   * Deletes every key inside `bounds`. NOT atomic: a crash can leave part of the range deleted,
   * and writes made meanwhile to keys in the range may or may not survive.
   */
  clearRange(bounds: KeyBounds): Promise<void>;

  cursor(options?: CursorOptions): EngineCursor;
  snapshot(): EngineSnapshot;

  /** Compacts the files holding `[start, end)` now, dropping overwritten and deleted data. */
  compactRange(start: Buffer, end: Buffer): Promise<void>;
  /** Approximate bytes of files holding `[start, end)` (data still in the write buffer is not counted). */
  approximateSize(start: Buffer, end: Buffer): Promise<number>;
  /** An engine-specific property (LevelDB: `leveldb.stats`, …); undefined when unknown. */
  property(name: string): string | undefined;
  /** Bytes of writes the engine buffers in memory before writing a table file; undefined when it has no such buffer. */
  readonly writeBufferBytes: number | undefined;
}

/** Settings an engine takes when it is made; an engine without such a setting ignores it. */
export interface EngineOptions {
  /** Write buffer (memtable) size; unset: the engine's own default or tuning. */
  writeBufferBytes?: number;
}

/** Makes a (closed) engine for a location; the replica store opens it. */
export type EngineFactory = (location: string, options?: EngineOptions) => StorageEngine;

/** Default number of entries fetched per cursor step by `entries`. */
export const ENTRIES_BATCH_DEFAULT = 256;

/** Iterates a cursor to its end, closing it afterwards (also when the loop breaks early). */
export async function* entries(
  engine: StorageEngine,
  options: CursorOptions = {},
  batchEntries: number = ENTRIES_BATCH_DEFAULT,
): AsyncGenerator<Entry, void, undefined> {
  const cursor = engine.cursor(options);
  try {
    for (;;) {
      const batch = await cursor.next(batchEntries);
      if (batch.length === 0) return;
      yield* batch;
    }
  } finally {
    await cursor.close();
  }
}

/** Checks that bounds set at most one of gt/gte and one of lt/lte. */
export function checkBounds(bounds: KeyBounds): void {
  if (bounds.gt !== undefined && bounds.gte !== undefined) throw new Error('bounds set both gt and gte');
  if (bounds.lt !== undefined && bounds.lte !== undefined) throw new Error('bounds set both lt and lte');
}
