// Remote commands against real processes: one meta and two replica servers answer
// RPC_CLI_CLI_CALL and the same commands through POST /api; the meta's cluster commands run
// through /api; `pteron shell` sends remote_command to every replica server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { RPCS } from '../../src/wire/index.ts';
import { RemoteCommandRegistry, RemoteCommandArgumentError } from '../../src/diag/remote/index.ts';
import { fastClusterSettings, freePort, PROJECT_ROOT, type RunningProcess, startPteron, waitFor } from '../helpers/process.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('remote command registry', () => {
  test('unknown commands, bad arguments and failures become text', async () => {
    const registry = new RemoteCommandRegistry();
    registry.register({ names: ['echo'], help: 'echo', usage: '<word>', handler: (args) => {
      if (args.length !== 1) throw new RemoteCommandArgumentError('one word');
      return args[0]!;
    } });
    registry.register({ names: ['boom'], help: 'fails', handler: () => { throw new Error('kaput'); } });
    assert.equal(await registry.run('echo', ['hi']), 'hi');
    assert.equal(await registry.run('nosuch', []), "unknown command 'nosuch'");
    assert.equal(await registry.run('echo', []), 'ERR: one word\nUSAGE: echo <word>');
    assert.equal(await registry.run('boom', []), 'ERR: boom failed: kaput');
    assert.throws(() => registry.register({ names: ['echo'], help: '', handler: () => '' }));
  });
});

