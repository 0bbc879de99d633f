// The meta's in-memory model, shared by the concepts of server-state.ts: the tables by id and by
// name, their partition configurations, what the meta keeps per partition beside the
// configuration, where each lives in the store, and the read views the RPCs and HTTP handlers
// answer from. The concepts change it: anything that waits on the store while holding the
// serial queue, config sync's bookkeeping (reports, dropped members) synchronously.
//
// Store layout under <cluster_root> (spec pegasus-arch §2.12):
//   /apps                  data "lock" while default tables are being written, then "unlock"
//   /apps/<app_id>         app_info JSON
//   /apps/<app_id>/<pidx>  partition_configuration JSON (a split child's only once registered)
//   /split/<app_id>        a split under way: its parents' split status (partition-split.ts)
import { assert, type ErrorName } from '../base/index.ts';
import type { MetricEntity } from '../metrics/index.ts';
import {
  cloneAppInfo, clonePartitionConfiguration, gpidText,
  type AppInfo, type AppStatus, type Gpid, type ManualCompactStatus, type PartitionConfiguration, type SplitStatusName,
} from '../cluster/model.ts';
import type { DroppedReplica, MemberReport } from './guardian.ts';
import { partitionEntity, tableEntity } from './metrics.ts';
import { joinPath } from './state-store.ts';

/** What a member reported of its replica in its last config sync. */
export interface ServingReport extends MemberReport {
  /** IDLE when the replica did not say. */
  manualCompactStatus: ManualCompactStatus;
}

/** What the meta keeps of one partition beside its configuration. */
export interface PartitionContext {
  /** Members that left, most recent last, bounded. */
  dropped: DroppedReplica[];
  /** What each member reported of its replica in its last config sync. */
  memberReports: Map<string, ServingReport>;
  /** A write of this partition's configuration is in flight. */
  pending: boolean;
  /** While pending: the members before and after the change (config sync of these nodes must wait). */
  pendingNodes: Set<string>;
  metrics: MetricEntity;
}

const DROPPED_HISTORY_MAX = 8;

/** A table's split under way (partition-split.ts): its parents whose child is not registered yet. */
export interface AppSplitState {
  /** How many parents have not registered their child (Pegasus's splitting_count). */
  splittingCount: number;
  /** Per parent partition index. */
  status: Map<number, SplitStatusName>;
}

export interface ListAppsFilter {
  /** AS_INVALID (default) lists every table. */
  status?: AppStatus;
  namePattern?: string;
  match?: 'exact' | 'anywhere' | 'prefix' | 'postfix';
}

export interface QueryConfigurationResult {
  err: ErrorName;
  appId: number;
  partitionCount: number;
  isStateful: boolean;
  partitions: PartitionConfiguration[];
}

export class MetaTables {
  readonly appsPath: string;
  readonly splitsPath: string;
  readonly appsById = new Map<number, AppInfo>();
  /** Tables that hold their name: creating, available, recalling, dropping. */
  readonly appIdsByName = new Map<string, number>();
  readonly partitions = new Map<number, PartitionConfiguration[]>();
  /** Per gpid text. */
  readonly contexts = new Map<string, PartitionContext>();
  /** Partitions the guardian could not cure (all replicas dead), with why, per gpid text. */
  readonly dddPartitions = new Map<string, { gpid: Gpid; reason: string }>();
  /** The tables being split, by id (partition-split.ts). */
  readonly splits = new Map<number, AppSplitState>();
  private readonly tableEntities = new Map<number, MetricEntity>();

  constructor(readonly root: string, private readonly clock: () => number) {
    this.appsPath = joinPath(root, 'apps');
    this.splitsPath = joinPath(root, 'split');
  }

  appPath(appId: number): string {
    return joinPath(this.appsPath, String(appId));
  }
  splitPath(appId: number): string {
    return joinPath(this.splitsPath, String(appId));
  }
  partitionPath(gpid: Gpid): string {
    return joinPath(this.appPath(gpid.appId), String(gpid.partitionIndex));
  }

  /** The context of a partition that exists. */
  context(gpid: Gpid): PartitionContext {
    const context = this.contexts.get(gpidText(gpid));
    assert(context !== undefined, `partition ${gpidText(gpid)} has a context`);
    return context;
  }

  /** Adds a table that is stored (or was just written) with its partitions. */
  installApp(app: AppInfo, configs: PartitionConfiguration[]): void {
    assert(configs.length === app.partitionCount, `table ${app.appId} has ${configs.length} of ${app.partitionCount} partitions`);
    this.appsById.set(app.appId, app);
    if (app.status !== 'AS_DROPPED') this.appIdsByName.set(app.appName, app.appId);
    this.partitions.set(app.appId, configs);
    for (const config of configs) {
      const key = gpidText(config.gpid);
      if (!this.contexts.has(key)) {
        this.contexts.set(key, { dropped: [], memberReports: new Map(), pending: false, pendingNodes: new Set(), metrics: partitionEntity(config.gpid) });
      }
    }
    this.refreshTableMetrics(app);
  }

  /** A dropped table's entities retire; a table that is (again) available gets fresh ones. */
  refreshTableMetrics(app: AppInfo): void {
    const appId = app.appId;
    const nowMs = this.clock();
    if (app.status === 'AS_DROPPED') {
      this.tableEntities.get(appId)?.retire(nowMs);
      this.tableEntities.delete(appId);
      for (const config of this.partitions.get(appId) ?? []) this.contexts.get(gpidText(config.gpid))?.metrics.retire(nowMs);
      return;
    }
    if (this.tableEntities.has(appId)) return;
    this.tableEntities.set(appId, tableEntity(appId, () => this.partitions.get(appId) ?? []));
    for (const config of this.partitions.get(appId) ?? []) this.context(config.gpid).metrics = partitionEntity(config.gpid);
  }

  forgetDropped(gpid: Gpid, node: string): void {
    const context = this.contexts.get(gpidText(gpid));
    if (!context) return;
    const index = context.dropped.findIndex((item) => item.node === node);
    if (index >= 0) context.dropped.splice(index, 1);
  }

  recordDropped(gpid: Gpid, entry: DroppedReplica): void {
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
