export {
  defineMetric, UNITS, PERCENTILE_KINDS, BASE_UNITS, LATENCY_BUCKETS_SECONDS, type PrometheusForm, type MetricPrototype, type MetricType, type Unit, type PercentileKind,
} from './types.ts';
export { Counter, VolatileCounter, Gauge, Percentile, PERCENTILE_SAMPLES_MAX, type Metric } from './metric.ts';
export { MetricEntity, MetricRegistry, metricRegistry, serverEntity } from './registry.ts';
export {
  parseMetricsQuery, renderMetricsJson, renderMetricsError, MetricsQueryError, type MetricsQuery, type MetricsHeader,
} from './query.ts';
export {
  collectStandardMetrics, prometheusFamily, renderPrometheus, renderPrometheusScrape, PROMETHEUS_CONTENT_TYPE, PROMETHEUS_PREFIX,
  type PrometheusFamily,
} from './prometheus.ts';
