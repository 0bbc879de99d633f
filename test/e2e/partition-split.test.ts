// Partition split on real processes (one meta, three replica servers): `temp` goes from 8 to 16
// partitions through the shell while a bounded client load writes and reads. Every parent makes
// and registers its child, the client follows the new count with no failed request, and every
// acknowledged write reads back from the client; after a manual compaction each partition's
// store (scanned raw, without the server's partition-hash filter) holds exactly its own keys,
// and together they hold every acknowledged write. Bad input gets Pegasus's error names.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashKeyHash, parseHostPort, partitionIndexOf } from '../../src/base/index.ts';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { decodeKey } from '../../src/storage/index.ts';
import { FilterType, RPCS, type GetScannerRequest } from '../../src/wire/index.ts';
import { BoundedLoad } from '../helpers/bounded-load.ts';
import { TableRouter, TestCluster } from '../helpers/data-plane.ts';
import { waitFor } from '../helpers/process.ts';
import { runShellScript } from '../helpers/shell-process.ts';

const OLD_COUNT = 8;
const NEW_COUNT = 16;
/** Only tells a split that finishes from a stuck one. */
const CONVERGE_MS = 180_000;
const LOAD_OPS_AFTER_SPLIT = 300;
const SEEDED_KEYS = 200;

/** Every record a partition's primary holds, not filtered by the partition hash: hash key → value. */
async function rawScan(router: TableRouter, partitionIndex: number): Promise<Map<string, string>> {
  const request: GetScannerRequest = {
    startKey: Buffer.from([0, 0]), stopKey: Buffer.from([0xff, 0xff]), startInclusive: true, stopInclusive: false, batchSize: 1000, noValue: false,
    hashKeyFilterType: FilterType.FT_NO_FILTER, hashKeyFilterPattern: Buffer.alloc(0), sortKeyFilterType: FilterType.FT_NO_FILTER,
    sortKeyFilterPattern: Buffer.alloc(0), validatePartitionHash: false, fullScan: true,
  };
  const hash = BigInt(partitionIndex);
  const records = new Map<string, string>();
  let reply = await router.call('RPC_RRDB_RRDB_GET_SCANNER', request, hash, { partitionIndex });
  for (;;) {
    if (reply.error !== 'ERR_OK' || !reply.result || reply.result.error !== 0) throw new Error(`scan of partition ${partitionIndex}: ${reply.error}/${reply.result?.error}`);
    for (const kv of reply.result.kvs) records.set(decodeKey(kv.key).hashKey.toString(), kv.value.toString());
    if (reply.result.contextId < 0n) return records;
    reply = await router.call('RPC_RRDB_RRDB_SCAN', { contextId: reply.result.contextId }, hash, { partitionIndex });
  }
}

const ownerOf = (hashKey: string): number => partitionIndexOf(hashKeyHash(Buffer.from(hashKey)), NEW_COUNT);

