// The data operations of one table, with the Pegasus client API (spec pegasus-arch §1.13):
// keys and values as Buffers or strings, TTLs in seconds, results as plain values. A missing
// record is `undefined`, an incomplete multi_get is `allFetched: false`, a failed check is
// `setSucceed: false`; every failure is a PegasusError.
import { hashKeyHash, recordHash } from '../base/crc64.ts';
import {
  CasCheckType, FilterType, MutateOperation, RPCS, type CheckAndSetResponse, type DuplicateRequest, type DuplicateResponse, type FullKey,
  type MultiGetRequest, type Mutate,
} from '../wire/index.ts';
import {
  emptyOperationInfo, PegasusError, storageErrorName, untilAborted, STORAGE_INCOMPLETE, STORAGE_NOT_FOUND, STORAGE_OK, STORAGE_TRY_AGAIN,
  type OperationInfo,
} from './errors.ts';
import {
  compareBytes, encodeCompositeKey, hashKeyBytes, hashKeyRangeEnd, successorOfPrefix, toBuffer, type Bytes,
} from './keys.ts';
import type { RequestOutcome, RequestSpec, ResponseOrigin, TableRouter } from './router.ts';
import { PegasusScanner, type ScanRange, type ScanSplit } from './scanner.ts';
import { expireTsFromTtl } from './ttl.ts';

export interface OperationOptions {
  /** This operation's deadline, overriding the client's timeoutMs. */
  timeoutMs?: number;
  /** Filled in with where the operation ran (also when it fails). */
  info?: OperationInfo;
  /** Cancels the operation: it fails with ERR_ABORTED (a write already sent may still apply). */
  signal?: AbortSignal;
}

export type FilterTypeName = 'none' | 'anywhere' | 'prefix' | 'postfix';

export interface Filter {
  type: FilterType | FilterTypeName;
  pattern: Bytes;
}

export interface MultiGetOptions extends OperationOptions {
  /** Default true. */
  startInclusive?: boolean;
  /** Default false. */
  stopInclusive?: boolean;
  /** At most this many records (default 100; ≤ 0 = the server's limit). */
  maxKvCount?: number;
  /** At most this many bytes of keys and values (default 1,000,000; ≤ 0 = the server's limit). */
  maxKvSize?: number;
  /** Read from the end of the range; the result is still in ascending order. */
  reverse?: boolean;
  /** Only the sort keys; values come back empty. */
  noValue?: boolean;
  sortKeyFilter?: Filter;
}

export interface SortKeyValue {
  sortKey: Buffer;
  value: Buffer;
}

export interface MultiGetResult {
  /** Ascending by sort key. */
  kvs: SortKeyValue[];
  /** False when a count/size/time limit stopped the read before the end of the range. */
  allFetched: boolean;
}

export type MultiSetInput = ReadonlyArray<{ sortKey: Bytes; value: Bytes }> | ReadonlyMap<Bytes, Bytes>;

export interface IncrOptions extends OperationOptions {
  /** 0 (default) keeps the record's TTL, > 0 sets it, -1 removes it. */
  ttlSeconds?: number;
}

export interface CheckAndSetOptions extends OperationOptions {
  /** TTL of the value set (0 = none). */
  setValueTtlSeconds?: number;
  /** Return the checked value in the result. */
  returnCheckValue?: boolean;
}

export interface CheckAndSetResult {
  setSucceed: boolean;
  checkValueReturned: boolean;
  checkValueExist: boolean;
  /** The checked record's value when returned and present. */
  checkValue: Buffer | undefined;
}

export type Mutation =
  | { operation: 'put'; sortKey: Bytes; value: Bytes; ttlSeconds?: number }
  | { operation: 'delete'; sortKey: Bytes };

export interface CheckAndMutateOptions extends OperationOptions {
  returnCheckValue?: boolean;
}

export interface CheckAndMutateResult {
  mutateSucceed: boolean;
  checkValueReturned: boolean;
  checkValueExist: boolean;
  checkValue: Buffer | undefined;
}

export interface ScanOptions {
  /** Records per request (default 1000). */
  batchSize?: number;
  /** Default true. */
  startInclusive?: boolean;
  /** Default false. */
  stopInclusive?: boolean;
  hashKeyFilter?: Filter;
  sortKeyFilter?: Filter;
  noValue?: boolean;
  /** Timeout of each request the scanner makes (default: the client's timeoutMs). */
  timeoutMs?: number;
  /** Cancels the scan: the pending and every later next() fail with ERR_ABORTED. */
  signal?: AbortSignal;
}

