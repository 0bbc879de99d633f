// The collector's counters from rows (Pegasus's names, per-million ratios, /perfCounter JSON)
// and its hot-partition analysis.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptyRow } from '../../src/cluster/index.ts';
import { appStatCounters, HotspotCalculator, hotspotCounters, renderPerfCounter } from '../../src/cli/collector/counters.ts';
import { CollectedCounters, perfCounterAnswer } from '../../src/cli/collector/role.ts';

describe('collector counters', () => {
  test('a table row becomes Pegasus\'s app.stat counters', () => {
    const row = emptyRow('temp', 2, 4);
    row.values.get_qps = 2.5;
    row.values.scan_qps = 1;
    row.values.rdb_block_cache_hit_count = 1;
    row.values.rdb_block_cache_total_count = 4;
    row.values.rdb_write_amplification = 8;
    row.latenciesNs.get = { p99: 1234.5, p999: 2000 };
    const counters = new Map(appStatCounters(row).map((counter) => [counter.name.replace('collector*app.pegasus*app.stat.', ''), counter]));
    assert.equal(counters.get('get_qps#temp')!.value, 2.5);
    assert.equal(counters.get('read_qps#temp')!.value, 3.5);
    assert.equal(counters.get('rdb_block_cache_hit_rate#temp')!.value, 250000);
    assert.equal(counters.get('rdb_write_amplification#temp')!.value, 2);
    assert.equal(renderPerfCounter(counters.get('get_qps#temp')!),
      '{"name":"collector*app.pegasus*app.stat.get_qps#temp","value":"2.50","type":"NUMBER","description":"statistic the get_qps of app temp"}\n');
    assert.equal(renderPerfCounter(counters.get('get_latency#temp')!),
      '{"name":"collector*app.pegasus*app.stat.get_latency#temp","p99":"1234.50","p999":"2000.00","type":"PERCENTILE","description":"statistic the get_latency (ns) of app temp"}\n');
  });

  test('/perfCounter answers a known name, 404s an unknown one and 400s other keys', () => {
    const counters = new CollectedCounters();
    assert.match(perfCounterAnswer(counters, new Map([['name', 'x']])).body, /no statistics collected yet/);
    counters.replace(appStatCounters(emptyRow('_all_')), 1);
    const found = perfCounterAnswer(counters, new Map([['name', 'collector*app.pegasus*app.stat.read_qps#_all_']]));
    assert.equal(found.status, 200);
    assert.equal(found.body, '{"name":"collector*app.pegasus*app.stat.read_qps#_all_","value":"0.00","type":"NUMBER","description":"statistic the read_qps of app _all_"}\n');
    const missing = perfCounterAnswer(counters, new Map([['name', 'collector*app.pegasus*app.stat.read_qps#nope']]));
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { error: 'ERR_OBJECT_NOT_FOUND', message: 'no perf counter named "collector*app.pegasus*app.stat.read_qps#nope"' });
    assert.equal(perfCounterAnswer(counters, new Map()).status, 404);
    assert.deepEqual(perfCounterAnswer(counters, new Map([['name', 'a'], ['other', 'b']])), { status: 400, body: '' });
  });

  test('a partition far above the others is hot', () => {
    const calculator = new HotspotCalculator(4, () => ({ historyMax: 100, hotThreshold: 3 }));
    const round = (qps: number[]) => qps.map((value, index) => {
      const row = emptyRow(String(index));
      row.values.get_qps = value;
      return row;
    });
    assert.deepEqual(calculator.add(round([0, 0, 0, 0])).points.read, [0, 0, 0, 0]);
    for (let index = 0; index < 5; index++) calculator.add(round([10, 10, 10, 10]));
    const result = calculator.add(round([10, 10, 10, 300]));
    assert.equal(result.points.read[0], 0);
    assert.ok(result.points.read[3]! >= 3, String(result.points.read));
    assert.equal(result.hotPartitions.read, 1);
    assert.equal(result.hotPartitions.write, 0);
    const names = hotspotCounters('temp', result).map((counter) => counter.name);
    assert.ok(names.includes('collector*app.pegasus*app.stat.hotspots@temp.read.3'));
    assert.ok(names.includes('collector*app.pegasus*app.stat.hotspots.temp.write.total'));
  });
});
