// Hot-key detection on a replica: the outlier rule on Pegasus's own cases, the collector's
// states and answers on a controlled clock (analyses are called by the test, never by a timer),
// what each request feeds, the per-server registry, and the data plane feeding it in process.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AppInfo, PartitionConfiguration } from '../../src/cluster/index.ts';
import { setFlagFromText } from '../../src/config/index.ts';
import type { RpcHandler, RpcServer } from '../../src/net/index.ts';
import {
  bucketOf, cEscape, CollectorState, findOutlierIndex, HotkeyCollector, HotkeyDetectors, isValidBucketCount, readCaptures, writeCaptures,
  type CollectorSettings,
} from '../../src/replica/hotkey/index.ts';
import { ReplicaStub, registerDataPlane } from '../../src/replica/index.ts';
import { encodeKey } from '../../src/storage/index.ts';
import { DetectAction, encodeArgs, encodeRequestFrameV0, HotkeyType, parseRequestFrame, RPCS, type RequestFrame } from '../../src/wire/index.ts';
import { waitFor } from '../helpers/process.ts';

const key = (text: string): Buffer => Buffer.from(text);

/** A controlled clock and Pegasus's default thresholds. */
function settings(overrides: Partial<CollectorSettings> = {}): CollectorSettings & { clock: { now: number } } {
  const clock = { now: 1000 };
  return {
    bucketCount: 37, fineQueueMax: 1000, hotBucketThreshold: () => 7, hotKeyThreshold: () => 5, maxSecondsToDetect: () => 150,
    nowSeconds: () => clock.now, clock, ...overrides,
  };
}

/** One analysis period of traffic: `hot` gets `hotShare` of `total` requests, the rest is spread over 200 other keys. */
function feed(collector: HotkeyCollector, hot: string, total: number, hotShare: number): void {
  const hotCount = Math.round(total * hotShare);
  for (let index = 0; index < hotCount; index++) collector.capture(key(hot), 1);
  for (let index = 0; index < total - hotCount; index++) collector.capture(key(`cold-${index % 200}`), 1);
}

describe('the outlier rule', () => {
  test('finds a count far above the others, as Pegasus\'s find_outlier_index', () => {
    assert.equal(findOutlierIndex([1, 1, 300, 1], 3), 2, 'the others all equal: above them is enough');
    assert.equal(findOutlierIndex([1, 1, 1, 1], 3), -1, 'all equal: none');
    assert.equal(findOutlierIndex([0, 0, 0], 3), -1, 'nothing counted: none');
    assert.equal(findOutlierIndex([10, 12, 11, 9, 10, 13, 500], 7), 6);
    assert.equal(findOutlierIndex([10, 12, 11, 9, 10, 13, 20], 7), -1, 'within 7 deviations');
    assert.equal(findOutlierIndex([5, 9, 9, 1], 1), 1, 'ties go to the first index');
    assert.throws(() => findOutlierIndex([1, 2], 1), RangeError);
  });

  test('buckets are deterministic and in range; the bucket count must be a prime of at least 3', () => {
    for (let index = 0; index < 500; index++) {
      const bucket = bucketOf(key(`k${index}`), 37);
      assert.ok(bucket >= 0 && bucket < 37);
      assert.equal(bucketOf(key(`k${index}`), 37), bucket);
    }
    assert.deepEqual([2, 3, 4, 9, 37, 39, 97, 1.5].map(isValidBucketCount), [false, true, false, false, true, false, true, false]);
  });

  test('a hash key is printed with C escapes, hex in capitals', () => {
    assert.equal(cEscape(Buffer.from([0x61, 0x00, 0x22, 0x27, 0x5c, 0x0a, 0x7f, 0xff, 0x7e])), 'a\\x00\\"\\\'\\\\\\n\\x7F\\xFF~');
  });
});

