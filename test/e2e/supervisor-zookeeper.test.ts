// The ZooKeeper manifest under a real supervisor: manifests/zookeeper-3-metas.yml moved to free
// ports and a temporary directory. ZooKeeper starts first, then the three metas sharing their
// state in it, then the replica servers; a SIGKILLed ZooKeeper is restarted and the cluster
// recovers; shutdown stops ZooKeeper last. Skipped where Debian's zookeeper package is missing.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { zooKeeperAvailable } from '../../src/meta/zk/server.ts';
import { alive, freePort, PROJECT_ROOT, waitFor, spawnSupervisor } from '../helpers/process.ts';

describe('the ZooKeeper manifest: ZooKeeper, three metas, three replica servers', { timeout: 240000, skip: !zooKeeperAvailable() && 'Debian\'s zookeeper package is not installed' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pteron-supervisor-zk-'));
  let port = 0;
  let zookeeperPort = 0;
  const metaPorts: number[] = [];
  let supervisor: ChildProcess;
  let output = '';
  const pids = new Set<number>();

  const get = async (target: string): Promise<any> => {
    const response = await fetch(`http://127.0.0.1:${port}${target}`);
    assert.equal(response.status, 200);
    return response.json();
  };
  const pidsOf = async (service: string): Promise<number[]> => {
    const list = ((await get(`/service/metrics/${service}`)).processes ?? []).map((entry: { pid: number }) => entry.pid) as number[];
    for (const pid of list) pids.add(pid);
    return list;
  };
  const everythingHealthy = async (): Promise<boolean> => {
    const health = await get('/service/health');
    return health.zookeeper?.healthy === 1 && health.meta?.healthy === 3 && health.replica?.healthy === 3;
  };
  /** Asked of a meta that may be a backup: fetch follows its 307 to the primary. */
  const clusterHealthy = async (): Promise<boolean> => {
    const response = await fetch(`http://127.0.0.1:${metaPorts[0]}/meta/apps?detail`);
    if (response.status !== 200) return false;
    const body = (await response.json()) as { summary?: { fully_healthy_app_count?: string; total_app_count?: string } };
    return body.summary?.total_app_count === '1' && body.summary.fully_healthy_app_count === '1';
  };

  before(async () => {
    port = await freePort();
    zookeeperPort = await freePort();
    for (let index = 0; index < 3; index++) metaPorts.push(await freePort());
    const replicaPorts = [await freePort(), await freePort(), await freePort()];
    const text = fs.readFileSync(path.join(PROJECT_ROOT, 'manifests/zookeeper-3-metas.yml'), 'utf8');
    const moved = text
      .replace(/^root: \.\.$/m, `root: ${PROJECT_ROOT}`)
      .replace('port: 34001', `port: ${port}`)
      .replace('port: 22181', `port: ${zookeeperPort}`)
      .replace('ports: [34601, 34602, 34603]', `ports: [${metaPorts.join(', ')}]`)
      .replace('    instances: 3\n    port: 34801', `    ports: [${replicaPorts.join(', ')}]`)
      .replaceAll('onebox/', `${dir}/`)
      .replace('cluster_root=/pegasus/onebox', 'cluster_root=/pegasus/supervisor-test')
      .replace('      - replication.cluster_name=onebox\n      - meta_server.server_list={addresses:meta}\n    rolling', [
        '      - replication.cluster_name=onebox',
        '      - meta_server.server_list={addresses:meta}',
        '      - replication.fd_beacon_interval_seconds=1',
        '      - replication.fd_check_interval_seconds=1',
        '      - replication.fd_lease_seconds=2',
        '      - replication.fd_grace_seconds=3',
        '    rolling',
      ].join('\n'));
    assert.ok(!moved.includes('onebox/') && !moved.includes('34801'), 'every port and path was moved');
    fs.writeFileSync(path.join(dir, 'pteron.yml'), moved);
    supervisor = spawnSupervisor(path.join(dir, 'pteron.yml'), (chunk) => (output += chunk));
    try {
      await waitFor('every service healthy', everythingHealthy, 120000, 250);
      await waitFor('table temp fully healthy', clusterHealthy, 120000, 250);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
  });

  after(async () => {
    if (supervisor.exitCode === null && supervisor.signalCode === null) {
      supervisor.kill('SIGKILL');
      await waitFor('supervisor exit', () => supervisor.exitCode !== null || supervisor.signalCode !== null, 5000).catch(() => {});
    }
    await waitFor('the watchdog stopped everything', () => [...pids].every((pid) => !alive(pid)), 20000, 100).catch(() => {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('start order: ZooKeeper, then the metas, then the replica servers', () => {
    const position = (pattern: RegExp): number => output.search(pattern);
    const zookeeperHealthy = position(/"instance":"zookeeper1".*"msg":"healthy"/);
    const metasStarted = position(/"service":"meta".*"msg":"starting service"/);
    const replicasStarted = position(/"service":"replica".*"msg":"starting service"/);
    assert.ok(zookeeperHealthy >= 0 && zookeeperHealthy < metasStarted && metasStarted < replicasStarted, output);
  });

  test('the metas share one state: one primary, the backups redirect to it', async () => {
    const statuses = await Promise.all(metaPorts.map(async (metaPort) => (await fetch(`http://127.0.0.1:${metaPort}/meta/apps`, { redirect: 'manual' })).status));
    assert.deepEqual(statuses.sort(), [200, 307, 307]);
    const metrics = await get('/service/metrics/zookeeper');
    assert.equal(metrics.type, 'zookeeper');
    assert.match(metrics.processes[0].cmd, /org\.apache\.zookeeper\.server\.ZooKeeperServerMain .*zoo\.cfg$/);
    assert.match(fs.readFileSync(path.join(dir, 'zookeeper', 'zoo.cfg'), 'utf8'), new RegExp(`^clientPort=${zookeeperPort}$`, 'm'));
  });

  test('a SIGKILLed ZooKeeper is restarted, and the cluster recovers', async () => {
    const [zookeeper] = await pidsOf('zookeeper');
    await pidsOf('meta');
    await pidsOf('replica');
    process.kill(zookeeper!, 'SIGKILL');
    await waitFor('ZooKeeper restarted', async () => {
      const [pid] = await pidsOf('zookeeper');
      return pid !== undefined && pid !== zookeeper && (await get('/service/health/zookeeper')).healthy === 1;
    }, 60000, 100);
    await waitFor('every service healthy again', everythingHealthy, 120000, 250);
    await waitFor('table temp fully healthy again', clusterHealthy, 120000, 250);
  });

  test('shutdown stops the replica servers, then the metas, then ZooKeeper', async () => {
    const all = [...(await pidsOf('zookeeper')), ...(await pidsOf('meta')), ...(await pidsOf('replica'))];
    supervisor.kill('SIGTERM');
    await waitFor('supervisor exit', () => supervisor.exitCode !== null, 60000, 100);
    for (const pid of all) assert.ok(!alive(pid));
    const stops = [...output.matchAll(/"instance":"([a-z]+)\d".*?"msg":"stopped"/g)].map((match) => match[1]).slice(-7);
    assert.deepEqual([...new Set(stops)], ['replica', 'meta', 'zookeeper']);
  });
});
