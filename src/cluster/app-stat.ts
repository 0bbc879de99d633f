// Table statistics as Pegasus's shell (`app_stat`, command_helper.h `row_data`) and collector
// (info_collector) compute them from the replica servers' /metrics: each partition is counted
// from its primary only; gauges are summed ("sums"), counters become the growth between two
// samples ("increases") or that growth per second ("rates"). Rows are per partition, per table
// (its partitions added up) and over all tables. Pure: the samples come from the caller.

/** The row fields of Pegasus's `row_data`, in its order. */
export const ROW_FIELDS = [
  'get_qps', 'multi_get_qps', 'batch_get_qps', 'put_qps', 'multi_put_qps', 'remove_qps', 'multi_remove_qps', 'incr_qps',
  'check_and_set_qps', 'check_and_mutate_qps', 'scan_qps', 'duplicate_qps', 'dup_shipped_ops', 'dup_failed_shipping_ops',
  'dup_recent_mutation_loss_count', 'recent_read_cu', 'recent_write_cu', 'recent_expire_count', 'recent_filter_count',
  'recent_abnormal_count', 'recent_write_throttling_delay_count', 'recent_write_throttling_reject_count',
  'recent_read_throttling_delay_count', 'recent_read_throttling_reject_count', 'recent_backup_request_throttling_delay_count',
  'recent_backup_request_throttling_reject_count', 'recent_write_splitting_reject_count', 'recent_read_splitting_reject_count',
  'recent_write_bulk_load_ingestion_reject_count', 'storage_mb', 'storage_count', 'rdb_block_cache_hit_count',
  'rdb_block_cache_total_count', 'rdb_index_and_filter_blocks_mem_usage', 'rdb_memtable_mem_usage', 'rdb_estimate_num_keys',
  'rdb_bf_seek_negatives', 'rdb_bf_seek_total', 'rdb_bf_point_positive_true', 'rdb_bf_point_positive_total', 'rdb_bf_point_negatives',
  'backup_request_qps', 'backup_request_bytes', 'get_bytes', 'multi_get_bytes', 'batch_get_bytes', 'scan_bytes', 'put_bytes',
  'multi_put_bytes', 'check_and_set_bytes', 'check_and_mutate_bytes', 'recent_rdb_compaction_input_bytes',
  'recent_rdb_compaction_output_bytes', 'rdb_read_l2andup_hit_count', 'rdb_read_l1_hit_count', 'rdb_read_l0_hit_count',
  'rdb_read_memtable_hit_count', 'rdb_write_amplification', 'rdb_read_amplification',
] as const;
export type RowField = (typeof ROW_FIELDS)[number];

type Aggregation = 'sum' | 'increase' | 'rate';

