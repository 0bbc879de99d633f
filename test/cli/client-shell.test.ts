// The shell's data commands (set, get, del, multi_*, incr, check_and_set, exist, ttl, count,
// hash_scan, full_scan, count_data) against the in-process fake cluster: what they print, on
// which stream, and whether they succeed; plus the byte escaping of keys and values.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import { attachDataClient } from '../../src/cli/shell/data-commands.ts';
import { escapeBytes, wordBytes } from '../../src/cli/shell/data-format.ts';
import { createShellSession, type MetaCaller, type ShellSession } from '../../src/cli/shell/index.ts';
import { FakeMeta, FakeReplica, FakeStore } from '../helpers/fake-pegasus.ts';

const noMeta: MetaCaller = {
  async call() {
    return { err: 'ERR_HANDLER_NOT_FOUND', response: undefined };
  },
  async close() {},
};

describe('data command byte handling', () => {
  test('words of one-byte characters are taken byte for byte, wider text as UTF-8', () => {
    assert.deepEqual(wordBytes('abc'), Buffer.from('abc'));
    assert.deepEqual(wordBytes('\u00ff\u0000'), Buffer.from([0xff, 0x00]));
    assert.deepEqual(wordBytes('日本'), Buffer.from('日本', 'utf8'));
  });

  test('output escapes quotes, backslashes and control bytes; valid UTF-8 stays text unless escape_all', () => {
    assert.equal(escapeBytes(Buffer.from('a"b\'c\\d\n\t\r')), 'a\\"b\\\'c\\\\d\\n\\t\\r');
    assert.equal(escapeBytes(Buffer.from([0x00, 0x1f, 0x7f, 0x41])), '\\x00\\x1f\\x7fA');
    assert.equal(escapeBytes(Buffer.from('日本', 'utf8')), '日本');
    assert.equal(escapeBytes(Buffer.from('é', 'utf8'), true), '\\xc3\\xa9');
    assert.equal(escapeBytes(Buffer.from([0xff, 0x61])), '\\xffa');
  });
});

