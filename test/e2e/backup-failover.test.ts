// A meta failover during a backup (two metas on a real ZooKeeper, three replica servers): the
// first primary accepts a one-time backup and a backup policy but never drives them (its backup
// check interval is an hour), so the backup is under way, and the policy waiting, when it is
// SIGKILLed. The meta taking over reads both from ZooKeeper, finishes the backup and runs the
// policy; the restore of the finished backup equals the snapshot.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RPCS } from '../../src/wire/index.ts';
import { startMetaFailoverCluster, type MetaFailoverCluster } from '../helpers/meta-failover-cluster.ts';
import { waitFor } from '../helpers/process.ts';
import { zooKeeperSkipReason } from '../helpers/zookeeper.ts';

const PARTITIONS = 4;
/** Only tells a finished failover, backup or restore from a stuck one. */
const DONE_MS = 120_000;

describe('a meta failover during a backup', { skip: zooKeeperSkipReason() }, () => {
  let cluster: MetaFailoverCluster;

  before(async () => {
    const backupSettings = (checkIntervalMs: number): string[] => [
      'meta_server.cold_backup_disabled=false', 'meta_server.backup_interval_seconds_min=1',
      'replication.cold_backup_checkpoint_reserve_minutes=0', `meta_server.backup_check_interval_ms=${checkIntervalMs}`,
    ];
    cluster = await startMetaFailoverCluster({
      name: 'backup-failover',
      partitions: PARTITIONS,
      common: ['replication.cold_backup_root=test'],
      // The first meta is the primary; it accepts backups but would drive them only after an hour.
      firstMeta: backupSettings(3_600_000),
      secondMeta: backupSettings(300),
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  test('the meta taking over finishes the backup under way and runs the policy', async () => {
    const { client, metaClient } = cluster;
    const temp = await client.openTable('temp');
    for (let index = 0; index < 100; index++) await temp.set(`h${index}`, 's', `v${index}`);
    const snapshot = await cluster.fullScan('temp');
    const started = await metaClient.call(RPCS.RPC_CM_START_BACKUP_APP, { backupProviderType: 'local', appId: 1 });
    assert.equal(started.err, 'ERR_OK', started.response?.hintMessage);
    const backupId = started.response!.backupId!;
    const added = await metaClient.call(RPCS.RPC_CM_ADD_BACKUP_POLICY, {
      backupProviderType: 'local', policyName: 'nightly', appIds: [1], backupIntervalSeconds: 3600n, backupHistoryCountToKeep: 2, startTime: '24:00',
    });
    assert.equal(added.err, 'ERR_OK', added.response?.hintMessage);
    const status = async () => (await metaClient.call(RPCS.RPC_CM_QUERY_BACKUP_STATUS, { appId: 1, backupId })).response?.backupItems?.[0];
    assert.equal((await status())?.endTimeMs, 0n, 'the first primary does not drive the backup');

    await cluster.killMeta(0);
    await waitFor('meta 2 is the primary', () => cluster.isPrimary(1), DONE_MS, 100);
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
    await waitFor('the restored table fully healthy', () => cluster.fullyHealthy(1, 'temp_after_failover'), DONE_MS, 200);
    assert.deepEqual(await cluster.fullScan('temp_after_failover'), snapshot);
  });
});
