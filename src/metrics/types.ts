// Metric prototypes: what a metric is, declared once (like Pegasus's METRIC_DEFINE_*).

export type MetricType = 'Gauge' | 'Counter' | 'VolatileCounter' | 'Percentile';

export const UNITS = [
  'NanoSeconds', 'MicroSeconds', 'MilliSeconds', 'Seconds', 'Bytes', 'MegaBytes', 'BytesPerSec',
  'CapacityUnits', 'Percent', 'Replicas', 'Partitions', 'PartitionSplittings', 'Servers', 'Requests',
  'Responses', 'Seeks', 'PointLookups', 'Values', 'Keys', 'Files', 'Dirs', 'Amplification', 'Checkpoints',
  'Flushes', 'Compactions', 'Mutations', 'Writes', 'Changes', 'Operations', 'Tasks', 'Disconnections',
  'Sessions', 'Learns', 'Rounds', 'Resets', 'Backups', 'FileLoads', 'FileUploads', 'BulkLoads', 'Beacons',
  'Connections', 'Frames', 'Collections',
] as const;
export type Unit = (typeof UNITS)[number];

export const PERCENTILE_KINDS = ['p50', 'p90', 'p95', 'p99', 'p999'] as const;
export type PercentileKind = (typeof PERCENTILE_KINDS)[number];
export const PERCENTILE_RANKS: Record<PercentileKind, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, p999: 0.999 };

/**
 * A unit's Prometheus base unit: the suffix its family names end with and the factor from the
 * unit to it. Units not listed are counts and keep their values.
 */
export const BASE_UNITS: Partial<Record<Unit, { suffix: string; scale: number }>> = {
  NanoSeconds: { suffix: 'seconds', scale: 1e-9 },
  MicroSeconds: { suffix: 'seconds', scale: 1e-6 },
  MilliSeconds: { suffix: 'seconds', scale: 1e-3 },
  Seconds: { suffix: 'seconds', scale: 1 },
  Bytes: { suffix: 'bytes', scale: 1 },
  MegaBytes: { suffix: 'bytes', scale: 1048576 },
  BytesPerSec: { suffix: 'bytes_per_second', scale: 1 },
  Percent: { suffix: 'ratio', scale: 0.01 },
};

/** The histogram buckets of a Percentile in a time unit, in seconds (100 µs to 10 s). */
export const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** How a metric appears in the Prometheus text, where its Pegasus name alone does not say it. */
export interface PrometheusForm {
  /** The family name between `pteron_<entity type>_` and the unit and `_total` suffixes. */
  name?: string;
  /** What tells this metric's samples apart from the family's other metrics, e.g. `{ op: 'get' }`. */
  labels?: Record<string, string>;
  /** The family's HELP, when the metric's own description names only one of its members. */
  help?: string;
  /** Not exposed: a standard process_* or nodejs_* metric says the same, or reading it changes it. */
  omit?: true;
}

export interface MetricPrototype {
  entityType: string;
  type: MetricType;
  name: string;
  unit: Unit;
  desc: string;
  /** Gauges only: the value is a double (printed as one) rather than an int64. */
  isDouble?: boolean;
  /** Percentiles only: which ones to compute; all five by default, as everywhere in Pegasus. */
  kinds?: readonly PercentileKind[];
  /** Percentiles only: the Prometheus histogram's upper bounds in the base unit; latency buckets by default. */
  buckets?: readonly number[];
  prometheus?: PrometheusForm;
}

/** Declares a metric prototype; use the result with `entity.counter(...)` and friends. */
export function defineMetric(prototype: MetricPrototype): MetricPrototype {
  return Object.freeze({ ...prototype });
}
