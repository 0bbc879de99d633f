// Meta-server structs: routing (idl/dsn.layer2.thrift) and table/node administration
// (idl/meta_admin.thrift), spec pegasus-arch §1.9. Every meta response carries its
// meta-level error as field 1 `err` (an error_code placeholder: the error name).
import type { Gpid } from '../../base/gpid.ts';
import type { HostPort } from '../../base/host-port.ts';
import { errorCodeType, gpidType, hostPortType, rpcAddressType } from './placeholders.ts';
import { boolType, defineStruct, i32Type, i64Type, listOf, mapOf, stringType, type StructType } from './types.ts';

export enum AppStatus {
  AS_INVALID = 0,
  AS_AVAILABLE = 1,
  AS_CREATING = 2,
  /** Deprecated. */
  AS_CREATE_FAILED = 3,
  AS_DROPPING = 4,
  /** Deprecated. */
  AS_DROP_FAILED = 5,
  AS_DROPPED = 6,
  AS_RECALLING = 7,
}

export enum NodeStatus {
  NS_INVALID = 0,
  NS_ALIVE = 1,
  NS_UNALIVE = 2,
}

export enum AppEnvOperation {
  APP_ENV_OP_INVALID = 0,
  APP_ENV_OP_SET = 1,
  APP_ENV_OP_DEL = 2,
  APP_ENV_OP_CLEAR = 3,
}

/** idl/utils.thrift: how list_apps matches `app_name_pattern`. */
export enum PatternMatchType {
  PMT_INVALID = 0,
  PMT_MATCH_ALL = 1,
  PMT_MATCH_EXACT = 2,
  PMT_MATCH_ANYWHERE = 3,
  PMT_MATCH_PREFIX = 4,
  PMT_MATCH_POSTFIX = 5,
  PMT_MATCH_REGEX = 6,
}

export enum MetaFunctionLevel {
  fl_stopped = 100,
  fl_blind = 200,
  fl_freezed = 300,
  fl_steady = 400,
  fl_lively = 500,
  fl_invalid = 10000,
}

export enum ConfigType {
  CT_INVALID = 0,
  CT_ASSIGN_PRIMARY = 1,
  CT_UPGRADE_TO_PRIMARY = 2,
  CT_ADD_SECONDARY = 3,
  CT_UPGRADE_TO_SECONDARY = 4,
  CT_DOWNGRADE_TO_SECONDARY = 5,
  CT_DOWNGRADE_TO_INACTIVE = 6,
  CT_REMOVE = 7,
  CT_ADD_SECONDARY_FOR_LB = 8,
  CT_PRIMARY_FORCE_UPDATE_BALLOT = 9,
  CT_DROP_PARTITION = 10,
  CT_REGISTER_CHILD = 11,
}

export enum BalancerRequestType {
  move_primary = 0,
  copy_primary = 1,
  copy_secondary = 2,
}

// ---------------------------------------------------------------------------------------------
// Routing

export interface PartitionConfiguration {
  pid: Gpid;
  ballot: bigint;
  maxReplicaCount: number;
  /** Clients route by this IPv4 address. */
  primary: HostPort;
  secondaries: HostPort[];
  lastDrops: HostPort[];
  lastCommittedDecree: bigint;
  partitionFlags: number;
  /** The host_port twins of primary/secondaries/lastDrops; the reference server always fills them. */
  hpPrimary?: HostPort;
  hpSecondaries?: HostPort[];
  hpLastDrops?: HostPort[];
}
export const partitionConfigurationCodec: StructType<PartitionConfiguration> = defineStruct<PartitionConfiguration>('partition_configuration', [
  { id: 1, name: 'pid', type: gpidType },
  { id: 2, name: 'ballot', type: i64Type },
  { id: 3, name: 'maxReplicaCount', type: i32Type },
  { id: 4, name: 'primary', type: rpcAddressType },
  { id: 5, name: 'secondaries', type: listOf(rpcAddressType) },
  { id: 6, name: 'lastDrops', type: listOf(rpcAddressType) },
  { id: 7, name: 'lastCommittedDecree', type: i64Type },
  { id: 8, name: 'partitionFlags', type: i32Type },
  { id: 9, name: 'hpPrimary', type: hostPortType, optional: true },
  { id: 10, name: 'hpSecondaries', type: listOf(hostPortType), optional: true },
  { id: 11, name: 'hpLastDrops', type: listOf(hostPortType), optional: true },
]);

