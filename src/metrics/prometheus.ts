// The same metrics in Prometheus text exposition format 0.0.4. A metric is named
// `<entity type>_<metric name>`; the entity id and attributes become labels.
import { Percentile, VolatileCounter, type Metric } from './metric.ts';
import { entityMatches, type MetricsQuery } from './query.ts';
import type { MetricEntity } from './registry.ts';
import { PERCENTILE_RANKS } from './types.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Metric names may hold colons, label names may not. */
function sanitizeName(name: string, allowed = /[^a-zA-Z0-9_:]/g): string {
  const cleaned = name.replace(allowed, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

function sanitizeLabelName(name: string): string {
  return sanitizeName(name, /[^a-zA-Z0-9_]/g);
}

function promType(metric: Metric): string {
  switch (metric.prototype.type) {
    case 'Counter':
      return 'counter';
    case 'Percentile':
      return 'summary';
    default:
      return 'gauge';
  }
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
}

export function renderPrometheus(common: Record<string, string>, entities: Iterable<MetricEntity>, query: MetricsQuery): string {
  // Group samples by metric family: a family's HELP/TYPE must appear once, before its samples.
  const families = new Map<string, { help: string; type: string; samples: string[] }>();
  const familyNames = new Map<string, string>();
  for (const entity of entities) {
    if (!entityMatches(entity, query)) continue;
    const labelPairs = { ...common, entity: entity.type, id: entity.id, ...entity.attributes };
    const labels = Object.entries(labelPairs).map(([name, value]) => `${sanitizeLabelName(name)}="${escapeLabel(value)}"`).join(',');
    for (const metric of entity.metrics.values()) {
      if (query.metrics.size > 0 && !query.metrics.has(metric.prototype.name)) continue;
      const rawName = `${entity.type}_${metric.prototype.name}`;
      let name = familyNames.get(rawName);
      if (name === undefined) familyNames.set(rawName, (name = sanitizeName(rawName)));
      let family = families.get(name);
      if (!family) {
        family = { help: metric.prototype.desc, type: promType(metric), samples: [] };
        families.set(name, family);
      }
      if (metric instanceof Percentile) {
        for (const kind of metric.kinds) {
          family.samples.push(`${name}{${labels},quantile="${PERCENTILE_RANKS[kind]}"} ${formatValue(metric.get(kind) ?? 0)}`);
        }
        family.samples.push(`${name}_count{${labels}} ${metric.observations}`);
      } else {
        const value = metric instanceof VolatileCounter ? metric.take() : metric.value;
        family.samples.push(`${name}{${labels}} ${formatValue(value)}`);
      }
    }
  }
  // Joined per family: spreading a large family into one push() could exceed the argument limit.
  const blocks: string[] = [];
  for (const [name, family] of families) {
    const help = family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    blocks.push(`# HELP ${name} ${help}\n# TYPE ${name} ${family.type}\n${family.samples.join('\n')}\n`);
  }
  return blocks.join('');
}
