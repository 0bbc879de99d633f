// One supervised process: spawn it in a process group of its own, write its output to a
// rotating log, check its health, restart it when it exits or stays unhealthy (with
// exponential backoff), and stop it gracefully (signal, grace time, SIGKILL of the group).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { log, type Logger } from '../base/index.ts';
import { HealthStreak, runCheck, type HealthVerdict } from './health.ts';
import { RotatingLog } from './log-file.ts';
import type { InstanceSpec, ServiceSpec } from './manifest.ts';
import { processStartTicks } from './proc-stats.ts';
import type { ProcessRegistry } from './process-registry.ts';
import { formatDuration } from './units.ts';

export type InstanceState =
  /** Never started. */
  | 'idle'
  /** Running, not yet healthy. */
  | 'starting'
  /** Passed its health check since it started (it may have turned unhealthy since). */
  | 'running'
  /** Waiting out the backoff delay before the next start. */
  | 'backoff'
  | 'stopping'
  /** Stopped on request. */
  | 'stopped'
  /** Exited, and the restart policy says not to start it again. */
  | 'exited';

/** How long the n-th consecutive failure waits: backoff × 2ⁿ, capped. */
export function backoffDelayMs(failures: number, backoffMs: number, backoffMaxMs: number): number {
  return Math.min(backoffMaxMs, backoffMs * 2 ** Math.min(failures, 30));
}

export interface InstanceOptions {
  spec: InstanceSpec;
  service: ServiceSpec;
  registry: ProcessRegistry;
  logDir: string;
  logBytesMax: number;
  logFiles: number;
  /** Marks the process as ours in its environment. */
  supervisorTag: string;
  onChange?: () => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A polling step while a new process starts, so a ready process is noticed quickly. */
const START_POLL_MS = 200;

export class Instance {
  state: InstanceState = 'idle';
  verdict: HealthVerdict = 'unknown';
  pid: number | undefined;
  startTicks = 0;
  startedAtMs: number | undefined;
  /** Starts after the first one, on failure or on request. */
  restarts = 0;
  /** Consecutive failures, which set the backoff delay; reset once a process ran `reset_after`. */
  failures = 0;
  nextStartAtMs: number | undefined;
  lastExit: { code: number | null; signal: NodeJS.Signals | null; atMs: number } | undefined;
  /** Why the instance is not healthy: the failed check, the exit, the start error. */
  problem: string | undefined;

  private child: ChildProcess | undefined;
  private childExited: Promise<void> = Promise.resolve();
  private streak: HealthStreak;
  private checkTimer: NodeJS.Timeout | undefined;
  private startDeadline: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private unhealthySinceMs: number | undefined;
  /** Set when the supervisor kills the process to replace it (start timeout, unhealthy). */
  private replacing = false;
  private readonly readyWaiters = new Set<Waiter>();
  private readonly output: RotatingLog;
  private readonly instanceLog: Logger;

  constructor(private readonly options: InstanceOptions) {
    this.streak = new HealthStreak(options.service.health.healthyThreshold, options.service.health.unhealthyThreshold);
    this.output = new RotatingLog({ file: path.join(options.logDir, `${options.spec.name}.log`), bytesMax: options.logBytesMax, files: options.logFiles });
    this.instanceLog = log.child({ instance: options.spec.name });
  }

  get spec(): InstanceSpec {
    return this.options.spec;
  }

  get name(): string {
    return this.options.spec.name;
  }

  get logFile(): string {
    return this.output.file;
  }

  get healthy(): boolean {
    return this.state === 'running' && this.verdict === 'healthy';
  }

  get live(): boolean {
    return this.child !== undefined;
  }

  /** Starts the process unless it runs or is about to. */
  start(): void {
    if (this.child || this.state === 'backoff') return;
    this.failures = 0;
    this.spawnNow();
  }

  /** Stops the process (if any) and starts a fresh one; resolves once it is healthy. */
  async restart(timeoutMs = this.options.service.health.startTimeoutMs): Promise<void> {
    await this.stop();
    this.restarts++;
    this.failures = 0;
    this.spawnNow();
    await this.waitHealthy(timeoutMs);
  }

