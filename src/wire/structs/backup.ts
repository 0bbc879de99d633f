// Cold backup and restore structs (idl/backup.thrift): backup policies, one-time backups, the
// meta's backup requests to primaries, and restores.
import type { Gpid } from '../../base/gpid.ts';
import { errorCodeType, gpidType } from './placeholders.ts';
import { boolType, defineStruct, i32Type, i64Type, listOf, setOf, stringType, type StructType } from './types.ts';

export interface PolicyInfo {
  policyName: string;
  backupProviderType: string;
}
export const policyInfoCodec: StructType<PolicyInfo> = defineStruct<PolicyInfo>('policy_info', [
  { id: 1, name: 'policyName', type: stringType },
  { id: 2, name: 'backupProviderType', type: stringType },
]);

export interface ConfigurationRestoreRequest {
  clusterName: string;
  policyName: string;
  /** The backup id. */
  timeStamp: bigint;
  appName: string;
  appId: number;
  newAppName: string;
  backupProviderName: string;
  skipBadPartition: boolean;
  restorePath?: string;
}
export const configurationRestoreRequestCodec: StructType<ConfigurationRestoreRequest> = defineStruct<ConfigurationRestoreRequest>(
  'configuration_restore_request',
  [
    { id: 1, name: 'clusterName', type: stringType },
    { id: 2, name: 'policyName', type: stringType },
    { id: 3, name: 'timeStamp', type: i64Type },
    { id: 4, name: 'appName', type: stringType },
    { id: 5, name: 'appId', type: i32Type },
    { id: 6, name: 'newAppName', type: stringType },
    { id: 7, name: 'backupProviderName', type: stringType },
    { id: 8, name: 'skipBadPartition', type: boolType },
    { id: 9, name: 'restorePath', type: stringType, optional: true },
  ],
);

export interface BackupRequest {
  pid: Gpid;
  policy: PolicyInfo;
  appName: string;
  backupId: bigint;
  backupPath?: string;
}
export const backupRequestCodec: StructType<BackupRequest> = defineStruct<BackupRequest>('backup_request', [
  { id: 1, name: 'pid', type: gpidType },
  { id: 2, name: 'policy', type: policyInfoCodec },
  { id: 3, name: 'appName', type: stringType },
  { id: 4, name: 'backupId', type: i64Type },
  { id: 5, name: 'backupPath', type: stringType, optional: true },
]);

export interface BackupResponse {
  err: string;
  pid: Gpid;
  /** 0..1000. */
  progress: number;
  policyName: string;
  backupId: bigint;
  checkpointTotalSize: bigint;
}
export const backupResponseCodec: StructType<BackupResponse> = defineStruct<BackupResponse>('backup_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'pid', type: gpidType },
  { id: 3, name: 'progress', type: i32Type },
  { id: 4, name: 'policyName', type: stringType },
  { id: 5, name: 'backupId', type: i64Type },
  { id: 6, name: 'checkpointTotalSize', type: i64Type },
]);

export interface ModifyBackupPolicyRequest {
  policyName: string;
  addAppids?: number[];
  removalAppids?: number[];
  newBackupIntervalSec?: bigint;
  backupHistoryCountToKeep?: number;
  isDisable?: boolean;
  startTime?: string;
  forceDisable?: boolean;
}
export const modifyBackupPolicyRequestCodec: StructType<ModifyBackupPolicyRequest> = defineStruct<ModifyBackupPolicyRequest>(
  'configuration_modify_backup_policy_request',
  [
    { id: 1, name: 'policyName', type: stringType },
    { id: 2, name: 'addAppids', type: listOf(i32Type), optional: true },
    { id: 3, name: 'removalAppids', type: listOf(i32Type), optional: true },
    { id: 4, name: 'newBackupIntervalSec', type: i64Type, optional: true },
    { id: 5, name: 'backupHistoryCountToKeep', type: i32Type, optional: true },
    { id: 6, name: 'isDisable', type: boolType, optional: true },
    { id: 7, name: 'startTime', type: stringType, optional: true },
    { id: 8, name: 'forceDisable', type: boolType, optional: true },
  ],
);

