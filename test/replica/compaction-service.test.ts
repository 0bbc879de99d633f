// Manual compaction and the TTL sweep of replicas hosted by a stub, on real LevelDB stores: a
// `once` trigger in the table's envs runs the store's compaction pass, the status goes to
// FINISHED in the config-sync report, /replica/manual_compaction and the metrics; the finish time
// survives a restart; stale keys after a split are dropped; one table's compactions respect
// max_concurrent_running_count; the periodic sweep drops expired records unless the table is
// in the bulk_load scenario.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { compositeKeyHash } from '../../src/base/index.ts';
import { MANUAL_COMPACT_STATUS_VALUES, type AppInfo, type PartitionConfiguration } from '../../src/cluster/index.ts';
import type { AdminRequest } from '../../src/net/index.ts';
import { setFlagFromText } from '../../src/config/index.ts';
import { metricRegistry } from '../../src/metrics/index.ts';
import { CompactionService, CompactionSlots, ttlReclaimIntervalSeconds, type CompactionTable } from '../../src/replica/compaction-service.ts';
import { manualCompactionCall } from '../../src/replica/http.ts';
import { ReplicaStub, type ClientWrite, type Replica } from '../../src/replica/index.ts';
import { ReplicaStore, encodeKey, now2016Seconds } from '../../src/storage/index.ts';
import { waitFor } from '../helpers/process.ts';

const SELF = '127.0.0.1:40101';

const appInfo = (appId: number, envs: Record<string, string>, partitionCount = 4): AppInfo => ({
  status: 'AS_AVAILABLE', appType: 'pegasus', appName: `table${appId}`, appId, partitionCount, envs, isStateful: true, maxReplicaCount: 1,
  expireSecond: 0, createSecond: 1, dropSecond: 0, duplicating: false, initPartitionCount: -1, isBulkLoading: false, atomicIdempotent: false,
});

/** This node alone is the primary: it commits without peers. */
const soleConfig = (appId: number, partitionIndex: number, ballot = 1): PartitionConfiguration => ({
  gpid: { appId, partitionIndex }, ballot, maxReplicaCount: 1, primary: SELF, secondaries: [], lastDrops: [], lastCommittedDecree: 0, partitionFlags: 0,
});

const request = (query: Record<string, string>): AdminRequest => ({
  method: 'GET', path: 'replica/manual_compaction', query: new Map(Object.entries(query)), rawQuery: '', body: Buffer.alloc(0), headers: {}, remoteAddress: '127.0.0.1',
});

const keyOf = (hashKey: string, sortKey: string): Buffer => encodeKey(Buffer.from(hashKey), Buffer.from(sortKey));
type PutWrite = Extract<ClientWrite, { op: 'put' }>;
const put = (key: Buffer, value: string, expireTsSeconds: number): PutWrite => ({ op: 'put', request: { key, value: Buffer.from(value), expireTsSeconds } });
const onceNow = (): Record<string, string> => ({ 'manual_compact.once.trigger_time': String(Math.floor(Date.now() / 1000)) });

async function writeAll(replica: Replica, writes: readonly ClientWrite[]): Promise<void> {
  const path = replica.servingPrimary!.path;
  for (let start = 0; start < writes.length; start += 100) {
    await Promise.all(writes.slice(start, start + 100).map((write) => path.submit(write, 64)));
  }
}

const metric = (replica: Replica, name: string): number => (replica.metrics.entity.metrics.get(name) as unknown as { value: number }).value;

