// Every state-changing call of real servers (a meta, three replica servers, a supervisor) made
// from a caller the configuration does not trust: refused with ERR_ACL_DENY (HTTP 403 with a
// JSON error, or the RPC error) and nothing changes; with the admin secret, accepted; reads are
// served either way.
//
// The cluster trusts only ::1, so every IPv4 caller is remote, the servers among themselves
// included: the cluster gets healthy only because its servers present the secret to one another,
// as servers on different machines do. The test's own calls are bound to 127.0.0.2.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RpcClient } from '../../src/net/rpc/client.ts';
import { AppEnvOperation, AppStatus, decodeResult, encodeArgs, MetaFunctionLevel, RPCS, type AnyRpcDefinition } from '../../src/wire/structs/index.ts';
import { TestCluster } from '../helpers/data-plane.ts';
import { httpFrom, type HttpFromResponse } from '../helpers/http-from.ts';
import { freePort, PROJECT_ROOT, stopWithTestProcess, waitFor } from '../helpers/process.ts';
import { runShellProcess } from '../helpers/shell-process.ts';

const REMOTE = '127.0.0.2';
const SECRET = 'correct horse battery staple';
const NOT_THRIFT = Buffer.from([0xff]);

/**
 * The meta's guarded RPCs, each with its arguments: real ones where the effect is
 * checked, else bytes no handler decodes.
 */
function metaCalls(table: string): Array<[AnyRpcDefinition, Buffer]> {
  const real: Array<[AnyRpcDefinition, Buffer]> = [
    [RPCS.RPC_CM_CREATE_APP, encodeArgs(RPCS.RPC_CM_CREATE_APP.args, {
      appName: table,
      options: { partitionCount: 2, replicaCount: 3, successIfExist: false, appType: 'pegasus', isStateful: true, envs: new Map() },
    })],
    [RPCS.RPC_CM_UPDATE_APP_ENV, encodeArgs(RPCS.RPC_CM_UPDATE_APP_ENV.args, {
      appName: 'temp', op: AppEnvOperation.APP_ENV_OP_SET, keys: ['replica.slow_query_threshold'], values: ['200'],
    })],
    [RPCS.RPC_CM_CONTROL_META, encodeArgs(RPCS.RPC_CM_CONTROL_META.args, { level: MetaFunctionLevel.fl_invalid })],
  ];
  const others = [
    'RPC_CM_DROP_APP', 'RPC_CM_RECALL_APP', 'RPC_CM_RENAME_APP', 'RPC_CM_PROPOSE_BALANCER', 'RPC_CM_SET_MAX_REPLICA_COUNT',
    'RPC_CM_SET_ATOMIC_IDEMPOTENT', 'RPC_CM_START_RECOVERY', 'RPC_CM_START_MANUAL_COMPACT', 'RPC_CM_ADD_DUPLICATION',
    'RPC_CM_MODIFY_DUPLICATION', 'RPC_CM_ADD_BACKUP_POLICY', 'RPC_CM_MODIFY_BACKUP_POLICY', 'RPC_CM_START_BACKUP_APP',
    'RPC_CM_START_RESTORE', 'RPC_CM_START_PARTITION_SPLIT', 'RPC_CM_CONTROL_PARTITION_SPLIT', 'RPC_CLI_CLI_CALL',
    // What replica servers send the meta.
    'RPC_FD_FAILURE_DETECTOR_PING', 'RPC_CM_CONFIG_SYNC', 'RPC_CM_UPDATE_PARTITION_CONFIGURATION', 'RPC_CM_DUPLICATION_SYNC',
    'RPC_CM_REPORT_RESTORE_STATUS', 'RPC_CM_REGISTER_CHILD_REPLICA', 'RPC_CM_NOTIFY_STOP_SPLIT',
  ] as const;
  return [...real, ...others.map((name): [AnyRpcDefinition, Buffer] => [RPCS[name], NOT_THRIFT])];
}

/** The replica server's guarded RPCs that are answered. */
const REPLICA_CALLS = ['RPC_COLD_BACKUP', 'RPC_DETECT_HOTKEY', 'RPC_CLI_CLI_CALL', 'RPC_LEARN_CHECKPOINT_CHUNK'] as const;
/** The replica server's guarded one-way RPCs: a refused one is dropped and counted. */
const REPLICA_ONEWAY = [
  'RPC_CONFIG_PROPOSAL', 'RPC_PREPARE', 'RPC_PREPARE_ACK', 'RPC_GROUP_CHECK', 'RPC_GROUP_CHECK_ACK',
  'RPC_LEARN_ADD_LEARNER', 'RPC_LEARN', 'RPC_LEARN_REPLY', 'RPC_LEARN_COMPLETION_NOTIFY',
] as const;

