// Cross-cluster duplication structs: the meta's duplication admin and sync RPCs
// (idl/duplication.thrift) and the follower's DUPLICATE write (duplicate_request/response of
// Pegasus's internal duplication IDL), spec pegasus-arch §3.9.
import type { Gpid } from '../../base/gpid.ts';
import type { HostPort } from '../../base/host-port.ts';
import { PatternMatchType } from './meta.ts';
import { blobType, errorCodeType, gpidType, hostPortType, rpcAddressType, taskCodeType } from './placeholders.ts';
import { boolType, byteType, defineStruct, i32Type, i64Type, listOf, mapOf, stringType, type StructType } from './types.ts';

export enum DuplicationMode {
  FULL = 0,
  INCREMENTAL = 1,
}

export enum DuplicationStatus {
  DS_INIT = 0,
  /** The master's replicas prepare a checkpoint for the follower. */
  DS_PREPARE = 1,
  /** The follower table is created and copies the master's checkpoint. */
  DS_APP = 2,
  /** The master ships its mutation log to the follower. */
  DS_LOG = 3,
  DS_PAUSE = 4,
  DS_REMOVED = 5,
}

export enum DuplicationFailMode {
  /** Retry a failed shipment until it succeeds. */
  FAIL_SLOW = 0,
  /** Skip the writes that failed to ship (minor loss on the follower). */
  FAIL_SKIP = 1,
  /** Stop the duplication once it cannot ship. */
  FAIL_FAST = 2,
}

export interface DuplicationAddRequest {
  appName: string;
  remoteClusterName: string;
  /** Default true: the follower copies the master's checkpoint before the log is shipped. */
  isDuplicatingCheckpoint?: boolean;
  remoteAppName?: string;
  remoteReplicaCount?: number;
}
export const duplicationAddRequestCodec: StructType<DuplicationAddRequest> = defineStruct<DuplicationAddRequest>(
  'duplication_add_request',
  [
    { id: 1, name: 'appName', type: stringType },
    { id: 2, name: 'remoteClusterName', type: stringType },
    { id: 3, name: 'isDuplicatingCheckpoint', type: boolType, optional: true },
    { id: 4, name: 'remoteAppName', type: stringType, optional: true },
    { id: 5, name: 'remoteReplicaCount', type: i32Type, optional: true },
  ],
);

export interface DuplicationAddResponse {
  err: string;
  appid: number;
  dupid: number;
  hint?: string;
  remoteAppName?: string;
  remoteReplicaCount?: number;
}
export const duplicationAddResponseCodec: StructType<DuplicationAddResponse> = defineStruct<DuplicationAddResponse>(
  'duplication_add_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'appid', type: i32Type },
    { id: 3, name: 'dupid', type: i32Type },
    { id: 4, name: 'hint', type: stringType, optional: true },
    { id: 5, name: 'remoteAppName', type: stringType, optional: true },
    { id: 6, name: 'remoteReplicaCount', type: i32Type, optional: true },
  ],
);

export interface DuplicationModifyRequest {
  appName: string;
  dupid: number;
  status?: DuplicationStatus;
  failMode?: DuplicationFailMode;
}
export const duplicationModifyRequestCodec: StructType<DuplicationModifyRequest> = defineStruct<DuplicationModifyRequest>(
  'duplication_modify_request',
  [
    { id: 1, name: 'appName', type: stringType },
    { id: 2, name: 'dupid', type: i32Type },
    { id: 3, name: 'status', type: i32Type, optional: true },
    { id: 4, name: 'failMode', type: i32Type, optional: true },
  ],
);

export interface DuplicationModifyResponse {
  err: string;
  appid: number;
}
export const duplicationModifyResponseCodec: StructType<DuplicationModifyResponse> = defineStruct<DuplicationModifyResponse>(
  'duplication_modify_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'appid', type: i32Type },
  ],
);

