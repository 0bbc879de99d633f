// The read RPCs of one replica (spec pegasus-arch §1.13): get, ttl, multi_get, batch_get and
// sortkey_count, with Pegasus's limits and status codes. Expired records are never returned.
//
// Range reads walk keys the way Pegasus's RocksDB iterators do: a forward multi_get stays within
// its hash key (prefix seek), a reverse one may look at keys before it (total-order seek). That
// matters for one visible detail: when a limit stops a walk, the answer is kIncomplete (7) if the
// iterator still points at a key, even one past the requested range.
import type { ReadOptions, ReplicaStore } from '../../storage/index.ts';
import { compositeKeyOf, dataStoreKey, decodeKey, decodeValue, encodeKey, hashKeyBounds, isExpireTsPassed, prefixSuccessor, readExpireTs } from '../../storage/index.ts';
import type { BatchGetRequest, BatchGetResponse, CountResponse, FullData, KeyValue, MultiGetRequest, MultiGetResponse, ReadResponse, TtlResponse } from '../../wire/index.ts';
import { FilterType } from '../../wire/index.ts';
import { STATUS_INCOMPLETE, STATUS_INVALID_ARGUMENT, STATUS_NOT_FOUND, STATUS_OK } from '../status.ts';
import { IterationLimiter, openLookahead } from './range-read.ts';
import { isFilterTypeSupported, matchesFilter } from '../predicates.ts';

/** The identity every data response carries. */
export interface ResponseBase {
  appId: number;
  partitionIndex: number;
  server: string;
}

/** What a read needs of its replica. */
export interface ReadContext {
  store: ReplicaStore;
  base: ResponseBase;
  /** Seconds since 2016. */
  now: number;
  /** Engine options of every read (`fillCache` from `replica.rocksdb_block_cache_enabled`). */
  readOptions: ReadOptions;
  limits: {
    multiGetMaxIterationCount: number;
    multiGetMaxIterationSize: number;
    /** Scanner batches and time checks: `rocksdb_max_iteration_count`. */
    maxIterationCount: number;
    iterationThresholdMs: number;
  };
  /** Counted into the replica's read_expired_values / read_filtered_values. */
  expired(count: number): void;
  filtered(count: number): void;
}

const EMPTY = Buffer.alloc(0);
const INT32_MAX = 0x7fffffff;

function compositeKey(hashKey: Buffer, sortKey: Buffer): Buffer | undefined {
  try {
    return encodeKey(hashKey, sortKey);
  } catch {
    return undefined;
  }
}

// Point reads (get, ttl) run on the JS thread: a LevelDB lookup that hits its caches takes
// microseconds, less than the thread-pool round trip an asynchronous get costs.
export function readGet(context: ReadContext, key: Buffer): ReadResponse {
  const raw = context.store.engine.getSync(dataStoreKey(key), context.readOptions);
  if (raw === undefined) return { error: STATUS_NOT_FOUND, value: EMPTY, ...context.base };
  const parts = decodeValue(raw, context.store.dataVersion);
  if (isExpireTsPassed(parts.expireTs, context.now)) {
    context.expired(1);
    return { error: STATUS_NOT_FOUND, value: EMPTY, ...context.base };
  }
  return { error: STATUS_OK, value: parts.userData, ...context.base };
}

export function readTtl(context: ReadContext, key: Buffer): TtlResponse {
  const raw = context.store.engine.getSync(dataStoreKey(key), context.readOptions);
  if (raw === undefined) return { error: STATUS_NOT_FOUND, ttlSeconds: 0, ...context.base };
  const expireTs = readExpireTs(raw, context.store.dataVersion);
  if (isExpireTsPassed(expireTs, context.now)) {
    context.expired(1);
    return { error: STATUS_NOT_FOUND, ttlSeconds: 0, ...context.base };
  }
  return { error: STATUS_OK, ttlSeconds: expireTs > 0 ? expireTs - context.now : -1, ...context.base };
}