/** The value of a server-level counter in `/metrics`. */
async function serverCounter(port: number, name: string): Promise<number> {
  const response = await httpFrom(REMOTE, port, `/metrics?metrics=${name}`);
  assert.equal(response.status, 200, response.body);
  const entities = (JSON.parse(response.body) as { entities: Array<{ type: string; metrics: Array<{ name: string; value: number }> }> }).entities;
  for (const entity of entities) for (const metric of entity.metrics) if (metric.name === name) return metric.value;
  return 0;
}

function assertRefused(response: HttpFromResponse, reason = 'secret_missing'): void {
  assert.equal(response.status, 403, response.body);
  assert.equal(response.contentType, 'application/json');
  const body = JSON.parse(response.body) as { error: string; reason: string };
  assert.equal(body.error, 'ERR_ACL_DENY');
  assert.equal(body.reason, reason);
}

describe('state-changing calls of a meta and its replica servers from a remote caller', { timeout: 300_000 }, () => {
  const cluster = new TestCluster({
    partitionCount: 4,
    settings: [`security.admin_secret=${SECRET}`, 'security.trusted_addresses=::1'],
  });
  const clients: RpcClient[] = [];
  const rpc = (port: number, secret: string): RpcClient => {
    const client = new RpcClient({ host: '127.0.0.1', port }, { localAddress: REMOTE, secret, timeoutMs: 60_000 });
    clients.push(client);
    return client;
  };
  /** What the refused calls could have changed. */
  const snapshot = async (): Promise<string[]> => {
    const meta = cluster.metaPort;
    return Promise.all([
      httpFrom(REMOTE, meta, '/meta/apps?detail'), httpFrom(REMOTE, meta, '/meta/app_envs?name=temp'),
      httpFrom(REMOTE, meta, '/config?name=max_request_body_bytes'), httpFrom(REMOTE, cluster.replicaPorts[0]!, '/config?name=max_request_body_bytes'),
    ].map(async (pending) => (await pending).body));
  };

  before(async () => {
    await cluster.start();
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await cluster.stop();
  });

  test('the cluster heals with every server remote to the others: they present the secret to one another', async () => {
    await cluster.waitHealthy('temp', 4);
  });

  test('without the secret (or with a wrong one) every guarded RPC is refused with ERR_ACL_DENY and nothing changes', async () => {
    const before = await snapshot();
    for (const secret of ['', 'wrong horse']) {
      const meta = rpc(cluster.metaPort, secret);
      for (const [definition, args] of metaCalls('sec_rpc')) {
        assert.equal((await meta.call(definition.name, args)).error, 'ERR_ACL_DENY', definition.name);
      }
      const replicaPort = cluster.replicaPorts[0]!;
      const replica = rpc(replicaPort, secret);
      for (const name of REPLICA_CALLS) assert.equal((await replica.call(name, NOT_THRIFT)).error, 'ERR_ACL_DENY', name);
      const deniedBefore = await serverCounter(replicaPort, 'rpc_access_denied');
      for (const name of REPLICA_ONEWAY) await replica.send(name, NOT_THRIFT);
      await waitFor('the one-way RPCs counted as refused', async () =>
        (await serverCounter(replicaPort, 'rpc_access_denied')) >= deniedBefore + REPLICA_ONEWAY.length, 60_000, 100);
    }
    assert.deepEqual(await snapshot(), before);
    // Reads and the data plane are served.
    const meta = rpc(cluster.metaPort, '');
    const listed = await meta.callRpc(RPCS.RPC_CM_LIST_APPS, { status: AppStatus.AS_INVALID });
    assert.equal(listed.error, 'ERR_OK');
    assert.ok(!listed.result!.infos.some((info) => info.appName === 'sec_rpc'));
    assert.equal((await meta.callRpc(RPCS.RPC_CM_CLUSTER_INFO, {})).error, 'ERR_OK');
  });

  test('with the secret each passes the check: the real ones take effect, the others reach their handler', async () => {
    const meta = rpc(cluster.metaPort, SECRET);
    for (const [definition, args] of metaCalls('sec_rpc')) {
      const reply = await meta.call(definition.name, args);
      if (args === NOT_THRIFT) {
        assert.equal(reply.error, 'ERR_INVALID_DATA', definition.name);
        continue;
      }
      assert.equal(reply.error, 'ERR_OK', definition.name);
      // The answer's own error: every real call's answer struct starts with it.
      const answer = decodeResult(definition.result!, reply.result) as { err: string };
      assert.equal(answer.err, 'ERR_OK', definition.name);
    }
    const listed = await meta.callRpc(RPCS.RPC_CM_LIST_APPS, { status: AppStatus.AS_INVALID });
    assert.ok(listed.result!.infos.some((info) => info.appName === 'sec_rpc'));
    // Healthy before the next test compares snapshots of the tables.
    await cluster.waitHealthy('sec_rpc', 2);
    assert.match((await httpFrom(REMOTE, cluster.metaPort, '/meta/app_envs?name=temp')).body, /"replica\.slow_query_threshold":"200"/);
    const replica = rpc(cluster.replicaPorts[0]!, SECRET);
    for (const name of REPLICA_CALLS) assert.equal((await replica.call(name, NOT_THRIFT)).error, 'ERR_INVALID_DATA', name);
  });

  test('state-changing HTTP calls: 403 ERR_ACL_DENY without the secret, nothing changes; accepted with it', async () => {
    const meta = cluster.metaPort;
    const replica = cluster.replicaPorts[1]!;
    const compaction = JSON.stringify({
      app_name: 'temp', type: 'once', target_level: -1, bottommost_level_compaction: 'skip', max_concurrent_running_count: 0, trigger_time: '',
    });
    const scenario = JSON.stringify({ app_name: 'temp', scenario: 'bulk_load' });
    const apiExec = JSON.stringify({ action: 'exec', command: 'version' });
    const calls: Array<[number, string, string | undefined]> = [
      [meta, '/updateConfig?max_request_body_bytes=65536', undefined],
      [replica, '/updateConfig?max_request_body_bytes=65536', undefined],
      [meta, '/meta/app/start_compaction', compaction],
      [meta, '/meta/app/usage_scenario', scenario],
      [meta, '/api', apiExec],
    ];
    const before = await snapshot();
    for (const [port, target, body] of calls) {
      assertRefused(await httpFrom(REMOTE, port, target, { body }));
      assertRefused(await httpFrom(REMOTE, port, target, { body, headers: { Authorization: 'Bearer wrong horse' } }), 'secret_wrong');
    }
    assertRefused(await httpFrom(REMOTE, meta, '/ui/ws', { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } }));
    assert.deepEqual(await snapshot(), before);
    // Reads are served.
    for (const target of ['/version', '/meta/app?name=temp', '/meta/apps', '/metrics', '/configs']) {
      assert.equal((await httpFrom(REMOTE, meta, target)).status, 200, target);
    }

    const withSecret = { Authorization: `Bearer ${SECRET}` };
    for (const [port, target, body] of calls.slice(0, 4)) {
      const accepted = await httpFrom(REMOTE, port, target, { body, headers: withSecret });
      assert.equal(accepted.status, 200, `${target}: ${accepted.body}`);
      assert.match(accepted.body, /ERR_OK/, target);
    }
    // /api keeps its own Authorization for its credentials: the secret can go in X-Pteron-Secret.
    const api = await httpFrom(REMOTE, meta, '/api', { body: apiExec, headers: { 'X-Pteron-Secret': SECRET } });
    assert.equal(api.status, 200, api.body);
    assert.equal((JSON.parse(api.body) as { state: string }).state, 'SUCCEEDED');
    assert.match((await httpFrom(REMOTE, meta, '/config?name=max_request_body_bytes')).body, /65536/);
    assert.match((await httpFrom(REMOTE, replica, '/config?name=max_request_body_bytes')).body, /65536/);
    const envs = (await httpFrom(REMOTE, meta, '/meta/app_envs?name=temp')).body;
    assert.match(envs, /manual_compact\.once\.trigger_time/);
    assert.match(envs, /"rocksdb\.usage_scenario":"bulk_load"/);
  });

  test('the shell: refused without the secret, works with --secret or $PTERON_ADMIN_SECRET', async () => {
    const meta = ['--meta', `127.0.0.1:${cluster.metaPort}`];
    const refused = await runShellProcess([...meta, '-e', 'create sec_shell -p 2 -r 3']);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout + refused.stderr, /ERR_ACL_DENY/);
    const viaFlag = await runShellProcess([...meta, '--secret', SECRET, '-e', 'create sec_shell -p 2 -r 3']);
    assert.equal(viaFlag.code, 0, viaFlag.stdout + viaFlag.stderr);
    const viaEnv = await runShellProcess([...meta, '-e', 'drop sec_shell'], undefined, { PTERON_ADMIN_SECRET: SECRET });
    assert.equal(viaEnv.code, 0, viaEnv.stdout + viaEnv.stderr);
    const listed = await runShellProcess([...meta, '-e', 'ls']);
    assert.equal(listed.code, 0, listed.stdout + listed.stderr);
    assert.doesNotMatch(listed.stdout, /sec_shell/);
  });
});

