// The replica stub in process, on real LevelDB stores in a temporary data dir: replicas open as
// the meta makes this node a member and close when it leaves, the config-sync report (role,
// ballot, decrees), replicas found on disk after a restart, garbage moved aside, and
// /replica/data_version on the stub's replicas.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { AppInfo, PartitionConfiguration } from '../../src/cluster/index.ts';
import type { AdminRequest } from '../../src/net/index.ts';
import { dataVersionCall, ReplicaStub, type ClientWrite } from '../../src/replica/index.ts';
import { MutationLog } from '../../src/replica/log/mutation-log.ts';
import { mutationLogDirOf } from '../../src/replica/replica.ts';
import { classicLevelEngine, encodeKey, replicaDirOf, type EngineFactory } from '../../src/storage/index.ts';
import { PartitionStatus } from '../../src/wire/index.ts';

const SELF = '127.0.0.1:40001';
const OTHERS = ['127.0.0.1:40002', '127.0.0.1:40003'];

const appInfo = (appId: number): AppInfo => ({
  status: 'AS_AVAILABLE', appType: 'pegasus', appName: `table${appId}`, appId, partitionCount: 4, envs: {}, isStateful: true, maxReplicaCount: 3,
  expireSecond: 0, createSecond: 1, dropSecond: 0, duplicating: false, initPartitionCount: -1, isBulkLoading: false, atomicIdempotent: false,
});

const configOf = (appId: number, partitionIndex: number, ballot: number, primary: string, secondaries: string[]): PartitionConfiguration => ({
  gpid: { appId, partitionIndex }, ballot, maxReplicaCount: 3, primary, secondaries, lastDrops: [], lastCommittedDecree: 0, partitionFlags: 0,
});

const request = (query: Record<string, string>): AdminRequest => ({
  method: 'GET', path: 'replica/data_version', query: new Map(Object.entries(query)), rawQuery: '', body: Buffer.alloc(0), headers: {}, remoteAddress: '127.0.0.1',
});

const settled = (stub: ReplicaStub): Promise<void> => stub.settle();