/** Which replica metric feeds which field, and how (Pegasus's create_sums/increases/rates). */
const BINDINGS: ReadonlyArray<readonly [metric: string, field: RowField, how: Aggregation]> = [
  ['dup_recent_lost_mutations', 'dup_recent_mutation_loss_count', 'sum'],
  ['rdb_total_sst_size_mb', 'storage_mb', 'sum'],
  ['rdb_total_sst_files', 'storage_count', 'sum'],
  ['rdb_block_cache_hit_count', 'rdb_block_cache_hit_count', 'sum'],
  ['rdb_block_cache_total_count', 'rdb_block_cache_total_count', 'sum'],
  ['rdb_index_and_filter_blocks_mem_usage_bytes', 'rdb_index_and_filter_blocks_mem_usage', 'sum'],
  ['rdb_memtable_mem_usage_bytes', 'rdb_memtable_mem_usage', 'sum'],
  ['rdb_estimated_keys', 'rdb_estimate_num_keys', 'sum'],
  ['rdb_bloom_filter_seek_negatives', 'rdb_bf_seek_negatives', 'sum'],
  ['rdb_bloom_filter_seek_total', 'rdb_bf_seek_total', 'sum'],
  ['rdb_bloom_filter_point_lookup_true_positives', 'rdb_bf_point_positive_true', 'sum'],
  ['rdb_bloom_filter_point_lookup_positives', 'rdb_bf_point_positive_total', 'sum'],
  ['rdb_bloom_filter_point_lookup_negatives', 'rdb_bf_point_negatives', 'sum'],
  ['rdb_l2_and_up_hit_count', 'rdb_read_l2andup_hit_count', 'sum'],
  ['rdb_l1_hit_count', 'rdb_read_l1_hit_count', 'sum'],
  ['rdb_l0_hit_count', 'rdb_read_l0_hit_count', 'sum'],
  ['rdb_memtable_hit_count', 'rdb_read_memtable_hit_count', 'sum'],
  ['rdb_write_amplification', 'rdb_write_amplification', 'sum'],
  ['rdb_read_amplification', 'rdb_read_amplification', 'sum'],
  ['read_capacity_units', 'recent_read_cu', 'increase'],
  ['write_capacity_units', 'recent_write_cu', 'increase'],
  ['read_expired_values', 'recent_expire_count', 'increase'],
  ['read_filtered_values', 'recent_filter_count', 'increase'],
  ['abnormal_read_requests', 'recent_abnormal_count', 'increase'],
  ['throttling_delayed_write_requests', 'recent_write_throttling_delay_count', 'increase'],
  ['throttling_rejected_write_requests', 'recent_write_throttling_reject_count', 'increase'],
  ['throttling_delayed_read_requests', 'recent_read_throttling_delay_count', 'increase'],
  ['throttling_rejected_read_requests', 'recent_read_throttling_reject_count', 'increase'],
  ['throttling_delayed_backup_requests', 'recent_backup_request_throttling_delay_count', 'increase'],
  ['throttling_rejected_backup_requests', 'recent_backup_request_throttling_reject_count', 'increase'],
  ['splitting_rejected_write_requests', 'recent_write_splitting_reject_count', 'increase'],
  ['splitting_rejected_read_requests', 'recent_read_splitting_reject_count', 'increase'],
  ['bulk_load_ingestion_rejected_write_requests', 'recent_write_bulk_load_ingestion_reject_count', 'increase'],
  ['rdb_compaction_input_bytes', 'recent_rdb_compaction_input_bytes', 'increase'],
  ['rdb_compaction_output_bytes', 'recent_rdb_compaction_output_bytes', 'increase'],
  ['get_requests', 'get_qps', 'rate'],
  ['multi_get_requests', 'multi_get_qps', 'rate'],
  ['batch_get_requests', 'batch_get_qps', 'rate'],
  ['put_requests', 'put_qps', 'rate'],
  ['multi_put_requests', 'multi_put_qps', 'rate'],
  ['remove_requests', 'remove_qps', 'rate'],
  ['multi_remove_requests', 'multi_remove_qps', 'rate'],
  ['incr_requests', 'incr_qps', 'rate'],
  ['check_and_set_requests', 'check_and_set_qps', 'rate'],
  ['check_and_mutate_requests', 'check_and_mutate_qps', 'rate'],
  ['scan_requests', 'scan_qps', 'rate'],
  ['dup_requests', 'duplicate_qps', 'rate'],
  ['dup_shipped_successful_requests', 'dup_shipped_ops', 'rate'],
  ['dup_shipped_failed_requests', 'dup_failed_shipping_ops', 'rate'],
  ['backup_requests', 'backup_request_qps', 'rate'],
  ['backup_request_bytes', 'backup_request_bytes', 'rate'],
  ['get_bytes', 'get_bytes', 'rate'],
  ['multi_get_bytes', 'multi_get_bytes', 'rate'],
  ['batch_get_bytes', 'batch_get_bytes', 'rate'],
  ['scan_bytes', 'scan_bytes', 'rate'],
  ['put_bytes', 'put_bytes', 'rate'],
  ['multi_put_bytes', 'multi_put_bytes', 'rate'],
  ['check_and_set_bytes', 'check_and_set_bytes', 'rate'],
  ['check_and_mutate_bytes', 'check_and_mutate_bytes', 'rate'],
];

