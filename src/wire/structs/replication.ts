// Server-to-server structs between replica servers and the meta (idl/replication_admin,
// failure detector): beacons and config sync (spec pegasus-arch §2.6–§2.7).
import type { Gpid } from '../../base/gpid.ts';
import type { HostPort } from '../../base/host-port.ts';
import { appInfoCodec, partitionConfigurationCodec, type AppInfo, type PartitionConfiguration } from './meta.ts';
import { errorCodeType, gpidType, hostPortType, rpcAddressType } from './placeholders.ts';
import { boolType, defineStruct, i32Type, i64Type, listOf, stringType, type StructType } from './types.ts';

/** idl/metadata.thrift partition_status. */
export enum PartitionStatus {
  PS_INVALID = 0,
  PS_INACTIVE = 1,
  PS_ERROR = 2,
  PS_PRIMARY = 3,
  PS_SECONDARY = 4,
  PS_POTENTIAL_SECONDARY = 5,
  PS_PARTITION_SPLIT = 6,
}

export interface BeaconMessage {
  /** The sender's clock, echoed in the ack. */
  time: bigint;
  fromNode: HostPort;
  toNode: HostPort;
  /** The sender process's start time (ms), so the meta notices restarts. */
  startTime?: bigint;
  hpFromNode?: HostPort;
  hpToNode?: HostPort;
}
export const beaconMessageCodec: StructType<BeaconMessage> = defineStruct<BeaconMessage>('beacon_msg', [
  { id: 1, name: 'time', type: i64Type },
  { id: 2, name: 'fromNode', type: rpcAddressType },
  { id: 3, name: 'toNode', type: rpcAddressType },
  { id: 4, name: 'startTime', type: i64Type, optional: true },
  { id: 5, name: 'hpFromNode', type: hostPortType, optional: true },
  { id: 6, name: 'hpToNode', type: hostPortType, optional: true },
]);

export interface BeaconAck {
  time: bigint;
  thisNode: HostPort;
  primaryNode: HostPort;
  isMaster: boolean;
  allowed: boolean;
  hpThisNode?: HostPort;
  hpPrimaryNode?: HostPort;
}
export const beaconAckCodec: StructType<BeaconAck> = defineStruct<BeaconAck>('beacon_ack', [
  { id: 1, name: 'time', type: i64Type },
  { id: 2, name: 'thisNode', type: rpcAddressType },
  { id: 3, name: 'primaryNode', type: rpcAddressType },
  { id: 4, name: 'isMaster', type: boolType },
  { id: 5, name: 'allowed', type: boolType },
  { id: 6, name: 'hpThisNode', type: hostPortType, optional: true },
  { id: 7, name: 'hpPrimaryNode', type: hostPortType, optional: true },
]);

export interface ReplicaInfo {
  pid: Gpid;
  ballot: bigint;
  status: number;
  lastCommittedDecree: bigint;
  lastPreparedDecree: bigint;
  lastDurableDecree: bigint;
  appType: string;
  diskTag: string;
  /** manual_compaction_status: IDLE 0, QUEUING 1, RUNNING 2, FINISHED 3. */
  manualCompactStatus?: number;
}
export const replicaInfoCodec: StructType<ReplicaInfo> = defineStruct<ReplicaInfo>('replica_info', [
  { id: 1, name: 'pid', type: gpidType },
  { id: 2, name: 'ballot', type: i64Type },
  { id: 3, name: 'status', type: i32Type },
  { id: 4, name: 'lastCommittedDecree', type: i64Type },
  { id: 5, name: 'lastPreparedDecree', type: i64Type },
  { id: 6, name: 'lastDurableDecree', type: i64Type },
  { id: 7, name: 'appType', type: stringType },
  { id: 8, name: 'diskTag', type: stringType },
  { id: 9, name: 'manualCompactStatus', type: i32Type, optional: true },
]);

/** The meta in recovery mode asks a replica server for every replica it holds (idl/replica_admin.thrift). */
export interface QueryReplicaInfoRequest {
  node1: HostPort;
  hpNode1?: HostPort;
}
export const queryReplicaInfoRequestCodec: StructType<QueryReplicaInfoRequest> = defineStruct<QueryReplicaInfoRequest>(
  'query_replica_info_request',
  [
    { id: 1, name: 'node1', type: rpcAddressType },
    { id: 2, name: 'hpNode1', type: hostPortType, optional: true },
  ],
);

export interface QueryReplicaInfoResponse {
  err: string;
  replicas: ReplicaInfo[];
}
export const queryReplicaInfoResponseCodec: StructType<QueryReplicaInfoResponse> = defineStruct<QueryReplicaInfoResponse>(
  'query_replica_info_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'replicas', type: listOf(replicaInfoCodec) },
  ],
);

export interface ConfigurationUpdateRequest {
  info: AppInfo;
  config: PartitionConfiguration;
  type: number;
  node: HostPort;
  hostNode: HostPort;
  /** Config sync only: the partition is a parent whose split is under way (a SplitStatus). */
  metaSplitStatus?: number;
  hpNode?: HostPort;
}
export const configurationUpdateRequestCodec: StructType<ConfigurationUpdateRequest> = defineStruct<ConfigurationUpdateRequest>(
  'configuration_update_request',
  [
    { id: 1, name: 'info', type: appInfoCodec },
    { id: 2, name: 'config', type: partitionConfigurationCodec },
    { id: 3, name: 'type', type: i32Type },
    { id: 4, name: 'node', type: rpcAddressType },
    { id: 5, name: 'hostNode', type: rpcAddressType },
    { id: 6, name: 'metaSplitStatus', type: i32Type, optional: true },
    { id: 7, name: 'hpNode', type: hostPortType, optional: true },
  ],
);

export interface ConfigurationQueryByNodeRequest {
  node: HostPort;
  storedReplicas?: ReplicaInfo[];
  hpNode?: HostPort;
}
export const configurationQueryByNodeRequestCodec: StructType<ConfigurationQueryByNodeRequest> =
  defineStruct<ConfigurationQueryByNodeRequest>('configuration_query_by_node_request', [
    { id: 1, name: 'node', type: rpcAddressType },
    { id: 2, name: 'storedReplicas', type: listOf(replicaInfoCodec), optional: true },
    { id: 4, name: 'hpNode', type: hostPortType, optional: true },
  ]);

export interface ConfigurationQueryByNodeResponse {
  err: string;
  partitions: ConfigurationUpdateRequest[];
  gcReplicas?: ReplicaInfo[];
}
export const configurationQueryByNodeResponseCodec: StructType<ConfigurationQueryByNodeResponse> =
  defineStruct<ConfigurationQueryByNodeResponse>('configuration_query_by_node_response', [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'partitions', type: listOf(configurationUpdateRequestCodec) },
    { id: 3, name: 'gcReplicas', type: listOf(replicaInfoCodec), optional: true },
  ]);

export interface ConfigurationUpdateResponse {
  err: string;
  config: PartitionConfiguration;
}
export const configurationUpdateResponseCodec: StructType<ConfigurationUpdateResponse> = defineStruct<ConfigurationUpdateResponse>(
  'configuration_update_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'config', type: partitionConfigurationCodec },
  ],
);
