// The data-plane structs of idl/rrdb.thrift (spec pegasus-arch §1.9). Keys and values are
// `dsn.blob` placeholders; i64 fields are bigints. A decoded blob is a view into the input buffer.
import { blobType } from './placeholders.ts';
import { boolType, defineStruct, i32Type, i64Type, listOf, stringType, type StructType } from './types.ts';

export enum FilterType {
  FT_NO_FILTER = 0,
  FT_MATCH_ANYWHERE = 1,
  FT_MATCH_PREFIX = 2,
  FT_MATCH_POSTFIX = 3,
}

export enum CasCheckType {
  CT_NO_CHECK = 0,
  CT_VALUE_NOT_EXIST = 1,
  CT_VALUE_NOT_EXIST_OR_EMPTY = 2,
  CT_VALUE_EXIST = 3,
  CT_VALUE_NOT_EMPTY = 4,
  CT_VALUE_MATCH_ANYWHERE = 5,
  CT_VALUE_MATCH_PREFIX = 6,
  CT_VALUE_MATCH_POSTFIX = 7,
  CT_VALUE_BYTES_LESS = 8,
  CT_VALUE_BYTES_LESS_OR_EQUAL = 9,
  CT_VALUE_BYTES_EQUAL = 10,
  CT_VALUE_BYTES_GREATER_OR_EQUAL = 11,
  CT_VALUE_BYTES_GREATER = 12,
  CT_VALUE_INT_LESS = 13,
  CT_VALUE_INT_LESS_OR_EQUAL = 14,
  CT_VALUE_INT_EQUAL = 15,
  CT_VALUE_INT_GREATER_OR_EQUAL = 16,
  CT_VALUE_INT_GREATER = 17,
}

export enum MutateOperation {
  MO_PUT = 0,
  MO_DELETE = 1,
}

export enum UpdateType {
  UT_PUT = 0,
  UT_INCR = 1,
  UT_CHECK_AND_SET = 2,
  UT_CHECK_AND_MUTATE_PUT = 3,
  UT_CHECK_AND_MUTATE_REMOVE = 4,
}

// ---------------------------------------------------------------------------------------------

export interface UpdateRequest {
  /** Composite key `[u16 BE hash-key length][hash key][sort key]`. */
  key: Buffer;
  value: Buffer;
  expireTsSeconds: number;
  /** 4–7 are set only server-side, when an atomic write is turned into an idempotent put. */
  type?: UpdateType;
  checkValueReturned?: boolean;
  checkValueExist?: boolean;
  checkValue?: Buffer;
}
export const updateRequestCodec: StructType<UpdateRequest> = defineStruct<UpdateRequest>('update_request', [
  { id: 1, name: 'key', type: blobType },
  { id: 2, name: 'value', type: blobType },
  { id: 3, name: 'expireTsSeconds', type: i32Type },
  { id: 4, name: 'type', type: i32Type, optional: true },
  { id: 5, name: 'checkValueReturned', type: boolType, optional: true },
  { id: 6, name: 'checkValueExist', type: boolType, optional: true },
  { id: 7, name: 'checkValue', type: blobType, optional: true },
]);

export interface UpdateResponse {
  error: number;
  appId: number;
  partitionIndex: number;
  decree: bigint;
  server: string;
}
export const updateResponseCodec: StructType<UpdateResponse> = defineStruct<UpdateResponse>('update_response', [
  { id: 1, name: 'error', type: i32Type },
  { id: 2, name: 'appId', type: i32Type },
  { id: 3, name: 'partitionIndex', type: i32Type },
  { id: 4, name: 'decree', type: i64Type },
  { id: 5, name: 'server', type: stringType },
]);

export interface ReadResponse {
  error: number;
  value: Buffer;
  appId: number;
  partitionIndex: number;
  server: string;
}
export const readResponseCodec: StructType<ReadResponse> = defineStruct<ReadResponse>('read_response', [
  { id: 1, name: 'error', type: i32Type },
  { id: 2, name: 'value', type: blobType },
  { id: 3, name: 'appId', type: i32Type },
  { id: 4, name: 'partitionIndex', type: i32Type },
  // There is no field 5.
  { id: 6, name: 'server', type: stringType },
]);

export interface TtlResponse {
  error: number;
  ttlSeconds: number;
  appId: number;
  partitionIndex: number;
  server: string;
}
export const ttlResponseCodec: StructType<TtlResponse> = defineStruct<TtlResponse>('ttl_response', [
  { id: 1, name: 'error', type: i32Type },
  { id: 2, name: 'ttlSeconds', type: i32Type },
  { id: 3, name: 'appId', type: i32Type },
  { id: 4, name: 'partitionIndex', type: i32Type },
  { id: 6, name: 'server', type: stringType },
]);

