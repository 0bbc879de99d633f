// The meta's cold backup service (Pegasus's backup_service, policy_context and backup_engine):
// backup policies and one-time backups, kept in the meta state store so that a meta taking over
// continues the backups under way, and driven by tick(): a due policy starts a backup; for a
// backup under way the meta writes each table's app_metadata, asks every partition's primary
// with RPC_COLD_BACKUP until it reports 1000, writes the table's app_backup_status, and last the
// backup's backup_info; a policy then deletes its backups beyond the history count.
//
// Store layout: `<cluster_root>/backup/<policy_name>` (the policy), under it `<backup_id>` (each
// backup, end_time_ms 0 while under way); `<cluster_root>/one_time_backup/<backup_id>`.
import { log, PteronError, type ErrorName } from '../../base/index.ts';
import type { BlockService, BlockServiceRegistry } from '../../block/index.ts';
import {
  BACKUP_PROGRESS_FINISHED, ONE_TIME_POLICY_PREFIX, appInfoToJson, backupPaths, backupRootFor, gpidText, type AppInfo, type PartitionConfiguration,
} from '../../cluster/index.ts';
import type {
  AddBackupPolicyRequest, BackupEntry, BackupItem, BackupPolicyResponse, BackupRequest, BackupResponse, ModifyBackupPolicyRequest, PolicyEntry,
  QueryBackupPolicyResponse, QueryBackupStatusResponse, StartBackupAppRequest, StartBackupAppResponse,
} from '../../wire/index.ts';
import { ensurePath, joinPath, type MetaStateStore } from '../state-store.ts';
import { backupPolicyDurationGauge } from './flags.ts';
import {
  backupInfoFromJson, backupInfoToJson, backupIntervalProblem, formatStartTime, parseStartTime, policyFromJson, policyNameProblem, policyToJson,
  shouldStartBackup, type BackupInfo, type Policy,
} from './policy.ts';

/** What the backup service needs from the rest of the meta. */
export interface ColdBackupContext {
  readonly store: MetaStateStore;
  /** The cluster root in the store. */
  readonly root: string;
  readonly blockServices: BlockServiceRegistry;
  getApp(appId: number): AppInfo | undefined;
  partitionsOf(appId: number): PartitionConfiguration[];
  nowMs(): number;
  /** RPC_COLD_BACKUP to a partition's primary. */
  sendColdBackup(primary: string, request: BackupRequest): Promise<BackupResponse>;
}

/** What the meta knows of a backup under way: it is rebuilt (from nothing) after a failover. */
class BackupRun {
  readonly finishedPartitions = new Map<number, Set<number>>();
  readonly checkpointBytes = new Map<number, number>();
  readonly appMetadataWritten = new Set<number>();
  readonly finishedApps = new Set<number>();
  readonly asking = new Set<string>();
  failed = false;

  constructor(
    readonly policyName: string,
    readonly provider: string,
    readonly backupId: number,
    readonly appNames: ReadonlyMap<number, string>,
    readonly backupPath: string | undefined,
  ) {}

  get root(): string {
    return backupRootFor(this.policyName, this.backupPath);
  }

  partitionsDone(appId: number): Set<number> {
    let done = this.finishedPartitions.get(appId);
    if (!done) this.finishedPartitions.set(appId, (done = new Set()));
    return done;
  }
}

interface PolicyState {
  policy: Policy;
  /** Finished backups, oldest first. */
  history: BackupInfo[];
  current: { info: BackupInfo; run: BackupRun } | undefined;
  readonly duration: { set(value: number): void };
}

/** A one-time backup (start_backup_app), as stored. */
interface OneTimeBackup {
  backupId: number;
  appId: number;
  appName: string;
  provider: string;
  backupPath: string;
  startTimeMs: number;
  endTimeMs: number;
  failed: boolean;
}

interface OneTimeState {
  record: OneTimeBackup;
  run: BackupRun | undefined;
}

function oneTimeToJson(record: OneTimeBackup): string {
  return JSON.stringify({
    backup_id: record.backupId, start_time_ms: record.startTimeMs, end_time_ms: record.endTimeMs, app_id: record.appId, app_name: record.appName,
    backup_provider_type: record.provider, backup_path: record.backupPath, is_backup_failed: record.failed,
  });
}

