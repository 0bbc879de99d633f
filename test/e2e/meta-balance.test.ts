// The meta's function level and the balancer on real processes: one meta and three replica
// servers with table `temp` (8 partitions of 3 replicas), then a fourth replica server. At steady
// the balancer only counts what it would do (/meta/cluster's balance_operation_count) and the new
// server stays empty; `set_meta_level lively` through the shell makes it carry the operations out
// until every server holds 6 replicas and 2 primaries (both stddevs 0.00) while a bounded client
// load runs without a failed request, and every acknowledged write reads back. Also the
// RPCs' and the shell's answers to bad input and the `meta.lb.*` remote commands.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { createClient, type PegasusClient, type PegasusTable } from '../../src/client/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { ConfigType, MetaFunctionLevel, RPCS } from '../../src/wire/index.ts';
import { BoundedLoad } from '../helpers/bounded-load.ts';
import { TableRouter, TestCluster } from '../helpers/data-plane.ts';
import { freePort, PROJECT_ROOT, waitFor } from '../helpers/process.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PARTITIONS = 8;
/** The load stops this many operations after the cluster converged. */
const LOAD_OPS_AFTER_BALANCE = 300;
/** Only tells a converging cluster from a stuck one. */
const CONVERGE_MS = 300_000;

/** Runs `pteron shell -e …` and returns what it printed on each stream. */
function shell(metaPort: number, ...commands: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'shell', '--meta', `127.0.0.1:${metaPort}`, '--keep-going', ...commands.flatMap((command) => ['-e', command])], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PTERON_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('meta function level and balancing on a real cluster', () => {
  const cluster = new TestCluster({ partitionCount: PARTITIONS });
  let client: PegasusClient;
  let table: PegasusTable;
  let router: TableRouter;
  let meta: RpcClient;

  const clusterInfo = async (): Promise<Record<string, string>> => {
    const response = await fetch(`http://127.0.0.1:${cluster.metaPort}/meta/cluster`);
    assert.equal(response.status, 200);
    return (await response.json()) as Record<string, string>;
  };
  const operationCount = async (): Promise<{ total: number; move_pri: number; copy_pri: number; copy_sec: number }> =>
    JSON.parse((await clusterInfo()).balance_operation_count!);
  /** Replicas and primaries of `temp` per replica server, in port order. */
  const counts = async (): Promise<{ replicas: number[]; primaries: number[] }> => {
    await router.refresh();
    const nodes = cluster.replicaPorts.map((port) => `127.0.0.1:${port}`);
    const replicas = nodes.map((node) => router.partitions.filter((p) => p.primary === node || p.secondaries.includes(node)).length);
    const primaries = nodes.map((node) => router.partitions.filter((p) => p.primary === node).length);
    return { replicas, primaries };
  };
  const remoteCommand = async (cmd: string, args: string[] = []): Promise<string> => {
    const reply = await meta.callRpc(RPCS.RPC_CLI_CLI_CALL, { cmd, arguments: args });
    assert.equal(reply.error, 'ERR_OK');
    return reply.result!;
  };

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS, 60_000);
    router = new TableRouter(cluster.metaPort, 'temp');
    await cluster.waitServing(router);
    client = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 10_000 });
    table = await client.openTable('temp');
    meta = new RpcClient(parseHostPort(`127.0.0.1:${cluster.metaPort}`), { timeoutMs: 5000 });
  });

  after(async () => {
    meta?.close();
    router?.close();
    await client?.close();
    await cluster.stop();
  });

  test('RPC_CM_CONTROL_META reads and sets the level and refuses a value that is no level', async () => {
    const control = async (level: number) => (await meta.callRpc(RPCS.RPC_CM_CONTROL_META, { level })).result!;
    assert.deepEqual(await control(MetaFunctionLevel.fl_invalid), { err: 'ERR_OK', oldLevel: MetaFunctionLevel.fl_steady });
    assert.deepEqual(await control(42), { err: 'ERR_INVALID_PARAMETERS', oldLevel: MetaFunctionLevel.fl_steady });
    assert.deepEqual(await control(MetaFunctionLevel.fl_freezed), { err: 'ERR_OK', oldLevel: MetaFunctionLevel.fl_steady });
    assert.equal((await clusterInfo()).meta_function_level, 'freezed');
    assert.deepEqual(await control(MetaFunctionLevel.fl_steady), { err: 'ERR_OK', oldLevel: MetaFunctionLevel.fl_freezed });
    assert.equal((await clusterInfo()).meta_function_level, 'steady');
  });

  test('the meta.lb.* remote commands show and set the balancer controls', async () => {
    assert.equal(await remoteCommand('meta.lb.only_move_primary'), '{\n  "error": "ok",\n  "meta.lb.only_move_primary": "false"\n}');
    assert.equal(await remoteCommand('meta.lb.only_move_primary', ['TRUE']), '{\n  "error": "ok"\n}');
    assert.equal(await remoteCommand('meta.lb.only_move_primary'), '{\n  "error": "ok",\n  "meta.lb.only_move_primary": "true"\n}');
    assert.equal(await remoteCommand('meta.lb.only_move_primary', ['false']), '{\n  "error": "ok"\n}');
    assert.equal(await remoteCommand('meta.lb.balancer_in_turn', ['maybe']), '{\n  "error": "ERR: invalid arguments, \'maybe\' is not a boolean"\n}');
    assert.equal(await remoteCommand('meta.lb.assign_delay_ms'), '{\n  "error": "ok",\n  "meta.lb.assign_delay_ms": "600000"\n}');
    assert.equal(await remoteCommand('meta.lb.assign_delay_ms', ['-5']), '{\n  "error": "ERR: invalid argument \'-5\', the value is not acceptable"\n}');
    assert.equal(await remoteCommand('meta.lb.assign_delay_ms', ['1000']), '{\n  "error": "ok"\n}');
    assert.equal(await remoteCommand('meta.lb.assign_delay_ms', ['DEFAULT']), '{\n  "error": "ok",\n  "meta.lb.assign_delay_ms": 600000\n}');
    assert.equal(await remoteCommand('meta.lb.add_secondary_max_count_for_one_node', ['0']), '{\n  "error": "ERR: invalid argument \'0\', the value is not acceptable"\n}');
    assert.equal(await remoteCommand('meta.lb.ignored_app_list', ['set', '7,3']), '{\n  "error": "ok"\n}');
    assert.equal(await remoteCommand('meta.lb.ignored_app_list', ['get']), '{\n  "ignored_app_id_list": "3,7"\n}');
    assert.equal(await remoteCommand('meta.lb.ignored_app_list', ['set', 'x']), '{\n  "error": "invalid argument"\n}');
    assert.equal(await remoteCommand('meta.lb.ignored_app_list', ['clear']), '{\n  "error": "ok"\n}');
    assert.equal(await remoteCommand('meta.lb.ignored_app_list'), '{\n  "error": "invalid arguments"\n}');
    assert.equal(await remoteCommand('meta.lb.assign_secondary_black_list', ['nowhere']), '{\n  "error": "invalid argument, bad host:port \'nowhere\'"\n}');
    assert.equal(await remoteCommand('meta.lb.assign_secondary_black_list'), '{\n  "assign_secondary_black_list": "",\n  "error": "ok"\n}');
    assert.equal(await remoteCommand('meta.lb.get_balance_operation_count', ['sideways']), '{\n  "error": "invalid arguments"\n}');
    assert.match(await remoteCommand('meta.lb.get_balance_operation_count', ['detail']), /^\{\n {2}"copy_pri": \d+,\n {2}"copy_sec": \d+,\n {2}"move_pri": \d+,\n {2}"total": -?\d+\n\}$/);
  });

  test('proposals that do not fit, for an unknown table or by bad shell input get Pegasus\'s errors; the cluster keeps serving', async () => {
    await router.refresh();
    const partition = router.partitions[0]!;
    const stranger = `127.0.0.1:${await freePort()}`;
    const action = (target: string, node: string, type: ConfigType) => ({ target: parseHostPort(target), node: parseHostPort(node), type });
    const propose = async (appId: number, actions: ReturnType<typeof action>[]) =>
      (await meta.callRpc(RPCS.RPC_CM_PROPOSE_BALANCER, { gpid: { appId, partitionIndex: 0 }, actionList: actions, force: false })).result!.err;
    assert.equal(await propose(router.appId, [action(partition.primary, stranger, ConfigType.CT_REMOVE)]), 'ERR_INVALID_PARAMETERS');
    assert.equal(await propose(router.appId + 100, [action(partition.primary, partition.primary, ConfigType.CT_DOWNGRADE_TO_SECONDARY)]), 'ERR_APP_NOT_EXIST');

    const run = await shell(cluster.metaPort,
      'set_meta_level fast',
      `balance -g ${router.appId}.0 -p copy_sec -f ${stranger} -t ${partition.secondaries[0]}`,
      `propose -g ${router.appId + 100}.0 -p DOWNGRADE_TO_SECONDARY -t ${partition.primary} -n ${partition.primary}`,
      'get_meta_level');
    assert.match(run.stderr, /^parse fast as meta function level failed$/m);
    assert.match(run.stdout, /USAGE: \tset_meta_level +<stopped\|blind\|freezed\|steady\|lively>/);
    assert.match(run.stderr, /^send balance proposal result: ERR_INVALID_PARAMETERS$/m);
    assert.match(run.stderr, /^send proposal response: ERR_APP_NOT_EXIST$/m);
    assert.match(run.stdout, /^current meta level is fl_steady$/m);
    await router.refresh();
    assert.deepEqual(router.partitions[0], partition, 'nothing changed');
    await table.set('after-bad-input', 's', 'v');
    assert.equal((await table.get('after-bad-input', 's'))?.toString(), 'v');
  });

  test('a fourth replica server stays empty at steady; lively balances it in under load with no failed request', async (t) => {
    const load = new BoundedLoad(table);
    let planned = { total: 0 };
    load.start();
    try {
      await waitFor('the load running', () => load.ops > 100, 60_000);
      const before = await counts();
      t.diagnostic(`three servers: ${JSON.stringify(before)}, steady plans ${JSON.stringify(await operationCount())}`);
      cluster.replicaPorts.push(await freePort());
      cluster.replicas.push(await cluster.startReplica(3));
      await waitFor('the meta knowing four alive replica servers', async () => {
        const lines = (await remoteCommand('meta.list_nodes')).split('\n');
        return lines.filter((line) => line.endsWith(' ALIVE')).length === 4;
      }, 60_000, 200);
      // 8 primaries on three servers cannot be even; the empty server is left out of the sample.
      assert.notEqual((await clusterInfo()).primary_replica_count_stddev, '0.00');
      // At steady the balancer plans (the count says what it would do) but moves nothing. Only
      // copies can give the empty server replicas: a plan with copies is one that saw it.
      await waitFor('the steady balancer counting copies to the new server', async () => {
        const count = await operationCount();
        return count.copy_pri + count.copy_sec > 0;
      }, 60_000, 200);
      planned = await operationCount();
      assert.deepEqual(await counts(), { replicas: [...before.replicas, 0], primaries: [...before.primaries, 0] }, `nothing moved at steady`);
      assert.equal((await clusterInfo()).meta_function_level, 'steady');

      const run = await shell(cluster.metaPort, 'set_meta_level lively', 'get_meta_level');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^control meta level ok, the old level is fl_steady\ncurrent meta level is fl_lively\n/m);

      await waitFor('every replica server holding 6 replicas and 2 primaries of temp', async () => {
        const info = await clusterInfo();
        const { replicas, primaries } = await counts();
        return replicas.every((count) => count === 6) && primaries.every((count) => count === 2)
          && info.total_replica_count_stddev === '0.00' && info.primary_replica_count_stddev === '0.00';
      }, CONVERGE_MS, 500);
      await waitFor('the balancer finding nothing left to do', async () => (await operationCount()).total === 0, 60_000, 200);
    } finally {
      await load.finish(LOAD_OPS_AFTER_BALANCE);
    }
    t.diagnostic(`four servers: steady planned ${JSON.stringify(planned)}; ${load.ops} requests, ${load.acked.size} acknowledged writes`);
    assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.ops} requests failed`);
    for (const [hashKey, value] of load.acked) assert.equal((await table.get(hashKey, 's'))?.toString(), value, hashKey);
    await cluster.waitHealthy('temp', PARTITIONS, 60_000);
    // A primary that steps down for a move_pri fails the writes it had not committed (the client
    // retries them on the new primary) with a warning; nothing is logged as an error.
    assert.deepEqual(cluster.errorLines(), []);
  });
});