describe('a hot-key collector', () => {
  test('start, coarse then fine stage, the key found, and Pegasus\'s answers in each state', () => {
    const collector = new HotkeyCollector(HotkeyType.WRITE, settings());
    assert.deepEqual(collector.handle(DetectAction.QUERY), { err: 'ERR_BUSY', errHint: "Can't get hotkey now, now state: hotkey_collector_state::STOPPED" });
    feed(collector, 'hot', 1000, 0.9);
    collector.analyse();
    assert.equal(collector.state, CollectorState.STOPPED, 'nothing is counted before a start');

    assert.deepEqual(collector.handle(DetectAction.START), { err: 'ERR_OK', errHint: 'starting to detect replication::hotkey_type::WRITE hotkey' });
    assert.deepEqual(collector.handle(DetectAction.START), {
      err: 'ERR_BUSY', errHint: 'still detecting replication::hotkey_type::WRITE hotkey, state is hotkey_collector_state::COARSE_DETECTING',
    });
    collector.analyse();
    assert.equal(collector.state, CollectorState.COARSE_DETECTING, 'an empty period decides nothing');
    feed(collector, 'hot', 1000, 0.9);
    collector.analyse();
    assert.equal(collector.state, CollectorState.FINE_DETECTING);
    assert.match(collector.handle(DetectAction.START).errHint!, /state is hotkey_collector_state::FINE_DETECTING$/);
    assert.deepEqual(collector.handle(DetectAction.QUERY), {
      err: 'ERR_BUSY', errHint: "Can't get hotkey now, now state: hotkey_collector_state::FINE_DETECTING",
    });
    feed(collector, 'hot', 1000, 0.9);
    collector.analyse();
    assert.equal(collector.state, CollectorState.FINISHED);
    assert.deepEqual(collector.handle(DetectAction.QUERY), { err: 'ERR_OK', hotkeyResult: 'hot' });
    assert.deepEqual(collector.handle(DetectAction.START), {
      err: 'ERR_BUSY',
      errHint: 'replication::hotkey_type::WRITE hotkey result has been found: hot, you can send a stop rpc to restart hotkey detection',
    });
    collector.analyse();
    assert.equal(collector.state, CollectorState.FINISHED, 'the result stays until a stop');

    assert.deepEqual(collector.handle(DetectAction.STOP), { err: 'ERR_OK' });
    assert.equal(collector.state, CollectorState.STOPPED);
    assert.equal(collector.handle(DetectAction.QUERY).err, 'ERR_BUSY');
  });

  test('an even load finds no hot bucket, and the detection stops when its time is up', () => {
    const config = settings();
    const collector = new HotkeyCollector(HotkeyType.READ, config);
    collector.handle(DetectAction.START);
    for (let period = 0; period < 14; period++) {
      for (let index = 0; index < 3700; index++) collector.capture(key(`even-${index}`), 1);
      config.clock.now += 10;
      collector.analyse();
      assert.equal(collector.state, CollectorState.COARSE_DETECTING, `period ${period}`);
    }
    config.clock.now = 1000 + 149;
    collector.analyse();
    assert.equal(collector.state, CollectorState.COARSE_DETECTING);
    config.clock.now = 1000 + 150;
    collector.analyse();
    assert.equal(collector.state, CollectorState.STOPPED, 'max_seconds_to_detect_hotkey after the start');
    assert.deepEqual(collector.handle(DetectAction.START), { err: 'ERR_OK', errHint: 'starting to detect replication::hotkey_type::READ hotkey' });
  });

  test('weights count: one multi_put of many sort keys weighs as much as many puts', () => {
    const collector = new HotkeyCollector(HotkeyType.WRITE, settings());
    collector.handle(DetectAction.START);
    for (let index = 0; index < 100; index++) collector.capture(key(`cold-${index}`), 1);
    collector.capture(key('heavy'), 900);
    collector.capture(key('zero-weight'), 0);
    collector.analyse();
    collector.capture(key('heavy'), 900);
    for (let index = 0; index < 100; index++) collector.capture(key(`cold-${index}`), 1);
    collector.analyse();
    assert.deepEqual(collector.handle(DetectAction.QUERY), { err: 'ERR_OK', hotkeyResult: 'heavy' });
  });

  test('a stop forgets what was found: the next detection starts from nothing', () => {
    const collector = new HotkeyCollector(HotkeyType.READ, settings());
    collector.handle(DetectAction.START);
    feed(collector, 'first', 1000, 0.9);
    collector.analyse();
    feed(collector, 'first', 1000, 0.9);
    collector.analyse();
    assert.equal(collector.handle(DetectAction.QUERY).hotkeyResult, 'first');
    collector.handle(DetectAction.STOP);
    collector.handle(DetectAction.START);
    feed(collector, 'second', 1000, 0.9);
    collector.analyse();
    collector.analyse();
    assert.equal(collector.state, CollectorState.FINE_DETECTING, 'an empty fine period keeps detecting');
    feed(collector, 'second', 1000, 0.9);
    collector.analyse();
    assert.equal(collector.handle(DetectAction.QUERY).hotkeyResult, 'second');
  });

  test('the fine stage keeps a bounded number of keys per period and drops the rest', () => {
    const collector = new HotkeyCollector(HotkeyType.WRITE, settings({ fineQueueMax: 2 }));
    const hotBucket = bucketOf(key('hot'), 37);
    const sameBucket: string[] = [];
    for (let index = 0; sameBucket.length < 2; index++) {
      if (bucketOf(key(`twin-${index}`), 37) === hotBucket) sameBucket.push(`twin-${index}`);
    }
    collector.handle(DetectAction.START);
    feed(collector, 'hot', 1000, 0.9);
    collector.analyse();
    assert.equal(collector.state, CollectorState.FINE_DETECTING);
    // The two twins fill the queue; every later key of the bucket is dropped until the analysis.
    collector.capture(key(sameBucket[0]!), 1);
    collector.capture(key(sameBucket[1]!), 2);
    for (let index = 0; index < 100; index++) collector.capture(key('hot'), 1);
    collector.analyse();
    assert.deepEqual(collector.handle(DetectAction.QUERY), { err: 'ERR_OK', hotkeyResult: sameBucket[1] });
  });

  test('the thresholds are read at each analysis', () => {
    let threshold = 1000;
    const collector = new HotkeyCollector(HotkeyType.READ, settings({ hotBucketThreshold: () => threshold }));
    collector.handle(DetectAction.START);
    for (let index = 0; index < 370; index++) collector.capture(key(`spread-${index}`), 1 + (index % 3));
    feed(collector, 'hot', 1000, 0.5);
    collector.analyse();
    assert.equal(collector.state, CollectorState.COARSE_DETECTING);
    threshold = 3;
    for (let index = 0; index < 370; index++) collector.capture(key(`spread-${index}`), 1 + (index % 3));
    feed(collector, 'hot', 1000, 0.5);
    collector.analyse();
    assert.equal(collector.state, CollectorState.FINE_DETECTING);
  });
});

