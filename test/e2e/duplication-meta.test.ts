// The meta side of duplication on real processes: two one-meta clusters `a` and `b`, each with
// one replica server, that know each other through [pegasus.clusters] and [duplication-group].
// The shell (in-process, over the real meta RPCs) adds a duplication of `temp` from a to b;
// the test then sends RPC_CM_DUPLICATION_SYNC as a's replica server would and sees the
// duplication go DS_PREPARE → DS_APP → DS_LOG while a's meta creates the follower table on b
// with the duplication.master_* envs; progress only moves forward and is stored; pause, start,
// the fail mode and /meta/app/duplication; everything survives a restart of a's meta; bad input
// gets Pegasus's errors. And on a master cluster whose two metas keep their state in ZooKeeper,
// the meta that takes over after the primary is killed has the duplication and its progress.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MetaClient, createShellSession } from '../../src/cli/shell/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { RPCS, type DuplicationConfirmEntry } from '../../src/wire/index.ts';
import { fastClusterSettings, freePort, startPteron, waitFor, type RunningProcess } from '../helpers/process.ts';
import { startTestZooKeeper, zooKeeperSkipReason, type TestZooKeeper } from '../helpers/zookeeper.ts';

const PARTITIONS = 4;

interface Cluster {
  name: string;
  metaPort: number;
  replicaPort: number;
  meta?: RunningProcess;
  replica?: RunningProcess;
}

