// Metrics (pegasus-http §4.7, §2.3): the four metric kinds, the percentile rule, entity
// lifetime, the /metrics query and its rapidjson-pretty bytes, and the Prometheus exposition.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagFromText } from '../../src/config/index.ts';
import {
  Counter, defineMetric, Gauge, MetricRegistry, MetricsQueryError, parseMetricsQuery, Percentile, PERCENTILE_SAMPLES_MAX,
  renderMetricsError, renderMetricsJson, renderPrometheus, VolatileCounter, type MetricsHeader, type MetricsQuery,
} from '../../src/metrics/index.ts';

const GET_REQUESTS = defineMetric({
  entityType: 'server', type: 'Counter', name: 'get_requests', unit: 'Requests', desc: 'The number of GET requests',
});
const CPU_RATIO = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'cpu_ratio', unit: 'Percent', desc: 'CPU share', isDouble: true,
});
const ZERO_RATIO = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'zero_ratio', unit: 'Percent', desc: 'Always zero', isDouble: true,
});
const MEMORY_USED = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'memory_used', unit: 'MegaBytes', desc: 'Memory in use',
});
const RESETS = defineMetric({
  entityType: 'server', type: 'VolatileCounter', name: 'recent_resets', unit: 'Resets', desc: 'Resets since the last read',
});
const GET_LATENCY = defineMetric({
  entityType: 'replica', type: 'Percentile', name: 'get_latency_ns', unit: 'NanoSeconds', desc: 'GET latency',
});
const PUT_REQUESTS = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'put_requests', unit: 'Requests', desc: 'The number of PUT requests',
});
const TAIL_LATENCY = defineMetric({
  entityType: 'replica', type: 'Percentile', name: 'tail_latency_ns', unit: 'NanoSeconds', desc: 'Tail', kinds: ['p95', 'p99'],
});

const HEADER: MetricsHeader = {
  cluster: 'onebox', role: 'replica', host: 'host-1', port: 34801, timestampNs: 1715750000123456789n,
};

function query(params: Record<string, string> = {}): MetricsQuery {
  return parseMetricsQuery(new Map(Object.entries(params)));
}

/** Fisher–Yates with a seeded generator, so percentile inputs arrive out of order. */
function shuffled(values: number[], seed: number): number[] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const copy = [...values];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(next() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, index) => from + index);

describe('metric kinds', () => {
  it('Counter increases monotonically and is not reset by reading', () => {
    const counter = new Counter(GET_REQUESTS);
    assert.equal(counter.value, 0);
    counter.increment();
    counter.increment(4);
    assert.equal(counter.value, 5);
    assert.equal(counter.value, 5);
  });

  it('VolatileCounter returns the count since the previous read', () => {
    const counter = new VolatileCounter(RESETS);
    counter.increment(3);
    counter.increment();
    assert.equal(counter.take(), 4);
    assert.equal(counter.take(), 0);
    counter.increment(2);
    assert.equal(counter.take(), 2);
  });

  it('Gauge holds a value, or reads its sampler every time', () => {
    const gauge = new Gauge(MEMORY_USED);
    gauge.set(10);
    gauge.add(5);
    gauge.add(-3);
    assert.equal(gauge.value, 12);
    let calls = 0;
    const sampled = new Gauge(MEMORY_USED).sampleWith(() => ++calls * 100);
    assert.equal(sampled.value, 100);
    assert.equal(sampled.value, 200);
  });
});