describe('replica manual compaction', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-replica-compaction-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('a once trigger compacts: FINISHED in the report, the HTTP call and metrics; the finish time survives a restart', async () => {
    const dataDir = path.join(scratch, 'once');
    const stub = new ReplicaStub({ self: SELF, dataDir });
    stub.update(appInfo(5, {}), soleConfig(5, 0));
    await stub.settle();
    const replica = stub.find(5, 0)!;
    const now = now2016Seconds();
    const live = Array.from({ length: 50 }, (_, index) => put(keyOf('live', String(index)), `v${index}`, 0));
    await writeAll(replica, [...Array.from({ length: 500 }, (_, index) => put(keyOf('gone', String(index)), 'x', now - 60)), ...live]);
    assert.equal(await replica.store!.countKeys(), 550);
    assert.equal(replica.replicaInfo().manualCompactStatus, MANUAL_COMPACT_STATUS_VALUES.IDLE);
    assert.deepEqual(manualCompactionCall(stub, request({ app_id: '5' })), { status: 200, body: '{"status":{"finished":0,"idle":1,"queuing":0,"running":0}}' });

    const once = onceNow();
    stub.update(appInfo(5, once), soleConfig(5, 0));
    await waitFor('the compaction finished', () => replica.compaction.status() === 'FINISHED', 60_000);
    assert.equal(replica.replicaInfo().manualCompactStatus, MANUAL_COMPACT_STATUS_VALUES.FINISHED);
    assert.deepEqual(manualCompactionCall(stub, request({ app_id: '5' })), { status: 200, body: '{"status":{"finished":1,"idle":0,"queuing":0,"running":0}}' });
    assert.equal(await replica.store!.countKeys(), 50);
    for (const write of live) {
      assert.equal((await replica.store!.get(write.request.key))?.userData.toString(), write.request.value.toString());
    }
    const finishedAt = await replica.store!.lastManualCompactFinishTimeMs();
    assert.ok(finishedAt > 0);
    assert.equal(metric(replica, 'rdb_manual_compact_last_finish_time_ms'), finishedAt);
    assert.equal(metric(replica, 'rdb_manual_compact_running_tasks'), 0);
    assert.equal(metric(replica, 'rdb_manual_compact_queued_tasks'), 0);
    assert.equal(metric(replica, 'rdb_compaction_dropped_expired_records'), 500);
    assert.ok(metric(replica, 'rdb_manual_compact_last_disk_bytes_before') > 0);
    assert.ok(metric(replica, 'rdb_manual_compact_last_disk_bytes_after') > 0);
    const report = replica.compaction.report();
    assert.notEqual(report.last_finish, '-');
    assert.match(report.last_used_ms, /^\d+$/);
    assert.deepEqual([report.recent_enqueue_at, report.recent_start_at], ['-', '-']);

    // The same envs again (the next config sync): the trigger is done. (A new onceNow() could
    // name a later second than the finish, which is a new trigger.)
    stub.update(appInfo(5, once), soleConfig(5, 0));
    assert.equal(replica.compaction.status(), 'FINISHED');

    // Bad parameters, and a table this node does not host.
    assert.deepEqual(manualCompactionCall(stub, request({})), { status: 400, body: 'app_id should not be empty' });
    assert.deepEqual(manualCompactionCall(stub, request({ app_id: 'x' })), { status: 400, body: 'invalid app_id=x' });
    assert.deepEqual(manualCompactionCall(stub, request({ app_id: '-1' })), { status: 400, body: 'invalid app_id=-1' });
    assert.deepEqual(manualCompactionCall(stub, request({ app_id: '77' })), { status: 200, body: '{"status":{"finished":0,"idle":0,"queuing":0,"running":0}}' });
    await stub.close();

    const restarted = new ReplicaStub({ self: SELF, dataDir });
    await restarted.loadFromDisk();
    restarted.update(appInfo(5, { 'manual_compact.once.trigger_time': String(Math.floor(finishedAt / 1000)) }), soleConfig(5, 0, 2));
    await restarted.settle();
    const reopened = restarted.find(5, 0)!;
    assert.equal(reopened.compaction.status(), 'IDLE', 'the restored finish time is not older than the trigger: nothing runs');
    assert.equal(reopened.compaction.report().last_finish, report.last_finish);
    await restarted.close();
  });

  test('with replica.split.validate_partition_hash, keys of the other partitions are dropped', async () => {
    const stub = new ReplicaStub({ self: SELF, dataDir: path.join(scratch, 'split') });
    stub.update(appInfo(6, {}, 4), soleConfig(6, 1));
    await stub.settle();
    const replica = stub.find(6, 1)!;
    const keys = Array.from({ length: 400 }, (_, index) => keyOf(`hash${index}`, 's'));
    await writeAll(replica, keys.map((key) => put(key, 'v', 0)));
    const own = keys.filter((key) => Number(compositeKeyHash(key) & 3n) === 1);
    assert.ok(own.length > 50 && own.length < 200);

    // Without the env a compaction keeps every key.
    stub.update(appInfo(6, onceNow(), 4), soleConfig(6, 1));
    await waitFor('the first compaction finished', () => replica.compaction.status() === 'FINISHED', 60_000);
    assert.equal(await replica.store!.countKeys(), 400);

    const lastFinishSeconds = Math.floor((await replica.store!.lastManualCompactFinishTimeMs()) / 1000);
    stub.update(appInfo(6, { 'replica.split.validate_partition_hash': 'true', 'manual_compact.once.trigger_time': String(lastFinishSeconds + 1) }, 4), soleConfig(6, 1));
    assert.equal(replica.compaction.status(), 'QUEUING');
    await waitFor('the second compaction finished', () => replica.compaction.status() === 'FINISHED', 60_000);
    assert.equal(await replica.store!.countKeys(), own.length);
    for (const key of own) assert.ok(await replica.store!.get(key));
    await stub.close();
  });

  test('max_concurrent_running_count=1: one table\'s compactions on a server run one at a time, the others wait QUEUING', async () => {
    const stub = new ReplicaStub({ self: SELF, dataDir: path.join(scratch, 'limit') });
    for (let pidx = 0; pidx < 3; pidx++) stub.update(appInfo(7, {}, 3), soleConfig(7, pidx));
    await stub.settle();
    const replicas = [0, 1, 2].map((pidx) => stub.find(7, pidx)!);
    const now = now2016Seconds();
    for (const replica of replicas) {
      await writeAll(replica, Array.from({ length: 3000 }, (_, index) => put(keyOf(`k${index}`, String(replica.gpid.partitionIndex)), 'x'.repeat(200), now - 60)));
    }
    const envs = { ...onceNow(), 'manual_compact.max_concurrent_running_count': '1' };
    let mostRunning = 0;
    let sawQueuing = false;
    for (let pidx = 0; pidx < 3; pidx++) stub.update(appInfo(7, envs, 3), soleConfig(7, pidx));
    await waitFor('every compaction finished', () => {
      const statuses = replicas.map((replica) => replica.compaction.status());
      mostRunning = Math.max(mostRunning, statuses.filter((status) => status === 'RUNNING').length);
      sawQueuing ||= statuses.includes('QUEUING');
      return statuses.every((status) => status === 'FINISHED');
    }, 60_000, 1);
    assert.equal(mostRunning, 1);
    assert.equal(sawQueuing, true, 'queued compactions waited instead of being dropped');
    for (const replica of replicas) assert.equal(await replica.store!.countKeys(), 0);
    await stub.close();
  });

  test('disabled: nothing runs', async () => {
    const stub = new ReplicaStub({ self: SELF, dataDir: path.join(scratch, 'disabled') });
    stub.update(appInfo(8, { ...onceNow(), 'manual_compact.disabled': 'true' }), soleConfig(8, 0));
    await stub.settle();
    const replica = stub.find(8, 0)!;
    replica.compaction.tick(Date.now() + 60_000);
    assert.equal(replica.compaction.status(), 'IDLE');
    await stub.close();
  });

  test('the TTL sweep drops expired records when due, but not under the bulk_load usage scenario', async () => {
    const stub = new ReplicaStub({ self: SELF, dataDir: path.join(scratch, 'sweep') });
    stub.update(appInfo(9, { 'rocksdb.usage_scenario': 'bulk_load' }), soleConfig(9, 0));
    await stub.settle();
    const replica = stub.find(9, 0)!;
    const now = now2016Seconds();
    await writeAll(replica, [...Array.from({ length: 300 }, (_, index) => put(keyOf('gone', String(index)), 'x', now - 60)), put(keyOf('live', 'a'), 'kept', now + 3600)]);
    const due = Date.now() + ttlReclaimIntervalSeconds.value * 1000 + 1000;
    replica.compaction.tick(due);
    await replica.compaction.idle();
    assert.equal(await replica.store!.countKeys(), 301, 'bulk_load: no sweep');

    stub.update(appInfo(9, { 'rocksdb.usage_scenario': 'normal' }), soleConfig(9, 0));
    replica.compaction.tick(due);
    await replica.compaction.idle();
    assert.equal(await replica.store!.countKeys(), 1);
    assert.equal((await replica.store!.get(keyOf('live', 'a')))?.userData.toString(), 'kept');
    assert.equal(replica.compaction.status(), 'IDLE', 'a sweep is no manual compaction');
    assert.equal(metric(replica, 'rdb_compaction_dropped_expired_records'), 300);
    await stub.close();
  });
});

