import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLocalTime } from '../../src/base/index.ts';
import { HttpRouter, type AdminRequest } from '../../src/net/index.ts';
import {
  getApp, getAppDuplication, getAppEnvs, getApps, getCluster, getNodes, listEnvs, MemoryStateStore, registerMetaHttpCalls, startCompaction, updateUsageScenario,
  type LeaderInfo, type MetaHttpDeps, type MetaServerState, type StoreOp,
} from '../../src/meta/index.ts';
import { appInfoToJson, newPartitionConfiguration, partitionConfigurationToJson, type AppInfo, type PartitionConfiguration } from '../../src/cluster/index.ts';
import { createMetaHarness } from '../helpers/meta-harness.ts';
import { setFlagFromText } from '../../src/config/index.ts';

const H1 = 'h1:34801';
const H2 = 'h2:34801';
const H3 = 'h3:34801';

function request(path: string, query: Record<string, string> = {}): AdminRequest {
  return { method: 'GET', path, query: new Map(Object.entries(query)), rawQuery: '', body: Buffer.alloc(0), headers: {}, remoteAddress: '127.0.0.1' };
}

function post(path: string, body: string | object): AdminRequest {
  return { ...request(path), method: 'POST', body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) };
}

function depsFor(state: MetaServerState, leader: LeaderInfo = { self: true }): MetaHttpDeps {
  return {
    state,
    leader: () => leader,
    metaServers: () => ['h1:34601', 'h2:34601'],
    selfAddress: () => 'h1:34601',
  };
}

function appInfo(appId: number, appName: string, partitionCount: number, createSecond: number): AppInfo {
  return {
    status: 'AS_AVAILABLE', appType: 'pegasus', appName, appId, partitionCount, envs: {}, isStateful: true, maxReplicaCount: 3,
    expireSecond: 0, createSecond, dropSecond: 0, duplicating: false, initPartitionCount: partitionCount, isBulkLoading: false,
    atomicIdempotent: false,
  };
}

/** A store holding table t1 (id 2) laid out as in the spec's /meta/app example. */
function exampleStore(createSecond = 1714530030): MemoryStateStore {
  const store = new MemoryStateStore();
  const p0: PartitionConfiguration = { ...newPartitionConfiguration(2, 0, 3), ballot: 3, primary: H1, secondaries: [H2, H3] };
  const p1: PartitionConfiguration = { ...newPartitionConfiguration(2, 1, 3), ballot: 5, primary: H2, secondaries: [H3] };
  const ops: StoreOp[] = [
    { op: 'create', path: '/c', data: Buffer.alloc(0) },
    { op: 'create', path: '/c/apps', data: Buffer.from('unlock') },
    { op: 'create', path: '/c/apps/2', data: Buffer.from(appInfoToJson(appInfo(2, 't1', 2, createSecond))) },
    { op: 'create', path: '/c/apps/2/0', data: Buffer.from(partitionConfigurationToJson(p0)) },
    { op: 'create', path: '/c/apps/2/1', data: Buffer.from(partitionConfigurationToJson(p1)) },
  ];
  store.tree.apply(ops);
  return store;
}

async function exampleMeta(createSecond?: number) {
  return createMetaHarness({ store: exampleStore(createSecond), clusterRoot: '/c', nodes: [] });
}