describe('Percentile', () => {
  it('is zero for every kind before the first recompute, and with no samples', () => {
    const percentile = new Percentile(GET_LATENCY);
    for (const kind of percentile.kinds) assert.equal(percentile.get(kind), 0);
    percentile.recompute();
    for (const kind of percentile.kinds) assert.equal(percentile.get(kind), 0);
    percentile.observe(7);
    for (const kind of percentile.kinds) assert.equal(percentile.get(kind), 0, 'not yet recomputed');
    percentile.recompute();
    for (const kind of percentile.kinds) assert.equal(percentile.get(kind), 7);
  });

  it('takes the sample at index floor(n * k) of the sorted samples', () => {
    const percentile = new Percentile(GET_LATENCY);
    for (const value of shuffled(range(1, 100), 1)) percentile.observe(value);
    percentile.recompute();
    // sorted[50] = 51, sorted[90] = 91, sorted[95] = 96, sorted[99] = 100, sorted[floor(99.9)] = 100.
    assert.deepEqual(percentile.kinds.map((kind) => percentile.get(kind)), [51, 91, 96, 100, 100]);

    const ten = new Percentile(GET_LATENCY);
    for (const value of shuffled(range(0, 10).map((index) => index * 10), 2)) ten.observe(value);
    ten.recompute();
    // n = 10: indexes 5, 9, floor(9.5) = 9, 9, 9.
    assert.deepEqual(ten.kinds.map((kind) => ten.get(kind)), [50, 90, 90, 90, 90]);

    const three = new Percentile(GET_LATENCY);
    for (const value of [30, 10, 20]) three.observe(value);
    three.recompute();
    // n = 3: indexes floor(1.5) = 1, floor(2.7) = 2, ...
    assert.deepEqual(three.kinds.map((kind) => three.get(kind)), [20, 30, 30, 30, 30]);
  });

  it('sorts numerically, not as text', () => {
    const percentile = new Percentile(GET_LATENCY);
    for (const value of [9, 10, 100, 1000, 2]) percentile.observe(value);
    percentile.recompute();
    assert.equal(percentile.get('p50'), 10);
    assert.equal(percentile.get('p99'), 1000);
  });

  it('keeps only the 4096 most recent samples', () => {
    assert.equal(PERCENTILE_SAMPLES_MAX, 4096);
    const percentile = new Percentile(GET_LATENCY);
    const total = PERCENTILE_SAMPLES_MAX + 100;
    for (let value = 0; value < total; value++) percentile.observe(value);
    assert.equal(percentile.observations, total);
    percentile.recompute();
    // Samples 100..4195 remain: index 2048 → 2148; floor(4096 * 0.999) = 4091 → 4191.
    assert.equal(percentile.get('p50'), 100 + 2048);
    assert.equal(percentile.get('p90'), 100 + Math.floor(4096 * 0.9));
    assert.equal(percentile.get('p95'), 100 + Math.floor(4096 * 0.95));
    assert.equal(percentile.get('p99'), 100 + Math.floor(4096 * 0.99));
    assert.equal(percentile.get('p999'), 100 + 4091);
    // A full ring of new samples replaces every old one.
    for (let index = 0; index < PERCENTILE_SAMPLES_MAX; index++) percentile.observe(1);
    percentile.recompute();
    assert.equal(percentile.get('p999'), 1);
  });

  it('keeps its values when traffic stops', () => {
    const percentile = new Percentile(GET_LATENCY);
    for (const value of range(1, 100)) percentile.observe(value);
    percentile.recompute();
    percentile.recompute();
    assert.equal(percentile.get('p50'), 51);
  });

  it('computes only the configured kinds', () => {
    const percentile = new Percentile(TAIL_LATENCY);
    assert.deepEqual(percentile.kinds, ['p95', 'p99']);
    for (const value of range(1, 100)) percentile.observe(value);
    percentile.recompute();
    assert.equal(percentile.get('p95'), 96);
    assert.equal(percentile.get('p50'), undefined);
  });
});

