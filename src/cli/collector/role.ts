// `pteron collector`: Pegasus's info_collector. Every `app_stat_interval_seconds` it asks the
// meta (config `meta_server.server_list`) for the alive replica servers and the available
// tables, samples every replica server's /metrics, and turns the growth since the previous
// round into each table's statistics, computed as the shell's app_stat computes them. It
// serves them as the legacy `/perfCounter?name=` counters and as gauges in its own /metrics
// (JSON and Prometheus). It runs the shell's table-statistics code, as Pegasus's collector
// runs its shell's.
import { log, parseHostPortList } from '../../base/index.ts';
import {
  appStatMetricsQuery, metaServerList, MetricsSampleError, partitionRows, sumRows, tableRow, totalReadQps, totalWriteQps, type MetricsSample,
  type StatRow,
} from '../../cluster/index.ts';
import { defineFlag, type LoadedConfig } from '../../config/index.ts';
import { defineMetric, metricRegistry, type Gauge, type MetricEntity, type MetricPrototype, type Unit } from '../../metrics/index.ts';
import type { PteronServer } from '../../server/index.ts';
import { aliveReplicaServers, availableTables, fetchMetricsSamples, MetaClient } from '../shell/index.ts';
import {
  ALL_TABLES_ROW, appStatCounters, HotspotCalculator, hotspotCounters, renderPerfCounter, type HotspotResult, type PerfCounter,
} from './counters.ts';

export const appStatIntervalSeconds = defineFlag({
  section: 'pegasus.collector',
  name: 'app_stat_interval_seconds',
  type: 'FV_UINT32',
  default: 10,
  description: 'app stat interval seconds',
  validator: (value) => value >= 1,
});

export const maxHotspotStoreSize = defineFlag({
  section: 'pegasus.collector',
  name: 'max_hotspot_store_size',
  type: 'FV_INT64',
  default: 100,
  description: 'the max count of historical data stored in calculator, The FIFO queue design is used to eliminate outdated historical data',
  validator: (value) => value >= 1,
});

export const hotPartitionThreshold = defineFlag({
  section: 'pegasus.collector',
  name: 'hot_partition_threshold',
  type: 'FV_UINT32',
  default: 3,
  description: 'threshold of hotspot partition value, if app.stat.hotspots >= FLAGS_hotpartition_threshold, this partition is a hot partition',
  mutable: true,
});

/** What one round of the collector found: the counters by full name. */
export class CollectedCounters {
  private counters = new Map<string, PerfCounter>();
  /** When the last round that published finished (ms since the Unix epoch; 0: none yet). */
  publishedAtMs = 0;

  replace(counters: readonly PerfCounter[], nowMs: number): void {
    this.counters = new Map(counters.map((counter) => [counter.name, counter]));
    this.publishedAtMs = nowMs;
  }

  find(name: string): PerfCounter | undefined {
    return this.counters.get(name);
  }
}

// ---------------------------------------------------------------------------------------------
// The collector's own metrics: entity `app_stat@<table>` (and `app_stat@_all_`) with one gauge
// per NUMBER counter and a p99/p999 pair per latency, `app_stat_partition@<table>.<index>`
// with the partition's qps and hot points.

const prototypes = new Map<string, MetricPrototype>();

function unitOf(name: string): Unit {
  if (name.endsWith('_bytes') || name.endsWith('_mem_usage')) return 'Bytes';
  if (name === 'storage_mb') return 'MegaBytes';
  if (name === 'storage_count') return 'Files';
  if (name.endsWith('_cu')) return 'CapacityUnits';
  if (name.endsWith('_num_keys')) return 'Keys';
  if (name.endsWith('_amplification')) return 'Amplification';
  if (name.endsWith('_ns')) return 'NanoSeconds';
  if (name.includes('hotspot')) return 'Partitions';
  return 'Requests';
}

function gaugeOf(entity: MetricEntity, name: string, desc: string): Gauge {
  const key = `${entity.type}/${name}`;
  let prototype = prototypes.get(key);
  if (!prototype) {
    prototype = defineMetric({ entityType: entity.type, type: 'Gauge', name, unit: unitOf(name), desc, isDouble: true });
    prototypes.set(key, prototype);
  }
  return entity.gauge(prototype);
}

