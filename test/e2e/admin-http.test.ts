// The admin HTTP API every Pteron server answers (spec pegasus-http §1–§4.7), checked byte for
// byte against real `meta` and `replica` processes, plus the thrift RPC sharing their port.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defineFlag, defineGroupValidator } from '../../src/config/index.ts';
import { createAdminHttpServer, HttpRouter, listen, RpcServer } from '../../src/net/index.ts';
import { createServer, type PteronServer } from '../../src/server/index.ts';
import { encodeRequestFrameV0, parseResponseFrame, type ResponseFrame } from '../../src/wire/index.ts';
import { freePort, PROJECT_ROOT, sleep, startPteron, waitFor, type RunningProcess } from '../helpers/process.ts';
import { RawConnection, rawRequest, requestBytes, type RawResponse } from '../helpers/raw-http.ts';

const CLUSTER = 'admin_http_test';
const BODY_LIMIT_DESCRIPTION = 'Requests whose body is larger than this are answered with 413 and not processed';
const RETIREMENT_DESCRIPTION = 'The retention interval (milliseconds) for an entity after it becomes stale';

/** Help texts of the calls every server role registers (spec §3). */
const COMMON_HELP: Record<string, string> = {
  '/': 'List all supported calls.',
  '/config':
    'name=<config_name>. Gets the details of a specified config. Only the configs which are registered by DSN_DEFINE_xxx macro can be queried.',
  '/configs': 'List all configs. Only the configs which are registered by DSN_DEFINE_xxx macro can be queried.',
  '/metrics':
    '[with_metric_fields=field1,field2,...][&types=type1,type2,...][&ids=id1,id2,...][&attributes=attr1,value1,attr2,value2,...][&metrics=metric1,metric2,...][&detail=true|false]Query the node metrics.',
  '/pprof/cmdline': "Query the process' cmdline.",
  '/pprof/growth': 'Query the stack traces that caused growth in the address space size.',
  '/pprof/heap':
    "[seconds=<heap_profile_seconds>]. Query a sample of live objects and the stack traces that allocated these objects (an environment variable TCMALLOC_SAMPLE_PARAMETER should set to a positive value, such as 524288), or the current heap profiling information if 'seconds' parameter is specified.",
  '/pprof/profile': "[seconds=<cpu_profile_seconds>]. Query the CPU profile. 'seconds' is 60 if not specified.",
  '/pprof/symbol':
    "[symbol_address]. Query the process' symbols. Return the symbol count of the process if using GET, return the symbol of the 'symbol_address' if using POST.",
  '/recentStartTime': 'Get the server start time.',
  '/updateConfig': '<key>=<new_value>. Update the config to the new value.',
  '/version': 'Get the server version.',
};

/** Help texts of role calls, checked whenever a role lists them. */
const ROLE_HELP: Record<string, string> = {
  '/envs/list': 'List all available table environments.',
  '/meta/app': 'name=<app_name>[&detail]. Query app info.',
  '/meta/app/duplication': 'name=<app_name>. Query app duplication info.',
  '/meta/app/query_bulk_load': 'name=<app_name>. Query app bulk load info.',
  '/meta/app/start_bulk_load': 'A JSON format of start_bulk_load_request structure. Start bulk load on an app.',
  '/meta/app/start_compaction': 'A JSON format of manual_compaction_info structure. Start compaction for an app.',
  '/meta/app/usage_scenario': 'A JSON format of usage_scenario_info structure. Update usage scenario of an app.',
  '/meta/app_envs': 'name=<app_name>. Query app environments.',
  '/meta/apps': '[detail]. List all apps in the cluster.',
  '/meta/backup_policy': 'name=<app_name1>&name=<app_name2>. Query backup policy by policy names.',
  '/meta/cluster': 'Query the cluster info.',
  '/meta/nodes': '[detail]. Query the replica servers info.',
  '/replica/data_version': 'app_id=<app_id>. Query the data version of an app.',
  '/replica/duplication': 'appid=<appid>. Query the duplication status of an app.',
  '/replica/manual_compaction': 'app_id=<app_id>. Query the manual compaction status of an app.',
};

let meta: RunningProcess;
let replica: RunningProcess;
let startedAtMs = 0;

let dataRoot = '';

before(async () => {
  startedAtMs = Date.now();
  dataRoot = await mkdtemp(path.join(os.tmpdir(), 'pteron-admin-http-'));
  const metaPort = await freePort();
  // The replica server's meta list names a port nobody listens on: it stays out of any cluster.
  const nowhere = await freePort();
  const args = (role: string, metaList: string): string[] => [
    '--set', `replication.cluster_name=${CLUSTER}`, '--set', `core.data_dir=${path.join(dataRoot, role)}`,
    '--set', `meta_server.server_list=${metaList}`,
  ];
  [meta, replica] = await Promise.all([
    startPteron('meta', { port: metaPort, args: args('meta', `127.0.0.1:${metaPort}`) }),
    startPteron('replica', { args: args('replica', `127.0.0.1:${nowhere}`) }),
  ]);
});

after(async () => {
  await Promise.all([meta?.stop(), replica?.stop()]);
  if (dataRoot !== '') await rm(dataRoot, { recursive: true, force: true });
});

const get = (port: number, target: string, options?: Parameters<typeof rawRequest>[2]): Promise<RawResponse> =>
  rawRequest(port, target, options);

function assertText(response: RawResponse, status: number, body: string): void {
  assert.equal(response.status, status, `status of ${JSON.stringify(response.text)}`);
  assert.equal(response.headers.get('content-type'), 'text/plain');
  assert.equal(response.text, body);
  assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(body)));
}

/** The TP form of a single-column table. */
function tpText(rows: Array<[string, string]>): string {
  return `{${rows.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')}}\n`;
}

function configText(name: string, section: string, type: string, mutable: boolean, description: string, value: string): string {
  return tpText([
    ['name', name], ['section', section], ['type', type], ['tags', mutable ? 'flag_tag::FT_MUTABLE' : ''],
    ['description', description], ['value', value],
  ]);
}

const updateText = (status: string): string => tpText([['update_status', status]]);