describe('shell data commands against fake servers', () => {
  const store = new FakeStore();
  let meta: FakeMeta;
  let replica: FakeReplica;
  let client: PegasusClient;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-client-shell-'));

  let out = '';
  let err = '';
  let session: ShellSession;
  const run = async (line: string): Promise<{ result: string; out: string; err: string }> => {
    out = '';
    err = '';
    const result = await session.runLine(line);
    return { result, out, err };
  };

  before(async () => {
    meta = await FakeMeta.start();
    replica = await FakeReplica.start(store, meta.partitionCountOf);
    meta.tables.set('data', { appId: 5, partitions: Array.from({ length: 4 }, () => ({ primary: replica.address, ballot: 2 })) });
    replica.serve(5, 0, 1, 2, 3);
    // No test here is about the deadline: it only has to tell a slow machine from a hang.
    client = createClient({ metaServers: [meta.address], timeoutMs: 20_000 });
  });

  after(async () => {
    await client.close();
    await Promise.all([meta.close(), replica.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    store.records.clear();
    session = createShellSession(noMeta, { out: (text) => (out += text), err: (text) => (err += text) }, { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))) });
    attachDataClient(session.state, client);
  });

  test('without use, data commands print the hint and fail', async () => {
    const { result, err: printed } = await run('get a b');
    assert.equal(result, 'failed');
    assert.equal(printed, 'No app is using now\nUSAGE: use [app_name]\n');
  });

  test('a table that does not exist fails with the error name', async () => {
    await run('use nope');
    const { result, err: printed } = await run('get a b');
    assert.equal(result, 'failed');
    assert.equal(printed, 'ERROR: open table nope failed: ERR_OBJECT_NOT_FOUND\n');
  });

  test('set, get, exist, ttl, del print like Pegasus\'s shell, with the replica that answered', async () => {
    await run('use data');
    const set = await run('set hk sk "hello world" 1000');
    assert.equal(set.result, 'ok');
    assert.match(set.err, /^OK\n\napp_id          : 5\npartition_index : \d\ndecree          : 1\nserver          : 127\.0\.0\.1:\d+\n$/);
    assert.equal(set.out, '');
    const got = await run('get hk sk');
    assert.match(got.err, /^"hello world"\n\napp_id          : 5\npartition_index : \d\nserver          : 127\.0\.0\.1:\d+\n$/);
    assert.match((await run('exist hk sk')).err, /^True\n/);
    // Any round trip fits in the range; a wrong TTL does not.
    const ttl = await run('ttl hk sk');
    const remaining = Number(/^(\d+)\n/.exec(ttl.err)?.[1]);
    assert.ok(remaining >= 900 && remaining <= 1000, `ttl printed ${JSON.stringify(ttl.err)}`);
    await run('set hk forever v');
    assert.match((await run('ttl hk forever')).err, /^Infinite\n/);
    assert.match((await run('del hk sk')).err, /^OK\n\napp_id/);
    assert.match((await run('get hk sk')).err, /^Not found\n/);
    assert.match((await run('exist hk sk')).err, /^False\n/);
    assert.match((await run('ttl hk sk')).err, /^Not found\n/);
    assert.equal((await run('set hk sk v 0')).result, 'usage');
    assert.equal((await run('get hk')).result, 'usage');
  });

  test('binary keys and values through escapes', async () => {
    await run('use data');
    assert.equal((await run('set "\\x00\\xff" "" "a\\x01\\"b"')).result, 'ok');
    assert.deepEqual(await (await client.openTable('data')).get(Buffer.from([0x00, 0xff]), ''), Buffer.from('a\x01"b', 'latin1'));
    assert.match((await run('get "\\x00\\xff" ""')).err, /^"a\\x01\\"b"\n/);
  });

  test('multi_set, multi_get, multi_del and count', async () => {
    await run('use data');
    assert.equal((await run('multi_set h s1 v1 s2 v2 s3 v3')).result, 'ok');
    assert.match((await run('multi_set h s1 v1 s1 v2')).err, /^ERROR: duplicate sort key s1\n/);
    assert.equal((await run('multi_set h s1')).result, 'usage');
    const all = await run('multi_get h');
    assert.match(all.err, /^"h" : "s1" => "v1"\n"h" : "s2" => "v2"\n"h" : "s3" => "v3"\n\n3 key-value pairs got, fetch completed\.\n\napp_id/);
    const some = await run('multi_get h s3 s1 s1 nope');
    assert.match(some.err, /^"h" : "s1" => "v1"\n"h" : "s3" => "v3"\n\n2 key-value pairs got, fetch completed\.\n/);
    assert.match((await run('count h')).err, /^3\n/);
    assert.match((await run('multi_del h s1 s2')).err, /^2 key-value pairs deleted\.\n\napp_id          : 5\npartition_index : \d\ndecree          : 1\n/);
    assert.match((await run('count h')).err, /^1\n/);
  });

  test('incr and check_and_set', async () => {
    await run('use data');
    assert.match((await run('incr h n')).err, /^1\n\napp_id/);
    assert.match((await run('incr h n -5')).err, /^-4\n/);
    await run('set h text abc');
    const bad = await run('incr h text');
    assert.equal(bad.result, 'failed');
    assert.match(bad.err, /^ERROR: PERR_INVALID_ARGUMENT\n/);
    assert.equal((await run('incr h n x')).result, 'usage');
    const cas = await run('check_and_set h -c lock -t not_exist -s lock -v me -r');
    assert.equal(cas.result, 'ok');
    assert.equal(
      cas.err.split('\napp_id')[0],
      'hash_key: "h"\ncheck_sort_key: "lock"\ncheck_type: not_exist\nset_sort_key: "lock"\nset_value: "me"\nset_value_ttl_seconds: 0\n'
        + 'return_check_value: true\n\nSet succeed.\n\nCheck value not exist.\n',
    );
    const again = await run('check_and_set h -c lock -t not_exist -s lock -v you -r');
    assert.match(again.err, /Set failed, because check not passed\.\n\nCheck value: "me"\n/);
    const equal = await run('check_and_set h -c lock -t bytes_equal -o me -s other -v x');
    assert.match(equal.err, /check_operand: "me"\n/);
    assert.match(equal.err, /Set succeed\.\n/);
    assert.equal((await run('check_and_set h -c lock -t nonsense -s a -v b')).result, 'usage');
    assert.equal((await run('check_and_set h -c lock -t match_prefix -s a -v b')).result, 'usage');
  });

  test('hash_scan and full_scan print every record; -o writes them to a file', async () => {
    await run('use data');
    await run('multi_set scan a 1 b 2 c 3 d 4');
    for (let index = 0; index < 10; index++) await run(`set other${index} x y${index}`);
    const scan = await run('hash_scan scan b "" -d');
    assert.equal(scan.result, 'ok');
    const [parameters, rows] = scan.err.split('no_value: false\n\n');
    assert.equal(parameters, 'hash_key: "scan"\nstart_sort_key: "b"\nstart_inclusive: true\nstop_sort_key: ""\nstop_inclusive: false\n'
      + 'sort_key_filter_type: no_filter\nvalue_filter_type: no_filter\nmax_count: -1\ntimout_ms: 5000\ndetailed: true\n');
    assert.match(rows!, /^"scan" : "b" => "2" \{app_id=5, partition_index=\d, server=127\.0\.0\.1:\d+\}\n"scan" : "c" => "3" .*\n"scan" : "d" => "4" .*\n\n3 key-value pairs got\.\n$/);
    const valueFiltered = await run('hash_scan scan "" "" -v prefix -z 3');
    assert.match(valueFiltered.err, /"scan" : "c" => "3"\n\n1 key-value pairs got\.\n$/);
    const full = await run('full_scan -i');
    assert.match(full.err, /^partition: all\nhash_key_filter_type: no_filter\n/);
    assert.match(full.err, /\n\n14 key-value pairs got\.\n$/);
    assert.equal((full.err.match(/^"other\d" : "x"$/gm) ?? []).length, 10);
    const prefix = await run('full_scan -h prefix -x other -n 3');
    assert.match(prefix.err, /\n\n3 key-value pairs got\.\n$/);
    const onePartition = await run('full_scan -p 9');
    assert.equal(onePartition.result, 'failed');
    assert.match(onePartition.err, /ERROR: partition 9 out of range, should be in range of \[0,3\]\n/);
    const file = path.join(dir, 'scan.txt');
    const toFile = await run(`full_scan -o ${file}`);
    assert.match(toFile.err, /14 key-value pairs got\.\n$/);
    assert.equal(readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').length, 14);
  });

  test('count_data -c counts every partition with progress lines; without -c prints the per-partition table', async () => {
    await run('use data');
    for (let index = 0; index < 30; index++) await run(`set k${index % 10} s${index} v`);
    const precise = await run('count_data -c -d');
    assert.equal(precise.result, 'ok');
    assert.match(precise.err, /INFO: open app scanner succeed, partition_count = 4\nINFO: prepare scanners succeed, split_count = 4\n/);
    assert.match(precise.err, /INFO: processed for \d+ seconds, \(4\/4\) splits, total 30 rows \(10 hash keys\), last second \d+ rows\n/);
    assert.match(precise.err, /Count done, total 30 rows\. \(10 hash keys\)\n$/);
    const estimate = await run('count_data');
    assert.equal(estimate.result, 'ok');
    assert.match(estimate.out, /^\[count_data\]\npidx +estimate_count +\n0 +\d+ +\n1 .*\n2 .*\n3 .*\n\(total:4\) +30 +\n$/);
    assert.equal((await run('count_data -d')).result, 'usage');
  });
});