export interface DelRangeOptions extends OperationOptions {
  /** Default true. */
  startInclusive?: boolean;
  /** Default false. */
  stopInclusive?: boolean;
  /** Only the sort keys that pass it are deleted. */
  sortKeyFilter?: Filter;
}

export interface MultiGetSortKeysResult {
  /** Ascending. */
  sortKeys: Buffer[];
  /** False when a count/size limit stopped the read before the last sort key. */
  allFetched: boolean;
}

/** One record of batchSet. */
export interface SetInput extends FullKeyInput {
  value: Bytes;
  /** 0 (default): never expires. */
  ttlSeconds?: number;
}

/** One hash key of batchMultiGet: the given sort keys, or (none given) the whole hash key within the limits. */
export interface MultiGetInput {
  hashKey: Bytes;
  sortKeys?: readonly Bytes[];
}

/** One hash key of batchMultiSet. */
export interface MultiSetBatchInput {
  hashKey: Bytes;
  kvs: MultiSetInput;
  ttlSeconds?: number;
}

/** One hash key of batchMultiDel. */
export interface MultiDelInput {
  hashKey: Bytes;
  sortKeys: readonly Bytes[];
}

export interface FullKeyInput {
  hashKey: Bytes;
  sortKey: Bytes;
}

export const MULTI_GET_DEFAULTS = Object.freeze({ maxKvCount: 100, maxKvSize: 1_000_000 });
export const SCAN_DEFAULTS = Object.freeze({ batchSize: 1000 });
/** delRange deletes the sort keys it finds in multi_dels of this many. */
export const DEL_RANGE_BATCH = 100;

const EMPTY = Buffer.alloc(0);
const I32_MAX = 0x7fffffff;
/** Full scans run from the smallest composite key to one past any valid hash-key length. */
const FULL_SCAN_START = Buffer.from([0x00, 0x00]);
const FULL_SCAN_STOP = Buffer.from([0xff, 0xff]);

const FILTER_TYPES_BY_NAME: Readonly<Record<FilterTypeName, FilterType>> = {
  none: FilterType.FT_NO_FILTER,
  anywhere: FilterType.FT_MATCH_ANYWHERE,
  prefix: FilterType.FT_MATCH_PREFIX,
  postfix: FilterType.FT_MATCH_POSTFIX,
};

function filterOf(filter: Filter | undefined, operation: string): { type: FilterType; pattern: Buffer } {
  if (!filter) return { type: FilterType.FT_NO_FILTER, pattern: EMPTY };
  const type = typeof filter.type === 'string' ? FILTER_TYPES_BY_NAME[filter.type] : filter.type;
  if (type === undefined || FilterType[type] === undefined) {
    throw new PegasusError('ERR_INVALID_PARAMETERS', operation, `unknown filter type ${String(filter.type)}`);
  }
  return { type, pattern: type === FilterType.FT_NO_FILTER ? EMPTY : toBuffer(filter.pattern) };
}

function limit(value: number | undefined, fallback: number, what: string, operation: string): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen)) throw new PegasusError('ERR_INVALID_PARAMETERS', operation, `${what} must be an integer, got ${chosen}`);
  return chosen <= 0 ? -1 : Math.min(chosen, I32_MAX);
}

function fill(target: OperationInfo | undefined, source: OperationInfo | undefined): void {
  if (target && source) Object.assign(target, source);
}

/**
 * The batch calls: every operation runs, in parallel; once all have finished, the results in
 * input order, or the first failure (in input order) when any failed.
 */
async function allOrFirstFailure<T>(operations: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(operations);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}

/** The options of one operation of a batch: the batch's deadline and signal, not its info. */
function perOperation(options: OperationOptions): OperationOptions {
  return { timeoutMs: options.timeoutMs, signal: options.signal };
}

export class PegasusTable {
  constructor(private readonly router: TableRouter) {}

  get name(): string {
    return this.router.tableName;
  }

  get appId(): number {
    return this.router.table.appId;
  }

  get partitionCount(): number {
    return this.router.table.partitionCount;
  }

  /** The partition a record lives in, by the current configuration. */
  partitionIndexOf(hashKey: Bytes, sortKey: Bytes = EMPTY): number {
    return this.router.partitionOf(recordHash(toBuffer(hashKey), toBuffer(sortKey)));
  }