function oneTimeFromJson(text: string): OneTimeBackup {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const number = (value: unknown): number => (typeof value === 'number' && Number.isSafeInteger(value) ? value : 0);
  if (!Number.isSafeInteger(raw.backup_id) || typeof raw.app_name !== 'string') throw new Error('not a one-time backup');
  return {
    backupId: number(raw.backup_id), appId: number(raw.app_id), appName: raw.app_name, provider: String(raw.backup_provider_type ?? ''),
    backupPath: String(raw.backup_path ?? ''), startTimeMs: number(raw.start_time_ms), endTimeMs: number(raw.end_time_ms),
    failed: raw.is_backup_failed === true,
  };
}

const policyEntryOf = (policy: Policy): PolicyEntry => ({
  policyName: policy.policyName,
  backupProviderType: policy.backupProviderType,
  backupIntervalSeconds: String(policy.backupIntervalSeconds),
  appIds: [...policy.appIds].sort((a, b) => a - b),
  backupHistoryCountToKeep: policy.backupHistoryCountToKeep,
  startTime: formatStartTime(policy.startTime),
  isDisable: policy.isDisable,
});

export class ColdBackupService {
  private readonly policies = new Map<string, PolicyState>();
  private readonly oneTime: OneTimeState[] = [];
  private readonly policyRoot: string;
  private readonly oneTimeRoot: string;

  constructor(private readonly context: ColdBackupContext) {
    this.policyRoot = joinPath(context.root, 'backup');
    this.oneTimeRoot = joinPath(context.root, 'one_time_backup');
  }

  /** Reads the policies and backups from the store; unfinished ones go on at the next tick. */
  async load(): Promise<void> {
    const { store } = this.context;
    await ensurePath(store, this.policyRoot);
    await ensurePath(store, this.oneTimeRoot);
    for (const name of await store.children(this.policyRoot)) {
      const path = joinPath(this.policyRoot, name);
      const policy = policyFromJson((await store.get(path))!.toString('utf8'));
      const state = this.addPolicyState(policy);
      const ids = (await store.children(path)).map(Number).filter(Number.isSafeInteger).sort((a, b) => a - b);
      for (const id of ids) {
        const info = backupInfoFromJson((await store.get(joinPath(path, String(id))))!.toString('utf8'));
        if (info.endTimeMs > 0) state.history.push(info);
        else state.current = { info, run: this.runOf(policy, info) };
      }
    }
    for (const name of await store.children(this.oneTimeRoot)) {
      const record = oneTimeFromJson((await store.get(joinPath(this.oneTimeRoot, name)))!.toString('utf8'));
      const unfinished = record.endTimeMs === 0 && !record.failed;
      this.oneTime.push({ record, run: unfinished ? this.oneTimeRunOf(record) : undefined });
    }
    this.oneTime.sort((a, b) => a.record.backupId - b.record.backupId);
  }

  private addPolicyState(policy: Policy): PolicyState {
    const state: PolicyState = { policy, history: [], current: undefined, duration: backupPolicyDurationGauge(policy.policyName) };
    this.policies.set(policy.policyName, state);
    return state;
  }

  private runOf(policy: Policy, info: BackupInfo): BackupRun {
    return new BackupRun(policy.policyName, policy.backupProviderType, info.backupId, info.appNames, undefined);
  }

  private oneTimeRunOf(record: OneTimeBackup): BackupRun {
    const path = record.backupPath === '' ? undefined : record.backupPath;
    return new BackupRun(`${ONE_TIME_POLICY_PREFIX}${record.backupId}`, record.provider, record.backupId, new Map([[record.appId, record.appName]]), path);
  }

  private policyPath(name: string): string {
    return joinPath(this.policyRoot, name);
  }

  // -------------------------------------------------------------------------------------------
  // policies

