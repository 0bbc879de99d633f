// The dup bench: how fast a master cluster ships its writes to a follower cluster, and how far
// behind the follower stays. Two clusters (each one meta and three replica servers) are started
// as child processes with `[pegasus.clusters]` and `[duplication-group]` naming each other; a
// table of the same shape is created on both. In one run, side by side:
//   1. the master's write rate alone (no duplication yet);
//   2. its write rate with the duplication on (DS_LOG, no checkpoint), and the shipping rate:
//      the writes of that phase over the time until the follower confirmed the last of them;
//   3. a write load paced at half the shipping rate, which the follower can absorb: the lag in
//      mutations (`not_confirmed_mutations_num` of every primary's `/replica/duplication`)
//      sampled twice a second, and the catch-up time once the load stops.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseHostPort } from '../src/base/index.ts';
import { createClient, type PegasusClient, type PegasusTable } from '../src/client/index.ts';
import { RpcClient } from '../src/net/index.ts';
import { DuplicationStatus, RPCS } from '../src/wire/index.ts';
import { freePort, httpGet, sleep, startChildServer, type ChildServer } from './lib/processes.ts';
import { fixed, quantileSorted, table } from './lib/stats.ts';

const HELP = `usage: npm run bench -- dup [options]
  --seconds N         measured seconds per phase (default 10)
  --connections N     client connections, each its own client (default 8)
  --depth N           writes in flight per connection (default 8)
  --partitions N      partitions of the table (default 8)
  --keys N            distinct keys written (default 20000)
  --value-bytes N     value size (default 1024)
`;

interface Options {
  seconds: number;
  connections: number;
  depth: number;
  partitions: number;
  keys: number;
  valueBytes: number;
}

const TABLE = 'dupbench';
const SYNC_PERIOD_SECONDS = 1;
/** Only tells a duplication that catches up from a stuck one. */
const CATCH_UP_BOUND_MS = 300_000;
const LAG_SAMPLE_MS = 500;

function parseOptions(args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '10' },
      connections: { type: 'string', default: '8' },
      depth: { type: 'string', default: '8' },
      partitions: { type: 'string', default: '8' },
      keys: { type: 'string', default: '20000' },
      'value-bytes': { type: 'string', default: '1024' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const positive = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} expects a positive integer, got "${text}"`);
    return value;
  };
  return {
    seconds: positive('seconds', values.seconds),
    connections: positive('connections', values.connections),
    depth: positive('depth', values.depth),
    partitions: positive('partitions', values.partitions),
    keys: positive('keys', values.keys),
    valueBytes: positive('value-bytes', values['value-bytes']),
  };
}

interface Cluster {
  name: string;
  metaPort: number;
  metaList: string;
  children: ChildServer[];
}

async function startCluster(name: string, metaPort: number, dataRoot: string, settings: string[]): Promise<Cluster> {
  const common = [
    `meta_server.server_list=127.0.0.1:${metaPort}`,
    `replication.cluster_name=${name}`,
    'replication.fd_beacon_interval_seconds=1',
    'replication.fd_check_interval_seconds=1',
    'replication.config_sync_interval_ms=1000',
    ...settings,
  ].flatMap((setting) => ['--set', setting]);
  const cluster: Cluster = { name, metaPort, metaList: `127.0.0.1:${metaPort}`, children: [] };
  const start = async (server: string, role: string, port: number, extra: string[] = []): Promise<void> => {
    cluster.children.push(await startChildServer({
      name: `${name}-${server}`,
      nodeArgs: ['--import', 'tsx', 'src/cli/main.ts', role, '--port', String(port), ...common, '--set', `core.data_dir=${path.join(dataRoot, name, server)}`, ...extra],
      port,
      env: { PTERON_LOG_LEVEL: 'warn' },
      readyPath: '/version',
    }));
  };
  await start('meta', 'meta', metaPort, ['--set', 'meta_server.min_live_node_count_for_unfreeze=1']);
  for (let index = 1; index <= 3; index++) await start(`replica${index}`, 'replica', await freePort());
  return cluster;
}

async function withMeta<R>(cluster: Cluster, call: (meta: RpcClient) => Promise<R>): Promise<R> {
  const meta = new RpcClient(parseHostPort(cluster.metaList), { timeoutMs: 10_000 });
  try {
    return await call(meta);
  } finally {
    meta.close();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function createTable(cluster: Cluster, options: Options): Promise<void> {
  const reply = await withMeta(cluster, async (meta) => (await meta.callRpc(RPCS.RPC_CM_CREATE_APP, {
    appName: TABLE,
    options: { partitionCount: options.partitions, replicaCount: 3, successIfExist: false, appType: 'pegasus', envs: new Map(), isStateful: true },
  })).result!);
  if (reply.err !== 'ERR_OK') throw new Error(`create ${TABLE} on ${cluster.name}: ${reply.err}`);
  await waitFor(`${TABLE} healthy on ${cluster.name}`, async () => {
    const view = JSON.parse((await httpGet(`http://${cluster.metaList}/meta/app?name=${TABLE}&detail`)).body.toString()) as { healthy: Record<string, string> };
    return view.healthy.fully_healthy_partition_count === String(options.partitions);
  }, 120_000);
}