export interface CountResponse {
  error: number;
  count: bigint;
  appId: number;
  partitionIndex: number;
  server: string;
}
export const countResponseCodec: StructType<CountResponse> = defineStruct<CountResponse>('count_response', [
  { id: 1, name: 'error', type: i32Type },
  { id: 2, name: 'count', type: i64Type },
  { id: 3, name: 'appId', type: i32Type },
  { id: 4, name: 'partitionIndex', type: i32Type },
  { id: 6, name: 'server', type: stringType },
]);

export interface KeyValue {
  /** A sort key (multi_put, multi_get) or a full composite key (scan responses). */
  key: Buffer;
  value: Buffer;
  expireTsSeconds?: number;
}
export const keyValueCodec: StructType<KeyValue> = defineStruct<KeyValue>('key_value', [
  { id: 1, name: 'key', type: blobType },
  { id: 2, name: 'value', type: blobType },
  { id: 3, name: 'expireTsSeconds', type: i32Type, optional: true },
]);

export interface MultiPutRequest {
  hashKey: Buffer;
  /** key = sort key. */
  kvs: KeyValue[];
  expireTsSeconds: number;
}
export const multiPutRequestCodec: StructType<MultiPutRequest> = defineStruct<MultiPutRequest>('multi_put_request', [
  { id: 1, name: 'hashKey', type: blobType },
  { id: 2, name: 'kvs', type: listOf(keyValueCodec) },
  { id: 3, name: 'expireTsSeconds', type: i32Type },
]);

export interface MultiRemoveRequest {
  hashKey: Buffer;
  sortKeys: Buffer[];
  /** Deprecated; ignored by the server. */
  maxCount: bigint;
}
export const multiRemoveRequestCodec: StructType<MultiRemoveRequest> = defineStruct<MultiRemoveRequest>('multi_remove_request', [
  { id: 1, name: 'hashKey', type: blobType },
  { id: 2, name: 'sortKeys', type: listOf(blobType) },
  { id: 3, name: 'maxCount', type: i64Type },
]);

export interface MultiRemoveResponse {
  error: number;
  count: bigint;
  appId: number;
  partitionIndex: number;
  decree: bigint;
  server: string;
}
export const multiRemoveResponseCodec: StructType<MultiRemoveResponse> = defineStruct<MultiRemoveResponse>('multi_remove_response', [
  { id: 1, name: 'error', type: i32Type },
  { id: 2, name: 'count', type: i64Type },
  { id: 3, name: 'appId', type: i32Type },
  { id: 4, name: 'partitionIndex', type: i32Type },
  { id: 5, name: 'decree', type: i64Type },
  { id: 6, name: 'server', type: stringType },
]);

export interface MultiGetRequest {
  hashKey: Buffer;
  /** Non-empty: point lookups of exactly these sort keys. */
  sortKeys: Buffer[];
  maxKvCount: number;
  maxKvSize: number;
  noValue: boolean;
  startSortkey: Buffer;
  stopSortkey: Buffer;
  startInclusive: boolean;
  stopInclusive: boolean;
  sortKeyFilterType: FilterType;
  sortKeyFilterPattern: Buffer;
  reverse: boolean;
}
export const multiGetRequestCodec: StructType<MultiGetRequest> = defineStruct<MultiGetRequest>('multi_get_request', [
  { id: 1, name: 'hashKey', type: blobType },
  { id: 2, name: 'sortKeys', type: listOf(blobType) },
  { id: 3, name: 'maxKvCount', type: i32Type },
  { id: 4, name: 'maxKvSize', type: i32Type },
  { id: 5, name: 'noValue', type: boolType },
  { id: 6, name: 'startSortkey', type: blobType },
  { id: 7, name: 'stopSortkey', type: blobType },
  { id: 8, name: 'startInclusive', type: boolType },
  { id: 9, name: 'stopInclusive', type: boolType },
  { id: 10, name: 'sortKeyFilterType', type: i32Type },
  { id: 11, name: 'sortKeyFilterPattern', type: blobType },
  { id: 12, name: 'reverse', type: boolType },
]);

export interface MultiGetResponse {
  error: number;
  /** key = sort key, ascending. */
  kvs: KeyValue[];
  appId: number;
  partitionIndex: number;
  server: string;
}
export const multiGetResponseCodec: StructType<MultiGetResponse> = defineStruct<MultiGetResponse>('multi_get_response', [
  { id: 1, name: 'error', type: i32Type },
  { id: 2, name: 'kvs', type: listOf(keyValueCodec) },
  { id: 3, name: 'appId', type: i32Type },
  { id: 4, name: 'partitionIndex', type: i32Type },
  { id: 6, name: 'server', type: stringType },
]);

