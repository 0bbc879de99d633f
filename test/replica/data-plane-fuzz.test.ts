// Robustness of the data plane: thousands of seeded random RRDB frames (valid names with random
// but well-typed arguments, random thrift structs with wrong field types, truncated args, random
// bytes, random headers) against a meta and three replica servers. Every CALL must be answered
// with a known error name, every ERR_OK reply must decode with the RPC's result codec and carry
// a RocksDB status Pegasus uses; afterwards every replica server is the same process, serves
// every partition and logged no error. PTERON_FUZZ_SEED=<seed> replays a run.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ERROR_NAMES } from '../../src/base/index.ts';
import { encodeKey, now2016Seconds, prefixSuccessor } from '../../src/storage/index.ts';
import {
  decodeResult, encodeArgs, RPCS, ThriftWriter, TType, type AnyRpcDefinition, type KeyValue, type RpcName,
} from '../../src/wire/index.ts';
import { keyHashOf, RawConnection, TableRouter, TestCluster } from '../helpers/data-plane.ts';

const SEED = process.env.PTERON_FUZZ_SEED !== undefined ? Number(process.env.PTERON_FUZZ_SEED) : randomInt(2 ** 31);
const FRAMES = 4000;
const CONNECTIONS = 8;
const PARTITIONS = 4;

/** xorshift32 with a splitmix-style seed scramble: the same sequence for the same seed everywhere. */
class Random {
  private state: number;
  constructor(seed: number) {
    let mixed = (seed ^ 0x9e3779b9) >>> 0;
    mixed = Math.imul(mixed ^ (mixed >>> 16), 0x85ebca6b) >>> 0;
    this.state = (mixed ^ (mixed >>> 13)) >>> 0 || 1;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 4294967296;
  }
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Mostly short, sometimes long. */
  size(max: number): number {
    return Math.floor(max ** this.next());
  }
  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let index = 0; index < length; index++) out[index] = this.int(256);
    return out;
  }
  /** Keys from a small alphabet, so that random reads and writes meet. */
  keyish(): Buffer {
    if (this.chance(0.1)) return this.bytes(this.size(40));
    const length = this.int(4);
    return Buffer.from(Array.from({ length }, () => this.pick(['a', 'b', 'c', '\u0000', '\u00ff'])).join(''), 'latin1');
  }
  i32(): number {
    return this.pick([0, -1, 1, 2, 3, 7, 100, 0x7fffffff, -0x80000000, this.int(2 ** 31) - 2 ** 30]);
  }
}

const DATA_RPCS: RpcName[] = [
  'RPC_RRDB_RRDB_PUT', 'RPC_RRDB_RRDB_MULTI_PUT', 'RPC_RRDB_RRDB_REMOVE', 'RPC_RRDB_RRDB_MULTI_REMOVE', 'RPC_RRDB_RRDB_INCR',
  'RPC_RRDB_RRDB_CHECK_AND_SET', 'RPC_RRDB_RRDB_CHECK_AND_MUTATE', 'RPC_RRDB_RRDB_GET', 'RPC_RRDB_RRDB_MULTI_GET', 'RPC_RRDB_RRDB_BATCH_GET',
  'RPC_RRDB_RRDB_SORTKEY_COUNT', 'RPC_RRDB_RRDB_TTL', 'RPC_RRDB_RRDB_GET_SCANNER', 'RPC_RRDB_RRDB_SCAN', 'RPC_RRDB_RRDB_CLEAR_SCANNER',
];
const STATUS_CODES = new Set([0, 1, 4, 7, 13]);
const KNOWN_ERRORS = new Set<string>(ERROR_NAMES);

