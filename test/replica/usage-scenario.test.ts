// Table envs that tune a replica's storage and reads, in process on real LevelDB stores:
// `rocksdb.usage_scenario` (deferred-apply batch at once, write buffer at the next open, recorded
// in the store's meta keys, shown in the replica's gauges), `rocksdb.write_buffer_size`,
// `replica.rocksdb_block_cache_enabled` (reads pass fillCache: false) and
// `replica.slow_query_threshold` (a read slower than it is logged and counted; the reads are
// slowed by an engine that waits longer than the threshold, so the outcome does not depend on
// the machine's speed).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { AppInfo, PartitionConfiguration } from '../../src/cluster/index.ts';
import type { Gauge } from '../../src/metrics/index.ts';
import type { RpcHandler, RpcServer } from '../../src/net/index.ts';
import {
  META_USAGE_SCENARIO, ReplicaStub, envsOf, parseUsageScenario, registerDataPlane, slowQueryThresholdNsOf, writeBufferBytesFor, type Replica,
} from '../../src/replica/index.ts';
import {
  LEVELDB_WRITE_BUFFER_DEFAULT, classicLevelEngine, encodeKey, type EngineFactory, type ReadOptions, type StorageEngine,
} from '../../src/storage/index.ts';
import { encodeArgs, encodeRequestFrameV0, FilterType, parseRequestFrame, RPCS, type RequestFrame } from '../../src/wire/index.ts';
import { waitFor } from '../helpers/process.ts';

const SELF = '127.0.0.1:40101';
const MiB = 1024 * 1024;

const appInfo = (appId: number, envs: Record<string, string>): AppInfo => ({
  status: 'AS_AVAILABLE', appType: 'pegasus', appName: `table${appId}`, appId, partitionCount: 1, envs, isStateful: true, maxReplicaCount: 1,
  expireSecond: 0, createSecond: 1, dropSecond: 0, duplicating: false, initPartitionCount: -1, isBulkLoading: false, atomicIdempotent: false,
});
/** This node alone is the partition's primary: it commits without peers. */
const primaryConfig = (appId: number, ballot: number): PartitionConfiguration => ({
  gpid: { appId, partitionIndex: 0 }, ballot, maxReplicaCount: 1, primary: SELF, secondaries: [], lastDrops: [], lastCommittedDecree: 0, partitionFlags: 0,
});

const gauge = (replica: Replica, name: string): number => (replica.metrics.entity.metrics.get(name) as Gauge).value;

describe('usage scenario and storage envs: parsing', () => {
  test('an unset scenario is normal, an unknown one is no scenario', () => {
    assert.deepEqual(['normal', 'prefer_write', 'bulk_load'].map(parseUsageScenario), ['normal', 'prefer_write', 'bulk_load']);
    assert.equal(parseUsageScenario(undefined), 'normal');
    assert.equal(parseUsageScenario('BULK_LOAD'), undefined);
  });

  test('the write buffer is the base times 1, 2 or 4, unless rocksdb.write_buffer_size sets it', () => {
    assert.deepEqual(
      (['normal', 'prefer_write', 'bulk_load'] as const).map((scenario) => writeBufferBytesFor(scenario, undefined, 4 * MiB)),
      [4 * MiB, 8 * MiB, 16 * MiB],
    );
    assert.equal(writeBufferBytesFor('bulk_load', 32 * MiB), 32 * MiB);
  });

  test('envsOf reads the scenario, the write buffer, the block cache switch and the slow query threshold', () => {
    const defaults = envsOf(appInfo(1, {}));
    assert.deepEqual(
      [defaults.usageScenario, defaults.writeBufferBytes, defaults.blockCacheEnabled, defaults.slowQueryThresholdMs],
      ['normal', undefined, true, undefined],
    );
    const set = envsOf(appInfo(1, {
      'rocksdb.usage_scenario': 'prefer_write', 'rocksdb.write_buffer_size': '33554432', 'replica.rocksdb_block_cache_enabled': 'FALSE',
      'replica.slow_query_threshold': '20',
    }));
    assert.deepEqual([set.usageScenario, set.writeBufferBytes, set.blockCacheEnabled, set.slowQueryThresholdMs], ['prefer_write', 32 * MiB, false, 20]);
    assert.equal(envsOf(appInfo(1, { 'rocksdb.usage_scenario': 'fast' })).usageScenario, 'normal', 'an invalid value runs as normal');
  });
});