/** The metric name of a counter: `collector*app.pegasus*app.stat.get_qps#temp` → `get_qps`. */
function shortName(counter: PerfCounter): string {
  return counter.name.replace(/^.*\*app\.stat\./, '').replace(/#.*$/, '');
}

function publishTableMetrics(row: StatRow, counters: readonly PerfCounter[], live: Set<MetricEntity>): void {
  const entity = metricRegistry.entity('app_stat', `app_stat@${row.name}`, { table_name: row.name });
  live.add(entity);
  for (const counter of counters) {
    const name = shortName(counter);
    if (counter.type === 'PERCENTILE') {
      gaugeOf(entity, `${name}_p99_ns`, `The highest p99 ${name} among the primaries, in nanoseconds`).set(counter.p99 ?? 0);
      gaugeOf(entity, `${name}_p999_ns`, `The highest p999 ${name} among the primaries, in nanoseconds`).set(counter.p999 ?? 0);
    } else {
      gaugeOf(entity, name, counter.description.replace(` of app ${row.name}`, ' of the table')).set(counter.value ?? 0);
    }
  }
}

function publishPartitionMetrics(appName: string, rows: readonly StatRow[], hotspots: HotspotResult, live: Set<MetricEntity>): void {
  rows.forEach((row, index) => {
    const entity = metricRegistry.entity('app_stat_partition', `app_stat_partition@${appName}.${index}`, { table_name: appName, partition_id: String(index) });
    live.add(entity);
    gaugeOf(entity, 'read_qps', 'The read requests per second of the partition').set(totalReadQps(row));
    gaugeOf(entity, 'write_qps', 'The write requests per second of the partition').set(totalWriteQps(row));
    gaugeOf(entity, 'read_hotspot', 'The read hot points of the partition').set(hotspots.points.read[index] ?? 0);
    gaugeOf(entity, 'write_hotspot', 'The write hot points of the partition').set(hotspots.points.write[index] ?? 0);
  });
}

// ---------------------------------------------------------------------------------------------

export class AppStatCollector {
  readonly counters = new CollectedCounters();
  /** Each replica server's sample of the previous round: the start of this round's rates. */
  private previous = new Map<string, MetricsSample>();
  private hotspots = new Map<string, HotspotCalculator>();
  private live = new Set<MetricEntity>();

  constructor(private readonly meta: MetaClient) {}

  /**
   * One round. The first only takes the samples rates start from; a round whose meta queries or
   * samples fail publishes nothing (the next one measures from the last good samples).
   */
  async round(nowMs = Date.now()): Promise<void> {
    const nodes = await aliveReplicaServers(this.meta);
    if ('error' in nodes) return void log.warn({ err: nodes.error }, 'app stat round skipped');
    const tables = await availableTables(this.meta);
    if ('error' in tables) return void log.warn({ err: tables.error }, 'app stat round skipped');
    let samples: MetricsSample[];
    try {
      samples = await fetchMetricsSamples(nodes, appStatMetricsQuery());
    } catch (error) {
      if (!(error instanceof MetricsSampleError)) throw error;
      return void log.warn({ err: error.message }, 'app stat round skipped');
    }
    const hadBaseline = this.previous.size > 0;
    const nodeSamples = nodes.map((node, at) => ({ node, start: this.previous.get(node), end: samples[at]! }));
    this.previous = new Map(nodes.map((node, at) => [node, samples[at]!]));
    if (!hadBaseline) return;

    const counters: PerfCounter[] = [];
    const tableRows: StatRow[] = [];
    const live = new Set<MetricEntity>();
    const calculators = new Map<string, HotspotCalculator>();
    for (const table of tables) {
      const partitions = partitionRows(table, nodeSamples);
      const row = tableRow(table, partitions);
      tableRows.push(row);
      const tableCounters = appStatCounters(row);
      // Keyed with the partition count, so a split starts a new history (as Pegasus keys it).
      const key = `${table.appName}.${table.partitionCount}`;
      const calculator = this.hotspots.get(key) ?? new HotspotCalculator(table.partitionCount, () => ({
        historyMax: maxHotspotStoreSize.value, hotThreshold: hotPartitionThreshold.value,
      }));
      calculators.set(key, calculator);
      const hotspots = calculator.add(partitions);
      counters.push(...tableCounters, ...hotspotCounters(table.appName, hotspots));
      publishTableMetrics(row, tableCounters, live);
      publishPartitionMetrics(table.appName, partitions, hotspots, live);
    }
    const all = sumRows(ALL_TABLES_ROW, tableRows);
    const allCounters = appStatCounters(all);
    counters.push(...allCounters);
    publishTableMetrics(all, allCounters, live);
    // Tables dropped since the last round leave the counters and, after the retirement delay, /metrics.
    for (const entity of this.live) if (!live.has(entity)) entity.retire(nowMs);
    this.live = live;
    this.hotspots = calculators;
    this.counters.replace(counters, nowMs);
    log.info({ tables: tables.length, readQps: totalReadQps(all), writeQps: totalWriteQps(all) }, 'stat apps succeed');
  }
}

/** `/perfCounter?name=<full name>`: one counter's JSON; an unknown name is a 404 with a stable code. */
export function perfCounterAnswer(counters: CollectedCounters, query: ReadonlyMap<string, string>): { status: number; body: string } {
  for (const key of query.keys()) if (key !== 'name') return { status: 400, body: '' };
  const name = query.get('name') ?? '';
  const counter = name === '' ? undefined : counters.find(name);
  if (counter) return { status: 200, body: renderPerfCounter(counter) };
  const message = name === '' ? 'name should not be empty' : `no perf counter named "${name}"${counters.publishedAtMs === 0 ? ' (no statistics collected yet)' : ''}`;
  return { status: 404, body: `${JSON.stringify({ error: 'ERR_OBJECT_NOT_FOUND', message })}\n` };
}

export async function installCollector(server: PteronServer, _config: LoadedConfig): Promise<() => Promise<void>> {
  const meta = new MetaClient(parseHostPortList(metaServerList.value));
  const collector = new AppStatCollector(meta);
  server.router.register({
    path: 'perfCounter',
    parameters: 'name=<perf_counter_name>',
    description: "Query the collector's table statistics counter of this name (collector*app.pegasus*app.stat.<counter>#<table>).",
    handler: (request) => perfCounterAnswer(collector.counters, request.query),
  });
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= collector.round().catch((error: unknown) => log.warn({ err: (error as Error).message }, 'app stat round failed')).finally(() => (running = undefined));
  }, appStatIntervalSeconds.value * 1000);
  return async () => {
    clearInterval(timer);
    await running;
    await meta.close();
  };
}
