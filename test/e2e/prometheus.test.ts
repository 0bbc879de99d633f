// Prometheus's own tools on every role's /metrics: `promtool check metrics` (Debian's
// `prometheus` package) lints each role's text, and a real Prometheus server scrapes a test
// cluster and answers queries on what it scraped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../src/client/index.ts';
import { fastClusterSettings, freePort, startPteron, waitFor, type RunningProcess } from '../helpers/process.ts';
import { requireCommand, startPrometheus } from '../helpers/prometheus.ts';

const CLUSTER = 'prometheus-e2e';

async function scrape(server: RunningProcess): Promise<string> {
  const response = await fetch(`${server.url}/metrics?format=prometheus`);
  assert.equal(response.status, 200);
  return response.text();
}

describe('Prometheus', () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-prometheus-'));
  const servers: Record<'meta' | 'replica' | 'collector', RunningProcess | undefined> = { meta: undefined, replica: undefined, collector: undefined };

  before(async () => {
    requireCommand('promtool');
    requireCommand('prometheus');
    const metaPort = await freePort();
    const settings = (role: string): string[] => [
      ...fastClusterSettings(metaPort, CLUSTER),
      '--set', `core.data_dir=${path.join(dataRoot, role)}`,
      // One replica server holds the only copy of each partition.
      '--set', 'replication.mutation_2pc_min_replica_count=1',
    ];
    servers.meta = await startPteron('meta', {
      port: metaPort,
      args: [
        ...settings('meta'),
        '--set', 'meta_server.min_live_node_count_for_unfreeze=1',
        '--set', 'meta_server.apps.temp.partition_count=2',
        '--set', 'meta_server.apps.temp.max_replica_count=1',
      ],
    });
    [servers.replica, servers.collector] = await Promise.all([
      startPteron('replica', { args: settings('replica') }),
      startPteron('collector', { args: settings('collector') }),
    ]);
    // Some data-plane traffic, so the replica has request counters and latency histograms.
    const client = createClient({ metaServers: [`127.0.0.1:${metaPort}`], timeoutMs: 5000 });
    try {
      await waitFor('table temp writable', async () => {
        const table = await client.openTable('temp');
        await table.set('hash', 'sort', 'value');
        return (await table.get('hash', 'sort'))?.toString() === 'value';
      }, 60_000, 300);
    } finally {
      await client.close();
    }
  });

  after(async () => {
    for (const server of Object.values(servers)) await server?.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it('promtool check metrics passes on every role, and a scrape changes nothing the next one sees', async () => {
    for (const [role, server] of Object.entries(servers)) {
      const text = await scrape(server!);
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(check.status, 0, `${role}: ${check.stdout}${check.stderr}`);
      assert.equal(`${check.stdout}${check.stderr}`.trim(), '', `${role}: no lint findings`);
      assert.match(text, /^process_resident_memory_bytes\{cluster="prometheus-e2e",role="\w+"\} \d+/m, role);
    }
    const replicaText = await scrape(servers.replica!);
    assert.match(replicaText, /^pteron_replica_request_latency_seconds_bucket\{.*op="get",le="\+Inf"\} [1-9]/m);
    assert.match(replicaText, /^pteron_replica_requests_total\{.*op="put"\} [1-9]/m);
    // Two scrapes in a row read the same counters: the ones no request in between moves.
    const gets = (text: string): string[] => text.split('\n').filter((line) => line.startsWith('pteron_replica_requests_total'));
    assert.deepEqual(gets(await scrape(servers.replica!)), gets(replicaText));
  });

  it('a real Prometheus server scrapes the cluster and answers queries on it', async () => {
    const prometheus = await startPrometheus(dataRoot, Object.values(servers).map((server) => `127.0.0.1:${server!.port}`));
    const query = prometheus.query;
    try {
      await waitFor('every target up', async () => {
        const up = await query('up');
        return up.length === 3 && up.every((sample) => sample.value[1] === '1');
      }, 60_000, 500);
      await waitFor('the replica\'s put counter scraped', async () => {
        const puts = await query('sum(pteron_replica_requests_total{op="put"})');
        return puts.length === 1 && Number(puts[0]!.value[1]) >= 1;
      }, 60_000, 500);
      const roles = await query('count by (role) (process_start_time_seconds{job="pteron"})');
      assert.deepEqual(roles.map((sample) => sample.metric.role).sort(), ['collector', 'meta', 'replica']);
      // Buckets add up across partitions, so a cluster-wide quantile is one expression.
      const p99 = await query('histogram_quantile(0.99, sum by (le) (pteron_replica_request_latency_seconds_bucket{op="get"}))');
      assert.equal(p99.length, 1);
      assert.ok(Number(p99[0]!.value[1]) > 0, JSON.stringify(p99));
    } catch (error) {
      throw new Error(`${(error as Error).message}\nprometheus log:\n${prometheus.log()}`);
    } finally {
      await prometheus.stop();
    }
  });
});