/** Mutations the primaries of the table have committed and the follower has not confirmed yet. */
async function lagInMutations(cluster: Cluster, appId: number): Promise<number> {
  let lag = 0;
  for (const child of cluster.children.filter((item) => item.name.includes('replica'))) {
    const response = await httpGet(`${child.baseUrl}/replica/duplication?appid=${appId}`);
    if (response.status !== 200) continue;
    const byDup = JSON.parse(response.body.toString()) as Record<string, Record<string, { not_confirmed_mutations_num: number }>>;
    for (const partitions of Object.values(byDup)) for (const state of Object.values(partitions)) lag += state.not_confirmed_mutations_num;
  }
  return lag;
}

interface LoadResult {
  writes: number;
  errors: number;
  elapsedS: number;
}

/**
 * Writes for `seconds` on every table handle with `depth` writes in flight each; with
 * `ratePerS`, paced to that many writes a second in all.
 */
async function writeLoad(tables: PegasusTable[], options: Options, seconds: number, ratePerS?: number): Promise<LoadResult> {
  const value = Buffer.alloc(options.valueBytes, 'v');
  const started = performance.now();
  const stopAt = started + seconds * 1000;
  let writes = 0;
  let errors = 0;
  const workers = tables.flatMap((handle) => Array.from({ length: options.depth }, () => handle));
  const perWorkerIntervalMs = ratePerS === undefined ? 0 : (1000 * workers.length) / ratePerS;
  await Promise.all(workers.map(async (handle, worker) => {
    for (let round = 0; performance.now() < stopAt; round++) {
      const due = started + round * perWorkerIntervalMs;
      if (due > performance.now()) await sleep(due - performance.now());
      const key = `k${(worker * 7919 + round) % options.keys}`;
      try {
        await handle.set(key, 's', value);
        writes += 1;
      } catch {
        errors += 1;
      }
    }
  }));
  return { writes, errors, elapsedS: (performance.now() - started) / 1000 };
}

