// The meta's duplications (Pegasus's meta_duplication_service): add, modify, query and list them,
// the replica servers' RPC_CM_DUPLICATION_SYNC, loading them at start-up, and moving a
// duplication that copies a checkpoint from DS_PREPARE to DS_APP to DS_LOG while the follower
// table is created on the remote cluster.
//
// Store layout under a table's node (spec pegasus-arch §2.12):
//   <app>/duplication                  empty
//   <app>/duplication/<dupid>          the duplication's JSON (duplication-info.ts)
//   <app>/duplication/<dupid>/<pidx>   that partition's confirmed decree, decimal
// Every change is written to the store before it is applied; the methods that change state
// assume the caller holds the serial queue, and the remote calls of the follower steps run
// outside it and come back through `serial`.
import { log, PteronError, type ErrorName, type Gpid, type HostPort } from '../../base/index.ts';
import { dupIgnoreOtherClusterIds, DuplicationGroup } from '../../cluster/duplication-config.ts';
import { clusterName } from '../../cluster/flags.ts';
import { duplicationFailModeName as failModeName, duplicationStatusName as statusName } from '../../cluster/duplication-json.ts';
import type { AppInfo, PartitionConfiguration } from '../../cluster/model.ts';
import {
  DuplicationFailMode, DuplicationStatus, PatternMatchType,
  type DuplicationAppState, type DuplicationConfirmEntry, type DuplicationEntry,
} from '../../wire/index.ts';
import { joinPath, type MetaStateStore, type StoreOp } from '../state-store.ts';
import type { MetaTables } from '../tables.ts';
import {
  allCheckpointsPrepared, checkAlteration, initialStatus, isActive, listEntry, newProgress, parseStoredDecree,
  storedDuplicationFromJson, storedDuplicationToJson, syncEntry, takeConfirm, INVALID_DECREE, type DuplicationInfo,
} from './duplication-info.ts';
import { followerEnvs, followerReadiness, FOLLOWER_CREATED, FOLLOWER_CREATING, type FollowerAppStatus } from './follower.ts';
import { dupProgressMinReportPeriodMs, dupProgressMinUpdatePeriodMs } from './flags.ts';

export interface AddDuplicationRequest {
  appName: string;
  remoteClusterName: string;
  /** Default true (the thrift default). */
  isDuplicatingCheckpoint?: boolean;
  /** Default: the table's own name. */
  remoteAppName?: string;
  /** 0 or absent: the table's replica count. */
  remoteReplicaCount?: number;
}

export interface AddDuplicationResult {
  err: ErrorName;
  hint: string;
  appid: number;
  dupid: number;
  remoteAppName?: string;
  remoteReplicaCount?: number;
}

export interface ModifyDuplicationRequest {
  appName: string;
  dupid: number;
  status?: DuplicationStatus;
  failMode?: DuplicationFailMode;
}

/** The create of the follower table, sent to the remote cluster's meta. */
export interface FollowerCreateRequest {
  appName: string;
  appType: string;
  partitionCount: number;
  replicaCount: number;
  isStateful: boolean;
  envs: Record<string, string>;
}

/** The remote clusters' metas, reached through the meta list `[pegasus.clusters]` gives; the call follows redirects to the primary. */
export interface RemoteMetas {
  createApp(metas: readonly HostPort[], request: FollowerCreateRequest): Promise<ErrorName>;
  queryConfiguration(metas: readonly HostPort[], appName: string): Promise<{ err: ErrorName; partitions: PartitionConfiguration[] }>;
}

/** Where this cluster stands among the clusters it duplicates to. */
export interface DuplicationEnvironment {
  /** `[pegasus.clusters]` and `[duplication-group]`. */
  group(): DuplicationGroup;
  /** `[replication] cluster_name`. */
  clusterName(): string;
  /** This cluster's meta list, as the follower's `duplication.master_metas` gives it. */
  ownMetaList(): string;
  readonly remote: RemoteMetas;
}

