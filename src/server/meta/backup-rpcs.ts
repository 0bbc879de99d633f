// The cold backup and restore RPCs of the primary meta (idl/backup.thrift). While cold backup is
// disabled (`[meta_server] cold_backup_disabled`, true by default as in Pegasus) the backup RPCs
// answer ERR_SERVICE_NOT_ACTIVE; restores work either way.
import type { ErrorName } from '../../base/index.ts';
import type { ColdBackupService } from '../../meta/backup/backup-service.ts';
import type { MetaServerState } from '../../meta/server-state.ts';
import type { RpcServer } from '../../net/index.ts';
import { RPCS, type QueryBackupPolicyResponse, type QueryBackupStatusResponse } from '../../wire/index.ts';
import { registerPrimaryRpc, type Standing } from './primary-rpc.ts';

const NOT_ACTIVE: ErrorName = 'ERR_SERVICE_NOT_ACTIVE';

export function registerBackupRpcs(rpc: RpcServer, standing: () => Standing): void {
  /** The backup service, or a refusal when it is disabled. */
  const withBackups = <R>(state: MetaServerState, refuse: () => R, work: (backups: ColdBackupService) => R | Promise<R>): R | Promise<R> => {
    const backups = state.coldBackup;
    return backups === undefined ? refuse() : work(backups);
  };
  registerPrimaryRpc(rpc, RPCS.RPC_CM_ADD_BACKUP_POLICY, standing, (err) => ({ err, hintMessage: '' }), (request, state) =>
    withBackups(state, () => ({ err: NOT_ACTIVE, hintMessage: '' }), (backups) => backups.addPolicy(request)));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_QUERY_BACKUP_POLICY, standing, (err) => ({ err, policys: [], backupInfos: [] }), (request, state) =>
    withBackups<QueryBackupPolicyResponse>(state, () => ({ err: NOT_ACTIVE, policys: [], backupInfos: [] }), (backups) =>
      backups.queryPolicies(request.policyNames, request.backupInfoCount)));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_MODIFY_BACKUP_POLICY, standing, (err) => ({ err, hintMessage: '' }), (request, state) =>
    withBackups(state, () => ({ err: NOT_ACTIVE, hintMessage: '' }), (backups) => backups.modifyPolicy(request)));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_START_BACKUP_APP, standing, (err) => ({ err, hintMessage: '' }), (request, state) =>
    withBackups(state, () => ({ err: NOT_ACTIVE, hintMessage: 'meta doesn\'t enable backup service' }), (backups) => backups.startBackupApp(request)));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_QUERY_BACKUP_STATUS, standing, (err) => ({ err, hintMessage: '' }), (request, state) =>
    withBackups<QueryBackupStatusResponse>(state, () => ({ err: NOT_ACTIVE, hintMessage: 'meta doesn\'t enable backup service' }), (backups) =>
      backups.queryBackupStatus(request.appId, request.backupId)));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_START_RESTORE, standing, (err) => ({ err, appid: -1 }), (request, state) => state.startRestore(request));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_QUERY_RESTORE_STATUS, standing, (err) => ({ err, restoreStatus: [], restoreProgress: [] }), (request, state) =>
    state.queryRestoreStatus(request.restoreAppId));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_REPORT_RESTORE_STATUS, standing, (err) => ({ err }), (request, state) => state.reportRestoreStatus(request));
}
