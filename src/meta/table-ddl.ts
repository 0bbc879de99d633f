// Table DDL (spec pegasus-arch §2.3, §2.11): create, drop, recall and rename tables, change their
// envs; the checks of a table's name and shape; the store writes that create a table.
//
// A change is written to the store first and applied to the tables after the write succeeded;
// while it is written, the table holds its name in a transient status (AS_CREATING,
// AS_DROPPING, AS_RECALLING) so that a concurrent request gets ERR_BUSY_*.
import { log, type ErrorName } from '../base/index.ts';
import {
  APP_TYPE_PEGASUS, appInfoToJson, applyConfigChange, cloneAppInfo, clonePartitionConfiguration, gpidText, levelAtMost,
  newPartitionConfiguration, partitionConfigurationToJson, PARTITION_FLAG_DROPPED,
  type AppInfo, type AppStatus, type FunctionLevel, type Gpid, type PartitionConfiguration,
} from '../cluster/model.ts';
import { validateAppEnv, validateCreateAppEnvs } from './app-envs.ts';
import { ENV_FOLLOWER_APP_STATUS, ENV_MASTER_CLUSTER, FOLLOWER_CREATED, repeatedFollowerCreate } from './duplication/follower.ts';
import { holdSecondsForDroppedApp, maxAllowedPartitionCount, maxAllowedReplicaCount, minAllowedReplicaCount } from './flags.ts';
import type { MetaStateStore, StoreOp } from './state-store.ts';
import { unavailableError, type MetaTables } from './tables.ts';

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
  /** Envs the meta itself sets, not a client (a restore's `restore.*`): not checked as a client's are. */
  metaEnvs?: Record<string, string>;
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


export interface MetaResult {
  err: ErrorName;
  hintMessage: string;
}

/** What table DDL needs from the rest of the meta. */
export interface TableDdlContext {
  readonly tables: MetaTables;
  readonly store: MetaStateStore;
  nowSeconds(): number;
  /** The level set by config or operator: at freezed and below no table is created. */
  functionLevel(): FunctionLevel;
  aliveNodeCount(): number;
  /** Applies a dropped partition's next configuration (ballot + 1) once the store holds it. */
  applyDropped(current: PartitionConfiguration, next: PartitionConfiguration): void;
  /** Applies a recalled partition's configuration (same ballot, flag cleared) once the store holds it. */
  applyRecalled(current: PartitionConfiguration, next: PartitionConfiguration): void;
  abandonBalanceOperation(gpid: Gpid, reason: string): void;
  /** Runs the guardian on these partitions. */
  cure(gpids: readonly Gpid[]): Promise<unknown>;
}

/** The DDL requests; each one assumes its caller holds the serial queue. */
export class TableDdl {
  private readonly tables: MetaTables;

  constructor(private readonly context: TableDdlContext) {
    this.tables = context.tables;
  }

