// A meta failover during a bulk load (two metas on a real ZooKeeper, three replica servers): the
// first primary accepts the bulk load but never drives it (it would ask the replicas after an
// hour), so the load is downloading, as its state store says, when it is SIGKILLed. The meta
// taking over reads it from ZooKeeper and finishes it; every record reads back.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateBulkLoad } from '../../src/cli/bulk-load-generate.ts';
import { bulkLoadStatusOf } from '../../src/cluster/index.ts';
import { RPCS } from '../../src/wire/index.ts';
import { startMetaFailoverCluster, type MetaFailoverCluster } from '../helpers/meta-failover-cluster.ts';
import { waitFor } from '../helpers/process.ts';
import { zooKeeperSkipReason } from '../helpers/zookeeper.ts';

const PARTITIONS = 4;
/** Only tells a finished failover or bulk load from a stuck one. */
const DONE_MS = 120_000;

describe('a meta failover during a bulk load', { skip: zooKeeperSkipReason() }, () => {
  let cluster: MetaFailoverCluster;

  before(async () => {
    cluster = await startMetaFailoverCluster({
      name: 'bulk-load-failover',
      partitions: PARTITIONS,
      // The first meta is the primary; it accepts the bulk load but would drive it only after an hour.
      firstMeta: ['meta_server.bulk_load_request_interval_ms=3600000'],
      secondMeta: ['meta_server.bulk_load_request_interval_ms=200'],
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  test('the meta taking over finishes the bulk load under way', async () => {
    const { metaClient } = cluster;
    const input = path.join(cluster.dataRoot, 'records.csv');
    const lines = Array.from({ length: 2000 }, (_, index) => `h${index},s,v${index}`);
    writeFileSync(input, `${lines.join('\n')}\n`);
    await generateBulkLoad({ input, partitionCount: PARTITIONS, out: path.join(cluster.blockRoot, 'bulk'), clusterName: 'source', appName: 'temp', appId: 1 });
    const started = await metaClient.call(RPCS.RPC_CM_START_BULK_LOAD, {
      appName: 'temp', clusterName: 'source', fileProviderType: 'local', remoteRootPath: 'bulk', ingestBehind: false,
    });
    assert.equal(started.err, 'ERR_OK', started.response?.hintMsg);
    const status = async () => (await metaClient.call(RPCS.RPC_CM_QUERY_BULK_LOAD_STATUS, { appName: 'temp' })).response;
    assert.equal(bulkLoadStatusOf((await status())!.appStatus), 'BLS_DOWNLOADING', 'the first primary does not drive the bulk load');

    await cluster.killMeta(0);
    await waitFor('meta 2 is the primary', () => cluster.isPrimary(1), DONE_MS, 100);
    await waitFor('the bulk load finished by meta 2', async () => {
      const now = await status();
      return now !== undefined && now.isBulkLoading === false && bulkLoadStatusOf(now.appStatus) === 'BLS_SUCCEED';
    }, DONE_MS, 200);
    assert.deepEqual(await cluster.fullScan('temp'), lines.map((line) => {
      const [hash, sort, value] = line.split(',');
      return `${hash}/${sort}=${value}`;
    }).sort());
  });
});