/** Well-typed arguments with random values for `name`. */
function randomArgs(name: RpcName, rng: Random, contextIds: bigint[]): unknown {
  const key = (): Buffer => (rng.chance(0.9) ? encodeKey(rng.keyish(), rng.keyish()) : rng.bytes(rng.size(8)));
  const kvs = (): KeyValue[] => Array.from({ length: rng.int(5) }, () => ({ key: rng.keyish(), value: rng.bytes(rng.size(300)) }));
  const expire = (): number => rng.pick([0, 0, now2016Seconds() + rng.int(5) - 2, -1, rng.i32()]);
  switch (name) {
    case 'RPC_RRDB_RRDB_PUT':
      return { key: key(), value: rng.bytes(rng.size(2000)), expireTsSeconds: expire() };
    case 'RPC_RRDB_RRDB_MULTI_PUT':
      return { hashKey: rng.keyish(), kvs: kvs(), expireTsSeconds: expire() };
    case 'RPC_RRDB_RRDB_REMOVE':
    case 'RPC_RRDB_RRDB_GET':
    case 'RPC_RRDB_RRDB_TTL':
      return key();
    case 'RPC_RRDB_RRDB_SORTKEY_COUNT':
      return rng.keyish();
    case 'RPC_RRDB_RRDB_MULTI_REMOVE':
      return { hashKey: rng.keyish(), sortKeys: Array.from({ length: rng.int(4) }, () => rng.keyish()), maxCount: BigInt(rng.i32()) };
    case 'RPC_RRDB_RRDB_INCR':
      return { key: key(), increment: rng.pick([1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt(rng.i32())]), expireTsSeconds: expire() };
    case 'RPC_RRDB_RRDB_CHECK_AND_SET':
      return {
        hashKey: rng.keyish(), checkSortKey: rng.keyish(), checkType: rng.int(20) - 1, checkOperand: rng.pick([rng.keyish(), Buffer.from(String(rng.i32()))]),
        setDiffSortKey: rng.chance(0.5), setSortKey: rng.keyish(), setValue: rng.bytes(rng.size(100)), setExpireTsSeconds: expire(), returnCheckValue: rng.chance(0.5),
      };
    case 'RPC_RRDB_RRDB_CHECK_AND_MUTATE':
      return {
        hashKey: rng.keyish(), checkSortKey: rng.keyish(), checkType: rng.int(20) - 1, checkOperand: rng.keyish(), returnCheckValue: rng.chance(0.5),
        mutateList: Array.from({ length: rng.int(4) }, () => ({ operation: rng.int(3), sortKey: rng.keyish(), value: rng.bytes(rng.size(50)), setExpireTsSeconds: expire() })),
      };
    case 'RPC_RRDB_RRDB_MULTI_GET':
      return {
        hashKey: rng.keyish(), sortKeys: rng.chance(0.3) ? Array.from({ length: rng.int(4) }, () => rng.keyish()) : [], maxKvCount: rng.i32(),
        maxKvSize: rng.i32(), noValue: rng.chance(0.3), startSortkey: rng.keyish(), stopSortkey: rng.keyish(), startInclusive: rng.chance(0.5),
        stopInclusive: rng.chance(0.5), sortKeyFilterType: rng.int(5), sortKeyFilterPattern: rng.keyish(), reverse: rng.chance(0.4),
      };
    case 'RPC_RRDB_RRDB_BATCH_GET':
      return { keys: Array.from({ length: rng.int(5) }, () => ({ hashKey: rng.keyish(), sortKey: rng.keyish() })) };
    case 'RPC_RRDB_RRDB_GET_SCANNER': {
      const hashKey = rng.keyish();
      const full = rng.chance(0.3);
      return {
        startKey: full ? Buffer.of(0, 0) : rng.chance(0.8) ? encodeKey(hashKey, rng.keyish()) : rng.bytes(rng.size(6)),
        stopKey: full ? Buffer.of(0xff, 0xff) : rng.chance(0.8) ? prefixSuccessor(encodeKey(hashKey, Buffer.alloc(0)))! : rng.bytes(rng.size(6)),
        startInclusive: rng.chance(0.5), stopInclusive: rng.chance(0.5), batchSize: rng.pick([1, 2, 5, 0, -1, rng.i32()]), noValue: rng.chance(0.3),
        hashKeyFilterType: rng.int(5), hashKeyFilterPattern: rng.keyish(), sortKeyFilterType: rng.int(5), sortKeyFilterPattern: rng.keyish(),
        ...(rng.chance(0.5) && { validatePartitionHash: rng.chance(0.5) }), ...(rng.chance(0.5) && { returnExpireTs: rng.chance(0.5) }),
        ...(rng.chance(0.5) && { fullScan: full || rng.chance(0.5) }), ...(rng.chance(0.5) && { onlyReturnCount: rng.chance(0.5) }),
      };
    }
    case 'RPC_RRDB_RRDB_SCAN':
      return { contextId: contextIds.length > 0 && rng.chance(0.7) ? rng.pick(contextIds) : BigInt(rng.i32()) };
    case 'RPC_RRDB_RRDB_CLEAR_SCANNER':
      return contextIds.length > 0 && rng.chance(0.5) ? rng.pick(contextIds) : BigInt(rng.i32());
    default:
      throw new Error(`no generator for ${name}`);
  }
}

