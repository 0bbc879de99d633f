// A meta failover during a bulk load (two metas on a real ZooKeeper, three replica servers): the
// first primary accepts the bulk load but never drives it (it would ask the replicas after an
// hour), so the load is downloading, as its state store says, when it is SIGKILLed. The meta
// taking over reads it from ZooKeeper and finishes it; every record reads back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { generateBulkLoad } from '../../src/cli/bulk-load-generate.ts';
import { MetaClient } from '../../src/cli/shell/meta-client.ts';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import { bulkLoadStatusOf } from '../../src/cluster/index.ts';
import { RPCS } from '../../src/wire/index.ts';
import { freePort, startPteron, waitFor, type RunningProcess } from '../helpers/process.ts';
import { startTestZooKeeper, zooKeeperSkipReason, type TestZooKeeper } from '../helpers/zookeeper.ts';

const PARTITIONS = 4;
/** Only tells a finished failover or bulk load from a stuck one. */
const DONE_MS = 120_000;

describe('a meta failover during a bulk load', { skip: zooKeeperSkipReason() }, () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-bulk-load-failover-'));
  const blockRoot = path.join(dataRoot, 'block');
  let zk: TestZooKeeper;
  const metaPorts: number[] = [];
  const metas: Array<RunningProcess | undefined> = [];
  const replicas: RunningProcess[] = [];
  let metaClient: MetaClient;
  let client: PegasusClient;

  const serverList = (): string => metaPorts.map((port) => `127.0.0.1:${port}`).join(',');
  const common = (): string[] => [
    `meta_server.server_list=${serverList()}`, 'replication.cluster_name=test', 'replication.fd_beacon_interval_seconds=1',
    'replication.fd_check_interval_seconds=1', 'replication.fd_lease_seconds=2', 'replication.fd_grace_seconds=3',
    'replication.config_sync_interval_ms=1000', 'block_service.local.type=local_service', `block_service.local.args=${blockRoot}`,
  ];
  const startMeta = async (index: number, requestIntervalMs: number): Promise<void> => {
    const settings = [
      ...common(), `core.data_dir=${path.join(dataRoot, `meta${index + 1}`)}`, 'meta_server.meta_state_service_type=zookeeper',
      `zookeeper.hosts_list=${zk.hostsList}`, 'zookeeper.timeout_ms=2000', 'meta_server.cluster_root=/pegasus/bulk-load-failover',
      'meta_server.min_live_node_count_for_unfreeze=1', 'replication.lb_interval_ms=1000', `meta_server.apps.temp.partition_count=${PARTITIONS}`,
      'meta_server.apps.temp.max_replica_count=3', `meta_server.bulk_load_request_interval_ms=${requestIntervalMs}`,
    ];
    metas[index] = await startPteron('meta', { port: metaPorts[index], args: settings.flatMap((setting) => ['--set', setting]) });
  };
  const isPrimary = async (index: number): Promise<boolean> => {
    const response = await fetch(`http://127.0.0.1:${metaPorts[index]}/meta/cluster`, { redirect: 'manual' }).catch(() => undefined);
    await response?.arrayBuffer();
    return response?.status === 200;
  };
  const fullyHealthy = async (index: number, table: string): Promise<boolean> => {
    const response = await fetch(`http://127.0.0.1:${metaPorts[index]}/meta/app?name=${table}&detail`);
    if (response.status !== 200) return false;
    const view = (await response.json()) as { healthy: Record<string, string> };
    return view.healthy.fully_healthy_partition_count === String(PARTITIONS);
  };
  const fullScan = async (tableName: string): Promise<string[]> => {
    const table = await client.openTable(tableName);
    const records: string[] = [];
    for (const scanner of await table.getUnorderedScanners(PARTITIONS)) {
      for await (const entry of scanner) records.push(`${entry.hashKey.toString()}/${entry.sortKey.toString()}=${entry.value.toString()}`);
    }
    return records.sort();
  };

  before(async () => {
    zk = await startTestZooKeeper();
    metaPorts.push(await freePort(), await freePort());
    // The first meta is the primary; it accepts the bulk load but would drive it only after an hour.
    await startMeta(0, 3_600_000);
    await waitFor('meta 1 is the primary', () => isPrimary(0), 30_000, 50);
    await startMeta(1, 200);
    for (let index = 0; index < 3; index++) {
      const settings = [...common(), `core.data_dir=${path.join(dataRoot, `replica${index + 1}`)}`];
      replicas.push(await startPteron('replica', { args: settings.flatMap((setting) => ['--set', setting]) }));
    }
    await waitFor('temp fully healthy', () => fullyHealthy(0, 'temp'), 60_000, 200);
    metaClient = new MetaClient(metaPorts.map((port) => parseHostPort(`127.0.0.1:${port}`)), { timeoutMs: 3000, notActiveRetryMs: 100 });
    client = createClient({ metaServers: serverList(), timeoutMs: 5000 });
  });

  after(async () => {
    await client?.close();
    await metaClient?.close();
    for (const replica of replicas) await replica.stop('SIGKILL');
    for (const meta of metas) await meta?.stop('SIGKILL');
    await zk?.destroy();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('the meta taking over finishes the bulk load under way', async () => {
    const input = path.join(dataRoot, 'records.csv');
    const lines = Array.from({ length: 2000 }, (_, index) => `h${index},s,v${index}`);
    writeFileSync(input, `${lines.join('\n')}\n`);
    await generateBulkLoad({ input, partitionCount: PARTITIONS, out: path.join(blockRoot, 'bulk'), clusterName: 'source', appName: 'temp', appId: 1 });
    const started = await metaClient.call(RPCS.RPC_CM_START_BULK_LOAD, {
      appName: 'temp', clusterName: 'source', fileProviderType: 'local', remoteRootPath: 'bulk', ingestBehind: false,
    });
    assert.equal(started.err, 'ERR_OK', started.response?.hintMsg);
    const status = async () => (await metaClient.call(RPCS.RPC_CM_QUERY_BULK_LOAD_STATUS, { appName: 'temp' })).response;
    assert.equal(bulkLoadStatusOf((await status())!.appStatus), 'BLS_DOWNLOADING', 'the first primary does not drive the bulk load');

    await metas[0]!.stop('SIGKILL');
    metas[0] = undefined;
    await waitFor('meta 2 is the primary', () => isPrimary(1), DONE_MS, 100);
    await waitFor('the bulk load finished by meta 2', async () => {
      const now = await status();
      return now !== undefined && now.isBulkLoading === false && bulkLoadStatusOf(now.appStatus) === 'BLS_SUCCEED';
    }, DONE_MS, 200);
    assert.deepEqual(await fullScan('temp'), lines.map((line) => {
      const [hash, sort, value] = line.split(',');
      return `${hash}/${sort}=${value}`;
    }).sort());
  });
});
