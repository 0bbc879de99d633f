// Snapshots of the Node.js process in the shapes Arthas's results use: memory pools, garbage
// collections, the main thread (the event loop), runtime facts. Shared by memory, thread and
// dashboard.
import os from 'node:os';
import { constants as perfConstants, monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import v8 from 'node:v8';
import { threadId } from 'node:worker_threads';

export interface MemoryEntry {
  type: 'heap' | 'nonheap' | 'buffer_pool';
  name: string;
  used: number;
  /** Committed bytes. */
  total: number;
  /** The limit, or -1 when there is none to report. */
  max: number;
}

export interface MemoryInfo {
  heap: MemoryEntry[];
  nonheap: MemoryEntry[];
  buffer_pool: MemoryEntry[];
}

/** V8's heap (the aggregate, then each space), code and RSS, and the memory held outside the heap. */
export function memoryInfo(): MemoryInfo {
  const usage = process.memoryUsage();
  const heapStats = v8.getHeapStatistics();
  const code = v8.getHeapCodeStatistics();
  const heap: MemoryEntry[] = [
    { type: 'heap', name: 'heap', used: usage.heapUsed, total: usage.heapTotal, max: heapStats.heap_size_limit },
  ];
  for (const space of v8.getHeapSpaceStatistics()) {
    heap.push({
      type: 'heap',
      name: space.space_name,
      used: space.space_used_size,
      total: space.space_size,
      // V8 sets no limit per space, only for the whole heap.
      max: -1,
    });
  }
  const nonheap: MemoryEntry[] = [
    { type: 'nonheap', name: 'rss', used: usage.rss, total: usage.rss, max: -1 },
    { type: 'nonheap', name: 'code_and_metadata', used: code.code_and_metadata_size, total: code.code_and_metadata_size, max: -1 },
    { type: 'nonheap', name: 'bytecode_and_metadata', used: code.bytecode_and_metadata_size, total: code.bytecode_and_metadata_size, max: -1 },
    { type: 'nonheap', name: 'malloced_memory', used: heapStats.malloced_memory, total: heapStats.malloced_memory, max: heapStats.peak_malloced_memory },
  ];
  const bufferPool: MemoryEntry[] = [
    { type: 'buffer_pool', name: 'external', used: usage.external, total: usage.external, max: -1 },
    { type: 'buffer_pool', name: 'array_buffers', used: usage.arrayBuffers, total: usage.arrayBuffers, max: -1 },
  ];
  return { heap, nonheap, buffer_pool: bufferPool };
}

// ---- garbage collection, observed from the first use on

export interface GcInfo {
  name: string;
  collectionCount: number;
  /** Milliseconds, rounded. */
  collectionTime: number;
}

const GC_KINDS: Array<[number, string]> = [
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'scavenge'],
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'mark_sweep_compact'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental_marking'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'weak_callbacks'],
];
const gcTotals = new Map<string, { count: number; timeMs: number }>(GC_KINDS.map(([, name]) => [name, { count: 0, timeMs: 0 }]));
let gcObserver: PerformanceObserver | undefined;

/** Starts counting collections; counts cover the time since the first call. */
export function startGcObserver(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      const name = GC_KINDS.find(([value]) => value === kind)?.[1] ?? 'other';
      let totals = gcTotals.get(name);
      if (!totals) gcTotals.set(name, (totals = { count: 0, timeMs: 0 }));
      totals.count++;
      totals.timeMs += entry.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

export function gcInfos(): GcInfo[] {
  return [...gcTotals].map(([name, totals]) => ({ name, collectionCount: totals.count, collectionTime: Math.round(totals.timeMs) }));
}

// ---- the event loop: Node's one JS thread

const NS_PER_MS = 1e6;
/** The delay histogram's sampling timer period; every recorded delay includes it once. */
const LOOP_RESOLUTION_MS = 10;
const round2 = (value: number): number => Math.round(value * 100) / 100;
/** A recorded delay minus the timer period: how late the loop was. */
const lateMs = (delayNs: number): number => round2(Math.max(0, delayNs / NS_PER_MS - LOOP_RESOLUTION_MS));

export interface EventLoopStats {
  /** Share of the window the loop spent running callbacks, 0..1. */
  utilization: number;
  delayMeanMs: number;
  delayP99Ms: number;
  delayMaxMs: number;
}

/** Measures the event loop between `start()` and each `take()` (which starts the next window). */
export class EventLoopSampler {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private cpu = process.cpuUsage();
  private atMs = performance.now();

  constructor() {
    this.histogram.enable();
  }

  take(): { loop: EventLoopStats; cpuPercent: number; cpuDeltaMs: number; windowMs: number } {
    const elu = performance.eventLoopUtilization(this.elu);
    const cpu = process.cpuUsage(this.cpu);
    const nowMs = performance.now();
    const windowMs = Math.max(1, nowMs - this.atMs);
    const has = this.histogram.count > 0;
    const loop: EventLoopStats = {
      utilization: round2(elu.utilization),
      delayMeanMs: has ? lateMs(this.histogram.mean) : 0,
      delayP99Ms: has ? lateMs(this.histogram.percentile(99)) : 0,
      delayMaxMs: has ? lateMs(this.histogram.max) : 0,
    };
    const cpuDeltaMs = (cpu.user + cpu.system) / 1000;
    this.histogram.reset();
    this.elu = performance.eventLoopUtilization();
    this.cpu = process.cpuUsage();
    this.atMs = nowMs;
    return { loop, cpuPercent: round2((cpuDeltaMs / windowMs) * 100), cpuDeltaMs: Math.round(cpuDeltaMs), windowMs: Math.round(windowMs) };
  }

  stop(): void {
    this.histogram.disable();
  }
}

/** The main thread as Arthas's ThreadVO; `cpu` is a percentage of one core over the window. */
export function mainThreadStats(cpuPercent: number, cpuDeltaMs: number): Record<string, unknown> {
  const cpu = process.cpuUsage();
  return {
    id: threadId,
    name: 'main',
    group: 'main',
    priority: safePriority(),
    state: 'RUNNABLE',
    cpu: cpuPercent,
    deltaTime: cpuDeltaMs,
    time: Math.round((cpu.user + cpu.system) / 1000),
    interrupted: false,
    daemon: false,
  };
}

function safePriority(): number {
  try {
    return os.getPriority();
  } catch {
    return 0;
  }
}

/** Counts of the resources keeping the event loop alive, by kind (TCPSocketWrap, Timeout, ...). */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** libuv's thread pool: UV_THREADPOOL_SIZE, 4 by default, at most 1024. */
export function threadPoolSize(): number {
  const configured = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(configured) && configured > 0 ? Math.min(configured, 1024) : 4;
}

export function runtimeInfo(role: string): Record<string, unknown> {
  return {
    osName: os.type(),
    osVersion: os.release(),
    arch: os.arch(),
    nodeVersion: process.versions.node,
    v8Version: process.versions.v8,
    execPath: process.execPath,
    systemLoadAverage: round2(os.loadavg()[0] ?? 0),
    processors: os.availableParallelism(),
    uptime: Math.round(process.uptime()),
    timestamp: Date.now(),
    pid: process.pid,
    role,
  };
}