interface MetricsEntity {
  type: string;
  id: string;
  attributes: Record<string, string>;
  metrics: Array<Record<string, unknown>>;
}
interface MetricsBody {
  cluster: string;
  role: string;
  host: string;
  port: number;
  timestamp_ns: number;
  entities: MetricsEntity[];
}

async function metrics(port: number, query = ''): Promise<{ response: RawResponse; body: MetricsBody }> {
  const response = await get(port, `/metrics${query === '' ? '' : `?${query}`}`);
  assert.equal(response.status, 200, response.text);
  return { response, body: JSON.parse(response.text) as MetricsBody };
}

/** The value of one metric of the `server` entity. */
async function serverMetric(port: number, name: string): Promise<number> {
  const { body } = await metrics(port, `ids=server&metrics=${name}&with_metric_fields=value`);
  assert.equal(body.entities.length, 1, `server entity with ${name}`);
  return body.entities[0]!.metrics[0]!.value as number;
}

async function callRequests(port: number, path: string): Promise<number> {
  const { body } = await metrics(port, `ids=http_call@${path}&metrics=http_call_requests&with_metric_fields=value`);
  return body.entities.length === 0 ? 0 : (body.entities[0]!.metrics[0]!.value as number);
}

/** Numbers replaced by N: what is left is the layout, comparable with JSON.stringify's. */
const layoutOf = (text: string): string => text.replace(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g, 'N');

function metricsError(message: string): string {
  return `{\n    "error_message": ${JSON.stringify(message)}\n}`;
}

describe('GET / (help listing)', () => {
  for (const role of ['meta', 'replica'] as const) {
    it(`lists every call of ${role}, sorted, with its help text`, async () => {
      const server = role === 'meta' ? meta : replica;
      const response = await get(server.port, '/');
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/plain');
      assert.ok(response.text.endsWith('}\n'), 'TP bodies end with a newline');
      const listing = JSON.parse(response.text) as Record<string, string>;
      const keys = Object.keys(listing);
      const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(keys, sorted, 'keys in ascending byte order');
      for (const [path, help] of Object.entries(COMMON_HELP)) assert.equal(listing[path], help, `help of ${path}`);
      for (const [path, help] of Object.entries(listing)) {
        assert.ok(path.startsWith('/'), path);
        if (ROLE_HELP[path] !== undefined) assert.equal(help, ROLE_HELP[path], `help of ${path}`);
      }
      // Compact, every value a string: re-rendering in TP gives the same bytes.
      assert.equal(response.text, tpText(Object.entries(listing)));
      // Query args are ignored.
      assert.equal((await get(server.port, '/?detail=1')).text, response.text);
    });
  }
});

describe('GET /version and /recentStartTime', () => {
  it('answers the version and commit in TP', async () => {
    const manifest = JSON.parse(readFileSync(`${PROJECT_ROOT}package.json`, 'utf8')) as { version: string };
    for (const server of [meta, replica]) {
      const response = await get(server.port, '/version');
      assert.equal(response.status, 200);
      const match = /^\{"Version":"([^"]*)","GitCommit":"([^"]*)"\}\n$/.exec(response.text);
      assert.ok(match, response.text);
      assert.equal(match[1], `2.6.0-pteron-${manifest.version}`);
      assert.match(match[2]!, /^([0-9a-f]{40})?$/);
      let head = '';
      try {
        head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT }).toString().trim();
      } catch {
        // not a checkout
      }
      // Commits made while the test runs move HEAD on; the process reports its start's commit.
      if (head !== '') assert.match(match[2]!, /^[0-9a-f]{40}$/);
      assert.equal((await get(server.port, '/version?anything=1&x')).text, response.text);
    }
  });

  it('answers the start time in local time, to the second', async () => {
    for (const server of [meta, replica]) {
      const response = await get(server.port, '/recentStartTime');
      assert.equal(response.status, 200);
      const match = /^\{"RecentStartTime":"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)"\}\n$/.exec(response.text);
      assert.ok(match, response.text);
      const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
      const started = new Date(year!, month! - 1, day!, hour!, minute!, second!).getTime();
      assert.ok(started >= Math.floor(startedAtMs / 1000) * 1000 - 1000 && started <= Date.now(), `start ${match[0]}`);
    }
  });
});

describe('GET /config', () => {
  it('answers a mutable flag as the exact TP object', async () => {
    const response = await get(replica.port, '/config?name=max_request_body_bytes');
    assertText(response, 200, configText('max_request_body_bytes', 'http', 'FV_UINT64', true, BODY_LIMIT_DESCRIPTION, '1048576'));
  });

  it('answers an immutable flag with empty tags, and a value set on the command line', async () => {
    assertText(
      await get(meta.port, '/config?name=entity_retirement_delay_ms'),
      200,
      configText('entity_retirement_delay_ms', 'metrics', 'FV_UINT64', false, RETIREMENT_DESCRIPTION, '600000'),
    );
    const cluster = JSON.parse((await get(meta.port, '/config?name=cluster_name')).text) as Record<string, string>;
    assert.equal(cluster.value, CLUSTER);
    assert.equal(cluster.type, 'FV_STRING');
  });

  it('rejects a missing or empty name, and any other key', async () => {
    for (const target of ['/config', '/config?name', '/config?name=', '/config?name=%20']) {
      assertText(await get(replica.port, target), 400, "name shouldn't be empty");
    }
    for (const target of ['/config?other=1', '/config?name=max_request_body_bytes&x=1', '/config?x&name=cluster_name', '/config?=']) {
      assertText(await get(replica.port, target), 400, '');
    }
  });

  it('answers an unknown flag with 200 and a plain-text error', async () => {
    assertText(await get(replica.port, '/config?name=no_such_flag'), 200, "ERR_OBJECT_NOT_FOUND: 'no_such_flag' is not found");
    // `+` is not a space; the decoded bytes are echoed as they came (UTF-8 here).
    assertText(await get(replica.port, '/config?name=a+b'), 200, "ERR_OBJECT_NOT_FOUND: 'a+b' is not found");
    assertText(await get(replica.port, '/config?name=%E4%B8%AD'), 200, "ERR_OBJECT_NOT_FOUND: '中' is not found");
  });
});

