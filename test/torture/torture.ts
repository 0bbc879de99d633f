// The torture run: three metas on a real ZooKeeper and four replica servers as processes, the
// workload's clients, a seeded schedule of faults, then healing and the checks over the history.
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FAULT_FILE_ENV } from '../../src/base/fault-injection.ts';
import { createClient } from '../../src/client/index.ts';
import { TestCluster } from '../helpers/data-plane.ts';
import { Prng } from '../helpers/prng.ts';
import { sleep, type RunningProcess } from '../helpers/process.ts';
import { startTestZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.ts';
import {
  availabilityPerSecond, availabilityStrip, checkCounters, checkNoLostWrites, checkRegisters, writeUnavailabilityAfter,
  type RecordedOp, type Violation,
} from './history.ts';
import { nextFault, quietMs, type Fault, type TortureOptions } from './schedule.ts';
import { COUNTER_HASH_KEYS, COUNTER_SORT_KEY, HASH_KEYS, SORT_KEYS, TortureClient, counterKey, registerKey } from './workload.ts';

const TABLE = 'temp';
const PARTITIONS = 8;
const REPLICA_SERVERS = 4;
const METAS = 3;
/** Bounds that tell a healed cluster from a stuck one. */
const HEALTHY_BOUND_MS = 120_000;
const FINAL_READ_BOUND_MS = 60_000;
/** Lines that mean a process crashed rather than logged a handled error. */
const CRASH_LINE = /"level":60|Uncaught|FATAL|TypeError|RangeError|ReferenceError|AssertionError/;

export interface FaultEvent extends Fault {
  at: number;
  healedAt: number;
}

export interface TortureSummary {
  seed: number;
  seconds: number;
  nemeses: string[];
  operations: number;
  operationsByKind: Record<string, number>;
  acknowledgedWrites: number;
  unknownWrites: number;
  faults: FaultEvent[];
  faultsByNemesis: Record<string, number>;
  acknowledgedWritesLost: number;
  linearizabilityViolations: number;
  violations: Violation[];
  inconclusive?: string;
  longestWriteUnavailabilityAfterPrimaryKillMs: number | undefined;
  availability: string;
  errorLogLines: number;
}

/** Which processes the nemesis ended: any other exit is a crash. */
class ExitWatch {
  readonly crashes: string[] = [];
  private readonly expected = new Set<number>();

  watch(process: RunningProcess, name: string): RunningProcess {
    process.child.once('exit', (code, signal) => {
      if (!this.expected.delete(process.pid)) this.crashes.push(`${name} (pid ${process.pid}) exited with ${signal ?? `code ${code}`}\n${process.output().slice(-2000)}`);
    });
    return process;
  }

  expect(process: RunningProcess): void {
    this.expected.add(process.pid);
  }
}

export async function runTorture(options: TortureOptions, log: (line: string) => void = console.log): Promise<TortureSummary> {
  const faultDir = mkdtempSync(path.join(os.tmpdir(), 'pteron-faults-'));
  const faultFile = (index: number): string => path.join(faultDir, `replica${index + 1}.json`);
  const exits = new ExitWatch();
  let zk: TestZooKeeper | undefined;
  let cluster: TestCluster | undefined;
  const clients: TortureClient[] = [];
  const paused = new Set<RunningProcess>();
  try {
    zk = await startTestZooKeeper();
    cluster = new TestCluster({
      clusterName: 'torture', metaCount: METAS, zookeeperHosts: zk.hostsList, replicaCount: REPLICA_SERVERS, partitionCount: PARTITIONS,
      replicaEnv: (index) => ({ [FAULT_FILE_ENV]: faultFile(index) }),
    });
    await cluster.start();
    cluster.metas.forEach((meta, index) => exits.watch(meta!, `meta ${index + 1}`));
    cluster.replicas.forEach((replica, index) => exits.watch(replica, `replica server ${index + 1}`));
    const live = cluster;
    await waitHealthy(live, HEALTHY_BOUND_MS);
    log(`cluster up: metas ${live.metaList()}, replica servers ${live.replicaPorts.join(',')}; seed ${options.seed}`);

    const prng = new Prng(options.seed);
    const started = performance.now();
    const now = (): number => performance.now() - started;
    const ops: RecordedOp[] = [];
    for (let id = 0; id < options.clients; id++) {
      const client = new TortureClient(id, live.metaList(), prng.fork(), now, (op) => ops.push(op));
      clients.push(client);
      await client.open(TABLE);
    }
    const deadline = options.seconds * 1000;
    let clientsRunning = true;
    const loops = clients.map((client) => client.run(() => clientsRunning));

    const violations: Violation[] = [];
    const faults: FaultEvent[] = [];
    const primaryKillsAt: number[] = [];
    const schedule = prng.fork();
    while (now() + 1000 < deadline) {
      await sleep(quietMs(schedule));
      if (now() >= deadline) break;
      const fault = nextFault(schedule, options.nemeses, REPLICA_SERVERS, METAS);
      const at = now();
      const heal = await inject(fault);
      await sleep(Math.min(fault.durationMs, Math.max(0, deadline - now())));
      await heal();
      faults.push({ ...fault, at, healedAt: now() });
      log(`${(at / 1000).toFixed(1)}s ${describeFault(fault)}, healed after ${((now() - at) / 1000).toFixed(1)}s`);
      if (!(await waitHealthy(live, HEALTHY_BOUND_MS).then(() => true, () => false))) {
        violations.push({ check: 'health', message: `${TABLE} not fully healthy within ${HEALTHY_BOUND_MS} ms after ${describeFault(fault)}` });
        break;
      }
    }
    clientsRunning = false;
    await Promise.all(loops);
    const endMs = now();

    const healthy = await waitHealthy(live, HEALTHY_BOUND_MS).then(() => true, () => false);
    if (!healthy) violations.push({ check: 'health', message: `${TABLE} not fully healthy within ${HEALTHY_BOUND_MS} ms after the faults stopped` });
    const finals = await finalReads(live, now, violations);
    ops.push(...finals.reads);

    const registers = checkRegisters(ops);
    violations.push(...registers.violations);
    const lost = checkNoLostWrites(ops, finals.registers);
    violations.push(...lost);
    const counters = checkCounters(ops, finals.counters);
    violations.push(...counters.violations);
    for (const crash of exits.crashes) violations.push({ check: 'crash', message: crash });
    const errorLines = live.errorLines();
    for (const line of errorLines.filter((item) => CRASH_LINE.test(item))) violations.push({ check: 'crash', message: line.slice(0, 2000) });

    const operationsByKind: Record<string, number> = {};
    for (const op of ops) {
      const kind = op.kind === 'incr' ? 'incr' : op.operation;
      operationsByKind[kind] = (operationsByKind[kind] ?? 0) + 1;
    }
    const faultsByNemesis: Record<string, number> = {};
    for (const fault of faults) faultsByNemesis[fault.nemesis] = (faultsByNemesis[fault.nemesis] ?? 0) + 1;
    const unavailability = writeUnavailabilityAfter(ops.filter((op) => op.completeAt <= endMs), primaryKillsAt, endMs);
    return {
      seed: options.seed,
      seconds: options.seconds,
      nemeses: options.nemeses,
      operations: ops.length - finals.reads.length,
      operationsByKind,
      acknowledgedWrites: ops.filter((op) => op.kind === 'write' && op.ok).length + counters.acknowledged,
      unknownWrites: ops.filter((op) => op.kind === 'write' && !op.ok).length + counters.unknown,
      faults,
      faultsByNemesis,
      acknowledgedWritesLost: lost.length + counters.violations.filter((item) => /fewer than/.test(item.message)).length,
      linearizabilityViolations: registers.violations.length,
      violations,
      ...(registers.inconclusive !== undefined && { inconclusive: registers.inconclusive }),
      longestWriteUnavailabilityAfterPrimaryKillMs: unavailability.length === 0 ? undefined : Math.max(...unavailability),
      availability: availabilityStrip(availabilityPerSecond(ops.filter((op) => op.completeAt <= endMs), endMs)),
      errorLogLines: errorLines.length,
    };

    async function inject(fault: Fault): Promise<() => Promise<void>> {
      const index = fault.target;
      switch (fault.nemesis) {
        case 'kill':
        case 'log-tail': {
          const victim = live.replicas[index]!;
          if (await holdsPrimaries(live, live.replicaPorts[index]!)) primaryKillsAt.push(now());
          exits.expect(victim);
          await victim.stop('SIGKILL');
          if (fault.nemesis === 'log-tail') cutLogTail(path.join(live.dataRoot, `replica${index + 1}`), fault.amount);
          return async () => {
            live.replicas[index] = exits.watch(await live.startReplica(index), `replica server ${index + 1}`);
          };
        }
        case 'restart': {
          const victim = live.replicas[index]!;
          exits.expect(victim);
          await victim.stop('SIGTERM');
          live.replicas[index] = exits.watch(await live.startReplica(index), `replica server ${index + 1}`);
          return async () => {};
        }
        case 'pause': {
          const victim = fault.onMeta ? live.metas[index]! : live.replicas[index]!;
          process.kill(victim.pid, 'SIGSTOP');
          paused.add(victim);
          return async () => {
            process.kill(victim.pid, 'SIGCONT');
            paused.delete(victim);
          };
        }
        case 'meta-failover': {
          const primary = await primaryMetaIndex(live);
          const victim = live.metas[primary]!;
          exits.expect(victim);
          await victim.stop('SIGKILL');
          live.metas[primary] = undefined;
          return async () => {
            live.metas[primary] = exits.watch(await live.startMeta(primary), `meta ${primary + 1}`);
          };
        }
        case 'zk-loss':
          await zk!.kill('SIGKILL');
          return () => zk!.restart();
        case 'disk-full':
        case 'slow-disk':
        case 'clock': {
          const faults = fault.nemesis === 'disk-full' ? { diskFull: true }
            : fault.nemesis === 'slow-disk' ? { fsyncDelayMs: fault.amount } : { clockSkewSeconds: fault.amount };
          writeFileSync(faultFile(index), JSON.stringify(faults));
          return async () => rmSync(faultFile(index), { force: true });
        }
      }
    }
  } finally {
    for (const process_ of paused) process.kill(process_.pid, 'SIGCONT');
    for (const client of clients) await client.close();
    if (cluster) {
      for (const item of [...cluster.metas, ...cluster.replicas]) if (item) exits.expect(item);
      await cluster.stop();
    }
    await zk?.destroy();
    rmSync(faultDir, { recursive: true, force: true });
  }
}

export function describeFault(fault: Fault): string {
  const server = `replica server ${fault.target + 1}`;
  switch (fault.nemesis) {
    case 'kill': return `SIGKILL ${server}`;
    case 'log-tail': return `SIGKILL ${server} and cut ${fault.amount} bytes off its newest log file`;
    case 'restart': return `graceful restart of ${server}`;
    case 'pause': return `SIGSTOP ${fault.onMeta ? `meta ${fault.target + 1}` : server}`;
    case 'meta-failover': return 'SIGKILL the primary meta';
    case 'zk-loss': return 'SIGKILL ZooKeeper';
    case 'disk-full': return `ENOSPC on ${server}'s log writes`;
    case 'slow-disk': return `${fault.amount} ms before every fsync of ${server}'s logs`;
    case 'clock': return `${server}'s record clock ${fault.amount > 0 ? '+' : ''}${fault.amount} s`;
  }
}

/** The newest file of every log directory under a stopped replica server's data loses up to `bytes` from its end. */
function cutLogTail(dataDir: string, bytes: number): void {
  const logFiles: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/^log\.\d+\.\d+$/.test(entry.name)) logFiles.push(full);
    }
  };
  walk(dataDir);
  const newestPerDir = new Map<string, string>();
  const index = (file: string): number => Number(path.basename(file).split('.')[1]);
  for (const file of logFiles) {
    const current = newestPerDir.get(path.dirname(file));
    if (current === undefined || index(file) > index(current)) newestPerDir.set(path.dirname(file), file);
  }
  for (const file of newestPerDir.values()) truncateSync(file, Math.max(0, statSync(file).size - bytes));
}

