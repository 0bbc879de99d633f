// Two metas on a real ZooKeeper and three replica servers with a local block service, for tests
// of a meta failover in the middle of long-running work (a backup, a bulk load): the first meta is
// made the primary with settings that keep it from driving the work, the second takes over with
// settings that drive it.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseHostPort } from '../../src/base/index.ts';
import { MetaClient } from '../../src/cli/shell/meta-client.ts';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import { freePort, startPteron, waitFor, type RunningProcess } from './process.ts';
import { startTestZooKeeper, type TestZooKeeper } from './zookeeper.ts';

export interface MetaFailoverClusterOptions {
  /** Names the temporary directory and the ZooKeeper cluster root. */
  name: string;
  partitions: number;
  /** Settings for every server (metas and replica servers). */
  common?: string[];
  /** Settings of the first meta (the primary until it is killed) and of the second. */
  firstMeta: string[];
  secondMeta: string[];
}

export interface MetaFailoverCluster {
  dataRoot: string;
  /** The local block service's root (`block_service.local`). */
  blockRoot: string;
  metaPorts: number[];
  metaClient: MetaClient;
  client: PegasusClient;
  isPrimary(index: number): Promise<boolean>;
  fullyHealthy(index: number, table: string): Promise<boolean>;
  /** Every record of the table as `hash/sort=value`, sorted. */
  fullScan(table: string): Promise<string[]>;
  killMeta(index: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startMetaFailoverCluster(options: MetaFailoverClusterOptions): Promise<MetaFailoverCluster> {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), `pteron-${options.name}-`));
  const blockRoot = path.join(dataRoot, 'block');
  const zk: TestZooKeeper = await startTestZooKeeper();
  const metaPorts = [await freePort(), await freePort()];
  const metas: Array<RunningProcess | undefined> = [];
  const replicas: RunningProcess[] = [];
  const serverList = metaPorts.map((port) => `127.0.0.1:${port}`).join(',');
  const common = [
    `meta_server.server_list=${serverList}`, 'replication.cluster_name=test', 'replication.fd_beacon_interval_seconds=1',
    'replication.fd_check_interval_seconds=1', 'replication.fd_lease_seconds=2', 'replication.fd_grace_seconds=3',
    'replication.config_sync_interval_ms=1000', 'block_service.local.type=local_service', `block_service.local.args=${blockRoot}`,
    ...(options.common ?? []),
  ];
  const startMeta = async (index: number, own: string[]): Promise<void> => {
    const settings = [
      ...common, `core.data_dir=${path.join(dataRoot, `meta${index + 1}`)}`, 'meta_server.meta_state_service_type=zookeeper',
      `zookeeper.hosts_list=${zk.hostsList}`, 'zookeeper.timeout_ms=2000', `meta_server.cluster_root=/pegasus/${options.name}`,
      'meta_server.min_live_node_count_for_unfreeze=1', 'replication.lb_interval_ms=1000', `meta_server.apps.temp.partition_count=${options.partitions}`,
      'meta_server.apps.temp.max_replica_count=3', ...own,
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
    return view.healthy.fully_healthy_partition_count === String(options.partitions);
  };

  const stopServers = async (): Promise<void> => {
    for (const replica of replicas) await replica.stop('SIGKILL');
    for (const meta of metas) await meta?.stop('SIGKILL');
    await zk.destroy();
    rmSync(dataRoot, { recursive: true, force: true });
  };
  try {
    await startMeta(0, options.firstMeta);
    await waitFor('meta 1 is the primary', () => isPrimary(0), 30_000, 50);
    await startMeta(1, options.secondMeta);
    for (let index = 0; index < 3; index++) {
      const settings = [...common, `core.data_dir=${path.join(dataRoot, `replica${index + 1}`)}`];
      replicas.push(await startPteron('replica', { args: settings.flatMap((setting) => ['--set', setting]) }));
    }
    await waitFor('temp fully healthy', () => fullyHealthy(0, 'temp'), 60_000, 200);
  } catch (error) {
    await stopServers();
    throw error;
  }
  const metaClient = new MetaClient(metaPorts.map((port) => parseHostPort(`127.0.0.1:${port}`)), { timeoutMs: 3000, notActiveRetryMs: 100 });
  const client = createClient({ metaServers: serverList, timeoutMs: 5000 });
  return {
    dataRoot,
    blockRoot,
    metaPorts,
    metaClient,
    client,
    isPrimary,
    fullyHealthy,
    async fullScan(tableName) {
      const table = await client.openTable(tableName);
      const records: string[] = [];
      for (const scanner of await table.getUnorderedScanners(options.partitions)) {
        for await (const entry of scanner) records.push(`${entry.hashKey.toString()}/${entry.sortKey.toString()}=${entry.value.toString()}`);
      }
      return records.sort();
    },
    async killMeta(index) {
      await metas[index]?.stop('SIGKILL');
      metas[index] = undefined;
    },
    async stop() {
      await client.close();
      await metaClient.close();
      await stopServers();
    },
  };
}
