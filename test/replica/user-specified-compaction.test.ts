// The `user_specified_compaction` env: decoding as Pegasus does (its own test vector, invalid
// parts skipped), rule matching (patterns, TTL ranges) and the verdict for a record, and the
// store's compaction pass applying it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { applyUserOperations, parseUserSpecifiedCompaction, type UserCompactionOperation } from '../../src/replica/user-specified-compaction.ts';
import { EPOCH_2016_UNIX_SECONDS, ReplicaStore, encodeKey, type StoredRecord } from '../../src/storage/index.ts';

const NOW = 300_000_000;
const record = (hashKey: string, sortKey: string, expireTs = 0): StoredRecord =>
  ({ key: encodeKey(Buffer.from(hashKey), Buffer.from(sortKey)), userData: Buffer.from('v'), expireTs, timetag: 0n });

const rule = (type: string, params: object | string) => ({ type, params: typeof params === 'string' ? params : JSON.stringify(params) });
const op = (type: string, params: object | string, rules: object[]) => ({ type, params: typeof params === 'string' ? params : JSON.stringify(params), rules });
const env = (...ops: object[]): string => JSON.stringify({ ops });

describe('user_specified_compaction decoding', () => {
  test('Pegasus\'s create_operations vector: a delete and an update with three rules', () => {
    const text = '{"ops":[{"type":"COT_DELETE","params":"","rules":[{"type":"FRT_HASHKEY_PATTERN","params":"{\\"pattern\\":\\"hashkey\\",\\"match_type\\":\\"SMT_MATCH_PREFIX\\"}"}]},'
      + '{"type":"COT_UPDATE_TTL","params":"{\\"type\\":\\"UTOT_FROM_NOW\\",\\"value\\":10000}","rules":[{"type":"FRT_HASHKEY_PATTERN","params":"{\\"pattern\\":\\"hashkey\\",\\"match_type\\":\\"SMT_MATCH_ANYWHERE\\"}"},'
      + '{"type":"FRT_SORTKEY_PATTERN","params":"{\\"pattern\\":\\"sortkey\\",\\"match_type\\":\\"SMT_MATCH_POSTFIX\\"}"},{"type":"FRT_TTL_RANGE","params":"{\\"start_ttl\\":0,\\"stop_ttl\\":2000}"}]}]}';
    const operations = parseUserSpecifiedCompaction(text);
    assert.deepEqual(operations, [
      { type: 'COT_DELETE', rules: [{ type: 'FRT_HASHKEY_PATTERN', pattern: Buffer.from('hashkey'), matchType: 'SMT_MATCH_PREFIX' }] },
      {
        type: 'COT_UPDATE_TTL', updateType: 'UTOT_FROM_NOW', value: 10000, rules: [
          { type: 'FRT_HASHKEY_PATTERN', pattern: Buffer.from('hashkey'), matchType: 'SMT_MATCH_ANYWHERE' },
          { type: 'FRT_SORTKEY_PATTERN', pattern: Buffer.from('sortkey'), matchType: 'SMT_MATCH_POSTFIX' },
          { type: 'FRT_TTL_RANGE', startTtl: 0, stopTtl: 2000 },
        ],
      },
    ] satisfies UserCompactionOperation[]);
    assert.deepEqual(parseUserSpecifiedCompaction(''), []);
  });

  test('invalid parts are skipped, not fatal', () => {
    const good = rule('FRT_HASHKEY_PATTERN', { pattern: 'a', match_type: 'SMT_MATCH_PREFIX' });
    assert.deepEqual(parseUserSpecifiedCompaction('not json'), []);
    assert.deepEqual(parseUserSpecifiedCompaction('{"ops":3}'), []);
    const operations = parseUserSpecifiedCompaction(env(
      op('COT_DELETE', '', [rule('FRT_HASHKEY_PATTERN', 'not json'), rule('FRT_NOPE', {}), rule('FRT_TTL_RANGE', { start_ttl: -1, stop_ttl: 5 })]),
      op('COT_EXPLODE', '', [good]),
      op('COT_UPDATE_TTL', { type_xxx: 'UTOT_FROM_CURRENT', value: 2000 }, [good]),
      op('COT_UPDATE_TTL', { type: 'UTOT_FROM_CURRENT', value_xxx: 2000 }, [good]),
      op('COT_DELETE', 'ignored', [good, rule('FRT_SORTKEY_PATTERN', { pattern: 'x' })]),
    ));
    assert.deepEqual(operations, [{ type: 'COT_DELETE', rules: [{ type: 'FRT_HASHKEY_PATTERN', pattern: Buffer.from('a'), matchType: 'SMT_MATCH_PREFIX' }] }]);
  });
});

