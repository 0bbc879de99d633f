// Runtime-level metrics every process registers on its `server` entity: memory, CPU, event-loop
// lag and garbage collection. They are sampled when read, except GC, which is observed.
import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { collectStandardMetrics, defineMetric, serverEntity } from '../metrics/index.ts';

// Prometheus gets the standard process_* and nodejs_* metrics instead of these (but the handles): the same
// measurements under the names every dashboard knows, and no CPU share "since the previous read".
const server = (name: string, type: 'Gauge' | 'Counter' | 'Percentile', unit: Parameters<typeof defineMetric>[0]['unit'], desc: string, isDouble = false) =>
  defineMetric({ entityType: 'server', type, name, unit, desc, isDouble, prometheus: { omit: true } });

const virtualMemory = server('virtual_mem_usage_mb', 'Gauge', 'MegaBytes', 'The total amount of virtual memory usage in MB');
const residentMemory = server('resident_mem_usage_mb', 'Gauge', 'MegaBytes', 'The total amount of physical memory usage in MB');
const heapUsed = server('heap_used_bytes', 'Gauge', 'Bytes', 'The bytes of the V8 heap in use');
const heapTotal = server('heap_total_bytes', 'Gauge', 'Bytes', 'The bytes of the V8 heap committed');
const externalMemory = server('external_mem_bytes', 'Gauge', 'Bytes', 'The bytes of memory held outside the V8 heap (buffers)');
const cpuPercent = server('cpu_usage_percent', 'Gauge', 'Percent', 'The CPU time used by the process since the previous read, as a percentage of one core', true);
const cpuTotal = server('cpu_time_ms', 'Counter', 'MilliSeconds', 'The CPU time (user + system) used by the process since it started');
const loopLagMean = server('event_loop_lag_mean_ns', 'Gauge', 'NanoSeconds', 'The mean event-loop delay over the sampling window');
const loopLagMax = server('event_loop_lag_max_ns', 'Gauge', 'NanoSeconds', 'The largest event-loop delay over the sampling window');
const loopLagP99 = server('event_loop_lag_p99_ns', 'Gauge', 'NanoSeconds', 'The 99th percentile of the event-loop delay over the sampling window');
const gcCount = server('gc_collections', 'Counter', 'Collections', 'The number of garbage collections');
const gcPause = server('gc_pause_ns', 'Percentile', 'NanoSeconds', 'The duration of each garbage collection pause');
const gcPauseTotal = server('gc_pause_total_ms', 'Counter', 'MilliSeconds', 'The accumulated time spent in garbage collection');
const handles = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'active_handles', unit: 'Values', desc: 'The number of active libuv handles (sockets, timers, servers)',
});

const PAGE_BYTES = 4096;
/** How often the event-loop delay is sampled. */
const LOOP_RESOLUTION_MS = 10;
/** Event-loop lag statistics cover at most this window, then start afresh. */
const LOOP_WINDOW_MS = 10000;
/** The CPU time counter lags the process's real CPU time by at most this much. */
const CPU_SYNC_INTERVAL_MS = 1000;

function virtualMemoryMb(): number {
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[0]);
    return Math.round((pages * PAGE_BYTES) / 1048576);
  } catch {
    return 0;
  }
}

let started = false;

/** Registers the process metrics once per process. */
export function registerProcessMetrics(): void {
  if (started) return;
  started = true;
  collectStandardMetrics();
  const entity = serverEntity();
  entity.gauge(virtualMemory).sampleWith(virtualMemoryMb);
  entity.gauge(residentMemory).sampleWith(() => Math.round(process.memoryUsage.rss() / 1048576));
  entity.gauge(heapUsed).sampleWith(() => process.memoryUsage().heapUsed);
  entity.gauge(heapTotal).sampleWith(() => process.memoryUsage().heapTotal);
  entity.gauge(externalMemory).sampleWith(() => process.memoryUsage().external);

  let lastCpu = process.cpuUsage();
  let lastCpuAt = process.hrtime.bigint();
  entity.gauge(cpuPercent).sampleWith(() => {
    const now = process.hrtime.bigint();
    const used = process.cpuUsage(lastCpu);
    const elapsedUs = Number(now - lastCpuAt) / 1000;
    lastCpu = process.cpuUsage();
    lastCpuAt = now;
    return elapsedUs <= 0 ? 0 : Math.round(((used.user + used.system) / elapsedUs) * 10000) / 100;
  });
  // A counter cannot sample itself when read, so the CPU time is brought up to date on a timer.
  const cpuTime = entity.counter(cpuTotal);
  let cpuReported = 0;
  const syncCpu = (): void => {
    const usage = process.cpuUsage();
    const totalMs = Math.floor((usage.user + usage.system) / 1000);
    cpuTime.increment(totalMs - cpuReported);
    cpuReported = totalMs;
  };
  syncCpu();
  setInterval(syncCpu, CPU_SYNC_INTERVAL_MS).unref();

  // The lag statistics cover the current window; the window restarts on a timer, never on a read,
  // so the three gauges of one query describe the same window.
  // Each sample of the delay histogram includes its own sampling period; the lag is the rest.
  const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  histogram.enable();
  setInterval(() => histogram.reset(), LOOP_WINDOW_MS).unref();
  const loopStat = (read: () => number) => () => {
    const value = histogram.count > 0 ? read() - LOOP_RESOLUTION_MS * 1e6 : 0;
    return Number.isFinite(value) ? Math.max(0, Math.round(value)) : 0;
  };
  entity.gauge(loopLagMean).sampleWith(loopStat(() => histogram.mean));
  entity.gauge(loopLagMax).sampleWith(loopStat(() => histogram.max));
  entity.gauge(loopLagP99).sampleWith(loopStat(() => histogram.percentile(99)));
  entity.gauge(handles).sampleWith(() => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length);

  const collections = entity.counter(gcCount);
  const pauses = entity.percentile(gcPause);
  const pauseTotal = entity.counter(gcPauseTotal);
  let pauseRemainderMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as PerformanceEntry[]) {
      collections.increment();
      pauses.observe(Math.round(entry.duration * 1e6));
      pauseRemainderMs += entry.duration;
      const whole = Math.floor(pauseRemainderMs);
      if (whole > 0) {
        pauseTotal.increment(whole);
        pauseRemainderMs -= whole;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}
