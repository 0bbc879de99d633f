// The kv bench: get/set throughput and latency of a real cluster through the TypeScript client,
// next to the same load on a classic-level database in this process (the ceiling: no network,
// no RPC, no replication). One meta and three replica servers are started as child processes
// (or an existing cluster is used with --meta), a table with one replica per partition is
// created, keys are preloaded, then each read/write mix runs for a fixed time on N client
// connections with D requests in flight on each.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ClassicLevel } from 'classic-level';
import { parseHostPort } from '../src/base/index.ts';
import { createClient, PegasusError, type PegasusClient, type PegasusTable } from '../src/client/index.ts';
import { RpcClient } from '../src/net/index.ts';
import { RPCS } from '../src/wire/index.ts';
import { freePort, machineCpuSeconds, sleep, startChildServer, type ChildServer } from './lib/processes.ts';
import { fixed, quantileSorted, SampleBuffer, table } from './lib/stats.ts';

const HELP = `usage: npm run bench -- kv [options]
  --meta host:port[,...]  use this cluster instead of starting one meta + three replica servers
                          (a 1-replica table needs replication.mutation_2pc_min_replica_count=1 there)
  --table NAME            table to create and use (default kvbench)
  --partitions N          partitions of the table, a power of two (default 8)
  --connections N         client connections, each its own client (default 8)
  --depth N               requests in flight per connection (default 8)
  --seconds N             measured seconds per run (default 10)
  --warmup N              unmeasured seconds before each run (default 1)
  --keys N                keys preloaded and used (default 10000)
  --value-bytes N         value size (default 1024)
`;

interface Options {
  metas: string | undefined;
  tableName: string;
  partitions: number;
  connections: number;
  depth: number;
  seconds: number;
  warmupS: number;
  keys: number;
  valueBytes: number;
}

interface Mix {
  name: string;
  readFraction: number;
}

const MIXES: readonly Mix[] = [
  { name: '50/50', readFraction: 0.5 },
  { name: '95/5', readFraction: 0.95 },
];

interface RunResult {
  ops: number;
  errors: number;
  firstError: string | undefined;
  elapsedS: number;
  latenciesMs: Float64Array;
}

/** A key of the working set: hash key and sort key derived from one number. */
const hashKeyOf = (index: number): string => `user${index}`;
const SORT_KEY = 'profile';

