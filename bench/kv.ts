// The kv bench: get/set throughput and latency of a real cluster through the TypeScript client,
// next to the same load on a classic-level database in this process (the ceiling: no network,
// no RPC, no replication). One meta and three replica servers are started as child processes
// (or an existing cluster is used with --meta), one table per replica count (by default one with
// a single replica per partition and one with three, which replicates every write to two
// secondaries before acknowledging it) is created, keys are preloaded, then each read/write mix
// runs for a fixed time on N client connections with D requests in flight on each: the ceiling,
// then every table, one after another. Writes are also timed on their own, and the write
// throughput of each replica count is put side by side with the single-replica one.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ClassicLevel } from 'classic-level';
import { parseHostPort } from '../src/base/index.ts';
import { createClient, PegasusError, type PegasusClient, type PegasusTable } from '../src/client/index.ts';
import { RpcClient } from '../src/net/index.ts';
import { RPCS } from '../src/wire/index.ts';
import { freePort, httpGet, machineCpuSeconds, sleep, startChildServer, type ChildServer } from './lib/processes.ts';
import { fixed, quantileSorted, SampleBuffer, table } from './lib/stats.ts';

const HELP = `usage: npm run bench -- kv [options]
  --meta host:port[,...]  use this cluster instead of starting one meta + three replica servers
                          (a 1-replica table needs replication.mutation_2pc_min_replica_count=1 there)
  --table NAME            table name prefix: table NAME_rN has N replicas per partition (default kvbench)
  --replicas N[,N...]     replica counts to measure, one table each (default 1,3)
  --mixes LIST            read/write mixes, as read percent/write percent (default 0/100,50/50,95/5,100/0)
  --partitions N          partitions of the table, a power of two (default 8)
  --connections N         client connections, each its own client (default 16)
  --depth N               requests in flight per connection (default 16: ops/s is meant to be the
                          cluster's capacity; at 8 x 8 a three-replica table waits on its round
                          trips with CPU to spare, and each mutation carries only about 4 writes)
  --seconds N             measured seconds per run (default 8)
  --warmup N              unmeasured seconds before each run (default 1)
  --rounds N              run every table this many times per mix, taking turns, and report each
                          table's median run by ops/s (the lower middle one for an even N; default
                          1; figures on a shared machine vary by about 20% from run to run)
  --keys N                keys preloaded and used (default 10000)
  --value-bytes N         value size (default 1024)
  --set SECTION.KEY=VALUE a config setting for the servers this bench starts (repeatable)
  --cpu-prof DIR          replica servers this bench starts write V8 CPU profiles into DIR when stopped
`;

interface Options {
  metas: string | undefined;
  tablePrefix: string;
  replicaCounts: number[];
  mixes: Mix[];
  partitions: number;
  connections: number;
  depth: number;
  seconds: number;
  warmupS: number;
  rounds: number;
  keys: number;
  valueBytes: number;
  cpuProfDir: string | undefined;
  serverSettings: string[];
}

interface Mix {
  name: string;
  readFraction: number;
}

/** Single-replica goals: reads on the most read-heavy mix, writes on the most write-heavy one. */
const GOAL_SINGLE_READS_PER_S = 30000;
const GOAL_SINGLE_WRITES_PER_S = 10000;
/** The write goals for a three-replica table (measured on the all-writes mix, or the most write-heavy one). */
const GOAL_REPLICATED_WRITES_PER_S = 8000;
const GOAL_REPLICATED_SHARE = 0.5;

interface RunResult {
  ops: number;
  errors: number;
  firstError: string | undefined;
  elapsedS: number;
  latenciesMs: Float64Array;
  /** Writes alone: how many were measured, and their latencies. */
  writes: number;
  writeLatenciesMs: Float64Array;
}

/** What one operation of a loop was. */
type OpKind = 'read' | 'write';

/** A key of the working set: hash key and sort key derived from one number. */
const hashKeyOf = (index: number): string => `user${index}`;
const SORT_KEY = 'profile';