async function metaJson(cluster: TestCluster, pathAndQuery: string): Promise<unknown> {
  for (let index = 0; index < cluster.metas.length; index++) {
    if (!cluster.metas[index]) continue;
    try {
      const response = await fetch(`http://127.0.0.1:${cluster.metaPorts[index]}${pathAndQuery}`, { signal: AbortSignal.timeout(3000) });
      if (response.status === 200) return await response.json();
      await response.arrayBuffer();
    } catch {
      // this meta is down, paused or has no primary to send us to: try the next
    }
  }
  throw new Error(`no meta answered ${pathAndQuery}`);
}

async function waitHealthy(cluster: TestCluster, boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const view = (await metaJson(cluster, `/meta/app?name=${TABLE}&detail`).catch(() => undefined)) as { healthy?: Record<string, string> } | undefined;
    if (view?.healthy?.fully_healthy_partition_count === String(PARTITIONS)) return;
    if (Date.now() > deadline) throw new Error(`${TABLE} not fully healthy within ${boundMs} ms`);
    await sleep(250);
  }
}

async function holdsPrimaries(cluster: TestCluster, port: number): Promise<boolean> {
  const nodes = (await metaJson(cluster, '/meta/nodes?detail').catch(() => undefined)) as { details?: Record<string, { primary_count?: string }> } | undefined;
  // Unknown (no meta answered) counts as holding primaries: the measure then errs long, not short.
  const row = nodes?.details?.[`127.0.0.1:${port}`];
  return row === undefined || row.primary_count !== '0';
}

