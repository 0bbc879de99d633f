// Manual compaction and usage scenarios behind the meta, against real processes: POST
// /meta/app/start_compaction and /meta/app/usage_scenario with every test vector of the spec
// (pegasus-http §5.11–5.13) and bad bodies, RPC_CM_START_MANUAL_COMPACT and
// RPC_CM_QUERY_MANUAL_COMPACT_STATUS, the shell's commands, the envs surviving a meta restart; and,
// on ZooKeeper, a backup meta's 307 and ERR_FORWARD_TO_OTHERS and the envs a new primary reads back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { createShellSession, MetaClient } from '../../src/cli/shell/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { AppEnvOperation, RPCS, type StartManualCompactRequest } from '../../src/wire/index.ts';
import { fastClusterSettings, freePort, type RunningProcess, startPteron, waitFor } from '../helpers/process.ts';
import { startTestZooKeeper, zooKeeperSkipReason, type TestZooKeeper } from '../helpers/zookeeper.ts';

/** The body of the spec's accepted start_compaction vector. */
const VALID_COMPACTION = {
  app_name: 'test_bulk_load', type: 'once', target_level: -1, bottommost_level_compaction: 'skip', max_concurrent_running_count: 0, trigger_time: '',
};

const answer = (error: string, hint = ''): string => `{"error":"${error}","hint_message":"${hint}"}\n`;

const post = (url: string, body: string | object): Promise<Response> =>
  fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), redirect: 'manual' });

