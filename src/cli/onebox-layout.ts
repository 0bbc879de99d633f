// What a onebox cluster is, decided without touching anything: its processes, ports, data
// directories and settings, the slot that keeps a second named cluster off the first one's ports,
// the restart back-off for a process that died, and the state file `onebox list|stop` read.
import path from 'node:path';
import { ConfigError } from '../config/index.ts';

/** The default cluster: Pegasus's onebox name, ports and `onebox/` directory. */
export const DEFAULT_CLUSTER = 'onebox';
/** Metas listen on base+1…, replica servers on base+201… (34601…, 34801… as in Pegasus). */
export const DEFAULT_BASE_PORT = 34600;
const REPLICA_PORT_OFFSET = 200;
/** Each further named cluster moves every port by this much, and ZooKeeper's by one. */
export const SLOT_PORT_STRIDE = 1000;
/** Pegasus's onebox ZooKeeper port. */
export const ONEBOX_ZOOKEEPER_PORT = 22181;
/** A primary that dies is replaced about this long after (the ZooKeeper session timeout). */
export const ONEBOX_ZOOKEEPER_TIMEOUT_MS = 10_000;
/** Up to this many metas and as many replica servers, so one role's ports never reach the other's. */
export const SERVERS_PER_ROLE_MAX = 99;
const CLUSTER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

export type OneboxRole = 'meta' | 'replica';

export interface OneboxProcess {
  role: OneboxRole;
  /** meta1, replica2: its directory under the cluster's, and its log name. */
  name: string;
  port: number;
  dataDir: string;
}

export interface OneboxOptions {
  cluster: string;
  metas: number;
  replicas: number;
  /** Where onebox clusters keep their state (`onebox`, relative to the working directory). */
  root: string;
  /** 0 for the default cluster; a named cluster's is recorded in its state file. */
  slot: number;
  basePort?: number;
  zookeeperPort?: number;
}

export interface OneboxLayout {
  cluster: string;
  slot: number;
  /** The cluster's own directory: its state file and each process's data. */
  dir: string;
  processes: OneboxProcess[];
  /** `--set` values per role. */
  settings: Record<OneboxRole, string[]>;
  /** With more than one meta: the ZooKeeper server they share their state in. */
  zookeeper: { port: number; dir: string } | undefined;
}

export function checkClusterName(name: string): string {
  if (!CLUSTER_NAME.test(name)) throw new ConfigError(`--cluster expects a letter then letters, digits, "_" or "-", got "${name}"`);
  return name;
}

function checkCount(option: string, count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > SERVERS_PER_ROLE_MAX) {
    throw new ConfigError(`${option} expects 1 to ${SERVERS_PER_ROLE_MAX}, got "${count}"`);
  }
  return count;
}

/** The default cluster lives in `root` itself (as Pegasus's run.sh has it), a named one in `root/clusters/NAME`. */
export function clusterDir(root: string, cluster: string): string {
  return cluster === DEFAULT_CLUSTER ? root : path.join(root, 'clusters', cluster);
}

/** The lowest slot from 1 up that no other named cluster holds. */
export function freeSlot(taken: Iterable<number>): number {
  const used = new Set(taken);
  let slot = 1;
  while (used.has(slot)) slot++;
  return slot;
}