describe('GET /configs', () => {
  it('rejects any argument with an empty 400', async () => {
    for (const target of ['/configs?x', '/configs?name=cluster_name', '/configs?=']) assertText(await get(meta.port, target), 400, '');
  });

  for (const role of ['meta', 'replica'] as const) {
    it(`lists every flag of ${role} in name order, each as /config shows it`, async () => {
      const server = role === 'meta' ? meta : replica;
      const response = await get(server.port, '/configs');
      assert.equal(response.status, 200);
      const all = JSON.parse(response.text) as Record<string, Record<string, string>>;
      const names = Object.keys(all);
      assert.deepEqual(names, [...names].sort());
      assert.ok(names.includes('max_request_body_bytes') && names.includes('cluster_name'));
      const members: string[] = [];
      for (const name of names) {
        const single = await get(server.port, `/config?name=${name}`);
        assert.equal(single.status, 200);
        members.push(`${JSON.stringify(name)}:${single.text.slice(0, -1)}`);
      }
      assert.equal(response.text, `{${members.join(',')}}\n`);
    });
  }
});

describe('GET /updateConfig', () => {
  it('reports each failure in the documented order, and applies a valid value', async () => {
    const port = replica.port;
    const check = async (target: string, status: string): Promise<void> => assertText(await get(port, target), 200, updateText(status));
    const current = async (): Promise<string> =>
      (JSON.parse((await get(port, '/config?name=max_request_body_bytes')).text) as { value: string }).value;

    await check('/updateConfig', 'ERR_INVALID_PARAMETERS: there should be exactly one config to be updated once');
    await check('/updateConfig?max_request_body_bytes=2048&cluster_name=x', 'ERR_INVALID_PARAMETERS: there should be exactly one config to be updated once');
    await check('/updateConfig?no_such_flag=1', 'ERR_OBJECT_NOT_FOUND: no_such_flag is not found');
    await check('/updateConfig?entity_retirement_delay_ms=5', 'ERR_INVALID_PARAMETERS: entity_retirement_delay_ms is not mutable');
    // Mutability is checked before the type: an immutable string flag is "not mutable".
    await check('/updateConfig?cluster_name=x', 'ERR_INVALID_PARAMETERS: cluster_name is not mutable');
    await check('/updateConfig?max_request_body_bytes=-1', 'ERR_INVALID_PARAMETERS: -1 is invalid');
    await check('/updateConfig?max_request_body_bytes=12abc', 'ERR_INVALID_PARAMETERS: 12abc is invalid');
    await check('/updateConfig?max_request_body_bytes=', 'ERR_INVALID_PARAMETERS:  is invalid');
    await check('/updateConfig?max_request_body_bytes', 'ERR_INVALID_PARAMETERS:  is invalid');
    await check('/updateConfig?max_request_body_bytes=1.5', 'ERR_INVALID_PARAMETERS: 1.5 is invalid');
    // The flag's validator wants at least 1024.
    await check('/updateConfig?max_request_body_bytes=100', 'ERR_INVALID_PARAMETERS: value validation failed');
    assert.equal(await current(), '1048576');

    await check('/updateConfig?max_request_body_bytes=0x200000', 'ERR_OK');
    assert.equal(await current(), '2097152');
    await check('/updateConfig?max_request_body_bytes=%20+4096', 'ERR_OK');
    assert.equal(await current(), '4096');
    // The new limit is in force at once.
    const tooLarge = await get(port, '/version', { method: 'POST', body: Buffer.alloc(4097) });
    assert.equal(tooLarge.status, 413);
    assert.equal((await get(port, '/version', { method: 'POST', body: Buffer.alloc(4096) })).status, 200);
    // POST works the same; octal as strtoull reads it.
    assertText(await get(port, '/updateConfig?max_request_body_bytes=04000000', { method: 'POST' }), 200, updateText('ERR_OK'));
    assert.equal(await current(), '1048576');
  });

  describe('branches the servers\' own flags cannot reach (an in-process server)', () => {
    const stringFlag = defineFlag({
      section: 'admin_test', name: 'admin_test_string', type: 'FV_STRING', default: 'abc', description: 'a mutable string', mutable: true,
    });
    const boundedFlag = defineFlag({
      section: 'admin_test', name: 'admin_test_bounded', type: 'FV_INT32', default: 10, description: 'checked by the group', mutable: true,
    });
    const doubleFlag = defineFlag({
      section: 'admin_test', name: 'admin_test_double', type: 'FV_DOUBLE', default: 5.12, description: 'a double', mutable: true,
      validator: (value) => value >= 0,
    });
    const boolFlag = defineFlag({
      section: 'admin_test', name: 'admin_test_bool', type: 'FV_BOOL', default: false, description: 'a bool', mutable: true,
    });
    defineGroupValidator('admin_test_at_most_100', () => boundedFlag.value <= 100 || 'admin_test_bounded must be at most 100');
    defineGroupValidator('admin_test_at_most_500', () => boundedFlag.value <= 500 || '');
    let server: PteronServer;
    let port = 0;

    before(async () => {
      server = createServer({ role: 'replica', port: 0 });
      port = await server.start();
    });
    after(async () => {
      await server.close();
    });

    it('refuses string flags, runs validators and group validators, and restores the old value', async () => {
      const check = async (target: string, status: string): Promise<void> =>
        assertText(await get(port, target), 200, updateText(status));
      await check('/updateConfig?admin_test_string=xyz', 'ERR_INVALID_PARAMETERS: string modifications are not supported');
      assert.equal(stringFlag.value, 'abc');
      await check(
        '/updateConfig?admin_test_bounded=101',
        'ERR_INVALID_PARAMETERS: group validator "admin_test_at_most_100" failed: "admin_test_bounded must be at most 100"',
      );
      await check(
        '/updateConfig?admin_test_bounded=1000',
        'ERR_INVALID_PARAMETERS: group validator "admin_test_at_most_100" failed: "admin_test_bounded must be at most 100"; ' +
          'group validator "admin_test_at_most_500" failed',
      );
      assert.equal(boundedFlag.value, 10);
      await check('/updateConfig?admin_test_bounded=2147483648', 'ERR_INVALID_PARAMETERS: 2147483648 is invalid');
      await check('/updateConfig?admin_test_bounded=-0x10', 'ERR_OK');
      assert.equal(boundedFlag.value, -16);
      await check('/updateConfig?admin_test_bounded=010', 'ERR_OK');
      assert.equal(boundedFlag.value, 8);

      await check('/updateConfig?admin_test_double=-1', 'ERR_INVALID_PARAMETERS: value validation failed');
      await check('/updateConfig?admin_test_double=inf', 'ERR_INVALID_PARAMETERS: inf is invalid');
      await check('/updateConfig?admin_test_double=0.001', 'ERR_OK');
      assert.equal(doubleFlag.value, 0.001);
      assertText(
        await get(port, '/config?name=admin_test_double'),
        200,
        configText('admin_test_double', 'admin_test', 'FV_DOUBLE', true, 'a double', '0.00'),
      );
      await check('/updateConfig?admin_test_double=5.125', 'ERR_OK');
      assert.equal((JSON.parse((await get(port, '/config?name=admin_test_double')).text) as { value: string }).value, '5.12');

      await check('/updateConfig?admin_test_bool=yes', 'ERR_INVALID_PARAMETERS: yes is invalid');
      await check('/updateConfig?admin_test_bool=TRUE', 'ERR_OK');
      assert.equal(boolFlag.value, true);
      assert.equal((JSON.parse((await get(port, '/config?name=admin_test_bool')).text) as { value: string }).value, 'true');
    });
  });
});