  /**
   * Another cluster's writes for partition `partitionIndex` (RPC_RRDB_RRDB_DUPLICATE, what a
   * duplicating primary sends its follower): the follower's answer as it gave it, its storage
   * status and hint included. Re-sending is harmless (the entries carry their timetags).
   */
  async duplicate(partitionIndex: number, request: DuplicateRequest, options: OperationOptions = {}): Promise<DuplicateResponse & ResponseOrigin> {
    const outcome = await this.run<DuplicateRequest, DuplicateResponse & ResponseOrigin>(options, {
      operation: 'duplicate', rpc: RPCS.RPC_RRDB_RRDB_DUPLICATE, args: request, partitionHash: 0n, partitionIndex, idempotent: true,
    });
    return outcome.result;
  }

  /** The value, or undefined when the record is absent or expired. */
  async get(hashKey: Bytes, sortKey: Bytes, options: OperationOptions = {}): Promise<Buffer | undefined> {
    const { key, hash } = this.recordKey(hashKey, sortKey, 'get');
    const outcome = await this.run(options, {
      operation: 'get', rpc: RPCS.RPC_RRDB_RRDB_GET, args: key, partitionHash: hash, idempotent: true,
    });
    const response = outcome.result;
    if (response.error === STORAGE_NOT_FOUND) return undefined;
    this.check(response.error, 'get', outcome.info);
    return response.value;
  }

  /** Writes a record; ttlSeconds 0 (default) means it never expires. */
  async set(hashKey: Bytes, sortKey: Bytes, value: Bytes, ttlSeconds = 0, options: OperationOptions = {}): Promise<void> {
    const { key, hash } = this.recordKey(hashKey, sortKey, 'set');
    const outcome = await this.run(options, {
      operation: 'set',
      rpc: RPCS.RPC_RRDB_RRDB_PUT,
      args: { key, value: toBuffer(value), expireTsSeconds: expireTsFromTtl(ttlSeconds, 'set') },
      partitionHash: hash,
      idempotent: true,
    });
    this.check(outcome.result.error, 'set', outcome.info);
  }

  async del(hashKey: Bytes, sortKey: Bytes, options: OperationOptions = {}): Promise<void> {
    const { key, hash } = this.recordKey(hashKey, sortKey, 'del');
    const outcome = await this.run(options, {
      operation: 'del', rpc: RPCS.RPC_RRDB_RRDB_REMOVE, args: key, partitionHash: hash, idempotent: true,
    });
    this.check(outcome.result.error, 'del', outcome.info);
  }

  /** Seconds left to live; -1 for a record without TTL; undefined when absent or expired. */
  async ttl(hashKey: Bytes, sortKey: Bytes, options: OperationOptions = {}): Promise<number | undefined> {
    return this.ttlAs('ttl', hashKey, sortKey, options);
  }

  async exist(hashKey: Bytes, sortKey: Bytes, options: OperationOptions = {}): Promise<boolean> {
    return (await this.ttlAs('exist', hashKey, sortKey, options)) !== undefined;
  }

  /**
   * Several records of one hash key. With sort keys: exactly those (absent ones are left out).
   * Without: the whole hash key, or the range and filter the options give, within the limits.
   */
  async multiGet(hashKey: Bytes, sortKeys: readonly Bytes[] = [], options: MultiGetOptions = {}): Promise<MultiGetResult> {
    return this.multiGetAs('multi_get', hashKey, sortKeys, EMPTY, EMPTY, options);
  }

  /** The records of one hash key between two sort keys (an empty stop key: to the end). */
  async multiGetRange(hashKey: Bytes, startSortKey: Bytes, stopSortKey: Bytes, options: MultiGetOptions = {}): Promise<MultiGetResult> {
    return this.multiGetAs('multi_get_range', hashKey, [], toBuffer(startSortKey), toBuffer(stopSortKey), options);
  }

  /** Writes several records of one hash key atomically. */
  async multiSet(hashKey: Bytes, kvs: MultiSetInput, ttlSeconds = 0, options: OperationOptions = {}): Promise<void> {
    const hash = hashKeyBytes(hashKey, 'multi_set', true);
    const pairs = kvs instanceof Map
      ? [...kvs.entries()].map(([sortKey, value]) => ({ key: toBuffer(sortKey), value: toBuffer(value) }))
      : (kvs as ReadonlyArray<{ sortKey: Bytes; value: Bytes }>).map((kv) => ({ key: toBuffer(kv.sortKey), value: toBuffer(kv.value) }));
    if (pairs.length === 0) throw new PegasusError('ERR_INVALID_PARAMETERS', 'multi_set', 'no sort keys given');
    const outcome = await this.run(options, {
      operation: 'multi_set',
      rpc: RPCS.RPC_RRDB_RRDB_MULTI_PUT,
      args: { hashKey: hash, kvs: pairs, expireTsSeconds: expireTsFromTtl(ttlSeconds, 'multi_set') },
      partitionHash: hashKeyHash(hash),
      idempotent: true,
    });
    this.check(outcome.result.error, 'multi_set', outcome.info);
  }