describe('usage scenario on a replica', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pteron-usage-scenario-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('applies the batch at once, the write buffer at the next open, and records the scenario in the store', async () => {
    const bulk = { 'rocksdb.usage_scenario': 'bulk_load' };
    let stub = new ReplicaStub({ self: SELF, dataDir });
    stub.update(appInfo(2, bulk), primaryConfig(2, 1));
    await stub.settle();
    let replica = stub.find(2, 0)!;
    assert.equal(replica.state, 'serving');
    const storedScenario = (): Promise<string | undefined> => replica.store!.readMeta(META_USAGE_SCENARIO);
    await waitFor('bulk_load recorded in the store', async () => (await storedScenario()) === 'bulk_load', 60000);
    assert.deepEqual(
      [gauge(replica, 'rdb_write_buffer_size_bytes'), gauge(replica, 'rdb_write_buffer_size_on_reopen_bytes'), gauge(replica, 'secondary_deferred_applies_max')],
      [4 * LEVELDB_WRITE_BUFFER_DEFAULT, 4 * LEVELDB_WRITE_BUFFER_DEFAULT, 4096],
      'a replica opened under bulk_load has the quadruple write buffer',
    );

    // Back to normal at run time: the batch at once, the write buffer once the store reopens.
    stub.update(appInfo(2, {}), primaryConfig(2, 1));
    await waitFor('normal recorded in the store', async () => (await storedScenario()) === 'normal', 60000);
    assert.deepEqual(
      [gauge(replica, 'rdb_write_buffer_size_bytes'), gauge(replica, 'rdb_write_buffer_size_on_reopen_bytes'), gauge(replica, 'secondary_deferred_applies_max')],
      [4 * LEVELDB_WRITE_BUFFER_DEFAULT, LEVELDB_WRITE_BUFFER_DEFAULT, 256],
    );
    const write = (index: number) => replica.servingPrimary!.path.submit(
      { op: 'put', request: { key: encodeKey(Buffer.from('h'), Buffer.from(String(index))), value: Buffer.from('v'), expireTsSeconds: 0 } }, 10,
    );
    await write(1);

    // An explicit rocksdb.write_buffer_size wins over the scenario, from the next open on.
    stub.update(appInfo(2, { 'rocksdb.usage_scenario': 'prefer_write', 'rocksdb.write_buffer_size': String(32 * MiB) }), primaryConfig(2, 1));
    assert.equal(gauge(replica, 'rdb_write_buffer_size_on_reopen_bytes'), 32 * MiB);
    await waitFor('prefer_write recorded in the store', async () => (await storedScenario()) === 'prefer_write', 60000);
    await stub.close();

    stub = new ReplicaStub({ self: SELF, dataDir });
    await stub.loadFromDisk();
    stub.update(appInfo(2, { 'rocksdb.usage_scenario': 'prefer_write', 'rocksdb.write_buffer_size': String(32 * MiB) }), primaryConfig(2, 2));
    await stub.settle();
    replica = stub.find(2, 0)!;
    assert.equal(replica.state, 'serving');
    assert.equal(gauge(replica, 'rdb_write_buffer_size_bytes'), 32 * MiB, 'the reopened store took the new write buffer');
    assert.equal(replica.store!.engine.writeBufferBytes, 32 * MiB);
    assert.equal(await storedScenario(), 'prefer_write');
    assert.equal(gauge(replica, 'secondary_deferred_applies_max'), 1024);
    await waitFor('the reopened replica serves', () => replica.servingPrimary !== undefined, 60000);
    assert.equal((await replica.store!.get(encodeKey(Buffer.from('h'), Buffer.from('1'))))?.userData.toString(), 'v');
    await stub.close();
  });
});

/** LevelDB underneath; every read waits `delayMs` first and is recorded with its options. */
function slowEngines(delayMs: number): { factory: EngineFactory; reads: Array<{ call: string; options: ReadOptions | undefined }> } {
  const reads: Array<{ call: string; options: ReadOptions | undefined }> = [];
  const base = classicLevelEngine();
  const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const factory: EngineFactory = (location, options) => {
    // The slowed engine inherits the LevelDB one; the overrides run the inherited reads on it.
    const engine = base(location, options);
    const slowed: StorageEngine = Object.create(engine);
    Object.assign(slowed, {
      get: async (key: Buffer, readOptions?: ReadOptions) => {
        reads.push({ call: 'get', options: readOptions });
        await sleep(delayMs);
        return engine.get.call(slowed, key, readOptions);
      },
      getSync: (key: Buffer, readOptions?: ReadOptions) => {
        reads.push({ call: 'getSync', options: readOptions });
        sleepSync(delayMs);
        return engine.getSync.call(slowed, key, readOptions);
      },
      getMany: async (keys: readonly Buffer[], readOptions?: ReadOptions) => {
        reads.push({ call: 'getMany', options: readOptions });
        await sleep(delayMs);
        return engine.getMany.call(slowed, keys, readOptions);
      },
      cursor: (cursorOptions: Parameters<StorageEngine['cursor']>[0]) => {
        reads.push({ call: 'cursor', options: cursorOptions });
        return engine.cursor.call(slowed, cursorOptions);
      },
    });
    return slowed;
  };
  return { factory, reads };
}

