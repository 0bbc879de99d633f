// /service/metrics: pmesh's Metrics object for a service. `processes` has one entry per live
// process with pmesh's process-tree figures (usage summed over the process and its
// descendants, each one's own figures under `tree`), plus what pmesh does not report: the
// instance, its port, health, uptime, restart count, and the request counters the process
// publishes on its own /metrics. `server.upstreams` lists each live instance's address with
// those counters folded into pmesh's upstream fields.
import type { Instance } from './instance.ts';
import { childrenByParent, CpuMeter, processTree, readProcessUsage, usageKey, type ProcessUsage } from './proc-stats.ts';
import type { Service } from './service.ts';
import { formatGoTime } from './sessions.ts';

/** pmesh's ProcMetrics; zero figures are left out, as its `omitempty` does. */
export interface ProcMetrics {
  pid: number;
  create_time: string;
  cmd?: string;
  cpu?: number;
  rss?: number;
  vms?: number;
  hwm?: number;
  data?: number;
  stack?: number;
  locked?: number;
  swap?: number;
  io_read?: number;
  io_write?: number;
}

export interface ProcessEntry extends ProcMetrics {
  tree: Record<string, ProcMetrics>;
  instance: string;
  port?: number;
  health: string;
  uptime_ms: number;
  restarts: number;
  /** The process's own server counters, when its /metrics answered. */
  counters?: Record<string, number>;
}

export interface Upstream {
  address: string;
  healthy?: boolean;
  request_count?: number;
  error_count?: number;
  client_error_count?: number;
}

export interface ServiceMetrics {
  id: string | null;
  type: string;
  server: { upstreams?: Upstream[] };
  processes: ProcessEntry[] | null;
  status: string;
  healthy: number;
  total: number;
  err?: string;
}

export const UNKNOWN_SERVICE_METRICS: ServiceMetrics = Object.freeze({
  id: null, type: '', server: {}, processes: null, status: '', healthy: 0, total: 0,
}) as ServiceMetrics;

/** Server counters read from a Pteron process's /metrics. */
const COUNTERS = ['http_requests', 'http_bad_requests', 'rpc_requests', 'rpc_unknown_requests', 'rpc_frames_rejected'] as const;
const PTERON_KINDS = new Set(['meta', 'replica', 'collector']);
const COUNTERS_TIMEOUT_MS = 1000;