describe('remote commands on a meta and two replica servers', () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-remote-command-'));
  let metaPort = 0;
  let meta: RunningProcess;
  const replicas: RunningProcess[] = [];
  const clients: RpcClient[] = [];

  const settings = (): string[] => fastClusterSettings(metaPort, 'test');

  const call = async (port: number, cmd: string, args: string[] = []): Promise<string> => {
    const client = new RpcClient(parseHostPort(`127.0.0.1:${port}`), { timeoutMs: 5000 });
    clients.push(client);
    const reply = await client.callRpc(RPCS.RPC_CLI_CLI_CALL, { cmd, arguments: args });
    assert.equal(reply.error, 'ERR_OK');
    return reply.result!;
  };

  const exec = async (server: RunningProcess, command: string): Promise<Json> => {
    const response = await fetch(`${server.url}/api`, { method: 'POST', body: JSON.stringify({ action: 'exec', command }) });
    assert.equal(response.status, 200);
    const json = (await response.json()) as Json;
    assert.equal(json.state, 'SUCCEEDED', JSON.stringify(json));
    return json.body.results as Json[];
  };
  /** The text of a command that printed one result and ended with status 0. */
  const execText = async (server: RunningProcess, command: string): Promise<string> => {
    const results = await exec(server, command);
    assert.equal(results.at(-1).statusCode, 0, `${command}: ${JSON.stringify(results)}`);
    return results[0].result as string;
  };

  before(async () => {
    metaPort = await freePort();
    meta = await startPteron('meta', {
      port: metaPort,
      args: [
        ...settings(),
        '--set', `core.data_dir=${path.join(dataRoot, 'meta')}`,
        '--set', 'meta_server.min_live_node_count_for_unfreeze=1',
        '--set', 'meta_server.apps.temp.partition_count=4',
        '--set', 'meta_server.apps.temp.max_replica_count=2',
      ],
    });
    for (let index = 0; index < 2; index++) {
      replicas.push(await startPteron('replica', { args: [...settings(), '--set', `core.data_dir=${path.join(dataRoot, `replica${index}`)}`] }));
    }
    await waitFor('table temp served by both replica servers', async () => {
      const text = await execText(meta, 'app temp -d');
      if (!/fully_healthy_partition_count\s*:\s*4\n/.test(text)) return false;
      for (const replica of replicas) {
        if (!/^total [2-4] replicas$/m.test(await call(replica.port, 'replica.replicas'))) return false;
      }
      return true;
    }, 60_000, 200);
  });

  after(async () => {
    for (const client of clients) client.close();
    await Promise.all([...replicas.map((replica) => replica.stop()), meta?.stop()]);
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('RPC_CLI_CLI_CALL help, server-info, config-dump and an unknown command on every role', async () => {
    for (const [role, port] of [['meta', metaPort], ['replica', replicas[0]!.port]] as const) {
      const help = await call(port, 'help');
      for (const name of ['help', 'server-info', 'server-stat', 'config-dump', 'flush-log']) assert.match(help, new RegExp(`^${name}`, 'm'), `${role}: ${help}`);
      assert.match(help, role === 'meta' ? /^meta\.live_percentage/m : /^replica\.replicas/m);
      assert.match(await call(port, 'help', ['server-info']), /^server-info\n/);
      assert.equal(await call(port, 'h', ['server-info']), await call(port, 'help', ['server-info']));
      const info = JSON.parse(await call(port, 'server-info')) as Record<string, string>;
      assert.deepEqual(Object.keys(info), ['version', 'build_type', 'git_SHA', 'start_time', 'role']);
      assert.match(info.version!, /^2\.6\.0-pteron-/);
      assert.match(info.start_time!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
      assert.equal(info.role, role);
      const dump = await call(port, 'config-dump');
      assert.match(dump, new RegExp(`^meta_server\\.server_list = 127\\.0\\.0\\.1:${metaPort}$`, 'm'));
      assert.match(dump, /^replication\.fd_grace_seconds = 3$/m);
      assert.match(await call(port, 'config-dump', ['replication']), /^replication\.cluster_name = test$/m);
      assert.equal(await call(port, 'no-such-command'), "unknown command 'no-such-command'");
      assert.match(await call(port, 'server-info', ['extra']), /^ERR: server-info takes no arguments\nUSAGE: /);
      assert.match(await call(port, 'server-stat'), new RegExp(`^role=${role}, uptime_s=\\d+, memused_res\\(MB\\)=`));
      assert.equal(await call(port, 'flush-log'), 'Flush done.');
    }
    assert.equal(await call(metaPort, 'meta.live_percentage'), '100');
    assert.match(await call(metaPort, 'meta.list_nodes'), /ALIVE\n.*ALIVE\ntotal 2$/);
    const hosted = await call(replicas[0]!.port, 'replica.replicas');
    assert.match(hosted, /^1\.\d app_name=temp status=PS_(PRIMARY|SECONDARY) state=\w+ ballot=\d+/m);
    assert.match(hosted, /^total [2-4] replicas$/m);
    assert.match(await call(replicas[0]!.port, 'replica.replicas', ['x']), /^ERR: invalid app_id "x"/);
    assert.match(await call(replicas[0]!.port, 'replica.query-app-envs', ['1']), /^\[1\] temp/);
    assert.match(await call(replicas[1]!.port, 'server-stat'), /replica_count=[2-4], primary_replica_count=\d/);
  });

  test('the same commands through POST /api exec', async () => {
    for (const [role, server] of [['meta', meta], ['replica', replicas[1]!]] as const) {
      assert.match(await execText(server, 'remote-command help'), /^config-dump \[section\]$/m);
      assert.equal(JSON.parse(await execText(server, 'server-info')).role, role);
      assert.equal(JSON.parse(await execText(server, 'remote-command server-info')).role, role);
      assert.match(await execText(server, 'config-dump'), /^replication\.cluster_name = test$/m);
      assert.equal(await execText(server, 'remote-command nosuch'), "unknown command 'nosuch'");
      const results = await exec(server, 'remote-command');
      assert.notEqual(results.at(-1).statusCode, 0, JSON.stringify(results));
    }
    assert.match(await execText(replicas[1]!, 'replica-replicas'), /^total [2-4] replicas$/m);
    assert.equal(await execText(meta, 'meta-live_percentage'), '100');
  });

  test('the meta answers ls, nodes -d, app temp -d and cluster_info over /api as the shell prints them', async () => {
    const ls = await execText(meta, 'ls');
    assert.match(ls, /\[general_info\]/);
    assert.match(ls, /^1\s+AVAILABLE\s+temp\s+pegasus\s+4\s+2\s+true/m);
    assert.match(ls, /total_app_count\s+:?\s*1/);
    const nodes = await execText(meta, 'nodes -d');
    for (const replica of replicas) assert.match(nodes, new RegExp(`^127\\.0\\.0\\.1:${replica.port}\\s+ALIVE\\s+4\\s+\\d\\s+\\d`, 'm'));
    assert.match(nodes, /alive_node_count\s+:?\s*2/);
    const app = await execText(meta, 'app temp -d');
    assert.match(app, /\[replicas\]/);
    assert.match(app, /^3\s+\d+\s+2\/2\s+127\.0\.0\.1:\d+\s+\[127\.0\.0\.1:\d+\]\s*$/m);
    assert.match(await execText(meta, 'cluster_info'), new RegExp(`primary_meta_server\\s+:?\\s*127\\.0\\.0\\.1:${metaPort}`));
    const missing = await exec(meta, 'app nosuch');
    assert.notEqual(missing.at(-1).statusCode, 0);
    assert.equal(missing.at(-1).message, 'query app nosuch failed, error=ERR_OBJECT_NOT_FOUND');
    const badStatus = await exec(meta, 'nodes -s sleepy');
    assert.notEqual(badStatus.at(-1).statusCode, 0);
    assert.match(badStatus.at(-1).message, /unknown node status "sleepy"/);
  });

  test('pteron shell remote_command -t replica-server server-info reaches every replica server', async () => {
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'shell', '--meta', `127.0.0.1:${metaPort}`,
        '-e', 'remote_command -t replica-server server-info', '-e', `remote_command -l 127.0.0.1:${metaPort} nosuch`], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, PTERON_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk) => (stdout += chunk));
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('error', reject);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^COMMAND: server-info$/m);
    for (const replica of replicas) {
      assert.match(run.stdout, new RegExp(`^CALL \\[replica-server\\] \\[127\\.0\\.0\\.1:${replica.port}\\] succeed: \\{"version":"2\\.6\\.0-pteron-[^\\n]*"role":"replica"\\}$`, 'm'));
    }
    assert.match(run.stdout, /Succeed count: 2\nFailed count: 0\n/);
    assert.match(run.stdout, new RegExp(`^CALL \\[user-specified\\] \\[127\\.0\\.0\\.1:${metaPort}\\] succeed: unknown command 'nosuch'$`, 'm'));
 
    const deadPort = await freePort();
    const failed = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'shell', '--meta', `127.0.0.1:${metaPort}`,
        '--keep-going', '-e', `remote_command -l 127.0.0.1:${deadPort},127.0.0.1:${metaPort} server-stat`, '-e', 'remote_command -t nowhere help'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, PTERON_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout!.on('data', (chunk) => (stdout += chunk));
      child.stderr!.on('data', (chunk) => (stdout += chunk));
      child.once('exit', (code) => resolve({ code, stdout }));
    });
    assert.notEqual(failed.code, 0);
    assert.match(failed.stdout, new RegExp(`^CALL \\[user-specified\\] \\[127\\.0\\.0\\.1:${deadPort}\\] failed: `, 'm'));
    assert.match(failed.stdout, new RegExp(`^CALL \\[user-specified\\] \\[127\\.0\\.0\\.1:${metaPort}\\] succeed: role=meta, `, 'm'));
    assert.match(failed.stdout, /Succeed count: 1\nFailed count: 1\n/);
    assert.match(failed.stdout, /ERROR: invalid node type 'nowhere'\n/);
    assert.match(failed.stdout, /USAGE: .*remote_command/);
  });
});
