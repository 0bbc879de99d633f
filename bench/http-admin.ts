// The admin HTTP bench, measured side by side in one run:
//  (a) GET /version on a real `pteron replica` process vs. a bare node:http process answering
//      the same bytes, driven by autocannon from this process (goal: Pteron/bare ≥ 0.8);
//  (b) the time to render /metrics with 10,000 metrics registered, directly and through a real
//      in-process server (goal: < 20 ms), plus the Prometheus exposition.
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import {
  defineMetric, metricRegistry, parseMetricsQuery, renderMetricsJson, renderPrometheus, type MetricPrototype,
} from '../src/metrics/index.ts';
import { createServer } from '../src/server/index.ts';
import { freePort, httpGet, machineCpuSeconds, startChildServer, type ChildServer } from './lib/processes.ts';
import { fixed, median, quantileSorted, SampleBuffer, table, timeRuns } from './lib/stats.ts';

const RATIO_GOAL = 0.8;
const METRICS_RENDER_GOAL_MS = 20;
const METRICS_PER_ENTITY = 10;

interface Options {
  durationS: number;
  warmupS: number;
  connections: number;
  rounds: number;
  iterations: number;
  entities: number;
  only: 'all' | 'http' | 'metrics';
}

const HELP = `usage: npm run bench -- http-admin [options]
  --duration S      seconds per measured autocannon run (default 5)
  --warmup S        seconds of warm-up per target before the rounds (default 2)
  --connections N   concurrent connections (default 50)
  --rounds R        measured rounds; each round runs both targets, order alternating (default 3);
                    a round during which other processes were busy is repeated, up to R times
  --iterations N    /metrics render iterations per variant (default 50)
  --entities N      metric entities to register, ${METRICS_PER_ENTITY} metrics each (default 1000)
  --only PART       http | metrics | all (default all)
`;

function positiveNumber(name: string, text: string | undefined, fallback: number, integer: boolean): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw Object.assign(new Error(`--${name} expects a positive ${integer ? 'integer' : 'number'}, got "${text}"`), {
      code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
    });
  }
  return value;
}

function parseOptions(args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      iterations: { type: 'string' },
      entities: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const only = values.only ?? 'all';
  if (only !== 'all' && only !== 'http' && only !== 'metrics') {
    throw Object.assign(new Error(`--only expects http, metrics or all, got "${only}"`), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
  }
  return {
    durationS: positiveNumber('duration', values.duration, 5, false),
    warmupS: positiveNumber('warmup', values.warmup, 2, false),
    connections: positiveNumber('connections', values.connections, 50, true),
    rounds: positiveNumber('rounds', values.rounds, 3, true),
    iterations: positiveNumber('iterations', values.iterations, 50, true),
    entities: positiveNumber('entities', values.entities, 1000, true),
    only,
  };
}

// ---------------------------------------------------------------------------------------------
// (a) GET /version: Pteron vs. bare node:http

interface LoadRun {
  target: string;
  requestsPerS: number;
  completed: number;
  p50Ms: number;
  p99Ms: number;
  /** Problems the run saw: connection errors, timeouts, non-2xx answers. */
  errors: number;
  /** Server CPU time per completed request, when the server's CPU time can be read. */
  cpuUsPerRequest: number | undefined;
  /** Server CPU use over the run, in cores (1.0 = one core busy all the time). */
  cpuCores: number | undefined;
  /** CPU that neither the server nor this process used during the run, in cores: other load. */
  otherCores: number | undefined;
}

async function load(server: ChildServer, path: string, connections: number, durationS: number): Promise<LoadRun> {
  const latenciesMs = new SampleBuffer();
  const cpuBefore = server.cpuSeconds();
  const machineBefore = machineCpuSeconds();
  const selfBefore = process.cpuUsage();
  const instance = autocannon({ url: `${server.baseUrl}${path}`, connections, duration: durationS, pipelining: 1, timeout: 10 });
  // autocannon's own histogram keeps whole milliseconds; keep each response's time instead.
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => latenciesMs.add(responseTimeMs));
  // autocannon stops itself after `duration`; this bounds it even if a connection hangs.
  const guard = setTimeout(() => instance.stop(), (durationS + 15) * 1000);
  const result = await instance;
  clearTimeout(guard);
  const cpuAfter = server.cpuSeconds();
  const machineAfter = machineCpuSeconds();
  const self = process.cpuUsage(selfBefore);
  const sorted = latenciesMs.sorted();
  const completed = result.requests.total;
  const cpuSeconds = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  return {
    target: server.name,
    requestsPerS: completed / result.duration,
    completed,
    p50Ms: quantileSorted(sorted, 0.5),
    p99Ms: quantileSorted(sorted, 0.99),
    errors: result.errors + result.timeouts + result.non2xx,
    cpuUsPerRequest: cpuSeconds !== undefined && completed > 0 ? (cpuSeconds * 1e6) / completed : undefined,
    cpuCores: cpuSeconds !== undefined ? cpuSeconds / result.duration : undefined,
    otherCores:
      cpuSeconds !== undefined && machineBefore !== undefined && machineAfter !== undefined
        ? Math.max(0, machineAfter - machineBefore - cpuSeconds - (self.user + self.system) / 1e6) / result.duration
        : undefined,
  };
}