export function oneboxLayout(options: OneboxOptions): OneboxLayout {
  const cluster = checkClusterName(options.cluster);
  const metas = checkCount('--metas', options.metas);
  const replicas = checkCount('--replicas', options.replicas);
  const base = (options.basePort ?? DEFAULT_BASE_PORT) + options.slot * SLOT_PORT_STRIDE;
  if (base < 0 || base + REPLICA_PORT_OFFSET + replicas > 65535) throw new ConfigError(`--base-port ${options.basePort} leaves no room for the servers' ports`);
  const dir = clusterDir(options.root, cluster);
  const metaPorts = Array.from({ length: metas }, (_, index) => base + 1 + index);
  const serverList = `meta_server.server_list=${metaPorts.map((port) => `127.0.0.1:${port}`).join(',')}`;
  const zookeeper = metas > 1 ? { port: options.zookeeperPort ?? ONEBOX_ZOOKEEPER_PORT + options.slot, dir: path.join(dir, 'zookeeper') } : undefined;
  const metaSettings = [
    `replication.cluster_name=${cluster}`,
    serverList,
    // Pegasus's onebox settings: a small cluster may cure with one live node, and starts with table `temp`.
    'meta_server.min_live_node_count_for_unfreeze=1',
    'meta_server.apps.temp.partition_count=8',
    `meta_server.apps.temp.max_replica_count=${Math.min(3, replicas)}`,
  ];
  if (zookeeper) {
    metaSettings.push(
      'meta_server.meta_state_service_type=zookeeper',
      `zookeeper.hosts_list=127.0.0.1:${zookeeper.port}`,
      `zookeeper.timeout_ms=${ONEBOX_ZOOKEEPER_TIMEOUT_MS}`,
      `meta_server.cluster_root=/pegasus/${cluster}`,
    );
  }
  const replicaSettings = [`replication.cluster_name=${cluster}`, serverList];
  // Fewer than Pegasus's two replicas could never commit a write.
  if (replicas === 1) {
    metaSettings.push('replication.mutation_2pc_min_replica_count=1');
    replicaSettings.push('replication.mutation_2pc_min_replica_count=1');
  }
  const process = (role: OneboxRole, index: number, port: number): OneboxProcess => ({
    role, name: `${role}${index + 1}`, port, dataDir: path.join(dir, `${role}${index + 1}`),
  });
  return {
    cluster,
    slot: options.slot,
    dir,
    processes: [
      ...metaPorts.map((port, index) => process('meta', index, port)),
      ...Array.from({ length: replicas }, (_, index) => process('replica', index, base + REPLICA_PORT_OFFSET + 1 + index)),
    ],
    settings: { meta: metaSettings, replica: replicaSettings },
    zookeeper,
  };
}

/** `low-high` of a role's ports, or the one port. */
export function portRange(layout: OneboxLayout, role: OneboxRole): string {
  const ports = layout.processes.filter((entry) => entry.role === role).map((entry) => entry.port);
  return ports.length === 1 ? `127.0.0.1:${ports[0]}` : `127.0.0.1:${ports[0]}-${ports.at(-1)}`;
}

/** First restart after 1 s, then twice as long each time up to 30 s; a process that ran a minute starts over. */
export const RESTART_BACKOFF_MS = { first: 1000, max: 30_000, resetAfterRunningMs: 60_000 } as const;

export function restartDelayMs(previousDelayMs: number | undefined, ranMs: number): number {
  if (previousDelayMs === undefined || ranMs >= RESTART_BACKOFF_MS.resetAfterRunningMs) return RESTART_BACKOFF_MS.first;
  return Math.min(RESTART_BACKOFF_MS.max, previousDelayMs * 2);
}

/** `onebox.json` in the cluster's directory: written by the running onebox, read by `list`, `stop` and `clear`. */
export interface OneboxState {
  cluster: string;
  slot: number;
  /** The onebox process; 0 once it stopped. */
  pid: number;
  basePort?: number;
  zookeeperPort?: number;
  processes: Array<{ name: string; role: OneboxRole | 'zookeeper'; port: number; pid: number; restarts: number; dataDir: string }>;
}

export const STATE_FILE = 'onebox.json';

export function parseOneboxState(text: string, file: string): OneboxState {
  let state: OneboxState;
  try {
    state = JSON.parse(text) as OneboxState;
  } catch (error) {
    throw new ConfigError(`${file}: not a onebox state file (${(error as Error).message})`);
  }
  if (typeof state.cluster !== 'string' || !Number.isInteger(state.slot) || !Number.isInteger(state.pid) || !Array.isArray(state.processes)) {
    throw new ConfigError(`${file}: not a onebox state file (cluster, slot, pid or processes missing)`);
  }
  return state;
}
