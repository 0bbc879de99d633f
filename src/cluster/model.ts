// The meta server's data model: tables (app_info), partition configurations, replica-server
// nodes, and the meta function level, with the names and numbers Pegasus uses on the wire
// (idl/dsn.layer2.thrift, idl/meta_admin.thrift, idl/metadata.thrift).
//
// Addresses are `host:port` strings; the empty string means "no node" (Pegasus's invalid
// rpc_address / host_port). Times are plain numbers with their unit in the name.

// ---------------------------------------------------------------------------------------------
// app_status

export const APP_STATUS_VALUES = {
  AS_INVALID: 0,
  AS_AVAILABLE: 1,
  AS_CREATING: 2,
  AS_CREATE_FAILED: 3,
  AS_DROPPING: 4,
  AS_DROP_FAILED: 5,
  AS_DROPPED: 6,
  AS_RECALLING: 7,
} as const;
export type AppStatus = keyof typeof APP_STATUS_VALUES;

export function appStatusFromValue(value: number): AppStatus | undefined {
  for (const [name, number] of Object.entries(APP_STATUS_VALUES)) if (number === value) return name as AppStatus;
  return undefined;
}

/** `AS_AVAILABLE` → `AVAILABLE`, as the shell and /meta/apps print it. */
export function appStatusDisplayName(status: AppStatus): string {
  return status.slice('AS_'.length);
}

// ---------------------------------------------------------------------------------------------
// app_info

export const APP_TYPE_PEGASUS = 'pegasus';

export interface AppInfo {
  status: AppStatus;
  appType: string;
  appName: string;
  appId: number;
  partitionCount: number;
  envs: Record<string, string>;
  isStateful: boolean;
  maxReplicaCount: number;
  /** Unix seconds after which a dropped table can no longer be recalled; 0 while available. */
  expireSecond: number;
  createSecond: number;
  dropSecond: number;
  duplicating: boolean;
  initPartitionCount: number;
  isBulkLoading: boolean;
  atomicIdempotent: boolean;
}

export function cloneAppInfo(app: AppInfo): AppInfo {
  return { ...app, envs: { ...app.envs } };
}

// ---------------------------------------------------------------------------------------------
// gpid and partition_configuration

export interface Gpid {
  appId: number;
  partitionIndex: number;
}

export function gpidText(gpid: Gpid): string {
  return `${gpid.appId}.${gpid.partitionIndex}`;
}

export function parseGpid(text: string): Gpid | undefined {
  const match = /^(-?\d+)\.(-?\d+)$/.exec(text);
  if (!match) return undefined;
  return { appId: Number(match[1]), partitionIndex: Number(match[2]) };
}

/** Bit 0 of partition_flags: the partition belongs to a dropped table. */
export const PARTITION_FLAG_DROPPED = 1;

/** How many recently removed members `last_drops` remembers (FIFO). */
export const LAST_DROPS_MAX = 3;

export interface PartitionConfiguration {
  gpid: Gpid;
  ballot: number;
  maxReplicaCount: number;
  /** `host:port`, or '' when the partition has no primary. */
  primary: string;
  secondaries: string[];
  /** Most recently removed members, oldest first, at most LAST_DROPS_MAX. */
  lastDrops: string[];
  lastCommittedDecree: number;
  partitionFlags: number;
}

export function clonePartitionConfiguration(config: PartitionConfiguration): PartitionConfiguration {
  return {
    ...config,
    gpid: { ...config.gpid },
    secondaries: [...config.secondaries],
    lastDrops: [...config.lastDrops],
  };
}

export function newPartitionConfiguration(appId: number, partitionIndex: number, maxReplicaCount: number): PartitionConfiguration {
  return {
    gpid: { appId, partitionIndex },
    ballot: 0,
    maxReplicaCount,
    primary: '',
    secondaries: [],
    lastDrops: [],
    lastCommittedDecree: 0,
    partitionFlags: 0,
  };
}