  /** `RPC_CM_ADD_BACKUP_POLICY`. */
  async addPolicy(request: AddBackupPolicyRequest): Promise<BackupPolicyResponse> {
    const fail = (hintMessage: string): BackupPolicyResponse => ({ err: 'ERR_INVALID_PARAMETERS', hintMessage });
    const intervalProblem = backupIntervalProblem(Number(request.backupIntervalSeconds));
    if (intervalProblem !== undefined) return fail(intervalProblem);
    const appNames = new Map<number, string>();
    for (const appId of request.appIds) {
      const app = this.context.getApp(appId);
      if (app === undefined) return fail(`invalid app ${appId}`);
      appNames.set(appId, app.appName);
    }
    const nameProblem = policyNameProblem(request.policyName) ?? (this.policies.has(request.policyName) ? 'policy name is already exist' : undefined);
    if (nameProblem !== undefined) return fail(`invalid policy name: '${request.policyName}', ${nameProblem}`);
    if (this.context.blockServices.get(request.backupProviderType) === undefined) return fail(`invalid backup_provider_type: ${request.backupProviderType}`);
    const policy: Policy = {
      policyName: request.policyName,
      backupProviderType: request.backupProviderType,
      appIds: [...appNames.keys()].sort((a, b) => a - b),
      appNames,
      backupIntervalSeconds: Number(request.backupIntervalSeconds),
      backupHistoryCountToKeep: request.backupHistoryCountToKeep,
      isDisable: false,
      startTime: parseStartTime(request.startTime, { hour: 0, minute: 0 }).time,
    };
    await this.context.store.create(this.policyPath(policy.policyName), Buffer.from(policyToJson(policy)));
    this.addPolicyState(policy);
    log.info({ policy: policy.policyName, apps: policy.appIds }, 'backup policy added');
    return { err: 'ERR_OK', hintMessage: '' };
  }

  /** `RPC_CM_QUERY_BACKUP_POLICY`: every policy when `names` is empty; the newest `count` backups of each. */
  queryPolicies(names: readonly string[], count: number): QueryBackupPolicyResponse {
    const wanted = names.length > 0 ? names : [...this.policies.keys()].sort();
    const response: QueryBackupPolicyResponse = { err: 'ERR_OK', policys: [], backupInfos: [] };
    const hints: string[] = [];
    for (const name of wanted) {
      const state = this.policies.get(name);
      if (state === undefined) {
        hints.push(`invalid policy_name ${name}`);
        continue;
      }
      response.policys.push(policyEntryOf(state.policy));
      const infos = [...(state.current ? [state.current.info] : []), ...[...state.history].reverse()].slice(0, Math.max(0, count));
      response.backupInfos.push(infos.map((info): BackupEntry => ({
        backupId: BigInt(info.backupId), startTimeMs: BigInt(info.startTimeMs), endTimeMs: BigInt(info.endTimeMs), appIds: [...info.appIds],
      })));
    }
    if (response.policys.length === 0 && names.length > 0) response.err = 'ERR_INVALID_PARAMETERS';
    if (hints.length > 0) response.hintMsg = hints.join('\n\t');
    return response;
  }

  /** `/meta/backup_policy`: the policies named (unknown names skipped), or all, in name order. */
  policyEntries(names: readonly string[]): PolicyEntry[] {
    const wanted = names.length > 0 ? names : [...this.policies.keys()];
    return [...new Set(wanted)].sort().flatMap((name) => {
      const state = this.policies.get(name);
      return state ? [policyEntryOf(state.policy)] : [];
    });
  }