  /** Resolves when healthy; rejects when the time is up or the process exits first. */
  waitHealthy(timeoutMs: number): Promise<void> {
    if (this.healthy) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters.delete(waiter);
        reject(new Error(`${this.name} did not become healthy within ${formatDuration(timeoutMs)}${this.problem ? `: ${this.problem}` : ''}`));
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.readyWaiters.add(waiter);
    });
  }

  /** Stops the process and keeps it stopped: stop signal to the group, grace time, SIGKILL. */
  async stop(): Promise<void> {
    this.clearTimer('backoffTimer');
    this.nextStartAtMs = undefined;
    if (!this.child) {
      if (this.state !== 'idle') this.setState('stopped');
      this.problem = 'shutdown';
      return;
    }
    this.setState('stopping');
    this.killGracefully(this.child);
    await this.childExited;
    this.setState('stopped');
    this.problem = 'shutdown';
  }

  /** Describes why this instance is not healthy, for /service/health's err. */
  describe(nowMs = Date.now()): string {
    switch (this.state) {
      case 'idle': return `${this.name}: not started`;
      case 'stopped': return `${this.name}: stopped`;
      case 'stopping': return `${this.name}: stopping`;
      case 'exited': return `${this.name}: ${this.problem ?? 'exited'}; restart policy ${this.options.service.restart.policy}`;
      case 'backoff': {
        const waitMs = Math.max(0, (this.nextStartAtMs ?? nowMs) - nowMs);
        return `${this.name}: restarting in ${formatDuration(waitMs)} after ${this.problem ?? 'a failure'}`;
      }
      case 'starting': return `${this.name}: starting${this.problem ? ` (${this.problem})` : ''}`;
      case 'running': return this.verdict === 'healthy' ? `${this.name}: healthy` : `${this.name}: unhealthy${this.problem ? ` (${this.problem})` : ''}`;
    }
  }

  private setState(state: InstanceState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onChange?.();
  }

  private clearTimer(name: 'checkTimer' | 'startDeadline' | 'backoffTimer' | 'killTimer'): void {
    const timer = this[name];
    if (timer) clearTimeout(timer);
    this[name] = undefined;
  }

  private spawnNow(): void {
    const { spec, service, registry } = this.options;
    this.clearTimer('backoffTimer');
    this.nextStartAtMs = undefined;
    this.verdict = 'unknown';
    this.streak = new HealthStreak(service.health.healthyThreshold, service.health.unhealthyThreshold);
    this.unhealthySinceMs = undefined;
    this.replacing = false;
    try {
      for (const file of spec.files) {
        fs.mkdirSync(path.dirname(file.path), { recursive: true });
        fs.writeFileSync(file.path, file.text);
      }
      if (spec.dataDir) fs.mkdirSync(spec.dataDir, { recursive: true });
    } catch (error) {
      this.failed(`cannot prepare ${spec.dataDir ?? 'its files'}: ${(error as Error).message}`);
      return;
    }
    const child = spawn(spec.argv[0]!, spec.argv.slice(1), {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, PTERON_SUPERVISED_BY: this.options.supervisorTag, PTERON_INSTANCE: spec.name },
      // A group of its own: signals reach the whole tree, and Ctrl-C on the supervisor's
      // terminal reaches only the supervisor, which then stops everything in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) {
      child.once('error', (error) => this.failed(`cannot start ${spec.argv[0]}: ${error.message}`));
      return;
    }
    this.child = child;
    this.pid = child.pid;
    this.startTicks = processStartTicks(child.pid) ?? 0;
    this.startedAtMs = Date.now();
    this.problem = undefined;
    registry.add({ pgid: child.pid, startTicks: this.startTicks, signal: service.stop.signal, graceMs: service.stop.graceMs, instance: spec.name });
    child.stdout!.on('data', (chunk: Buffer) => this.output.write(chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.output.write(chunk));
    child.on('error', (error) => this.instanceLog.warn({ err: error }, 'process error'));
    this.childExited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited(child, code, signal);
        resolve();
      });
    });
    this.instanceLog.info({ pid: child.pid, restarts: this.restarts }, 'started');
    this.setState('starting');
    this.startDeadline = setTimeout(() => {
      if (this.child !== child || this.state !== 'starting') return;
      this.replace(child, `not healthy within ${formatDuration(service.health.startTimeoutMs)}${this.problem ? `: ${this.problem}` : ''}`);
    }, service.health.startTimeoutMs);
    this.scheduleCheck(child, Math.min(START_POLL_MS, service.health.intervalMs));
  }

  private scheduleCheck(child: ChildProcess, delayMs: number): void {
    this.clearTimer('checkTimer');
    this.checkTimer = setTimeout(() => void this.check(child), delayMs);
  }

  private async check(child: ChildProcess): Promise<void> {
    const { spec, service } = this.options;
    const result = await runCheck(service.health.check, spec.host, spec.port, service.health.timeoutMs);
    if (this.child !== child || this.state === 'stopping' || this.replacing) return;
    const before = this.verdict;
    this.verdict = this.streak.record(result.ok);
    if (!result.ok) this.problem = result.detail;
    const nowMs = Date.now();
    if (this.verdict === 'healthy') {
      this.problem = undefined;
      this.unhealthySinceMs = undefined;
      if (this.state === 'starting') {
        this.clearTimer('startDeadline');
        this.instanceLog.info({ pid: this.pid, ms: nowMs - (this.startedAtMs ?? nowMs) }, 'healthy');
        this.setState('running');
      }
      if (this.startedAtMs !== undefined && nowMs - this.startedAtMs >= service.restart.resetAfterMs) this.failures = 0;
      for (const waiter of this.readyWaiters) waiter.resolve();
      this.readyWaiters.clear();
    } else if (this.verdict === 'unhealthy' && this.state === 'running') {
      if (before !== 'unhealthy') this.instanceLog.warn({ pid: this.pid, problem: this.problem }, 'unhealthy');
      this.unhealthySinceMs ??= nowMs;
      const limitMs = service.health.unhealthyTimeoutMs;
      if (limitMs !== undefined && nowMs - this.unhealthySinceMs >= limitMs) {
        this.replace(child, `unhealthy for ${formatDuration(nowMs - this.unhealthySinceMs)}: ${this.problem ?? 'failed checks'}`);
        return;
      }
    }
    if (before !== this.verdict) this.options.onChange?.();
    this.scheduleCheck(child, this.state === 'starting' ? Math.min(START_POLL_MS, service.health.intervalMs) : service.health.intervalMs);
  }

  /** Kills a process that failed to start or stayed unhealthy; its exit counts as a failure. */
  private replace(child: ChildProcess, reason: string): void {
    this.instanceLog.warn({ pid: child.pid, reason }, 'replacing the process');
    this.replacing = true;
    this.problem = reason;
    this.clearTimer('checkTimer');
    this.clearTimer('startDeadline');
    this.killGracefully(child);
  }

  private killGracefully(child: ChildProcess): void {
    const { signal, graceMs } = this.options.service.stop;
    this.clearTimer('checkTimer');
    this.clearTimer('startDeadline');
    signalGroup(child.pid!, signal);
    this.clearTimer('killTimer');
    this.killTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        this.instanceLog.warn({ pid: child.pid, graceMs }, 'grace time over; SIGKILL');
        signalGroup(child.pid!, 'SIGKILL');
      }
    }, graceMs);
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const { registry, service } = this.options;
    // What the leader left behind in its group goes with it.
    signalGroup(child.pid!, 'SIGKILL');
    registry.remove(child.pid!);
    if (this.child !== child) return;
    this.child = undefined;
    this.clearTimer('checkTimer');
    this.clearTimer('startDeadline');
    this.clearTimer('killTimer');
    const nowMs = Date.now();
    this.lastExit = { code, signal, atMs: nowMs };
    this.verdict = 'unknown';
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.state === 'stopping') {
      this.instanceLog.info({ pid: child.pid, exit: how }, 'stopped');
      this.rejectWaiters(`${this.name} was stopped`);
      return;
    }
    const ranMs = nowMs - (this.startedAtMs ?? nowMs);
    if (ranMs >= service.restart.resetAfterMs) this.failures = 0;
    const failed = this.replacing || code !== 0 || signal !== null;
    if (!this.replacing) this.problem = `exit (${how})`;
    this.instanceLog.warn({ pid: child.pid, exit: how, ranMs, problem: this.problem }, 'process exited');
    this.rejectWaiters(`${this.name} exited (${how})${this.replacing ? `: ${this.problem}` : ''}`);
    const policy = service.restart.policy;
    if (policy === 'never' || (policy === 'on-failure' && !failed)) {
      this.setState('exited');
      return;
    }
    this.scheduleRestart();
  }

  private failed(reason: string): void {
    this.instanceLog.warn({ reason }, 'start failed');
    this.problem = reason;
    this.rejectWaiters(`${this.name}: ${reason}`);
    if (this.options.service.restart.policy === 'never') {
      this.setState('exited');
      return;
    }
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const { restart } = this.options.service;
    const delayMs = backoffDelayMs(this.failures, restart.backoffMs, restart.backoffMaxMs);
    this.failures++;
    this.nextStartAtMs = Date.now() + delayMs;
    this.setState('backoff');
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      if (this.state !== 'backoff') return;
      this.restarts++;
      this.spawnNow();
    }, delayMs);
  }

  private rejectWaiters(message: string): void {
    for (const waiter of this.readyWaiters) waiter.reject(new Error(message));
    this.readyWaiters.clear();
  }

  close(): void {
    this.output.close();
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}