describe('/meta/app', () => {
  it('answers the general table (Pegasus test vector)', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 'first', partitionCount: 1, replicaCount: 3 });
    await meta.state.createApp({ appName: 'test_meta_http', partitionCount: 8, replicaCount: 3 });
    const response = getApp(request('meta/app', { name: 'test_meta_http' }), depsFor(meta.state));
    assert.equal(response.status, 200);
    assert.equal(response.body, '{"general":{"app_name":"test_meta_http","app_id":"2","partition_count":"8","max_replica_count":"3"}}\n');
  });

  it('adds replicas, nodes and health with detail (spec example)', async () => {
    const meta = await exampleMeta();
    const expected =
      '{"general":{"app_name":"t1","app_id":"2","partition_count":"2","max_replica_count":"3"},' +
      '"replicas":{"0":{"pidx":"0","ballot":"3","replica_count":"3/3","primary":"h1:34801","secondaries":"[h2:34801,h3:34801]"},' +
      '"1":{"pidx":"1","ballot":"5","replica_count":"2/3","primary":"h2:34801","secondaries":"[h3:34801]"}},' +
      '"nodes":{"h1:34801":{"node":"h1:34801","primary":"1","secondary":"0","total":"1"},' +
      '"h2:34801":{"node":"h2:34801","primary":"1","secondary":"1","total":"2"},' +
      '"h3:34801":{"node":"h3:34801","primary":"0","secondary":"2","total":"2"},' +
      '"total":{"node":"total","primary":"2","secondary":"3","total":"5"}},' +
      '"healthy":{"fully_healthy_partition_count":"1","unhealthy_partition_count":"1","write_unhealthy_partition_count":"0","read_unhealthy_partition_count":"0"}}\n';
    // detail is a presence flag: any value turns it on.
    for (const detail of ['', 'false']) {
      const response = getApp(request('meta/app', { name: 't1', detail }), depsFor(meta.state));
      assert.equal(response.status, 200);
      assert.equal(response.body, expected);
    }
  });

  it('shows a table without replicas with "-" and "[]", and counts it write- and read-unhealthy', async () => {
    // A default table on a cluster without replica servers: nothing is placed.
    const empty = await createMetaHarness({
      nodes: [], defaultApps: [{ appName: 'e', appType: 'pegasus', partitionCount: 1, maxReplicaCount: 3, isStateful: true, envs: {} }],
    });
    const response = getApp(request('meta/app', { name: 'e', detail: '' }), depsFor(empty.state));
    assert.equal(
      response.body,
      '{"general":{"app_name":"e","app_id":"1","partition_count":"1","max_replica_count":"3"},' +
        '"replicas":{"0":{"pidx":"0","ballot":"0","replica_count":"0/3","primary":"-","secondaries":"[]"}},' +
        '"nodes":{"total":{"node":"total","primary":"0","secondary":"0","total":"0"}},' +
        '"healthy":{"fully_healthy_partition_count":"0","unhealthy_partition_count":"1","write_unhealthy_partition_count":"1","read_unhealthy_partition_count":"1"}}\n',
    );
  });

  it('answers errors with Pegasus status codes and bodies', async () => {
    const meta = await exampleMeta();
    const deps = depsFor(meta.state);
    assert.deepEqual(getApp(request('meta/app', { name: 't1', other: '1' }), deps), { status: 400, body: '' });
    assert.deepEqual(getApp(request('meta/app'), deps), { status: 400, body: "app name shouldn't be empty" });
    assert.deepEqual(getApp(request('meta/app', { name: '' }), deps), { status: 400, body: "app name shouldn't be empty" });
    assert.deepEqual(getApp(request('meta/app', { name: 'nope' }), deps), { status: 404, body: 'table not found: "nope"' });
    await meta.state.dropApp({ appName: 't1' });
    assert.deepEqual(getApp(request('meta/app', { name: 't1' }), deps), { status: 404, body: 'table not found: "t1"' });
  });

  it('answers 500 with the error name while the table is being created', async () => {
    class GatedStore extends MemoryStateStore {
      release: (() => void) | undefined;
      override async multi(ops: StoreOp[]): Promise<void> {
        await new Promise<void>((resolve) => (this.release = resolve));
        return super.multi(ops);
      }
    }
    const store = new GatedStore();
    store.tree.apply([{ op: 'create', path: '/pegasus', data: Buffer.alloc(0) }, { op: 'create', path: '/pegasus/test', data: Buffer.alloc(0) }, { op: 'create', path: '/pegasus/test/apps', data: Buffer.from('unlock') }]);
    const meta = await createMetaHarness({ store });
    const creating = meta.state.createApp({ appName: 'slow', partitionCount: 1, replicaCount: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(getApp(request('meta/app', { name: 'slow' }), depsFor(meta.state)), { status: 500, body: 'ERR_BUSY_CREATING' });
    store.release!();
    await creating;
    assert.equal(getApp(request('meta/app', { name: 'slow' }), depsFor(meta.state)).status, 200);
  });
});