  /** `RPC_CM_CREATE_APP`. */
  async createApp(request: CreateAppRequest): Promise<MetaResult & { appId: number }> {
    const fail = (err: ErrorName, hintMessage: string, appId = 0) => ({ err, hintMessage, appId });
    const level = this.context.functionLevel();
    if (levelAtMost(level, 'fl_freezed')) return fail('ERR_STATE_FREEZED', `meta function level is ${level}`);
    const problem = checkTableShape(request.appName, request.partitionCount, request.replicaCount);
    if (problem !== undefined) return fail('ERR_INVALID_PARAMETERS', problem);
    const aliveCount = this.context.aliveNodeCount();
    if (request.replicaCount > aliveCount) {
      return fail('ERR_INVALID_PARAMETERS', `replica count ${request.replicaCount} exceeds the ${aliveCount} alive replica servers`);
    }
    const envProblem = validateCreateAppEnvs(request.envs ?? {});
    if (envProblem !== undefined) return fail('ERR_INVALID_PARAMETERS', envProblem);
    const envs = { ...request.envs, ...request.metaEnvs };
    const appType = request.appType ?? APP_TYPE_PEGASUS;
    const isStateful = request.isStateful ?? true;

    const existingId = this.tables.appIdsByName.get(request.appName);
    if (existingId !== undefined) {
      const existing = this.tables.appsById.get(existingId)!;
      switch (existing.status) {
        case 'AS_AVAILABLE': {
          if (!request.successIfExist && envs[ENV_MASTER_CLUSTER] !== undefined) return this.repeatedFollowerCreate(existing, envs);
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

    const appId = Math.max(0, ...this.tables.appsById.keys()) + 1;
    const app = newAppInfo(
      appId, request.appName, appType, request.partitionCount, request.replicaCount, isStateful, envs, request.atomicIdempotent ?? false,
      this.context.nowSeconds(),
    );
    // The table holds its name while it is written: a second create gets ERR_BUSY_CREATING.
    const creating = { ...app, status: 'AS_CREATING' as AppStatus };
    this.tables.appsById.set(appId, creating);
    this.tables.appIdsByName.set(app.appName, appId);
    try {
      await this.context.store.multi(createAppOps(this.tables, app));
    } catch (error) {
      this.tables.appsById.delete(appId);
      this.tables.appIdsByName.delete(app.appName);
      throw error;
    }
    const configs = Array.from({ length: app.partitionCount }, (_, index) => newPartitionConfiguration(appId, index, app.maxReplicaCount));
    this.tables.installApp(app, configs);
    log.info({ appName: app.appName, appId, partitionCount: app.partitionCount, replicaCount: app.maxReplicaCount }, 'table created');
    await this.context.cure(configs.map((config) => config.gpid));
    return { err: 'ERR_OK' as ErrorName, hintMessage: '', appId };
  }

  /**
   * A create of a follower table that exists (duplication/follower.ts): the master repeats it
   * while it waits, and marks the table created once.
   */
  private async repeatedFollowerCreate(existing: AppInfo, envs: Record<string, string>): Promise<MetaResult & { appId: number }> {
    const decision = repeatedFollowerCreate(existing.envs, envs);
    if (decision.kind === 'answer') {
      if (decision.err !== 'ERR_OK') log.warn({ appName: existing.appName, err: decision.err }, 'refused a create of an existing follower table');
      const hintMessage = decision.err === 'ERR_OK' ? '' : `app ${existing.appName} already exists`;
      return { err: decision.err, hintMessage, appId: existing.appId };
    }
    await this.writeAppEnvs(existing, { ...existing.envs, [ENV_FOLLOWER_APP_STATUS]: FOLLOWER_CREATED });
    log.info({ appName: existing.appName, appId: existing.appId }, 'follower table marked created');
    return { err: 'ERR_OK', hintMessage: '', appId: existing.appId };
  }

  /** `RPC_CM_DROP_APP`: a soft drop; the table can be recalled until it expires. */
  async dropApp(request: DropAppRequest): Promise<MetaResult> {
    const appId = this.tables.appIdsByName.get(request.appName);
    const app = appId === undefined ? undefined : this.tables.appsById.get(appId);
    if (!app) {
      return request.successIfNotExist
        ? { err: 'ERR_OK', hintMessage: '' }
        : { err: 'ERR_APP_NOT_EXIST', hintMessage: `app ${request.appName} does not exist` };
    }
    if (app.status === 'AS_CREATING' || app.status === 'AS_RECALLING') return { err: 'ERR_BUSY_CREATING', hintMessage: `app ${app.appName} is being created` };
    if (app.status === 'AS_DROPPING') return { err: 'ERR_BUSY_DROPPING', hintMessage: `app ${app.appName} is being dropped` };
    // Its unregistered children have no partition nodes to drop (partition-split.ts).
    if (this.tables.splits.has(app.appId)) return { err: 'ERR_SPLITTING', hintMessage: `app ${app.appName} is splitting` };
    const now = this.context.nowSeconds();
    const holdSeconds = request.reserveSeconds !== undefined && request.reserveSeconds > 0 ? request.reserveSeconds : holdSecondsForDroppedApp.value;
    const dropped: AppInfo = { ...cloneAppInfo(app), status: 'AS_DROPPED', dropSecond: now, expireSecond: now + holdSeconds };
    const configs = this.tables.partitions.get(app.appId)!;
    const nextConfigs = configs.map((config) => applyConfigChange(config, 'CT_DROP_PARTITION', '')!);
    const ops: StoreOp[] = [{ op: 'set', path: this.tables.appPath(app.appId), data: Buffer.from(appInfoToJson(dropped)) }];
    for (const config of nextConfigs) ops.push({ op: 'set', path: this.tables.partitionPath(config.gpid), data: Buffer.from(partitionConfigurationToJson(config)) });
    this.tables.appsById.set(app.appId, { ...app, status: 'AS_DROPPING' });
    try {
      await this.context.store.multi(ops);
    } catch (error) {
      this.tables.appsById.set(app.appId, app);
      throw error;
    }
    this.tables.appIdsByName.delete(app.appName);
    this.tables.appsById.set(app.appId, dropped);
    for (let index = 0; index < configs.length; index++) this.context.applyDropped(configs[index]!, nextConfigs[index]!);
    for (const config of nextConfigs) {
      this.tables.dddPartitions.delete(gpidText(config.gpid));
      this.context.abandonBalanceOperation(config.gpid, 'table dropped');
    }
    this.tables.refreshTableMetrics(dropped);
    log.info({ appName: app.appName, appId: app.appId, expireSecond: dropped.expireSecond }, 'table dropped');
    return { err: 'ERR_OK', hintMessage: '' };
  }

  /** `RPC_CM_RECALL_APP`: brings back a dropped table that has not expired, optionally renamed. */
  async recallApp(request: RecallAppRequest): Promise<MetaResult & { info: AppInfo | undefined }> {
    const app = this.tables.appsById.get(request.appId);
    const fail = (err: ErrorName, hintMessage: string) => ({ err, hintMessage, info: undefined });
    if (!app) return fail('ERR_APP_NOT_EXIST', `app ${request.appId} does not exist`);
    if (app.status === 'AS_AVAILABLE') return fail('ERR_APP_EXIST', `app ${request.appId} (${app.appName}) is not dropped`);
    if (app.status === 'AS_CREATING' || app.status === 'AS_RECALLING') return fail('ERR_BUSY_CREATING', `app ${request.appId} is being created`);
    if (app.status === 'AS_DROPPING') return fail('ERR_BUSY_DROPPING', `app ${request.appId} is being dropped`);
    if (app.expireSecond <= this.context.nowSeconds()) return fail('ERR_APP_NOT_EXIST', `app ${request.appId} has expired and cannot be recalled`);
    const newName = request.newAppName === undefined || request.newAppName === '' ? app.appName : request.newAppName;
    const nameProblem = checkAppName(newName);
    if (nameProblem !== undefined) return fail('ERR_INVALID_PARAMETERS', nameProblem);
    if (this.tables.appIdsByName.has(newName)) return fail('ERR_INVALID_PARAMETERS', `app name ${newName} is already in use`);

    const recalled: AppInfo = { ...cloneAppInfo(app), status: 'AS_AVAILABLE', appName: newName, dropSecond: 0, expireSecond: 0 };
    const configs = this.tables.partitions.get(app.appId)!;
    const nextConfigs = configs.map((config) => ({ ...clonePartitionConfiguration(config), partitionFlags: config.partitionFlags & ~PARTITION_FLAG_DROPPED }));
    const ops: StoreOp[] = [{ op: 'set', path: this.tables.appPath(app.appId), data: Buffer.from(appInfoToJson(recalled)) }];
    for (const config of nextConfigs) ops.push({ op: 'set', path: this.tables.partitionPath(config.gpid), data: Buffer.from(partitionConfigurationToJson(config)) });
    this.tables.appsById.set(app.appId, { ...app, status: 'AS_RECALLING' });
    this.tables.appIdsByName.set(newName, app.appId);
    try {
      await this.context.store.multi(ops);
    } catch (error) {
      this.tables.appsById.set(app.appId, app);
      this.tables.appIdsByName.delete(newName);
      throw error;
    }
    this.tables.appsById.set(app.appId, recalled);
    for (let index = 0; index < configs.length; index++) this.context.applyRecalled(configs[index]!, nextConfigs[index]!);
    this.tables.refreshTableMetrics(recalled);
    log.info({ appId: app.appId, appName: newName }, 'table recalled');
    await this.context.cure(nextConfigs.map((config) => config.gpid));
    return { err: 'ERR_OK' as ErrorName, hintMessage: '', info: cloneAppInfo(recalled) };
  }

  /** `RPC_CM_RENAME_APP`: available tables only; errors and hints as Pegasus's server_state::rename_app. */
  async renameApp(oldName: string, newName: string): Promise<MetaResult> {
    const appId = this.tables.appIdsByName.get(oldName);
    const app = appId === undefined ? undefined : this.tables.appsById.get(appId);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', hintMessage: `ERROR: app(${oldName}) not exist!` };
    if (app.status !== 'AS_AVAILABLE') return { err: unavailableError(app.status), hintMessage: `ERROR: app(${oldName}) status can't execute rename.` };
    if (this.tables.appIdsByName.has(newName)) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `ERROR: app(${newName}) already exist!` };
    // Pegasus takes any new name; Pteron keeps the rule every other way to name a table follows.
    const problem = checkAppName(newName);
    if (problem !== undefined) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: problem };
    const renamed = { ...cloneAppInfo(app), appName: newName };
    await this.context.store.set(this.tables.appPath(app.appId), Buffer.from(appInfoToJson(renamed)));
    this.tables.appIdsByName.delete(oldName);
    this.tables.appIdsByName.set(newName, app.appId);
    this.tables.appsById.set(app.appId, renamed);
    log.info({ appId: app.appId, oldName, newName }, 'table renamed');
    return { err: 'ERR_OK', hintMessage: '' };
  }

  /** `RPC_CM_UPDATE_APP_ENV`: set, delete or clear table envs. */
  async updateAppEnv(request: UpdateAppEnvRequest): Promise<MetaResult> {
    // A SET is checked before the table is looked up, as Pegasus does.
    if (request.op === 'SET') {
      const keys = request.keys ?? [];
      const values = request.values ?? [];
      if (keys.length === 0 || keys.length !== values.length) {
        return { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'keys and values must be non-empty lists of the same length' };
      }
      for (let index = 0; index < keys.length; index++) {
        const hint = validateAppEnv(keys[index]!, values[index]!);
        if (hint !== undefined) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: hint };
      }
    }
    const appId = this.tables.appIdsByName.get(request.appName);
    const app = appId === undefined ? undefined : this.tables.appsById.get(appId);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', hintMessage: 'app cannot be found' };
    if (app.status === 'AS_DROPPING') return { err: 'ERR_BUSY_DROPPING', hintMessage: 'app is being dropped' };
    if (app.status !== 'AS_AVAILABLE') return { err: 'ERR_BUSY_CREATING', hintMessage: 'app is being created' };
    const envs = { ...app.envs };
    let hintMessage = '';
    switch (request.op) {
      case 'SET': {
        const keys = request.keys!;
        for (let index = 0; index < keys.length; index++) envs[keys[index]!] = request.values![index]!;
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
    await this.writeAppEnvs(app, envs);
    return { err: 'ERR_OK', hintMessage };
  }

  /** Writes the table with `envs` in place of its envs, then applies it. Checks nothing. */
  async writeAppEnvs(app: AppInfo, envs: Record<string, string>): Promise<void> {
    const updated = { ...cloneAppInfo(app), envs };
    await this.context.store.set(this.tables.appPath(app.appId), Buffer.from(appInfoToJson(updated)));
    this.tables.appsById.set(app.appId, updated);
  }
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

/** undefined when a table of this name and shape may be created, otherwise why not. */
export function checkTableShape(appName: string, partitionCount: number, replicaCount: number): string | undefined {
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

export function newAppInfo(
  appId: number, appName: string, appType: string, partitionCount: number, maxReplicaCount: number,
  isStateful: boolean, envs: Record<string, string>, atomicIdempotent: boolean, createSecond: number,
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
    createSecond,
    dropSecond: 0,
    duplicating: false,
    initPartitionCount: partitionCount,
    isBulkLoading: false,
    atomicIdempotent,
  };
}

/** The store writes that create a table: its app_info and a new configuration per partition. */
export function createAppOps(tables: MetaTables, app: AppInfo): StoreOp[] {
  const ops: StoreOp[] = [{ op: 'create', path: tables.appPath(app.appId), data: Buffer.from(appInfoToJson(app)) }];
  for (let index = 0; index < app.partitionCount; index++) {
    const config = newPartitionConfiguration(app.appId, index, app.maxReplicaCount);
    ops.push({ op: 'create', path: tables.partitionPath(config.gpid), data: Buffer.from(partitionConfigurationToJson(config)) });
  }
  return ops;
}

function sameEnvs(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}
