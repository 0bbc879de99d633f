// The meta server's state: tables, partition configurations and replica-server liveness, kept in
// memory and persisted through a MetaStateStore (spec pegasus-arch §2.1–§2.12; the balancer's
// plan is computed in balancer.ts, its steps are queued and carried out here).
//
// Every change is written to the store first and applied in memory after the write succeeded,
// so what the meta answers is always what a restarted meta would load. Changes run one at a
// time through a queue (Pegasus runs them on a single "meta state" thread). Reads are
// synchronous views of the in-memory state.
//
// Store layout under <cluster_root> (§2.12):
//   /apps                  data "lock" while default tables are being written, then "unlock"
//   /apps/<app_id>         app_info JSON
//   /apps/<app_id>/<pidx>  partition_configuration JSON
import { assert, log, type ErrorName } from '../base/index.ts';
import { mutation2pcMinReplicaCount } from '../cluster/index.ts';
import { defineFlag, type LoadedConfig } from '../config/index.ts';
import { defineMetric, metricRegistry, serverEntity, type Counter, type MetricEntity } from '../metrics/index.ts';
import { parseEnvList, validateAppEnv, validateCreateAppEnvs } from './app-envs.ts';
import {
  BALANCE_COUNT_NOT_COLLECTED, balancerStepIsValid, countBalanceOperations, planBalance,
  type BalanceOperation, type BalanceOperationCount, type BalancerOptions, type BalancerStep,
} from './balancer.ts';
import { failureDetectorOptionsFromFlags, MasterFailureDetector, type BeaconOutcome, type FailureDetectorOptions } from './failure-detector.ts';
import { effectiveFunctionLevel, guardianStep, type DroppedReplica, type MemberReport, type GuardianAction, type GuardianEvent, type GuardianOptions, type GuardianProposal } from './guardian.ts';
import {
  APP_TYPE_PEGASUS, appInfoFromJson, appInfoToJson, applyConfigChange, cloneAppInfo, clonePartitionConfiguration, gpidText,
  isMember, levelAtMost, membersOf, newPartitionConfiguration, parseFunctionLevel, parseGpid, partitionConfigurationFromJson,
  partitionConfigurationToJson, PARTITION_FLAG_DROPPED, replicaCountOf, sameMembership,
  type AppInfo, type AppStatus, type ConfigType, type FunctionLevel, type Gpid, type NodeInfo, type PartitionConfiguration,
  type ReplicaInfo,
} from '../cluster/model.ts';
import { joinPath, normalizeRootPath, ensurePath, type MetaStateStore, type StoreOp } from './state-store.ts';

// ---------------------------------------------------------------------------------------------
// flags

export const clusterRoot = defineFlag({
  section: 'meta_server',
  name: 'cluster_root',
  type: 'FV_STRING',
  default: '/',
  description: 'The root path of this cluster in the meta state store',
});

export const metaFunctionLevelOnStart = defineFlag({
  section: 'meta_server',
  name: 'meta_function_level_on_start',
  type: 'FV_STRING',
  default: 'steady',
  description: 'The meta function level at start-up: stopped, blind, freezed, steady or lively',
  validator: (value) => parseFunctionLevel(value) !== undefined,
});

export const minLiveNodeCountForUnfreeze = defineFlag({
  section: 'meta_server',
  name: 'min_live_node_count_for_unfreeze',
  type: 'FV_UINT64',
  default: 3,
  description: 'With fewer alive replica servers than this, the meta works at level freezed',
  mutable: true,
});

export const nodeLivePercentageThresholdForUpdate = defineFlag({
  section: 'meta_server',
  name: 'node_live_percentage_threshold_for_update',
  type: 'FV_UINT64',
  default: 65,
  description: 'With a smaller percentage of the known replica servers alive, the meta works at level freezed',
  mutable: true,
  validator: (value) => value <= 100,
});

export const holdSecondsForDroppedApp = defineFlag({
  section: 'meta_server',
  name: 'hold_seconds_for_dropped_app',
  type: 'FV_UINT64',
  default: 604800,
  description: 'How long (seconds) a dropped table can be recalled before its data is deleted',
  mutable: true,
});

export const replicaAssignDelayMsForDropouts = defineFlag({
  section: 'meta_server',
  name: 'replica_assign_delay_ms_for_dropouts',
  type: 'FV_UINT64',
  default: 600000,
  description: 'How long (ms) to wait for a dropped replica server to come back before copying its replicas elsewhere',
  mutable: true,
});

export const addSecondaryEnableFlowControl = defineFlag({
  section: 'meta_server',
  name: 'add_secondary_enable_flow_control',
  type: 'FV_BOOL',
  default: false,
  description: 'Limit how many new secondaries one replica server receives per guardian round',
  mutable: true,
});

export const addSecondaryMaxCountForOneNode = defineFlag({
  section: 'meta_server',
  name: 'add_secondary_max_count_for_one_node',
  type: 'FV_UINT64',
  default: 10,
  description: 'With add_secondary_enable_flow_control, the most new secondaries one replica server receives per round',
  mutable: true,
  validator: (value) => value >= 1,
});

export const maxAllowedReplicaCount = defineFlag({
  section: 'meta_server',
  name: 'max_allowed_replica_count',
  type: 'FV_INT32',
  default: 5,
  description: 'The largest replica count a table may have',
  mutable: true,
  validator: (value) => value >= 1,
});

export const minAllowedReplicaCount = defineFlag({
  section: 'meta_server',
  name: 'min_allowed_replica_count',
  type: 'FV_INT32',
  default: 1,
  description: 'The smallest replica count a table may have',
  mutable: true,
  validator: (value) => value >= 1,
});

export const maxAllowedPartitionCount = defineFlag({
  section: 'meta_server',
  name: 'max_allowed_partition_count',
  type: 'FV_INT32',
  default: 65536,
  description: 'The largest partition count a table may have (a power of two)',
  mutable: true,
  validator: (value) => value >= 1,
});

export const lbIntervalMs = defineFlag({
  section: 'replication',
  name: 'lb_interval_ms',
  type: 'FV_UINT64',
  default: 10000,
  description: 'How often (ms) the meta server checks every partition and cures the unhealthy ones',
  validator: (value) => value >= 10,
});

export const balancerInTurn = defineFlag({
  section: 'meta_server',
  name: 'balancer_in_turn',
  type: 'FV_BOOL',
  default: false,
  description: 'Balance the tables one at a time: a round stops at the first table that needs balance operations',
  mutable: true,
});

export const onlyPrimaryBalancer = defineFlag({
  section: 'meta_server',
  name: 'only_primary_balancer',
  type: 'FV_BOOL',
  default: false,
  description: 'Only balance the primaries, never the secondaries',
  mutable: true,
});

export const onlyMovePrimary = defineFlag({
  section: 'meta_server',
  name: 'only_move_primary',
  type: 'FV_BOOL',
  default: false,
  description: 'Balance the primaries only by moving them to existing secondaries, never by copying data',
  mutable: true,
});

export function balancerOptionsFromFlags(): BalancerOptions {
  return { balancerInTurn: balancerInTurn.value, onlyPrimaryBalancer: onlyPrimaryBalancer.value, onlyMovePrimary: onlyMovePrimary.value };
}

export function guardianOptionsFromFlags(): GuardianOptions {
  return {
    mutation2pcMinReplicaCount: mutation2pcMinReplicaCount.value,
    replicaAssignDelayMsForDropouts: replicaAssignDelayMsForDropouts.value,
    addSecondaryEnableFlowControl: addSecondaryEnableFlowControl.value,
    addSecondaryMaxCountForOneNode: addSecondaryMaxCountForOneNode.value,
  };
}

// ---------------------------------------------------------------------------------------------
// metrics (spec pegasus-http §9.3–§9.4)

