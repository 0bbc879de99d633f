// The data plane against real processes: one meta and three replica servers, every RRDB
// operation sent as raw THFT frames (encodeRequestFrameV0 + the rrdb codecs) to the primary the
// meta names, routed by crc64 as the official clients route. Checks Pegasus's semantics and
// response fields (spec pegasus-arch §1.13), routing errors, /replica/data_version and metrics.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { EPOCH_2016_UNIX_SECONDS, encodeKey, now2016Seconds, prefixSuccessor } from '../../src/storage/index.ts';
import {
  AppEnvOperation, CasCheckType, encodeArgs, FilterType, MutateOperation, RPCS, SCAN_CONTEXT_ID_COMPLETED, type GetScannerRequest, type KeyValue,
  type MultiGetRequest, type ScanResponse,
} from '../../src/wire/index.ts';
import { callRaw, hashOfHashKey, keyHashOf, RawConnection, TableRouter, TestCluster } from '../helpers/data-plane.ts';
import { sleep, waitFor } from '../helpers/process.ts';

// The expiry test continues one context halfway through the timeout and checks both contexts
// after the first one's timeout plus a margin: every step has seconds to spare.
const SCAN_CONTEXT_TIMEOUT_MS = 8000;
const SCAN_CONTEXT_CONTINUE_AFTER_MS = 4000;
const SCAN_CONTEXT_EXPIRY_MARGIN_MS = 2000;
const PARTITIONS = 8;

