// In-process stand-ins for a Pegasus cluster, for client tests that must not depend on the
// real replica server: a fake meta answering the partition-config query from a table map it
// lets the test change, and fake replica servers answering every RRDB RPC from one shared
// in-memory store (so a partition can "move" between servers without losing data). Faults are
// injected per request by a hook. Built on the real RPC server (createServer + registerTypedRpc).
import { hashKeyHash, parseHostPort, partitionIndexOf, recordHash, type ErrorName } from '../../src/base/index.ts';
import { registerOnewayRpc, type RpcRequest } from '../../src/net/index.ts';
import { createServer, type PteronServer } from '../../src/server/index.ts';
import {
  CasCheckType, decodeArgs, encodeResult, FilterType, MutateOperation, RPCS, type CallDefinition, type KeyValue, type PartitionConfiguration,
} from '../../src/wire/index.ts';

const EPOCH_2016 = 1451606400;
const nowSince2016 = (): number => Math.floor(Date.now() / 1000) - EPOCH_2016;

export interface FakeTable {
  appId: number;
  /** Per partition: the primary's `host:port` (undefined: none) and the ballot. */
  partitions: Array<{ primary: string | undefined; ballot: number }>;
}

/** What a fault hook may answer instead of the handler: an rDSN error, or never answering. */
export type Fault = ErrorName | 'hang' | undefined;

export interface SeenRequest {
  name: string;
  appId: number;
  partitionIndex: number;
  partitionHash: bigint;
  server: string;
}

interface StoredRecord {
  key: Buffer;
  value: Buffer;
  expireTs: number;
}

export class FakeStore {
  readonly records = new Map<string, StoredRecord>();
  static id(key: Buffer): string {
    return key.toString('hex');
  }
  get(key: Buffer): StoredRecord | undefined {
    const record = this.records.get(FakeStore.id(key));
    if (!record) return undefined;
    if (record.expireTs > 0 && record.expireTs <= nowSince2016()) return undefined;
    return record;
  }
  put(key: Buffer, value: Buffer, expireTs: number): void {
    this.records.set(FakeStore.id(key), { key: Buffer.from(key), value: Buffer.from(value), expireTs });
  }
  remove(key: Buffer): void {
    this.records.delete(FakeStore.id(key));
  }
  /** Live records, ascending by key. */
  sorted(): StoredRecord[] {
    return [...this.records.values()].filter((record) => this.get(record.key) !== undefined).sort((a, b) => Buffer.compare(a.key, b.key));
  }
}

function compositeKey(hashKey: Buffer, sortKey: Buffer): Buffer {
  const key = Buffer.alloc(2 + hashKey.length + sortKey.length);
  key.writeUInt16BE(hashKey.length, 0);
  hashKey.copy(key, 2);
  sortKey.copy(key, 2 + hashKey.length);
  return key;
}

function splitKey(key: Buffer): { hashKey: Buffer; sortKey: Buffer } {
  const length = key.readUInt16BE(0);
  return { hashKey: key.subarray(2, 2 + length), sortKey: key.subarray(2 + length) };
}

function matches(type: number, pattern: Buffer, subject: Buffer): boolean {
  switch (type) {
    case FilterType.FT_NO_FILTER: return true;
    case FilterType.FT_MATCH_ANYWHERE: return pattern.length === 0 || subject.includes(pattern);
    case FilterType.FT_MATCH_PREFIX: return subject.subarray(0, pattern.length).equals(pattern);
    case FilterType.FT_MATCH_POSTFIX: return pattern.length <= subject.length && subject.subarray(subject.length - pattern.length).equals(pattern);
    default: return false;
  }
}