function parseOptions(args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    options: {
      meta: { type: 'string' }, table: { type: 'string' }, replicas: { type: 'string' }, mixes: { type: 'string' },
      partitions: { type: 'string' }, connections: { type: 'string' }, depth: { type: 'string' }, seconds: { type: 'string' },
      warmup: { type: 'string' }, rounds: { type: 'string' }, keys: { type: 'string' }, 'value-bytes': { type: 'string' }, 'cpu-prof': { type: 'string' },
      set: { type: 'string', multiple: true }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  const positive = (text: string | undefined, fallback: number, what: string): number => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${what} must be a positive integer, got ${text}`);
    return value;
  };
  const partitions = positive(values.partitions, 8, 'partitions');
  if ((partitions & (partitions - 1)) !== 0) throw new Error(`--partitions must be a power of two, got ${partitions}`);
  const replicaCounts = [...new Set((values.replicas ?? '1,3').split(',').map((text) => positive(text.trim(), 1, 'replicas')))];
  for (const count of replicaCounts) if (count > 3) throw new Error(`--replicas: at most 3 replicas (the cluster has three replica servers), got ${count}`);
  const mixes = (values.mixes ?? '0/100,50/50,95/5,100/0').split(',').map((text) => parseMix(text.trim()));
  return {
    metas: values.meta,
    tablePrefix: values.table ?? 'kvbench',
    replicaCounts,
    mixes,
    partitions,
    connections: positive(values.connections, 16, 'connections'),
    depth: positive(values.depth, 16, 'depth'),
    seconds: positive(values.seconds, 8, 'seconds'),
    warmupS: Number(values.warmup ?? 1),
    rounds: positive(values.rounds, 1, 'rounds'),
    keys: positive(values.keys, 10_000, 'keys'),
    valueBytes: positive(values['value-bytes'], 1024, 'value-bytes'),
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : path.resolve(values['cpu-prof']),
    serverSettings: values.set ?? [],
  };
}

/** `R/W` in percent, summing to 100. */
function parseMix(text: string): Mix {
  const match = /^(\d{1,3})\/(\d{1,3})$/.exec(text);
  const reads = Number(match?.[1]);
  if (!match || reads + Number(match[2]) !== 100) throw new Error(`--mixes: "${text}" is not read%/write% summing to 100`);
  return { name: text, readFraction: reads / 100 };
}

const tableNameOf = (options: Options, replicas: number): string => `${options.tablePrefix}_r${replicas}`;

/**
 * Runs `operation` in `workers` closed loops for `seconds` (after `warmupS` unmeasured), and
 * collects each measured operation's latency. Every loop stops at the deadline; the call
 * resolves once all of them have.
 */
async function drive(
  workers: number, warmupS: number, seconds: number, operation: (worker: number) => Promise<OpKind>, meter: CpuMeter,
): Promise<RunResult> {
  const samples = new SampleBuffer();
  const writeSamples = new SampleBuffer();
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopped = false;
  const loop = async (worker: number): Promise<void> => {
    while (!stopped) {
      const startNs = process.hrtime.bigint();
      try {
        const kind = await operation(worker);
        if (measuring && !stopped) {
          const latencyMs = Number(process.hrtime.bigint() - startNs) / 1e6;
          samples.add(latencyMs);
          if (kind === 'write') writeSamples.add(latencyMs);
        }
      } catch (error) {
        if (measuring) errors++;
        firstError ??= error instanceof PegasusError ? error.message : String(error);
        // A failing target must not turn the loop into a busy spin.
        await sleep(10);
      }
    }
  };
  const loops = Array.from({ length: workers }, (_, worker) => loop(worker));
  if (warmupS > 0) await sleep(warmupS * 1000);
  measuring = true;
  meter.start();
  const startedNs = process.hrtime.bigint();
  await sleep(seconds * 1000);
  stopped = true;
  const elapsedS = Number(process.hrtime.bigint() - startedNs) / 1e9;
  meter.stop();
  await Promise.all(loops);
  return {
    ops: samples.length, errors, firstError, elapsedS, latenciesMs: samples.sorted(), writes: writeSamples.length, writeLatenciesMs: writeSamples.sorted(),
  };
}

/** A small deterministic generator per worker, so that both targets see the same key sequence. */
function randomSource(seed: number): () => number {
  let state = (seed * 2654435761) >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}

/** CPU seconds used over the measured part of a run: by this process, by the servers it started, by the whole machine. */
class CpuMeter {
  bench = 0;
  servers: number | undefined;
  machine: number | undefined;
  private benchStart: NodeJS.CpuUsage = process.cpuUsage();
  private serversStart: number[] = [];
  private machineStart: number | undefined;

  constructor(private readonly children: readonly ChildServer[]) {}

  start(): void {
    this.benchStart = process.cpuUsage();
    this.serversStart = this.children.map((child) => child.cpuSeconds() ?? 0);
    this.machineStart = machineCpuSeconds();
  }

  stop(): void {
    const used = process.cpuUsage(this.benchStart);
    this.bench = (used.user + used.system) / 1e6;
    this.servers = this.children.length === 0
      ? undefined : this.children.reduce((sum, child, index) => sum + (child.cpuSeconds() ?? 0) - this.serversStart[index]!, 0);
    const machineEnd = machineCpuSeconds();
    this.machine = machineEnd === undefined || this.machineStart === undefined ? undefined : machineEnd - this.machineStart;
  }
}

function makeValue(bytes: number): Buffer {
  const value = Buffer.alloc(bytes);
  for (let index = 0; index < bytes; index++) value[index] = 0x61 + (index % 26);
  return value;
}

// ---------------------------------------------------------------------------------------------
// the cluster

interface Cluster {
  metas: string;
  children: ChildServer[];
  dataRoot: string | undefined;
}

async function startCluster(cpuProfDir: string | undefined, settings: readonly string[]): Promise<Cluster> {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-bench-kv-'));
  const children: ChildServer[] = [];
  try {
    const metaPort = await freePort();
    const common = [
      `meta_server.server_list=127.0.0.1:${metaPort}`,
      'replication.cluster_name=kv-bench',
      'replication.fd_beacon_interval_seconds=1',
      'replication.fd_check_interval_seconds=1',
      'replication.config_sync_interval_ms=1000',
      'replication.mutation_2pc_min_replica_count=1',
      ...settings,
    ].flatMap((setting) => ['--set', setting]);
    const start = async (name: string, role: string, port: number, extra: string[], nodeFlags: string[] = []): Promise<ChildServer> => {
      const child = await startChildServer({
        name,
        nodeArgs: [...nodeFlags, '--import', 'tsx', 'src/cli/main.ts', role, '--port', String(port), ...common, '--set', `core.data_dir=${path.join(dataRoot, name)}`, ...extra],
        port,
        env: { PTERON_LOG_LEVEL: 'warn' },
        readyPath: '/version',
      });
      children.push(child);
      return child;
    };
    await start('meta', 'meta', metaPort, ['--set', 'meta_server.min_live_node_count_for_unfreeze=1']);
    const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir];
    for (let index = 1; index <= 3; index++) await start(`replica${index}`, 'replica', await freePort(), [], profile);
    return { metas: `127.0.0.1:${metaPort}`, children, dataRoot };
  } catch (error) {
    await Promise.all(children.map((child) => child.stop()));
    rmSync(dataRoot, { recursive: true, force: true });
    throw error;
  }
}

/** The meta's view of a table: how many partitions have a primary and all their secondaries. */
async function fullyHealthyPartitions(metas: string, tableName: string): Promise<number | undefined> {
  for (const meta of metas.split(',')) {
    try {
      const response = await httpGet(`http://${meta.trim()}/meta/app?name=${encodeURIComponent(tableName)}&detail`, 2000);
      if (response.status !== 200) continue;
      const view = JSON.parse(response.body.toString('utf8')) as { healthy?: Record<string, string> };
      const count = Number(view.healthy?.fully_healthy_partition_count);
      if (Number.isInteger(count)) return count;
    } catch {
      // not this meta (not the leader, or not answering): try the next one
    }
  }
  return undefined;
}