/** Primary first, then secondaries in order. */
export function membersOf(config: PartitionConfiguration): string[] {
  return config.primary === '' ? [...config.secondaries] : [config.primary, ...config.secondaries];
}

export function isMember(config: PartitionConfiguration, node: string): boolean {
  return config.primary === node || config.secondaries.includes(node);
}

export function replicaCountOf(config: PartitionConfiguration): number {
  return (config.primary === '' ? 0 : 1) + config.secondaries.length;
}

export function sameMembership(a: PartitionConfiguration, b: PartitionConfiguration): boolean {
  return (
    a.primary === b.primary &&
    a.secondaries.length === b.secondaries.length &&
    a.secondaries.every((node) => b.secondaries.includes(node))
  );
}

// ---------------------------------------------------------------------------------------------
// config_type: the membership changes a configuration update or a proposal carries

export const CONFIG_TYPE_VALUES = {
  CT_INVALID: 0,
  CT_ASSIGN_PRIMARY: 1,
  CT_UPGRADE_TO_PRIMARY: 2,
  CT_ADD_SECONDARY: 3,
  CT_UPGRADE_TO_SECONDARY: 4,
  CT_DOWNGRADE_TO_SECONDARY: 5,
  CT_DOWNGRADE_TO_INACTIVE: 6,
  CT_REMOVE: 7,
  CT_ADD_SECONDARY_FOR_LB: 8,
  CT_PRIMARY_FORCE_UPDATE_BALLOT: 9,
  CT_DROP_PARTITION: 10,
  CT_REGISTER_CHILD: 11,
} as const;
export type ConfigType = keyof typeof CONFIG_TYPE_VALUES;

export function configTypeFromValue(value: number): ConfigType | undefined {
  for (const [name, number] of Object.entries(CONFIG_TYPE_VALUES)) if (number === value) return name as ConfigType;
  return undefined;
}

function withoutNode(list: readonly string[], node: string): string[] {
  return list.filter((member) => member !== node);
}

/** Appends `node` to last_drops (moving it to the end if present) and keeps the newest LAST_DROPS_MAX. */
export function pushLastDrop(lastDrops: readonly string[], node: string): string[] {
  const next = [...withoutNode(lastDrops, node), node];
  return next.slice(Math.max(0, next.length - LAST_DROPS_MAX));
}

/**
 * The configuration that results from applying one change to `current`: ballot + 1 and the
 * membership change `type` makes for `node`. Returns undefined when the change does not fit the
 * current membership (for example upgrading a node that is not a secondary). Pure.
 */