  /** `RPC_CM_MODIFY_BACKUP_POLICY`: changes that do not check out are skipped, as in Pegasus. */
  async modifyPolicy(request: ModifyBackupPolicyRequest): Promise<BackupPolicyResponse> {
    const state = this.policies.get(request.policyName);
    if (state === undefined) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: '' };
    const current = state.policy;
    const next: Policy = { ...current, appIds: [...current.appIds], appNames: new Map(current.appNames) };
    let modified = false;
    let response: BackupPolicyResponse = { err: 'ERR_OK', hintMessage: '' };
    const underBackup = state.current !== undefined;
    if (request.isDisable === true) {
      if (underBackup && request.forceDisable !== true) response = { err: 'ERR_BUSY', hintMessage: '' };
      else if (!current.isDisable) {
        next.isDisable = true;
        modified = true;
      }
    } else if (request.isDisable === false) {
      if (current.isDisable) {
        next.isDisable = false;
        modified = true;
      } else {
        response = { err: 'ERR_OK', hintMessage: 'policy is already enabled' };
      }
    }
    for (const appId of request.addAppids ?? []) {
      const app = this.context.getApp(appId);
      if (app === undefined) continue;
      if (!next.appIds.includes(appId)) next.appIds.push(appId);
      next.appNames.set(appId, app.appName);
      modified = true;
    }
    for (const appId of request.removalAppids ?? []) {
      if (appId <= 0) continue;
      next.appIds = next.appIds.filter((id) => id !== appId);
      modified = true;
    }
    if (request.newBackupIntervalSec !== undefined && backupIntervalProblem(Number(request.newBackupIntervalSec)) === undefined) {
      next.backupIntervalSeconds = Number(request.newBackupIntervalSec);
      modified = true;
    }
    if (request.backupHistoryCountToKeep !== undefined && request.backupHistoryCountToKeep > 0) {
      next.backupHistoryCountToKeep = request.backupHistoryCountToKeep;
      modified = true;
    }
    if (request.startTime !== undefined) {
      const parsed = parseStartTime(request.startTime, current.startTime);
      if (parsed.valid) {
        next.startTime = parsed.time;
        modified = true;
      }
    }
    next.appIds.sort((a, b) => a - b);
    if (modified) {
      await this.context.store.set(this.policyPath(next.policyName), Buffer.from(policyToJson(next)));
      state.policy = next;
      log.info({ policy: next.policyName }, 'backup policy modified');
    }
    return response;
  }

  // -------------------------------------------------------------------------------------------
  // one-time backups

  /** `RPC_CM_START_BACKUP_APP`. */
  async startBackupApp(request: StartBackupAppRequest): Promise<StartBackupAppResponse> {
    const { appId } = request;
    const app = this.context.getApp(appId);
    if (app === undefined || app.status !== 'AS_AVAILABLE') return { err: 'ERR_INVALID_STATE', hintMessage: `Backup failed: invalid app id ${appId}.` };
    const service = this.context.blockServices.get(request.backupProviderType);
    if (service === undefined) {
      return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `Backup failed: invalid backup_provider_type ${request.backupProviderType}.` };
    }
    if (this.oneTime.some((backup) => backup.record.appId === appId && backup.run !== undefined)) {
      return { err: 'ERR_INVALID_STATE', hintMessage: `Backup failed: app ${appId} is actively being backed up.` };
    }
    // Backup ids are start times in ms; two backups started in the same ms still get their own.
    const latest = this.oneTime.at(-1)?.record.backupId ?? 0;
    const backupId = Math.max(this.context.nowMs(), latest + 1);
    const record: OneTimeBackup = {
      backupId, appId, appName: app.appName, provider: request.backupProviderType, backupPath: request.backupPath ?? '', startTimeMs: backupId, endTimeMs: 0,
      failed: false,
    };
    const run = this.oneTimeRunOf(record);
    try {
      await this.writeAppMetadata(service, run, app);
    } catch (error) {
      log.error({ appId, err: (error as Error).message }, 'writing the app metadata of a backup failed');
      return { err: error instanceof PteronError ? error.code : 'ERR_FS_INTERNAL', hintMessage: `Backup failed: could not backup metadata for app ${appId}.` };
    }
    await this.context.store.create(joinPath(this.oneTimeRoot, String(backupId)), Buffer.from(oneTimeToJson(record)));
    this.oneTime.push({ record, run });
    log.info({ appId, backupId }, 'one-time backup started');
    return {
      err: 'ERR_OK',
      hintMessage: `Backup succeed: metadata of app ${appId} has been successfully backed up and backup request has been sent to replica servers.`,
      backupId: BigInt(backupId),
    };
  }

  /** `RPC_CM_QUERY_BACKUP_STATUS`. */
  queryBackupStatus(appId: number, backupId: bigint | undefined): QueryBackupStatusResponse {
    const items: BackupItem[] = this.oneTime
      .filter(({ record }) => record.appId === appId && (backupId === undefined || BigInt(record.backupId) === backupId))
      .map(({ record }) => ({
        backupId: BigInt(record.backupId), appName: record.appName, backupProviderType: record.provider, backupPath: record.backupPath,
        startTimeMs: BigInt(record.startTimeMs), endTimeMs: BigInt(record.endTimeMs), isBackupFailed: record.failed,
      }));
    if (items.length === 0) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'Backup not found, please check app_id or backup_id.' };
    return { err: 'ERR_OK', hintMessage: `There are ${items.length} available backups for app ${appId}.`, backupItems: items };
  }

  // -------------------------------------------------------------------------------------------
  // driving the backups

  /** Starts the policies' due backups and moves every backup under way on. */
  async tick(): Promise<void> {
    for (const state of [...this.policies.values()]) {
      try {
        await this.tickPolicy(state);
      } catch (error) {
        log.warn({ policy: state.policy.policyName, err: (error as Error).message }, 'backup policy step failed; it is retried');
      }
    }
    for (const backup of this.oneTime) {
      if (backup.run === undefined) continue;
      try {
        await this.tickOneTime(backup, backup.run);
      } catch (error) {
        log.warn({ backupId: backup.record.backupId, err: (error as Error).message }, 'backup step failed; it is retried');
      }
    }
  }

  private async tickPolicy(state: PolicyState): Promise<void> {
    const { policy } = state;
    if (state.current === undefined) {
      if (policy.isDisable || !shouldStartBackup(policy, state.history.at(-1)?.startTimeMs, this.context.nowMs())) return;
      const latest = state.history.at(-1)?.backupId ?? 0;
      const backupId = Math.max(this.context.nowMs(), latest + 1);
      const appNames = new Map(policy.appIds.map((id) => [id, policy.appNames.get(id) ?? this.context.getApp(id)?.appName ?? ''] as const));
      const info: BackupInfo = { backupId, startTimeMs: backupId, endTimeMs: 0, appIds: [...policy.appIds], appNames };
      await this.context.store.create(joinPath(this.policyPath(policy.policyName), String(backupId)), Buffer.from(backupInfoToJson(info)));
      state.current = { info, run: this.runOf(policy, info) };
      log.info({ policy: policy.policyName, backupId }, 'policy backup started');
    }
    const { info, run } = state.current;
    if (!(await this.advance(run))) return;
    const finished: BackupInfo = { ...info, endTimeMs: Math.max(this.context.nowMs(), info.startTimeMs) };
    const service = this.serviceOf(run);
    await service.write(backupPaths.backupInfo(run.root, run.backupId), Buffer.from(backupInfoToJson(finished)));
    await this.context.store.set(joinPath(this.policyPath(policy.policyName), String(info.backupId)), Buffer.from(backupInfoToJson(finished)));
    state.history.push(finished);
    state.current = undefined;
    state.duration.set(finished.endTimeMs - finished.startTimeMs);
    log.info({ policy: policy.policyName, backupId: info.backupId }, 'policy backup finished');
    await this.collectOldBackups(state, service, run.root);
  }

  /** Deletes the oldest backups beyond the policy's history count: their files first, then their record. */
  private async collectOldBackups(state: PolicyState, service: BlockService, root: string): Promise<void> {
    while (state.history.length > Math.max(1, state.policy.backupHistoryCountToKeep)) {
      const oldest = state.history[0]!;
      await service.remove(backupPaths.backup(root, oldest.backupId), true).catch((error: unknown) => {
        if ((error as PteronError).code !== 'ERR_OBJECT_NOT_FOUND') throw error;
      });
      await this.context.store.delete(joinPath(this.policyPath(state.policy.policyName), String(oldest.backupId)), true);
      state.history.shift();
      log.info({ policy: state.policy.policyName, backupId: oldest.backupId }, 'old backup deleted');
    }
  }

  private async tickOneTime(backup: OneTimeState, run: BackupRun): Promise<void> {
    const done = await this.advance(run);
    if (!done && !run.failed) return;
    const record: OneTimeBackup = { ...backup.record };
    if (run.failed) {
      record.failed = true;
    } else {
      const endTimeMs = Math.max(this.context.nowMs(), record.startTimeMs);
      const backupInfo = { backup_id: record.backupId, start_time_ms: record.startTimeMs, end_time_ms: endTimeMs, app_id: record.appId, app_name: record.appName };
      await this.serviceOf(run).write(backupPaths.backupInfo(run.root, run.backupId), Buffer.from(JSON.stringify(backupInfo)));
      record.endTimeMs = endTimeMs;
    }
    await this.context.store.set(joinPath(this.oneTimeRoot, String(record.backupId)), Buffer.from(oneTimeToJson(record)));
    backup.record = record;
    backup.run = undefined;
    log.info({ appId: record.appId, backupId: record.backupId, failed: record.failed }, 'one-time backup finished');
  }

  private serviceOf(run: BackupRun): BlockService {
    const service = this.context.blockServices.get(run.provider);
    if (service === undefined) throw new PteronError('ERR_INVALID_PARAMETERS', `block service ${run.provider} is not configured`);
    return service;
  }

  private async writeAppMetadata(service: BlockService, run: BackupRun, app: AppInfo): Promise<void> {
    // The table's envs are not backed up, as in Pegasus.
    const file = backupPaths.appMetadata(run.root, run.appNames.get(app.appId)!, app.appId, run.backupId);
    await service.write(file, Buffer.from(appInfoToJson({ ...app, envs: {} })));
    run.appMetadataWritten.add(app.appId);
  }

  /** One step of a backup; true once every table of it is finished (or skipped as gone). */
  private async advance(run: BackupRun): Promise<boolean> {
    const service = this.serviceOf(run);
    for (const [appId, appName] of run.appNames) {
      if (run.finishedApps.has(appId)) continue;
      const app = this.context.getApp(appId);
      if (app === undefined || app.status !== 'AS_AVAILABLE') {
        log.warn({ backupId: run.backupId, appId }, 'table of a backup is not available; it is skipped');
        run.finishedApps.add(appId);
        continue;
      }
      if (!run.appMetadataWritten.has(appId)) await this.writeAppMetadata(service, run, app);
      const done = run.partitionsDone(appId);
      for (const config of this.context.partitionsOf(appId)) {
        const key = gpidText(config.gpid);
        if (done.has(config.gpid.partitionIndex) || run.asking.has(key) || config.primary === '') continue;
        run.asking.add(key);
        const request: BackupRequest = {
          pid: config.gpid, policy: { policyName: run.policyName, backupProviderType: run.provider }, appName, backupId: BigInt(run.backupId),
          ...(run.backupPath !== undefined && { backupPath: run.backupPath }),
        };
        void this.ask(run, config.primary, request).finally(() => run.asking.delete(key));
      }
      if (done.size < app.partitionCount) continue;
      const status = { total_checkpoint_size: run.checkpointBytes.get(appId) ?? 0 };
      await service.write(backupPaths.appBackupStatus(run.root, appName, appId, run.backupId), Buffer.from(JSON.stringify(status)));
      run.finishedApps.add(appId);
    }
    return !run.failed && run.finishedApps.size === run.appNames.size;
  }

  private async ask(run: BackupRun, primary: string, request: BackupRequest): Promise<void> {
    let response: BackupResponse;
    try {
      response = await this.context.sendColdBackup(primary, request);
    } catch (error) {
      log.debug({ gpid: gpidText(request.pid), primary, err: (error as Error).message }, 'backup request not answered; it is sent again');
      return;
    }
    const err = response.err as ErrorName;
    if (err === 'ERR_OK' && response.backupId === request.backupId && response.progress >= BACKUP_PROGRESS_FINISHED) {
      run.partitionsDone(request.pid.appId).add(request.pid.partitionIndex);
      run.checkpointBytes.set(request.pid.appId, (run.checkpointBytes.get(request.pid.appId) ?? 0) + Number(response.checkpointTotalSize));
    } else if (err === 'ERR_LOCAL_APP_FAILURE') {
      log.error({ gpid: gpidText(request.pid), primary, backupId: run.backupId }, 'a partition failed to back up');
      // A one-time backup fails with it; a policy's asks again, and the primary starts over.
      if (run.policyName.startsWith(ONE_TIME_POLICY_PREFIX)) run.failed = true;
    }
  }
}
