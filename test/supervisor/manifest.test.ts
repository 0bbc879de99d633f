// The supervisor's manifest: defaults, the repository's own manifests, placeholders, start
// order, and errors that name the file, line and key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadManifest, ManifestError, parseManifest, type Manifest } from '../../src/supervisor/manifest.ts';
import { formatDuration, parseDuration, parseRate, parseSize } from '../../src/supervisor/units.ts';
import { PROJECT_ROOT } from '../helpers/process.ts';

const FILE = '/srv/cluster/pteron.yml';

function parse(text: string): Manifest {
  return parseManifest(text, FILE, { env: {} });
}

function parseError(text: string): string {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof ManifestError, `expected a ManifestError, got ${(error as Error).stack}`);
    return error.message;
  }
  assert.fail('the manifest was accepted');
}

describe('units', () => {
  test('durations', () => {
    assert.deepEqual(parseDuration('500ms'), { ok: true, value: 500 });
    assert.deepEqual(parseDuration('10s'), { ok: true, value: 10000 });
    assert.deepEqual(parseDuration('1m30s'), { ok: true, value: 90000 });
    assert.deepEqual(parseDuration('1.5s'), { ok: true, value: 1500 });
    assert.deepEqual(parseDuration('2h'), { ok: true, value: 7200000 });
    assert.deepEqual(parseDuration('0'), { ok: true, value: 0 });
    for (const bad of ['10', '', 's', '10 s', '5d', '-1s']) assert.equal(parseDuration(bad).ok, false, bad);
  });

  test('sizes and rates', () => {
    assert.deepEqual(parseSize('4096'), { ok: true, value: 4096 });
    assert.deepEqual(parseSize('512k'), { ok: true, value: 524288 });
    assert.deepEqual(parseSize('10mb'), { ok: true, value: 10000000 });
    assert.deepEqual(parseSize('1gib'), { ok: true, value: 1073741824 });
    assert.equal(parseSize('ten').ok, false);
    assert.deepEqual(parseRate('100/1s'), { ok: true, value: { requests: 100, periodMs: 1000 } });
    assert.deepEqual(parseRate('5/10s'), { ok: true, value: { requests: 5, periodMs: 10000 } });
    assert.deepEqual(parseRate('600/m'), { ok: true, value: { requests: 600, periodMs: 60000 } });
    for (const bad of ['100', '0/1s', '10/0s', 'x/1s']) assert.equal(parseRate(bad).ok, false, bad);
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(1500), '1.5s');
    assert.equal(formatDuration(90000), '1m30s');
  });
});

describe('the repository manifests', () => {
  test('pteron.yml runs what `pteron onebox` ran (one meta and three replica servers with the onebox settings) and a collector', () => {
    const manifest = loadManifest(path.join(PROJECT_ROOT, 'pteron.yml'), { env: {} });
    const root = PROJECT_ROOT.replace(/\/$/, '');
    assert.equal(manifest.root, root);
    assert.equal(manifest.supervisor.port, 34001);
    assert.deepEqual(manifest.services.map((service) => [service.name, service.kind, service.instances.map((instance) => instance.port)]), [
      ['meta', 'meta', [34601]],
      ['replica', 'replica', [34801, 34802, 34803]],
      ['collector', 'collector', [34101]],
    ]);
    const [meta, replica, collector] = manifest.services;
    assert.deepEqual(collector!.dependsOn, ['meta']);
    assert.ok(collector!.instances[0]!.argv.includes('meta_server.server_list=127.0.0.1:34601'));
    assert.deepEqual(replica!.dependsOn, ['meta']);
    assert.equal(replica!.rolling.gate, 'cluster');
    const sets = (argv: string[]): string[] => argv.flatMap((arg, index) => (argv[index - 1] === '--set' ? [arg] : []));
    assert.deepEqual(sets(meta!.instances[0]!.argv), [
      `core.data_dir=${root}/onebox/meta1`,
      'replication.cluster_name=onebox',
      'meta_server.server_list=127.0.0.1:34601',
      'meta_server.min_live_node_count_for_unfreeze=1',
      'meta_server.apps.temp.partition_count=8',
      'meta_server.apps.temp.max_replica_count=3',
    ]);
    assert.deepEqual(replica!.instances.map((instance) => [instance.name, instance.dataDir]), [
      ['replica1', `${root}/onebox/replica1`], ['replica2', `${root}/onebox/replica2`], ['replica3', `${root}/onebox/replica3`],
    ]);
    assert.deepEqual(sets(replica!.instances[1]!.argv), [
      `core.data_dir=${root}/onebox/replica2`, 'replication.cluster_name=onebox', 'meta_server.server_list=127.0.0.1:34601',
    ]);
    assert.deepEqual(replica!.instances[1]!.argv.slice(0, 5), [process.execPath, `${root}/dist/cli/main.js`, 'replica', '--port', '34802']);
    assert.equal(replica!.instances[1]!.cwd, root);
  });

  test('every manifest in manifests/ parses; the ZooKeeper one starts ZooKeeper, then three metas, then the replica servers', () => {
    const dir = path.join(PROJECT_ROOT, 'manifests');
    const files = fs.readdirSync(dir).filter((file) => file.endsWith('.yml'));
    assert.ok(files.length >= 1);
    for (const file of files) loadManifest(path.join(dir, file), { env: {} });
    const manifest = loadManifest(path.join(dir, 'zookeeper-3-metas.yml'), { env: {} });
    assert.deepEqual(manifest.services.map((service) => `${service.name}:${service.kind}×${service.instances.length}`), [
      'zookeeper:zookeeper×1', 'meta:meta×3', 'replica:replica×3',
    ]);
    const [zookeeper, meta] = manifest.services;
    assert.deepEqual(meta!.dependsOn, ['zookeeper']);
    assert.equal(zookeeper!.health.check.type, 'zookeeper');
    assert.match(zookeeper!.instances[0]!.files[0]!.text, /^clientPort=22181$/m);
    assert.ok(meta!.instances[0]!.argv.includes('meta_server.server_list=127.0.0.1:34601,127.0.0.1:34602,127.0.0.1:34603'));
  });
});