/** No remote cluster configured (tests and a meta without `[pegasus.clusters]`). */
export const NO_REMOTE_CLUSTERS: DuplicationEnvironment = {
  group: () => new DuplicationGroup(new Map(), new Map()),
  clusterName: () => clusterName.value,
  ownMetaList: () => '',
  remote: {
    createApp: async () => 'ERR_CLUSTER_NOT_FOUND',
    queryConfiguration: async () => ({ err: 'ERR_CLUSTER_NOT_FOUND', partitions: [] }),
  },
};

/** What duplications need from the rest of the meta. */
export interface DuplicationContext extends DuplicationEnvironment {
  readonly tables: MetaTables;
  readonly store: MetaStateStore;
  nowMs(): number;
  /** Whether the meta knows the replica server at all (alive or not). */
  isKnownNode(node: string): boolean;
  aliveNodes(): ReadonlySet<string>;
  /** Runs a state change in the meta's serial queue (for the follower steps' results). */
  serial<T>(task: () => Promise<T>): Promise<T>;
}

export interface SyncResult {
  err: ErrorName;
  /** App id → dupid → the duplication. */
  dupMap: Map<number, Map<number, DuplicationEntry>>;
}

const dupKey = (dup: DuplicationInfo): string => `${dup.appId}.${dup.dupid}`;

export class MetaDuplications {
  private readonly tables: MetaTables;
  /** App id → dupid → duplication, for tables that are available or were when loaded. */
  private readonly byApp = new Map<number, Map<number, DuplicationInfo>>();
  /** Duplications whose follower step is waiting on the remote cluster. */
  private readonly followerStepsUnderWay = new Set<string>();
  private readonly lastReportMs = new Map<string, number>();

  constructor(private readonly context: DuplicationContext) {
    this.tables = context.tables;
  }

  private duplicationsPath(appId: number): string {
    return joinPath(this.tables.appPath(appId), 'duplication');
  }
  private duplicationPath(dup: Pick<DuplicationInfo, 'appId' | 'dupid'>): string {
    return joinPath(this.duplicationsPath(dup.appId), String(dup.dupid));
  }
  private progressPath(dup: DuplicationInfo, partitionIndex: number): string {
    return joinPath(this.duplicationPath(dup), String(partitionIndex));
  }

  /** The table's duplications by dupid, ascending. */
  duplicationsOf(appId: number): DuplicationInfo[] {
    return [...(this.byApp.get(appId)?.values() ?? [])].sort((a, b) => a.dupid - b.dupid);
  }

  /** The available table named `appName`, or undefined. */
  private availableApp(appName: string): AppInfo | undefined {
    const appId = this.tables.appIdsByName.get(appName);
    const app = appId === undefined ? undefined : this.tables.appsById.get(appId);
    return app?.status === 'AS_AVAILABLE' ? app : undefined;
  }

  private refreshDuplicating(appId: number): void {
    const app = this.tables.appsById.get(appId);
    if (app) app.duplicating = this.duplicationsOf(appId).some(isActive);
  }

  // -------------------------------------------------------------------------------------------
  // loading

  /** Reads every available table's duplications and their progress back from the store. */
  async load(): Promise<void> {
    for (const app of this.tables.appsById.values()) {
      if (app.status !== 'AS_AVAILABLE') continue;
      const root = this.duplicationsPath(app.appId);
      if (!(await this.context.store.exists(root))) continue;
      for (const name of await this.context.store.children(root)) {
        const dupid = /^\d+$/.test(name) ? Number(name) : NaN;
        const path = joinPath(root, name);
        if (!Number.isSafeInteger(dupid)) {
          log.error({ path }, 'invalid duplication path');
          continue;
        }
        let stored;
        try {
          stored = storedDuplicationFromJson((await this.context.store.get(path))?.toString('utf8') ?? '', app.appName, app.maxReplicaCount);
        } catch (error) {
          log.error({ path, err: (error as Error).message }, 'failed to decode a stored duplication');
          continue;
        }
        if (!this.context.group().clusters.has(stored.remote)) {
          log.error({ path, remote: stored.remote }, 'a stored duplication names a cluster [pegasus.clusters] does not list; it is not loaded');
          continue;
        }
        const dup: DuplicationInfo = {
          dupid, appId: app.appId, appName: app.appName, partitionCount: app.partitionCount,
          remoteClusterName: stored.remote, remoteAppName: stored.remoteAppName, remoteReplicaCount: stored.remoteReplicaCount,
          createTimestampMs: stored.createTimestampMs, status: stored.status, failMode: stored.failMode, progress: [],
        };
        if (!isActive(dup)) continue;
        for (let index = 0; index < app.partitionCount; index++) {
          const text = (await this.context.store.get(joinPath(path, String(index))))?.toString('utf8');
          const decree = text === undefined ? INVALID_DECREE : parseStoredDecree(text);
          if (decree === undefined) throw new Error(`meta state: ${joinPath(path, String(index))} holds "${text}", not a confirmed decree`);
          dup.progress.push(newProgress(decree));
        }
        this.install(dup);
        log.info({ appName: app.appName, dupid, status: statusName(dup.status), remote: dup.remoteClusterName }, 'duplication loaded');
      }
      this.refreshDuplicating(app.appId);
    }
  }