const aliveReplicaServersMetric = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'alive_replica_servers', unit: 'Servers', desc: 'The number of alive replica servers',
});
const unaliveReplicaServersMetric = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'unalive_replica_servers', unit: 'Servers', desc: 'The number of unalive replica servers',
});
const replicaServerDisconnectionsMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'replica_server_disconnections', unit: 'Disconnections',
  desc: 'The number of disconnections with replica servers',
});
const deadPartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'dead_partitions', unit: 'Partitions',
  desc: 'The number of dead partitions, which means primary = 0 && secondary = 0',
});
const unreadablePartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'unreadable_partitions', unit: 'Partitions',
  desc: 'The number of unreadable partitions, which means primary = 0 && secondary > 0',
});
const unwritablePartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'unwritable_partitions', unit: 'Partitions',
  desc: 'The number of unwritable partitions, which means primary = 1 && primary + secondary < mutation_2pc_min_replica_count',
});
const writableIllPartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'writable_ill_partitions', unit: 'Partitions',
  desc: 'The number of writable ill partitions, which means primary = 1 && primary + secondary >= mutation_2pc_min_replica_count && primary + secondary < max_replica_count',
});
const healthyPartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'healthy_partitions', unit: 'Partitions',
  desc: 'The number of healthy partitions, which means primary = 1 && primary + secondary >= max_replica_count',
});
const partitionConfigurationChangesMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'partition_configuration_changes', unit: 'Changes',
  desc: 'The number of times the configuration has been changed',
});
const unwritablePartitionChangesMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'unwritable_partition_changes', unit: 'Changes',
  desc: 'The number of times the status of partition has been changed to unwritable',
});
const writablePartitionChangesMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'writable_partition_changes', unit: 'Changes',
  desc: 'The number of times the status of partition has been changed to writable',
});
const greedyRecentBalanceOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Gauge', name: 'greedy_recent_balance_operations', unit: 'Operations',
  desc: 'The number of balance operations by greedy balancer that are recently needed to be executed',
});
const greedyMovePrimaryOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'greedy_move_primary_operations', unit: 'Operations',
  desc: 'The number of balance operations by greedy balancer that move primaries',
});
const greedyCopyPrimaryOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'greedy_copy_primary_operations', unit: 'Operations',
  desc: 'The number of balance operations by greedy balancer that copy primaries',
});
const greedyCopySecondaryOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'greedy_copy_secondary_operations', unit: 'Operations',
  desc: 'The number of balance operations by greedy balancer that copy secondaries',
});
const GREEDY_OPERATION_METRICS = {
  move_pri: greedyMovePrimaryOperationsMetric,
  copy_pri: greedyCopyPrimaryOperationsMetric,
  copy_sec: greedyCopySecondaryOperationsMetric,
} as const;

const choosePrimaryFailedOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'choose_primary_failed_operations', unit: 'Operations',
  desc: 'The number of operations that fail to choose the primary replica',
});

/** A partition's metric entity, with the balancer's metrics present from the start as in Pegasus. */
function partitionEntity(gpid: Gpid): MetricEntity {
  const entity = metricRegistry.entity('partition', `partition@${gpidText(gpid)}`, {
    table_id: String(gpid.appId), partition_id: String(gpid.partitionIndex),
  });
  entity.gauge(greedyRecentBalanceOperationsMetric);
  for (const metric of Object.values(GREEDY_OPERATION_METRICS)) entity.counter(metric);
  return entity;
}

export type PartitionHealth = 'dead' | 'unreadable' | 'unwritable' | 'writable_ill' | 'healthy';

/** The table-metric classification of one partition (§9.3; not the /meta/app rule). */
export function partitionHealth(config: PartitionConfiguration, min2pc: number): PartitionHealth {
  const count = replicaCountOf(config);
  if (config.primary === '') return count === 0 ? 'dead' : 'unreadable';
  if (count < min2pc) return 'unwritable';
  return count < config.maxReplicaCount ? 'writable_ill' : 'healthy';
}

// ---------------------------------------------------------------------------------------------
// requests and results (field names follow idl/meta_admin.thrift)

export interface CreateAppRequest {
  appName: string;
  partitionCount: number;
  replicaCount: number;
  successIfExist?: boolean;
  appType?: string;
  isStateful?: boolean;
  envs?: Record<string, string>;
  atomicIdempotent?: boolean;
}

export interface DropAppRequest {
  appName: string;
  successIfNotExist?: boolean;
  /** > 0 overrides hold_seconds_for_dropped_app for this drop. */
  reserveSeconds?: number;
}

export interface RecallAppRequest {
  appId: number;
  /** '' keeps the old name. */
  newAppName?: string;
}

export type AppEnvOperation = 'SET' | 'DEL' | 'CLEAR';

export interface UpdateAppEnvRequest {
  appName: string;
  op: AppEnvOperation;
  keys?: string[];
  values?: string[];
  /** CLEAR: '' clears every env, otherwise the envs whose key starts with `<prefix>.`. */
  clearPrefix?: string;
}

export interface ListAppsFilter {
  /** AS_INVALID (default) lists every table. */
  status?: AppStatus;
  namePattern?: string;
  match?: 'exact' | 'anywhere' | 'prefix' | 'postfix';
}

export interface MetaResult {
  err: ErrorName;
  hintMessage: string;
}

/** A replica server's RPC_CM_UPDATE_PARTITION_CONFIGURATION (configuration_update_request). */
export interface UpdateConfigurationRequest {
  /** The configuration the replica proposes (ballot = current + 1). */
  config: PartitionConfiguration;
  type: ConfigType;
  node: string;
}

export type UpdateConfigurationResult =
  | { err: ErrorName; config: PartitionConfiguration | undefined; proposals: GuardianProposal[] }
  /** Another change of this partition is being written: no reply (the replica retries). */
  | 'ignored';

export interface QueryConfigurationResult {
  err: ErrorName;
  appId: number;
  partitionCount: number;
  isStateful: boolean;
  partitions: PartitionConfiguration[];
}

export interface ConfigSyncResult {
  err: ErrorName;
  /** Every partition the meta counts the node as a member of, with its table. */
  partitions: Array<{ info: AppInfo; config: PartitionConfiguration }>;
  /** The node's stored replicas it may delete (only at level lively): tables gone or dropped and expired. */
  gcReplicas: ReplicaInfo[];
}

export interface DefaultAppSpec {
  appName: string;
  appType: string;
  partitionCount: number;
  maxReplicaCount: number;
  isStateful: boolean;
  envs: Record<string, string>;
}

/** The table `pteron onebox` starts with when the config names none: `temp`, 8 partitions × 3. */
export const ONEBOX_DEFAULT_APPS: readonly DefaultAppSpec[] = [
  { appName: 'temp', appType: APP_TYPE_PEGASUS, partitionCount: 8, maxReplicaCount: 3, isStateful: true, envs: {} },
];

function parseIntegerKey(section: string, key: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\s*\d+\s*$/.test(text)) throw new Error(`[${section}] ${key} = "${text}" is not a non-negative integer`);
  return Number(text);
}

/** The `[meta_server.apps.<name>]` sections: keys app_name, app_type, partition_count, max_replica_count, stateful, envs. */
export function defaultAppsFromConfig(config: LoadedConfig): DefaultAppSpec[] {
  const prefix = 'meta_server.apps.';
  return config.sectionsWithPrefix(prefix).map((section) => {
    const entries = config.section(section);
    const stateful = entries.get('stateful');
    if (stateful !== undefined && !/^(true|false)$/i.test(stateful)) throw new Error(`[${section}] stateful = "${stateful}" is not true or false`);
    let envs: Record<string, string>;
    try {
      envs = parseEnvList(entries.get('envs') ?? '');
    } catch (error) {
      throw new Error(`[${section}] envs: ${(error as Error).message}`);
    }
    return {
      appName: entries.get('app_name') ?? section.slice(prefix.length),
      appType: entries.get('app_type') ?? APP_TYPE_PEGASUS,
      partitionCount: parseIntegerKey(section, 'partition_count', entries.get('partition_count'), 1),
      maxReplicaCount: parseIntegerKey(section, 'max_replica_count', entries.get('max_replica_count'), 3),
      isStateful: stateful === undefined ? true : stateful.toLowerCase() === 'true',
      envs,
    };
  });
}

const APP_NAME_BYTES_MAX = 256;

/** undefined when the name is acceptable, otherwise why not. */
export function checkAppName(name: string): string | undefined {
  if (name === '') return "app name shouldn't be empty";
  if (Buffer.byteLength(name) > APP_NAME_BYTES_MAX) return `app name is longer than ${APP_NAME_BYTES_MAX} bytes`;
  if (!/^[A-Za-z0-9_.:]+$/.test(name)) return `app name ${JSON.stringify(name)} contains invalid characters; use letters, digits, '_', '.' and ':'`;
  return undefined;
}

function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0;
}

// ---------------------------------------------------------------------------------------------
// the state