describe('GET /metrics', () => {
  it('answers the PJ layout: header keys in order, 4-space indent, no trailing newline', async () => {
    const before = BigInt(Date.now()) * 1000000n;
    const { response, body } = await metrics(replica.port);
    const afterNs = BigInt(Date.now()) * 1000000n;
    assert.equal(response.headers.get('content-type'), 'text/plain');
    assert.deepEqual(Object.keys(body), ['cluster', 'role', 'host', 'port', 'timestamp_ns', 'entities']);
    const prefix = `{\n    "cluster": "${CLUSTER}",\n    "role": "replica",\n    "host": ${JSON.stringify(os.hostname())},\n    "port": ${replica.port},\n    "timestamp_ns": `;
    assert.ok(response.text.startsWith(prefix), response.text.slice(0, 200));
    assert.ok(response.text.endsWith('\n    ]\n}'), 'no trailing newline');
    assert.equal(layoutOf(response.text), layoutOf(JSON.stringify(body, null, 4)));
    const timestamp = BigInt(/"timestamp_ns": (\d+),/.exec(response.text)![1]!);
    assert.ok(timestamp >= before - 1000000n && timestamp <= afterNs + 1000000n, `timestamp ${timestamp}`);
    for (const entity of body.entities) {
      assert.deepEqual(Object.keys(entity), ['type', 'id', 'attributes', 'metrics']);
      assert.ok(entity.metrics.length > 0);
      for (const metric of entity.metrics) {
        const keys = Object.keys(metric);
        assert.ok(
          JSON.stringify(keys) === '["name","value"]' || JSON.stringify(keys) === '["name","p50","p90","p95","p99","p999"]',
          `brief fields: ${keys.join(',')}`,
        );
      }
    }
    const fromMeta = await metrics(meta.port, 'types=server');
    assert.equal(fromMeta.body.role, 'meta');
    assert.equal(fromMeta.body.port, meta.port);
    assert.equal(fromMeta.body.cluster, CLUSTER);
  });

  it('timestamps never go backwards', async () => {
    let previous = 0n;
    for (let index = 0; index < 20; index++) {
      const response = await get(replica.port, '/metrics?ids=server&metrics=http_requests');
      const timestamp = BigInt(/"timestamp_ns": (\d+),/.exec(response.text)![1]!);
      assert.ok(timestamp > previous, `${timestamp} after ${previous}`);
      previous = timestamp;
    }
  });

  it('selects fields with detail and with_metric_fields', async () => {
    const port = replica.port;
    const detail = await metrics(port, 'types=server&detail=true');
    for (const metric of detail.body.entities[0]!.metrics) {
      const keys = Object.keys(metric);
      if (metric.type === 'Percentile') assert.deepEqual(keys, ['type', 'name', 'unit', 'desc', 'p50', 'p90', 'p95', 'p99', 'p999']);
      else assert.deepEqual(keys, ['type', 'name', 'unit', 'desc', 'value']);
      assert.ok(['Gauge', 'Counter', 'VolatileCounter', 'Percentile'].includes(metric.type as string));
    }
    const detailUpper = await metrics(port, 'types=server&detail=TRUE');
    assert.deepEqual(detailUpper.body.entities[0]!.metrics.map((metric) => Object.keys(metric)), detail.body.entities[0]!.metrics.map((metric) => Object.keys(metric)));
    const brief = await metrics(port, 'types=server&detail=false');
    for (const metric of brief.body.entities[0]!.metrics) assert.ok(!('type' in metric) && 'name' in metric);

    const names = await metrics(port, 'types=server&with_metric_fields=name');
    for (const metric of names.body.entities[0]!.metrics) assert.deepEqual(Object.keys(metric), ['name']);
    // with_metric_fields wins over detail.
    const nameDesc = await metrics(port, 'types=server&with_metric_fields=name,desc&detail=true');
    for (const metric of nameDesc.body.entities[0]!.metrics) assert.deepEqual(Object.keys(metric), ['name', 'desc']);
    // An empty list means every field.
    const everything = await metrics(port, 'types=server&with_metric_fields=');
    assert.deepEqual(everything.body.entities[0]!.metrics.map((metric) => Object.keys(metric)), detail.body.entities[0]!.metrics.map((metric) => Object.keys(metric)));
    // Fields that exist nowhere leave empty objects, and the entity stays.
    const none = await metrics(port, 'ids=server&metrics=http_requests&with_metric_fields=nothing');
    assert.deepEqual(none.body.entities[0]!.metrics, [{}]);
    assert.ok(none.response.text.includes('"metrics": [\n                {}\n            ]'), none.response.text);
  });

  it('filters by types, ids, attributes (OR) and metrics, ANDed together', async () => {
    const port = replica.port;
    await get(port, '/version');
    await get(port, '/config?name=cluster_name');
    const all = await metrics(port);
    const types = new Set(all.body.entities.map((entity) => entity.type));
    assert.ok(types.has('server') && types.has('http_call'), [...types].join(','));

    const servers = await metrics(port, 'types=server');
    assert.deepEqual(servers.body.entities.map((entity) => entity.id), ['server']);
    assert.deepEqual((await metrics(port, 'types=no_such_type,server')).body.entities.map((entity) => entity.id), ['server']);
    const nothing = await metrics(port, 'types=no_such_type');
    assert.deepEqual(nothing.body.entities, []);
    assert.ok(nothing.response.text.endsWith('"entities": []\n}'), nothing.response.text);
    assert.equal((await metrics(port, 'types=')).body.entities.length, all.body.entities.length);

    const byId = await metrics(port, 'ids=http_call@/version,server');
    assert.deepEqual(byId.body.entities.map((entity) => entity.id).sort(), ['http_call@/version', 'server']);
    const version = byId.body.entities.find((entity) => entity.id === 'http_call@/version')!;
    assert.deepEqual(version.attributes, { path: '/version' });
    assert.deepEqual(servers.body.entities[0]!.attributes, {});
    assert.ok(servers.response.text.includes('"attributes": {},'));

    const either = await metrics(port, 'attributes=path,/version,path,/config');
    assert.deepEqual(either.body.entities.map((entity) => entity.id).sort(), ['http_call@/config', 'http_call@/version']);
    assert.deepEqual((await metrics(port, 'attributes=path,/nowhere')).body.entities, []);

    const onlyRequests = await metrics(port, 'metrics=http_requests,http_call_requests');
    for (const entity of onlyRequests.body.entities) {
      assert.ok(entity.metrics.length === 1 && ['http_requests', 'http_call_requests'].includes(entity.metrics[0]!.name as string));
    }
    assert.deepEqual((await metrics(port, 'metrics=no_such_metric')).body.entities, []);

    const anded = await metrics(port, 'types=http_call,server&attributes=path,/version&metrics=http_call_requests&with_metric_fields=name,value');
    assert.equal(anded.body.entities.length, 1);
    assert.equal(anded.body.entities[0]!.id, 'http_call@/version');
    assert.deepEqual(Object.keys(anded.body.entities[0]!.metrics[0]!), ['name', 'value']);
    assert.deepEqual((await metrics(port, 'types=server&attributes=path,/version')).body.entities, []);
  });

  it('rejects bad queries and non-GET methods with a PJ error object', async () => {
    const port = replica.port;
    const cases: Array<[string, string]> = [
      ['/metrics?foo=bar', 'unknown field foo=bar'],
      ['/metrics?types=server&x', 'unknown field x='],
      ['/metrics?attributes=path', 'the number of arguments for attributes should be even, since each attribute name always pairs with a value'],
      ['/metrics?attributes=path,/version,table', 'the number of arguments for attributes should be even, since each attribute name always pairs with a value'],
      ['/metrics?detail', 'the value of detail should be a boolean value, i.e. true or false'],
      ['/metrics?detail=', 'the value of detail should be a boolean value, i.e. true or false'],
      ['/metrics?detail=yes', 'the value of detail should be a boolean value, i.e. true or false'],
    ];
    for (const [target, message] of cases) assertText(await get(port, target), 400, metricsError(message));
    // The method is checked before anything else.
    const posted = metricsError("please use 'GET' method while querying for metrics");
    assertText(await get(port, '/metrics', { method: 'POST' }), 400, posted);
    assertText(await get(port, '/metrics?foo=bar', { method: 'POST', body: 'x' }), 400, posted);
  });

  it('serves Prometheus text on ?format=prometheus or the 0.0.4 Accept header', async () => {
    const port = replica.port;
    const viaQuery = await get(port, '/metrics?format=prometheus');
    assert.equal(viaQuery.status, 200);
    assert.match(viaQuery.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(viaQuery.text);
    const requests = families.get('pteron_server_http_requests_total');
    assert.ok(requests, [...families.keys()].join(','));
    assert.equal(requests.type, 'counter');
    assert.equal(requests.help, 'The number of HTTP requests received, whatever their outcome');
    const sample = requests.samples[0]!;
    assert.deepEqual(sample.labels, { cluster: CLUSTER, role: 'replica' });
    assert.ok(sample.value > 0);
    const latency = families.get('pteron_http_call_latency_seconds');
    assert.ok(latency);
    assert.equal(latency.type, 'histogram');
    assert.ok(latency.samples.some((entry) => entry.name.endsWith('_bucket') && entry.labels.le === '+Inf' && entry.labels.path === '/version'));
    // The standard process and Node.js metrics, with the same labels.
    assert.equal(families.get('process_cpu_user_seconds_total')?.samples[0]?.labels.role, 'replica');
    assert.ok(families.has('nodejs_eventloop_lag_seconds'));
    // What Prometheus leaves to those: no MB, percent or since-the-previous-read values of Pteron's own.
    assert.ok(![...families.keys()].some((name) => /cpu_usage|_mb|percent/.test(name)), [...families.keys()].join(','));

    const viaAccept = await get(port, '/metrics?types=http_call', { headers: { Accept: 'text/plain;version=0.0.4' } });
    assert.equal(viaAccept.status, 200);
    const httpFamilies = parsePrometheus(viaAccept.text);
    assert.ok(httpFamilies.size > 0);
    // A query that picks Pteron's metrics leaves out the standard ones.
    for (const name of httpFamilies.keys()) assert.ok(name.startsWith('pteron_http_call_'), name);
    assert.equal(parsePrometheus((await get(port, '/metrics?format=prometheus&types=nothing')).text).size, 0);
    assertText(await get(port, '/metrics?format=prometheus&bad=1'), 400, metricsError('unknown field bad=1'));
  });

  it('counts HTTP calls per path and reports runtime metrics on the server entity', async () => {
    const port = replica.port;
    const versionBefore = await callRequests(port, '/version');
    const requestsBefore = await serverMetric(port, 'http_requests');
    for (let index = 0; index < 3; index++) await get(port, '/version');
    await get(port, '/version', { method: 'POST' });
    assert.equal(await callRequests(port, '/version'), versionBefore + 4);
    // 4 calls of /version and the /metrics query of callRequests, then this read itself.
    assert.ok((await serverMetric(port, 'http_requests')) >= requestsBefore + 6);

    const calls = await metrics(port, 'types=http_call&detail=true');
    const version = calls.body.entities.find((entity) => entity.id === 'http_call@/version')!;
    assert.deepEqual(version.metrics.map((metric) => [metric.name, metric.type, metric.unit]), [
      ['http_call_requests', 'Counter', 'Requests'],
      ['http_call_latency_ns', 'Percentile', 'NanoSeconds'],
    ]);

    const badBefore = await serverMetric(port, 'http_bad_requests');
    await get(port, '/no/such/path');
    await get(port, '/config?name=%G0');
    assert.equal(await serverMetric(port, 'http_bad_requests'), badBefore + 2);

    const server = await metrics(port, 'types=server&detail=true');
    const byName = new Map(server.body.entities[0]!.metrics.map((metric) => [metric.name as string, metric]));
    for (const name of [
      'http_requests', 'http_bad_requests', 'network_server_sessions', 'network_rejected_connections', 'virtual_mem_usage_mb',
      'resident_mem_usage_mb', 'heap_used_bytes', 'heap_total_bytes', 'external_mem_bytes', 'cpu_usage_percent', 'cpu_time_ms',
      'event_loop_lag_mean_ns', 'event_loop_lag_max_ns', 'event_loop_lag_p99_ns', 'gc_collections', 'gc_pause_ns', 'gc_pause_total_ms',
    ]) {
      assert.ok(byName.has(name), `server metric ${name}`);
    }
    assert.ok((byName.get('resident_mem_usage_mb')!.value as number) > 0);
    assert.ok((byName.get('heap_used_bytes')!.value as number) > 0);
    assert.ok((byName.get('network_server_sessions')!.value as number) >= 1);
    assert.ok((byName.get('event_loop_lag_max_ns')!.value as number) >= 0);
    assert.equal(byName.get('cpu_usage_percent')!.type, 'Gauge');
    assert.match(JSON.stringify(byName.get('gc_pause_ns')), /"p99"/);
  });

  it('advances cpu_time_ms and gc_collections when only they are read', async () => {
    const port = replica.port;
    const cpuBefore = await serverMetric(port, 'cpu_time_ms');
    const connection = await RawConnection.open(port);
    let gcCollections = await serverMetric(port, 'gc_collections');
    try {
      for (let round = 0; round < 20 && (gcCollections === 0 || round < 2); round++) {
        const batch = 100;
        // Nothing here reads the server entity in full, so no other gauge's sampler moves these two on.
        for (let index = 0; index < batch; index++) connection.write(requestBytes('/metrics?types=http_call&detail=true'));
        for (let index = 0; index < batch; index++) assert.equal((await connection.response()).status, 200);
        gcCollections = await serverMetric(port, 'gc_collections');
      }
    } finally {
      connection.close();
    }
    assert.ok(gcCollections > 0, 'garbage collections observed');
    await waitFor('cpu_time_ms to advance', async () => (await serverMetric(port, 'cpu_time_ms')) > cpuBefore, 20_000, 200);
  });
});

/** Parses Prometheus text format 0.0.4 strictly enough to catch malformed output. */
function parsePrometheus(text: string): Map<string, { help: string; type: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }> {
  const families = new Map<string, { help: string; type: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }>();
  if (text === '') return families;
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  let current: string | undefined;
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  for (const line of text.slice(0, -1).split('\n')) {
    let match: RegExpExecArray | null;
    if ((match = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      assert.ok(!families.has(match[1]!), `family ${match[1]} once`);
      families.set(match[1]!, { help: match[2]!, type: '', samples: [] });
      current = match[1];
    } else if ((match = new RegExp(`^# TYPE (${NAME}) (counter|gauge|summary|histogram|untyped)$`).exec(line))) {
      assert.equal(match[1], current, `TYPE right after HELP: ${line}`);
      const family = families.get(current!)!;
      assert.equal(family.samples.length, 0);
      family.type = match[2]!;
    } else {
      match = new RegExp(`^(${NAME})\\{(.*)\\} (\\S+)$`).exec(line);
      assert.ok(match, `sample line: ${line}`);
      const family = families.get(current!);
      assert.ok(family && family.type !== '', `sample after HELP and TYPE: ${line}`);
      const name = match[1]!;
      const histogramSample = family.type === 'histogram' && [`${current}_bucket`, `${current}_count`, `${current}_sum`].includes(name);
      const summarySample = family.type === 'summary' && [`${current}_count`, `${current}_sum`].includes(name);
      assert.ok(name === current || histogramSample || summarySample, line);
      const labels: Record<string, string> = {};
      const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      const labelText = match[2]!;
      let offset = 0;
      while (offset < labelText.length) {
        labelPattern.lastIndex = offset;
        const label = labelPattern.exec(labelText);
        assert.ok(label, `labels: ${labelText}`);
        assert.ok(!(label[1]! in labels), `label ${label[1]} once`);
        labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
        offset = labelPattern.lastIndex;
      }
      const value = ['+Inf', '-Inf', 'NaN'].includes(match[3]!) ? 0 : Number(match[3]);
      assert.ok(Number.isFinite(value), `value ${match[3]}`);
      family.samples.push({ name, labels, value });
    }
  }
  return families;
}

describe('request parsing and routing', () => {
  it('answers bad percent escapes and duplicate keys before any handler', async () => {
    const port = replica.port;
    const prefix = 'failed to parse request: ERR_INVALID_PARAMETERS: ';
    const hex = (rest: string): string => `${prefix}The characters ${rest} do not form a hex value. Please escape it or pass a valid hex value`;
    assertText(await get(port, '/config?name=%G0'), 400, hex('G0'));
    assertText(await get(port, '/config?name=%G0xyz'), 400, hex('G0xyz'));
    assertText(await get(port, '/ver%zzsion'), 400, hex('zzsion'));
    assertText(await get(port, '/config?name=ab%'), 400, `${prefix}Encountered partial escape sequence at end of string`);
    assertText(await get(port, '/config?name=ab%4'), 400, `${prefix}Encountered partial escape sequence at end of string`);
    assertText(await get(port, '/no/such/call?x=%'), 400, `${prefix}Encountered partial escape sequence at end of string`);
    assertText(await get(port, '/config?name=a&name=b'), 400, `${prefix}duplicate parameter: name`);
    assertText(await get(port, '/config?name&name=b'), 400, `${prefix}duplicate parameter: name`);
    // %26 and %3D are real separators once decoded.
    assertText(await get(port, '/config?name=a%26name%3Db'), 400, `${prefix}duplicate parameter: name`);
    // A bare repeat after key=value is ignored.
    assertText(await get(port, '/config?name=cluster_x&name'), 200, "ERR_OBJECT_NOT_FOUND: 'cluster_x' is not found");
  });

  it('normalises paths and answers 404 for unknown ones', async () => {
    const port = replica.port;
    const version = (await get(port, '/version')).text;
    for (const target of ['//version/', '/version/', '///version', '/%76ersion', '/%20version%09/', `http://127.0.0.1:${port}/version`]) {
      const response = await get(port, target);
      assert.equal(response.status, 200, target);
      assert.equal(response.text, version, target);
    }
    assert.equal((await get(port, '///')).text, (await get(port, '/')).text);
    assertText(await get(port, '/nope/x/'), 404, 'service not found for "nope/x"');
    assertText(await get(port, '//pprof///nothing/'), 404, 'service not found for "pprof/nothing"');
    assertText(await get(port, '/Version'), 404, 'service not found for "Version"');
    assertText(await get(port, '/version/extra'), 404, 'service not found for "version/extra"');
    assert.equal((await get(port, '/nope')).statusLine, 'HTTP/1.1 404 Not Found');
    assert.equal((await get(port, '/config')).statusLine, 'HTTP/1.1 400 Bad Request');
    assert.equal((await get(port, '/version')).statusLine, 'HTTP/1.1 200 OK');
  });

  it('answers 413 past the 1 MiB body limit and closes the connection', async () => {
    const port = replica.port;
    assert.equal((await get(port, '/version', { method: 'POST', body: Buffer.alloc(1048576, 0x61) })).status, 200);
    for (const headers of [{}, { 'Transfer-Encoding': 'chunked' }] as Array<Record<string, string>>) {
      const connection = await RawConnection.open(port);
      const body = Buffer.alloc(1048577, 0x61);
      const payload = headers['Transfer-Encoding'] ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : body;
      connection.write(requestBytes('/version', { method: 'POST', headers, body: payload }));
      const response = await connection.response();
      assertText(response, 413, 'request body exceeds the limit of 1048576 bytes');
      assert.ok(await connection.waitClosed(), 'connection closed after 413');
    }
    assert.equal((await get(port, '/version')).status, 200);
  });

  it('answers 405 for methods other than GET and POST', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await get(replica.port, '/version', { method });
      assert.equal(response.status, 405, method);
      assert.equal(response.statusLine, 'HTTP/1.1 405 Method Not Allowed');
      assert.equal(response.headers.get('allow'), 'GET, POST');
      assert.equal(response.text, `method ${method} is not supported by /version; use GET or POST`);
    }
    assert.equal((await get(replica.port, '/version', { method: 'HEAD' })).status, 405);
  });

  it('answers GET and POST alike, always as text/plain', async () => {
    for (const target of ['/', '/version', '/config?name=cluster_name', '/configs', '/config', '/nope', '/updateConfig?x=1']) {
      const viaGet = await get(meta.port, target);
      const viaPost = await get(meta.port, target, { method: 'POST', body: '{"ignored":true}' });
      assert.equal(viaPost.status, viaGet.status, target);
      assert.equal(viaPost.text, viaGet.text, target);
      assert.equal(viaGet.headers.get('content-type'), 'text/plain');
      assert.equal(viaPost.headers.get('content-type'), 'text/plain');
    }
  });

  it('accepts HTTP/1.1 requests without a Host header, and HTTP/1.0', async () => {
    const version = (await get(replica.port, '/version')).text;
    for (const request of ['GET /version HTTP/1.1\r\n\r\n', 'GET /version HTTP/1.0\r\n\r\n']) {
      const connection = await RawConnection.open(replica.port);
      connection.write(request);
      const response = await connection.response();
      connection.close();
      assert.equal(response.status, 200, request);
      assert.equal(response.text, version);
    }
  });

  it('serves several requests on one keep-alive connection, one by one and pipelined', async () => {
    const connection = await RawConnection.open(replica.port);
    try {
      const targets = ['/version', '/config?name=cluster_name', '/nope', '/metrics?types=server&metrics=http_requests', '/'];
      const expected = [200, 200, 404, 200, 200];
      for (const [index, target] of targets.entries()) {
        connection.write(requestBytes(target));
        const response = await connection.response();
        assert.equal(response.status, expected[index], target);
        if (!target.startsWith('/metrics')) assert.equal(response.text, (await get(replica.port, target)).text, target);
      }
      connection.write(Buffer.concat(targets.map((target) => requestBytes(target))));
      const statuses: number[] = [];
      for (let index = 0; index < targets.length; index++) statuses.push((await connection.response()).status);
      assert.deepEqual(statuses, expected);
      assert.equal(connection.closed, false);
      assert.equal(connection.pending.length, 0);
    } finally {
      connection.close();
    }
  });
});