export function applyConfigChange(
  current: PartitionConfiguration,
  type: ConfigType,
  node: string,
): PartitionConfiguration | undefined {
  const next = clonePartitionConfiguration(current);
  next.ballot = current.ballot + 1;
  switch (type) {
    case 'CT_ASSIGN_PRIMARY':
      if (node === '' || current.primary !== '') return undefined;
      next.primary = node;
      next.secondaries = withoutNode(current.secondaries, node);
      next.lastDrops = withoutNode(current.lastDrops, node);
      return next;
    case 'CT_UPGRADE_TO_PRIMARY':
      if (current.primary !== '' || !current.secondaries.includes(node)) return undefined;
      next.primary = node;
      next.secondaries = withoutNode(current.secondaries, node);
      next.lastDrops = withoutNode(current.lastDrops, node);
      return next;
    case 'CT_ADD_SECONDARY':
    case 'CT_ADD_SECONDARY_FOR_LB':
    case 'CT_UPGRADE_TO_SECONDARY':
      if (node === '' || current.primary === '' || isMember(current, node)) return undefined;
      next.secondaries = [...current.secondaries, node];
      next.lastDrops = withoutNode(current.lastDrops, node);
      return next;
    case 'CT_DOWNGRADE_TO_SECONDARY':
      if (current.primary !== node || node === '') return undefined;
      next.primary = '';
      next.secondaries = [...current.secondaries, node];
      return next;
    case 'CT_DOWNGRADE_TO_INACTIVE':
    case 'CT_REMOVE':
      if (node === '' || !isMember(current, node)) return undefined;
      if (current.primary === node) next.primary = '';
      next.secondaries = withoutNode(current.secondaries, node);
      next.lastDrops = pushLastDrop(current.lastDrops, node);
      return next;
    case 'CT_PRIMARY_FORCE_UPDATE_BALLOT':
      if (current.primary === '' || current.primary !== node) return undefined;
      return next;
    case 'CT_DROP_PARTITION': {
      let drops = [...current.lastDrops];
      for (const member of membersOf(current)) drops = pushLastDrop(drops, member);
      next.primary = '';
      next.secondaries = [];
      next.lastDrops = drops;
      next.partitionFlags = current.partitionFlags | PARTITION_FLAG_DROPPED;
      return next;
    }
    case 'CT_INVALID':
    case 'CT_REGISTER_CHILD':
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// partition_status (replica side, reported through config sync)

export const PARTITION_STATUS_VALUES = {
  PS_INVALID: 0,
  PS_INACTIVE: 1,
  PS_ERROR: 2,
  PS_PRIMARY: 3,
  PS_SECONDARY: 4,
  PS_POTENTIAL_SECONDARY: 5,
  PS_PARTITION_SPLIT: 6,
} as const;
export type PartitionStatus = keyof typeof PARTITION_STATUS_VALUES;

/** One replica a replica server holds on disk, as it reports in config sync (replica_info). */
export interface ReplicaInfo {
  gpid: Gpid;
  ballot: number;
  status: PartitionStatus;
  lastCommittedDecree: number;
  lastPreparedDecree: number;
  lastDurableDecree: number;
  appType: string;
  diskTag: string;
  /** Where this replica is in a manual compaction (absent: IDLE, as Pegasus reads an unset field). */
  manualCompactStatus?: ManualCompactStatus;
}

/** split_status (idl/metadata.thrift): where a parent partition is in a split. */
export const SPLIT_STATUS_VALUES = { NOT_SPLIT: 0, SPLITTING: 1, PAUSING: 2, PAUSED: 3, CANCELING: 4 } as const;
/** The statuses of a parent whose child is not registered (NOT_SPLIT travels as no status). */
export type SplitStatusName = Exclude<keyof typeof SPLIT_STATUS_VALUES, 'NOT_SPLIT'>;

/** A split_status number as a parent's status; undefined for NOT_SPLIT and unknown numbers. */
export function splitStatusFromValue(value: number): SplitStatusName | undefined {
  for (const [name, number] of Object.entries(SPLIT_STATUS_VALUES)) if (number === value && name !== 'NOT_SPLIT') return name as SplitStatusName;
  return undefined;
}

/** manual_compaction_status (idl/metadata.thrift). */
export const MANUAL_COMPACT_STATUS_VALUES = { IDLE: 0, QUEUING: 1, RUNNING: 2, FINISHED: 3 } as const;
export type ManualCompactStatus = keyof typeof MANUAL_COMPACT_STATUS_VALUES;

// ---------------------------------------------------------------------------------------------
// replica-server nodes

export const NODE_STATUS_VALUES = { NS_INVALID: 0, NS_ALIVE: 1, NS_UNALIVE: 2 } as const;
export type NodeStatus = keyof typeof NODE_STATUS_VALUES;

export interface NodeInfo {
  /** `host:port` of the replica server. */
  address: string;
  status: 'ALIVE' | 'UNALIVE';
  /** Meta-side time of the last beacon received (or of the meta's start for a node it assumed alive). */
  lastBeaconMs: number | undefined;
  /** While alive: when the node is declared dead unless another beacon arrives (last beacon + grace). */
  graceDeadlineMs: number | undefined;
}

/** Splits `host:port`; the port is the part after the last colon. */
export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return { host: address, port: 0 };
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) || 0 };
}

