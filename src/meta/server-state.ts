// The meta server's state: tables, partition configurations and replica-server liveness, kept in
// memory and persisted through a MetaStateStore (spec pegasus-arch §2). Every change is written
// to the store first and applied in memory after the write succeeded, so what the meta answers is
// always what a restarted meta would load. Changes run one at a time through a serial queue
// (Pegasus runs them on a single "meta state" thread). Reads are synchronous views.
//
// MetaServerState owns the serial queue and the curing loop (guardian runs and the meta's own
// updates they lead to), nothing else. Every other concept is a file beside it:
//   tables.ts                 the in-memory model they share, its store layout, the read views
//   load.ts                   the default tables and reading the store back at start-up
//   table-ddl.ts              create, drop, recall, rename, app envs
//   node-liveness.ts          beacons, the failure detector, replica servers' config sync
//   configuration-updates.ts  configuration updates: checked, written to the store, applied
//   balancer-queue.ts         the balancer stage of a sweep and its queued steps
//   balancer-proposals.ts     balance operations an operator proposes (RPC_CM_PROPOSE_BALANCER)
//   manual-compaction.ts      starting a table's manual compaction and its progress
//   replica-count.ts          a table's replica count (RPC_CM_GET/SET_MAX_REPLICA_COUNT)
//   ddd-diagnose.ts           partitions that lost every member (RPC_CM_DDD_DIAGNOSE)
//   atomic-idempotent.ts      a table's atomic_idempotent flag (RPC_CM_GET/SET_ATOMIC_IDEMPOTENT)
//   duplication/              duplications to remote clusters (RPC_CM_*_DUPLICATION, RPC_CM_DUPLICATION_SYNC)
//   backup/                   cold backup policies, one-time backups and restore
//   bulk-load/                bulk loads: start, control, query, clear, and driving the replicas
//   partition-split.ts        partition split: start, control, query, children registering
//   flags.ts, metrics.ts      the flags and metrics they read and update
// The pattern: a concept is a class constructed here with a context, an interface that the
// concept's own file declares and that lists exactly what it needs from the rest of the meta (the
// tables, the store, the clock, calls into other concepts or into the curing loop); this class
// fills it in. A concept's methods that change state assume the queue is held: the public
// methods here take it (serial) and delegate in a line. A new feature (duplication, bulk load,
// backup, partition split) gets its own file or folder in the same way: a class and its context,
// its flags and metrics beside it, and its one-line entry points here.
import { assert, log, type ErrorName } from '../base/index.ts';
import {
  compareHostPort, gpidText, levelAtMost, parseFunctionLevel, type AppInfo, type FunctionLevel, type Gpid, type NodeInfo, type PartitionConfiguration,
  type ReplicaInfo,
} from '../cluster/model.ts';
import type { BalanceOperationCount, BalancerOptions, BalancerStep } from './balancer.ts';
import { AtomicIdempotentSettings, type GetAtomicIdempotentResult, type SetAtomicIdempotentResult } from './atomic-idempotent.ts';
import { BalancerProposals, type BalancerProposalRequest } from './balancer-proposals.ts';
import { BalancerQueue } from './balancer-queue.ts';
import { dddDiagnose, type DddPartition } from './ddd-diagnose.ts';
import { ConfigurationUpdates, type UpdateConfigurationRequest, type UpdateConfigurationResult } from './configuration-updates.ts';
import { failureDetectorOptionsFromFlags, type BeaconOutcome, type FailureDetectorOptions, type MasterFailureDetector } from './failure-detector.ts';
import { balancerOptionsFromFlags, clusterRoot, guardianOptionsFromFlags, metaFunctionLevelOnStart } from './flags.ts';
import {
  guardianStep, type DroppedReplica, type GuardianAction, type GuardianEvent, type GuardianOptions, type GuardianProposal,
  type GuardianState, type MemberReport,
} from './guardian.ts';
import { loadTables, type DefaultAppSpec } from './load.ts';
import {
  MetaDuplications, NO_REMOTE_CLUSTERS, type AddDuplicationRequest, type AddDuplicationResult, type DuplicationEnvironment,
  type ModifyDuplicationRequest, type SyncResult,
} from './duplication/index.ts';
import type { DuplicationAppState, DuplicationConfirmEntry, DuplicationEntry, PatternMatchType } from '../wire/index.ts';
import { ManualCompaction, type ManualCompactStatusResult, type StartManualCompactRequest } from './manual-compaction.ts';
import { choosePrimaryFailedOperationsMetric } from './metrics.ts';
import { NodeLiveness, type ConfigSyncResult } from './node-liveness.ts';
import {
  PartitionSplits, type NotifyStopSplitRequest, type QueryChildStateResult, type QuerySplitResult, type RegisterChildRequest,
  type RegisterChildResult, type SplitControl, type SplitResult,
} from './partition-split.ts';
import { ReplicaCountChanges, type GetMaxReplicaCountResult, type SetMaxReplicaCountResult } from './replica-count.ts';
import { normalizeRootPath, type MetaStateStore } from './state-store.ts';
import {
  TableDdl, type CreateAppRequest, type DropAppRequest, type MetaResult, type RecallAppRequest, type UpdateAppEnvRequest,
} from './table-ddl.ts';
import { MetaTables, type ListAppsFilter, type QueryConfigurationResult } from './tables.ts';
import { BlockServiceRegistry } from '../block/index.ts';
import type { BackupRequest, BackupResponse, ConfigurationRestoreRequest, QueryRestoreResponse, ReportRestoreStatusRequest } from '../wire/index.ts';
import { ColdBackupService } from './backup/backup-service.ts';
import { coldBackupDisabled } from './backup/flags.ts';
import { Restores } from './backup/restore.ts';
import type { BulkLoadHintResponse, BulkLoadRequest, BulkLoadResponse, ControlBulkLoadResponse, QueryBulkLoadResponse, StartBulkLoadRequest } from '../wire/index.ts';
import { BulkLoadService } from './bulk-load/bulk-load-service.ts';

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
  /** The remote clusters duplications go to; default: none. */
  duplication?: DuplicationEnvironment;
  /** The block services backups and restores use (`[block_service.*]`); default: none. */
  blockServices?: BlockServiceRegistry;
  /** RPC_COLD_BACKUP to a partition's primary (the role sends it). */
  sendColdBackup?: (primary: string, request: BackupRequest) => Promise<BackupResponse>;
  /** RPC_BULK_LOAD to a member of a partition (the role sends it). */
  sendBulkLoad?: (node: string, request: BulkLoadRequest) => Promise<BulkLoadResponse>;
}

