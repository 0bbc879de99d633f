// Request throttling end to end: one meta and three replica servers as real processes, the
// throttling envs set and deleted through the meta (RPC_CM_UPDATE_APP_ENV, as set_app_envs and
// del_app_envs send it) while the TypeScript client sends bounded bursts to one hash key. A
// small reject limit makes some requests fail with ERR_BUSY (how many depends on timing, so
// only "some" is checked); deleting the env lets every request through again; a delay rule
// delays requests and refuses none. Values that do not parse are refused by the meta.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient, PegasusError, type PegasusClient, type PegasusTable } from '../../src/client/index.ts';
import { AppEnvOperation } from '../../src/wire/index.ts';
import { callRaw, RawConnection, TableRouter, TestCluster } from '../helpers/data-plane.ts';
import { waitFor } from '../helpers/process.ts';

const PARTITIONS = 4;
const BURST = 40;

interface MetricsBody {
  entities: Array<{ id: string; metrics: Array<{ name: string; value: number }> }>;
}

describe('request throttling on a meta and three replica servers', { timeout: 300000 }, () => {
  const cluster = new TestCluster({ partitionCount: PARTITIONS });
  let router: TableRouter;
  let metaConnection: RawConnection;
  let client: PegasusClient;
  let table: PegasusTable;

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS);
    router = new TableRouter(cluster.metaPort, 'temp');
    await cluster.waitServing(router);
    metaConnection = new RawConnection(cluster.metaPort);
    // One quick retry: an ERR_BUSY the retry meets again reaches the caller.
    client = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 10000, retriesMax: 1, retryDelayMs: 1 });
    table = await client.openTable('temp');
  });

  after(async () => {
    await client?.close();
    router?.close();
    metaConnection?.close();
    await cluster.stop();
  });

  const updateEnvs = async (op: AppEnvOperation, keys: string[], values: string[] = []) => {
    const reply = await callRaw(metaConnection, 'RPC_CM_UPDATE_APP_ENV', { appName: 'temp', op, keys, values });
    assert.equal(reply.error, 'ERR_OK');
    return reply.result!;
  };
  const setEnv = async (key: string, value: string) => {
    const result = await updateEnvs(AppEnvOperation.APP_ENV_OP_SET, [key], [value]);
    assert.equal(result.err, 'ERR_OK', result.hintMessage);
  };

  /** Every outcome of a burst of `BURST` concurrent operations on one hash key: 'ok' or the error's code. */
  const burst = async (operation: (index: number) => Promise<unknown>): Promise<string[]> =>
    Promise.all(Array.from({ length: BURST }, async (_, index) => {
      try {
        await operation(index);
        return 'ok';
      } catch (error) {
        if (error instanceof PegasusError) return error.code;
        throw error;
      }
    }));
  const writes = () => burst((index) => table.set('burst', `s${index}`, `v${index}`));
  const reads = () => burst((index) => table.get('burst', `s${index}`));
  const count = (outcomes: string[], outcome: string) => outcomes.filter((each) => each === outcome).length;

  /** The sum of a replica counter over the table's replicas on every server. */
  const replicaCounter = async (name: string): Promise<number> => {
    let sum = 0;
    for (const port of cluster.replicaPorts) {
      const response = await fetch(`http://127.0.0.1:${port}/metrics?types=replica&metrics=${name}`);
      const body = (await response.json()) as MetricsBody;
      for (const entity of body.entities) {
        if (entity.id.startsWith(`replica@${router.appId}.`)) sum += entity.metrics.find((metric) => metric.name === name)?.value ?? 0;
      }
    }
    return sum;
  };

  test('values that do not parse are refused with Pegasus\'s hint, and the table keeps serving', async () => {
    const refused = await updateEnvs(AppEnvOperation.APP_ENV_OP_SET, ['replica.write_throttling'], ['10*wait*0']);
    assert.deepEqual(refused, { err: 'ERR_INVALID_PARAMETERS', hintMessage: "'wait' should be 'delay' or 'reject'" });
    const bySize = await updateEnvs(AppEnvOperation.APP_ENV_OP_SET, ['replica.read_throttling_by_size'], ['0*reject*10']);
    assert.deepEqual(bySize, { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'reject value should be greater than 0' });
    const backup = await updateEnvs(AppEnvOperation.APP_ENV_OP_SET, ['replica.backup_request_throttling'], ['10*reject*0']);
    assert.equal(backup.err, 'ERR_INVALID_PARAMETERS');
    assert.match(backup.hintMessage, /'replica.backup_request_throttling' is not implemented by Pteron/);
    const envs = (await (await fetch(`http://127.0.0.1:${cluster.metaPort}/meta/app_envs?name=temp`)).json()) as Record<string, string>;
    assert.deepEqual(Object.keys(envs).filter((key) => key.includes('throttling')), []);
    assert.deepEqual(await writes(), Array(BURST).fill('ok'));
  });

  test('a small reject limit answers some requests ERR_BUSY; deleting it lets every request through', async () => {
    // 4 a second for the table: 2 a second on each partition.
    await setEnv('replica.write_throttling', '4*reject*10');
    await setEnv('replica.read_throttling', '4*reject*0');
    let lastWrites: string[] = [];
    await waitFor('some writes refused with ERR_BUSY', async () => count(lastWrites = await writes(), 'ERR_BUSY') > 0, 60000, 200);
    assert.ok(count(lastWrites, 'ok') > 0, 'the limit lets some through');
    assert.equal(count(lastWrites, 'ok') + count(lastWrites, 'ERR_BUSY'), BURST, `only ERR_BUSY: ${lastWrites.join(' ')}`);
    let lastReads: string[] = [];
    await waitFor('some reads refused with ERR_BUSY', async () => count(lastReads = await reads(), 'ERR_BUSY') > 0, 60000, 200);
    assert.equal(count(lastReads, 'ok') + count(lastReads, 'ERR_BUSY'), BURST, `only ERR_BUSY: ${lastReads.join(' ')}`);
    assert.ok(await replicaCounter('throttling_rejected_write_requests') > 0);
    assert.ok(await replicaCounter('throttling_rejected_read_requests') > 0);

    const deleted = await updateEnvs(AppEnvOperation.APP_ENV_OP_DEL, ['replica.write_throttling', 'replica.read_throttling']);
    assert.equal(deleted.err, 'ERR_OK', deleted.hintMessage);
    const allOk = (outcomes: string[]) => outcomes.every((outcome) => outcome === 'ok');
    await waitFor('every write and read succeeds again', async () => allOk(await writes()) && allOk(await reads()), 60000, 500);
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(await writes(), Array(BURST).fill('ok'));
      assert.deepEqual(await reads(), Array(BURST).fill('ok'));
    }
  });

  test('a delay rule delays requests and refuses none', async () => {
    const delayedBefore = await replicaCounter('throttling_delayed_write_requests');
    await setEnv('replica.write_throttling', '4*delay*50');
    const outcomes: string[] = [];
    await waitFor('writes delayed', async () => {
      outcomes.push(...await writes());
      return await replicaCounter('throttling_delayed_write_requests') > delayedBefore;
    }, 60000, 200);
    outcomes.push(...await writes());
    assert.equal(count(outcomes, 'ok'), outcomes.length, `none refused: ${outcomes.filter((each) => each !== 'ok').join(' ')}`);
    await updateEnvs(AppEnvOperation.APP_ENV_OP_DEL, ['replica.write_throttling']);
    assert.deepEqual(cluster.errorLines(), []);
  });
});
