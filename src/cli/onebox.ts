// `pteron onebox`: a cluster on this machine, as child processes of one onebox process, until
// Ctrl-C or `pteron onebox stop`. By default one meta (simple store) and three replica servers;
// with `--metas N` (2 or more) a local ZooKeeper server (Debian's package) that the metas share
// their state in, one primary and the others backups. A process that dies is reported and
// restarted; the others keep running. `--cluster NAME` runs a second cluster beside the first on
// other ports and directories. (The supervisor's manifests are the configurable way.)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { logFormat, multiTable, renderTableText } from '../base/index.ts';
import { ConfigError } from '../config/index.ts';
import { startZooKeeperServer, type ZooKeeperServer } from '../meta/zk/server.ts';
import { childCommand } from '../supervisor/index.ts';
import {
  clusterDir, DEFAULT_BASE_PORT, DEFAULT_CLUSTER, freeSlot, ONEBOX_ZOOKEEPER_PORT, oneboxLayout, parseOneboxState, portRange,
  restartDelayMs, SLOT_PORT_STRIDE, STATE_FILE, type OneboxLayout, type OneboxProcess, type OneboxState,
} from './onebox-layout.ts';

const DEFAULT_ROOT = 'onebox';
/** How long a stopping server gets after SIGTERM before SIGKILL (a server gives up its own stop after 5 s). */
const STOP_GRACE_MS = 10_000;
/** How long `onebox stop` waits for a onebox process to stop its children and exit. */
const STOP_WAIT_MS = 60_000;