/** A random thrift value of `type` (lists and structs nest a little). */
function writeRandomValue(writer: ThriftWriter, type: TType, rng: Random, depth: number): void {
  switch (type) {
    case TType.BOOL: writer.bool(rng.chance(0.5)); break;
    case TType.BYTE: writer.byte(rng.int(256) - 128); break;
    case TType.I16: writer.i16(rng.int(65536) - 32768); break;
    case TType.I32: writer.i32(rng.i32()); break;
    case TType.I64: writer.i64(BigInt(rng.i32()) * BigInt(rng.i32())); break;
    case TType.DOUBLE: writer.double(rng.next() * 1e6); break;
    case TType.STRING: writer.binary(rng.bytes(rng.size(64))); break;
    case TType.LIST: {
      const element = rng.pick([TType.I32, TType.STRING, TType.STRUCT, TType.BOOL]);
      const count = depth > 2 ? 0 : rng.int(4);
      writer.listBegin(element, count);
      for (let index = 0; index < count; index++) writeRandomValue(writer, element, rng, depth + 1);
      break;
    }
    default:
      writeRandomStruct(writer, rng, depth + 1);
  }
}

function writeRandomStruct(writer: ThriftWriter, rng: Random, depth: number): void {
  const fields = depth > 3 ? 0 : rng.int(6);
  for (let index = 0; index < fields; index++) {
    const type = rng.pick([TType.BOOL, TType.BYTE, TType.I16, TType.I32, TType.I64, TType.DOUBLE, TType.STRING, TType.STRUCT, TType.LIST]);
    writer.fieldBegin(type, rng.int(16));
    writeRandomValue(writer, type, rng, depth);
  }
  writer.fieldStop();
}

/** A request body for `name`: well-typed random args, a random struct, truncated args or bytes. */
function randomBody(name: RpcName, rng: Random, contextIds: bigint[]): Buffer {
  const definition = RPCS[name] as AnyRpcDefinition;
  const roll = rng.next();
  if (roll < 0.55) return encodeArgs(definition.args, randomArgs(name, rng, contextIds));
  if (roll < 0.75) {
    const writer = new ThriftWriter(64);
    writeRandomStruct(writer, rng, 0);
    return writer.finish();
  }
  if (roll < 0.92) {
    const valid = encodeArgs(definition.args, randomArgs(name, rng, contextIds));
    return valid.subarray(0, rng.int(valid.length));
  }
  return rng.bytes(rng.size(200));
}