describe('what each request feeds', () => {
  const composite = encodeKey(key('hk'), key('sk'));
  const hk = [{ hashKey: key('hk'), weight: 1 }];
  const base = { appId: 1, partitionIndex: 0, server: '' };

  test('reads: by status, with multi_get weighing its answer\'s pairs and batch_get each row', () => {
    assert.deepEqual(readCaptures('RPC_RRDB_RRDB_GET', composite, { error: 0, value: Buffer.alloc(0), ...base }), { read: hk, write: [] });
    assert.deepEqual(readCaptures('RPC_RRDB_RRDB_GET', composite, { error: 1, value: Buffer.alloc(0), ...base }).read, hk, 'not found still read');
    assert.deepEqual(readCaptures('RPC_RRDB_RRDB_GET', composite, { error: 2, value: Buffer.alloc(0), ...base }).read, []);
    assert.deepEqual(readCaptures('RPC_RRDB_RRDB_GET', Buffer.from([0, 9, 1]), { error: 0, value: Buffer.alloc(0), ...base }).read, [], 'a malformed key feeds nothing');
    const kvs = [{ key: key('a'), value: key('1') }, { key: key('b'), value: key('2') }];
    assert.deepEqual(readCaptures('RPC_RRDB_RRDB_MULTI_GET', { hashKey: key('hk') }, { error: 7, kvs, ...base }).read, [{ hashKey: key('hk'), weight: 2 }]);
    const rows = [{ hashKey: key('x'), sortKey: key('1'), value: key('') }, { hashKey: key('y'), sortKey: key('1'), value: key('') }];
    assert.deepEqual(readCaptures('RPC_RRDB_RRDB_BATCH_GET', { keys: [] }, { error: 2, data: rows, ...base }).read, [{ hashKey: key('x'), weight: 1 }, { hashKey: key('y'), weight: 1 }]);
    assert.deepEqual(readCaptures('RPC_RRDB_RRDB_SORTKEY_COUNT', key('hk'), { error: 0, count: 3n, ...base }).read, hk);
    assert.deepEqual(readCaptures('RPC_RRDB_RRDB_TTL', composite, { error: 1, ttlSeconds: 0, ...base }).read, hk);
    assert.deepEqual(readCaptures('toString', {}, {}), { read: [], write: [] });
    assert.deepEqual(readCaptures('RPC_RRDB_RRDB_SCAN', { contextId: 1n }, { error: 0, kvs: [], contextId: -1n, ...base }), { read: [], write: [] }, 'scans feed nothing');
  });

  test('writes: by outcome; incr and check_and_* feed the read collector too', () => {
    assert.deepEqual(writeCaptures('RPC_RRDB_RRDB_PUT', { key: composite, value: key('v'), expireTsSeconds: 0 }, { error: 0 }), { read: [], write: hk });
    assert.deepEqual(writeCaptures('RPC_RRDB_RRDB_PUT', { key: composite, value: key('v'), expireTsSeconds: 0 }, { error: 4 }).write, []);
    assert.deepEqual(writeCaptures('RPC_RRDB_RRDB_REMOVE', composite, { error: 0 }).write, hk);
    const multiPut = { hashKey: key('hk'), kvs: [{ key: key('a'), value: key('') }, { key: key('b'), value: key('') }, { key: key('c'), value: key('') }], expireTsSeconds: 0 };
    assert.deepEqual(writeCaptures('RPC_RRDB_RRDB_MULTI_PUT', multiPut, { error: 4 }).write, [{ hashKey: key('hk'), weight: 3 }]);
    assert.deepEqual(writeCaptures('RPC_RRDB_RRDB_MULTI_REMOVE', { hashKey: key('hk'), sortKeys: [key('a'), key('b')], maxCount: 0n }, { error: 0 }).write, [{ hashKey: key('hk'), weight: 2 }]);
    assert.deepEqual(writeCaptures('RPC_RRDB_RRDB_INCR', { key: composite, increment: 1n, expireTsSeconds: 0 }, { error: 0 }), { read: hk, write: hk });
    assert.deepEqual(writeCaptures('RPC_RRDB_RRDB_INCR', { key: composite, increment: 1n, expireTsSeconds: 0 }, { error: 4 }), { read: hk, write: [] });
    assert.deepEqual(writeCaptures('RPC_RRDB_RRDB_CHECK_AND_SET', { hashKey: key('hk') }, { error: 13 }), { read: hk, write: [] }, 'a failed check read but wrote nothing');
    const mutateList = [{ operation: 0, sortKey: key('a'), value: key(''), setExpireTsSeconds: 0 }, { operation: 0, sortKey: key('b'), value: key(''), setExpireTsSeconds: 0 }];
    assert.deepEqual(writeCaptures('RPC_RRDB_RRDB_CHECK_AND_MUTATE', { hashKey: key('hk'), mutateList }, { error: 0 }), { read: hk, write: [{ hashKey: key('hk'), weight: 2 }] });
  });
});

