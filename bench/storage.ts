// The storage bench: classic-level (Pteron's engine, through its StorageEngine) next to the
// RocksDB bindings for Node 20, on the operations the replica store makes: puts in atomic
// batches, point gets one at a time, getMany, and forward and reverse scans in steps. Each engine
// gets a fresh directory in the system's temp dir; every figure is per second, and each RocksDB
// column is also given as a ratio of classic-level's (above 1: faster).
//
// The bindings are not dependencies of the project (the two install 219 MB of prebuilt
// binaries); the bench uses the ones it finds and says how to install the others.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ClassicLevelEngine, type Entry } from '../src/storage/index.ts';
import { fixed, median, table } from './lib/stats.ts';

const HELP = `usage: npm run bench -- storage [options]
  --keys N          records written, then read (default 100000)
  --value-bytes N   value size (default 1024)
  --batch N         records per atomic write batch (default 100)
  --gets N          point gets, one at a time, of random written keys (default 20000)
  --get-many N      keys per getMany call (default 100); as many keys in all as --gets
  --scan-step N     entries fetched per cursor step (default 256)
  --rounds N        runs of every engine, taking turns; the median run is shown (default 1)

The RocksDB bindings are used when installed; they are not project dependencies:
  npm install --no-save rocksdb-native @nxtedition/rocksdb
`;

const BINDINGS_INSTALL = 'npm install --no-save rocksdb-native @nxtedition/rocksdb';

interface Options {
  keys: number;
  valueBytes: number;
  batch: number;
  gets: number;
  getMany: number;
  scanStep: number;
  rounds: number;
}

/** The operations measured, on one engine's directory. */
interface BenchStore {
  write(entries: readonly Entry[]): Promise<void>;
  get(key: Buffer): Promise<Buffer | undefined>;
  getMany(keys: readonly Buffer[]): Promise<Array<Buffer | undefined>>;
  /** Walks every record in order; returns how many it saw. */
  scan(reverse: boolean, step: number): Promise<number>;
  close(): Promise<void>;
}

interface EngineEntry {
  name: string;
  /** The binding's package, or undefined for the project's own engine. */
  packageName?: string;
  open(location: string): Promise<BenchStore>;
}

const KEY_LOW = Buffer.from('k');
const KEY_HIGH = Buffer.from('l');

async function openClassicLevel(location: string): Promise<BenchStore> {
  const engine = new ClassicLevelEngine(location);
  await engine.open();
  return {
    write: (entries) => engine.write(entries.map(([key, value]) => ({ type: 'put', key, value }))),
    get: (key) => engine.get(key),
    getMany: (keys) => engine.getMany(keys),
    scan: async (reverse, step) => {
      const cursor = engine.cursor({ gte: KEY_LOW, lt: KEY_HIGH, reverse });
      let count = 0;
      try {
        for (let batch = await cursor.next(step); batch.length > 0; batch = await cursor.next(step)) count += batch.length;
      } finally {
        await cursor.close();
      }
      return count;
    },
    close: () => engine.close(),
  };
}

const requireFromBench = createRequire(import.meta.url);