  /** Deletes several records of one hash key atomically; resolves with the number of sort keys asked for. */
  async multiDel(hashKey: Bytes, sortKeys: readonly Bytes[], options: OperationOptions = {}): Promise<number> {
    const hash = hashKeyBytes(hashKey, 'multi_del', true);
    if (sortKeys.length === 0) throw new PegasusError('ERR_INVALID_PARAMETERS', 'multi_del', 'no sort keys given');
    const outcome = await this.run(options, {
      operation: 'multi_del',
      rpc: RPCS.RPC_RRDB_RRDB_MULTI_REMOVE,
      args: { hashKey: hash, sortKeys: sortKeys.map(toBuffer), maxCount: 0n },
      partitionHash: hashKeyHash(hash),
      idempotent: true,
    });
    this.check(outcome.result.error, 'multi_del', outcome.info);
    return Number(outcome.result.count);
  }

  /**
   * Adds `increment` to the record's value read as a decimal int64 (absent = 0) and resolves
   * with the new value. Fails with PERR_INVALID_ARGUMENT when the value is not an integer or
   * the sum overflows.
   */
  async incr(hashKey: Bytes, sortKey: Bytes, increment: bigint | number = 1n, options: IncrOptions = {}): Promise<bigint> {
    const { key, hash } = this.recordKey(hashKey, sortKey, 'incr');
    const amount = typeof increment === 'bigint' ? increment : BigInt(increment);
    if (BigInt.asIntN(64, amount) !== amount) throw new PegasusError('ERR_INVALID_PARAMETERS', 'incr', `increment ${amount} is not an int64`);
    const ttlSeconds = options.ttlSeconds ?? 0;
    let expireTsSeconds: number;
    if (ttlSeconds === -1) expireTsSeconds = -1;
    else if (ttlSeconds === 0) expireTsSeconds = 0;
    else expireTsSeconds = expireTsFromTtl(ttlSeconds, 'incr');
    const outcome = await this.run(options, {
      operation: 'incr',
      rpc: RPCS.RPC_RRDB_RRDB_INCR,
      args: { key, increment: amount, expireTsSeconds },
      partitionHash: hash,
      idempotent: false,
    });
    this.check(outcome.result.error, 'incr', outcome.info);
    return outcome.result.newValue;
  }

  /**
   * Sets `setSortKey` to `setValue` if the record at `checkSortKey` passes the check; both in
   * one hash key, atomically. A check that fails resolves with setSucceed false.
   */
  async checkAndSet(
    hashKey: Bytes,
    checkSortKey: Bytes,
    checkType: CasCheckType,
    checkOperand: Bytes,
    setSortKey: Bytes,
    setValue: Bytes,
    options: CheckAndSetOptions = {},
  ): Promise<CheckAndSetResult> {
    const hash = hashKeyBytes(hashKey, 'check_and_set', true);
    const checkKey = toBuffer(checkSortKey);
    const setKey = toBuffer(setSortKey);
    this.checkTypeValid(checkType, 'check_and_set');
    const outcome = await this.run(options, {
      operation: 'check_and_set',
      rpc: RPCS.RPC_RRDB_RRDB_CHECK_AND_SET,
      args: {
        hashKey: hash,
        checkSortKey: checkKey,
        checkType,
        checkOperand: toBuffer(checkOperand),
        setDiffSortKey: compareBytes(checkKey, setKey) !== 0,
        setSortKey: setKey,
        setValue: toBuffer(setValue),
        setExpireTsSeconds: expireTsFromTtl(options.setValueTtlSeconds ?? 0, 'check_and_set'),
        returnCheckValue: options.returnCheckValue ?? false,
      },
      partitionHash: hashKeyHash(hash),
      idempotent: false,
    });
    const checked = this.checkResult(outcome.result, 'check_and_set', outcome.info);
    return { setSucceed: checked.passed, ...checked.value };
  }