describe('a server\'s collectors', () => {
  test('answer for hosted replicas only, check the action before the type, and forget replicas no longer hosted', () => {
    const hosted = new Map<string, object>([['1.0', { name: 'first' }]]);
    const config = settings();
    const detectors = new HotkeyDetectors({ find: (appId, partitionIndex) => hosted.get(`${appId}.${partitionIndex}`) }, config);
    const pid = { appId: 1, partitionIndex: 0 };
    assert.deepEqual(detectors.handle({ type: HotkeyType.READ, action: DetectAction.START, pid: { appId: 1, partitionIndex: 7 } }), {
      err: 'ERR_OBJECT_NOT_FOUND', errHint: 'not find the replica 1.7 \n',
    });
    assert.deepEqual(detectors.handle({ type: 9, action: 9, pid }), { err: 'ERR_INVALID_PARAMETERS', errHint: 'invalid detect_action' });
    assert.deepEqual(detectors.handle({ type: 9, action: DetectAction.START, pid }), { err: 'ERR_INVALID_PARAMETERS', errHint: 'invalid hotkey_type' });

    const replica = hosted.get('1.0')!;
    assert.equal(detectors.handle({ type: HotkeyType.WRITE, action: DetectAction.START, pid }).err, 'ERR_OK');
    assert.equal(detectors.stateOf(replica, HotkeyType.WRITE), CollectorState.COARSE_DETECTING);
    assert.equal(detectors.stateOf(replica, HotkeyType.READ), CollectorState.STOPPED, 'reads and writes are detected apart');
    for (let index = 0; index < 2; index++) {
      for (let count = 0; count < 900; count++) detectors.onWrite(replica, 'RPC_RRDB_RRDB_PUT', { key: encodeKey(key('hot'), key(`s${count}`)) }, { error: 0 });
      for (let count = 0; count < 100; count++) detectors.onWrite(replica, 'RPC_RRDB_RRDB_PUT', { key: encodeKey(key(`cold${count}`), key('s')) }, { error: 0 });
      // Reads go to the read collector, which was not started.
      detectors.onRead(replica, 'RPC_RRDB_RRDB_SORTKEY_COUNT', key('read-hot'), { error: 0 });
      detectors.analyse();
    }
    assert.deepEqual(detectors.handle({ type: HotkeyType.WRITE, action: DetectAction.QUERY, pid }), { err: 'ERR_OK', hotkeyResult: 'hot' });
    assert.equal(detectors.stateOf(replica, HotkeyType.READ), CollectorState.STOPPED);

    // The replica is closed and opened again: a new object, new collectors.
    hosted.set('1.0', { name: 'reopened' });
    detectors.analyse();
    assert.equal(detectors.stateOf(replica, HotkeyType.WRITE), CollectorState.STOPPED);
    assert.equal(detectors.handle({ type: HotkeyType.WRITE, action: DetectAction.QUERY, pid }).err, 'ERR_BUSY');
  });
});

