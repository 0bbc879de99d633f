// Bulk load on real processes (one meta, three replica servers, a local_service block service in
// a temp directory): files written by `pteron bulk-load generate` land in `temp` while reads and
// writes go on (a write that meets an ingestion gets ERR_OPERATION_DISABLED), and every record
// reads back next to what the table held and what was written meanwhile; a data file whose content does
// not match its md5 fails the load with ERR_CORRUPTION and nothing of it is ingested; bad input
// (unknown provider, missing files, malformed body, a second load of the same table) gets
// Pegasus's errors and changes nothing.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { generateBulkLoad } from '../../src/cli/bulk-load-generate.ts';
import { createClient, type PegasusClient, type PegasusError } from '../../src/client/index.ts';
import { bulkLoadStatusOf } from '../../src/cluster/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { RPCS } from '../../src/wire/index.ts';
import { TestCluster } from '../helpers/data-plane.ts';
import { waitFor } from '../helpers/process.ts';
import { runShellScript } from '../helpers/shell-process.ts';

const PARTITIONS = 4;
const RECORDS = 20_000;
/** Only tells a finished bulk load from a stuck one. */
const DONE_MS = 120_000;
const CLUSTER = 'source';
const REMOTE_ROOT = 'bulk';

/** Every record of a table as `hash/sort=value`, sorted. */
async function fullScan(client: PegasusClient, tableName: string): Promise<string[]> {
  const table = await client.openTable(tableName);
  const records: string[] = [];
  for (const scanner of await table.getUnorderedScanners(PARTITIONS)) {
    for await (const entry of scanner) records.push(`${entry.hashKey.toString()}/${entry.sortKey.toString()}=${entry.value.toString()}`);
  }
  return records.sort();
}