function checkPasses(type: CasCheckType, operand: Buffer, current: Buffer | undefined): boolean | 'invalid' {
  switch (type) {
    case CasCheckType.CT_NO_CHECK: return true;
    case CasCheckType.CT_VALUE_NOT_EXIST: return current === undefined;
    case CasCheckType.CT_VALUE_NOT_EXIST_OR_EMPTY: return current === undefined || current.length === 0;
    case CasCheckType.CT_VALUE_EXIST: return current !== undefined;
    case CasCheckType.CT_VALUE_NOT_EMPTY: return current !== undefined && current.length > 0;
    case CasCheckType.CT_VALUE_MATCH_ANYWHERE: return current !== undefined && matches(FilterType.FT_MATCH_ANYWHERE, operand, current);
    case CasCheckType.CT_VALUE_MATCH_PREFIX: return current !== undefined && matches(FilterType.FT_MATCH_PREFIX, operand, current);
    case CasCheckType.CT_VALUE_MATCH_POSTFIX: return current !== undefined && matches(FilterType.FT_MATCH_POSTFIX, operand, current);
    case CasCheckType.CT_VALUE_BYTES_EQUAL: return current !== undefined && current.equals(operand);
    case CasCheckType.CT_VALUE_BYTES_LESS: return current !== undefined && Buffer.compare(current, operand) < 0;
    case CasCheckType.CT_VALUE_BYTES_GREATER: return current !== undefined && Buffer.compare(current, operand) > 0;
    case CasCheckType.CT_VALUE_INT_EQUAL:
    case CasCheckType.CT_VALUE_INT_LESS:
    case CasCheckType.CT_VALUE_INT_GREATER: {
      if (current === undefined) return false;
      if (!/^-?\d+$/.test(current.toString()) || !/^-?\d+$/.test(operand.toString())) return 'invalid';
      const left = BigInt(current.toString());
      const right = BigInt(operand.toString());
      if (type === CasCheckType.CT_VALUE_INT_EQUAL) return left === right;
      return type === CasCheckType.CT_VALUE_INT_LESS ? left < right : left > right;
    }
    default: return 'invalid';
  }
}

interface ScanContext {
  remaining: KeyValue[];
  batchSize: number;
}

export class FakeReplica {
  readonly requests: SeenRequest[] = [];
  /** Partitions of each app this server answers for. */
  readonly serves = new Set<string>();
  fault: (request: SeenRequest) => Fault = () => undefined;
  /** Drop scanner contexts (as if they expired) before answering SCAN. */
  forgetContexts = false;
  readonly contexts = new Map<bigint, ScanContext>();
  private nextContextId = 1000n;
  address = '';

  private constructor(readonly server: PteronServer, readonly store: FakeStore, readonly partitionCountOf: (appId: number) => number) {}

  static async start(store: FakeStore, partitionCountOf: (appId: number) => number, port = 0): Promise<FakeReplica> {
    const replica = new FakeReplica(createServer({ role: 'replica', port }), store, partitionCountOf);
    replica.register();
    const bound = await replica.server.start();
    replica.address = `127.0.0.1:${bound}`;
    return replica;
  }

  serve(appId: number, ...partitions: number[]): void {
    for (const partition of partitions) this.serves.add(`${appId}.${partition}`);
  }

  unserve(appId: number, ...partitions: number[]): void {
    for (const partition of partitions) this.serves.delete(`${appId}.${partition}`);
  }

