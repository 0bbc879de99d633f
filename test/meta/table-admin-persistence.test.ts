// Rename, replica count and atomic_idempotent survive the meta: written through the simple file
// store and through ZooKeeper, read back by a meta that opens the same state.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { log } from '../../src/base/index.ts';
import { openSimpleStore, ZooKeeperStateStore, type MetaStateStore } from '../../src/meta/index.ts';
import { createMetaHarness } from '../helpers/meta-harness.ts';
import { startTestZooKeeper, zooKeeperSkipReason, type TestZooKeeper } from '../helpers/zookeeper.ts';

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

describe('table administration persisted', () => {
  it('in the simple store', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pteron-table-admin-'));
    try {
      await changesSurvive(await openSimpleStore(dir), () => openSimpleStore(dir), '/pegasus/test');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('in ZooKeeper', { skip: zooKeeperSkipReason() }, () => {
    let zk: TestZooKeeper;
    before(async () => {
      zk = await startTestZooKeeper();
    });
    after(async () => {
      await zk?.destroy();
    });

    it('read back by another session', async () => {
      const connect = () => ZooKeeperStateStore.connect({ hosts: zk.hostsList, sessionTimeoutMs: 10_000, root: '/pteron-test' });
      await changesSurvive(await connect(), connect, '/pteron-test/table-admin');
    });
  });
});