/** Nodes ordered by host string, then port number, as /meta/nodes and /meta/app list them. */
export function compareHostPort(a: string, b: string): number {
  const left = splitHostPort(a);
  const right = splitHostPort(b);
  if (left.host !== right.host) return left.host < right.host ? -1 : 1;
  return left.port - right.port;
}

// ---------------------------------------------------------------------------------------------
// meta_function_level

export const FUNCTION_LEVEL_VALUES = {
  fl_stopped: 100,
  fl_blind: 200,
  fl_freezed: 300,
  fl_steady: 400,
  fl_lively: 500,
  fl_invalid: 10000,
} as const;
export type FunctionLevel = keyof typeof FUNCTION_LEVEL_VALUES;

/** The levels a meta can actually be at (fl_invalid only means "no change" in a request). */
export const SETTABLE_FUNCTION_LEVELS = ['fl_stopped', 'fl_blind', 'fl_freezed', 'fl_steady', 'fl_lively'] as const;

/** `fl_steady` → `steady`, as /meta/cluster and the shell print it. */
export function functionLevelDisplayName(level: FunctionLevel): string {
  return level.slice('fl_'.length);
}

/** Accepts `steady` or `fl_steady` (config value or shell argument). */
export function parseFunctionLevel(text: string): FunctionLevel | undefined {
  const name = text.startsWith('fl_') ? text : `fl_${text}`;
  return (SETTABLE_FUNCTION_LEVELS as readonly string[]).includes(name) ? (name as FunctionLevel) : undefined;
}

/** True when `level` is at or below `threshold` (e.g. "≤ freezed" blocks DDL). */
export function levelAtMost(level: FunctionLevel, threshold: FunctionLevel): boolean {
  return FUNCTION_LEVEL_VALUES[level] <= FUNCTION_LEVEL_VALUES[threshold];
}

// ---------------------------------------------------------------------------------------------
// JSON as stored under <cluster_root>/apps (spec pegasus-arch §2.12): thrift field names,
// enums as `type::NAME`, addresses as `host:port` or Pegasus's "invalid" spelling.

const INVALID_ADDRESS = 'invalid address';
const INVALID_HOST_PORT = 'invalid host_port';

export function appInfoToJson(app: AppInfo): string {
  return JSON.stringify({
    status: `app_status::${app.status}`,
    app_type: app.appType,
    app_name: app.appName,
    app_id: app.appId,
    partition_count: app.partitionCount,
    envs: app.envs,
    is_stateful: app.isStateful,
    max_replica_count: app.maxReplicaCount,
    expire_second: app.expireSecond,
    create_second: app.createSecond,
    drop_second: app.dropSecond,
    duplicating: app.duplicating,
    init_partition_count: app.initPartitionCount,
    is_bulk_loading: app.isBulkLoading,
    atomic_idempotent: app.atomicIdempotent,
  });
}

