// Scanners: get_scanner starts a walk over full composite keys and, when more data remains, parks
// the walk in a context with an id; scan continues it; clear_scanner drops it (spec pegasus-arch
// §1.13). As in Pegasus, continuing a context gives it a new id, an idle context is dropped after
// a timeout (5 minutes by default), and a scan on an unknown id answers kNotFound (1), so clients
// restart from their last key.
//
// Pegasus walks a hash-key scanner with a prefix-seek iterator (it ends with the start key's hash
// key) and a full scan in total order; the walk here is bounded the same way, so the "more data"
// answers match. Deviation: an empty range, or a walk stopped by the time limit, answers
// context_id -1 where Pegasus leaves the field at 0 (a valid-looking id).
import { randomInt } from 'node:crypto';
import { compositeKeyHash, partitionIndexOf } from '../../base/index.ts';
import { compositeKeyOf, decodeKey, decodeValue, encodeKey, isExpireTsPassed, isValidKey, prefixSuccessor, type ReadOptions, type ReplicaStore } from '../../storage/index.ts';
import { FilterType, SCAN_CONTEXT_ID_COMPLETED, type GetScannerRequest, type KeyValue, type ScanResponse } from '../../wire/index.ts';
import { STATUS_INCOMPLETE, STATUS_INVALID_ARGUMENT, STATUS_NOT_FOUND, STATUS_OK } from '../status.ts';
import { isFilterTypeSupported, matchesFilter } from '../predicates.ts';
import { IterationLimiter, LookaheadCursor, openLookahead } from './range-read.ts';
import type { ResponseBase } from './read-ops.ts';

/** What a scan walk keeps between requests. */
interface ScanWalk {
  cursor: LookaheadCursor;
  stop: Buffer;
  stopInclusive: boolean;
  hashKeyFilterType: number;
  hashKeyFilterPattern: Buffer;
  sortKeyFilterType: number;
  sortKeyFilterPattern: Buffer;
  /** Records per response, already capped by `rocksdb_max_iteration_count`. */
  batchCount: number;
  noValue: boolean;
  validatePartitionHash: boolean;
  returnExpireTs: boolean;
  onlyReturnCount: boolean;
}

interface ParkedWalk {
  walk: ScanWalk;
  timer: NodeJS.Timeout;
}

export interface ScanContext {
  store: ReplicaStore;
  base: ResponseBase;
  /** Seconds since 2016. */
  now: number;
  /** Engine options of the walk's cursor (`fillCache` from `replica.rocksdb_block_cache_enabled`). */
  readOptions: ReadOptions;
  partitionCount: number;
  /** The table env `replica.split.validate_partition_hash`: skip keys of other partitions. */
  splitValidatePartitionHash: boolean;
  maxIterationCount: number;
  iterationThresholdMs: number;
  expired(count: number): void;
  filtered(count: number): void;
}

/** The parked walks of one replica. Ids start at a random 32-bit value shifted left by 32. */
export class ScannerContexts {
  private readonly parked = new Map<bigint, ParkedWalk>();
  private nextId = BigInt(randomInt(0x7fffffff)) << 32n;
  private closed = false;

  constructor(
    private readonly idleTimeoutMs: () => number,
    private readonly contextsMax: () => number,
  ) {}

  get size(): number {
    return this.parked.size;
  }

  /** Parks a walk; returns its id. The least recently parked walk goes when the registry is full. */
  put(walk: ScanWalk): bigint {
    if (this.closed) {
      void walk.cursor.close();
      return SCAN_CONTEXT_ID_COMPLETED;
    }
    while (this.parked.size >= this.contextsMax()) {
      const oldest = this.parked.keys().next().value as bigint;
      this.drop(oldest);
    }
    const id = this.nextId;
    this.nextId += 1n;
    const timer = setTimeout(() => this.drop(id), this.idleTimeoutMs());
    timer.unref();
    this.parked.set(id, { walk, timer });
    return id;
  }

  /** Takes a walk out of the registry (it is re-parked under a new id if it continues). */
  take(id: bigint): ScanWalk | undefined {
    const parked = this.parked.get(id);
    if (parked === undefined) return undefined;
    clearTimeout(parked.timer);
    this.parked.delete(id);
    return parked.walk;
  }

