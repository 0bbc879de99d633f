// Table administration on real processes (one meta, three replica servers): `rename` and
// RPC_CM_RENAME_APP (clients resolve the new name, the old one is gone, Pegasus's errors for an
// unknown, taken or dropped name), `get_replica_count`/`set_replica_count` and their RPCs (bad
// input refused with Pegasus's errors), a table that grows from 2 to 3 replicas and shrinks
// back to 2 while a bounded client load sees no failed request and every acknowledged write
// reads back, and the atomic_idempotent flag: set through the shell, known to every replica
// (their `.app-info`), atomic writes still answering as before; ddd_diagnose and recover with
// their RPCs on a healthy cluster and for bad input.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { CasCheckType, MetaFunctionLevel, RPCS } from '../../src/wire/index.ts';
import { BoundedLoad } from '../helpers/bounded-load.ts';
import { TableRouter, TestCluster } from '../helpers/data-plane.ts';
import { waitFor } from '../helpers/process.ts';
import { runShellScript } from '../helpers/shell-process.ts';

const PARTITIONS = 4;
/** Only tells a cluster that converges from a stuck one. */
const CONVERGE_MS = 180_000;
const LOAD_OPS_AFTER_CHANGE = 300;

describe('table administration on a real cluster', () => {
  const cluster = new TestCluster({ partitionCount: PARTITIONS });
  let client: PegasusClient;
  let meta: RpcClient;
  const shell = (...commands: string[]) => runShellScript(`127.0.0.1:${cluster.metaPort}`, commands, { keepGoing: true });

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS, 60_000);
    client = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 10_000 });
    meta = new RpcClient(parseHostPort(`127.0.0.1:${cluster.metaPort}`), { timeoutMs: 10_000 });
  });

  after(async () => {
    meta?.close();
    await client?.close();
    await cluster.stop();
  });

  test('rename: clients resolve the new name, the old one is gone; unknown, taken and dropped names get Pegasus\'s errors', async () => {
    const created = await shell('create rn_old -p 2 -r 3', 'create rn_taken -p 2 -r 3', 'create rn_dropped -p 2 -r 3', 'drop rn_dropped');
    assert.equal(created.code, 0, created.stdout + created.stderr);
    const before = await client.openTable('rn_old');
    await before.set('h', 's', 'kept');

    const run = await shell('rename rn_old rn_new', 'rename rn_none rn_x', 'rename rn_new rn_taken', 'rename rn_dropped rn_y', 'rename rn_new');
    assert.match(run.stdout, /^rename app ok, old_app_name\(rn_old\), new_app_name\(rn_new\)$/m);
    assert.match(run.stderr, /^rename app failed, old_app_name\(rn_none\), new_app_name\(rn_x\), failed: ERR_APP_NOT_EXIST, ERROR: app\(rn_none\) not exist!$/m);
    assert.match(run.stderr, /^rename app failed, old_app_name\(rn_new\), new_app_name\(rn_taken\), failed: ERR_INVALID_PARAMETERS, ERROR: app\(rn_taken\) already exist!$/m);
    assert.match(run.stderr, /^rename app failed, old_app_name\(rn_dropped\), new_app_name\(rn_y\), failed: ERR_APP_NOT_EXIST/m);
    assert.match(run.stdout, /USAGE: \trename +<old_app_name> <new_app_name>/);
    assert.notEqual(run.code, 0);

    const renamed = await client.openTable('rn_new');
    assert.equal((await renamed.get('h', 's'))?.toString(), 'kept');
    await renamed.set('h2', 's', 'after');
    const oldName = (await meta.callRpc(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName: 'rn_old', partitionIndices: [] })).result!;
    assert.equal(oldName.err, 'ERR_OBJECT_NOT_FOUND');
    const ls = await shell('ls');
    assert.match(ls.stdout, /\brn_new\b/);
    assert.doesNotMatch(ls.stdout, /\brn_old\b/);
    const rpc = (await meta.callRpc(RPCS.RPC_CM_RENAME_APP, { oldAppName: 'rn_new', newAppName: 'bad name' })).result!;
    assert.equal(rpc.err, 'ERR_INVALID_PARAMETERS');
  });

  test('get/set_replica_count and get/set_atomic_idempotent refuse bad input with Pegasus\'s errors', async () => {
    const call = async (appName: string, maxReplicaCount: number) =>
      (await meta.callRpc(RPCS.RPC_CM_SET_MAX_REPLICA_COUNT, { appName, maxReplicaCount })).result!;
    assert.deepEqual((await meta.callRpc(RPCS.RPC_CM_GET_MAX_REPLICA_COUNT, { appName: 'temp' })).result, { err: 'ERR_OK', maxReplicaCount: 3, hintMessage: '' });
    assert.deepEqual(await call('temp', 4), {
      err: 'ERR_INVALID_PARAMETERS', oldMaxReplicaCount: 3, hintMessage: 'there are not enough alive replica servers(3) for the requested replica count(4)',
    });
    assert.equal((await call('temp', 6)).err, 'ERR_INVALID_PARAMETERS');
    assert.equal((await call('nope', 2)).err, 'ERR_APP_NOT_EXIST');
    const level = async (value: MetaFunctionLevel) => (await meta.callRpc(RPCS.RPC_CM_CONTROL_META, { level: value })).result!.err;
    assert.equal(await level(MetaFunctionLevel.fl_freezed), 'ERR_OK');
    try {
      assert.deepEqual(await call('temp', 2), {
        err: 'ERR_STATE_FREEZED', oldMaxReplicaCount: 3, hintMessage: 'current meta function level is freezed, since there are too few alive nodes',
      });
      assert.equal((await meta.callRpc(RPCS.RPC_CM_SET_ATOMIC_IDEMPOTENT, { appName: 'temp', atomicIdempotent: true })).result!.err, 'ERR_STATE_FREEZED');
    } finally {
      assert.equal(await level(MetaFunctionLevel.fl_steady), 'ERR_OK');
    }
    assert.deepEqual((await meta.callRpc(RPCS.RPC_CM_GET_ATOMIC_IDEMPOTENT, { appName: 'nope' })).result, {
      err: 'ERR_APP_NOT_EXIST', atomicIdempotent: false, hintMessage: 'app(nope) does not exist',
    });
    assert.equal((await meta.callRpc(RPCS.RPC_CM_SET_ATOMIC_IDEMPOTENT, { appName: 'nope', atomicIdempotent: true })).result!.err, 'ERR_APP_NOT_EXIST');

    const run = await shell(
      'get_replica_count temp', 'get_replica_count temp -j', 'get_replica_count nope', 'set_replica_count temp x', 'set_replica_count temp 0',
      'set_replica_count temp 3', 'y', 'set_replica_count temp 9', 'y', 'set_replica_count temp 2', 'n',
    );
    assert.match(run.stdout, /^\[max_replica_count\]\nmax_replica_count {2}: 3\n/m);
    assert.match(run.stdout, /\{\n {4}"max_replica_count": \{\n {8}"max_replica_count": "3"\n {4}\}\n\}/);
    assert.match(run.stderr, /^get replica count of app\(nope\) failed: ERR_APP_NOT_EXIST$/m);
    assert.match(run.stderr, /^parse 'x' as replica count failed$/m);
    assert.match(run.stderr, /^replica count should be >= 1$/m);
    assert.match(run.stdout, /^PLEASE be CAUTIOUS with this operation ! Are you sure to set the replica count of app\(temp\) to 3 \? \[y\/n\]: you've chosen YES, we will continue \.\.\.$/m);
    assert.match(run.stdout, /^set replica count of app\(temp\) from 3 to 3: no need to update max_replica_count since it's not changed$/m);
    assert.match(run.stderr, /^set replica count of app\(temp\) failed: ERR_INVALID_PARAMETERS, requested replica count\(9\) must be within the range of \[min=1, max=5\]$/m);
    assert.match(run.stdout, /you've chosen NO, we will stop !/);
    assert.deepEqual((await meta.callRpc(RPCS.RPC_CM_GET_MAX_REPLICA_COUNT, { appName: 'temp' })).result!.maxReplicaCount, 3);
  });

  test('a table grows from 2 to 3 replicas and shrinks back to 2 under load with no failed request', async (t) => {
    const created = await shell('create grow -p 4 -r 2');
    assert.equal(created.code, 0, created.stdout + created.stderr);
    const router = new TableRouter(cluster.metaPort, 'grow');
    const table = await client.openTable('grow');
    const load = new BoundedLoad(table);
    const membersEach = async (count: number): Promise<boolean> => {
      await router.refresh();
      return router.partitions.length === PARTITIONS
        && router.partitions.every((partition) => partition.primary !== '' && partition.secondaries.length === count - 1);
    };
    try {
      await cluster.waitServing(router);
      assert.ok(await membersEach(2));
      load.start();
      await waitFor('the load running', () => load.ops > 100, 60_000);

      const grow = await shell('set_replica_count grow 3', 'y', 'get_replica_count grow');
      assert.equal(grow.code, 0, grow.stderr);
      assert.match(grow.stdout, /^set replica count of app\(grow\) from 2 to 3: success$/m);
      assert.match(grow.stdout, /^max_replica_count {2}: 3$/m);
      await waitFor('every partition of grow with 3 members', () => membersEach(3), CONVERGE_MS, 500);
      await cluster.waitHealthy('grow', PARTITIONS, CONVERGE_MS);
      const opsGrown = load.ops;
      await waitFor('the load running on 3 replicas', () => load.ops > opsGrown + 100, 60_000);

      const shrink = await shell('set_replica_count grow 2', 'y');
      assert.equal(shrink.code, 0, shrink.stderr);
      assert.match(shrink.stdout, /^set replica count of app\(grow\) from 3 to 2: success$/m);
      await waitFor('every partition of grow with 2 members', () => membersEach(2), CONVERGE_MS, 500);
      const opsShrunk = load.ops;
      await waitFor('the load running on 2 replicas', () => load.ops > opsShrunk + 100, 60_000);
    } finally {
      await load.finish(LOAD_OPS_AFTER_CHANGE);
      router.close();
    }
    t.diagnostic(`${load.ops} requests, ${load.acked.size} acknowledged writes`);
    assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.ops} requests failed`);
    for (const [hashKey, value] of load.acked) assert.equal((await table.get(hashKey, 's'))?.toString(), value, hashKey);
    assert.deepEqual(cluster.errorLines(), []);
  });

  test('atomic_idempotent: the shell reads and sets it, every replica learns it, incr and check_and_* answer as before', async () => {
    const run = await shell(
      'get_atomic_idempotent temp', 'get_atomic_idempotent nope', 'enable_atomic_idempotent nope', 'enable_atomic_idempotent',
      'enable_atomic_idempotent temp', 'enable_atomic_idempotent temp', 'get_atomic_idempotent temp -j',
    );
    assert.match(run.stdout, /^\[atomic_idempotent\]\natomic_idempotent {2}: false\n/m);
    assert.match(run.stderr, /^ERROR: get_atomic_idempotent failed, error=ERR_APP_NOT_EXIST: app\(nope\) does not exist$/m);
    assert.match(run.stderr, /^ERROR: set_atomic_idempotent failed, error=ERR_APP_NOT_EXIST: app\(nope\) does not exist$/m);
    assert.match(run.stdout, /USAGE: \tenable_atomic_idempotent +<app_name>/);
    assert.match(run.stdout, /^set_atomic_idempotent from false to true: succeed\n\n/m);
    assert.match(run.stdout, /^set_atomic_idempotent from true to true: no need to update atomic_idempotent since it's unchanged$/m);
    assert.match(run.stdout, /"atomic_idempotent": "true"/);

    const router = new TableRouter(cluster.metaPort, 'temp');
    await router.refresh();
    router.close();
    const appInfoFiles = cluster.replicaPorts.flatMap((_, index) => router.partitions.map((partition) =>
      path.join(cluster.dataRoot, `replica${index + 1}`, 'replica', 'reps', `${router.appId}.${partition.pidx}.pegasus`, '.app-info')))
      .filter((file) => existsSync(file));
    assert.equal(appInfoFiles.length, PARTITIONS * 3);
    const known = (file: string): boolean => JSON.parse(readFileSync(file, 'utf8')).atomic_idempotent === true;
    await waitFor('every replica of temp knowing atomic_idempotent', () => appInfoFiles.every(known), 60_000, 200);

    const table = await client.openTable('temp');
    for (let round = 1; round <= 5; round++) assert.equal(await table.incr('idem', 'n', 2), BigInt(2 * round));
    assert.equal((await table.checkAndSet('idem', 'c', CasCheckType.CT_VALUE_NOT_EXIST, '', 'c', 'one')).setSucceed, true);
    const refused = await table.checkAndSet('idem', 'c', CasCheckType.CT_VALUE_NOT_EXIST, '', 'c', 'two', { returnCheckValue: true });
    assert.deepEqual([refused.setSucceed, refused.checkValue?.toString()], [false, 'one']);
    const mutated = await table.checkAndMutate('idem', 'c', CasCheckType.CT_VALUE_EXIST, '', [
      { operation: 'put', sortKey: 'm', value: 'put' }, { operation: 'delete', sortKey: 'n' },
    ]);
    assert.equal(mutated.mutateSucceed, true);
    assert.deepEqual([(await table.get('idem', 'm'))?.toString(), await table.get('idem', 'n'), (await table.get('idem', 'c'))?.toString()], ['put', undefined, 'one']);

    const off = await shell('disable_atomic_idempotent temp', 'get_atomic_idempotent temp');
    assert.match(off.stdout, /^set_atomic_idempotent from true to false: succeed$/m);
    assert.match(off.stdout, /^atomic_idempotent {2}: false$/m);
  });

  test('ddd_diagnose: nothing to report on a healthy cluster; an unknown table and a bad gpid are refused', async () => {
    const ddd = async (appId: number, partitionIndex: number) => (await meta.callRpc(RPCS.RPC_CM_DDD_DIAGNOSE, { pid: { appId, partitionIndex } })).result!;
    assert.deepEqual(await ddd(-1, -1), { err: 'ERR_OK', partitions: [] });
    assert.deepEqual(await ddd(999, -1), { err: 'ERR_APP_NOT_EXIST', partitions: [] });
    const run = await shell('ddd_diagnose', 'ddd_diagnose -g 999', 'ddd_diagnose -g x', 'ddd_diagnose -d -a');
    assert.match(run.stdout, /^Total 0 ddd partitions:\n\nDiagnose ddd done\.\n/);
    assert.match(run.stderr, /^ERROR: DDD diagnose failed with err = ERR_APP_NOT_EXIST$/m);
    assert.match(run.stderr, /^ERROR: invalid gpid x$/m);
    assert.match(run.stdout, /USAGE: \tddd_diagnose +\[-g\|--gpid appid\|appid\.pidx\]/);
  });

  test('recover: a started meta refuses it with ERR_SERVICE_ALREADY_RUNNING, as Pegasus\'s does', async () => {
    const node = { host: '127.0.0.1', port: cluster.replicaPorts[0]! };
    const rpc = (await meta.callRpc(RPCS.RPC_CM_START_RECOVERY, { recoveryNodes: [node], hpRecoveryNodes: [node], skipBadNodes: false, skipLostPartitions: false })).result!;
    assert.deepEqual(rpc, { err: 'ERR_SERVICE_ALREADY_RUNNING', hintMessage: '' });
    const run = await shell(`recover -s 127.0.0.1:${node.port}`, 'recover -w -1 -s 127.0.0.1:1');
    assert.match(run.stdout, new RegExp(`^Node list:\\n=+\\n127\\.0\\.0\\.1:${node.port}\\n=+\\nRecover result: ERR_SERVICE_ALREADY_RUNNING$`, 'm'));
    assert.match(run.stderr, /^invalid wait_seconds -1, should be positive number$/m);
    await cluster.waitHealthy('temp', PARTITIONS, 60_000);
  });
});