  private install(dup: DuplicationInfo): void {
    let dups = this.byApp.get(dup.appId);
    if (!dups) this.byApp.set(dup.appId, (dups = new Map()));
    dups.set(dup.dupid, dup);
  }

  // -------------------------------------------------------------------------------------------
  // RPC_CM_ADD_DUPLICATION

  async add(request: AddDuplicationRequest): Promise<AddDuplicationResult> {
    const fail = (err: ErrorName, hint: string): AddDuplicationResult => {
      log.warn({ appName: request.appName, remote: request.remoteClusterName, err }, hint);
      return { err, hint, appid: 0, dupid: 0 };
    };
    const remote = request.remoteClusterName;
    const remoteAppName = request.remoteAppName ?? request.appName;
    const group = this.context.group();
    if (remote === this.context.clusterName()) return fail('ERR_INVALID_PARAMETERS', 'illegal operation: adding duplication to itself');
    if (!dupIgnoreOtherClusterIds.value) {
      try {
        group.clusterIdOf(remote);
      } catch (error) {
        if (!(error instanceof PteronError)) throw error;
        return fail('ERR_INVALID_PARAMETERS', `get_duplication_cluster_id(${remote}) failed, error: ${error.detail}`);
      }
    }
    if (!group.clusters.has(remote)) return fail('ERR_INVALID_PARAMETERS', `failed to find cluster[${remote}] address in config [pegasus.clusters]`);
    const requestedReplicaCount = request.remoteReplicaCount ?? 0;
    if (requestedReplicaCount < 0) {
      return fail('ERR_INVALID_PARAMETERS', `invalid remote_replica_count(${requestedReplicaCount}) which should never be negative`);
    }
    const appId = this.tables.appIdsByName.get(request.appName);
    const app = appId === undefined ? undefined : this.tables.appsById.get(appId);
    if (!app) return fail('ERR_APP_NOT_EXIST', `app ${request.appName} was not found`);
    if (app.status !== 'AS_AVAILABLE') return fail('ERR_APP_NOT_EXIST', `app status was not AS_AVAILABLE: name=${request.appName}, status=${app.status}`);

    const existing = this.duplicationsOf(app.appId).find((dup) => dup.remoteClusterName === remote);
    if (existing) {
      log.info({ appName: app.appName, dupid: existing.dupid, remote, remoteAppName: existing.remoteAppName }, 'duplication has been existing');
      return {
        err: 'ERR_DUP_EXIST', hint: '', appid: app.appId, dupid: existing.dupid,
        remoteAppName: existing.remoteAppName, remoteReplicaCount: existing.remoteReplicaCount,
      };
    }
    for (const [otherId, dups] of this.byApp) {
      const other = this.tables.appsById.get(otherId);
      if (otherId === app.appId || !other || other.status !== 'AS_AVAILABLE') continue;
      if ([...dups.values()].some((dup) => dup.remoteClusterName === remote && dup.remoteAppName === remoteAppName)) {
        return fail(
          'ERR_INVALID_PARAMETERS',
          `illegal operation: another app(${other.appName}) is also duplicated to the same remote app(cluster=${remote}, app=${remoteAppName})`,
        );
      }
    }

    const nowMs = this.context.nowMs();
    let dupid = Math.floor(nowMs / 1000);
    while (this.byApp.get(app.appId)?.has(dupid)) dupid++;
    const dup: DuplicationInfo = {
      dupid, appId: app.appId, appName: app.appName, partitionCount: app.partitionCount,
      remoteClusterName: remote, remoteAppName, remoteReplicaCount: requestedReplicaCount === 0 ? app.maxReplicaCount : requestedReplicaCount,
      createTimestampMs: nowMs, status: initialStatus(request.isDuplicatingCheckpoint ?? true), failMode: DuplicationFailMode.FAIL_SLOW,
      progress: Array.from({ length: app.partitionCount }, () => newProgress(INVALID_DECREE)),
    };
    const ops: StoreOp[] = [];
    if (!(await this.context.store.exists(this.duplicationsPath(app.appId)))) {
      ops.push({ op: 'create', path: this.duplicationsPath(app.appId), data: Buffer.alloc(0) });
    }
    ops.push({ op: 'create', path: this.duplicationPath(dup), data: Buffer.from(this.storedJson(dup, dup.status, dup.failMode)) });
    await this.context.store.multi(ops);
    this.install(dup);
    this.refreshDuplicating(app.appId);
    log.info({ appName: app.appName, dupid, remote, remoteAppName, status: statusName(dup.status) }, 'add duplication successfully');
    return { err: 'ERR_OK', hint: '', appid: app.appId, dupid, remoteAppName, remoteReplicaCount: dup.remoteReplicaCount };
  }