/** Creates the table with `replicas` replicas per partition, unless it exists. */
async function createTable(options: Options, metas: string, tableName: string, replicas: number): Promise<void> {
  const meta = new RpcClient(parseHostPort(metas.split(',')[0]!), { timeoutMs: 10_000 });
  try {
    const created = await meta.callRpc(RPCS.RPC_CM_CREATE_APP, {
      appName: tableName,
      options: {
        partitionCount: options.partitions, replicaCount: replicas, successIfExist: true, appType: 'pegasus', isStateful: true, envs: new Map(),
      },
    });
    if (created.error !== 'ERR_OK' || created.result?.err !== 'ERR_OK') {
      throw new Error(`creating table ${tableName}: ${created.error} ${created.result?.err ?? ''}`);
    }
  } finally {
    await meta.close();
  }
}

/** Waits until the meta counts every partition of the table fully healthy (all its replicas in place), then until every partition takes writes. */
async function waitTableReady(options: Options, metas: string, tableName: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let healthy: number | undefined;
  while ((healthy = await fullyHealthyPartitions(metas, tableName)) !== options.partitions) {
    if (Date.now() > deadline) throw new Error(`table ${tableName}: ${healthy ?? 'unknown'} of ${options.partitions} partitions fully healthy after 60 s`);
    await sleep(300);
  }
  for (;;) {
    const probe = createClient({ metaServers: metas, timeoutMs: 1000, retriesMax: 0 });
    try {
      const probeTable = await probe.openTable(tableName);
      await Promise.all(Array.from({ length: options.partitions * 4 }, (_, index) => probeTable.set(`probe${index}`, '', 'x')));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`table ${tableName} not ready after 60 s: ${(error as Error).message}`);
      await sleep(300);
    } finally {
      await probe.close();
    }
  }
}

