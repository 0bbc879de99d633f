// Request throttling on a replica: the env values parsed as Pegasus parses them, the two
// controllers on a controlled clock (no test here waits for time to pass), the replica's set
// of controllers and counters, and the data plane in process (one replica, its own primary)
// refusing, delaying and letting requests through.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  parseSizeThrottlingRate, parseThrottlingRules, parseThrottlingUnits, type AppInfo, type PartitionConfiguration,
} from '../../src/cluster/index.ts';
import { setFlagFromText } from '../../src/config/index.ts';
import { Counter, defineMetric } from '../../src/metrics/index.ts';
import type { RpcHandler, RpcServer } from '../../src/net/index.ts';
import { ReplicaStub, registerDataPlane } from '../../src/replica/index.ts';
import { DynamicTokenBucket, TokenBucketThrottlingController, WindowThrottlingController } from '../../src/replica/throttling/controllers.ts';
import {
  ReplicaThrottling, readCostOfBatchGet, readCostOfCount, readCostOfGet, readCostOfMultiGet, readCostOfScan, type ThrottlingCounters,
} from '../../src/replica/throttling/replica-throttling.ts';
import { encodeKey } from '../../src/storage/index.ts';
import { encodeArgs, encodeRequestFrameV0, parseRequestFrame, RPCS, type RequestFrame } from '../../src/wire/index.ts';
import { waitFor } from '../helpers/process.ts';

const UINT64_MAX = 2n ** 64n - 1n;
/** A clock second well away from 0, so the controllers' first window is a real one. */
const T0 = 1_700_000_000_000;

describe('throttling env values', () => {
  test('units: a number, K (2^10) or M (2^20); nothing else', () => {
    assert.equal(parseThrottlingUnits('100'), 100n);
    assert.equal(parseThrottlingUnits('1K'), 1024n);
    assert.equal(parseThrottlingUnits('10M'), 10n << 20n);
    assert.equal(parseThrottlingUnits('0x10'), 16n, 'strtoull base 0, as Pegasus reads numbers');
    for (const bad of ['', '-', 'A', 'M', 'K', 'aM', 'aK', '20m', '20B', '20KB', '20MB', '-1K', '12KM', '1 K']) {
      assert.match((parseThrottlingUnits(bad) as { hint: string }).hint, /should be an unsigned integer/, bad);
    }
    assert.match((parseThrottlingUnits(`${UINT64_MAX - 1n}K`) as { hint: string }).hint, /result is overflow/);
    assert.match((parseThrottlingUnits(`${UINT64_MAX + 1n}`) as { hint: string }).hint, /should be an unsigned integer/);
  });

  test('rules: delay and reject, with Pegasus\'s hints', () => {
    assert.deepEqual(parseThrottlingRules('20000*delay*100'), { delayUnits: 20000n, delayMs: 100n, rejectUnits: 0n, rejectDelayMs: 0n });
    assert.deepEqual(parseThrottlingRules(' 20K * delay * 100 , 20M*reject*5 ,'), { delayUnits: 20n << 10n, delayMs: 100n, rejectUnits: 20n << 20n, rejectDelayMs: 5n });
    const hints: Array<[string, string]> = [
      ['', "The value shouldn't be empty"],
      [' , ', "The value shouldn't be empty"],
      ['20A*delay*100', "'20A' should be an unsigned integer"],
      ['-20*delay*100', "'-20' should be an unsigned integer"],
      ['20A*delay', "The field count of '20A*delay' separated by '*' must be 3"],
      ['20K*pass*100', "'pass' should be 'delay' or 'reject'"],
      ['20K*delay*-100', "'-100' should be an unsigned integer"],
      ['20K*reject*x', "'x' should be an unsigned integer"],
      ['2K**delay*100', "The field count of '2K**delay*100' separated by '*' must be 3"],
      ['2K*delay*100,3K*delay*100', "duplicate 'delay' config"],
      ['2K*reject*100,3K*reject*100', "duplicate 'reject' config"],
    ];
    for (const [value, hint] of hints) assert.deepEqual(parseThrottlingRules(value), { hint }, value);
  });

  test('read_throttling_by_size: a size, or the reject rule; a lone delay rule is accepted and throttles nothing', () => {
    assert.deepEqual(parseSizeThrottlingRate('200'), { rejectBytes: 200n, enabled: true });
    assert.deepEqual(parseSizeThrottlingRate('200K'), { rejectBytes: 200n << 10n, enabled: true });
    assert.deepEqual(parseSizeThrottlingRate('20000*delay*100'), { rejectBytes: 1n, enabled: false });
    assert.deepEqual(parseSizeThrottlingRate('20000*delay*100,20000*reject*100'), { rejectBytes: 20000n, enabled: true });
    assert.deepEqual(parseSizeThrottlingRate('20K*reject*100'), { rejectBytes: 20n << 10n, enabled: true });
    assert.deepEqual(parseSizeThrottlingRate('0*reject*100'), { hint: 'reject value should be greater than 0' });
    for (const bad of ['0', '*deldday*100', '', '*reject', '*reject*', 'reject*', 'reject', '200g', '200G', 'M', 'K', '-1K', '1aK', 'pegNo1', '-20', '12KM', '1K2M', '2000K0*reject*100']) {
      assert.ok('hint' in parseSizeThrottlingRate(bad), bad);
    }
  });
});