/** Guardian rounds chained after the meta's own updates (downgrade → promote …) in one call. */
const CURE_ROUNDS_MAX = 8;

export class MetaServerState {
  readonly store: MetaStateStore;
  readonly root: string;
  readonly appsPath: string;
  readonly failureDetector: MasterFailureDetector;
  private readonly clock: () => number;
  private readonly guardianOptions: () => GuardianOptions;
  private readonly sendProposal: (proposal: GuardianProposal) => void;
  private readonly settleUntilMs: number;
  private level: FunctionLevel;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private readonly tables: MetaTables;
  private readonly liveness: NodeLiveness;
  private readonly balancer: BalancerQueue;
  private readonly updates: ConfigurationUpdates;
  private readonly ddl: TableDdl;
  private readonly manualCompaction: ManualCompaction;
  private readonly proposals: BalancerProposals;
  private readonly replicaCount: ReplicaCountChanges;
  private readonly atomicIdempotent: AtomicIdempotentSettings;
  private readonly duplications: MetaDuplications;
  /** Undefined while cold backup is disabled (`[meta_server] cold_backup_disabled`). */
  private readonly backups: ColdBackupService | undefined;
  private readonly restores: Restores;
  private readonly bulkLoads: BulkLoadService;
  private readonly splits: PartitionSplits;
  /** `meta.lb.assign_secondary_black_list`: nodes the guardian never picks for a new secondary. */
  private assignSecondaryBlackList: ReadonlySet<string> = new Set();