/** The index of the primary meta: the one that answers /meta/cluster itself instead of redirecting. */
async function primaryMetaIndex(cluster: TestCluster): Promise<number> {
  for (const deadline = Date.now() + HEALTHY_BOUND_MS; Date.now() < deadline; await sleep(250)) {
    for (let index = 0; index < cluster.metas.length; index++) {
      if (!cluster.metas[index]) continue;
      const response = await fetch(`http://127.0.0.1:${cluster.metaPorts[index]}/meta/cluster`, { redirect: 'manual', signal: AbortSignal.timeout(3000) }).catch(() => undefined);
      await response?.arrayBuffer();
      if (response?.status === 200) return index;
    }
  }
  throw new Error('no primary meta');
}

/** Reads every key once the cluster healed, retrying each until it succeeds within the bound. */
async function finalReads(cluster: TestCluster, now: () => number, violations: Violation[]): Promise<{
  reads: RecordedOp[]; registers: Map<string, string | undefined>; counters: Map<string, bigint>;
}> {
  const client = createClient({ metaServers: cluster.metaList(), timeoutMs: 10_000 });
  const reads: RecordedOp[] = [];
  const registers = new Map<string, string | undefined>();
  const counters = new Map<string, bigint>();
  const readWithRetry = async (hashKey: string, sortKey: string): Promise<{ value: string | undefined; invokeAt: number; completeAt: number } | undefined> => {
    const deadline = Date.now() + FINAL_READ_BOUND_MS;
    for (;;) {
      const invokeAt = now();
      try {
        const table = await client.openTable(TABLE);
        const value = (await table.get(hashKey, sortKey))?.toString();
        return { value, invokeAt, completeAt: now() };
      } catch (error) {
        if (Date.now() > deadline) {
          violations.push({ check: 'final-read', key: registerKey(hashKey, sortKey), message: `no read of ${hashKey}/${sortKey} succeeded within ${FINAL_READ_BOUND_MS} ms after healing: ${(error as Error).message}` });
          return undefined;
        }
        await sleep(500);
      }
    }
  };
  try {
    for (const hashKey of HASH_KEYS) {
      for (const sortKey of SORT_KEYS) {
        const read = await readWithRetry(hashKey, sortKey);
        if (!read) continue;
        const key = registerKey(hashKey, sortKey);
        registers.set(key, read.value);
        reads.push({ kind: 'read', key, value: read.value, invokeAt: read.invokeAt, completeAt: read.completeAt, client: -1, operation: 'final get' });
      }
    }
    for (const hashKey of COUNTER_HASH_KEYS) {
      const read = await readWithRetry(hashKey, COUNTER_SORT_KEY);
      if (read) counters.set(counterKey(hashKey), read.value === undefined ? 0n : BigInt(read.value));
    }
  } finally {
    await client.close();
  }
  return { reads, registers, counters };
}