/** The response of add and modify backup policy. */
export interface BackupPolicyResponse {
  err: string;
  hintMessage: string;
}
export const modifyBackupPolicyResponseCodec: StructType<BackupPolicyResponse> = defineStruct<BackupPolicyResponse>(
  'configuration_modify_backup_policy_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'hintMessage', type: stringType },
  ],
);

export interface AddBackupPolicyRequest {
  backupProviderType: string;
  policyName: string;
  appIds: number[];
  backupIntervalSeconds: bigint;
  backupHistoryCountToKeep: number;
  startTime: string;
}
export const addBackupPolicyRequestCodec: StructType<AddBackupPolicyRequest> = defineStruct<AddBackupPolicyRequest>(
  'configuration_add_backup_policy_request',
  [
    { id: 1, name: 'backupProviderType', type: stringType },
    { id: 2, name: 'policyName', type: stringType },
    { id: 3, name: 'appIds', type: listOf(i32Type) },
    { id: 4, name: 'backupIntervalSeconds', type: i64Type },
    { id: 5, name: 'backupHistoryCountToKeep', type: i32Type },
    { id: 6, name: 'startTime', type: stringType },
  ],
);
export const addBackupPolicyResponseCodec: StructType<BackupPolicyResponse> = defineStruct<BackupPolicyResponse>(
  'configuration_add_backup_policy_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'hintMessage', type: stringType },
  ],
);

export interface PolicyEntry {
  policyName: string;
  backupProviderType: string;
  backupIntervalSeconds: string;
  appIds: number[];
  backupHistoryCountToKeep: number;
  startTime: string;
  isDisable: boolean;
}
export const policyEntryCodec: StructType<PolicyEntry> = defineStruct<PolicyEntry>('policy_entry', [
  { id: 1, name: 'policyName', type: stringType },
  { id: 2, name: 'backupProviderType', type: stringType },
  { id: 3, name: 'backupIntervalSeconds', type: stringType },
  { id: 4, name: 'appIds', type: setOf(i32Type) },
  { id: 5, name: 'backupHistoryCountToKeep', type: i32Type },
  { id: 6, name: 'startTime', type: stringType },
  { id: 7, name: 'isDisable', type: boolType },
]);

export interface BackupEntry {
  backupId: bigint;
  startTimeMs: bigint;
  endTimeMs: bigint;
  appIds: number[];
}
export const backupEntryCodec: StructType<BackupEntry> = defineStruct<BackupEntry>('backup_entry', [
  { id: 1, name: 'backupId', type: i64Type },
  { id: 2, name: 'startTimeMs', type: i64Type },
  { id: 3, name: 'endTimeMs', type: i64Type },
  { id: 4, name: 'appIds', type: setOf(i32Type) },
]);

export interface QueryBackupPolicyRequest {
  policyNames: string[];
  backupInfoCount: number;
}
export const queryBackupPolicyRequestCodec: StructType<QueryBackupPolicyRequest> = defineStruct<QueryBackupPolicyRequest>(
  'configuration_query_backup_policy_request',
  [
    { id: 1, name: 'policyNames', type: listOf(stringType) },
    { id: 2, name: 'backupInfoCount', type: i32Type },
  ],
);

export interface QueryBackupPolicyResponse {
  err: string;
  policys: PolicyEntry[];
  backupInfos: BackupEntry[][];
  hintMsg?: string;
}
export const queryBackupPolicyResponseCodec: StructType<QueryBackupPolicyResponse> = defineStruct<QueryBackupPolicyResponse>(
  'configuration_query_backup_policy_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'policys', type: listOf(policyEntryCodec) },
    { id: 3, name: 'backupInfos', type: listOf(listOf(backupEntryCodec)) },
    { id: 4, name: 'hintMsg', type: stringType, optional: true },
  ],
);

