// Pegasus's thrift structs: wire types, placeholder types, the rrdb (data plane), meta and
// remote-command struct codecs, the args/result envelopes, and the RPC name table.
export {
  type WireType, type StructType, type ListType, type MapType, type FieldSpec, accepts, defineStruct, encodeValue, decodeValue, listOf, setOf, mapOf,
  boolType, byteType, i16Type, i32Type, i64Type, doubleType, stringType, binaryType,
} from './types.ts';
export {
  blobType, errorCodeType, taskCodeType, gpidType, rpcAddressType, hostPortType,
  writeBlob, readBlob, writeErrorCode, readErrorCode, writeTaskCode, readTaskCode, writeGpid, readGpid,
  writeRpcAddress, readRpcAddress, writeHostPort, readHostPort,
} from './placeholders.ts';
export * from './rrdb.ts';
export * from './meta.ts';
export * from './command.ts';
export * from './replication.ts';
export * from './replica-admin.ts';
export * from './peer.ts';
export * from './duplication.ts';
export * from './backup.ts';
export * from './partition-split.ts';
export * from './security.ts';
export { ARGS_FIELD_ID, RESULT_FIELD_ID, encodeArgs, decodeArgs, encodeResult, decodeResult } from './envelope.ts';
export {
  RPCS, RPC_BY_NAME, findRpc, type RpcDefinition, type CallDefinition, type OnewayDefinition, type AnyRpcDefinition, type RpcName, type RpcArgs, type RpcResult, type RpcRole,
} from './rpc-table.ts';
export * from './bulk-load.ts';
