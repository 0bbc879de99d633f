// Partition split (idl/partition_split.thrift): what an operator sends the meta (start, control
// and query a split) and what the replicas of a splitting table send it (register a child,
// report a paused or canceled split, ask about a child).
import type { Gpid } from '../../base/gpid.ts';
import type { HostPort } from '../../base/host-port.ts';
import { appInfoCodec, partitionConfigurationCodec, type AppInfo, type PartitionConfiguration } from './meta.ts';
import { errorCodeType, gpidType, hostPortType, rpcAddressType } from './placeholders.ts';
import { defineStruct, i32Type, mapOf, stringType, type StructType } from './types.ts';

/** idl/metadata.thrift split_status. */
export enum SplitStatus {
  NOT_SPLIT = 0,
  SPLITTING = 1,
  PAUSING = 2,
  PAUSED = 3,
  CANCELING = 4,
}

/** idl/partition_split.thrift split_control_type. */
export enum SplitControlType {
  PAUSE = 0,
  RESTART = 1,
  CANCEL = 2,
}

export interface StartPartitionSplitRequest {
  appName: string;
  newPartitionCount: number;
}
export const startPartitionSplitRequestCodec: StructType<StartPartitionSplitRequest> = defineStruct<StartPartitionSplitRequest>(
  'start_partition_split_request',
  [
    { id: 1, name: 'appName', type: stringType },
    { id: 2, name: 'newPartitionCount', type: i32Type },
  ],
);

export interface StartPartitionSplitResponse {
  err: string;
  hintMsg: string;
}
export const startPartitionSplitResponseCodec: StructType<StartPartitionSplitResponse> = defineStruct<StartPartitionSplitResponse>(
  'start_partition_split_response',
  [
    { id: 1, name: 'err', type: errorCodeType },
    { id: 2, name: 'hintMsg', type: stringType },
  ],
);

export interface ControlSplitRequest {
  appName: string;
  /** A SplitControlType; any other number is answered ERR_INVALID_PARAMETERS. */
  controlType: number;
  /** Pause and restart: one parent partition, or -1 for all. Cancel: always -1. */
  parentPidx: number;
  /** Cancel only: the count before the split. */
  oldPartitionCount?: number;
}
export const controlSplitRequestCodec: StructType<ControlSplitRequest> = defineStruct<ControlSplitRequest>('control_split_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'controlType', type: i32Type },
  { id: 3, name: 'parentPidx', type: i32Type },
  { id: 4, name: 'oldPartitionCount', type: i32Type, optional: true },
]);

export interface ControlSplitResponse {
  err: string;
  hintMsg?: string;
}
export const controlSplitResponseCodec: StructType<ControlSplitResponse> = defineStruct<ControlSplitResponse>('control_split_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'hintMsg', type: stringType, optional: true },
]);

export interface QuerySplitRequest {
  appName: string;
}
export const querySplitRequestCodec: StructType<QuerySplitRequest> = defineStruct<QuerySplitRequest>('query_split_request', [
  { id: 1, name: 'appName', type: stringType },
]);

export interface QuerySplitResponse {
  err: string;
  newPartitionCount: number;
  /** Parent partition index → SplitStatus, for the parents whose child is not registered yet. */
  status: Map<number, number>;
  hintMsg?: string;
}
export const querySplitResponseCodec: StructType<QuerySplitResponse> = defineStruct<QuerySplitResponse>('query_split_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'newPartitionCount', type: i32Type },
  { id: 3, name: 'status', type: mapOf(i32Type, i32Type) },
  { id: 4, name: 'hintMsg', type: stringType, optional: true },
]);

export interface RegisterChildRequest {
  app: AppInfo;
  parentConfig: PartitionConfiguration;
  childConfig: PartitionConfiguration;
  primary: HostPort;
  hpPrimary?: HostPort;
}
export const registerChildRequestCodec: StructType<RegisterChildRequest> = defineStruct<RegisterChildRequest>('register_child_request', [
  { id: 1, name: 'app', type: appInfoCodec },
  { id: 2, name: 'parentConfig', type: partitionConfigurationCodec },
  { id: 3, name: 'childConfig', type: partitionConfigurationCodec },
  { id: 4, name: 'primary', type: rpcAddressType },
  { id: 5, name: 'hpPrimary', type: hostPortType, optional: true },
]);

export interface RegisterChildResponse {
  err: string;
  app: AppInfo;
  parentConfig: PartitionConfiguration;
  childConfig: PartitionConfiguration;
}
export const registerChildResponseCodec: StructType<RegisterChildResponse> = defineStruct<RegisterChildResponse>('register_child_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'app', type: appInfoCodec },
  { id: 3, name: 'parentConfig', type: partitionConfigurationCodec },
  { id: 4, name: 'childConfig', type: partitionConfigurationCodec },
]);

export interface NotifyStopSplitRequest {
  appName: string;
  parentGpid: Gpid;
  /** PAUSING or CANCELING: the status the parent saw and acted on. */
  metaSplitStatus: number;
  /** The count before the split. */
  partitionCount: number;
}
export const notifyStopSplitRequestCodec: StructType<NotifyStopSplitRequest> = defineStruct<NotifyStopSplitRequest>('notify_stop_split_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'parentGpid', type: gpidType },
  { id: 3, name: 'metaSplitStatus', type: i32Type },
  { id: 4, name: 'partitionCount', type: i32Type },
]);

export interface NotifyStopSplitResponse {
  err: string;
}
export const notifyStopSplitResponseCodec: StructType<NotifyStopSplitResponse> = defineStruct<NotifyStopSplitResponse>('notify_stop_split_response', [
  { id: 1, name: 'err', type: errorCodeType },
]);

export interface QueryChildStateRequest {
  appName: string;
  pid: Gpid;
  /** The count before the split. */
  partitionCount: number;
}
export const queryChildStateRequestCodec: StructType<QueryChildStateRequest> = defineStruct<QueryChildStateRequest>('query_child_state_request', [
  { id: 1, name: 'appName', type: stringType },
  { id: 2, name: 'pid', type: gpidType },
  { id: 3, name: 'partitionCount', type: i32Type },
]);

export interface QueryChildStateResponse {
  err: string;
  partitionCount?: number;
  childConfig?: PartitionConfiguration;
}
export const queryChildStateResponseCodec: StructType<QueryChildStateResponse> = defineStruct<QueryChildStateResponse>('query_child_state_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'partitionCount', type: i32Type, optional: true },
  { id: 3, name: 'childConfig', type: partitionConfigurationCodec, optional: true },
]);