describe('the shared port', () => {
  async function rpcResponses(port: number, frames: Buffer, count: number): Promise<ResponseFrame[]> {
    const connection = await RawConnection.open(port);
    try {
      connection.write(frames);
      const responses: ResponseFrame[] = [];
      await waitFor('rpc responses', () => {
        for (;;) {
          const parsed = parseResponseFrame(connection.pending, 1 << 20);
          if (!parsed) break;
          responses.push(parsed.frame);
          connection.consume(parsed.bytes);
        }
        return responses.length >= count;
      }, 5000, 10);
      return responses;
    } finally {
      connection.close();
    }
  }

  it('answers an RPC with an unknown name with ERR_HANDLER_NOT_FOUND', async () => {
    const emptyArgs = Buffer.from([0]);
    for (const server of [meta, replica]) {
      const frames = Buffer.concat([
        encodeRequestFrameV0('RPC_PTERON_NO_SUCH_CALL', 4242, emptyArgs),
        // A one-way request gets no answer, whatever its name.
        encodeRequestFrameV0('RPC_PTERON_NO_SUCH_ONEWAY', 7, emptyArgs, { oneway: true }),
        encodeRequestFrameV0('RPC_PTERON_OTHER', -5, emptyArgs, { appId: 3, partitionIndex: 1 }),
      ]);
      const responses = await rpcResponses(server.port, frames, 2);
      assert.deepEqual(
        responses.map((frame) => ({ ...frame, result: frame.result.length })),
        [
          { error: 'ERR_HANDLER_NOT_FOUND', name: 'RPC_PTERON_NO_SUCH_CALL_ACK', seqid: 4242, result: 0 },
          { error: 'ERR_HANDLER_NOT_FOUND', name: 'RPC_PTERON_OTHER_ACK', seqid: -5, result: 0 },
        ],
      );
    }
  });

  it('stops reading from an RPC client that does not read its responses, and catches up once it does', async () => {
    const port = replica.port;
    const rssBeforeMb = await serverMetric(port, 'resident_mem_usage_mb');
    const frame = encodeRequestFrameV0('RPC_PTERON_NOT_READ', 1, Buffer.from([0]));
    const framesPerBatch = 10000;
    const batches = 40;
    const batch = Buffer.concat(Array.from({ length: framesPerBatch }, () => frame));
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.pause();
    await new Promise((resolve) => socket.once('connect', resolve));
    try {
      for (let index = 0; index < batches; index++) socket.write(batch);
      await sleep(1500);
      // The server stopped reading: most of the requests still wait on this side.
      assert.ok(socket.writableLength > batch.length * batches * 0.5, `client still holds ${socket.writableLength} bytes`);
      assert.ok((await serverMetric(port, 'resident_mem_usage_mb')) < rssBeforeMb + 100, 'server memory stays flat');
      let received = 0;
      let responseBytes = 0;
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.resume();
      const oneResponse = 4 + 4 + 'ERR_HANDLER_NOT_FOUND'.length + 4 + 4 + 'RPC_PTERON_NOT_READ_ACK'.length + 4;
      responseBytes = oneResponse * framesPerBatch * batches;
      await waitFor('every response', () => received >= responseBytes, 60_000, 50);
      assert.equal(received, responseBytes);
    } finally {
      socket.destroy();
    }
  });

  it('closes a connection that starts with neither THFT nor an HTTP method, and counts it', async () => {
    const port = replica.port;
    const before = await serverMetric(port, 'network_rejected_connections');
    for (const garbage of [Buffer.from([0, 1, 2, 3, 4, 5]), Buffer.from('get / HTTP/1.1\r\n\r\n'), Buffer.from('THF'), Buffer.from('\r\n\r\nGET / HTTP/1.1\r\n\r\n')]) {
      const connection = await RawConnection.open(port);
      connection.write(garbage);
      if (garbage.length >= 4) {
        assert.ok(await connection.waitClosed(), `closed after ${JSON.stringify(garbage.toString('latin1'))}`);
        assert.equal(connection.pending.length, 0, 'nothing is sent back');
      } else {
        // Fewer than four bytes: the server waits for more.
        assert.equal(await connection.waitClosed(300), false);
        connection.close();
      }
    }
    // Sent in pieces, the first bytes still decide.
    const pieces = await RawConnection.open(port);
    pieces.write('GE');
    await sleep(50);
    pieces.write('T /version HTTP/1.1\r\n\r\n');
    assert.equal((await pieces.response()).status, 200);
    pieces.close();
    assert.equal(await serverMetric(port, 'network_rejected_connections'), before + 3);
  });
});