describe('duplication between two clusters: the meta side', () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-dup-meta-'));
  const a: Cluster = { name: 'a', metaPort: 0, replicaPort: 0 };
  const b: Cluster = { name: 'b', metaPort: 0, replicaPort: 0 };
  let metaClient: MetaClient;
  let syncClient: RpcClient;
  let dupid = 0;

  const settings = (cluster: Cluster): string[] => [
    ...fastClusterSettings(cluster.metaPort, cluster.name),
    ...[
      `pegasus.clusters.a=127.0.0.1:${a.metaPort}`,
      `pegasus.clusters.b=127.0.0.1:${b.metaPort}`,
      'duplication-group.a=1',
      'duplication-group.b=2',
    ].flatMap((setting) => ['--set', setting]),
  ];
  const startMeta = (cluster: Cluster) => startPteron('meta', {
    port: cluster.metaPort,
    args: [
      ...settings(cluster),
      ...[
        `core.data_dir=${path.join(dataRoot, cluster.name, 'meta')}`,
        'meta_server.min_live_node_count_for_unfreeze=1',
        // Only a starts with table temp: b gets it from the duplication.
        ...(cluster === a ? [`meta_server.apps.temp.partition_count=${PARTITIONS}`, 'meta_server.apps.temp.max_replica_count=1'] : []),
        // Every report is stored at once, so what the test sends is what it reads back.
        'replication.dup_progress_min_update_period_ms=0',
      ].flatMap((setting) => ['--set', setting]),
    ],
  });
  const startCluster = async (cluster: Cluster): Promise<void> => {
    cluster.meta = await startMeta(cluster);
    cluster.replica = await startPteron('replica', {
      port: cluster.replicaPort,
      args: [...settings(cluster), '--set', `core.data_dir=${path.join(dataRoot, cluster.name, 'replica')}`],
    });
  };
  const getJson = async (port: number, target: string): Promise<{ status: number; body: string }> => {
    const response = await fetch(`http://127.0.0.1:${port}/${target}`);
    return { status: response.status, body: await response.text() };
  };
  const healthy = async (cluster: Cluster, table: string): Promise<boolean> => {
    const { status, body } = await getJson(cluster.metaPort, `meta/app?name=${table}&detail`);
    return status === 200 && (JSON.parse(body) as { healthy: Record<string, string> }).healthy.fully_healthy_partition_count === String(PARTITIONS);
  };
  const shell = async (line: string): Promise<{ result: string; out: string; err: string }> => {
    let out = '';
    let err = '';
    const session = createShellSession(metaClient, { out: (text) => (out += text), err: (text) => (err += text) });
    const result = await session.runLine(line);
    return { result, out, err };
  };
  const appDuplication = async (): Promise<Record<string, any>> => {
    const { status, body } = await getJson(a.metaPort, 'meta/app/duplication?name=temp');
    assert.equal(status, 200, body);
    return JSON.parse(body);
  };
  /** RPC_CM_DUPLICATION_SYNC as a's replica server sends it: one entry for every partition of temp (app 1). */
  const sync = async (entry: Partial<DuplicationConfirmEntry>) => {
    const node = { host: '127.0.0.1', port: a.replicaPort };
    const confirmList = new Map(Array.from({ length: PARTITIONS }, (_, index) => [
      { appId: 1, partitionIndex: index }, [{ dupid, confirmedDecree: -1n, ...entry }],
    ]));
    const reply = await syncClient.callRpc(RPCS.RPC_CM_DUPLICATION_SYNC, { node, hpNode: node, confirmList });
    assert.equal(reply.error, 'ERR_OK');
    assert.equal(reply.result!.err, 'ERR_OK');
    return reply.result!.dupMap;
  };

  before(async () => {
    for (const cluster of [a, b]) {
      cluster.metaPort = await freePort();
      cluster.replicaPort = await freePort();
    }
    await startCluster(a);
    await startCluster(b);
    metaClient = new MetaClient([{ host: '127.0.0.1', port: a.metaPort }]);
    syncClient = new RpcClient({ host: '127.0.0.1', port: a.metaPort }, { timeoutMs: 10_000 });
    await waitFor('temp healthy on a', () => healthy(a, 'temp'), 60_000, 200);
  });

  after(async () => {
    await metaClient?.close();
    syncClient?.close();
    for (const cluster of [a, b]) {
      await cluster.replica?.stop();
      await cluster.meta?.stop();
    }
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('bad input gets Pegasus\'s errors and changes nothing', async () => {
    const toItself = await shell('add_dup temp a');
    assert.equal(toItself.result, 'failed');
    assert.match(toItself.err, /error: ERR_INVALID_PARAMETERS\]\ndetail:\n {2}illegal operation: adding duplication to itself\n$/);
    const unknown = await shell('add_dup temp nowhere -s');
    assert.match(unknown.err, /detail:\n {2}get_duplication_cluster_id\(nowhere\) failed, error: ERR_OBJECT_NOT_FOUND: failed to get cluster id for nowhere\n$/);
    assert.match((await shell('add_dup nope b')).err, /error: ERR_APP_NOT_EXIST\]\ndetail:\n {2}app nope was not found\n$/);
    assert.equal((await shell('query_dup nope')).err, 'querying duplications of app [nope] failed, error=ERR_APP_NOT_EXIST\n');
    assert.equal((await shell('remove_dup temp 12345')).err, 'removing duplication(12345) for app temp failed, error=ERR_OBJECT_NOT_FOUND [duplication not found]\n');
    assert.deepEqual(await getJson(a.metaPort, 'meta/app/duplication?name=temp'), { status: 200, body: 'null' });
    assert.deepEqual(await getJson(a.metaPort, 'meta/app/duplication?name=nope'), { status: 404, body: 'ERR_APP_NOT_EXIST' });
    assert.deepEqual(await getJson(a.metaPort, 'meta/app/duplication'), { status: 400, body: 'name should not be empty' });
    assert.equal((await getJson(b.metaPort, 'meta/app?name=temp')).status, 404, 'b has no table temp yet');
  });

  test('add_dup with a checkpoint: DS_PREPARE, then the follower table on b, then DS_LOG', async () => {
    const added = await shell('add_dup temp b -s');
    assert.equal(added.result, 'ok', added.err);
    const match = /adding duplication succeed \[app_name: temp, remote_cluster_name: b, appid: 1, dupid: (\d+), is_duplicating_checkpoint: true, remote_app_name: temp, remote_replica_count: 1\]/.exec(added.out);
    assert.ok(match, added.out);
    dupid = Number(match[1]);
    assert.match((await shell('add_dup temp b')).out, /duplication has been existing \[app_name: temp, remote_cluster_name: b, appid: 1, dupid: \d+, remote_app_name: temp/);
    assert.match((await shell('query_dup temp')).out, new RegExp(`^${dupid} +DS_PREPARE +b +\\d{4}-`, 'm'));

    // Not every partition has its checkpoint yet: nothing happens on b.
    const prepared = await sync({ checkpointPrepared: false });
    assert.equal(prepared.get(1)!.get(dupid)!.status, 1);
    assert.equal((await appDuplication())['1'].status, 'DS_PREPARE');
    await waitFor('DS_LOG', async () => {
      await sync({ checkpointPrepared: true });
      return (await appDuplication())['1'].status === 'DS_LOG';
    }, 60_000, 200);
    const envs = JSON.parse((await getJson(b.metaPort, 'meta/app_envs?name=temp')).body) as Record<string, string>;
    assert.deepEqual(envs, {
      'duplication.follower_app_status': 'created',
      'duplication.master_app_name': 'temp',
      'duplication.master_cluster': 'a',
      'duplication.master_metas': `127.0.0.1:${a.metaPort}`,
    });
    assert.equal(await healthy(b, 'temp'), true);
    const app = JSON.parse((await getJson(a.metaPort, 'meta/app?name=temp')).body);
    assert.equal(app.general.app_id, '1');
  });

  test('progress only moves forward and is what /meta/app/duplication shows', async () => {
    await sync({ confirmedDecree: 5n, lastCommittedDecree: 8n });
    await sync({ confirmedDecree: 3n, lastCommittedDecree: 9n });
    const json = await appDuplication();
    assert.deepEqual(Object.keys(json), ['1', 'appid']);
    assert.equal(json.appid, 1);
    const entry = json['1'];
    assert.deepEqual({ ...entry, create_ts: '' }, {
      create_ts: '', dupid, fail_mode: 'FAIL_SLOW', remote: 'b', remote_app_name: 'temp', remote_replica_count: 1, status: 'DS_LOG',
      partition_states: Object.fromEntries(Array.from({ length: PARTITIONS }, (_, index) => [index, { confirmed_decree: 5, last_committed_decree: 9 }])),
    });
    const detail = await shell('query_dup temp -d');
    assert.match(detail.out, /^duplications of app \[temp\] in detail:\n\{"1":\{"create_ts":/);
  });

  test('pause, fail mode, start; all of it and the progress survive a restart of the meta', async () => {
    assert.equal((await shell(`pause_dup temp ${dupid}`)).out, `pausing duplication(${dupid}) for app temp succeed\n`);
    assert.equal((await appDuplication())['1'].status, 'DS_PAUSE');
    assert.equal((await shell(`set_dup_fail_mode temp ${dupid} skip`)).out, `set duplication(${dupid}) fail_mode (skip) for app temp succeed\n`);
    assert.match((await shell(`pause_dup temp 1`)).err, /ERR_OBJECT_NOT_FOUND \[duplication not found\]/);
    const paused = await sync({ confirmedDecree: 6n });
    assert.equal(paused.get(1)!.get(dupid)!.status, 4);
    const before = await appDuplication();

    await a.meta!.stop();
    a.meta = await startMeta(a);
    await waitFor('a\'s meta serving again', async () => (await getJson(a.metaPort, 'meta/app/duplication?name=temp')).status === 200, 60_000, 200);
    const afterRestart = await appDuplication();
    // The last committed decrees are the primaries' to report again; the rest is stored.
    const stored = (json: Record<string, any>) => ({ ...json['1'], partition_states: Object.values(json['1'].partition_states).map((state: any) => state.confirmed_decree) });
    assert.deepEqual(stored(afterRestart), stored(before));
    assert.deepEqual(stored(afterRestart).partition_states, [6, 6, 6, 6]);
    assert.equal(afterRestart['1'].fail_mode, 'FAIL_SKIP');
    assert.equal(afterRestart['1'].status, 'DS_PAUSE');

    assert.equal((await shell(`start_dup temp ${dupid}`)).out, `starting duplication(${dupid}) for app temp succeed\n`);
    assert.equal((await appDuplication())['1'].status, 'DS_LOG');
  });

  test('remove_dup, then a duplication without checkpoint starts in DS_LOG', async () => {
    assert.equal((await shell(`remove_dup temp ${dupid}`)).out, `removing duplication(${dupid}) for app temp succeed\n`);
    assert.deepEqual(await getJson(a.metaPort, 'meta/app/duplication?name=temp'), { status: 200, body: 'null' });
    assert.match((await shell(`start_dup temp ${dupid}`)).err, /ERR_OBJECT_NOT_FOUND/);

    const added = await shell('add_dup temp b -a temp_copy');
    assert.match(added.out, /is_duplicating_checkpoint: false, remote_app_name: temp_copy, remote_replica_count: 1\]/);
    assert.equal((await appDuplication())['1'].status, 'DS_LOG');
    // As in Pegasus, without a checkpoint the follower table is the operator's to create.
    assert.equal((await getJson(b.metaPort, 'meta/app?name=temp_copy')).status, 404);
  });
});

describe('duplication on a meta group in ZooKeeper: a failover continues it', { skip: zooKeeperSkipReason() }, () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-dup-zk-'));
  let zk: TestZooKeeper;
  const metaPorts: number[] = [];
  const metas: Array<RunningProcess | undefined> = [];
  let replica: RunningProcess | undefined;
  let replicaPort = 0;
  let metaClient: MetaClient;

  const startMeta = (index: number) => startPteron('meta', {
    port: metaPorts[index],
    args: [
      ...[
        `meta_server.server_list=${metaPorts.map((port) => `127.0.0.1:${port}`).join(',')}`,
        'replication.cluster_name=a', 'pegasus.clusters.b=127.0.0.1:1', 'duplication-group.a=1', 'duplication-group.b=2',
        'replication.fd_beacon_interval_seconds=1', 'replication.fd_check_interval_seconds=1', 'replication.fd_lease_seconds=2',
        'replication.fd_grace_seconds=3', 'replication.config_sync_interval_ms=1000',
        `core.data_dir=${path.join(dataRoot, `meta${index}`)}`, 'meta_server.meta_state_service_type=zookeeper',
        `zookeeper.hosts_list=${zk.hostsList}`, 'zookeeper.timeout_ms=2000', 'meta_server.cluster_root=/pegasus/dup',
        'meta_server.min_live_node_count_for_unfreeze=1', `meta_server.apps.temp.partition_count=${PARTITIONS}`,
        'meta_server.apps.temp.max_replica_count=1', 'replication.dup_progress_min_update_period_ms=0',
      ].flatMap((setting) => ['--set', setting]),
    ],
  });
  const primaryIndex = async (): Promise<number | undefined> => {
    for (let index = 0; index < metas.length; index++) {
      if (!metas[index]) continue;
      const response = await fetch(`http://127.0.0.1:${metaPorts[index]}/meta/app/duplication?name=temp`, { redirect: 'manual' }).catch(() => undefined);
      if (response?.status === 200) return index;
    }
    return undefined;
  };
  const sync = async (dupid: number, confirmedDecree: bigint) => {
    const node = { host: '127.0.0.1', port: replicaPort };
    const confirmList = new Map(Array.from({ length: PARTITIONS }, (_, index) => [{ appId: 1, partitionIndex: index }, [{ dupid, confirmedDecree }]]));
    const reply = await metaClient.call(RPCS.RPC_CM_DUPLICATION_SYNC, { node, hpNode: node, confirmList });
    assert.equal(reply.err, 'ERR_OK');
  };
  const confirmed = async (index: number): Promise<unknown[]> => {
    const json = await (await fetch(`http://127.0.0.1:${metaPorts[index]}/meta/app/duplication?name=temp`)).json() as Record<string, any>;
    return [json['1'].status, ...Object.values(json['1'].partition_states).map((state: any) => state.confirmed_decree)];
  };

  before(async () => {
    zk = await startTestZooKeeper();
    for (let index = 0; index < 2; index++) metaPorts.push(await freePort());
    replicaPort = await freePort();
    for (let index = 0; index < 2; index++) metas.push(await startMeta(index));
    replica = await startPteron('replica', {
      port: replicaPort,
      args: [
        ...fastClusterSettings(metaPorts[0]!, 'a'),
        '--set', `meta_server.server_list=${metaPorts.map((port) => `127.0.0.1:${port}`).join(',')}`,
        '--set', `core.data_dir=${path.join(dataRoot, 'replica')}`,
      ],
    });
    metaClient = new MetaClient(metaPorts.map((port) => ({ host: '127.0.0.1', port })));
  });

  after(async () => {
    await metaClient?.close();
    await replica?.stop();
    for (const meta of metas) await meta?.stop();
    await zk?.destroy();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('the new primary has the duplication and its progress, and takes progress on from there', async () => {
    await waitFor('a primary meta', async () => (await primaryIndex()) !== undefined, 60_000, 200);
    const reply = await metaClient.call(RPCS.RPC_CM_ADD_DUPLICATION, { appName: 'temp', remoteClusterName: 'b', isDuplicatingCheckpoint: false });
    assert.equal(reply.err, 'ERR_OK');
    const dupid = reply.response!.dupid;
    await waitFor('the replica server known to the meta', async () => {
      const node = { host: '127.0.0.1', port: replicaPort };
      const answer = await metaClient.call(RPCS.RPC_CM_DUPLICATION_SYNC, { node, hpNode: node, confirmList: new Map() });
      return answer.err === 'ERR_OK' && (answer.response?.dupMap.size ?? 0) > 0;
    }, 60_000, 200);
    await sync(dupid, 5n);
    const old = (await primaryIndex())!;
    assert.deepEqual(await confirmed(old), ['DS_LOG', 5, 5, 5, 5]);

    await metas[old]!.stop('SIGKILL');
    metas[old] = undefined;
    await waitFor('the other meta primary', async () => (await primaryIndex()) === 1 - old, 60_000, 200);
    assert.deepEqual(await confirmed(1 - old), ['DS_LOG', 5, 5, 5, 5]);
    await waitFor('progress taken by the new primary', async () => {
      await sync(dupid, 7n);
      return (await confirmed(1 - old))[1] === 7;
    }, 60_000, 200);
  });
});
