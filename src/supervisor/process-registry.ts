// Every process group the supervisor runs, kept in two places so none outlives it: the watchdog
// (which stops them when the supervisor dies) and a tracker file in the run directory (read at
// the next start, in case the watchdog died too). A lock file keeps a second supervisor off the
// same run directory, since it would take the first one's processes for leftovers.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { log } from '../base/index.ts';
import { ConfigError } from '../config/index.ts';
import { childCommand } from './child-command.ts';
import { processStartTicks } from './proc-stats.ts';

export interface TrackedGroup {
  pgid: number;
  startTicks: number;
  signal: NodeJS.Signals;
  graceMs: number;
  instance: string;
}

const WATCHDOG_RESPAWNS_MAX = 20;

/** Another live supervisor uses the same run directory. */
export class SupervisorLockedError extends ConfigError {}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export class ProcessRegistry {
  private readonly groups = new Map<number, TrackedGroup>();
  private watchdog: ChildProcess | undefined;
  private watchdogRespawns = 0;
  private closed = false;
  private readonly trackerFile: string;
  private readonly lockFile: string;

  constructor(private readonly runDir: string) {
    this.trackerFile = path.join(runDir, 'processes.json');
    this.lockFile = path.join(runDir, 'supervisor.pid');
  }

  /** Claims the run directory; refuses when a live supervisor holds it. */
  acquireLock(): void {
    fs.mkdirSync(this.runDir, { recursive: true });
    try {
      const holder = JSON.parse(fs.readFileSync(this.lockFile, 'utf8')) as { pid: number; startTicks: number };
      if (holder.pid !== process.pid && processStartTicks(holder.pid) === holder.startTicks) {
        throw new SupervisorLockedError(`another supervisor (pid ${holder.pid}) is running from ${this.runDir}`);
      }
    } catch (error) {
      if (error instanceof SupervisorLockedError) throw error;
      // no lock, or an unreadable one: ours now
    }
    fs.writeFileSync(this.lockFile, JSON.stringify({ pid: process.pid, startTicks: processStartTicks(process.pid) ?? 0 }));
  }

  /** Stops the process groups a previous supervisor left running (it died along with its watchdog). */
  async stopLeftovers(): Promise<number> {
    let previous: TrackedGroup[] = [];
    try {
      previous = JSON.parse(fs.readFileSync(this.trackerFile, 'utf8')) as TrackedGroup[];
    } catch {
      return 0;
    }
    const leftovers = previous.filter((group) => processStartTicks(group.pgid) === group.startTicks && groupAlive(group.pgid));
    for (const group of leftovers) {
      log.warn({ instance: group.instance, pgid: group.pgid }, 'stopping a process left by a previous supervisor');
      try {
        process.kill(-group.pgid, group.signal);
      } catch {
        // gone
      }
    }
    const deadline = Date.now() + Math.max(0, ...leftovers.map((group) => group.graceMs));
    while (Date.now() < deadline && leftovers.some((group) => groupAlive(group.pgid))) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const group of leftovers) {
      try {
        process.kill(-group.pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    this.writeTracker();
    return leftovers.length;
  }

  startWatchdog(): void {
    if (this.closed) return;
    const [node, ...args] = childCommand({ script: 'supervisor/watchdog.js' });
    const child = spawn(node!, args, {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.watchdog = child;
    child.stdin!.on('error', () => {});
    child.once('exit', (code, signal) => {
      if (this.closed || this.watchdog !== child) return;
      this.watchdog = undefined;
      if (this.watchdogRespawns >= WATCHDOG_RESPAWNS_MAX) {
        log.error({ code, signal }, 'the watchdog keeps exiting; running without it (the tracker file still covers a restart)');
        return;
      }
      this.watchdogRespawns++;
      log.warn({ code, signal }, 'the watchdog exited; starting a new one');
      this.startWatchdog();
    });
    child.unref();
    for (const group of this.groups.values()) this.tellWatchdog(`+${group.pgid} ${group.startTicks} ${group.signal} ${group.graceMs}`);
  }

  get watchdogPid(): number | undefined {
    return this.watchdog?.pid;
  }

  add(group: TrackedGroup): void {
    this.groups.set(group.pgid, group);
    this.tellWatchdog(`+${group.pgid} ${group.startTicks} ${group.signal} ${group.graceMs}`);
    this.writeTracker();
  }

  remove(pgid: number): void {
    if (!this.groups.delete(pgid)) return;
    this.tellWatchdog(`-${pgid}`);
    this.writeTracker();
  }

  /** After every group stopped: lets the watchdog go and frees the run directory. */
  close(): void {
    this.closed = true;
    this.watchdog?.stdin?.end();
    this.watchdog = undefined;
    this.writeTracker();
    try {
      const holder = JSON.parse(fs.readFileSync(this.lockFile, 'utf8')) as { pid: number };
      if (holder.pid === process.pid) fs.rmSync(this.lockFile, { force: true });
    } catch {
      // nothing to free
    }
  }

  private tellWatchdog(line: string): void {
    const stdin = this.watchdog?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(`${line}\n`);
  }

  /** Written to a temporary name first, so a crash never leaves half a file. */
  private writeTracker(): void {
    try {
      const temporary = `${this.trackerFile}.tmp`;
      fs.writeFileSync(temporary, JSON.stringify([...this.groups.values()]));
      fs.renameSync(temporary, this.trackerFile);
    } catch (error) {
      log.warn({ err: error }, 'cannot write the process tracker file');
    }
  }
}