/** The operations whose latency percentiles a row carries (the replicas' `<op>_latency_ns`). */
export const LATENCY_OPERATIONS = [
  'get', 'multi_get', 'batch_get', 'scan', 'put', 'multi_put', 'remove', 'multi_remove', 'incr', 'check_and_set', 'check_and_mutate',
] as const;
export type LatencyOperation = (typeof LATENCY_OPERATIONS)[number];

export interface Latency {
  p99: number;
  p999: number;
}

/**
 * One row of statistics. A row's latencies are the highest percentile among its primaries: an
 * upper bound, since percentiles of different replicas do not add up.
 */
export interface StatRow {
  name: string;
  appId: number;
  partitionCount: number;
  values: Record<RowField, number>;
  latenciesNs: Record<LatencyOperation, Latency>;
}

export function emptyRow(name: string, appId = 0, partitionCount = 0): StatRow {
  const values = Object.fromEntries(ROW_FIELDS.map((field) => [field, 0])) as Record<RowField, number>;
  const latenciesNs = Object.fromEntries(LATENCY_OPERATIONS.map((operation) => [operation, { p99: 0, p999: 0 }])) as Record<LatencyOperation, Latency>;
  return { name, appId, partitionCount, values, latenciesNs };
}

/** Adds `row` into `into` (Pegasus's row_data::aggregate), latencies by their maximum. */
export function addRow(into: StatRow, row: StatRow): void {
  for (const field of ROW_FIELDS) into.values[field] += row.values[field];
  for (const operation of LATENCY_OPERATIONS) {
    const mine = into.latenciesNs[operation];
    const theirs = row.latenciesNs[operation];
    mine.p99 = Math.max(mine.p99, theirs.p99);
    mine.p999 = Math.max(mine.p999, theirs.p999);
  }
}

export const totalReadQps = (row: StatRow): number => row.values.get_qps + row.values.multi_get_qps + row.values.batch_get_qps + row.values.scan_qps;

export const totalWriteQps = (row: StatRow): number =>
  row.values.put_qps + row.values.remove_qps + row.values.multi_put_qps + row.values.multi_remove_qps + row.values.check_and_set_qps
  + row.values.check_and_mutate_qps + row.values.incr_qps + row.values.duplicate_qps;

export const totalReadBytes = (row: StatRow): number => row.values.get_bytes + row.values.multi_get_bytes + row.values.batch_get_bytes + row.values.scan_bytes;

export const totalWriteBytes = (row: StatRow): number =>
  row.values.put_bytes + row.values.multi_put_bytes + row.values.check_and_set_bytes + row.values.check_and_mutate_bytes;

// ---------------------------------------------------------------------------------------------
// Samples of the replica servers' /metrics

/** One replica's metrics in a sample: plain values and latency percentiles. */
export interface ReplicaSample {
  values: Map<string, number>;
  latenciesNs: Map<string, Latency>;
}

/** One replica server's /metrics answer, by replica (`<app_id>.<partition_index>`). */
export interface MetricsSample {
  timestampNs: number;
  replicas: Map<string, ReplicaSample>;
}

export class MetricsSampleError extends Error {}