describe('MetricRegistry', () => {
  it('reuses an entity by id and replaces its attributes', () => {
    const registry = new MetricRegistry();
    const first = registry.entity('replica', 'replica@1.0', { table_id: '1', partition_id: '0' });
    first.counter(PUT_REQUESTS).increment(2);
    const again = registry.entity('replica', 'replica@1.0', { table_id: '1' });
    assert.equal(again, first);
    assert.deepEqual(again.attributes, { table_id: '1' });
    assert.equal(again.counter(PUT_REQUESTS).value, 2, 'the metric is reused too');
    registry.entity('replica', 'replica@1.0');
    assert.deepEqual(first.attributes, {}, 'no attributes given: none kept');
    assert.throws(() => registry.entity('table', 'replica@1.0'), /exists with type replica/);
    assert.deepEqual([...registry.entities()].map((entity) => entity.id), ['replica@1.0']);
  });

  it('checks metric prototypes against the entity', () => {
    const registry = new MetricRegistry();
    const server = registry.entity('server', 'server');
    assert.equal(server.counter(GET_REQUESTS), server.counter(GET_REQUESTS));
    assert.throws(() => server.percentile(GET_LATENCY), /belongs to replica/);
    assert.throws(() => server.gauge(GET_REQUESTS), /is not a Gauge/);
    const twin = defineMetric({ ...GET_REQUESTS });
    assert.throws(() => server.counter(twin), /declared twice/);
  });

  it('keeps a retired entity for entity_retirement_delay_ms, then drops it', () => {
    const registry = new MetricRegistry();
    const entity = registry.entity('replica', 'replica@2.3', { table_id: '2' });
    entity.counter(PUT_REQUESTS).increment(9);
    const ids = (nowMs: number): string[] => [...registry.entities(nowMs)].map((each) => each.id);

    entity.retire(1000);
    assert.deepEqual(ids(1000 + 600000 - 1), ['replica@2.3'], 'still visible with its last values');
    assert.equal(entity.counter(PUT_REQUESTS).value, 9);
    assert.deepEqual(ids(1000 + 600000), []);
    const fresh = registry.entity('replica', 'replica@2.3', { table_id: '2' });
    assert.notEqual(fresh, entity);
    assert.equal(fresh.metrics.size, 0);
  });

  it('revives a retired entity that is re-created in time', () => {
    const registry = new MetricRegistry();
    const entity = registry.entity('replica', 'replica@2.4', { table_id: '2' });
    entity.retire(0);
    assert.equal(registry.entity('replica', 'replica@2.4', { table_id: '3' }), entity);
    assert.equal(entity.retiredAtMs, undefined);
    assert.deepEqual(entity.attributes, { table_id: '3' });
    assert.equal([...registry.entities(10 ** 9)].length, 1);
  });

  it('reads the retirement delay from its flag', () => {
    const registry = new MetricRegistry();
    setFlagFromText('entity_retirement_delay_ms', '5000', true);
    try {
      registry.entity('server', 'server').retire(100);
      assert.equal([...registry.entities(5099)].length, 1);
      assert.equal([...registry.entities(5100)].length, 0);
    } finally {
      setFlagFromText('entity_retirement_delay_ms', '600000', true);
    }
  });

  it('recomputes the percentiles of its entities, and forgets those of dropped entities', () => {
    const registry = new MetricRegistry();
    const live = registry.entity('replica', 'replica@1.0').percentile(GET_LATENCY);
    const retired = registry.entity('replica', 'replica@1.1');
    const gone = retired.percentile(GET_LATENCY);
    live.observe(5);
    gone.observe(6);
    registry.recomputePercentiles();
    assert.equal(live.get('p50'), 5);
    assert.equal(gone.get('p50'), 6);
    retired.retire(0);
    [...registry.entities(600000)];
    live.observe(1);
    live.observe(1);
    gone.observe(1);
    gone.observe(1);
    registry.recomputePercentiles();
    assert.equal(live.get('p50'), 1);
    assert.equal(gone.get('p50'), 6, 'no longer tracked');
  });
});

