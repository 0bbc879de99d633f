// The client against in-process fake servers (test/helpers/fake-pegasus.ts): key encoding,
// routing by crc64, meta discovery, configuration refresh and retries, deadlines, in-flight
// limits, storage errors, every table operation, and scanners (batches, lost contexts,
// partition splits of a full scan).
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { crc64, hashKeyHash, partitionIndexOf, recordHash } from '../../src/base/index.ts';
import {
  CasCheckType, createClient, decodeCompositeKey, encodeCompositeKey, expireTsFromTtl, hashKeyRangeEnd, isPegasusError, nowSincePegasusEpochSeconds,
  PegasusError, successorOfPrefix, type PegasusClient, type PegasusTable,
} from '../../src/client/index.ts';
import { reactionTo } from '../../src/client/router.ts';
import { FakeMeta, FakeReplica, FakeStore, partitionOfHashKey } from '../helpers/fake-pegasus.ts';
import { waitFor } from '../helpers/process.ts';

const APP_ID = 3;
const PARTITIONS = 8;

function failsWith(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PegasusError, `expected a PegasusError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

/** A hash key whose records land in `partition` of an 8-partition table. */
function hashKeyIn(partition: number, tag = 'k'): string {
  for (let index = 0; index < 10_000; index++) {
    const candidate = `${tag}${index}`;
    if (partitionOfHashKey(candidate, PARTITIONS) === partition) return candidate;
  }
  throw new Error(`no hash key for partition ${partition}`);
}

describe('client keys and TTLs', () => {
  test('composite keys carry a big-endian hash-key length, and decode back', () => {
    const key = encodeCompositeKey(Buffer.from('hk'), Buffer.from('sk'));
    assert.equal(key.toString('hex'), '0002686b736b');
    const parts = decodeCompositeKey(key)!;
    assert.equal(parts.hashKey.toString(), 'hk');
    assert.equal(parts.sortKey.toString(), 'sk');
    assert.equal(decodeCompositeKey(Buffer.from([0x00])), undefined);
    assert.equal(decodeCompositeKey(Buffer.from([0x00, 0x05, 0x61])), undefined);
    assert.deepEqual(decodeCompositeKey(encodeCompositeKey(Buffer.alloc(0), Buffer.from('x'))), { hashKey: Buffer.alloc(0), sortKey: Buffer.from('x') });
  });

  test('the end of a hash key range sorts after every key of it and before the next hash key', () => {
    const end = hashKeyRangeEnd(Buffer.from('ab'));
    assert.equal(end.toString('hex'), '00026163');
    assert.ok(Buffer.compare(encodeCompositeKey(Buffer.from('ab'), Buffer.from([0xff, 0xff, 0xff])), end) < 0);
    assert.ok(Buffer.compare(end, encodeCompositeKey(Buffer.from('ac'), Buffer.alloc(0))) <= 0);
    // Trailing 0xFF bytes carry into the byte before them.
    assert.equal(hashKeyRangeEnd(Buffer.from([0x61, 0xff])).toString('hex'), '000262');
    assert.equal(successorOfPrefix(Buffer.from([0x00, 0x01, 0x61, 0xff]), 2)?.toString('hex'), '000162');
    assert.equal(successorOfPrefix(Buffer.from([0x00, 0x01, 0xff]), 2), undefined);
    assert.equal(successorOfPrefix(Buffer.from([0xff, 0xff]), 2), undefined);
  });

  test('TTLs become expiry times since 2016-01-01', () => {
    const nowMs = Date.UTC(2024, 0, 1);
    assert.equal(nowSincePegasusEpochSeconds(nowMs), 252460800);
    assert.equal(expireTsFromTtl(0, 'set', nowMs), 0);
    assert.equal(expireTsFromTtl(60, 'set', nowMs), 252460860);
    assert.throws(() => expireTsFromTtl(-1, 'set'), failsWith('ERR_INVALID_PARAMETERS'));
    assert.throws(() => expireTsFromTtl(1.5, 'set'), failsWith('ERR_INVALID_PARAMETERS'));
  });

  test('frame errors are sorted into refresh, pause and fail', () => {
    for (const error of ['ERR_OBJECT_NOT_FOUND', 'ERR_INVALID_STATE', 'ERR_PARENT_PARTITION_MISUSED', 'ERR_TIMEOUT', 'ERR_NETWORK_FAILURE']) {
      assert.equal(reactionTo(error), 'refresh', error);
    }
    for (const error of ['ERR_BUSY', 'ERR_SPLITTING', 'ERR_NOT_ENOUGH_MEMBER', 'ERR_CAPACITY_EXCEEDED']) assert.equal(reactionTo(error), 'pause', error);
    for (const error of ['ERR_DISK_INSUFFICIENT', 'ERR_ACL_DENY', 'ERR_INVALID_DATA', 'ERR_HANDLER_NOT_FOUND', 'ERR_UNKNOWN']) {
      assert.equal(reactionTo(error), 'fail', error);
    }
  });

  test('hash keys of 65535 bytes or more are refused before anything is sent', async () => {
    const client = createClient({ metaServers: ['127.0.0.1:1'], timeoutMs: 200 });
    try {
      await assert.rejects(client.openTable(''), failsWith('ERR_INVALID_PARAMETERS'));
      assert.throws(() => createClient({ metaServers: ['nonsense'] }), failsWith('ERR_INVALID_PARAMETERS'));
      assert.throws(() => createClient({ metaServers: [] }), failsWith('ERR_INVALID_PARAMETERS'));
    } finally {
      await client.close();
    }
  });
});

describe('client against fake servers', () => {
  const store = new FakeStore();
  let meta: FakeMeta;
  let a: FakeReplica;
  let b: FakeReplica;
  let client: PegasusClient;
  let table: PegasusTable;

  const layout = (): void => {
    // Even partitions on A, odd ones on B.
    meta.tables.set('t', {
      appId: APP_ID,
      partitions: Array.from({ length: PARTITIONS }, (_, index) => ({ primary: index % 2 === 0 ? a.address : b.address, ballot: 3 })),
    });
    a.serves.clear();
    b.serves.clear();
    for (let index = 0; index < PARTITIONS; index++) (index % 2 === 0 ? a : b).serve(APP_ID, index);
  };

  before(async () => {
    meta = await FakeMeta.start();
    a = await FakeReplica.start(store, meta.partitionCountOf);
    b = await FakeReplica.start(store, meta.partitionCountOf);
  });

  after(async () => {
    await Promise.all([meta.close(), a.close(), b.close()]);
  });

  beforeEach(async () => {
    store.records.clear();
    layout();
    for (const replica of [a, b]) {
      replica.requests.length = 0;
      replica.fault = () => undefined;
      replica.forgetContexts = false;
    }
    meta.forwardTo = undefined;
    meta.notActiveAnswers = 0;
    meta.queries = 0;
    client = createClient({ metaServers: [meta.address], timeoutMs: 2000, retryDelayMs: 5, retryDelayMaxMs: 50 });
    table = await client.openTable('t');
  });

  afterEach(async () => {
    await client.close();
  });

  test('openTable learns the configuration; an unknown table is ERR_OBJECT_NOT_FOUND', async () => {
    assert.equal(table.appId, APP_ID);
    assert.equal(table.partitionCount, PARTITIONS);
    assert.equal(await client.openTable('t'), table, 'tables are cached by name');
    await assert.rejects(client.openTable('missing'), failsWith('ERR_OBJECT_NOT_FOUND'));
  });

  test('requests go to the primary of crc64(hash key) mod partition count, with the hash in the header', async () => {
    for (let index = 0; index < 40; index++) await table.set(`user${index}`, 'name', `v${index}`);
    const sets = [...a.requests, ...b.requests].filter((request) => request.name === 'RPC_RRDB_RRDB_PUT');
    assert.equal(sets.length, 40);
    for (const request of sets) {
      assert.equal(request.appId, APP_ID);
      assert.equal(request.partitionIndex, partitionIndexOf(request.partitionHash, PARTITIONS));
      assert.equal(request.server, request.partitionIndex % 2 === 0 ? a.address : b.address);
    }
    assert.ok(a.count('RPC_RRDB_RRDB_PUT') > 0 && b.count('RPC_RRDB_RRDB_PUT') > 0, 'both servers got requests');
    const expected = crc64(Buffer.from('user7'));
    assert.equal(hashKeyHash(Buffer.from('user7')), expected);
    assert.equal(table.partitionIndexOf('user7'), partitionIndexOf(expected, PARTITIONS));
    // An empty hash key routes by the sort key.
    await table.set('', 'only-sort-key', 'x');
    const bySortKey = recordHash(Buffer.alloc(0), Buffer.from('only-sort-key'));
    assert.equal(bySortKey, crc64(Buffer.from('only-sort-key')));
    const routed = [...a.requests, ...b.requests].filter((request) => request.partitionHash === bySortKey);
    assert.equal(routed.length, 1);
    assert.equal(routed[0]!.partitionIndex, partitionIndexOf(bySortKey, PARTITIONS));
    assert.equal((await table.get('', 'only-sort-key'))?.toString(), 'x');
  });

  test('get, set, del, exist and ttl, with strings and bytes', async () => {
    assert.equal(await table.get('h', 's'), undefined);
    assert.equal(await table.exist('h', 's'), false);
    assert.equal(await table.ttl('h', 's'), undefined);
    const info = { appId: 0, partitionIndex: 0, decree: 0n, server: '' };
    await table.set('h', 's', 'value', 0, { info });
    assert.equal(info.appId, APP_ID);
    assert.equal(info.partitionIndex, table.partitionIndexOf('h'));
    assert.equal(info.decree, 1n);
    assert.ok(info.server === a.address || info.server === b.address);
    assert.equal((await table.get('h', 's'))?.toString(), 'value');
    assert.equal(await table.exist(Buffer.from('h'), Buffer.from('s')), true);
    assert.equal(await table.ttl('h', 's'), -1);
    const binary = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    await table.set(binary, Buffer.alloc(0), binary);
    assert.deepEqual(await table.get(binary, ''), binary);
    await table.set('h', 'ttl', 'soon', 100);
    const left = await table.ttl('h', 'ttl');
    assert.ok(left !== undefined && left > 95 && left <= 100, `ttl ${left}`);
    await table.del('h', 's');
    assert.equal(await table.get('h', 's'), undefined);
  });

  test('multiGet by sort keys and by range, with limits, filters, reverse and noValue', async () => {
    await table.multiSet('m', Array.from({ length: 10 }, (_, index) => ({ sortKey: `s${index}`, value: `v${index}` })));
    await table.multiSet('m', new Map([['x1', 'y1']]));
    const picked = await table.multiGet('m', ['s1', 's3', 'absent']);
    assert.deepEqual(picked.kvs.map((kv) => [kv.sortKey.toString(), kv.value.toString()]), [['s1', 'v1'], ['s3', 'v3']]);
    assert.equal(picked.allFetched, true);
    const all = await table.multiGet('m');
    assert.equal(all.kvs.length, 11);
    const limited = await table.multiGet('m', [], { maxKvCount: 4 });
    assert.deepEqual(limited.kvs.map((kv) => kv.sortKey.toString()), ['s0', 's1', 's2', 's3']);
    assert.equal(limited.allFetched, false);
    const range = await table.multiGetRange('m', 's2', 's5', { stopInclusive: true });
    assert.deepEqual(range.kvs.map((kv) => kv.sortKey.toString()), ['s2', 's3', 's4', 's5']);
    const reversed = await table.multiGetRange('m', 's', 't', { reverse: true, maxKvCount: 2 });
    assert.deepEqual(reversed.kvs.map((kv) => kv.sortKey.toString()), ['s8', 's9'], 'the last two, ascending');
    const filtered = await table.multiGet('m', [], { sortKeyFilter: { type: 'prefix', pattern: 'x' }, noValue: true });
    assert.deepEqual(filtered.kvs.map((kv) => [kv.sortKey.toString(), kv.value.length]), [['x1', 0]]);
    await assert.rejects(table.multiGet('', []), failsWith('ERR_INVALID_PARAMETERS'));
    await assert.rejects(table.multiSet('m', []), failsWith('ERR_INVALID_PARAMETERS'));
  });

  test('multiDel, sortKeyCount and batchGet', async () => {
    await table.multiSet('d', [{ sortKey: 'a', value: '1' }, { sortKey: 'b', value: '2' }, { sortKey: 'c', value: '3' }]);
    assert.equal(await table.sortKeyCount('d'), 3);
    assert.equal(await table.multiDel('d', ['a', 'b']), 2);
    assert.equal(await table.sortKeyCount('d'), 1);
    await assert.rejects(table.multiDel('d', []), failsWith('ERR_INVALID_PARAMETERS'));
    for (let index = 0; index < 20; index++) await table.set(`b${index}`, 'x', `v${index}`);
    const keys = [...Array.from({ length: 20 }, (_, index) => ({ hashKey: `b${index}`, sortKey: 'x' })), { hashKey: 'nope', sortKey: 'x' }, { hashKey: 'b3', sortKey: 'x' }];
    const values = await table.batchGet(keys);
    assert.deepEqual(values.map((value) => value?.toString()), [...Array.from({ length: 20 }, (_, index) => `v${index}`), undefined, 'v3']);
    const batches = a.count('RPC_RRDB_RRDB_BATCH_GET') + b.count('RPC_RRDB_RRDB_BATCH_GET');
    assert.ok(batches <= PARTITIONS, `one batch_get per partition at most, got ${batches}`);
    assert.deepEqual(await table.batchGet([]), []);
  });

  test('incr counts from zero, keeps a TTL, and refuses non-integers as PERR_INVALID_ARGUMENT', async () => {
    assert.equal(await table.incr('i', 'n'), 1n);
    assert.equal(await table.incr('i', 'n', 41), 42n);
    assert.equal(await table.incr('i', 'n', -2n), 40n);
    await table.set('i', 'text', 'abc');
    await assert.rejects(table.incr('i', 'text', 1), (error) => failsWith('PERR_INVALID_ARGUMENT')(error) && (error as PegasusError).storageError === 4);
    await assert.rejects(table.incr('i', 'n', 2n ** 63n), failsWith('ERR_INVALID_PARAMETERS'));
    assert.equal(await table.incr('i', 'n', 1, { ttlSeconds: 50 }), 41n);
    const left = await table.ttl('i', 'n');
    assert.ok(left !== undefined && left > 45, `ttl ${left}`);
    assert.equal(await table.incr('i', 'n', 1, { ttlSeconds: -1 }), 42n);
    assert.equal(await table.ttl('i', 'n'), -1);
  });

  test('checkAndSet and checkAndMutate report a failed check as a result, not an error', async () => {
    const first = await table.checkAndSet('c', 'lock', CasCheckType.CT_VALUE_NOT_EXIST, '', 'lock', 'me', { returnCheckValue: true });
    assert.deepEqual(first, { setSucceed: true, checkValueReturned: true, checkValueExist: false, checkValue: undefined });
    const second = await table.checkAndSet('c', 'lock', CasCheckType.CT_VALUE_NOT_EXIST, '', 'lock', 'you', { returnCheckValue: true });
    assert.equal(second.setSucceed, false);
    assert.equal(second.checkValue?.toString(), 'me');
    const other = await table.checkAndSet('c', 'lock', CasCheckType.CT_VALUE_BYTES_EQUAL, 'me', 'owner', 'me', { setValueTtlSeconds: 30 });
    assert.equal(other.setSucceed, true);
    assert.equal((await table.get('c', 'owner'))?.toString(), 'me');
    assert.ok((await table.ttl('c', 'owner'))! > 25);
    await assert.rejects(table.checkAndSet('c', 'lock', CasCheckType.CT_VALUE_INT_LESS, 'x', 'lock', 'y'), failsWith('PERR_INVALID_ARGUMENT'));
    const mutated = await table.checkAndMutate('c', 'lock', CasCheckType.CT_VALUE_EXIST, '', [
      { operation: 'put', sortKey: 'm1', value: 'v1' },
      { operation: 'delete', sortKey: 'lock' },
    ]);
    assert.equal(mutated.mutateSucceed, true);
    assert.equal(await table.get('c', 'lock'), undefined);
    assert.equal((await table.get('c', 'm1'))?.toString(), 'v1');
    const refused = await table.checkAndMutate('c', 'lock', CasCheckType.CT_VALUE_EXIST, '', [{ operation: 'put', sortKey: 'm2', value: 'v2' }]);
    assert.equal(refused.mutateSucceed, false);
    await assert.rejects(table.checkAndMutate('c', 'lock', CasCheckType.CT_VALUE_EXIST, '', []), failsWith('ERR_INVALID_PARAMETERS'));
  });

  test('a moved partition: ERR_OBJECT_NOT_FOUND makes the client refresh once and retry on the new primary', async () => {
    const hashKey = hashKeyIn(2);
    await table.set(hashKey, 's', 'before');
    // Partition 2 moves from A to B; the client still believes A.
    a.unserve(APP_ID, 2);
    b.serve(APP_ID, 2);
    meta.tables.get('t')!.partitions[2] = { primary: b.address, ballot: 4 };
    const queriesBefore = meta.queries;
    const results = await Promise.all(Array.from({ length: 50 }, () => table.get(hashKey, 's')));
    assert.ok(results.every((value) => value?.toString() === 'before'));
    assert.ok(meta.queries - queriesBefore <= 2, `concurrent failures share one refresh, got ${meta.queries - queriesBefore}`);
    assert.ok(b.count('RPC_RRDB_RRDB_GET') >= 50);
  });

  test('ERR_INVALID_STATE and ERR_BUSY are retried; ERR_DISK_INSUFFICIENT fails at once', async () => {
    const hashKey = hashKeyIn(0);
    let invalid = 2;
    a.fault = (request) => (request.name === 'RPC_RRDB_RRDB_PUT' && invalid-- > 0 ? 'ERR_INVALID_STATE' : undefined);
    await table.set(hashKey, 's', 'v');
    assert.equal(a.count('RPC_RRDB_RRDB_PUT'), 3);
    let busy = 3;
    a.fault = (request) => (request.name === 'RPC_RRDB_RRDB_GET' && busy-- > 0 ? 'ERR_BUSY' : undefined);
    assert.equal((await table.get(hashKey, 's'))?.toString(), 'v');
    assert.equal(a.count('RPC_RRDB_RRDB_GET'), 4);
    a.fault = () => 'ERR_DISK_INSUFFICIENT';
    const before = a.count('RPC_RRDB_RRDB_PUT');
    await assert.rejects(table.set(hashKey, 's', 'w'), failsWith('ERR_DISK_INSUFFICIENT'));
    assert.equal(a.count('RPC_RRDB_RRDB_PUT'), before + 1);
  });

  test('a partition without a primary is waited for within the deadline', async () => {
    const hashKey = hashKeyIn(4);
    meta.tables.get('t')!.partitions[4] = { primary: undefined, ballot: 5 };
    a.unserve(APP_ID, 4);
    await assert.rejects(table.get(hashKey, 's', { timeoutMs: 300 }), failsWith('ERR_INVALID_STATE'));
    // Refreshed, the client sees no primary; once the meta names one the request goes through.
    setTimeout(() => {
      meta.tables.get('t')!.partitions[4] = { primary: b.address, ballot: 6 };
      b.serve(APP_ID, 4);
    }, 150);
    const started = Date.now();
    assert.equal(await table.get(hashKey, 's', { timeoutMs: 3000 }), undefined);
    assert.ok(Date.now() - started >= 100);
  });

  test('retries are bounded by the deadline and by count', async () => {
    a.fault = () => 'ERR_INVALID_STATE';
    a.requests.length = 0;
    const started = Date.now();
    await assert.rejects(table.get(hashKeyIn(0), 's', { timeoutMs: 400 }), (error) => {
      failsWith('ERR_INVALID_STATE')(error);
      assert.match((error as Error).message, /gave up after \d+ attempt/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 300, `took ${elapsed} ms`);
    // 32 retries pause about 1.5 s in all, so the deadline (not the count) ended these however fast the machine is.
    assert.ok(a.count('RPC_RRDB_RRDB_GET') <= 32, `${a.count('RPC_RRDB_RRDB_GET')} attempts`);
    assert.ok(elapsed < 20_000, `took ${elapsed} ms`);
    const bounded = createClient({ metaServers: [meta.address], timeoutMs: 10_000, retriesMax: 2, retryDelayMs: 1 });
    try {
      const boundedTable = await bounded.openTable('t');
      a.requests.length = 0;
      await assert.rejects(boundedTable.get(hashKeyIn(0), 's'), failsWith('ERR_INVALID_STATE'));
      assert.equal(a.count('RPC_RRDB_RRDB_GET'), 3, 'the first attempt and two retries');
    } finally {
      await bounded.close();
    }
  });

  test('a timed-out read is retried within the deadline; a timed-out incr is not', async () => {
    const hashKey = hashKeyIn(0);
    await table.set(hashKey, 'n', '5');
    let hangs = 1;
    a.fault = (request) => (request.name === 'RPC_RRDB_RRDB_GET' && hangs-- > 0 ? 'hang' : undefined);
    // Half the deadline for the hung attempt leaves the retry 2 s, plenty on a busy machine.
    assert.equal((await table.get(hashKey, 'n', { timeoutMs: 4000 }))?.toString(), '5');
    assert.equal(a.count('RPC_RRDB_RRDB_GET'), 2);
    a.fault = (request) => (request.name === 'RPC_RRDB_RRDB_INCR' ? 'hang' : undefined);
    await assert.rejects(table.incr(hashKey, 'n', 1, { timeoutMs: 400 }), failsWith('ERR_TIMEOUT'));
    assert.equal(a.count('RPC_RRDB_RRDB_INCR'), 1, 'a write of unknown outcome is not repeated');
    // A rejected non-idempotent write (not applied) is retried.
    let invalid = 1;
    a.fault = (request) => (request.name === 'RPC_RRDB_RRDB_INCR' && invalid-- > 0 ? 'ERR_INVALID_STATE' : undefined);
    assert.equal(await table.incr(hashKey, 'n', 1), 6n);
    // ERR_TIMEOUT answered by the server: prepared there, it may still commit elsewhere.
    let prepared = 1;
    a.requests.length = 0;
    a.fault = (request) => (request.name === 'RPC_RRDB_RRDB_INCR' && prepared-- > 0 ? 'ERR_TIMEOUT' : undefined);
    await assert.rejects(table.incr(hashKey, 'n', 1), failsWith('ERR_TIMEOUT'));
    assert.equal(a.count('RPC_RRDB_RRDB_INCR'), 1, 'an answered ERR_TIMEOUT is not repeated either');
  });

  test('a dead primary: the connection is refused, the meta names a new one, the write goes through', async () => {
    const store2 = store;
    const doomed = await FakeReplica.start(store2, meta.partitionCountOf);
    const hashKey = hashKeyIn(6);
    doomed.serve(APP_ID, 6);
    meta.tables.get('t')!.partitions[6] = { primary: doomed.address, ballot: 7 };
    const fresh = createClient({ metaServers: [meta.address], timeoutMs: 3000, retryDelayMs: 5 });
    try {
      const freshTable = await fresh.openTable('t');
      await freshTable.set(hashKey, 's', 'on-doomed');
      await doomed.close();
      // Let the client see its connection closed: the next request then finds the port refused.
      await new Promise((resolve) => setTimeout(resolve, 50));
      setTimeout(() => {
        meta.tables.get('t')!.partitions[6] = { primary: a.address, ballot: 8 };
      }, 100);
      await freshTable.checkAndSet(hashKey, 's', CasCheckType.CT_VALUE_EXIST, '', 's', 'after-failover');
      assert.equal((await freshTable.get(hashKey, 's'))?.toString(), 'after-failover');
    } finally {
      await fresh.close();
    }
  });

  test('the local queue limit fails at once with ERR_BUSY', async () => {
    const tight = createClient({ metaServers: [meta.address], timeoutMs: 500, inFlightMaxPerServer: 1, queuedMaxPerServer: 0 });
    try {
      const tightTable = await tight.openTable('t');
      a.fault = () => 'hang';
      const hashKey = hashKeyIn(0);
      const first = tightTable.get(hashKey, 's');
      await assert.rejects(tightTable.get(hashKey, 's'), failsWith('ERR_BUSY'));
      assert.equal(tight.pendingRequests, 1);
      await assert.rejects(first, failsWith('ERR_TIMEOUT'));
    } finally {
      await tight.close();
    }
  });

  test('meta discovery: a backup forwards to the leader, an unreachable meta is skipped, a starting leader is waited for', async () => {
    const backup = await FakeMeta.start();
    backup.forwardTo = meta.address;
    try {
      const viaBackup = createClient({ metaServers: ['127.0.0.1:1', backup.address], timeoutMs: 3000 });
      try {
        meta.notActiveAnswers = 1;
        const viaTable = await viaBackup.openTable('t');
        assert.equal(viaTable.partitionCount, PARTITIONS);
        assert.ok(backup.queries >= 1);
        assert.equal(meta.notActiveAnswers, 0);
        assert.ok(viaBackup.metaServers.some((address) => `${address.host}:${address.port}` === meta.address), 'the leader was learned');
      } finally {
        await viaBackup.close();
      }
      backup.forwardTo = '';
      const lost = createClient({ metaServers: [backup.address], timeoutMs: 400 });
      try {
        await assert.rejects(lost.openTable('t'), failsWith('ERR_TIMEOUT'));
      } finally {
        await lost.close();
      }
    } finally {
      await backup.close();
    }
  });

  test('a split child not yet ready is served by its parent', async () => {
    const hashKey = hashKeyIn(5);
    // Partition 5 is the child of 1 in an 8-way split of a 4-partition table.
    meta.tables.get('t')!.partitions[5] = { primary: undefined, ballot: -1 };
    b.unserve(APP_ID, 5);
    const fresh = createClient({ metaServers: [meta.address], timeoutMs: 1000 });
    try {
      const freshTable = await fresh.openTable('t');
      b.requests.length = 0;
      assert.equal(await freshTable.get(hashKey, 's'), undefined);
      assert.equal(b.requests.at(-1)?.partitionIndex, 1);
    } finally {
      await fresh.close();
    }
  });

  test('a hash-key scanner reads the range in order across batches, and survives a lost context', async () => {
    const sortKeys = Array.from({ length: 25 }, (_, index) => `s${String(index).padStart(2, '0')}`);
    await table.multiSet('scan', sortKeys.map((sortKey) => ({ sortKey, value: `v-${sortKey}` })));
    await table.set('scan-other', 's00', 'not mine');
    const scanner = table.getScanner('scan', '', '', { batchSize: 4 });
    const seen: string[] = [];
    for await (const entry of scanner) {
      assert.equal(entry.hashKey.toString(), 'scan');
      assert.equal(entry.value.toString(), `v-${entry.sortKey.toString()}`);
      seen.push(entry.sortKey.toString());
      if (seen.length === 9) (table.partitionIndexOf('scan') % 2 === 0 ? a : b).forgetContexts = true;
    }
    assert.deepEqual(seen, sortKeys, 'every record once, in order');
    const replica = table.partitionIndexOf('scan') % 2 === 0 ? a : b;
    assert.ok(replica.count('RPC_RRDB_RRDB_GET_SCANNER') >= 2, 'the scanner reopened after the context was lost');

    const bounded = table.getScanner('scan', 's05', 's08', { stopInclusive: true, noValue: true });
    const boundedSeen: string[] = [];
    for (let entry = await bounded.next(); entry; entry = await bounded.next()) {
      boundedSeen.push(entry.sortKey.toString());
      assert.equal(entry.value.length, 0);
    }
    assert.deepEqual(boundedSeen, ['s05', 's06', 's07', 's08']);
    await bounded.close();
    await assert.rejects(bounded.next(), failsWith('ERR_INVALID_STATE'));

    const prefixed = table.getScanner('scan', '', '', { sortKeyFilter: { type: 'prefix', pattern: 's1' } });
    const prefixSeen: string[] = [];
    for await (const entry of prefixed) prefixSeen.push(entry.sortKey.toString());
    assert.deepEqual(prefixSeen, sortKeys.filter((sortKey) => sortKey.startsWith('s1')));
    const empty = table.getScanner('scan', 's09', 's01');
    assert.equal(await empty.next(), undefined);
  });

  test('closing a scanner with an open context sends RPC_RRDB_RRDB_CLEAR_SCANNER', async () => {
    await table.multiSet('close', Array.from({ length: 10 }, (_, index) => ({ sortKey: `s${index}`, value: 'v' })));
    const replica = table.partitionIndexOf('close') % 2 === 0 ? a : b;
    const scanner = table.getScanner('close', '', '', { batchSize: 3 });
    assert.ok(await scanner.next());
    assert.equal(replica.contexts.size, 1);
    await scanner.close();
    await waitFor('the context cleared', () => replica.contexts.size === 0, 15_000, 10);
    assert.equal(replica.count('RPC_RRDB_RRDB_CLEAR_SCANNER'), 1);
  });

  test('unordered scanners split the partitions and together return every record once', async () => {
    const expected = new Set<string>();
    for (let index = 0; index < 60; index++) {
      await table.set(`full${index}`, `s${index % 3}`, String(index));
      expected.add(`full${index}/s${index % 3}`);
    }
    const scanners = await table.getUnorderedScanners(3, { batchSize: 7 });
    assert.equal(scanners.length, 3);
    assert.deepEqual(scanners.map((scanner) => scanner.partitions.length), [3, 3, 2]);
    assert.deepEqual(scanners.flatMap((scanner) => scanner.partitions), [0, 1, 2, 3, 4, 5, 6, 7]);
    const seen = new Set<string>();
    await Promise.all(scanners.map(async (scanner) => {
      for await (const entry of scanner) {
        const id = `${entry.hashKey.toString()}/${entry.sortKey.toString()}`;
        assert.ok(!seen.has(id), `${id} seen twice`);
        seen.add(id);
      }
    }));
    assert.deepEqual([...seen].sort(), [...expected].sort());
    const scans = [...a.requests, ...b.requests].filter((request) => request.name === 'RPC_RRDB_RRDB_GET_SCANNER');
    for (const request of scans) assert.equal(request.partitionHash, BigInt(request.partitionIndex), 'full scans carry the partition index as hash');
    assert.equal((await table.getUnorderedScanners(100)).length, PARTITIONS);
    await assert.rejects(table.getUnorderedScanners(0), failsWith('ERR_INVALID_PARAMETERS'));
  });

  test('a scan request that times out surfaces ERR_TIMEOUT, and next() resumes afterwards', async () => {
    await table.multiSet('slow', Array.from({ length: 6 }, (_, index) => ({ sortKey: `s${index}`, value: 'v' })));
    const replica = table.partitionIndexOf('slow') % 2 === 0 ? a : b;
    // Long enough for the resumed requests on a busy machine; the hung one costs it in full.
    const scanner = table.getScanner('slow', '', '', { batchSize: 2, timeoutMs: 2000 });
    const seen = [(await scanner.next())!.sortKey.toString(), (await scanner.next())!.sortKey.toString()];
    replica.fault = (request) => (request.name === 'RPC_RRDB_RRDB_SCAN' || request.name === 'RPC_RRDB_RRDB_GET_SCANNER' ? 'hang' : undefined);
    await assert.rejects(scanner.next(), failsWith('ERR_TIMEOUT'));
    replica.fault = () => undefined;
    for (let entry = await scanner.next(); entry; entry = await scanner.next()) seen.push(entry.sortKey.toString());
    assert.deepEqual(seen, ['s0', 's1', 's2', 's3', 's4', 's5']);
  });

  test('a closed client fails operations at once', async () => {
    const closing = createClient({ metaServers: [meta.address], timeoutMs: 60_000 });
    const closingTable = await closing.openTable('t');
    await closing.close();
    const started = Date.now();
    await assert.rejects(closingTable.get('a', 'b'), failsWith('ERR_NETWORK_FAILURE'));
    await assert.rejects(closing.openTable('t'), failsWith('ERR_NETWORK_FAILURE'));
    assert.ok(Date.now() - started < 20_000, 'failed without waiting for the 60 s deadline');
  });

  test('a dropped table: the refresh says ERR_OBJECT_NOT_FOUND and operations stop retrying', async () => {
    const hashKey = hashKeyIn(0);
    meta.tables.delete('t');
    a.unserve(APP_ID, 0);
    await assert.rejects(table.get(hashKey, 's'), (error) => isPegasusError(error, 'ERR_OBJECT_NOT_FOUND') && /does not exist/.test(error.message));
  });

  test('batchSet, batchMultiGet, multiGetSortKeys, delRange, batchDel, batchMultiSet and batchMultiDel', async () => {
    const hashKeys = [hashKeyIn(0, 'b'), hashKeyIn(1, 'b'), hashKeyIn(2, 'b')];
    await table.batchSet(hashKeys.flatMap((hashKey) => ['s1', 's2', 's3', 's4'].map((sortKey) => ({ hashKey, sortKey, value: `${hashKey}/${sortKey}` }))));
    const read = await table.batchMultiGet(hashKeys.map((hashKey) => ({ hashKey })));
    assert.deepEqual(read.map((result) => result.kvs.map((kv) => kv.value.toString())), hashKeys.map((hashKey) => ['s1', 's2', 's3', 's4'].map((sortKey) => `${hashKey}/${sortKey}`)));
    assert.deepEqual((await table.batchMultiGet([{ hashKey: hashKeys[0]!, sortKeys: ['s2', 'nope'] }]))[0]!.kvs.map((kv) => kv.sortKey.toString()), ['s2']);

    const sortKeys = await table.multiGetSortKeys(hashKeys[0]!, { maxKvCount: 3 });
    assert.deepEqual(sortKeys.sortKeys.map(String), ['s1', 's2', 's3']);
    assert.equal(sortKeys.allFetched, false);

    assert.equal(await table.delRange(hashKeys[0]!, 's2', 's4', { stopInclusive: true }), 3);
    assert.deepEqual((await table.multiGetSortKeys(hashKeys[0]!)).sortKeys.map(String), ['s1']);
    assert.equal(await table.delRange(hashKeys[1]!, '', ''), 4, 'an empty range end: to the end of the hash key');
    assert.deepEqual((await table.multiGet(hashKeys[1]!)).kvs, []);

    await table.batchDel([{ hashKey: hashKeys[2]!, sortKey: 's1' }, { hashKey: hashKeys[2]!, sortKey: 's2' }]);
    assert.deepEqual((await table.multiGetSortKeys(hashKeys[2]!)).sortKeys.map(String), ['s3', 's4']);

    await table.batchMultiSet(hashKeys.map((hashKey) => ({ hashKey, kvs: [{ sortKey: 'm1', value: 'x' }, { sortKey: 'm2', value: 'y' }] })));
    assert.deepEqual(await table.batchMultiDel(hashKeys.map((hashKey) => ({ hashKey, sortKeys: ['m1', 'm2'] }))), [2, 2, 2]);
    assert.deepEqual(await table.batchGet(hashKeys.map((hashKey) => ({ hashKey, sortKey: 'm1' }))), [undefined, undefined, undefined]);
  });

  test('a batch with a failing operation rejects with the first failure once every operation has finished', async () => {
    const [even, odd] = [hashKeyIn(0, 'f'), hashKeyIn(1, 'f')];
    b.fault = (request) => (request.name === 'RPC_RRDB_RRDB_PUT' ? 'ERR_INVALID_STATE' : undefined);
    await assert.rejects(table.batchSet([{ hashKey: even, sortKey: 's', value: 'v' }, { hashKey: odd, sortKey: 's', value: 'v' }]), failsWith('ERR_INVALID_STATE'));
    b.fault = () => undefined;
    assert.equal((await table.get(even, 's'))?.toString(), 'v', 'the operation that could run did');
  });

  test('an AbortSignal cancels an operation, a scan and openTable with ERR_ABORTED', async () => {
    // Deadlines of minutes: only the signal ends these operations.
    const hashKey = hashKeyIn(0, 'abort');
    a.fault = () => 'hang';
    const controller = new AbortController();
    const pending = table.get(hashKey, 's', { signal: controller.signal, timeoutMs: 600_000 });
    await waitFor('the get reached the server', () => a.count('RPC_RRDB_RRDB_GET') > 0, 60_000, 10);
    controller.abort();
    await assert.rejects(pending, failsWith('ERR_ABORTED'));

    const before = a.requests.length;
    await assert.rejects(table.set(hashKey, 's', 'v', 0, { signal: controller.signal }), failsWith('ERR_ABORTED'));
    assert.equal(a.requests.length, before, 'an aborted signal sends nothing');

    const scanController = new AbortController();
    const [scanner] = await table.getUnorderedScanners(1, { signal: scanController.signal, timeoutMs: 600_000 });
    const next = scanner!.next();
    await waitFor('the scan reached the server', () => a.count('RPC_RRDB_RRDB_GET_SCANNER') > 0, 60_000, 10);
    scanController.abort();
    await assert.rejects(next, failsWith('ERR_ABORTED'));
    await scanner!.close();
    a.fault = () => undefined;

    await assert.rejects(client.openTable('t', { signal: AbortSignal.abort() }), failsWith('ERR_ABORTED'));
  });

});