describe('stalled HTTP requests (an in-process listener)', () => {
  it('closes a request whose headers never complete once the headers timeout passes', async () => {
    const router = new HttpRouter();
    router.register({ path: 'version', description: 'v', handler: () => ({ status: 200, body: 'v' }) });
    const httpServer: http.Server = createAdminHttpServer(router);
    httpServer.headersTimeout = 300;
    httpServer.requestTimeout = 600;
    (httpServer as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval = 50;
    const listener = await listen({ host: '127.0.0.1', port: 0, http: httpServer, rpc: new RpcServer() });
    try {
      const connection = await RawConnection.open(listener.port);
      connection.write('GET /version HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      assert.ok(await connection.waitClosed(20_000), 'stalled request closed');
      assert.match(connection.pending.toString('latin1'), /^HTTP\/1\.1 40[08] /);
      const healthy = await RawConnection.open(listener.port);
      healthy.write(requestBytes('/version'));
      assert.equal((await healthy.response()).text, 'v');
      healthy.close();
    } finally {
      await listener.close();
    }
  });

  it('lets go of a connection it closes after a malformed request, even one it had stopped reading', async () => {
    const router = new HttpRouter();
    router.register({ path: 'small', description: 's', handler: () => ({ status: 200, body: 's' }) });
    router.register({ path: 'big', description: 'b', handler: () => ({ status: 200, body: 'b'.repeat(64 * 1024) }) });
    const listener = await listen({ host: '127.0.0.1', port: 0, http: createAdminHttpServer(router), rpc: new RpcServer() });
    const connections = (): Promise<number> =>
      new Promise((resolve, reject) => listener.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    try {
      const connection = await RawConnection.open(listener.port);
      // The second answer waits behind the first, and is past the write high-water mark: node
      // stops reading the connection when the third request comes in. Then a malformed request.
      const requests = [requestBytes('/small'), requestBytes('/big'), requestBytes('/small'), Buffer.from('BAD\r\n\r\n')];
      connection.write(Buffer.concat(requests));
      assert.ok(await connection.waitClosed(), 'connection closed after the malformed request');
      assert.match(connection.pending.toString('latin1'), /HTTP\/1\.1 400 Bad Request\r\n[^]*bad HTTP request: HPE_INVALID_METHOD$/);
      await waitFor('the server to let go of the connection', async () => (await connections()) === 0, 15_000, 20);
    } finally {
      await listener.close();
    }
  });
});
