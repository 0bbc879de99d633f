// Manual compaction on real processes: one meta and three replica servers, table `temp` with 4
// partitions of 3 replicas holding records whose expiry already passed and live ones. Setting
// `manual_compact.once.trigger_time` through the meta (set_app_envs) makes every replica compact
// while a bounded mixed read/write load runs; /replica/manual_compaction on each server then
// counts all its replicas finished, no request of the load failed, every acknowledged write
// reads back, and the expired records are gone from every replica's store. Also the call's
// bad-parameter answers and the `replica.query-compact` remote command.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { createClient, type PegasusClient, type PegasusTable } from '../../src/client/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { now2016Seconds } from '../../src/storage/index.ts';
import { AppEnvOperation, RPCS } from '../../src/wire/index.ts';
import { TableRouter, TestCluster, hashOfHashKey } from '../helpers/data-plane.ts';
import { waitFor } from '../helpers/process.ts';

const PARTITIONS = 4;
const REPLICAS_PER_PARTITION = 3;
/** Expired records, written as multi_puts of this many sort keys per hash key. */
const EXPIRED_HASH_KEYS = 200;
const EXPIRED_SORT_KEYS = 100;
const EXPIRED_RECORDS = EXPIRED_HASH_KEYS * EXPIRED_SORT_KEYS;
const LIVE_RECORDS = 200;
const LOAD_WORKERS = 4;
/** The load stops after this many operations at most, or this many after every compaction finished. */
const LOAD_OPS_MAX = 20_000;
const LOAD_OPS_AFTER_FINISH = 400;

interface CompactionCounts { finished: number; idle: number; queuing: number; running: number }

/** Writes new keys and reads known ones until told to stop; remembers what was acknowledged. */
class MixedLoad {
  readonly acked = new Map<string, string>();
  readonly failures: string[] = [];
  ops = 0;
  private stopAt = LOAD_OPS_MAX;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly table: PegasusTable, private readonly liveKeys: readonly string[]) {}

  start(): void {
    for (let worker = 0; worker < LOAD_WORKERS; worker++) this.loops.push(this.loop(worker));
  }

  private async loop(worker: number): Promise<void> {
    for (let round = 0; this.ops < this.stopAt; round++) {
      this.ops += 1;
      try {
        if (round % 2 === 0) {
          const hashKey = `load${worker}-${round}`;
          await this.table.set(hashKey, 's', `value${round}`);
          this.acked.set(hashKey, `value${round}`);
        } else {
          const hashKey = this.liveKeys[(worker * 7919 + round) % this.liveKeys.length]!;
          const value = await this.table.get(hashKey, 's');
          if (value?.toString() !== `live-${hashKey}`) this.failures.push(`read ${hashKey}: ${value?.toString()}`);
        }
      } catch (error) {
        this.failures.push((error as Error).message);
      }
    }
  }

  /** Lets the load run `more` operations from now, then waits for it to end. */
  async finish(more: number): Promise<void> {
    this.stopAt = Math.min(this.stopAt, this.ops + more);
    await Promise.all(this.loops);
  }
}

