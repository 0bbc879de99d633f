// A meta-state test run against both state stores: the simple store in a temp dir, and a real
// ZooKeeper (skipped where it is not installed), each reopened as a restarted meta would.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSimpleStore, ZooKeeperStateStore, type MetaStateStore } from '../../src/meta/index.ts';
import { startTestZooKeeper, zooKeeperSkipReason, type TestZooKeeper } from './zookeeper.ts';

/** `survives(store, reopen, clusterRoot)`: changes made through `store` must be read back through `reopen()`. */
export type SurvivalCheck = (store: MetaStateStore, reopen: () => Promise<MetaStateStore>, clusterRoot: string) => Promise<void>;

export function describePersistedInBothStores(title: string, name: string, survives: SurvivalCheck): void {
  describe(title, () => {
    it('in the simple store', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), `pteron-${name}-`));
      try {
        await survives(await openSimpleStore(dir), () => openSimpleStore(dir), '/pegasus/test');
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
        await survives(await connect(), connect, `/pteron-test/${name}`);
      });
    });
  });
}