/** The binding's module, or undefined when it is not installed. */
function loadBinding(packageName: string): unknown {
  try {
    return requireFromBench(packageName);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

// rocksdb-native (holepunch): reads and writes go through batch objects; an iterator is a stream.
interface NativeBatch {
  tryPut(key: Buffer, value: Buffer): void;
  get(key: Buffer): Promise<Buffer | null>;
  flush(): Promise<void>;
  tryFlush(): void;
}
interface NativeDb {
  ready(): Promise<void>;
  write(options: { capacity: number; autoDestroy: boolean }): NativeBatch;
  read(options: { capacity: number; autoDestroy: boolean }): NativeBatch;
  get(key: Buffer): Promise<Buffer | null>;
  iterator(range: { gte: Buffer; lt: Buffer; reverse: boolean }, options: { capacity: number }): AsyncIterable<{ key: Buffer; value: Buffer }>;
  close(): Promise<void>;
}

async function openRocksdbNative(location: string): Promise<BenchStore> {
  const RocksDB = loadBinding('rocksdb-native') as new (location: string) => NativeDb;
  const db = new RocksDB(location);
  await db.ready();
  return {
    write: async (entries) => {
      const batch = db.write({ capacity: entries.length, autoDestroy: true });
      for (const [key, value] of entries) batch.tryPut(key, value);
      await batch.flush();
    },
    get: async (key) => (await db.get(key)) ?? undefined,
    getMany: async (keys) => {
      const batch = db.read({ capacity: keys.length, autoDestroy: true });
      const values = keys.map((key) => batch.get(key));
      batch.tryFlush();
      return (await Promise.all(values)).map((value) => value ?? undefined);
    },
    scan: async (reverse, step) => {
      let count = 0;
      for await (const entry of db.iterator({ gte: KEY_LOW, lt: KEY_HIGH, reverse }, { capacity: step })) if (entry) count += 1;
      return count;
    },
    close: () => db.close(),
  };
}

// @nxtedition/rocksdb: an abstract-level 1 database. Like Pteron's classic-level engine, the bench
// calls its implementer methods, which skip the public API's copies and encodings.
interface NxteditionDb {
  open(): Promise<void>;
  close(): Promise<void>;
  _batch(operations: Array<{ type: 'put'; key: Buffer; value: Buffer }>, options: object): Promise<void>;
  _getManyAsync(keys: readonly Buffer[], options: object): Promise<Array<Buffer | undefined>>;
  iterator(options: object): { nextv(size: number): Promise<Entry[]>; close(): Promise<void> };
}

async function openNxtedition(location: string): Promise<BenchStore> {
  const { RocksLevel } = loadBinding('@nxtedition/rocksdb') as { RocksLevel: new (location: string, options: object) => NxteditionDb };
  const db = new RocksLevel(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return {
    write: (entries) => db._batch(entries.map(([key, value]) => ({ type: 'put', key, value })), {}),
    get: async (key) => (await db._getManyAsync([key], {}))[0] ?? undefined,
    getMany: (keys) => db._getManyAsync(keys, {}),
    scan: async (reverse, step) => {
      const iterator = db.iterator({ gte: KEY_LOW, lt: KEY_HIGH, reverse, keyEncoding: 'buffer', valueEncoding: 'buffer' });
      let count = 0;
      try {
        for (let batch = await iterator.nextv(step); batch.length > 0; batch = await iterator.nextv(step)) count += batch.length;
      } finally {
        await iterator.close();
      }
      return count;
    },
    close: () => db.close(),
  };
}

const ENGINES: EngineEntry[] = [
  { name: 'classic-level 3.0.0', open: openClassicLevel },
  { name: 'rocksdb-native', packageName: 'rocksdb-native', open: openRocksdbNative },
  { name: '@nxtedition/rocksdb', packageName: '@nxtedition/rocksdb', open: openNxtedition },
];

const MEASURES = ['puts', 'point gets', 'getMany keys', 'forward scan', 'reverse scan'] as const;
type Measure = (typeof MEASURES)[number];

/** xorshift32: the same key order for every engine. */
function shuffled(count: number, seed: number): number[] {
  const order = Array.from({ length: count }, (_, index) => index);
  let state = seed >>> 0 || 1;
  for (let index = count - 1; index > 0; index--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    const other = state % (index + 1);
    [order[index], order[other]] = [order[other]!, order[index]!];
  }
  return order;
}

const keyOf = (index: number): Buffer => Buffer.from(`k${String(index).padStart(10, '0')}`);

/** One run on a fresh directory: per-second rates of every measure. */
async function runOnce(engine: EngineEntry, options: Options): Promise<Record<Measure, number>> {
  const location = mkdtempSync(path.join(os.tmpdir(), 'pteron-bench-storage-'));
  const store = await engine.open(path.join(location, 'db'));
  const perSecond = (count: number, startNs: bigint): number => count / (Number(process.hrtime.bigint() - startNs) / 1e9);
  try {
    // Random bytes: compression (LevelDB's snappy, RocksDB's) gains nothing, as on user data that is already compact.
    const valueBase = randomBytes(options.valueBytes);
    const order = shuffled(options.keys, 0x5eed);
    let startNs = process.hrtime.bigint();
    for (let start = 0; start < order.length; start += options.batch) {
      const entries: Entry[] = order.slice(start, start + options.batch).map((index) => {
        const value = Buffer.from(valueBase);
        value.writeUInt32BE(index, 0);
        return [keyOf(index), value];
      });
      await store.write(entries);
    }
    const puts = perSecond(options.keys, startNs);

    const probes = shuffled(options.keys, 0xbead).slice(0, Math.min(options.gets, options.keys)).map(keyOf);
    startNs = process.hrtime.bigint();
    for (const key of probes) {
      if ((await store.get(key)) === undefined) throw new Error(`${engine.name}: a written key is missing`);
    }
    const gets = perSecond(probes.length, startNs);

    startNs = process.hrtime.bigint();
    for (let start = 0; start < probes.length; start += options.getMany) {
      const values = await store.getMany(probes.slice(start, start + options.getMany));
      if (values.includes(undefined)) throw new Error(`${engine.name}: getMany missed a written key`);
    }
    const getManyKeys = perSecond(probes.length, startNs);

    const scans: number[] = [];
    for (const reverse of [false, true]) {
      startNs = process.hrtime.bigint();
      const seen = await store.scan(reverse, options.scanStep);
      if (seen !== options.keys) throw new Error(`${engine.name}: a ${reverse ? 'reverse' : 'forward'} scan saw ${seen} of ${options.keys} records`);
      scans.push(perSecond(seen, startNs));
    }
    return { puts, 'point gets': gets, 'getMany keys': getManyKeys, 'forward scan': scans[0]!, 'reverse scan': scans[1]! };
  } finally {
    await store.close();
    rmSync(location, { recursive: true, force: true });
  }
}

function integerOption(value: string | undefined, fallback: number, name: string): number {
  const parsed = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw Object.assign(new Error(`--${name} must be a positive integer`), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
  return parsed;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      keys: { type: 'string' }, 'value-bytes': { type: 'string' }, batch: { type: 'string' }, gets: { type: 'string' },
      'get-many': { type: 'string' }, 'scan-step': { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const options: Options = {
    keys: integerOption(values.keys, 100_000, 'keys'),
    valueBytes: integerOption(values['value-bytes'], 1024, 'value-bytes'),
    batch: integerOption(values.batch, 100, 'batch'),
    gets: integerOption(values.gets, 20_000, 'gets'),
    getMany: integerOption(values['get-many'], 100, 'get-many'),
    scanStep: integerOption(values['scan-step'], 256, 'scan-step'),
    rounds: integerOption(values.rounds, 1, 'rounds'),
  };
  if (options.valueBytes < 4) throw Object.assign(new Error('--value-bytes must be at least 4'), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });

  const engines = ENGINES.filter((engine) => engine.packageName === undefined || loadBinding(engine.packageName) !== undefined);
  const missing = ENGINES.filter((engine) => !engines.includes(engine)).map((engine) => engine.packageName!);
  if (missing.length > 0) process.stdout.write(`not installed, so not measured: ${missing.join(', ')} (install with: ${BINDINGS_INSTALL})\n`);

  const runs = new Map<EngineEntry, Array<Record<Measure, number>>>(engines.map((engine) => [engine, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const engine of engines) runs.get(engine)!.push(await runOnce(engine, options));
  }
  const medianOf = (engine: EngineEntry, measure: Measure): number => median(runs.get(engine)!.map((result) => result[measure]));

  const [baseline, ...others] = engines;
  const header = ['per second', ...engines.map((engine) => engine.name), ...others.map((engine) => `${engine.name} / classic`)];
  const rows = [header];
  for (const measure of MEASURES) {
    const base = medianOf(baseline!, measure);
    rows.push([
      measure,
      ...engines.map((engine) => fixed(medianOf(engine, measure), 0)),
      ...others.map((engine) => `x${fixed(medianOf(engine, measure) / base, 2)}`),
    ]);
  }
  process.stdout.write(
    `storage bench: ${options.keys} records of ${options.valueBytes} bytes written in batches of ${options.batch}, ` +
      `${options.gets} point gets one at a time, the same keys by getMany of ${options.getMany}, full scans in steps of ${options.scanStep}; ` +
      `${options.rounds === 1 ? 'one run' : `median of ${options.rounds} runs`} per engine\n\n${table(rows)}\n`,
  );
}