const SELF = '127.0.0.1:40107';
const appInfo: AppInfo = {
  status: 'AS_AVAILABLE', appType: 'pegasus', appName: 'hot', appId: 6, partitionCount: 1, envs: {}, isStateful: true, maxReplicaCount: 1,
  expireSecond: 0, createSecond: 1, dropSecond: 0, duplicating: false, initPartitionCount: -1, isBulkLoading: false, atomicIdempotent: false,
};
const primaryConfig: PartitionConfiguration = {
  gpid: { appId: 6, partitionIndex: 0 }, ballot: 1, maxReplicaCount: 1, primary: SELF, secondaries: [], lastDrops: [], lastCommittedDecree: 0, partitionFlags: 0,
};

describe('the data plane feeds the collectors, in process', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pteron-hotkey-'));
  // One replica commits alone.
  before(() => setFlagFromText('mutation_2pc_min_replica_count', '1', true));
  after(() => {
    setFlagFromText('mutation_2pc_min_replica_count', '2', true);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('puts and gets to one hash key are found by the write and the read collector', async () => {
    const stub = new ReplicaStub({ self: SELF, dataDir });
    const detectors = new HotkeyDetectors(stub, settings());
    const handlers = new Map<string, RpcHandler>();
    registerDataPlane({ register: (name: string, handler: RpcHandler) => handlers.set(name, handler) } as unknown as RpcServer, stub, detectors);
    stub.update(appInfo, primaryConfig);
    await stub.settle();
    await waitFor('the replica serves', () => stub.find(6, 0)?.servingPrimary !== undefined, 60000);

    let seqid = 0;
    const call = async (name: keyof typeof RPCS, args: unknown): Promise<string> => {
      const definition = RPCS[name];
      const bytes = encodeRequestFrameV0(definition.name, (seqid += 1), encodeArgs(definition.args as never, args as never), { appId: 6, partitionIndex: 0 });
      const parsed = parseRequestFrame(bytes, 1 << 20);
      const reply = await handlers.get(definition.name)!({ frame: (parsed as { frame: RequestFrame }).frame, remoteAddress: '127.0.0.1', remotePort: 50000 });
      return reply!.error;
    };
    const hashKeyOf = (index: number) => (index % 10 === 9 ? `cold-${index}` : 'user\x00hot');
    const pid = { appId: 6, partitionIndex: 0 };
    for (const type of [HotkeyType.WRITE, HotkeyType.READ]) {
      assert.equal(detectors.handle({ type, action: DetectAction.START, pid }).err, 'ERR_OK');
    }
    for (let period = 0; period < 2; period++) {
      for (let index = 0; index < 200; index++) {
        const composite = encodeKey(key(hashKeyOf(index)), key(`s${index}`));
        assert.equal(await call('RPC_RRDB_RRDB_PUT', { key: composite, value: key('v'), expireTsSeconds: 0 }), 'ERR_OK');
        assert.equal(await call('RPC_RRDB_RRDB_GET', composite), 'ERR_OK');
      }
      detectors.analyse();
    }
    for (const type of [HotkeyType.WRITE, HotkeyType.READ]) {
      assert.deepEqual(detectors.handle({ type, action: DetectAction.QUERY, pid }), { err: 'ERR_OK', hotkeyResult: 'user\\x00hot' });
    }
    await stub.close();
  });
});