function describeRun(run: LoadRun): string[] {
  return [
    run.target, fixed(run.requestsPerS, 0), fixed(run.p50Ms, 3), fixed(run.p99Ms, 3),
    fixed(run.cpuUsPerRequest, 1), fixed(run.cpuCores, 2), fixed(run.otherCores, 2), String(run.errors),
  ];
}

const RUN_HEADER = ['target', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'server cores', 'other load cores', 'errors'];
/** Other processes using more than this many cores during a run make its numbers doubtful. */
const OTHER_LOAD_CORES_WARN = 0.1;

/** Both servers must answer GET /version with the same status, headers and body bytes. */
async function checkSameAnswer(pteron: ChildServer, bare: ChildServer): Promise<void> {
  const [a, b] = await Promise.all([httpGet(`${pteron.baseUrl}/version`), httpGet(`${bare.baseUrl}/version`)]);
  const headerText = (headers: http.IncomingHttpHeaders): string =>
    Object.entries(headers).map(([name, value]) => `${name}: ${String(value)}`).sort().join('; ');
  console.log(`  pteron: ${a.status} ${headerText(a.headers)}; body ${a.body.length} bytes`);
  console.log(`  bare:   ${b.status} ${headerText(b.headers)}; body ${b.body.length} bytes`);
  if (a.status !== b.status || !a.body.equals(b.body) || headerText(a.headers) !== headerText(b.headers)) {
    throw new Error('the bare server does not answer exactly like the Pteron server; the comparison would be unfair');
  }
}

interface VersionResults {
  runs: LoadRun[];
  pteron: { requestsPerS: number; p50Ms: number; p99Ms: number; cpuUsPerRequest: number | undefined };
  bare: { requestsPerS: number; p50Ms: number; p99Ms: number; cpuUsPerRequest: number | undefined };
  /** Median over rounds of the per-round ratio Pteron/bare. */
  ratio: number;
  roundRatios: number[];
  cpuRatio: number | undefined;
}

function medianOf(runs: LoadRun[], pick: (run: LoadRun) => number | undefined): number | undefined {
  const values = runs.map(pick).filter((value): value is number => value !== undefined);
  return values.length === runs.length ? median(values) : undefined;
}