  private storedJson(dup: DuplicationInfo, status: DuplicationStatus, failMode: DuplicationFailMode): string {
    return storedDuplicationToJson({
      remote: dup.remoteClusterName, status, createTimestampMs: dup.createTimestampMs, failMode,
      remoteAppName: dup.remoteAppName, remoteReplicaCount: dup.remoteReplicaCount,
    });
  }

  // -------------------------------------------------------------------------------------------
  // RPC_CM_MODIFY_DUPLICATION

  async modify(request: ModifyDuplicationRequest): Promise<{ err: ErrorName; appid: number }> {
    const app = this.availableApp(request.appName);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', appid: 0 };
    const dup = this.byApp.get(app.appId)?.get(request.dupid);
    if (!dup) return { err: 'ERR_OBJECT_NOT_FOUND', appid: 0 };
    const toStatus = request.status ?? dup.status;
    const toFailMode = request.failMode ?? dup.failMode;
    if (!(toFailMode in DuplicationFailMode)) return { err: 'ERR_INVALID_PARAMETERS', appid: 0 };
    const err = checkAlteration(dup, toStatus);
    if (err !== 'ERR_OK' || (toStatus === dup.status && toFailMode === dup.failMode)) return { err, appid: 0 };
    log.info({ appName: app.appName, dupid: dup.dupid, status: statusName(toStatus), failMode: failModeName(toFailMode) }, 'modify duplication');
    if (toStatus === DuplicationStatus.DS_REMOVED) {
      await this.context.store.delete(this.duplicationPath(dup), true);
      this.byApp.get(app.appId)!.delete(dup.dupid);
      dup.status = DuplicationStatus.DS_REMOVED;
    } else {
      await this.writeStatus(dup, toStatus, toFailMode);
    }
    this.refreshDuplicating(app.appId);
    return { err: 'ERR_OK', appid: app.appId };
  }

  private async writeStatus(dup: DuplicationInfo, status: DuplicationStatus, failMode: DuplicationFailMode): Promise<void> {
    await this.context.store.set(this.duplicationPath(dup), Buffer.from(this.storedJson(dup, status, failMode)));
    log.info({ appName: dup.appName, dupid: dup.dupid, from: statusName(dup.status), to: statusName(status) }, 'duplication status changed');
    dup.status = status;
    dup.failMode = failMode;
  }

  // -------------------------------------------------------------------------------------------
  // RPC_CM_QUERY_DUPLICATION, RPC_CM_LIST_DUPLICATION

