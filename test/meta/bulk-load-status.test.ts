// The meta's bulk load status machine: members' reports move partitions and the table through
// downloading, downloaded, ingesting and succeed; failures, pause, restart and cancel; the stored form.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appBulkLoadFromJson, appBulkLoadToJson, controlBulkLoad, newBulkLoad, onPartitionReports, partitionBulkLoadToJson,
  type AppBulkLoad, type MemberReport,
} from '../../src/meta/bulk-load/status-machine.ts';

const MEMBERS = ['a:1', 'b:1', 'c:1'];

function fresh(partitionCount = 2): AppBulkLoad {
  return newBulkLoad({
    appId: 3, appName: 't', partitionCount, clusterName: 'c', fileProviderType: 'local', remoteRootPath: 'r', ingestBehind: false,
  });
}

function report(askedStatus: MemberReport['askedStatus'], fields: Partial<MemberReport> = {}): MemberReport {
  return { askedStatus, downloadProgress: 0, downloadStatus: 'ERR_OK', ingestStatus: 'IS_INVALID', isCleanedUp: false, isPaused: false, ...fields };
}

const all = (value: MemberReport, members = MEMBERS) => new Map(members.map((member) => [member, value]));

describe('bulk load status machine', () => {
  it('goes from downloading to succeed as every member of every partition reports', () => {
    let app = fresh();
    const downloaded = report('BLS_DOWNLOADING', { downloadProgress: 100 });
    // Two of three members done: not yet.
    app = onPartitionReports(app, 0, MEMBERS, all(downloaded, MEMBERS.slice(0, 2)), 3).next;
    assert.equal(app.partitions[0]!.status, 'BLS_DOWNLOADING');
    app = onPartitionReports(app, 0, MEMBERS, all(downloaded), 3).next;
    assert.equal(app.partitions[0]!.status, 'BLS_DOWNLOADED');
    assert.equal(app.status, 'BLS_DOWNLOADING');
    app = onPartitionReports(app, 1, MEMBERS, all(downloaded), 3).next;
    assert.equal(app.status, 'BLS_DOWNLOADED');

    app = onPartitionReports(app, 0, MEMBERS, all(report('BLS_DOWNLOADED', { downloadProgress: 100 })), 3).next;
    assert.equal(app.partitions[0]!.status, 'BLS_INGESTING');
    app = onPartitionReports(app, 1, MEMBERS, new Map(), 3).next;
    assert.equal(app.status, 'BLS_INGESTING');
    assert.equal(app.isEverIngesting, true);

    const ingested = report('BLS_INGESTING', { ingestStatus: 'IS_SUCCEED' });
    // A report to the earlier status does not count.
    assert.equal(onPartitionReports(app, 0, MEMBERS, all({ ...ingested, askedStatus: 'BLS_DOWNLOADED' }), 3).next, app);
    app = onPartitionReports(app, 0, MEMBERS, all(ingested), 3).next;
    app = onPartitionReports(app, 1, MEMBERS, all(ingested), 3).next;
    assert.equal(app.status, 'BLS_SUCCEED');
    assert.ok(app.partitions.every((partition) => partition.everIngestSucceed));

    assert.equal(onPartitionReports(app, 0, MEMBERS, all(report('BLS_SUCCEED', { isCleanedUp: false })), 3).cleanedUp, false);
    assert.equal(onPartitionReports(app, 0, MEMBERS, all(report('BLS_SUCCEED', { isCleanedUp: true })), 3).cleanedUp, true);
  });

  it('a partition short of replicas does not finish its download', () => {
    const app = onPartitionReports(fresh(), 0, MEMBERS.slice(0, 2), all(report('BLS_DOWNLOADING', { downloadProgress: 100 }), MEMBERS.slice(0, 2)), 3).next;
    assert.equal(app.partitions[0]!.status, 'BLS_DOWNLOADING');
  });

  it('a failed download fails the table and every partition with its error', () => {
    for (const [error, expected] of [['ERR_CORRUPTION', 'ERR_CORRUPTION'], ['ERR_FS_INTERNAL', 'ERR_FS_INTERNAL'], ['ERR_TIMEOUT', 'ERR_UNKNOWN']] as const) {
      const reports = new Map([['a:1', report('BLS_DOWNLOADING', { downloadStatus: error })]]);
      const app = onPartitionReports(fresh(), 1, MEMBERS, reports, 3).next;
      assert.equal(app.status, 'BLS_FAILED');
      assert.equal(app.err, expected);
      assert.ok(app.partitions.every((partition) => partition.status === 'BLS_FAILED'));
    }
  });

  it('a failed ingestion fails with ERR_INGESTION_FAILED', () => {
    let app: AppBulkLoad = { ...fresh(1), status: 'BLS_INGESTING', partitions: [{ status: 'BLS_INGESTING', everIngestSucceed: false }] };
    app = onPartitionReports(app, 0, MEMBERS, new Map([['b:1', report('BLS_INGESTING', { ingestStatus: 'IS_FAILED' })]]), 3).next;
    assert.equal(app.status, 'BLS_FAILED');
    assert.equal(app.err, 'ERR_INGESTION_FAILED');
  });

  it('pause, restart and cancel as Pegasus allows them', () => {
    const app = fresh();
    const pausing = controlBulkLoad(app, 'BLC_PAUSE');
    assert.equal(pausing.next?.status, 'BLS_PAUSING');
    assert.deepEqual(controlBulkLoad(app, 'BLC_RESTART'), {
      err: 'ERR_INVALID_STATE', hintMsg: 'can not restart bulk load for app(t) with status(replication::bulk_load_status::BLS_DOWNLOADING)',
    });
    let paused = pausing.next!;
    for (const index of [0, 1]) paused = onPartitionReports(paused, index, MEMBERS, all(report('BLS_PAUSING', { isPaused: true })), 3).next;
    assert.equal(paused.status, 'BLS_PAUSED');
    const restarted = controlBulkLoad(paused, 'BLC_RESTART').next!;
    assert.equal(restarted.status, 'BLS_DOWNLOADING');
    assert.ok(restarted.partitions.every((partition) => partition.status === 'BLS_DOWNLOADING'));
    assert.equal(controlBulkLoad(paused, 'BLC_CANCEL').next?.status, 'BLS_CANCELED');
    const ingesting: AppBulkLoad = { ...app, status: 'BLS_INGESTING' };
    assert.equal(controlBulkLoad(ingesting, 'BLC_CANCEL').err, 'ERR_INVALID_STATE');
    assert.equal(controlBulkLoad(ingesting, 'BLC_PAUSE').err, 'ERR_INVALID_STATE');
    assert.equal(controlBulkLoad(ingesting, 'BLC_FORCE_CANCEL').next?.status, 'BLS_CANCELED');
  });

  it('reads back what it stores', () => {
    let app = fresh();
    app = onPartitionReports(app, 0, MEMBERS, all(report('BLS_DOWNLOADING', { downloadProgress: 100 })), 3).next;
    const partitions = new Map(app.partitions.map((partition, index) => [index, partitionBulkLoadToJson(partition)]));
    assert.deepEqual(appBulkLoadFromJson(appBulkLoadToJson(app), partitions), app);
    // A partition record not written yet takes the table's status.
    assert.equal(appBulkLoadFromJson(appBulkLoadToJson(app), new Map()).partitions[0]!.status, 'BLS_DOWNLOADING');
    assert.throws(() => appBulkLoadFromJson('{"app_id":"x"}', new Map()));
  });
});