  drop(id: bigint): void {
    const walk = this.take(id);
    if (walk) void walk.cursor.close().catch(() => undefined);
  }

  /** Drops every walk; later puts close their walk at once. */
  async close(): Promise<void> {
    this.closed = true;
    await this.clear();
  }

  /** Drops every walk (the replica stopped serving reads). */
  async clear(): Promise<void> {
    const walks = [...this.parked.keys()].map((id) => this.take(id)!);
    await Promise.all(walks.map((walk) => walk.cursor.close().catch(() => undefined)));
  }
}

type RecordState = 'normal' | 'expired' | 'filtered' | 'other_partition';

function classify(context: ScanContext, walk: ScanWalk, key: Buffer, raw: Buffer): { state: RecordState; expireTs: number; userData: Buffer } {
  const parts = decodeValue(raw, context.store.dataVersion);
  if (isExpireTsPassed(parts.expireTs, context.now)) return { state: 'expired', ...parts };
  if (walk.validatePartitionHash && context.splitValidatePartitionHash) {
    if (partitionIndexOf(compositeKeyHash(key), context.partitionCount) !== context.base.partitionIndex) return { state: 'other_partition', ...parts };
  }
  if (walk.hashKeyFilterType !== FilterType.FT_NO_FILTER || walk.sortKeyFilterType !== FilterType.FT_NO_FILTER) {
    const { hashKey, sortKey } = decodeKey(key);
    if (walk.hashKeyFilterType !== FilterType.FT_NO_FILTER && !matchesFilter(walk.hashKeyFilterType, walk.hashKeyFilterPattern, hashKey)) {
      return { state: 'filtered', ...parts };
    }
    if (walk.sortKeyFilterType !== FilterType.FT_NO_FILTER && !matchesFilter(walk.sortKeyFilterType, walk.sortKeyFilterPattern, sortKey)) {
      return { state: 'filtered', ...parts };
    }
  }
  return { state: 'normal', ...parts };
}

interface StepResult {
  kvs: KeyValue[];
  count: number;
  complete: boolean;
}

/**
 * Walks until `batchCount` records were returned, the limiter stops it, the range ends or a key
 * passes `stop`. `skipStart` drops the first key if it equals it (an exclusive start).
 */
async function walkStep(context: ScanContext, walk: ScanWalk, limiter: IterationLimiter, skipStart: Buffer | undefined): Promise<StepResult> {
  const kvs: KeyValue[] = [];
  let count = 0;
  let expired = 0;
  let filtered = 0;
  let complete = false;
  let skip = skipStart;
  while (count < walk.batchCount && limiter.valid()) {
    const entry = await walk.cursor.peek();
    if (entry === undefined) break;
    const key = compositeKeyOf(entry[0]);
    const toStop = Buffer.compare(key, walk.stop);
    if (toStop > 0 || (toStop === 0 && !walk.stopInclusive)) {
      complete = true;
      break;
    }
    if (skip !== undefined) {
      const first = skip;
      skip = undefined;
      if (key.equals(first)) {
        walk.cursor.advance();
        continue;
      }
    }
    limiter.count += 1;
    if (isValidKey(key)) {
      const record = classify(context, walk, key, entry[1]);
      if (record.state === 'normal') {
        count += 1;
        if (!walk.onlyReturnCount) {
          const kv: KeyValue = { key: Buffer.from(key), value: walk.noValue ? Buffer.alloc(0) : record.userData };
          if (walk.returnExpireTs) kv.expireTsSeconds = record.expireTs | 0;
          kvs.push(kv);
        }
      } else if (record.state === 'expired') {
        expired += 1;
      } else if (record.state === 'filtered') {
        filtered += 1;
      }
    }
    if (toStop === 0) {
      complete = true;
      break;
    }
    walk.cursor.advance();
  }
  context.expired(expired);
  context.filtered(filtered);
  return { kvs, count, complete };
}

