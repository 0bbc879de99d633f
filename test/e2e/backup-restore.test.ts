// Cold backup and restore on real processes (one meta, three replica servers, a local_service
// block service in a temp directory): a policy backs `temp` up twice on a schedule shortened by
// config and keeps only its newest backup, in Pegasus's layout with its metadata files; the
// restore of that backup to a new table equals the snapshot (full scans compared); a one-time
// backup restores the same way; bad input (unknown provider, a backup that is not there, a table
// name that exists) gets Pegasus's errors and changes nothing.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { RPCS } from '../../src/wire/index.ts';
import { TestCluster } from '../helpers/data-plane.ts';
import { waitFor } from '../helpers/process.ts';
import { runShellScript } from '../helpers/shell-process.ts';

const PARTITIONS = 4;
/** Only tells a finished backup or restore from a stuck one. */
const DONE_MS = 120_000;
const POLICY_INTERVAL_SECONDS = 12;

/** Every record of a table as `hash/sort=value`, sorted. */
async function fullScan(client: PegasusClient, tableName: string): Promise<string[]> {
  const table = await client.openTable(tableName);
  const records: string[] = [];
  for (const scanner of await table.getUnorderedScanners(PARTITIONS)) {
    for await (const entry of scanner) records.push(`${entry.hashKey.toString()}/${entry.sortKey.toString()}=${entry.value.toString()}`);
  }
  return records.sort();
}