describe('partition split on a real cluster', () => {
  const cluster = new TestCluster({ partitionCount: OLD_COUNT });
  let client: PegasusClient;
  let meta: RpcClient;
  const shell = (...commands: string[]) => runShellScript(`127.0.0.1:${cluster.metaPort}`, commands, { keepGoing: true });

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', OLD_COUNT, 60_000);
    client = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 20_000 });
    meta = new RpcClient(parseHostPort(`127.0.0.1:${cluster.metaPort}`), { timeoutMs: 10_000 });
  });

  after(async () => {
    meta?.close();
    await client?.close();
    await cluster.stop();
  });

  test('bad input gets Pegasus\'s error names and changes nothing', async () => {
    const start = async (appName: string, newPartitionCount: number) =>
      (await meta.callRpc(RPCS.RPC_CM_START_PARTITION_SPLIT, { appName, newPartitionCount })).result!;
    assert.deepEqual(await start('nope', 2), { err: 'ERR_APP_NOT_EXIST', hintMsg: 'app not existed' });
    assert.deepEqual(await start('temp', 12), { err: 'ERR_INVALID_PARAMETERS', hintMsg: 'wrong partition_count, should be 16' });
    const query = (await meta.callRpc(RPCS.RPC_CM_QUERY_PARTITION_SPLIT, { appName: 'temp' })).result!;
    assert.deepEqual([query.err, query.hintMsg], ['ERR_INVALID_STATE', 'app(temp) is not splitting']);
    const control = (await meta.callRpc(RPCS.RPC_CM_CONTROL_PARTITION_SPLIT, { appName: 'temp', controlType: 7, parentPidx: -1 })).result!;
    assert.equal(control.err, 'ERR_INVALID_PARAMETERS');
    const run = await shell('start_partition_split -a nope -p 16', 'pause_partition_split -a temp', 'cancel_partition_split -a temp -p 8');
    assert.match(run.stderr, /^ERR_APP_NOT_EXIST \[hint: app not existed\]$/m);
    assert.match(run.stderr, /^ERR_INVALID_STATE \[hint: app\(temp\) is not splitting\]$/m);
    const app = (await meta.callRpc(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName: 'temp', partitionIndices: [] })).result!;
    assert.equal(app.partitionCount, OLD_COUNT);
  });

  test('temp splits from 8 to 16 under load: no failed request, every acknowledged write readable, each half keeps only its keys', { timeout: 600_000 }, async (t) => {
    const table = await client.openTable('temp');
    const seeded = new Map<string, string>();
    for (let index = 0; index < SEEDED_KEYS; index++) {
      await table.set(`seed${index}`, 's', `before${index}`);
      seeded.set(`seed${index}`, `before${index}`);
    }
    const load = new BoundedLoad(table);
    const router = new TableRouter(cluster.metaPort, 'temp');
    try {
      load.start();
      await waitFor('the load running', () => load.ops > 100, 60_000);

      const started = await shell(`start_partition_split -a temp -p ${NEW_COUNT}`, `start_partition_split -a temp -p ${NEW_COUNT * 2}`);
      assert.match(started.stdout, /^Table temp start partition split succeed$/m, started.stderr);
      // A split of a table already splitting.
      assert.match(started.stderr, /^ERR_BUSY \[hint: app\(temp\) is already executing partition split\]$/m);

      await waitFor('every child registered', async () => {
        const query = (await meta.callRpc(RPCS.RPC_CM_QUERY_PARTITION_SPLIT, { appName: 'temp' })).result!;
        return query.err === 'ERR_INVALID_STATE';
      }, CONVERGE_MS, 500);
      await cluster.waitHealthy('temp', NEW_COUNT, CONVERGE_MS).catch(async (error: Error) => {
        error.message += `\n${await (await fetch(`http://127.0.0.1:${cluster.metaPort}/meta/app?name=temp&detail`)).text()}\n${cluster.errorLines().slice(0, 10).join('\n')}`;
        throw error;
      });
      const opsSplit = load.ops;
      await waitFor('the load running on 16 partitions', () => load.ops > opsSplit + 100, 60_000);
      await load.finish(LOAD_OPS_AFTER_SPLIT);
    } finally {
      await load.finish(0);
    }
    t.diagnostic(`${load.ops} requests, ${load.acked.size} acknowledged writes`);
    assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.ops} requests failed`);
    const expected = new Map([...seeded, ...load.acked]);
    for (const [hashKey, value] of expected) assert.equal((await table.get(hashKey, 's'))?.toString(), value, hashKey);

    const view = await (await fetch(`http://127.0.0.1:${cluster.metaPort}/meta/app?name=temp`)).text();
    assert.match(view, /"partition_count":\s*"16"/);
    const query = await shell('query_partition_split -a temp');
    assert.match(query.stderr, /^ERR_INVALID_STATE \[hint: app\(temp\) is not splitting\]$/m);

    // The client's full scan sees every record once.
    const scanned = new Map<string, string>();
    for (const scanner of await table.getUnorderedScanners(NEW_COUNT)) {
      for await (const entry of scanner) {
        const hashKey = entry.hashKey.toString();
        assert.equal(scanned.has(hashKey), false, `${hashKey} scanned twice`);
        scanned.set(hashKey, entry.value.toString());
      }
    }
    assert.deepEqual(scanned, expected);

    // After a compaction each partition's store holds exactly its own half.
    const compacted = await shell('start_manual_compaction -a temp');
    assert.equal(compacted.code, 0, compacted.stdout + compacted.stderr);
    await router.refresh();
    let lastProblem = '';
    await waitFor('each partition holding only its own keys', async () => {
      const union = new Map<string, string>();
      for (let index = 0; index < NEW_COUNT; index++) {
        const records = await rawScan(router, index);
        const foreign = [...records.keys()].filter((hashKey) => ownerOf(hashKey) !== index);
        if (foreign.length > 0) {
          lastProblem = `partition ${index} still holds ${foreign.length} keys of other partitions`;
          return false;
        }
        for (const [hashKey, value] of records) union.set(hashKey, value);
      }
      assert.deepEqual(union, expected);
      return true;
    }, CONVERGE_MS, 1000).catch((error: Error) => {
      error.message += `: ${lastProblem}`;
      throw error;
    });
    router.close();
    assert.deepEqual(cluster.errorLines(), []);
  });
});