describe('bulk load on a real cluster', () => {
  let blockRoot = '';
  const cluster = new TestCluster({
    partitionCount: PARTITIONS,
    get metaSettings() {
      return ['block_service.local.type=local_service', `block_service.local.args=${blockRoot}`, 'meta_server.bulk_load_request_interval_ms=200'];
    },
    get replicaSettings() {
      return ['block_service.local.type=local_service', `block_service.local.args=${blockRoot}`];
    },
  });
  blockRoot = path.join(cluster.dataRoot, 'block');
  let client: PegasusClient;
  let meta: RpcClient;
  const metaUrl = () => `http://127.0.0.1:${cluster.metaPort}`;
  const start = async (body: unknown): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${metaUrl()}/meta/app/start_bulk_load`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: response.status, text: await response.text() };
  };
  const query = async (name: string) => (await meta.callRpc(RPCS.RPC_CM_QUERY_BULK_LOAD_STATUS, { appName: name })).result!;
  const queryHttp = async (name: string) => (await fetch(`${metaUrl()}/meta/app/query_bulk_load?name=${name}`)).text();
  const generate = async (appName: string, appId: number, lines: string[]) => {
    const input = path.join(cluster.dataRoot, `${appName}.jsonl`);
    writeFileSync(input, `${lines.join('\n')}\n`);
    return generateBulkLoad({ input, partitionCount: PARTITIONS, out: path.join(blockRoot, REMOTE_ROOT), clusterName: CLUSTER, appName, appId });
  };
  const request = (appName: string) => ({ app_name: appName, cluster_name: CLUSTER, file_provider_type: 'local', remote_root_path: REMOTE_ROOT });

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS, 60_000);
    client = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 10_000 });
    meta = new RpcClient(parseHostPort(`127.0.0.1:${cluster.metaPort}`), { timeoutMs: 10_000 });
  });

  after(async () => {
    meta?.close();
    await client?.close();
    await cluster.stop();
  });

  test('a generated bulk load lands in temp while reads go on, and every record reads back', async () => {
    const temp = await client.openTable('temp');
    for (let index = 0; index < 50; index++) await temp.set(`kept${index}`, 's', `before-${index}`);
    const lines = Array.from({ length: RECORDS }, (_, index) => JSON.stringify({ hash_key: `bulk${index}`, sort_key: `s${index % 7}`, value: `loaded-${index}` }));
    const generated = await generate('temp', 1, lines);
    assert.equal(generated.records, RECORDS);
    assert.equal(await queryHttp('temp'), '{"error":"ERR_OK","app_status":"replication::bulk_load_status::BLS_INVALID"}\n');

    const started = await start(request('temp'));
    assert.deepEqual(started, { status: 200, text: '{"error":"ERR_OK","hint_msg":""}\n' });
    const again = await start(request('temp'));
    assert.deepEqual(again, { status: 200, text: '{"error":"ERR_BUSY","hint_msg":"app(temp) is already executing bulk load"}\n' });

    // Reads go on while the bulk load runs; writes too, except while a primary ingests.
    let reads = 0;
    let loading = true;
    const reader = (async () => {
      while (loading) {
        assert.equal((await temp.get(`kept${reads % 50}`, 's'))?.toString(), `before-${reads % 50}`);
        reads += 1;
      }
    })();
    const written: string[] = [];
    const refusals = new Set<string>();
    const writer = (async () => {
      for (let index = 0; loading; index++) {
        try {
          await temp.set(`during${index}`, 's', `w${index}`);
          written.push(`during${index}/s=w${index}`);
        } catch (error) {
          refusals.add((error as PegasusError).code);
        }
      }
    })();
    const seen = new Set<string>();
    try {
      await waitFor('the bulk load to succeed', async () => {
        const status = await query('temp');
        seen.add(bulkLoadStatusOf(status.appStatus));
        return status.isBulkLoading === false && bulkLoadStatusOf(status.appStatus) === 'BLS_SUCCEED';
      }, DONE_MS, 100);
    } finally {
      loading = false;
      await reader;
      await writer;
    }
    assert.ok(reads > 0, 'reads were served during the bulk load');
    assert.ok(written.length > 0, 'writes were served during the bulk load');
    // A write that meets an ingestion is refused with Pegasus's error, and nothing else fails.
    assert.ok([...refusals].every((code) => code === 'ERR_OPERATION_DISABLED'), [...refusals].join(', '));
    assert.ok(seen.has('BLS_SUCCEED'));
    const done = await query('temp');
    assert.equal(done.err, 'ERR_OK');
    assert.deepEqual(done.partitionsStatus.map(bulkLoadStatusOf), Array(PARTITIONS).fill('BLS_SUCCEED'));
    assert.equal(done.hintMsg, 'app(temp) is not during bulk load, return last time result');
    assert.equal(await queryHttp('temp'), '{"error":"ERR_OK","app_status":"replication::bulk_load_status::BLS_SUCCEED"}\n');
    const shell = await runShellScript(`127.0.0.1:${cluster.metaPort}`, [
      'query_bulk_load_status -a temp -d', `start_bulk_load -a temp -c ${CLUSTER} -p nowhere -r ${REMOTE_ROOT}`,
    ], { keepGoing: true });
    assert.match(shell.stdout, /^\[all partitions\]\npartition_index +partition_status +is_cleaned_up *\n0 +BLS_SUCCEED +YES *\n/m, shell.stdout + shell.stderr);
    assert.match(shell.stdout, /^\[summary\]\nis_bulk_loading +: NO *\napp_bulk_load_status +: BLS_SUCCEED *\n/m);
    assert.match(shell.stderr, /^start bulk load failed, error=ERR_INVALID_PARAMETERS \[hint:"invalid file_provider"\]$/m);

    const expected = [
      ...lines.map((line) => JSON.parse(line) as { hash_key: string; sort_key: string; value: string }).map((record) => `${record.hash_key}/${record.sort_key}=${record.value}`),
      ...Array.from({ length: 50 }, (_, index) => `kept${index}/s=before-${index}`),
      ...written,
    ].sort();
    assert.deepEqual(await fullScan(client, 'temp'), expected);
    assert.equal((await temp.get('bulk123', 's4'))?.toString(), 'loaded-123');
    // The table takes writes again once the load is over.
    await temp.set('after', 's', 'x');

    const cleared = await meta.callRpc(RPCS.RPC_CM_CLEAR_BULK_LOAD, { appName: 'temp' });
    assert.deepEqual(cleared.result, { err: 'ERR_OK', hintMsg: 'clear app(temp) bulk load result succeed, remove bulk load dir succeed' });
    assert.equal(await queryHttp('temp'), '{"error":"ERR_OK","app_status":"replication::bulk_load_status::BLS_INVALID"}\n');
  });

  test('a data file that does not match its md5 fails the bulk load with ERR_CORRUPTION and ingests nothing', async () => {
    const created = await meta.callRpc(RPCS.RPC_CM_CREATE_APP, {
      appName: 'damaged', options: { partitionCount: PARTITIONS, replicaCount: 3, appType: 'pegasus', isStateful: true, envs: new Map(), successIfExist: false },
    });
    assert.equal(created.result?.err, 'ERR_OK');
    const appId = created.result!.appid;
    await cluster.waitHealthy('damaged', PARTITIONS, 60_000);
    await generate('damaged', appId, Array.from({ length: 400 }, (_, index) => JSON.stringify({ hash_key: `d${index}`, sort_key: 's', value: `v${index}` })));
    const file = path.join(blockRoot, REMOTE_ROOT, CLUSTER, 'damaged', '2', '0.pbulk');
    const bytes = readFileSync(file);
    bytes[bytes.length - 2]! ^= 0xff;
    writeFileSync(file, bytes);

    assert.deepEqual(await start(request('damaged')), { status: 200, text: '{"error":"ERR_OK","hint_msg":""}\n' });
    await waitFor('the bulk load to fail', async () => (await query('damaged')).isBulkLoading === false, DONE_MS, 100);
    const failed = await query('damaged');
    assert.equal(failed.err, 'ERR_CORRUPTION');
    assert.equal(bulkLoadStatusOf(failed.appStatus), 'BLS_FAILED');
    assert.deepEqual(failed.partitionsStatus.map(bulkLoadStatusOf), Array(PARTITIONS).fill('BLS_FAILED'));
    assert.equal(await queryHttp('damaged'), '{"error":"ERR_CORRUPTION","app_status":"replication::bulk_load_status::BLS_FAILED"}\n');
    assert.deepEqual(await fullScan(client, 'damaged'), []);
  });

  test('bad input gets Pegasus\'s errors and starts nothing', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ ...request('temp'), file_provider_type: 'nowhere' }, 200, '{"error":"ERR_INVALID_PARAMETERS","hint_msg":"invalid file_provider"}\n'],
      [{ ...request('temp'), remote_root_path: 'missing' }, 200, '{"error":"ERR_FILE_OPERATION_FAILED","hint_msg":"file_provider error"}\n'],
      [{ ...request('temp'), cluster_name: 'other' }, 200, '{"error":"ERR_FILE_OPERATION_FAILED","hint_msg":"file_provider error"}\n'],
      [{ ...request('no_such_table') }, 200, '{"error":"ERR_APP_NOT_EXIST","hint_msg":"app not existed is "}\n'],
      [{ ...request('temp'), file_provider_type: '' }, 400, 'file_provider_type should not be empty'],
      [{ app: 'temp', cluster_name: CLUSTER, file_provider_type: 'local', remote_root_path: REMOTE_ROOT }, 400, 'invalid request structure'],
      ['{"app_name": "temp",', 400, 'invalid request structure'],
    ];
    for (const [body, status, text] of cases) assert.deepEqual(await start(body), { status, text }, JSON.stringify(body));

    // bulk_load_info of another table (or partition count) is inconsistent with temp.
    await generate('temp', 99, ['{"hash_key":"h","sort_key":"s","value":"v"}']);
    assert.deepEqual(await start(request('temp')), { status: 200, text: '{"error":"ERR_INCONSISTENT_STATE","hint_msg":"app_id or partition_count is inconsistent"}\n' });

    const ingestBehind = await meta.callRpc(RPCS.RPC_CM_START_BULK_LOAD, {
      appName: 'temp', clusterName: CLUSTER, fileProviderType: 'local', remoteRootPath: REMOTE_ROOT, ingestBehind: true,
    });
    assert.deepEqual(ingestBehind.result, { err: 'ERR_INCONSISTENT_STATE', hintMsg: 'inconsistent ingestion behind option' });
    const control = await meta.callRpc(RPCS.RPC_CM_CONTROL_BULK_LOAD, { appName: 'temp', type: 0 });
    assert.deepEqual(control.result, { err: 'ERR_INACTIVE_STATE', hintMsg: 'app(temp) is not executing bulk load' });
    assert.equal((await query('temp')).isBulkLoading, false);
    assert.equal(await queryHttp('no_such_table'), '{"error":"ERR_APP_NOT_EXIST","app_status":"replication::bulk_load_status::BLS_INVALID"}\n');
    assert.equal((await fetch(`${metaUrl()}/meta/app/query_bulk_load`)).status, 400);
  });
});