describe('user_specified_compaction verdicts', () => {
  test('patterns: anywhere, prefix, postfix; an empty pattern or an unknown match type never matches', () => {
    const deleteWhere = (type: string, pattern: string, matchType: string) =>
      parseUserSpecifiedCompaction(env(op('COT_DELETE', '', [rule(type, { pattern, match_type: matchType })])));
    const verdict = (operations: UserCompactionOperation[], hashKey: string, sortKey: string) => applyUserOperations(operations, record(hashKey, sortKey), NOW);
    assert.equal(verdict(deleteWhere('FRT_HASHKEY_PATTERN', 'user', 'SMT_MATCH_ANYWHERE'), 'a-user-b', 's'), 'drop');
    assert.equal(verdict(deleteWhere('FRT_HASHKEY_PATTERN', 'user', 'SMT_MATCH_PREFIX'), 'a-user-b', 's'), undefined);
    assert.equal(verdict(deleteWhere('FRT_HASHKEY_PATTERN', 'user', 'SMT_MATCH_PREFIX'), 'user-b', 's'), 'drop');
    assert.equal(verdict(deleteWhere('FRT_SORTKEY_PATTERN', 'tmp', 'SMT_MATCH_POSTFIX'), 'h', 'x.tmp'), 'drop');
    assert.equal(verdict(deleteWhere('FRT_SORTKEY_PATTERN', 'tmp', 'SMT_MATCH_POSTFIX'), 'tmp', 'x'), undefined, 'the sort key is matched, not the hash key');
    assert.equal(verdict(deleteWhere('FRT_HASHKEY_PATTERN', '', 'SMT_MATCH_ANYWHERE'), 'h', 's'), undefined);
    assert.equal(verdict(deleteWhere('FRT_HASHKEY_PATTERN', 'h', 'SMT_SOMEWHERE'), 'h', 's'), undefined);
  });

  test('TTL ranges: 0 and 0 select records without a TTL; otherwise expire ts within now + [start, stop]', () => {
    const operations = (start: number, stop: number) => parseUserSpecifiedCompaction(env(op('COT_DELETE', '', [rule('FRT_TTL_RANGE', { start_ttl: start, stop_ttl: stop })])));
    assert.equal(applyUserOperations(operations(0, 0), record('h', 's', 0), NOW), 'drop');
    assert.equal(applyUserOperations(operations(0, 0), record('h', 's', NOW + 10), NOW), undefined);
    assert.equal(applyUserOperations(operations(100, 2000), record('h', 's', NOW + 100), NOW), 'drop');
    assert.equal(applyUserOperations(operations(100, 2000), record('h', 's', NOW + 2000), NOW), 'drop');
    assert.equal(applyUserOperations(operations(100, 2000), record('h', 's', NOW + 2001), NOW), undefined);
    assert.equal(applyUserOperations(operations(100, 2000), record('h', 's', 0), NOW), undefined);
  });

  test('updates: from now, from the current TTL (not for records without one), to a Unix timestamp; a delete that matches wins', () => {
    const hashRule = rule('FRT_HASHKEY_PATTERN', { pattern: 'h', match_type: 'SMT_MATCH_PREFIX' });
    const update = (type: string, value: number) => parseUserSpecifiedCompaction(env(op('COT_UPDATE_TTL', { type, value }, [hashRule])));
    assert.equal(applyUserOperations(update('UTOT_FROM_NOW', 500), record('h', 's', 0), NOW), NOW + 500);
    assert.equal(applyUserOperations(update('UTOT_FROM_CURRENT', 500), record('h', 's', NOW + 7), NOW), NOW + 507);
    assert.equal(applyUserOperations(update('UTOT_FROM_CURRENT', 500), record('h', 's', 0), NOW), undefined);
    assert.equal(applyUserOperations(update('UTOT_TIMESTAMP', EPOCH_2016_UNIX_SECONDS + NOW + 60), record('h', 's', 0), NOW), NOW + 60);
    assert.equal(applyUserOperations(update('UTOT_SOMEHOW', 5), record('h', 's', 0), NOW), undefined);
    assert.equal(applyUserOperations(update('UTOT_FROM_NOW', 500), record('x', 's', 0), NOW), undefined, 'rules not matched');
    const both = parseUserSpecifiedCompaction(env(
      op('COT_UPDATE_TTL', { type: 'UTOT_FROM_NOW', value: 5 }, [hashRule]),
      op('COT_DELETE', '', [rule('FRT_SORTKEY_PATTERN', { pattern: 'old', match_type: 'SMT_MATCH_ANYWHERE' })]),
    ));
    assert.equal(applyUserOperations(both, record('h', 'old', 0), NOW), 'drop');
    assert.equal(applyUserOperations(both, record('h', 'new', 0), NOW), NOW + 5);
  });
});