export async function readBatchGet(context: ReadContext, request: BatchGetRequest): Promise<BatchGetResponse> {
  if (request.keys.length === 0) return { error: STATUS_INVALID_ARGUMENT, data: [], ...context.base };
  const keys = request.keys.map((key) => compositeKey(key.hashKey, key.sortKey));
  if (keys.some((key) => key === undefined)) return { error: STATUS_INVALID_ARGUMENT, data: [], ...context.base };
  const raws = await context.store.engine.getMany(keys.map((key) => dataStoreKey(key!)), context.readOptions);
  const data: FullData[] = [];
  let expired = 0;
  raws.forEach((raw, index) => {
    if (raw === undefined) return;
    const parts = decodeValue(raw, context.store.dataVersion);
    if (isExpireTsPassed(parts.expireTs, context.now)) {
      expired += 1;
      return;
    }
    const { hashKey, sortKey } = request.keys[index]!;
    data.push({ hashKey, sortKey, value: parts.userData });
  });
  context.expired(expired);
  return { error: STATUS_OK, data, ...context.base };
}

export async function readSortKeyCount(context: ReadContext, hashKey: Buffer): Promise<CountResponse> {
  let bounds;
  try {
    bounds = hashKeyBounds(hashKey);
  } catch {
    return { error: STATUS_INVALID_ARGUMENT, count: 0n, ...context.base };
  }
  const cursor = openLookahead(context.store, bounds, false, context.readOptions);
  // Only the clock limits a count; the count budget just spaces out the clock checks.
  const limiter = new IterationLimiter(context.limits.maxIterationCount, 0, context.limits.iterationThresholdMs);
  let count = 0;
  let expired = 0;
  try {
    for (;;) {
      if (!limiter.timeCheck()) break;
      const entry = await cursor.peek();
      if (entry === undefined) break;
      limiter.count += 1;
      if (isExpireTsPassed(readExpireTs(entry[1], context.store.dataVersion), context.now)) expired += 1;
      else count += 1;
      cursor.advance();
    }
  } finally {
    await cursor.close();
  }
  context.expired(expired);
  return { error: STATUS_OK, count: limiter.exceededTime ? -1n : BigInt(count), ...context.base };
}

export async function readMultiGet(context: ReadContext, request: MultiGetRequest): Promise<MultiGetResponse> {
  const answer = (error: number, kvs: KeyValue[] = []): MultiGetResponse => ({ error, kvs, ...context.base });
  if (!isFilterTypeSupported(request.sortKeyFilterType)) return answer(STATUS_INVALID_ARGUMENT);
  const iterationCountMax = context.limits.multiGetMaxIterationCount;
  const kvCountMax = request.maxKvCount > 0 && request.maxKvCount < iterationCountMax ? request.maxKvCount : iterationCountMax;
  const kvSizeMax = request.maxKvSize > 0 ? request.maxKvSize : INT32_MAX;
  if (request.sortKeys.length > 0) return multiGetPoints(context, request, kvCountMax, kvSizeMax);
  const configSize = context.limits.multiGetMaxIterationSize > 0 ? context.limits.multiGetMaxIterationSize : INT32_MAX;
  return multiGetRange(context, request, kvCountMax, iterationCountMax, Math.min(kvSizeMax, configSize));
}

async function multiGetPoints(context: ReadContext, request: MultiGetRequest, kvCountMax: number, kvSizeMax: number): Promise<MultiGetResponse> {
  const keys = request.sortKeys.map((sortKey) => compositeKey(request.hashKey, sortKey));
  if (keys.some((key) => key === undefined)) return { error: STATUS_INVALID_ARGUMENT, kvs: [], ...context.base };
  const raws = await context.store.engine.getMany(keys.map((key) => dataStoreKey(key!)), context.readOptions);
  const kvs: KeyValue[] = [];
  let size = 0;
  let expired = 0;
  let error = STATUS_OK;
  for (let index = 0; index < raws.length; index++) {
    const raw = raws[index];
    if (raw === undefined) continue;
    const parts = decodeValue(raw, context.store.dataVersion);
    if (isExpireTsPassed(parts.expireTs, context.now)) {
      expired += 1;
      continue;
    }
    if (kvs.length >= kvCountMax || size >= kvSizeMax) {
      error = STATUS_INCOMPLETE;
      break;
    }
    const kv: KeyValue = { key: request.sortKeys[index]!, value: request.noValue ? EMPTY : parts.userData };
    size += kv.key.length + kv.value.length;
    kvs.push(kv);
  }
  context.expired(expired);
  return { error, kvs, ...context.base };
}