  /** Applies `mutations` to one hash key if the record at `checkSortKey` passes the check. */
  async checkAndMutate(
    hashKey: Bytes,
    checkSortKey: Bytes,
    checkType: CasCheckType,
    checkOperand: Bytes,
    mutations: readonly Mutation[],
    options: CheckAndMutateOptions = {},
  ): Promise<CheckAndMutateResult> {
    const hash = hashKeyBytes(hashKey, 'check_and_mutate', true);
    this.checkTypeValid(checkType, 'check_and_mutate');
    if (mutations.length === 0) throw new PegasusError('ERR_INVALID_PARAMETERS', 'check_and_mutate', 'no mutations given');
    const mutateList: Mutate[] = mutations.map((mutation) =>
      mutation.operation === 'put'
        ? {
          operation: MutateOperation.MO_PUT,
          sortKey: toBuffer(mutation.sortKey),
          value: toBuffer(mutation.value),
          setExpireTsSeconds: expireTsFromTtl(mutation.ttlSeconds ?? 0, 'check_and_mutate'),
        }
        : { operation: MutateOperation.MO_DELETE, sortKey: toBuffer(mutation.sortKey), value: EMPTY, setExpireTsSeconds: 0 });
    const outcome = await this.run(options, {
      operation: 'check_and_mutate',
      rpc: RPCS.RPC_RRDB_RRDB_CHECK_AND_MUTATE,
      args: {
        hashKey: hash,
        checkSortKey: toBuffer(checkSortKey),
        checkType,
        checkOperand: toBuffer(checkOperand),
        mutateList,
        returnCheckValue: options.returnCheckValue ?? false,
      },
      partitionHash: hashKeyHash(hash),
      idempotent: false,
    });
    const checked = this.checkResult(outcome.result, 'check_and_mutate', outcome.info);
    return { mutateSucceed: checked.passed, ...checked.value };
  }

  /** The number of live records of a hash key; -1 when the server's counting time limit ran out. */
  async sortKeyCount(hashKey: Bytes, options: OperationOptions = {}): Promise<number> {
    const hash = hashKeyBytes(hashKey, 'sortkey_count', true);
    const outcome = await this.run(options, {
      operation: 'sortkey_count', rpc: RPCS.RPC_RRDB_RRDB_SORTKEY_COUNT, args: hash, partitionHash: hashKeyHash(hash), idempotent: true,
    });
    this.check(outcome.result.error, 'sortkey_count', outcome.info);
    return Number(outcome.result.count);
  }

  /**
   * Values of many records, in the order of `keys` (undefined where absent). Keys are grouped
   * by partition, one RPC_RRDB_RRDB_BATCH_GET per partition, all partitions in parallel. Not
   * atomic across partitions.
   */
  async batchGet(keys: readonly FullKeyInput[], options: OperationOptions = {}): Promise<Array<Buffer | undefined>> {
    const values = new Array<Buffer | undefined>(keys.length).fill(undefined);
    if (keys.length === 0) return values;
    if (this.router.table.partitionCount === 0) await this.openRouter(options);
    const groups = new Map<number, { hash: bigint; keys: FullKey[]; positions: Map<string, number[]> }>();
    keys.forEach((input, position) => {
      const hashKey = hashKeyBytes(input.hashKey, 'batch_get', false);
      const sortKey = toBuffer(input.sortKey);
      const hash = recordHash(hashKey, sortKey);
      const partition = this.router.partitionOf(hash);
      let group = groups.get(partition);
      if (!group) groups.set(partition, (group = { hash, keys: [], positions: new Map() }));
      const id = encodeCompositeKey(hashKey, sortKey).toString('latin1');
      const known = group.positions.get(id);
      if (known) {
        known.push(position);
      } else {
        group.positions.set(id, [position]);
        group.keys.push({ hashKey, sortKey });
      }
    });
    await Promise.all([...groups.values()].map(async (group) => {
      let outcome;
      try {
        outcome = await this.run(perOperation(options), {
          operation: 'batch_get', rpc: RPCS.RPC_RRDB_RRDB_BATCH_GET, args: { keys: group.keys }, partitionHash: group.hash, idempotent: true,
        });
      } catch (error) {
        if (!(error instanceof PegasusError) || error.code !== 'ERR_HANDLER_NOT_FOUND') throw error;
        // A server without batch_get: the same keys one get at a time.
        await Promise.all(group.keys.map(async (key) => {
          const value = await this.get(key.hashKey, key.sortKey, perOperation(options));
          const id = encodeCompositeKey(key.hashKey, key.sortKey).toString('latin1');
          for (const position of group.positions.get(id) ?? []) values[position] = value;
        }));
        return;
      }
      fill(options.info, outcome.info);
      this.check(outcome.result.error, 'batch_get', outcome.info);
      for (const data of outcome.result.data) {
        const positions = group.positions.get(encodeCompositeKey(data.hashKey, data.sortKey).toString('latin1'));
        for (const position of positions ?? []) values[position] = data.value;
      }
    }));
    return values;
  }

