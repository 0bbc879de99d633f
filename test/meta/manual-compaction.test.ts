// Manual compaction on the meta: the envs RPC_CM_START_MANUAL_COMPACT writes (Pegasus's
// meta_app_compaction_test vectors), the members' statuses taken from config sync, and the
// progress RPC_CM_QUERY_MANUAL_COMPACT_STATUS answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appInfoFromJson, isMember, type ManualCompactStatus } from '../../src/cluster/index.ts';
import { manualCompactProgress, MemoryStateStore, onceCompactionEnvs, type StoreOp } from '../../src/meta/index.ts';
import { createMetaHarness, HARNESS_NODES, HARNESS_START_MS, type MetaHarness } from '../helpers/meta-harness.ts';

const APP = 'manual_compaction_test';
const NOW_SECONDS = HARNESS_START_MS / 1000;

/** A store whose multi-writes wait while held: the table's in-between status stays observable. */
class GatedStore extends MemoryStateStore {
  held: Promise<void> | undefined;
  override async multi(ops: StoreOp[]): Promise<void> {
    if (this.held) await this.held;
    return super.multi(ops);
  }
}

/** A healthy table of 4 partitions × 3 replicas on the harness's three nodes. */
async function healthyTable(store = new MemoryStateStore()): Promise<MetaHarness> {
  const meta = await createMetaHarness({ store });
  assert.equal((await meta.state.createApp({ appName: APP, partitionCount: 4, replicaCount: 3 })).err, 'ERR_OK');
  await meta.settle();
  for (const config of meta.state.partitionsOf(1)) assert.equal(config.secondaries.length, 2, 'every partition has its three replicas');
  return meta;
}

/** Every node's config sync, reporting `status` (or nothing) for its replicas of partitions `partitions`. */
function reportAll(meta: MetaHarness, status: ManualCompactStatus | undefined, partitions = [0, 1, 2, 3]): void {
  for (const node of HARNESS_NODES) {
    const stored = meta.state.partitionsOf(1)
      .filter((config) => partitions.includes(config.gpid.partitionIndex) && isMember(config, node))
      .map((config) => ({
        gpid: config.gpid, ballot: config.ballot, status: 'PS_SECONDARY' as const, lastCommittedDecree: 0, lastPreparedDecree: 0,
        lastDurableDecree: 0, appType: 'pegasus', diskTag: 'default', ...(status !== undefined && { manualCompactStatus: status }),
      }));
    assert.equal(meta.state.onConfigSync(node, stored).err, 'ERR_OK');
  }
}

describe('manualCompactProgress', () => {
  it('is undefined when every replica is idle, else finished × 100 / (partitions × replicas), rounded down', () => {
    const of = (...statuses: ManualCompactStatus[]) => manualCompactProgress(1, 3, statuses);
    assert.equal(of('IDLE', 'IDLE', 'IDLE'), undefined);
    assert.equal(of('QUEUING', 'QUEUING', 'QUEUING'), 0);
    assert.equal(of('FINISHED', 'RUNNING', 'IDLE'), 33);
    assert.equal(of('FINISHED', 'FINISHED', 'IDLE'), 66);
    assert.equal(of('FINISHED', 'FINISHED', 'FINISHED'), 100);
    assert.equal(manualCompactProgress(4, 3, Array(6).fill('FINISHED')), 50);
  });

  it('counts replicas that have not reported as not finished, and not as idle', () => {
    // 11 of 12 members reported: all finished is 91 %; all idle is no longer "all idle" but 0 %.
    assert.equal(manualCompactProgress(4, 3, Array(11).fill('FINISHED')), 91);
    assert.equal(manualCompactProgress(4, 3, Array(11).fill('IDLE')), 0);
    assert.equal(manualCompactProgress(4, 3, []), 0);
  });
});

