// An in-memory StorageEngine with the same contract as the LevelDB one, for the deterministic
// simulator and for fast tests. Data lives in a `MemoryVolume` that outlives close/open, so a
// "restart" keeps what was written, as a disk would. Reads and writes complete on a later
// microtask, never synchronously, so callers meet the same interleavings as with a real engine.
//
// Storage is a pair of sorted arrays. Snapshots and cursors share the arrays of the moment they
// were taken; the next write copies them first (copy-on-write), so a view never changes.
import { assert } from '../base/index.ts';
import {
  checkBounds, type CursorOptions, type EngineCursor, type EngineSnapshot, type EngineStatus, type Entry,
  type ReadOptions, type StorageEngine, type WriteOp, type WriteOptions,
} from './engine.ts';
import type { KeyBounds } from './schema.ts';

interface Table {
  keys: Buffer[];
  values: Buffer[];
  /** Some snapshot or cursor reads these arrays: copy before changing them. */
  shared: boolean;
}

/** What survives an engine's close: the durable contents of one location. */
export class MemoryVolume {
  table: Table = { keys: [], values: [], shared: false };
  /** Sum of key and value bytes, kept for approximateSize. */
  bytes = 0;
}

/** Named volumes, so that a factory can hand a restarted replica its old data. */
export class MemoryDisk {
  private readonly volumes = new Map<string, MemoryVolume>();
  volume(location: string): MemoryVolume {
    let volume = this.volumes.get(location);
    if (volume === undefined) {
      volume = new MemoryVolume();
      this.volumes.set(location, volume);
    }
    return volume;
  }
  has(location: string): boolean {
    return this.volumes.has(location);
  }
  remove(location: string): void {
    this.volumes.delete(location);
  }
}

