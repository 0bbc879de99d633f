// perfcounter: the process's counters. Every metric of the metrics registry (as /metrics shows
// them), then Node's own: event-loop utilisation, node timing milestones, resource usage, V8
// heap statistics.
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { Counter, Gauge, metricRegistry, Percentile, type Metric } from '../../metrics/index.ts';
import type { CommandSpec } from './registry.ts';

export interface PerfCounter {
  name: string;
  value: number | string;
  units?: string;
  variability?: 'Constant' | 'Monotonic' | 'Variable';
  /** One percentile of a percentile metric (Pegasus types these PERCENTILE). */
  percentile?: boolean;
}

/** More than any process here registers; a bound all the same. */
const COUNTERS_MAX = 20000;

function metricCounters(prefix: string, metric: Metric): PerfCounter[] {
  const units = metric.prototype.unit;
  if (metric instanceof Counter) return [{ name: prefix, value: metric.value, units, variability: 'Monotonic' }];
  if (metric instanceof Gauge) return [{ name: prefix, value: metric.value, units, variability: 'Variable' }];
  if (metric instanceof Percentile) {
    return metric.kinds.map((kind) => ({ name: `${prefix}.${kind}`, value: metric.get(kind) ?? 0, units, variability: 'Variable' as const, percentile: true }));
  }
  // A volatile counter resets when read, which would steal its value from /metrics readers.
  return [];
}

function nodeCounters(): PerfCounter[] {
  const counters: PerfCounter[] = [];
  const elu = performance.eventLoopUtilization();
  counters.push({ name: 'node.eventLoop.utilization', value: Math.round(elu.utilization * 10000) / 10000, variability: 'Variable' });
  counters.push({ name: 'node.eventLoop.idleMs', value: Math.round(elu.idle), units: 'MilliSeconds', variability: 'Monotonic' });
  counters.push({ name: 'node.eventLoop.activeMs', value: Math.round(elu.active), units: 'MilliSeconds', variability: 'Monotonic' });
  const timing = performance.nodeTiming as unknown as Record<string, unknown>;
  for (const key of ['nodeStart', 'v8Start', 'environment', 'bootstrapComplete', 'loopStart', 'idleTime']) {
    const value = timing[key];
    if (typeof value === 'number') counters.push({ name: `node.timing.${key}`, value: Math.round(value * 1000) / 1000, units: 'MilliSeconds', variability: key === 'idleTime' ? 'Monotonic' : 'Constant' });
  }
  for (const [key, value] of Object.entries(process.resourceUsage())) {
    const units = key.endsWith('CPUTime') ? 'MicroSeconds' : key === 'maxRSS' ? 'KiloBytes' : undefined;
    counters.push({ name: `node.resourceUsage.${key}`, value, units, variability: key === 'maxRSS' ? 'Variable' : 'Monotonic' });
  }
  for (const [key, value] of Object.entries(v8.getHeapStatistics())) {
    counters.push({ name: `v8.heap.${key}`, value, units: key.startsWith('number_of') || key === 'does_zap_garbage' ? undefined : 'Bytes', variability: 'Variable' });
  }
  return counters;
}

export function perfCounters(): PerfCounter[] {
  const counters: PerfCounter[] = [];
  for (const entity of metricRegistry.entities()) {
    for (const metric of entity.metrics.values()) counters.push(...metricCounters(`${entity.id}.${metric.prototype.name}`, metric));
  }
  counters.push(...nodeCounters());
  return counters;
}

export const perfcounterCommand: CommandSpec = {
  name: 'perfcounter',
  summary: "Display the process's counters: the metrics registry, event-loop utilisation, resource usage, V8 heap",
  options: [{ name: 'details', short: 'd', type: 'boolean', description: 'Add units and variability' }],
  arguments: [{ name: 'name', type: 'string', description: 'Show only counters whose name contains this text' }],
  examples: ['perfcounter', 'perfcounter -d', 'perfcounter heap'],
  run({ append, args }) {
    const details = args.flag('details');
    const filter = args.argumentText('name');
    const selected = perfCounters().filter((counter) => filter === undefined || counter.name.includes(filter));
    const perfCounterList = selected.slice(0, COUNTERS_MAX).map((counter) =>
      details ? { name: counter.name, units: counter.units ?? 'None', variability: counter.variability ?? 'Variable', value: counter.value } : { name: counter.name, value: counter.value },
    );
    append({ type: 'perfcounter', details, perfCounters: perfCounterList, truncated: selected.length > COUNTERS_MAX ? true : undefined });
  },
};