describe('manual compaction through the meta on a real cluster', () => {
  const cluster = new TestCluster({ partitionCount: PARTITIONS, metaSettings: ['replication.lb_interval_ms=3600000'] });
  let client: PegasusClient;
  let table: PegasusTable;
  let router: TableRouter;
  let meta: RpcClient;
  const rpcClients: RpcClient[] = [];

  const compactionCounts = async (port: number, appId: number): Promise<CompactionCounts> => {
    const response = await fetch(`http://127.0.0.1:${port}/replica/manual_compaction?app_id=${appId}`);
    assert.equal(response.status, 200);
    return ((await response.json()) as { status: CompactionCounts }).status;
  };
  const metricSum = async (port: number, name: string): Promise<number> => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics?types=replica&metrics=${name}&with_metric_fields=value`);
    const body = (await response.json()) as { entities: Array<{ metrics: Array<{ value: number }> }> };
    return body.entities.reduce((sum, entity) => sum + entity.metrics.reduce((inner, metric) => inner + metric.value, 0), 0);
  };
  const remoteCommand = async (port: number, cmd: string, args: string[]): Promise<string> => {
    const rpc = new RpcClient(parseHostPort(`127.0.0.1:${port}`), { timeoutMs: 5000 });
    rpcClients.push(rpc);
    const reply = await rpc.callRpc(RPCS.RPC_CLI_CLI_CALL, { cmd, arguments: args });
    assert.equal(reply.error, 'ERR_OK');
    return reply.result!;
  };

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS, 60_000);
    router = new TableRouter(cluster.metaPort, 'temp');
    await cluster.waitServing(router);
    client = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 5000 });
    table = await client.openTable('temp');
    meta = new RpcClient(parseHostPort(`127.0.0.1:${cluster.metaPort}`), { timeoutMs: 5000 });
  });

  after(async () => {
    for (const rpc of rpcClients) rpc.close();
    meta?.close();
    router?.close();
    await client?.close();
    await cluster.stop();
  });

  test('/replica/manual_compaction answers bad parameters as Pegasus', async () => {
    const port = cluster.replicaPorts[0]!;
    const answer = async (query: string): Promise<[number, string]> => {
      const response = await fetch(`http://127.0.0.1:${port}/replica/manual_compaction${query}`);
      return [response.status, await response.text()];
    };
    assert.deepEqual(await answer(''), [400, 'app_id should not be empty']);
    assert.deepEqual(await answer('?app_id=x'), [400, 'invalid app_id=x']);
    assert.deepEqual(await answer('?app_id=-1'), [400, 'invalid app_id=-1']);
    assert.deepEqual(await answer('?app_id=999'), [200, '{"status":{"finished":0,"idle":0,"queuing":0,"running":0}}']);
    assert.deepEqual(await compactionCounts(port, router.appId), { finished: 0, idle: PARTITIONS, queuing: 0, running: 0 }, 'every server holds a replica of each partition');
  });

  test('a once trigger set through the meta compacts every replica under a mixed load; nothing acknowledged is lost', async () => {
    const now = now2016Seconds();
    const filler = Buffer.alloc(200, 0x61);
    for (let index = 0; index < EXPIRED_HASH_KEYS; index++) {
      const hashKey = Buffer.from(`expired${index}`);
      const kvs = Array.from({ length: EXPIRED_SORT_KEYS }, (_, sortKey) => ({ key: Buffer.from(`s${sortKey}`), value: filler }));
      const reply = await router.callRetrying('RPC_RRDB_RRDB_MULTI_PUT', { hashKey, kvs, expireTsSeconds: now - 60 }, hashOfHashKey(hashKey));
      assert.equal(reply.error, 'ERR_OK');
      assert.equal(reply.result!.error, 0);
    }
    const liveKeys = Array.from({ length: LIVE_RECORDS }, (_, index) => `live${index}`);
    for (const hashKey of liveKeys) await table.set(hashKey, 's', `live-${hashKey}`);
    assert.equal(await table.get('expired0', 's0'), undefined);

    const load = new MixedLoad(table, liveKeys);
    /** Load progress seen while some compaction was queued or running (for the log only: how much overlaps depends on speed). */
    const opsSeenDuringCompaction = new Set<number>();
    load.start();
    try {
      await waitFor('the load running', () => load.ops > 100, 60_000);
      const envs = await meta.callRpc(RPCS.RPC_CM_UPDATE_APP_ENV, {
        appName: 'temp', op: AppEnvOperation.APP_ENV_OP_SET,
        // One compaction at a time per server: the compactions take longer, so more of the load meets them.
        keys: ['manual_compact.once.trigger_time', 'manual_compact.max_concurrent_running_count'], values: [String(Math.floor(Date.now() / 1000)), '1'],
      });
      assert.equal(envs.result?.err, 'ERR_OK');
      await waitFor('every replica finished its manual compaction', async () => {
        let finished = true;
        for (const port of cluster.replicaPorts) {
          const counts = await compactionCounts(port, router.appId);
          assert.ok(counts.running <= 1, `at most one compaction runs per server: ${JSON.stringify(counts)}`);
          if (counts.running + counts.queuing > 0) opsSeenDuringCompaction.add(load.ops);
          if (counts.finished !== PARTITIONS || counts.idle + counts.queuing + counts.running !== 0) finished = false;
        }
        return finished;
      }, 60_000, 20);
    } finally {
      await load.finish(LOAD_OPS_AFTER_FINISH);
    }
    const overlap = opsSeenDuringCompaction.size > 0 ? `operations ${Math.min(...opsSeenDuringCompaction)}..${Math.max(...opsSeenDuringCompaction)} ran while compactions were queued or running` : 'no poll saw a compaction in progress';
    console.log(`load: ${load.ops} operations, ${load.acked.size} writes acknowledged, ${load.failures.length} failed; ${overlap}`);
    assert.deepEqual(load.failures, []);
    for (const [hashKey, value] of load.acked) assert.equal((await table.get(hashKey, 's'))?.toString(), value, hashKey);
    for (const hashKey of liveKeys) assert.equal((await table.get(hashKey, 's'))?.toString(), `live-${hashKey}`);

    let dropped = 0;
    for (const port of cluster.replicaPorts) {
      dropped += await metricSum(port, 'rdb_compaction_dropped_expired_records');
      assert.ok(await metricSum(port, 'rdb_manual_compact_last_finish_time_ms') > 0);
      assert.equal(await metricSum(port, 'rdb_manual_compact_running_tasks'), 0);
    }
    assert.equal(dropped, EXPIRED_RECORDS * REPLICAS_PER_PARTITION, 'every replica dropped its copy of each expired record');

    const port = cluster.replicaPorts[1]!;
    const state = await remoteCommand(port, 'replica.query-compact', [String(router.appId)]);
    const lines = state.split('\n');
    assert.equal(lines[0], `${PARTITIONS} processed, 0 not found`);
    for (const line of lines.slice(1)) {
      const match = /^ {4}(\d+)\.(\d+)@127\.0\.0\.1:(\d+)@[PS] : (\{.*\})$/.exec(line);
      assert.ok(match, line);
      assert.equal(Number(match[3]), port);
      const report = JSON.parse(match[4]!) as Record<string, string>;
      assert.deepEqual(Object.keys(report), ['last_finish', 'last_used_ms', 'recent_enqueue_at', 'recent_start_at']);
      assert.match(report.last_finish!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.match(report.last_used_ms!, /^\d+$/);
      assert.deepEqual([report.recent_enqueue_at, report.recent_start_at], ['-', '-']);
    }
    assert.equal(await remoteCommand(port, 'replica.query-compact', [`${router.appId}.0,${router.appId}.9`]).then((text) => text.split('\n')[0]), '1 processed, 1 not found');
    assert.equal(await remoteCommand(port, 'replica.query-compact', ['x']), 'invalid arguments');
    assert.deepEqual(cluster.errorLines(), []);
  });
});
