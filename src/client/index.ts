// The Pegasus client API: createClient({ metaServers, timeoutMs }) → openTable(name) → get,
// set, del, multiGet, multiSet, multiDel, incr, checkAndSet, checkAndMutate, sortKeyCount, ttl,
// exist, batchGet, getScanner, getUnorderedScanners.
export { createClient, PegasusClient, CLIENT_DEFAULTS, type ClientOptions, type OpenTableOptions } from './client.ts';
export {
  PegasusTable, MULTI_GET_DEFAULTS, SCAN_DEFAULTS,
  type OperationOptions, type MultiGetOptions, type MultiGetResult, type SortKeyValue, type MultiSetInput, type IncrOptions,
  type CheckAndSetOptions, type CheckAndSetResult, type CheckAndMutateOptions, type CheckAndMutateResult, type Mutation,
  type ScanOptions, type Filter, type FilterTypeName, type FullKeyInput,
} from './table.ts';
export { PegasusScanner, type ScanEntry } from './scanner.ts';
export {
  PegasusError, isPegasusError, storageErrorName, STORAGE_ERROR_NAMES, emptyOperationInfo, type OperationInfo,
} from './errors.ts';
export { toBuffer, encodeCompositeKey, decodeCompositeKey, hashKeyRangeEnd, successorOfPrefix, HASH_KEY_BYTES_MAX, type Bytes } from './keys.ts';
export { expireTsFromTtl, nowSincePegasusEpochSeconds, PEGASUS_EPOCH_UNIX_SECONDS } from './ttl.ts';
export { MetaResolver } from './meta-resolver.ts';
export { MetaList, forwardHint, LEARNED_METAS_MAX } from './meta-list.ts';
export { MetaClient, META_CLIENT_DEFAULTS, leaderHint, type MetaCaller, type MetaClientOptions, type MetaReply } from './meta-client.ts';
export { TableRouter, reactionTo, type RetryPolicy, type RoutingTable } from './router.ts';
export { CasCheckType, FilterType } from '../wire/index.ts';