async function preload(tableHandle: PegasusTable, keys: number, value: Buffer): Promise<void> {
  const inFlightMax = 64;
  let next = 0;
  await Promise.all(Array.from({ length: inFlightMax }, async () => {
    while (next < keys) {
      const index = next++;
      await tableHandle.set(hashKeyOf(index), SORT_KEY, value);
    }
  }));
}

// ---------------------------------------------------------------------------------------------

/** One table under test: its replica count and a client (its own connections) per bench connection. */
interface Target {
  replicas: number;
  tableName: string;
  clients: PegasusClient[];
  tables: PegasusTable[];
}

interface Measured {
  result: RunResult;
  opsPerS: number;
  writesPerS: number;
  readsPerS: number;
}

const replicasLabel = (replicas: number): string => `${replicas} replica${replicas === 1 ? '' : 's'}`;

function measuredOf(result: RunResult): Measured {
  return { result, opsPerS: result.ops / result.elapsedS, writesPerS: result.writes / result.elapsedS, readsPerS: (result.ops - result.writes) / result.elapsedS };
}

/** Writes side by side: per mix with writes, each replica count's write rate and latency, and its ratio to the fewest replicas. */
function writesTable(options: Options, mixes: readonly Mix[], measured: Map<string, Measured>): string {
  const base = options.replicaCounts[0]!;
  const header = ['mix'];
  for (const replicas of options.replicaCounts) {
    header.push(`${replicas}r writes/s`, `${replicas}r p50 ms`, `${replicas}r p99 ms`);
    if (replicas !== base) header.push(`${replicas}r/${base}r`);
  }
  const rows = [header];
  for (const mix of mixes) {
    const row = [mix.name];
    const baseRun = measured.get(`${mix.name}/${base}`);
    for (const replicas of options.replicaCounts) {
      const run = measured.get(`${mix.name}/${replicas}`);
      row.push(fixed(run?.writesPerS, 0), fixed(run && quantileSorted(run.result.writeLatenciesMs, 0.5), 3), fixed(run && quantileSorted(run.result.writeLatenciesMs, 0.99), 3));
      if (replicas !== base) row.push(run && baseRun && baseRun.writesPerS > 0 ? fixed(run.writesPerS / baseRun.writesPerS, 2) : '-');
    }
    rows.push(row);
  }
  return table(rows);
}