describe('replica stub', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pteron-replica-stub-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('opens replicas the meta assigns, reports them, closes the ones this node leaves, and finds them on disk after a restart', async () => {
    const stub = new ReplicaStub({ self: SELF, dataDir });
    // A primary without secondaries commits alone (there are no peer servers in this test).
    stub.update(appInfo(3), configOf(3, 0, 1, SELF, []));
    stub.update(appInfo(3), configOf(3, 1, 1, OTHERS[0]!, [SELF, OTHERS[1]!]));
    stub.update(appInfo(3), configOf(3, 2, 1, OTHERS[0]!, [OTHERS[1]!]));
    assert.equal(stub.find(3, 2), undefined, 'not a member: nothing opened');
    await settled(stub);
    const primary = stub.find(3, 0)!;
    const secondary = stub.find(3, 1)!;
    assert.ok(existsSync(path.join(dataDir, 'replica', 'reps', '3.0.pegasus', 'data', 'rdb')));
    assert.deepEqual([primary.state, primary.status, primary.servingPrimary !== undefined], ['serving', PartitionStatus.PS_PRIMARY, true]);
    // A fresh replica the meta lists as a secondary holds no member's data: it stays inactive until it learned.
    assert.deepEqual([secondary.state, secondary.status, secondary.servingPrimary !== undefined], ['serving', PartitionStatus.PS_INACTIVE, false]);

    for (let index = 0; index < 3; index++) {
      await primary.servingPrimary!.path.submit({ op: 'put', request: { key: encodeKey(Buffer.from('h'), Buffer.from(String(index))), value: Buffer.from('v'), expireTsSeconds: 0 } }, 10);
    }
    const report = (stub: ReplicaStub) =>
      stub.storedReplicas().map((info) => [`${info.pid.appId}.${info.pid.partitionIndex}`, Number(info.ballot), info.status, Number(info.lastCommittedDecree)]).sort();
    // Reports carry the ballot of the data (the last one as a member): 3.1 never was one.
    assert.deepEqual(report(stub), [['3.0', 1, PartitionStatus.PS_PRIMARY, 3], ['3.1', 0, PartitionStatus.PS_INACTIVE, 0]]);

    stub.update(appInfo(3), configOf(3, 0, 0, SELF, OTHERS));
    assert.equal(primary.ballot, 1, 'an older configuration is ignored');
    // The primary moves away and this node is dropped: the replica closes but stays reported.
    stub.update(appInfo(3), configOf(3, 0, 2, OTHERS[0]!, [OTHERS[1]!]));
    await settled(stub);
    assert.equal(stub.find(3, 0), undefined);
    assert.equal(primary.state, 'closed');
    assert.deepEqual(report(stub), [['3.0', 1, PartitionStatus.PS_INACTIVE, 3], ['3.1', 0, PartitionStatus.PS_INACTIVE, 0]]);

    // A config sync answer that no longer lists 3.1 closes it, unless the meta told us about it after the sync was sent.
    const sentAt = stub.updateSeq;
    stub.update(appInfo(3), configOf(3, 3, 1, SELF, OTHERS));
    stub.retainOnly(new Set(), sentAt);
    await settled(stub);
    assert.equal(stub.find(3, 1), undefined);
    assert.equal(stub.find(3, 3)?.status, PartitionStatus.PS_PRIMARY, 'news newer than the sync is kept');
    assert.deepEqual(dataVersionCall(stub, request({ app_id: '3' })), { status: 200, body: '{"3":{"data_version":"1"}}' });
    await stub.close();

    const restarted = new ReplicaStub({ self: SELF, dataDir });
    assert.equal(await restarted.loadFromDisk(), 3);
    // Only ballots under which a replica was a member are saved: 3.1 never was.
    assert.deepEqual(report(restarted), [['3.0', 1, PartitionStatus.PS_INACTIVE, 3], ['3.1', 0, PartitionStatus.PS_INACTIVE, 0], ['3.3', 1, PartitionStatus.PS_INACTIVE, 0]]);
    assert.equal(restarted.find(3, 0)!.info.appName, 'table3', 'the table details come back from .app-info');
    assert.equal(restarted.find(3, 0)!.servingPrimary !== undefined, false, 'nothing serves before the meta confirms the configuration');
    assert.deepEqual(dataVersionCall(restarted, request({ app_id: '3' })), { status: 200, body: '{"0":{"data_version":"1"},"1":{"data_version":"1"},"3":{"data_version":"1"}}' });
    restarted.update(appInfo(3), configOf(3, 0, 3, SELF, OTHERS));
    assert.equal(restarted.find(3, 0)!.servingPrimary !== undefined, true);
    const read = await restarted.find(3, 0)!.store!.get(encodeKey(Buffer.from('h'), Buffer.from('2')));
    assert.deepEqual(read?.userData, Buffer.from('v'), 'the data survived the restart');

    // The meta calls 3.1 garbage (its table is gone): it is closed first, then moved aside.
    restarted.retainOnly(new Set(['3.0']), restarted.updateSeq);
    await settled(restarted);
    await restarted.collectGarbage([{ pid: { appId: 3, partitionIndex: 1 }, ballot: 1n, status: 1, lastCommittedDecree: 0n, lastPreparedDecree: 0n, lastDurableDecree: 0n, appType: 'pegasus', diskTag: 'default' }]);
    const names = readdirSync(path.join(dataDir, 'replica', 'reps')).sort();
    assert.equal(names.filter((name) => name.endsWith('.gar')).length, 1);
    assert.ok(names.includes('3.0.pegasus') && names.includes('3.3.pegasus') && !names.includes('3.1.pegasus'));
    assert.deepEqual(report(restarted).map((row) => row[0]), ['3.0', '3.3']);
    await restarted.close();
  });

  test('a new primary serves reads only once the tail it inherited is applied to its store, not merely committed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-replica-barrier-'));
    const put = (sortKey: string): ClientWrite => ({ op: 'put', request: { key: encodeKey(Buffer.from('h'), Buffer.from(sortKey)), value: Buffer.from(sortKey), expireTsSeconds: 0 } });
    try {
      const first = new ReplicaStub({ self: SELF, dataDir: dir });
      first.update(appInfo(6), configOf(6, 0, 1, SELF, []));
      await settled(first);
      await first.find(6, 0)!.servingPrimary!.path.submit(put('a'), 10);
      await first.close();
      // A mutation its log holds but its store never applied, as after a crash in between.
      const { log } = await MutationLog.open({ dir: mutationLogDirOf(replicaDirOf(dir, 6, 0)) });
      await log.append({ mutation: { decree: 2, ballot: 1, timestampUs: BigInt(Date.now()) * 1000n, writes: [put('b')] }, lastCommittedDecree: 1 });
      await log.close();

      let release = (): void => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const held: EngineFactory = (location) => {
        const engine = classicLevelEngine()(location);
        const write = engine.write.bind(engine);
        engine.write = async (ops, options) => {
          await gate;
          return write(ops, options);
        };
        return engine;
      };
      const restarted = new ReplicaStub({ self: SELF, dataDir: dir, engineFactory: held });
      assert.equal(await restarted.loadFromDisk(), 1);
      restarted.update(appInfo(6), configOf(6, 0, 2, SELF, []));
      const replica = restarted.find(6, 0)!;
      for (let tries = 0; replica.lastCommittedDecree < 2 && tries < 500; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(replica.lastCommittedDecree, 2, 'the inherited tail is committed under the new ballot');
      assert.equal(replica.servingPrimary !== undefined, false, 'but not yet in the store: no reads');
      release();
      for (let tries = 0; replica.store!.lastAppliedDecree < 2 && tries < 500; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(replica.servingPrimary !== undefined, true);
      assert.deepEqual((await replica.store!.get(encodeKey(Buffer.from('h'), Buffer.from('b'))))?.userData, Buffer.from('b'));
      await restarted.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a replica closed after a restart still reports the decrees its log prepared, not only those it knows committed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-replica-closed-report-'));
    const put = (sortKey: string): ClientWrite => ({ op: 'put', request: { key: encodeKey(Buffer.from('h'), Buffer.from(sortKey)), value: Buffer.from(sortKey), expireTsSeconds: 0 } });
    try {
      const first = new ReplicaStub({ self: SELF, dataDir: dir });
      first.update(appInfo(8), configOf(8, 0, 1, SELF, []));
      await settled(first);
      await first.find(8, 0)!.servingPrimary!.path.submit(put('a'), 10);
      await first.close();
      // The last mutation it prepared: its commit is logged with the next one, which never came.
      const { log } = await MutationLog.open({ dir: mutationLogDirOf(replicaDirOf(dir, 8, 0)) });
      await log.append({ mutation: { decree: 2, ballot: 1, timestampUs: BigInt(Date.now()) * 1000n, writes: [put('b')] }, lastCommittedDecree: 1 });
      await log.close();

      const restarted = new ReplicaStub({ self: SELF, dataDir: dir });
      assert.equal(await restarted.loadFromDisk(), 1);
      const decrees = () => restarted.storedReplicas().map((info) => [info.status, Number(info.lastCommittedDecree), Number(info.lastPreparedDecree)]);
      assert.deepEqual(decrees(), [[PartitionStatus.PS_INACTIVE, 1, 2]]);
      // The meta lists no member (all of them died): the replica closes and keeps reporting decree 2,
      // which the meta needs to see before it makes this node the partition's primary again.
      restarted.retainOnly(new Set(), restarted.updateSeq);
      await settled(restarted);
      assert.equal(restarted.find(8, 0), undefined);
      assert.deepEqual(decrees(), [[PartitionStatus.PS_INACTIVE, 1, 2]]);
      await restarted.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('replicas of a stub that loaded from disk make their logs durable through one shared log, which the next start writes back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-replica-slog-'));
    const put = (sortKey: string): ClientWrite => ({ op: 'put', request: { key: encodeKey(Buffer.from('h'), Buffer.from(sortKey)), value: Buffer.from(sortKey), expireTsSeconds: 0 } });
    try {
      const stub = new ReplicaStub({ self: SELF, dataDir: path.join(dir, 'node') });
      assert.equal(await stub.loadFromDisk(), 0);
      for (const partition of [0, 1]) stub.update(appInfo(7), configOf(7, partition, 1, SELF, []));
      await settled(stub);
      for (const sortKey of ['a', 'b', 'c']) await Promise.all([0, 1].map((partition) => stub.find(7, partition)!.servingPrimary!.path.submit(put(sortKey), 10)));
      const slogDir = path.join(dir, 'node', 'replica', 'slog');
      assert.ok(readdirSync(slogDir).some((name) => statSync(path.join(slogDir, name)).size > 0), 'the groups went through the shared log');

      // A crash that loses what the private logs had only in the page cache: a copy of the data
      // dir taken while the stub runs, with both private logs emptied.
      cpSync(path.join(dir, 'node'), path.join(dir, 'crashed'), { recursive: true });
      const plogOf = (partition: number): string => mutationLogDirOf(replicaDirOf(path.join(dir, 'crashed'), 7, partition));
      for (const partition of [0, 1]) for (const name of readdirSync(plogOf(partition))) truncateSync(path.join(plogOf(partition), name), 0);
      await stub.close();

      const restarted = new ReplicaStub({ self: SELF, dataDir: path.join(dir, 'crashed') });
      assert.equal(await restarted.loadFromDisk(), 2);
      await restarted.close();
      for (const partition of [0, 1]) {
        const { log, records } = await MutationLog.open({ dir: plogOf(partition) });
        assert.deepEqual(records.map((record) => record.mutation.decree), [1, 2, 3], `partition ${partition}: the log is whole again`);
        await log.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a replica that failed to open reports PS_ERROR, serves nothing, and is opened afresh with the next configuration', async () => {
    const stub = new ReplicaStub({ self: SELF, dataDir });
    const dataPath = path.join(dataDir, 'replica', 'reps', '5.0.pegasus', 'data');
    mkdirSync(dataPath, { recursive: true });
    writeFileSync(path.join(dataPath, 'rdb'), 'not a database directory');
    stub.update(appInfo(5), configOf(5, 0, 1, SELF, OTHERS));
    await settled(stub);
    const broken = stub.find(5, 0)!;
    assert.deepEqual([broken.state, broken.status, broken.servingPrimary !== undefined], ['error', PartitionStatus.PS_ERROR, false]);
    assert.equal(stub.storedReplicas().find((info) => info.pid.appId === 5)?.status, PartitionStatus.PS_ERROR);
    rmSync(path.join(dataPath, 'rdb'));
    stub.update(appInfo(5), configOf(5, 0, 1, SELF, OTHERS));
    await settled(stub);
    assert.notEqual(stub.find(5, 0), broken);
    assert.equal(stub.find(5, 0)!.servingPrimary !== undefined, true);
    await stub.close();
  });

  test('a replica whose data/rdb is a RocksDB database (a Pegasus replica directory) fails to open and leaves it untouched', async () => {
    const stub = new ReplicaStub({ self: SELF, dataDir });
    const rdb = path.join(dataDir, 'replica', 'reps', '6.0.pegasus', 'data', 'rdb');
    mkdirSync(rdb, { recursive: true });
    const files = ['000004.log', 'CURRENT', 'IDENTITY', 'LOCK', 'LOG', 'MANIFEST-000005', 'OPTIONS-000007'];
    for (const name of files) writeFileSync(path.join(rdb, name), name === 'CURRENT' ? 'MANIFEST-000005\n' : '');
    stub.update(appInfo(6), configOf(6, 0, 1, SELF, OTHERS));
    await settled(stub);
    const refused = stub.find(6, 0)!;
    assert.deepEqual([refused.state, refused.status, refused.store], ['error', PartitionStatus.PS_ERROR, undefined]);
    assert.deepEqual(readdirSync(rdb).sort(), files);
    await stub.close();
  });

  test('/replica/data_version refuses missing, invalid and unknown app ids', () => {
    const stub = new ReplicaStub({ self: SELF, dataDir: path.join(dataDir, 'empty') });
    assert.deepEqual(dataVersionCall(stub, request({})), { status: 400, body: 'app_id should not be empty' });
    assert.deepEqual(dataVersionCall(stub, request({ app_id: '1x' })), { status: 400, body: 'invalid app_id=1x' });
    assert.deepEqual(dataVersionCall(stub, request({ app_id: '-3' })), { status: 400, body: 'invalid app_id=-3' });
    assert.deepEqual(dataVersionCall(stub, request({ app_id: '010' })), { status: 404, body: 'app_id=010 not found' });
  });
});
