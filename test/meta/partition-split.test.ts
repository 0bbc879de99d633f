// Partition split on the meta state: Pegasus's checks and error names for start, query and
// control, children registering (the count doubles at once, a child has ballot -1 until its
// parent registers it, the guardian then gives it its secondaries), pause and cancel through the
// parents' stop reports, and a split continued by a meta that opens the same store (simple
// store and ZooKeeper).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { log } from '../../src/base/index.ts';
import { appInfoFromJson, partitionConfigurationFromJson, replicaCountOf, type PartitionConfiguration } from '../../src/cluster/index.ts';
import type { MetaStateStore } from '../../src/meta/index.ts';
import { SPLIT_VALIDATE_PARTITION_HASH_ENV, splitStateFromJson, splitStateToJson } from '../../src/meta/partition-split.ts';
import type { MetaServerState } from '../../src/meta/server-state.ts';
import { createMetaHarness, type MetaHarness } from '../helpers/meta-harness.ts';
import { describePersistedInBothStores } from '../helpers/persisted-in-both-stores.ts';

log.level = 'warn';

async function tableOfFour(options: Parameters<typeof createMetaHarness>[0] = {}): Promise<MetaHarness> {
  const meta = await createMetaHarness(options);
  await meta.state.createApp({ appName: 't', partitionCount: 4, replicaCount: 3 });
  await meta.settle();
  return meta;
}

/** What a parent's primary sends once it made its child: itself as the child's only member. */
function registration(state: MetaServerState, parentIndex: number): { appName: string; parentConfig: PartitionConfiguration; childConfig: PartitionConfiguration; primary: string } {
  const app = state.findApp('t')!;
  const parent = state.partitionsOf(app.appId)[parentIndex]!;
  const childConfig: PartitionConfiguration = {
    ...parent, gpid: { appId: app.appId, partitionIndex: parentIndex + app.partitionCount / 2 }, secondaries: [], lastDrops: [],
  };
  return { appName: 't', parentConfig: parent, childConfig, primary: parent.primary };
}

const statusOf = async (state: MetaServerState): Promise<Record<number, string>> => Object.fromEntries((await state.queryPartitionSplit('t')).status);

