// Table statistics from replica servers' /metrics samples: only primaries count, gauges are
// summed, counters become increases and rates over the samples' interval.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  appStatMetricsQuery, MetricsSampleError, parseMetricsSample, partitionRows, ratio, sumRows, tableRow, totalReadQps, totalWriteQps,
  type TablePrimaries,
} from '../../src/cluster/index.ts';

function metricsBody(timestampNs: number, replicas: Record<string, Record<string, number | { p99: number; p999: number }>>): string {
  const entities = Object.entries(replicas).map(([id, metrics]) => {
    const [appId, partitionId] = id.split('.');
    return {
      type: 'replica', id: `replica@${id}`, attributes: { table_id: appId, partition_id: partitionId },
      metrics: Object.entries(metrics).map(([name, value]) => (typeof value === 'number' ? { name, value } : { name, ...value })),
    };
  });
  return JSON.stringify({ cluster: 'c', role: 'replica', host: 'h', port: 1, timestamp_ns: timestampNs, entities });
}

const table: TablePrimaries = { appName: 'temp', appId: 2, partitionCount: 2, primaries: ['n1:1', 'n2:2'] };

describe('app stat rows', () => {
  test('rates, increases and sums are taken from each partition\'s primary only', () => {
    const start1 = parseMetricsSample(metricsBody(1e9, {
      '2.0': { get_requests: 10, put_requests: 0, read_expired_values: 1, rdb_estimated_keys: 5 },
      '2.1': { get_requests: 1000 }, // n1 is not the primary of partition 1: ignored
    }));
    const end1 = parseMetricsSample(metricsBody(3e9, {
      '2.0': { get_requests: 30, put_requests: 8, read_expired_values: 4, rdb_estimated_keys: 7, get_latency_ns: { p99: 500, p999: 900 } },
      '2.1': { get_requests: 5000 },
    }));
    const start2 = parseMetricsSample(metricsBody(10e9, { '2.1': { put_requests: 100, rdb_estimated_keys: 1 } }));
    const end2 = parseMetricsSample(metricsBody(14e9, { '2.1': { put_requests: 120, rdb_estimated_keys: 3, get_latency_ns: { p99: 700, p999: 800 } } }));
    const rows = partitionRows(table, [{ node: 'n1:1', start: start1, end: end1 }, { node: 'n2:2', start: start2, end: end2 }]);
    assert.deepEqual(rows.map((row) => row.name), ['0', '1']);
    assert.equal(rows[0]!.values.get_qps, 10);
    assert.equal(rows[0]!.values.put_qps, 4);
    assert.equal(rows[0]!.values.recent_expire_count, 3);
    assert.equal(rows[0]!.values.rdb_estimate_num_keys, 7);
    assert.equal(rows[1]!.values.get_qps, 0);
    assert.equal(rows[1]!.values.put_qps, 5);
    assert.equal(rows[1]!.values.rdb_estimate_num_keys, 3);
    const row = tableRow(table, rows);
    assert.equal(row.name, 'temp');
    assert.equal(row.partitionCount, 2);
    assert.equal(row.values.put_qps, 9);
    assert.equal(row.values.rdb_estimate_num_keys, 10);
    assert.deepEqual(row.latenciesNs.get, { p99: 700, p999: 900 });
    assert.equal(totalReadQps(row), 10);
    assert.equal(totalWriteQps(row), 9);
    const total = sumRows('_all_', [row, row]);
    assert.equal(total.partitionCount, 4);
    assert.equal(total.values.put_qps, 18);
  });

  test('a first sample gives sums only; a reset counter grew from 0', () => {
    const end = parseMetricsSample(metricsBody(2e9, { '2.0': { get_requests: 3, rdb_total_sst_files: 2 } }));
    const [first] = partitionRows(table, [{ node: 'n1:1', start: undefined, end }]);
    assert.equal(first!.values.get_qps, 0);
    assert.equal(first!.values.storage_count, 2);
    const start = parseMetricsSample(metricsBody(1e9, { '2.0': { get_requests: 50 } }));
    const [reset] = partitionRows(table, [{ node: 'n1:1', start, end }]);
    assert.equal(reset!.values.get_qps, 3);
  });

  test('a partition without a primary or a sample is all zeros', () => {
    const rows = partitionRows({ ...table, primaries: ['', 'n2:2'] }, []);
    assert.equal(rows.length, 2);
    assert.ok(rows.every((row) => Object.values(row.values).every((value) => value === 0)));
  });

  test('ratio is 0 for a zero total', () => {
    assert.equal(ratio(1, 0), 0);
    assert.equal(ratio(1, 4), 0.25);
  });

  test('a body that is not a metrics answer is refused with a clear error', () => {
    assert.throws(() => parseMetricsSample('nope'), MetricsSampleError);
    assert.throws(() => parseMetricsSample('{"entities":[]}'), /no timestamp_ns or entities/);
  });

  test('the query asks for replica entities, one table when given', () => {
    assert.match(appStatMetricsQuery(), /^\/metrics\?types=replica&with_metric_fields=name,value,p99,p999&metrics=.*get_requests.*get_latency_ns/);
    assert.match(appStatMetricsQuery(7), /&attributes=table_id,7$/);
  });
});