export async function run(args: string[]): Promise<void> {
  const options = parseOptions(args);
  if (!options) {
    process.stdout.write(HELP);
    return;
  }
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-bench-dup-'));
  const masterPort = await freePort();
  const followerPort = await freePort();
  const settings = [
    `pegasus.clusters.master=127.0.0.1:${masterPort}`,
    `pegasus.clusters.follower=127.0.0.1:${followerPort}`,
    'duplication-group.master=1',
    'duplication-group.follower=2',
    `replication.duplication_sync_period_second=${SYNC_PERIOD_SECONDS}`,
  ];
  const clusters: Cluster[] = [];
  const clients: PegasusClient[] = [];
  try {
    process.stdout.write('starting two clusters (1 meta + 3 replica servers each)...\n');
    const master = await startCluster('master', masterPort, dataRoot, settings);
    clusters.push(master);
    const follower = await startCluster('follower', followerPort, dataRoot, settings);
    clusters.push(follower);
    await createTable(master, options);
    await createTable(follower, options);
    for (let index = 0; index < options.connections; index++) clients.push(createClient({ metaServers: [master.metaList], timeoutMs: 10_000 }));
    const tables = await Promise.all(clients.map((client) => client.openTable(TABLE)));

    process.stdout.write(`phase 1: the master alone, ${options.seconds} s\n`);
    const alone = await writeLoad(tables, options, options.seconds);

    const added = await withMeta(master, async (meta) => (await meta.callRpc(RPCS.RPC_CM_ADD_DUPLICATION, {
      appName: TABLE, remoteClusterName: 'follower', isDuplicatingCheckpoint: false,
    })).result!);
    if (added.err !== 'ERR_OK') throw new Error(`add_dup: ${added.err} ${added.hint ?? ''}`);
    await waitFor('the duplication in DS_LOG', async () => {
      const reply = await withMeta(master, async (meta) => (await meta.callRpc(RPCS.RPC_CM_QUERY_DUPLICATION, { appName: TABLE })).result!);
      return reply.entryList.some((entry) => entry.dupid === added.dupid && entry.status === DuplicationStatus.DS_LOG);
    }, 120_000);
    await waitFor('the follower caught up before phase 2', async () => (await lagInMutations(master, added.appid)) === 0, CATCH_UP_BOUND_MS);

    process.stdout.write(`phase 2: the master with the duplication on, ${options.seconds} s, then until the follower confirmed everything\n`);
    const shippingStarted = performance.now();
    const duplicated = await writeLoad(tables, options, options.seconds);
    const lagAtStop = await lagInMutations(master, added.appid);
    await waitFor('the follower confirming phase 2', async () => (await lagInMutations(master, added.appid)) === 0, CATCH_UP_BOUND_MS);
    const shippingS = (performance.now() - shippingStarted) / 1000;
    const shippedPerS = duplicated.writes / shippingS;

    const pacedRate = Math.max(1, Math.floor(shippedPerS / 2));
    process.stdout.write(`phase 3: writes paced at ${pacedRate}/s (half the shipping rate), ${options.seconds} s\n`);
    const lags: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        lags.push(await lagInMutations(master, added.appid).catch(() => NaN));
        await sleep(LAG_SAMPLE_MS);
      }
    })();
    const paced = await writeLoad(tables, options, options.seconds, pacedRate);
    sampling = false;
    await sampler;
    const stoppedAt = performance.now();
    await waitFor('the follower confirming phase 3', async () => (await lagInMutations(master, added.appid)) === 0, CATCH_UP_BOUND_MS);
    const catchUpS = (performance.now() - stoppedAt) / 1000;

    const followerClient = createClient({ metaServers: [follower.metaList], timeoutMs: 10_000 });
    clients.push(followerClient);
    const sampleKey = await (await followerClient.openTable(TABLE)).get('k0', 's');
    const mb = (writes: number, seconds: number): string => fixed((writes * options.valueBytes) / seconds / 1e6, 1);
    const sortedLags = lags.filter((lag) => Number.isFinite(lag)).sort((a, b) => a - b);
    const aloneRate = alone.writes / alone.elapsedS;
    const duplicatedRate = duplicated.writes / duplicated.elapsedS;
    process.stdout.write(`\n${options.connections} connections x ${options.depth} in flight, ${options.valueBytes}-byte values, ${options.partitions} partitions x 3 replicas on each side\n\n`);
    process.stdout.write(table([
      ['', 'writes/s', 'MB/s', 'errors', 'x master alone'],
      ['master alone', fixed(aloneRate, 0), mb(alone.writes, alone.elapsedS), String(alone.errors), '1.00'],
      ['master, duplication on', fixed(duplicatedRate, 0), mb(duplicated.writes, duplicated.elapsedS), String(duplicated.errors), fixed(duplicatedRate / aloneRate, 2)],
      ['shipped to the follower', fixed(shippedPerS, 0), mb(duplicated.writes, shippingS), '', fixed(shippedPerS / aloneRate, 2)],
      [`master paced at ${pacedRate}/s`, fixed(paced.writes / paced.elapsedS, 0), mb(paced.writes, paced.elapsedS), String(paced.errors), fixed(paced.writes / paced.elapsedS / aloneRate, 2)],
    ]));
    process.stdout.write(`\nlag at the end of phase 2: ${lagAtStop} mutations; all confirmed ${fixed(shippingS - duplicated.elapsedS, 1)} s after the load stopped\n`);
    process.stdout.write(`lag while paced (mutations, every ${LAG_SAMPLE_MS} ms): median ${fixed(quantileSorted(sortedLags, 0.5), 0)}, p99 ${fixed(quantileSorted(sortedLags, 0.99), 0)}, max ${sortedLags.at(-1) ?? '-'}; caught up ${fixed(catchUpS, 1)} s after the load stopped\n`);
    process.stdout.write(`follower has k0: ${sampleKey !== undefined && sampleKey.length === options.valueBytes ? 'yes' : 'NO'}\n`);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    for (const cluster of clusters) await Promise.all(cluster.children.map((child) => child.stop()));
    rmSync(dataRoot, { recursive: true, force: true });
  }
}