describe(`data plane fuzz (seed ${SEED}; rerun with PTERON_FUZZ_SEED=${SEED})`, { timeout: 240000 }, () => {
  const cluster = new TestCluster({ partitionCount: PARTITIONS });
  let router: TableRouter;
  const pids: number[] = [];

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS);
    router = new TableRouter(cluster.metaPort, 'temp');
    await cluster.waitServing(router);
    pids.push(...cluster.replicas.map((replica) => replica.pid));
  });

  after(async () => {
    router?.close();
    await cluster.stop();
  });

  test('random frames are answered with known errors and well-formed results', async (t) => {
    t.diagnostic(`seed ${SEED}`);
    // Per replica server, a few connections; most frames go to the partition's primary.
    const byPort = new Map(cluster.replicaPorts.map((port) => [port, Array.from({ length: CONNECTIONS / 2 }, () => new RawConnection(port))]));
    const connections = [...byPort.values()].flat();
    const contextIds: bigint[] = [];
    const outcomes = new Map<string, number>();
    const count = (label: string): void => void outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
    let next = 0;
    const worker = async (workerIndex: number): Promise<void> => {
      for (;;) {
        const index = next++;
        if (index >= FRAMES) return;
        const rng = new Random((SEED ^ Math.imul(index + 1, 0x27d4eb2d)) >>> 0);
        const name = rng.pick(DATA_RPCS);
        const body = randomBody(name, rng, contextIds);
        const pidx = rng.int(PARTITIONS);
        const primaryPort = Number(router.partitions[pidx]!.primary.split(':')[1]);
        const connection = rng.chance(0.85) ? byPort.get(primaryPort)![workerIndex % (CONNECTIONS / 2)]! : rng.pick(connections);
        const header = rng.chance(0.85)
          ? { appId: router.appId, partitionIndex: pidx, partitionHash: rng.pick([0n, BigInt(pidx), BigInt(rng.i32()) & 0xffffffffn]) }
          : { appId: rng.i32(), partitionIndex: rng.i32(), partitionHash: BigInt(rng.i32()) & 0xffffffffn };
        const context = `seed ${SEED} frame ${index} ${name}`;
        if (name === 'RPC_RRDB_RRDB_CLEAR_SCANNER' || rng.chance(0.03)) {
          const seqid = await connection.send(name, body, { ...header, oneway: rng.chance(0.5) });
          if (name === 'RPC_RRDB_RRDB_CLEAR_SCANNER') assert.equal(await connection.repliedWithin(seqid, 20), false, context);
          else await connection.repliedWithin(seqid, 200);
          count('unanswered');
          continue;
        }
        const reply = await connection.request(name, body, header, 15000);
        assert.ok(KNOWN_ERRORS.has(reply.error), `${context}: unknown error ${reply.error}`);
        assert.equal(reply.name, `${name}_ACK`, context);
        count(reply.error);
        if (reply.error !== 'ERR_OK') {
          assert.equal(reply.result.length, 0, context);
          continue;
        }
        const definition = RPCS[name] as AnyRpcDefinition;
        const result = decodeResult(definition.result!, reply.result) as { error: number; contextId?: bigint; appId: number; partitionIndex: number };
        assert.ok(STATUS_CODES.has(result.error), `${context}: status ${result.error}`);
        assert.equal(result.appId, header.appId, context);
        assert.equal(result.partitionIndex, header.partitionIndex, context);
        if (result.contextId !== undefined && result.contextId >= 0n && contextIds.length < 64) contextIds.push(result.contextId);
      }
    };
    try {
      await Promise.all(Array.from({ length: CONNECTIONS }, (_, index) => worker(index)));
    } finally {
      for (const connection of connections) connection.close();
    }
    t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.ok((outcomes.get('ERR_OK') ?? 0) > FRAMES / 4, 'a good share of the frames passed the gate and ran');
    assert.ok((outcomes.get('ERR_INVALID_DATA') ?? 0) > 100, 'malformed args were refused');
  });

  test('afterwards every replica server is the same process, serves every partition and logged no error', async () => {
    assert.deepEqual(cluster.replicas.map((replica) => replica.child.exitCode), [null, null, null]);
    assert.deepEqual(cluster.replicas.map((replica) => replica.pid), pids);
    for (const replica of cluster.replicas) assert.equal((await fetch(`${replica.url}/version`)).status, 200);
    await router.refresh();
    for (let pidx = 0; pidx < PARTITIONS; pidx++) {
      // A key of this partition, written and read back through its primary.
      let suffix = 0;
      while (router.pidxOfHash(keyHashOf(encodeKey(Buffer.from(`after${suffix}`), Buffer.from('k')))) !== pidx) suffix++;
      const composite = encodeKey(Buffer.from(`after${suffix}`), Buffer.from('k'));
      const stored = await router.callRetrying('RPC_RRDB_RRDB_PUT', { key: composite, value: Buffer.from(`p${pidx}`), expireTsSeconds: 0 }, keyHashOf(composite));
      assert.deepEqual([stored.error, stored.result?.error], ['ERR_OK', 0], `partition ${pidx}`);
      const read = await router.callRetrying('RPC_RRDB_RRDB_GET', composite, keyHashOf(composite));
      assert.deepEqual(read.result?.value, Buffer.from(`p${pidx}`), `partition ${pidx}`);
    }
    assert.deepEqual(cluster.errorLines().slice(0, 5), [], `seed ${SEED}`);
  });
});
