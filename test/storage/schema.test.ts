// Pegasus key and value schema (pegasus-arch §1.10, §1.12): golden bytes, range bounds at the
// awkward edges (empty keys, hash keys that prefix each other, 0xFF bytes), value headers of
// v0/v1/v2, expiry and TTL arithmetic on the 2016 epoch, timetags.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PteronError } from '../../src/base/index.ts';
import {
  DATA_PREFIX, EPOCH_2016_UNIX_SECONDS, META_PREFIX, compositeBounds, compositeKeyOf, dataStoreKey, decodeKey,
  decodeValue, encodeKey, encodeValue, expireTsToDate, hashKeyBounds, hashKeyPrefix, inBounds, isExpired,
  isExpireTsPassed, isValidKey, keySuccessor, makeTimetag, metaStoreKey, now2016Seconds, prefixSuccessor, readExpireTs,
  sortKeyBounds, splitTimetag, toDataFamilyBounds, ttlRemainingSeconds, ttlToExpireTs, valueHeaderBytes,
  valueVersionOf, withExpireTs, type KeyBounds,
} from '../../src/storage/index.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const b = (text: string): Buffer => Buffer.from(text, 'utf8');
const x = (hexText: string): Buffer => Buffer.from(hexText.replace(/\s+/g, ''), 'hex');

