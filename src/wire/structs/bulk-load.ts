// Bulk load structs (idl/bulk_load.thrift): the meta's start, control, query and clear requests,
// its RPC_BULK_LOAD to the replicas of a partition, and the ingestion request that goes through
// two-phase commit. Enums (bulk_load_status, ingestion_status, bulk_load_control_type) are i32s.
import type { Gpid } from '../../base/gpid.ts';
import type { HostPort } from '../../base/host-port.ts';
import { appNameStruct, type AppNameRequest } from './meta.ts';
import { errorCodeType, gpidType, hostPortType, rpcAddressType } from './placeholders.ts';
import { boolType, defineStruct, i32Type, i64Type, listOf, mapOf, stringType, type StructType } from './types.ts';

/** metadata.thrift's file_meta. */
export interface FileMetaEntry {
  name: string;
  size: bigint;
  md5: string;
}
export const fileMetaCodec: StructType<FileMetaEntry> = defineStruct<FileMetaEntry>('file_meta', [
  { id: 1, name: 'name', type: stringType },
  { id: 2, name: 'size', type: i64Type },
  { id: 3, name: 'md5', type: stringType },
]);

export interface BulkLoadMetadataWire {
  files: FileMetaEntry[];
  fileTotalSize: bigint;
}
export const bulkLoadMetadataCodec: StructType<BulkLoadMetadataWire> = defineStruct<BulkLoadMetadataWire>('bulk_load_metadata', [
  { id: 1, name: 'files', type: listOf(fileMetaCodec) },
  { id: 2, name: 'fileTotalSize', type: i64Type },
]);

export interface StartBulkLoadRequest {
  appName: string;
  clusterName: string;
  fileProviderType: string;
  remoteRootPath: string;
  ingestBehind: boolean;
}
export const startBulkLoadRequestCodec: StructType<StartBulkLoadRequest> = defineStruct<StartBulkLoadRequest>('start_bulk_load_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'clusterName', type: stringType },
  { id: 3, name: 'fileProviderType', type: stringType },
  { id: 4, name: 'remoteRootPath', type: stringType },
  { id: 5, name: 'ingestBehind', type: boolType },
]);

export interface BulkLoadHintResponse {
  err: string;
  hintMsg: string;
}
export const startBulkLoadResponseCodec: StructType<BulkLoadHintResponse> = defineStruct<BulkLoadHintResponse>('start_bulk_load_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'hintMsg', type: stringType },
]);

export interface PartitionBulkLoadState {
  downloadProgress?: number;
  downloadStatus?: string;
  /** ingestion_status. */
  ingestStatus?: number;
  isCleanedUp?: boolean;
  isPaused?: boolean;
}
export const partitionBulkLoadStateCodec: StructType<PartitionBulkLoadState> = defineStruct<PartitionBulkLoadState>('partition_bulk_load_state', [
  { id: 1, name: 'downloadProgress', type: i32Type, optional: true },
  { id: 2, name: 'downloadStatus', type: errorCodeType, optional: true },
  { id: 3, name: 'ingestStatus', type: i32Type, optional: true },
  { id: 4, name: 'isCleanedUp', type: boolType, optional: true },
  { id: 5, name: 'isPaused', type: boolType, optional: true },
]);

export interface BulkLoadRequest {
  pid: Gpid;
  appName: string;
  primary: HostPort;
  remoteProviderName: string;
  clusterName: string;
  ballot: bigint;
  /** bulk_load_status. */
  metaBulkLoadStatus: number;
  queryBulkLoadMetadata: boolean;
  remoteRootPath: string;
  hpPrimary?: HostPort;
}
export const bulkLoadRequestCodec: StructType<BulkLoadRequest> = defineStruct<BulkLoadRequest>('bulk_load_request', [
  { id: 1, name: 'pid', type: gpidType },
  { id: 2, name: 'appName', type: stringType },
  { id: 3, name: 'primary', type: rpcAddressType },
  { id: 4, name: 'remoteProviderName', type: stringType },
  { id: 5, name: 'clusterName', type: stringType },
  { id: 6, name: 'ballot', type: i64Type },
  { id: 7, name: 'metaBulkLoadStatus', type: i32Type },
  { id: 8, name: 'queryBulkLoadMetadata', type: boolType },
  { id: 9, name: 'remoteRootPath', type: stringType },
  { id: 10, name: 'hpPrimary', type: hostPortType, optional: true },
]);