describe('compaction service on an injected clock', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-compaction-clock-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const serviceOn = async (name: string, table: CompactionTable, clock: { now: number }) => {
    const store = await ReplicaStore.open({ replicaDir: path.join(scratch, name) });
    const entity = metricRegistry.entity('replica', `replica@${name}`, { table_id: name, partition_id: '0' });
    const service = new CompactionService({ gpid: { appId: 99, partitionIndex: 0 }, slots: new CompactionSlots(), entity, table: () => table, clockMs: () => clock.now });
    await service.open(store);
    return { store, service, entity };
  };

  test('a periodic time is caught by the periodic check and runs once a day', async () => {
    const clock = { now: new Date(2026, 0, 10, 9, 0, 0).getTime() };
    const table: CompactionTable = { envs: { 'manual_compact.periodic.trigger_time': '10:00' }, partitionCount: 1, defaultTtlSeconds: 0, splitValidatePartitionHash: false };
    const { store, service, entity } = await serviceOn('periodic', table, clock);
    assert.equal(service.status(), 'IDLE', '09:00: not yet');
    clock.now = new Date(2026, 0, 10, 10, 0, 30).getTime();
    service.tick(clock.now);
    await service.idle();
    assert.equal(service.status(), 'FINISHED');
    assert.equal(await store.lastManualCompactFinishTimeMs(), clock.now);
    const finishedAt = clock.now;
    clock.now += 60_000;
    service.tick(clock.now);
    await service.idle();
    assert.equal(await store.lastManualCompactFinishTimeMs(), finishedAt, 'done for today');
    clock.now = new Date(2026, 0, 11, 10, 0, 30).getTime();
    service.tick(clock.now);
    await service.idle();
    assert.equal(await store.lastManualCompactFinishTimeMs(), clock.now, 'again the next day');
    await service.close();
    await store.close();
    entity.retire();
  });

  test('manual_compact_min_interval_seconds holds a new trigger back until the interval passed', async () => {
    const clock = { now: new Date(2026, 0, 10, 9, 0, 0).getTime() };
    const table: CompactionTable = { envs: { 'manual_compact.once.trigger_time': String(clock.now / 1000) }, partitionCount: 1, defaultTtlSeconds: 0, splitValidatePartitionHash: false };
    setFlagFromText('manual_compact_min_interval_seconds', '600');
    try {
      const { store, service, entity } = await serviceOn('interval', table, clock);
      await service.idle();
      assert.equal(await store.lastManualCompactFinishTimeMs(), clock.now, 'the first one runs');
      const first = clock.now;
      clock.now += 60_000;
      table.envs = { 'manual_compact.once.trigger_time': String(clock.now / 1000) };
      service.onEnvs(clock.now);
      assert.equal(service.status(), 'FINISHED', 'a minute later: held back');
      clock.now = first + 601_000;
      service.onEnvs(clock.now);
      await service.idle();
      assert.equal(await store.lastManualCompactFinishTimeMs(), clock.now);
      await service.close();
      await store.close();
      entity.retire();
    } finally {
      setFlagFromText('manual_compact_min_interval_seconds', '0');
    }
  });
});
