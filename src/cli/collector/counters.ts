// What the collector publishes from each round's rows, as Pegasus's info_collector and
// hotspot_partition_calculator do: per table (and `_all_`) the `app.stat.<counter>#<table>`
// counters, per partition its read and write hot points. Pure: rows in, counters out.
import { LATENCY_OPERATIONS, totalReadBytes, totalReadQps, totalWriteBytes, totalWriteQps, type RowField, type StatRow } from '../../cluster/index.ts';

/** The collector's counters are named `<app>*<section>*<name>` like every legacy perf counter. */
export const COUNTER_NAME_PREFIX = 'collector*app.pegasus*';

/** The row name of all tables together. */
export const ALL_TABLES_ROW = '_all_';

export interface PerfCounter {
  /** The full name, e.g. `collector*app.pegasus*app.stat.get_qps#temp`. */
  name: string;
  type: 'NUMBER' | 'PERCENTILE';
  description: string;
  /** NUMBER counters. */
  value?: number;
  /** PERCENTILE counters. */
  p99?: number;
  p999?: number;
}

/** hit / total per million, 0 when total is 0 (info_collector's convert_to_1M_ratio). */
function perMillion(hit: number, total: number): number {
  return Math.abs(total) < 1e-6 ? 0 : (hit / total) * 1e6;
}

/** A counter copied from the row field of the same name. */
const field = (name: RowField): [string, (row: StatRow) => number] => [name, (row) => row.values[name]];

/** Pegasus's app_stat_counters, in its order, with how each is computed from a row. */
const APP_STAT_COUNTERS: ReadonlyArray<readonly [string, (row: StatRow) => number]> = [
  field('get_qps'), field('multi_get_qps'), field('put_qps'), field('multi_put_qps'), field('remove_qps'), field('multi_remove_qps'),
  field('incr_qps'), field('check_and_set_qps'), field('check_and_mutate_qps'), field('scan_qps'), field('duplicate_qps'),
  field('dup_shipped_ops'), field('dup_failed_shipping_ops'), field('dup_recent_mutation_loss_count'), field('recent_read_cu'),
  field('recent_write_cu'), field('recent_expire_count'), field('recent_filter_count'), field('recent_abnormal_count'),
  field('recent_write_throttling_delay_count'), field('recent_write_throttling_reject_count'), field('recent_read_throttling_delay_count'),
  field('recent_read_throttling_reject_count'), field('recent_backup_request_throttling_delay_count'),
  field('recent_backup_request_throttling_reject_count'), field('recent_write_splitting_reject_count'),
  field('recent_read_splitting_reject_count'), field('recent_write_bulk_load_ingestion_reject_count'), field('storage_mb'),
  field('storage_count'),
  ['rdb_block_cache_hit_rate', (row) => perMillion(row.values.rdb_block_cache_hit_count, row.values.rdb_block_cache_total_count)],
  field('rdb_index_and_filter_blocks_mem_usage'), field('rdb_memtable_mem_usage'), field('rdb_estimate_num_keys'),
  ['rdb_bf_seek_negatives_rate', (row) => perMillion(row.values.rdb_bf_seek_negatives, row.values.rdb_bf_seek_total)],
  ['rdb_bf_point_negatives_rate', (row) => perMillion(row.values.rdb_bf_point_negatives, row.values.rdb_bf_point_negatives + row.values.rdb_bf_point_positive_total)],
  ['rdb_bf_point_false_positive_rate', (row) => {
    const falsePositives = row.values.rdb_bf_point_positive_total - row.values.rdb_bf_point_positive_true;
    return perMillion(falsePositives, falsePositives + row.values.rdb_bf_point_negatives);
  }],
  ['read_qps', totalReadQps], ['write_qps', totalWriteQps], field('backup_request_qps'), field('backup_request_bytes'),
  field('get_bytes'), field('multi_get_bytes'), field('scan_bytes'), field('put_bytes'), field('multi_put_bytes'),
  field('check_and_set_bytes'), field('check_and_mutate_bytes'), ['read_bytes', totalReadBytes], ['write_bytes', totalWriteBytes],
  field('recent_rdb_compaction_input_bytes'), field('recent_rdb_compaction_output_bytes'),
  ['rdb_read_l2andup_hit_rate', (row) => perMillion(row.values.rdb_read_l2andup_hit_count, row.values.rdb_block_cache_total_count)],
  ['rdb_read_l1_hit_rate', (row) => perMillion(row.values.rdb_read_l1_hit_count, row.values.rdb_block_cache_total_count)],
  ['rdb_read_l0_hit_rate', (row) => perMillion(row.values.rdb_read_l0_hit_count, row.values.rdb_block_cache_total_count)],
  ['rdb_read_memtable_hit_rate', (row) => perMillion(row.values.rdb_read_memtable_hit_count, row.values.rdb_block_cache_total_count)],
  ['rdb_write_amplification', (row) => (row.partitionCount === 0 ? 0 : row.values.rdb_write_amplification / row.partitionCount)],
  ['rdb_read_amplification', (row) => (row.partitionCount === 0 ? 0 : row.values.rdb_read_amplification / row.partitionCount)],
];

