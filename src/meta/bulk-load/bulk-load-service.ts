// The meta's bulk load service (Pegasus's bulk_load_service): starting a table's bulk load
// (checked against bulk_load_info on the block service), driving it from a timer that asks every
// member of every partition with RPC_BULK_LOAD (status-machine.ts turns the answers into the next
// state), pause/restart/cancel, the status query and clearing a finished load's result.
//
// Store layout (written before memory changes, so a meta taking over continues where this one
// was): `<cluster_root>/bulk_load/<app_id>` (the table's bulk load) and under it `<pidx>` (each
// partition's status); the table's `is_bulk_loading` flag is in its own node. What members
// reported is not stored: a new primary meta asks them again.
import { log, parseHostPort, PteronError, type ErrorName } from '../../base/index.ts';
import type { BlockServiceRegistry } from '../../block/index.ts';
import {
  appInfoToJson, bulkLoadPaths, bulkLoadStatusOf, bulkLoadStatusValue, cloneAppInfo, gpidText, INGESTION_STATUSES,
  parseBulkLoadInfo, type AppInfo, type PartitionConfiguration,
} from '../../cluster/index.ts';
import type {
  BulkLoadHintResponse, BulkLoadRequest, BulkLoadResponse, ControlBulkLoadResponse, PartitionBulkLoadState, QueryBulkLoadResponse, StartBulkLoadRequest,
} from '../../wire/index.ts';
import { ensurePath, joinPath, type MetaStateStore, type StoreOp } from '../state-store.ts';
import {
  appBulkLoadFromJson, appBulkLoadToJson, CONTROL_TYPES, controlBulkLoad, newBulkLoad, onPartitionReports, partitionBulkLoadToJson,
  type AppBulkLoad, type MemberReport,
} from './status-machine.ts';

/** What the bulk load service needs from the rest of the meta. */
export interface BulkLoadContext {
  readonly store: MetaStateStore;
  /** The cluster root in the store. */
  readonly root: string;
  readonly blockServices: BlockServiceRegistry;
  getApp(appId: number): AppInfo | undefined;
  findApp(name: string): AppInfo | undefined;
  partitionsOf(appId: number): PartitionConfiguration[];
  /** The store path of a table's node. */
  appPath(appId: number): string;
  /** Replaces a table in memory after its node was written (the queue is held). */
  applyApp(app: AppInfo): void;
  /** Runs `task` in the meta's serial queue. */
  serial<T>(task: () => Promise<T>): Promise<T>;
  /** RPC_BULK_LOAD to one member of a partition. */
  sendBulkLoad(node: string, request: BulkLoadRequest): Promise<BulkLoadResponse>;
}

/** The members of a partition: its primary first, then its secondaries. */
function membersOf(config: PartitionConfiguration): string[] {
  return config.primary === '' ? [...config.secondaries] : [config.primary, ...config.secondaries];
}

function reportOf(askedStatus: AppBulkLoad['status'], state: PartitionBulkLoadState): MemberReport {
  return {
    askedStatus,
    downloadProgress: state.downloadProgress ?? 0,
    downloadStatus: (state.downloadStatus ?? 'ERR_OK') as ErrorName,
    ingestStatus: INGESTION_STATUSES[state.ingestStatus ?? 0] ?? 'IS_INVALID',
    isCleanedUp: state.isCleanedUp === true,
    isPaused: state.isPaused === true,
  };
}

export class BulkLoadService {
  private readonly loads = new Map<number, AppBulkLoad>();
  /** By gpid text, then member: what it last answered. */
  private readonly reports = new Map<string, Map<string, MemberReport>>();
  private readonly states = new Map<string, Map<string, PartitionBulkLoadState>>();
  /** Partitions of an ended bulk load whose members all cleaned up, by table. */
  private readonly cleanedUp = new Map<number, Set<number>>();
  /** `<gpid>@<member>` asked and not answered yet. */
  private readonly asking = new Set<string>();
  private readonly rootPath: string;

  constructor(private readonly context: BulkLoadContext) {
    this.rootPath = joinPath(context.root, 'bulk_load');
  }

  private appPath(appId: number): string {
    return joinPath(this.rootPath, String(appId));
  }