  count(name: string): number {
    return this.requests.filter((request) => request.name === name).length;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  // -------------------------------------------------------------------------------------------

  private handle<A, R>(rpc: CallDefinition<A, R>, handler: (args: A, seen: SeenRequest) => R): void {
    this.server.rpc.register(rpc.name, async (request: RpcRequest) => {
      const header = request.frame.header;
      const seen: SeenRequest = {
        name: rpc.name, appId: header.appId, partitionIndex: header.partitionIndex, partitionHash: header.partitionHash, server: this.address,
      };
      this.requests.push(seen);
      const fault = this.fault(seen);
      if (fault === 'hang') return new Promise(() => {});
      if (fault !== undefined) return { error: fault };
      if (!this.serves.has(`${header.appId}.${header.partitionIndex}`)) return { error: 'ERR_OBJECT_NOT_FOUND' };
      const args = decodeArgs(rpc.args, request.frame.args);
      return { error: 'ERR_OK', result: encodeResult(rpc.result, handler(args, seen)) };
    });
  }

  private origin(seen: SeenRequest) {
    return { appId: seen.appId, partitionIndex: seen.partitionIndex, server: this.address };
  }

  private register(): void {
    const store = this.store;
    this.handle(RPCS.RPC_RRDB_RRDB_GET, (key, seen) => {
      const record = store.get(key);
      return { error: record ? 0 : 1, value: record?.value ?? Buffer.alloc(0), ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_PUT, (request, seen) => {
      store.put(request.key, request.value, request.expireTsSeconds);
      return { error: 0, decree: 1n, ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_REMOVE, (key, seen) => {
      store.remove(key);
      return { error: 0, decree: 1n, ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_TTL, (key, seen) => {
      const record = store.get(key);
      const ttlSeconds = !record ? 0 : record.expireTs === 0 ? -1 : record.expireTs - nowSince2016();
      return { error: record ? 0 : 1, ttlSeconds, ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_MULTI_PUT, (request, seen) => {
      if (request.kvs.length === 0) return { error: 4, decree: 0n, ...this.origin(seen) };
      for (const kv of request.kvs) store.put(compositeKey(request.hashKey, kv.key), kv.value, request.expireTsSeconds);
      return { error: 0, decree: 1n, ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_MULTI_REMOVE, (request, seen) => {
      for (const sortKey of request.sortKeys) store.remove(compositeKey(request.hashKey, sortKey));
      return { error: request.sortKeys.length === 0 ? 4 : 0, count: BigInt(request.sortKeys.length), decree: 1n, ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_MULTI_GET, (request, seen) => {
      const kvs: KeyValue[] = [];
      const maxCount = request.maxKvCount > 0 ? request.maxKvCount : 3000;
      const maxSize = request.maxKvSize > 0 ? request.maxKvSize : 30 << 20;
      let size = 0;
      let incomplete = false;
      const take = (sortKey: Buffer, value: Buffer): boolean => {
        if (kvs.length >= maxCount || size >= maxSize) {
          incomplete = true;
          return false;
        }
        kvs.push({ key: Buffer.from(sortKey), value: request.noValue ? Buffer.alloc(0) : value });
        size += sortKey.length + value.length;
        return true;
      };
      if (request.sortKeys.length > 0) {
        for (const sortKey of request.sortKeys) {
          const record = store.get(compositeKey(request.hashKey, sortKey));
          if (record && !take(sortKey, record.value)) break;
        }
      } else {
        let rows = store.sorted().map((record) => ({ record, parts: splitKey(record.key) })).filter(({ parts }) => parts.hashKey.equals(request.hashKey));
        rows = rows.filter(({ parts }) => {
          const start = Buffer.compare(parts.sortKey, request.startSortkey);
          const stop = request.stopSortkey.length === 0 ? -1 : Buffer.compare(parts.sortKey, request.stopSortkey);
          return (start > 0 || (start === 0 && request.startInclusive)) && (stop < 0 || (stop === 0 && request.stopInclusive))
            && matches(request.sortKeyFilterType, request.sortKeyFilterPattern, parts.sortKey);
        });
        if (request.reverse) rows.reverse();
        for (const { record, parts } of rows) if (!take(parts.sortKey, record.value)) break;
        if (request.reverse) kvs.reverse();
      }
      return { error: incomplete ? 7 : 0, kvs, ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_INCR, (request, seen) => {
      const record = store.get(request.key);
      const text = record?.value.toString() ?? '';
      if (text !== '' && !/^-?\d+$/.test(text)) return { error: 4, newValue: 0n, decree: 0n, ...this.origin(seen) };
      const newValue = BigInt(text === '' ? '0' : text) + request.increment;
      if (BigInt.asIntN(64, newValue) !== newValue) return { error: 4, newValue: 0n, decree: 0n, ...this.origin(seen) };
      const expireTs = request.expireTsSeconds === 0 ? (record?.expireTs ?? 0) : request.expireTsSeconds < 0 ? 0 : request.expireTsSeconds;
      store.put(request.key, Buffer.from(newValue.toString()), expireTs);
      return { error: 0, newValue, decree: 1n, ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_CHECK_AND_SET, (request, seen) => {
      const current = store.get(compositeKey(request.hashKey, request.checkSortKey))?.value;
      const passed = checkPasses(request.checkType, request.checkOperand, current);
      if (passed === true) {
        const setKey = request.setDiffSortKey ? request.setSortKey : request.checkSortKey;
        store.put(compositeKey(request.hashKey, setKey), request.setValue, request.setExpireTsSeconds);
      }
      return {
        error: passed === 'invalid' ? 4 : passed ? 0 : 13,
        checkValueReturned: request.returnCheckValue,
        checkValueExist: request.returnCheckValue && current !== undefined,
        checkValue: request.returnCheckValue && current ? current : Buffer.alloc(0),
        decree: 1n,
        ...this.origin(seen),
      };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_CHECK_AND_MUTATE, (request, seen) => {
      const current = store.get(compositeKey(request.hashKey, request.checkSortKey))?.value;
      const passed = checkPasses(request.checkType, request.checkOperand, current);
      if (passed === true) {
        for (const mutation of request.mutateList) {
          const key = compositeKey(request.hashKey, mutation.sortKey);
          if (mutation.operation === MutateOperation.MO_PUT) store.put(key, mutation.value, mutation.setExpireTsSeconds);
          else store.remove(key);
        }
      }
      return {
        error: passed === 'invalid' ? 4 : passed ? 0 : 13,
        checkValueReturned: request.returnCheckValue,
        checkValueExist: request.returnCheckValue && current !== undefined,
        checkValue: request.returnCheckValue && current ? current : Buffer.alloc(0),
        decree: 1n,
        ...this.origin(seen),
      };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_SORTKEY_COUNT, (hashKey, seen) => {
      const count = store.sorted().filter((record) => splitKey(record.key).hashKey.equals(hashKey)).length;
      return { error: 0, count: BigInt(count), ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_BATCH_GET, (request, seen) => {
      if (request.keys.length === 0) return { error: 4, data: [], ...this.origin(seen) };
      const data = request.keys.flatMap((key) => {
        const record = store.get(compositeKey(key.hashKey, key.sortKey));
        return record ? [{ hashKey: key.hashKey, sortKey: key.sortKey, value: record.value }] : [];
      });
      return { error: 0, data, ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_GET_SCANNER, (request, seen) => {
      const count = this.partitionCountOf(seen.appId);
      const rows = store.sorted().filter((record) => {
        const start = Buffer.compare(record.key, request.startKey);
        const stop = Buffer.compare(record.key, request.stopKey);
        if (!((start > 0 || (start === 0 && request.startInclusive)) && (stop < 0 || (stop === 0 && request.stopInclusive)))) return false;
        const parts = splitKey(record.key);
        // A replica holds only its own partition's records.
        if (partitionIndexOf(recordHash(parts.hashKey, parts.sortKey), count) !== seen.partitionIndex) return false;
        return matches(request.hashKeyFilterType, request.hashKeyFilterPattern, parts.hashKey)
          && matches(request.sortKeyFilterType, request.sortKeyFilterPattern, parts.sortKey);
      });
      const kvs = rows.map((record) => ({ key: record.key, value: request.noValue ? Buffer.alloc(0) : record.value }));
      const batchSize = Math.max(1, request.batchSize);
      const first = kvs.slice(0, batchSize);
      let contextId = -1n;
      if (kvs.length > batchSize) {
        contextId = this.nextContextId++;
        this.contexts.set(contextId, { remaining: kvs.slice(batchSize), batchSize });
      }
      return { error: 0, kvs: first, contextId, ...this.origin(seen) };
    });
    this.handle(RPCS.RPC_RRDB_RRDB_SCAN, (request, seen) => {
      if (this.forgetContexts) this.contexts.clear();
      const context = this.contexts.get(request.contextId);
      if (!context) return { error: 1, kvs: [], contextId: -1n, ...this.origin(seen) };
      const kvs = context.remaining.splice(0, context.batchSize);
      let contextId = request.contextId;
      if (context.remaining.length === 0) {
        this.contexts.delete(request.contextId);
        contextId = -1n;
      }
      return { error: 0, kvs, contextId, ...this.origin(seen) };
    });
    registerOnewayRpc(this.server.rpc, RPCS.RPC_RRDB_RRDB_CLEAR_SCANNER, (contextId, request) => {
      this.requests.push({
        name: 'RPC_RRDB_RRDB_CLEAR_SCANNER', appId: request.frame.header.appId, partitionIndex: request.frame.header.partitionIndex,
        partitionHash: request.frame.header.partitionHash, server: this.address,
      });
      this.contexts.delete(contextId);
    });
  }
}

export class FakeMeta {
  readonly tables = new Map<string, FakeTable>();
  queries = 0;
  /** When set, this meta is a backup: it answers ERR_FORWARD_TO_OTHERS naming this leader ('' = none). */
  forwardTo: string | undefined;
  /** Answers ERR_SERVICE_NOT_ACTIVE this many more times. */
  notActiveAnswers = 0;
  address = '';

  private constructor(readonly server: PteronServer) {}

  static async start(): Promise<FakeMeta> {
    const meta = new FakeMeta(createServer({ role: 'meta', port: 0 }));
    const rpc = meta.server.rpc;
    rpc.register(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX.name, async (request) => {
      meta.queries++;
      const args = decodeArgs(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX.args, request.frame.args);
      return { error: 'ERR_OK', result: encodeResult(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX.result, meta.answer(args.appName)) };
    });
    meta.address = `127.0.0.1:${await meta.server.start()}`;
    return meta;
  }

  partitionCountOf = (appId: number): number => {
    for (const table of this.tables.values()) if (table.appId === appId) return table.partitions.length;
    return 1;
  };

  close(): Promise<void> {
    return this.server.close();
  }

  private answer(appName: string) {
    const none = { host: '', port: 0 };
    const config = (appId: number, index: number, primary: string | undefined, ballot: number): PartitionConfiguration => {
      const address = primary === undefined || primary === '' ? none : parseHostPort(primary);
      return {
        pid: { appId, partitionIndex: index }, ballot: BigInt(ballot), maxReplicaCount: 1, primary: address, secondaries: [], lastDrops: [],
        lastCommittedDecree: 0n, partitionFlags: 0, hpPrimary: address, hpSecondaries: [], hpLastDrops: [],
      };
    };
    if (this.forwardTo !== undefined) {
      return {
        err: 'ERR_FORWARD_TO_OTHERS', appId: 0, partitionCount: 0, isStateful: true,
        partitions: this.forwardTo === '' ? [] : [config(0, 0, this.forwardTo, 0)],
      };
    }
    if (this.notActiveAnswers > 0) {
      this.notActiveAnswers--;
      return { err: 'ERR_SERVICE_NOT_ACTIVE', appId: 0, partitionCount: 0, isStateful: true, partitions: [] };
    }
    const table = this.tables.get(appName);
    if (!table) return { err: 'ERR_OBJECT_NOT_FOUND', appId: 0, partitionCount: 0, isStateful: true, partitions: [] };
    return {
      err: 'ERR_OK', appId: table.appId, partitionCount: table.partitions.length, isStateful: true,
      partitions: table.partitions.map((partition, index) => config(table.appId, index, partition.primary, partition.ballot)),
    };
  }
}

/** The partition a hash key's records live in. */
export function partitionOfHashKey(hashKey: string | Buffer, partitionCount: number): number {
  return partitionIndexOf(hashKeyHash(Buffer.from(hashKey)), partitionCount);
}