/** Index of the first key >= `key`. */
function lowerBound(keys: readonly Buffer[], key: Uint8Array): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (Buffer.compare(keys[middle]!, key) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Index of the first key > `key`. */
function upperBound(keys: readonly Buffer[], key: Uint8Array): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (Buffer.compare(keys[middle]!, key) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The half-open index range [begin, end) of `bounds` in sorted `keys`. */
function indexRange(keys: readonly Buffer[], bounds: KeyBounds): [number, number] {
  let begin = 0;
  let end = keys.length;
  if (bounds.gte !== undefined) begin = lowerBound(keys, bounds.gte);
  if (bounds.gt !== undefined) begin = upperBound(keys, bounds.gt);
  if (bounds.lt !== undefined) end = lowerBound(keys, bounds.lt);
  if (bounds.lte !== undefined) end = upperBound(keys, bounds.lte);
  return [begin, Math.max(begin, end)];
}

function lookup(table: Table, key: Uint8Array): Buffer | undefined {
  const index = lowerBound(table.keys, key);
  return index < table.keys.length && table.keys[index]!.equals(key) ? table.values[index] : undefined;
}

class MemorySnapshot implements EngineSnapshot {
  closed = false;
  constructor(readonly owner: MemoryEngine, readonly table: Table) {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

class MemoryCursor implements EngineCursor {
  closed = false;
  private position: number;
  private remaining: number;
  constructor(
    private readonly table: Table,
    private readonly begin: number,
    private readonly end: number,
    private readonly reverse: boolean,
    limit: number | undefined,
    private readonly engineOpen: () => boolean,
  ) {
    this.position = reverse ? end - 1 : begin;
    this.remaining = limit ?? Number.POSITIVE_INFINITY;
  }
  async next(maxEntries: number): Promise<Entry[]> {
    assert(Number.isInteger(maxEntries) && maxEntries > 0, 'a cursor step asks for at least one entry');
    await Promise.resolve();
    if (!this.closed && !this.engineOpen()) throw new Error('memory engine closed under an open cursor');
    const batch: Entry[] = [];
    while (!this.closed && batch.length < maxEntries && this.remaining > 0) {
      if (this.reverse ? this.position < this.begin : this.position >= this.end) break;
      batch.push([this.table.keys[this.position]!, this.table.values[this.position]!]);
      this.position += this.reverse ? -1 : 1;
      this.remaining -= 1;
    }
    return batch;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export class MemoryEngine implements StorageEngine {
  readonly location: string;
  /** Every write lands in the table at once: there is no write buffer (and no block cache: reads ignore `fillCache`). */
  readonly writeBufferBytes = undefined;
  private currentStatus: EngineStatus = 'closed';
  private readonly openResources = new Set<{ closed: boolean; close(): Promise<void> }>();

  constructor(location: string, private readonly volume: MemoryVolume) {
    this.location = location;
  }

  get status(): EngineStatus {
    return this.currentStatus;
  }

  async open(): Promise<void> {
    await Promise.resolve();
    this.currentStatus = 'open';
  }

  async close(): Promise<void> {
    if (this.currentStatus === 'closed') return;
    this.currentStatus = 'closing';
    // Snapshots are released; cursors stay unclosed so that their next step fails loudly
    // instead of looking like the end of the range.
    for (const resource of this.openResources) if (resource instanceof MemorySnapshot) await resource.close();
    this.openResources.clear();
    this.currentStatus = 'closed';
  }

  async destroy(): Promise<void> {
    await this.close();
    this.volume.table = { keys: [], values: [], shared: false };
    this.volume.bytes = 0;
  }

  private assertOpen(): void {
    if (this.currentStatus !== 'open') throw new Error(`memory engine ${this.location} is not open`);
  }

  private tableFor(options: ReadOptions | undefined): Table {
    this.assertOpen();
    const snapshot = options?.snapshot;
    if (snapshot === undefined) return this.volume.table;
    assert(snapshot instanceof MemorySnapshot && snapshot.owner === this, 'snapshot belongs to this engine');
    assert(!snapshot.closed, 'snapshot is still open');
    return snapshot.table;
  }

  /** Pins the current table for a reader; the next write will copy it. */
  private pinTable(): Table {
    this.volume.table.shared = true;
    return this.volume.table;
  }

  private writableTable(): Table {
    const table = this.volume.table;
    if (!table.shared) return table;
    const copy: Table = { keys: table.keys.slice(), values: table.values.slice(), shared: false };
    this.volume.table = copy;
    return copy;
  }

  async get(key: Buffer, options?: ReadOptions): Promise<Buffer | undefined> {
    const table = this.tableFor(options);
    await Promise.resolve();
    return lookup(table, key);
  }

  getSync(key: Buffer, options?: ReadOptions): Buffer | undefined {
    return lookup(this.tableFor(options), key);
  }

  async getMany(keys: readonly Buffer[], options?: ReadOptions): Promise<Array<Buffer | undefined>> {
    const table = this.tableFor(options);
    await Promise.resolve();
    return keys.map((key) => lookup(table, key));
  }

  async hasMany(keys: readonly Buffer[], options?: ReadOptions): Promise<boolean[]> {
    const table = this.tableFor(options);
    await Promise.resolve();
    return keys.map((key) => lookup(table, key) !== undefined);
  }

  async write(ops: readonly WriteOp[], _options: WriteOptions = {}): Promise<void> {
    this.assertOpen();
    // Copy the caller's buffers: a stored value must not change if the caller reuses its buffer.
    const copies = ops.map((op) =>
      op.type === 'put'
        ? { type: 'put' as const, key: Buffer.from(op.key), value: Buffer.from(op.value) }
        : { type: 'del' as const, key: Buffer.from(op.key) },
    );
    await Promise.resolve();
    this.assertOpen();
    if (copies.length === 0) return;
    const table = this.writableTable();
    for (const op of copies) {
      const index = lowerBound(table.keys, op.key);
      const found = index < table.keys.length && table.keys[index]!.equals(op.key);
      if (op.type === 'put') {
        if (found) {
          this.volume.bytes += op.value.length - table.values[index]!.length;
          table.values[index] = op.value;
        } else {
          this.volume.bytes += op.key.length + op.value.length;
          table.keys.splice(index, 0, op.key);
          table.values.splice(index, 0, op.value);
        }
      } else if (found) {
        this.volume.bytes -= op.key.length + table.values[index]!.length;
        table.keys.splice(index, 1);
        table.values.splice(index, 1);
      }
    }
  }

  async clearRange(bounds: KeyBounds): Promise<void> {
    checkBounds(bounds);
    this.assertOpen();
    await Promise.resolve();
    const table = this.writableTable();
    const [begin, end] = indexRange(table.keys, bounds);
    for (let index = begin; index < end; index += 1) {
      this.volume.bytes -= table.keys[index]!.length + table.values[index]!.length;
    }
    table.keys.splice(begin, end - begin);
    table.values.splice(begin, end - begin);
  }

  cursor(options: CursorOptions = {}): EngineCursor {
    checkBounds(options);
    const table = options.snapshot !== undefined ? this.tableFor(options) : (this.assertOpen(), this.pinTable());
    const [begin, end] = indexRange(table.keys, options);
    const cursor = new MemoryCursor(table, begin, end, options.reverse === true, options.limit, () => this.currentStatus === 'open');
    this.track(cursor);
    return cursor;
  }

  snapshot(): EngineSnapshot {
    this.assertOpen();
    const snapshot = new MemorySnapshot(this, this.pinTable());
    this.track(snapshot);
    return snapshot;
  }

  private track(resource: { closed: boolean; close(): Promise<void> }): void {
    const close = resource.close.bind(resource);
    resource.close = async () => {
      this.openResources.delete(resource);
      await close();
    };
    this.openResources.add(resource);
  }

  async compactRange(_start: Buffer, _end: Buffer): Promise<void> {
    this.assertOpen();
    await Promise.resolve();
  }

  async approximateSize(start: Buffer, end: Buffer): Promise<number> {
    const table = this.tableFor(undefined);
    await Promise.resolve();
    const [begin, stop] = indexRange(table.keys, { gte: start, lt: end });
    let bytes = 0;
    for (let index = begin; index < stop; index += 1) bytes += table.keys[index]!.length + table.values[index]!.length;
    return bytes;
  }

  property(name: string): string | undefined {
    if (name === 'memory.entries') return String(this.volume.table.keys.length);
    if (name === 'memory.bytes') return String(this.volume.bytes);
    return undefined;
  }
}

/** An engine factory over `disk`: each location gets its own persistent volume. */
export function memoryEngine(disk: MemoryDisk = new MemoryDisk()): (location: string) => MemoryEngine {
  return (location) => new MemoryEngine(location, disk.volume(location));
}