describe('cold backup and restore on a real cluster', () => {
  const blockSettings = (root: string) => [
    'block_service.local.type=local_service', `block_service.local.args=${root}`, 'replication.cold_backup_root=test',
  ];
  let blockRoot = '';
  const cluster = new TestCluster({
    partitionCount: PARTITIONS,
    get metaSettings() {
      return [
        ...blockSettings(blockRoot), 'meta_server.cold_backup_disabled=false', 'meta_server.backup_interval_seconds_min=1',
        'replication.cold_backup_checkpoint_reserve_minutes=0', 'meta_server.backup_check_interval_ms=300',
      ];
    },
    get replicaSettings() {
      return blockSettings(blockRoot);
    },
  });
  blockRoot = path.join(cluster.dataRoot, 'block');
  let client: PegasusClient;
  let meta: RpcClient;
  const shell = (...commands: string[]) => runShellScript(`127.0.0.1:${cluster.metaPort}`, commands, { keepGoing: true });
  const appNames = async () => (await meta.callRpc(RPCS.RPC_CM_LIST_APPS, { status: 0 })).result!.infos.map((info) => info.appName).sort();

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

  test('a policy backs temp up twice, keeps its newest backup, and the restore of it equals the snapshot', async () => {
    const temp = await client.openTable('temp');
    for (let index = 0; index < 200; index++) await temp.set(`h${index}`, `s${index % 5}`, `first-${index}`);
    const added = await shell(`add_backup_policy -p every -b local -a 1 -i ${POLICY_INTERVAL_SECONDS} -s 24:00 -c 1`);
    assert.match(added.stdout, /^add backup policy succeed, policy_name = every$/m, added.stdout + added.stderr);

    const backups = async () => (await meta.callRpc(RPCS.RPC_CM_QUERY_BACKUP_POLICY, { policyNames: ['every'], backupInfoCount: 5 })).result!.backupInfos[0]!;
    await waitFor('the first policy backup', async () => (await backups()).some((entry) => entry.endTimeMs > 0n), DONE_MS, 200);
    const [first] = await backups();
    // Written after the first backup: only the second one has them.
    for (let index = 0; index < 100; index++) await temp.set(`late${index}`, 's', `second-${index}`);
    await waitFor('the second policy backup', async () => {
      const entries = await backups();
      return entries.length === 1 && entries[0]!.backupId !== first!.backupId && entries[0]!.endTimeMs > 0n;
    }, DONE_MS, 200);
    const [second] = await backups();
    assert.ok(second!.startTimeMs - first!.startTimeMs >= BigInt(POLICY_INTERVAL_SECONDS * 1000), 'the second backup waited for the interval');
    const snapshot = await fullScan(client, 'temp');

    // Pegasus's layout: the first backup is gone (history count 1), the second complete.
    const policyDir = path.join(blockRoot, 'test', 'every');
    assert.deepEqual(readdirSync(policyDir).filter((name) => !name.startsWith('.')), [String(second!.backupId)]);
    const backupDir = path.join(policyDir, String(second!.backupId));
    const backupInfo = JSON.parse(readFileSync(path.join(backupDir, 'backup_info'), 'utf8'));
    assert.equal(backupInfo.backup_id, Number(second!.backupId));
    assert.deepEqual(backupInfo.app_ids, [1]);
    assert.ok(existsSync(path.join(backupDir, '.backup_info.meta')));
    const appDir = path.join(backupDir, 'temp_1');
    assert.equal(JSON.parse(readFileSync(path.join(appDir, 'meta', 'app_metadata'), 'utf8')).partition_count, PARTITIONS);
    assert.ok(existsSync(path.join(appDir, 'meta', 'app_backup_status')));
    for (let index = 0; index < PARTITIONS; index++) {
      const checkpointDir = readFileSync(path.join(appDir, String(index), 'current_checkpoint'), 'utf8');
      assert.match(checkpointDir, /^chkpt_127\.0\.0\.1_\d+$/);
      const metadata = JSON.parse(readFileSync(path.join(appDir, String(index), checkpointDir, 'backup_metadata'), 'utf8'));
      assert.deepEqual(Object.keys(metadata).sort(), ['checkpoint_decree', 'checkpoint_timestamp', 'checkpoint_total_size', 'files']);
      assert.equal(metadata.files.length, 1);
    }

    const listed = await shell('ls_backup_policy', 'query_backup_policy -p every -b 3');
    assert.match(listed.stdout, /^\[every\]\nbackup_provider_type +: local *\nbackup_interval +: 12s *\napp_ids +: \{1\} *\nstart_time +: 24:00 *\nstatus +: enabled *\nbackup_history_count +: 1 *\n/m);
    assert.match(listed.stdout, /^\[every_backup_info\]\nid +start_time +end_time +app_ids *\n\d+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\{1\}/m);
    const http = await (await fetch(`http://127.0.0.1:${cluster.metaPort}/meta/backup_policy?name=every`)).text();
    assert.equal(http, '{"every":{"name":"every","backup_provider_type":"local","backup_interval":"12","app_ids":"[1]","start_time":"24:00","status":"enabled","backup_history_count":"1"}}\n');
    assert.equal(await (await fetch(`http://127.0.0.1:${cluster.metaPort}/meta/backup_policy?name=none`)).text(), '{}\n');
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.metaPort}/metrics?types=backup_policy`)).json() as { entities: Array<{ id: string }> };
    assert.deepEqual(metrics.entities.map((entity) => entity.id), ['backup_policy@every']);

    const disabled = await shell('disable_backup_policy -p every');
    assert.match(disabled.stdout, /^disable policy result: ERR_OK$/m, disabled.stdout + disabled.stderr);

    const restored = await shell(`restore_app -c test -p every -a temp -i 1 -t ${second!.backupId} -b local -n temp_restored`);
    const newId = /new app_id = (\d+)/.exec(restored.stdout)?.[1];
    assert.ok(newId, restored.stdout + restored.stderr);
    await cluster.waitHealthy('temp_restored', PARTITIONS, DONE_MS);
    const status = await shell(`query_restore_status ${newId} -d`);
    assert.match(status.stdout, /^the overall progress of restore is 100%$/m, status.stdout);
    assert.deepEqual(await fullScan(client, 'temp_restored'), snapshot);
    // The restored table takes writes of its own.
    const copy = await client.openTable('temp_restored');
    await copy.set('new', 's', 'v');
    assert.equal((await copy.get('new', 's'))?.toString(), 'v');
  });

  test('a one-time backup restores to a table equal to it; bad input changes nothing', async () => {
    const started = await shell('start_backup_app 1 local');
    const backupId = /^BackupID: (\d+)$/m.exec(started.stdout)?.[1];
    assert.ok(backupId, started.stdout + started.stderr);
    assert.match(started.stdout, /^\[hint\]: Backup succeed: metadata of app 1 has been successfully backed up/m);
    await waitFor('the one-time backup', async () => /\bcompleted\b/.test((await shell(`query_backup_status 1 ${backupId}`)).stdout), DONE_MS, 500);
    const snapshot = await fullScan(client, 'temp');
    const oneTimeDir = path.join(blockRoot, 'test', backupId!);
    assert.equal(JSON.parse(readFileSync(path.join(oneTimeDir, 'backup_info'), 'utf8')).app_name, 'temp');

    const tablesBefore = await appNames();
    const bad = await shell(
      `restore_app -c test -a temp -i 1 -t ${backupId} -b nope -n temp_x`,
      `restore_app -c test -a temp -i 1 -t 12345 -b local -n temp_x`,
      `restore_app -c test -a temp -i 1 -t ${backupId} -b local -n temp`,
      'add_backup_policy -p other -b nope -a 1 -i 100 -c 1',
      'start_backup_app 1 nope',
      'start_backup_app 99 local',
    );
    assert.match(bad.stderr, /^restore app failed with err\(ERR_INVALID_PARAMETERS\)$/m);
    assert.match(bad.stdout, /^restore app failed: couldn't find valid app metadata$/m);
    assert.match(bad.stderr, /^restore app failed with err\(ERR_OBJECT_NOT_FOUND\)$/m);
    assert.equal(bad.stderr.match(/restore app failed with err\(ERR_INVALID_PARAMETERS\)/g)?.length, 2, bad.stderr);
    assert.match(bad.stdout, /^add backup policy failed: invalid backup_provider_type: nope$/m);
    assert.match(bad.stderr, /^StartBackupApp failed: ERR_INVALID_PARAMETERS: Backup failed: invalid backup_provider_type nope\.$/m);
    assert.match(bad.stderr, /^StartBackupApp failed: ERR_INVALID_STATE: Backup failed: invalid app id 99\.$/m);
    assert.deepEqual(await appNames(), tablesBefore);
    assert.equal((await meta.callRpc(RPCS.RPC_CM_QUERY_BACKUP_POLICY, { policyNames: ['other'], backupInfoCount: 1 })).result!.err, 'ERR_INVALID_PARAMETERS');

    const restored = await shell(`restore_app -c test -a temp -i 1 -t ${backupId} -b local -n temp_once`);
    assert.match(restored.stdout, /new app_id = \d+/, restored.stdout + restored.stderr);
    await cluster.waitHealthy('temp_once', PARTITIONS, DONE_MS);
    assert.deepEqual(await fullScan(client, 'temp_once'), snapshot);
  });
});