describe('the per-second controller', () => {
  test('a table-wide rule is divided among the partitions (units / count + 1)', () => {
    const controller = new WindowThrottlingController();
    assert.deepEqual(controller.configure('20000*delay*100', 4), { changed: true, previous: '' });
    // 5001 pass in one second, the next one is delayed.
    for (let index = 0; index < 5001; index++) assert.equal(controller.control(T0, 0, 1).action, 'pass');
    assert.deepEqual(controller.control(T0, 0, 1), { action: 'delay', delayMs: 100 });
    assert.deepEqual(controller.configure('20000*delay*100', 4), { changed: false, previous: '20000*delay*100' }, 'the same value changes nothing');
    assert.deepEqual(controller.configure('20000*delay*100', 8), { changed: true, previous: '20000*delay*100' }, 'a new partition count does');
  });

  test('pass, delay, reject within a second; a rejected request is not counted; the next second starts at 0', () => {
    const controller = new WindowThrottlingController();
    controller.configure('3*delay*40,7*reject*25', 1);
    // Per partition: delay past 4 units, reject past 8.
    const actions = Array.from({ length: 12 }, () => controller.control(T0 + 500, 0, 1).action);
    assert.deepEqual(actions, ['pass', 'pass', 'pass', 'pass', 'delay', 'delay', 'delay', 'delay', 'reject', 'reject', 'reject', 'reject']);
    assert.deepEqual(controller.control(T0 + 999, 0, 1), { action: 'reject', delayMs: 25 });
    assert.equal(controller.control(T0 + 1000, 0, 1).action, 'pass', 'a new second');
    // A request weighs its units: one of 8 fills the fresh second up to the reject limit.
    controller.control(T0 + 2000, 0, 8);
    assert.deepEqual(controller.control(T0 + 2000, 0, 1), { action: 'reject', delayMs: 25 });
  });

  test('a wait is at most half the client\'s timeout', () => {
    const controller = new WindowThrottlingController();
    controller.configure('0*delay*0,1*reject*1000', 1);
    controller.control(T0, 0, 2);
    assert.deepEqual(controller.control(T0, 0, 1), { action: 'reject', delayMs: 1000 }, 'no client timeout');
    assert.deepEqual(controller.control(T0, 301, 1), { action: 'reject', delayMs: 150 });
    controller.configure('1*delay*1000', 1);
    assert.deepEqual(controller.control(T0, 5000, 1), { action: 'delay', delayMs: 1000 });
  });

  test('0 units is no rule; an unset or unparsable env turns the controller off', () => {
    const controller = new WindowThrottlingController();
    controller.configure('0*delay*100,0*reject*100', 1);
    for (let index = 0; index < 1000; index++) assert.equal(controller.control(T0, 0, 1).action, 'pass');
    controller.configure('1*reject*0', 1);
    controller.control(T0, 0, 2);
    assert.equal(controller.control(T0, 0, 1).action, 'reject');
    assert.deepEqual(controller.configure('1*wait*0', 1), { changed: true, previous: '1*reject*0', parseError: "'wait' should be 'delay' or 'reject'" });
    assert.equal(controller.control(T0, 0, 1).action, 'pass');
    controller.configure('1*reject*0', 1);
    controller.control(T0, 0, 2);
    assert.deepEqual(controller.configure(undefined, 1), { changed: true, previous: '1*reject*0' });
    assert.equal(controller.envValue, '');
    assert.equal(controller.control(T0, 0, 1).action, 'pass');
    assert.deepEqual(controller.configure(undefined, 1), { changed: false, previous: '' });
  });
});

