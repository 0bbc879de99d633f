// A real cluster: one meta and three replica servers as processes. Tables are created over
// RPC, the /meta/* calls are checked field by field, a replica server is SIGKILLed and
// restarted, the meta is restarted, and a damaged state file stops the meta's start-up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { AppEnvOperation, RPCS } from '../../src/wire/index.ts';
import { freePort, PROJECT_ROOT, startPteron, waitFor, type RunningProcess } from '../helpers/process.ts';

const GRACE_SECONDS = 3;

interface AppView {
  general: Record<string, string>;
  replicas: Record<string, { pidx: string; ballot: string; replica_count: string; primary: string; secondaries: string }>;
  nodes: Record<string, { node: string; primary: string; secondary: string; total: string }>;
  healthy: Record<string, string>;
}

describe('meta server with three replica servers', () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-meta-cluster-'));
  let metaPort = 0;
  let meta: RunningProcess;
  const replicas: RunningProcess[] = [];
  const replicaPorts: number[] = [];
  let client: RpcClient;

  const commonSettings = (): string[] =>
    [
      `meta_server.server_list=127.0.0.1:${metaPort}`,
      'replication.cluster_name=test',
      `replication.fd_beacon_interval_seconds=1`,
      `replication.fd_check_interval_seconds=1`,
      `replication.fd_lease_seconds=2`,
      `replication.fd_grace_seconds=${GRACE_SECONDS}`,
      'replication.config_sync_interval_ms=1000',
    ].flatMap((setting) => ['--set', setting]);

  const startMeta = (): Promise<RunningProcess> =>
    startPteron('meta', {
      port: metaPort,
      args: [
        ...commonSettings(),
        '--set', `core.data_dir=${path.join(dataRoot, 'meta')}`,
        '--set', 'meta_server.min_live_node_count_for_unfreeze=1',
        '--set', 'replication.lb_interval_ms=1000',
        '--set', 'meta_server.apps.temp.partition_count=8',
        '--set', 'meta_server.apps.temp.max_replica_count=3',
      ],
    });
  const startReplica = (index: number): Promise<RunningProcess> =>
    startPteron('replica', {
      port: replicaPorts[index],
      args: [...commonSettings(), '--set', `core.data_dir=${path.join(dataRoot, `replica${index + 1}`)}`],
    });

  const getJson = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(`${meta.url}${pathAndQuery}`);
    assert.equal(response.status, 200, `${pathAndQuery} answered ${response.status}`);
    return (await response.json()) as T;
  };
  const appView = (name: string): Promise<AppView> => getJson<AppView>(`/meta/app?name=${name}&detail`);
  const fullyHealthy = async (name: string, partitions: number): Promise<boolean> =>
    (await appView(name)).healthy.fully_healthy_partition_count === String(partitions);

  before(async () => {
    metaPort = await freePort();
    for (let index = 0; index < 3; index++) replicaPorts.push(await freePort());
    meta = await startMeta();
    for (let index = 0; index < 3; index++) replicas.push(await startReplica(index));
    client = new RpcClient(parseHostPort(`127.0.0.1:${metaPort}`), { timeoutMs: 5000 });
    await waitFor('table temp fully healthy', () => fullyHealthy('temp', 8), 60_000, 200);
  });

  after(async () => {
    client?.close();
    for (const replica of replicas) await replica.stop('SIGKILL');
    await meta?.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('tables are created over RPC and reported by /meta/apps, /meta/app and /meta/nodes', async () => {
    const created = await client.callRpc(RPCS.RPC_CM_CREATE_APP, {
      appName: 'orders',
      options: { partitionCount: 4, replicaCount: 3, successIfExist: false, appType: 'pegasus', isStateful: true, envs: new Map() },
    });
    assert.equal(created.error, 'ERR_OK');
    assert.equal(created.result?.err, 'ERR_OK');
    const appId = created.result!.appid;
    assert.ok(appId > 1);

    const again = await client.callRpc(RPCS.RPC_CM_CREATE_APP, {
      appName: 'orders',
      options: { partitionCount: 4, replicaCount: 3, successIfExist: false, appType: 'pegasus', isStateful: true, envs: new Map() },
    });
    assert.equal(again.result?.err, 'ERR_APP_EXIST');
    const badCount = await client.callRpc(RPCS.RPC_CM_CREATE_APP, {
      appName: 'bad', options: { partitionCount: 3, replicaCount: 3, successIfExist: false, appType: 'pegasus', isStateful: true, envs: new Map() },
    });
    assert.equal(badCount.result?.err, 'ERR_INVALID_PARAMETERS');

    await waitFor('table orders fully healthy', () => fullyHealthy('orders', 4), 60_000, 200);

    const apps = await getJson<{ general_info: Record<string, Record<string, string>>; healthy_info: Record<string, Record<string, string>>; summary: Record<string, string> }>(
      '/meta/apps?detail',
    );
    assert.deepEqual(Object.keys(apps.general_info[String(appId)]!), [
      'app_id', 'status', 'app_name', 'app_type', 'partition_count', 'replica_count', 'is_stateful', 'create_time', 'drop_time', 'drop_expire', 'envs_count',
    ]);
    assert.equal(apps.general_info[String(appId)]!.status, 'AVAILABLE');
    assert.equal(apps.general_info[String(appId)]!.partition_count, '4');
    assert.equal(apps.healthy_info[String(appId)]!.fully_healthy, '4');
    assert.equal(apps.summary.total_app_count, '2');
    assert.equal(apps.summary.fully_healthy_app_count, '2');

    const view = await appView('orders');
    assert.deepEqual(view.general, { app_name: 'orders', app_id: String(appId), partition_count: '4', max_replica_count: '3' });
    for (const [pidx, replica] of Object.entries(view.replicas)) {
      assert.equal(replica.pidx, pidx);
      assert.equal(replica.replica_count, '3/3');
      assert.ok(replica.primary.startsWith('127.0.0.1:'));
    }
    assert.equal(view.nodes.total!.total, '12');

    const nodes = await getJson<{ details: Record<string, Record<string, string>>; summary: Record<string, string> }>('/meta/nodes?detail');
    assert.deepEqual(nodes.summary, { total_node_count: '3', alive_node_count: '3', unalive_node_count: '0' });
    let replicaCount = 0;
    for (const port of replicaPorts) {
      const node = nodes.details[`127.0.0.1:${port}`]!;
      assert.equal(node.status, 'ALIVE');
      replicaCount += Number(node.replica_count);
    }
    assert.equal(replicaCount, (8 + 4) * 3);

    const cluster = await getJson<Record<string, string>>('/meta/cluster');
    assert.equal(cluster.meta_servers, `127.0.0.1:${metaPort}`);
    assert.equal(cluster.primary_meta_server, `127.0.0.1:${metaPort}`);
    assert.equal(cluster.meta_function_level, 'steady');
    assert.equal(cluster.meta_state_store, 'simple');
    assert.equal(cluster.total_replica_count_stddev, '0.00');

    const info = await client.callRpc(RPCS.RPC_CM_CLUSTER_INFO, {});
    assert.equal(info.result?.err, 'ERR_OK');
    assert.equal(info.result!.values[info.result!.keys.indexOf('primary_meta_server')], `127.0.0.1:${metaPort}`);

    const envs = await client.callRpc(RPCS.RPC_CM_UPDATE_APP_ENV, {
      appName: 'orders', op: AppEnvOperation.APP_ENV_OP_SET, keys: ['replica.slow_query_threshold'], values: ['30'],
    });
    assert.equal(envs.result?.err, 'ERR_OK');
    assert.deepEqual(await getJson('/meta/app_envs?name=orders'), { 'replica.slow_query_threshold': '30' });

    const routing = await client.callRpc(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName: 'orders', partitionIndices: [] });
    assert.equal(routing.result?.err, 'ERR_OK');
    assert.equal(routing.result?.partitionCount, 4);
    assert.equal(routing.result?.partitions.length, 4);
    const missing = await client.callRpc(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName: 'nope', partitionIndices: [] });
    assert.equal(missing.result?.err, 'ERR_OBJECT_NOT_FOUND');
  });

  test('a SIGKILLed replica server is declared dead, its primaries move, and it recovers after a restart', async (t) => {
    const before = await appView('temp');
    const victimIndex = 0;
    const victim = `127.0.0.1:${replicaPorts[victimIndex]}`;
    const ledByVictim = Object.values(before.replicas).filter((replica) => replica.primary === victim).map((replica) => replica.pidx);
    assert.ok(ledByVictim.length > 0, 'the victim leads some partitions');

    const killedAt = Date.now();
    await replicas[victimIndex]!.stop('SIGKILL');
    await waitFor(
      `${victim} UNALIVE`,
      async () => (await getJson<{ details: Record<string, Record<string, string>> }>('/meta/nodes?detail')).details[victim]?.status === 'UNALIVE',
      // The grace, then beacons and checks that a busy machine may run late by seconds.
      (GRACE_SECONDS + 20) * 1000,
      100,
    );
    const detectedMs = Date.now() - killedAt;
    t.diagnostic(`replica server declared UNALIVE ${detectedMs} ms after SIGKILL (grace ${GRACE_SECONDS} s)`);

    await waitFor('new primaries for the victim\'s partitions', async () => {
      const view = await appView('temp');
      return ledByVictim.every((pidx) => view.replicas[pidx]!.primary !== victim && view.replicas[pidx]!.primary !== '-');
    }, 30_000, 100);
    const during = await appView('temp');
    for (const [pidx, replica] of Object.entries(during.replicas)) {
      assert.ok(Number(replica.ballot) > Number(before.replicas[pidx]!.ballot), `partition ${pidx}: ballot increased`);
      assert.notEqual(replica.primary, victim);
      assert.ok(!replica.secondaries.includes(victim));
      assert.equal(replica.replica_count, '2/3');
    }
    // Pegasus's /meta/app rule: every partition lost one of three replicas: unhealthy, still writable and readable.
    assert.deepEqual(during.healthy, {
      fully_healthy_partition_count: '0', unhealthy_partition_count: '8', write_unhealthy_partition_count: '0', read_unhealthy_partition_count: '0',
    });

    const restartedAt = Date.now();
    replicas[victimIndex] = await startReplica(victimIndex);
    await waitFor('temp fully healthy again', () => fullyHealthy('temp', 8), 60_000, 200);
    t.diagnostic(`table temp fully healthy ${Date.now() - restartedAt} ms after the restart`);
    await waitFor('orders fully healthy again', () => fullyHealthy('orders', 4), 60_000, 200);
    const nodes = await getJson<{ summary: Record<string, string> }>('/meta/nodes');
    assert.deepEqual(nodes.summary, { total_node_count: '3', alive_node_count: '3', unalive_node_count: '0' });
  });

  test('tables, envs and partition configurations survive a meta restart', async () => {
    const beforeApps = await getJson<Record<string, unknown>>('/meta/apps?detail');
    const beforeTemp = await appView('temp');
    await meta.stop();
    meta = await startMeta();
    const afterApps = await getJson<{ general_info: Record<string, Record<string, string>> }>('/meta/apps?detail');
    assert.deepEqual(
      Object.values(afterApps.general_info).map((app) => [app.app_id, app.app_name, app.partition_count, app.create_time]),
      Object.values((beforeApps as typeof afterApps).general_info).map((app) => [app.app_id, app.app_name, app.partition_count, app.create_time]),
    );
    assert.deepEqual(await getJson('/meta/app_envs?name=orders'), { 'replica.slow_query_threshold': '30' });
    const afterTemp = await appView('temp');
    for (const [pidx, replica] of Object.entries(beforeTemp.replicas)) {
      assert.equal(afterTemp.replicas[pidx]!.ballot, replica.ballot);
      assert.equal(afterTemp.replicas[pidx]!.primary, replica.primary);
    }
  });

  test('a state file cut mid-record stops the meta with the file and offset named', async () => {
    await meta.stop();
    const file = path.join(dataRoot, 'meta', 'meta', 'meta_state_service.log');
    const size = statSync(file).size;
    truncateSync(file, size - 5);
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'meta', '--port', String(metaPort), '--set', `core.data_dir=${path.join(dataRoot, 'meta')}`], {
      cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 20000,
    });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged at byte offset \\d+`));
    // Restarting the original meta for after(): repair explicitly.
    meta = await startPteron('meta', {
      port: metaPort,
      args: [...commonSettings(), '--set', `core.data_dir=${path.join(dataRoot, 'meta')}`, '--set', 'meta_server.simple_store_truncate_corrupt_tail=true'],
    });
    assert.equal((await fetch(`${meta.url}/meta/apps`)).status, 200);
  });
});
