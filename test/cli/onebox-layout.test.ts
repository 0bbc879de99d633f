// The onebox's pure decisions: processes, ports, directories and settings for any counts, the
// slot of a second named cluster, the restart back-off and the state file's checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  freeSlot, oneboxLayout, parseOneboxState, portRange, restartDelayMs, RESTART_BACKOFF_MS,
} from '../../src/cli/onebox-layout.ts';

describe('oneboxLayout', () => {
  it('runs one meta on the simple store and three replica servers by default, Pegasus\'s ports, in onebox/', () => {
    const layout = oneboxLayout({ cluster: 'onebox', metas: 1, replicas: 3, root: 'onebox', slot: 0 });
    assert.equal(layout.zookeeper, undefined);
    assert.deepEqual(layout.processes.map((entry) => `${entry.name}:${entry.port}:${entry.dataDir}`), [
      'meta1:34601:onebox/meta1', 'replica1:34801:onebox/replica1', 'replica2:34802:onebox/replica2', 'replica3:34803:onebox/replica3',
    ]);
    assert.ok(layout.settings.meta.includes('meta_server.server_list=127.0.0.1:34601'));
    assert.ok(layout.settings.meta.includes('meta_server.apps.temp.max_replica_count=3'));
    assert.ok(!layout.settings.meta.some((setting) => setting.startsWith('zookeeper.')));
  });

  it('takes any counts; several metas share a ZooKeeper; one replica server commits alone', () => {
    const layout = oneboxLayout({ cluster: 'onebox', metas: 5, replicas: 1, root: 'onebox', slot: 0 });
    assert.deepEqual(layout.zookeeper, { port: 22181, dir: 'onebox/zookeeper' });
    assert.equal(portRange(layout, 'meta'), '127.0.0.1:34601-34605');
    assert.equal(portRange(layout, 'replica'), '127.0.0.1:34801');
    for (const setting of ['meta_server.meta_state_service_type=zookeeper', 'zookeeper.hosts_list=127.0.0.1:22181', 'meta_server.cluster_root=/pegasus/onebox',
      'meta_server.apps.temp.max_replica_count=1', 'replication.mutation_2pc_min_replica_count=1']) {
      assert.ok(layout.settings.meta.includes(setting), setting);
    }
    assert.ok(layout.settings.replica.includes('replication.mutation_2pc_min_replica_count=1'));
    assert.throws(() => oneboxLayout({ cluster: 'onebox', metas: 0, replicas: 3, root: 'o', slot: 0 }), /--metas expects 1 to 99, got "0"/);
    assert.throws(() => oneboxLayout({ cluster: 'onebox', metas: 1, replicas: 100, root: 'o', slot: 0 }), /--replicas expects 1 to 99/);
  });

  it('puts a named cluster on its slot\'s ports, its own ZooKeeper, cluster name and directory', () => {
    const layout = oneboxLayout({ cluster: 'backup', metas: 2, replicas: 2, root: 'onebox', slot: 1 });
    assert.deepEqual(layout.processes.map((entry) => `${entry.name}:${entry.port}`), ['meta1:35601', 'meta2:35602', 'replica1:35801', 'replica2:35802']);
    assert.equal(layout.dir, 'onebox/clusters/backup');
    assert.deepEqual(layout.zookeeper, { port: 22182, dir: 'onebox/clusters/backup/zookeeper' });
    assert.ok(layout.settings.replica.includes('replication.cluster_name=backup'));
    assert.ok(layout.settings.meta.includes('meta_server.cluster_root=/pegasus/backup'));
    assert.throws(() => oneboxLayout({ cluster: '../x', metas: 1, replicas: 1, root: 'o', slot: 1 }), /--cluster expects/);
    const based = oneboxLayout({ cluster: 'onebox', metas: 1, replicas: 1, root: 'o', slot: 0, basePort: 20000 });
    assert.deepEqual(based.processes.map((entry) => entry.port), [20001, 20201]);
  });

  it('gives a new named cluster the lowest free slot', () => {
    assert.equal(freeSlot([]), 1);
    assert.equal(freeSlot([0, 1, 3]), 2);
  });
});

describe('restart back-off and the state file', () => {
  it('doubles the delay up to its maximum and starts over after a long run', () => {
    assert.equal(restartDelayMs(undefined, 0), RESTART_BACKOFF_MS.first);
    assert.equal(restartDelayMs(1000, 500), 2000);
    assert.equal(restartDelayMs(RESTART_BACKOFF_MS.max, 500), RESTART_BACKOFF_MS.max);
    assert.equal(restartDelayMs(16_000, RESTART_BACKOFF_MS.resetAfterRunningMs), RESTART_BACKOFF_MS.first);
  });

  it('refuses a file that is not a onebox state file with its name', () => {
    assert.throws(() => parseOneboxState('{', 'x/onebox.json'), /^Error: x\/onebox\.json: not a onebox state file/);
    assert.throws(() => parseOneboxState('{"cluster":"a"}', 'f'), /cluster, slot, pid or processes missing/);
    assert.equal(parseOneboxState('{"cluster":"a","slot":0,"pid":1,"processes":[]}', 'f').cluster, 'a');
  });
});