export interface QueryCfgRequest {
  appName: string;
  /** Empty: all partitions. (Go and Java send an empty list; Node.js omits the field.) */
  partitionIndices: number[];
}
export const queryCfgRequestCodec: StructType<QueryCfgRequest> = defineStruct<QueryCfgRequest>('query_cfg_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'partitionIndices', type: listOf(i32Type) },
]);

export interface QueryCfgResponse {
  /** ERR_FORWARD_TO_OTHERS from a non-leader: partitions[0].primary then names the leader. */
  err: string;
  appId: number;
  partitionCount: number;
  isStateful: boolean;
  partitions: PartitionConfiguration[];
}
export const queryCfgResponseCodec: StructType<QueryCfgResponse> = defineStruct<QueryCfgResponse>('query_cfg_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'appId', type: i32Type },
  { id: 3, name: 'partitionCount', type: i32Type },
  { id: 4, name: 'isStateful', type: boolType },
  { id: 5, name: 'partitions', type: listOf(partitionConfigurationCodec) },
]);

export interface AppInfo {
  status: AppStatus;
  /** "pegasus". */
  appType: string;
  appName: string;
  appId: number;
  partitionCount: number;
  envs: Map<string, string>;
  isStateful: boolean;
  maxReplicaCount: number;
  /** Seconds since the Unix epoch after which a dropped table is gone for good. */
  expireSecond: bigint;
  createSecond: bigint;
  dropSecond: bigint;
  duplicating?: boolean;
  /** -1 unless set by partition split. */
  initPartitionCount: number;
  isBulkLoading?: boolean;
  atomicIdempotent?: boolean;
}
export const appInfoCodec: StructType<AppInfo> = defineStruct<AppInfo>('app_info', [
  { id: 1, name: 'status', type: i32Type },
  { id: 2, name: 'appType', type: stringType },
  { id: 3, name: 'appName', type: stringType },
  { id: 4, name: 'appId', type: i32Type },
  { id: 5, name: 'partitionCount', type: i32Type },
  { id: 6, name: 'envs', type: mapOf(stringType, stringType) },
  { id: 7, name: 'isStateful', type: boolType },
  { id: 8, name: 'maxReplicaCount', type: i32Type },
  { id: 9, name: 'expireSecond', type: i64Type },
  { id: 10, name: 'createSecond', type: i64Type },
  { id: 11, name: 'dropSecond', type: i64Type },
  { id: 12, name: 'duplicating', type: boolType, optional: true },
  { id: 13, name: 'initPartitionCount', type: i32Type, defaultValue: () => -1 },
  { id: 14, name: 'isBulkLoading', type: boolType, optional: true },
  { id: 15, name: 'atomicIdempotent', type: boolType, optional: true },
]);

// ---------------------------------------------------------------------------------------------
// Table DDL

export interface CreateAppOptions {
  partitionCount: number;
  replicaCount: number;
  successIfExist: boolean;
  appType: string;
  isStateful: boolean;
  envs: Map<string, string>;
  atomicIdempotent?: boolean;
}
export const createAppOptionsCodec: StructType<CreateAppOptions> = defineStruct<CreateAppOptions>('create_app_options', [
  { id: 1, name: 'partitionCount', type: i32Type },
  { id: 2, name: 'replicaCount', type: i32Type },
  { id: 3, name: 'successIfExist', type: boolType },
  { id: 4, name: 'appType', type: stringType },
  { id: 5, name: 'isStateful', type: boolType },
  { id: 6, name: 'envs', type: mapOf(stringType, stringType) },
  { id: 7, name: 'atomicIdempotent', type: boolType, optional: true },
]);

export interface CreateAppRequest {
  appName: string;
  options: CreateAppOptions;
}
export const createAppRequestCodec: StructType<CreateAppRequest> = defineStruct<CreateAppRequest>('configuration_create_app_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'options', type: createAppOptionsCodec },
]);

export interface CreateAppResponse {
  err: string;
  appid: number;
}
export const createAppResponseCodec: StructType<CreateAppResponse> = defineStruct<CreateAppResponse>('configuration_create_app_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'appid', type: i32Type },
]);