export interface MetaServerStateOptions {
  store: MetaStateStore;
  /** Normalised cluster root in the store (default: the cluster_root flag). */
  clusterRoot?: string;
  /** Milliseconds; Date.now by default. Tests pass a fake clock. */
  clock?: () => number;
  failureDetector?: FailureDetectorOptions;
  /** Read on each guardian run; default: the flags. */
  guardianOptions?: () => GuardianOptions;
  /** Read on each balancer round; default: the flags. */
  balancerOptions?: () => BalancerOptions;
  /** Created when the store has no tables yet (first start of a cluster). */
  defaultApps?: readonly DefaultAppSpec[];
  /** Called for every proposal the guardian makes (the role sends RPC_CONFIG_PROPOSAL). */
  sendProposal?: (proposal: GuardianProposal) => void;
  /** Initial level (default: meta_function_level_on_start). */
  functionLevel?: FunctionLevel;
  /**
   * For this long after opening, a node coming alive does not trigger curing at once, so that
   * the replica servers of a starting cluster all register before partitions are placed
   * (otherwise the first one to beacon would get every primary). Default 0.
   */
  settleMs?: number;
}

interface PartitionContext {
  /** Members that left, most recent last, bounded. */
  dropped: DroppedReplica[];
  /** What each member reported of its replica in its last config sync. */
  memberReports: Map<string, MemberReport>;
  /** A write of this partition's configuration is in flight. */
  pending: boolean;
  /** While pending: the members before and after the change (config sync of these nodes must wait). */
  pendingNodes: Set<string>;
  /** The remaining steps of the balance operation under way, next first (Pegasus's lb_actions). */
  balancerSteps: BalancerStep[];
  metrics: MetricEntity;
}

const DROPPED_HISTORY_MAX = 8;
/** Guardian rounds chained after the meta's own updates (downgrade → promote …) in one call. */
const CURE_ROUNDS_MAX = 8;

export class MetaServerState {
  readonly store: MetaStateStore;
  readonly root: string;
  readonly appsPath: string;
  readonly failureDetector: MasterFailureDetector;
  private readonly clock: () => number;
  private readonly guardianOptions: () => GuardianOptions;
  private readonly balancerOptions: () => BalancerOptions;
  private readonly sendProposal: (proposal: GuardianProposal) => void;

  private readonly appsById = new Map<number, AppInfo>();
  /** Tables that hold their name: creating, available, recalling, dropping. */
  private readonly appIdsByName = new Map<string, number>();
  private readonly partitions = new Map<number, PartitionConfiguration[]>();
  private readonly contexts = new Map<string, PartitionContext>();
  private readonly tableEntities = new Map<number, MetricEntity>();
  /** Nodes that have sent config sync since the meta started. */
  private readonly replicasCollected = new Set<string>();
  /** Partitions the guardian could not cure (all replicas dead), with why. */
  private readonly dddPartitions = new Map<string, { gpid: Gpid; reason: string }>();
  /** Gpid texts whose context has balancer steps queued. */
  private readonly balancing = new Set<string>();
  /** The counts of the balancer's last round; undefined until a round reached the balancer. */
  private lastBalanceCount: BalanceOperationCount | undefined;
  private balancerIgnoredAppIds: ReadonlySet<number> = new Set();
  private level: FunctionLevel;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly disconnections: Counter;
  private closed = false;
  private readonly settleUntilMs: number;

  private constructor(options: MetaServerStateOptions) {
    this.store = options.store;
    this.root = normalizeRootPath(options.clusterRoot ?? clusterRoot.value);
    this.appsPath = joinPath(this.root, 'apps');
    this.clock = options.clock ?? Date.now;
    this.failureDetector = new MasterFailureDetector(options.failureDetector ?? failureDetectorOptionsFromFlags());
    this.guardianOptions = options.guardianOptions ?? guardianOptionsFromFlags;
    this.balancerOptions = options.balancerOptions ?? balancerOptionsFromFlags;
    this.sendProposal = options.sendProposal ?? (() => {});
    this.settleUntilMs = this.clock() + (options.settleMs ?? 0);
    const level = options.functionLevel ?? parseFunctionLevel(metaFunctionLevelOnStart.value);
    assert(level !== undefined, 'meta_function_level_on_start is validated');
    this.level = level;
    const server = serverEntity();
    server.gauge(aliveReplicaServersMetric).sampleWith(() => this.aliveNodes().size);
    server.gauge(unaliveReplicaServersMetric).sampleWith(() => this.failureDetector.list().filter((worker) => !worker.alive).length);
    this.disconnections = server.counter(replicaServerDisconnectionsMetric);
  }

  /** Loads the tables from the store (creating the cluster root and default tables on first start). */
  static async open(options: MetaServerStateOptions): Promise<MetaServerState> {
    const state = new MetaServerState(options);
    await state.load(options.defaultApps ?? []);
    return state;
  }

  private nowMs(): number {
    return this.clock();
  }
  private nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** Runs `task` after every earlier mutation finished (one logical "meta state" thread). */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new Error('the meta server state is closed');
      return task();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  // -------------------------------------------------------------------------------------------
  // loading

  private appPath(appId: number): string {
    return joinPath(this.appsPath, String(appId));
  }
  private partitionPath(gpid: Gpid): string {
    return joinPath(this.appPath(gpid.appId), String(gpid.partitionIndex));
  }

  private async load(defaultApps: readonly DefaultAppSpec[]): Promise<void> {
    await ensurePath(this.store, this.root);
    const marker = await this.store.get(this.appsPath);
    if (marker === undefined || marker.toString() === 'lock') {
      // First start (or a start that died while writing the default tables): write them all.
      if (marker !== undefined) await this.store.delete(this.appsPath, true);
      await this.createDefaultApps(defaultApps);
    }
    const repairs: StoreOp[] = [];
    for (const name of await this.store.children(this.appsPath)) {
      if (!/^\d+$/.test(name)) {
        log.warn({ path: joinPath(this.appsPath, name) }, 'meta state: ignoring a node that is not a table id');
        continue;
      }
      const appId = Number(name);
      const data = await this.store.get(this.appPath(appId));
      let app: AppInfo;
      try {
        app = appInfoFromJson(data?.toString('utf8') ?? '');
      } catch (error) {
        throw new Error(`meta state: ${this.appPath(appId)} is not a valid app_info: ${(error as Error).message}`);
      }
      if (app.appId !== appId) throw new Error(`meta state: ${this.appPath(appId)} holds app_id ${app.appId}`);
      if (app.status !== 'AS_AVAILABLE' && app.status !== 'AS_DROPPED') {
        throw new Error(`meta state: ${this.appPath(appId)} has status ${app.status}; only AS_AVAILABLE and AS_DROPPED are stored`);
      }
      const configs: PartitionConfiguration[] = [];
      for (let index = 0; index < app.partitionCount; index++) {
        const gpid = { appId, partitionIndex: index };
        const partitionData = await this.store.get(this.partitionPath(gpid));
        let config: PartitionConfiguration;
        if (partitionData === undefined) {
          // Only possible with a store that could not write the table in one batch.
          config = newPartitionConfiguration(appId, index, app.maxReplicaCount);
          if (app.status === 'AS_DROPPED') config.partitionFlags |= PARTITION_FLAG_DROPPED;
          repairs.push({ op: 'create', path: this.partitionPath(gpid), data: Buffer.from(partitionConfigurationToJson(config)) });
        } else {
          try {
            config = partitionConfigurationFromJson(partitionData.toString('utf8'));
          } catch (error) {
            throw new Error(`meta state: ${this.partitionPath(gpid)} is not a valid partition_configuration: ${(error as Error).message}`);
          }
          if (config.gpid.appId !== appId || config.gpid.partitionIndex !== index) {
            throw new Error(`meta state: ${this.partitionPath(gpid)} holds pid ${gpidText(config.gpid)}`);
          }
        }
        configs.push(config);
      }
      this.installApp(app, configs);
    }
    if (repairs.length > 0) {
      log.warn({ partitions: repairs.length }, 'meta state: writing missing partition nodes');
      await this.store.multi(repairs);
    }
    // Nodes named in the configurations get a grace period to send their first beacon.
    const now = this.nowMs();
    for (const configs of this.partitions.values()) {
      for (const config of configs) for (const node of membersOf(config)) this.failureDetector.assumeAlive(node, now);
    }
    log.info({ root: this.root, tables: this.appsById.size, store: this.store.type }, 'meta state loaded');
  }

