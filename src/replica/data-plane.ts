// The RRDB RPCs on a replica server (spec pegasus-arch §1.8, §1.13, §3.2, §3.3). Every request
// passes the same gate before its arguments are even decoded, in the reference's order:
//
//   1. the header's (app_id, partition_index) names a replica hosted here, else ERR_OBJECT_NOT_FOUND;
//   2. the table env `replica.deny_client_request` (reconfig → ERR_INVALID_STATE, timeout → no reply);
//   3. writes: a body over `[replication] max_allowed_write_size` → ERR_INVALID_DATA;
//   4. the replica is open and PRIMARY, else ERR_INVALID_STATE;
//   5. a non-zero partition_hash routes to this partition, else ERR_PARENT_PARTITION_MISUSED (or
//      ERR_SPLITTING for a split child's key at a parent unsure whether it still serves it, and
//      for any write while the parent copies itself to its child: ./split/);
//   6. writes: ERR_OPERATION_DISABLED while a bulk load's ingestion runs (./bulk-load.ts); primary +
//      secondaries ≥ mutation_2pc_min_replica_count, else ERR_NOT_ENOUGH_MEMBER;
//   7. the throttling envs (./throttling/): `replica.write_throttling` and `_by_size` for writes,
//      `replica.read_throttling` for reads. A delayed request waits the rule's delay and then
//      passes the gate again, throttling aside; a rejected one gets ERR_BUSY after the rule's delay.
//
// A read then needs `replica.read_throttling_by_size`'s bucket not to be empty (else ERR_BUSY at
// once) and takes what it read from the bucket afterwards.
//
// OBJECT_NOT_FOUND, INVALID_STATE and PARENT_PARTITION_MISUSED make the official clients query
// the meta again and retry. Then the arguments are decoded (ERR_INVALID_DATA when they cannot
// be); a PUT or REMOVE whose non-zero partition_hash is not its key's hash gets
// ERR_INVALID_PARAMETERS (Pegasus aborts the process there); reads run against the store and
// writes go through the replica's mutation path. Storage
// outcomes travel in the response's `error` field as RocksDB status codes. CLEAR_SCANNER is
// never answered. Each served read and committed write is shown to the hot-key collectors.
//
// Duplication (spec pegasus-arch §3.9): on a table that is duplicated, incr and check_and_* get
// ERR_OPERATION_DISABLED unless the table makes them idempotent (atomic_idempotent), as
// Pegasus's primary refuses them. RPC_RRDB_RRDB_DUPLICATE, another cluster's shipped writes,
// passes the same gate; entries of a cluster this one does not accept or that are malformed get
// kInvalidArgument with Pegasus's hint and change nothing; the rest go through the write path as
// one mutation (./write/duplicated-writes.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { compositeKeyHash, log, PteronError, type ErrorName } from '../base/index.ts';
import { mutation2pcMinReplicaCount, type DuplicationGroup } from '../cluster/index.ts';
import type { RpcReply, RpcRequest, RpcServer } from '../net/index.ts';
import { now2016Seconds, type ReadOptions } from '../storage/index.ts';
import {
  decodeArgs, encodeResult, RPCS, ThriftDecodeError, type CallDefinition, type CheckAndSetResponse, type IncrResponse,
  type DuplicateResponse, type MultiRemoveResponse, type RequestFrame, type ScanResponse, type UpdateResponse, type WireType,
} from '../wire/index.ts';
import { maxAllowedWriteSize, maxIterationCount, multiGetMaxIterationCount, multiGetMaxIterationSize, slowQueryThresholdNs } from './flags.ts';
import { serverRequestCounters, type OperationMetricName } from './metrics.ts';
import { isAtomicWrite, type ClientWrite, type WriteOutcome } from './write/mutation.ts';
import { duplicateRequestRefusal } from './write/duplicated-writes.ts';
import { STATUS_INVALID_ARGUMENT, STATUS_OK } from './status.ts';
import { readBatchGet, readGet, readMultiGet, readSortKeyCount, readTtl, type ReadContext, type ResponseBase } from './read/read-ops.ts';
import type { Replica, ServingPrimary } from './replica.ts';
import { continueScan, startScan, type ScanContext } from './read/scanner.ts';
import { readCostOfBatchGet, readCostOfCount, readCostOfGet, readCostOfMultiGet, readCostOfScan } from './throttling/replica-throttling.ts';
import type { ReplicaStub } from './stub.ts';
import type { HotkeyDetectors } from './hotkey/index.ts';
import { partitionHashRefusal } from './split/split-state.ts';

