// Partition split on the meta (Pegasus's meta_split_service): a table's partition count doubles
// at once, each parent p gets a child p + old count whose configuration has ballot -1 until the
// parent's primary registers it (clients route a child's keys to its parent until then), and
// the operator may pause, restart or cancel the parents that have not registered yet.
//
// Unlike Pegasus, which keeps the parents' split status in memory only, the status is stored
// (`<root>/split/<app_id>`, written in the same batch as the table and each registered child),
// so a meta that takes over mid-split continues it, paused parents staying paused. A child's
// partition node is created when it registers; at load a table whose split node exists gets its
// missing children back with ballot -1.
import { log, type ErrorName, type Gpid } from '../base/index.ts';
import {
  appInfoToJson, cloneAppInfo, clonePartitionConfiguration, gpidText, newPartitionConfiguration, partitionConfigurationToJson,
  type AppInfo, type PartitionConfiguration, type SplitStatusName,
} from '../cluster/model.ts';
import { ensurePath, type MetaStateStore, type StoreOp } from './state-store.ts';
import type { AppSplitState, MetaTables } from './tables.ts';

/** The table env that makes both halves refuse and drop the other half's keys (set when a split starts). */
export const SPLIT_VALIDATE_PARTITION_HASH_ENV = 'replica.split.validate_partition_hash';

/** The ballot of a child that is not registered yet. */
export const UNREGISTERED_BALLOT = -1;

export type SplitControl = 'pause' | 'restart' | 'cancel';

/** split_control_type numbers (PAUSE 0, RESTART 1, CANCEL 2) as the RPC carries them. */
const SPLIT_CONTROLS: readonly SplitControl[] = ['pause', 'restart', 'cancel'];

export function splitControlFromValue(value: number): SplitControl | undefined {
  return Number.isInteger(value) ? SPLIT_CONTROLS[value] : undefined;
}

export interface SplitResult {
  err: ErrorName;
  hintMessage: string;
}

export interface QuerySplitResult extends SplitResult {
  newPartitionCount: number;
  /** Per parent partition index that has not registered its child. */
  status: Map<number, SplitStatusName>;
}

export interface RegisterChildRequest {
  appName: string;
  parentConfig: PartitionConfiguration;
  childConfig: PartitionConfiguration;
  primary: string;
}

export interface RegisterChildResult {
  err: ErrorName;
  app: AppInfo | undefined;
  parentConfig: PartitionConfiguration | undefined;
  childConfig: PartitionConfiguration | undefined;
}

export interface NotifyStopSplitRequest {
  appName: string;
  parentGpid: Gpid;
  /** What the parent acted on: PAUSING or CANCELING. */
  status: SplitStatusName;
  /** The count before the split. */
  partitionCount: number;
}

export interface QueryChildStateResult {
  err: ErrorName;
  partitionCount: number | undefined;
  childConfig: PartitionConfiguration | undefined;
}

/** What a split needs from the rest of the meta. */
export interface PartitionSplitContext {
  readonly tables: MetaTables;
  readonly store: MetaStateStore;
  nowMs(): number;
  /** Runs the guardian on these partitions. */
  cure(gpids: readonly Gpid[]): Promise<unknown>;
}

/** The configuration of a child that is not registered yet. */
export function unregisteredChild(appId: number, partitionIndex: number, maxReplicaCount: number): PartitionConfiguration {
  return { ...newPartitionConfiguration(appId, partitionIndex, maxReplicaCount), ballot: UNREGISTERED_BALLOT };
}

export function splitStateToJson(state: AppSplitState): string {
  return JSON.stringify({ splitting_count: state.splittingCount, status: Object.fromEntries(state.status) });
}

const STATUS_NAMES: ReadonlySet<string> = new Set<SplitStatusName>(['SPLITTING', 'PAUSING', 'PAUSED', 'CANCELING']);

/** Throws on text the meta could not have written. */
export function splitStateFromJson(text: string): AppSplitState {
  const object = JSON.parse(text) as { splitting_count?: unknown; status?: unknown };
  if (typeof object.splitting_count !== 'number' || !Number.isSafeInteger(object.splitting_count) || object.splitting_count < 0) {
    throw new Error(`splitting_count should be a non-negative integer, got ${JSON.stringify(object.splitting_count)}`);
  }
  if (object.status === null || typeof object.status !== 'object' || Array.isArray(object.status)) throw new Error('status should be an object');
  const status = new Map<number, SplitStatusName>();
  for (const [index, name] of Object.entries(object.status as Record<string, unknown>)) {
    if (!/^\d+$/.test(index) || typeof name !== 'string' || !STATUS_NAMES.has(name)) throw new Error(`bad status entry ${index}: ${JSON.stringify(name)}`);
    status.set(Number(index), name as SplitStatusName);
  }
  return { splittingCount: object.splitting_count, status };
}