  query(appName: string): { err: ErrorName; appid: number; entryList: DuplicationEntry[] } {
    const app = this.availableApp(appName);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', appid: 0, entryList: [] };
    return { err: 'ERR_OK', appid: app.appId, entryList: this.duplicationsOf(app.appId).map(listEntry) };
  }

  list(pattern: string, matchType: PatternMatchType): { err: ErrorName; hintMessage: string; appStates: Map<string, DuplicationAppState> } {
    const appStates = new Map<string, DuplicationAppState>();
    const apps = [...this.tables.appsById.values()].filter((app) => app.status === 'AS_AVAILABLE').sort((a, b) => (a.appName < b.appName ? -1 : 1));
    for (const app of apps) {
      const matched = patternMatches(app.appName, pattern, matchType);
      if (matched === undefined) {
        const hintMessage = `match_type is not supported: val=${matchType}, str=${PatternMatchType[matchType] ?? 'PMT_INVALID'}`;
        return { err: 'ERR_NOT_IMPLEMENTED', hintMessage, appStates: new Map() };
      }
      if (!matched) continue;
      appStates.set(app.appName, {
        appid: app.appId, appName: app.appName, partitionCount: app.partitionCount,
        duplications: new Map(this.duplicationsOf(app.appId).map((dup) => [dup.dupid, listEntry(dup)])),
      });
    }
    return { err: 'ERR_OK', hintMessage: '', appStates };
  }

  // -------------------------------------------------------------------------------------------
  // RPC_CM_DUPLICATION_SYNC

  /**
   * A replica server's report: the progress of the partitions it is primary of moves forward and
   * is stored; the answer holds the duplications of every table it is a primary of. A node the
   * meta does not know gets ERR_OBJECT_NOT_FOUND, one it holds dead an empty answer, and a
   * report about a partition the node is not the primary of is ignored.
   */
  async sync(node: string, confirmList: ReadonlyMap<Gpid, readonly DuplicationConfirmEntry[]>): Promise<SyncResult> {
    const dupMap = new Map<number, Map<number, DuplicationEntry>>();
    if (!this.context.isKnownNode(node)) {
      log.warn({ node }, 'duplication sync from a node that is not found in meta server');
      return { err: 'ERR_OBJECT_NOT_FOUND', dupMap };
    }
    if (!this.context.aliveNodes().has(node)) return { err: 'ERR_OK', dupMap };

    const primaryOf = (gpid: Gpid): boolean => this.tables.partitions.get(gpid.appId)?.[gpid.partitionIndex]?.primary === node;
    const apps = new Set<number>();
    for (const [appId, configs] of this.tables.partitions) {
      const app = this.tables.appsById.get(appId);
      if (app?.status === 'AS_AVAILABLE' && (this.byApp.get(appId)?.size ?? 0) > 0 && configs.some((config) => config.primary === node)) apps.add(appId);
    }

    const nowMs = this.context.nowMs();
    for (const [gpid, entries] of confirmList) {
      if (!apps.has(gpid.appId) || !primaryOf(gpid)) continue;
      for (const confirm of entries) {
        const dup = this.byApp.get(gpid.appId)?.get(confirm.dupid);
        if (!dup || !isActive(dup)) continue;
        const progress = dup.progress[gpid.partitionIndex];
        if (!progress) continue;
        const decree = takeConfirm(progress, confirm, nowMs, dupProgressMinUpdatePeriodMs.value);
        if (decree === undefined) continue;
        const path = this.progressPath(dup, gpid.partitionIndex);
        const data = Buffer.from(decree.toString());
        if (await this.context.store.exists(path)) await this.context.store.set(path, data);
        else await this.context.store.create(path, data);
        progress.storedDecree = decree;
        progress.lastUpdateMs = nowMs;
      }
    }

    for (const appId of apps) {
      const entries = new Map<number, DuplicationEntry>();
      for (const dup of this.duplicationsOf(appId)) {
        if (!isActive(dup)) continue;
        if (dup.status < DuplicationStatus.DS_LOG && allCheckpointsPrepared(dup)) this.startFollowerStep(dup);
        entries.set(dup.dupid, syncEntry(dup));
        this.reportIfTimeUp(dup, nowMs);
      }
      dupMap.set(appId, entries);
    }
    return { err: 'ERR_OK', dupMap };
  }

