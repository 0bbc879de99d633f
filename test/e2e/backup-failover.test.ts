// A meta failover during a backup (two metas on a real ZooKeeper, three replica servers): the
// first primary accepts a one-time backup and a backup policy but never drives them (its backup
// check interval is an hour), so the backup is under way, and the policy waiting, when it is
// SIGKILLed. The meta taking over reads both from ZooKeeper, finishes the backup and runs the
// policy; the restore of the finished backup equals the snapshot.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { MetaClient } from '../../src/cli/shell/meta-client.ts';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import { RPCS } from '../../src/wire/index.ts';
import { freePort, startPteron, waitFor, type RunningProcess } from '../helpers/process.ts';
import { startTestZooKeeper, zooKeeperSkipReason, type TestZooKeeper } from '../helpers/zookeeper.ts';

const PARTITIONS = 4;
/** Only tells a finished failover, backup or restore from a stuck one. */
const DONE_MS = 120_000;

describe('a meta failover during a backup', { skip: zooKeeperSkipReason() }, () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-backup-failover-'));
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
    'replication.cold_backup_root=test',
  ];
  const startMeta = async (index: number, backupCheckIntervalMs: number): Promise<void> => {
    const settings = [
      ...common(), `core.data_dir=${path.join(dataRoot, `meta${index + 1}`)}`, 'meta_server.meta_state_service_type=zookeeper',
      `zookeeper.hosts_list=${zk.hostsList}`, 'zookeeper.timeout_ms=2000', 'meta_server.cluster_root=/pegasus/backup-failover',
      'meta_server.min_live_node_count_for_unfreeze=1', 'replication.lb_interval_ms=1000', `meta_server.apps.temp.partition_count=${PARTITIONS}`,
      'meta_server.apps.temp.max_replica_count=3', 'meta_server.cold_backup_disabled=false', 'meta_server.backup_interval_seconds_min=1',
      'replication.cold_backup_checkpoint_reserve_minutes=0', `meta_server.backup_check_interval_ms=${backupCheckIntervalMs}`,
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
    // The first meta is the primary; it accepts backups but would drive them only after an hour.
    await startMeta(0, 3_600_000);
    await waitFor('meta 1 is the primary', () => isPrimary(0), 30_000, 50);
    await startMeta(1, 300);
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

  test('the meta taking over finishes the backup under way and runs the policy', async () => {
    const temp = await client.openTable('temp');
    for (let index = 0; index < 100; index++) await temp.set(`h${index}`, 's', `v${index}`);
    const snapshot = await fullScan('temp');
    const started = await metaClient.call(RPCS.RPC_CM_START_BACKUP_APP, { backupProviderType: 'local', appId: 1 });
    assert.equal(started.err, 'ERR_OK', started.response?.hintMessage);
    const backupId = started.response!.backupId!;
    const added = await metaClient.call(RPCS.RPC_CM_ADD_BACKUP_POLICY, {
      backupProviderType: 'local', policyName: 'nightly', appIds: [1], backupIntervalSeconds: 3600n, backupHistoryCountToKeep: 2, startTime: '24:00',
    });
    assert.equal(added.err, 'ERR_OK', added.response?.hintMessage);
    const status = async () => (await metaClient.call(RPCS.RPC_CM_QUERY_BACKUP_STATUS, { appId: 1, backupId })).response?.backupItems?.[0];
    assert.equal((await status())?.endTimeMs, 0n, 'the first primary does not drive the backup');

    await metas[0]!.stop('SIGKILL');
    metas[0] = undefined;
    await waitFor('meta 2 is the primary', () => isPrimary(1), DONE_MS, 100);
    await waitFor('the backup finished by meta 2', async () => ((await status())?.endTimeMs ?? 0n) > 0n, DONE_MS, 200);
    assert.equal((await status())?.isBackupFailed, false);
    await waitFor('the policy\'s first backup, run by meta 2', async () => {
      const query = await metaClient.call(RPCS.RPC_CM_QUERY_BACKUP_POLICY, { policyNames: ['nightly'], backupInfoCount: 1 });
      return (query.response?.backupInfos[0]?.[0]?.endTimeMs ?? 0n) > 0n;
    }, DONE_MS, 200);

    const restored = await metaClient.call(RPCS.RPC_CM_START_RESTORE, {
      clusterName: 'test', policyName: '', timeStamp: backupId, appName: 'temp', appId: 1, newAppName: 'temp_after_failover',
      backupProviderName: 'local', skipBadPartition: false,
    });
    assert.equal(restored.err, 'ERR_OK');
    await waitFor('the restored table fully healthy', () => fullyHealthy(1, 'temp_after_failover'), DONE_MS, 200);
    assert.deepEqual(await fullScan('temp_after_failover'), snapshot);
  });
});