describe('parseMetricsQuery', () => {
  function errorOf(params: Record<string, string>): string {
    try {
      query(params);
    } catch (error) {
      assert.ok(error instanceof MetricsQueryError);
      return error.message;
    }
    assert.fail('expected a MetricsQueryError');
  }

  it('rejects bad parameters with the exact messages', () => {
    assert.equal(errorOf({ invalid_field: 'unknown_value' }), 'unknown field invalid_field=unknown_value');
    assert.equal(errorOf({ '': '' }), 'unknown field =');
    const odd = 'the number of arguments for attributes should be even, since each attribute name always pairs with a value';
    assert.equal(errorOf({ attributes: 'table' }), odd);
    assert.equal(errorOf({ attributes: 'table,test_app_5,partition' }), odd);
    const detail = 'the value of detail should be a boolean value, i.e. true or false';
    assert.equal(errorOf({ detail: '' }), detail);
    assert.equal(errorOf({ detail: 'yes' }), detail);
    assert.equal(errorOf({ detail: '1' }), detail);
  });

  it('splits comma lists, trimming blanks and dropping empty items', () => {
    const parsed = query({ types: ' replica ,\tserver,,', ids: '', metrics: 'a, b', attributes: 'table_id, 1 ,partition_id,0' });
    assert.deepEqual([...parsed.types], ['replica', 'server']);
    assert.equal(parsed.ids.size, 0);
    assert.deepEqual([...parsed.metrics], ['a', 'b']);
    assert.deepEqual(parsed.attributes, [['table_id', '1'], ['partition_id', '0']]);
  });

  it('selects the brief set, all fields, or exactly the listed ones', () => {
    assert.equal(query().fields, undefined);
    assert.equal(query({ detail: 'false' }).fields, undefined);
    assert.equal(query({ detail: 'FALSE' }).fields, undefined);
    const all = ['type', 'name', 'unit', 'desc', 'value', 'p50', 'p90', 'p95', 'p99', 'p999'];
    assert.deepEqual([...query({ detail: 'True' }).fields!], all);
    assert.deepEqual([...query({ with_metric_fields: 'name,p99' }).fields!], ['name', 'p99']);
    // with_metric_fields wins over detail; an empty list means every field.
    assert.deepEqual([...query({ with_metric_fields: 'name,desc', detail: 'true' }).fields!], ['name', 'desc']);
    assert.deepEqual([...query({ detail: 'true', with_metric_fields: 'name' }).fields!], ['name']);
    assert.deepEqual([...query({ with_metric_fields: '' }).fields!], all);
    assert.deepEqual([...query({ with_metric_fields: ' , ' }).fields!], all);
  });
});

/** The small registry whose output the rendering tests spell out byte for byte. */
function sampleRegistry(): MetricRegistry {
  const registry = new MetricRegistry();
  const server = registry.entity('server', 'server');
  server.counter(GET_REQUESTS).increment(3);
  server.gauge(CPU_RATIO).set(1.5);
  server.gauge(ZERO_RATIO);
  server.gauge(MEMORY_USED).set(100);
  const replica = registry.entity('replica', 'replica@1.0', { table_id: '1', partition_id: '0' });
  const latency = replica.percentile(GET_LATENCY);
  for (const value of shuffled(range(1, 100), 3)) latency.observe(value);
  registry.entity('replica', 'replica@1.1', { table_id: '1', partition_id: '1' }); // no metrics: never shown
  registry.recomputePercentiles();
  return registry;
}

const BRIEF_JSON = `{
    "cluster": "onebox",
    "role": "replica",
    "host": "host-1",
    "port": 34801,
    "timestamp_ns": 1715750000123456789,
    "entities": [
        {
            "type": "server",
            "id": "server",
            "attributes": {},
            "metrics": [
                {
                    "name": "get_requests",
                    "value": 3
                },
                {
                    "name": "cpu_ratio",
                    "value": 1.5
                },
                {
                    "name": "zero_ratio",
                    "value": 0.0
                },
                {
                    "name": "memory_used",
                    "value": 100
                }
            ]
        },
        {
            "type": "replica",
            "id": "replica@1.0",
            "attributes": {
                "table_id": "1",
                "partition_id": "0"
            },
            "metrics": [
                {
                    "name": "get_latency_ns",
                    "p50": 51,
                    "p90": 91,
                    "p95": 96,
                    "p99": 100,
                    "p999": 100
                }
            ]
        }
    ]
}`;