/** The names of the NUMBER counters every table gets (`app.stat.<name>#<table>`). */
export const APP_STAT_COUNTER_NAMES: readonly string[] = APP_STAT_COUNTERS.map(([name]) => name);

/**
 * A table's counters: Pegasus's, then one PERCENTILE counter per operation
 * (`app.stat.<op>_latency#<table>`, nanoseconds, the highest p99/p999 among the primaries).
 */
export function appStatCounters(row: StatRow): PerfCounter[] {
  const counters: PerfCounter[] = APP_STAT_COUNTERS.map(([name, compute]) => ({
    name: `${COUNTER_NAME_PREFIX}app.stat.${name}#${row.name}`,
    type: 'NUMBER',
    description: `statistic the ${name} of app ${row.name}`,
    value: compute(row),
  }));
  for (const operation of LATENCY_OPERATIONS) {
    const name = `${operation}_latency`;
    counters.push({
      name: `${COUNTER_NAME_PREFIX}app.stat.${name}#${row.name}`,
      type: 'PERCENTILE',
      description: `statistic the ${name} (ns) of app ${row.name}`,
      p99: row.latenciesNs[operation].p99,
      p999: row.latenciesNs[operation].p999,
    });
  }
  return counters;
}

/** `/perfCounter`'s answer for one counter: one line of JSON, numbers as strings with 2 decimals. */
export function renderPerfCounter(counter: PerfCounter): string {
  const body = counter.type === 'PERCENTILE'
    ? { name: counter.name, p99: (counter.p99 ?? 0).toFixed(2), p999: (counter.p999 ?? 0).toFixed(2), type: counter.type, description: counter.description }
    : { name: counter.name, value: (counter.value ?? 0).toFixed(2), type: counter.type, description: counter.description };
  return `${JSON.stringify(body)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Hot partitions

export type HotspotKind = 'read' | 'write';

export interface HotspotSettings {
  /** `[pegasus.collector] max_hotspot_store_size`: rounds of history kept. */
  historyMax: number;
  /** `[pegasus.collector] hot_partition_threshold`: a partition at or above this many hot points is hot. */
  hotThreshold: number;
}

export interface HotspotResult {
  /** Per partition, its hot points: how many standard deviations its qps is above the mean, rounded up, at least 0. */
  points: Record<HotspotKind, number[]>;
  /** The partitions at or above the threshold. */
  hotPartitions: Record<HotspotKind, number>;
}

/**
 * One table's hot-partition analysis (Pegasus's hotspot_partition_calculator): every round adds
 * each partition's read and write qps to a bounded history; a partition's hot points compare its
 * latest qps with the mean and sample standard deviation over the whole history.
 */
export class HotspotCalculator {
  private readonly history: Array<Array<Record<HotspotKind, number>>> = [];

  constructor(private readonly partitionCount: number, private readonly settings: () => HotspotSettings) {}

  /** Adds one round's partition rows (in partition order) and analyses the history. */
  add(partitions: readonly StatRow[]): HotspotResult {
    while (this.history.length >= Math.max(1, this.settings().historyMax)) this.history.shift();
    this.history.push(partitions.map((row) => ({ read: totalReadQps(row), write: totalWriteQps(row) })));
    const read = this.points('read');
    const write = this.points('write');
    const threshold = this.settings().hotThreshold;
    const hot = (points: number[]): number => points.filter((point) => point >= threshold).length;
    return { points: { read, write }, hotPartitions: { read: hot(read), write: hot(write) } };
  }

  private points(kind: HotspotKind): number[] {
    const samples = this.history.flatMap((round) => round.map((partition) => partition[kind]));
    const zeros = new Array<number>(this.partitionCount).fill(0);
    if (samples.length <= 1) return zeros;
    const mean = samples.reduce((sum, qps) => sum + qps, 0) / samples.length;
    const deviation = Math.sqrt(samples.reduce((sum, qps) => sum + (qps - mean) ** 2, 0) / (samples.length - 1));
    if (deviation === 0) return zeros;
    const latest = this.history[this.history.length - 1]!;
    return zeros.map((_, index) => Math.ceil(Math.max((latest[index]?.[kind] ?? 0) - mean, 0) / deviation));
  }
}

/** The hotspot counters of one table, as Pegasus names them. */
export function hotspotCounters(appName: string, result: HotspotResult): PerfCounter[] {
  const counters: PerfCounter[] = [];
  for (const kind of ['read', 'write'] as const) {
    result.points[kind].forEach((points, index) => {
      const partition = `${appName}.${kind}.${index}`;
      counters.push({
        name: `${COUNTER_NAME_PREFIX}app.stat.hotspots@${partition}`, type: 'NUMBER', description: `statistic the hotspots of app ${partition}`, value: points,
      });
    });
    const total = `${appName}.${kind}.total`;
    counters.push({
      name: `${COUNTER_NAME_PREFIX}app.stat.hotspots.${total}`, type: 'NUMBER', description: `statistic the hotspots of app ${total}`,
      value: result.hotPartitions[kind],
    });
  }
  return counters;
}