describe('the compaction pass applies user-specified operations', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-user-compaction-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('deletes and TTL updates land in the store, after the default TTL', async () => {
    const store = await ReplicaStore.open({ replicaDir: path.join(scratch, 'store') });
    const put = (hashKey: string, sortKey: string, expireTs = 0) => ({ type: 'put' as const, key: encodeKey(Buffer.from(hashKey), Buffer.from(sortKey)), userData: Buffer.from('v'), expireTs });
    await store.applyMutation(1, [put('tmp-a', 's'), put('tmp-b', 's'), put('keep', 'short', NOW + 10), put('keep', 'plain')]);
    const operations = parseUserSpecifiedCompaction(env(
      op('COT_DELETE', '', [rule('FRT_HASHKEY_PATTERN', { pattern: 'tmp-', match_type: 'SMT_MATCH_PREFIX' })]),
      op('COT_UPDATE_TTL', { type: 'UTOT_FROM_CURRENT', value: 1000 }, [rule('FRT_SORTKEY_PATTERN', { pattern: 'short', match_type: 'SMT_MATCH_ANYWHERE' })]),
      // Sees the default TTL given to records without one.
      op('COT_UPDATE_TTL', { type: 'UTOT_FROM_CURRENT', value: 1 }, [rule('FRT_SORTKEY_PATTERN', { pattern: 'plain', match_type: 'SMT_MATCH_ANYWHERE' })]),
    ));
    const stats = await store.compact({ now: NOW, defaultTtlSeconds: 50, userOperations: (stored, now) => applyUserOperations(operations, stored, now) });
    assert.deepEqual(stats, { scannedEntries: 4, expiredDropped: 0, predicateDropped: 0, userDropped: 2, ttlApplied: 2, raced: 0 });
    assert.equal(await store.countKeys(), 2);
    assert.equal((await store.get(encodeKey(Buffer.from('keep'), Buffer.from('short')), NOW))?.expireTs, NOW + 1010);
    assert.equal((await store.get(encodeKey(Buffer.from('keep'), Buffer.from('plain')), NOW))?.expireTs, NOW + 51);
    await store.close();
  });
});