function field<T>(object: Record<string, unknown>, name: string, kind: 'number' | 'string' | 'boolean' | 'object', fallback?: T): T {
  const value = object[name];
  if (value === undefined && fallback !== undefined) return fallback;
  if (kind === 'object' ? value === null || typeof value !== 'object' || Array.isArray(value) : typeof value !== kind) {
    throw new Error(`field "${name}" should be a ${kind}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function appInfoFromJson(text: string): AppInfo {
  const object = JSON.parse(text) as Record<string, unknown>;
  const statusText = field<string>(object, 'status', 'string');
  const status = statusText.replace(/^app_status::/, '');
  if (!(status in APP_STATUS_VALUES)) throw new Error(`unknown app status "${statusText}"`);
  const envs = field<Record<string, unknown>>(object, 'envs', 'object', {});
  const envStrings: Record<string, string> = {};
  for (const [key, value] of Object.entries(envs)) {
    if (typeof value !== 'string') throw new Error(`env "${key}" should be a string`);
    envStrings[key] = value;
  }
  return {
    status: status as AppStatus,
    appType: field(object, 'app_type', 'string'),
    appName: field(object, 'app_name', 'string'),
    appId: field(object, 'app_id', 'number'),
    partitionCount: field(object, 'partition_count', 'number'),
    envs: envStrings,
    isStateful: field(object, 'is_stateful', 'boolean', true),
    maxReplicaCount: field(object, 'max_replica_count', 'number'),
    expireSecond: field(object, 'expire_second', 'number', 0),
    createSecond: field(object, 'create_second', 'number', 0),
    dropSecond: field(object, 'drop_second', 'number', 0),
    duplicating: field(object, 'duplicating', 'boolean', false),
    initPartitionCount: field(object, 'init_partition_count', 'number', -1),
    isBulkLoading: field(object, 'is_bulk_loading', 'boolean', false),
    atomicIdempotent: field(object, 'atomic_idempotent', 'boolean', false),
  };
}

export function partitionConfigurationToJson(config: PartitionConfiguration): string {
  const address = (node: string): string => (node === '' ? INVALID_ADDRESS : node);
  const hostPort = (node: string): string => (node === '' ? INVALID_HOST_PORT : node);
  return JSON.stringify({
    pid: gpidText(config.gpid),
    ballot: config.ballot,
    max_replica_count: config.maxReplicaCount,
    primary: address(config.primary),
    secondaries: config.secondaries.map(address),
    last_drops: config.lastDrops.map(address),
    last_committed_decree: config.lastCommittedDecree,
    partition_flags: config.partitionFlags,
    hp_primary: hostPort(config.primary),
    hp_secondaries: config.secondaries.map(hostPort),
    hp_last_drops: config.lastDrops.map(hostPort),
  });
}

export function partitionConfigurationFromJson(text: string): PartitionConfiguration {
  const object = JSON.parse(text) as Record<string, unknown>;
  const gpid = parseGpid(field<string>(object, 'pid', 'string'));
  if (!gpid) throw new Error(`bad pid ${JSON.stringify(object.pid)}`);
  const node = (value: unknown): string => {
    if (typeof value !== 'string') throw new Error(`address should be a string, got ${JSON.stringify(value)}`);
    return value === INVALID_ADDRESS || value === INVALID_HOST_PORT ? '' : value;
  };
  const list = (name: string): string[] => {
    const value = object[name];
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new Error(`field "${name}" should be a list`);
    return value.map(node);
  };
  // The host_port mirrors win when present: they are what Pteron writes and reads.
  const hpPrimary = object.hp_primary === undefined ? undefined : node(object.hp_primary);
  const config: PartitionConfiguration = {
    gpid,
    ballot: field(object, 'ballot', 'number'),
    maxReplicaCount: field(object, 'max_replica_count', 'number'),
    primary: hpPrimary ?? node(object.primary ?? INVALID_ADDRESS),
    secondaries: object.hp_secondaries !== undefined ? list('hp_secondaries') : list('secondaries'),
    lastDrops: object.hp_last_drops !== undefined ? list('hp_last_drops') : list('last_drops'),
    lastCommittedDecree: field(object, 'last_committed_decree', 'number', 0),
    partitionFlags: field(object, 'partition_flags', 'number', 0),
  };
  // Stored text is outside input: a membership the meta could never have written is refused here,
  // with the load's error, before the guardian's assertions would see it.
  if (config.primary !== '' && config.secondaries.includes(config.primary)) throw new Error(`primary ${config.primary} is also a secondary`);
  if (config.secondaries.includes('')) throw new Error('a secondary has no address');
  if (new Set(config.secondaries).size !== config.secondaries.length) throw new Error(`a secondary is listed twice (${config.secondaries.join(',')})`);
  return config;
}
