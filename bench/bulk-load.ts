// The bulk-load bench: the same records put into two tables of a real cluster (one meta, three
// replica servers, three replicas per partition), once by a bulk load (files written by the
// generator, downloaded from a local_service block service, ingested through two-phase commit)
// and once by multi_set through the client, with records/s of each side by side. The generator's
// own time is reported apart: it runs before a bulk load, not as part of it.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseHostPort } from '../src/base/index.ts';
import { generateBulkLoad } from '../src/cli/bulk-load-generate.ts';
import { createClient } from '../src/client/index.ts';
import { bulkLoadStatusOf } from '../src/cluster/index.ts';
import { RpcClient } from '../src/net/index.ts';
import { RPCS } from '../src/wire/index.ts';
import { TestCluster } from '../test/helpers/data-plane.ts';
import { sleep } from './lib/processes.ts';
import { fixed, table } from './lib/stats.ts';

const HELP = `usage: npm run bench -- bulk-load [options]
  --records N       records loaded into each table (default 200000)
  --partitions N    partitions of each table, a power of two (default 8)
  --sort-keys N     sort keys per hash key: one multi_set carries them all (default 10)
  --value-bytes N   value size (default 100)
  --in-flight N     multi_set calls in flight (default 64)
`;

const CLUSTER = 'bench';
const REMOTE_ROOT = 'bulk';

interface Options {
  records: number;
  partitions: number;
  sortKeys: number;
  valueBytes: number;
  inFlight: number;
}