describe('parsing', () => {
  test('defaults: ports in a row, data dirs, health by kind, restart and stop policies, dependencies by kind', () => {
    const manifest = parse(`
services:
  replica:
    kind: replica
    instances: 2
    port: 40001
  meta:
    kind: meta
    port: 40100
  web:
    kind: app
    command: node server.js --port {port}
    port: 8080
    env: { NAME: "{name}", DIR: "{root}" }
  worker:
    kind: app
    command: [node, worker.js, "{index}"]
`);
    // replica servers wait for the meta by default, so the meta comes first.
    assert.deepEqual(manifest.services.map((service) => service.name), ['meta', 'replica', 'web', 'worker']);
    const [meta, replica, web, worker] = manifest.services;
    assert.deepEqual(replica!.dependsOn, ['meta']);
    assert.deepEqual(meta!.dependsOn, []);
    assert.deepEqual(replica!.instances.map((instance) => [instance.name, instance.port, instance.dataDir]), [
      ['replica1', 40001, '/srv/cluster/data/replica1'], ['replica2', 40002, '/srv/cluster/data/replica2'],
    ]);
    assert.deepEqual(meta!.health, {
      check: { type: 'http', path: '/version', expectStatus: 200 },
      intervalMs: 2000, timeoutMs: 1000, healthyThreshold: 1, unhealthyThreshold: 3, startTimeoutMs: 60000, unhealthyTimeoutMs: 10000,
    });
    assert.deepEqual(meta!.restart, { policy: 'always', backoffMs: 1000, backoffMaxMs: 30000, resetAfterMs: 30000 });
    assert.deepEqual(meta!.stop, { signal: 'SIGTERM', graceMs: 10000 });
    assert.equal(web!.health.check.type, 'tcp');
    assert.deepEqual(web!.instances[0]!.argv, ['/bin/sh', '-c', 'exec node server.js --port 8080']);
    assert.deepEqual(web!.instances[0]!.env, { NAME: 'web1', DIR: '/srv/cluster' });
    assert.equal(worker!.health.check.type, 'none');
    assert.deepEqual(worker!.instances[0]!.argv, ['node', 'worker.js', '1']);
    assert.deepEqual(manifest.supervisor, {
      host: '127.0.0.1', port: 34001, runDir: '/srv/cluster/var/supervisor', logDir: '/srv/cluster/var/supervisor/logs',
      logBytesMax: 10485760, logFiles: 3, secret: '', trustedAddresses: '127.0.0.0/8,::1', rateLimit: undefined,
      build: { install: 'npm ci', check: 'npm run build', timeoutMs: 600000, lockfile: 'package-lock.json' },
    });
  });

  test('explicit settings: ports list, root, health, restart, stop, rolling, rate limit, secret from the environment, YAML merge keys', () => {
    const manifest = parseManifest(`
root: ..
supervisor: { port: 0, run_dir: run, log_max_size: 1mb, log_files: 5, trusted_addresses: "127.0.0.1, 10.0.0.0/8", rate_limit: { rate: 10/1s, block_for: 30s }, build: { check: "true", timeout: 1m } }
services:
  replica:
    kind: replica
    ports: [40003, 40001, 40002]
    data_dir: /data/{name}-{port}
    depends_on: []
    settings: ["replication.cluster_name={name}"]
    node_args: [--max-old-space-size=512]
    health: { http: /health, expect_status: 204, interval: 250ms, timeout: 100ms, healthy_threshold: 2, unhealthy_threshold: 4, start_timeout: 5s, unhealthy_timeout: never }
    restart: { policy: on-failure, backoff: 100ms, backoff_max: 1s, reset_after: 5s }
    stop: { signal: SIGINT, grace: 2s }
    rolling: { gate: none, timeout: 10s, poll: 200ms }
`, '/srv/cluster/conf/pteron.yml', { env: { PTERON_SUPERVISOR_SECRET: 's3cret' } });
    assert.equal(manifest.root, '/srv/cluster');
    assert.equal(manifest.supervisor.runDir, '/srv/cluster/run');
    assert.equal(manifest.supervisor.secret, 's3cret');
    assert.equal(manifest.supervisor.trustedAddresses, '127.0.0.1, 10.0.0.0/8');
    assert.deepEqual(manifest.supervisor.rateLimit, { requests: 10, periodMs: 1000, blockForMs: 30000 });
    assert.equal(manifest.supervisor.logBytesMax, 1000000);
    const [replica] = manifest.services;
    assert.deepEqual(replica!.instances.map((instance) => [instance.port, instance.dataDir]), [
      [40003, '/data/replica1-40003'], [40001, '/data/replica2-40001'], [40002, '/data/replica3-40002'],
    ]);
    assert.deepEqual(replica!.dependsOn, []);
    assert.ok(replica!.instances[2]!.argv.includes('replication.cluster_name=replica3'));
    assert.equal(replica!.instances[0]!.argv[1], '--max-old-space-size=512');
    assert.deepEqual(replica!.health, {
      check: { type: 'http', path: '/health', expectStatus: 204 },
      intervalMs: 250, timeoutMs: 100, healthyThreshold: 2, unhealthyThreshold: 4, startTimeoutMs: 5000, unhealthyTimeoutMs: undefined,
    });
    assert.deepEqual(replica!.restart, { policy: 'on-failure', backoffMs: 100, backoffMaxMs: 1000, resetAfterMs: 5000 });
    assert.deepEqual(replica!.stop, { signal: 'SIGINT', graceMs: 2000 });
    assert.deepEqual(replica!.rolling, { gate: 'none', timeoutMs: 10000, pollMs: 200 });

  });

  test('YAML anchors and merge keys share settings between services; x- keys hold anchors', () => {
    const manifest = parse(`
x-common: &common
  node_args: [--max-old-space-size=256]
services:
  collector:
    <<: *common
    kind: collector
    port: 40300
  meta:
    kind: meta
    port: 40100
    health: &fast { http: /version, interval: 300ms, timeout: 200ms }
    stop: &quick { grace: 1s }
  replica:
    kind: replica
    port: 40200
    health: *fast
    stop:
      <<: *quick
      signal: SIGINT
`);
    const byName = (name: string) => manifest.services.find((service) => service.name === name)!;
    const [collector, meta, replica] = [byName('collector'), byName('meta'), byName('replica')];
    // collectors, like replica servers, wait for the metas
    assert.deepEqual(manifest.services.map((service) => service.name), ['meta', 'collector', 'replica']);
    assert.equal(replica!.health.intervalMs, 300);
    assert.deepEqual(replica!.stop, { signal: 'SIGINT', graceMs: 1000 });
    assert.equal(meta!.stop.graceMs, 1000);
    assert.equal(collector!.instances[0]!.argv[1], '--max-old-space-size=256');
  });

  const errors: Array<[string, string, RegExp]> = [
    ['YAML syntax', 'services:\n  meta: [kind: meta\n', /^pteron\.yml:\d+:\d+: /],
    ['empty file', '', /^pteron\.yml:1:1: the manifest is empty/],
    ['unknown top-level key', 'servces: {}\n', /^pteron\.yml:1:1: servces: unknown key; expected one of root, supervisor, services \(or x-… for your own anchors\)$/],
    ['missing kind', 'services:\n  meta:\n    port: 1\n', /^pteron\.yml:2:3: services\.meta\.kind: missing; expected one of meta, replica, collector, zookeeper, app$/],
    ['bad kind', 'services:\n  meta:\n    kind: metta\n    port: 1\n', /^pteron\.yml:3:11: services\.meta\.kind: expected one of meta, replica, collector, zookeeper, app, got "metta"$/],
    ['misspelt key', 'services:\n  meta:\n    kind: meta\n    port: 1\n    helth: {}\n', /^pteron\.yml:5:5: services\.meta\.helth: unknown key; expected one of kind, instances, port/],
    ['key of another kind', 'services:\n  meta:\n    kind: meta\n    port: 1\n    command: x\n', /^pteron\.yml:5:14: services\.meta\.command: only for kind app, not meta$/],
    ['bad duration', 'services:\n  meta:\n    kind: meta\n    port: 1\n    health: { interval: 10 }\n', /^pteron\.yml:5:25: services\.meta\.health\.interval: expected a duration such as 500ms, 10s, 1m or 1m30s, got "10"$/],
    ['no port', 'services:\n  meta:\n    kind: meta\n', /services\.meta\.port: missing; a meta service needs port or ports$/],
    ['port taken twice', 'services:\n  a:\n    kind: meta\n    port: 5000\n  b:\n    kind: replica\n    instances: 2\n    port: 4999\n', /^pteron\.yml:8:11: services\.b\.port: port 5000 is already used by a$/],
    ['instances against ports', 'services:\n  a:\n    kind: replica\n    instances: 2\n    ports: [1, 2, 3]\n', /services\.a\.instances: 2 instances but 3 ports$/],
    ['unknown dependency', 'services:\n  a:\n    kind: replica\n    port: 1\n    depends_on: [meta]\n', /^pteron\.yml:5:18: services\.a\.depends_on\[0\]: unknown service "meta"$/],
    ['cycle', 'services:\n  a:\n    kind: app\n    command: x\n    depends_on: [b]\n  b:\n    kind: app\n    command: y\n    depends_on: [a]\n', /dependency cycle among a, b$/],
    ['unknown placeholder service', 'services:\n  a:\n    kind: replica\n    port: 1\n    depends_on: []\n    settings: ["x={addresses:meta}"]\n', /settings: \{addresses:meta\}: no service named "meta"$/],
    ['app without command', 'services:\n  a:\n    kind: app\n', /services\.a\.command: missing; an app service needs the command to run$/],
    ['check without port', 'services:\n  a:\n    kind: app\n    command: x\n    health: { tcp: true }\n', /a tcp check needs the service to have a port$/],
    ['two checks', 'services:\n  a:\n    kind: app\n    command: x\n    port: 1\n    health: { tcp: true, http: / }\n', /choose one check: http or tcp$/],
    ['bad policy', 'services:\n  a:\n    kind: app\n    command: x\n    restart: { policy: sometimes }\n', /restart\.policy: expected one of always, on-failure, never, got "sometimes"$/],
    ['backoff_max below backoff', 'services:\n  a:\n    kind: app\n    command: x\n    restart: { backoff: 2s, backoff_max: 1s }\n', /backoff_max is less than backoff$/],
    ['ZooKeeper ensemble', 'services:\n  zk:\n    kind: zookeeper\n    ports: [1, 2]\n', /a ZooKeeper ensemble is not supported yet; use one instance$/],
    ['bad service name', 'services:\n  "2x":\n    kind: app\n    command: x\n', /a service name is a letter followed by/],
    ['bad rate', 'supervisor: { rate_limit: { rate: fast } }\nservices:\n  a:\n    kind: app\n    command: x\n', /supervisor\.rate_limit\.rate: expected a rate such as 100\/1s/],
    ['bad trusted address', 'supervisor: { trusted_addresses: "localhost" }\nservices:\n  a:\n    kind: app\n    command: x\n', /supervisor\.trusted_addresses: "localhost" is not an IP address or subnet/],
    ['duplicate key', 'services:\n  a:\n    kind: app\n    kind: meta\n', /^pteron\.yml:4:5: Map keys must be unique/],
  ];
  for (const [what, text, expected] of errors) {
    test(`error names the place: ${what}`, () => assert.match(parseError(text), expected));
  }

  test('a text nested deeper than the YAML parser can recurse is a ManifestError, not a stack overflow', () => {
    for (const text of [`x: { policy: ${'a: '.repeat(5000)}}\n`, `services:\n  a: { p: ${'always: '.repeat(5000)}}\n`]) {
      assert.match(parseError(text), /^pteron\.yml: the manifest nests too deeply to be read$/);
    }
  });

  test('a missing file says which', () => {
    assert.throws(() => loadManifest('/nonexistent/pteron.yml'), /cannot read the manifest \/nonexistent\/pteron\.yml/);
  });
});
