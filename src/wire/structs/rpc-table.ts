// The RPCs Pteron speaks, by the name in the TMessage header (spec pegasus-arch §1.8): what the
// args struct's field 1 holds, what the result struct's field 0 holds, and which server role
// answers. The reply's name is always the request name + "_ACK".
import * as backup from './backup.ts';
import * as bulkLoad from './bulk-load.ts';
import { commandCodec } from './command.ts';
import * as duplication from './duplication.ts';
import * as meta from './meta.ts';
import * as partitionSplit from './partition-split.ts';
import * as peer from './peer.ts';
import { blobType } from './placeholders.ts';
import * as replicaAdmin from './replica-admin.ts';
import * as replication from './replication.ts';
import * as rrdb from './rrdb.ts';
import * as security from './security.ts';
import { i64Type, stringType, type WireType } from './types.ts';

/** Which server answers: replica servers (header carries app_id/pidx), meta servers, or any. */
export type RpcRole = 'replica' | 'meta' | 'any';

export interface RpcDefinition<A, R> {
  readonly name: string;
  readonly ackName: string;
  readonly args: WireType<A>;
  /** Undefined for one-way RPCs: the server sends nothing back. */
  readonly result: WireType<R> | undefined;
  readonly oneway: boolean;
  readonly role: RpcRole;
}

/** An RPC with a reply. */
export interface CallDefinition<A, R> extends RpcDefinition<A, R> {
  readonly result: WireType<R>;
  readonly oneway: false;
}

/** A one-way RPC: no reply. */
export interface OnewayDefinition<A> extends RpcDefinition<A, never> {
  readonly result: undefined;
  readonly oneway: true;
}

function call<A, R>(name: string, role: RpcRole, args: WireType<A>, result: WireType<R>): CallDefinition<A, R> {
  return Object.freeze({ name, ackName: `${name}_ACK`, args, result, oneway: false, role });
}

function oneway<A>(name: string, role: RpcRole, args: WireType<A>): OnewayDefinition<A> {
  return Object.freeze({ name, ackName: `${name}_ACK`, args, result: undefined, oneway: true, role });
}