function parseOptions(args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    options: {
      records: { type: 'string' }, partitions: { type: 'string' }, 'sort-keys': { type: 'string' }, 'value-bytes': { type: 'string' },
      'in-flight': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  const positive = (name: string, text: string | undefined, fallback: number): number => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} expects a positive integer, got ${text}`);
    return value;
  };
  return {
    records: positive('records', values.records, 200_000),
    partitions: positive('partitions', values.partitions, 8),
    sortKeys: positive('sort-keys', values['sort-keys'], 10),
    valueBytes: positive('value-bytes', values['value-bytes'], 100),
    inFlight: positive('in-flight', values['in-flight'], 64),
  };
}

const hashKeyOf = (index: number, sortKeys: number): string => `user${Math.floor(index / sortKeys)}`;
const sortKeyOf = (index: number, sortKeys: number): string => `field${index % sortKeys}`;
const valueOf = (index: number, bytes: number): string => `${index}:`.padEnd(bytes, 'v');

export async function run(args: string[]): Promise<void> {
  const options = parseOptions(args);
  if (options === undefined) {
    process.stdout.write(HELP);
    return;
  }
  let blockRoot = '';
  // Beacons get slow while two cores ingest and replicate; the test cluster's 2 s lease is too short for that.
  const cluster = new TestCluster({
    partitionCount: 1,
    settings: ['replication.fd_lease_seconds=20', 'replication.fd_grace_seconds=25'],
    get metaSettings() {
      return ['block_service.local.type=local_service', `block_service.local.args=${blockRoot}`, 'meta_server.bulk_load_request_interval_ms=100'];
    },
    get replicaSettings() {
      return ['block_service.local.type=local_service', `block_service.local.args=${blockRoot}`];
    },
  });
  blockRoot = path.join(cluster.dataRoot, 'block');
  process.stdout.write(`bulk-load bench: ${options.records} records of ${options.valueBytes}-byte values, ${options.partitions} partitions x 3 replicas\n`);
  await cluster.start();
  const metaAddress = `127.0.0.1:${cluster.metaPort}`;
  const meta = new RpcClient(parseHostPort(metaAddress), { timeoutMs: 30_000 });
  const client = createClient({ metaServers: [metaAddress], timeoutMs: 30_000 });
  try {
    const createTable = async (appName: string): Promise<number> => {
      const created = await meta.callRpc(RPCS.RPC_CM_CREATE_APP, {
        appName, options: { partitionCount: options.partitions, replicaCount: 3, successIfExist: false, appType: 'pegasus', isStateful: true, envs: new Map() },
      });
      if (created.result?.err !== 'ERR_OK') throw new Error(`creating ${appName}: ${created.error} ${created.result?.err ?? ''}`);
      await cluster.waitHealthy(appName, options.partitions, 120_000);
      return created.result.appid;
    };
    const bulkAppId = await createTable('bench_bulk');
    await createTable('bench_multi_set');

    const input = path.join(cluster.dataRoot, 'records.jsonl');
    const lines: string[] = [];
    for (let index = 0; index < options.records; index++) {
      lines.push(JSON.stringify({ hash_key: hashKeyOf(index, options.sortKeys), sort_key: sortKeyOf(index, options.sortKeys), value: valueOf(index, options.valueBytes) }));
    }
    writeFileSync(input, `${lines.join('\n')}\n`);
    lines.length = 0;
    const generateStarted = performance.now();
    await generateBulkLoad({ input, partitionCount: options.partitions, out: path.join(blockRoot, REMOTE_ROOT), clusterName: CLUSTER, appName: 'bench_bulk', appId: bulkAppId });
    const generateS = (performance.now() - generateStarted) / 1000;
    rmSync(input);

    const bulkStarted = performance.now();
    const started = await meta.callRpc(RPCS.RPC_CM_START_BULK_LOAD, {
      appName: 'bench_bulk', clusterName: CLUSTER, fileProviderType: 'local', remoteRootPath: REMOTE_ROOT, ingestBehind: false,
    });
    if (started.result?.err !== 'ERR_OK') throw new Error(`start_bulk_load: ${started.result?.err} ${started.result?.hintMsg}`);
    for (;;) {
      const status = (await meta.callRpc(RPCS.RPC_CM_QUERY_BULK_LOAD_STATUS, { appName: 'bench_bulk' })).result!;
      const name = bulkLoadStatusOf(status.appStatus);
      if (name === 'BLS_FAILED' || name === 'BLS_CANCELED') throw new Error(`bulk load ended ${name} with ${status.err}`);
      if (name === 'BLS_SUCCEED' && status.isBulkLoading === false) break;
      await sleep(50);
    }
    const bulkS = (performance.now() - bulkStarted) / 1000;

    const multiSetTable = await client.openTable('bench_multi_set');
    const hashKeys = Math.ceil(options.records / options.sortKeys);
    let next = 0;
    const multiSetStarted = performance.now();
    await Promise.all(Array.from({ length: options.inFlight }, async () => {
      while (next < hashKeys) {
        const hash = next++;
        const kvs = new Map<string, string>();
        for (let index = hash * options.sortKeys; index < Math.min(options.records, (hash + 1) * options.sortKeys); index++) {
          kvs.set(sortKeyOf(index, options.sortKeys), valueOf(index, options.valueBytes));
        }
        await multiSetTable.multiSet(hashKeyOf(hash * options.sortKeys, options.sortKeys), kvs);
      }
    }));
    const multiSetS = (performance.now() - multiSetStarted) / 1000;

    // Both tables hold the same records: spot-check one of every few thousand.
    const bulkTable = await client.openTable('bench_bulk');
    for (let index = 0; index < options.records; index += Math.max(1, Math.floor(options.records / 200))) {
      for (const tableHandle of [bulkTable, multiSetTable]) {
        const value = (await tableHandle.get(hashKeyOf(index, options.sortKeys), sortKeyOf(index, options.sortKeys)))?.toString();
        if (value !== valueOf(index, options.valueBytes)) throw new Error(`record ${index} reads back as ${value}`);
      }
    }

    const perSecond = (seconds: number): string => Math.round(options.records / seconds).toLocaleString('en-US');
    process.stdout.write(`${table([
      ['load', 'seconds', 'records/s', 'vs multi_set'],
      ['bulk load (download + 2PC ingestion)', fixed(bulkS, 1), perSecond(bulkS), `x${fixed(multiSetS / bulkS, 2)}`],
      [`multi_set (${options.sortKeys} sort keys, ${options.inFlight} in flight)`, fixed(multiSetS, 1), perSecond(multiSetS), 'x1.00'],
      ['generate (before the bulk load, not in it)', fixed(generateS, 1), perSecond(generateS), '-'],
    ])}\n`);
  } finally {
    meta.close();
    await client.close();
    await cluster.stop();
  }
}