export interface ReportRestoreStatusRequest {
  pid: Gpid;
  restoreStatus: string;
  /** 0..1000. */
  progress: number;
  reason?: string;
}
export const reportRestoreStatusRequestCodec: StructType<ReportRestoreStatusRequest> = defineStruct<ReportRestoreStatusRequest>(
  'configuration_report_restore_status_request',
  [
    { id: 1, name: 'pid', type: gpidType },
    { id: 2, name: 'restoreStatus', type: errorCodeType },
    { id: 3, name: 'progress', type: i32Type },
    { id: 4, name: 'reason', type: stringType, optional: true },
  ],
);

export interface ReportRestoreStatusResponse {
  err: string;
}
export const reportRestoreStatusResponseCodec: StructType<ReportRestoreStatusResponse> = defineStruct<ReportRestoreStatusResponse>(
  'configuration_report_restore_status_response',
  [{ id: 1, name: 'err', type: errorCodeType }],
);

export interface QueryRestoreRequest {
  restoreAppId: number;
}
export const queryRestoreRequestCodec: StructType<QueryRestoreRequest> = defineStruct<QueryRestoreRequest>(
  'configuration_query_restore_request',
  [{ id: 1, name: 'restoreAppId', type: i32Type }],
);

export interface QueryRestoreResponse {
  err: string;
  restoreStatus: string[];
  restoreProgress: number[];
}
export const queryRestoreResponseCodec: StructType<QueryRestoreResponse> = defineStruct<QueryRestoreResponse>(
  'configuration_query_restore_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'restoreStatus', type: listOf(errorCodeType) },
    { id: 3, name: 'restoreProgress', type: listOf(i32Type) },
  ],
);

export interface StartBackupAppRequest {
  backupProviderType: string;
  appId: number;
  backupPath?: string;
}
export const startBackupAppRequestCodec: StructType<StartBackupAppRequest> = defineStruct<StartBackupAppRequest>(
  'start_backup_app_request',
  [
    { id: 1, name: 'backupProviderType', type: stringType },
    { id: 2, name: 'appId', type: i32Type },
    { id: 3, name: 'backupPath', type: stringType, optional: true },
  ],
);

export interface StartBackupAppResponse {
  err: string;
  hintMessage: string;
  backupId?: bigint;
}
export const startBackupAppResponseCodec: StructType<StartBackupAppResponse> = defineStruct<StartBackupAppResponse>(
  'start_backup_app_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'hintMessage', type: stringType },
    { id: 3, name: 'backupId', type: i64Type, optional: true },
  ],
);

export interface BackupItem {
  backupId: bigint;
  appName: string;
  backupProviderType: string;
  backupPath: string;
  startTimeMs: bigint;
  endTimeMs: bigint;
  isBackupFailed: boolean;
}
export const backupItemCodec: StructType<BackupItem> = defineStruct<BackupItem>('backup_item', [
  { id: 1, name: 'backupId', type: i64Type },
  { id: 2, name: 'appName', type: stringType },
  { id: 3, name: 'backupProviderType', type: stringType },
  { id: 4, name: 'backupPath', type: stringType },
  { id: 5, name: 'startTimeMs', type: i64Type },
  { id: 6, name: 'endTimeMs', type: i64Type },
  { id: 7, name: 'isBackupFailed', type: boolType },
]);

export interface QueryBackupStatusRequest {
  appId: number;
  backupId?: bigint;
}
export const queryBackupStatusRequestCodec: StructType<QueryBackupStatusRequest> = defineStruct<QueryBackupStatusRequest>(
  'query_backup_status_request',
  [
    { id: 1, name: 'appId', type: i32Type },
    { id: 2, name: 'backupId', type: i64Type, optional: true },
  ],
);

export interface QueryBackupStatusResponse {
  err: string;
  hintMessage: string;
  backupItems?: BackupItem[];
}
export const queryBackupStatusResponseCodec: StructType<QueryBackupStatusResponse> = defineStruct<QueryBackupStatusResponse>(
  'query_backup_status_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'hintMessage', type: stringType },
    { id: 3, name: 'backupItems', type: listOf(backupItemCodec), optional: true },
  ],
);