export const RPCS = {
  // Data plane: sent to the replica server hosting the partition.
  RPC_RRDB_RRDB_PUT: call('RPC_RRDB_RRDB_PUT', 'replica', rrdb.updateRequestCodec, rrdb.updateResponseCodec),
  RPC_RRDB_RRDB_MULTI_PUT: call('RPC_RRDB_RRDB_MULTI_PUT', 'replica', rrdb.multiPutRequestCodec, rrdb.updateResponseCodec),
  /** Argument: the composite key. */
  RPC_RRDB_RRDB_REMOVE: call('RPC_RRDB_RRDB_REMOVE', 'replica', blobType, rrdb.updateResponseCodec),
  RPC_RRDB_RRDB_MULTI_REMOVE: call('RPC_RRDB_RRDB_MULTI_REMOVE', 'replica', rrdb.multiRemoveRequestCodec, rrdb.multiRemoveResponseCodec),
  RPC_RRDB_RRDB_INCR: call('RPC_RRDB_RRDB_INCR', 'replica', rrdb.incrRequestCodec, rrdb.incrResponseCodec),
  RPC_RRDB_RRDB_CHECK_AND_SET: call('RPC_RRDB_RRDB_CHECK_AND_SET', 'replica', rrdb.checkAndSetRequestCodec, rrdb.checkAndSetResponseCodec),
  RPC_RRDB_RRDB_CHECK_AND_MUTATE: call(
    'RPC_RRDB_RRDB_CHECK_AND_MUTATE', 'replica', rrdb.checkAndMutateRequestCodec, rrdb.checkAndMutateResponseCodec,
  ),
  /** Argument: the composite key. */
  RPC_RRDB_RRDB_GET: call('RPC_RRDB_RRDB_GET', 'replica', blobType, rrdb.readResponseCodec),
  RPC_RRDB_RRDB_MULTI_GET: call('RPC_RRDB_RRDB_MULTI_GET', 'replica', rrdb.multiGetRequestCodec, rrdb.multiGetResponseCodec),
  RPC_RRDB_RRDB_BATCH_GET: call('RPC_RRDB_RRDB_BATCH_GET', 'replica', rrdb.batchGetRequestCodec, rrdb.batchGetResponseCodec),
  /** Argument: the hash key. */
  RPC_RRDB_RRDB_SORTKEY_COUNT: call('RPC_RRDB_RRDB_SORTKEY_COUNT', 'replica', blobType, rrdb.countResponseCodec),
  /** Argument: the composite key. */
  RPC_RRDB_RRDB_TTL: call('RPC_RRDB_RRDB_TTL', 'replica', blobType, rrdb.ttlResponseCodec),
  RPC_RRDB_RRDB_GET_SCANNER: call('RPC_RRDB_RRDB_GET_SCANNER', 'replica', rrdb.getScannerRequestCodec, rrdb.scanResponseCodec),
  RPC_RRDB_RRDB_SCAN: call('RPC_RRDB_RRDB_SCAN', 'replica', rrdb.scanRequestCodec, rrdb.scanResponseCodec),
  /** A master cluster's primary ships committed mutations to the follower table's partition. */
  RPC_RRDB_RRDB_DUPLICATE: call('RPC_RRDB_RRDB_DUPLICATE', 'replica', duplication.duplicateRequestCodec, duplication.duplicateResponseCodec),
  /** Argument: the scanner context id. Never answered (Java sends it as CALL all the same). */
  RPC_RRDB_RRDB_CLEAR_SCANNER: oneway('RPC_RRDB_RRDB_CLEAR_SCANNER', 'replica', i64Type),

  // Replica servers to the meta: liveness beacons and configuration sync.
  RPC_FD_FAILURE_DETECTOR_PING: call(
    'RPC_FD_FAILURE_DETECTOR_PING', 'meta', replication.beaconMessageCodec, replication.beaconAckCodec,
  ),
  RPC_CM_CONFIG_SYNC: call(
    'RPC_CM_CONFIG_SYNC', 'meta', replication.configurationQueryByNodeRequestCodec, replication.configurationQueryByNodeResponseCodec,
  ),
  /** A replica server asks the meta to persist a configuration change (ballot + 1). */
  RPC_CM_UPDATE_PARTITION_CONFIGURATION: call(
    'RPC_CM_UPDATE_PARTITION_CONFIGURATION', 'meta', replication.configurationUpdateRequestCodec, replication.configurationUpdateResponseCodec,
  ),
  /** The meta asks a replica server to carry out a configuration change. Never answered. */
  RPC_CONFIG_PROPOSAL: oneway('RPC_CONFIG_PROPOSAL', 'replica', replication.configurationUpdateRequestCodec),

  // Replica server to replica server (PacificA): one-way messages, each answered by another.
  RPC_PREPARE: oneway('RPC_PREPARE', 'replica', peer.peerMessageCodec),
  RPC_PREPARE_ACK: oneway('RPC_PREPARE_ACK', 'replica', peer.peerMessageCodec),
  RPC_GROUP_CHECK: oneway('RPC_GROUP_CHECK', 'replica', peer.peerMessageCodec),
  RPC_GROUP_CHECK_ACK: oneway('RPC_GROUP_CHECK_ACK', 'replica', peer.peerMessageCodec),
  RPC_LEARN_ADD_LEARNER: oneway('RPC_LEARN_ADD_LEARNER', 'replica', peer.peerMessageCodec),
  RPC_LEARN: oneway('RPC_LEARN', 'replica', peer.peerMessageCodec),
  RPC_LEARN_REPLY: oneway('RPC_LEARN_REPLY', 'replica', peer.peerMessageCodec),
  RPC_LEARN_COMPLETION_NOTIFY: oneway('RPC_LEARN_COMPLETION_NOTIFY', 'replica', peer.peerMessageCodec),
  /** A learner pulls the primary's checkpoint, one chunk per call. */
  RPC_LEARN_CHECKPOINT_CHUNK: call(
    'RPC_LEARN_CHECKPOINT_CHUNK', 'replica', peer.checkpointChunkRequestCodec, peer.checkpointChunkResponseCodec,
  ),

  // Meta plane: sent to a meta server with app_id 0 and partition_hash 0.
  RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX: call(
    'RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX', 'meta', meta.queryCfgRequestCodec, meta.queryCfgResponseCodec,
  ),
  RPC_CM_CREATE_APP: call('RPC_CM_CREATE_APP', 'meta', meta.createAppRequestCodec, meta.createAppResponseCodec),
  RPC_CM_DROP_APP: call('RPC_CM_DROP_APP', 'meta', meta.dropAppRequestCodec, meta.dropAppResponseCodec),
  RPC_CM_RECALL_APP: call('RPC_CM_RECALL_APP', 'meta', meta.recallAppRequestCodec, meta.recallAppResponseCodec),
  RPC_CM_RENAME_APP: call('RPC_CM_RENAME_APP', 'meta', meta.renameAppRequestCodec, meta.renameAppResponseCodec),
  RPC_CM_LIST_APPS: call('RPC_CM_LIST_APPS', 'meta', meta.listAppsRequestCodec, meta.listAppsResponseCodec),
  RPC_CM_LIST_NODES: call('RPC_CM_LIST_NODES', 'meta', meta.listNodesRequestCodec, meta.listNodesResponseCodec),
  RPC_CM_CLUSTER_INFO: call('RPC_CM_CLUSTER_INFO', 'meta', meta.clusterInfoRequestCodec, meta.clusterInfoResponseCodec),
  RPC_CM_UPDATE_APP_ENV: call('RPC_CM_UPDATE_APP_ENV', 'meta', meta.updateAppEnvRequestCodec, meta.updateAppEnvResponseCodec),
  RPC_CM_CONTROL_META: call('RPC_CM_CONTROL_META', 'meta', meta.metaControlRequestCodec, meta.metaControlResponseCodec),
  RPC_CM_PROPOSE_BALANCER: call('RPC_CM_PROPOSE_BALANCER', 'meta', meta.balancerRequestCodec, meta.balancerResponseCodec),
  RPC_CM_GET_MAX_REPLICA_COUNT: call(
    'RPC_CM_GET_MAX_REPLICA_COUNT', 'meta', meta.getMaxReplicaCountRequestCodec, meta.getMaxReplicaCountResponseCodec,
  ),
  RPC_CM_SET_MAX_REPLICA_COUNT: call(
    'RPC_CM_SET_MAX_REPLICA_COUNT', 'meta', meta.setMaxReplicaCountRequestCodec, meta.setMaxReplicaCountResponseCodec,
  ),
  RPC_CM_GET_ATOMIC_IDEMPOTENT: call(
    'RPC_CM_GET_ATOMIC_IDEMPOTENT', 'meta', meta.getAtomicIdempotentRequestCodec, meta.getAtomicIdempotentResponseCodec,
  ),
  RPC_CM_SET_ATOMIC_IDEMPOTENT: call(
    'RPC_CM_SET_ATOMIC_IDEMPOTENT', 'meta', meta.setAtomicIdempotentRequestCodec, meta.setAtomicIdempotentResponseCodec,
  ),
  RPC_CM_START_RECOVERY: call('RPC_CM_START_RECOVERY', 'meta', meta.recoveryRequestCodec, meta.recoveryResponseCodec),
  RPC_CM_DDD_DIAGNOSE: call('RPC_CM_DDD_DIAGNOSE', 'meta', meta.dddDiagnoseRequestCodec, meta.dddDiagnoseResponseCodec),
  RPC_CM_START_MANUAL_COMPACT: call(
    'RPC_CM_START_MANUAL_COMPACT', 'meta', meta.startManualCompactRequestCodec, meta.startManualCompactResponseCodec,
  ),
  RPC_CM_QUERY_MANUAL_COMPACT_STATUS: call(
    'RPC_CM_QUERY_MANUAL_COMPACT_STATUS', 'meta', meta.queryManualCompactRequestCodec, meta.queryManualCompactResponseCodec,
  ),
  RPC_CM_ADD_DUPLICATION: call(
    'RPC_CM_ADD_DUPLICATION', 'meta', duplication.duplicationAddRequestCodec, duplication.duplicationAddResponseCodec,
  ),
  RPC_CM_MODIFY_DUPLICATION: call(
    'RPC_CM_MODIFY_DUPLICATION', 'meta', duplication.duplicationModifyRequestCodec, duplication.duplicationModifyResponseCodec,
  ),
  RPC_CM_QUERY_DUPLICATION: call(
    'RPC_CM_QUERY_DUPLICATION', 'meta', duplication.duplicationQueryRequestCodec, duplication.duplicationQueryResponseCodec,
  ),
  RPC_CM_LIST_DUPLICATION: call(
    'RPC_CM_LIST_DUPLICATION', 'meta', duplication.duplicationListRequestCodec, duplication.duplicationListResponseCodec,
  ),
  /** A replica server reports its primaries' duplication progress and learns the duplications. */
  RPC_CM_DUPLICATION_SYNC: call(
    'RPC_CM_DUPLICATION_SYNC', 'meta', duplication.duplicationSyncRequestCodec, duplication.duplicationSyncResponseCodec,
  ),
  // Cold backup and restore (idl/backup.thrift).
  RPC_CM_ADD_BACKUP_POLICY: call('RPC_CM_ADD_BACKUP_POLICY', 'meta', backup.addBackupPolicyRequestCodec, backup.addBackupPolicyResponseCodec),
  RPC_CM_QUERY_BACKUP_POLICY: call(
    'RPC_CM_QUERY_BACKUP_POLICY', 'meta', backup.queryBackupPolicyRequestCodec, backup.queryBackupPolicyResponseCodec,
  ),
  RPC_CM_MODIFY_BACKUP_POLICY: call(
    'RPC_CM_MODIFY_BACKUP_POLICY', 'meta', backup.modifyBackupPolicyRequestCodec, backup.modifyBackupPolicyResponseCodec,
  ),
  RPC_CM_START_BACKUP_APP: call('RPC_CM_START_BACKUP_APP', 'meta', backup.startBackupAppRequestCodec, backup.startBackupAppResponseCodec),
  RPC_CM_QUERY_BACKUP_STATUS: call(
    'RPC_CM_QUERY_BACKUP_STATUS', 'meta', backup.queryBackupStatusRequestCodec, backup.queryBackupStatusResponseCodec,
  ),
  /** Answered with a configuration_create_app_response, as Pegasus's meta does. */
  RPC_CM_START_RESTORE: call('RPC_CM_START_RESTORE', 'meta', backup.configurationRestoreRequestCodec, meta.createAppResponseCodec),
  RPC_CM_QUERY_RESTORE_STATUS: call(
    'RPC_CM_QUERY_RESTORE_STATUS', 'meta', backup.queryRestoreRequestCodec, backup.queryRestoreResponseCodec,
  ),
  RPC_CM_REPORT_RESTORE_STATUS: call(
    'RPC_CM_REPORT_RESTORE_STATUS', 'meta', backup.reportRestoreStatusRequestCodec, backup.reportRestoreStatusResponseCodec,
  ),
  /** The meta asks a partition's primary to back it up; asked again until it answers ERR_OK (progress 1000). */
  RPC_COLD_BACKUP: call('RPC_COLD_BACKUP', 'replica', backup.backupRequestCodec, backup.backupResponseCodec),
  // Bulk load (idl/bulk_load.thrift).
  RPC_CM_START_BULK_LOAD: call('RPC_CM_START_BULK_LOAD', 'meta', bulkLoad.startBulkLoadRequestCodec, bulkLoad.startBulkLoadResponseCodec),
  RPC_CM_CONTROL_BULK_LOAD: call('RPC_CM_CONTROL_BULK_LOAD', 'meta', bulkLoad.controlBulkLoadRequestCodec, bulkLoad.controlBulkLoadResponseCodec),
  RPC_CM_QUERY_BULK_LOAD_STATUS: call(
    'RPC_CM_QUERY_BULK_LOAD_STATUS', 'meta', bulkLoad.queryBulkLoadRequestCodec, bulkLoad.queryBulkLoadResponseCodec,
  ),
  RPC_CM_CLEAR_BULK_LOAD: call('RPC_CM_CLEAR_BULK_LOAD', 'meta', bulkLoad.clearBulkLoadStateRequestCodec, bulkLoad.clearBulkLoadStateResponseCodec),
  /** The meta drives a partition's bulk load: sent to each of its members (Pegasus sends it to the primary, which asks its secondaries). */
  RPC_BULK_LOAD: call('RPC_BULK_LOAD', 'replica', bulkLoad.bulkLoadRequestCodec, bulkLoad.bulkLoadResponseCodec),
  RPC_CM_START_PARTITION_SPLIT: call(
    'RPC_CM_START_PARTITION_SPLIT', 'meta', partitionSplit.startPartitionSplitRequestCodec, partitionSplit.startPartitionSplitResponseCodec,
  ),
  RPC_CM_CONTROL_PARTITION_SPLIT: call(
    'RPC_CM_CONTROL_PARTITION_SPLIT', 'meta', partitionSplit.controlSplitRequestCodec, partitionSplit.controlSplitResponseCodec,
  ),
  RPC_CM_QUERY_PARTITION_SPLIT: call('RPC_CM_QUERY_PARTITION_SPLIT', 'meta', partitionSplit.querySplitRequestCodec, partitionSplit.querySplitResponseCodec),
  /** A splitting parent's primary: its child is ready, make it a partition of the table. */
  RPC_CM_REGISTER_CHILD_REPLICA: call(
    'RPC_CM_REGISTER_CHILD_REPLICA', 'meta', partitionSplit.registerChildRequestCodec, partitionSplit.registerChildResponseCodec,
  ),
  /** A splitting parent's primary: it stopped splitting as the meta asked (pause or cancel). */
  RPC_CM_NOTIFY_STOP_SPLIT: call('RPC_CM_NOTIFY_STOP_SPLIT', 'meta', partitionSplit.notifyStopSplitRequestCodec, partitionSplit.notifyStopSplitResponseCodec),
  RPC_CM_QUERY_CHILD_STATE: call('RPC_CM_QUERY_CHILD_STATE', 'meta', partitionSplit.queryChildStateRequestCodec, partitionSplit.queryChildStateResponseCodec),
  /** Sent to a replica server: the tables it knows (Go admin-cli). */
  RPC_QUERY_APP_INFO: call('RPC_QUERY_APP_INFO', 'replica', meta.queryAppInfoRequestCodec, meta.queryAppInfoResponseCodec),
  /** Sent to a replica server by the meta in recovery mode: every replica it holds, with its decrees. */
  RPC_QUERY_REPLICA_INFO: call(
    'RPC_QUERY_REPLICA_INFO', 'replica', replication.queryReplicaInfoRequestCodec, replication.queryReplicaInfoResponseCodec,
  ),
  /** Sent to a replica server: start, stop or query hot-key detection on one of its replicas. */
  RPC_DETECT_HOTKEY: call('RPC_DETECT_HOTKEY', 'replica', replicaAdmin.detectHotkeyRequestCodec, replicaAdmin.detectHotkeyResponseCodec),

  // Any server.
  /** Authenticates the connection it arrives on (the SASL PLAIN mechanism, password = `[security] admin_secret`). */
  RPC_NEGOTIATION: call('RPC_NEGOTIATION', 'any', security.negotiationRequestCodec, security.negotiationResponseCodec),
  /** Result: the command's output as a plain string (field 0 of type STRING). */
  RPC_CLI_CLI_CALL: call('RPC_CLI_CLI_CALL', 'any', commandCodec, stringType),
} as const;

export type RpcName = keyof typeof RPCS;
export type RpcArgs<N extends RpcName> = (typeof RPCS)[N] extends RpcDefinition<infer A, unknown> ? A : never;
export type RpcResult<N extends RpcName> = (typeof RPCS)[N] extends RpcDefinition<unknown, infer R> ? R : never;

export type AnyRpcDefinition = RpcDefinition<any, any>;

export const RPC_BY_NAME: ReadonlyMap<string, AnyRpcDefinition> = new Map(
  Object.values(RPCS).map((definition: AnyRpcDefinition) => [definition.name, definition]),
);

/** The definition of an RPC by its wire name, or undefined for a name Pteron does not speak. */
export function findRpc(name: string): AnyRpcDefinition | undefined {
  return RPC_BY_NAME.get(name);
}