describe('the token bucket', () => {
  test('folly\'s dynamic bucket: refills at the rate up to the burst; borrowing empties it until the debt is paid', () => {
    const bucket = new DynamicTokenBucket();
    const now = 1000;
    const near = (actual: number | undefined, expected: number) => assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-6, `${actual} ≈ ${expected}`);
    assert.equal(bucket.available(100, 100, now), 100, 'full on a clock far from 0');
    assert.equal(bucket.consumeWithBorrow(70, 100, 100, now), 0);
    near(bucket.available(100, 100, now), 30);
    near(bucket.consumeWithBorrow(70, 100, 100, now), 0.4);
    assert.equal(bucket.available(100, 100, now), 0, '40 tokens borrowed: empty for 0.4 s');
    assert.equal(bucket.available(100, 100, now + 0.39), 0);
    near(bucket.available(100, 100, now + 0.5), 10);
    assert.equal(bucket.consumeWithBorrow(101, 100, 100, now + 10), undefined, 'more than the burst: nothing taken');
    assert.equal(bucket.available(100, 100, now + 10), 100);
  });

  test('the controller: rate and burst are the table\'s bytes per partition; empty means refused until refilled', () => {
    const controller = new TokenBucketThrottlingController();
    assert.equal(controller.available(T0), true, 'no env: always');
    assert.deepEqual(controller.configure('400', 4), { changed: true, previous: '' });
    assert.equal(controller.available(T0), true);
    controller.consume(60, T0);
    controller.consume(60, T0);
    assert.equal(controller.available(T0), false, '120 bytes of 100 a second');
    assert.equal(controller.available(T0 + 150), false, 'the debt of 20 is paid at +200 ms');
    assert.equal(controller.available(T0 + 250), true);

    assert.deepEqual(controller.configure('20000*delay*100', 4), { changed: true, previous: '400' });
    controller.consume(1_000_000, T0 + 300);
    assert.equal(controller.available(T0 + 300), true, 'a lone delay rule throttles nothing');

    controller.configure('3', 4);
    assert.equal(controller.available(T0 + 10_000), false, 'a rate below the partition count is 0 per partition: every read refused');
    assert.equal(controller.configure('bad', 4).changed, true);
    assert.equal(controller.available(T0 + 10_000), true);
  });
});

function counters(): ThrottlingCounters & Record<string, Counter> {
  const counter = (name: string) => new Counter(defineMetric({ entityType: 'replica', type: 'Counter', name, unit: 'Requests', desc: name }));
  return {
    throttlingDelayedWrites: counter('test_delayed_writes'), throttlingRejectedWrites: counter('test_rejected_writes'),
    throttlingDelayedReads: counter('test_delayed_reads'), throttlingRejectedReads: counter('test_rejected_reads'),
  };
}

