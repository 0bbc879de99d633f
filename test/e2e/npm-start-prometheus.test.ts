// The cluster `npm start` runs (the repo's pteron.yml under `node bin/pteron.js supervisor`, the
// compiled build), moved to free ports and a temporary directory, scraped by a real Prometheus
// server: every process of it (supervisor, meta, three replica servers, collector) is up as a
// target, and the data-plane traffic the test sends shows in what Prometheus stored.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../src/client/index.ts';
import { alive, freePort, PROJECT_ROOT, waitFor, spawnSupervisor } from '../helpers/process.ts';
import { requireCommand, startPrometheus } from '../helpers/prometheus.ts';

describe('npm start\'s cluster scraped by a real Prometheus', { timeout: 300_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pteron-npm-start-prometheus-'));
  let supervisorPort = 0;
  let metaPort = 0;
  let collectorPort = 0;
  const replicaPorts: number[] = [];
  let supervisor: ChildProcess;
  let output = '';
  const pids = new Set<number>();

  const supervisorGet = async (target: string): Promise<any> => (await fetch(`http://127.0.0.1:${supervisorPort}${target}`)).json();

  before(async () => {
    requireCommand('prometheus');
    supervisorPort = await freePort();
    metaPort = await freePort();
    collectorPort = await freePort();
    for (let index = 0; index < 3; index++) replicaPorts.push(await freePort());
    const text = fs.readFileSync(path.join(PROJECT_ROOT, 'pteron.yml'), 'utf8');
    const moved = `root: ${PROJECT_ROOT}\n${text}`
      .replace('port: 34001', `port: ${supervisorPort}`)
      .replace('port: 34601', `port: ${metaPort}`)
      .replace('    instances: 3\n    port: 34801', `    ports: [${replicaPorts.join(', ')}]`)
      .replace('port: 34101', `port: ${collectorPort}`)
      .replaceAll('onebox/', `${dir}/`);
    assert.ok(!/onebox\/|\b34[0-9]{3}\b/.test(moved.replace(/#.*$/gm, '')), 'every port and path was moved');
    fs.writeFileSync(path.join(dir, 'pteron.yml'), moved);
    // What `npm start` runs once the build is there (npm test builds before the tests).
    supervisor = spawnSupervisor(path.join(dir, 'pteron.yml'), (chunk) => (output += chunk), { compiled: true });
    try {
      await waitFor('every service healthy', async () => {
        const health = await supervisorGet('/service/health');
        return health.meta?.healthy === 1 && health.replica?.healthy === 3 && health.collector?.healthy === 1;
      }, 120_000, 250);
      for (const service of ['meta', 'replica', 'collector']) {
        for (const entry of (await supervisorGet(`/service/metrics/${service}`)).processes ?? []) pids.add(entry.pid);
      }
      const client = createClient({ metaServers: [`127.0.0.1:${metaPort}`], timeoutMs: 5000 });
      try {
        await waitFor('table temp writable', async () => {
          const table = await client.openTable('temp');
          await table.set('scraped', 'sort', 'value');
          return (await table.get('scraped', 'sort'))?.toString() === 'value';
        }, 120_000, 300);
      } finally {
        await client.close();
      }
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
  });

  after(async () => {
    if (supervisor.exitCode === null && supervisor.signalCode === null) {
      await fetch(`http://127.0.0.1:${supervisorPort}/shutdown`, { method: 'POST' }).catch(() => {});
      await waitFor('supervisor exit', () => supervisor.exitCode !== null || supervisor.signalCode !== null, 60_000).catch(() => supervisor.kill('SIGKILL'));
    }
    await waitFor('every server stopped', () => [...pids].every((pid) => !alive(pid)), 30_000, 100).catch(() => {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every process is an up target, labelled by role, and the writes show in the replica counters', async () => {
    const targets = [supervisorPort, metaPort, ...replicaPorts, collectorPort].map((port) => `127.0.0.1:${port}`);
    const prometheus = await startPrometheus(dir, targets);
    try {
      await waitFor('every target up', async () => {
        const up = await prometheus.query('up');
        return up.length === targets.length && up.every((sample) => sample.value[1] === '1');
      }, 60_000, 500);
      await waitFor('the writes scraped', async () => {
        const puts = await prometheus.query('sum(pteron_replica_requests_total{op="put"})');
        return puts.length === 1 && Number(puts[0]!.value[1]) >= 1;
      }, 60_000, 500);
      const roles = await prometheus.query('count by (role) (process_start_time_seconds{job="pteron"})');
      assert.deepEqual(
        Object.fromEntries(roles.map((sample) => [sample.metric.role, sample.value[1]])),
        { collector: '1', meta: '1', replica: '3', supervisor: '1' },
      );
      const clusters = await prometheus.query('count by (cluster) (process_start_time_seconds{job="pteron", role!="supervisor"})');
      assert.deepEqual(clusters.map((sample) => sample.metric.cluster), ['onebox'], 'the servers carry pteron.yml\'s cluster name');
    } catch (error) {
      throw new Error(`${(error as Error).message}\nprometheus log:\n${prometheus.log()}`);
    } finally {
      await prometheus.stop();
    }
  });
});