describe('state-changing calls of a supervisor from a remote caller', { timeout: 240_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pteron-security-supervisor-'));
  let port = 0;
  let supervisor: ChildProcess;
  let output = '';
  const runId = async (): Promise<string> => {
    const listing = await httpFrom(REMOTE, port, '/service');
    assert.equal(listing.status, 200, listing.body);
    return String((JSON.parse(listing.body) as Record<string, string | null>).sleeper);
  };

  before(async () => {
    port = await freePort();
    fs.writeFileSync(path.join(dir, 'pteron.yml'), `
supervisor:
  port: ${port}
  run_dir: run
  log_dir: logs
  secret: ${SECRET}
  trusted_addresses: 127.0.0.1
services:
  sleeper:
    kind: app
    command: [${JSON.stringify(process.execPath)}, -e, "setInterval(() => {}, 1000)"]
    stop: { grace: 2s }
`);
    supervisor = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/main.ts'), 'supervisor', '--manifest', path.join(dir, 'pteron.yml')], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PTERON_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    stopWithTestProcess(supervisor);
    supervisor.stdout!.on('data', (chunk) => (output += chunk));
    supervisor.stderr!.on('data', (chunk) => (output += chunk));
    await waitFor('sleeper running', async () => (await runId()) !== 'null', 60_000, 100).catch((error: Error) => {
      throw new Error(`${error.message}\n${output}`);
    });
  });

  after(async () => {
    if (supervisor.exitCode === null && supervisor.signalCode === null) {
      supervisor.kill('SIGTERM');
      await waitFor('supervisor exit', () => supervisor.exitCode !== null || supervisor.signalCode !== null, 20_000).catch(() => supervisor.kill('SIGKILL'));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('restart, stop, reload, update and shutdown: refused without the secret, nothing changes; accepted with it', async () => {
    const first = await runId();
    const calls = ['/service/restart/sleeper', '/service/restart', '/service/stop/sleeper', '/service/stop', '/reload', '/repo/update', '/shutdown'];
    for (const target of calls) {
      assertRefused(await httpFrom(REMOTE, port, target, { method: 'POST' }));
      assertRefused(await httpFrom(REMOTE, port, target, { method: 'POST', headers: { Authorization: 'Bearer wrong horse' } }), 'secret_wrong');
    }
    assert.equal(await runId(), first);
    assert.equal(supervisor.exitCode, null);
    // Reads are served.
    for (const target of ['/service/health/sleeper', '/service/metrics', '/session', '/ping']) {
      assert.equal((await httpFrom(REMOTE, port, target)).status, 200, target);
    }

    const withSecret = { headers: { Authorization: `Bearer ${SECRET}` }, method: 'POST' };
    const restarted = await httpFrom(REMOTE, port, '/service/restart/sleeper', withSecret);
    assert.equal(restarted.status, 200, restarted.body);
    assert.deepEqual(JSON.parse(restarted.body), { count: 1 });
    await waitFor('a new run of sleeper', async () => !['null', first].includes(await runId()), 60_000, 100);
    const stopped = await httpFrom(REMOTE, port, '/service/stop/sleeper', { ...withSecret, headers: { 'X-Pteron-Secret': SECRET } });
    assert.equal(stopped.status, 200, stopped.body);
    // /repo/update passes the check (the manifest's folder is no git checkout: the update itself fails).
    const update = await httpFrom(REMOTE, port, '/repo/update', withSecret);
    assert.notEqual(update.status, 403, update.body);
    assert.doesNotMatch(update.body, /ERR_ACL_DENY/);
    const shutdown = await httpFrom(REMOTE, port, '/shutdown', withSecret);
    assert.equal(shutdown.status, 200, shutdown.body);
    await waitFor('the supervisor exited', () => supervisor.exitCode !== null || supervisor.signalCode !== null, 60_000, 100);
  });
});