export interface DropAppOptions {
  successIfNotExist: boolean;
  reserveSeconds?: bigint;
}
export const dropAppOptionsCodec: StructType<DropAppOptions> = defineStruct<DropAppOptions>('drop_app_options', [
  { id: 1, name: 'successIfNotExist', type: boolType },
  { id: 2, name: 'reserveSeconds', type: i64Type, optional: true },
]);

export interface DropAppRequest {
  appName: string;
  options: DropAppOptions;
}
export const dropAppRequestCodec: StructType<DropAppRequest> = defineStruct<DropAppRequest>('configuration_drop_app_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'options', type: dropAppOptionsCodec },
]);

export interface ErrResponse {
  err: string;
}
function errOnlyStruct(name: string): StructType<ErrResponse> {
  return defineStruct<ErrResponse>(name, [{ id: 1, name: 'err', type: errorCodeType }]);
}

export type DropAppResponse = ErrResponse;
export const dropAppResponseCodec = errOnlyStruct('configuration_drop_app_response');

export interface RecallAppRequest {
  appId: number;
  /** Empty keeps the old name. */
  newAppName: string;
}
export const recallAppRequestCodec: StructType<RecallAppRequest> = defineStruct<RecallAppRequest>('configuration_recall_app_request', [
  { id: 1, name: 'appId', type: i32Type },
  { id: 2, name: 'newAppName', type: stringType },
]);

export interface RecallAppResponse {
  err: string;
  info: AppInfo;
}
export const recallAppResponseCodec: StructType<RecallAppResponse> = defineStruct<RecallAppResponse>('configuration_recall_app_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'info', type: appInfoCodec },
]);

export interface RenameAppRequest {
  oldAppName: string;
  newAppName: string;
}
export const renameAppRequestCodec: StructType<RenameAppRequest> = defineStruct<RenameAppRequest>('configuration_rename_app_request', [
  { id: 1, name: 'oldAppName', type: stringType },
  { id: 2, name: 'newAppName', type: stringType },
]);

export interface HintResponse {
  err: string;
  hintMessage: string;
}
function errHintStruct(name: string): StructType<HintResponse> {
  return defineStruct<HintResponse>(name, [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'hintMessage', type: stringType },
  ]);
}

export type RenameAppResponse = HintResponse;
export const renameAppResponseCodec = errHintStruct('configuration_rename_app_response');

export interface ListAppsRequest {
  /** AS_INVALID lists tables in every state. */
  status: AppStatus;
  appNamePattern?: string;
  matchType?: PatternMatchType;
}
export const listAppsRequestCodec: StructType<ListAppsRequest> = defineStruct<ListAppsRequest>('configuration_list_apps_request', [
  { id: 1, name: 'status', type: i32Type },
  { id: 2, name: 'appNamePattern', type: stringType, optional: true },
  { id: 3, name: 'matchType', type: i32Type, optional: true },
]);

export interface ListAppsResponse {
  err: string;
  infos: AppInfo[];
  hintMessage?: string;
}
export const listAppsResponseCodec: StructType<ListAppsResponse> = defineStruct<ListAppsResponse>('configuration_list_apps_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'infos', type: listOf(appInfoCodec) },
  { id: 3, name: 'hintMessage', type: stringType, optional: true },
]);

export interface QueryAppInfoRequest {
  metaServer: HostPort;
  hpMetaServer?: HostPort;
}
export const queryAppInfoRequestCodec: StructType<QueryAppInfoRequest> = defineStruct<QueryAppInfoRequest>('query_app_info_request', [
  { id: 1, name: 'metaServer', type: rpcAddressType },
  { id: 2, name: 'hpMetaServer', type: hostPortType, optional: true },
]);

export interface QueryAppInfoResponse {
  err: string;
  apps: AppInfo[];
}
export const queryAppInfoResponseCodec: StructType<QueryAppInfoResponse> = defineStruct<QueryAppInfoResponse>('query_app_info_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'apps', type: listOf(appInfoCodec) },
]);

// ---------------------------------------------------------------------------------------------
// App envs