describe('a replica\'s throttling', () => {
  test('writes: requests a second, then bytes a second; the counters', () => {
    let nowMs = T0;
    const count = counters();
    const throttling = new ReplicaThrottling('1.0', count, () => nowMs);
    throttling.updateEnvs({ 'replica.write_throttling': '2*reject*10', 'replica.write_throttling_by_size': '1K*delay*20' }, 1);
    // 3 requests pass the count; bytes: 1025 per partition.
    assert.deepEqual(throttling.throttleWrite(0, 1000), { action: 'pass' });
    assert.deepEqual(throttling.throttleWrite(0, 100), { action: 'delay', delayMs: 20 });
    assert.deepEqual(throttling.throttleWrite(0, 1), { action: 'delay', delayMs: 20 });
    assert.deepEqual(throttling.throttleWrite(0, 1), { action: 'reject', delayMs: 10 }, 'the fourth request of the second');
    assert.deepEqual([count.throttlingDelayedWrites.value, count.throttlingRejectedWrites.value], [2, 1]);
    nowMs += 1000;
    assert.deepEqual(throttling.throttleWrite(0, 10), { action: 'pass' });
    assert.deepEqual(throttling.throttleRead(0), { action: 'pass' }, 'reads have their own env');
    throttling.updateEnvs({}, 1);
    for (let index = 0; index < 10; index++) assert.deepEqual(throttling.throttleWrite(0, 10_000), { action: 'pass' });
  });

  test('reads: requests a second, and the bytes read against the bucket', () => {
    let nowMs = T0;
    const count = counters();
    const throttling = new ReplicaThrottling('1.0', count, () => nowMs);
    throttling.updateEnvs({ 'replica.read_throttling': '1*delay*5', 'replica.read_throttling_by_size': '100' }, 1);
    assert.equal(throttling.throttleRead(1000).action, 'pass');
    assert.equal(throttling.throttleRead(1000).action, 'pass');
    assert.deepEqual(throttling.throttleRead(1000), { action: 'delay', delayMs: 5 });
    assert.equal(count.throttlingDelayedReads.value, 1);
    assert.equal(throttling.readBytesAvailable(), true);
    throttling.consumeReadBytes(90);
    throttling.consumeReadBytes(90);
    assert.equal(throttling.readBytesAvailable(), false);
    assert.equal(count.throttlingRejectedReads.value, 1);
    nowMs += 1000;
    assert.equal(throttling.readBytesAvailable(), true);
  });

  test('what a read costs: bytes read, 1 for a miss, nothing for a failed read', () => {
    const base = { appId: 1, partitionIndex: 0, server: '' };
    const bytes = (n: number) => Buffer.alloc(n);
    assert.equal(readCostOfGet(bytes(10), { error: 0, value: bytes(90), ...base }), 100);
    assert.equal(readCostOfGet(bytes(10), { error: 1, value: bytes(0), ...base }), 1);
    assert.equal(readCostOfGet(bytes(10), { error: 2, value: bytes(0), ...base }), 0);
    const kvs = [{ key: bytes(3), value: bytes(7) }, { key: bytes(1), value: bytes(1) }];
    assert.equal(readCostOfMultiGet(bytes(5), { error: 0, kvs, ...base }), 2 * 5 + 12, 'the hash key counts once per pair');
    assert.equal(readCostOfMultiGet(bytes(5), { error: 7, kvs, ...base }), 22, 'an incomplete read counts what it read');
    assert.equal(readCostOfMultiGet(bytes(5), { error: 1, kvs: [], ...base }), 1);
    assert.equal(readCostOfMultiGet(bytes(5), { error: 5, kvs, ...base }), 0);
    assert.equal(readCostOfBatchGet({ error: 0, data: [{ hashKey: bytes(2), sortKey: bytes(3), value: bytes(4) }], ...base }), 9);
    assert.equal(readCostOfScan({ error: 0, kvs, contextId: -1n, ...base }), 12);
    assert.equal(readCostOfCount(0), 1);
    assert.equal(readCostOfCount(1), 1);
    assert.equal(readCostOfCount(4), 0);
  });
});

const SELF = '127.0.0.1:40102';
const appInfo = (appId: number, envs: Record<string, string>): AppInfo => ({
  status: 'AS_AVAILABLE', appType: 'pegasus', appName: `table${appId}`, appId, partitionCount: 1, envs, isStateful: true, maxReplicaCount: 1,
  expireSecond: 0, createSecond: 1, dropSecond: 0, duplicating: false, initPartitionCount: -1, isBulkLoading: false, atomicIdempotent: false,
});
/** This node alone is the partition's primary: it commits without peers. */
const primaryConfig = (appId: number, ballot: number): PartitionConfiguration => ({
  gpid: { appId, partitionIndex: 0 }, ballot, maxReplicaCount: 1, primary: SELF, secondaries: [], lastDrops: [], lastCommittedDecree: 0, partitionFlags: 0,
});

