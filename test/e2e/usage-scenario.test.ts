// Usage scenarios end to end: one meta and three replica servers as real processes, the table env
// `rocksdb.usage_scenario` set through the meta (RPC_CM_UPDATE_APP_ENV, as set_app_envs sends
// it) while clients write and read; every replica of the table, on every server, shows the
// scenario's settings in its metrics, and the load sees no failure and loses no acknowledged write.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import { AppEnvOperation } from '../../src/wire/index.ts';
import { callRaw, RawConnection, TableRouter, TestCluster } from '../helpers/data-plane.ts';
import { waitFor } from '../helpers/process.ts';

const PARTITIONS = 4;
const MiB = 1024 * 1024;
const WRITERS = 4;

interface MetricsBody {
  entities: Array<{ id: string; metrics: Array<{ name: string; value: number }> }>;
}

describe('usage scenario on a meta and three replica servers', { timeout: 240000 }, () => {
  const cluster = new TestCluster({ partitionCount: PARTITIONS });
  let router: TableRouter;
  let metaConnection: RawConnection;
  let client: PegasusClient;

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS);
    router = new TableRouter(cluster.metaPort, 'temp');
    await cluster.waitServing(router);
    metaConnection = new RawConnection(cluster.metaPort);
    client = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 10000 });
  });

  after(async () => {
    await client?.close();
    router?.close();
    metaConnection?.close();
    await cluster.stop();
  });

  const setEnv = async (key: string, value: string): Promise<void> => {
    const reply = await callRaw(metaConnection, 'RPC_CM_UPDATE_APP_ENV', { appName: 'temp', op: AppEnvOperation.APP_ENV_OP_SET, keys: [key], values: [value] });
    assert.equal(reply.error, 'ERR_OK');
    assert.equal(reply.result?.err, 'ERR_OK', reply.result?.hintMessage);
  };

  /** `name` of every replica of the table, on every replica server. */
  const replicaGauges = async (name: string): Promise<number[]> => {
    const values: number[] = [];
    for (const port of cluster.replicaPorts) {
      const response = await fetch(`http://127.0.0.1:${port}/metrics?types=replica&metrics=${name}`);
      const body = (await response.json()) as MetricsBody;
      for (const entity of body.entities) {
        if (entity.id.startsWith(`replica@${router.appId}.`)) values.push(entity.metrics.find((metric) => metric.name === name)!.value);
      }
    }
    return values;
  };
  const everyReplicaShows = (name: string, value: number) => async () => {
    const values = await replicaGauges(name);
    return values.length === 3 * PARTITIONS && values.every((each) => each === value);
  };

  test('bulk_load and back to normal reach every replica while writes and reads go on', async () => {
    const table = await client.openTable('temp');
    const failures: string[] = [];
    const acknowledged = new Map<string, string>();
    let running = true;
    const writer = async (id: number) => {
      for (let index = 0; running; index++) {
        const hashKey = `w${id}-${index}`;
        const value = `value-${id}-${index}`;
        try {
          await table.set(hashKey, 's', value);
          acknowledged.set(hashKey, value);
          const read = await table.get(hashKey, 's');
          if (read?.toString() !== value) failures.push(`${hashKey} read back ${read?.toString()}`);
        } catch (error) {
          failures.push(`${hashKey}: ${(error as Error).message}`);
        }
      }
    };
    const load = Array.from({ length: WRITERS }, (_, id) => writer(id));
    try {
      assert.ok(await everyReplicaShows('secondary_deferred_applies_max', 256)(), 'every replica starts in normal');
      await waitFor('some writes before the change', () => acknowledged.size >= 50, 60000);

      await setEnv('rocksdb.usage_scenario', 'bulk_load');
      await waitFor('every replica batches for bulk_load', everyReplicaShows('secondary_deferred_applies_max', 4096), 60000, 200);
      await waitFor('every replica takes a 16 MiB write buffer on its next open', everyReplicaShows('rdb_write_buffer_size_on_reopen_bytes', 16 * MiB), 60000, 200);
      assert.ok(await everyReplicaShows('rdb_write_buffer_size_bytes', 4 * MiB)(), 'the open stores keep the buffer they opened with');
      const duringBulkLoad = acknowledged.size;
      await waitFor('writes go on under bulk_load', () => acknowledged.size >= duringBulkLoad + 50, 60000);

      await setEnv('rocksdb.usage_scenario', 'normal');
      await waitFor('every replica is back to normal', everyReplicaShows('secondary_deferred_applies_max', 256), 60000, 200);
      assert.ok(await everyReplicaShows('rdb_write_buffer_size_on_reopen_bytes', 4 * MiB)());
      const afterNormal = acknowledged.size;
      await waitFor('writes go on back in normal', () => acknowledged.size >= afterNormal + 50, 60000);
    } finally {
      running = false;
      await Promise.all(load);
    }
    assert.deepEqual(failures, [], 'no request of the load failed');
    for (const [hashKey, value] of acknowledged) assert.equal((await table.get(hashKey, 's'))?.toString(), value, `${hashKey} kept`);
    const envs = (await (await fetch(`http://127.0.0.1:${cluster.metaPort}/meta/app_envs?name=temp`)).json()) as Record<string, string>;
    assert.equal(envs['rocksdb.usage_scenario'], 'normal');
    assert.deepEqual(cluster.errorLines(), []);
  });
});
