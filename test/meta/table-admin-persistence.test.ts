// Rename, replica count and atomic_idempotent survive the meta: written through the simple file
// store and through ZooKeeper, read back by a meta that opens the same state.
import assert from 'node:assert/strict';
import { log } from '../../src/base/index.ts';
import type { MetaStateStore } from '../../src/meta/index.ts';
import { createMetaHarness } from '../helpers/meta-harness.ts';
import { describePersistedInBothStores } from '../helpers/persisted-in-both-stores.ts';

log.level = 'warn';

/** Changes a table through one store, then checks what a meta opening `reopen()` sees. */
async function changesSurvive(store: MetaStateStore, reopen: () => Promise<MetaStateStore>, clusterRoot: string): Promise<void> {
  const first = await createMetaHarness({ store, clusterRoot });
  await first.state.createApp({ appName: 'before', partitionCount: 2, replicaCount: 3 });
  await first.settle();
  assert.equal((await first.state.renameApp('before', 'after')).err, 'ERR_OK');
  assert.equal((await first.state.setMaxReplicaCount('after', 2)).err, 'ERR_OK');
  assert.equal((await first.state.setAtomicIdempotent('after', true)).err, 'ERR_OK');
  await first.settle();
  const partitions = first.state.partitionsOf(1);
  await first.state.close();
  await store.close();

  const other = await reopen();
  try {
    const second = await createMetaHarness({ store: other, clusterRoot });
    assert.equal(second.state.findApp('before'), undefined);
    const app = second.state.findApp('after')!;
    assert.deepEqual([app.appId, app.maxReplicaCount, app.atomicIdempotent], [1, 2, true]);
    assert.deepEqual(second.state.partitionsOf(1), partitions);
    assert.ok(partitions.every((config) => config.maxReplicaCount === 2 && config.secondaries.length === 1));
    assert.deepEqual(await second.state.getMaxReplicaCount('after'), { err: 'ERR_OK', hintMessage: '', maxReplicaCount: 2 });
    await second.state.close();
  } finally {
    await other.close();
  }
}

describePersistedInBothStores('table administration persisted', 'table-admin', changesSurvive);