describe('block cache and slow query envs on the read path', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pteron-slow-query-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('reads slower than replica.slow_query_threshold are counted; with the block cache off reads pass fillCache: false', async () => {
    const thresholdMs = 20;
    const { factory, reads } = slowEngines(2 * thresholdMs);
    const stub = new ReplicaStub({ self: SELF, dataDir, engineFactory: factory });
    const handlers = new Map<string, RpcHandler>();
    registerDataPlane({ register: (name: string, handler: RpcHandler) => handlers.set(name, handler) } as unknown as RpcServer, stub);
    const envs = { 'replica.slow_query_threshold': String(thresholdMs), 'replica.rocksdb_block_cache_enabled': 'false' };
    stub.update(appInfo(3, envs), primaryConfig(3, 1));
    await stub.settle();
    const replica = stub.find(3, 0)!;
    await waitFor('the replica serves', () => replica.servingPrimary !== undefined, 60000);
    assert.equal(slowQueryThresholdNsOf(replica), thresholdMs * 1e6);
    const key = encodeKey(Buffer.from('hash'), Buffer.from('sort'));
    await replica.servingPrimary!.path.submit({ op: 'put', request: { key, value: Buffer.from('value'), expireTsSeconds: 0 } }, 20);

    let seqid = 0;
    const call = async (name: keyof typeof RPCS, args: unknown): Promise<string> => {
      const definition = RPCS[name];
      const bytes = encodeRequestFrameV0(definition.name, (seqid += 1), encodeArgs(definition.args as never, args as never), { appId: 3, partitionIndex: 0 });
      const parsed = parseRequestFrame(bytes, 1 << 20);
      assert.equal(parsed.kind, 'frame');
      const reply = await handlers.get(definition.name)!({ frame: (parsed as { frame: RequestFrame }).frame, remoteAddress: '127.0.0.1', remotePort: 50000 });
      return reply!.error;
    };
    const abnormal = () => replica.metrics.abnormalReads.value;
    reads.length = 0;
    assert.equal(await call('RPC_RRDB_RRDB_GET', key), 'ERR_OK');
    assert.equal(abnormal(), 1, 'a get slower than the threshold');
    const multiGet = {
      hashKey: Buffer.from('hash'), sortKeys: [Buffer.from('sort')], maxKvCount: -1, maxKvSize: -1, noValue: false, startSortkey: Buffer.alloc(0),
      stopSortkey: Buffer.alloc(0), startInclusive: true, stopInclusive: false, sortKeyFilterType: FilterType.FT_NO_FILTER,
      sortKeyFilterPattern: Buffer.alloc(0), reverse: false,
    };
    assert.equal(await call('RPC_RRDB_RRDB_MULTI_GET', multiGet), 'ERR_OK');
    assert.equal(await call('RPC_RRDB_RRDB_BATCH_GET', { keys: [{ hashKey: Buffer.from('hash'), sortKey: Buffer.from('sort') }] }), 'ERR_OK');
    assert.equal(abnormal(), 3, 'multi_get and batch_get too');
    // Range reads walk cursors (not slowed here, so whether they pass the threshold is up to the machine).
    assert.equal(await call('RPC_RRDB_RRDB_MULTI_GET', { ...multiGet, sortKeys: [] }), 'ERR_OK');
    assert.equal(await call('RPC_RRDB_RRDB_SORTKEY_COUNT', Buffer.from('hash')), 'ERR_OK');
    assert.deepEqual(reads.map((read) => read.call), ['getSync', 'getMany', 'getMany', 'cursor', 'cursor']);
    for (const read of reads) assert.equal(read.options?.fillCache, false, `${read.call} leaves the block cache alone`);
    stub.update(appInfo(3, {}), primaryConfig(3, 1));
    assert.equal(await call('RPC_RRDB_RRDB_GET', key), 'ERR_OK');
    assert.deepEqual(reads.at(-1), { call: 'getSync', options: { fillCache: true } }, 'with the block cache back on, reads fill it');
    await stub.close();
  });
});
