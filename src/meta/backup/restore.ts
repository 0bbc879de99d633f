// restore_app on the meta (Pegasus's server_state_restore.cpp): reads the backed-up table's
// app_metadata from the block service and creates a new table of its shape, under a new id and
// the new name, carrying the `restore.*` envs that tell its first primaries where their data is
// (replica/restore.ts). The primaries report how their partition went; query_restore_status
// answers from those reports and the partitions' configurations.
import { log, PteronError, type ErrorName } from '../../base/index.ts';
import type { BlockServiceRegistry } from '../../block/index.ts';
import { BACKUP_PROGRESS_FINISHED, RESTORE_ENVS, appInfoFromJson, backupPaths, restoreRootOf, type AppInfo, type PartitionConfiguration } from '../../cluster/index.ts';
import type { ConfigurationRestoreRequest, QueryRestoreResponse, ReportRestoreStatusRequest } from '../../wire/index.ts';
import type { CreateAppRequest } from '../table-ddl.ts';

export interface RestoreContext {
  readonly blockServices: BlockServiceRegistry;
  getApp(appId: number): AppInfo | undefined;
  findApp(name: string): AppInfo | undefined;
  partitionsOf(appId: number): PartitionConfiguration[];
  createApp(request: CreateAppRequest): Promise<{ err: ErrorName; appId: number }>;
}

interface PartitionReport {
  status: string;
  progress: number;
  reason: string;
}

export class Restores {
  /** By table id, by partition index: what its primary reported. Lost on failover, as in Pegasus. */
  private readonly reports = new Map<number, Map<number, PartitionReport>>();

  constructor(private readonly context: RestoreContext) {}

  /** `RPC_CM_START_RESTORE`: answered as a create_app is, with the new table's id. */
  async start(request: ConfigurationRestoreRequest): Promise<{ err: ErrorName; appid: number }> {
    const fail = (err: ErrorName, why: string): { err: ErrorName; appid: number } => {
      log.warn({ app: request.appName, backupId: String(request.timeStamp), err }, `restore refused: ${why}`);
      return { err, appid: -1 };
    };
    const service = this.context.blockServices.get(request.backupProviderName);
    if (service === undefined) return fail('ERR_INVALID_PARAMETERS', `block service ${request.backupProviderName} is not configured`);
    const root = restoreRootOf(request.clusterName, request.policyName, request.restorePath);
    const file = backupPaths.appMetadata(root, request.appName, request.appId, request.timeStamp);
    let backedUp: AppInfo;
    try {
      backedUp = appInfoFromJson((await service.read(file)).toString('utf8'));
    } catch (error) {
      if (error instanceof PteronError) return fail(error.code, `${file}: ${error.message}`);
      return fail('ERR_CORRUPTION', `${file}: ${(error as Error).message}`);
    }
    if (backedUp.appId !== request.appId || backedUp.appName !== request.appName) {
      return fail('ERR_INVALID_PARAMETERS', `${file} holds table ${backedUp.appName}(${backedUp.appId})`);
    }
    const newName = request.newAppName === '' ? request.appName : request.newAppName;
    if (this.context.findApp(newName) !== undefined) return fail('ERR_INVALID_PARAMETERS', `table ${newName} already exists`);
    const metaEnvs: Record<string, string> = {
      [RESTORE_ENVS.provider]: request.backupProviderName,
      [RESTORE_ENVS.clusterName]: request.clusterName,
      [RESTORE_ENVS.policyName]: request.policyName,
      [RESTORE_ENVS.appName]: request.appName,
      [RESTORE_ENVS.appId]: String(request.appId),
      [RESTORE_ENVS.backupId]: String(request.timeStamp),
      ...(request.skipBadPartition && { [RESTORE_ENVS.skipBadPartition]: 'true' }),
      ...(request.restorePath !== undefined && { [RESTORE_ENVS.restorePath]: request.restorePath }),
    };
    const created = await this.context.createApp({
      appName: newName, partitionCount: backedUp.partitionCount, replicaCount: backedUp.maxReplicaCount, appType: backedUp.appType,
      isStateful: backedUp.isStateful, atomicIdempotent: backedUp.atomicIdempotent, metaEnvs,
    });
    if (created.err === 'ERR_OK') log.info({ from: `${request.appName}(${request.appId})`, to: newName, appId: created.appId }, 'table restored from a backup');
    return { err: created.err, appid: created.err === 'ERR_OK' ? created.appId : -1 };
  }

  /** `RPC_CM_REPORT_RESTORE_STATUS` from a restored partition's primary. Progress never goes back. */
  report(request: ReportRestoreStatusRequest): { err: ErrorName } {
    if (this.context.getApp(request.pid.appId) === undefined) return { err: 'ERR_OBJECT_NOT_FOUND' };
    let partitions = this.reports.get(request.pid.appId);
    if (!partitions) this.reports.set(request.pid.appId, (partitions = new Map()));
    const previous = partitions.get(request.pid.partitionIndex);
    partitions.set(request.pid.partitionIndex, {
      status: request.restoreStatus,
      progress: Math.max(previous?.progress ?? 0, request.progress),
      reason: request.reason ?? previous?.reason ?? '',
    });
    return { err: 'ERR_OK' };
  }

  /**
   * `RPC_CM_QUERY_RESTORE_STATUS`: per partition its status and progress (0..1000). A partition
   * whose primary reported is as reported; one without a report counts as restored once it has
   * secondaries (they learn only from a primary that has restored).
   */
  query(appId: number): QueryRestoreResponse {
    const app = this.context.getApp(appId);
    if (app === undefined) return { err: 'ERR_APP_NOT_EXIST', restoreStatus: [], restoreProgress: [] };
    if (app.status === 'AS_DROPPED') return { err: 'ERR_APP_DROPPED', restoreStatus: [], restoreProgress: [] };
    const reports = this.reports.get(appId);
    const configs = this.context.partitionsOf(appId);
    const restoreStatus: string[] = [];
    const restoreProgress: number[] = [];
    for (let index = 0; index < app.partitionCount; index++) {
      const report = reports?.get(index);
      const serving = (configs[index]?.secondaries.length ?? 0) > 0;
      restoreStatus.push(report?.status ?? 'ERR_OK');
      restoreProgress.push(report?.progress ?? (serving ? BACKUP_PROGRESS_FINISHED : 0));
    }
    return { err: 'ERR_OK', restoreStatus, restoreProgress };
  }
}