const b = (text: string | Buffer): Buffer => (Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1'));
const key = (hashKey: string | Buffer, sortKey: string | Buffer): Buffer => encodeKey(b(hashKey), b(sortKey));
const sortKeysOf = (kvs: KeyValue[]): string[] => kvs.map((kv) => kv.key.toString('latin1'));

function multiGetRequest(hashKey: string | Buffer, options: Partial<MultiGetRequest> = {}): MultiGetRequest {
  return {
    hashKey: b(hashKey), sortKeys: [], maxKvCount: -1, maxKvSize: -1, noValue: false, startSortkey: Buffer.alloc(0), stopSortkey: Buffer.alloc(0),
    startInclusive: true, stopInclusive: false, sortKeyFilterType: FilterType.FT_NO_FILTER, sortKeyFilterPattern: Buffer.alloc(0), reverse: false,
    ...options,
  };
}

/** A hash-key scanner request as the Java client builds one. */
function hashKeyScanner(hashKey: string, options: Partial<GetScannerRequest> = {}): GetScannerRequest {
  return {
    startKey: key(hashKey, ''), stopKey: prefixSuccessor(key(hashKey, ''))!, startInclusive: true, stopInclusive: false, batchSize: 1000,
    noValue: false, hashKeyFilterType: FilterType.FT_NO_FILTER, hashKeyFilterPattern: Buffer.alloc(0), sortKeyFilterType: FilterType.FT_NO_FILTER,
    sortKeyFilterPattern: Buffer.alloc(0), ...options,
  };
}

describe('data plane on a meta and three replica servers', { timeout: 180000 }, () => {
  const cluster = new TestCluster({ partitionCount: PARTITIONS, replicaSettings: [`pegasus.server.scan_context_timeout_ms=${SCAN_CONTEXT_TIMEOUT_MS}`] });
  let router: TableRouter;

  const put = (hashKey: string | Buffer, sortKey: string | Buffer, value: string | Buffer, expireTsSeconds = 0) => {
    const composite = key(hashKey, sortKey);
    return router.call('RPC_RRDB_RRDB_PUT', { key: composite, value: b(value), expireTsSeconds }, keyHashOf(composite));
  };
  const get = (hashKey: string | Buffer, sortKey: string | Buffer) => {
    const composite = key(hashKey, sortKey);
    return router.call('RPC_RRDB_RRDB_GET', composite, keyHashOf(composite));
  };
  const ttl = (hashKey: string | Buffer, sortKey: string | Buffer) => {
    const composite = key(hashKey, sortKey);
    return router.call('RPC_RRDB_RRDB_TTL', composite, keyHashOf(composite));
  };
  const multiGet = async (hashKey: string | Buffer, options: Partial<MultiGetRequest> = {}) => {
    const reply = await router.call('RPC_RRDB_RRDB_MULTI_GET', multiGetRequest(hashKey, options), hashOfHashKey(b(hashKey)));
    assert.equal(reply.error, 'ERR_OK');
    return reply.result!;
  };
  const multiPut = (hashKey: string | Buffer, kvs: Array<[string | Buffer, string | Buffer]>, expireTsSeconds = 0) =>
    router.call('RPC_RRDB_RRDB_MULTI_PUT', { hashKey: b(hashKey), kvs: kvs.map(([sortKey, value]) => ({ key: b(sortKey), value: b(value) })), expireTsSeconds }, hashOfHashKey(b(hashKey)));
  const incr = (hashKey: string, sortKey: string, increment: bigint, expireTsSeconds = 0) => {
    const composite = key(hashKey, sortKey);
    return router.call('RPC_RRDB_RRDB_INCR', { key: composite, increment, expireTsSeconds }, keyHashOf(composite));
  };
  const sortKeyCount = async (hashKey: string) => {
    const reply = await router.call('RPC_RRDB_RRDB_SORTKEY_COUNT', b(hashKey), hashOfHashKey(b(hashKey)));
    assert.equal(reply.error, 'ERR_OK');
    return reply.result!.count;
  };
  /** Runs a scanner to its end; returns every batch's response. */
  const scanAll = async (request: GetScannerRequest, hash: bigint, pidx?: number): Promise<ScanResponse[]> => {
    const responses: ScanResponse[] = [];
    let reply = await router.call('RPC_RRDB_RRDB_GET_SCANNER', request, hash, { partitionIndex: pidx });
    for (let round = 0; round < 10000; round++) {
      assert.equal(reply.error, 'ERR_OK');
      responses.push(reply.result!);
      if (reply.result!.error !== 0 || reply.result!.contextId < 0n) return responses;
      reply = await router.call('RPC_RRDB_RRDB_SCAN', { contextId: reply.result!.contextId }, hash, { partitionIndex: pidx });
    }
    throw new Error('scanner never completed');
  };

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS);
    router = new TableRouter(cluster.metaPort, 'temp');
    await cluster.waitServing(router);
  });

  after(async () => {
    router?.close();
    await cluster.stop();
  });

  test('put, get, ttl and remove answer with the partition, the server and increasing decrees', async () => {
    const composite = key('basic', 'one');
    const pidx = router.pidxOfHash(keyHashOf(composite));
    const primary = router.partitions[pidx]!.primary;
    const first = await put('basic', 'one', 'value-1');
    assert.equal(first.error, 'ERR_OK');
    assert.deepEqual({ ...first.result!, decree: undefined }, { error: 0, appId: router.appId, partitionIndex: pidx, decree: undefined, server: primary });
    assert.ok(first.result!.decree >= 1n);
    const second = await put('basic', 'one', 'value-2');
    assert.equal(second.result!.decree, first.result!.decree + 1n, 'the next write of the partition takes the next decree');

    assert.deepEqual(await get('basic', 'one'), {
      error: 'ERR_OK', result: { error: 0, value: b('value-2'), appId: router.appId, partitionIndex: pidx, server: primary },
    });
    assert.deepEqual((await ttl('basic', 'one')).result, { error: 0, ttlSeconds: -1, appId: router.appId, partitionIndex: pidx, server: primary });
    // A range wide enough for any round trip, narrow enough to catch a wrong TTL.
    await put('basic', 'one', 'value-3', now2016Seconds() + 1000);
    const remaining = (await ttl('basic', 'one')).result!.ttlSeconds;
    assert.ok(remaining >= 900 && remaining <= 1000, `ttl ${remaining}`);

    const removed = await router.call('RPC_RRDB_RRDB_REMOVE', composite, keyHashOf(composite));
    assert.deepEqual(removed.result, { error: 0, appId: router.appId, partitionIndex: pidx, decree: second.result!.decree + 2n, server: primary });
    assert.deepEqual((await get('basic', 'one')).result, { error: 1, value: Buffer.alloc(0), appId: router.appId, partitionIndex: pidx, server: primary });
    assert.equal((await ttl('basic', 'one')).result!.error, 1);
    const again = await router.call('RPC_RRDB_RRDB_REMOVE', composite, keyHashOf(composite));
    assert.equal(again.result!.error, 0, 'removing an absent key is fine');
  });

  test('empty sort keys, empty hash keys, and binary keys and values', async () => {
    assert.equal((await put('emptysk', '', 'no sort key')).result!.error, 0);
    assert.equal((await put('emptysk', 'x', 'with sort key')).result!.error, 0);
    assert.deepEqual((await get('emptysk', '')).result!.value, b('no sort key'));
    assert.deepEqual(sortKeysOf((await multiGet('emptysk')).kvs), ['', 'x']);
    assert.deepEqual(sortKeysOf((await multiGet('emptysk', { startInclusive: false })).kvs), ['x']);

    // An empty hash key routes by the sort key's hash.
    const noHashKey = key('', 'only-sort-key');
    assert.equal(keyHashOf(noHashKey), hashOfHashKey(b('only-sort-key')));
    const stored = await put('', 'only-sort-key', 'routed by sort key');
    assert.equal(stored.result!.partitionIndex, router.pidxOfHash(hashOfHashKey(b('only-sort-key'))));
    assert.deepEqual((await get('', 'only-sort-key')).result!.value, b('routed by sort key'));

    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    const binaryHashKey = Buffer.concat([Buffer.of(0, 0xff, 0), everyByte]);
    const sortKeys = [Buffer.of(0), Buffer.of(0, 0), Buffer.of(0xff), Buffer.of(0xff, 0xff), Buffer.of(0x7f, 0x80)];
    const value = Buffer.concat([everyByte, everyByte.reverse(), Buffer.of(0)]);
    for (const sortKey of sortKeys) assert.equal((await put(binaryHashKey, sortKey, value)).result!.error, 0);
    for (const sortKey of sortKeys) assert.deepEqual((await get(binaryHashKey, sortKey)).result!.value, value);
    const all = await multiGet(binaryHashKey);
    assert.deepEqual(all.kvs.map((kv) => kv.key), [...sortKeys].sort(Buffer.compare));
    assert.ok(all.kvs.every((kv) => kv.value.equals(value)));
    assert.equal(await sortKeyCount(binaryHashKey.toString('latin1')), BigInt(sortKeys.length));
  });

  test('a write of 1 MiB is the limit: the body just within max_allowed_write_size is stored, one byte more is ERR_INVALID_DATA', async () => {
    const composite = key('big', 'value');
    const overhead = 12 + 'RPC_RRDB_RRDB_PUT'.length + encodeArgs(RPCS.RPC_RRDB_RRDB_PUT.args, { key: composite, value: Buffer.alloc(0), expireTsSeconds: 0 }).length;
    const fits = Buffer.alloc((1 << 20) - overhead);
    for (let index = 0; index < fits.length; index++) fits[index] = (index * 131 + 7) & 0xff;
    const stored = await put('big', 'value', fits);
    assert.equal(stored.error, 'ERR_OK');
    const read = await get('big', 'value');
    assert.equal(read.result!.value.length, fits.length);
    assert.equal(createHash('sha256').update(read.result!.value).digest('hex'), createHash('sha256').update(fits).digest('hex'));

    assert.equal((await put('big', 'value', Buffer.alloc(fits.length + 1))).error, 'ERR_INVALID_DATA');
    assert.equal((await put('big', 'other', Buffer.alloc(1 << 20))).error, 'ERR_INVALID_DATA');
    const bigMultiPut = await multiPut('big', [['a', Buffer.alloc(600 * 1024)], ['b', Buffer.alloc(600 * 1024)]]);
    assert.equal(bigMultiPut.error, 'ERR_INVALID_DATA');
    assert.equal((await get('big', 'value')).result!.value.length, fits.length, 'the refused write changed nothing');
    assert.equal((await get('big', 'other')).result!.error, 1);
    // Reads of any size are fine.
    assert.equal((await multiGet('big')).kvs.length, 1);
  });

  test('expired records are never returned (TTL 1 s)', async () => {
    // Reads before expiry use a record with an hour to live, so no round trip can outlast it. The
    // 1 s records are read only after their second has passed; the replica's read_expired_values
    // counter shows they were stored and then skipped, not lost on the way in.
    const now = now2016Seconds();
    const expireAt = now + 1;
    await put('ttl', 'short', 'gone soon', expireAt);
    await put('ttl', 'later', 'an hour left', now + 3600);
    await put('ttl', 'forever', 'stays');
    await put('ttl', 'past', 'already gone', now - 10);
    await put('ttl', 'counter', '41', expireAt);
    assert.equal((await get('ttl', 'later')).result!.error, 0);
    const laterTtl = (await ttl('ttl', 'later')).result!.ttlSeconds;
    assert.ok(laterTtl > 3000 && laterTtl <= 3600, `ttl ${laterTtl}`);
    assert.equal((await get('ttl', 'past')).result!.error, 1, 'a record whose expire_ts has passed is absent at once');

    const hash = hashOfHashKey(b('ttl'));
    const primary = router.partitions[router.pidxOfHash(hash)]!.primary;
    const expiredValuesRead = async (): Promise<number> => {
      const response = await fetch(`http://${primary}/metrics?ids=replica@${router.appId}.${router.pidxOfHash(hash)}&metrics=read_expired_values`);
      const body = (await response.json()) as { entities: Array<{ metrics: Array<{ value: number }> }> };
      return Number(body.entities[0]?.metrics[0]?.value ?? 0);
    };
    // A record expires once the clock reaches its expire_ts second.
    await sleep((expireAt + EPOCH_2016_UNIX_SECONDS) * 1000 - Date.now() + 50);
    const expiredBefore = await expiredValuesRead();
    assert.equal((await get('ttl', 'short')).result!.error, 1);
    assert.equal(await expiredValuesRead(), expiredBefore + 1, 'the 1 s record was stored and is skipped as expired');
    assert.equal((await ttl('ttl', 'short')).result!.error, 1);
    assert.deepEqual(sortKeysOf((await multiGet('ttl')).kvs), ['forever', 'later']);
    assert.deepEqual(sortKeysOf((await multiGet('ttl', { sortKeys: [b('short'), b('forever'), b('past')] })).kvs), ['forever']);
    const batch = await router.call('RPC_RRDB_RRDB_BATCH_GET', { keys: ['short', 'forever', 'past'].map((sortKey) => ({ hashKey: b('ttl'), sortKey: b(sortKey) })) }, hash);
    assert.deepEqual(batch.result!.data.map((data) => data.sortKey.toString()), ['forever']);
    assert.equal(await sortKeyCount('ttl'), 2n);
    const scanned = await scanAll(hashKeyScanner('ttl'), hash);
    assert.deepEqual(scanned.flatMap((response) => response.kvs.map((kv) => kv.key)), [key('ttl', 'forever'), key('ttl', 'later')]);
    // An expired counter counts from zero and loses its expiry; an expired check value does not exist.
    const counted = await incr('ttl', 'counter', 1n);
    assert.deepEqual([counted.result!.error, counted.result!.newValue], [0, 1n]);
    assert.equal((await ttl('ttl', 'counter')).result!.ttlSeconds, -1);
    const cas = await router.call('RPC_RRDB_RRDB_CHECK_AND_SET', {
      hashKey: b('ttl'), checkSortKey: b('short'), checkType: CasCheckType.CT_VALUE_NOT_EXIST, checkOperand: Buffer.alloc(0), setDiffSortKey: false,
      setSortKey: Buffer.alloc(0), setValue: b('back'), setExpireTsSeconds: 0, returnCheckValue: true,
    }, hash);
    assert.deepEqual([cas.result!.error, cas.result!.checkValueReturned, cas.result!.checkValueExist], [0, true, false]);
  });

  test('multi_get over sort-key ranges: inclusive and exclusive ends, reverse, limits, filters, no_value and point lookups', async () => {
    const sortKeys = ['', 'a', 'ab', 'b', 'c', 'd', 'e', '\xff', '\xff\xff'];
    assert.equal((await multiPut('range', sortKeys.map((sortKey) => [sortKey, `v${sortKey}`]))).result!.error, 0);
    assert.deepEqual(sortKeysOf((await multiGet('range')).kvs), sortKeys);
    assert.deepEqual((await multiGet('range')).kvs.map((kv) => kv.value.toString('latin1')), sortKeys.map((sortKey) => `v${sortKey}`));
    const range = async (start: string, startInclusive: boolean, stop: string, stopInclusive: boolean, extra: Partial<MultiGetRequest> = {}) => {
      const response = await multiGet('range', { startSortkey: b(start), startInclusive, stopSortkey: b(stop), stopInclusive, ...extra });
      return { error: response.error, keys: sortKeysOf(response.kvs) };
    };
    assert.deepEqual(await range('a', false, 'c', true), { error: 0, keys: ['ab', 'b', 'c'] });
    assert.deepEqual(await range('a', true, 'c', false), { error: 0, keys: ['a', 'ab', 'b'] });
    assert.deepEqual(await range('a', true, 'c', true), { error: 0, keys: ['a', 'ab', 'b', 'c'] });
    assert.deepEqual(await range('a', false, 'c', false), { error: 0, keys: ['ab', 'b'] });
    assert.deepEqual(await range('b', true, 'b', true), { error: 0, keys: ['b'] });
    assert.deepEqual(await range('b', true, 'b', false), { error: 0, keys: [] });
    assert.deepEqual(await range('c', true, 'a', true), { error: 0, keys: [] }, 'start after stop is an empty range, not an error');
    assert.deepEqual(await range('bb', true, 'cc', true), { error: 0, keys: ['c'] }, 'ends need not exist');
    assert.deepEqual(await range('d', true, '', false), { error: 0, keys: ['d', 'e', '\xff', '\xff\xff'] }, 'an empty stop is the end of the hash key');
    assert.deepEqual(await range('a', false, 'c', true, { reverse: true }), { error: 0, keys: ['ab', 'b', 'c'] }, 'reverse still answers in ascending order');

    // Limits: kIncomplete (7) when a limit stopped the walk while the iterator still points at a key.
    assert.deepEqual(await range('', true, '', false, { maxKvCount: 3 }), { error: 7, keys: ['', 'a', 'ab'] });
    assert.deepEqual(await range('', true, '', false, { maxKvCount: 2, reverse: true }), { error: 7, keys: ['\xff', '\xff\xff'] });
    assert.deepEqual(await range('', true, '', false, { maxKvCount: sortKeys.length }), { error: 0, keys: sortKeys }, 'nothing else in the hash key');
    assert.deepEqual(await range('', true, 'ab', true, { maxKvCount: 3 }), { error: 0, keys: ['', 'a', 'ab'] }, 'the walk ended on the stop key');
    assert.deepEqual(await range('', true, 'b', false, { maxKvCount: 3 }), { error: 7, keys: ['', 'a', 'ab'] }, 'as Pegasus: the next key is past stop, yet the answer is incomplete');
    assert.deepEqual(await range('', true, '', false, { maxKvSize: 1 }), { error: 7, keys: [''] }, 'the record that reaches the size limit is still returned');
    assert.deepEqual(await range('', true, '', false, { maxKvSize: 6 }), { error: 7, keys: ['', 'a', 'ab'] });

    // Filters, no_value.
    assert.deepEqual(await range('', true, '', false, { sortKeyFilterType: FilterType.FT_MATCH_PREFIX, sortKeyFilterPattern: b('a') }), { error: 0, keys: ['a', 'ab'] });
    assert.deepEqual(await range('', true, '', false, { sortKeyFilterType: FilterType.FT_MATCH_POSTFIX, sortKeyFilterPattern: b('b') }), { error: 0, keys: ['ab', 'b'] });
    assert.deepEqual(await range('', true, '', false, { sortKeyFilterType: FilterType.FT_MATCH_ANYWHERE, sortKeyFilterPattern: b('\xff') }), { error: 0, keys: ['\xff', '\xff\xff'] });
    assert.deepEqual(await range('', true, '', false, { sortKeyFilterType: FilterType.FT_MATCH_PREFIX, sortKeyFilterPattern: b('\xff'), reverse: true }), { error: 0, keys: ['\xff', '\xff\xff'] });
    assert.deepEqual(await range('', true, '', false, { sortKeyFilterType: 9 as FilterType }), { error: 4, keys: [] });
    const noValue = await multiGet('range', { noValue: true });
    assert.ok(noValue.kvs.length === sortKeys.length && noValue.kvs.every((kv) => kv.value.length === 0));

    // Point lookups: request order, missing keys skipped, limits.
    const points = await multiGet('range', { sortKeys: [b('e'), b('zz'), b(''), b('a')] });
    assert.deepEqual({ error: points.error, keys: sortKeysOf(points.kvs) }, { error: 0, keys: ['e', '', 'a'] });
    const limited = await multiGet('range', { sortKeys: [b('e'), b('zz'), b(''), b('a')], maxKvCount: 2 });
    assert.deepEqual({ error: limited.error, keys: sortKeysOf(limited.kvs) }, { error: 7, keys: ['e', ''] });
  });

  test('multi_get stays inside its hash key at the boundary with the next one in the same partition', async () => {
    // Two hash keys of the same length whose last bytes are adjacent, both routed to one partition.
    let low = '';
    let high = '';
    for (let byte = 0; byte < 255 && low === ''; byte++) {
      const first = `edge${String.fromCharCode(byte)}`;
      const second = `edge${String.fromCharCode(byte + 1)}`;
      if (router.pidxOfHash(hashOfHashKey(b(first))) === router.pidxOfHash(hashOfHashKey(b(second)))) [low, high] = [first, second];
    }
    assert.notEqual(low, '', 'found two adjacent hash keys in one partition');
    await multiPut(low, [['', '1'], ['m', '2'], ['\xff\xff', '3']]);
    await multiPut(high, [['a', '4'], ['b', '5']]);
    assert.deepEqual(sortKeysOf((await multiGet(low)).kvs), ['', 'm', '\xff\xff']);
    assert.deepEqual(sortKeysOf((await multiGet(high, { reverse: true })).kvs), ['a', 'b']);
    // Forward walks end with the hash key; reverse ones see the previous hash key's last record,
    // as Pegasus's total-order seek does, so a limit reached there still answers kIncomplete.
    assert.equal((await multiGet(low, { maxKvCount: 3 })).error, 0);
    assert.equal((await multiGet(high, { maxKvCount: 2, reverse: true })).error, 7);
    assert.equal((await multiGet(high, { maxKvCount: 3, reverse: true })).error, 0, 'below the limit the walk ends at the start key');
    assert.equal(await sortKeyCount(low), 3n);
    assert.equal(await sortKeyCount(high), 2n);
  });

  test('multi_put and multi_remove, and invalid requests that still consume a decree', async () => {
    const hash = hashOfHashKey(b('multi'));
    const put1 = await multiPut('multi', [['1', 'a'], ['2', 'b'], ['3', 'c']]);
    assert.equal(put1.result!.error, 0);
    const empty = await multiPut('multi', []);
    assert.deepEqual([empty.result!.error, empty.result!.decree], [4, put1.result!.decree + 1n]);
    const removed = await router.call('RPC_RRDB_RRDB_MULTI_REMOVE', { hashKey: b('multi'), sortKeys: [b('1'), b('3'), b('absent')], maxCount: 0n }, hash);
    assert.deepEqual({ ...removed.result!, server: '' }, {
      error: 0, count: 3n, appId: router.appId, partitionIndex: router.pidxOfHash(hash), decree: put1.result!.decree + 2n, server: '',
    });
    assert.deepEqual(sortKeysOf((await multiGet('multi')).kvs), ['2']);
    const nothing = await router.call('RPC_RRDB_RRDB_MULTI_REMOVE', { hashKey: b('multi'), sortKeys: [], maxCount: 0n }, hash);
    assert.deepEqual([nothing.result!.error, nothing.result!.count, nothing.result!.decree], [4, 0n, put1.result!.decree + 3n]);
  });

  test('incr: absent and empty values count from zero, strtoll parsing, overflow, and the TTL rules', async () => {
    const result = async (reply: ReturnType<typeof incr>) => {
      const { result } = await reply;
      return [result!.error, result!.newValue];
    };
    assert.deepEqual(await result(incr('counter', 'n', 5n)), [0, 5n]);
    assert.deepEqual(await result(incr('counter', 'n', -7n)), [0, -2n]);
    assert.deepEqual((await get('counter', 'n')).result!.value, b('-2'));
    await put('counter', 'empty', '');
    assert.deepEqual(await result(incr('counter', 'empty', 7n)), [0, 7n]);
    await put('counter', 'text', 'abc');
    assert.deepEqual(await result(incr('counter', 'text', 1n)), [4, 0n]);
    assert.deepEqual((await get('counter', 'text')).result!.value, b('abc'), 'a failed incr changes nothing');
    await put('counter', 'spaced', ' 12');
    assert.deepEqual(await result(incr('counter', 'spaced', 1n)), [0, 13n]);
    await put('counter', 'hex', '0x10');
    assert.deepEqual(await result(incr('counter', 'hex', 1n)), [0, 17n]);
    await put('counter', 'max', '9223372036854775807');
    assert.deepEqual(await result(incr('counter', 'max', 1n)), [4, 9223372036854775807n], 'overflow answers the old value');
    assert.deepEqual(await result(incr('counter', 'max', -1n)), [0, 9223372036854775806n]);

    const soon = now2016Seconds() + 100;
    assert.deepEqual(await result(incr('counter', 'ttl', 1n, soon)), [0, 1n]);
    assert.ok((await ttl('counter', 'ttl')).result!.ttlSeconds > 90);
    await incr('counter', 'ttl', 1n, 0);
    assert.ok((await ttl('counter', 'ttl')).result!.ttlSeconds > 90, '0 keeps the expiry');
    await incr('counter', 'ttl', 1n, -1);
    assert.equal((await ttl('counter', 'ttl')).result!.ttlSeconds, -1, 'a negative expire_ts clears it');
    assert.deepEqual((await get('counter', 'ttl')).result!.value, b('3'));
  });

  test('check_and_set: every check type, the returned check value, a different set key, and failures', async () => {
    const hash = hashOfHashKey(b('cas'));
    const cas = (checkType: CasCheckType, operand: string, options: { set?: string; setSortKey?: string; returnCheckValue?: boolean } = {}) =>
      router.call('RPC_RRDB_RRDB_CHECK_AND_SET', {
        hashKey: b('cas'), checkSortKey: b('check'), checkType, checkOperand: b(operand), setDiffSortKey: options.setSortKey !== undefined,
        setSortKey: b(options.setSortKey ?? ''), setValue: b(options.set ?? 'set'), setExpireTsSeconds: 0, returnCheckValue: options.returnCheckValue ?? true,
      }, hash);
    const created = await cas(CasCheckType.CT_VALUE_NOT_EXIST, '', { set: '15' });
    assert.deepEqual({ ...created.result!, server: '' }, {
      error: 0, checkValueReturned: true, checkValueExist: false, checkValue: Buffer.alloc(0), appId: router.appId,
      partitionIndex: router.pidxOfHash(hash), decree: created.result!.decree, server: '',
    });
    const refused = await cas(CasCheckType.CT_VALUE_NOT_EXIST, '', { set: 'other' });
    assert.deepEqual([refused.result!.error, refused.result!.checkValueExist, refused.result!.checkValue], [13, true, b('15')]);
    assert.equal(refused.result!.decree, created.result!.decree + 1n, 'a failed check still consumes a decree');
    const quiet = await cas(CasCheckType.CT_VALUE_NOT_EXIST, '', { returnCheckValue: false });
    assert.deepEqual([quiet.result!.error, quiet.result!.checkValueReturned, quiet.result!.checkValueExist], [13, false, false]);

    // Value "15" against each check (sets a different sort key, so the check value stays "15").
    const expectations: Array<[CasCheckType, string, number]> = [
      [CasCheckType.CT_NO_CHECK, '', 0],
      [CasCheckType.CT_VALUE_NOT_EXIST_OR_EMPTY, '', 13],
      [CasCheckType.CT_VALUE_EXIST, '', 0],
      [CasCheckType.CT_VALUE_NOT_EMPTY, '', 0],
      [CasCheckType.CT_VALUE_MATCH_ANYWHERE, '5', 0],
      [CasCheckType.CT_VALUE_MATCH_ANYWHERE, '', 0],
      [CasCheckType.CT_VALUE_MATCH_PREFIX, '1', 0],
      [CasCheckType.CT_VALUE_MATCH_POSTFIX, '1', 13],
      [CasCheckType.CT_VALUE_MATCH_PREFIX, '155', 13],
      [CasCheckType.CT_VALUE_BYTES_LESS, '2', 0],
      [CasCheckType.CT_VALUE_BYTES_LESS_OR_EQUAL, '15', 0],
      [CasCheckType.CT_VALUE_BYTES_EQUAL, '15', 0],
      [CasCheckType.CT_VALUE_BYTES_GREATER_OR_EQUAL, '2', 13],
      [CasCheckType.CT_VALUE_BYTES_GREATER, '1', 0],
      [CasCheckType.CT_VALUE_INT_LESS, '2', 13],
      [CasCheckType.CT_VALUE_INT_LESS_OR_EQUAL, '15', 0],
      [CasCheckType.CT_VALUE_INT_EQUAL, '0xf', 0],
      [CasCheckType.CT_VALUE_INT_GREATER_OR_EQUAL, '16', 13],
      [CasCheckType.CT_VALUE_INT_GREATER, '-3', 0],
      [CasCheckType.CT_VALUE_INT_GREATER, 'x', 4],
    ];
    for (const [checkType, operand, error] of expectations) {
      const reply = await cas(checkType, operand, { setSortKey: 'target', set: `${checkType}:${operand}` });
      assert.equal(reply.result!.error, error, `check type ${checkType} with operand "${operand}"`);
      if (error === 0) assert.deepEqual((await get('cas', 'target')).result!.value, b(`${checkType}:${operand}`));
    }
    assert.deepEqual((await get('cas', 'check')).result!.value, b('15'));
    assert.equal((await cas(99 as CasCheckType, '')).result!.error, 4, 'an unknown check type is an invalid argument');
    await put('cas', 'check', 'not a number');
    assert.equal((await cas(CasCheckType.CT_VALUE_INT_LESS, '5')).result!.error, 4);
    assert.equal((await cas(CasCheckType.CT_VALUE_BYTES_EQUAL, 'not a number', { set: 'replaced' })).result!.error, 0);
    assert.deepEqual((await get('cas', 'check')).result!.value, b('replaced'));
  });

  test('check_and_mutate applies its puts and deletes together, or none of them', async () => {
    const hash = hashOfHashKey(b('cam'));
    await multiPut('cam', [['check', 'go'], ['gone', 'x']]);
    const mutate = (operand: string, mutateList: Array<{ operation: MutateOperation; sortKey: string; value?: string; ttl?: number }>) =>
      router.call('RPC_RRDB_RRDB_CHECK_AND_MUTATE', {
        hashKey: b('cam'), checkSortKey: b('check'), checkType: CasCheckType.CT_VALUE_BYTES_EQUAL, checkOperand: b(operand), returnCheckValue: true,
        mutateList: mutateList.map((item) => ({ operation: item.operation, sortKey: b(item.sortKey), value: b(item.value ?? ''), setExpireTsSeconds: item.ttl ?? 0 })),
      }, hash);
    const list = [
      { operation: MutateOperation.MO_PUT, sortKey: 'new1', value: 'n1' },
      { operation: MutateOperation.MO_PUT, sortKey: 'new2', value: 'n2', ttl: now2016Seconds() + 100 },
      { operation: MutateOperation.MO_DELETE, sortKey: 'gone' },
    ];
    const failed = await mutate('stop', list);
    assert.deepEqual([failed.result!.error, failed.result!.checkValue], [13, b('go')]);
    assert.deepEqual(sortKeysOf((await multiGet('cam')).kvs), ['check', 'gone']);
    const passed = await mutate('go', list);
    assert.equal(passed.result!.error, 0);
    assert.deepEqual(sortKeysOf((await multiGet('cam')).kvs), ['check', 'new1', 'new2']);
    assert.ok((await ttl('cam', 'new2')).result!.ttlSeconds > 90);
    assert.equal((await mutate('go', [])).result!.error, 4);
    assert.equal((await mutate('go', [{ operation: 7 as MutateOperation, sortKey: 'x' }])).result!.error, 4);
  });

  test('batch_get and sortkey_count', async () => {
    const hash = hashOfHashKey(b('batch'));
    await multiPut('batch', [['1', 'one'], ['2', 'two'], ['3', 'three']]);
    const reply = await router.call('RPC_RRDB_RRDB_BATCH_GET', {
      keys: ['3', 'missing', '1'].map((sortKey) => ({ hashKey: b('batch'), sortKey: b(sortKey) })),
    }, hash);
    assert.deepEqual({ ...reply.result!, server: '' }, {
      error: 0, appId: router.appId, partitionIndex: router.pidxOfHash(hash), server: '',
      data: [{ hashKey: b('batch'), sortKey: b('3'), value: b('three') }, { hashKey: b('batch'), sortKey: b('1'), value: b('one') }],
    });
    assert.equal((await router.call('RPC_RRDB_RRDB_BATCH_GET', { keys: [] }, hash)).result!.error, 4);
    assert.equal(await sortKeyCount('batch'), 3n);
    assert.equal(await sortKeyCount('never-written'), 0n);
  });

  test('scanners: batches under fresh context ids, inclusive flags, filters, no_value, expire_ts, count only, clear and expiry', async () => {
    const hash = hashOfHashKey(b('scan'));
    const sortKeys = Array.from({ length: 10 }, (_, index) => `s${String(index).padStart(2, '0')}`);
    await multiPut('scan', sortKeys.map((sortKey) => [sortKey, `value-${sortKey}`]));
    const soon = now2016Seconds() + 1000;
    await put('scan', 's05', 'value-s05', soon);

    const batches = await scanAll(hashKeyScanner('scan', { batchSize: 3 }), hash);
    assert.deepEqual(batches.map((batch) => batch.kvs.length), [3, 3, 3, 1]);
    assert.deepEqual(batches.flatMap((batch) => batch.kvs.map((kv) => kv.key)), sortKeys.map((sortKey) => key('scan', sortKey)), 'kvs carry full composite keys');
    assert.deepEqual(batches.flatMap((batch) => batch.kvs.map((kv) => kv.value.toString())), sortKeys.map((sortKey) => `value-${sortKey}`));
    const ids = batches.map((batch) => batch.contextId);
    assert.equal(ids.at(-1), SCAN_CONTEXT_ID_COMPLETED);
    assert.ok(ids.slice(0, -1).every((id) => id >= 0n));
    assert.equal(new Set(ids).size, ids.length, 'every continuation gets a new context id');
    const reused = await router.call('RPC_RRDB_RRDB_SCAN', { contextId: ids[0]! }, hash);
    assert.equal(reused.result!.error, 1, 'a consumed context id is gone');
    assert.equal(batches[0]!.partitionIndex, router.pidxOfHash(hash));

    const scannedKeys = async (request: GetScannerRequest) =>
      (await scanAll(request, hash)).flatMap((batch) => batch.kvs.map((kv) => kv.key.subarray(2 + 4).toString()));
    const between = (start: string, startInclusive: boolean, stop: string, stopInclusive: boolean) =>
      hashKeyScanner('scan', { startKey: key('scan', start), startInclusive, stopKey: key('scan', stop), stopInclusive });
    assert.deepEqual(await scannedKeys(between('s02', false, 's05', true)), ['s03', 's04', 's05']);
    assert.deepEqual(await scannedKeys(between('s02', true, 's05', false)), ['s02', 's03', 's04']);
    assert.deepEqual(await scannedKeys(between('s05', true, 's02', true)), []);
    assert.deepEqual(await scannedKeys(hashKeyScanner('scan', { sortKeyFilterType: FilterType.FT_MATCH_POSTFIX, sortKeyFilterPattern: b('7') })), ['s07']);
    assert.deepEqual(await scannedKeys(hashKeyScanner('scan', { hashKeyFilterType: FilterType.FT_MATCH_PREFIX, hashKeyFilterPattern: b('nope') })), []);

    const detailed = (await scanAll(hashKeyScanner('scan', { noValue: true, returnExpireTs: true }), hash)).flatMap((batch) => batch.kvs);
    assert.ok(detailed.every((kv) => kv.value.length === 0));
    assert.deepEqual(detailed.map((kv) => kv.expireTsSeconds), sortKeys.map((sortKey) => (sortKey === 's05' ? soon : 0)));
    const counted = await scanAll(hashKeyScanner('scan', { onlyReturnCount: true, batchSize: 4 }), hash);
    assert.deepEqual(counted.map((batch) => [batch.kvs.length, batch.kvCount]), [[0, 4], [0, 4], [0, 2]]);
    const invalid = await router.call('RPC_RRDB_RRDB_GET_SCANNER', hashKeyScanner('scan', { sortKeyFilterType: 5 as FilterType }), hash);
    assert.equal(invalid.result!.error, 4);

    // CLEAR_SCANNER is never answered (Java sends it as a CALL), and drops the context.
    const opened = await router.call('RPC_RRDB_RRDB_GET_SCANNER', hashKeyScanner('scan', { batchSize: 2 }), hash);
    const contextId = opened.result!.contextId;
    assert.ok(contextId >= 0n);
    const connection = router.connection(router.partitions[router.pidxOfHash(hash)]!.primary);
    const seqid = await connection.send('RPC_RRDB_RRDB_CLEAR_SCANNER', encodeArgs(RPCS.RPC_RRDB_RRDB_CLEAR_SCANNER.args, contextId), {
      appId: router.appId, partitionIndex: router.pidxOfHash(hash), partitionHash: hash,
    });
    assert.equal(await connection.repliedWithin(seqid, 500), false);
    assert.equal((await router.call('RPC_RRDB_RRDB_SCAN', { contextId }, hash)).result!.error, 1);

    // An idle context is dropped after scan_context_timeout_ms. Times are taken on this side after
    // each reply, so a slow round trip only adds to the idle context's age; the margins cover a
    // slow request and a late timer on the server, by seconds.
    const idle = await router.call('RPC_RRDB_RRDB_GET_SCANNER', hashKeyScanner('scan', { batchSize: 2 }), hash);
    const kept = await router.call('RPC_RRDB_RRDB_GET_SCANNER', hashKeyScanner('scan', { batchSize: 2 }), hash);
    const openedAt = Date.now();
    await sleep(SCAN_CONTEXT_CONTINUE_AFTER_MS);
    const continued = await router.call('RPC_RRDB_RRDB_SCAN', { contextId: kept.result!.contextId }, hash);
    assert.equal(continued.result!.error, 0, 'continuing in time works');
    // The idle context is now past its timeout by SCAN_CONTEXT_EXPIRY_MARGIN_MS; the continued one
    // is still short of its fresh timeout by about the same.
    await sleep(openedAt + SCAN_CONTEXT_TIMEOUT_MS + SCAN_CONTEXT_EXPIRY_MARGIN_MS - Date.now());
    const expired = await router.call('RPC_RRDB_RRDB_SCAN', { contextId: idle.result!.contextId }, hash);
    assert.deepEqual([expired.error, expired.result!.error, expired.result!.kvs.length], ['ERR_OK', 1, 0]);
    const refreshed = await router.call('RPC_RRDB_RRDB_SCAN', { contextId: continued.result!.contextId }, hash);
    assert.equal(refreshed.result!.error, 0, 'a continued context got a fresh timeout');
  });

  test('a full scan of every partition returns each record exactly once, from the partition it routes to', async () => {
    const meta = new RawConnection(cluster.metaPort);
    const created = await callRaw(meta, 'RPC_CM_CREATE_APP', {
      appName: 'scanall',
      options: { partitionCount: 4, replicaCount: 3, successIfExist: false, appType: 'pegasus', isStateful: true, envs: new Map() },
    });
    meta.close();
    assert.equal(created.result?.err, 'ERR_OK');
    await cluster.waitHealthy('scanall', 4);
    const table = new TableRouter(cluster.metaPort, 'scanall');
    try {
      await cluster.waitServing(table);
      const written = new Set<string>();
      for (let index = 0; index < 300; index++) {
        const hashKey = `user${index % 37}`;
        const sortKey = index % 5 === 0 ? '' : `item${index}`;
        const composite = key(hashKey, sortKey);
        const reply = await table.call('RPC_RRDB_RRDB_PUT', { key: composite, value: b(`v${index}`), expireTsSeconds: 0 }, keyHashOf(composite));
        assert.equal(reply.result!.error, 0);
        written.add(composite.toString('hex'));
      }
      const fullScan = async (options: Partial<GetScannerRequest>): Promise<string[]> => {
        const seen: string[] = [];
        for (let pidx = 0; pidx < table.partitionCount; pidx++) {
          // As Go's unordered scanners: the whole key space, partition_hash = the partition index.
          const request = hashKeyScanner('', { startKey: Buffer.of(0, 0), stopKey: Buffer.of(0xff, 0xff), fullScan: true, batchSize: 50, ...options });
          let reply = await table.call('RPC_RRDB_RRDB_GET_SCANNER', request, BigInt(pidx), { partitionIndex: pidx });
          for (;;) {
            assert.equal(reply.result!.error, 0);
            for (const kv of reply.result!.kvs) {
              assert.equal(table.pidxOfHash(keyHashOf(kv.key)), pidx, 'a record comes from the partition it routes to');
              seen.push(kv.key.toString('hex'));
            }
            if (reply.result!.contextId < 0n) break;
            reply = await table.call('RPC_RRDB_RRDB_SCAN', { contextId: reply.result!.contextId }, BigInt(pidx), { partitionIndex: pidx });
          }
        }
        return seen;
      };
      const seen = await fullScan({});
      assert.equal(seen.length, written.size, 'no record twice');
      assert.deepEqual(new Set(seen), written);
      const filtered = await fullScan({ hashKeyFilterType: FilterType.FT_MATCH_PREFIX, hashKeyFilterPattern: b('user1'), sortKeyFilterType: FilterType.FT_MATCH_ANYWHERE, sortKeyFilterPattern: b('item') });
      const expected = [...written].filter((hex) => {
        const composite = Buffer.from(hex, 'hex');
        const hashKeyLength = composite.readUInt16BE(0);
        return composite.subarray(2, 2 + hashKeyLength).toString().startsWith('user1') && composite.subarray(2 + hashKeyLength).toString().includes('item');
      });
      assert.ok(expected.length > 10);
      assert.deepEqual(new Set(filtered), new Set(expected));
      assert.equal(filtered.length, expected.length);
    } finally {
      table.close();
    }
  });

  test('table envs reach the replicas: default_ttl and replica.deny_client_request', async () => {
    const meta = new RawConnection(cluster.metaPort);
    const table = new TableRouter(cluster.metaPort, 'envs');
    try {
      const created = await callRaw(meta, 'RPC_CM_CREATE_APP', {
        appName: 'envs', options: { partitionCount: 2, replicaCount: 3, successIfExist: false, appType: 'pegasus', isStateful: true, envs: new Map() },
      });
      assert.equal(created.result?.err, 'ERR_OK');
      await cluster.waitHealthy('envs', 2);
      await cluster.waitServing(table);
      const composite = key('env', 'k');
      const hash = keyHashOf(composite);
      const setEnv = async (name: string, value: string) => {
        const reply = await callRaw(meta, 'RPC_CM_UPDATE_APP_ENV', { appName: 'envs', op: AppEnvOperation.APP_ENV_OP_SET, keys: [name], values: [value] });
        assert.equal(reply.result?.err, 'ERR_OK');
      };
      const putOnce = () => table.call('RPC_RRDB_RRDB_PUT', { key: composite, value: b('v'), expireTsSeconds: 0 }, hash);

      await setEnv('default_ttl', '1000');
      await waitFor('default_ttl applied', async () => {
        await putOnce();
        const reply = await table.call('RPC_RRDB_RRDB_TTL', composite, hash);
        return reply.result!.ttlSeconds > 990 && reply.result!.ttlSeconds <= 1000;
      }, 10000, 200);

      await setEnv('replica.deny_client_request', 'reconfig*write');
      await waitFor('writes refused', async () => (await putOnce()).error === 'ERR_INVALID_STATE', 10000, 200);
      assert.equal((await table.call('RPC_RRDB_RRDB_GET', composite, hash)).result!.error, 0, 'reads still served');

      await setEnv('replica.deny_client_request', 'timeout*read');
      await waitFor('writes served again', async () => (await putOnce()).error === 'ERR_OK', 10000, 200);
      const connection = table.connection(table.partitions[table.pidxOfHash(hash)]!.primary);
      const seqid = await connection.send('RPC_RRDB_RRDB_GET', encodeArgs(RPCS.RPC_RRDB_RRDB_GET.args, composite), {
        appId: table.appId, partitionIndex: table.pidxOfHash(hash), partitionHash: hash,
      });
      assert.equal(await connection.repliedWithin(seqid, 500), false, 'a "timeout" denial never answers');
    } finally {
      meta.close();
      table.close();
    }
  });

  test('routing errors: a gpid not hosted, a non-primary replica, a hash of another partition, a key that does not match its hash', async () => {
    const composite = key('route', 'me');
    const hash = keyHashOf(composite);
    const pidx = router.pidxOfHash(hash);
    const partition = router.partitions[pidx]!;
    const primary = router.connection(partition.primary);

    const notHosted = await callRaw(primary, 'RPC_RRDB_RRDB_GET', composite, { appId: router.appId, partitionIndex: PARTITIONS + 3, partitionHash: 0n });
    assert.deepEqual(notHosted, { error: 'ERR_OBJECT_NOT_FOUND', result: undefined });
    const noTable = await callRaw(primary, 'RPC_RRDB_RRDB_PUT', { key: composite, value: b('x'), expireTsSeconds: 0 }, { appId: 4242, partitionIndex: 0, partitionHash: hash });
    assert.equal(noTable.error, 'ERR_OBJECT_NOT_FOUND');
    const metaRpcShape = await callRaw(primary, 'RPC_RRDB_RRDB_GET', composite, {});
    assert.equal(metaRpcShape.error, 'ERR_OBJECT_NOT_FOUND', 'app_id 0 names no replica');

    assert.equal(partition.secondaries.length, 2);
    const secondary = router.connection(partition.secondaries[0]!);
    const target = { appId: router.appId, partitionIndex: pidx, partitionHash: hash };
    assert.equal((await callRaw(secondary, 'RPC_RRDB_RRDB_GET', composite, target)).error, 'ERR_INVALID_STATE');
    assert.equal((await callRaw(secondary, 'RPC_RRDB_RRDB_PUT', { key: composite, value: b('x'), expireTsSeconds: 0 }, target)).error, 'ERR_INVALID_STATE');

    let otherHash = 1n;
    while (router.pidxOfHash(otherHash) === pidx) otherHash += 1n;
    const misrouted = await callRaw(primary, 'RPC_RRDB_RRDB_GET', composite, { ...target, partitionHash: otherHash });
    assert.equal(misrouted.error, 'ERR_PARENT_PARTITION_MISUSED');

    let sameHash = hash + BigInt(PARTITIONS);
    if (sameHash >= 2n ** 64n) sameHash = hash - BigInt(PARTITIONS);
    const mismatched = await callRaw(primary, 'RPC_RRDB_RRDB_PUT', { key: composite, value: b('x'), expireTsSeconds: 0 }, { ...target, partitionHash: sameHash });
    assert.equal(mismatched.error, 'ERR_INVALID_PARAMETERS');
    const unhashed = await callRaw(primary, 'RPC_RRDB_RRDB_PUT', { key: composite, value: b('x'), expireTsSeconds: 0 }, { ...target, partitionHash: 0n });
    assert.equal(unhashed.result?.error, 0, 'a zero partition_hash is not checked');

    const garbage = await primary.request('RPC_RRDB_RRDB_MULTI_GET', Buffer.from([0x0c, 0x00, 0x01, 0x0f, 0x0b]), target);
    assert.equal(garbage.error, 'ERR_INVALID_DATA');
    const unknown = await primary.request('RPC_RRDB_RRDB_NOPE', Buffer.of(0), target);
    assert.equal(unknown.error, 'ERR_HANDLER_NOT_FOUND');
  });

  test('/replica/data_version answers per partition for tables hosted here', async () => {
    const url = `http://127.0.0.1:${cluster.replicaPorts[0]}/replica/data_version`;
    const response = await fetch(`${url}?app_id=${router.appId}`);
    assert.equal(response.status, 200);
    const expected = Object.fromEntries(Array.from({ length: PARTITIONS }, (_, pidx) => [String(pidx), { data_version: '1' }]));
    assert.equal(await response.text(), JSON.stringify(Object.fromEntries(Object.entries(expected).sort(([a], [c]) => (a < c ? -1 : 1)))));
    assert.equal(await (await fetch(`${url}?app_id=0x${router.appId.toString(16)}`)).text(), JSON.stringify(expected), 'strtoll base 0');
    const answers = await Promise.all(['', '?app_id=', '?app_id=abc', '?app_id=-1', '?app_id=4294967296', '?app_id=777'].map(async (query) => {
      const reply = await fetch(`${url}${query}`);
      return [reply.status, await reply.text()];
    }));
    assert.deepEqual(answers, [
      [400, 'app_id should not be empty'],
      [400, 'invalid app_id='],
      [400, 'invalid app_id=abc'],
      [400, 'invalid app_id=-1'],
      [400, 'invalid app_id=4294967296'],
      [404, 'app_id=777 not found'],
    ]);
  });

  test('replica metrics count requests and latencies per partition; failed requests count per server', async () => {
    const composite = key('metrics', 'k');
    const hash = keyHashOf(composite);
    const pidx = router.pidxOfHash(hash);
    const primary = router.partitions[pidx]!.primary;
    const metricsOf = async (query: string) => {
      const response = await fetch(`http://${primary}/metrics?${query}`);
      return (await response.json()) as { entities: Array<{ type: string; id: string; attributes: Record<string, string>; metrics: Array<Record<string, number | string>> }> };
    };
    const valueOf = async (id: string, name: string): Promise<number> => {
      const body = await metricsOf(`ids=${id}&metrics=${name}`);
      return Number(body.entities[0]?.metrics[0]?.value ?? 0);
    };
    const entityId = `replica@${router.appId}.${pidx}`;
    const getsBefore = await valueOf(entityId, 'get_requests');
    const putsBefore = await valueOf(entityId, 'put_requests');
    const failedBefore = await valueOf('server', 'read_failed_requests');
    await put('metrics', 'k', 'v');
    for (let index = 0; index < 5; index++) await get('metrics', 'k');
    await callRaw(router.connection(primary), 'RPC_RRDB_RRDB_GET', composite, { appId: router.appId, partitionIndex: 999 });
    assert.equal(await valueOf(entityId, 'get_requests'), getsBefore + 5);
    assert.equal(await valueOf(entityId, 'put_requests'), putsBefore + 1);
    assert.equal(await valueOf('server', 'read_failed_requests'), failedBefore + 1);
    const detail = await metricsOf(`ids=${entityId}&metrics=get_latency_ns&detail=true`);
    assert.deepEqual(detail.entities[0]!.attributes, { table_id: String(router.appId), partition_id: String(pidx) });
    assert.deepEqual(Object.keys(detail.entities[0]!.metrics[0]!), ['type', 'name', 'unit', 'desc', 'p50', 'p90', 'p95', 'p99', 'p999']);
    assert.equal(detail.entities[0]!.metrics[0]!.unit, 'NanoSeconds');
  });

  test('concurrent writes to one partition get distinct, gapless decrees and all land', async () => {
    const hashKey = 'burst';
    const hash = hashOfHashKey(b(hashKey));
    const replies = await Promise.all(Array.from({ length: 300 }, (_, index) => {
      const composite = key(hashKey, `k${index}`);
      return router.call('RPC_RRDB_RRDB_PUT', { key: composite, value: b(`v${index}`), expireTsSeconds: 0 }, hash);
    }));
    assert.ok(replies.every((reply) => reply.result?.error === 0));
    const decrees = [...new Set(replies.map((reply) => reply.result!.decree))].sort((x, y) => (x < y ? -1 : 1));
    assert.equal(Number(decrees.at(-1)! - decrees[0]!) + 1, decrees.length, 'no gap between the decrees of the burst');
    const counters = await Promise.all(Array.from({ length: 50 }, () => incr(hashKey, 'counter', 1n)));
    assert.deepEqual(counters.map((reply) => reply.result!.newValue).sort((x, y) => (x < y ? -1 : 1)), Array.from({ length: 50 }, (_, index) => BigInt(index + 1)));
    assert.equal(await sortKeyCount(hashKey), 301n);
    assert.deepEqual(cluster.errorLines().slice(0, 5), [], 'no errors logged');
  });
});
