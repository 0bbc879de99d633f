// `pteron onebox` as a user runs it: a server killed with SIGKILL is reported and restarted
// while the others keep running; a second, named cluster runs beside the first on other ports;
// `onebox list`, `stop` (every process gone within the grace) and `clear`.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { alive, freePort, PROJECT_ROOT, waitFor, stopWithTestProcess } from '../helpers/process.ts';

const MAIN = path.join(PROJECT_ROOT, 'src/cli/main.ts');

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port whose servers' ports (base+1, base+201 and the same +1000 for the second cluster) are free. */
async function freeBasePort(): Promise<number> {
  for (;;) {
    const base = (await freePort()) - 1;
    const ports = [base + 201, base + 1001, base + 1201];
    if ((await Promise.all(ports.map(canListen))).every(Boolean)) return base;
  }
}

async function answers(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/version`)).status === 200;
  } catch {
    return false;
  }
}

interface StateFile { pid: number; processes: Array<{ name: string; pid: number; restarts: number }> }

describe('pteron onebox', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pteron-onebox-'));
  const oneboxes: ChildProcess[] = [];
  let output = '';

  /** Runs `pteron onebox ...` without blocking this process, which must keep reading the running oneboxes' output. */
  const pteron = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, 'onebox', ...args, '--dir', root], {
      cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, PTERON_LOG_LEVEL: 'warn' },
    }, (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
  const start = (...args: string[]): ChildProcess => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'onebox', ...args, '--dir', root], {
      cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PTERON_LOG_LEVEL: 'warn' },
    });
    stopWithTestProcess(child);
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    oneboxes.push(child);
    return child;
  };
  const state = (dir: string): StateFile => JSON.parse(readFileSync(path.join(dir, 'onebox.json'), 'utf8')) as StateFile;

  after(async () => {
    for (const child of oneboxes) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('restarts a killed server, runs a second cluster beside the first, lists, stops and clears them', async () => {
    const base = await freeBasePort();
    const first = start('--metas', '1', '--replicas', '1', '--base-port', String(base));
    const second = start('--cluster', 'second', '--metas', '1', '--replicas', '1', '--base-port', String(base));
    try {
      for (const port of [base + 1, base + 201, base + 1001, base + 1201]) {
        await waitFor(`server on ${port}`, () => answers(port), 60_000, 200);
      }
      const clusterName = async (port: number): Promise<unknown> => ((await (await fetch(`http://127.0.0.1:${port}/config?name=cluster_name`)).json()) as { value: string }).value;
      assert.equal(await clusterName(base + 201), 'onebox');
      assert.equal(await clusterName(base + 1201), 'second');

      // SIGKILL the replica server: the meta keeps running, the replica comes back.
      const killed = state(root).processes.find((entry) => entry.name === 'replica1')!;
      process.kill(killed.pid, 'SIGKILL');
      await waitFor('replica1 restarted', () => {
        const now = state(root).processes.find((entry) => entry.name === 'replica1')!;
        return now.restarts === 1 && now.pid > 0 && now.pid !== killed.pid;
      }, 60_000, 200);
      await waitFor('the restarted replica answering', () => answers(base + 201), 60_000, 200);
      assert.ok(await answers(base + 1), 'the meta kept running');
      assert.equal(first.exitCode, null);
      assert.match(output, /onebox: replica1 on 127\.0\.0\.1:\d+ exited \(SIGKILL\) after \d+ s; restarting it in 1 s, the others keep running/);

      const listed = await pteron('list');
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, /^onebox +replica1 +replica +\d+ +\d+ +running +1 *$/m);
      assert.match(listed.stdout, /^second +meta1 +meta +\d+ +\d+ +running +0 *$/m);

      // A second start of a running cluster is refused.
      const again = await pteron('--cluster', 'second', '--base-port', String(base));
      assert.equal(again.status, 2);
      assert.match(again.stderr, /onebox second is already running \(pid \d+\)/);

      const pids = [...state(root).processes, ...state(path.join(root, 'clusters/second')).processes].map((entry) => entry.pid);
      const stoppedAt = Date.now();
      const stopped = await pteron('stop');
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.match(stopped.stdout, /onebox onebox: stopped/);
      assert.ok(pids.slice(0, 2).every((pid) => !alive(pid)), 'the first cluster\'s servers are gone');
      assert.ok(Date.now() - stoppedAt < 15_000, `stopped in ${Date.now() - stoppedAt} ms`);
      assert.ok(await answers(base + 1001), 'the second cluster keeps running');

      const cleared = await pteron('clear', '--cluster', 'second');
      assert.equal(cleared.status, 0, cleared.stderr);
      assert.ok(pids.every((pid) => !alive(pid)));
      assert.ok(!existsSync(path.join(root, 'clusters/second')));
      assert.ok(existsSync(path.join(root, 'onebox.json')) && state(root).pid === 0);
      await waitFor('both oneboxes exited', () => first.exitCode !== null && second.exitCode !== null, 60_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
  });
});
