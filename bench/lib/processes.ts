// Child processes for benches: spawned on free loopback ports, always stopped by PID — on a
// normal finish, on an error, and (as a last resort) when the bench process itself exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { PROJECT_ROOT, sleep } from '../../test/helpers/process.ts';

// The tests' helpers for ports and waiting serve the benches too.
export { freePort, sleep } from '../../test/helpers/process.ts';

/** How long a child may take to answer its readiness probe. */
const READY_TIMEOUT_MS = 30000;
/** How long a child may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5000;

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous on purpose: 'exit' handlers cannot wait.
  process.once('exit', () => {
    for (const child of running) killQuietly(child.pid, 'SIGKILL');
  });
  // Ctrl-C: leave through process.exit so the hook above stops every child.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

function killQuietly(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One GET on a fresh connection (no agent), bounded by `timeoutMs`. */
export function httpGet(url: string, timeoutMs = 5000): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly baseUrl: string;
  /** What the child printed so far (stdout and stderr), for error messages. */
  output(): string;
  /** User + system CPU seconds the child has used so far; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

export interface ChildServerOptions {
  name: string;
  /** Arguments to `node`; the child must listen on 127.0.0.1:`port`. */
  nodeArgs: string[];
  port: number;
  env?: NodeJS.ProcessEnv;
  /** Path answered with 200 once the child is ready. */
  readyPath: string;
}

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * User + system CPU seconds of every process on the machine (not interrupts), or undefined
 * where /proc/stat is missing. Compared with the bench's own processes, it shows how much of the
 * machine something else took during a measurement.
 */
export function machineCpuSeconds(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/);
    // cpu user nice system idle iowait irq softirq steal ...
    return (Number(fields[1]) + Number(fields[2]) + Number(fields[3])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  installExitHook();
  const child = spawn(process.execPath, options.nodeArgs, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${options.name}: spawn failed`);
  const pid = child.pid;
  running.add(child);
  let output = '';
  const OUTPUT_CHARS_MAX = 20000;
  const keep = (chunk: Buffer): void => {
    if (output.length < OUTPUT_CHARS_MAX) output += chunk.toString('utf8');
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));
  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;

  const server: ChildServer = {
    name: options.name,
    pid,
    port: options.port,
    baseUrl: `http://127.0.0.1:${options.port}`,
    output: () => output,
    cpuSeconds: () => procCpuSeconds(pid),
    async stop() {
      if (hasExited()) return;
      killQuietly(pid, 'SIGTERM');
      const timer = setTimeout(() => killQuietly(pid, 'SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (hasExited()) throw new Error(`${options.name} exited (code ${child.exitCode}, signal ${child.signalCode})`);
      try {
        const response = await httpGet(`${server.baseUrl}${options.readyPath}`, 1000);
        if (response.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${options.name} did not answer ${options.readyPath} within ${READY_TIMEOUT_MS} ms`);
      await sleep(100);
    }
  } catch (error) {
    killQuietly(pid, 'SIGKILL');
    await exited;
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return server;
}