describe('renderMetricsJson', () => {
  const render = (registry: MetricRegistry, params: Record<string, string> = {}): string =>
    renderMetricsJson(HEADER, registry.entities(), query(params));

  it('prints the brief view in rapidjson pretty layout, exactly', () => {
    const text = render(sampleRegistry());
    assert.equal(text, BRIEF_JSON);
    assert.doesNotThrow(() => JSON.parse(text));
  });

  it('prints every field with detail=true', () => {
    const registry = sampleRegistry();
    assert.equal(
      render(registry, { detail: 'true', types: 'server', metrics: 'get_requests,cpu_ratio' }),
      `{
    "cluster": "onebox",
    "role": "replica",
    "host": "host-1",
    "port": 34801,
    "timestamp_ns": 1715750000123456789,
    "entities": [
        {
            "type": "server",
            "id": "server",
            "attributes": {},
            "metrics": [
                {
                    "type": "Counter",
                    "name": "get_requests",
                    "unit": "Requests",
                    "desc": "The number of GET requests",
                    "value": 3
                },
                {
                    "type": "Gauge",
                    "name": "cpu_ratio",
                    "unit": "Percent",
                    "desc": "CPU share",
                    "value": 1.5
                }
            ]
        }
    ]
}`,
    );
  });

  it('prints "entities": [] when nothing matches', () => {
    assert.equal(
      render(sampleRegistry(), { types: 'unknown_type' }),
      `{
    "cluster": "onebox",
    "role": "replica",
    "host": "host-1",
    "port": 34801,
    "timestamp_ns": 1715750000123456789,
    "entities": []
}`,
    );
  });

  it('prints {} for a metric with none of the listed fields, and keeps its entity', () => {
    const text = render(sampleRegistry(), { with_metric_fields: 'p42', ids: 'replica@1.0' });
    assert.ok(text.includes(`            "metrics": [
                {}
            ]`), text);
    const parsed = JSON.parse(text) as { entities: Array<{ metrics: unknown[] }> };
    assert.deepEqual(parsed.entities[0]!.metrics, [{}]);
  });

  it('emits exactly the listed fields that exist, in Pegasus order', () => {
    const registry = sampleRegistry();
    registry.entity('replica', 'replica@1.0').percentile(TAIL_LATENCY);
    const metricsOf = (params: Record<string, string>): unknown =>
      (JSON.parse(render(registry, params)) as { entities: Array<{ id: string; metrics: unknown[] }> }).entities.map(
        (entity) => [entity.id, entity.metrics],
      );
    assert.deepEqual(metricsOf({ types: 'replica', with_metric_fields: 'p99,name,value' }), [
      ['replica@1.0', [{ name: 'get_latency_ns', p99: 100 }, { name: 'tail_latency_ns', p99: 0 }]],
    ]);
    assert.deepEqual(metricsOf({ metrics: 'tail_latency_ns' }), [['replica@1.0', [{ name: 'tail_latency_ns', p95: 0, p99: 0 }]]]);
    assert.deepEqual(metricsOf({ metrics: 'tail_latency_ns', detail: 'true' }), [
      ['replica@1.0', [{ type: 'Percentile', name: 'tail_latency_ns', unit: 'NanoSeconds', desc: 'Tail', p95: 0, p99: 0 }]],
    ]);
    assert.deepEqual(metricsOf({ metrics: 'tail_latency_ns', with_metric_fields: 'name,desc', detail: 'true' }), [
      ['replica@1.0', [{ name: 'tail_latency_ns', desc: 'Tail' }]],
    ]);
    assert.deepEqual(metricsOf({ metrics: 'memory_used', with_metric_fields: '' }), [
      ['server', [{ type: 'Gauge', name: 'memory_used', unit: 'MegaBytes', desc: 'Memory in use', value: 100 }]],
    ]);
  });

  it('ANDs the filters and ORs the attribute pairs', () => {
    const registry = new MetricRegistry();
    for (const [id, table, partition] of [['replica@5.0', 'test_app_5', '5.0'], ['replica@5.1', 'test_app_5', '5.1'], ['replica@6.1', 'other', '5.1'], ['replica@7.0', 'x', '7.0']]) {
      registry.entity('replica', id!, { table: table!, partition: partition! }).counter(PUT_REQUESTS).increment();
    }
    registry.entity('server', 'server').counter(GET_REQUESTS);
    const idsOf = (params: Record<string, string>): string[] =>
      (JSON.parse(render(registry, params)) as { entities: Array<{ id: string }> }).entities.map((entity) => entity.id);
    assert.deepEqual(idsOf({}), ['replica@5.0', 'replica@5.1', 'replica@6.1', 'replica@7.0', 'server']);
    assert.deepEqual(idsOf({ types: 'unknown_type,server' }), ['server']);
    assert.deepEqual(idsOf({ attributes: 'table,test_app_5,partition,5.1' }), ['replica@5.0', 'replica@5.1', 'replica@6.1']);
    assert.deepEqual(idsOf({ attributes: 'table,test_app_5', ids: 'replica@5.1,replica@6.1' }), ['replica@5.1']);
    assert.deepEqual(idsOf({ types: 'replica', metrics: 'get_requests' }), []);
    assert.deepEqual(idsOf({ metrics: 'get_requests' }), ['server']);
    assert.deepEqual(idsOf({ attributes: 'Table,test_app_5' }), [], 'matching is case-sensitive');
  });

  it('resets a VolatileCounter only when its value is emitted', () => {
    const registry = new MetricRegistry();
    const resets = registry.entity('server', 'server').volatileCounter(RESETS);
    resets.increment(4);
    const valueOf = (params: Record<string, string>): unknown =>
      (JSON.parse(render(registry, params)) as { entities: Array<{ metrics: Array<{ value?: number }> }> }).entities[0]!.metrics[0]!.value;
    assert.equal(valueOf({ with_metric_fields: 'name' }), undefined);
    assert.equal(valueOf({}), 4);
    assert.equal(valueOf({}), 0);
  });

  it('prints doubles as rapidjson does, and strings with its escapes', () => {
    const registry = new MetricRegistry();
    const server = registry.entity('server', 'server', { note: 'tab\there "q" \\ \u0001' });
    const ratio = server.gauge(CPU_RATIO);
    const printed = (value: number): string => {
      ratio.set(value);
      const line = render(registry, { metrics: 'cpu_ratio' }).split('\n').find((each) => each.includes('"value"'))!;
      return line.trim().slice('"value": '.length);
    };
    assert.equal(printed(0), '0.0');
    assert.equal(printed(2), '2.0');
    assert.equal(printed(-1.25), '-1.25');
    assert.equal(printed(0.1), '0.1');
    assert.equal(printed(1e20), '100000000000000000000.0');
    assert.equal(printed(1e21), '1e21');
    assert.equal(printed(1.5e-7), '1.5e-7');
    assert.ok(render(registry).includes(`"note": "tab\\there \\"q\\" \\\\ \\u0001"`));
    server.gauge(MEMORY_USED).set(2 ** 62);
    assert.ok(render(registry, { metrics: 'memory_used' }).includes('"value": 4611686018427387904'));
  });

  it('prints errors as a one-member object', () => {
    assert.equal(renderMetricsError('unknown field foo=bar'), '{\n    "error_message": "unknown field foo=bar"\n}');
  });
});

