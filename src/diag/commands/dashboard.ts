// dashboard: a refreshing overview until interrupted (or -n results): the event loop (delay,
// utilisation, CPU), memory, garbage collections, runtime facts, active handles and the server's
// own metrics. Each refresh is one `dashboard` result.
import { Counter, Gauge, serverEntity } from '../../metrics/index.ts';
import { activeResources, EventLoopSampler, gcInfos, mainThreadStats, memoryInfo, runtimeInfo } from './node-stats.ts';
import type { CommandSpec } from './registry.ts';

/** The first refresh comes after at most this long, so its rates cover a real window. */
const FIRST_REFRESH_MS_MAX = 200;
/** How many of the server entity's metrics a refresh carries. */
const TOP_METRICS_MAX = 40;

/** The server entity's counters and gauges, by name. */
function topMetrics(): Array<{ name: string; value: number; unit: string }> {
  const rows: Array<{ name: string; value: number; unit: string }> = [];
  for (const metric of serverEntity().metrics.values()) {
    if (metric instanceof Counter || metric instanceof Gauge) rows.push({ name: metric.prototype.name, value: metric.value, unit: metric.prototype.unit });
  }
  return rows.sort((a, b) => (a.name < b.name ? -1 : 1)).slice(0, TOP_METRICS_MAX);
}

export const dashboardCommand: CommandSpec = {
  name: 'dashboard',
  summary: 'Display a refreshing overview of the process until interrupted: event loop, memory, GC, runtime, metrics',
  options: [
    { name: 'interval', short: 'i', type: 'integer', description: 'Refresh interval in ms', defaultValue: 5000, min: 100, max: 3600000 },
    { name: 'number-of-execution', short: 'n', type: 'integer', description: 'Stop after this many refreshes', min: 1 },
  ],
  examples: ['dashboard', 'dashboard -i 1000 -n 5'],
  async run({ append, args, sleep, services }) {
    const intervalMs = args.integer('interval')!;
    const count = args.integer('number-of-execution');
    const sampler = new EventLoopSampler();
    try {
      let waitMs = Math.min(intervalMs, FIRST_REFRESH_MS_MAX);
      for (let refresh = 0; count === undefined || refresh < count; refresh++) {
        if (!(await sleep(waitMs))) return;
        waitMs = intervalMs;
        const sample = sampler.take();
        append({
          type: 'dashboard',
          threads: [mainThreadStats(sample.cpuPercent, sample.cpuDeltaMs)],
          memoryInfo: memoryInfo(),
          gcInfos: gcInfos(),
          runtimeInfo: runtimeInfo(services.server.role),
          eventLoop: sample.loop,
          activeResources: activeResources(),
          metrics: topMetrics(),
        });
      }
    } finally {
      sampler.stop();
    }
  },
};