  private reportIfTimeUp(dup: DuplicationInfo, nowMs: number): void {
    const last = this.lastReportMs.get(dupKey(dup)) ?? 0;
    if (last !== 0 && nowMs < last + dupProgressMinReportPeriodMs.value) return;
    this.lastReportMs.set(dupKey(dup), nowMs);
    log.info({
      appName: dup.appName, dupid: dup.dupid, status: statusName(dup.status), remote: dup.remoteClusterName,
      confirmed: dup.progress.map((progress) => progress.storedDecree.toString()).join(','),
    }, 'duplication report');
  }

  // -------------------------------------------------------------------------------------------
  // the follower table: DS_PREPARE → DS_APP → DS_LOG

  /** Starts the duplication's next follower step unless one is under way; never waits for it. */
  private startFollowerStep(dup: DuplicationInfo): void {
    const key = dupKey(dup);
    if (this.followerStepsUnderWay.has(key)) return;
    this.followerStepsUnderWay.add(key);
    this.followerStep(dup)
      .catch((error: unknown) => log.warn({ appName: dup.appName, dupid: dup.dupid, err: (error as Error).message }, 'follower table step failed; retried at the next sync'))
      .finally(() => this.followerStepsUnderWay.delete(key));
  }

  /**
   * DS_PREPARE: create the follower table marked "creating" (a repeat is answered ERR_OK by the
   * follower), then DS_APP. DS_APP: mark it "created", and once every partition of it is
   * healthy, DS_LOG.
   */
  private async followerStep(dup: DuplicationInfo): Promise<void> {
    const from = dup.status;
    const metas = this.context.group().metasOf(dup.remoteClusterName);
    const createStatus: FollowerAppStatus = from === DuplicationStatus.DS_PREPARE ? FOLLOWER_CREATING : FOLLOWER_CREATED;
    const app = this.tables.appsById.get(dup.appId);
    if (!app) return;
    const created = await this.context.remote.createApp(metas, {
      appName: dup.remoteAppName,
      appType: app.appType,
      partitionCount: app.partitionCount,
      replicaCount: dup.remoteReplicaCount,
      isStateful: app.isStateful,
      envs: followerEnvs(app.envs, this.context.clusterName(), this.context.ownMetaList(), app.appName, createStatus),
    });
    const context = { appName: dup.appName, dupid: dup.dupid, remote: dup.remoteClusterName, remoteAppName: dup.remoteAppName, followerStatus: createStatus };
    if (created !== 'ERR_OK') {
      log.error({ ...context, err: created }, 'creating the follower table failed');
      return;
    }
    let to = DuplicationStatus.DS_APP;
    if (from === DuplicationStatus.DS_APP) {
      const answer = await this.context.remote.queryConfiguration(metas, dup.remoteAppName);
      const readiness = answer.err === 'ERR_OK' ? followerReadiness(answer.partitions, dup.partitionCount) : answer.err;
      if (readiness !== 'ERR_OK') {
        log.error({ ...context, err: readiness }, 'the follower table is not ready');
        return;
      }
      to = DuplicationStatus.DS_LOG;
    }
    await this.context.serial(async () => {
      // The operator may have removed it meanwhile, or another step moved it.
      if (this.byApp.get(dup.appId)?.get(dup.dupid) !== dup || dup.status !== from) return;
      await this.writeStatus(dup, to, dup.failMode);
    });
  }
}

/** Pegasus's pattern_match; undefined for a match type it does not support. */
function patternMatches(name: string, pattern: string, matchType: PatternMatchType): boolean | undefined {
  switch (matchType) {
    case PatternMatchType.PMT_MATCH_ALL: return true;
    case PatternMatchType.PMT_MATCH_EXACT: return name === pattern;
    case PatternMatchType.PMT_MATCH_ANYWHERE: return name.includes(pattern);
    case PatternMatchType.PMT_MATCH_PREFIX: return name.startsWith(pattern);
    case PatternMatchType.PMT_MATCH_POSTFIX: return name.endsWith(pattern);
    default: return undefined;
  }
}