type RequestKind = 'read' | 'write';

/** Why a request got no result struct: a frame-level error, or (denied with "timeout") no reply at all. */
type Refusal = { error: ErrorName } | { silent: true };
/** A request let through: the replica it is for, and what that replica serves it with. */
interface Admitted {
  replica: Replica;
  serving: ServingPrimary;
}

const EMPTY = Buffer.alloc(0);
/** Node's longest timer; a longer wait (only a request without a client timeout can ask one) is cut to it. */
const TIMER_MS_MAX = 2 ** 31 - 1;

/** The thrift body's size as Pegasus measures it: the strict TMessage header plus the args struct. */
function bodyBytesOf(frame: RequestFrame): number {
  return 12 + Buffer.byteLength(frame.name) + frame.args.length;
}

const FILL_CACHE: ReadOptions = { fillCache: true };
const SKIP_CACHE: ReadOptions = { fillCache: false };

/** Engine read options from the table's envs: client reads, scans included, fill the block cache unless it is disabled (Pegasus's fill_cache). */
function readOptionsOf(replica: Replica): ReadOptions {
  return replica.envs.blockCacheEnabled ? FILL_CACHE : SKIP_CACHE;
}

/** Pegasus's slow-query threshold: the table env (ms) if set, else the server flag (ns). */
export function slowQueryThresholdNsOf(replica: Replica): number {
  const envMs = replica.envs.slowQueryThresholdMs;
  return envMs !== undefined ? envMs * 1e6 : slowQueryThresholdNs.value;
}

/** A key-hash check for the single-key writes: a non-zero header hash must be the key's own. */
function keyHashMatches(partitionHash: bigint, key: Buffer): boolean {
  if (partitionHash === 0n) return true;
  try {
    return compositeKeyHash(key) === partitionHash;
  } catch {
    // A malformed key: the write itself answers kInvalidArgument.
    return true;
  }
}

export interface DataPlane {
  /** Requests refused at the gate, by frame error, since start (tests and diagnostics). */
  readonly refusals: Map<string, number>;
}

/** Microseconds per millisecond, for the lag of a duplicated write behind its master's write time. */
const US_PER_MS = 1000n;