/** The status pause or restart moves a parent from, and to (Pegasus's do_control_single/all). */
function controlTransition(control: 'pause' | 'restart'): { from: SplitStatusName; to: SplitStatusName } {
  return control === 'pause' ? { from: 'SPLITTING', to: 'PAUSING' } : { from: 'PAUSED', to: 'SPLITTING' };
}

/** Each method that changes state assumes its caller holds the serial queue. */
export class PartitionSplits {
  private readonly tables: MetaTables;

  constructor(private readonly context: PartitionSplitContext) {
    this.tables = context.tables;
  }

  /** The available table named so, or the error Pegasus answers (its hints name the table differently per RPC). */
  private availableApp(appName: string): { app: AppInfo } | { err: ErrorName; what: string } {
    const app = this.tables.findApp(appName);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', what: 'not existed' };
    if (app.status !== 'AS_AVAILABLE') return { err: 'ERR_APP_DROPPED', what: 'dropped' };
    return { app };
  }

  /** `RPC_CM_START_PARTITION_SPLIT`. */
  async start(appName: string, newPartitionCount: number): Promise<SplitResult> {
    const found = this.availableApp(appName);
    if (!('app' in found)) return { err: found.err, hintMessage: `app ${found.what}` };
    const app = found.app;
    if (newPartitionCount !== app.partitionCount * 2) {
      return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `wrong partition_count, should be ${app.partitionCount * 2}` };
    }
    if (this.tables.splits.has(app.appId)) return { err: 'ERR_BUSY', hintMessage: `app(${appName}) is already executing partition split` };
    const oldCount = app.partitionCount;
    const updated: AppInfo = {
      ...cloneAppInfo(app),
      partitionCount: newPartitionCount,
      initPartitionCount: app.initPartitionCount > 0 ? app.initPartitionCount : oldCount,
      envs: { ...app.envs, [SPLIT_VALIDATE_PARTITION_HASH_ENV]: 'true' },
    };
    const state: AppSplitState = { splittingCount: oldCount, status: new Map() };
    for (let index = 0; index < oldCount; index++) state.status.set(index, 'SPLITTING');
    await ensurePath(this.context.store, this.tables.splitsPath);
    await this.context.store.multi([
      { op: 'set', path: this.tables.appPath(app.appId), data: Buffer.from(appInfoToJson(updated)) },
      { op: 'create', path: this.tables.splitPath(app.appId), data: Buffer.from(splitStateToJson(state)) },
    ]);
    const configs = this.tables.partitions.get(app.appId)!;
    const children = Array.from({ length: oldCount }, (_, index) => unregisteredChild(app.appId, oldCount + index, app.maxReplicaCount));
    this.tables.splits.set(app.appId, state);
    this.tables.installApp(updated, [...configs, ...children]);
    log.info({ appName, appId: app.appId, from: oldCount, to: newPartitionCount }, 'partition split started');
    return { err: 'ERR_OK', hintMessage: '' };
  }

  /** `RPC_CM_QUERY_PARTITION_SPLIT`. */
  query(appName: string): QuerySplitResult {
    const found = this.availableApp(appName);
    if (!('app' in found)) return { err: found.err, hintMessage: `app(${appName}) ${found.what}`, newPartitionCount: 0, status: new Map() };
    const state = this.tables.splits.get(found.app.appId);
    if (!state) return { err: 'ERR_INVALID_STATE', hintMessage: `app(${appName}) is not splitting`, newPartitionCount: 0, status: new Map() };
    return { err: 'ERR_OK', hintMessage: '', newPartitionCount: found.app.partitionCount, status: new Map(state.status) };
  }

  /** `RPC_CM_CONTROL_PARTITION_SPLIT`: pause or restart one parent (index ≥ 0) or all (-1); cancel all. */
  async control(appName: string, control: SplitControl, parentIndex: number, oldPartitionCount: number | undefined): Promise<SplitResult> {
    const found = this.availableApp(appName);
    if (!('app' in found)) return { err: found.err, hintMessage: `app ${found.what}` };
    const app = found.app;
    const state = this.tables.splits.get(app.appId);
    if (!state) return { err: 'ERR_INVALID_STATE', hintMessage: `app(${appName}) is not splitting` };
    const next = new Map(state.status);
    if (control === 'cancel') {
      const halfCount = app.partitionCount / 2;
      if (oldPartitionCount !== halfCount) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `wrong partition_count, should be ${halfCount}` };
      if (state.splittingCount !== oldPartitionCount) return { err: 'ERR_CHILD_REGISTERED', hintMessage: 'some partitions have already finished split' };
      for (const index of next.keys()) next.set(index, 'CANCELING');
    } else if (parentIndex >= 0) {
      if (parentIndex >= app.partitionCount / 2) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `invalid parent partition index(${parentIndex})` };
      const status = next.get(parentIndex);
      if (status === undefined) {
        return { err: control === 'pause' ? 'ERR_CHILD_REGISTERED' : 'ERR_INVALID_STATE', hintMessage: `partition[${parentIndex}] is not splitting` };
      }
      const { from, to } = controlTransition(control);
      if (status !== from) return { err: 'ERR_INVALID_STATE', hintMessage: `partition[${parentIndex}] wrong split_status(${status})` };
      next.set(parentIndex, to);
    } else {
      const { from, to } = controlTransition(control);
      for (const [index, status] of next) if (status === from) next.set(index, to);
    }
    await this.writeState(app.appId, { splittingCount: state.splittingCount, status: next });
    log.info({ appName, control, parentIndex }, 'partition split controlled');
    return { err: 'ERR_OK', hintMessage: '' };
  }

  /** `RPC_CM_REGISTER_CHILD_REPLICA`: the parent's primary made the child; it becomes a partition of the table. */
  async registerChild(request: RegisterChildRequest): Promise<RegisterChildResult> {
    const app = this.tables.findApp(request.appName);
    const none = { app: undefined, parentConfig: undefined, childConfig: undefined };
    if (!app || app.status !== 'AS_AVAILABLE') return { err: 'ERR_APP_NOT_EXIST', ...none };
    const configs = this.tables.partitions.get(app.appId)!;
    const parentIndex = request.parentConfig.gpid.partitionIndex;
    const parent = configs[parentIndex];
    if (request.parentConfig.gpid.appId !== app.appId || parent === undefined) return { err: 'ERR_INVALID_PARAMETERS', ...none };
    const answer = (err: ErrorName): RegisterChildResult => ({ err, app: undefined, parentConfig: clonePartitionConfiguration(parent), childConfig: undefined });
    if (request.parentConfig.ballot !== parent.ballot) return answer('ERR_INVALID_VERSION');
    if (this.tables.context(parent.gpid).pending) return answer('ERR_IO_PENDING');
    const childIndex = request.childConfig.gpid.partitionIndex;
    if (childIndex >= app.partitionCount) return answer('ERR_INVALID_STATE');
    const state = this.tables.splits.get(app.appId);
    const status = state?.status.get(parentIndex);
    if (!state || status === undefined) return answer('ERR_CHILD_REGISTERED');
    if (status !== 'SPLITTING') return answer('ERR_INVALID_STATE');
    if (request.childConfig.gpid.appId !== app.appId || childIndex !== parentIndex + app.partitionCount / 2 || request.primary === '') {
      return answer('ERR_INVALID_PARAMETERS');
    }
    const child: PartitionConfiguration = {
      ...clonePartitionConfiguration(request.childConfig),
      maxReplicaCount: app.maxReplicaCount,
      primary: request.primary,
      secondaries: request.childConfig.secondaries.filter((node) => node !== request.primary),
      lastDrops: [],
      partitionFlags: 0,
    };
    const remaining = new Map(state.status);
    remaining.delete(parentIndex);
    const nextState: AppSplitState = { splittingCount: state.splittingCount - 1, status: remaining };
    const ops: StoreOp[] = [
      { op: 'create', path: this.tables.partitionPath(child.gpid), data: Buffer.from(partitionConfigurationToJson(child)) },
      nextState.splittingCount === 0
        ? { op: 'delete', path: this.tables.splitPath(app.appId) }
        : { op: 'set', path: this.tables.splitPath(app.appId), data: Buffer.from(splitStateToJson(nextState)) },
    ];
    await this.context.store.multi(ops);
    configs[childIndex] = child;
    if (nextState.splittingCount === 0) this.tables.splits.delete(app.appId);
    else this.tables.splits.set(app.appId, nextState);
    log.info({ appName: app.appName, parent: gpidText(parent.gpid), child: gpidText(child.gpid), primary: child.primary }, 'split child registered');
    if (nextState.splittingCount === 0) log.info({ appName: app.appName, partitionCount: app.partitionCount }, 'partition split finished');
    await this.context.cure([child.gpid]);
    return {
      err: 'ERR_OK', app: this.tables.getApp(app.appId), parentConfig: clonePartitionConfiguration(parent), childConfig: clonePartitionConfiguration(configs[childIndex]!),
    };
  }

  /** `RPC_CM_NOTIFY_STOP_SPLIT`: a parent paused, or canceled; the last canceled parent halves the count again. */
  async notifyStopSplit(request: NotifyStopSplitRequest): Promise<{ err: ErrorName }> {
    const app = this.tables.findApp(request.appName);
    if (!app || app.status !== 'AS_AVAILABLE') return { err: 'ERR_APP_NOT_EXIST' };
    if (request.status !== 'PAUSING' && request.status !== 'CANCELING') return { err: 'ERR_INVALID_PARAMETERS' };
    const state = this.tables.splits.get(app.appId);
    const parentIndex = request.parentGpid.partitionIndex;
    const status = state?.status.get(parentIndex);
    // Out of date: the parent is not splitting any more, or the operator changed its status since.
    if (!state || status !== request.status) return { err: 'ERR_INVALID_VERSION' };
    const next = new Map(state.status);
    if (status === 'PAUSING') {
      next.set(parentIndex, 'PAUSED');
      await this.writeState(app.appId, { splittingCount: state.splittingCount, status: next });
      log.info({ appName: app.appName, parent: gpidText(request.parentGpid) }, 'split paused');
      return { err: 'ERR_OK' };
    }
    if (request.partitionCount * 2 !== app.partitionCount) return { err: 'ERR_INVALID_PARAMETERS' };
    next.delete(parentIndex);
    const remaining = state.splittingCount - 1;
    if (remaining > 0) {
      await this.writeState(app.appId, { splittingCount: remaining, status: next });
      return { err: 'ERR_OK' };
    }
    await this.finishCancel(app);
    return { err: 'ERR_OK' };
  }

  /** `RPC_CM_QUERY_CHILD_STATE`: whether a parent's child is registered, and its configuration. */
  queryChildState(appName: string, parent: Gpid, partitionCount: number): QueryChildStateResult {
    const none = { partitionCount: undefined, childConfig: undefined };
    const app = this.tables.findApp(appName);
    if (!app || app.status !== 'AS_AVAILABLE') return { err: 'ERR_APP_NOT_EXIST', ...none };
    if (app.partitionCount === partitionCount || app.partitionCount !== partitionCount * 2) return { err: 'ERR_INVALID_STATE', ...none };
    const child = this.tables.partitions.get(app.appId)![parent.partitionIndex + partitionCount];
    if (!child || child.ballot === UNREGISTERED_BALLOT) return { err: 'ERR_INVALID_STATE', ...none };
    return { err: 'ERR_OK', partitionCount: app.partitionCount, childConfig: clonePartitionConfiguration(child) };
  }

  /** The split status a member's config sync carries for a parent whose child is not registered. */
  statusOf(gpid: Gpid): SplitStatusName | undefined {
    return this.tables.splits.get(gpid.appId)?.status.get(gpid.partitionIndex);
  }

  /** Every parent canceled: the table goes back to its old count, the children are forgotten. */
  private async finishCancel(app: AppInfo): Promise<void> {
    const oldCount = app.partitionCount / 2;
    const updated: AppInfo = { ...cloneAppInfo(this.tables.appsById.get(app.appId)!), partitionCount: oldCount };
    await this.context.store.multi([
      { op: 'set', path: this.tables.appPath(app.appId), data: Buffer.from(appInfoToJson(updated)) },
      { op: 'delete', path: this.tables.splitPath(app.appId) },
    ]);
    const configs = this.tables.partitions.get(app.appId)!;
    for (const child of configs.splice(oldCount)) {
      this.tables.contexts.get(gpidText(child.gpid))?.metrics.retire(this.context.nowMs());
      this.tables.contexts.delete(gpidText(child.gpid));
    }
    this.tables.splits.delete(app.appId);
    this.tables.appsById.set(app.appId, updated);
    log.info({ appName: app.appName, partitionCount: oldCount }, 'partition split canceled');
  }

  private async writeState(appId: number, state: AppSplitState): Promise<void> {
    await this.context.store.set(this.tables.splitPath(appId), Buffer.from(splitStateToJson(state)));
    this.tables.splits.set(appId, state);
  }
}

/** Reads a table's stored split state at load; undefined when it is not being split. */
export async function loadSplitState(tables: MetaTables, store: MetaStateStore, appId: number): Promise<AppSplitState | undefined> {
  const data = await store.get(tables.splitPath(appId));
  if (data === undefined) return undefined;
  try {
    return splitStateFromJson(data.toString('utf8'));
  } catch (error) {
    throw new Error(`meta state: ${tables.splitPath(appId)} is not a valid split state: ${(error as Error).message}`);
  }
}