/** The summary as text: counts, faults, the availability strip and every violation with its history. */
export function formatSummary(summary: TortureSummary): string {
  const lines = [
    `torture: seed ${summary.seed}, ${summary.seconds} s, nemeses ${summary.nemeses.join(',')}`,
    `operations: ${summary.operations} (${Object.entries(summary.operationsByKind).map(([kind, count]) => `${kind} ${count}`).join(', ')})`,
    `writes acknowledged: ${summary.acknowledgedWrites}, unknown outcome: ${summary.unknownWrites}`,
    `faults injected: ${summary.faults.length} (${Object.entries(summary.faultsByNemesis).map(([name, count]) => `${name} ${count}`).join(', ') || 'none'})`,
    `acknowledged writes lost: ${summary.acknowledgedWritesLost}`,
    `linearizability violations: ${summary.linearizabilityViolations}${summary.inconclusive ? ` (${summary.inconclusive})` : ''}`,
    `longest write unavailability after a primary SIGKILL: ${summary.longestWriteUnavailabilityAfterPrimaryKillMs === undefined ? 'no such kill' : `${(summary.longestWriteUnavailabilityAfterPrimaryKillMs / 1000).toFixed(1)} s`}`,
    `error-level log lines: ${summary.errorLogLines}`,
    `availability per second (# all ok, 0-9 tenths ok, . none completed):`,
    ...(summary.availability.match(/.{1,60}/g) ?? []).map((row, index) => `  ${String(index * 60).padStart(4)}s ${row}`),
    `violations: ${summary.violations.length}`,
  ];
  for (const violation of summary.violations) {
    lines.push(`  [${violation.check}] ${violation.message}`);
    for (const op of violation.history ?? []) lines.push(`      ${op}`);
  }
  if (summary.violations.length > 0) lines.push(`repeat with: npm run torture -- --seconds ${summary.seconds} --seed ${summary.seed} --nemesis ${summary.nemeses.join(',')}`);
  return lines.join('\n');
}