/** The /metrics query (path and parameters) that returns what the rows need; one table's only when `appId` is given. */
export function appStatMetricsQuery(appId?: number): string {
  const metrics = [...BINDINGS.map(([metric]) => metric), ...LATENCY_OPERATIONS.map((operation) => `${operation}_latency_ns`)];
  const attributes = appId === undefined ? '' : `&attributes=table_id,${appId}`;
  return `/metrics?types=replica&with_metric_fields=name,value,p99,p999&metrics=${metrics.join(',')}${attributes}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a /metrics JSON body; throws MetricsSampleError when it is not one. */
export function parseMetricsSample(body: string): MetricsSample {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MetricsSampleError('the metrics answer is not JSON');
  }
  if (!isObject(parsed) || typeof parsed.timestamp_ns !== 'number' || !Array.isArray(parsed.entities)) {
    throw new MetricsSampleError('the metrics answer has no timestamp_ns or entities');
  }
  const replicas = new Map<string, ReplicaSample>();
  for (const entity of parsed.entities) {
    if (!isObject(entity) || entity.type !== 'replica' || !isObject(entity.attributes) || !Array.isArray(entity.metrics)) continue;
    const { table_id: appId, partition_id: partitionIndex } = entity.attributes;
    if (typeof appId !== 'string' || typeof partitionIndex !== 'string') continue;
    const sample: ReplicaSample = { values: new Map(), latenciesNs: new Map() };
    for (const metric of entity.metrics) {
      if (!isObject(metric) || typeof metric.name !== 'string') continue;
      if (typeof metric.value === 'number') sample.values.set(metric.name, metric.value);
      else if (typeof metric.p99 === 'number' && typeof metric.p999 === 'number') sample.latenciesNs.set(metric.name, { p99: metric.p99, p999: metric.p999 });
    }
    replicas.set(`${appId}.${partitionIndex}`, sample);
  }
  return { timestampNs: parsed.timestamp_ns, replicas };
}

// ---------------------------------------------------------------------------------------------
// Rows

/** A table as the meta reports it: the primary of each partition (host:port, '' for none). */
export interface TablePrimaries {
  appName: string;
  appId: number;
  partitionCount: number;
  primaries: readonly string[];
}

/** Two samples of one replica server: `start` is absent on a first sample (rates and increases stay 0). */
export interface NodeSamples {
  node: string;
  start: MetricsSample | undefined;
  end: MetricsSample;
}

/** What a counter grew by; a counter below its start value was reset (its server restarted) and grew from 0. */
function growth(start: number, end: number): number {
  return end >= start ? end - start : end;
}

function replicaRow(name: string, table: TablePrimaries, end: ReplicaSample, start: ReplicaSample | undefined, seconds: number): StatRow {
  const row = emptyRow(name, table.appId);
  for (const [metric, field, how] of BINDINGS) {
    const value = end.values.get(metric);
    if (value === undefined) continue;
    if (how === 'sum') {
      row.values[field] = value;
      continue;
    }
    const before = start?.values.get(metric);
    if (before === undefined || seconds <= 0) continue;
    const grown = growth(before, value);
    row.values[field] = how === 'increase' ? grown : grown / seconds;
  }
  for (const operation of LATENCY_OPERATIONS) {
    const latency = end.latenciesNs.get(`${operation}_latency_ns`);
    if (latency) row.latenciesNs[operation] = { ...latency };
  }
  return row;
}

/** One row per partition of `table` (named by its index), each from its primary's samples. */
export function partitionRows(table: TablePrimaries, nodes: readonly NodeSamples[]): StatRow[] {
  const rows = Array.from({ length: table.partitionCount }, (_, index) => emptyRow(String(index), table.appId));
  for (const { node, start, end } of nodes) {
    const seconds = start === undefined ? 0 : (end.timestampNs - start.timestampNs) / 1e9;
    table.primaries.forEach((primary, index) => {
      if (primary !== node || index >= rows.length) return;
      const key = `${table.appId}.${index}`;
      const sample = end.replicas.get(key);
      if (sample) rows[index] = replicaRow(String(index), table, sample, start?.replicas.get(key), seconds);
    });
  }
  return rows;
}

/** The table's row: its partitions added up. */
export function tableRow(table: TablePrimaries, partitions: readonly StatRow[]): StatRow {
  const row = emptyRow(table.appName, table.appId, table.partitionCount);
  for (const partition of partitions) addRow(row, partition);
  return row;
}

/** Rows added up under `name` (the collector's `_all_`, the shell's `(total:N)`). */
export function sumRows(name: string, rows: readonly StatRow[]): StatRow {
  const total = emptyRow(name);
  for (const row of rows) {
    addRow(total, row);
    total.partitionCount += row.partitionCount;
  }
  return total;
}

/** hit / total, 0 when total is 0 (Pegasus's convert_to_ratio). */
export function ratio(hit: number, total: number): number {
  return Math.abs(total) < 1e-6 ? 0 : hit / total;
}