  /** The sort keys of one hash key (a multi_get without values), within the count and size limits. */
  async multiGetSortKeys(hashKey: Bytes, options: Omit<MultiGetOptions, 'noValue'> = {}): Promise<MultiGetSortKeysResult> {
    const result = await this.multiGetAs('multi_get_sortkeys', hashKey, [], EMPTY, EMPTY, { ...options, noValue: true });
    return { sortKeys: result.kvs.map((kv) => kv.sortKey), allFetched: result.allFetched };
  }

  /**
   * Deletes the records of one hash key from `startSortKey` to `stopSortKey` (empty stop: to the
   * end of the hash key): a key-only scan of the range, deleting what it finds in multi_dels of
   * DEL_RANGE_BATCH. Not atomic: a failure leaves the keys before it deleted. Resolves with the
   * number of records deleted.
   */
  async delRange(hashKey: Bytes, startSortKey: Bytes, stopSortKey: Bytes, options: DelRangeOptions = {}): Promise<number> {
    const scanner = this.getScanner(hashKey, startSortKey, stopSortKey, {
      noValue: true, startInclusive: options.startInclusive, stopInclusive: options.stopInclusive,
      sortKeyFilter: options.sortKeyFilter, timeoutMs: options.timeoutMs, signal: options.signal, batchSize: DEL_RANGE_BATCH,
    });
    let deleted = 0;
    let pending: Buffer[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      await this.multiDel(hashKey, pending, options);
      deleted += pending.length;
      pending = [];
    };
    try {
      for (let entry = await scanner.next(); entry; entry = await scanner.next()) {
        pending.push(entry.sortKey);
        if (pending.length >= DEL_RANGE_BATCH) await flush();
      }
      await flush();
    } finally {
      await scanner.close();
    }
    return deleted;
  }

  /** set() of many records, in parallel; see allOrFirstFailure for the outcome. */
  async batchSet(records: readonly SetInput[], options: OperationOptions = {}): Promise<void> {
    await allOrFirstFailure(records.map((record) => this.set(record.hashKey, record.sortKey, record.value, record.ttlSeconds ?? 0, perOperation(options))));
  }

  /** del() of many records, in parallel. */
  async batchDel(keys: readonly FullKeyInput[], options: OperationOptions = {}): Promise<void> {
    await allOrFirstFailure(keys.map((key) => this.del(key.hashKey, key.sortKey, perOperation(options))));
  }

  /** multiGet() of many hash keys, in parallel; the results in input order. */
  async batchMultiGet(requests: readonly MultiGetInput[], options: MultiGetOptions = {}): Promise<MultiGetResult[]> {
    const { info: _info, ...each } = options;
    return allOrFirstFailure(requests.map((request) => this.multiGet(request.hashKey, request.sortKeys ?? [], each)));
  }

  /** multiSet() of many hash keys, in parallel (each hash key atomically, not the batch). */
  async batchMultiSet(items: readonly MultiSetBatchInput[], options: OperationOptions = {}): Promise<void> {
    await allOrFirstFailure(items.map((item) => this.multiSet(item.hashKey, item.kvs, item.ttlSeconds ?? 0, perOperation(options))));
  }

  /** multiDel() of many hash keys, in parallel; resolves with each one's count of sort keys asked for. */
  async batchMultiDel(items: readonly MultiDelInput[], options: OperationOptions = {}): Promise<number[]> {
    return allOrFirstFailure(items.map((item) => this.multiDel(item.hashKey, item.sortKeys, perOperation(options))));
  }

