// The watchdog: a small process of its own (own process group) that the supervisor tells about
// every process group it starts, over a pipe on the watchdog's stdin. When the pipe closes
// (the supervisor exited or was killed, even with SIGKILL), the watchdog stops every group
// still registered: the stop signal, the grace time, then SIGKILL. So the supervisor never
// leaves orphans behind.
//
// Lines on stdin: `+<pgid> <startTicks> <signal> <graceMs>` registers, `-<pgid>` forgets.
import { processStartTicks } from './proc-stats.ts';

interface Group {
  startTicks: number;
  signal: NodeJS.Signals;
  graceMs: number;
}

const GROUPS_MAX = 4096;
const groups = new Map<number, Group>();

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone already
  }
}

function handleLine(line: string): void {
  const register = /^\+(\d+) (\d+) (SIG[A-Z0-9]+) (\d+)$/.exec(line);
  if (register) {
    if (groups.size >= GROUPS_MAX) return;
    groups.set(Number(register[1]), { startTicks: Number(register[2]), signal: register[3] as NodeJS.Signals, graceMs: Number(register[4]) });
    return;
  }
  const forget = /^-(\d+)$/.exec(line);
  if (forget) groups.delete(Number(forget[1]));
}

async function stopEverything(): Promise<void> {
  const targets: number[] = [];
  let graceMs = 0;
  for (const [pgid, group] of groups) {
    // A leader with another start time means the pid was reused: that group is not ours.
    const startTicks = processStartTicks(pgid);
    if (startTicks !== undefined && group.startTicks !== 0 && startTicks !== group.startTicks) continue;
    if (!alive(pgid)) continue;
    signalGroup(pgid, group.signal);
    targets.push(pgid);
    graceMs = Math.max(graceMs, group.graceMs);
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && targets.some(alive)) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const pgid of targets) if (alive(pgid)) signalGroup(pgid, 'SIGKILL');
  process.exit(0);
}

// Ctrl-C in the supervisor's terminal and a closing terminal are the supervisor's to handle.
for (const signal of ['SIGINT', 'SIGHUP', 'SIGPIPE'] as const) process.on(signal, () => {});

let pending = '';
process.stdin.on('data', (chunk: Buffer) => {
  pending += chunk.toString('latin1');
  let newline: number;
  while ((newline = pending.indexOf('\n')) >= 0) {
    handleLine(pending.slice(0, newline));
    pending = pending.slice(newline + 1);
  }
  if (pending.length > 4096) pending = '';
});
process.stdin.on('end', () => void stopEverything());
process.stdin.on('error', () => void stopEverything());
