// Manual compaction, the meta's part (Pegasus's server_state::on_start_manual_compact and
// on_query_manual_compact_status, app_state_helper's manual-compact progress): a start writes the
// `manual_compact.once.*` envs of a table, which reach its replicas with the other envs (config
// sync, proposals), and forgets what the members last reported; each member then reports its
// status (idle, queuing, running, finished) in its config sync, and a query sums those up into a
// progress. `/meta/app/start_compaction` (http.ts) writes its envs through the app-env update
// instead, validated, and does not touch the reports.
import { assert } from '../base/index.ts';
import type { AppInfo, ManualCompactStatus } from '../cluster/model.ts';
import type { MetaResult } from './table-ddl.ts';
import type { MetaTables } from './tables.ts';

/** The table envs a manual compaction is driven by (Pegasus's replica_envs). */
export const MANUAL_COMPACT_ENVS = Object.freeze({
  disabled: 'manual_compact.disabled',
  maxConcurrentRunningCount: 'manual_compact.max_concurrent_running_count',
  onceTriggerTime: 'manual_compact.once.trigger_time',
  onceTargetLevel: 'manual_compact.once.target_level',
  onceBottommost: 'manual_compact.once.bottommost_level_compaction',
  periodicTriggerTime: 'manual_compact.periodic.trigger_time',
  periodicTargetLevel: 'manual_compact.periodic.target_level',
  periodicBottommost: 'manual_compact.periodic.bottommost_level_compaction',
});

/** `start_app_manual_compact_request`: a compaction started once; absent fields take Pegasus's defaults. */
export interface StartManualCompactRequest {
  appName: string;
  /** Unix seconds; default now. */
  triggerTime?: bigint;
  /** Default -1 (the level the data is in). */
  targetLevel?: number;
  /** Compact the bottommost level too ("force"); default false ("skip"). */
  bottommost?: boolean;
  /** 0 or absent: no limit. */
  maxRunningCount?: number;
}

export interface ManualCompactStatusResult extends MetaResult {
  /** 0–100, on success only. */
  progress?: number;
}

/**
 * The envs a start writes, in Pegasus's order, or the refusal of a bad request. Unlike the
 * HTTP call, the RPC does not pass them through the env validator (a target level of 0 is
 * written as it is).
 */
export function onceCompactionEnvs(
  request: Omit<StartManualCompactRequest, 'appName'>, nowSeconds: number,
): { envs: Array<[string, string]> } | MetaResult {
  const targetLevel = request.targetLevel ?? -1;
  if (targetLevel < -1) {
    return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `invalid target_level(${targetLevel}), should in range of [-1, num_levels]` };
  }
  const envs: Array<[string, string]> = [[MANUAL_COMPACT_ENVS.onceTargetLevel, String(targetLevel)]];
  const maxRunningCount = request.maxRunningCount;
  if (maxRunningCount !== undefined) {
    if (maxRunningCount < 0) {
      return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `invalid max_running_count(${maxRunningCount}), should be greater than 0` };
    }
    if (maxRunningCount > 0) envs.push([MANUAL_COMPACT_ENVS.maxConcurrentRunningCount, String(maxRunningCount)]);
  }
  envs.push([MANUAL_COMPACT_ENVS.onceBottommost, request.bottommost ? 'force' : 'skip']);
  envs.push([MANUAL_COMPACT_ENVS.onceTriggerTime, String(request.triggerTime ?? BigInt(nowSeconds))]);
  return { envs };
}

/**
 * A table's progress in percent from its members' statuses: finished replicas over every replica
 * the table should have (members that have not reported count as not finished). Undefined when
 * every replica is idle: no manual compaction is going on.
 */
export function manualCompactProgress(
  partitionCount: number, maxReplicaCount: number, statuses: Iterable<ManualCompactStatus>,
): number | undefined {
  const replicaCount = partitionCount * maxReplicaCount;
  assert(replicaCount > 0, `a table of ${partitionCount} partitions and ${maxReplicaCount} replicas`);
  let idle = 0;
  let finished = 0;
  for (const status of statuses) {
    if (status === 'IDLE') idle++;
    else if (status === 'FINISHED') finished++;
  }
  if (idle === replicaCount) return undefined;
  return Math.floor((finished * 100) / replicaCount);
}

/** What manual compaction needs from the rest of the meta. */
export interface ManualCompactionContext {
  readonly tables: MetaTables;
  nowSeconds(): number;
  /** Writes a table with these envs to the store, then applies them (table-ddl.ts). */
  writeAppEnvs(app: AppInfo, envs: Record<string, string>): Promise<void>;
}

export class ManualCompaction {
  private readonly tables: MetaTables;

  constructor(private readonly context: ManualCompactionContext) {
    this.tables = context.tables;
  }

  /** The table holding `appName`, or the refusal both requests answer when it is missing or not available. */
  private availableApp(appName: string): AppInfo | MetaResult {
    const appId = this.tables.appIdsByName.get(appName);
    const app = appId === undefined ? undefined : this.tables.appsById.get(appId);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', hintMessage: `app ${appName} is not existed` };
    if (app.status !== 'AS_AVAILABLE') return { err: 'ERR_APP_DROPPED', hintMessage: `app ${appName} is not available` };
    return app;
  }

  /** `RPC_CM_START_MANUAL_COMPACT`; assumes the caller holds the serial queue. */
  async start(request: StartManualCompactRequest): Promise<MetaResult> {
    const app = this.availableApp(request.appName);
    if ('err' in app) return app;
    if (app.envs[MANUAL_COMPACT_ENVS.disabled] === 'true') {
      return { err: 'ERR_OPERATION_DISABLED', hintMessage: `app ${request.appName} disable manual compaction` };
    }
    const parsed = onceCompactionEnvs(request, this.context.nowSeconds());
    if ('err' in parsed) return parsed;
    await this.context.writeAppEnvs(app, { ...app.envs, ...Object.fromEntries(parsed.envs) });
    // What the members reported belongs to the compaction before: until they report again, idle.
    for (const config of this.tables.partitions.get(app.appId) ?? []) {
      for (const report of this.tables.context(config.gpid).memberReports.values()) report.manualCompactStatus = 'IDLE';
    }
    return { err: 'ERR_OK', hintMessage: 'succeed' };
  }

  /** `RPC_CM_QUERY_MANUAL_COMPACT_STATUS`. */
  queryStatus(appName: string): ManualCompactStatusResult {
    const app = this.availableApp(appName);
    if ('err' in app) return app;
    const statuses: ManualCompactStatus[] = [];
    for (const config of this.tables.partitions.get(app.appId) ?? []) {
      for (const report of this.tables.context(config.gpid).memberReports.values()) statuses.push(report.manualCompactStatus);
    }
    const progress = manualCompactProgress(app.partitionCount, app.maxReplicaCount, statuses);
    if (progress === undefined) return { err: 'ERR_INVALID_STATE', hintMessage: `app ${appName} is not manual compaction` };
    return { err: 'ERR_OK', hintMessage: 'succeed', progress };
  }
}
