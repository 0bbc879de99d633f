// The client and the shell's data commands against real processes: one meta and three replica
// servers. Every operation, empty and binary keys, values near the 1 MiB write limit, expired
// records, scans across partitions, a scanner whose server-side context expires, a scanner
// whose server stops answering, a replica server killed under the client, and `pteron shell -e`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { CasCheckType, createClient, PegasusError, type PegasusClient, type PegasusTable } from '../../src/client/index.ts';
import { fastClusterSettings, freePort, PROJECT_ROOT, type RunningProcess, sleep, startPteron, waitFor } from '../helpers/process.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PARTITIONS = 8;
const SCAN_CONTEXT_TIMEOUT_MS = 600;

function failsWith(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PegasusError, `expected a PegasusError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

interface ShellRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runShell(metaAddress: string, commands: string[], options: string[] = []): Promise<ShellRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'shell', '--meta', metaAddress, ...options, ...commands.flatMap((command) => ['-e', command])], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PTERON_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('client against a meta and three replica servers', () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-client-e2e-'));
  let metaPort = 0;
  let meta: RunningProcess;
  const replicas: RunningProcess[] = [];
  let client: PegasusClient;
  let table: PegasusTable;

  const commonSettings = (): string[] => fastClusterSettings(metaPort, 'client-e2e');

  /** The replica process listening on `host:port`. */
  const replicaAt = (server: string): RunningProcess => {
    const found = replicas.find((replica) => server.endsWith(`:${replica.port}`));
    assert.ok(found, `no replica process at ${server}`);
    return found;
  };

  before(async () => {
    metaPort = await freePort();
    meta = await startPteron('meta', {
      port: metaPort,
      args: [
        ...commonSettings(),
        '--set', `core.data_dir=${path.join(dataRoot, 'meta')}`,
        '--set', 'meta_server.min_live_node_count_for_unfreeze=1',
        '--set', `meta_server.apps.temp.partition_count=${PARTITIONS}`,
        '--set', 'meta_server.apps.temp.max_replica_count=3',
      ],
    });
    for (let index = 0; index < 3; index++) {
      replicas.push(await startPteron('replica', {
        args: [
          ...commonSettings(),
          '--set', `core.data_dir=${path.join(dataRoot, `replica${index + 1}`)}`,
          '--set', `pegasus.server.scan_context_timeout_ms=${SCAN_CONTEXT_TIMEOUT_MS}`,
        ],
      }));
    }
    client = createClient({ metaServers: [`127.0.0.1:${metaPort}`], timeoutMs: 5000 });
    // Ready when every partition has its three members (writes need two) and a primary that answers.
    await waitFor('every partition of temp fully healthy', async () => {
      const response = await fetch(`http://127.0.0.1:${metaPort}/meta/app?name=temp&detail`);
      if (response.status !== 200) return false;
      const view = (await response.json()) as { healthy: Record<string, string> };
      return view.healthy.fully_healthy_partition_count === String(PARTITIONS);
    }, 60_000, 200);
    await waitFor('every partition of temp answering', async () => {
      const probe = createClient({ metaServers: [`127.0.0.1:${metaPort}`], timeoutMs: 1000, retriesMax: 0 });
      try {
        const probeTable = await probe.openTable('temp');
        const scanners = await probeTable.getUnorderedScanners(PARTITIONS, { timeoutMs: 1000 });
        for (const scanner of scanners) {
          await scanner.next();
          await scanner.close();
        }
        return true;
      } finally {
        await probe.close();
      }
    }, 60_000, 300);
    table = await client.openTable('temp');
  });

  after(async () => {
    await client?.close();
    for (const replica of replicas) {
      try {
        process.kill(replica.pid, 'SIGCONT');
      } catch {
        // already gone
      }
      await replica.stop('SIGKILL');
    }
    await meta?.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('single records: set, get, exist, ttl, del, with empty, binary and Unicode keys', async () => {
    assert.equal(table.partitionCount, PARTITIONS);
    await table.set('user1', 'name', 'Ada');
    assert.equal((await table.get('user1', 'name'))?.toString(), 'Ada');
    assert.equal(await table.exist('user1', 'name'), true);
    assert.equal(await table.ttl('user1', 'name'), -1);
    await table.del('user1', 'name');
    assert.equal(await table.get('user1', 'name'), undefined);
    assert.equal(await table.exist('user1', 'name'), false);
    assert.equal(await table.ttl('user1', 'name'), undefined);

    await table.set('user1', '', 'empty sort key');
    assert.equal((await table.get('user1', ''))?.toString(), 'empty sort key');
    await table.set('', 'no-hash-key', 'routed by sort key');
    assert.equal((await table.get('', 'no-hash-key'))?.toString(), 'routed by sort key');
    await table.set('user1', 'empty value', '');
    assert.deepEqual(await table.get('user1', 'empty value'), Buffer.alloc(0));

    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    await table.set(everyByte, everyByte, everyByte);
    assert.deepEqual(await table.get(everyByte, everyByte), everyByte);
    await table.set('键', '值', 'données');
    assert.equal((await table.get(Buffer.from('键'), '值'))?.toString(), 'données');

    const info = { appId: 0, partitionIndex: 0, decree: 0n, server: '' };
    await table.set('user2', 'x', 'y', 0, { info });
    assert.equal(info.partitionIndex, table.partitionIndexOf('user2'));
    assert.ok(info.decree > 0n, `decree ${info.decree}`);
    assert.match(info.server, /^127\.0\.0\.1:\d+$/);
  });

  test('values up to the 1 MiB write limit go through; a larger write is ERR_INVALID_DATA and not retried', async () => {
    const big = Buffer.alloc((1 << 20) - 4096, 0x5a);
    big.write('start', 0);
    big.write('end', big.length - 3);
    await table.set('big', 'value', big);
    assert.deepEqual(await table.get('big', 'value'), big);
    const tooBig = Buffer.alloc(1 << 20, 1);
    await assert.rejects(table.set('big', 'too', tooBig), failsWith('ERR_INVALID_DATA'));
    assert.deepEqual(await table.get('big', 'value'), big);
    await table.del('big', 'value');
  });

  test('multi operations on one hash key: multiSet, multiGet (keys, ranges, limits, filters, reverse), multiDel, sortKeyCount', async () => {
    const kvs = Array.from({ length: 30 }, (_, index) => ({ sortKey: `s${String(index).padStart(2, '0')}`, value: `v${index}` }));
    await table.multiSet('multi', kvs);
    assert.equal(await table.sortKeyCount('multi'), 30);
    const picked = await table.multiGet('multi', ['s03', 's01', 'nope']);
    assert.deepEqual(picked.kvs.map((kv) => kv.sortKey.toString()).sort(), ['s01', 's03']);
    const all = await table.multiGet('multi', [], { maxKvCount: -1 });
    assert.equal(all.kvs.length, 30);
    assert.equal(all.allFetched, true);
    const limited = await table.multiGet('multi', [], { maxKvCount: 10 });
    assert.equal(limited.kvs.length, 10);
    assert.equal(limited.allFetched, false);
    const range = await table.multiGetRange('multi', 's10', 's13', { stopInclusive: true });
    assert.deepEqual(range.kvs.map((kv) => kv.sortKey.toString()), ['s10', 's11', 's12', 's13']);
    const exclusive = await table.multiGetRange('multi', 's10', 's13', { startInclusive: false });
    assert.deepEqual(exclusive.kvs.map((kv) => kv.sortKey.toString()), ['s11', 's12']);
    const reversed = await table.multiGetRange('multi', '', '', { reverse: true, maxKvCount: 3 });
    assert.deepEqual(reversed.kvs.map((kv) => kv.sortKey.toString()), ['s27', 's28', 's29']);
    const filtered = await table.multiGet('multi', [], { sortKeyFilter: { type: 'postfix', pattern: '5' }, noValue: true });
    assert.deepEqual(filtered.kvs.map((kv) => kv.sortKey.toString()), ['s05', 's15', 's25']);
    assert.ok(filtered.kvs.every((kv) => kv.value.length === 0));
    assert.equal(await table.multiDel('multi', ['s00', 's01', 'absent']), 3);
    assert.equal(await table.sortKeyCount('multi'), 28);
    await assert.rejects(table.multiSet('multi', []), failsWith('ERR_INVALID_PARAMETERS'));
  });

  test('incr, checkAndSet, checkAndMutate and batchGet', async () => {
    assert.equal(await table.incr('counter', 'n'), 1n);
    assert.equal(await table.incr('counter', 'n', 9), 10n);
    assert.equal(await table.incr('counter', 'n', -20n), -10n);
    await table.set('counter', 'word', 'ten');
    await assert.rejects(table.incr('counter', 'word'), failsWith('PERR_INVALID_ARGUMENT'));

    const first = await table.checkAndSet('lock', 'owner', CasCheckType.CT_VALUE_NOT_EXIST, '', 'owner', 'a', { returnCheckValue: true });
    assert.deepEqual(first, { setSucceed: true, checkValueReturned: true, checkValueExist: false, checkValue: undefined });
    const second = await table.checkAndSet('lock', 'owner', CasCheckType.CT_VALUE_NOT_EXIST, '', 'owner', 'b', { returnCheckValue: true });
    assert.equal(second.setSucceed, false);
    assert.equal(second.checkValue?.toString(), 'a');
    const other = await table.checkAndSet('lock', 'owner', CasCheckType.CT_VALUE_BYTES_EQUAL, 'a', 'since', '2024');
    assert.equal(other.setSucceed, true);
    assert.equal((await table.get('lock', 'since'))?.toString(), '2024');

    const mutated = await table.checkAndMutate('lock', 'owner', CasCheckType.CT_VALUE_EXIST, '', [
      { operation: 'delete', sortKey: 'owner' },
      { operation: 'put', sortKey: 'released', value: 'yes', ttlSeconds: 100 },
    ], { returnCheckValue: true });
    assert.equal(mutated.mutateSucceed, true);
    assert.equal(mutated.checkValue?.toString(), 'a');
    assert.equal(await table.get('lock', 'owner'), undefined);
    const left = await table.ttl('lock', 'released');
    assert.ok(left !== undefined && left > 90 && left <= 100, `ttl ${left}`);

    for (let index = 0; index < 40; index++) await table.set(`batch${index}`, 'k', `v${index}`);
    const keys = Array.from({ length: 40 }, (_, index) => ({ hashKey: `batch${index}`, sortKey: 'k' }));
    keys.push({ hashKey: 'batch-missing', sortKey: 'k' });
    const values = await table.batchGet(keys);
    assert.deepEqual(values.map((value) => value?.toString()), [...Array.from({ length: 40 }, (_, index) => `v${index}`), undefined]);
  });

  /** read_expired_values summed over every replica of every server: how many stored records reads skipped as expired. */
  const expiredValuesRead = async (): Promise<number> => {
    let total = 0;
    for (const replica of replicas) {
      const response = await fetch(`${replica.url}/metrics?types=replica&metrics=read_expired_values&with_metric_fields=value`);
      assert.equal(response.status, 200);
      const body = (await response.json()) as { entities: Array<{ metrics: Array<{ value: number }> }> };
      for (const entity of body.entities) for (const metric of entity.metrics) total += metric.value;
    }
    return total;
  };

  // A 1-second TTL may pass before the next round trip on a busy machine, so what is seen before
  // expiry is a record with an hour to live; that the 1-second records were stored, and are hidden
  // for being expired rather than missing, is what the servers count as expired values read.
  test('expired records are invisible to get, exist, ttl, multiGet, sortKeyCount and scans', async () => {
    await table.multiSet('expiring', [{ sortKey: 'keep', value: '1' }]);
    await table.set('expiring', 'later', 'alive', 3600);
    assert.equal(await table.sortKeyCount('expiring'), 2);
    assert.equal((await table.get('expiring', 'later'))?.toString(), 'alive');
    const expiredBefore = await expiredValuesRead();
    await table.set('expiring', 'soon', 'gone', 1);
    await table.multiSet('expiring', [{ sortKey: 'soon2', value: 'gone' }], 1);
    // A 1-second TTL ends at the next whole second, at most 1 s after the write, on the clock the servers share with this process.
    await sleep(2100);
    assert.equal(await table.get('expiring', 'soon'), undefined);
    assert.equal(await table.exist('expiring', 'soon2'), false);
    assert.equal(await table.ttl('expiring', 'soon'), undefined);
    assert.deepEqual((await table.multiGet('expiring')).kvs.map((kv) => kv.sortKey.toString()), ['keep', 'later']);
    assert.equal(await table.sortKeyCount('expiring'), 2);
    const seen: string[] = [];
    for await (const entry of table.getScanner('expiring', '', '')) seen.push(entry.sortKey.toString());
    assert.deepEqual(seen, ['keep', 'later']);
    // get soon, exist soon2, ttl soon: three reads that each found a stored record past its expiry.
    assert.ok((await expiredValuesRead()) - expiredBefore >= 3, 'the expired records were stored, and skipped as expired');
    const left = await table.ttl('expiring', 'later');
    assert.ok(left !== undefined && left > 3000, `ttl ${left}`);
  });

  test('scans: a hash key in sort-key order over many batches; unordered scanners cover every partition once', async () => {
    const sortKeys = Array.from({ length: 100 }, (_, index) => `k${String(index).padStart(3, '0')}`);
    for (let start = 0; start < sortKeys.length; start += 25) {
      await table.multiSet('scanned', sortKeys.slice(start, start + 25).map((sortKey) => ({ sortKey, value: sortKey.toUpperCase() })));
    }
    const ordered: string[] = [];
    for await (const entry of table.getScanner('scanned', '', '', { batchSize: 7 })) {
      assert.equal(entry.value.toString(), entry.sortKey.toString().toUpperCase());
      ordered.push(entry.sortKey.toString());
    }
    assert.deepEqual(ordered, sortKeys);
    const window: string[] = [];
    for await (const entry of table.getScanner('scanned', 'k010', 'k020', { startInclusive: false, stopInclusive: true, noValue: true })) {
      window.push(entry.sortKey.toString());
    }
    assert.deepEqual(window, sortKeys.slice(11, 21));

    const written = new Set<string>();
    for (let index = 0; index < 120; index++) {
      await table.set(`spread${index}`, `s${index % 4}`, String(index));
      written.add(`spread${index}`);
    }
    const scanners = await table.getUnorderedScanners(3, { batchSize: 16, hashKeyFilter: { type: 'prefix', pattern: 'spread' } });
    assert.equal(scanners.length, 3);
    const found = new Map<string, number>();
    const partitions = new Set<number>();
    await Promise.all(scanners.map(async (scanner) => {
      for await (const entry of scanner) {
        const hashKey = entry.hashKey.toString();
        found.set(hashKey, (found.get(hashKey) ?? 0) + 1);
        partitions.add(table.partitionIndexOf(entry.hashKey));
        assert.equal(scanner.info?.partitionIndex, table.partitionIndexOf(entry.hashKey), 'each record comes from its own partition');
      }
    }));
    assert.deepEqual([...found.keys()].sort(), [...written].sort());
    assert.ok([...found.values()].every((count) => count === 1), 'no record twice');
    assert.equal(partitions.size, PARTITIONS, 'records came from every partition');
  });

  test('a scanner left idle past the server\'s context timeout resumes after its last key', async () => {
    const sortKeys = Array.from({ length: 20 }, (_, index) => `i${String(index).padStart(2, '0')}`);
    await table.multiSet('idle', sortKeys.map((sortKey) => ({ sortKey, value: 'v' })));
    const scanner = table.getScanner('idle', '', '', { batchSize: 5 });
    const seen: string[] = [];
    for (let index = 0; index < 7; index++) seen.push((await scanner.next())!.sortKey.toString());
    await sleep(SCAN_CONTEXT_TIMEOUT_MS * 3);
    for (let entry = await scanner.next(); entry; entry = await scanner.next()) seen.push(entry.sortKey.toString());
    assert.deepEqual(seen, sortKeys);
    await scanner.close();
  });

  test('a scanner whose server stops answering times out, then resumes where it was', async () => {
    const sortKeys = Array.from({ length: 12 }, (_, index) => `p${String(index).padStart(2, '0')}`);
    await table.multiSet('paused', sortKeys.map((sortKey) => ({ sortKey, value: 'v' })));
    // The deadline is long enough for a busy server's replies once it runs again; the bound on the
    // wait below only has to tell a deadline from a scanner that waits on a stopped server forever.
    const scanner = table.getScanner('paused', '', '', { batchSize: 4, timeoutMs: 3000 });
    const seen = [(await scanner.next())!.sortKey.toString()];
    const server = replicaAt(scanner.info!.server);
    for (let index = 1; index < 4; index++) seen.push((await scanner.next())!.sortKey.toString());
    process.kill(server.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      await assert.rejects(scanner.next(), failsWith('ERR_TIMEOUT'));
      assert.ok(Date.now() - started < 30_000, 'the request deadline bounds the wait');
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    for (let entry = await scanner.next(); entry; entry = await scanner.next()) seen.push(entry.sortKey.toString());
    assert.deepEqual(seen, sortKeys);
  });

  test('the shell\'s data commands through `pteron shell -e`', async () => {
    const metaAddress = `127.0.0.1:${metaPort}`;
    const run = await runShell(metaAddress, [
      'use temp',
      'set shell_hk sk1 "v 1"',
      'multi_set shell_hk sk2 v2 sk3 v3',
      'get shell_hk sk1',
      'multi_get shell_hk',
      'exist shell_hk sk2',
      'ttl shell_hk sk2',
      'incr shell_hk n 5',
      'check_and_set shell_hk -c sk2 -t bytes_equal -o v2 -s sk4 -v v4',
      'count shell_hk',
      'multi_del shell_hk sk2 sk3',
      'del shell_hk sk1',
      'hash_scan shell_hk "" ""',
      'full_scan -h prefix -x shell_ -i',
      'count_data -c -h prefix -x shell_',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const err = run.stderr;
    assert.match(err, /^OK\n\napp_id {10}: \d+\npartition_index : \d+\ndecree {10}: \d+\nserver {10}: 127\.0\.0\.1:\d+\n/m);
    assert.match(err, /^"v 1"\n\napp_id/m);
    assert.match(err, /^"shell_hk" : "sk1" => "v 1"\n"shell_hk" : "sk2" => "v2"\n"shell_hk" : "sk3" => "v3"\n\n3 key-value pairs got, fetch completed\.\n/m);
    assert.match(err, /^True\n/m);
    assert.match(err, /^Infinite\n/m);
    assert.match(err, /^5\n\napp_id/m);
    assert.match(err, /^Set succeed\.\n/m);
    assert.match(err, /^5\n\napp_id {10}: \d+\npartition_index : \d+\nserver/m, 'count: sk1, sk2, sk3, sk4 and n');
    assert.match(err, /^2 key-value pairs deleted\.\n/m);
    assert.match(err, /^"shell_hk" : "n" => "5"\n"shell_hk" : "sk4" => "v4"\n\n2 key-value pairs got\.\n/m);
    assert.match(err, /^"shell_hk" : "n"\n"shell_hk" : "sk4"\n\n2 key-value pairs got\.\n/m);
    assert.match(err, /^Count done, total 2 rows\.\n/m);

    const failing = await runShell(metaAddress, ['use temp', 'incr shell_hk sk4', 'use no_such_table', 'get a b'], ['--keep-going']);
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /^ERROR: PERR_INVALID_ARGUMENT\n/m);
    assert.match(failing.stderr, /^ERROR: open table no_such_table failed: ERR_OBJECT_NOT_FOUND\n/m);
  });

  test('a replica server killed under load: operations keep succeeding once the meta moves its partitions', async (t) => {
    const hashKeys = Array.from({ length: 32 }, (_, index) => `failover${index}`);
    const keysByServer = new Map<string, number>();
    for (const hashKey of hashKeys) {
      const info = { appId: 0, partitionIndex: 0, decree: 0n, server: '' };
      await table.set(hashKey, 's', 'before', 0, { info });
      keysByServer.set(info.server, (keysByServer.get(info.server) ?? 0) + 1);
    }
    // The server leading the most of these keys is killed.
    const [victimServer, onVictim] = [...keysByServer.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const victim = replicaAt(victimServer);
    await victim.stop('SIGKILL');
    const started = Date.now();
    // The grace of 3 s, then the meta's reassignment: seconds, more on a busy machine.
    const patient = createClient({ metaServers: [`127.0.0.1:${metaPort}`], timeoutMs: 40_000 });
    try {
      const patientTable = await patient.openTable('temp');
      await Promise.all(hashKeys.map(async (hashKey) => {
        await patientTable.set(hashKey, 'after', 'written');
        assert.equal((await patientTable.get(hashKey, 'after'))?.toString(), 'written');
      }));
    } finally {
      await patient.close();
    }
    // The long-lived client of the other tests recovers too.
    for (const hashKey of hashKeys) await table.set(hashKey, 'again', 'ok', 0, { timeoutMs: 40_000 });
    const elapsedMs = Date.now() - started;
    assert.ok(elapsedMs < 60_000, `all writes done ${elapsedMs} ms after the kill`);
    t.diagnostic(`${onVictim} of ${hashKeys.length} keys were on the killed server; all writes done ${elapsedMs} ms after the kill`);
  });
});