describe('partition split on the meta', () => {
  it('refuses what Pegasus refuses, with its error names and hints', async () => {
    const meta = await tableOfFour();
    const { state } = meta;
    assert.deepEqual(await state.startPartitionSplit('nope', 8), { err: 'ERR_APP_NOT_EXIST', hintMessage: 'app not existed' });
    assert.deepEqual(await state.startPartitionSplit('t', 6), { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'wrong partition_count, should be 8' });
    assert.deepEqual(await state.queryPartitionSplit('t'), { err: 'ERR_INVALID_STATE', hintMessage: 'app(t) is not splitting', newPartitionCount: 0, status: new Map() });
    assert.deepEqual(await state.controlPartitionSplit('t', 'pause', -1), { err: 'ERR_INVALID_STATE', hintMessage: 'app(t) is not splitting' });
    assert.equal((await state.startPartitionSplit('t', 8)).err, 'ERR_OK');
    // The count doubled at once: the next doubling passes the count check and finds the table busy.
    assert.deepEqual(await state.startPartitionSplit('t', 16), { err: 'ERR_BUSY', hintMessage: 'app(t) is already executing partition split' });
    assert.deepEqual(await state.startPartitionSplit('t', 8), { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'wrong partition_count, should be 16' });
    assert.deepEqual(await state.controlPartitionSplit('t', 'pause', 4), { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'invalid parent partition index(4)' });
    assert.deepEqual(await state.controlPartitionSplit('t', 'restart', 1), { err: 'ERR_INVALID_STATE', hintMessage: 'partition[1] wrong split_status(SPLITTING)' });
    assert.deepEqual(await state.controlPartitionSplit('t', 'cancel', -1, 8), { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'wrong partition_count, should be 4' });
    assert.deepEqual(await state.controlPartitionSplit('nope', 'cancel', -1, 4), { err: 'ERR_APP_NOT_EXIST', hintMessage: 'app not existed' });
    assert.deepEqual(await state.dropApp({ appName: 't' }), { err: 'ERR_SPLITTING', hintMessage: 'app t is splitting' });
  });

  it('doubles the count at once; registered children get members, the split ends with the last', async () => {
    const meta = await tableOfFour();
    const { state, store } = meta;
    assert.deepEqual(await state.startPartitionSplit('t', 8), { err: 'ERR_OK', hintMessage: '' });
    const app = state.findApp('t')!;
    assert.deepEqual([app.partitionCount, app.initPartitionCount, app.envs[SPLIT_VALIDATE_PARTITION_HASH_ENV]], [8, 4, 'true']);
    const stored = appInfoFromJson((await store.get('/pegasus/test/apps/1'))!.toString());
    assert.equal(stored.partitionCount, 8);
    assert.equal(await store.get('/pegasus/test/apps/1/5'), undefined);
    assert.deepEqual(state.partitionsOf(1).slice(4).map((config) => [config.ballot, config.primary]), [[-1, ''], [-1, ''], [-1, ''], [-1, '']]);
    assert.deepEqual(await statusOf(state), { 0: 'SPLITTING', 1: 'SPLITTING', 2: 'SPLITTING', 3: 'SPLITTING' });
    // Clients see the new count with the unregistered children (they route those keys to the parents).
    const routing = state.queryConfiguration('t');
    assert.deepEqual([routing.partitionCount, routing.partitions.length, routing.partitions[6]!.ballot], [8, 8, -1]);

    // An outdated parent ballot and a child in the wrong place are refused.
    const stale = registration(state, 1);
    assert.equal((await state.registerChild({ ...stale, parentConfig: { ...stale.parentConfig, ballot: stale.parentConfig.ballot - 1 } })).err, 'ERR_INVALID_VERSION');
    assert.equal((await state.registerChild({ ...stale, childConfig: { ...stale.childConfig, gpid: { appId: 1, partitionIndex: 6 } } })).err, 'ERR_INVALID_PARAMETERS');

    const request = registration(state, 1);
    const result = await state.registerChild(request);
    assert.equal(result.err, 'ERR_OK');
    assert.deepEqual([result.childConfig!.gpid.partitionIndex, result.childConfig!.primary, result.childConfig!.secondaries], [5, request.primary, []]);
    assert.equal((await state.registerChild(registration(state, 1))).err, 'ERR_CHILD_REGISTERED');
    const child = partitionConfigurationFromJson((await store.get('/pegasus/test/apps/1/5'))!.toString());
    assert.equal(child.primary, request.primary);
    assert.deepEqual(await statusOf(state), { 0: 'SPLITTING', 2: 'SPLITTING', 3: 'SPLITTING' });
    // The guardian gives the child its secondaries (the harness carries out its proposals).
    await meta.settle();
    assert.equal(replicaCountOf(state.partitionsOf(1)[5]!), 3);
    // A registered child can no longer be paused.
    assert.deepEqual(await state.controlPartitionSplit('t', 'pause', 1), { err: 'ERR_CHILD_REGISTERED', hintMessage: 'partition[1] is not splitting' });
    assert.deepEqual(await state.controlPartitionSplit('t', 'cancel', -1, 4), { err: 'ERR_CHILD_REGISTERED', hintMessage: 'some partitions have already finished split' });

    for (const parent of [0, 2, 3]) assert.equal((await state.registerChild(registration(state, parent))).err, 'ERR_OK');
    await meta.settle();
    assert.deepEqual(await state.queryPartitionSplit('t'), { err: 'ERR_INVALID_STATE', hintMessage: 'app(t) is not splitting', newPartitionCount: 0, status: new Map() });
    assert.equal(await store.get('/pegasus/test/split/1'), undefined);
    assert.deepEqual(state.partitionsOf(1).map(replicaCountOf), [3, 3, 3, 3, 3, 3, 3, 3]);
    assert.equal((await state.queryChildState('t', { appId: 1, partitionIndex: 2 }, 4)).childConfig?.gpid.partitionIndex, 6);
  });

  it('pause and restart one parent or all; a parent that stopped reports it', async () => {
    const meta = await tableOfFour();
    const { state } = meta;
    await state.startPartitionSplit('t', 8);
    assert.deepEqual(await state.controlPartitionSplit('t', 'pause', 2), { err: 'ERR_OK', hintMessage: '' });
    assert.deepEqual(await statusOf(state), { 0: 'SPLITTING', 1: 'SPLITTING', 2: 'PAUSING', 3: 'SPLITTING' });
    // A pausing parent cannot register; it reports that it stopped.
    assert.equal((await state.registerChild(registration(state, 2))).err, 'ERR_INVALID_STATE');
    const stop = { appName: 't', parentGpid: { appId: 1, partitionIndex: 2 }, partitionCount: 4 };
    assert.deepEqual(await state.notifyStopSplit({ ...stop, status: 'CANCELING' }), { err: 'ERR_INVALID_VERSION' });
    assert.deepEqual(await state.notifyStopSplit({ ...stop, status: 'PAUSING' }), { err: 'ERR_OK' });
    assert.deepEqual(await state.controlPartitionSplit('t', 'pause', -1), { err: 'ERR_OK', hintMessage: '' });
    assert.deepEqual(await statusOf(state), { 0: 'PAUSING', 1: 'PAUSING', 2: 'PAUSED', 3: 'PAUSING' });
    assert.deepEqual(await state.controlPartitionSplit('t', 'restart', -1), { err: 'ERR_OK', hintMessage: '' });
    assert.deepEqual(await statusOf(state), { 0: 'PAUSING', 1: 'PAUSING', 2: 'SPLITTING', 3: 'PAUSING' });
  });

  it('cancel: every parent reports it stopped, then the table has its old count again', async () => {
    const meta = await tableOfFour();
    const { state, store } = meta;
    await state.startPartitionSplit('t', 8);
    assert.deepEqual(await state.controlPartitionSplit('t', 'cancel', -1, 4), { err: 'ERR_OK', hintMessage: '' });
    assert.deepEqual(await statusOf(state), { 0: 'CANCELING', 1: 'CANCELING', 2: 'CANCELING', 3: 'CANCELING' });
    assert.equal((await state.registerChild(registration(state, 0))).err, 'ERR_INVALID_STATE');
    for (const index of [0, 1, 2, 3]) {
      assert.deepEqual(await state.notifyStopSplit({ appName: 't', parentGpid: { appId: 1, partitionIndex: index }, status: 'CANCELING', partitionCount: 4 }), { err: 'ERR_OK' });
    }
    assert.equal(state.findApp('t')!.partitionCount, 4);
    assert.equal(state.partitionsOf(1).length, 4);
    assert.equal(appInfoFromJson((await store.get('/pegasus/test/apps/1'))!.toString()).partitionCount, 4);
    assert.equal((await state.queryPartitionSplit('t')).err, 'ERR_INVALID_STATE');
    // The table can be split again.
    assert.equal((await state.startPartitionSplit('t', 8)).err, 'ERR_OK');
  });

  it('the stored split state reads back and refuses what the meta could not have written', () => {
    const state = { splittingCount: 3, status: new Map([[0, 'SPLITTING' as const], [2, 'PAUSED' as const], [3, 'CANCELING' as const]]) };
    assert.deepEqual(splitStateFromJson(splitStateToJson(state)), state);
    assert.throws(() => splitStateFromJson('{"splitting_count":-1,"status":{}}'), /splitting_count/);
    assert.throws(() => splitStateFromJson('{"splitting_count":1,"status":{"0":"DONE"}}'), /bad status entry/);
    assert.throws(() => splitStateFromJson('{"splitting_count":1,"status":[]}'), /status should be an object/);
  });
});

