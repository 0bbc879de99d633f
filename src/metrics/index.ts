export { defineMetric, UNITS, PERCENTILE_KINDS, type MetricPrototype, type MetricType, type Unit, type PercentileKind } from './types.ts';
export { Counter, VolatileCounter, Gauge, Percentile, PERCENTILE_SAMPLES_MAX, type Metric } from './metric.ts';
export { MetricEntity, MetricRegistry, metricRegistry, serverEntity } from './registry.ts';
export {
  parseMetricsQuery, renderMetricsJson, renderMetricsError, MetricsQueryError, type MetricsQuery, type MetricsHeader,
} from './query.ts';
export { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from './prometheus.ts';
