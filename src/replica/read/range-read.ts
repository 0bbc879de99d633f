// Building blocks of range reads: a cursor over the data family that can look one entry ahead,
// and Pegasus's iteration limiter (a count, a size and a time budget per request).
import { performance } from 'node:perf_hooks';
import type { EngineCursor, Entry, KeyBounds, ReadOptions, ReplicaStore } from '../../storage/index.ts';
import { dataFamilyBounds, dataStoreKey } from '../../storage/index.ts';

/** Entries fetched per engine step grow from the first to the last size; values may be 1 MiB each. */
const FETCH_ENTRIES_MIN = 8;
const FETCH_ENTRIES_MAX = 64;

/** An engine cursor that can show the next entry without consuming it. Keys are store keys. */
export class LookaheadCursor {
  private buffer: Entry[] = [];
  private index = 0;
  private ended = false;
  private fetchEntries = FETCH_ENTRIES_MIN;

  constructor(private readonly cursor: EngineCursor) {}

  /** The next entry, or undefined at the end of the range. */
  async peek(): Promise<Entry | undefined> {
    if (this.index < this.buffer.length) return this.buffer[this.index];
    if (this.ended) return undefined;
    this.buffer = await this.cursor.next(this.fetchEntries);
    this.index = 0;
    this.fetchEntries = Math.min(this.fetchEntries * 2, FETCH_ENTRIES_MAX);
    if (this.buffer.length === 0) {
      this.ended = true;
      return undefined;
    }
    return this.buffer[0];
  }

  /** Consumes the entry peek() returned. */
  advance(): void {
    this.index += 1;
  }

  get closed(): boolean {
    return this.cursor.closed;
  }

  async close(): Promise<void> {
    this.buffer = [];
    await this.cursor.close();
  }
}

/**
 * Opens a cursor over store keys for composite-key bounds (both sides must be set, or the side
 * left open stops at the edge of the data family).
 */
export function openLookahead(store: ReplicaStore, bounds: KeyBounds, reverse = false, readOptions: ReadOptions = {}): LookaheadCursor {
  const family = dataFamilyBounds();
  const storeBounds: KeyBounds = {};
  if (bounds.gt !== undefined) storeBounds.gt = dataStoreKey(bounds.gt);
  else if (bounds.gte !== undefined) storeBounds.gte = dataStoreKey(bounds.gte);
  else storeBounds.gte = family.gte!;
  if (bounds.lt !== undefined) storeBounds.lt = dataStoreKey(bounds.lt);
  else if (bounds.lte !== undefined) storeBounds.lte = dataStoreKey(bounds.lte);
  else storeBounds.lt = family.lt!;
  return new LookaheadCursor(store.engine.cursor({ ...storeBounds, reverse, ...readOptions }));
}

/**
 * Pegasus's range_read_limiter: a request may visit `maxCount` records and collect `maxSize`
 * bytes (0: no size limit); the clock is checked about ten times over the count budget, and a
 * request past `thresholdMs` (0: no limit) stops and says so.
 */
export class IterationLimiter {
  count = 0;
  size = 0;
  private exceeded = false;
  private readonly checkEvery: number;
  private readonly startMs = performance.now();

  constructor(
    private readonly maxCount: number,
    private readonly maxSize: number,
    private readonly thresholdMs: number,
  ) {
    this.checkEvery = maxCount <= 10 ? 1 : Math.floor(maxCount / 10);
  }

  valid(): boolean {
    if (this.count >= this.maxCount) return false;
    if (this.maxSize > 0 && this.size >= this.maxSize) return false;
    return this.timeCheck();
  }

  timeCheck(): boolean {
    if (this.thresholdMs > 0 && (this.count + 1) % this.checkEvery === 0 && performance.now() - this.startMs > this.thresholdMs) {
      this.exceeded = true;
      return false;
    }
    return true;
  }

  /** After a walk that stopped before the end of its range: was it the clock? */
  timeCheckAfterIncomplete(): void {
    if (this.thresholdMs > 0 && performance.now() - this.startMs > this.thresholdMs) this.exceeded = true;
  }

  get exceededTime(): boolean {
    return this.exceeded;
  }
}