/** Starts a split through one store, registers a child and pauses a parent; a meta opening `reopen()` continues it. */
async function splitSurvives(store: MetaStateStore, reopen: () => Promise<MetaStateStore>, clusterRoot: string): Promise<void> {
  const first = await tableOfFour({ store, clusterRoot });
  assert.equal((await first.state.startPartitionSplit('t', 8)).err, 'ERR_OK');
  assert.equal((await first.state.registerChild(registration(first.state, 1))).err, 'ERR_OK');
  await first.settle();
  assert.equal((await first.state.controlPartitionSplit('t', 'pause', 3)).err, 'ERR_OK');
  const partitions = first.state.partitionsOf(1);
  await first.state.close();
  await store.close();

  const other = await reopen();
  try {
    const second = await createMetaHarness({ store: other, clusterRoot });
    assert.deepEqual(second.state.partitionsOf(1), partitions);
    assert.deepEqual(second.state.partitionsOf(1).map((config) => config.ballot < 0), [false, false, false, false, true, false, true, true]);
    assert.deepEqual(await second.state.queryPartitionSplit('t'), {
      err: 'ERR_OK', hintMessage: '', newPartitionCount: 8, status: new Map([[0, 'SPLITTING'], [2, 'SPLITTING'], [3, 'PAUSING']]),
    });
    // It goes on where the first meta stopped.
    assert.equal((await second.state.registerChild(registration(second.state, 0))).err, 'ERR_OK');
    assert.equal((await second.state.registerChild(registration(second.state, 1))).err, 'ERR_CHILD_REGISTERED');
    await second.state.close();
  } finally {
    await other.close();
  }
}

describePersistedInBothStores('partition split persisted', 'split', splitSurvives);