export async function run(args: string[]): Promise<void> {
  const options = parseOptions(args);
  if (!options) return;
  options.replicaCounts.sort((a, b) => a - b);
  const value = makeValue(options.valueBytes);
  const workers = options.connections * options.depth;

  let cluster: Cluster | undefined;
  const targets: Target[] = [];
  const levelDir = mkdtempSync(path.join(os.tmpdir(), 'pteron-bench-kv-level-'));
  const level = new ClassicLevel<Buffer, Buffer>(levelDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const benchStarted = Date.now();
  try {
    if (options.metas === undefined) {
      if (options.cpuProfDir !== undefined) mkdirSync(options.cpuProfDir, { recursive: true });
      cluster = await startCluster(options.cpuProfDir, options.serverSettings);
      console.log(`started ${cluster.children.map((child) => `${child.name} (pid ${child.pid}, port ${child.port})`).join(', ')}`);
    }
    const metas = options.metas ?? cluster!.metas;
    // All tables are created first: a replicated table takes a while to get its secondaries, meanwhile the others are preloaded.
    const createStarted = Date.now();
    for (const replicas of options.replicaCounts) await createTable(options, metas, tableNameOf(options, replicas), replicas);
    for (const replicas of options.replicaCounts) {
      const tableName = tableNameOf(options, replicas);
      await waitTableReady(options, metas, tableName);
      const readyMs = Date.now() - createStarted;
      const target: Target = { replicas, tableName, clients: [], tables: [] };
      targets.push(target);
      for (let index = 0; index < options.connections; index++) target.clients.push(createClient({ metaServers: metas, timeoutMs: 5000 }));
      target.tables = await Promise.all(target.clients.map((client) => client.openTable(tableName)));
      const preloadStarted = Date.now();
      await preload(target.tables[0]!, options.keys, value);
      console.log(`table ${tableName} (${replicasLabel(replicas)}) healthy ${readyMs} ms after creation; `
        + `preloaded ${options.keys} keys of ${options.valueBytes} bytes in ${Date.now() - preloadStarted} ms`);
    }
    await level.open();
    const levelKeys = Array.from({ length: options.keys }, (_, index) => Buffer.from(`${hashKeyOf(index)}\u0000${SORT_KEY}`));
    await level.batch(levelKeys.map((key) => ({ type: 'put' as const, key, value })));

    const rows = [['target', 'mix', 'ops/s', 'p50 ms', 'p99 ms', 'writes/s', 'errors', 'bench CPU s', 'server CPU s', 'server CPU µs/op', 'x ceiling']];
    const firstErrors: string[] = [];
    /** By `${mix}/${replicas}`. */
    const measured = new Map<string, Measured>();
    for (const mix of options.mixes) {
      const levelRandom = Array.from({ length: workers }, (_, worker) => randomSource(worker + 1));
      const levelCpu = new CpuMeter([]);
      const ceiling = measuredOf(await drive(workers, options.warmupS, options.seconds, async (worker) => {
        const random = levelRandom[worker]!;
        const key = levelKeys[Math.floor(random() * options.keys)]!;
        if (random() < mix.readFraction) {
          await level.get(key);
          return 'read';
        }
        await level.put(key, value);
        return 'write';
      }, levelCpu));
      const latencies = ceiling.result.latenciesMs;
      rows.push(['classic-level in-process', mix.name, fixed(ceiling.opsPerS, 0), fixed(quantileSorted(latencies, 0.5), 3),
        fixed(quantileSorted(latencies, 0.99), 3), fixed(ceiling.writesPerS, 0), String(ceiling.result.errors), fixed(levelCpu.bench, 1), '-', '-', '1.00']);

      // Tables take turns round after round, so that a slow stretch of the machine hits them alike.
      const runsOf = new Map<Target, Array<{ run: Measured; cpu: CpuMeter }>>(targets.map((target) => [target, []]));
      for (let round = 1; round <= options.rounds; round++) {
        for (const target of targets) {
          const clusterRandom = Array.from({ length: workers }, (_, worker) => randomSource(worker + (round - 1) * workers + 1));
          const cpu = new CpuMeter(cluster?.children ?? []);
          const run = measuredOf(await drive(workers, options.warmupS, options.seconds, async (worker) => {
            const random = clusterRandom[worker]!;
            const tableHandle = target.tables[worker % target.tables.length]!;
            const hashKey = hashKeyOf(Math.floor(random() * options.keys));
            if (random() < mix.readFraction) {
              await tableHandle.get(hashKey, SORT_KEY);
              return 'read';
            }
            await tableHandle.set(hashKey, SORT_KEY, value);
            return 'write';
          }, cpu));
          runsOf.get(target)!.push({ run, cpu });
          if (run.result.firstError) firstErrors.push(`${mix.name} ${replicasLabel(target.replicas)}: ${run.result.firstError}`);
          const machine = cpu.machine === undefined ? ''
            : `; machine CPU ${fixed(cpu.machine, 1)} s over ${fixed(run.result.elapsedS, 1)} s on ${os.cpus().length} cores`
              + ` (bench ${fixed(cpu.bench, 1)} s, servers ${fixed(cpu.servers, 1)} s)`;
          const roundText = options.rounds > 1 ? ` (round ${round})` : '';
          console.log(`${mix.name} ${replicasLabel(target.replicas)}${roundText}: ${fixed(run.opsPerS, 0)} ops/s${machine}`);
        }
      }
      for (const target of targets) {
        const runs = runsOf.get(target)!.sort((a, b) => a.run.opsPerS - b.run.opsPerS);
        const { run, cpu } = runs[Math.floor((runs.length - 1) / 2)]!;
        measured.set(`${mix.name}/${target.replicas}`, run);
        const runLatencies = run.result.latenciesMs;
        rows.push([`pteron ${replicasLabel(target.replicas)} (client)`, mix.name, fixed(run.opsPerS, 0), fixed(quantileSorted(runLatencies, 0.5), 3),
          fixed(quantileSorted(runLatencies, 0.99), 3), fixed(run.writesPerS, 0), String(run.result.errors), fixed(cpu.bench, 1), fixed(cpu.servers, 1),
          fixed(cpu.servers === undefined || run.result.ops === 0 ? undefined : (cpu.servers * 1e6) / run.result.ops, 0), fixed(run.opsPerS / ceiling.opsPerS, 2)]);
      }
    }
    const where = cluster ? '1 meta + 3 replica servers (child processes)' : `the cluster at ${metas}`;
    const tablesText = targets.map((target) => `${target.tableName} (${replicasLabel(target.replicas)})`).join(', ');
    process.stdout.write(
      `\nkv bench: ${where}, tables ${tablesText} of ${options.partitions} partitions, `
        + `${options.connections} connections x ${options.depth} in flight, ${options.valueBytes}-byte values, ${options.keys} keys, `
        + `${options.seconds} s per run after ${options.warmupS} s warm-up`
        + `${options.rounds > 1 ? `, each table's median of ${options.rounds} runs by ops/s` : ''}; ceiling = the same loops on classic-level in this process; `
        + `CPU seconds are those of the measured time; server CPU µs/op = server CPU / operations (all threads of the meta and replica servers)\n\n${table(rows)}\n`,
    );
    const writeMixes = options.mixes.filter((mix) => mix.readFraction < 1);
    if (targets.length > 1 && writeMixes.length > 0) {
      process.stdout.write(`\nwrites alone (latency of the write operations of each mix):\n\n${writesTable(options, writeMixes, measured)}\n`);
    }
    const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
    const byReads = [...options.mixes].sort((a, b) => b.readFraction - a.readFraction);
    const readMix = byReads.find((mix) => mix.readFraction > 0);
    const singleReads = readMix && measured.get(`${readMix.name}/1`);
    if (readMix && singleReads) {
      process.stdout.write(`\ngoal: 1-replica reads >= ${GOAL_SINGLE_READS_PER_S} ops/s (${readMix.name}): `
        + `${fixed(singleReads.readsPerS, 0)} ops/s, ${verdict(singleReads.readsPerS >= GOAL_SINGLE_READS_PER_S)}\n`);
    }
    // The write goals are measured on the most write-heavy mix.
    const goalMix = [...writeMixes].sort((a, b) => a.readFraction - b.readFraction)[0];
    const replicated = goalMix && measured.get(`${goalMix.name}/3`);
    const single = goalMix && measured.get(`${goalMix.name}/1`);
    if (goalMix && single) {
      process.stdout.write(`goal: 1-replica writes >= ${GOAL_SINGLE_WRITES_PER_S} ops/s (${goalMix.name}): `
        + `${fixed(single.writesPerS, 0)} ops/s, ${verdict(single.writesPerS >= GOAL_SINGLE_WRITES_PER_S)}\n`);
    }
    if (goalMix && replicated) {
      process.stdout.write(`goal: 3-replica writes >= ${GOAL_REPLICATED_WRITES_PER_S} ops/s (${goalMix.name}): `
        + `${fixed(replicated.writesPerS, 0)} ops/s, ${verdict(replicated.writesPerS >= GOAL_REPLICATED_WRITES_PER_S)}\n`);
      if (single) {
        const share = single.writesPerS > 0 ? replicated.writesPerS / single.writesPerS : Number.NaN;
        process.stdout.write(`goal: 3-replica writes >= ${fixed(GOAL_REPLICATED_SHARE * 100, 0)}% of 1-replica writes (${goalMix.name}): `
          + `${fixed(share * 100, 0)}% (${fixed(replicated.writesPerS, 0)} / ${fixed(single.writesPerS, 0)} ops/s), ${verdict(share >= GOAL_REPLICATED_SHARE)}\n`);
      }
    }
    for (const line of firstErrors) process.stdout.write(`first error ${line}\n`);
    process.stdout.write(`\ntotal bench time ${fixed((Date.now() - benchStarted) / 1000, 0)} s\n`);
  } finally {
    await Promise.all(targets.flatMap((target) => target.clients.map((client) => client.close())));
    await level.close().catch(() => {});
    rmSync(levelDir, { recursive: true, force: true });
    if (cluster) {
      await Promise.all(cluster.children.map((child) => child.stop()));
      if (cluster.dataRoot) rmSync(cluster.dataRoot, { recursive: true, force: true });
    }
  }
}