describe('composite key', () => {
  it('encodes hash key "hk", sort key "sk" as 00 02 68 6b 73 6b', () => {
    assert.equal(hex(encodeKey(b('hk'), b('sk'))), '00 02 68 6b 73 6b');
  });

  it('encodes an empty sort key as just the length and hash key', () => {
    assert.equal(hex(encodeKey(b('hk'), Buffer.alloc(0))), '00 02 68 6b');
    assert.equal(hex(encodeKey(Buffer.alloc(0), Buffer.alloc(0))), '00 00');
    assert.equal(hex(encodeKey(Buffer.alloc(0), b('s'))), '00 00 73');
  });

  it('writes the hash-key length big-endian', () => {
    const key = encodeKey(Buffer.alloc(0x1234, 0x61), b('z'));
    assert.equal(hex(key.subarray(0, 2)), '12 34');
    assert.equal(key.length, 2 + 0x1234 + 1);
  });

  it('round-trips binary keys, including zero and 0xFF bytes', () => {
    const hashKey = x('00 ff 00 fe 80');
    const sortKey = x('ff ff 00 01');
    const key = encodeKey(hashKey, sortKey);
    assert.equal(hex(key), '00 05 00 ff 00 fe 80 ff ff 00 01');
    const parts = decodeKey(key);
    assert.deepEqual([...parts.hashKey], [...hashKey]);
    assert.deepEqual([...parts.sortKey], [...sortKey]);
  });

  it('decodes empty parts', () => {
    const parts = decodeKey(x('00 00'));
    assert.equal(parts.hashKey.length, 0);
    assert.equal(parts.sortKey.length, 0);
    assert.equal(decodeKey(x('00 00 41')).sortKey.toString(), 'A');
  });

  it('accepts a hash key of 65534 bytes and refuses 65535', () => {
    assert.equal(encodeKey(Buffer.alloc(65534), Buffer.alloc(0)).readUInt16BE(0), 65534);
    assert.throws(() => encodeKey(Buffer.alloc(65535), Buffer.alloc(0)), (error: unknown) =>
      error instanceof PteronError && error.code === 'ERR_INVALID_PARAMETERS');
  });

  it('rejects malformed keys', () => {
    for (const bad of [x(''), x('00'), x('00 03 61 62'), x('ff ff')]) {
      assert.equal(isValidKey(bad), false, hex(bad));
      assert.throws(() => decodeKey(bad), (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_DATA');
    }
    assert.equal(isValidKey(x('00 02 61 62')), true);
  });
});

describe('key ranges', () => {
  it('prefix successor increments the last byte below 0xFF and truncates after it', () => {
    assert.equal(hex(prefixSuccessor(x('00 02 68 6b'))!), '00 02 68 6c');
    assert.equal(hex(prefixSuccessor(x('00 02 61 ff'))!), '00 02 62');
    assert.equal(hex(prefixSuccessor(x('00 01 ff'))!), '00 02');
    assert.equal(hex(prefixSuccessor(x('00 00'))!), '00 01');
    assert.equal(prefixSuccessor(x('ff ff')), undefined);
    assert.equal(prefixSuccessor(x('')), undefined);
    assert.equal(hex(keySuccessor(x('00 01 61'))), '00 01 61 00');
  });

  it('hash key bounds cover exactly that hash key', () => {
    const bounds = hashKeyBounds(b('hk'));
    assert.equal(hex(bounds.gte!), '00 02 68 6b');
    assert.equal(hex(bounds.lt!), '00 02 68 6c');
    assert.equal(hex(hashKeyPrefix(b('hk'))), '00 02 68 6b');
    assert.deepEqual(hashKeyBounds(Buffer.alloc(0)), { gte: x('00 00'), lt: x('00 01') });
    assert.deepEqual(hashKeyBounds(x('ff')), { gte: x('00 01 ff'), lt: x('00 02') });
    assert.deepEqual(hashKeyBounds(x('ff ff')), { gte: x('00 02 ff ff'), lt: x('00 03') });
  });

  it('separates hash keys that are prefixes of each other', () => {
    const keys = [
      encodeKey(b('a'), b('')), encodeKey(b('a'), b('b')), encodeKey(b('a'), x('ff ff')),
      encodeKey(b('ab'), b('')), encodeKey(b('ab'), b('c')), encodeKey(b(''), b('ab')),
      encodeKey(x('ff'), b('x')), encodeKey(x('ff ff'), b('')), encodeKey(x('61 ff'), b('')),
    ];
    const members = (hashKey: Buffer): string[] =>
      keys.filter((key) => inBounds(key, hashKeyBounds(hashKey))).map(hex);
    assert.deepEqual(members(b('a')), ['00 01 61', '00 01 61 62', '00 01 61 ff ff']);
    assert.deepEqual(members(b('ab')), ['00 02 61 62', '00 02 61 62 63']);
    assert.deepEqual(members(b('')), ['00 00 61 62']);
    assert.deepEqual(members(x('ff')), ['00 01 ff 78']);
    assert.deepEqual(members(x('ff ff')), ['00 02 ff ff']);
    assert.deepEqual(members(x('61 ff')), ['00 02 61 ff']);
  });

  it('orders a full scan by hash-key length, then hash key, then sort key', () => {
    const keys = [
      encodeKey(b('b'), b('')), encodeKey(b('aa'), b('')), encodeKey(b('a'), b('z')), encodeKey(b(''), b('zz')),
      encodeKey(b('a'), b('')),
    ];
    const sorted = keys.slice().sort(Buffer.compare).map((key) => {
      const parts = decodeKey(key);
      return `${parts.hashKey}/${parts.sortKey}`;
    });
    assert.deepEqual(sorted, ['/zz', 'a/', 'a/z', 'b/', 'aa/']);
  });

  it('sort-key bounds follow inclusive and exclusive ends', () => {
    const hk = b('h');
    const all = ['', 'a', 'b', 'c', 'd'].map((sortKey) => encodeKey(hk, b(sortKey)));
    const pick = (bounds: KeyBounds | undefined): string[] =>
      bounds === undefined ? [] : all.filter((key) => inBounds(key, bounds)).map((key) => decodeKey(key).sortKey.toString());
    const range = (start: string, startInclusive: boolean, stop: string, stopInclusive: boolean) =>
      sortKeyBounds(hk, { startSortKey: b(start), startInclusive, stopSortKey: b(stop), stopInclusive });
    assert.deepEqual(pick(range('a', true, 'c', true)), ['a', 'b', 'c']);
    assert.deepEqual(pick(range('a', false, 'c', false)), ['b']);
    assert.deepEqual(pick(range('a', true, 'c', false)), ['a', 'b']);
    assert.deepEqual(pick(range('', true, '', false)), ['', 'a', 'b', 'c', 'd']);
    assert.deepEqual(pick(range('', false, '', true)), ['a', 'b', 'c', 'd'], 'an empty stop is the end of the hash key');
    assert.deepEqual(pick(range('b', true, 'b', true)), ['b']);
    assert.equal(range('b', true, 'b', false), undefined);
    assert.equal(range('c', true, 'a', true), undefined);
    assert.deepEqual(range('', true, '', false), { gte: x('00 01 68'), lt: x('00 01 69') });
  });

  it('sort-key bounds with 0xFF sort keys stay inside the hash key', () => {
    const hk = b('h');
    const bounds = sortKeyBounds(hk, { startSortKey: x('ff'), startInclusive: false, stopSortKey: b(''), stopInclusive: false })!;
    assert.equal(inBounds(encodeKey(hk, x('ff ff')), bounds), true);
    assert.equal(inBounds(encodeKey(hk, x('ff')), bounds), false);
    assert.equal(inBounds(encodeKey(b('i'), b('')), bounds), false);
  });

  it('composite bounds: empty start and stop are open ends', () => {
    assert.deepEqual(compositeBounds({ startKey: b(''), startInclusive: false, stopKey: b(''), stopInclusive: false }), {});
    const start = encodeKey(b('a'), b('1'));
    const stop = encodeKey(b('a'), b('3'));
    assert.deepEqual(compositeBounds({ startKey: start, startInclusive: true, stopKey: stop, stopInclusive: false }), { gte: start, lt: stop });
    assert.deepEqual(compositeBounds({ startKey: start, startInclusive: false, stopKey: stop, stopInclusive: true }), { gt: start, lte: stop });
    assert.equal(compositeBounds({ startKey: stop, startInclusive: true, stopKey: start, stopInclusive: true }), undefined);
    assert.equal(compositeBounds({ startKey: start, startInclusive: false, stopKey: start, stopInclusive: true }), undefined);
    assert.deepEqual(compositeBounds({ startKey: start, startInclusive: true, stopKey: start, stopInclusive: true }), { gte: start, lte: start });
  });

  it('column families are one-byte prefixes; meta sorts before data', () => {
    assert.equal(META_PREFIX < DATA_PREFIX, true);
    const composite = encodeKey(b('hk'), b('sk'));
    assert.equal(hex(dataStoreKey(composite)), '01 00 02 68 6b 73 6b');
    assert.equal(hex(compositeKeyOf(dataStoreKey(composite))), '00 02 68 6b 73 6b');
    assert.equal(hex(metaStoreKey('k')), '00 6b');
    assert.deepEqual(toDataFamilyBounds({}), { gte: x('01'), lt: x('02') });
    assert.deepEqual(toDataFamilyBounds({ gt: x('00 01 61'), lte: x('00 01 62') }), { gt: x('01 00 01 61'), lte: x('01 00 01 62') });
  });
});

describe('value schema', () => {
  it('v1 is [u32 BE expire_ts][u64 BE timetag][user data]', () => {
    const raw = encodeValue(1, b('value'), 0x01020304, 0x1122334455667788n);
    assert.equal(hex(raw), '01 02 03 04 11 22 33 44 55 66 77 88 76 61 6c 75 65');
    assert.deepEqual(decodeValue(raw, 1), { expireTs: 0x01020304, timetag: 0x1122334455667788n, userData: b('value') });
  });

  it('v0 is [u32 BE expire_ts][user data]', () => {
    const raw = encodeValue(0, b('v'), 7);
    assert.equal(hex(raw), '00 00 00 07 76');
    assert.deepEqual(decodeValue(raw, 0), { expireTs: 7, timetag: 0n, userData: b('v') });
  });

  it('reads v2 values by their version byte, whatever the database version', () => {
    const raw = x('82 00 00 00 09 00 00 00 00 00 00 01 00 61');
    assert.equal(valueVersionOf(raw, 1), 2);
    assert.deepEqual(decodeValue(raw, 1), { expireTs: 9, timetag: 0x100n, userData: b('a') });
    assert.equal(readExpireTs(raw, 0), 9);
    assert.equal(hex(withExpireTs(raw, 1, 0x0a)), '82 00 00 00 0a 00 00 00 00 00 00 01 00 61');
  });

  it('round-trips empty and binary user data', () => {
    for (const userData of [Buffer.alloc(0), x('00 ff 80 00'), Buffer.alloc(1 << 20, 0xab)]) {
      const raw = encodeValue(1, userData, 0, 5n);
      assert.equal(raw.length, valueHeaderBytes(1) + userData.length);
      assert.ok(decodeValue(raw, 1).userData.equals(userData));
    }
    assert.equal(valueHeaderBytes(0), 4);
    assert.equal(valueHeaderBytes(1), 12);
    assert.equal(valueHeaderBytes(2), 13);
  });

  it('refuses short values and unknown versions', () => {
    assert.throws(() => decodeValue(x('00 00 00 00 00'), 1), PteronError);
    assert.throws(() => decodeValue(x('00 00 00'), 0), PteronError);
    assert.throws(() => valueHeaderBytes(3), PteronError);
    assert.throws(() => decodeValue(x('83 00 00 00 00 00 00 00 00 00 00 00 00'), 1), PteronError);
  });

  it('keeps written expire_ts below 2^31 so v1 values never look like v2', () => {
    assert.throws(() => encodeValue(1, b(''), 0x80000000));
    assert.throws(() => encodeValue(1, b(''), -1));
    assert.throws(() => encodeValue(2, b(''), 0));
  });

  it('withExpireTs copies and rewrites only the expire_ts', () => {
    const raw = encodeValue(1, b('data'), 0, 42n);
    const updated = withExpireTs(raw, 1, 100);
    assert.deepEqual(decodeValue(updated, 1), { expireTs: 100, timetag: 42n, userData: b('data') });
    assert.equal(decodeValue(raw, 1).expireTs, 0, 'the original is untouched');
  });
});

describe('time base and expiry', () => {
  it('counts seconds since 2016-01-01T00:00:00Z', () => {
    assert.equal(EPOCH_2016_UNIX_SECONDS, Date.UTC(2016, 0, 1) / 1000);
    assert.equal(now2016Seconds(Date.UTC(2016, 0, 1)), 0);
    assert.equal(now2016Seconds(Date.UTC(2016, 0, 1, 0, 0, 1, 999)), 1);
    assert.equal(now2016Seconds(Date.UTC(2024, 0, 1)), 252460800);
    assert.equal(expireTsToDate(0), undefined);
    assert.equal(expireTsToDate(252460800)!.toISOString(), '2024-01-01T00:00:00.000Z');
    // Bracketed by the wall clock read before and after, however long the call took.
    const before = Math.floor(Date.now() / 1000) - 1451606400;
    const now = now2016Seconds();
    const after = Math.floor(Date.now() / 1000) - 1451606400;
    assert.ok(before <= now && now <= after, `${before} <= ${now} <= ${after}`);
  });

  it('a record expires when expire_ts > 0 and expire_ts <= now', () => {
    assert.equal(isExpireTsPassed(0, 1_000_000), false);
    assert.equal(isExpireTsPassed(100, 99), false);
    assert.equal(isExpireTsPassed(100, 100), true);
    assert.equal(isExpireTsPassed(100, 101), true);
    assert.equal(isExpired(encodeValue(1, b('v'), 100), 100), true);
    assert.equal(isExpired(encodeValue(1, b('v'), 100), 99), false);
    assert.equal(isExpired(encodeValue(0, b('v'), 0), 99, 0), false);
  });

  it('converts TTLs both ways', () => {
    assert.equal(ttlToExpireTs(0, 500), 0);
    assert.equal(ttlToExpireTs(60, 500), 560);
    assert.equal(ttlRemainingSeconds(0, 500), -1);
    assert.equal(ttlRemainingSeconds(560, 500), 60);
    assert.equal(ttlRemainingSeconds(501, 500), 1);
    assert.equal(ttlRemainingSeconds(500, 500), undefined);
  });
});

describe('timetag', () => {
  it('packs timestamp µs (56 bits), cluster id (7 bits), deleted flag (1 bit)', () => {
    const timetag = makeTimetag(0x123456789abcn, 5, true);
    assert.equal(timetag, (0x123456789abcn << 8n) | (5n << 1n) | 1n);
    assert.deepEqual(splitTimetag(timetag), { timestampUs: 0x123456789abcn, clusterId: 5, deleted: true });
    assert.deepEqual(splitTimetag(makeTimetag((1n << 56n) - 1n, 127, false)), {
      timestampUs: (1n << 56n) - 1n, clusterId: 127, deleted: false,
    });
    assert.throws(() => makeTimetag(1n << 56n, 0, false));
    assert.throws(() => makeTimetag(0n, 128, false));
  });
});