export interface UpdateAppEnvRequest {
  appName: string;
  op: AppEnvOperation;
  /** SET and DEL. */
  keys?: string[];
  /** SET only, parallel to keys. */
  values?: string[];
  /** CLEAR only: empty clears every env, else the envs named `<clearPrefix>.…`. */
  clearPrefix?: string;
}
export const updateAppEnvRequestCodec: StructType<UpdateAppEnvRequest> = defineStruct<UpdateAppEnvRequest>('configuration_update_app_env_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'op', type: i32Type },
  { id: 3, name: 'keys', type: listOf(stringType), optional: true },
  { id: 4, name: 'values', type: listOf(stringType), optional: true },
  { id: 5, name: 'clearPrefix', type: stringType, optional: true },
]);

export type UpdateAppEnvResponse = HintResponse;
export const updateAppEnvResponseCodec = errHintStruct('configuration_update_app_env_response');

// ---------------------------------------------------------------------------------------------
// Nodes and cluster

export interface NodeInfo {
  status: NodeStatus;
  node: HostPort;
  hpNode?: HostPort;
}
export const nodeInfoCodec: StructType<NodeInfo> = defineStruct<NodeInfo>('node_info', [
  { id: 1, name: 'status', type: i32Type },
  { id: 2, name: 'node', type: rpcAddressType },
  { id: 3, name: 'hpNode', type: hostPortType, optional: true },
]);

export interface ListNodesRequest {
  /** NS_INVALID lists every node. */
  status: NodeStatus;
}
export const listNodesRequestCodec: StructType<ListNodesRequest> = defineStruct<ListNodesRequest>('configuration_list_nodes_request', [
  { id: 1, name: 'status', type: i32Type },
]);

export interface ListNodesResponse {
  err: string;
  infos: NodeInfo[];
}
export const listNodesResponseCodec: StructType<ListNodesResponse> = defineStruct<ListNodesResponse>('configuration_list_nodes_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'infos', type: listOf(nodeInfoCodec) },
]);

export type ClusterInfoRequest = Record<string, never>;
export const clusterInfoRequestCodec: StructType<ClusterInfoRequest> = defineStruct<ClusterInfoRequest>('configuration_cluster_info_request', []);

export interface ClusterInfoResponse {
  err: string;
  keys: string[];
  /** Parallel to keys. */
  values: string[];
}
export const clusterInfoResponseCodec: StructType<ClusterInfoResponse> = defineStruct<ClusterInfoResponse>('configuration_cluster_info_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'keys', type: listOf(stringType) },
  { id: 3, name: 'values', type: listOf(stringType) },
]);

// ---------------------------------------------------------------------------------------------
// Meta control and balancing

export interface MetaControlRequest {
  level: MetaFunctionLevel;
}
export const metaControlRequestCodec: StructType<MetaControlRequest> = defineStruct<MetaControlRequest>('configuration_meta_control_request', [
  { id: 1, name: 'level', type: i32Type },
]);

export interface MetaControlResponse {
  err: string;
  oldLevel: MetaFunctionLevel;
}
export const metaControlResponseCodec: StructType<MetaControlResponse> = defineStruct<MetaControlResponse>('configuration_meta_control_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'oldLevel', type: i32Type },
]);

export interface ProposalAction {
  target: HostPort;
  node: HostPort;
  type: ConfigType;
  // Field 4 (period_ts) was removed; new fields start at 5.
  hpTarget?: HostPort;
  hpNode?: HostPort;
}
export const proposalActionCodec: StructType<ProposalAction> = defineStruct<ProposalAction>('configuration_proposal_action', [
  { id: 1, name: 'target', type: rpcAddressType },
  { id: 2, name: 'node', type: rpcAddressType },
  { id: 3, name: 'type', type: i32Type },
  { id: 5, name: 'hpTarget', type: hostPortType, optional: true },
  { id: 6, name: 'hpNode', type: hostPortType, optional: true },
]);

export interface BalancerRequest {
  gpid: Gpid;
  actionList: ProposalAction[];
  force?: boolean;
  balanceType?: BalancerRequestType;
}
export const balancerRequestCodec: StructType<BalancerRequest> = defineStruct<BalancerRequest>('configuration_balancer_request', [
  { id: 1, name: 'gpid', type: gpidType },
  { id: 2, name: 'actionList', type: listOf(proposalActionCodec) },
  { id: 3, name: 'force', type: boolType, optional: true },
  { id: 4, name: 'balanceType', type: i32Type, optional: true },
]);