describe('throttling on the data plane, in process', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pteron-throttling-'));
  // One replica commits alone.
  before(() => setFlagFromText('mutation_2pc_min_replica_count', '1', true));
  after(() => {
    setFlagFromText('mutation_2pc_min_replica_count', '2', true);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('reject answers ERR_BUSY, delay lets everything through after its wait, the bucket refuses reads once spent', async () => {
    const stub = new ReplicaStub({ self: SELF, dataDir });
    const handlers = new Map<string, RpcHandler>();
    registerDataPlane({ register: (name: string, handler: RpcHandler) => handlers.set(name, handler) } as unknown as RpcServer, stub);
    const apply = async (envs: Record<string, string>) => {
      stub.update(appInfo(4, envs), primaryConfig(4, 1));
      await stub.settle();
    };
    await apply({});
    const replica = stub.find(4, 0)!;
    await waitFor('the replica serves', () => replica.servingPrimary !== undefined, 60000);

    let seqid = 0;
    const call = async (name: keyof typeof RPCS, args: unknown, clientTimeoutMs = 0): Promise<string> => {
      const definition = RPCS[name];
      const bytes = encodeRequestFrameV0(definition.name, (seqid += 1), encodeArgs(definition.args as never, args as never), { appId: 4, partitionIndex: 0, clientTimeoutMs });
      const parsed = parseRequestFrame(bytes, 1 << 20);
      assert.equal(parsed.kind, 'frame');
      const reply = await handlers.get(definition.name)!({ frame: (parsed as { frame: RequestFrame }).frame, remoteAddress: '127.0.0.1', remotePort: 50000 });
      return reply!.error;
    };
    const key = encodeKey(Buffer.from('hash'), Buffer.from('sort'));
    // 10 bytes of key and 90 of value: a get of it costs 100 bytes.
    const put = (clientTimeoutMs = 0) => call('RPC_RRDB_RRDB_PUT', { key, value: Buffer.alloc(90), expireTsSeconds: 0 }, clientTimeoutMs);
    // A burst is admitted in one turn of the event loop, so within one clock second (or two).
    const burst = (count: number, send: () => Promise<string>) => Promise.all(Array.from({ length: count }, send));
    const tally = (errors: string[]) => errors.reduce<Record<string, number>>((sum, error) => ({ ...sum, [error]: (sum[error] ?? 0) + 1 }), {});

    await apply({ 'replica.write_throttling': '1*reject*0' });
    const rejected = tally(await burst(20, put));
    assert.ok((rejected.ERR_BUSY ?? 0) > 0 && (rejected.ERR_OK ?? 0) > 0, JSON.stringify(rejected));
    assert.deepEqual(Object.keys(rejected).sort(), ['ERR_BUSY', 'ERR_OK']);
    assert.equal(replica.metrics.throttlingRejectedWrites.value, rejected.ERR_BUSY);

    await apply({ 'replica.write_throttling': '1*delay*20' });
    assert.deepEqual(tally(await burst(20, put)), { ERR_OK: 20 });
    assert.ok(replica.metrics.throttlingDelayedWrites.value > 0);
    // A delay of 10 minutes waits half the client's timeout at most.
    await apply({ 'replica.write_throttling': '1*delay*600000' });
    assert.deepEqual(tally(await burst(10, () => put(40))), { ERR_OK: 10 });

    await apply({ 'replica.read_throttling_by_size': '100' });
    let reads = 0;
    let error = 'ERR_OK';
    while (error === 'ERR_OK' && reads < 1000) {
      error = await call('RPC_RRDB_RRDB_GET', key);
      reads += 1;
    }
    // The first read empties the bucket, the second borrows a second's worth: the third comes before that is paid back.
    assert.equal(error, 'ERR_BUSY', 'reads of 100 bytes spend 100 bytes a second');
    assert.ok(reads >= 2, `refused after ${reads} reads: the bucket starts full`);
    assert.ok(replica.metrics.throttlingRejectedReads.value >= 1);

    await apply({});
    assert.deepEqual(tally(await burst(20, put)), { ERR_OK: 20 });
    assert.equal(await call('RPC_RRDB_RRDB_GET', key), 'ERR_OK');
    await stub.close();
  });
});
