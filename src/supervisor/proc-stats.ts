// Per-process usage from Linux's /proc: CPU (a 5-10 s moving average, in cores), memory, I/O,
// start time and command line, for a process and all its descendants. Elsewhere every reader
// returns undefined and the API reports only what the supervisor itself knows.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface ProcessUsage {
  pid: number;
  ppid: number;
  /** Clock ticks since boot (field 22 of stat): with the pid, identifies this process. */
  startTicks: number;
  createTimeMs: number;
  cmd: string;
  cpuSeconds: number;
  rssBytes: number;
  vmsBytes: number;
  hwmBytes: number;
  dataBytes: number;
  stackBytes: number;
  lockedBytes: number;
  swapBytes: number;
  ioReadBytes: number;
  ioWriteBytes: number;
}

let clockTicksPerSecond: number | undefined;
let bootTimeMs: number | undefined;

function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

function bootTime(): number {
  if (bootTimeMs === undefined) {
    const line = /^btime (\d+)$/m.exec(readText('/proc/stat') ?? '');
    bootTimeMs = line ? Number(line[1]) * 1000 : 0;
  }
  return bootTimeMs;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

interface StatFields {
  ppid: number;
  startTicks: number;
  cpuTicks: number;
}

/** The fields after the command name, which may itself hold spaces and parentheses. */
function readStat(pid: number): StatFields | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22.
  return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]), startTicks: Number(fields[19]) };
}

/** The start time of a live process, to tell it from a later process that reuses its pid. */
export function processStartTicks(pid: number): number | undefined {
  return readStat(pid)?.startTicks;
}

export function readProcessUsage(pid: number): ProcessUsage | undefined {
  const stat = readStat(pid);
  if (!stat) return undefined;
  const status = readText(`/proc/${pid}/status`) ?? '';
  const kilobytes = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  };
  const io = readText(`/proc/${pid}/io`) ?? '';
  const ioValue = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0);
  const cmdline = readText(`/proc/${pid}/cmdline`) ?? '';
  return {
    pid,
    ppid: stat.ppid,
    startTicks: stat.startTicks,
    createTimeMs: bootTime() + (stat.startTicks * 1000) / ticksPerSecond(),
    cmd: cmdline.split('\0').filter((part) => part !== '').join(' '),
    cpuSeconds: stat.cpuTicks / ticksPerSecond(),
    rssBytes: kilobytes('VmRSS'),
    vmsBytes: kilobytes('VmSize'),
    hwmBytes: kilobytes('VmHWM'),
    dataBytes: kilobytes('VmData'),
    stackBytes: kilobytes('VmStk'),
    lockedBytes: kilobytes('VmLck'),
    swapBytes: kilobytes('VmSwap'),
    ioReadBytes: ioValue('read_bytes'),
    ioWriteBytes: ioValue('write_bytes'),
  };
}

/** Every process's parent, read once per call (one /proc scan). */
export function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid);
    if (list) list.push(Number(entry));
    else children.set(stat.ppid, [Number(entry)]);
  }
  return children;
}

/** The root and its descendants, root first; bounded so a fork bomb cannot stall the API. */
export function processTree(rootPid: number, children: Map<number, number[]>, limit = 256): number[] {
  const tree = [rootPid];
  for (let index = 0; index < tree.length && tree.length < limit; index++) {
    for (const child of children.get(tree[index]!) ?? []) if (tree.length < limit) tree.push(child);
  }
  return tree;
}

interface CpuSample {
  cpuSeconds: number;
  wallMs: number;
}

/**
 * CPU in use, in cores (1.0 = one full core), measured against a reference sample that moves
 * forward every 5 s, so the figure is an average over the last 5-10 s. The first reference is
 * the process's creation, when it had used no CPU.
 */
export class CpuMeter {
  private readonly histories = new Map<string, { reference: CpuSample; pending: CpuSample }>();
  private static readonly REFRESH_MS = 5000;
  private static readonly HISTORIES_MAX = 4096;

  coresInUse(usage: ProcessUsage, nowMs = Date.now()): number {
    const key = `${usage.pid}:${usage.startTicks}`;
    const current = { cpuSeconds: usage.cpuSeconds, wallMs: nowMs };
    let history = this.histories.get(key);
    if (!history) {
      if (this.histories.size >= CpuMeter.HISTORIES_MAX) this.histories.clear();
      const created = { cpuSeconds: 0, wallMs: Math.min(usage.createTimeMs, nowMs) };
      history = { reference: created, pending: created };
      this.histories.set(key, history);
    }
    if (nowMs - history.pending.wallMs >= CpuMeter.REFRESH_MS) {
      history.reference = history.pending;
      history.pending = current;
    }
    const spanMs = nowMs - history.reference.wallMs;
    if (spanMs <= 0) return 0;
    const cores = (current.cpuSeconds - history.reference.cpuSeconds) / (spanMs / 1000);
    return Math.max(0, Math.round(cores * 1000) / 1000);
  }

  /** Drops the histories of processes that are gone. */
  retain(liveKeys: Set<string>): void {
    for (const key of this.histories.keys()) if (!liveKeys.has(key)) this.histories.delete(key);
  }
}

export const usageKey = (usage: ProcessUsage): string => `${usage.pid}:${usage.startTicks}`;