export function registerDataPlane(rpc: RpcServer, stub: ReplicaStub, hotkeys?: HotkeyDetectors, duplicationGroup?: DuplicationGroup): DataPlane {
  const self = stub.self;
  const counters = serverRequestCounters();
  const refusals = new Map<string, number>();

  const refuse = (kind: RequestKind, refusal: Refusal): RpcReply | undefined => {
    if ('silent' in refusal) return undefined;
    refusals.set(refusal.error, (refusals.get(refusal.error) ?? 0) + 1);
    if (refusal.error === 'ERR_BUSY') (kind === 'read' ? counters.readBusy : counters.writeBusy).increment();
    else (kind === 'read' ? counters.readFailed : counters.writeFailed).increment();
    return { error: refusal.error };
  };

  const admit = (frame: RequestFrame, kind: RequestKind): Admitted | Refusal => {
    const { appId, partitionIndex, partitionHash } = frame.header;
    const replica = stub.find(appId, partitionIndex);
    if (replica === undefined) return { error: 'ERR_OBJECT_NOT_FOUND' };
    const deny = replica.envs.denyClient;
    if (kind === 'write' ? deny.writes : deny.reads) return deny.reconfig ? { error: 'ERR_INVALID_STATE' } : { silent: true };
    if (kind === 'write' && maxAllowedWriteSize.value > 0 && bodyBytesOf(frame) > maxAllowedWriteSize.value) {
      replica.metrics.writeSizeExceeded.increment();
      log.warn({ gpid: `${appId}.${partitionIndex}`, rpc: frame.name, bytes: bodyBytesOf(frame) }, 'write request larger than max_allowed_write_size rejected');
      return { error: 'ERR_INVALID_DATA' };
    }
    const serving = replica.servingPrimary;
    if (serving === undefined) return { error: 'ERR_INVALID_STATE' };
    const misrouted = partitionHashRefusal(partitionHash, partitionIndex, replica.info, replica.servingPartitionCount);
    if (misrouted !== undefined) return { error: misrouted };
    // A parent copying itself to its child holds writes back (clients retry ERR_SPLITTING).
    if (kind === 'write' && replica.split.barrier) return { error: 'ERR_SPLITTING' };
    // A bulk load's ingestion holds writes off, as Pegasus's primary does.
    if (kind === 'write' && replica.ingestingBulkLoad) {
      replica.metrics.bulkLoadRejectedWrites.increment();
      return { error: 'ERR_OPERATION_DISABLED' };
    }
    if (kind === 'write') {
      const members = 1 + (replica.config?.secondaries.length ?? 0);
      if (members < mutation2pcMinReplicaCount.value) return { error: 'ERR_NOT_ENOUGH_MEMBER' };
    }
    return { replica, serving };
  };

  /** The gate and then the throttling (step 7): a delayed request is let in after its wait if the gate still lets it. */
  const admitThrottled = async (frame: RequestFrame, kind: RequestKind): Promise<Admitted | Refusal> => {
    const admitted = admit(frame, kind);
    if (!('replica' in admitted)) return admitted;
    const throttling = admitted.replica.throttling;
    const timeoutMs = frame.header.clientTimeoutMs;
    const decision = kind === 'write' ? throttling.throttleWrite(timeoutMs, bodyBytesOf(frame)) : throttling.throttleRead(timeoutMs);
    if (decision.action === 'pass') return admitted;
    if (decision.delayMs > 0) await sleep(Math.min(decision.delayMs, TIMER_MS_MAX));
    return decision.action === 'reject' ? { error: 'ERR_BUSY' } : admit(frame, kind);
  };

  const decode = <A>(definition: { args: WireType<A> }, frame: RequestFrame): A | undefined => {
    try {
      return decodeArgs(definition.args, frame.args);
    } catch (error) {
      if (error instanceof ThriftDecodeError || error instanceof RangeError) return undefined;
      throw error;
    }
  };

  const baseOf = (replica: Replica): ResponseBase => ({ appId: replica.gpid.appId, partitionIndex: replica.gpid.partitionIndex, server: self });

  /** Errors of an admitted request: a frame error the client understands, never a crash. */
  const failureOf = (kind: RequestKind, frame: RequestFrame, error: unknown): RpcReply => {
    // ERR_TIMEOUT: the write was prepared and may still commit, so the client must not repeat it as new.
    if (error instanceof PteronError && (error.code === 'ERR_BUSY' || error.code === 'ERR_INVALID_STATE' || error.code === 'ERR_TIMEOUT')) {
      return refuse(kind, { error: error.code })!;
    }
    log.debug({ rpc: frame.name, err: (error as Error).message }, 'data request failed');
    return refuse(kind, { error: 'ERR_INVALID_STATE' })!;
  };

  const registerRead = <A, R>(
    definition: CallDefinition<A, R>,
    metric: OperationMetricName | undefined,
    run: (admitted: Admitted, args: A) => R | Promise<R>,
    /** What the read costs against replica.read_throttling_by_size. */
    costOf: (args: A, result: R) => number,
    /** The reads Pegasus checks against the slow-query threshold (get, multi_get, batch_get): what the warning tells of one. */
    describeSlow?: (args: A, result: R) => Record<string, unknown>,
  ): void => {
    rpc.register(definition.name, async (request: RpcRequest) => {
      const admitted = await admitThrottled(request.frame, 'read');
      // After a throttling delay: the latency and the slow-query check are the operation's own.
      const startNs = process.hrtime.bigint();
      if (!('replica' in admitted)) return refuse('read', admitted);
      const args = decode(definition, request.frame);
      if (args === undefined) return refuse('read', { error: 'ERR_INVALID_DATA' });
      const { replica } = admitted;
      if (!replica.throttling.readBytesAvailable()) return refuse('read', { error: 'ERR_BUSY' });
      try {
        const result = await run(admitted, args);
        replica.throttling.consumeReadBytes(costOf(args, result));
        hotkeys?.onRead(replica, definition.name, args, result);
        const timeUsedNs = Number(process.hrtime.bigint() - startNs);
        if (metric) replica.metrics.record(metric, timeUsedNs);
        const thresholdNs = slowQueryThresholdNsOf(replica);
        if (describeSlow !== undefined && timeUsedNs >= thresholdNs) {
          replica.metrics.abnormalReads.increment();
          // Sizes and counts, not the keys themselves: a log line should not carry user data.
          log.warn(
            { gpid: `${replica.gpid.appId}.${replica.gpid.partitionIndex}`, from: `${request.remoteAddress}:${request.remotePort}`, timeUsedNs, thresholdNs, ...describeSlow(args, result) },
            `abnormal ${definition.name}: slower than the slow query threshold`,
          );
        }
        return { error: 'ERR_OK', result: encodeResult(definition.result, result) };
      } catch (error) {
        return failureOf('read', request.frame, error);
      }
    });
  };

  const registerWrite = <A, R>(
    definition: CallDefinition<A, R>,
    metric: OperationMetricName,
    toWrite: (args: A) => ClientWrite,
    /** The single key of PUT and REMOVE, for the header-hash check. */
    keyOf: ((args: A) => Buffer) | undefined,
    respond: (base: ResponseBase, decree: bigint, outcome: WriteOutcome) => R,
  ): void => {
    rpc.register(definition.name, async (request: RpcRequest) => {
      const admitted = await admitThrottled(request.frame, 'write');
      const startNs = process.hrtime.bigint();
      if (!('replica' in admitted)) return refuse('write', admitted);
      const args = decode(definition, request.frame);
      if (args === undefined) return refuse('write', { error: 'ERR_INVALID_DATA' });
      if (keyOf && !keyHashMatches(request.frame.header.partitionHash, keyOf(args))) return refuse('write', { error: 'ERR_INVALID_PARAMETERS' });
      const { replica, serving } = admitted;
      const write = toWrite(args);
      if (isAtomicWrite(write) && replica.info.duplicating && !replica.info.atomicIdempotent) return refuse('write', { error: 'ERR_OPERATION_DISABLED' });
      try {
        const { decree, outcome } = await serving.path.submit(write, bodyBytesOf(request.frame));
        hotkeys?.onWrite(replica, definition.name, args, outcome);
        replica.metrics.record(metric, Number(process.hrtime.bigint() - startNs));
        replica.metrics.committedRequests.increment();
        return { error: 'ERR_OK', result: encodeResult(definition.result, respond(baseOf(replica), BigInt(decree), outcome)) };
      } catch (error) {
        return failureOf('write', request.frame, error);
      }
    });
  };

  const readContext = ({ replica, serving }: Admitted): ReadContext => ({
    store: serving.store,
    base: baseOf(replica),
    now: now2016Seconds(),
    readOptions: readOptionsOf(replica),
    limits: {
      multiGetMaxIterationCount: multiGetMaxIterationCount.value,
      multiGetMaxIterationSize: multiGetMaxIterationSize.value,
      maxIterationCount: maxIterationCount.value,
      iterationThresholdMs: replica.envs.iterationThresholdMs,
    },
    expired: (count) => count > 0 && replica.metrics.readExpiredValues.increment(count),
    filtered: (count) => count > 0 && replica.metrics.readFilteredValues.increment(count),
  });

  const scanContext = ({ replica, serving }: Admitted): ScanContext => ({
    store: serving.store,
    base: baseOf(replica),
    now: now2016Seconds(),
    readOptions: readOptionsOf(replica),
    partitionCount: replica.keyPartitionCount,
    splitValidatePartitionHash: replica.envs.splitValidatePartitionHash,
    maxIterationCount: maxIterationCount.value,
    iterationThresholdMs: replica.envs.iterationThresholdMs,
    expired: (count) => count > 0 && replica.metrics.readExpiredValues.increment(count),
    filtered: (count) => count > 0 && replica.metrics.readFilteredValues.increment(count),
  });

  // Reads.
  registerRead(
    RPCS.RPC_RRDB_RRDB_GET, 'get', (admitted, key) => readGet(readContext(admitted), key), readCostOfGet,
    (key, response) => ({ keyBytes: key.length, status: response.error, valueBytes: response.value.length }),
  );
  registerRead(
    RPCS.RPC_RRDB_RRDB_MULTI_GET, 'multi_get', (admitted, request) => readMultiGet(readContext(admitted), request),
    (request, response) => readCostOfMultiGet(request.hashKey, response),
    (request, response) => ({
      hashKeyBytes: request.hashKey.length, sortKeys: request.sortKeys.length, maxKvCount: request.maxKvCount, maxKvSize: request.maxKvSize,
      reverse: request.reverse, status: response.error, resultCount: response.kvs.length,
      resultBytes: response.kvs.reduce((sum, kv) => sum + kv.key.length + kv.value.length, 0),
    }),
  );
  registerRead(
    RPCS.RPC_RRDB_RRDB_BATCH_GET, 'batch_get', (admitted, request) => readBatchGet(readContext(admitted), request),
    (_request, response) => readCostOfBatchGet(response),
    (request, response) => ({
      rowCount: request.keys.length, status: response.error,
      totalDataBytes: response.data.reduce((sum, row) => sum + row.hashKey.length + row.sortKey.length + row.value.length, 0),
    }),
  );
  // Pegasus counts sortkey_count among the scans and gives ttl no counter of its own.
  const countCost = (_args: unknown, response: { error: number }) => readCostOfCount(response.error);
  const scanCost = (_args: unknown, response: ScanResponse) => readCostOfScan(response);
  registerRead(RPCS.RPC_RRDB_RRDB_SORTKEY_COUNT, 'scan', (admitted, hashKey) => readSortKeyCount(readContext(admitted), hashKey), countCost);
  registerRead(RPCS.RPC_RRDB_RRDB_TTL, undefined, (admitted, key) => readTtl(readContext(admitted), key), countCost);
  registerRead(RPCS.RPC_RRDB_RRDB_GET_SCANNER, 'scan', (admitted, request) => startScan(scanContext(admitted), admitted.replica.scanners, request), scanCost);
  registerRead(RPCS.RPC_RRDB_RRDB_SCAN, 'scan', (admitted, request) => continueScan(scanContext(admitted), admitted.replica.scanners, request.contextId), scanCost);
  rpc.register(RPCS.RPC_RRDB_RRDB_CLEAR_SCANNER.name, (request: RpcRequest) => {
    const { appId, partitionIndex } = request.frame.header;
    const replica = stub.find(appId, partitionIndex);
    const contextId = decode(RPCS.RPC_RRDB_RRDB_CLEAR_SCANNER, request.frame);
    if (replica !== undefined && contextId !== undefined) replica.scanners.drop(contextId);
    return undefined;
  });

  // Writes.
  const update = (base: ResponseBase, decree: bigint, outcome: WriteOutcome): UpdateResponse => ({ error: outcome.error, ...base, decree });
  registerWrite(RPCS.RPC_RRDB_RRDB_PUT, 'put', (request) => ({ op: 'put', request }), (request) => request.key, update);
  registerWrite(RPCS.RPC_RRDB_RRDB_REMOVE, 'remove', (key) => ({ op: 'remove', key }), (key) => key, update);
  registerWrite(RPCS.RPC_RRDB_RRDB_MULTI_PUT, 'multi_put', (request) => ({ op: 'multi_put', request }), undefined, update);
  registerWrite(
    RPCS.RPC_RRDB_RRDB_MULTI_REMOVE, 'multi_remove', (request) => ({ op: 'multi_remove', request }), undefined,
    (base, decree, outcome): MultiRemoveResponse => ({ error: outcome.error, count: outcome.count ?? 0n, ...base, decree }),
  );
  registerWrite(
    RPCS.RPC_RRDB_RRDB_INCR, 'incr', (request) => ({ op: 'incr', request }), undefined,
    (base, decree, outcome): IncrResponse => ({ error: outcome.error, newValue: outcome.newValue ?? 0n, ...base, decree }),
  );
  const checkResponse = (base: ResponseBase, decree: bigint, outcome: WriteOutcome): CheckAndSetResponse => ({
    error: outcome.error,
    checkValueReturned: outcome.check?.returned ?? false,
    checkValueExist: outcome.check?.exist ?? false,
    checkValue: outcome.check?.value ?? EMPTY,
    ...base,
    decree,
  });
  registerWrite(RPCS.RPC_RRDB_RRDB_CHECK_AND_SET, 'check_and_set', (request) => ({ op: 'check_and_set', request }), undefined, checkResponse);
  registerWrite(RPCS.RPC_RRDB_RRDB_CHECK_AND_MUTATE, 'check_and_mutate', (request) => ({ op: 'check_and_mutate', request }), undefined, checkResponse);

  // Without a duplication group no cluster id is configured.
  const refusalOfClusterId = (id: number): string | undefined => duplicationGroup ? duplicationGroup.refusalOfClusterId(id) : 'request cluster id is unconfigured';
  const duplicated = (response: DuplicateResponse): RpcReply => ({ error: 'ERR_OK', result: encodeResult(RPCS.RPC_RRDB_RRDB_DUPLICATE.result, response) });
  rpc.register(RPCS.RPC_RRDB_RRDB_DUPLICATE.name, async (request: RpcRequest) => {
    const admitted = await admitThrottled(request.frame, 'write');
    if (!('replica' in admitted)) return refuse('write', admitted);
    const args = decode(RPCS.RPC_RRDB_RRDB_DUPLICATE, request.frame);
    if (args === undefined) return refuse('write', { error: 'ERR_INVALID_DATA' });
    const { replica, serving } = admitted;
    const hint = duplicateRequestRefusal(args, refusalOfClusterId);
    if (hint !== undefined) {
      log.warn({ gpid: `${replica.gpid.appId}.${replica.gpid.partitionIndex}`, from: `${request.remoteAddress}:${request.remotePort}`, hint }, 'DUPLICATE request refused');
      return duplicated({ error: STATUS_INVALID_ARGUMENT, errorHint: hint });
    }
    if (args.entries.length === 0) return duplicated({ error: STATUS_OK });
    try {
      const { outcome } = await serving.path.submit({ op: 'duplicate', request: args }, bodyBytesOf(request.frame));
      replica.metrics.committedRequests.increment();
      const metrics = replica.duplicationMetrics;
      metrics.followerRequests.increment(args.entries.length);
      const nowMs = BigInt(Date.now());
      for (const entry of args.entries) metrics.followerTimeLagMs.observe(Number(nowMs - (entry.timestamp ?? 0n) / US_PER_MS));
      return duplicated({ error: outcome.error, ...(outcome.hint !== undefined && { errorHint: outcome.hint }) });
    } catch (error) {
      return failureOf('write', request.frame, error);
    }
  });

  return { refusals };
}

