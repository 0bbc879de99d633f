// A table's replica count on the meta state: Pegasus's checks and errors, the three store writes
// (env, partitions at the next ballot, table), the guardian adding and removing secondaries, and
// a change a meta left under way finished by the next one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStateStore } from '../../src/meta/index.ts';
import { UPDATE_MAX_REPLICA_COUNT_ENV } from '../../src/meta/replica-count.ts';
import { appInfoFromJson, partitionConfigurationFromJson, replicaCountOf } from '../../src/cluster/index.ts';
import { createMetaHarness, HARNESS_NODES, type MetaHarness } from '../helpers/meta-harness.ts';

/** Fails the writes of partition configurations while `failing` is set. */
class FailingStore extends MemoryStateStore {
  failing = false;
  override async set(path: string, data: Buffer): Promise<void> {
    if (this.failing && /\/apps\/\d+\/\d+$/.test(path)) throw new Error('store unreachable');
    return super.set(path, data);
  }
}

async function tableOfThree(options: Parameters<typeof createMetaHarness>[0] = {}): Promise<MetaHarness> {
  const meta = await createMetaHarness(options);
  await meta.state.createApp({ appName: 't', partitionCount: 4, replicaCount: 3 });
  await meta.settle();
  return meta;
}

const memberCounts = (meta: MetaHarness): number[] => meta.state.partitionsOf(1).map(replicaCountOf);

describe('get and set max_replica_count', () => {
  it('shrinks and grows a table: partitions at the next ballot, then the table; the guardian follows', async () => {
    const meta = await tableOfThree();
    assert.deepEqual(memberCounts(meta), [3, 3, 3, 3]);
    const ballots = meta.state.partitionsOf(1).map((config) => config.ballot);
    assert.deepEqual(await meta.state.getMaxReplicaCount('t'), { err: 'ERR_OK', hintMessage: '', maxReplicaCount: 3 });

    assert.deepEqual(await meta.state.setMaxReplicaCount('t', 2), { err: 'ERR_OK', hintMessage: '', oldMaxReplicaCount: 3 });
    const stored = appInfoFromJson((await meta.store.get('/pegasus/test/apps/1'))!.toString());
    assert.equal(stored.maxReplicaCount, 2);
    assert.equal(stored.envs[UPDATE_MAX_REPLICA_COUNT_ENV], undefined);
    for (let index = 0; index < 4; index++) {
      const config = partitionConfigurationFromJson((await meta.store.get(`/pegasus/test/apps/1/${index}`))!.toString());
      assert.equal(config.maxReplicaCount, 2);
      assert.equal(config.ballot, ballots[index]! + 1);
    }
    await meta.settle();
    assert.deepEqual(memberCounts(meta), [2, 2, 2, 2]);
    assert.equal((await meta.state.getMaxReplicaCount('t')).maxReplicaCount, 2);

    assert.deepEqual(await meta.state.setMaxReplicaCount('t', 3), { err: 'ERR_OK', hintMessage: '', oldMaxReplicaCount: 2 });
    await meta.settle();
    assert.deepEqual(memberCounts(meta), [3, 3, 3, 3]);
  });

  it('refuses what Pegasus refuses, with its error names', async () => {
    const meta = await tableOfThree();
    assert.deepEqual(await meta.state.getMaxReplicaCount('nope'), { err: 'ERR_APP_NOT_EXIST', hintMessage: 'app(nope) does not exist', maxReplicaCount: 0 });
    assert.deepEqual(await meta.state.setMaxReplicaCount('nope', 2), { err: 'ERR_APP_NOT_EXIST', hintMessage: 'app(nope) does not exist', oldMaxReplicaCount: 0 });
    assert.deepEqual(await meta.state.setMaxReplicaCount('t', 0), {
      err: 'ERR_INVALID_PARAMETERS', hintMessage: 'requested replica count(0) must be within the range of [min=1, max=5]', oldMaxReplicaCount: 3,
    });
    assert.equal((await meta.state.setMaxReplicaCount('t', 6)).err, 'ERR_INVALID_PARAMETERS');
    assert.deepEqual(await meta.state.setMaxReplicaCount('t', 4), {
      err: 'ERR_INVALID_PARAMETERS', hintMessage: 'there are not enough alive replica servers(3) for the requested replica count(4)', oldMaxReplicaCount: 3,
    });
    assert.deepEqual(await meta.state.setMaxReplicaCount('t', 3), {
      err: 'ERR_OK', hintMessage: "no need to update max_replica_count since it's not changed", oldMaxReplicaCount: 3,
    });
    meta.state.setFunctionLevel('fl_freezed');
    assert.equal((await meta.state.setMaxReplicaCount('t', 2)).err, 'ERR_STATE_FREEZED');
    meta.state.setFunctionLevel('fl_steady');
    await meta.state.dropApp({ appName: 't' });
    assert.equal((await meta.state.setMaxReplicaCount('t', 2)).err, 'ERR_APP_NOT_EXIST');
  });

  it('a change cut off after its env refuses the next one and is finished by the next meta', async () => {
    const store = new FailingStore();
    const meta = await tableOfThree({ store });
    store.failing = true;
    await assert.rejects(meta.state.setMaxReplicaCount('t', 2), /store unreachable/);
    store.failing = false;
    assert.equal(meta.state.findApp('t')!.envs[UPDATE_MAX_REPLICA_COUNT_ENV], 'updating;2');
    assert.deepEqual(await meta.state.setMaxReplicaCount('t', 1), {
      err: 'ERR_OPERATION_DISABLED', hintMessage: 'max_replica_count of app(t) is being updated, thus this request would be rejected', oldMaxReplicaCount: 3,
    });
    await meta.state.close();

    const next = await createMetaHarness({ store, nodes: HARNESS_NODES });
    const app = next.state.findApp('t')!;
    assert.equal(app.maxReplicaCount, 2);
    assert.equal(app.envs[UPDATE_MAX_REPLICA_COUNT_ENV], undefined);
    assert.deepEqual(next.state.partitionsOf(1).map((config) => config.maxReplicaCount), [2, 2, 2, 2]);
    await next.state.checkAllPartitions();
    await next.settle();
    assert.deepEqual(memberCounts(next), [2, 2, 2, 2]);
  });
});