  /**
   * A scanner over one hash key from `startSortKey` to `stopSortKey` (empty stop: to the end of
   * the hash key), in sort-key order. A prefix sort-key filter also narrows the range.
   */
  getScanner(hashKey: Bytes, startSortKey: Bytes, stopSortKey: Bytes, options: ScanOptions = {}): PegasusScanner {
    const hash = hashKeyBytes(hashKey, 'get_scanner', true);
    const sortKeyFilter = filterOf(options.sortKeyFilter, 'get_scanner');
    const hashKeyFilter = filterOf(options.hashKeyFilter, 'get_scanner');
    let start = encodeCompositeKey(hash, toBuffer(startSortKey));
    let startInclusive = options.startInclusive ?? true;
    const stopSort = toBuffer(stopSortKey);
    let stop = stopSort.length === 0 ? hashKeyRangeEnd(hash) : encodeCompositeKey(hash, stopSort);
    let stopInclusive = stopSort.length === 0 ? false : (options.stopInclusive ?? false);
    if (sortKeyFilter.type === FilterType.FT_MATCH_PREFIX) {
      const prefixStart = encodeCompositeKey(hash, sortKeyFilter.pattern);
      if (compareBytes(prefixStart, start) > 0) {
        start = prefixStart;
        startInclusive = true;
      }
      const prefixStop = successorOfPrefix(prefixStart, 2 + hash.length) ?? hashKeyRangeEnd(hash);
      if (compareBytes(prefixStop, stop) <= 0) {
        stop = prefixStop;
        stopInclusive = false;
      }
    }
    const order = compareBytes(start, stop);
    const empty = !(order < 0 || (order === 0 && startInclusive && stopInclusive));
    const splits: ScanSplit[] = empty ? [] : [{ partitionIndex: undefined, partitionHash: hashKeyHash(hash) }];
    return new PegasusScanner(this.router, splits, {
      ...this.scanRange(options, hashKeyFilter, sortKeyFilter),
      startKey: start,
      stopKey: stop,
      startInclusive,
      stopInclusive,
      validatePartitionHash: false,
      fullScan: false,
    });
  }

  /**
   * Scanners that together cover the whole table, at most `maxSplitCount` of them, each over
   * whole partitions (spread as evenly as possible). Records come in no global order.
   */
  async getUnorderedScanners(maxSplitCount: number, options: ScanOptions = {}): Promise<PegasusScanner[]> {
    if (!Number.isInteger(maxSplitCount) || maxSplitCount <= 0) {
      throw new PegasusError('ERR_INVALID_PARAMETERS', 'get_unordered_scanners', `split count must be a positive integer, got ${maxSplitCount}`);
    }
    if (this.router.table.partitionCount === 0) await this.openRouter(options);
    const count = this.router.table.partitionCount;
    const splitCount = Math.min(count, maxSplitCount);
    const range = {
      ...this.scanRange(options, filterOf(options.hashKeyFilter, 'get_unordered_scanners'), filterOf(options.sortKeyFilter, 'get_unordered_scanners')),
      startKey: FULL_SCAN_START,
      stopKey: FULL_SCAN_STOP,
      startInclusive: true,
      stopInclusive: false,
      validatePartitionHash: true,
      fullScan: true,
    };
    const scanners: PegasusScanner[] = [];
    let next = 0;
    for (let split = 0; split < splitCount; split++) {
      // The first (count mod splitCount) scanners take one partition more.
      const size = Math.floor(count / splitCount) + (split < count % splitCount ? 1 : 0);
      const splits: ScanSplit[] = [];
      for (let taken = 0; taken < size; taken++, next++) {
        // The partition index doubles as the hash: the server's partition check then passes.
        splits.push({ partitionIndex: next, partitionHash: BigInt(next) });
      }
      scanners.push(new PegasusScanner(this.router, splits, range));
    }
    return scanners;
  }

  // -------------------------------------------------------------------------------------------

