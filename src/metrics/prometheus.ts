// The metrics in Prometheus text exposition format 0.0.4, named by Prometheus's conventions
// rather than Pegasus's (the JSON keeps those): a family is `pteron_<entity type>_<name>` in base
// units (seconds, bytes), a counter's ends in `_total`, a percentile is a histogram, and what
// tells a family's members apart (the operation) is a label, as are the entity's attributes.
// Rendering only reads: no value is reset by a scrape, so every scraper sees the same.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { assert } from '../base/index.ts';
import { Percentile, VolatileCounter, type Metric } from './metric.ts';
import { entityMatches, type MetricsQuery } from './query.ts';
import type { MetricEntity } from './registry.ts';
import { BASE_UNITS, type MetricPrototype } from './types.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const PROMETHEUS_PREFIX = 'pteron_';

export interface PrometheusFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  /** Multiplies a value in the metric's unit into the family's base unit. */
  scale: number;
  /** The prototype's own labels (`op="get"`), already formatted, or ''. */
  labels: string;
}

/** A unit already spelled at the end of a Pegasus name, replaced by the base unit's suffix. */
const UNIT_NAME_SUFFIX = /_(ns|us|ms|mb|bytes|seconds|percent|ratio)$/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Metric names may hold colons, label names may not. */
function sanitizeName(name: string, allowed = /[^a-zA-Z0-9_:]/g): string {
  const cleaned = name.replace(allowed, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels).map(([name, value]) => `${sanitizeName(name, /[^a-zA-Z0-9_]/g)}="${escapeLabel(value)}"`).join(',');
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
}

const families = new WeakMap<MetricPrototype, PrometheusFamily | null>();

/** The family a metric belongs to in Prometheus, or undefined for one left out. */
export function prometheusFamily(prototype: MetricPrototype): PrometheusFamily | undefined {
  let family = families.get(prototype);
  if (family === undefined) {
    const form = prototype.prometheus ?? {};
    if (form.omit) {
      family = null;
    } else {
      const unit = BASE_UNITS[prototype.unit];
      const base = (form.name ?? prototype.name).replace(UNIT_NAME_SUFFIX, '');
      const counter = prototype.type === 'Counter' || prototype.type === 'VolatileCounter';
      family = {
        name: sanitizeName(`${PROMETHEUS_PREFIX}${prototype.entityType}_${base}${unit ? `_${unit.suffix}` : ''}${counter ? '_total' : ''}`),
        type: counter ? 'counter' : prototype.type === 'Percentile' ? 'histogram' : 'gauge',
        help: form.help ?? prototype.desc,
        scale: unit?.scale ?? 1,
        labels: formatLabels(form.labels ?? {}),
      };
    }
    families.set(prototype, family);
  }
  return family ?? undefined;
}

function samplesOf(metric: Metric, family: PrometheusFamily, labels: string): string[] {
  const braces = (extra = ''): string => {
    const all = [labels, extra].filter((part) => part !== '').join(',');
    return all === '' ? '' : `{${all}}`;
  };
  if (metric instanceof Percentile) {
    const cumulative = metric.cumulativeBuckets();
    const lines = metric.bucketBounds.map(
      (bound, index) => `${family.name}_bucket${braces(`le="${formatValue(bound)}"`)} ${cumulative[index]}`,
    );
    lines.push(`${family.name}_bucket${braces('le="+Inf"')} ${metric.observations}`);
    lines.push(`${family.name}_sum${braces()} ${formatValue(metric.sum * family.scale)}`);
    lines.push(`${family.name}_count${braces()} ${metric.observations}`);
    return lines;
  }
  const value = metric instanceof VolatileCounter ? metric.total : metric.value;
  return [`${family.name}${braces()} ${formatValue(value * family.scale)}`];
}

/** `common` labels go on every sample (cluster, role); each entity adds its attributes. */
export function renderPrometheus(common: Record<string, string>, entities: Iterable<MetricEntity>, query: MetricsQuery): string {
  // Grouped by family: a family's HELP/TYPE must appear once, before its samples.
  const grouped = new Map<string, { family: PrometheusFamily; samples: string[] }>();
  for (const entity of entities) {
    if (!entityMatches(entity, query)) continue;
    const entityLabels = formatLabels({ ...common, ...entity.attributes });
    for (const metric of entity.metrics.values()) {
      if (query.metrics.size > 0 && !query.metrics.has(metric.prototype.name)) continue;
      const family = prometheusFamily(metric.prototype);
      if (!family) continue;
      let group = grouped.get(family.name);
      if (!group) grouped.set(family.name, (group = { family, samples: [] }));
      assert(group.family.type === family.type, `metrics of types ${group.family.type} and ${family.type} share the family ${family.name}`);
      const labels = [entityLabels, family.labels].filter((part) => part !== '').join(',');
      // Appended one by one: spreading a large family into one push() could exceed the argument limit.
      for (const sample of samplesOf(metric, family, labels)) group.samples.push(sample);
    }
  }
  const blocks: string[] = [];
  for (const { family, samples } of grouped.values()) {
    const help = family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    blocks.push(`# HELP ${family.name} ${help}\n# TYPE ${family.name} ${family.type}\n${samples.join('\n')}\n`);
  }
  return blocks.join('');
}

let standardRegistry: Registry | undefined;
const LINT_FAILING_STANDARD_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Starts prom-client's default collectors (the standard process_* and nodejs_* metrics) once per process. */
export function collectStandardMetrics(): void {
  if (standardRegistry) return;
  standardRegistry = new Registry();
  collectDefaultMetrics({ register: standardRegistry });
  // Gauges named like counters, which Prometheus's own lint (promtool check metrics) refuses;
  // the server's pteron_server_active_handles says the first.
  for (const name of LINT_FAILING_STANDARD_METRICS) standardRegistry.removeSingleMetric(name);
}

function isUnfiltered(query: MetricsQuery): boolean {
  return query.types.size === 0 && query.ids.size === 0 && query.attributes.length === 0 && query.metrics.size === 0;
}

/** A scrape: Pteron's metrics, then the standard ones unless the query picks some of Pteron's. */
export async function renderPrometheusScrape(common: Record<string, string>, entities: Iterable<MetricEntity>, query: MetricsQuery): Promise<string> {
  const own = renderPrometheus(common, entities, query);
  if (!standardRegistry || !isUnfiltered(query)) return own;
  standardRegistry.setDefaultLabels(common);
  // prom-client puts a blank line between families; one text, one style.
  return own + (await standardRegistry.metrics()).replace(/\n\n+/g, '\n');
}