  private async createDefaultApps(specs: readonly DefaultAppSpec[]): Promise<void> {
    const ops: StoreOp[] = [{ op: 'create', path: this.appsPath, data: Buffer.from('unlock') }];
    const names = new Set<string>();
    let appId = 0;
    for (const spec of specs) {
      const problem = this.checkTableShape(spec.appName, spec.partitionCount, spec.maxReplicaCount) ?? validateCreateAppEnvs(spec.envs);
      if (problem !== undefined) throw new Error(`default table "${spec.appName}": ${problem}`);
      if (names.has(spec.appName)) throw new Error(`default table "${spec.appName}" is configured twice`);
      names.add(spec.appName);
      appId++;
      const app = this.newAppInfo(appId, spec.appName, spec.appType, spec.partitionCount, spec.maxReplicaCount, spec.isStateful, spec.envs, false);
      ops.push(...this.createAppOps(app));
    }
    await this.store.multi(ops);
    if (specs.length > 0) log.info({ tables: specs.map((spec) => spec.appName) }, 'meta state: created the default tables');
  }

  private newAppInfo(
    appId: number, appName: string, appType: string, partitionCount: number, maxReplicaCount: number,
    isStateful: boolean, envs: Record<string, string>, atomicIdempotent: boolean,
  ): AppInfo {
    return {
      status: 'AS_AVAILABLE',
      appType,
      appName,
      appId,
      partitionCount,
      envs: { ...envs },
      isStateful,
      maxReplicaCount,
      expireSecond: 0,
      createSecond: this.nowSeconds(),
      dropSecond: 0,
      duplicating: false,
      initPartitionCount: partitionCount,
      isBulkLoading: false,
      atomicIdempotent,
    };
  }

  private createAppOps(app: AppInfo): StoreOp[] {
    const ops: StoreOp[] = [{ op: 'create', path: this.appPath(app.appId), data: Buffer.from(appInfoToJson(app)) }];
    for (let index = 0; index < app.partitionCount; index++) {
      const config = newPartitionConfiguration(app.appId, index, app.maxReplicaCount);
      ops.push({ op: 'create', path: this.partitionPath(config.gpid), data: Buffer.from(partitionConfigurationToJson(config)) });
    }
    return ops;
  }

  private installApp(app: AppInfo, configs: PartitionConfiguration[]): void {
    assert(configs.length === app.partitionCount, `table ${app.appId} has ${configs.length} of ${app.partitionCount} partitions`);
    this.appsById.set(app.appId, app);
    if (app.status !== 'AS_DROPPED') this.appIdsByName.set(app.appName, app.appId);
    this.partitions.set(app.appId, configs);
    for (const config of configs) {
      const key = gpidText(config.gpid);
      if (!this.contexts.has(key)) {
        this.contexts.set(key, { dropped: [], memberReports: new Map(), pending: false, pendingNodes: new Set(), balancerSteps: [], metrics: partitionEntity(config.gpid) });
      }
    }
    this.refreshTableMetrics(app);
  }

  private refreshTableMetrics(app: AppInfo): void {
    const appId = app.appId;
    if (app.status === 'AS_DROPPED') {
      this.tableEntities.get(appId)?.retire(this.nowMs());
      this.tableEntities.delete(appId);
      for (const config of this.partitions.get(appId) ?? []) this.contexts.get(gpidText(config.gpid))?.metrics.retire(this.nowMs());
      return;
    }
    if (this.tableEntities.has(appId)) return;
    const entity = metricRegistry.entity('table', `table@${appId}`, { table_id: String(appId) });
    const count = (health: PartitionHealth) => () => {
      const min2pc = mutation2pcMinReplicaCount.value;
      return (this.partitions.get(appId) ?? []).filter((config) => partitionHealth(config, min2pc) === health).length;
    };
    entity.gauge(deadPartitionsMetric).sampleWith(count('dead'));
    entity.gauge(unreadablePartitionsMetric).sampleWith(count('unreadable'));
    entity.gauge(unwritablePartitionsMetric).sampleWith(count('unwritable'));
    entity.gauge(writableIllPartitionsMetric).sampleWith(count('writable_ill'));
    entity.gauge(healthyPartitionsMetric).sampleWith(count('healthy'));
    this.tableEntities.set(appId, entity);
    for (const config of this.partitions.get(appId) ?? []) this.contexts.get(gpidText(config.gpid))!.metrics = partitionEntity(config.gpid);
  }

  // -------------------------------------------------------------------------------------------
  // reads

  /** Every table, by id. Copies: callers cannot change the state through them. */
  listAllApps(): AppInfo[] {
    return [...this.appsById.values()].sort((a, b) => a.appId - b.appId).map(cloneAppInfo);
  }

  /** The table that holds `name` (not a dropped one). */
  findApp(name: string): AppInfo | undefined {
    const appId = this.appIdsByName.get(name);
    const app = appId === undefined ? undefined : this.appsById.get(appId);
    return app && cloneAppInfo(app);
  }

  getApp(appId: number): AppInfo | undefined {
    const app = this.appsById.get(appId);
    return app && cloneAppInfo(app);
  }

  partitionsOf(appId: number): PartitionConfiguration[] {
    return (this.partitions.get(appId) ?? []).map(clonePartitionConfiguration);
  }

  /** Partitions left dead by the guardian (all replicas lost), for the shell's ddd_diagnose. */
  dddDiagnose(): Array<{ gpid: Gpid; reason: string }> {
    return [...this.dddPartitions.values()].map((entry) => ({ gpid: { ...entry.gpid }, reason: entry.reason }));
  }

  /** The dropped-member history of a partition, most recent last. */
  droppedHistory(gpid: Gpid): DroppedReplica[] {
    return (this.contexts.get(gpidText(gpid))?.dropped ?? []).map((entry) => ({ ...entry }));
  }

  /** `RPC_CM_LIST_APPS` (configuration_list_apps_request). */
  listApps(filter: ListAppsFilter = {}): { err: ErrorName; infos: AppInfo[] } {
    const status = filter.status ?? 'AS_INVALID';
    const pattern = filter.namePattern ?? '';
    const matches = (name: string): boolean => {
      if (pattern === '') return true;
      switch (filter.match ?? 'anywhere') {
        case 'exact': return name === pattern;
        case 'anywhere': return name.includes(pattern);
        case 'prefix': return name.startsWith(pattern);
        case 'postfix': return name.endsWith(pattern);
      }
    };
    const infos = this.listAllApps().filter((app) => (status === 'AS_INVALID' || app.status === status) && matches(app.appName));
    return { err: 'ERR_OK', infos };
  }

  /** `RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX`: what clients resolve partitions with. */
  queryConfiguration(appName: string, partitionIndices: readonly number[] = []): QueryConfigurationResult {
    // An error answer leaves every field at its thrift default, as Pegasus does: the official
    // Python client reads is_stateful = true as "the table exists".
    const empty = { appId: 0, partitionCount: 0, isStateful: false, partitions: [] };
    const app = this.findApp(appName);
    if (!app) return { err: 'ERR_OBJECT_NOT_FOUND', ...empty };
    if (app.status !== 'AS_AVAILABLE') return { err: unavailableError(app.status), ...empty };
    const configs = this.partitions.get(app.appId)!;
    const requested = partitionIndices.filter((index) => index >= 0 && index < configs.length).map((index) => configs[index]!);
    // No index (or none in range) asks for every partition.
    const chosen = requested.length === 0 ? configs : requested;
    return {
      err: 'ERR_OK', appId: app.appId, partitionCount: app.partitionCount, isStateful: app.isStateful,
      partitions: chosen.map(clonePartitionConfiguration),
    };
  }

  // -------------------------------------------------------------------------------------------
  // function level

  /** The level set by config or operator. */
  get functionLevel(): FunctionLevel {
    return this.level;
  }

  /** The level the meta works at: freezed while too few replica servers are alive (§2.6). */
  effectiveFunctionLevel(): FunctionLevel {
    const workers = this.failureDetector.list();
    const alive = workers.filter((worker) => worker.alive).length;
    return effectiveFunctionLevel(
      this.level, alive, workers.length, minLiveNodeCountForUnfreeze.value, nodeLivePercentageThresholdForUpdate.value,
    );
  }

  /** `RPC_CM_CONTROL_META`: fl_invalid only reads the level. Returns the level before the call. */
  setFunctionLevel(level: FunctionLevel): { err: ErrorName; oldLevel: FunctionLevel } {
    const oldLevel = this.level;
    if (level !== 'fl_invalid') {
      this.level = level;
      if (oldLevel !== level) log.info({ from: oldLevel, to: level }, 'meta function level changed');
      // Below lively nothing balances: operations under way stop after their current step.
      if (levelAtMost(level, 'fl_steady')) this.clearBalancerSteps('meta function level is not lively');
    }
    return { err: 'ERR_OK', oldLevel };
  }

  // -------------------------------------------------------------------------------------------
  // table DDL