export interface FullKey {
  hashKey: Buffer;
  sortKey: Buffer;
}
export const fullKeyCodec: StructType<FullKey> = defineStruct<FullKey>('full_key', [
  { id: 1, name: 'hashKey', type: blobType },
  { id: 2, name: 'sortKey', type: blobType },
]);

export interface BatchGetRequest {
  keys: FullKey[];
}
export const batchGetRequestCodec: StructType<BatchGetRequest> = defineStruct<BatchGetRequest>('batch_get_request', [
  { id: 1, name: 'keys', type: listOf(fullKeyCodec) },
]);

export interface FullData {
  hashKey: Buffer;
  sortKey: Buffer;
  value: Buffer;
}
export const fullDataCodec: StructType<FullData> = defineStruct<FullData>('full_data', [
  { id: 1, name: 'hashKey', type: blobType },
  { id: 2, name: 'sortKey', type: blobType },
  { id: 3, name: 'value', type: blobType },
]);

export interface BatchGetResponse {
  error: number;
  data: FullData[];
  appId: number;
  partitionIndex: number;
  server: string;
}
export const batchGetResponseCodec: StructType<BatchGetResponse> = defineStruct<BatchGetResponse>('batch_get_response', [
  { id: 1, name: 'error', type: i32Type },
  { id: 2, name: 'data', type: listOf(fullDataCodec) },
  { id: 3, name: 'appId', type: i32Type },
  { id: 4, name: 'partitionIndex', type: i32Type },
  { id: 6, name: 'server', type: stringType },
]);

export interface IncrRequest {
  key: Buffer;
  increment: bigint;
  /** 0 keeps the old expiry, > 0 sets it, < 0 clears it. */
  expireTsSeconds: number;
}
export const incrRequestCodec: StructType<IncrRequest> = defineStruct<IncrRequest>('incr_request', [
  { id: 1, name: 'key', type: blobType },
  { id: 2, name: 'increment', type: i64Type },
  { id: 3, name: 'expireTsSeconds', type: i32Type },
]);

export interface IncrResponse {
  error: number;
  newValue: bigint;
  appId: number;
  partitionIndex: number;
  decree: bigint;
  server: string;
}
export const incrResponseCodec: StructType<IncrResponse> = defineStruct<IncrResponse>('incr_response', [
  { id: 1, name: 'error', type: i32Type },
  { id: 2, name: 'newValue', type: i64Type },
  { id: 3, name: 'appId', type: i32Type },
  { id: 4, name: 'partitionIndex', type: i32Type },
  { id: 5, name: 'decree', type: i64Type },
  { id: 6, name: 'server', type: stringType },
]);

export interface CheckAndSetRequest {
  hashKey: Buffer;
  checkSortKey: Buffer;
  checkType: CasCheckType;
  checkOperand: Buffer;
  setDiffSortKey: boolean;
  /** Used only when setDiffSortKey is true. */
  setSortKey: Buffer;
  setValue: Buffer;
  setExpireTsSeconds: number;
  returnCheckValue: boolean;
}
export const checkAndSetRequestCodec: StructType<CheckAndSetRequest> = defineStruct<CheckAndSetRequest>('check_and_set_request', [
  { id: 1, name: 'hashKey', type: blobType },
  { id: 2, name: 'checkSortKey', type: blobType },
  { id: 3, name: 'checkType', type: i32Type },
  { id: 4, name: 'checkOperand', type: blobType },
  { id: 5, name: 'setDiffSortKey', type: boolType },
  { id: 6, name: 'setSortKey', type: blobType },
  { id: 7, name: 'setValue', type: blobType },
  { id: 8, name: 'setExpireTsSeconds', type: i32Type },
  { id: 9, name: 'returnCheckValue', type: boolType },
]);

/** check_and_set_response and check_and_mutate_response share this layout. */
export interface CheckAndSetResponse {
  /** 13 (kTryAgain) when the check did not pass. */
  error: number;
  checkValueReturned: boolean;
  /** Meaningful only if checkValueReturned. */
  checkValueExist: boolean;
  /** Meaningful only if checkValueReturned and checkValueExist. */
  checkValue: Buffer;
  appId: number;
  partitionIndex: number;
  decree: bigint;
  server: string;
}
export type CheckAndMutateResponse = CheckAndSetResponse;

function checkResponseStruct(name: string): StructType<CheckAndSetResponse> {
  return defineStruct<CheckAndSetResponse>(name, [
    { id: 1, name: 'error', type: i32Type },
    { id: 2, name: 'checkValueReturned', type: boolType },
    { id: 3, name: 'checkValueExist', type: boolType },
    { id: 4, name: 'checkValue', type: blobType },
    { id: 5, name: 'appId', type: i32Type },
    { id: 6, name: 'partitionIndex', type: i32Type },
    { id: 7, name: 'decree', type: i64Type },
    { id: 8, name: 'server', type: stringType },
  ]);
}
export const checkAndSetResponseCodec = checkResponseStruct('check_and_set_response');
export const checkAndMutateResponseCodec = checkResponseStruct('check_and_mutate_response');

