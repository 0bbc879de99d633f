// Generic `app` services under a real supervisor: restart policies (always with growing
// backoff, on-failure, never), output captured to rotating logs, dependencies, process trees
// in /service/metrics, and stopping a whole process group, with SIGKILL after the grace time
// for a process that ignores its stop signal.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, sleep, waitFor, spawnSupervisor } from '../helpers/process.ts';

/** Running: it exists and is not a zombie waiting for its new parent to reap it. */
function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return !/^\d+ \(.*\) Z/.test(stat);
}

describe('app services', { timeout: 240_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pteron-supervisor-apps-'));
  let port = 0;
  let webPort = 0;
  let supervisor: ChildProcess;
  let output = '';
  const pids = new Set<number>();

  const get = async (target: string): Promise<any> => {
    const response = await fetch(`http://127.0.0.1:${port}${target}`);
    assert.equal(response.status, 200);
    return response.json();
  };
  const post = async (target: string): Promise<{ status: number; json: any }> => {
    const response = await fetch(`http://127.0.0.1:${port}${target}`, { method: 'POST' });
    return { status: response.status, json: await response.json() };
  };
  const processes = async (service: string): Promise<any[]> => {
    const list = ((await get(`/service/metrics/${service}`)).processes ?? []) as any[];
    for (const entry of list) for (const pid of Object.keys(entry.tree)) pids.add(Number(pid));
    return list;
  };

  before(async () => {
    port = await freePort();
    webPort = await freePort();
    const node = JSON.stringify(process.execPath);
    fs.writeFileSync(path.join(dir, 'pteron.yml'), `
supervisor:
  port: ${port}
  run_dir: run
  log_dir: logs
  log_max_size: 2kb
  log_files: 2
x-quick: &quick
  restart: { policy: always, backoff: 100ms, backoff_max: 400ms, reset_after: 1m }
  stop: { grace: 2s }
services:
  chatty:
    <<: *quick
    kind: app
    command: [${node}, -e, "let n = 0; setInterval(() => { console.log('out line ' + n); console.error('err line ' + n++); }, 20)"]
  web:
    <<: *quick
    kind: app
    port: ${webPort}
    depends_on: [chatty]
    # a text command runs through the shell
    command: |-
      ${node} -e "process.on('SIGTERM', () => {}); require('http').createServer((q, s) => s.end('ok')).listen({port: Number(process.env.WEB_PORT), host: '127.0.0.1'})"
    env: { WEB_PORT: "{port}" }
    health: { http: /, interval: 200ms, timeout: 500ms, start_timeout: 10s }
    stop: { signal: SIGTERM, grace: 700ms }
  crasher:
    <<: *quick
    kind: app
    command: [${node}, -e, "process.exit(3)"]
  finisher:
    kind: app
    command: [${node}, -e, "process.exit(0)"]
    restart: { policy: on-failure }
  once:
    kind: app
    command: [${node}, -e, "process.exit(1)"]
    restart: { policy: never }
  tree:
    <<: *quick
    kind: app
    command: [/bin/sh, -c, "sleep 300 & sleep 300 & wait"]
`);
    supervisor = spawnSupervisor(path.join(dir, 'pteron.yml'), (chunk) => (output += chunk));
    try {
      await waitFor('web healthy', async () => (await get('/service/health/web')).healthy === 1, 60_000, 100);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
  });

  after(async () => {
    if (supervisor.exitCode === null && supervisor.signalCode === null) {
      supervisor.kill('SIGTERM');
      await waitFor('supervisor exit', () => supervisor.exitCode !== null || supervisor.signalCode !== null, 20000).catch(() => supervisor.kill('SIGKILL'));
    }
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('restart policies: always restarts with a growing delay, on-failure leaves a clean exit, never leaves any exit', async () => {
    // Each crash is a node start, a second or more on a busy machine: the cap takes a few.
    await waitFor('crasher backing off at the cap', async () => /restarting in [3-4]\d\dms/.test((await get('/service/health/crasher')).err ?? ''), 40_000, 20);
    const crasher = await get('/service/health/crasher');
    assert.equal(crasher.status, 'Down');
    assert.match(crasher.err, /^crasher1: restarting in \d+ms after exit \(code 3\)$/);
    assert.ok([...output.matchAll(/"instance":"crasher1".*?"role":"supervisor","name":"[^"]+","address":"127.0.0.1:\d+".*?"msg":"started"/g)].length >= 3);
    await waitFor('finisher exited', async () => (await get('/service/health/finisher')).err === 'finisher1: exit (code 0); restart policy on-failure', 20_000, 50);
    await waitFor('once exited', async () => (await get('/service/health/once')).err === 'once1: exit (code 1); restart policy never', 20_000, 50);
    await sleep(300);
    assert.equal([...output.matchAll(/"instance":"once1".*?"msg":"started"/g)].length, 1);
    assert.equal([...output.matchAll(/"instance":"finisher1".*?"msg":"started"/g)].length, 1);
  });

  test('stdout and stderr go to the instance log, rotated at log_max_size', async () => {
    await waitFor('the log rotated', () => fs.existsSync(path.join(dir, 'logs', 'chatty1.log.1')), 30_000, 50);
    const current = fs.readFileSync(path.join(dir, 'logs', 'chatty1.log'), 'utf8');
    const previous = fs.readFileSync(path.join(dir, 'logs', 'chatty1.log.1'), 'utf8');
    assert.match(previous, /^out line \d+\nerr line \d+\n/m);
    assert.ok(fs.statSync(path.join(dir, 'logs', 'chatty1.log.1')).size <= 2048);
    assert.ok(current.length <= 2048);
    assert.ok(!fs.existsSync(path.join(dir, 'logs', 'chatty1.log.2')), 'log_files: 2 keeps one old file');
  });

  test('dependencies: web started once chatty was healthy', () => {
    const chattyHealthy = output.indexOf('"instance":"chatty1"');
    const webStarted = output.search(/"service":"web".*"msg":"starting service"/);
    assert.ok(chattyHealthy >= 0 && webStarted > chattyHealthy);
    assert.ok(/"instance":"chatty1".*"msg":"healthy"[^]*"service":"web".*"msg":"starting service"/.test(output));
  });

  test('a process tree: usage summed over the shell and its children; stop ends the whole group', async () => {
    let entry: any;
    await waitFor('three processes in the tree', async () => {
      [entry] = await processes('tree');
      return entry !== undefined && Object.keys(entry.tree).length === 3;
    }, 30_000, 50);
    const members = Object.keys(entry.tree).map(Number);
    assert.equal(members[0], entry.pid);
    const rssSum = members.reduce((sum, pid) => sum + (entry.tree[pid].rss ?? 0), 0);
    assert.equal(entry.rss, rssSum);
    assert.match(entry.cmd, /^\/bin\/sh -c sleep 300 & sleep 300 & wait$/);
    assert.equal(entry.tree[members[1]!].cmd, 'sleep 300');
    assert.equal(entry.counters, undefined, 'apps publish no Pteron counters');
    assert.deepEqual((await post('/service/stop/tree')).json, { count: 1 });
    // The shell is the supervisor's child; its own children are reaped by whoever adopts them.
    assert.ok(!alive(members[0]!));
    await waitFor('every member of the group gone', () => members.every((pid) => !alive(pid)), 15_000, 20);
    assert.deepEqual(await get('/service/health/tree'), { status: 'Down', healthy: 0, total: 0, err: 'shutdown' });
  });

  test('a process that ignores the stop signal is killed after the grace time', async () => {
    const [entry] = await processes('web');
    const startMs = Date.now();
    assert.deepEqual((await post('/service/stop/web')).json, { count: 1 });
    const tookMs = Date.now() - startMs;
    assert.ok(!alive(entry.pid));
    // At least the 700 ms grace; the upper bound only tells the SIGKILL from a process never stopped.
    assert.ok(tookMs >= 650 && tookMs < 30_000, `stop took ${tookMs} ms`);
    // The supervisor's log reaches us through a pipe, which may deliver the line after the HTTP answer.
    await waitFor('the SIGKILL logged', () => /"instance":"web1".*"msg":"grace time over; SIGKILL"/.test(output), 30_000, 50);
    assert.deepEqual((await post('/service/restart/web')).json, { count: 1 });
    assert.equal((await fetch(`http://127.0.0.1:${webPort}/`).then((response) => response.text())), 'ok');
  });

  test('/shutdown answers {} and stops everything, then the supervisor exits', async () => {
    const live = [...(await processes('chatty')), ...(await processes('web'))].map((entry) => entry.pid);
    const response = await fetch(`http://127.0.0.1:${port}/shutdown`, { method: 'POST' });
    assert.deepEqual([response.status, await response.text()], [200, '{}']);
    await waitFor('supervisor exit', () => supervisor.exitCode !== null, 15000, 50);
    assert.equal(supervisor.exitCode, 0);
    for (const pid of live) assert.ok(!alive(pid));
    assert.ok(!fs.existsSync(path.join(dir, 'run', 'supervisor.pid')), 'the run directory is released');
  });
});