export type BalancerResponse = ErrResponse;
export const balancerResponseCodec = errOnlyStruct('configuration_balancer_response');

// ---------------------------------------------------------------------------------------------
// Per-table settings

export interface AppNameRequest {
  appName: string;
}
export function appNameStruct(name: string): StructType<AppNameRequest> {
  return defineStruct<AppNameRequest>(name, [{ id: 1, name: 'appName', type: stringType }]);
}

export type GetMaxReplicaCountRequest = AppNameRequest;
export const getMaxReplicaCountRequestCodec = appNameStruct('configuration_get_max_replica_count_request');

export interface GetMaxReplicaCountResponse {
  err: string;
  maxReplicaCount: number;
  hintMessage: string;
}
export const getMaxReplicaCountResponseCodec: StructType<GetMaxReplicaCountResponse> = defineStruct<GetMaxReplicaCountResponse>(
  'configuration_get_max_replica_count_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'maxReplicaCount', type: i32Type },
    { id: 3, name: 'hintMessage', type: stringType },
  ],
);

export interface SetMaxReplicaCountRequest {
  appName: string;
  maxReplicaCount: number;
}
export const setMaxReplicaCountRequestCodec: StructType<SetMaxReplicaCountRequest> = defineStruct<SetMaxReplicaCountRequest>(
  'configuration_set_max_replica_count_request',
  [
    { id: 1, name: 'appName', type: stringType },
    { id: 2, name: 'maxReplicaCount', type: i32Type },
  ],
);

export interface SetMaxReplicaCountResponse {
  err: string;
  oldMaxReplicaCount: number;
  hintMessage: string;
}
export const setMaxReplicaCountResponseCodec: StructType<SetMaxReplicaCountResponse> = defineStruct<SetMaxReplicaCountResponse>(
  'configuration_set_max_replica_count_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'oldMaxReplicaCount', type: i32Type },
    { id: 3, name: 'hintMessage', type: stringType },
  ],
);

export type GetAtomicIdempotentRequest = AppNameRequest;
export const getAtomicIdempotentRequestCodec = appNameStruct('configuration_get_atomic_idempotent_request');

export interface GetAtomicIdempotentResponse {
  err: string;
  atomicIdempotent: boolean;
  hintMessage: string;
}
export const getAtomicIdempotentResponseCodec: StructType<GetAtomicIdempotentResponse> = defineStruct<GetAtomicIdempotentResponse>(
  'configuration_get_atomic_idempotent_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'atomicIdempotent', type: boolType },
    { id: 3, name: 'hintMessage', type: stringType },
  ],
);

export interface SetAtomicIdempotentRequest {
  appName: string;
  atomicIdempotent: boolean;
}
export const setAtomicIdempotentRequestCodec: StructType<SetAtomicIdempotentRequest> = defineStruct<SetAtomicIdempotentRequest>(
  'configuration_set_atomic_idempotent_request',
  [
    { id: 1, name: 'appName', type: stringType },
    { id: 2, name: 'atomicIdempotent', type: boolType },
  ],
);

export interface SetAtomicIdempotentResponse {
  err: string;
  oldAtomicIdempotent: boolean;
  hintMessage: string;
}
export const setAtomicIdempotentResponseCodec: StructType<SetAtomicIdempotentResponse> = defineStruct<SetAtomicIdempotentResponse>(
  'configuration_set_atomic_idempotent_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'oldAtomicIdempotent', type: boolType },
    { id: 3, name: 'hintMessage', type: stringType },
  ],
);

// ---------------------------------------------------------------------------------------------
// Recovery of the meta state from replica servers

export interface RecoveryRequest {
  recoveryNodes: HostPort[];
  skipBadNodes: boolean;
  skipLostPartitions: boolean;
  hpRecoveryNodes?: HostPort[];
}
export const recoveryRequestCodec: StructType<RecoveryRequest> = defineStruct<RecoveryRequest>('configuration_recovery_request', [
  { id: 1, name: 'recoveryNodes', type: listOf(rpcAddressType) },
  { id: 2, name: 'skipBadNodes', type: boolType },
  { id: 3, name: 'skipLostPartitions', type: boolType },
  { id: 4, name: 'hpRecoveryNodes', type: listOf(hostPortType), optional: true },
]);