  private checkTableShape(appName: string, partitionCount: number, replicaCount: number): string | undefined {
    const nameProblem = checkAppName(appName);
    if (nameProblem !== undefined) return nameProblem;
    if (!isPowerOfTwo(partitionCount) || partitionCount > maxAllowedPartitionCount.value) {
      return `partition count ${partitionCount} must be a power of two between 1 and ${maxAllowedPartitionCount.value}`;
    }
    const low = minAllowedReplicaCount.value;
    const high = maxAllowedReplicaCount.value;
    if (!Number.isInteger(replicaCount) || replicaCount < low || replicaCount > high) {
      return `replica count ${replicaCount} must be in range [${low}, ${high}]`;
    }
    return undefined;
  }

  /** `RPC_CM_CREATE_APP`. */
  createApp(request: CreateAppRequest): Promise<MetaResult & { appId: number }> {
    return this.serial(async () => {
      const fail = (err: ErrorName, hintMessage: string, appId = 0) => ({ err, hintMessage, appId });
      if (levelAtMost(this.level, 'fl_freezed')) return fail('ERR_STATE_FREEZED', `meta function level is ${this.level}`);
      const problem = this.checkTableShape(request.appName, request.partitionCount, request.replicaCount);
      if (problem !== undefined) return fail('ERR_INVALID_PARAMETERS', problem);
      const aliveCount = this.aliveNodes().size;
      if (request.replicaCount > aliveCount) {
        return fail('ERR_INVALID_PARAMETERS', `replica count ${request.replicaCount} exceeds the ${aliveCount} alive replica servers`);
      }
      const envs = request.envs ?? {};
      const envProblem = validateCreateAppEnvs(envs);
      if (envProblem !== undefined) return fail('ERR_INVALID_PARAMETERS', envProblem);
      const appType = request.appType ?? APP_TYPE_PEGASUS;
      const isStateful = request.isStateful ?? true;

      const existingId = this.appIdsByName.get(request.appName);
      if (existingId !== undefined) {
        const existing = this.appsById.get(existingId)!;
        switch (existing.status) {
          case 'AS_AVAILABLE': {
            if (!request.successIfExist) return fail('ERR_APP_EXIST', `app ${request.appName} already exists`, existing.appId);
            const same = existing.partitionCount === request.partitionCount && existing.maxReplicaCount === request.replicaCount &&
              existing.appType === appType && existing.isStateful === isStateful && sameEnvs(existing.envs, envs);
            return same
              ? { err: 'ERR_OK' as ErrorName, hintMessage: '', appId: existing.appId }
              : fail('ERR_INVALID_PARAMETERS', `app ${request.appName} already exists with different options`, existing.appId);
          }
          case 'AS_CREATING':
          case 'AS_RECALLING':
            return fail('ERR_BUSY_CREATING', `app ${request.appName} is being created`);
          case 'AS_DROPPING':
            return fail('ERR_BUSY_DROPPING', `app ${request.appName} is being dropped`);
          default:
            return fail('ERR_UNKNOWN', `app ${request.appName} is ${existing.status}`);
        }
      }

      const appId = Math.max(0, ...this.appsById.keys()) + 1;
      const app = this.newAppInfo(
        appId, request.appName, appType, request.partitionCount, request.replicaCount, isStateful, envs, request.atomicIdempotent ?? false,
      );
      // The table holds its name while it is written: a second create gets ERR_BUSY_CREATING.
      const creating = { ...app, status: 'AS_CREATING' as AppStatus };
      this.appsById.set(appId, creating);
      this.appIdsByName.set(app.appName, appId);
      try {
        await this.store.multi(this.createAppOps(app));
      } catch (error) {
        this.appsById.delete(appId);
        this.appIdsByName.delete(app.appName);
        throw error;
      }
      const configs = Array.from({ length: app.partitionCount }, (_, index) => newPartitionConfiguration(appId, index, app.maxReplicaCount));
      this.installApp(app, configs);
      log.info({ appName: app.appName, appId, partitionCount: app.partitionCount, replicaCount: app.maxReplicaCount }, 'table created');
      await this.cureLocked({ kind: 'cure', gpids: configs.map((config) => config.gpid) });
      return { err: 'ERR_OK' as ErrorName, hintMessage: '', appId };
    });
  }

  /** `RPC_CM_DROP_APP`: a soft drop; the table can be recalled until it expires. */
  dropApp(request: DropAppRequest): Promise<MetaResult> {
    return this.serial(async () => {
      const appId = this.appIdsByName.get(request.appName);
      const app = appId === undefined ? undefined : this.appsById.get(appId);
      if (!app) {
        return request.successIfNotExist
          ? { err: 'ERR_OK', hintMessage: '' }
          : { err: 'ERR_APP_NOT_EXIST', hintMessage: `app ${request.appName} does not exist` };
      }
      if (app.status === 'AS_CREATING' || app.status === 'AS_RECALLING') return { err: 'ERR_BUSY_CREATING', hintMessage: `app ${app.appName} is being created` };
      if (app.status === 'AS_DROPPING') return { err: 'ERR_BUSY_DROPPING', hintMessage: `app ${app.appName} is being dropped` };
      const now = this.nowSeconds();
      const holdSeconds = request.reserveSeconds !== undefined && request.reserveSeconds > 0 ? request.reserveSeconds : holdSecondsForDroppedApp.value;
      const dropped: AppInfo = { ...cloneAppInfo(app), status: 'AS_DROPPED', dropSecond: now, expireSecond: now + holdSeconds };
      const configs = this.partitions.get(app.appId)!;
      const nextConfigs = configs.map((config) => applyConfigChange(config, 'CT_DROP_PARTITION', '')!);
      const ops: StoreOp[] = [{ op: 'set', path: this.appPath(app.appId), data: Buffer.from(appInfoToJson(dropped)) }];
      for (const config of nextConfigs) ops.push({ op: 'set', path: this.partitionPath(config.gpid), data: Buffer.from(partitionConfigurationToJson(config)) });
      this.appsById.set(app.appId, { ...app, status: 'AS_DROPPING' });
      try {
        await this.store.multi(ops);
      } catch (error) {
        this.appsById.set(app.appId, app);
        throw error;
      }
      this.appIdsByName.delete(app.appName);
      this.appsById.set(app.appId, dropped);
      for (let index = 0; index < configs.length; index++) this.applyLocally(configs[index]!, nextConfigs[index]!);
      for (const config of nextConfigs) {
        this.dddPartitions.delete(gpidText(config.gpid));
        this.dropBalancerSteps(gpidText(config.gpid), 'table dropped');
      }
      this.refreshTableMetrics(dropped);
      log.info({ appName: app.appName, appId: app.appId, expireSecond: dropped.expireSecond }, 'table dropped');
      return { err: 'ERR_OK', hintMessage: '' };
    });
  }

  /** `RPC_CM_RECALL_APP`: brings back a dropped table that has not expired, optionally renamed. */
  recallApp(request: RecallAppRequest): Promise<MetaResult & { info: AppInfo | undefined }> {
    return this.serial(async () => {
      const app = this.appsById.get(request.appId);
      const fail = (err: ErrorName, hintMessage: string) => ({ err, hintMessage, info: undefined });
      if (!app) return fail('ERR_APP_NOT_EXIST', `app ${request.appId} does not exist`);
      if (app.status === 'AS_AVAILABLE') return fail('ERR_APP_EXIST', `app ${request.appId} (${app.appName}) is not dropped`);
      if (app.status === 'AS_CREATING' || app.status === 'AS_RECALLING') return fail('ERR_BUSY_CREATING', `app ${request.appId} is being created`);
      if (app.status === 'AS_DROPPING') return fail('ERR_BUSY_DROPPING', `app ${request.appId} is being dropped`);
      if (app.expireSecond <= this.nowSeconds()) return fail('ERR_APP_NOT_EXIST', `app ${request.appId} has expired and cannot be recalled`);
      const newName = request.newAppName === undefined || request.newAppName === '' ? app.appName : request.newAppName;
      const nameProblem = checkAppName(newName);
      if (nameProblem !== undefined) return fail('ERR_INVALID_PARAMETERS', nameProblem);
      if (this.appIdsByName.has(newName)) return fail('ERR_INVALID_PARAMETERS', `app name ${newName} is already in use`);

      const recalled: AppInfo = { ...cloneAppInfo(app), status: 'AS_AVAILABLE', appName: newName, dropSecond: 0, expireSecond: 0 };
      const configs = this.partitions.get(app.appId)!;
      const nextConfigs = configs.map((config) => ({ ...clonePartitionConfiguration(config), partitionFlags: config.partitionFlags & ~PARTITION_FLAG_DROPPED }));
      const ops: StoreOp[] = [{ op: 'set', path: this.appPath(app.appId), data: Buffer.from(appInfoToJson(recalled)) }];
      for (const config of nextConfigs) ops.push({ op: 'set', path: this.partitionPath(config.gpid), data: Buffer.from(partitionConfigurationToJson(config)) });
      this.appsById.set(app.appId, { ...app, status: 'AS_RECALLING' });
      this.appIdsByName.set(newName, app.appId);
      try {
        await this.store.multi(ops);
      } catch (error) {
        this.appsById.set(app.appId, app);
        this.appIdsByName.delete(newName);
        throw error;
      }
      this.appsById.set(app.appId, recalled);
      for (let index = 0; index < configs.length; index++) this.applyLocally(configs[index]!, nextConfigs[index]!);
      this.refreshTableMetrics(recalled);
      log.info({ appId: app.appId, appName: newName }, 'table recalled');
      await this.cureLocked({ kind: 'cure', gpids: nextConfigs.map((config) => config.gpid) });
      return { err: 'ERR_OK' as ErrorName, hintMessage: '', info: cloneAppInfo(recalled) };
    });
  }