export interface Mutate {
  operation: MutateOperation;
  sortKey: Buffer;
  /** Empty for MO_DELETE. */
  value: Buffer;
  /** 0 for MO_DELETE. */
  setExpireTsSeconds: number;
}
export const mutateCodec: StructType<Mutate> = defineStruct<Mutate>('mutate', [
  { id: 1, name: 'operation', type: i32Type },
  { id: 2, name: 'sortKey', type: blobType },
  { id: 3, name: 'value', type: blobType },
  { id: 4, name: 'setExpireTsSeconds', type: i32Type },
]);

export interface CheckAndMutateRequest {
  hashKey: Buffer;
  checkSortKey: Buffer;
  checkType: CasCheckType;
  checkOperand: Buffer;
  mutateList: Mutate[];
  returnCheckValue: boolean;
}
export const checkAndMutateRequestCodec: StructType<CheckAndMutateRequest> = defineStruct<CheckAndMutateRequest>('check_and_mutate_request', [
  { id: 1, name: 'hashKey', type: blobType },
  { id: 2, name: 'checkSortKey', type: blobType },
  { id: 3, name: 'checkType', type: i32Type },
  { id: 4, name: 'checkOperand', type: blobType },
  { id: 5, name: 'mutateList', type: listOf(mutateCodec) },
  { id: 6, name: 'returnCheckValue', type: boolType },
]);

export interface GetScannerRequest {
  /** Full composite keys. */
  startKey: Buffer;
  stopKey: Buffer;
  startInclusive: boolean;
  stopInclusive: boolean;
  batchSize: number;
  noValue: boolean;
  hashKeyFilterType: FilterType;
  hashKeyFilterPattern: Buffer;
  sortKeyFilterType: FilterType;
  sortKeyFilterPattern: Buffer;
  /** Absent means true (server-side default). */
  validatePartitionHash?: boolean;
  returnExpireTs?: boolean;
  fullScan?: boolean;
  /** Absent means false. */
  onlyReturnCount?: boolean;
}
export const getScannerRequestCodec: StructType<GetScannerRequest> = defineStruct<GetScannerRequest>('get_scanner_request', [
  { id: 1, name: 'startKey', type: blobType },
  { id: 2, name: 'stopKey', type: blobType },
  { id: 3, name: 'startInclusive', type: boolType },
  { id: 4, name: 'stopInclusive', type: boolType },
  { id: 5, name: 'batchSize', type: i32Type },
  { id: 6, name: 'noValue', type: boolType },
  { id: 7, name: 'hashKeyFilterType', type: i32Type },
  { id: 8, name: 'hashKeyFilterPattern', type: blobType },
  { id: 9, name: 'sortKeyFilterType', type: i32Type },
  { id: 10, name: 'sortKeyFilterPattern', type: blobType },
  { id: 11, name: 'validatePartitionHash', type: boolType, optional: true },
  { id: 12, name: 'returnExpireTs', type: boolType, optional: true },
  { id: 13, name: 'fullScan', type: boolType, optional: true },
  { id: 14, name: 'onlyReturnCount', type: boolType, optional: true },
]);

export interface ScanRequest {
  contextId: bigint;
}
export const scanRequestCodec: StructType<ScanRequest> = defineStruct<ScanRequest>('scan_request', [
  { id: 1, name: 'contextId', type: i64Type },
]);

/** Scanner context ids with a meaning of their own (clients' constants). */
export const SCAN_CONTEXT_ID_COMPLETED = -1n;
export const SCAN_CONTEXT_ID_NOT_EXIST = -2n;

export interface ScanResponse {
  error: number;
  /** key = full composite key. */
  kvs: KeyValue[];
  /** >= 0: more data, continue with scan; -1: completed. */
  contextId: bigint;
  appId: number;
  partitionIndex: number;
  server: string;
  /** Set when the request asked only_return_count. */
  kvCount?: number;
}
export const scanResponseCodec: StructType<ScanResponse> = defineStruct<ScanResponse>('scan_response', [
  { id: 1, name: 'error', type: i32Type },
  { id: 2, name: 'kvs', type: listOf(keyValueCodec) },
  { id: 3, name: 'contextId', type: i64Type },
  { id: 4, name: 'appId', type: i32Type },
  { id: 5, name: 'partitionIndex', type: i32Type },
  { id: 6, name: 'server', type: stringType },
  { id: 7, name: 'kvCount', type: i32Type, optional: true },
]);
