// The data plane's metrics (spec pegasus-http §9.4): per replica (entity `replica@<app>.<pidx>`,
// attributes table_id/partition_id) request counters and latency percentiles for every RRDB
// operation, expired/filtered read counters, the requests throttling delayed or rejected; per
// server the failed and busy request counters.
import { defineMetric, metricRegistry, serverEntity, type Counter, type Gauge, type MetricEntity, type MetricPrototype, type Percentile } from '../metrics/index.ts';

/** The operations that have a request counter and a latency percentile of their own. */
export const OPERATION_METRIC_NAMES = [
  'get', 'multi_get', 'batch_get', 'scan', 'put', 'multi_put', 'remove', 'multi_remove', 'incr', 'check_and_set', 'check_and_mutate',
] as const;
export type OperationMetricName = (typeof OPERATION_METRIC_NAMES)[number];

const OPERATION_LABELS: Record<OperationMetricName, string> = {
  get: 'GET', multi_get: 'MULTI_GET', batch_get: 'BATCH_GET', scan: 'SCAN', put: 'PUT', multi_put: 'MULTI_PUT', remove: 'REMOVE',
  multi_remove: 'MULTI_REMOVE', incr: 'INCR', check_and_set: 'CHECK_AND_SET', check_and_mutate: 'CHECK_AND_MUTATE',
};

const requestPrototypes = new Map<OperationMetricName, MetricPrototype>();
const latencyPrototypes = new Map<OperationMetricName, MetricPrototype>();
for (const name of OPERATION_METRIC_NAMES) {
  requestPrototypes.set(name, defineMetric({
    entityType: 'replica', type: 'Counter', name: `${name}_requests`, unit: 'Requests', desc: `The number of ${OPERATION_LABELS[name]} requests`,
    prometheus: { name: 'requests', labels: { op: name }, help: 'The number of data-plane requests, by operation' },
  }));
  latencyPrototypes.set(name, defineMetric({
    entityType: 'replica', type: 'Percentile', name: `${name}_latency_ns`, unit: 'NanoSeconds', desc: `The latency of ${OPERATION_LABELS[name]} requests`,
    prometheus: { name: 'request_latency', labels: { op: name }, help: 'The latency of data-plane requests, by operation' },
  }));
}

const readExpiredValuesMetric = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'read_expired_values', unit: 'Values', desc: 'The number of expired values read',
});
const readFilteredValuesMetric = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'read_filtered_values', unit: 'Values', desc: 'The number of filtered values read',
});
const committedRequestsMetric = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'committed_requests', unit: 'Requests', desc: 'The number of committed requests',
});
const writeSizeExceedMetric = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'write_size_exceed_threshold_requests', unit: 'Requests',
  desc: 'The number of write requests whose size exceeds the threshold',
});
const bulkLoadRejectedWritesMetric = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'bulk_load_ingestion_rejected_write_requests', unit: 'Requests',
  desc: 'The number of rejected write requests by bulk load ingestion',
});

const abnormalReadsMetric = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'abnormal_read_requests', unit: 'Requests', desc: 'The number of abnormal read requests',
});
const writeBufferMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_write_buffer_size_bytes', unit: 'Bytes',
  desc: 'The write buffer (memtable) size the open LevelDB store uses',
});
const writeBufferOnReopenMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_write_buffer_size_on_reopen_bytes', unit: 'Bytes',
  desc: 'The write buffer size the store takes when it is next opened (usage scenario or rocksdb.write_buffer_size)',
});
const deferredAppliesMaxMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'secondary_deferred_applies_max', unit: 'Mutations',
  desc: 'The most committed mutations a secondary gathers into one store batch (set by the usage scenario)',
});

/** The store's statistics Pegasus updates every `update_rdb_stat_interval` (pegasus_server_impl). */
const sstFilesMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_total_sst_files', unit: 'Files', desc: 'The total number of rocksdb sst files',
});
const sstSizeMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_total_sst_size_mb', unit: 'MegaBytes', desc: 'The total size of rocksdb sst files',
});
const estimatedKeysMetric = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'rdb_estimated_keys', unit: 'Keys', desc: 'The estimated number of rocksdb keys',
});

/** Pegasus's throttling counters (replica.cpp): `throttling_{delayed,rejected}_{write,read}_requests`. */
function throttlingMetric(outcome: 'delayed' | 'rejected', kind: 'write' | 'read'): MetricPrototype {
  return defineMetric({
    entityType: 'replica', type: 'Counter', name: `throttling_${outcome}_${kind}_requests`, unit: 'Requests',
    desc: `The number of ${outcome} ${kind} requests by throttling`,
    prometheus: { name: 'throttling_requests', labels: { outcome, kind }, help: 'The number of requests throttling delayed or rejected' },
  });
}
const throttlingDelayedWritesMetric = throttlingMetric('delayed', 'write');
const throttlingRejectedWritesMetric = throttlingMetric('rejected', 'write');
const throttlingDelayedReadsMetric = throttlingMetric('delayed', 'read');
const throttlingRejectedReadsMetric = throttlingMetric('rejected', 'read');

const readFailedMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'read_failed_requests', unit: 'Requests', desc: 'The number of failed read requests',
});
const writeFailedMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'write_failed_requests', unit: 'Requests', desc: 'The number of failed write requests',
});
const readBusyMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'read_busy_requests', unit: 'Requests', desc: 'The number of busy read requests',
});
const writeBusyMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'write_busy_requests', unit: 'Requests', desc: 'The number of busy write requests',
});

/** The metrics of one hosted replica. */
export class ReplicaMetrics {
  readonly entity: MetricEntity;
  private readonly requests = new Map<OperationMetricName, Counter>();
  private readonly latencies = new Map<OperationMetricName, Percentile>();
  readonly readExpiredValues: Counter;
  readonly readFilteredValues: Counter;
  readonly committedRequests: Counter;
  readonly writeSizeExceeded: Counter;
  readonly bulkLoadRejectedWrites: Counter;
  readonly abnormalReads: Counter;
  readonly throttlingDelayedWrites: Counter;
  readonly throttlingRejectedWrites: Counter;
  readonly throttlingDelayedReads: Counter;
  readonly throttlingRejectedReads: Counter;
  readonly sstFiles: Gauge;
  readonly sstSizeMb: Gauge;
  readonly estimatedKeys: Gauge;

  constructor(appId: number, partitionIndex: number) {
    this.entity = metricRegistry.entity('replica', `replica@${appId}.${partitionIndex}`, {
      table_id: String(appId), partition_id: String(partitionIndex),
    });
    for (const name of OPERATION_METRIC_NAMES) {
      this.requests.set(name, this.entity.counter(requestPrototypes.get(name)!));
      this.latencies.set(name, this.entity.percentile(latencyPrototypes.get(name)!));
    }
    this.readExpiredValues = this.entity.counter(readExpiredValuesMetric);
    this.readFilteredValues = this.entity.counter(readFilteredValuesMetric);
    this.committedRequests = this.entity.counter(committedRequestsMetric);
    this.writeSizeExceeded = this.entity.counter(writeSizeExceedMetric);
    this.bulkLoadRejectedWrites = this.entity.counter(bulkLoadRejectedWritesMetric);
    this.abnormalReads = this.entity.counter(abnormalReadsMetric);
    this.throttlingDelayedWrites = this.entity.counter(throttlingDelayedWritesMetric);
    this.throttlingRejectedWrites = this.entity.counter(throttlingRejectedWritesMetric);
    this.throttlingDelayedReads = this.entity.counter(throttlingDelayedReadsMetric);
    this.throttlingRejectedReads = this.entity.counter(throttlingRejectedReadsMetric);
    this.sstFiles = this.entity.gauge(sstFilesMetric);
    this.sstSizeMb = this.entity.gauge(sstSizeMetric);
    this.estimatedKeys = this.entity.gauge(estimatedKeysMetric);
  }

  /** Gauges of the storage settings the replica applies, read from `settings` whenever they are read. */
  sampleStorageSettings(settings: { writeBufferBytes(): number; writeBufferBytesOnReopen(): number; deferredAppliesMax(): number }): void {
    this.entity.gauge(writeBufferMetric).sampleWith(settings.writeBufferBytes);
    this.entity.gauge(writeBufferOnReopenMetric).sampleWith(settings.writeBufferBytesOnReopen);
    this.entity.gauge(deferredAppliesMaxMetric).sampleWith(settings.deferredAppliesMax);
  }

  /** Counts one request of `operation` that took `latencyNs`. */
  record(operation: OperationMetricName, latencyNs: number): void {
    this.requests.get(operation)!.increment();
    this.latencies.get(operation)!.observe(latencyNs);
  }

  retire(): void {
    this.entity.retire();
  }
}

/** Server-wide counters of requests answered with a frame-level error. */
export interface ServerRequestCounters {
  readFailed: Counter;
  writeFailed: Counter;
  readBusy: Counter;
  writeBusy: Counter;
}

export function serverRequestCounters(): ServerRequestCounters {
  const entity = serverEntity();
  return {
    readFailed: entity.counter(readFailedMetric),
    writeFailed: entity.counter(writeFailedMetric),
    readBusy: entity.counter(readBusyMetric),
    writeBusy: entity.counter(writeBusyMetric),
  };
}