  private constructor(options: MetaServerStateOptions) {
    this.store = options.store;
    this.clock = options.clock ?? Date.now;
    this.tables = new MetaTables(normalizeRootPath(options.clusterRoot ?? clusterRoot.value), this.clock);
    this.root = this.tables.root;
    this.appsPath = this.tables.appsPath;
    this.guardianOptions = options.guardianOptions ?? guardianOptionsFromFlags;
    this.sendProposal = options.sendProposal ?? (() => {});
    this.settleUntilMs = this.clock() + (options.settleMs ?? 0);
    const level = options.functionLevel ?? parseFunctionLevel(metaFunctionLevelOnStart.value);
    assert(level !== undefined, 'meta_function_level_on_start is validated');
    this.level = level;

    const tables = this.tables;
    const store = this.store;
    const nowMs = (): number => this.nowMs();
    const nowSeconds = (): number => this.nowSeconds();
    const cure = (gpids: readonly Gpid[]): Promise<GuardianAction[]> => this.cureLocked({ kind: 'cure', gpids });
    this.liveness = new NodeLiveness(
      { tables, nowMs, nowSeconds, functionLevel: () => this.level },
      options.failureDetector ?? failureDetectorOptionsFromFlags(),
    );
    this.failureDetector = this.liveness.failureDetector;
    this.balancer = new BalancerQueue({
      tables,
      aliveNodes: () => this.liveness.aliveNodes(),
      allReplicasCollected: () => this.liveness.allReplicasCollected(),
      effectiveFunctionLevel: () => this.liveness.effectiveFunctionLevel(),
      balancerOptions: options.balancerOptions ?? balancerOptionsFromFlags,
    });
    this.updates = new ConfigurationUpdates({
      tables,
      store,
      nowMs,
      effectiveFunctionLevel: () => this.liveness.effectiveFunctionLevel(),
      onChangeApplied: (gpid, type, node) => this.balancer.onChangeApplied(gpid, type, node),
      cure,
    });
    this.ddl = new TableDdl({
      tables,
      store,
      nowSeconds,
      functionLevel: () => this.level,
      aliveNodeCount: () => this.liveness.aliveNodes().size,
      applyDropped: (current, next) => this.updates.applyDropped(current, next),
      applyRecalled: (current, next) => this.updates.applyRecalled(current, next),
      abandonBalanceOperation: (gpid, reason) => this.balancer.abandon(gpid, reason),
      cure,
    });
    this.manualCompaction = new ManualCompaction({
      tables,
      nowSeconds,
      writeAppEnvs: (app, envs) => this.ddl.writeAppEnvs(app, envs),
    });
    this.replicaCount = new ReplicaCountChanges({
      tables,
      store,
      functionLevel: () => this.level,
      aliveNodeCount: () => this.liveness.aliveNodes().size,
      writeMaxReplicaCount: (current, count) => this.updates.writeMaxReplicaCount(current, count),
      cure,
    });
    this.atomicIdempotent = new AtomicIdempotentSettings({ tables, store, functionLevel: () => this.level });
    this.duplications = new MetaDuplications({
      tables,
      store,
      nowMs,
      ...(options.duplication ?? NO_REMOTE_CLUSTERS),
      isKnownNode: (node) => this.liveness.listNodes().some((info) => info.address === node),
      aliveNodes: () => this.liveness.aliveNodes(),
      serial: (task) => this.serial(task),
    });
    const blockServices = options.blockServices ?? new BlockServiceRegistry(new Map());
    const sendColdBackup = options.sendColdBackup ?? (() => Promise.reject(new Error('no replica servers to ask')));
    this.backups = coldBackupDisabled.value ? undefined : new ColdBackupService({
      store, root: this.root, blockServices, nowMs, sendColdBackup,
      getApp: (appId) => tables.getApp(appId),
      partitionsOf: (appId) => tables.partitionsOf(appId),
    });
    this.restores = new Restores({
      blockServices,
      getApp: (appId) => tables.getApp(appId),
      findApp: (name) => tables.findApp(name),
      partitionsOf: (appId) => tables.partitionsOf(appId),
      createApp: (request) => this.ddl.createApp(request),
    });
    this.bulkLoads = new BulkLoadService({
      store, root: this.root, blockServices,
      getApp: (appId) => tables.getApp(appId),
      findApp: (name) => tables.findApp(name),
      partitionsOf: (appId) => tables.partitionsOf(appId),
      appPath: (appId) => tables.appPath(appId),
      applyApp: (app) => tables.appsById.set(app.appId, app),
      serial: (task) => this.serial(task),
      sendBulkLoad: options.sendBulkLoad ?? (() => Promise.reject(new Error('no replica servers to ask'))),
    });
    this.splits = new PartitionSplits({ tables, store, nowMs, cure });
    this.proposals = new BalancerProposals({
      tables,
      aliveNodes: () => this.liveness.aliveNodes(),
      queueSteps: (gpid, steps) => this.balancer.queue(gpid, steps),
      sendProposal: (proposal) => this.sendProposal(proposal),
      cure,
    });
  }