describe('onceCompactionEnvs', () => {
  it('writes target level, a count above 0, bottommost and trigger time, in that order, with Pegasus\'s defaults', () => {
    assert.deepEqual(onceCompactionEnvs({}, 1700000000), {
      envs: [
        ['manual_compact.once.target_level', '-1'],
        ['manual_compact.once.bottommost_level_compaction', 'skip'],
        ['manual_compact.once.trigger_time', '1700000000'],
      ],
    });
    assert.deepEqual(onceCompactionEnvs({ targetLevel: 0, bottommost: true, maxRunningCount: 2, triggerTime: 5n }, 1700000000), {
      envs: [
        ['manual_compact.once.target_level', '0'],
        ['manual_compact.max_concurrent_running_count', '2'],
        ['manual_compact.once.bottommost_level_compaction', 'force'],
        ['manual_compact.once.trigger_time', '5'],
      ],
    });
    assert.equal((onceCompactionEnvs({ maxRunningCount: 0, bottommost: false }, 1) as { envs: unknown[] }).envs.length, 3);
  });

  it('refuses a target level below -1 and a negative count', () => {
    assert.deepEqual(onceCompactionEnvs({ targetLevel: -5 }, 1), {
      err: 'ERR_INVALID_PARAMETERS', hintMessage: 'invalid target_level(-5), should in range of [-1, num_levels]',
    });
    assert.deepEqual(onceCompactionEnvs({ maxRunningCount: -1 }, 1), {
      err: 'ERR_INVALID_PARAMETERS', hintMessage: 'invalid max_running_count(-1), should be greater than 0',
    });
  });
});

describe('RPC_CM_START_MANUAL_COMPACT', () => {
  it('answers Pegasus\'s test vectors and writes the envs to the store', async () => {
    const meta = await healthyTable();
    const start = (request: Partial<Parameters<typeof meta.state.startManualCompact>[0]>) =>
      meta.state.startManualCompact({ appName: APP, ...request });
    const envs = () => meta.state.findApp(APP)!.envs;

    assert.deepEqual(await start({ appName: 'app_not_exist' }), { err: 'ERR_APP_NOT_EXIST', hintMessage: 'app app_not_exist is not existed' });
    assert.equal((await meta.state.updateAppEnv({ appName: APP, op: 'SET', keys: ['manual_compact.disabled'], values: ['true'] })).err, 'ERR_OK');
    assert.deepEqual(await start({}), { err: 'ERR_OPERATION_DISABLED', hintMessage: `app ${APP} disable manual compaction` });
    assert.equal((await meta.state.updateAppEnv({ appName: APP, op: 'SET', keys: ['manual_compact.disabled'], values: ['false'] })).err, 'ERR_OK');
    assert.equal((await start({ targetLevel: -5 })).err, 'ERR_INVALID_PARAMETERS');
    assert.equal((await start({ maxRunningCount: -1 })).err, 'ERR_INVALID_PARAMETERS');
    // Refusals wrote nothing.
    assert.deepEqual(envs(), { 'manual_compact.disabled': 'false' });

    assert.deepEqual(await start({ bottommost: false }), { err: 'ERR_OK', hintMessage: 'succeed' });
    assert.deepEqual(envs(), {
      'manual_compact.disabled': 'false',
      'manual_compact.once.bottommost_level_compaction': 'skip',
      'manual_compact.once.target_level': '-1',
      'manual_compact.once.trigger_time': String(NOW_SECONDS),
    });
    meta.advance(60_000);
    assert.equal((await start({ bottommost: true, targetLevel: 1, maxRunningCount: 1 })).err, 'ERR_OK');
    assert.deepEqual(envs(), {
      'manual_compact.disabled': 'false',
      'manual_compact.max_concurrent_running_count': '1',
      'manual_compact.once.bottommost_level_compaction': 'force',
      'manual_compact.once.target_level': '1',
      'manual_compact.once.trigger_time': String(NOW_SECONDS + 60),
    });
    // Persisted with the table, as any env change.
    assert.deepEqual(appInfoFromJson((await meta.store.get('/pegasus/test/apps/1'))!.toString()).envs, envs());
    // "disabled" means exactly "true".
    assert.equal((await meta.state.updateAppEnv({ appName: APP, op: 'SET', keys: ['manual_compact.disabled'], values: ['TRUE'] })).err, 'ERR_OK');
    assert.equal((await start({})).err, 'ERR_OK');
  });

  it('a dropped table is not existed; one that is not available yet is not available', async () => {
    const store = new GatedStore();
    const meta = await healthyTable(store);
    assert.equal((await meta.state.dropApp({ appName: APP })).err, 'ERR_OK');
    assert.deepEqual(await meta.state.startManualCompact({ appName: APP }), { err: 'ERR_APP_NOT_EXIST', hintMessage: `app ${APP} is not existed` });
    assert.deepEqual(meta.state.queryManualCompactStatus(APP), { err: 'ERR_APP_NOT_EXIST', hintMessage: `app ${APP} is not existed` });
    // While the recall is written the table holds its name as AS_RECALLING.
    let release = (): void => {};
    store.held = new Promise((resolve) => (release = resolve));
    const recalling = meta.state.recallApp({ appId: 1 });
    while (meta.state.findApp(APP)?.status !== 'AS_RECALLING') await new Promise(setImmediate);
    assert.deepEqual(meta.state.queryManualCompactStatus(APP), { err: 'ERR_APP_DROPPED', hintMessage: `app ${APP} is not available` });
    store.held = undefined;
    release();
    assert.equal((await recalling).err, 'ERR_OK');
  });

  it('forgets what the members reported: they count as idle until their next config sync', async () => {
    const meta = await healthyTable();
    reportAll(meta, 'FINISHED');
    assert.equal(meta.state.queryManualCompactStatus(APP).progress, 100);
    assert.equal((await meta.state.startManualCompact({ appName: APP })).err, 'ERR_OK');
    assert.deepEqual(meta.state.queryManualCompactStatus(APP), { err: 'ERR_INVALID_STATE', hintMessage: `app ${APP} is not manual compaction` });
    reportAll(meta, 'QUEUING');
    assert.deepEqual(meta.state.queryManualCompactStatus(APP), { err: 'ERR_OK', hintMessage: 'succeed', progress: 0 });
  });
});