const USAGE = `usage: pteron onebox [start] [--metas N] [--replicas N] [--cluster NAME] [--dir DIR] [--base-port N] [--zookeeper-port N]
                     [--config FILE] [--set section.key=value]... [--pretty]
       pteron onebox list [--cluster NAME] [--dir DIR]
       pteron onebox stop|clear [--cluster NAME] [--dir DIR]
  start (the default)  runs the cluster in the foreground until Ctrl-C or \`pteron onebox stop\`; a server that dies is
                       reported and restarted (after 1 s, doubling up to 30 s), the others keep running
  --metas N            N meta servers (default 1) on base+1...; with 2 or more they share their state in a local ZooKeeper
                       (Debian's zookeeper package) on 127.0.0.1:${ONEBOX_ZOOKEEPER_PORT}
  --replicas N         N replica servers (default 3) on base+201...
  --cluster NAME       the cluster's name (default ${DEFAULT_CLUSTER}); another name is a second cluster beside the first:
                       its ports move by ${SLOT_PORT_STRIDE} per cluster (ZooKeeper's by 1), its state is in DIR/clusters/NAME
  --dir DIR            where onebox clusters keep their state (default ${DEFAULT_ROOT}/)
  --base-port N        metas on N+1..., replica servers on N+201... (default ${DEFAULT_BASE_PORT})
  list                 the processes of every cluster (or of NAME), their pids, whether they run, their restarts
  stop                 stops a running cluster (its onebox process, or servers a killed one left behind)
  clear                stops the cluster and removes its data
`;

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` still runs the command the state file says (its command line holds `marker`), not a reused pid. */
function runs(pid: number, marker: string): boolean {
  if (!alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
  } catch {
    return false;
  }
}

const serverMarker = (entry: { role: string; port: number; dataDir: string }): string =>
  entry.role === 'zookeeper' ? path.resolve(entry.dataDir) : `${entry.role} --port ${entry.port}`;

function readState(dir: string): OneboxState | undefined {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  return parseOneboxState(readFileSync(file, 'utf8'), file);
}

function writeState(dir: string, state: OneboxState): void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, STATE_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The state of every cluster under `root`, the default one first. */
function allStates(root: string): OneboxState[] {
  const states: OneboxState[] = [];
  const own = readState(root);
  if (own) states.push(own);
  const named = path.join(root, 'clusters');
  if (existsSync(named)) {
    for (const name of readdirSync(named).sort()) {
      const state = readState(path.join(named, name));
      if (state) states.push(state);
    }
  }
  return states;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

function exitOf(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ?? `code ${code}`;
}

/** `pteron onebox ...` */
export async function oneboxCommand(args: string[]): Promise<void> {
  const subcommand = ['start', 'stop', 'list', 'clear'].includes(args[0] ?? '') ? args[0]! : 'start';
  const { values } = parseArgs({
    args: subcommand === args[0] ? args.slice(1) : args,
    options: {
      metas: { type: 'string' },
      replicas: { type: 'string' },
      cluster: { type: 'string' },
      dir: { type: 'string' },
      'base-port': { type: 'string' },
      'zookeeper-port': { type: 'string' },
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const root = values.dir ?? DEFAULT_ROOT;
  if (subcommand === 'list') return listClusters(root, values.cluster);
  const cluster = values.cluster ?? DEFAULT_CLUSTER;
  if (subcommand === 'stop') return void (await stopCluster(clusterDir(root, cluster), cluster));
  if (subcommand === 'clear') return clearCluster(clusterDir(root, cluster), cluster);
  const number = (option: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) throw new ConfigError(`--${option} expects a number, got "${text}"`);
    return value;
  };
  const passThrough = [
    ...(values.config ? ['--config', values.config] : []),
    ...(values.set ?? []).flatMap((set) => ['--set', set]),
    ...(logFormat() === 'pretty' ? ['--pretty'] : []),
  ];
  return runOnebox({
    root,
    cluster,
    metas: number('metas', values.metas) ?? 1,
    replicas: number('replicas', values.replicas) ?? 3,
    basePort: number('base-port', values['base-port']),
    zookeeperPort: number('zookeeper-port', values['zookeeper-port']),
  }, passThrough);
}

function listClusters(root: string, cluster: string | undefined): void {
  const states = cluster === undefined ? allStates(root) : [readState(clusterDir(root, cluster))].filter((state) => state !== undefined);
  if (states.length === 0) {
    process.stdout.write(`no onebox cluster${cluster ? ` ${cluster}` : ''} in ${root}/\n`);
    return;
  }
  const rows = states.flatMap((state) => {
    const running = runs(state.pid, 'onebox');
    return [
      [state.cluster, 'onebox', 'onebox', '', String(state.pid || '-'), running ? 'running' : 'stopped', ''],
      ...state.processes.map((entry) => [
        state.cluster, entry.name, entry.role, String(entry.port), String(entry.pid || '-'),
        runs(entry.pid, serverMarker(entry)) ? 'running' : running ? 'restarting' : 'stopped', String(entry.restarts),
      ]),
    ];
  });
  process.stdout.write(renderTableText(multiTable('onebox', ['cluster', 'name', 'role', 'port', 'pid', 'state', 'restarts'], rows)));
}

/** Stops a cluster's onebox process, or the servers a killed one left; returns the state file's content, if any. */
async function stopCluster(dir: string, cluster: string): Promise<OneboxState | undefined> {
  const state = readState(dir);
  if (!state) {
    process.stdout.write(`onebox ${cluster}: nothing to stop (no ${path.join(dir, STATE_FILE)})\n`);
    return undefined;
  }
  if (runs(state.pid, 'onebox')) {
    process.kill(state.pid, 'SIGTERM');
    if (!(await waitGone([state.pid], STOP_WAIT_MS))) throw new ConfigError(`onebox ${cluster}: process ${state.pid} did not stop within ${STOP_WAIT_MS / 1000} s`);
  }
  const leftOver = state.processes.filter((entry) => runs(entry.pid, serverMarker(entry)));
  for (const entry of leftOver) process.kill(entry.pid, 'SIGTERM');
  if (!(await waitGone(leftOver.map((entry) => entry.pid), STOP_GRACE_MS))) {
    for (const entry of leftOver) if (alive(entry.pid)) process.kill(entry.pid, 'SIGKILL');
  }
  process.stdout.write(`onebox ${cluster}: stopped${leftOver.length > 0 ? ` (and ${leftOver.length} servers left running by a onebox that died)` : ''}\n`);
  return state;
}

async function clearCluster(dir: string, cluster: string): Promise<void> {
  const state = await stopCluster(dir, cluster);
  if (!state) return;
  // Only what the cluster made: the default cluster's directory may hold the supervisor's too.
  if (cluster === DEFAULT_CLUSTER) {
    for (const entry of state.processes) rmSync(entry.dataDir, { recursive: true, force: true });
    rmSync(path.join(dir, STATE_FILE), { force: true });
  } else {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`onebox ${cluster}: cleared\n`);
}

interface RunOptions {
  root: string;
  cluster: string;
  metas: number;
  replicas: number;
  basePort: number | undefined;
  zookeeperPort: number | undefined;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** A started server or ZooKeeper process. */
interface Running {
  pid: number;
  stop(signal: NodeJS.Signals): void;
  exited: Promise<Exit>;
}

/** One server, or ZooKeeper, that the onebox keeps running. */
interface Member {
  name: string;
  role: OneboxState['processes'][number]['role'];
  port: number;
  dataDir: string;
  launch: () => Promise<Running>;
  running: Running | undefined;
  startedAtMs: number;
  restarts: number;
  lastDelayMs: number | undefined;
  restartTimer: NodeJS.Timeout | undefined;
}

function slotOf(root: string, cluster: string, previous: OneboxState | undefined): number {
  if (cluster === DEFAULT_CLUSTER) return 0;
  if (previous) return previous.slot;
  return freeSlot(allStates(root).filter((state) => state.cluster !== cluster).map((state) => state.slot));
}

async function runOnebox(options: RunOptions, passThrough: string[]): Promise<void> {
  const dir = clusterDir(options.root, options.cluster);
  const previous = readState(dir);
  if (previous && runs(previous.pid, 'onebox')) {
    throw new ConfigError(`onebox ${options.cluster} is already running (pid ${previous.pid}); \`pteron onebox stop${options.cluster === DEFAULT_CLUSTER ? '' : ` --cluster ${options.cluster}`}\` stops it`);
  }
  const leftOver = previous?.processes.filter((entry) => runs(entry.pid, serverMarker(entry))) ?? [];
  if (leftOver.length > 0) {
    throw new ConfigError(`onebox ${options.cluster}: ${leftOver.map((entry) => `${entry.name} (pid ${entry.pid})`).join(', ')} still running from before; \`pteron onebox stop\` stops them`);
  }
  const layout = oneboxLayout({ ...options, slot: slotOf(options.root, options.cluster, previous) });
  const members: Member[] = [];
  let stopping = false;

  const saveState = (): void => writeState(dir, {
    cluster: layout.cluster, slot: layout.slot, pid: stopping ? 0 : process.pid, basePort: options.basePort, zookeeperPort: options.zookeeperPort,
    processes: members.map(({ name, role, port, running, restarts, dataDir }) => ({ name, role, port, pid: running?.pid ?? 0, restarts, dataDir })),
  });

  const run = async (member: Member): Promise<void> => {
    const running = await member.launch();
    member.running = running;
    member.startedAtMs = Date.now();
    saveState();
    void running.exited.then((exit) => restartAfterExit(member, exit));
  };

  /** Reports a member's exit and starts it again after the back-off; the others keep running. */
  const restartAfterExit = (member: Member, exit: Exit): void => {
    member.running = undefined;
    if (stopping) return;
    const ranMs = Date.now() - member.startedAtMs;
    const delayMs = restartDelayMs(member.lastDelayMs, ranMs);
    member.lastDelayMs = delayMs;
    process.stderr.write(
      `onebox: ${member.name} on 127.0.0.1:${member.port} exited (${exitOf(exit.code, exit.signal)}) after ${Math.round(ranMs / 1000)} s; ` +
        `restarting it in ${delayMs / 1000} s, the others keep running\n`,
    );
    saveState();
    member.restartTimer = setTimeout(() => {
      member.restartTimer = undefined;
      if (stopping) return;
      member.restarts++;
      run(member).then(
        () => process.stderr.write(`onebox: ${member.name} restarted (pid ${member.running?.pid}, restart ${member.restarts})\n`),
        (error: unknown) => {
          process.stderr.write(`onebox: ${member.name} did not restart: ${(error as Error).message}\n`);
          restartAfterExit(member, { code: null, signal: null });
        },
      );
    }, delayMs);
  };

  const launchServer = (entry: OneboxProcess) => async (): Promise<Running> => {
    const settings = [...layout.settings[entry.role], `core.data_dir=${entry.dataDir}`].flatMap((setting) => ['--set', setting]);
    const [node, ...args] = childCommand({ args: [entry.role, '--port', String(entry.port), ...settings, ...passThrough] });
    const child: ChildProcess = spawn(node!, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, PTERON_INSTANCE: layout.cluster === DEFAULT_CLUSTER ? entry.name : `${layout.cluster}.${entry.name}` },
    });
    const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { pid: child.pid ?? 0, stop: (signal) => child.kill(signal), exited };
  };

  const launchZooKeeper = (zookeeper: NonNullable<OneboxLayout['zookeeper']>) => async (): Promise<Running> => {
    let server: ZooKeeperServer;
    try {
      server = await startZooKeeperServer({ dir: zookeeper.dir, port: zookeeper.port });
    } catch (error) {
      throw new ConfigError(`onebox needs a ZooKeeper server for ${options.metas} metas: ${(error as Error).message}`);
    }
    return { pid: server.pid, stop: (signal) => void server.stop(signal), exited: server.exited.then((code) => ({ code, signal: server.child.signalCode })) };
  };

  const member = (entry: Pick<Member, 'name' | 'role' | 'port' | 'dataDir' | 'launch'>): Member => {
    const created: Member = { ...entry, running: undefined, startedAtMs: 0, restarts: 0, lastDelayMs: undefined, restartTimer: undefined };
    members.push(created);
    return created;
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const entry of members) clearTimeout(entry.restartTimer);
    // Replica servers first, so they can still hand their partitions over through a meta;
    // ZooKeeper last, so the metas can end their sessions.
    for (const role of ['replica', 'meta', 'zookeeper'] as const) {
      const group = members.flatMap((entry) => (entry.role === role && entry.running ? [entry.running] : []));
      for (const running of group) running.stop('SIGTERM');
      const killer = setTimeout(() => group.forEach((running) => running.stop('SIGKILL')), STOP_GRACE_MS);
      await Promise.all(group.map((running) => running.exited));
      clearTimeout(killer);
    }
    saveState();
  };
  let stopRequested = false;
  const onSignal = (): void => {
    if (stopRequested) {
      // A second Ctrl-C: no more waiting.
      for (const entry of members) entry.running?.stop('SIGKILL');
      process.exit(1);
    }
    stopRequested = true;
    process.stdout.write(`onebox ${layout.cluster}: stopping\n`);
    void stopAll().finally(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  mkdirSync(layout.dir, { recursive: true });
  saveState();
  if (layout.zookeeper) {
    process.stdout.write(`onebox ${layout.cluster}: starting ZooKeeper on 127.0.0.1:${layout.zookeeper.port} (data in ${layout.zookeeper.dir})\n`);
    await run(member({ name: 'zookeeper', role: 'zookeeper', port: layout.zookeeper.port, dataDir: layout.zookeeper.dir, launch: launchZooKeeper(layout.zookeeper) }));
  }
  for (const entry of layout.processes) await run(member({ ...entry, launch: launchServer(entry) }));
  const zookeeper = layout.zookeeper ? ` (ZooKeeper on 127.0.0.1:${layout.zookeeper.port})` : '';
  process.stdout.write(
    `onebox ${layout.cluster}: metas on ${portRange(layout, 'meta')}${zookeeper}, replicas on ${portRange(layout, 'replica')}, ` +
      `state in ${layout.dir}/ (Ctrl-C or \`pteron onebox stop${layout.cluster === DEFAULT_CLUSTER ? '' : ` --cluster ${layout.cluster}`}\` stops them)\n`,
  );
}
