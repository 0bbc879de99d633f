// The Pegasus client API, and all the client package exports: createClient({ metaServers,
// timeoutMs }) → openTable(name) → get, set, del, multiGet, multiGetRange, multiGetSortKeys,
// multiSet, multiDel, delRange, incr, checkAndSet, checkAndMutate, sortKeyCount, ttl, exist,
// batchGet, batchSet, batchDel, batchMultiGet, batchMultiSet, batchMultiDel, getScanner,
// getUnorderedScanners. Routing and retry internals stay behind it. It imports nothing that
// declares server flags or starts a logger.
export { createClient, PegasusClient, CLIENT_DEFAULTS, type ClientOptions, type OpenTableOptions } from './client.ts';
export {
  PegasusTable, MULTI_GET_DEFAULTS, SCAN_DEFAULTS, DEL_RANGE_BATCH,
  type OperationOptions, type MultiGetOptions, type MultiGetResult, type MultiGetSortKeysResult, type SortKeyValue, type MultiSetInput,
  type IncrOptions, type CheckAndSetOptions, type CheckAndSetResult, type CheckAndMutateOptions, type CheckAndMutateResult, type Mutation,
  type ScanOptions, type Filter, type FilterTypeName, type FullKeyInput, type DelRangeOptions, type SetInput, type MultiGetInput,
  type MultiSetBatchInput, type MultiDelInput,
} from './table.ts';
export { PegasusScanner, type ScanEntry } from './scanner.ts';
export {
  PegasusError, isPegasusError, storageErrorName, STORAGE_ERROR_NAMES, emptyOperationInfo,
  type OperationInfo, type PegasusErrorCode, type StorageErrorName,
} from './errors.ts';
export { toBuffer, encodeCompositeKey, decodeCompositeKey, hashKeyRangeEnd, successorOfPrefix, HASH_KEY_BYTES_MAX, type Bytes } from './keys.ts';
export { expireTsFromTtl, nowSincePegasusEpochSeconds, PEGASUS_EPOCH_UNIX_SECONDS } from './ttl.ts';
export { CasCheckType, FilterType } from '../wire/structs/rrdb.ts';
