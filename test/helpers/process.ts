// Starts real `pteron` processes for tests, on free loopback ports, and stops them by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childCommand } from '../../src/supervisor/child-command.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/**
 * Ports for test servers come from below the kernel's ephemeral range, so no bind(0) and no
 * outgoing connection of any process is ever given one, and each is reserved across processes by
 * a file holding the reserving pid. A port handed out by the kernel instead could be handed out
 * again while its server is stopped for a restart: another test (or a bench run) would then
 * answer on it, and the restarted server could not listen.
 */
const TEST_PORT_MIN = 20000;
const TEST_PORT_MAX = 32000;
const PORT_RESERVATIONS = path.join(os.tmpdir(), 'pteron-test-ports');
const reservedHere: string[] = [];

function reservePort(port: number): boolean {
  const file = path.join(PORT_RESERVATIONS, String(port));
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch {
    // Taken: by a live process it stays so; one left by a process that is gone is taken over.
    const owner = Number(fs.readFileSync(file, 'utf8'));
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
    fs.writeFileSync(file, String(process.pid));
  }
  if (reservedHere.length === 0) process.once('exit', () => reservedHere.forEach((reserved) => fs.rmSync(reserved, { force: true })));
  reservedHere.push(file);
  return true;
}

/** Whether a process with this pid exists (one of another user's counts too). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  fs.mkdirSync(PORT_RESERVATIONS, { recursive: true });
  for (;;) {
    const port = TEST_PORT_MIN + Math.floor(Math.random() * (TEST_PORT_MAX - TEST_PORT_MIN));
    if (reservePort(port) && (await canListen(port))) return port;
  }
}

/**
 * `--set` arguments for the servers of a one-meta test cluster: beacons every second, declared
 * dead after 3 s, config sync every second, so a test sees a change within seconds.
 */
export function fastClusterSettings(metaPort: number, clusterName: string): string[] {
  return [
    `meta_server.server_list=127.0.0.1:${metaPort}`,
    `replication.cluster_name=${clusterName}`,
    'replication.fd_beacon_interval_seconds=1',
    'replication.fd_check_interval_seconds=1',
    'replication.fd_lease_seconds=2',
    'replication.fd_grace_seconds=3',
    'replication.config_sync_interval_ms=1000',
  ].flatMap((setting) => ['--set', setting]);
}

export interface RunningProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Every server a test file started, so that a file the runner stops (its time is up: SIGTERM)
 * takes them down with it instead of leaving them running, holding ports and data dirs.
 */
const startedChildren = new Set<ChildProcess>();
let stopsWithTestProcess = false;

/** Stops `child` (SIGTERM, then SIGKILL) if this test process is stopped first. */
export function stopWithTestProcess(child: ChildProcess): void {
  if (!stopsWithTestProcess) process.once('SIGTERM', stopStartedChildren);
  stopsWithTestProcess = true;
  startedChildren.add(child);
  child.once('exit', () => startedChildren.delete(child));
}

/**
 * `pteron supervisor --manifest FILE` as a child of the test, logging at info, its stdout and
 * stderr handed to `onOutput`: from the TypeScript sources, or with `compiled` from `bin/pteron.js`
 * (what `npm start` runs).
 */
export function spawnSupervisor(manifestFile: string, onOutput: (chunk: string) => void, options: { compiled?: boolean } = {}): ChildProcess {
  const entry = options.compiled ? [path.join(PROJECT_ROOT, 'bin/pteron.js')] : ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/main.ts')];
  const supervisor = spawn(process.execPath, [...entry, 'supervisor', '--manifest', manifestFile], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PTERON_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stopWithTestProcess(supervisor);
  supervisor.stdout!.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  supervisor.stderr!.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  return supervisor;
}

function stopStartedChildren(): void {
  console.error(`test process stopped: stopping the ${startedChildren.size} processes it started`);
  for (const child of startedChildren) child.kill('SIGTERM');
  setTimeout(() => {
    for (const child of startedChildren) child.kill('SIGKILL');
    process.exit(1);
  }, 3000).unref();
  // With nothing left to wait for, exit at once.
  const exitWhenDone = setInterval(() => startedChildren.size === 0 && process.exit(1), 100);
  exitWhenDone.unref();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or the time is up. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Spawns `pteron <args>` and returns once its HTTP port answers /version. Servers log at warn level; PTERON_TEST_LOG_LEVEL=info shows more. */
export async function startPteron(
  role: string, options: { port?: number; args?: string[]; env?: NodeJS.ProcessEnv; /** Run dist/ with plain node, as production does. */ compiled?: boolean } = {},
): Promise<RunningProcess> {
  const port = options.port ?? (await freePort());
  const args = [role, '--port', String(port), ...(options.args ?? [])];
  const [node, ...argv] = options.compiled ? childCommand({ args }) : [process.execPath, '--import', 'tsx', MAIN, ...args];
  const child = spawn(node!, argv, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PTERON_LOG_LEVEL: process.env.PTERON_TEST_LOG_LEVEL ?? 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stopWithTestProcess(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running: RunningProcess = {
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      process.kill(child.pid!, signal);
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  try {
    // Loading the sources through tsx takes seconds on a busy machine.
    await waitFor(`${role} on port ${port}`, async () => {
      if (child.exitCode !== null) return true;
      const response = await fetch(`${running.url}/version`);
      return response.status === 200;
    }, 60_000);
    if (child.exitCode !== null) throw new Error(`${role} exited with ${child.exitCode}`);
  } catch (error) {
    await running.stop('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return running;
}