export type RecoveryResponse = HintResponse;
export const recoveryResponseCodec = errHintStruct('configuration_recovery_response');

// ---------------------------------------------------------------------------------------------
// Partitions that lost every member

export interface DddDiagnoseRequest {
  /** app_id -1: every table; partition_index -1: every partition of the table. */
  pid: Gpid;
}
export const dddDiagnoseRequestCodec: StructType<DddDiagnoseRequest> = defineStruct<DddDiagnoseRequest>('ddd_diagnose_request', [
  { id: 1, name: 'pid', type: gpidType },
]);

export interface DddNodeInfo {
  node: HostPort;
  dropTimeMs: bigint;
  isAlive: boolean;
  /** The node reported its replicas (config sync) since the meta started. */
  isCollected: boolean;
  /** -1 with isCollected: the node holds no replica of the partition. */
  ballot: bigint;
  lastCommittedDecree: bigint;
  lastPreparedDecree: bigint;
  hpNode?: HostPort;
}
export const dddNodeInfoCodec: StructType<DddNodeInfo> = defineStruct<DddNodeInfo>('ddd_node_info', [
  { id: 1, name: 'node', type: rpcAddressType },
  { id: 2, name: 'dropTimeMs', type: i64Type },
  { id: 3, name: 'isAlive', type: boolType },
  { id: 4, name: 'isCollected', type: boolType },
  { id: 5, name: 'ballot', type: i64Type },
  { id: 6, name: 'lastCommittedDecree', type: i64Type },
  { id: 7, name: 'lastPreparedDecree', type: i64Type },
  { id: 8, name: 'hpNode', type: hostPortType, optional: true },
]);

export interface DddPartitionInfo {
  config: PartitionConfiguration;
  dropped: DddNodeInfo[];
  reason: string;
}
export const dddPartitionInfoCodec: StructType<DddPartitionInfo> = defineStruct<DddPartitionInfo>('ddd_partition_info', [
  { id: 1, name: 'config', type: partitionConfigurationCodec },
  { id: 2, name: 'dropped', type: listOf(dddNodeInfoCodec) },
  { id: 3, name: 'reason', type: stringType },
]);

export interface DddDiagnoseResponse {
  err: string;
  partitions: DddPartitionInfo[];
}
export const dddDiagnoseResponseCodec: StructType<DddDiagnoseResponse> = defineStruct<DddDiagnoseResponse>('ddd_diagnose_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'partitions', type: listOf(dddPartitionInfoCodec) },
]);

export interface StartManualCompactRequest {
  appName: string;
  triggerTime?: bigint;
  targetLevel?: number;
  bottommost?: boolean;
  maxRunningCount?: number;
}
export const startManualCompactRequestCodec: StructType<StartManualCompactRequest> = defineStruct<StartManualCompactRequest>(
  'start_app_manual_compact_request',
  [
    { id: 1, name: 'appName', type: stringType },
    { id: 2, name: 'triggerTime', type: i64Type, optional: true },
    { id: 3, name: 'targetLevel', type: i32Type, optional: true },
    { id: 4, name: 'bottommost', type: boolType, optional: true },
    { id: 5, name: 'maxRunningCount', type: i32Type, optional: true },
  ],
);

export interface StartManualCompactResponse {
  err: string;
  hintMsg: string;
}
export const startManualCompactResponseCodec: StructType<StartManualCompactResponse> = defineStruct<StartManualCompactResponse>(
  'start_app_manual_compact_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'hintMsg', type: stringType },
  ],
);

export type QueryManualCompactRequest = AppNameRequest;
export const queryManualCompactRequestCodec = appNameStruct('query_app_manual_compact_request');

export interface QueryManualCompactResponse {
  err: string;
  hintMsg: string;
  progress?: number;
}
export const queryManualCompactResponseCodec: StructType<QueryManualCompactResponse> = defineStruct<QueryManualCompactResponse>(
  'query_app_manual_compact_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'hintMsg', type: stringType },
    { id: 3, name: 'progress', type: i32Type, optional: true },
  ],
);