async function textOf(response: Response): Promise<{ status: number; text: string }> {
  return { status: response.status, text: await response.text() };
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe('manual compaction and usage scenarios on a meta with three replica servers', () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-manual-compaction-'));
  let metaPort = 0;
  let meta: RunningProcess;
  const replicas: RunningProcess[] = [];
  let rpc: RpcClient;

  const settings = (): string[] => fastClusterSettings(metaPort, 'manual-compaction-test');
  const startMeta = (): Promise<RunningProcess> =>
    startPteron('meta', {
      port: metaPort,
      args: [
        ...settings(),
        '--set', `core.data_dir=${path.join(dataRoot, 'meta')}`,
        '--set', 'meta_server.min_live_node_count_for_unfreeze=1',
        '--set', 'meta_server.apps.test_bulk_load.partition_count=4',
        '--set', 'meta_server.apps.test_bulk_load.max_replica_count=3',
      ],
    });

  const appEnvs = async (name: string): Promise<Record<string, string>> => {
    const response = await fetch(`${meta.url}/meta/app_envs?name=${name}`);
    assert.equal(response.status, 200);
    return (await response.json()) as Record<string, string>;
  };
  const fullyHealthy = async (name: string, partitions: number): Promise<boolean> => {
    const response = await fetch(`${meta.url}/meta/app?name=${name}&detail`);
    if (response.status !== 200) return false;
    return ((await response.json()) as { healthy: Record<string, string> }).healthy.fully_healthy_partition_count === String(partitions);
  };
  const createTable = async (appName: string): Promise<void> => {
    const created = await rpc.callRpc(RPCS.RPC_CM_CREATE_APP, {
      appName, options: { partitionCount: 4, replicaCount: 3, successIfExist: false, appType: 'pegasus', isStateful: true, envs: new Map() },
    });
    assert.equal(created.result?.err, 'ERR_OK');
    await waitFor(`${appName} fully healthy`, () => fullyHealthy(appName, 4), 60_000, 200);
  };
  const startCompact = async (request: StartManualCompactRequest) => {
    const reply = await rpc.callRpc(RPCS.RPC_CM_START_MANUAL_COMPACT, request);
    assert.equal(reply.error, 'ERR_OK');
    return reply.result!;
  };
  const queryCompact = async (appName: string) => {
    const reply = await rpc.callRpc(RPCS.RPC_CM_QUERY_MANUAL_COMPACT_STATUS, { appName });
    assert.equal(reply.error, 'ERR_OK');
    return reply.result!;
  };

  before(async () => {
    metaPort = await freePort();
    meta = await startMeta();
    for (let index = 0; index < 3; index++) {
      replicas.push(await startPteron('replica', { args: [...settings(), '--set', `core.data_dir=${path.join(dataRoot, `replica${index + 1}`)}`] }));
    }
    rpc = new RpcClient(parseHostPort(`127.0.0.1:${metaPort}`), { timeoutMs: 10_000 });
    await waitFor('test_bulk_load fully healthy', () => fullyHealthy('test_bulk_load', 4), 60_000, 200);
  });

  after(async () => {
    rpc?.close();
    for (const replica of replicas) await replica.stop('SIGKILL');
    await meta?.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('GET / lists both POST calls with their help texts', async () => {
    const listing = (await (await fetch(`${meta.url}/`)).json()) as Record<string, string>;
    assert.equal(listing['/meta/app/start_compaction'], 'A JSON format of manual_compaction_info structure. Start compaction for an app.');
    assert.equal(listing['/meta/app/usage_scenario'], 'A JSON format of usage_scenario_info structure. Update usage scenario of an app.');
  });

  test('POST /meta/app/start_compaction: bad bodies get 400 and change nothing, good ones set the envs', async () => {
    const url = `${meta.url}/meta/app/start_compaction`;
    const refused: Array<[string | object, string]> = [
      ['', 'invalid request structure'],
      ['not json', 'invalid request structure'],
      ['{"app_name":"test_bulk_load",}', 'invalid request structure'],
      ['[1]', 'invalid request structure'],
      [{ ...VALID_COMPACTION, max_concurrent_running_count: '0' }, 'invalid request structure'],
      [{ ...VALID_COMPACTION, target_level: '-1' }, 'invalid request structure'],
      ['{"app_name":"test_bulk_load","type":"once","target_level":-1.0}', 'invalid request structure'],
      [{ ...VALID_COMPACTION, target_level: 2 ** 31 }, 'invalid request structure'],
      [{ app: 'test_bulk_load', type: 'once' }, 'invalid request structure'],
      [{ ...VALID_COMPACTION, app_name: '' }, 'app_name should not be empty'],
      [{ ...VALID_COMPACTION, type: 'wrong' }, "type should ony be 'once' or 'periodic'"],
      [{ ...VALID_COMPACTION, target_level: -3 }, 'target_level should be >= -1'],
      [{ ...VALID_COMPACTION, bottommost_level_compaction: 'wrong' }, "bottommost_level_compaction should ony be 'skip' or 'force'"],
      [{ ...VALID_COMPACTION, max_concurrent_running_count: -2 }, 'max_running_count should be >= 0'],
      [{ ...VALID_COMPACTION, type: 'periodic', trigger_time: '' }, 'trigger_time should not be empty when type is periodic'],
    ];
    for (const [body, message] of refused) {
      const response = await post(url, body);
      assert.deepEqual(await textOf(response), { status: 400, text: message }, JSON.stringify(body));
      assert.equal(response.headers.get('content-type'), 'text/plain');
    }
    // Refused by the env validator or for the table: 200 with Pegasus's error.
    assert.deepEqual(await textOf(await post(url, { ...VALID_COMPACTION, target_level: 0 })), {
      status: 200, text: answer('ERR_INVALID_PARAMETERS', "invalid value '0', should be '-1 or >= 1'"),
    });
    assert.deepEqual(await textOf(await post(url, { ...VALID_COMPACTION, app_name: 'no_such_table' })), { status: 200, text: answer('ERR_APP_NOT_EXIST', 'app cannot be found') });
    assert.deepEqual(await appEnvs('test_bulk_load'), {});

    // The spec's accepted vector: once, triggered now (the body's trigger_time is ignored).
    const before = nowSeconds();
    assert.deepEqual(await textOf(await post(url, { ...VALID_COMPACTION, trigger_time: '1' })), { status: 200, text: answer('ERR_OK') });
    const after = nowSeconds();
    const once = await appEnvs('test_bulk_load');
    const triggered = Number(once['manual_compact.once.trigger_time']);
    assert.ok(triggered >= before && triggered <= after, `trigger time ${triggered} within [${before}, ${after}]`);
    assert.deepEqual(once, {
      'manual_compact.once.bottommost_level_compaction': 'skip',
      'manual_compact.once.target_level': '-1',
      'manual_compact.once.trigger_time': String(triggered),
    });
    // Periodic, with a concurrency limit.
    const periodic = { ...VALID_COMPACTION, type: 'periodic', target_level: 3, bottommost_level_compaction: 'force', max_concurrent_running_count: 2, trigger_time: '3:00,21:00' };
    assert.deepEqual(await textOf(await post(url, periodic)), { status: 200, text: answer('ERR_OK') });
    assert.deepEqual(await appEnvs('test_bulk_load'), {
      ...once,
      'manual_compact.max_concurrent_running_count': '2',
      'manual_compact.periodic.bottommost_level_compaction': 'force',
      'manual_compact.periodic.target_level': '3',
      'manual_compact.periodic.trigger_time': '3:00,21:00',
    });
  });

  test('POST /meta/app/usage_scenario: the spec\'s vectors, and the env in /meta/app_envs', async () => {
    const url = `${meta.url}/meta/app/usage_scenario`;
    const envsBefore = await appEnvs('test_bulk_load');
    for (const [body, message] of [
      [{ app: 'test_bulk_load', scenario: 'normal' }, 'invalid request structure'],
      ['{"app_name":"test_bulk_load","scenario":normal}', 'invalid request structure'],
      [{ app_name: 'test_bulk_load', scenario: 1 }, 'invalid request structure'],
      [{ app_name: '', scenario: 'normal' }, 'app_name should not be empty'],
      [{ app_name: 'test_bulk_load', scenario: 'wrong' }, "scenario should ony be 'normal' or 'bulk_load'"],
      [{ app_name: 'test_bulk_load', scenario: 'prefer_write' }, "scenario should ony be 'normal' or 'bulk_load'"],
    ] as Array<[string | object, string]>) {
      assert.deepEqual(await textOf(await post(url, body)), { status: 400, text: message }, JSON.stringify(body));
    }
    assert.deepEqual(await textOf(await post(url, { app_name: 'no_such_table', scenario: 'normal' })), { status: 200, text: answer('ERR_APP_NOT_EXIST', 'app cannot be found') });
    assert.deepEqual(await appEnvs('test_bulk_load'), envsBefore);
    assert.deepEqual(await textOf(await post(url, { app_name: 'test_bulk_load', scenario: 'bulk_load' })), { status: 200, text: answer('ERR_OK') });
    assert.deepEqual(await appEnvs('test_bulk_load'), { ...envsBefore, 'rocksdb.usage_scenario': 'bulk_load' });
  });

  test('RPC_CM_START_MANUAL_COMPACT and RPC_CM_QUERY_MANUAL_COMPACT_STATUS', async () => {
    await createTable('compact_rpc');
    // A table nobody compacts: once every member has reported (idle), "not manual compaction".
    await waitFor('every member of compact_rpc reported', async () => (await queryCompact('compact_rpc')).err === 'ERR_INVALID_STATE', 60_000, 200);
    assert.deepEqual(await queryCompact('compact_rpc'), { err: 'ERR_INVALID_STATE', hintMsg: 'app compact_rpc is not manual compaction' });
    assert.deepEqual(await queryCompact('no_such_table'), { err: 'ERR_APP_NOT_EXIST', hintMsg: 'app no_such_table is not existed' });

    assert.deepEqual(await startCompact({ appName: 'no_such_table' }), { err: 'ERR_APP_NOT_EXIST', hintMsg: 'app no_such_table is not existed' });
    assert.deepEqual(await startCompact({ appName: 'compact_rpc', targetLevel: -5 }), {
      err: 'ERR_INVALID_PARAMETERS', hintMsg: 'invalid target_level(-5), should in range of [-1, num_levels]',
    });
    assert.deepEqual(await startCompact({ appName: 'compact_rpc', maxRunningCount: -1 }), {
      err: 'ERR_INVALID_PARAMETERS', hintMsg: 'invalid max_running_count(-1), should be greater than 0',
    });
    const disable = await rpc.callRpc(RPCS.RPC_CM_UPDATE_APP_ENV, { appName: 'compact_rpc', op: AppEnvOperation.APP_ENV_OP_SET, keys: ['manual_compact.disabled'], values: ['true'] });
    assert.equal(disable.result?.err, 'ERR_OK');
    assert.deepEqual(await startCompact({ appName: 'compact_rpc' }), { err: 'ERR_OPERATION_DISABLED', hintMsg: 'app compact_rpc disable manual compaction' });
    assert.deepEqual(await appEnvs('compact_rpc'), { 'manual_compact.disabled': 'true' });

    const enable = await rpc.callRpc(RPCS.RPC_CM_UPDATE_APP_ENV, { appName: 'compact_rpc', op: AppEnvOperation.APP_ENV_OP_SET, keys: ['manual_compact.disabled'], values: ['false'] });
    assert.equal(enable.result?.err, 'ERR_OK');
    const before = nowSeconds();
    assert.deepEqual(await startCompact({ appName: 'compact_rpc', bottommost: true, maxRunningCount: 2 }), { err: 'ERR_OK', hintMsg: 'succeed' });
    const started = await appEnvs('compact_rpc');
    const triggered = Number(started['manual_compact.once.trigger_time']);
    assert.ok(triggered >= before && triggered <= nowSeconds(), `trigger time ${triggered}`);
    assert.deepEqual(started, {
      'manual_compact.disabled': 'false',
      'manual_compact.max_concurrent_running_count': '2',
      'manual_compact.once.bottommost_level_compaction': 'force',
      'manual_compact.once.target_level': '-1',
      'manual_compact.once.trigger_time': String(triggered),
    });
    // An explicit trigger time and level are written as given.
    assert.equal((await startCompact({ appName: 'compact_rpc', triggerTime: 1700000000n, targetLevel: 2 })).err, 'ERR_OK');
    assert.equal((await appEnvs('compact_rpc'))['manual_compact.once.trigger_time'], '1700000000');
    assert.equal((await appEnvs('compact_rpc'))['manual_compact.once.target_level'], '2');
    // Every replica compacts and reports it in its config sync; the progress only grows, to 100.
    let last = -1;
    await waitFor('compact_rpc compacted on every replica', async () => {
      const progress = await queryCompact('compact_rpc');
      if (progress.err !== 'ERR_OK') {
        assert.deepEqual(progress, { err: 'ERR_INVALID_STATE', hintMsg: 'app compact_rpc is not manual compaction' });
        return false;
      }
      assert.ok(progress.progress! >= last && progress.progress! <= 100, `progress ${progress.progress} after ${last}`);
      last = progress.progress!;
      return last === 100;
    }, 60_000, 200);
    assert.deepEqual(await queryCompact('compact_rpc'), { err: 'ERR_OK', hintMsg: 'succeed', progress: 100 });
  });

  test('the shell\'s commands against the meta', async () => {
    const client = new MetaClient([parseHostPort(`127.0.0.1:${metaPort}`)]);
    let out = '';
    let err = '';
    const shell = createShellSession(client, { out: (text) => (out += text), err: (text) => (err += text) }, { version: 'test' });
    try {
      await createTable('compact_shell');
      await waitFor('every member of compact_shell reported', async () => (await queryCompact('compact_shell')).err === 'ERR_INVALID_STATE', 60_000, 200);
      assert.equal(await shell.runLine('query_manual_compaction -a compact_shell'), 'failed');
      assert.equal(err, 'QueryManualCompact failed: ERR_INVALID_STATE [hint: app compact_shell is not manual compaction]\n');
      err = '';
      assert.equal(await shell.runLine('start_manual_compaction -a compact_shell -l 1 -c 3 -b'), 'ok');
      assert.equal(out, 'Table compact_shell start manual compaction succeed\n');
      const envs = await appEnvs('compact_shell');
      assert.equal(envs['manual_compact.once.target_level'], '1');
      assert.equal(envs['manual_compact.max_concurrent_running_count'], '3');
      assert.equal(envs['manual_compact.once.bottommost_level_compaction'], 'force');
      out = '';
      assert.equal(await shell.runLine('start_manual_compaction -a no_such_table'), 'failed');
      assert.equal(err, 'StartManualCompact failed: ERR_APP_NOT_EXIST [hint: app no_such_table is not existed]\n');
      err = '';
      assert.equal(await shell.runLine('query_manual_compaction -a no_such_table'), 'failed');
      assert.equal(err, 'QueryManualCompact failed: ERR_APP_NOT_EXIST [hint: app no_such_table is not existed]\n');
      assert.equal(out, '');
    } finally {
      await client.close();
    }
  });

  test('the envs written by both calls survive a meta restart', async () => {
    const before = { bulk: await appEnvs('test_bulk_load'), rpc: await appEnvs('compact_rpc') };
    assert.equal(before.bulk['rocksdb.usage_scenario'], 'bulk_load');
    await meta.stop();
    meta = await startMeta();
    assert.deepEqual({ bulk: await appEnvs('test_bulk_load'), rpc: await appEnvs('compact_rpc') }, before);
  });
});

describe('manual compaction on two metas sharing ZooKeeper', { skip: zooKeeperSkipReason() }, () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-manual-compaction-zk-'));
  let zk: TestZooKeeper;
  const ports: number[] = [];
  const metas: Array<RunningProcess | undefined> = [];

  const startMeta = async (index: number): Promise<void> => {
    metas[index] = await startPteron('meta', {
      port: ports[index],
      args: [
        '--set', `meta_server.server_list=${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
        '--set', 'replication.cluster_name=manual-compaction-zk',
        '--set', `core.data_dir=${path.join(dataRoot, `meta${index + 1}`)}`,
        '--set', 'meta_server.meta_state_service_type=zookeeper',
        '--set', `zookeeper.hosts_list=${zk.hostsList}`,
        '--set', 'zookeeper.timeout_ms=2000',
        '--set', 'meta_server.cluster_root=/pegasus/manual-compaction',
        '--set', 'meta_server.apps.zk_table.partition_count=2',
        '--set', 'meta_server.apps.zk_table.max_replica_count=3',
      ],
    });
  };
  const isPrimary = async (index: number): Promise<boolean> => {
    const response = await fetch(`http://127.0.0.1:${ports[index]}/meta/cluster`, { redirect: 'manual' }).catch(() => undefined);
    await response?.arrayBuffer();
    return response?.status === 200;
  };

  before(async () => {
    zk = await startTestZooKeeper();
    for (let index = 0; index < 2; index++) ports.push(await freePort());
    // The first meta takes the lock before the second one enters.
    await startMeta(0);
    await waitFor('meta 1 is the primary', () => isPrimary(0), 30_000, 50);
    await startMeta(1);
    // Until the backup has read the lock's owner it redirects to "invalid host_port", as Pegasus does.
    await waitFor('meta 2 knows the primary', async () => {
      const response = await fetch(`http://127.0.0.1:${ports[1]}/meta/cluster`, { redirect: 'manual' });
      await response.arrayBuffer();
      return response.headers.get('location') === `http://127.0.0.1:${ports[0]}/meta/cluster`;
    }, 30_000, 50);
  });

  after(async () => {
    for (const meta of metas) await meta?.stop('SIGKILL');
    await zk?.destroy();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('a backup redirects both calls and forwards both RPCs; a new primary reads the envs back from ZooKeeper', async () => {
    const [primary, backup] = [`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`];
    for (const call of ['start_compaction', 'usage_scenario']) {
      const response = await post(`http://${backup}/meta/app/${call}`, 'the body is not read');
      assert.equal(response.status, 307);
      assert.equal(response.headers.get('location'), `http://${primary}/meta/app/${call}`);
      assert.equal(await response.text(), '');
    }
    const toBackup = new RpcClient(parseHostPort(backup), { timeoutMs: 10_000 });
    const toPrimary = new RpcClient(parseHostPort(primary), { timeoutMs: 10_000 });
    try {
      const forwarded = await toBackup.callRpc(RPCS.RPC_CM_START_MANUAL_COMPACT, { appName: 'zk_table' });
      assert.equal(forwarded.result?.err, 'ERR_FORWARD_TO_OTHERS');
      const queried = await toBackup.callRpc(RPCS.RPC_CM_QUERY_MANUAL_COMPACT_STATUS, { appName: 'zk_table' });
      assert.equal(queried.result?.err, 'ERR_FORWARD_TO_OTHERS');
      assert.equal(queried.result?.progress, undefined);

      assert.equal((await toPrimary.callRpc(RPCS.RPC_CM_START_MANUAL_COMPACT, { appName: 'zk_table', triggerTime: 1700000000n })).result?.err, 'ERR_OK');
    } finally {
      toBackup.close();
      toPrimary.close();
    }
    assert.equal(await (await post(`http://${primary}/meta/app/usage_scenario`, { app_name: 'zk_table', scenario: 'bulk_load' })).text(), answer('ERR_OK'));
    const expected = {
      'manual_compact.once.bottommost_level_compaction': 'skip',
      'manual_compact.once.target_level': '-1',
      'manual_compact.once.trigger_time': '1700000000',
      'rocksdb.usage_scenario': 'bulk_load',
    };
    assert.deepEqual(await (await fetch(`http://${primary}/meta/app_envs?name=zk_table`)).json(), expected);

    await metas[0]!.stop('SIGKILL');
    metas[0] = undefined;
    // The session timeout, then the election and the state load: seconds on a busy machine.
    await waitFor('meta 2 is the primary', () => isPrimary(1), 60_000, 100);
    assert.deepEqual(await (await fetch(`http://${backup}/meta/app_envs?name=zk_table`)).json(), expected);
  });
});
