// A real supervisor process running one meta and three replica servers from a test manifest
// (free ports, short health and failure-detector settings, a temporary directory): every
// endpoint's JSON, restarts after SIGKILL and after sustained unhealthiness, a rolling restart
// under client load, a refused build, stop and start, reload, access and the rate limit, the
// `pteron svc` and `pteron repo` commands, and no process left after a SIGKILL of the supervisor.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '../../src/client/index.ts';
import { childrenByParent, readProcessUsage } from '../../src/supervisor/proc-stats.ts';
import { alive, freePort, PROJECT_ROOT, sleep, waitFor, spawnSupervisor } from '../helpers/process.ts';

const MAIN = path.join(PROJECT_ROOT, 'src/cli/main.ts');
const SECRET = 'open-sesame';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

function request(port: number, method: string, target: string, options: { headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: '127.0.0.1', port, method, path: target, headers: options.headers, localAddress: options.localAddress, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode!, headers: response.headers, text, json });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

interface ProcessView {
  pid: number;
  instance: string;
  restarts: number;
}

describe('supervisor running a meta and three replica servers', { timeout: 300000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pteron-supervisor-'));
  const manifestFile = path.join(dir, 'pteron.yml');
  const breakBuild = path.join(dir, 'break-build');
  let port = 0;
  let metaPort = 0;
  const replicaPorts: number[] = [];
  let supervisor: ChildProcess;
  let output = '';
  /** Every pid seen, so after() can make sure none is left. */
  const seenPids = new Set<number>();

  const api = (method: string, target: string, options?: Parameters<typeof request>[3]): Promise<Answer> => request(port, method, target, options);
  const get = async (target: string): Promise<any> => {
    const answer = await api('GET', target);
    assert.equal(answer.status, 200, `${target}: ${answer.status} ${answer.text}`);
    return answer.json;
  };
  const processes = async (service: string): Promise<ProcessView[]> => {
    const metrics = await get(`/service/metrics/${service}`);
    const list = (metrics.processes ?? []) as ProcessView[];
    for (const entry of list) seenPids.add(entry.pid);
    return list;
  };
  const pidOf = async (instance: string): Promise<number | undefined> =>
    [...(await processes('meta')), ...(await processes('replica'))].find((entry) => entry.instance === instance)?.pid;
  const allHealthy = async (): Promise<boolean> => {
    const health = await get('/service/health');
    return health.meta?.healthy === 1 && health.replica?.healthy === 3;
  };
  const clusterHealthy = async (): Promise<boolean> => {
    const response = await fetch(`http://127.0.0.1:${metaPort}/meta/apps?detail`);
    const body = (await response.json()) as { summary?: { fully_healthy_app_count?: string; total_app_count?: string } };
    return body.summary?.total_app_count === '1' && body.summary.fully_healthy_app_count === '1';
  };

  /**
   * Waits for table temp to be fully healthy again; on a timeout the error carries what the meta
   * says of the table and the meta's recent warnings, so a heal that got stuck can be read.
   */
  const waitClusterHealthy = async (what: string): Promise<void> => {
    try {
      await waitFor(what, clusterHealthy, 60000, 200);
    } catch (error) {
      const table = await fetch(`http://127.0.0.1:${metaPort}/meta/app?name=temp&detail`).then((response) => response.text()).catch((e: Error) => e.message);
      const metaLog = fs.readdirSync(path.join(dir, 'logs')).filter((file) => file.startsWith('meta'))
        .flatMap((file) => fs.readFileSync(path.join(dir, 'logs', file), 'utf8').split('\n'))
        .filter((line) => /"level":(40|50|60)/.test(line)).slice(-60);
      throw new Error(`${(error as Error).message}\n/meta/app?name=temp&detail: ${table}\nmeta warnings:\n${metaLog.join('\n')}`);
    }
  };

  /** The time left of a backoff in a health err: "restarting in 350ms …" or "… in 1.5s …". */
  const backoffLeftMs = (err: string): number => {
    const [, amount, unit] = /restarting in ([\d.]+)(ms|s) /.exec(err)!;
    return Number(amount) * (unit === 's' ? 1000 : 1);
  };

  const manifest = (extra = ''): string => `
# test cluster
root: ${PROJECT_ROOT}
supervisor:
  port: ${port}
  run_dir: ${dir}/run
  log_dir: ${dir}/logs
  log_max_size: 1mb
  log_files: 2
  secret: ${SECRET}
  rate_limit: { rate: 5/10s, block_for: 1m }
  build: { install: "true", check: "test ! -e ${breakBuild}", timeout: 30s }
x-fast: &fast
  health: { http: /version, interval: 300ms, timeout: 2s, unhealthy_threshold: 3, start_timeout: 60s, unhealthy_timeout: 3s }
  restart: { policy: always, backoff: 300ms, backoff_max: 2s, reset_after: 20s }
  stop: { grace: 2s }
services:
  meta:
    <<: *fast
    kind: meta
    port: ${metaPort}
    data_dir: ${dir}/{name}
    settings:
      - replication.cluster_name=test
      - meta_server.server_list={addresses:meta}
      - meta_server.min_live_node_count_for_unfreeze=1
      - replication.lb_interval_ms=1000
      - meta_server.apps.temp.partition_count=8
      - meta_server.apps.temp.max_replica_count=3
      - replication.fd_beacon_interval_seconds=1
      - replication.fd_check_interval_seconds=1
      - replication.fd_lease_seconds=2
      - replication.fd_grace_seconds=3
  replica:
    <<: *fast
    kind: replica
    ports: [${replicaPorts.join(', ')}]
    data_dir: ${dir}/{name}
    depends_on: [meta]
    settings:
      - replication.cluster_name=test
      - meta_server.server_list={addresses:meta}
      - replication.fd_beacon_interval_seconds=1
      - replication.fd_check_interval_seconds=1
      - replication.fd_lease_seconds=2
      - replication.fd_grace_seconds=3
      - replication.config_sync_interval_ms=1000
    rolling: { gate: cluster, timeout: 60s, poll: 200ms }
    # /service/health shows the time left of a backoff; seconds-long delays leave a poll on a busy
    # machine time to read the first delay and to tell the doubled second one from it.
    restart: { policy: always, backoff: 2s, backoff_max: 8s, reset_after: 20s }
${extra}`;

  before(async () => {
    port = await freePort();
    metaPort = await freePort();
    for (let index = 0; index < 3; index++) replicaPorts.push(await freePort());
    fs.writeFileSync(manifestFile, manifest());
    supervisor = spawnSupervisor(manifestFile, (chunk) => (output += chunk));
    try {
      await waitFor('every service healthy', allHealthy, 60000, 200);
      await waitFor('table temp fully healthy', clusterHealthy, 60000, 200);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
    await processes('meta');
    await processes('replica');
  });

  after(async () => {
    if (supervisor.exitCode === null && supervisor.signalCode === null) {
      supervisor.kill('SIGTERM');
      await waitFor('supervisor exit', () => supervisor.exitCode !== null || supervisor.signalCode !== null, 20000).catch(() => supervisor.kill('SIGKILL'));
    }
    for (const pid of seenPids) {
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    // PTERON_KEEP_TEST_DIRS=1 keeps the cluster's logs and data for a failure to be read afterwards.
    if (process.env.PTERON_KEEP_TEST_DIRS === '1') console.log(`# kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  });

  test('/service, /service/health, /service/metrics, /service/info and /session answer in pmesh\'s shapes', async () => {
    const services = await api('GET', '/service');
    assert.equal(services.status, 200);
    assert.equal(services.headers['content-type'], 'application/json; charset=utf-8');
    assert.match(String(services.headers['x-ray']), /^[0-9a-f]{16}$/);
    assert.ok(services.text.endsWith('}\n'));
    assert.deepEqual(Object.keys(services.json), ['meta', 'replica']);
    for (const id of Object.values(services.json)) assert.match(String(id), /^\d+$/);

    assert.deepEqual(await get('/service/health'), { meta: { status: 'OK', healthy: 1, total: 1 }, replica: { status: 'OK', healthy: 3, total: 3 } });
    assert.deepEqual(await get('/service/health/replica'), { status: 'OK', healthy: 3, total: 3 });
    assert.deepEqual(await get('/service/health/nosuch'), { status: 'unknown', healthy: 0, total: 0 });

    const metrics = await get('/service/metrics');
    assert.deepEqual(Object.keys(metrics), ['meta', 'replica']);
    const replica = metrics.replica;
    assert.deepEqual(Object.keys(replica), ['id', 'type', 'server', 'processes', 'status', 'healthy', 'total']);
    assert.equal(replica.id, services.json.replica);
    assert.equal(replica.type, 'replica');
    assert.deepEqual([replica.status, replica.healthy, replica.total], ['OK', 3, 3]);
    assert.deepEqual(replica.server.upstreams.map((upstream: any) => [upstream.address, upstream.healthy]), replicaPorts.map((replicaPort) => [`127.0.0.1:${replicaPort}`, true]));
    for (const upstream of replica.server.upstreams) assert.ok(upstream.request_count > 0);
    assert.equal(replica.processes.length, 3);
    for (const [index, entry] of replica.processes.entries()) {
      assert.equal(entry.instance, `replica${index + 1}`);
      assert.equal(entry.port, replicaPorts[index]);
      assert.ok(alive(entry.pid));
      assert.match(entry.create_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
      assert.ok(entry.cmd.includes(`replica --port ${replicaPorts[index]}`));
      assert.ok(entry.rss > 10 * 1024 * 1024 && entry.vms > entry.rss, `rss ${entry.rss}`);
      assert.ok(entry.cpu === undefined || (entry.cpu > 0 && entry.cpu <= os.cpus().length));
      assert.deepEqual(Object.keys(entry.tree), [String(entry.pid)]);
      assert.equal(entry.tree[entry.pid].pid, entry.pid);
      assert.equal(entry.health, 'healthy');
      assert.ok(entry.uptime_ms > 0);
      assert.equal(entry.restarts, 0);
      assert.ok(entry.counters.http_requests > 0, 'the health checks are HTTP requests');
      assert.ok(entry.counters.rpc_requests >= 0);
    }
    assert.deepEqual(await get('/service/metrics/nosuch'), { id: null, type: '', server: {}, processes: null, status: '', healthy: 0, total: 0 });
    const info = await get('/service/info/meta');
    assert.deepEqual(Object.keys(info), ['id', 'type', 'server', 'processes', 'status', 'healthy', 'total']);
    assert.equal(info.processes[0].instance, 'meta1');

    const sessions = await get('/session');
    assert.deepEqual(Object.keys(sessions), ['num_clients', 'sessions']);
    const local = sessions.sessions['127.0.0.1'];
    assert.deepEqual(Object.keys(local), ['avg_rps', 'num_reqs', 'first_seen', 'blocked_until']);
    assert.ok(local.num_reqs >= 10);
    assert.ok(local.avg_rps > 0);
    assert.equal(local.blocked_until, '0001-01-01T00:00:00Z');
  });

  test('/repo describes the checkout the manifest root is in', async () => {
    const repo = await get('/repo');
    assert.deepEqual(Object.keys(repo), ['sys', 'ref', 'remote', 'url']);
    assert.equal(repo.sys, 'git');
    const git = (...args: string[]): string => spawnSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' }).stdout;
    assert.equal(repo.ref.hash, git('rev-parse', 'HEAD').trim());
    assert.equal(repo.ref.branch, git('symbolic-ref', '--quiet', '--short', 'HEAD').trim() || 'HEAD');
    assert.equal(repo.ref.author, git('log', '-1', '--format=%an <%ae>').trim());
    assert.equal(repo.ref.message, git('cat-file', 'commit', 'HEAD').split('\n\n').slice(1).join('\n\n'));
    assert.deepEqual(Object.keys(repo.remote), ['branch', 'hash', 'author', 'message']);
    assert.equal(typeof repo.url, 'string');
  });

  test('any method, ?pretty, parameter errors, unknown services and paths', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) assert.equal((await api(method, '/service')).status, 200, method);
    const pretty = await api('GET', '/service/health/meta?pretty');
    assert.equal(pretty.text, '{\n  "status": "OK",\n  "healthy": 1,\n  "total": 1\n}\n');
    const head = await api('HEAD', '/service');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');

    const unknownField = await api('POST', '/service/restart/meta', { body: '{"invalidate":false,"x":1}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual([unknownField.status, unknownField.text], [400, '{"error":"json: unknown field \\"x\\""}\n']);
    assert.deepEqual([(await api('POST', '/service/restart/nosuch')).text], ['{"error":"service not found"}\n']);
    assert.deepEqual([(await api('GET', '/service/stop/nosuch')).status, (await api('GET', '/service/stop/nosuch')).json], [400, { error: 'service not found' }]);
    // Parameters of calls that take none are ignored, even a broken body.
    assert.equal((await api('POST', '/service/health', { body: '{broken' })).status, 200);

    const missing = await api('GET', '/no/such/path');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { code: 404, error: 'Not Found', message: 'The requested resource was not found.' });
    assert.equal(missing.headers['x-content-type-options'], 'nosniff');
    // The Pegasus admin calls stay on the port.
    assert.equal((await api('GET', '/version')).status, 200);
  });

  test('a SIGKILLed replica server is restarted with backoff; health goes 2/3 and back to 3/3', async () => {
    const before = await pidOf('replica2');
    assert.ok(before);
    process.kill(before, 'SIGKILL');
    let health: any;
    await waitFor('replica2 waiting to restart', async () => {
      health = await get('/service/health/replica');
      return health.healthy === 2 && /restarting in/.test(health.err ?? '');
    }, 20_000, 20);
    assert.equal(health.status, 'OK');
    assert.equal(health.total, 3);
    assert.match(health.err, /^replica2: restarting in [\d.]+m?s after exit \(signal SIGKILL\)$/);
    const firstDelayMs = backoffLeftMs(health.err);
    assert.ok(firstDelayMs <= 2000, `first delay ${firstDelayMs}`);
    await waitFor('replica back to 3/3', async () => (await get('/service/health/replica')).healthy === 3, 30000, 100);
    const restarted = await pidOf('replica2');
    assert.ok(restarted && restarted !== before);
    assert.equal((await processes('replica')).find((entry) => entry.instance === 'replica2')!.restarts, 1);

    // A second failure within reset_after waits twice as long.
    process.kill(restarted, 'SIGKILL');
    await waitFor('replica2 waiting again', async () => {
      health = await get('/service/health/replica');
      return /restarting in/.test(health.err ?? '');
    }, 20_000, 20);
    const secondDelayMs = backoffLeftMs(health.err);
    assert.ok(secondDelayMs > 2000 && secondDelayMs <= 4000, `second delay ${secondDelayMs}`);
    await waitFor('replica back to 3/3 again', async () => (await get('/service/health/replica')).healthy === 3, 30000, 100);
    assert.equal((await processes('replica')).find((entry) => entry.instance === 'replica2')!.restarts, 2);
    assert.ok(!alive(before) && !alive(restarted));
    await waitClusterHealthy('table temp fully healthy again');
  });

  test('a replica server that stops answering is marked unhealthy, then replaced', async () => {
    const frozen = (await pidOf('replica3'))!;
    process.kill(frozen, 'SIGSTOP');
    try {
      await waitFor('replica3 unhealthy', async () => /replica3: unhealthy/.test((await get('/service/health/replica')).err ?? ''), 20000, 50);
      await waitFor('replica3 replaced', async () => {
        const pid = await pidOf('replica3');
        return pid !== undefined && pid !== frozen;
      }, 40000, 100);
    } finally {
      if (alive(frozen)) process.kill(frozen, 'SIGCONT');
    }
    await waitFor('replica back to 3/3', async () => (await get('/service/health/replica')).healthy === 3, 30000, 100);
    assert.ok(!alive(frozen), 'the frozen process was killed after the grace time');
    // The supervisor's log comes through a pipe and may lag what its API already shows.
    await waitFor('the restart reason logged', () => /"instance":"replica3".*"reason":"unhealthy for [\d.]+s: GET \/version timed out after 2000ms"/.test(output), 30_000, 50);
    await waitClusterHealthy('table temp fully healthy again');
  });

  test('/service/restart/replica restarts one server at a time while the meta keeps reporting the cluster and clients keep writing', async () => {
    const before = (await processes('replica')).map((entry) => entry.pid);
    const idBefore = (await get('/service')).replica;
    // A deadline that outlasts a failover on a busy machine: what counts is that no request fails.
    const client = createClient({ metaServers: `127.0.0.1:${metaPort}`, timeoutMs: 20_000 });
    const table = await client.openTable('temp');
    let stop = false;
    let ok = 0;
    let failed = 0;
    const failures = new Map<string, number>();
    const load = (async () => {
      for (let index = 0; !stop; index++) {
        try {
          await table.set(`hash${index % 50}`, `sort${index}`, `value${index}`);
          const value = await table.get(`hash${index % 50}`, `sort${index}`);
          assert.equal(value?.toString(), `value${index}`);
          ok++;
        } catch (error) {
          failed++;
          const message = (error as Error).message.slice(0, 100);
          failures.set(message, (failures.get(message) ?? 0) + 1);
        }
      }
    })();
    let metaPolls = 0;
    let metaFailures = 0;
    const watch = (async () => {
      while (!stop) {
        try {
          const response = await fetch(`http://127.0.0.1:${metaPort}/meta/apps?detail`);
          const body = (await response.json()) as { summary?: { total_app_count?: string } };
          if (response.status !== 200 || body.summary?.total_app_count !== '1') metaFailures++;
        } catch {
          metaFailures++;
        }
        metaPolls++;
        await sleep(100);
      }
    })();
    const startMs = Date.now();
    const answer = await api('POST', '/service/restart/replica');
    const tookMs = Date.now() - startMs;
    await sleep(300);
    stop = true;
    await Promise.all([load, watch]);
    await client.close();
    assert.deepEqual([answer.status, answer.json], [200, { count: 1 }], answer.text);
    const afterwards = await processes('replica');
    assert.equal(afterwards.length, 3);
    for (const [index, entry] of afterwards.entries()) {
      assert.notEqual(entry.pid, before[index]);
      assert.ok(!alive(before[index]!));
    }
    assert.notEqual((await get('/service')).replica, idBefore, 'a restart gives the service a new id');
    const starts = [...output.matchAll(/"operation":"rolling restart".*?"instance":"(replica\d)".*?"msg":"restarting"/g)].slice(-3).map((match) => match[1]);
    assert.deepEqual(starts, ['replica1', 'replica2', 'replica3']);
    assert.ok(await clusterHealthy());
    assert.equal(metaFailures, 0, `the meta failed ${metaFailures} of ${metaPolls} polls`);
    console.log(`# rolling restart: ${tookMs} ms; client requests ok ${ok}, failed ${failed} ${JSON.stringify([...failures])}; meta polls ${metaPolls}`);
    assert.ok(ok > 0);
    assert.equal(failed, 0, `${failed} of ${ok + failed} client requests failed: ${JSON.stringify([...failures])}`);
  });

  test('invalidate builds first: a failing build restarts nothing; a passing one restarts', async () => {
    const before = await pidOf('meta1');
    fs.writeFileSync(breakBuild, '');
    const refused = await api('GET', '/service/restart/meta?invalidate=true');
    assert.equal(refused.status, 400);
    assert.match(refused.json.error, /^build failed; nothing was restarted: test ! -e .*break-build failed:\nexit status 1$/);
    assert.equal(await pidOf('meta1'), before);
    fs.rmSync(breakBuild);
    const restarted = await api('POST', '/service/restart/meta', { body: '{"invalidate":true}' });
    assert.deepEqual([restarted.status, restarted.json], [200, { count: 1 }]);
    assert.notEqual(await pidOf('meta1'), before);
    assert.ok(fs.readFileSync(path.join(dir, 'logs', 'build.log'), 'utf8').includes(`$ test ! -e ${breakBuild}`));
    await waitClusterHealthy('table temp fully healthy again');
  });

  test('/service/stop/replica stops it and keeps it listed; /service/restart/replica brings it back', async () => {
    const pids = (await processes('replica')).map((entry) => entry.pid);
    assert.deepEqual((await api('POST', '/service/stop/replica')).json, { count: 1 });
    for (const pid of pids) assert.ok(!alive(pid));
    assert.deepEqual(await get('/service/health/replica'), { status: 'Down', healthy: 0, total: 0, err: 'shutdown' });
    const metrics = await get('/service/metrics/replica');
    assert.deepEqual([metrics.processes, metrics.server, metrics.status, metrics.err], [null, {}, 'Down', 'shutdown']);
    assert.ok('replica' in (await get('/service')));
    assert.deepEqual((await api('POST', '/service/restart/replica')).json, { count: 1 });
    await waitFor('replica 3/3', async () => (await get('/service/health/replica')).healthy === 3, 30000, 100);
    await waitClusterHealthy('table temp fully healthy again');
  });

  test('/reload reads the manifest again: {} on success, the line of the mistake on failure', async () => {
    const before = await pidOf('meta1');
    const reloaded = await api('POST', '/reload');
    assert.deepEqual([reloaded.status, reloaded.text], [200, '{}']);
    assert.notEqual(await pidOf('meta1'), before);
    await waitFor('every service healthy', allHealthy, 30000, 100);
    const good = fs.readFileSync(manifestFile, 'utf8');
    fs.writeFileSync(manifestFile, good.replace('    kind: replica\n', '    kind: replicaa\n'));
    try {
      const refused = await api('GET', '/reload');
      assert.equal(refused.status, 400);
      assert.match(refused.json.error, /^pteron\.yml:\d+:11: services\.replica\.kind: expected one of meta, replica, collector, zookeeper, app, got "replicaa"$/);
    } finally {
      fs.writeFileSync(manifestFile, good);
    }
    await waitClusterHealthy('table temp fully healthy again');
  });

  test('clients that are not local need the secret; 127.0.0.2 is loopback and gets its own session', async () => {
    const outsider = { 'x-forwarded-for': '198.51.100.9' };
    const refused = await api('GET', '/service', { headers: outsider });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.json, { code: 403, error: 'Forbidden', message: 'You have been blocked from accessing this resource.' });
    // The Pegasus admin calls on this port are behind the same gate.
    assert.equal((await api('GET', '/version', { headers: outsider })).status, 403);
    const basic = `Basic ${Buffer.from(`:${SECRET}`).toString('base64')}`;
    assert.equal((await api('GET', '/service', { headers: { ...outsider, authorization: basic } })).status, 200);
    assert.equal((await api('GET', '/service', { headers: { ...outsider, authorization: 'Bearer wrong' } })).status, 403);

    const second = await api('GET', '/service', { localAddress: '127.0.0.2' });
    assert.equal(second.status, 200);
    const sessions = (await get('/session')).sessions;
    assert.equal(sessions['127.0.0.2'].num_reqs, 1);
    assert.equal(sessions['198.51.100.9'].num_reqs, 4);
  });

  test('a client over the rate limit is blocked (403) and listed in /session with blocked_until', async () => {
    const client = { 'x-forwarded-for': '203.0.113.7', authorization: `Bearer ${SECRET}` };
    const statuses: number[] = [];
    // 5 per 10 s window: 12 requests go over in whichever window most of them land.
    for (let index = 0; index < 12; index++) statuses.push((await api('GET', '/service/health', { headers: client })).status);
    assert.equal(statuses[0], 200);
    assert.equal(statuses.at(-1), 403);
    const firstRefusal = statuses.indexOf(403);
    assert.ok(firstRefusal >= 5, `${statuses}`);
    assert.ok(statuses.slice(firstRefusal).every((status) => status === 403), 'once blocked, every request is refused');
    const view = await get('/session');
    const session = view.sessions['203.0.113.7'];
    assert.equal(session.num_reqs, 12);
    assert.notEqual(session.blocked_until, '0001-01-01T00:00:00Z');
    const blockedForMs = new Date(session.blocked_until).getTime() - Date.now();
    assert.ok(blockedForMs > 50000 && blockedForMs <= 60000, `blocked for ${blockedForMs} ms`);
    assert.ok(view.num_clients >= 4);
    // Local clients are never limited.
    for (let index = 0; index < 20; index++) assert.equal((await api('GET', '/service')).status, 200);
  });

  test('pteron svc and pteron repo', async () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args, '--url', `http://127.0.0.1:${port}`], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60000 });
    const list = run('svc', 'ls');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^SERVICE +TYPE +STATUS +HEALTHY +PIDS +CPU +RSS +RESTARTS +UPTIME\nmeta +meta +OK +1\/1 +\d+ /);
    assert.match(list.stdout, /\nreplica +replica +OK +3\/3 +\d+,\d+,\d+ /);
    const health = run('svc', 'health', 'replica');
    assert.equal(health.stdout, 'SERVICE  STATUS  HEALTHY  ERR\nreplica  OK      3/3\n');
    const metrics = run('svc', 'metrics', 'meta');
    assert.equal(JSON.parse(metrics.stdout).type, 'meta');
    const restart = run('svc', 'restart', 'meta');
    assert.deepEqual([restart.status, restart.stdout], [0, 'Restarted 1 service\n']);
    const unknown = run('svc', 'stop', 'nosuch');
    assert.deepEqual([unknown.status, unknown.stderr], [1, 'pteron: /service/stop/nosuch: 400 service not found\n']);
    const repo = run('repo', '--json');
    assert.equal(repo.status, 0, repo.stderr);
    assert.equal(JSON.parse(repo.stdout).sys, 'git');
    const closedPort = await freePort();
    const unreachable = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'svc', 'ls', '--url', `http://127.0.0.1:${closedPort}`], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    assert.equal(unreachable.status, 1);
    assert.equal(unreachable.stderr, `pteron: cannot reach the supervisor at http://127.0.0.1:${closedPort}: ECONNREFUSED\n`);
    const usage = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'svc'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    assert.equal(usage.status, 2);
    await waitFor('every service healthy', allHealthy, 30000, 100);
  });

  test('SIGKILL of the supervisor leaves no process behind', async () => {
    const pids = [...(await processes('meta')), ...(await processes('replica'))].map((entry) => entry.pid);
    const watchdog = (childrenByParent().get(supervisor.pid!) ?? []).filter((pid) => readProcessUsage(pid)?.cmd.includes('dist/supervisor/watchdog.js'));
    assert.equal(watchdog.length, 1, 'the supervisor runs one watchdog');
    assert.equal(pids.length, 4);
    supervisor.kill('SIGKILL');
    await waitFor('every supervised process gone', () => pids.every((pid) => !alive(pid)), 15000, 50);
    await waitFor('the watchdog gone', () => !alive(watchdog[0]!), 5000, 50);
  });
});
