// The replica's duplication metrics, with Pegasus's names: on a master's primary the shipping
// (requests, bytes, mutations confirmed, what the log gave) and the lag behind the last committed
// decree, in mutations and in bytes loaded but not shipped yet; on a follower the DUPLICATE
// entries applied and how far behind the master's write time they arrive.
import { defineMetric, type Counter, type MetricEntity, type Percentile } from '../../metrics/index.ts';

const shippedSuccessfulRequests = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'dup_shipped_successful_requests', unit: 'Requests', desc: 'The number of successful DUPLICATE requests sent from client',
});
const shippedFailedRequests = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'dup_shipped_failed_requests', unit: 'Requests', desc: 'The number of failed DUPLICATE requests sent from client',
});
const shippedBytes = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'dup_shipped_bytes', unit: 'Bytes', desc: 'The shipped size of private log for dup',
});
const shippedMutations = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'dup_shipped_mutations', unit: 'Mutations', desc: 'The number of mutations shipped to the remote cluster for dup',
});
const skippedMutations = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'dup_skipped_mutations', unit: 'Mutations', desc: 'The number of mutations given up after failed shipments (FAIL_SKIP)',
});
const confirmedMutations = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'dup_confirmed_mutations', unit: 'Mutations', desc: 'The number of confirmed mutations for dup',
});
const logReadBytes = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'dup_log_read_bytes', unit: 'Bytes', desc: 'The size read from private log for dup',
});
const logReadMutations = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'dup_log_read_mutations', unit: 'Mutations', desc: 'The number of mutations read from private log for dup',
});
const recentLostMutations = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'dup_recent_lost_mutations', unit: 'Mutations', desc: 'The number of lost mutations recently for dup',
});
const pendingMutations = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'dup_pending_mutations', unit: 'Mutations', desc: 'The number of pending mutations for dup',
});
const pendingBytes = defineMetric({
  entityType: 'replica', type: 'Gauge', name: 'dup_pending_bytes', unit: 'Bytes', desc: 'The bytes of mutations loaded for dup and not shipped yet',
});
const followerRequests = defineMetric({
  entityType: 'replica', type: 'Counter', name: 'dup_requests', unit: 'Requests', desc: 'The number of DUPLICATE requests',
});
const followerTimeLag = defineMetric({
  entityType: 'replica', type: 'Percentile', name: 'dup_time_lag_ms', unit: 'MilliSeconds', desc: 'the time (in ms) lag between master and slave in the duplication',
});

export interface DuplicationMetrics {
  shippedSuccessfulRequests: Counter;
  shippedFailedRequests: Counter;
  shippedBytes: Counter;
  shippedMutations: Counter;
  skippedMutations: Counter;
  confirmedMutations: Counter;
  logReadBytes: Counter;
  logReadMutations: Counter;
  followerRequests: Counter;
  followerTimeLagMs: Percentile;
}

/** The counters of one replica; `lag` is read whenever the gauges are. */
export function duplicationMetrics(entity: MetricEntity, lag: () => { pendingMutations: number; pendingBytes: number; lostMutations: number }): DuplicationMetrics {
  entity.gauge(pendingMutations).sampleWith(() => lag().pendingMutations);
  entity.gauge(pendingBytes).sampleWith(() => lag().pendingBytes);
  entity.gauge(recentLostMutations).sampleWith(() => lag().lostMutations);
  return {
    shippedSuccessfulRequests: entity.counter(shippedSuccessfulRequests),
    shippedFailedRequests: entity.counter(shippedFailedRequests),
    shippedBytes: entity.counter(shippedBytes),
    shippedMutations: entity.counter(shippedMutations),
    skippedMutations: entity.counter(skippedMutations),
    confirmedMutations: entity.counter(confirmedMutations),
    logReadBytes: entity.counter(logReadBytes),
    logReadMutations: entity.counter(logReadMutations),
    followerRequests: entity.counter(followerRequests),
    followerTimeLagMs: entity.percentile(followerTimeLag),
  };
}