describe('/meta/apps', () => {
  it('lists available tables, with health when detailed', async () => {
    const meta = await exampleMeta();
    const created = formatLocalTime(new Date(1714530030 * 1000), true);
    const general =
      `"general_info":{"2":{"app_id":"2","status":"AVAILABLE","app_name":"t1","app_type":"pegasus","partition_count":"2",` +
      `"replica_count":"3","is_stateful":"true","create_time":"${created}","drop_time":"-","drop_expire":"-","envs_count":"0"}}`;
    assert.equal(getApps(request('meta/apps'), depsFor(meta.state)).body, `{${general},"summary":{"total_app_count":"1"}}\n`);
    assert.equal(
      getApps(request('meta/apps', { detail: '' }), depsFor(meta.state)).body,
      `{${general},"healthy_info":{"2":{"app_id":"2","app_name":"t1","partition_count":"2","fully_healthy":"1","unhealthy":"1",` +
        `"write_unhealthy":"0","read_unhealthy":"0"}},"summary":{"total_app_count":"1","fully_healthy_app_count":"0",` +
        `"unhealthy_app_count":"1","write_unhealthy_app_count":"0","read_unhealthy_app_count":"0"}}\n`,
    );
  });

  it('prints an empty list and "-" for a zero create time, and never lists dropped tables', async () => {
    const meta = await exampleMeta(0);
    assert.match(getApps(request('meta/apps'), depsFor(meta.state)).body as string, /"create_time":"-"/);
    await meta.state.dropApp({ appName: 't1' });
    const empty = '{"general_info":{},"summary":{"total_app_count":"0"}}\n';
    assert.equal(getApps(request('meta/apps'), depsFor(meta.state)).body, empty);
    assert.equal(getApps(request('meta/apps', { detail: '' }), depsFor(meta.state)).body, empty);
    assert.deepEqual(getApps(request('meta/apps', { name: 'x' }), depsFor(meta.state)), { status: 400, body: '' });
  });
});

describe('/meta/nodes', () => {
  it('lists nodes sorted by host then port, with counts when detailed', async () => {
    const meta = await exampleMeta();
    await meta.beacon('h1:9');
    const deps = depsFor(meta.state);
    assert.equal(
      getNodes(request('meta/nodes'), deps).body,
      '{"details":{"h1:9":{"address":"h1:9","status":"ALIVE"},"h1:34801":{"address":"h1:34801","status":"ALIVE"},' +
        '"h2:34801":{"address":"h2:34801","status":"ALIVE"},"h3:34801":{"address":"h3:34801","status":"ALIVE"}},' +
        '"summary":{"total_node_count":"4","alive_node_count":"4","unalive_node_count":"0"}}\n',
    );
    // h3 and h1:9 stop sending beacons.
    meta.advance(1000);
    await meta.beacon(H1, H2);
    meta.advance(1000);
    await meta.state.checkNodes();
    assert.equal(
      getNodes(request('meta/nodes', { detail: '' }), deps).body,
      '{"details":{"h1:9":{"address":"h1:9","status":"UNALIVE","replica_count":"0","primary_count":"0","secondary_count":"0"},' +
        '"h1:34801":{"address":"h1:34801","status":"ALIVE","replica_count":"1","primary_count":"1","secondary_count":"0"},' +
        '"h2:34801":{"address":"h2:34801","status":"ALIVE","replica_count":"2","primary_count":"1","secondary_count":"1"},' +
        '"h3:34801":{"address":"h3:34801","status":"UNALIVE","replica_count":"2","primary_count":"0","secondary_count":"2"}},' +
        '"summary":{"total_node_count":"4","alive_node_count":"2","unalive_node_count":"2"}}\n',
    );
    assert.deepEqual(getNodes(request('meta/nodes', { detail: '', x: '' }), deps), { status: 400, body: '' });
  });

  it('prints an empty detail table when no node is known', async () => {
    const meta = await createMetaHarness({ nodes: [] });
    assert.equal(getNodes(request('meta/nodes'), depsFor(meta.state)).body, '{"details":{},"summary":{"total_node_count":"0","alive_node_count":"0","unalive_node_count":"0"}}\n');
  });
});

