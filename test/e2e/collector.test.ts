// `pteron collector` and the shell's table statistics against a real meta and three real
// replica servers: after writes and reads the collector's counters for the table are non-zero
// and agree with what was done; /perfCounter's JSON and its errors; the tables' gauges in the
// collector's /metrics; app_stat, app_disk, server_stat -i and copy_data -g as processes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient, type PegasusClient, type PegasusTable } from '../../src/client/index.ts';
import { geoKeys } from '../../src/cli/shell/geo-keys.ts';
import { TestCluster } from '../helpers/data-plane.ts';
import { fastClusterSettings, type RunningProcess, startPteron, waitFor } from '../helpers/process.ts';
import { runShellScript } from '../helpers/shell-process.ts';

const RECORDS = 100;
const PREFIX = 'collector*app.pegasus*app.stat.';

interface CollectorMetrics {
  entities: Array<{ type: string; id: string; attributes: Record<string, string>; metrics: Array<{ name: string; value: number }> }>;
}

describe('pteron collector and table statistics against a meta and three replica servers', () => {
  const cluster = new TestCluster({
    clusterName: 'collector-test',
    partitionCount: 4,
    replicaSettings: ['pegasus.server.update_rdb_stat_interval=1', 'metrics.percentile_interval_ms=200'],
  });
  let collector: RunningProcess;
  let client: PegasusClient;
  let temp: PegasusTable;

  const shell = (...commands: string[]) => runShellScript(cluster.metaList(), commands, { keepGoing: true });

  const perfCounter = async (name: string): Promise<{ status: number; body: string }> => {
    const response = await fetch(`${collector.url}/perfCounter?name=${encodeURIComponent(name)}`);
    return { status: response.status, body: await response.text() };
  };
  const counterValue = async (name: string): Promise<number | undefined> => {
    const answer = await perfCounter(name);
    return answer.status === 200 ? Number((JSON.parse(answer.body) as { value: string }).value) : undefined;
  };
  /** One snapshot of the collector's app_stat gauges: table name → metric → value. */
  const tableGauges = async (): Promise<Map<string, Map<string, number>>> => {
    const body = (await (await fetch(`${collector.url}/metrics?types=app_stat`)).json()) as CollectorMetrics;
    return new Map(body.entities.map((entity) => [entity.attributes.table_name!, new Map(entity.metrics.map((metric) => [metric.name, metric.value]))]));
  };

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', 4);
    collector = await startPteron('collector', {
      args: [...fastClusterSettings(cluster.metaPort, 'collector-test'), '--set', 'pegasus.collector.app_stat_interval_seconds=1'],
    });
    client = createClient({ metaServers: [cluster.metaList()], timeoutMs: 10_000 });
    temp = await client.openTable('temp');
    for (let index = 0; index < RECORDS; index++) await temp.set(`hash${index}`, 'sort', 'v'.repeat(100));
  });

  after(async () => {
    await client?.close();
    await collector?.stop();
    await cluster.stop();
  });

  test('the collector counts the records written and the reads done, consistently', async () => {
    await waitFor('the collector counting every record of temp', async () => (await counterValue(`${PREFIX}rdb_estimate_num_keys#temp`)) === RECORDS, 60_000, 200);
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        assert.ok(await temp.get(`hash${reads % RECORDS}`, 'sort'));
        reads++;
      }
    })();
    try {
      // Only reads go on now: a round that saw them and none of the writes shows gets and no puts.
      let snapshot = new Map<string, Map<string, number>>();
      await waitFor('a round with reads only', async () => {
        snapshot = await tableGauges();
        const table = snapshot.get('temp');
        return table !== undefined && table.get('get_qps')! > 0 && table.get('put_qps') === 0;
      }, 60_000, 200);
      const table = snapshot.get('temp')!;
      const all = snapshot.get('_all_')!;
      assert.equal(table.get('read_qps'), table.get('get_qps'));
      assert.equal(table.get('write_qps'), 0);
      const tables = [...snapshot.entries()].filter(([name]) => name !== '_all_');
      assert.equal(all.get('get_qps'), tables.reduce((sum, [, metrics]) => sum + metrics.get('get_qps')!, 0));
      assert.equal(all.get('rdb_estimate_num_keys'), tables.reduce((sum, [, metrics]) => sum + metrics.get('rdb_estimate_num_keys')!, 0));
      assert.equal(table.get('rdb_estimate_num_keys'), RECORDS);
      await waitFor('a get latency percentile', async () => {
        const answer = await perfCounter(`${PREFIX}get_latency#temp`);
        return answer.status === 200 && Number((JSON.parse(answer.body) as { p99: string }).p99) > 0;
      }, 60_000, 200);
    } finally {
      reading = false;
      await reader;
    }
    assert.ok(reads > 0);
  });

  test('/perfCounter answers Pegasus\'s JSON; an unknown name is a 404 with a stable code, another key a 400', async () => {
    await waitFor('the _all_ counters', async () => (await perfCounter(`${PREFIX}read_qps#_all_`)).status === 200, 60_000, 200);
    const found = await perfCounter(`${PREFIX}read_qps#_all_`);
    assert.match(found.body, /^\{"name":"collector\*app\.pegasus\*app\.stat\.read_qps#_all_","value":"\d+\.\d{2}","type":"NUMBER","description":"statistic the read_qps of app _all_"\}\n$/);
    const byHash = await fetch(`${collector.url}/perfCounter?name=collector*app.pegasus*app.stat.storage_count%23temp`);
    assert.equal(byHash.status, 200);
    const missing = await perfCounter(`${PREFIX}read_qps#no_such_table`);
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as { error: string }).error, 'ERR_OBJECT_NOT_FOUND');
    assert.equal((await fetch(`${collector.url}/perfCounter?name=x&other=y`)).status, 400);
    const hot = await perfCounter(`${PREFIX}hotspots.temp.read.total`);
    assert.equal(hot.status, 200);
    assert.equal((await perfCounter(`${PREFIX}hotspots@temp.write.3`)).status, 200);
    // The collector keeps serving.
    assert.equal((await fetch(`${collector.url}/version`)).status, 200);
  });

  test('the collector\'s /metrics has the tables\' gauges in Prometheus form too', async () => {
    const text = await (await fetch(`${collector.url}/metrics?format=prometheus`)).text();
    assert.match(text, /^# TYPE pteron_app_stat_get_qps gauge$/m);
    assert.match(text, /^pteron_app_stat_rdb_estimate_num_keys\{[^}]*table_name="temp"\} 100$/m);
    assert.match(text, /^pteron_app_stat_partition_read_hotspot\{[^}]*table_name="temp",partition_id="0"\} \d+$/m);
  });

  test('app_stat prints per table and per partition, as text and JSON', async () => {
    const run = await shell('app_stat -i 200', 'app_stat -a temp -j -e -i 200', 'app_stat -a temp -q -i 200');
    assert.equal(run.code, 0, run.stderr);
    const [perTable, json, onlyQps] = run.stdout.split(/(?=^\[app_stat\]$)|(?=^\{$)/m);
    assert.match(perTable!, /^\[app_stat\]\napp_name +app_id +pcount +GET +MGET +BGET +PUT +MPUT +DEL +MDEL +INCR +CAS +CAM +SCAN +RCU +WCU +expire +filter +abnormal +delay +reject +file_mb +file_num +mem_tbl_mb +mem_idx_mb +hit_rate +seek_n_rate +point_n_rate +point_fp_rate *\n/);
    assert.match(perTable!, /\ntemp +\d+ +4 +/);
    assert.match(perTable!, /\n\(total:\d+\) +0 +\d+ /);
    const parsed = JSON.parse(json!) as { app_stat: Record<string, Record<string, string>> };
    assert.deepEqual(Object.keys(parsed.app_stat), ['0', '1', '2', '3', '(total:4)']);
    assert.equal(parsed.app_stat['(total:4)']!.records, String(RECORDS));
    assert.equal(parsed.app_stat['0']!.pidx, '0');
    assert.match(parsed.app_stat['0']!['GET_P99(us)']!, /^\d+\.\d+$/);
    assert.doesNotMatch(onlyQps!, /file_mb/);
    assert.match(onlyQps!, /^pidx +GET /m);
  });

  test('app_stat refuses bad options and unknown tables on stderr', async () => {
    const run = await shell('app_stat -q -u', 'app_stat -i 0', 'app_stat -i soon', 'app_stat -a no_such_table -i 10');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ERROR: only_qps and only_usage should not be set at the same time\n/);
    assert.match(run.stderr, /ERROR: sample_interval_ms should be > 0\n/);
    assert.match(run.stderr, /ERROR: parse sample_interval_ms\(soon\) failed\n/);
    assert.match(run.stderr, /ERROR: query app stat from server failed: list app no_such_table failed, error=ERR_OBJECT_NOT_FOUND/);
    assert.doesNotMatch(run.stdout, /ERROR/);
  });

  test('app_disk prints each replica\'s table files and the table\'s disk use', async () => {
    const run = await shell('app_disk temp -d -j', 'app_disk temp', 'app_disk no_such_table');
    assert.equal(run.code, 1);
    const [json, text] = run.stdout.split(/(?=^\[parameters\]$)/m);
    const parsed = JSON.parse(json!) as {
      parameters: Record<string, string>; result: Record<string, string>; details: Record<string, Record<string, string>>;
    };
    assert.deepEqual(parsed.parameters, { app_name: 'temp', detailed: 'true' });
    assert.equal(parsed.result.partition_count, '4');
    assert.equal(parsed.result.max_replica_count, '3');
    assert.equal(parsed.result['partitions not counted'], '0/4');
    assert.equal(parsed.result['replicas not counted'], '0/12');
    assert.deepEqual(Object.keys(parsed.details), ['0', '1', '2', '3']);
    assert.equal(parsed.details['0']!.replica_count, '3/3');
    assert.match(parsed.details['0']!.primary!, /^127\.0\.0\.1:\d+\(\d+,#\d+\)$/);
    assert.match(parsed.details['0']!.secondaries!, /^\[127\.0\.0\.1:\d+\(\d+,#\d+\),127\.0\.0\.1:\d+\(\d+,#\d+\)\]$/);
    assert.match(text!, /^\[parameters\]\napp_name +: temp *\ndetailed +: false *\n\n\[result\]\napp_name +: temp *\n/);
    assert.match(text!, /\ndisk_used_for_all_replicas\(MB\) *: \d+\.\d{2} *\n/);
    assert.doesNotMatch(text!, /\[details\]/);
    assert.match(run.stderr, /^ERROR: list app no_such_table failed, error=ERR_OBJECT_NOT_FOUND/m);
  });

  test('server_stat samples /metrics -i ms apart; a bad interval is refused', async () => {
    const run = await shell('server_stat -t meta-server -i 100 -j', 'server_stat -t replica-server -i 100', 'server_stat -i 0');
    assert.equal(run.code, 1);
    const json = run.stdout.slice(0, run.stdout.indexOf('\n}\n') + 3);
    const parsed = JSON.parse(json) as { command: string; details: Record<string, { role: string; acked: boolean; message: Record<string, number> }> };
    assert.equal(parsed.command, 'server_stat ');
    const metaAnswer = parsed.details[cluster.metaList()]!;
    assert.equal(metaAnswer.acked, true);
    assert.deepEqual(Object.keys(metaAnswer.message), ['virt_mem_mb', 'res_mem_mb']);
    assert.ok(metaAnswer.message.res_mem_mb! > 0);
    assert.equal(run.stdout.match(/succeed: \{"virt_mem_mb":[\d.]+,"res_mem_mb":[\d.]+,"total_replicas":4,/g)?.length, 3, run.stdout);
    assert.match(run.stderr, /ERROR: sample_interval_ms should be > 0\n/);
  });

  test('copy_data -g copies records and writes their geo index records', async () => {
    const create = await shell('create geo_src -p 2 -r 3', 'create geo_dst -p 2 -r 3', 'create geo_dst_geo -p 2 -r 3');
    assert.equal(create.code, 0, create.stdout + create.stderr);
    const source = await client.openTable('geo_src');
    const points = [['beijing', '1|2|3|4|116.4074|39.9042'], ['sydney', 'a|b|c|d|151.21|-33.87|tail']] as const;
    for (const [hashKey, value] of points) await source.set(hashKey, 'poi', value);
    const run = await shell('use geo_src', `copy_data -c ${cluster.metaList()} -a geo_dst -g`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /INFO: target_geo_app_name = geo_dst_geo\n/);
    assert.match(run.stderr, /\nCopy done, total 2 rows\.\n/);
    const target = await client.openTable('geo_dst');
    const geo = await client.openTable('geo_dst_geo');
    for (const [hashKey, value] of points) {
      assert.equal((await target.get(hashKey, 'poi'))?.toString(), value);
      const keys = geoKeys(Buffer.from(hashKey), Buffer.from('poi'), Buffer.from(value))!;
      assert.equal((await geo.get(keys.hashKey, keys.sortKey))?.toString(), value);
    }
    await source.set('nowhere', 'poi', 'no coordinates');
    const bad = await shell('use geo_src', `copy_data -c ${cluster.metaList()} -a geo_dst -g`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ERROR: PERR_GEO_DECODE_VALUE_ERROR\n/);
  });
});