  /** Loads the tables from the store (creating the cluster root and default tables on first start). */
  static async open(options: MetaServerStateOptions): Promise<MetaServerState> {
    const state = new MetaServerState(options);
    await loadTables({ tables: state.tables, store: state.store, nowSeconds: () => state.nowSeconds() }, options.defaultApps ?? []);
    await state.duplications.load();
    state.liveness.assumeMembersAlive();
    await state.replicaCount.recoverUnfinished();
    await state.backups?.load();
    await state.bulkLoads.load();
    log.info({ root: state.root, tables: state.tables.appsById.size, store: state.store.type }, 'meta state loaded');
    return state;
  }

  private nowMs(): number {
    return this.clock();
  }
  /** The meta's clock in Unix seconds (what it writes as a `manual_compact.once.trigger_time`). */
  nowSeconds(): number {
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
  // reads (tables.ts)

  /** Every table, by id. Copies: callers cannot change the state through them. */
  listAllApps(): AppInfo[] {
    return this.tables.listAllApps();
  }
  /** The table that holds `name` (not a dropped one). */
  findApp(name: string): AppInfo | undefined {
    return this.tables.findApp(name);
  }
  getApp(appId: number): AppInfo | undefined {
    return this.tables.getApp(appId);
  }
  partitionsOf(appId: number): PartitionConfiguration[] {
    return this.tables.partitionsOf(appId);
  }
  /** `RPC_CM_DDD_DIAGNOSE`: partitions left dead by the guardian (all replicas lost), with their last members. */
  dddDiagnose(pid: Gpid = { appId: -1, partitionIndex: -1 }): { err: ErrorName; partitions: DddPartition[] } {
    return dddDiagnose({ tables: this.tables, aliveNodes: () => this.aliveNodes(), replicasCollectedFrom: (node) => this.liveness.replicasCollectedFrom(node) }, pid);
  }
  /** The dropped-member history of a partition, most recent last. */
  droppedHistory(gpid: Gpid): DroppedReplica[] {
    return this.tables.droppedHistory(gpid);
  }
  /** `RPC_CM_LIST_APPS`. */
  listApps(filter: ListAppsFilter = {}): { err: ErrorName; infos: AppInfo[] } {
    return this.tables.listApps(filter);
  }
  /** `RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX`. */
  queryConfiguration(appName: string, partitionIndices: readonly number[] = []): QueryConfigurationResult {
    return this.tables.queryConfiguration(appName, partitionIndices);
  }

  // -------------------------------------------------------------------------------------------
  // function level

  /** The level set by config or operator. */
  get functionLevel(): FunctionLevel {
    return this.level;
  }

  /** The level the meta works at: freezed while too few replica servers are alive (§2.6). */
  effectiveFunctionLevel(): FunctionLevel {
    return this.liveness.effectiveFunctionLevel();
  }

  /** `RPC_CM_CONTROL_META`: fl_invalid only reads the level. Returns the level before the call. */
  setFunctionLevel(level: FunctionLevel): { err: ErrorName; oldLevel: FunctionLevel } {
    const oldLevel = this.level;
    if (level !== 'fl_invalid') {
      this.level = level;
      if (oldLevel !== level) log.info({ from: oldLevel, to: level }, 'meta function level changed');
      // Below lively nothing balances: operations under way stop after their current step.
      if (levelAtMost(level, 'fl_steady')) this.balancer.abandonAll('meta function level is not lively');
    }
    return { err: 'ERR_OK', oldLevel };
  }

  // -------------------------------------------------------------------------------------------
  // table DDL (table-ddl.ts)

  /** `RPC_CM_CREATE_APP`. */
  createApp(request: CreateAppRequest): Promise<MetaResult & { appId: number }> {
    return this.serial(() => this.ddl.createApp(request));
  }
  /** `RPC_CM_DROP_APP`: a soft drop; the table can be recalled until it expires. */
  dropApp(request: DropAppRequest): Promise<MetaResult> {
    return this.serial(() => this.ddl.dropApp(request));
  }
  /** `RPC_CM_RECALL_APP`: brings back a dropped table that has not expired, optionally renamed. */
  recallApp(request: RecallAppRequest): Promise<MetaResult & { info: AppInfo | undefined }> {
    return this.serial(() => this.ddl.recallApp(request));
  }
  /** `RPC_CM_RENAME_APP`: available tables only. */
  renameApp(oldName: string, newName: string): Promise<MetaResult> {
    return this.serial(() => this.ddl.renameApp(oldName, newName));
  }
  /** `RPC_CM_UPDATE_APP_ENV`: set, delete or clear table envs. */
  updateAppEnv(request: UpdateAppEnvRequest): Promise<MetaResult> {
    return this.serial(() => this.ddl.updateAppEnv(request));
  }

  // -------------------------------------------------------------------------------------------
  // replica count (replica-count.ts)

  /** `RPC_CM_GET_MAX_REPLICA_COUNT`. */
  getMaxReplicaCount(appName: string): Promise<GetMaxReplicaCountResult> {
    return this.serial(async () => this.replicaCount.get(appName));
  }
  /** `RPC_CM_SET_MAX_REPLICA_COUNT`: the guardian then adds or removes secondaries. */
  setMaxReplicaCount(appName: string, count: number): Promise<SetMaxReplicaCountResult> {
    return this.serial(() => this.replicaCount.set(appName, count));
  }

  // -------------------------------------------------------------------------------------------
  // atomic idempotence (atomic-idempotent.ts)

  /** `RPC_CM_GET_ATOMIC_IDEMPOTENT`. */
  getAtomicIdempotent(appName: string): Promise<GetAtomicIdempotentResult> {
    return this.serial(async () => this.atomicIdempotent.get(appName));
  }
  /** `RPC_CM_SET_ATOMIC_IDEMPOTENT`: the replicas learn it with the table. */
  setAtomicIdempotent(appName: string, atomicIdempotent: boolean): Promise<SetAtomicIdempotentResult> {
    return this.serial(() => this.atomicIdempotent.set(appName, atomicIdempotent));
  }

  // -------------------------------------------------------------------------------------------
  // duplication (duplication/)

  /** `RPC_CM_ADD_DUPLICATION`. */
  addDuplication(request: AddDuplicationRequest): Promise<AddDuplicationResult> {
    return this.serial(() => this.duplications.add(request));
  }
  /** `RPC_CM_MODIFY_DUPLICATION`: pause, start, remove, fail mode. */
  modifyDuplication(request: ModifyDuplicationRequest): Promise<{ err: ErrorName; appid: number }> {
    return this.serial(() => this.duplications.modify(request));
  }
  /** `RPC_CM_QUERY_DUPLICATION`. */
  queryDuplication(appName: string): { err: ErrorName; appid: number; entryList: DuplicationEntry[] } {
    return this.duplications.query(appName);
  }
  /** `RPC_CM_LIST_DUPLICATION`. */
  listDuplications(pattern: string, matchType: PatternMatchType): { err: ErrorName; hintMessage: string; appStates: Map<string, DuplicationAppState> } {
    return this.duplications.list(pattern, matchType);
  }
  /** `RPC_CM_DUPLICATION_SYNC` from a replica server. */
  onDuplicationSync(node: string, confirmList: ReadonlyMap<Gpid, readonly DuplicationConfirmEntry[]>): Promise<SyncResult> {
    return this.serial(() => this.duplications.sync(node, confirmList));
  }

  // -------------------------------------------------------------------------------------------
  // partition split (partition-split.ts)

  /** `RPC_CM_START_PARTITION_SPLIT`: the count doubles; each parent's primary then makes its child. */
  startPartitionSplit(appName: string, newPartitionCount: number): Promise<SplitResult> {
    return this.serial(() => this.splits.start(appName, newPartitionCount));
  }
  /** `RPC_CM_CONTROL_PARTITION_SPLIT`. */
  controlPartitionSplit(appName: string, control: SplitControl, parentIndex: number, oldPartitionCount?: number): Promise<SplitResult> {
    return this.serial(() => this.splits.control(appName, control, parentIndex, oldPartitionCount));
  }
  /** `RPC_CM_QUERY_PARTITION_SPLIT`. */
  queryPartitionSplit(appName: string): Promise<QuerySplitResult> {
    return this.serial(async () => this.splits.query(appName));
  }
  /** `RPC_CM_REGISTER_CHILD_REPLICA`. */
  registerChild(request: RegisterChildRequest): Promise<RegisterChildResult> {
    return this.serial(() => this.splits.registerChild(request));
  }
  /** `RPC_CM_NOTIFY_STOP_SPLIT`. */
  notifyStopSplit(request: NotifyStopSplitRequest): Promise<{ err: ErrorName }> {
    return this.serial(() => this.splits.notifyStopSplit(request));
  }
  /** `RPC_CM_QUERY_CHILD_STATE`. */
  queryChildState(appName: string, parent: Gpid, partitionCount: number): Promise<QueryChildStateResult> {
    return this.serial(async () => this.splits.queryChildState(appName, parent, partitionCount));
  }

  // -------------------------------------------------------------------------------------------
  // manual compaction (manual-compaction.ts)

  /** `RPC_CM_START_MANUAL_COMPACT`: a compaction of every replica of the table, once. */
  startManualCompact(request: StartManualCompactRequest): Promise<MetaResult> {
    return this.serial(() => this.manualCompaction.start(request));
  }
  /** `RPC_CM_QUERY_MANUAL_COMPACT_STATUS`: the progress the members' config syncs report. */
  queryManualCompactStatus(appName: string): ManualCompactStatusResult {
    return this.manualCompaction.queryStatus(appName);
  }

  // -------------------------------------------------------------------------------------------
  // cold backup and restore (backup/)

  /** The backup service, or undefined while cold backup is disabled (its RPCs answer ERR_SERVICE_NOT_ACTIVE). */
  get coldBackup(): ColdBackupService | undefined {
    return this.backups;
  }
  /** Starts due policy backups and moves those under way on (a timer calls it). */
  tickBackups(): Promise<void> {
    return this.backups?.tick() ?? Promise.resolve();
  }
  /** `RPC_CM_START_RESTORE`: creates the table from the backup's metadata, in the queue as a create_app. */
  startRestore(request: ConfigurationRestoreRequest): Promise<{ err: ErrorName; appid: number }> {
    return this.serial(() => this.restores.start(request));
  }
  /** `RPC_CM_REPORT_RESTORE_STATUS`. */
  reportRestoreStatus(request: ReportRestoreStatusRequest): { err: ErrorName } {
    return this.restores.report(request);
  }
  /** `RPC_CM_QUERY_RESTORE_STATUS`. */
  queryRestoreStatus(appId: number): QueryRestoreResponse {
    return this.restores.query(appId);
  }

  // -------------------------------------------------------------------------------------------
  // bulk load (bulk-load/)

  /** `RPC_CM_START_BULK_LOAD` and `/meta/app/start_bulk_load`. */
  startBulkLoad(request: StartBulkLoadRequest): Promise<BulkLoadHintResponse> {
    return this.serial(() => this.bulkLoads.start(request));
  }
  /** `RPC_CM_CONTROL_BULK_LOAD`: pause, restart, cancel, force cancel (bulk_load_control_type). */
  controlBulkLoad(appName: string, type: number): Promise<ControlBulkLoadResponse> {
    return this.serial(() => this.bulkLoads.control(appName, type));
  }
  /** `RPC_CM_QUERY_BULK_LOAD_STATUS` and `/meta/app/query_bulk_load`. */
  queryBulkLoad(appName: string): QueryBulkLoadResponse {
    return this.bulkLoads.query(appName);
  }
  /** `RPC_CM_CLEAR_BULK_LOAD`. */
  clearBulkLoad(appName: string): Promise<BulkLoadHintResponse> {
    return this.serial(() => this.bulkLoads.clear(appName));
  }
  /** Asks the members of bulk-loading partitions how far they are (a timer calls it). */
  tickBulkLoads(): void {
    this.bulkLoads.tick();
  }

  // -------------------------------------------------------------------------------------------
  // replica servers (node-liveness.ts, configuration-updates.ts)

  aliveNodes(): Set<string> {
    return this.liveness.aliveNodes();
  }
  /** Every replica server the meta knows, sorted by host then port. */
  listNodes(): NodeInfo[] {
    return this.liveness.listNodes();
  }
  /** Whether every alive node has reported its replicas through config sync since the meta started. */
  allReplicasCollected(): boolean {
    return this.liveness.allReplicasCollected();
  }

  /**
   * `RPC_FD_FAILURE_DETECTOR_PING` from `node`. A node that comes (back) to life lets the guardian
   * re-check every partition: it may be the replica a partition was waiting for.
   */
  onBeacon(node: string, startTimeMs = 0): Promise<BeaconOutcome> {
    const outcome = this.liveness.onBeacon(node, startTimeMs);
    if (!outcome.accepted || !outcome.becameAlive || this.nowMs() < this.settleUntilMs) return Promise.resolve(outcome);
    return this.serial(async () => {
      await this.cureLocked({ kind: 'check_all' });
      return outcome;
    });
  }

  /** Runs the failure detector at the current time; returns the nodes that just died. */
  checkNodes(): Promise<string[]> {
    const died = this.liveness.checkNodes();
    if (died.length === 0) return Promise.resolve([]);
    return this.serial(async () => {
      for (const node of died) {
        this.liveness.onNodeDead(node);
        await this.cureLocked({ kind: 'node_dead', node });
      }
      return died;
    });
  }

  /** `RPC_CM_CONFIG_SYNC` from a replica server. */
  onConfigSync(node: string, storedReplicas: readonly ReplicaInfo[]): ConfigSyncResult {
    return this.liveness.onConfigSync(node, storedReplicas);
  }

  /** `RPC_CM_UPDATE_PARTITION_CONFIGURATION` from a replica server. */
  onUpdateConfiguration(request: UpdateConfigurationRequest): Promise<UpdateConfigurationResult> {
    return this.serial(() => this.updates.onUpdateConfiguration(request));
  }

  // -------------------------------------------------------------------------------------------
  // balancer (balancer-queue.ts)

  /** The steps of the balance operations under way, per gpid text (for tests and diagnostics). */
  balancerStepsUnderWay(): Map<string, BalancerStep[]> {
    return this.balancer.stepsUnderWay();
  }
  /** `meta.lb.ignored_app_list`: tables the balancer leaves alone. */
  setBalancerIgnoredApps(appIds: Iterable<number>): void {
    this.balancer.setIgnoredApps(appIds);
  }
  balancerIgnoredApps(): number[] {
    return this.balancer.ignoredApps();
  }
  /** `RPC_CM_PROPOSE_BALANCER`: an operator's balance operation, queued for the guardian (or sent at once with force). */
  proposeBalancer(request: BalancerProposalRequest): Promise<{ err: ErrorName; hintMessage: string }> {
    return this.serial(() => this.proposals.propose(request));
  }
  /** `meta.lb.assign_secondary_black_list`. */
  setAssignSecondaryBlackList(nodes: Iterable<string>): void {
    this.assignSecondaryBlackList = new Set(nodes);
  }
  assignSecondaryBlackListNodes(): string[] {
    return [...this.assignSecondaryBlackList].sort(compareHostPort);
  }
  /** balance_operation_count of /meta/cluster. */
  balanceOperationCount(): BalanceOperationCount {
    return this.balancer.balanceOperationCount();
  }

  // -------------------------------------------------------------------------------------------
  // the curing loop

  /**
   * The periodic sweep (every lb_interval_ms): cure every partition, then, if all of them are
   * healthy, run the balancer (§2.9). Returns every guardian action taken or proposed.
   */
  checkAllPartitions(): Promise<GuardianAction[]> {
    return this.serial(async () => {
      const actions = await this.cureLocked({ kind: 'check_all' });
      const balanced = this.balancer.round();
      if (balanced.length > 0) actions.push(...await this.cureLocked({ kind: 'cure', gpids: balanced }));
      return actions;
    });
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
      this.balancer.prune();
      const actions = guardianStep(this.guardianState(), next, this.nowMs());
      const changed: Gpid[] = [];
      for (const action of actions) {
        all.push(action);
        switch (action.kind) {
          case 'update': {
            const current = this.tables.partitions.get(action.gpid.appId)![action.gpid.partitionIndex]!;
            log.info({ gpid: gpidText(action.gpid), type: action.type, node: action.node, ballot: action.config.ballot }, 'meta updates a partition configuration');
            await this.updates.write(current, action.config, action.type, action.node);
            changed.push(action.gpid);
            break;
          }
          case 'proposal':
            this.sendProposal(action);
            break;
          case 'ddd': {
            const key = gpidText(action.gpid);
            if (!this.tables.dddPartitions.has(key)) {
              log.warn({ gpid: key, reason: action.reason }, 'partition has lost all its replicas');
              this.tables.contexts.get(key)?.metrics.counter(choosePrimaryFailedOperationsMetric).increment();
            }
            this.tables.dddPartitions.set(key, { gpid: action.gpid, reason: action.reason });
            break;
          }
        }
      }
      next = changed.length > 0 ? { kind: 'cure', gpids: changed } : undefined;
    }
    return all;
  }

  private guardianState(): GuardianState {
    const dropped = new Map<string, readonly DroppedReplica[]>();
    const memberReports = new Map<string, ReadonlyMap<string, MemberReport>>();
    const pending = new Set<string>();
    for (const [key, context] of this.tables.contexts) {
      if (context.dropped.length > 0) dropped.set(key, context.dropped);
      if (context.memberReports.size > 0) memberReports.set(key, context.memberReports);
      if (context.pending) pending.add(key);
    }
    return {
      level: this.effectiveFunctionLevel(),
      apps: this.tables.appsById,
      partitions: this.tables.partitions,
      aliveNodes: this.aliveNodes(),
      pending,
      dropped,
      memberReports,
      blackList: this.assignSecondaryBlackList,
      balancerSteps: this.balancer.nextSteps(),
      options: this.guardianOptions(),
    };
  }

  /** Waits for queued changes, then refuses new ones. The store is the caller's to close. */
  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
  }
}