/** Ends a step: parks the walk if data remains, else closes it; builds the response. */
async function finishStep(context: ScanContext, contexts: ScannerContexts, walk: ScanWalk, limiter: IterationLimiter, step: StepResult): Promise<ScanResponse> {
  const response: ScanResponse = { error: STATUS_OK, kvs: step.kvs, contextId: SCAN_CONTEXT_ID_COMPLETED, ...context.base };
  if (walk.onlyReturnCount) response.kvCount = step.count;
  if (!step.complete) limiter.timeCheckAfterIncomplete();
  if (limiter.exceededTime) {
    response.error = STATUS_INCOMPLETE;
    await walk.cursor.close();
  } else if (!step.complete && (await walk.cursor.peek()) !== undefined) {
    response.contextId = contexts.put(walk);
  } else {
    await walk.cursor.close();
  }
  return response;
}

/** get_scanner. */
export async function startScan(context: ScanContext, contexts: ScannerContexts, request: GetScannerRequest): Promise<ScanResponse> {
  const answer = (error: number): ScanResponse => ({ error, kvs: [], contextId: SCAN_CONTEXT_ID_COMPLETED, ...context.base });
  if (!isFilterTypeSupported(request.hashKeyFilterType) || !isFilterTypeSupported(request.sortKeyFilterType)) return answer(STATUS_INVALID_ARGUMENT);

  let start = request.startKey;
  let startInclusive = request.startInclusive;
  const stop = request.stopKey;
  const stopInclusive = request.stopInclusive;
  // A hash-key scanner's walk ends with its hash key; a full scan (or one without a start hash
  // key) walks the whole partition.
  const startHashKey = isValidKey(start) ? decodeKey(start).hashKey : Buffer.alloc(0);
  const totalOrder = startHashKey.length === 0 || request.fullScan === true;
  if (request.hashKeyFilterType === FilterType.FT_MATCH_PREFIX && request.hashKeyFilterPattern.length > 0) {
    let prefixStart: Buffer;
    try {
      prefixStart = encodeKey(request.hashKeyFilterPattern, Buffer.alloc(0));
    } catch {
      return answer(STATUS_INVALID_ARGUMENT);
    }
    if (Buffer.compare(prefixStart, start) > 0) {
      start = prefixStart;
      startInclusive = true;
    }
  }
  const order = Buffer.compare(start, stop);
  if (order > 0 || (order === 0 && (!startInclusive || !stopInclusive))) return answer(STATUS_OK);

  const upper = totalOrder ? undefined : prefixSuccessor(encodeKey(startHashKey, Buffer.alloc(0)));
  const walk: ScanWalk = {
    cursor: openLookahead(context.store, upper === undefined ? { gte: start } : { gte: start, lt: upper }, false, context.readOptions),
    stop: Buffer.from(stop),
    stopInclusive,
    hashKeyFilterType: request.hashKeyFilterType,
    hashKeyFilterPattern: Buffer.from(request.hashKeyFilterPattern),
    sortKeyFilterType: request.sortKeyFilterType,
    sortKeyFilterPattern: Buffer.from(request.sortKeyFilterPattern),
    batchCount: request.batchSize > 0 && request.batchSize < context.maxIterationCount ? request.batchSize : context.maxIterationCount,
    noValue: request.noValue,
    validatePartitionHash: request.validatePartitionHash ?? true,
    returnExpireTs: request.returnExpireTs ?? false,
    onlyReturnCount: request.onlyReturnCount ?? false,
  };
  try {
    const limiter = new IterationLimiter(context.maxIterationCount, 0, context.iterationThresholdMs);
    const step = await walkStep(context, walk, limiter, startInclusive ? undefined : start);
    return await finishStep(context, contexts, walk, limiter, step);
  } catch (error) {
    await walk.cursor.close().catch(() => undefined);
    throw error;
  }
}

/** scan: continues a parked walk. */
export async function continueScan(context: ScanContext, contexts: ScannerContexts, contextId: bigint): Promise<ScanResponse> {
  const walk = contexts.take(contextId);
  if (walk === undefined) return { error: STATUS_NOT_FOUND, kvs: [], contextId: SCAN_CONTEXT_ID_COMPLETED, ...context.base };
  try {
    const limiter = new IterationLimiter(walk.batchCount, 0, context.iterationThresholdMs);
    const step = await walkStep(context, walk, limiter, undefined);
    return await finishStep(context, contexts, walk, limiter, step);
  } catch (error) {
    await walk.cursor.close().catch(() => undefined);
    throw error;
  }
}