export interface BulkLoadResponse {
  err: string;
  pid: Gpid;
  appName: string;
  /** bulk_load_status. */
  primaryBulkLoadStatus: number;
  groupBulkLoadState: Map<HostPort, PartitionBulkLoadState>;
  metadata?: BulkLoadMetadataWire;
  totalDownloadProgress?: number;
  isGroupIngestionFinished?: boolean;
  isGroupBulkLoadContextCleanedUp?: boolean;
  isGroupBulkLoadPaused?: boolean;
  hpGroupBulkLoadState?: Map<HostPort, PartitionBulkLoadState>;
}
export const bulkLoadResponseCodec: StructType<BulkLoadResponse> = defineStruct<BulkLoadResponse>('bulk_load_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'pid', type: gpidType },
  { id: 3, name: 'appName', type: stringType },
  { id: 4, name: 'primaryBulkLoadStatus', type: i32Type },
  { id: 5, name: 'groupBulkLoadState', type: mapOf(rpcAddressType, partitionBulkLoadStateCodec) },
  { id: 6, name: 'metadata', type: bulkLoadMetadataCodec, optional: true },
  { id: 7, name: 'totalDownloadProgress', type: i32Type, optional: true },
  { id: 8, name: 'isGroupIngestionFinished', type: boolType, optional: true },
  { id: 9, name: 'isGroupBulkLoadContextCleanedUp', type: boolType, optional: true },
  { id: 10, name: 'isGroupBulkLoadPaused', type: boolType, optional: true },
  { id: 11, name: 'hpGroupBulkLoadState', type: mapOf(hostPortType, partitionBulkLoadStateCodec), optional: true },
]);

export interface IngestionRequest {
  appName: string;
  metadata: BulkLoadMetadataWire;
  ingestBehind: boolean;
  ballot: bigint;
  verifyBeforeIngest: boolean;
}
export const ingestionRequestCodec: StructType<IngestionRequest> = defineStruct<IngestionRequest>('ingestion_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'metadata', type: bulkLoadMetadataCodec },
  { id: 3, name: 'ingestBehind', type: boolType },
  { id: 4, name: 'ballot', type: i64Type },
  { id: 5, name: 'verifyBeforeIngest', type: boolType },
]);

export interface ControlBulkLoadRequest {
  appName: string;
  /** bulk_load_control_type: BLC_PAUSE 0, BLC_RESTART 1, BLC_CANCEL 2, BLC_FORCE_CANCEL 3. */
  type: number;
}
export const controlBulkLoadRequestCodec: StructType<ControlBulkLoadRequest> = defineStruct<ControlBulkLoadRequest>('control_bulk_load_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'type', type: i32Type },
]);

export interface ControlBulkLoadResponse {
  err: string;
  hintMsg?: string;
}
export const controlBulkLoadResponseCodec: StructType<ControlBulkLoadResponse> = defineStruct<ControlBulkLoadResponse>('control_bulk_load_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'hintMsg', type: stringType, optional: true },
]);

export const queryBulkLoadRequestCodec: StructType<AppNameRequest> = appNameStruct('query_bulk_load_request');

export interface QueryBulkLoadResponse {
  err: string;
  appName: string;
  /** bulk_load_status. */
  appStatus: number;
  partitionsStatus: number[];
  maxReplicaCount: number;
  bulkLoadStates: Array<Map<HostPort, PartitionBulkLoadState>>;
  hintMsg?: string;
  isBulkLoading?: boolean;
  hpBulkLoadStates?: Array<Map<HostPort, PartitionBulkLoadState>>;
}
export const queryBulkLoadResponseCodec: StructType<QueryBulkLoadResponse> = defineStruct<QueryBulkLoadResponse>('query_bulk_load_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'appName', type: stringType },
  { id: 3, name: 'appStatus', type: i32Type },
  { id: 4, name: 'partitionsStatus', type: listOf(i32Type) },
  { id: 5, name: 'maxReplicaCount', type: i32Type },
  { id: 6, name: 'bulkLoadStates', type: listOf(mapOf(rpcAddressType, partitionBulkLoadStateCodec)) },
  { id: 7, name: 'hintMsg', type: stringType, optional: true },
  { id: 8, name: 'isBulkLoading', type: boolType, optional: true },
  { id: 9, name: 'hpBulkLoadStates', type: listOf(mapOf(hostPortType, partitionBulkLoadStateCodec)), optional: true },
]);

export const clearBulkLoadStateRequestCodec: StructType<AppNameRequest> = appNameStruct('clear_bulk_load_state_request');
export const clearBulkLoadStateResponseCodec: StructType<BulkLoadHintResponse> = defineStruct<BulkLoadHintResponse>('clear_bulk_load_state_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'hintMsg', type: stringType },
]);