export interface DuplicationPartitionState {
  confirmedDecree: bigint;
  lastCommittedDecree: bigint;
}
export const duplicationPartitionStateCodec: StructType<DuplicationPartitionState> = defineStruct<DuplicationPartitionState>(
  'duplication_partition_state',
  [
    { id: 1, name: 'confirmedDecree', type: i64Type },
    { id: 2, name: 'lastCommittedDecree', type: i64Type },
  ],
);

export interface DuplicationEntry {
  dupid: number;
  status: DuplicationStatus;
  /** The follower cluster's name. */
  remote: string;
  /** Milliseconds since the Unix epoch. */
  createTs: bigint;
  /** Partition index → confirmed decree. */
  progress?: Map<number, bigint>;
  failMode?: DuplicationFailMode;
  remoteAppName?: string;
  remoteReplicaCount?: number;
  mode?: DuplicationMode;
  partitionStates?: Map<number, DuplicationPartitionState>;
}
export const duplicationEntryCodec: StructType<DuplicationEntry> = defineStruct<DuplicationEntry>('duplication_entry', [
  { id: 1, name: 'dupid', type: i32Type },
  { id: 2, name: 'status', type: i32Type },
  { id: 3, name: 'remote', type: stringType },
  { id: 4, name: 'createTs', type: i64Type },
  { id: 5, name: 'progress', type: mapOf(i32Type, i64Type), optional: true },
  { id: 7, name: 'failMode', type: i32Type, optional: true },
  { id: 8, name: 'remoteAppName', type: stringType, optional: true },
  { id: 9, name: 'remoteReplicaCount', type: i32Type, optional: true },
  { id: 10, name: 'mode', type: i32Type, optional: true },
  { id: 11, name: 'partitionStates', type: mapOf(i32Type, duplicationPartitionStateCodec), optional: true },
]);

export interface DuplicationAppState {
  appid: number;
  duplications: Map<number, DuplicationEntry>;
  appName: string;
  partitionCount: number;
}
export const duplicationAppStateCodec: StructType<DuplicationAppState> = defineStruct<DuplicationAppState>('duplication_app_state', [
  { id: 1, name: 'appid', type: i32Type },
  { id: 2, name: 'duplications', type: mapOf(i32Type, duplicationEntryCodec) },
  { id: 3, name: 'appName', type: stringType },
  { id: 4, name: 'partitionCount', type: i32Type },
]);

export interface DuplicationQueryRequest {
  appName: string;
}
export const duplicationQueryRequestCodec: StructType<DuplicationQueryRequest> = defineStruct<DuplicationQueryRequest>(
  'duplication_query_request',
  [{ id: 1, name: 'appName', type: stringType }],
);

export interface DuplicationQueryResponse {
  err: string;
  appid: number;
  entryList: DuplicationEntry[];
}
export const duplicationQueryResponseCodec: StructType<DuplicationQueryResponse> = defineStruct<DuplicationQueryResponse>(
  'duplication_query_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 3, name: 'appid', type: i32Type },
    { id: 4, name: 'entryList', type: listOf(duplicationEntryCodec) },
  ],
);

/** One duplication's progress on one partition, reported by the replica server hosting its primary. */
export interface DuplicationConfirmEntry {
  dupid: number;
  confirmedDecree: bigint;
  /** The primary's checkpoint for the follower is ready (DS_PREPARE → DS_APP). */
  checkpointPrepared?: boolean;
  lastCommittedDecree?: bigint;
}
export const duplicationConfirmEntryCodec: StructType<DuplicationConfirmEntry> = defineStruct<DuplicationConfirmEntry>(
  'duplication_confirm_entry',
  [
    { id: 1, name: 'dupid', type: i32Type },
    { id: 2, name: 'confirmedDecree', type: i64Type },
    { id: 3, name: 'checkpointPrepared', type: boolType, optional: true },
    { id: 4, name: 'lastCommittedDecree', type: i64Type, optional: true },
  ],
);