  /** `RPC_CM_RENAME_APP`: available tables only. */
  renameApp(oldName: string, newName: string): Promise<MetaResult> {
    return this.serial(async () => {
      const appId = this.appIdsByName.get(oldName);
      const app = appId === undefined ? undefined : this.appsById.get(appId);
      if (!app) return { err: 'ERR_APP_NOT_EXIST', hintMessage: `app ${oldName} does not exist` };
      if (app.status !== 'AS_AVAILABLE') return { err: unavailableError(app.status), hintMessage: `app ${oldName} is ${app.status}` };
      const problem = checkAppName(newName);
      if (problem !== undefined) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: problem };
      if (this.appIdsByName.has(newName)) return { err: 'ERR_APP_EXIST', hintMessage: `app ${newName} already exists` };
      const renamed = { ...cloneAppInfo(app), appName: newName };
      await this.store.set(this.appPath(app.appId), Buffer.from(appInfoToJson(renamed)));
      this.appIdsByName.delete(oldName);
      this.appIdsByName.set(newName, app.appId);
      this.appsById.set(app.appId, renamed);
      return { err: 'ERR_OK', hintMessage: '' };
    });
  }

  /** `RPC_CM_UPDATE_APP_ENV`: set, delete or clear table envs. */
  updateAppEnv(request: UpdateAppEnvRequest): Promise<MetaResult> {
    return this.serial(async () => {
      const appId = this.appIdsByName.get(request.appName);
      const app = appId === undefined ? undefined : this.appsById.get(appId);
      if (!app) return { err: 'ERR_APP_NOT_EXIST', hintMessage: 'app cannot be found' };
      if (app.status === 'AS_DROPPING') return { err: 'ERR_BUSY_DROPPING', hintMessage: 'app is being dropped' };
      if (app.status !== 'AS_AVAILABLE') return { err: 'ERR_BUSY_CREATING', hintMessage: 'app is being created' };
      const envs = { ...app.envs };
      let hintMessage = '';
      switch (request.op) {
        case 'SET': {
          const keys = request.keys ?? [];
          const values = request.values ?? [];
          if (keys.length === 0 || keys.length !== values.length) {
            return { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'keys and values must be non-empty lists of the same length' };
          }
          for (let index = 0; index < keys.length; index++) {
            const hint = validateAppEnv(keys[index]!, values[index]!);
            if (hint !== undefined) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: hint };
          }
          for (let index = 0; index < keys.length; index++) envs[keys[index]!] = values[index]!;
          break;
        }
        case 'DEL': {
          const keys = request.keys ?? [];
          if (keys.length === 0) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'no key to delete' };
          const deleted = keys.filter((key) => key in envs);
          for (const key of deleted) delete envs[key];
          hintMessage = deleted.length === 0 ? 'no env was deleted: none of the keys exists' : `deleted: ${deleted.join(',')}`;
          break;
        }
        case 'CLEAR': {
          const prefix = request.clearPrefix ?? '';
          const cleared = Object.keys(envs).filter((key) => prefix === '' || key.startsWith(`${prefix}.`));
          for (const key of cleared) delete envs[key];
          hintMessage = cleared.length === 0 ? 'no env was cleared' : `cleared: ${cleared.join(',')}`;
          break;
        }
        default:
          return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `unknown env operation ${String(request.op)}` };
      }
      const updated = { ...cloneAppInfo(app), envs };
      await this.store.set(this.appPath(app.appId), Buffer.from(appInfoToJson(updated)));
      this.appsById.set(app.appId, updated);
      return { err: 'ERR_OK', hintMessage };
    });
  }

  // -------------------------------------------------------------------------------------------
  // replica servers

  aliveNodes(): Set<string> {
    return new Set(this.failureDetector.list().filter((worker) => worker.alive).map((worker) => worker.address));
  }

  /** Every replica server the meta knows, sorted by host then port. */
  listNodes(): NodeInfo[] {
    return this.failureDetector
      .list()
      .map((worker) => ({
        address: worker.address,
        status: worker.alive ? 'ALIVE' as const : 'UNALIVE' as const,
        lastBeaconMs: worker.lastBeaconMs,
        graceDeadlineMs: worker.alive ? worker.lastBeaconMs + this.failureDetector.options.graceMs : undefined,
      }));
  }

  /** Whether every alive node has reported its replicas through config sync since the meta started. */
  allReplicasCollected(): boolean {
    for (const node of this.aliveNodes()) if (!this.replicasCollected.has(node)) return false;
    return true;
  }

  /**
   * `RPC_FD_FAILURE_DETECTOR_PING` from `node`. A node that comes (back) to life lets the guardian
   * re-check every partition: it may be the replica a partition was waiting for.
   */
  onBeacon(node: string, startTimeMs = 0): Promise<BeaconOutcome> {
    const outcome = this.failureDetector.onBeacon(node, this.nowMs(), startTimeMs);
    if (!outcome.accepted) {
      log.warn({ node, reason: outcome.reason }, 'beacon refused');
      return Promise.resolve(outcome);
    }
    if (outcome.restarted) this.replicasCollected.delete(node);
    if (!outcome.becameAlive) return Promise.resolve(outcome);
    log.info({ node }, 'replica server is alive');
    if (this.nowMs() < this.settleUntilMs) return Promise.resolve(outcome);
    return this.serial(async () => {
      await this.cureLocked({ kind: 'check_all' });
      return outcome;
    });
  }

  /** Runs the failure detector at the current time; returns the nodes that just died. */
  checkNodes(): Promise<string[]> {
    const died = this.failureDetector.check(this.nowMs());
    if (died.length === 0) return Promise.resolve([]);
    return this.serial(async () => {
      for (const node of died) {
        log.warn({ node }, 'replica server is dead');
        this.disconnections.increment();
        this.replicasCollected.delete(node);
        await this.cureLocked({ kind: 'node_dead', node });
      }
      return died;
    });
  }

  /** `RPC_CM_CONFIG_SYNC` from a replica server. */
  onConfigSync(node: string, storedReplicas: readonly ReplicaInfo[]): ConfigSyncResult {
    const none: ConfigSyncResult = { err: 'ERR_OBJECT_NOT_FOUND', partitions: [], gcReplicas: [] };
    if (!this.failureDetector.list().some((worker) => worker.address === node)) return none;
    // A change that concerns this node is being written: its answer would be stale.
    for (const context of this.contexts.values()) {
      if (context.pending && context.pendingNodes.has(node)) return { err: 'ERR_BUSY', partitions: [], gcReplicas: [] };
    }
    const partitions: ConfigSyncResult['partitions'] = [];
    for (const [appId, configs] of this.partitions) {
      const app = this.appsById.get(appId)!;
      if (app.status !== 'AS_AVAILABLE') continue;
      for (const config of configs) if (isMember(config, node)) partitions.push({ info: cloneAppInfo(app), config: clonePartitionConfiguration(config) });
    }
    const gcReplicas: ReplicaInfo[] = [];
    const gcAllowed = !levelAtMost(this.effectiveFunctionLevel(), 'fl_steady');
    const nowSeconds = this.nowSeconds();
    for (const replica of storedReplicas.slice(0, 1_000_000)) {
      const app = this.appsById.get(replica.gpid.appId);
      if (!app) {
        // A table this cluster never had (or its metadata is gone): nothing can use it.
        if (gcAllowed) gcReplicas.push({ ...replica, gpid: { ...replica.gpid } });
        continue;
      }
      if (app.status === 'AS_DROPPED' && app.expireSecond <= nowSeconds) {
        if (gcAllowed) gcReplicas.push({ ...replica, gpid: { ...replica.gpid } });
        continue;
      }
      const config = this.partitions.get(app.appId)?.[replica.gpid.partitionIndex];
      if (!config) continue;
      if (isMember(config, node)) {
        this.contexts.get(gpidText(config.gpid))?.memberReports.set(node, { lastCommittedDecree: replica.lastCommittedDecree });
        continue;
      }
      this.recordDropped(config.gpid, {
        node, droppedAtMs: 0, ballot: replica.ballot,
        lastCommittedDecree: replica.lastCommittedDecree, lastPreparedDecree: replica.lastPreparedDecree,
      });
    }
    this.replicasCollected.add(node);
    return { err: 'ERR_OK', partitions, gcReplicas };
  }

  private forgetDropped(gpid: Gpid, node: string): void {
    const context = this.contexts.get(gpidText(gpid));
    if (!context) return;
    const index = context.dropped.findIndex((item) => item.node === node);
    if (index >= 0) context.dropped.splice(index, 1);
  }

  private recordDropped(gpid: Gpid, entry: DroppedReplica): void {
    const context = this.contexts.get(gpidText(gpid));
    if (!context) return;
    context.memberReports.delete(entry.node);
    const existing = context.dropped.findIndex((item) => item.node === entry.node);
    if (existing >= 0) {
      const previous = context.dropped[existing]!;
      context.dropped.splice(existing, 1);
      // A report keeps the drop time; a drop keeps the last reported replica state.
      entry = entry.droppedAtMs === 0
        ? { ...entry, droppedAtMs: previous.droppedAtMs }
        : { ...entry, ballot: previous.ballot, lastCommittedDecree: previous.lastCommittedDecree, lastPreparedDecree: previous.lastPreparedDecree };
    }
    context.dropped.push(entry);
    if (context.dropped.length > DROPPED_HISTORY_MAX) context.dropped.splice(0, context.dropped.length - DROPPED_HISTORY_MAX);
  }

  /** `RPC_CM_UPDATE_PARTITION_CONFIGURATION` from a replica server. */
  onUpdateConfiguration(request: UpdateConfigurationRequest): Promise<UpdateConfigurationResult> {
    return this.serial(async (): Promise<UpdateConfigurationResult> => {
      const reply = (err: ErrorName, config?: PartitionConfiguration): UpdateConfigurationResult =>
        ({ err, config: config && clonePartitionConfiguration(config), proposals: [] });
      if (levelAtMost(this.effectiveFunctionLevel(), 'fl_freezed')) return reply('ERR_STATE_FREEZED');
      const { gpid } = request.config;
      const app = this.appsById.get(gpid.appId);
      if (!app) return reply('ERR_APP_NOT_EXIST');
      if (app.status !== 'AS_AVAILABLE') return reply(app.status === 'AS_DROPPED' ? 'ERR_APP_DROPPED' : unavailableError(app.status));
      const current = this.partitions.get(gpid.appId)?.[gpid.partitionIndex];
      if (!current) return reply('ERR_INVALID_PARAMETERS');
      if (this.contexts.get(gpidText(gpid))!.pending) return 'ignored';
      if (request.config.ballot === current.ballot && sameMembership(request.config, current)) return reply('ERR_OK', current);
      if (request.config.ballot !== current.ballot + 1) return reply('ERR_INVALID_VERSION', current);
      const expected = applyConfigChange(current, request.type, request.node);
      if (!expected || !sameMembership(expected, request.config)) {
        log.warn({ gpid: gpidText(gpid), type: request.type, node: request.node, ballot: request.config.ballot }, 'configuration update does not match the current membership');
        return reply('ERR_INVALID_PARAMETERS', current);
      }
      // The replica reports how far it committed; the meta keeps last_drops itself.
      expected.lastCommittedDecree = Math.max(current.lastCommittedDecree, request.config.lastCommittedDecree);
      await this.writeConfiguration(current, expected, request.type, request.node);
      const actions = await this.cureLocked({ kind: 'cure', gpids: [gpid] });
      return { err: 'ERR_OK', config: clonePartitionConfiguration(expected), proposals: actions.filter((action): action is GuardianProposal => action.kind === 'proposal') };
    });
  }

  /** Persists one partition's next configuration (the change `type` of `node`), then applies it. Caller holds the queue. */
  private async writeConfiguration(current: PartitionConfiguration, next: PartitionConfiguration, type: ConfigType, node: string): Promise<void> {
    const context = this.contexts.get(gpidText(current.gpid))!;
    assert(!context.pending, `configuration of ${gpidText(current.gpid)} written twice at once`);
    assert(next.ballot === current.ballot + 1, `ballot of ${gpidText(current.gpid)} goes ${current.ballot} → ${next.ballot}`);
    context.pending = true;
    context.pendingNodes = new Set([...membersOf(current), ...membersOf(next)]);
    try {
      await this.store.set(this.partitionPath(next.gpid), Buffer.from(partitionConfigurationToJson(next)));
    } finally {
      context.pending = false;
      context.pendingNodes = new Set();
    }
    this.applyLocally(current, next);
    this.advanceBalancerSteps(gpidText(next.gpid), type, node);
  }

  // -------------------------------------------------------------------------------------------
  // balancer steps (Pegasus's lb_actions)

  /** A change landed: it completes the queued step it matches; any other change makes the rest stale. */
  private advanceBalancerSteps(key: string, type: ConfigType, node: string): void {
    const context = this.contexts.get(key);
    if (!context || context.balancerSteps.length === 0) return;
    const next = context.balancerSteps[0]!;
    if (next.type === type && next.node === node) {
      context.balancerSteps.shift();
      if (context.balancerSteps.length === 0) this.balancing.delete(key);
      return;
    }
    this.dropBalancerSteps(key, `${type} of ${node} came in while ${next.type} of ${node === next.node ? 'it' : next.node} was due`);
  }

  private dropBalancerSteps(key: string, reason: string): void {
    const context = this.contexts.get(key);
    if (!context || context.balancerSteps.length === 0) return;
    log.info({ gpid: key, steps: context.balancerSteps.length, reason }, 'balance operation abandoned');
    context.balancerSteps = [];
    this.balancing.delete(key);
  }

  private clearBalancerSteps(reason: string): void {
    for (const key of [...this.balancing]) this.dropBalancerSteps(key, reason);
  }

  /** Drops the queued steps that no longer fit their partition (a node died, the layout changed). */
  private pruneBalancerSteps(): void {
    if (this.balancing.size === 0) return;
    const alive = this.aliveNodes();
    for (const key of [...this.balancing]) {
      const context = this.contexts.get(key)!;
      const gpid = parseGpid(key)!;
      const config = this.partitions.get(gpid.appId)?.[gpid.partitionIndex];
      const available = this.appsById.get(gpid.appId)?.status === 'AS_AVAILABLE';
      if (!config || !available || !balancerStepIsValid(config, context.balancerSteps[0]!, alive)) {
        this.dropBalancerSteps(key, 'the next step no longer fits the partition');
      }
    }
  }

  /** The steps of the balance operations under way, per gpid text (for tests and diagnostics). */
  balancerStepsUnderWay(): Map<string, BalancerStep[]> {
    const steps = new Map<string, BalancerStep[]>();
    for (const key of this.balancing) steps.set(key, this.contexts.get(key)!.balancerSteps.map((step) => ({ ...step })));
    return steps;
  }

  /** `meta.lb.ignored_app_list`: tables the balancer leaves alone. */
  setBalancerIgnoredApps(appIds: Iterable<number>): void {
    this.balancerIgnoredAppIds = new Set(appIds);
  }
  balancerIgnoredApps(): number[] {
    return [...this.balancerIgnoredAppIds].sort((a, b) => a - b);
  }

  /**
   * balance_operation_count of /meta/cluster: the counts of the balancer's last round (total -1
   * when it had not heard every alive node's replicas); before the first round all zero, with
   * total -1 until every alive node reported.
   */
  balanceOperationCount(): BalanceOperationCount {
    if (this.lastBalanceCount) return { ...this.lastBalanceCount };
    return { move_pri: 0, copy_pri: 0, copy_sec: 0, total: this.allReplicasCollected() ? 0 : -1 };
  }

  private applyLocally(current: PartitionConfiguration, next: PartitionConfiguration): void {
    const configs = this.partitions.get(next.gpid.appId)!;
    assert(configs[next.gpid.partitionIndex] === current, `stale configuration of ${gpidText(next.gpid)} applied`);
    const stored = clonePartitionConfiguration(next);
    configs[next.gpid.partitionIndex] = stored;
    const context = this.contexts.get(gpidText(next.gpid))!;
    const now = this.nowMs();
    for (const node of membersOf(current)) {
      if (!isMember(stored, node)) this.recordDropped(next.gpid, { node, droppedAtMs: now, ballot: -1, lastCommittedDecree: 0, lastPreparedDecree: 0 });
    }
    // A member's entry goes: what it reported before it (re)joined says nothing about the data it
    // will hold when it leaves again, and a drop keeps the last report. Kept, the DDD choice could
    // compare that old report after the next drop and pick a node holding less data than the other
    // (found by the fault simulator: committed writes were lost that way).
    for (const node of membersOf(stored)) this.forgetDropped(next.gpid, node);
    if (stored.ballot !== current.ballot) context.metrics.counter(partitionConfigurationChangesMetric).increment();
    const min2pc = mutation2pcMinReplicaCount.value;
    const writable = (config: PartitionConfiguration): boolean => config.primary !== '' && replicaCountOf(config) >= min2pc;
    if (writable(current) && !writable(stored)) context.metrics.counter(unwritablePartitionChangesMetric).increment();
    if (!writable(current) && writable(stored)) context.metrics.counter(writablePartitionChangesMetric).increment();
    if (stored.primary !== '') this.dddPartitions.delete(gpidText(stored.gpid));
  }

  // -------------------------------------------------------------------------------------------
  // guardian

  /**
   * The periodic sweep (every lb_interval_ms): cure every partition, then, if all of them are
   * healthy, run the balancer. Returns every guardian action taken or proposed.
   */
  checkAllPartitions(): Promise<GuardianAction[]> {
    return this.serial(async () => {
      const actions = await this.cureLocked({ kind: 'check_all' });
      actions.push(...await this.balanceLocked());
      return actions;
    });
  }

  /**
   * The balancer stage of a sweep (§2.9). At steady it only counts what it would do; at lively
   * it queues the operations' steps on their partitions and proposes the first ones. The counts
   * stay as they were when the stage does not run (a partition unhealthy or an operation still
   * under way). Caller holds the queue.
   */
  private async balanceLocked(): Promise<GuardianAction[]> {
    const level = this.effectiveFunctionLevel();
    if (levelAtMost(level, 'fl_freezed') || !this.balancerMayRun()) return [];
    if (!this.allReplicasCollected()) {
      this.reportBalance([], true, false);
      return [];
    }
    const input = {
      apps: this.appsById,
      partitions: this.partitions,
      aliveNodes: this.aliveNodes(),
      options: { ...this.balancerOptions(), ignoredAppIds: this.balancerIgnoredAppIds },
    };
    if (level === 'fl_lively') {
      const operations = planBalance({ ...input, checker: false });
      if (operations.length > 0) {
        for (const operation of operations) {
          const key = gpidText(operation.gpid);
          this.contexts.get(key)!.balancerSteps = operation.steps.map((step) => ({ ...step }));
          this.balancing.add(key);
        }
        this.reportBalance(operations, false);
        log.info(countBalanceOperations(operations), 'balancer round: operations queued');
        return this.cureLocked({ kind: 'cure', gpids: operations.map((operation) => operation.gpid) });
      }
    }
    this.reportBalance(planBalance({ ...input, checker: true }), true);
    return [];
  }

  /**
   * Every partition of every available table healthy, with no write or balance operation under
   * way, every member alive (so no dead node still holds replicas), and no table being created,
   * dropped or recalled.
   */
  private balancerMayRun(): boolean {
    if (this.balancing.size > 0) return false;
    const alive = this.aliveNodes();
    for (const [appId, app] of this.appsById) {
      if (app.status === 'AS_CREATING' || app.status === 'AS_DROPPING' || app.status === 'AS_RECALLING') return false;
      if (app.status !== 'AS_AVAILABLE') continue;
      for (const config of this.partitions.get(appId) ?? []) {
        if (this.contexts.get(gpidText(config.gpid))!.pending) return false;
        if (config.primary === '' || replicaCountOf(config) !== config.maxReplicaCount) return false;
        if (!membersOf(config).every((node) => alive.has(node))) return false;
      }
    }
    return true;
  }

  /** Remembers a round's counts and updates the partitions' balancer metrics (counters only for operations carried out). */
  private reportBalance(operations: readonly BalanceOperation[], checker: boolean, collected = true): void {
    this.lastBalanceCount = collected ? countBalanceOperations(operations) : { ...BALANCE_COUNT_NOT_COLLECTED };
    const inPlan = new Set(operations.map((operation) => gpidText(operation.gpid)));
    for (const [appId, app] of this.appsById) {
      if (app.status !== 'AS_AVAILABLE') continue;
      for (const config of this.partitions.get(appId) ?? []) {
        const key = gpidText(config.gpid);
        this.contexts.get(key)!.metrics.gauge(greedyRecentBalanceOperationsMetric).set(inPlan.has(key) ? 1 : 0);
      }
    }
    if (checker) return;
    for (const operation of operations) {
      this.contexts.get(gpidText(operation.gpid))!.metrics.counter(GREEDY_OPERATION_METRICS[operation.type]).increment();
    }
  }

  /**
   * Runs the guardian, persists the meta's own updates, re-runs it on the partitions they
   * changed (a downgraded primary is followed by a promotion), and hands proposals to
   * sendProposal. Caller holds the queue.
   */
  private async cureLocked(event: GuardianEvent): Promise<GuardianAction[]> {
    const all: GuardianAction[] = [];
    let next: GuardianEvent | undefined = event;
    for (let round = 0; round < CURE_ROUNDS_MAX && next; round++) {
      this.pruneBalancerSteps();
      const actions = guardianStep(this.guardianState(), next, this.nowMs());
      const changed: Gpid[] = [];
      for (const action of actions) {
        all.push(action);
        switch (action.kind) {
          case 'update': {
            const current = this.partitions.get(action.gpid.appId)![action.gpid.partitionIndex]!;
            assert(action.config.ballot === current.ballot + 1, 'guardian update is based on the current configuration');
            log.info({ gpid: gpidText(action.gpid), type: action.type, node: action.node, ballot: action.config.ballot }, 'meta updates a partition configuration');
            await this.writeConfiguration(current, action.config, action.type, action.node);
            changed.push(action.gpid);
            break;
          }
          case 'proposal':
            this.sendProposal(action);
            break;
          case 'ddd': {
            const key = gpidText(action.gpid);
            if (!this.dddPartitions.has(key)) {
              log.warn({ gpid: key, reason: action.reason }, 'partition has lost all its replicas');
              this.contexts.get(key)?.metrics.counter(choosePrimaryFailedOperationsMetric).increment();
            }
            this.dddPartitions.set(key, { gpid: action.gpid, reason: action.reason });
            break;
          }
        }
      }
      next = changed.length > 0 ? { kind: 'cure', gpids: changed } : undefined;
    }
    return all;
  }

  private guardianState() {
    const dropped = new Map<string, readonly DroppedReplica[]>();
    const memberReports = new Map<string, ReadonlyMap<string, MemberReport>>();
    const pending = new Set<string>();
    for (const [key, context] of this.contexts) {
      if (context.dropped.length > 0) dropped.set(key, context.dropped);
      if (context.memberReports.size > 0) memberReports.set(key, context.memberReports);
      if (context.pending) pending.add(key);
    }
    const balancerSteps = new Map<string, BalancerStep>();
    for (const key of this.balancing) balancerSteps.set(key, this.contexts.get(key)!.balancerSteps[0]!);
    return {
      level: this.effectiveFunctionLevel(),
      apps: this.appsById,
      partitions: this.partitions,
      aliveNodes: this.aliveNodes(),
      pending,
      dropped,
      memberReports,
      balancerSteps,
      options: this.guardianOptions(),
    };
  }

  /** Waits for queued changes, then refuses new ones. The store is the caller's to close. */
  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
  }
}

function sameEnvs(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

/** The error a request about a table that is not available gets. */
export function unavailableError(status: AppStatus): ErrorName {
  switch (status) {
    case 'AS_CREATING':
    case 'AS_RECALLING':
      return 'ERR_BUSY_CREATING';
    case 'AS_DROPPING':
      return 'ERR_BUSY_DROPPING';
    default:
      return 'ERR_UNKNOWN';
  }
}