async function readCounters(host: string, port: number): Promise<Record<string, number> | undefined> {
  try {
    const url = `http://${host}:${port}/metrics?types=server&metrics=${COUNTERS.join(',')}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(COUNTERS_TIMEOUT_MS) });
    if (response.status !== 200) return undefined;
    const body = (await response.json()) as { entities?: Array<{ metrics?: Array<{ name: string; value?: number }> }> };
    const counters: Record<string, number> = {};
    for (const entity of body.entities ?? []) {
      for (const metric of entity.metrics ?? []) if (typeof metric.value === 'number') counters[metric.name] = metric.value;
    }
    return counters;
  } catch {
    return undefined;
  }
}

function procMetrics(usage: ProcessUsage, cores: number): ProcMetrics {
  const metrics: ProcMetrics = { pid: usage.pid, create_time: formatGoTime(Math.round(usage.createTimeMs)) };
  const put = (key: Exclude<keyof ProcMetrics, 'pid' | 'create_time' | 'cmd'>, value: number): void => {
    if (value !== 0) metrics[key] = value;
  };
  if (usage.cmd !== '') metrics.cmd = usage.cmd;
  put('cpu', cores);
  put('rss', usage.rssBytes);
  put('vms', usage.vmsBytes);
  put('hwm', usage.hwmBytes);
  put('data', usage.dataBytes);
  put('stack', usage.stackBytes);
  put('locked', usage.lockedBytes);
  put('swap', usage.swapBytes);
  put('io_read', usage.ioReadBytes);
  put('io_write', usage.ioWriteBytes);
  return metrics;
}

const SUMMED = ['cpu', 'rss', 'vms', 'hwm', 'data', 'stack', 'locked', 'swap', 'io_read', 'io_write'] as const;

export class MetricsCollector {
  private readonly cpu = new CpuMeter();

  /** Metrics of several services, sharing one scan of /proc. */
  async collect(services: Service[], nowMs = Date.now()): Promise<Map<string, ServiceMetrics>> {
    const children = childrenByParent();
    const liveKeys = new Set<string>();
    const results = await Promise.all(services.map((service) => this.collectOne(service, children, liveKeys, nowMs)));
    this.cpu.retain(liveKeys);
    return new Map(services.map((service, index) => [service.name, results[index]!]));
  }

  private async collectOne(service: Service, children: Map<number, number[]>, liveKeys: Set<string>, nowMs: number): Promise<ServiceMetrics> {
    const health = service.health(nowMs);
    const stopped = service.state === 'stopped';
    const live = stopped ? [] : service.instances.filter((instance) => instance.live && instance.pid !== undefined);
    const counters = await Promise.all(live.map((instance) =>
      PTERON_KINDS.has(service.spec.kind) && instance.spec.port !== undefined && instance.state === 'running'
        ? readCounters(instance.spec.host, instance.spec.port)
        : Promise.resolve(undefined)));
    const processes = stopped ? null : live.map((instance, index) => this.processEntry(instance, counters[index], children, liveKeys, nowMs));
    const upstreams: Upstream[] = [];
    live.forEach((instance, index) => {
      if (instance.spec.port === undefined) return;
      const upstream: Upstream = { address: `${instance.spec.host}:${instance.spec.port}` };
      if (instance.healthy) upstream.healthy = true;
      const counted = counters[index];
      if (counted) {
        const requests = (counted.http_requests ?? 0) + (counted.rpc_requests ?? 0);
        const clientErrors = (counted.http_bad_requests ?? 0) + (counted.rpc_unknown_requests ?? 0) + (counted.rpc_frames_rejected ?? 0);
        if (requests > 0) upstream.request_count = requests;
        if (clientErrors > 0) upstream.client_error_count = clientErrors;
      }
      upstreams.push(upstream);
    });
    const metrics: ServiceMetrics = {
      id: service.id ?? null,
      type: service.spec.kind,
      server: upstreams.length > 0 ? { upstreams } : {},
      processes,
      status: health.status,
      healthy: health.healthy,
      total: health.total,
    };
    if (health.err !== undefined) metrics.err = health.err;
    return metrics;
  }

  private processEntry(
    instance: Instance, counters: Record<string, number> | undefined, children: Map<number, number[]>, liveKeys: Set<string>, nowMs: number,
  ): ProcessEntry {
    const pid = instance.pid!;
    const tree: Record<string, ProcMetrics> = {};
    const total: Record<string, number> = {};
    let root: ProcMetrics | undefined;
    for (const member of processTree(pid, children)) {
      const usage = readProcessUsage(member);
      if (!usage) continue;
      liveKeys.add(usageKey(usage));
      const own = procMetrics(usage, this.cpu.coresInUse(usage, nowMs));
      // /proc's start time is only as exact as the boot time (whole seconds); the supervisor
      // knows when it spawned the root.
      if (member === pid && instance.startedAtMs !== undefined) own.create_time = formatGoTime(instance.startedAtMs);
      tree[String(member)] = own;
      if (member === pid) root = own;
      for (const key of SUMMED) total[key] = (total[key] ?? 0) + (own[key] ?? 0);
    }
    const entry: ProcessEntry = {
      pid,
      create_time: root?.create_time ?? formatGoTime(instance.startedAtMs ?? nowMs),
      ...(root?.cmd !== undefined ? { cmd: root.cmd } : { cmd: instance.spec.argv.join(' ') }),
      tree,
      instance: instance.name,
      health: instance.healthy ? 'healthy' : instance.state === 'running' ? 'unhealthy' : instance.state,
      uptime_ms: nowMs - (instance.startedAtMs ?? nowMs),
      restarts: instance.restarts,
    };
    for (const key of SUMMED) {
      const value = key === 'cpu' ? Math.round((total[key] ?? 0) * 1000) / 1000 : total[key] ?? 0;
      if (value !== 0) entry[key] = value;
    }
    if (instance.spec.port !== undefined) entry.port = instance.spec.port;
    if (counters) entry.counters = counters;
    return orderedEntry(entry);
  }
}

/** pmesh's keys first, in its order, then the additions. */
function orderedEntry(entry: ProcessEntry): ProcessEntry {
  const order = ['pid', 'create_time', 'cmd', ...SUMMED, 'tree', 'instance', 'port', 'health', 'uptime_ms', 'restarts', 'counters'] as const;
  const ordered: Record<string, unknown> = {};
  for (const key of order) if (entry[key] !== undefined) ordered[key] = entry[key];
  return ordered as unknown as ProcessEntry;
}