describe('renderPrometheus', () => {
  const FAST_LATENCY = defineMetric({
    entityType: 'replica', type: 'Percentile', name: 'get_latency_ns', unit: 'NanoSeconds', desc: 'GET latency',
    buckets: [0.00000005, 0.0000001], prometheus: { name: 'request_latency', labels: { op: 'get' }, help: 'Latency by operation' },
  });
  const OP_REQUESTS = defineMetric({
    entityType: 'replica', type: 'Counter', name: 'put_requests', unit: 'Requests', desc: 'PUT requests',
    prometheus: { name: 'requests', labels: { op: 'put' }, help: 'Requests by operation' },
  });

  it('names families pteron_<entity>_<name> in base units, counters _total, percentiles as histograms with the operation as a label', () => {
    const registry = new MetricRegistry();
    const server = registry.entity('server', 'server');
    server.counter(GET_REQUESTS).increment(3);
    server.gauge(CPU_RATIO).set(150);
    server.gauge(MEMORY_USED).set(2);
    const replica = registry.entity('replica', 'replica@1.0', { table_id: '1', partition_id: '0' });
    const latency = replica.percentile(FAST_LATENCY);
    for (const value of range(1, 200)) latency.observe(value);
    replica.counter(OP_REQUESTS).increment(2);
    const other = registry.entity('replica', 'replica@2.0', { table_name: 'a"b\\c\nd', 'bad-name:x': 'x' });
    other.counter(OP_REQUESTS).increment(5);
    const text = renderPrometheus({ cluster: 'onebox', role: 'replica' }, registry.entities(), query());
    const common = 'cluster="onebox",role="replica"';
    const first = `${common},table_id="1",partition_id="0"`;
    assert.equal(
      text,
      [
        '# HELP pteron_server_get_requests_total The number of GET requests',
        '# TYPE pteron_server_get_requests_total counter',
        `pteron_server_get_requests_total{${common}} 3`,
        '# HELP pteron_server_cpu_ratio CPU share',
        '# TYPE pteron_server_cpu_ratio gauge',
        `pteron_server_cpu_ratio{${common}} 1.5`,
        '# HELP pteron_server_memory_used_bytes Memory in use',
        '# TYPE pteron_server_memory_used_bytes gauge',
        `pteron_server_memory_used_bytes{${common}} 2097152`,
        '# HELP pteron_replica_request_latency_seconds Latency by operation',
        '# TYPE pteron_replica_request_latency_seconds histogram',
        `pteron_replica_request_latency_seconds_bucket{${first},op="get",le="5e-8"} 50`,
        `pteron_replica_request_latency_seconds_bucket{${first},op="get",le="1e-7"} 100`,
        `pteron_replica_request_latency_seconds_bucket{${first},op="get",le="+Inf"} 200`,
        `pteron_replica_request_latency_seconds_sum{${first},op="get"} ${20100 * 1e-9}`,
        `pteron_replica_request_latency_seconds_count{${first},op="get"} 200`,
        '# HELP pteron_replica_requests_total Requests by operation',
        '# TYPE pteron_replica_requests_total counter',
        `pteron_replica_requests_total{${first},op="put"} 2`,
        `pteron_replica_requests_total{${common},table_name="a\\"b\\\\c\\nd",bad_name_x="x",op="put"} 5`,
        '',
      ].join('\n'),
    );
  });

  it('applies the query filters, and prints nothing when nothing matches', () => {
    const registry = sampleRegistry();
    const filtered = renderPrometheus({}, registry.entities(), query({ types: 'server', metrics: 'memory_used' }));
    assert.equal(filtered, '# HELP pteron_server_memory_used_bytes Memory in use\n# TYPE pteron_server_memory_used_bytes gauge\npteron_server_memory_used_bytes 104857600\n');
    assert.equal(renderPrometheus({}, registry.entities(), query({ types: 'none' })), '');
  });

  it('reads without resetting: a VolatileCounter is scraped as its total since start', () => {
    const registry = new MetricRegistry();
    const prototype = defineMetric({ entityType: 'server', type: 'VolatileCounter', name: 'odd', unit: 'Resets', desc: 'a\\b\nc' });
    const counter = registry.entity('server', 'server').volatileCounter(prototype);
    counter.increment(5);
    const render = (): string => renderPrometheus({}, registry.entities(), query());
    const expected = '# HELP pteron_server_odd_total a\\\\b\\nc\n# TYPE pteron_server_odd_total counter\npteron_server_odd_total 5\n';
    assert.equal(render(), expected);
    assert.equal(render(), expected);
    assert.equal(counter.take(), 5);
    assert.equal(render(), expected);
  });

  it('leaves out the metrics marked omit', () => {
    const registry = new MetricRegistry();
    const prototype = defineMetric({ entityType: 'server', type: 'Gauge', name: 'rss_mb', unit: 'MegaBytes', desc: 'x', prometheus: { omit: true } });
    registry.entity('server', 'server').gauge(prototype).set(1);
    assert.equal(renderPrometheus({}, registry.entities(), query()), '');
  });
});