export interface DuplicationSyncRequest {
  node: HostPort;
  confirmList: Map<Gpid, DuplicationConfirmEntry[]>;
  hpNode?: HostPort;
}
export const duplicationSyncRequestCodec: StructType<DuplicationSyncRequest> = defineStruct<DuplicationSyncRequest>(
  'duplication_sync_request',
  [
    { id: 1, name: 'node', type: rpcAddressType },
    { id: 2, name: 'confirmList', type: mapOf(gpidType, listOf(duplicationConfirmEntryCodec)) },
    { id: 3, name: 'hpNode', type: hostPortType, optional: true },
  ],
);

export interface DuplicationSyncResponse {
  err: string;
  /** App id → dupid → the duplication, for every table with a replica on the node. */
  dupMap: Map<number, Map<number, DuplicationEntry>>;
}
export const duplicationSyncResponseCodec: StructType<DuplicationSyncResponse> = defineStruct<DuplicationSyncResponse>(
  'duplication_sync_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'dupMap', type: mapOf(i32Type, mapOf(i32Type, duplicationEntryCodec)) },
  ],
);

export interface DuplicationListRequest {
  appNamePattern: string;
  matchType: PatternMatchType;
}
export const duplicationListRequestCodec: StructType<DuplicationListRequest> = defineStruct<DuplicationListRequest>(
  'duplication_list_request',
  [
    { id: 1, name: 'appNamePattern', type: stringType },
    { id: 2, name: 'matchType', type: i32Type },
  ],
);

export interface DuplicationListResponse {
  err: string;
  hintMessage: string;
  appStates: Map<string, DuplicationAppState>;
}
export const duplicationListResponseCodec: StructType<DuplicationListResponse> = defineStruct<DuplicationListResponse>(
  'duplication_list_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'hintMessage', type: stringType },
    { id: 3, name: 'appStates', type: mapOf(stringType, duplicationAppStateCodec) },
  ],
);

// ---------------------------------------------------------------------------------------------
// The follower's write: RPC_RRDB_RRDB_DUPLICATE

/** One mutation shipped from the master: its original request, re-applied by the follower. */
export interface DuplicateEntry {
  /** The master's write timestamp in microseconds (the timetag's time part). */
  timestamp?: bigint;
  /** The original request's RPC name, e.g. RPC_RRDB_RRDB_PUT. */
  taskCode?: string;
  /** The original request's args struct, as the master received it. */
  rawMessage?: Buffer;
  /** The master's cluster id ([duplication-group]). */
  clusterId?: number;
  /** Apply only if newer than the stored value's timetag (last writer wins). */
  verifyTimetag?: boolean;
}
export const duplicateEntryCodec: StructType<DuplicateEntry> = defineStruct<DuplicateEntry>('duplicate_entry', [
  { id: 1, name: 'timestamp', type: i64Type, optional: true },
  { id: 2, name: 'taskCode', type: taskCodeType, optional: true },
  { id: 3, name: 'rawMessage', type: blobType, optional: true },
  { id: 4, name: 'clusterId', type: byteType, optional: true },
  { id: 5, name: 'verifyTimetag', type: boolType, optional: true },
]);

export interface DuplicateRequest {
  entries: DuplicateEntry[];
}
export const duplicateRequestCodec: StructType<DuplicateRequest> = defineStruct<DuplicateRequest>('duplicate_request', [
  { id: 1, name: 'entries', type: listOf(duplicateEntryCodec) },
]);

export interface DuplicateResponse {
  /** An rDSN/RocksDB status code; 0 for success. */
  error?: number;
  errorHint?: string;
}
export const duplicateResponseCodec: StructType<DuplicateResponse> = defineStruct<DuplicateResponse>('duplicate_response', [
  { id: 1, name: 'error', type: i32Type, optional: true },
  { id: 2, name: 'errorHint', type: stringType, optional: true },
]);