async function multiGetRange(
  context: ReadContext,
  request: MultiGetRequest,
  kvCountMax: number,
  iterationCountMax: number,
  iterationSizeMax: number,
): Promise<MultiGetResponse> {
  const { hashKey } = request;
  let start = compositeKey(hashKey, request.startSortkey);
  let stop = request.stopSortkey.length === 0 ? undefined : compositeKey(hashKey, request.stopSortkey);
  if (start === undefined || (request.stopSortkey.length > 0 && stop === undefined)) {
    return { error: STATUS_INVALID_ARGUMENT, kvs: [], ...context.base };
  }
  const hashKeyEnd = prefixSuccessor(start.subarray(0, 2 + hashKey.length))!;
  let startInclusive = request.startInclusive;
  let stopInclusive = stop === undefined ? false : request.stopInclusive;
  stop ??= hashKeyEnd;

  // A prefix filter narrows the range to the keys that can match it.
  if (request.sortKeyFilterType === FilterType.FT_MATCH_PREFIX && request.sortKeyFilterPattern.length > 0) {
    const prefixStart = compositeKey(hashKey, request.sortKeyFilterPattern)!;
    const prefixStop = prefixSuccessor(prefixStart)!;
    if (Buffer.compare(prefixStart, start) > 0) {
      start = prefixStart;
      startInclusive = true;
    }
    if (Buffer.compare(prefixStop, stop) <= 0) {
      stop = prefixStop;
      stopInclusive = false;
    }
  }
  const order = Buffer.compare(start, stop);
  if (order > 0 || (order === 0 && (!startInclusive || !stopInclusive))) return { error: STATUS_OK, kvs: [], ...context.base };

  const limiter = new IterationLimiter(iterationCountMax, iterationSizeMax, context.limits.iterationThresholdMs);
  const cursor = request.reverse
    ? openLookahead(context.store, { lte: stop }, true, context.readOptions)
    : openLookahead(context.store, { gte: start, lt: hashKeyEnd }, false, context.readOptions);
  // Forward: stop bounds the walk and start may be skipped once; reverse: the other way round.
  const [near, nearInclusive, far, farInclusive] = request.reverse
    ? [stop, stopInclusive, start, startInclusive]
    : [start, startInclusive, stop, stopInclusive];
  const farSign = request.reverse ? -1 : 1;
  const kvs: KeyValue[] = [];
  let complete = false;
  let skipNear = !nearInclusive;
  let expired = 0;
  let filtered = 0;
  try {
    while (kvs.length < kvCountMax && limiter.valid()) {
      const entry = await cursor.peek();
      if (entry === undefined) break;
      const key = compositeKeyOf(entry[0]);
      const toFar = Buffer.compare(key, far) * farSign;
      if (toFar > 0 || (toFar === 0 && !farInclusive)) {
        complete = true;
        break;
      }
      if (skipNear) {
        skipNear = false;
        if (key.equals(near)) {
          cursor.advance();
          continue;
        }
      }
      limiter.count += 1;
      const parts = decodeValue(entry[1], context.store.dataVersion);
      if (isExpireTsPassed(parts.expireTs, context.now)) {
        expired += 1;
      } else {
        const sortKey = decodeKey(key).sortKey;
        if (request.sortKeyFilterType !== FilterType.FT_NO_FILTER && !matchesFilter(request.sortKeyFilterType, request.sortKeyFilterPattern, sortKey)) {
          filtered += 1;
        } else {
          const kv: KeyValue = { key: sortKey, value: request.noValue ? EMPTY : parts.userData };
          kvs.push(kv);
          limiter.size += kv.key.length + kv.value.length;
        }
      }
      if (toFar === 0) {
        complete = true;
        break;
      }
      cursor.advance();
    }
    const more = !complete && (await cursor.peek()) !== undefined;
    context.expired(expired);
    context.filtered(filtered);
    if (request.reverse) kvs.reverse();
    return { error: more ? STATUS_INCOMPLETE : STATUS_OK, kvs, ...context.base };
  } finally {
    await cursor.close();
  }
}