describe('/meta/cluster', () => {
  const balance = (total: number) => JSON.stringify(`{\n  "copy_pri": 0,\n  "copy_sec": 0,\n  "move_pri": 0,\n  "total": ${total}\n}`);

  it('reports the metas, the store, the level, the balancer and the stddevs', async () => {
    const meta = await exampleMeta();
    const body = (level: string, total: number, primary: string, all: string) =>
      `{"meta_servers":"h1:34601,h2:34601","primary_meta_server":"h1:34601","meta_state_store":"memory",` +
      `"meta_function_level":"${level}","balance_operation_count":${balance(total)},` +
      `"primary_replica_count_stddev":"${primary}","total_replica_count_stddev":"${all}"}\n`;
    // Primaries 1,1,0 and replicas 1,2,2 on three alive nodes.
    assert.equal(getCluster(request('meta/cluster', { ignored: '1' }), depsFor(meta.state)).body, body('steady', -1, '0.47', '0.47'));
    for (const node of [H1, H2, H3]) meta.state.onConfigSync(node, []);
    assert.equal(getCluster(request('meta/cluster'), depsFor(meta.state)).body, body('steady', 0, '0.47', '0.47'));
    // h3 dies holding two replicas: the replica sample becomes partial (n − 1), and too few nodes live.
    meta.advance(1000);
    await meta.beacon(H1, H2);
    meta.advance(1000);
    await meta.state.checkNodes();
    assert.equal(getCluster(request('meta/cluster'), depsFor(meta.state)).body, body('freezed', 0, '0.00', '0.71'));
  });

  it('shows the simple store file in place of the ZooKeeper fields', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const { openSimpleStore } = await import('../../src/meta/index.ts');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pteron-meta-http-'));
    try {
      const store = await openSimpleStore(dir);
      const meta = await createMetaHarness({ store, nodes: [] });
      const body = getCluster(request('meta/cluster'), depsFor(meta.state)).body as string;
      assert.ok(body.includes(`"meta_state_store":"simple","meta_state_store_file":${JSON.stringify(path.join(dir, 'meta_state_service.log'))}`), body);
      assert.match(body, /"meta_function_level":"freezed"/, 'no replica server alive');
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('/meta/app_envs and /envs/list', () => {
  it('lists a table\'s envs in key order, {} for an unknown table', async () => {
    const meta = await exampleMeta();
    await meta.state.updateAppEnv({ appName: 't1', op: 'SET', keys: ['replica.slow_query_threshold', 'business.info'], values: ['100', 'x y'] });
    const deps = depsFor(meta.state);
    assert.deepEqual(getAppEnvs(request('meta/app_envs', { name: 't1' }), deps), {
      status: 200, body: '{"business.info":"x y","replica.slow_query_threshold":"100"}\n',
    });
    assert.deepEqual(getAppEnvs(request('meta/app_envs', { name: 'nope', other: '1' }), deps), { status: 200, body: '{}\n' });
    assert.deepEqual(getAppEnvs(request('meta/app_envs'), deps), { status: 400, body: "app name shouldn't be empty" });
  });

  it('serves the env catalogue as pretty, sorted JSON without a trailing newline', () => {
    const response = listEnvs();
    assert.equal(response.status, 200);
    const body = response.body as string;
    assert.ok(!body.endsWith('\n'));
    const catalogue = JSON.parse(body) as Record<string, { limitation: string; sample: string; type: string }>;
    const keys = Object.keys(catalogue);
    assert.equal(keys.length, 33);
    assert.deepEqual(keys, [...keys].sort());
    assert.ok(body.includes('  "default_ttl": {\n    "limitation": ">= 0",\n    "sample": "86400",\n    "type": "unsigned int32"\n  },'));
    assert.deepEqual(catalogue['manual_compact.disabled'], { limitation: 'true | false', sample: 'true', type: 'bool' });
    assert.deepEqual(catalogue['rocksdb.usage_scenario'], { limitation: 'bulk_load | normal | prefer_write', sample: 'normal', type: 'string' });
    assert.deepEqual(catalogue['business.info'], { limitation: '', sample: '', type: 'string' });
    assert.deepEqual(catalogue['replica.slow_query_threshold'], { limitation: '>= 20', sample: '1000', type: 'unsigned int64' });
  });
});

describe('backup-meta redirect', () => {
  it('answers 307 to the leader with the decoded query, after the early parameter checks', async () => {
    const meta = await exampleMeta();
    const backup = depsFor(meta.state, { self: false, leader: 'h2:34601' });
    assert.deepEqual(getApp(request('meta/app', { name: 't1', detail: '' }), backup), {
      status: 307, body: '', location: 'http://h2:34601/meta/app?name=t1&detail=',
    });
    assert.deepEqual(getApp(request('meta/app', { bogus: '1' }), backup), { status: 400, body: '' });
    assert.deepEqual(getApps(request('meta/apps', { bogus: '1' }), backup), { status: 400, body: '' });
    assert.deepEqual(getNodes(request('meta/nodes'), backup), { status: 307, body: '', location: 'http://h2:34601/meta/nodes' });
    // Elsewhere the redirect comes first, even for a missing name.
    assert.deepEqual(getAppEnvs(request('meta/app_envs'), backup), { status: 307, body: '', location: 'http://h2:34601/meta/app_envs' });
    assert.deepEqual(getCluster(request('meta/cluster', { a: 'b c' }), backup), { status: 307, body: '', location: 'http://h2:34601/meta/cluster?a=b c' });
    // A control character cannot reach the Location header.
    assert.equal(getApp(request('meta/app', { name: 'a\r\nX-Evil: 1\u0000' }), backup).location, 'http://h2:34601/meta/app?name=aX-Evil: 1');
  });

  it('uses Pegasus\'s literal "invalid host_port" when the leader is unknown', async () => {
    const meta = await exampleMeta();
    const lost = depsFor(meta.state, { self: false, leader: undefined });
    assert.deepEqual(getCluster(request('meta/cluster'), lost), { status: 307, body: '', location: 'http://invalid host_port/meta/cluster' });
  });

  it('registers every call with its help text; /envs/list is never redirected', async () => {
    const meta = await exampleMeta();
    const router = new HttpRouter();
    registerMetaHttpCalls(router, depsFor(meta.state, { self: false, leader: 'h2:34601' }));
    assert.deepEqual(router.helpRows(), [
      ['/envs/list', 'List all available table environments.'],
      ['/meta/app', 'name=<app_name>[&detail]. Query app info.'],
      ['/meta/app/duplication', 'name=<app_name>. Query app duplication info.'],
      ['/meta/app/query_bulk_load', 'name=<app_name>. Query app bulk load info.'],
      ['/meta/app/start_bulk_load', 'A JSON format of start_bulk_load_request structure. Start bulk load on an app.'],
      ['/meta/app/start_compaction', 'A JSON format of manual_compaction_info structure. Start compaction for an app.'],
      ['/meta/app/usage_scenario', 'A JSON format of usage_scenario_info structure. Update usage scenario of an app.'],
      ['/meta/app_envs', 'name=<app_name>. Query app environments.'],
      ['/meta/apps', '[detail]. List all apps in the cluster.'],
      ['/meta/backup_policy', 'name=<app_name1>&name=<app_name2>. Query backup policy by policy names.'],
      ['/meta/cluster', 'Query the cluster info.'],
      ['/meta/nodes', '[detail]. Query the replica servers info.'],
    ]);
    const envs = await router.find('envs/list')!.handler(request('envs/list'));
    assert.equal(envs.status, 200);
    const cluster = await router.find('meta/cluster')!.handler(request('meta/cluster'));
    assert.equal(cluster.status, 307);
    // Cold backup is disabled by default, as in Pegasus: after the redirect, 404.
    const leading = new HttpRouter();
    registerMetaHttpCalls(leading, depsFor(meta.state, { self: true }));
    assert.deepEqual(await leading.find('meta/backup_policy')!.handler(request('meta/backup_policy')), { status: 404, body: 'cold_backup_disabled' });
  });
});

describe('/meta/app/duplication', () => {
  it('answers 404 with Pegasus\'s text while duplication is disabled, after the redirect', async () => {
    const meta = await exampleMeta();
    setFlagFromText('duplication_enabled', 'false', true);
    try {
      assert.deepEqual(getAppDuplication(request('meta/app/duplication', { name: 'test_meta_http' }), depsFor(meta.state)), {
        status: 404, body: 'duplication is not enabled [FLAGS_duplication_enabled=false]',
      });
      assert.equal(getAppDuplication(request('meta/app/duplication'), depsFor(meta.state, { self: false, leader: 'h2:34601' })).status, 307);
    } finally {
      setFlagFromText('duplication_enabled', 'true', true);
    }
    assert.deepEqual(getAppDuplication(request('meta/app/duplication', { name: 't1' }), depsFor(meta.state)), { status: 200, body: 'null' });
    assert.deepEqual(getAppDuplication(request('meta/app/duplication', { name: '' }), depsFor(meta.state)), { status: 404, body: 'ERR_APP_NOT_EXIST' });
  });
});

describe('over a real HTTP server', () => {
  it('serves the exact bodies as text/plain, and the 307 with its Location', async () => {
    const { createAdminHttpServer } = await import('../../src/net/index.ts');
    const meta = await exampleMeta();
    let leader: LeaderInfo = { self: true };
    const router = new HttpRouter();
    registerMetaHttpCalls(router, { ...depsFor(meta.state), leader: () => leader });
    const server = createAdminHttpServer(router);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      const app = await fetch(`http://127.0.0.1:${port}/meta/app?name=t1`);
      assert.equal(app.status, 200);
      assert.equal(app.headers.get('content-type'), 'text/plain');
      assert.equal(await app.text(), '{"general":{"app_name":"t1","app_id":"2","partition_count":"2","max_replica_count":"3"}}\n');
      const missing = await fetch(`http://127.0.0.1:${port}/meta/app?name=%6Eope`);
      assert.equal(missing.status, 404);
      assert.equal(await missing.text(), 'table not found: "nope"');
      leader = { self: false, leader: 'h2:34601' };
      const moved = await fetch(`http://127.0.0.1:${port}//meta//apps/?detail`, { redirect: 'manual' });
      assert.equal(moved.status, 307);
      assert.equal(moved.headers.get('location'), 'http://h2:34601/meta/apps?detail=');
      assert.equal(await moved.text(), '');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('/meta/app/start_compaction and /meta/app/usage_scenario', () => {
  const VALID = {
    app_name: 'test_bulk_load', type: 'once', target_level: -1, bottommost_level_compaction: 'skip', max_concurrent_running_count: 0, trigger_time: '',
  };
  const answer = (error: string, hint = '') => ({ status: 200, body: `{"error":"${error}","hint_message":"${hint}"}\n` });

  async function bulkLoadTable() {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 'test_bulk_load', partitionCount: 4, replicaCount: 3 });
    return { meta, deps: depsFor(meta.state), envs: () => meta.state.findApp('test_bulk_load')!.envs };
  }

  it('answers the spec\'s start_compaction vectors, and writes nothing for a refused request', async () => {
    const { meta, deps, envs } = await bulkLoadTable();
    const start = (body: string | object) => startCompaction(post('meta/app/start_compaction', body), deps);
    const refused: Array<[string | object, string]> = [
      [{ ...VALID, max_concurrent_running_count: '0' }, 'invalid request structure'],
      [{ ...VALID, target_level: 1.5 }, 'invalid request structure'],
      ['{"app_name":"test_bulk_load","type":"once","target_level":1.0}', 'invalid request structure'],
      ['not json', 'invalid request structure'],
      ['', 'invalid request structure'],
      ['[]', 'invalid request structure'],
      [{ ...VALID, target_level: 2147483648 }, 'invalid request structure'],
      [{ ...VALID, unknown: 1, type: undefined }, 'invalid request structure'],
      [{ ...VALID, app_name: '' }, 'app_name should not be empty'],
      [{ type: 'once' }, 'app_name should not be empty'],
      [{ ...VALID, type: 'wrong' }, "type should ony be 'once' or 'periodic'"],
      [{ ...VALID, target_level: -3 }, 'target_level should be >= -1'],
      [{ ...VALID, bottommost_level_compaction: 'wrong' }, "bottommost_level_compaction should ony be 'skip' or 'force'"],
      [{ ...VALID, max_concurrent_running_count: -2 }, 'max_running_count should be >= 0'],
      [{ ...VALID, type: 'periodic' }, 'trigger_time should not be empty when type is periodic'],
    ];
    for (const [body, message] of refused) assert.deepEqual(await start(body), { status: 400, body: message }, JSON.stringify(body));
    assert.deepEqual(envs(), {});

    // target_level 0 passes the call's check and fails the env validator's, inside a 200.
    assert.deepEqual(await start({ ...VALID, target_level: 0 }), answer('ERR_INVALID_PARAMETERS', "invalid value '0', should be '-1 or >= 1'"));
    assert.deepEqual(await start({ ...VALID, app_name: 'nope' }), answer('ERR_APP_NOT_EXIST', 'app cannot be found'));
    assert.deepEqual(await start({ ...VALID, app_name: 'nope', target_level: 0 }), answer('ERR_INVALID_PARAMETERS', "invalid value '0', should be '-1 or >= 1'"));
    assert.deepEqual(envs(), {});

    // once: trigger_time is the meta's clock, whatever the body says.
    assert.deepEqual(await start({ ...VALID, trigger_time: '12345' }), answer('ERR_OK'));
    assert.deepEqual(envs(), {
      'manual_compact.once.bottommost_level_compaction': 'skip',
      'manual_compact.once.target_level': '-1',
      'manual_compact.once.trigger_time': String(Math.floor(meta.now() / 1000)),
    });
    assert.deepEqual(await start({ ...VALID, type: 'periodic', target_level: 2, bottommost_level_compaction: 'force', max_concurrent_running_count: 3, trigger_time: '3:00,21:00' }), answer('ERR_OK'));
    assert.equal(envs()['manual_compact.periodic.trigger_time'], '3:00,21:00');
    assert.equal(envs()['manual_compact.periodic.target_level'], '2');
    assert.equal(envs()['manual_compact.periodic.bottommost_level_compaction'], 'force');
    assert.equal(envs()['manual_compact.max_concurrent_running_count'], '3');
    // A body without the integers is taken as 0 for both: 0 is not a valid target level.
    assert.deepEqual(await start({ app_name: 'test_bulk_load', type: 'once', bottommost_level_compaction: 'skip' }), answer('ERR_INVALID_PARAMETERS', "invalid value '0', should be '-1 or >= 1'"));
  });

  it('answers the spec\'s usage_scenario vectors', async () => {
    const { deps, envs } = await bulkLoadTable();
    const scenario = (body: string | object) => updateUsageScenario(post('meta/app/usage_scenario', body), deps);
    assert.deepEqual(await scenario({ app: 'test_bulk_load', scenario: 'normal' }), { status: 400, body: 'invalid request structure' });
    assert.deepEqual(await scenario({ app_name: 'test_bulk_load', scenario: 1 }), { status: 400, body: 'invalid request structure' });
    assert.deepEqual(await scenario({ scenario: 'normal' }), { status: 400, body: 'app_name should not be empty' });
    assert.deepEqual(await scenario({ app_name: 'test_bulk_load', scenario: 'wrong' }), { status: 400, body: "scenario should ony be 'normal' or 'bulk_load'" });
    assert.deepEqual(await scenario({ app_name: 'test_bulk_load', scenario: 'prefer_write' }), { status: 400, body: "scenario should ony be 'normal' or 'bulk_load'" });
    assert.deepEqual(await scenario({ app_name: 'test_bulk_load' }), { status: 400, body: "scenario should ony be 'normal' or 'bulk_load'" });
    assert.deepEqual(envs(), {});
    assert.deepEqual(await scenario({ app_name: 'nope', scenario: 'normal' }), answer('ERR_APP_NOT_EXIST', 'app cannot be found'));
    assert.deepEqual(await scenario({ app_name: 'test_bulk_load', scenario: 'bulk_load' }), answer('ERR_OK'));
    assert.deepEqual(envs(), { 'rocksdb.usage_scenario': 'bulk_load' });
    assert.deepEqual(await scenario({ app_name: 'test_bulk_load', scenario: 'normal', extra: [1] }), answer('ERR_OK'));
    assert.deepEqual(envs(), { 'rocksdb.usage_scenario': 'normal' });
  });

  it('a backup meta redirects before reading the body', async () => {
    const { meta, envs } = await bulkLoadTable();
    const backup = depsFor(meta.state, { self: false, leader: 'h2:34601' });
    const moved = { status: 307, body: '' };
    assert.deepEqual(await startCompaction(post('meta/app/start_compaction', 'not json'), backup), { ...moved, location: 'http://h2:34601/meta/app/start_compaction' });
    assert.deepEqual(await updateUsageScenario(post('meta/app/usage_scenario', { app_name: 'test_bulk_load', scenario: 'normal' }), backup), {
      ...moved, location: 'http://h2:34601/meta/app/usage_scenario',
    });
    assert.deepEqual(envs(), {});
  });

  it('answers a store that cannot be written with its error, and changes nothing', async () => {
    const { PteronError } = await import('../../src/base/index.ts');
    const { meta, deps, envs } = await bulkLoadTable();
    meta.store.set = async () => {
      throw new PteronError('ERR_TIMEOUT', 'the store did not answer');
    };
    assert.deepEqual(await updateUsageScenario(post('meta/app/usage_scenario', { app_name: 'test_bulk_load', scenario: 'normal' }), deps),
      answer('ERR_TIMEOUT', 'the store did not answer'));
    assert.deepEqual(envs(), {});
  });
});