async function benchVersion(options: Options): Promise<VersionResults> {
  console.log(`\n== (a) GET /version: pteron replica vs. bare node:http, ${options.connections} connections, ` +
    `warm-up ${options.warmupS} s, ${options.rounds} rounds × ${options.durationS} s each ==`);
  const started: ChildServer[] = [];
  try {
    const pteronPort = await freePort();
    const pteron = await startChildServer({
      name: 'pteron',
      nodeArgs: ['--import', 'tsx', 'src/cli/main.ts', 'replica', '--port', String(pteronPort)],
      port: pteronPort,
      env: { PTERON_LOG_LEVEL: 'warn' },
      readyPath: '/version',
    });
    started.push(pteron);
    const versionBody = (await httpGet(`${pteron.baseUrl}/version`)).body;
    const barePort = await freePort();
    const bare = await startChildServer({
      name: 'bare',
      nodeArgs: ['--import', 'tsx', 'bench/lib/bare-http-server.ts', String(barePort), versionBody.toString('base64')],
      port: barePort,
      readyPath: '/version',
    });
    started.push(bare);
    console.log(`started pteron (pid ${pteron.pid}, port ${pteron.port}) and bare (pid ${bare.pid}, port ${bare.port})`);
    await checkSameAnswer(pteron, bare);

    for (const server of [pteron, bare]) {
      const warm = await load(server, '/version', options.connections, options.warmupS);
      console.log(`warm-up ${server.name}: ${fixed(warm.requestsPerS, 0)} req/s`);
    }

    // A round whose runs shared the machine with other busy processes is kept in the table but
    // left out of the medians, and replaced by one more round, up to `rounds` extra rounds.
    const runs: LoadRun[] = [];
    const cleanRuns: LoadRun[] = [];
    const roundRows: string[][] = [['round', ...RUN_HEADER, 'ratio', 'counted']];
    const ratios: number[] = [];
    const roundsMax = options.rounds * 2;
    let cleanRounds = 0;
    for (let round = 0; round < roundsMax && cleanRounds < options.rounds; round++) {
      // Alternate which target goes first so drift on a noisy machine hits both alike.
      const order = round % 2 === 0 ? [pteron, bare] : [bare, pteron];
      const byName = new Map<string, LoadRun>();
      for (const server of order) {
        const run = await load(server, '/version', options.connections, options.durationS);
        byName.set(server.name, run);
        runs.push(run);
        console.log(`round ${round + 1} ${server.name}: ${fixed(run.requestsPerS, 0)} req/s, p50 ${fixed(run.p50Ms, 3)} ms, ` +
          `p99 ${fixed(run.p99Ms, 3)} ms, other load ${fixed(run.otherCores, 2)} cores, errors ${run.errors}`);
      }
      const clean = [...byName.values()].every((run) => run.otherCores === undefined || run.otherCores <= OTHER_LOAD_CORES_WARN);
      const ratio = byName.get('pteron')!.requestsPerS / byName.get('bare')!.requestsPerS;
      if (clean) {
        cleanRounds++;
        ratios.push(ratio);
        cleanRuns.push(...byName.values());
      }
      for (const server of order) {
        const first = server === order[0];
        roundRows.push([String(round + 1), ...describeRun(byName.get(server.name)!), first ? fixed(ratio, 3) : '', first ? (clean ? 'yes' : 'no') : '']);
      }
    }
    console.log(`\n${table(roundRows)}`);
    const counted = cleanRounds > 0 ? cleanRuns : runs;
    if (cleanRounds === 0) {
      console.log(`WARNING: other processes used more than ${OTHER_LOAD_CORES_WARN} cores in every round; ` +
        'the medians below use all rounds and understate what this machine can do');
      for (let index = 0; index < runs.length; index += 2) {
        const [a, b] = [runs[index]!, runs[index + 1]!];
        ratios.push((a.target === 'pteron' ? a : b).requestsPerS / (a.target === 'pteron' ? b : a).requestsPerS);
      }
    } else if (cleanRounds < options.rounds) {
      console.log(`WARNING: only ${cleanRounds} of ${options.rounds} rounds ran without other load (over ${OTHER_LOAD_CORES_WARN} cores)`);
    }

    const summarize = (name: string): VersionResults['pteron'] => {
      const mine = counted.filter((run) => run.target === name);
      return {
        requestsPerS: median(mine.map((run) => run.requestsPerS)),
        p50Ms: median(mine.map((run) => run.p50Ms)),
        p99Ms: median(mine.map((run) => run.p99Ms)),
        cpuUsPerRequest: medianOf(mine, (run) => run.cpuUsPerRequest),
      };
    };
    const pteronSummary = summarize('pteron');
    const bareSummary = summarize('bare');
    const totalErrors = runs.reduce((sum, run) => sum + run.errors, 0);
    if (totalErrors > 0) console.log(`WARNING: ${totalErrors} errors/timeouts/non-2xx answers during the measured runs`);
    return {
      runs,
      pteron: pteronSummary,
      bare: bareSummary,
      ratio: median(ratios),
      roundRatios: ratios,
      cpuRatio:
        pteronSummary.cpuUsPerRequest !== undefined && bareSummary.cpuUsPerRequest !== undefined
          ? bareSummary.cpuUsPerRequest / pteronSummary.cpuUsPerRequest
          : undefined,
    };
  } finally {
    for (const server of started.reverse()) await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// (b) /metrics with 10,000 metrics

/** Ten replica-like metrics of every kind, as a partition of a busy table would carry. */
const BENCH_METRICS: MetricPrototype[] = [
  defineMetric({ entityType: 'replica', type: 'Counter', name: 'get_requests', unit: 'Requests', desc: 'The number of GET requests' }),
  defineMetric({ entityType: 'replica', type: 'Counter', name: 'put_requests', unit: 'Requests', desc: 'The number of PUT requests' }),
  defineMetric({ entityType: 'replica', type: 'Counter', name: 'scan_requests', unit: 'Requests', desc: 'The number of SCAN requests' }),
  defineMetric({
    entityType: 'replica', type: 'VolatileCounter', name: 'write_capacity_units', unit: 'CapacityUnits',
    desc: 'The number of write capacity units consumed since the last read',
  }),
  defineMetric({ entityType: 'replica', type: 'Gauge', name: 'rdb_total_sst_files', unit: 'Files', desc: 'The total number of rocksdb sst files' }),
  defineMetric({ entityType: 'replica', type: 'Gauge', name: 'rdb_total_sst_size_mb', unit: 'MegaBytes', desc: 'The total size of rocksdb sst files' }),
  defineMetric({ entityType: 'replica', type: 'Gauge', name: 'rdb_memtable_usage_bytes', unit: 'Bytes', desc: 'The memory usage of rocksdb memtables' }),
  defineMetric({
    entityType: 'replica', type: 'Gauge', name: 'rdb_block_cache_hit_rate', unit: 'Percent', isDouble: true,
    desc: 'The hit rate of rocksdb block cache',
  }),
  defineMetric({ entityType: 'replica', type: 'Percentile', name: 'get_latency_ns', unit: 'NanoSeconds', desc: 'The latency of GET requests' }),
  defineMetric({ entityType: 'replica', type: 'Percentile', name: 'put_latency_ns', unit: 'NanoSeconds', desc: 'The latency of PUT requests' }),
];
/** Samples fed to each percentile before the percentiles are computed. */
const SAMPLES_PER_PERCENTILE = 64;

/** Registers `entities` replica entities × 10 metrics in the process registry; returns how many metrics. */
function registerBenchMetrics(entities: number): number {
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  let registered = 0;
  const partitionsPerTable = 8;
  for (let index = 0; index < entities; index++) {
    const tableId = 1 + Math.floor(index / partitionsPerTable);
    const partitionId = index % partitionsPerTable;
    const entity = metricRegistry.entity('replica', `replica@${tableId}.${partitionId}`, {
      table_id: String(tableId), partition_id: String(partitionId),
    });
    for (const prototype of BENCH_METRICS) {
      switch (prototype.type) {
        case 'Counter':
          entity.counter(prototype).increment(Math.floor(random() * 1e9));
          break;
        case 'VolatileCounter':
          entity.volatileCounter(prototype).increment(Math.floor(random() * 1e6));
          break;
        case 'Gauge':
          entity.gauge(prototype).set(prototype.isDouble ? random() * 100 : Math.floor(random() * 1e7));
          break;
        case 'Percentile': {
          const percentile = entity.percentile(prototype);
          for (let sample = 0; sample < SAMPLES_PER_PERCENTILE; sample++) percentile.observe(Math.floor(random() * 5e6));
          break;
        }
      }
      registered++;
    }
  }
  metricRegistry.recomputePercentiles();
  return registered;
}

/** GET on a kept-alive connection; resolves with the body once it has fully arrived. */
function getBody(agent: http.Agent, port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent, timeout: 10000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${response.statusCode}`));
        else resolve(Buffer.concat(chunks));
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}

interface MetricsResults {
  metrics: number;
  entities: number;
  jsonDirectMs: number;
  jsonHttpMs: number;
  prometheusDirectMs: number;
  prometheusHttpMs: number;
  jsonBytes: number;
  prometheusBytes: number;
}

async function benchMetrics(options: Options): Promise<MetricsResults> {
  const metrics = registerBenchMetrics(options.entities);
  console.log(`\n== (b) /metrics with ${metrics} bench metrics on ${options.entities} entities ` +
    `(plus the server's own), median of ${options.iterations} iterations ==`);
  const server = createServer({ role: 'replica', port: 0 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const port = await server.start();
    const query = parseMetricsQuery(new Map());
    const header = { cluster: 'unknown', role: 'replica', host: os.hostname(), port, timestampNs: 0n };
    const common = { cluster: 'unknown', role: 'replica', port: String(port) };
    const renderJson = (): string => renderMetricsJson(header, metricRegistry.entities(), query);
    const renderProm = (): string => renderPrometheus(common, metricRegistry.entities(), query);

    // Check what is measured: the HTTP answer carries every bench entity.
    const parsed = JSON.parse((await getBody(agent, port, '/metrics')).toString('utf8')) as { entities: Array<{ type: string }> };
    const replicaEntities = parsed.entities.filter((entity) => entity.type === 'replica').length;
    if (replicaEntities !== options.entities) throw new Error(`GET /metrics returned ${replicaEntities} replica entities, expected ${options.entities}`);

    const warmupIterations = Math.min(5, options.iterations);
    const variants: Array<[string, () => unknown]> = [
      ['json direct', renderJson],
      ['json http', () => getBody(agent, port, '/metrics')],
      ['prometheus direct', renderProm],
      ['prometheus http', () => getBody(agent, port, '/metrics?format=prometheus')],
    ];
    const medians = new Map<string, number>();
    const rows: string[][] = [['variant', 'median ms', 'min ms', 'max ms']];
    for (const [name, body] of variants) {
      await timeRuns(warmupIterations, body);
      const timesMs = await timeRuns(options.iterations, body);
      medians.set(name, median(timesMs));
      rows.push([name, fixed(median(timesMs), 2), fixed(Math.min(...timesMs), 2), fixed(Math.max(...timesMs), 2)]);
    }
    console.log(table(rows));
    const jsonBytes = Buffer.byteLength(renderJson());
    const prometheusBytes = Buffer.byteLength(renderProm());
    console.log(`body sizes: json ${(jsonBytes / 1024).toFixed(0)} KiB, prometheus ${(prometheusBytes / 1024).toFixed(0)} KiB`);
    return {
      metrics,
      entities: options.entities,
      jsonDirectMs: medians.get('json direct')!,
      jsonHttpMs: medians.get('json http')!,
      prometheusDirectMs: medians.get('prometheus direct')!,
      prometheusHttpMs: medians.get('prometheus http')!,
      jsonBytes,
      prometheusBytes,
    };
  } finally {
    agent.destroy();
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------

function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL';
}

function printSummary(options: Options, version: VersionResults | undefined, metrics: MetricsResults | undefined): void {
  console.log(`\n== summary (node ${process.version}, ${os.cpus().length} CPUs) ==`);
  const rows: string[][] = [['measure', 'pteron', 'bare', 'pteron/bare', 'goal', 'result']];
  if (version) {
    rows.push(['GET /version req/s (median)', fixed(version.pteron.requestsPerS, 0), fixed(version.bare.requestsPerS, 0),
      fixed(version.ratio, 3), `≥ ${RATIO_GOAL}`, verdict(version.ratio >= RATIO_GOAL)]);
    rows.push(['GET /version p50 ms', fixed(version.pteron.p50Ms, 3), fixed(version.bare.p50Ms, 3),
      fixed(version.pteron.p50Ms / version.bare.p50Ms, 3), '', '']);
    rows.push(['GET /version p99 ms', fixed(version.pteron.p99Ms, 3), fixed(version.bare.p99Ms, 3),
      fixed(version.pteron.p99Ms / version.bare.p99Ms, 3), '', '']);
    rows.push(['server CPU µs per request', fixed(version.pteron.cpuUsPerRequest, 1), fixed(version.bare.cpuUsPerRequest, 1),
      version.cpuRatio === undefined ? '-' : `${fixed(version.cpuRatio, 3)} (eff.)`, '', '']);
  }
  if (metrics) {
    const label = `${metrics.metrics.toLocaleString('en-US')} metrics`;
    rows.push([`/metrics render, ${label} (median ms)`, fixed(metrics.jsonDirectMs, 2), '', '', `< ${METRICS_RENDER_GOAL_MS} ms`,
      verdict(metrics.jsonDirectMs < METRICS_RENDER_GOAL_MS)]);
    rows.push([`GET /metrics, ${label} (median ms)`, fixed(metrics.jsonHttpMs, 2), '', '', `< ${METRICS_RENDER_GOAL_MS} ms`,
      verdict(metrics.jsonHttpMs < METRICS_RENDER_GOAL_MS)]);
    rows.push([`prometheus render, ${label} (median ms)`, fixed(metrics.prometheusDirectMs, 2), '', '', '', '']);
    rows.push([`GET /metrics?format=prometheus (median ms)`, fixed(metrics.prometheusHttpMs, 2), '', '', '', '']);
  }
  console.log(table(rows));
  if (version) {
    console.log(`(a) ${options.rounds} rounds × ${options.durationS} s at ${options.connections} connections per target; ` +
      'req/s and latencies are medians over the counted rounds, the ratio is the median of their per-round ratios ' +
      `(${version.roundRatios.map((ratio) => ratio.toFixed(3)).join(', ')}); "eff." is bare CPU per request / Pteron CPU per request.`);
  }
  if (metrics) {
    console.log(`(b) ${options.iterations} iterations per variant; "direct" calls the renderer, "GET" goes through an ` +
      `in-process server on a kept-alive connection (JSON ${(metrics.jsonBytes / 1024).toFixed(0)} KiB).`);
  }
}

export async function run(args: string[]): Promise<void> {
  const options = parseOptions(args);
  if (!options) {
    process.stdout.write(HELP);
    return;
  }
  // Everything is bounded: past this, the bench gives up (children are killed on exit).
  const budgetS =
    120 + (options.only === 'metrics' ? 0 : 2 * (options.warmupS + 2 * options.rounds * options.durationS) + 30 * (2 + 4 * options.rounds)) +
    (options.only === 'http' ? 0 : options.iterations * 4);
  const watchdog = setTimeout(() => {
    process.stderr.write(`http-admin bench exceeded its ${budgetS} s budget; stopping\n`);
    process.exit(1);
  }, budgetS * 1000);
  watchdog.unref();
  try {
    const version = options.only === 'metrics' ? undefined : await benchVersion(options);
    const metrics = options.only === 'http' ? undefined : await benchMetrics(options);
    printSummary(options, version, metrics);
  } finally {
    clearTimeout(watchdog);
  }
}
