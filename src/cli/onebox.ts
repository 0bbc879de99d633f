// `pteron onebox`: a cluster on this machine, as child processes, until Ctrl-C. By default one
// meta (simple store) and three replica servers. With `--metas 3` (2–3): a local ZooKeeper
// server (Debian's package) and that many metas on 34601… sharing their state in it, one
// primary and the others backups. (The supervisor's manifests are the configurable way.)
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/index.ts';
import { startZooKeeperServer, type ZooKeeperServer } from '../meta/zk/server.ts';
import { childCommand } from '../supervisor/index.ts';

const META_PORT_BASE = 34601;
const REPLICA_PORTS = [34801, 34802, 34803];
const METAS_MAX = 3;
/** Pegasus's onebox ZooKeeper port. */
export const ONEBOX_ZOOKEEPER_PORT = 22181;
/** A primary that dies is replaced about this long after (the ZooKeeper session timeout). */
export const ONEBOX_ZOOKEEPER_TIMEOUT_MS = 10_000;

interface OneboxProcess {
  role: 'meta' | 'replica';
  name: string;
  port: number;
}

export interface OneboxLayout {
  processes: OneboxProcess[];
  /** `--set` values per role. */
  settings: Record<'meta' | 'replica', string[]>;
  zookeeper: { port: number } | undefined;
}

/** The processes and settings of a onebox with `metaCount` metas (1: simple store, more: ZooKeeper). */
export function oneboxLayout(metaCount: number): OneboxLayout {
  if (!Number.isInteger(metaCount) || metaCount < 1 || metaCount > METAS_MAX) {
    throw new ConfigError(`--metas expects 1 to ${METAS_MAX}, got "${metaCount}"`);
  }
  const metaPorts = Array.from({ length: metaCount }, (_, index) => META_PORT_BASE + index);
  const serverList = `meta_server.server_list=${metaPorts.map((port) => `127.0.0.1:${port}`).join(',')}`;
  const zookeeper = metaCount > 1 ? { port: ONEBOX_ZOOKEEPER_PORT } : undefined;
  const metaSettings = [
    'replication.cluster_name=onebox',
    serverList,
    // Pegasus's onebox settings: a small cluster may cure with one live node, and starts with table `temp`.
    'meta_server.min_live_node_count_for_unfreeze=1',
    'meta_server.apps.temp.partition_count=8',
    'meta_server.apps.temp.max_replica_count=3',
  ];
  if (zookeeper) {
    metaSettings.push(
      'meta_server.meta_state_service_type=zookeeper',
      `zookeeper.hosts_list=127.0.0.1:${zookeeper.port}`,
      `zookeeper.timeout_ms=${ONEBOX_ZOOKEEPER_TIMEOUT_MS}`,
      'meta_server.cluster_root=/pegasus/onebox',
    );
  }
  return {
    processes: [
      ...metaPorts.map((port, index) => ({ role: 'meta' as const, name: `meta${index + 1}`, port })),
      ...REPLICA_PORTS.map((port, index) => ({ role: 'replica' as const, name: `replica${index + 1}`, port })),
    ],
    settings: { meta: metaSettings, replica: ['replication.cluster_name=onebox', serverList] },
    zookeeper,
  };
}

/** `pteron onebox [--metas N] [--config FILE] [--set section.key=value]...` */
export async function oneboxCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      metas: { type: 'string' },
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(
      'usage: pteron onebox [--metas 1|2|3] [--config FILE] [--set section.key=value]...\n' +
        `  --metas N   N meta servers on ${META_PORT_BASE}…; with 2 or 3 they share their state in a local ZooKeeper ` +
        `(Debian's zookeeper package) on 127.0.0.1:${ONEBOX_ZOOKEEPER_PORT}, data in onebox/zookeeper\n`,
    );
    return;
  }
  const metaCount = values.metas === undefined ? 1 : Number(values.metas);
  const passThrough = [...(values.config ? ['--config', values.config] : []), ...(values.set ?? []).flatMap((set) => ['--set', set])];
  return onebox(passThrough, 'onebox', metaCount);
}

/** Each process keeps its state under `<dir>/<name>` (default `onebox/`, as Pegasus's run.sh does). */
export async function onebox(passThrough: string[], dir = 'onebox', metaCount = 1): Promise<void> {
  const layout = oneboxLayout(metaCount);
  const children: ChildProcess[] = [];
  let zookeeper: ZooKeeperServer | undefined;
  let stopping = false;
  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    const deadline = setTimeout(() => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      void zookeeper?.stop('SIGKILL').finally(() => process.exit(code));
    }, 5000);
    deadline.unref();
    // ZooKeeper goes last, so the metas can end their sessions.
    Promise.all(children.map((child) => (child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve)))))
      .then(() => zookeeper?.stop())
      .then(() => process.exit(code));
  };
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));

  if (layout.zookeeper) {
    const zookeeperDir = path.join(dir, 'zookeeper');
    process.stdout.write(`onebox: starting ZooKeeper on 127.0.0.1:${layout.zookeeper.port} (data in ${zookeeperDir})\n`);
    try {
      zookeeper = await startZooKeeperServer({ dir: zookeeperDir, port: layout.zookeeper.port });
    } catch (error) {
      throw new ConfigError(`onebox needs a ZooKeeper server for ${metaCount} metas: ${(error as Error).message}`);
    }
    void zookeeper.exited.then((code) => {
      if (stopping) return;
      process.stderr.write(`onebox: ZooKeeper exited (${code}); stopping the others\n`);
      stopAll(1);
    });
  }
  for (const { role, name, port } of layout.processes) {
    const settings = [...layout.settings[role], `core.data_dir=${path.join(dir, name)}`].flatMap((setting) => ['--set', setting]);
    const [node, ...args] = childCommand({ args: [role, '--port', String(port), ...settings, ...passThrough] });
    const child = spawn(node!, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(child);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`onebox: ${role} on ${port} exited (${signal ?? code}); stopping the others\n`);
      stopAll(1);
    });
  }
  const metaPorts = layout.processes.filter((entry) => entry.role === 'meta').map((entry) => entry.port);
  const metas = metaPorts.length === 1 ? `meta on 127.0.0.1:${metaPorts[0]}` : `metas on 127.0.0.1:${metaPorts[0]}-${metaPorts.at(-1)} (ZooKeeper on 127.0.0.1:${layout.zookeeper!.port})`;
  process.stdout.write(`onebox: ${metas}, replicas on 127.0.0.1:34801-34803 (Ctrl-C stops them)\n`);
}