describe('RPC_CM_QUERY_MANUAL_COMPACT_STATUS', () => {
  it('answers Pegasus\'s vectors from the statuses the members report in config sync', async () => {
    const meta = await healthyTable();
    reportAll(meta, 'IDLE');
    assert.deepEqual(meta.state.queryManualCompactStatus(APP), { err: 'ERR_INVALID_STATE', hintMessage: `app ${APP} is not manual compaction` });
    reportAll(meta, 'QUEUING');
    assert.deepEqual(meta.state.queryManualCompactStatus(APP), { err: 'ERR_OK', hintMessage: 'succeed', progress: 0 });
    reportAll(meta, 'FINISHED', [0, 1]);
    assert.equal(meta.state.queryManualCompactStatus(APP).progress, 50);
    reportAll(meta, 'RUNNING', [2]);
    reportAll(meta, 'FINISHED', [3]);
    assert.equal(meta.state.queryManualCompactStatus(APP).progress, 75);
    reportAll(meta, 'FINISHED');
    assert.equal(meta.state.queryManualCompactStatus(APP).progress, 100);
    assert.deepEqual(meta.state.queryManualCompactStatus('nope'), { err: 'ERR_APP_NOT_EXIST', hintMessage: 'app nope is not existed' });
  });

  it('a replica that does not say is idle; a member that leaves takes its report with it', async () => {
    const meta = await healthyTable();
    reportAll(meta, 'FINISHED');
    reportAll(meta, undefined, [0]);
    assert.equal(meta.state.queryManualCompactStatus(APP).progress, 75);
    reportAll(meta, 'FINISHED');
    // A secondary of partition 0 leaves: 11 of 12 replicas finished.
    const before = meta.state.partitionsOf(1)[0]!;
    const leaving = before.secondaries[0]!;
    const next = { ...before, ballot: before.ballot + 1, secondaries: before.secondaries.filter((node) => node !== leaving) };
    const result = await meta.state.onUpdateConfiguration({ config: next, type: 'CT_DOWNGRADE_TO_INACTIVE', node: leaving });
    assert.ok(result !== 'ignored' && result.err === 'ERR_OK');
    assert.equal(meta.state.queryManualCompactStatus(APP).progress, 91);
  });
});