  private scanRange(options: ScanOptions, hashKeyFilter: { type: FilterType; pattern: Buffer }, sortKeyFilter: { type: FilterType; pattern: Buffer }) {
    const batchSize = options.batchSize ?? SCAN_DEFAULTS.batchSize;
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new PegasusError('ERR_INVALID_PARAMETERS', 'get_scanner', `batch size must be a positive integer, got ${batchSize}`);
    }
    return {
      batchSize: Math.min(batchSize, I32_MAX),
      noValue: options.noValue ?? false,
      hashKeyFilterType: hashKeyFilter.type,
      hashKeyFilterPattern: hashKeyFilter.pattern,
      sortKeyFilterType: sortKeyFilter.type,
      sortKeyFilterPattern: sortKeyFilter.pattern,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    } satisfies Partial<ScanRange>;
  }

  private openRouter(options: { timeoutMs?: number; signal?: AbortSignal }): Promise<void> {
    return untilAborted(options.signal, 'open_table', () => this.router.open(Date.now() + (options.timeoutMs ?? this.router.policy.timeoutMs)));
  }

  private recordKey(hashKey: Bytes, sortKey: Bytes, operation: string): { key: Buffer; hash: bigint } {
    const hash = hashKeyBytes(hashKey, operation, false);
    const sort = toBuffer(sortKey);
    return { key: encodeCompositeKey(hash, sort), hash: recordHash(hash, sort) };
  }

  private async run<A, R extends ResponseOrigin>(options: OperationOptions, spec: Omit<RequestSpec<A, R>, 'timeoutMs'>): Promise<RequestOutcome<R>> {
    try {
      const outcome = await this.router.call<A, R>({ ...spec, timeoutMs: options.timeoutMs, signal: options.signal });
      fill(options.info, outcome.info);
      return outcome;
    } catch (error) {
      if (error instanceof PegasusError) fill(options.info, error.info ?? emptyOperationInfo());
      throw error;
    }
  }

  /** Throws the storage status of a response unless it is kOk. */
  private check(status: number, operation: string, info: OperationInfo): void {
    if (status === STORAGE_OK) return;
    throw new PegasusError(storageErrorName(status), operation, `from ${info.server}`, { storageError: status, info });
  }

  private checkTypeValid(checkType: CasCheckType, operation: string): void {
    if (!Number.isInteger(checkType) || CasCheckType[checkType] === undefined) {
      throw new PegasusError('ERR_INVALID_PARAMETERS', operation, `unknown check type ${checkType}`);
    }
  }

  private checkResult(response: CheckAndSetResponse, operation: string, info: OperationInfo) {
    if (response.error !== STORAGE_OK && response.error !== STORAGE_TRY_AGAIN) this.check(response.error, operation, info);
    const returned = response.checkValueReturned;
    const exists = returned && response.checkValueExist;
    return {
      passed: response.error === STORAGE_OK,
      value: { checkValueReturned: returned, checkValueExist: exists, checkValue: exists ? response.checkValue : undefined },
    };
  }

  private async ttlAs(operation: string, hashKey: Bytes, sortKey: Bytes, options: OperationOptions): Promise<number | undefined> {
    const { key, hash } = this.recordKey(hashKey, sortKey, operation);
    const outcome = await this.run(options, {
      operation, rpc: RPCS.RPC_RRDB_RRDB_TTL, args: key, partitionHash: hash, idempotent: true,
    });
    if (outcome.result.error === STORAGE_NOT_FOUND) return undefined;
    this.check(outcome.result.error, operation, outcome.info);
    return outcome.result.ttlSeconds;
  }

  private async multiGetAs(
    operation: string, hashKey: Bytes, sortKeys: readonly Bytes[], start: Buffer, stop: Buffer, options: MultiGetOptions,
  ): Promise<MultiGetResult> {
    const hash = hashKeyBytes(hashKey, operation, true);
    const filter = filterOf(options.sortKeyFilter, operation);
    const request: MultiGetRequest = {
      hashKey: hash,
      sortKeys: sortKeys.map(toBuffer),
      maxKvCount: limit(options.maxKvCount, MULTI_GET_DEFAULTS.maxKvCount, 'maxKvCount', operation),
      maxKvSize: limit(options.maxKvSize, MULTI_GET_DEFAULTS.maxKvSize, 'maxKvSize', operation),
      noValue: options.noValue ?? false,
      startSortkey: start,
      stopSortkey: stop,
      startInclusive: options.startInclusive ?? true,
      stopInclusive: options.stopInclusive ?? false,
      sortKeyFilterType: filter.type,
      sortKeyFilterPattern: filter.pattern,
      reverse: options.reverse ?? false,
    };
    const outcome = await this.run(options, {
      operation, rpc: RPCS.RPC_RRDB_RRDB_MULTI_GET, args: request, partitionHash: hashKeyHash(hash), idempotent: true,
    });
    const response = outcome.result;
    if (response.error !== STORAGE_INCOMPLETE) this.check(response.error, operation, outcome.info);
    const kvs = response.kvs.map((kv) => ({ sortKey: kv.key, value: kv.value }));
    // The server answers ascending; a reverse read may come back either way from older servers.
    if (kvs.length > 1 && compareBytes(kvs[0]!.sortKey, kvs[kvs.length - 1]!.sortKey) > 0) kvs.reverse();
    return { kvs, allFetched: response.error === STORAGE_OK };
  }
}