  /** Reads the bulk loads from the store; those under way go on at the next tick. */
  async load(): Promise<void> {
    const { store } = this.context;
    await ensurePath(store, this.rootPath);
    for (const name of await store.children(this.rootPath)) {
      const path = joinPath(this.rootPath, name);
      try {
        const partitions = new Map<number, string>();
        for (const child of await store.children(path)) partitions.set(Number(child), (await store.get(joinPath(path, child)))!.toString('utf8'));
        const load = appBulkLoadFromJson((await store.get(path))!.toString('utf8'), partitions);
        this.loads.set(load.appId, load);
      } catch (error) {
        log.error({ path, err: (error as Error).message }, 'stored bulk load is damaged; it is ignored');
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // requests (the queue is held)

  /** `RPC_CM_START_BULK_LOAD` and `/meta/app/start_bulk_load`. */
  async start(request: StartBulkLoadRequest): Promise<BulkLoadHintResponse> {
    const app = this.context.findApp(request.appName);
    if (app === undefined || app.status !== 'AS_AVAILABLE') {
      return app === undefined ? { err: 'ERR_APP_NOT_EXIST', hintMsg: 'app not existed is ' } : { err: 'ERR_APP_DROPPED', hintMsg: 'app not available is ' };
    }
    if (app.isBulkLoading) return { err: 'ERR_BUSY', hintMsg: `app(${app.appName}) is already executing bulk load` };
    const checked = await this.checkRequest(request, app);
    if (checked.err !== 'ERR_OK') return checked;
    const load = newBulkLoad({
      appId: app.appId, appName: app.appName, partitionCount: app.partitionCount, clusterName: request.clusterName,
      fileProviderType: request.fileProviderType, remoteRootPath: request.remoteRootPath, ingestBehind: request.ingestBehind,
    });
    const updated: AppInfo = { ...cloneAppInfo(app), isBulkLoading: true };
    const path = this.appPath(app.appId);
    const ops: StoreOp[] = [];
    if (await this.context.store.exists(path)) ops.push({ op: 'delete', path, recursive: true });
    ops.push({ op: 'create', path, data: Buffer.from(appBulkLoadToJson(load)) });
    load.partitions.forEach((partition, index) => ops.push({ op: 'create', path: joinPath(path, String(index)), data: Buffer.from(partitionBulkLoadToJson(partition)) }));
    ops.push({ op: 'set', path: this.context.appPath(app.appId), data: Buffer.from(appInfoToJson(updated)) });
    await this.context.store.multi(ops);
    this.forget(app.appId);
    this.loads.set(app.appId, load);
    this.context.applyApp(updated);
    log.info({ app: app.appName, cluster: request.clusterName, provider: request.fileProviderType, root: request.remoteRootPath, ingestBehind: request.ingestBehind },
      'bulk load started');
    return { err: 'ERR_OK', hintMsg: '' };
  }

  /** Pegasus's check_bulk_load_request_params: the ingest-behind env, the provider, and bulk_load_info against the table. */
  private async checkRequest(request: StartBulkLoadRequest, app: AppInfo): Promise<BulkLoadHintResponse> {
    if (request.ingestBehind && app.envs['rocksdb.allow_ingest_behind'] !== 'true') {
      return { err: 'ERR_INCONSISTENT_STATE', hintMsg: 'inconsistent ingestion behind option' };
    }
    const service = this.context.blockServices.get(request.fileProviderType);
    if (service === undefined) return { err: 'ERR_INVALID_PARAMETERS', hintMsg: 'invalid file_provider' };
    const infoPath = bulkLoadPaths.info(request.remoteRootPath, request.clusterName, request.appName);
    let text: string;
    try {
      if (await service.stat(infoPath) === undefined) return { err: 'ERR_FILE_OPERATION_FAILED', hintMsg: 'file_provider error' };
      text = (await service.read(infoPath)).toString('utf8');
    } catch (error) {
      return { err: error instanceof PteronError ? error.code : 'ERR_FS_INTERNAL', hintMsg: 'read bulk_load_info failed' };
    }
    const info = parseBulkLoadInfo(text);
    if (info === undefined) return { err: 'ERR_CORRUPTION', hintMsg: 'bulk_load_info damaged' };
    if (info.app_id !== app.appId || info.partition_count !== app.partitionCount) {
      return { err: 'ERR_INCONSISTENT_STATE', hintMsg: 'app_id or partition_count is inconsistent' };
    }
    return { err: 'ERR_OK', hintMsg: '' };
  }

  /** `RPC_CM_CONTROL_BULK_LOAD`: `type` is bulk_load_control_type's value. */
  async control(appName: string, type: number): Promise<ControlBulkLoadResponse> {
    const app = this.context.findApp(appName);
    if (app === undefined || app.status !== 'AS_AVAILABLE') {
      return { err: app === undefined ? 'ERR_APP_NOT_EXIST' : 'ERR_APP_DROPPED', hintMsg: `app(${appName}) is not existed or not available` };
    }
    const load = this.loads.get(app.appId);
    if (!app.isBulkLoading || load === undefined) return { err: 'ERR_INACTIVE_STATE', hintMsg: `app(${appName}) is not executing bulk load` };
    const controlType = CONTROL_TYPES[type];
    if (controlType === undefined) return { err: 'ERR_INVALID_PARAMETERS', hintMsg: `unknown bulk load control type ${type}` };
    const outcome = controlBulkLoad(load, controlType);
    if (outcome.next !== undefined) {
      await this.persist(load, outcome.next);
      log.info({ app: appName, control: controlType, status: outcome.next.status }, 'bulk load controlled');
    }
    return { err: outcome.err, ...(outcome.hintMsg !== undefined && { hintMsg: outcome.hintMsg }) };
  }

  /** `RPC_CM_CLEAR_BULK_LOAD`: forgets a finished bulk load's result. */
  async clear(appName: string): Promise<BulkLoadHintResponse> {
    const app = this.context.findApp(appName);
    if (app === undefined || app.status !== 'AS_AVAILABLE') {
      return { err: app === undefined ? 'ERR_APP_NOT_EXIST' : 'ERR_APP_DROPPED', hintMsg: `app(${appName}) is not existed or not available` };
    }
    if (app.isBulkLoading) return { err: 'ERR_INVALID_STATE', hintMsg: `app(${appName}) is executing bulk load` };
    const path = this.appPath(app.appId);
    if (await this.context.store.exists(path)) await this.context.store.delete(path, true);
    this.forget(app.appId);
    return { err: 'ERR_OK', hintMsg: `clear app(${appName}) bulk load result succeed, remove bulk load dir succeed` };
  }

  /** `RPC_CM_QUERY_BULK_LOAD_STATUS`. */
  query(appName: string): QueryBulkLoadResponse {
    const empty: QueryBulkLoadResponse = { err: 'ERR_OK', appName, appStatus: 0, partitionsStatus: [], maxReplicaCount: 0, bulkLoadStates: [] };
    const app = this.context.findApp(appName);
    if (app === undefined || app.status !== 'AS_AVAILABLE') {
      return { ...empty, err: app === undefined ? 'ERR_APP_NOT_EXIST' : 'ERR_APP_DROPPED', hintMsg: `app(${appName}) is not existed or not available` };
    }
    const load = this.loads.get(app.appId);
    const states = Array.from({ length: app.partitionCount }, (_, index) => {
      const byMember = this.states.get(gpidText({ appId: app.appId, partitionIndex: index })) ?? new Map<string, PartitionBulkLoadState>();
      return new Map([...byMember].map(([member, state]) => [parseHostPort(member), state]));
    });
    const response: QueryBulkLoadResponse = {
      err: !app.isBulkLoading && load?.status === 'BLS_FAILED' ? load.err : 'ERR_OK',
      appName,
      appStatus: bulkLoadStatusValue(load?.status ?? 'BLS_INVALID'),
      partitionsStatus: Array.from({ length: app.partitionCount }, (_, index) => bulkLoadStatusValue(load?.partitions[index]?.status ?? 'BLS_INVALID')),
      maxReplicaCount: app.maxReplicaCount,
      bulkLoadStates: states,
      hpBulkLoadStates: states,
      isBulkLoading: app.isBulkLoading,
    };
    if (!app.isBulkLoading) response.hintMsg = `app(${appName}) is not during bulk load, return last time result`;
    return response;
  }

  // -------------------------------------------------------------------------------------------
  // driving the bulk loads

  /** Asks every member of every partition of every table that is bulk loading (a paused one is left alone). */
  tick(): void {
    for (const load of this.loads.values()) {
      const app = this.context.getApp(load.appId);
      if (app === undefined || !app.isBulkLoading || load.status === 'BLS_PAUSED') continue;
      for (const config of this.context.partitionsOf(load.appId)) {
        const index = config.gpid.partitionIndex;
        if (this.cleanedUp.get(load.appId)?.has(index)) continue;
        const status = load.partitions[index]?.status ?? load.status;
        for (const member of membersOf(config)) {
          const key = `${gpidText(config.gpid)}@${member}`;
          if (this.asking.has(key)) continue;
          this.asking.add(key);
          const request: BulkLoadRequest = {
            pid: config.gpid, appName: load.appName, primary: parseHostPort(config.primary || member), remoteProviderName: load.fileProviderType,
            clusterName: load.clusterName, ballot: BigInt(config.ballot), metaBulkLoadStatus: bulkLoadStatusValue(status),
            queryBulkLoadMetadata: false, remoteRootPath: load.remoteRootPath, hpPrimary: parseHostPort(config.primary || member),
          };
          void this.ask(member, request).finally(() => this.asking.delete(key));
        }
      }
    }
  }

  private async ask(member: string, request: BulkLoadRequest): Promise<void> {
    let response: BulkLoadResponse;
    try {
      response = await this.context.sendBulkLoad(member, request);
    } catch (error) {
      log.debug({ gpid: gpidText(request.pid), member, err: (error as Error).message }, 'bulk load request not answered; it is sent again');
      return;
    }
    if (response.err !== 'ERR_OK') {
      log.debug({ gpid: gpidText(request.pid), member, err: response.err }, 'bulk load request refused; it is sent again');
      return;
    }
    const state = [...(response.hpGroupBulkLoadState ?? response.groupBulkLoadState).values()][0] ?? {};
    await this.context.serial(() => this.onReport(member, request, state));
  }

  /** One member's answer: recorded, then the partition's members' answers move the bulk load on. */
  private async onReport(member: string, request: BulkLoadRequest, state: PartitionBulkLoadState): Promise<void> {
    const load = this.loads.get(request.pid.appId);
    const app = this.context.getApp(request.pid.appId);
    const config = this.context.partitionsOf(request.pid.appId)[request.pid.partitionIndex];
    if (load === undefined || app === undefined || !app.isBulkLoading || config === undefined || BigInt(config.ballot) !== request.ballot) return;
    const key = gpidText(request.pid);
    const reports = this.reports.get(key) ?? new Map<string, MemberReport>();
    this.reports.set(key, reports);
    reports.set(member, reportOf(bulkLoadStatusOf(request.metaBulkLoadStatus), state));
    const states = this.states.get(key) ?? new Map<string, PartitionBulkLoadState>();
    this.states.set(key, states);
    states.set(member, state);
    const members = membersOf(config);
    for (const known of [...reports.keys()]) if (!members.includes(known)) reports.delete(known);
    const outcome = onPartitionReports(load, request.pid.partitionIndex, members, reports, app.maxReplicaCount);
    if (outcome.next !== load) await this.persist(load, outcome.next);
    if (outcome.cleanedUp) await this.partitionCleanedUp(app, request.pid.partitionIndex);
  }

  /** Every partition of an ended bulk load cleaned up: the table stops bulk loading. */
  private async partitionCleanedUp(app: AppInfo, partitionIndex: number): Promise<void> {
    const cleaned = this.cleanedUp.get(app.appId) ?? new Set<number>();
    this.cleanedUp.set(app.appId, cleaned);
    cleaned.add(partitionIndex);
    if (cleaned.size < app.partitionCount) return;
    const updated: AppInfo = { ...cloneAppInfo(app), isBulkLoading: false };
    await this.context.store.set(this.context.appPath(app.appId), Buffer.from(appInfoToJson(updated)));
    this.context.applyApp(updated);
    log.info({ app: app.appName, status: this.loads.get(app.appId)?.status }, 'bulk load ended; the table is not bulk loading any more');
  }

  /** Writes what changed from `current` to `next` (the table's record and the partitions whose status moved), then keeps `next`. */
  private async persist(current: AppBulkLoad, next: AppBulkLoad): Promise<void> {
    const path = this.appPath(next.appId);
    const ops: StoreOp[] = next.partitions.flatMap((partition, index) => partition === current.partitions[index]
      ? []
      : [{ op: 'set' as const, path: joinPath(path, String(index)), data: Buffer.from(partitionBulkLoadToJson(partition)) }]);
    const appChanged = next.status !== current.status || next.err !== current.err || next.isEverIngesting !== current.isEverIngesting;
    if (appChanged) ops.push({ op: 'set', path, data: Buffer.from(appBulkLoadToJson(next)) });
    if (ops.length > 0) await this.context.store.multi(ops);
    this.loads.set(next.appId, next);
    if (appChanged) log.info({ app: next.appName, from: current.status, to: next.status, err: next.err }, 'bulk load status changed');
  }

  private forget(appId: number): void {
    this.loads.delete(appId);
    this.cleanedUp.delete(appId);
    for (const map of [this.reports, this.states]) for (const key of [...map.keys()]) if (key.startsWith(`${appId}.`)) map.delete(key);
  }
}