function parseOptions(args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    options: {
      meta: { type: 'string' }, table: { type: 'string' }, partitions: { type: 'string' }, connections: { type: 'string' },
      depth: { type: 'string' }, seconds: { type: 'string' }, warmup: { type: 'string' }, keys: { type: 'string' },
      'value-bytes': { type: 'string' }, help: { type: 'boolean' },
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
  return {
    metas: values.meta,
    tableName: values.table ?? 'kvbench',
    partitions,
    connections: positive(values.connections, 8, 'connections'),
    depth: positive(values.depth, 8, 'depth'),
    seconds: positive(values.seconds, 10, 'seconds'),
    warmupS: Number(values.warmup ?? 1),
    keys: positive(values.keys, 10_000, 'keys'),
    valueBytes: positive(values['value-bytes'], 1024, 'value-bytes'),
  };
}

/**
 * Runs `operation` in `workers` closed loops for `seconds` (after `warmupS` unmeasured), and
 * collects each measured operation's latency. Every loop stops at the deadline; the call
 * resolves once all of them have.
 */
async function drive(
  workers: number, warmupS: number, seconds: number, operation: (worker: number) => Promise<void>,
): Promise<RunResult> {
  const samples = new SampleBuffer();
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopped = false;
  const loop = async (worker: number): Promise<void> => {
    while (!stopped) {
      const startNs = process.hrtime.bigint();
      try {
        await operation(worker);
        if (measuring && !stopped) samples.add(Number(process.hrtime.bigint() - startNs) / 1e6);
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
  const startedNs = process.hrtime.bigint();
  await sleep(seconds * 1000);
  stopped = true;
  const elapsedS = Number(process.hrtime.bigint() - startedNs) / 1e9;
  await Promise.all(loops);
  return { ops: samples.length, errors, firstError, elapsedS, latenciesMs: samples.sorted() };
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

/** User + system CPU seconds this process used since `start` (warm-up included). */
function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
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

async function startCluster(): Promise<Cluster> {
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
    ].flatMap((setting) => ['--set', setting]);
    const start = async (name: string, role: string, port: number, extra: string[]): Promise<ChildServer> => {
      const child = await startChildServer({
        name,
        nodeArgs: ['--import', 'tsx', 'src/cli/main.ts', role, '--port', String(port), ...common, '--set', `core.data_dir=${path.join(dataRoot, name)}`, ...extra],
        port,
        env: { PTERON_LOG_LEVEL: 'warn' },
        readyPath: '/version',
      });
      children.push(child);
      return child;
    };
    await start('meta', 'meta', metaPort, ['--set', 'meta_server.min_live_node_count_for_unfreeze=1']);
    for (let index = 1; index <= 3; index++) await start(`replica${index}`, 'replica', await freePort(), []);
    return { metas: `127.0.0.1:${metaPort}`, children, dataRoot };
  } catch (error) {
    await Promise.all(children.map((child) => child.stop()));
    rmSync(dataRoot, { recursive: true, force: true });
    throw error;
  }
}

/** Creates the table (one replica per partition) if needed, and waits until every partition answers. */
async function prepareTable(options: Options, metas: string): Promise<void> {
  const meta = new RpcClient(parseHostPort(metas.split(',')[0]!), { timeoutMs: 10_000 });
  try {
    const created = await meta.callRpc(RPCS.RPC_CM_CREATE_APP, {
      appName: options.tableName,
      options: {
        partitionCount: options.partitions, replicaCount: 1, successIfExist: true, appType: 'pegasus', isStateful: true, envs: new Map(),
      },
    });
    if (created.error !== 'ERR_OK' || created.result?.err !== 'ERR_OK') {
      throw new Error(`creating table ${options.tableName}: ${created.error} ${created.result?.err ?? ''}`);
    }
  } finally {
    await meta.close();
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const probe = createClient({ metaServers: metas, timeoutMs: 1000, retriesMax: 0 });
    try {
      const probeTable = await probe.openTable(options.tableName);
      await Promise.all(Array.from({ length: options.partitions * 4 }, (_, index) => probeTable.set(`probe${index}`, '', 'x')));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`table ${options.tableName} not ready after 60 s: ${(error as Error).message}`);
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

export async function run(args: string[]): Promise<void> {
  const options = parseOptions(args);
  if (!options) return;
  const value = makeValue(options.valueBytes);
  const workers = options.connections * options.depth;

  let cluster: Cluster | undefined;
  const clients: PegasusClient[] = [];
  const levelDir = mkdtempSync(path.join(os.tmpdir(), 'pteron-bench-kv-level-'));
  const level = new ClassicLevel<Buffer, Buffer>(levelDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    if (options.metas === undefined) {
      cluster = await startCluster();
      console.log(`started ${cluster.children.map((child) => `${child.name} (pid ${child.pid}, port ${child.port})`).join(', ')}`);
    }
    const metas = options.metas ?? cluster!.metas;
    await prepareTable(options, metas);
    for (let index = 0; index < options.connections; index++) {
      clients.push(createClient({ metaServers: metas, timeoutMs: 5000 }));
    }
    const tables = await Promise.all(clients.map((client) => client.openTable(options.tableName)));
    const preloadStarted = Date.now();
    await preload(tables[0]!, options.keys, value);
    await level.open();
    const levelKeys = Array.from({ length: options.keys }, (_, index) => Buffer.from(`${hashKeyOf(index)}\u0000${SORT_KEY}`));
    await level.batch(levelKeys.map((key) => ({ type: 'put' as const, key, value })));
    console.log(`preloaded ${options.keys} keys of ${options.valueBytes} bytes in ${Date.now() - preloadStarted} ms`);

    const rows = [['target', 'mix', 'ops/s', 'p50 ms', 'p99 ms', 'errors', 'bench CPU s', 'server CPU s', 'x ceiling']];
    const firstErrors: string[] = [];
    for (const mix of MIXES) {
      const levelRandom = Array.from({ length: workers }, (_, worker) => randomSource(worker + 1));
      const levelCpu = process.cpuUsage();
      const ceiling = await drive(workers, options.warmupS, options.seconds, async (worker) => {
        const random = levelRandom[worker]!;
        const key = levelKeys[Math.floor(random() * options.keys)]!;
        if (random() < mix.readFraction) await level.get(key);
        else await level.put(key, value);
      });
      const levelCpuS = cpuSecondsSince(levelCpu);
      const ceilingOps = ceiling.ops / ceiling.elapsedS;
      rows.push(['classic-level in-process', mix.name, fixed(ceilingOps, 0), fixed(quantileSorted(ceiling.latenciesMs, 0.5), 3),
        fixed(quantileSorted(ceiling.latenciesMs, 0.99), 3), String(ceiling.errors), fixed(levelCpuS, 1), '-', '1.00']);

      const clusterRandom = Array.from({ length: workers }, (_, worker) => randomSource(worker + 1));
      const cpuBefore = cluster ? cluster.children.map((child) => child.cpuSeconds() ?? 0) : [];
      const machineBefore = machineCpuSeconds();
      const clientCpu = process.cpuUsage();
      const measured = await drive(workers, options.warmupS, options.seconds, async (worker) => {
        const random = clusterRandom[worker]!;
        const tableHandle = tables[worker % tables.length]!;
        const hashKey = hashKeyOf(Math.floor(random() * options.keys));
        if (random() < mix.readFraction) await tableHandle.get(hashKey, SORT_KEY);
        else await tableHandle.set(hashKey, SORT_KEY, value);
      });
      const clientCpuS = cpuSecondsSince(clientCpu);
      const serverCpuS = cluster ? cluster.children.reduce((sum, child, index) => sum + (child.cpuSeconds() ?? 0) - cpuBefore[index]!, 0) : undefined;
      const machineAfter = machineCpuSeconds();
      const clusterOps = measured.ops / measured.elapsedS;
      rows.push(['pteron cluster (client)', mix.name, fixed(clusterOps, 0), fixed(quantileSorted(measured.latenciesMs, 0.5), 3),
        fixed(quantileSorted(measured.latenciesMs, 0.99), 3), String(measured.errors), fixed(clientCpuS, 1), fixed(serverCpuS, 1),
        fixed(clusterOps / ceilingOps, 2)]);
      if (measured.firstError) firstErrors.push(`${mix.name}: ${measured.firstError}`);
      if (machineBefore !== undefined && machineAfter !== undefined) {
        console.log(`${mix.name}: machine CPU ${fixed(machineAfter - machineBefore, 1)} s over ${fixed(measured.elapsedS, 1)} s on ${os.cpus().length} cores`);
      }
    }
    const where = cluster ? '1 meta + 3 replica servers (child processes)' : `the cluster at ${metas}`;
    process.stdout.write(
      `\nkv bench: ${where}, table ${options.tableName} (${options.partitions} partitions, 1 replica), `
        + `${options.connections} connections x ${options.depth} in flight, ${options.valueBytes}-byte values, ${options.keys} keys, `
        + `${options.seconds} s per run after ${options.warmupS} s warm-up; ceiling = the same loops on classic-level in this process; `
        + `CPU seconds include the warm-up\n\n${table(rows)}\n`,
    );
    for (const line of firstErrors) process.stdout.write(`first error ${line}\n`);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await level.close().catch(() => {});
    rmSync(levelDir, { recursive: true, force: true });
    if (cluster) {
      await Promise.all(cluster.children.map((child) => child.stop()));
      if (cluster.dataRoot) rmSync(cluster.dataRoot, { recursive: true, force: true });
    }
  }
}
