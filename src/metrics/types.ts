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
}

/** Declares a metric prototype; use the result with `entity.counter(...)` and friends. */
export function defineMetric(prototype: MetricPrototype): MetricPrototype {
  return Object.freeze({ ...prototype });
}
