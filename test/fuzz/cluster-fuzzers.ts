// Fuzzers that need servers: the admin HTTP calls that take a JSON body or change state
// (/meta/app/start_compaction, /meta/app/usage_scenario, POST /api, /updateConfig), the meta's
// query parameters (/meta/app, /meta/app/duplication, /meta/backup_policy, ...), and shell lines
// that reach the meta's RPCs (add_dup, the backup policy commands). They share one small test
// cluster. Every answer must be well formed (an expected status, no internal error, no stack
// trace), and after each fuzzer the servers must be the same processes, answering /version,
// with nothing logged at error level and no state changed but what an accepted request asked.
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseHostPortList } from '../../src/base/index.ts';
import { createShellSession, MetaClient, type CommandResult } from '../../src/cli/shell/index.ts';
import { startCompactionEnvs, usageScenarioEnvs } from '../../src/meta/http.ts';
import { TestCluster } from '../helpers/data-plane.ts';
import { rawRequest, type RawResponse } from '../helpers/raw-http.ts';
import type { RunningProcess } from '../helpers/process.ts';
import { awkwardString, mutateJson, mutateText, mutateWords, shellWord, AWKWARD_NUMBERS } from './mutate.ts';
import type { FuzzRng } from './random.ts';
import { Outcomes, type Fuzzer } from './runner.ts';

/** The table every fuzzer aims at; the cluster has no other. */
const TABLE = 'temp';

/** One meta and one replica server, with cold backup on a local block service; duplication is on by default. */
export class FuzzCluster {
  private readonly cluster: TestCluster;
  /** Error lines a check already reported: each is blamed on the fuzzer that ran when it was logged. */
  private readonly reportedErrors = new Set<string>();

  constructor() {
    const blockSettings = (root: string) => ['block_service.local.type=local_service', `block_service.local.args=${root}`, 'replication.cold_backup_root=fuzz'];
    let blockRoot = '';
    this.cluster = new TestCluster({
      clusterName: 'fuzz',
      replicaCount: 1,
      partitionCount: 2,
      get metaSettings() {
        return [...blockSettings(blockRoot), 'meta_server.cold_backup_disabled=false'];
      },
      get replicaSettings() {
        return blockSettings(blockRoot);
      },
    });
    blockRoot = path.join(this.cluster.dataRoot, 'block');
  }

  async start(): Promise<void> {
    await this.cluster.start();
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
  }

  get metaPort(): number {
    return this.cluster.metaPort;
  }

  get replicaPort(): number {
    return this.cluster.replicaPorts[0]!;
  }

  private processes(): RunningProcess[] {
    return [...this.cluster.metas, ...this.cluster.replicas].filter((item): item is RunningProcess => item !== undefined);
  }

  /** The same processes as at the start, each answering /version, none having logged an error since the last check. */
  async checkAlive(): Promise<void> {
    for (const server of this.processes()) {
      assert.equal(server.child.exitCode, null, `the server on port ${server.port} exited: ${server.output().slice(-3000)}`);
      assert.equal(server.child.signalCode, null, `the server on port ${server.port} was killed`);
      const version = await rawRequest(server.port, '/version');
      assert.equal(version.status, 200, `/version on port ${server.port}: ${version.text}`);
    }
    const fresh = this.cluster.errorLines().filter((line) => !this.reportedErrors.has(line));
    for (const line of fresh) this.reportedErrors.add(line);
    assert.deepEqual(fresh.slice(0, 5), [], 'errors logged');
  }

  /** The state the fuzzers must not change unless asked: the tables, the table's envs, duplications and backup policies, every flag. */
  async snapshot(): Promise<ClusterState> {
    const get = async (port: number, target: string): Promise<string> => {
      const response = await rawRequest(port, target);
      assert.equal(response.status, 200, `${target}: ${response.text}`);
      return response.text;
    };
    const apps = JSON.parse(await get(this.metaPort, '/meta/apps')) as { general_info: Record<string, Record<string, string>> };
    return {
      // Everything but envs_count, which follows the envs (compared by themselves).
      tables: Object.values(apps.general_info).map((row) => `${row.app_id} ${row.app_name} ${row.status} ${row.partition_count} ${row.replica_count} ${row.create_time}`),
      envs: JSON.parse(await get(this.metaPort, `/meta/app_envs?name=${TABLE}`)) as Record<string, string>,
      duplications: await get(this.metaPort, `/meta/app/duplication?name=${TABLE}`),
      backupPolicies: await get(this.metaPort, '/meta/backup_policy'),
      metaFlags: flagValues(await get(this.metaPort, '/configs')),
      replicaFlags: flagValues(await get(this.replicaPort, '/configs')),
    };
  }
}

export interface ClusterState {
  tables: string[];
  envs: Record<string, string>;
  duplications: string;
  backupPolicies: string;
  /** Each flag's value, by name. */
  metaFlags: Record<string, string>;
  replicaFlags: Record<string, string>;
}

function flagValues(configs: string): Record<string, string> {
  return Object.fromEntries(flagsOf(configs).map((flag) => [flag.name, flag.value]));
}

/** Every part of the state but `changing` must be as it was. */
function assertUnchanged(before: ClusterState, after: ClusterState, changing: ReadonlyArray<keyof ClusterState> = []): void {
  for (const key of Object.keys(before) as Array<keyof ClusterState>) {
    if (!changing.includes(key)) assert.deepEqual(after[key], before[key], `${key} changed`);
  }
}

// ---- requests and answers -----------------------------------------------------------------

/** Percent-encodes every byte of the text's UTF-8 (lone surrogates included, as U+FFFD) but the unreserved ones. */
function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A query value as a client might send it: encoded, or raw where the raw form still makes a request line. */
function queryValue(rng: FuzzRng, text: string): string {
  return rng.chance(0.8) || /[^\x21-\x7e]/.test(text) ? percentEncode(text) : text;
}

/** A stack frame: an answer must never show one. */
const STACK_FRAME = /\n\s+at .+:\d+:\d+\)?$|\.ts:\d+:\d+/m;

/** The answer is an expected status, with a content type, and no internal error in it. */
function checkAnswer(response: RawResponse, allowed: readonly number[]): void {
  assert.ok(allowed.includes(response.status), `status ${response.status}: ${response.text.slice(0, 500)}`);
  assert.ok(response.headers.has('content-type'), `no content type: ${response.headerLines.join(' | ')}`);
  assert.ok(!response.text.startsWith('internal error'), `an internal error: ${response.text.slice(0, 500)}`);
  assert.ok(!STACK_FRAME.test(response.text), `a stack trace: ${response.text.slice(0, 2000)}`);
}

interface HttpInput {
  port: number;
  method: string;
  target: string;
  body?: string;
}

const showHttp = (input: HttpInput): string =>
  `${input.method} ${input.target} (port ${input.port === 0 ? '?' : input.port})${input.body === undefined ? '' : ` body ${JSON.stringify(input.body.length > 1500 ? `${input.body.slice(0, 1500)}…(${input.body.length} chars)` : input.body)}`}`;

/** A request to the meta or the replica server. */
interface ApiInput extends HttpInput {
  server: 'meta' | 'replica';
}

function send(input: HttpInput): Promise<RawResponse> {
  return rawRequest(input.port, input.target, { method: input.method, body: input.body });
}

/** `[http] max_request_body_bytes` of the servers (the default). */
const BODY_BYTES_MAX = 1024 * 1024;

/**
 * Sends a request whose body may pass the servers' limit. The server answers such a one 413 and
 * closes at once, while the client may still be sending: the client's stack may then see the
 * reset before the answer. Undefined: closed without an answer, which only such a body may get.
 */
async function sendBody(input: HttpInput): Promise<RawResponse | undefined> {
  try {
    return await send(input);
  } catch (error) {
    if (Buffer.byteLength(input.body ?? '', 'utf8') > BODY_BYTES_MAX && /connection closed before a full response/.test((error as Error).message)) return undefined;
    throw error;
  }
}

const CLOSED_OVER_LIMIT = 'closed (body over the limit)';

/** A body for a JSON call: mostly a mutant of a valid one, sometimes random bytes, empty or not JSON. */
function jsonBody(rng: FuzzRng, valid: unknown, keys: readonly string[]): string {
  switch (rng.below(12)) {
    case 0:
      return rng.bytes(rng.length(500)).toString('latin1');
    case 1:
      return rng.pick(['', ' ', 'null', '[]', '{}', '"x"', '1', '{"app_name":', '{"app_name":"temp"}']);
    case 2:
      return JSON.stringify(valid);
    default:
      return mutateJson(rng, valid, keys);
  }
}

// ---- /meta/app/start_compaction and /meta/app/usage_scenario ------------------------------

type EnvsFromBody = ReturnType<typeof startCompactionEnvs>;

/**
 * A fuzzer of one of the meta's POST calls that set a table's envs. The pure decoder says what
 * each body asks (`asked`): a refusal must be answered 400 with its text; anything else is 200
 * with Pegasus's `{"error","hint_message"}`; an ERR_OK allows exactly those envs to change.
 */
function envBodyFuzzer(
  cluster: FuzzCluster, name: string, call: string, valids: readonly unknown[], keys: readonly string[], asked: (body: Buffer) => EnvsFromBody,
): Fuzzer<HttpInput> {
  let before: ClusterState;
  const changedKeys = new Set<string>();
  const outcomes = new Outcomes();
  return {
    name,
    outcomes,
    description: `POST /${call} bodies (mutants of valid ones: wrong types, missing, repeated and unknown fields, huge numbers and strings, unicode, deep nesting; random bytes): 400 with the decoder's refusal or 200 with {error, hint_message}; only an ERR_OK changes the table's envs, and only the ones it names`,
    async prepare() {
      before = await cluster.snapshot();
    },
    generate(rng) {
      const method = rng.chance(0.9) ? 'POST' : rng.pick(['GET', 'PUT', 'DELETE']);
      const valid = rng.pick(valids);
      return { port: 0, method, target: `/${call}`, body: method === 'DELETE' ? undefined : jsonBody(rng, valid, keys) };
    },
    async check(input) {
      const response = await sendBody({ ...input, port: cluster.metaPort });
      if (!response) return outcomes.count(CLOSED_OVER_LIMIT);
      outcomes.count(response.status === 200 ? `200 ${(JSON.parse(response.text) as { error: string }).error}` : String(response.status));
      checkAnswer(response, [200, 400, 405, 413]);
      if (input.method === 'PUT' || input.method === 'DELETE') return assert.equal(response.status, 405);
      const body = Buffer.from(input.body ?? '', 'utf8');
      if (response.status === 413) return assert.ok(body.length > BODY_BYTES_MAX, 'a 413 for a body within the limit');
      const request = asked(body);
      if ('refusal' in request) {
        assert.deepEqual([response.status, response.text], [400, request.refusal]);
        return;
      }
      assert.equal(response.status, 200, response.text);
      const answer = JSON.parse(response.text) as { error: string; hint_message: string };
      assert.deepEqual(Object.keys(answer), ['error', 'hint_message'], response.text);
      assert.match(answer.error, /^ERR_[A-Z_]+$/);
      if (answer.error === 'ERR_OK') {
        assert.equal(request.appName, TABLE, `ERR_OK for table ${JSON.stringify(request.appName)}`);
        for (const [key] of request.envs) changedKeys.add(key);
      }
    },
    async finish() {
      await cluster.checkAlive();
      const after = await cluster.snapshot();
      assertUnchanged(before, after, ['envs']);
      for (const key of new Set([...Object.keys(before.envs), ...Object.keys(after.envs)])) {
        if (!changedKeys.has(key)) assert.equal(after.envs[key], before.envs[key], `env ${key} changed, though no accepted request named it`);
      }
    },
    show: showHttp,
  };
}

const COMPACTION_KEYS = ['app_name', 'type', 'target_level', 'bottommost_level_compaction', 'max_concurrent_running_count', 'trigger_time'];

export function startCompactionFuzzer(cluster: FuzzCluster): Fuzzer<HttpInput> {
  const valids = [
    { app_name: TABLE, type: 'once', target_level: -1, bottommost_level_compaction: 'skip', max_concurrent_running_count: 0, trigger_time: '' },
    { app_name: TABLE, type: 'periodic', target_level: 2, bottommost_level_compaction: 'force', max_concurrent_running_count: 1, trigger_time: '3:00,21:00' },
    { app_name: 'nope', type: 'once', target_level: -1, bottommost_level_compaction: 'skip', max_concurrent_running_count: 0, trigger_time: '' },
    { app_name: TABLE, type: 'once' },
  ];
  return envBodyFuzzer(cluster, 'meta-start-compaction', 'meta/app/start_compaction', valids, COMPACTION_KEYS, (body) => startCompactionEnvs(body, 0));
}

export function usageScenarioFuzzer(cluster: FuzzCluster): Fuzzer<HttpInput> {
  const valids = [{ app_name: TABLE, scenario: 'normal' }, { app_name: TABLE, scenario: 'bulk_load' }, { app_name: 'nope', scenario: 'normal' }];
  return envBodyFuzzer(cluster, 'meta-usage-scenario', 'meta/app/usage_scenario', valids, ['app_name', 'scenario'], usageScenarioEnvs);
}

// ---- the meta's query parameters ----------------------------------------------------------

/** The meta's calls that read with parameters, with the parameters they know. */
const META_READS: ReadonlyArray<[string, readonly string[]]> = [
  ['meta/app', ['name', 'detail']], ['meta/apps', ['detail']], ['meta/nodes', ['detail']], ['meta/cluster', []],
  ['meta/app_envs', ['name']], ['meta/app/duplication', ['name']], ['meta/backup_policy', ['name']], ['envs/list', []],
  ['config', ['name']], ['configs', []], ['version', []], ['recentStartTime', []], ['', []],
];

export function metaParamsFuzzer(cluster: FuzzCluster): Fuzzer<HttpInput> {
  let before: ClusterState;
  const outcomes = new Outcomes();
  return {
    name: 'meta-params',
    outcomes,
    description: "the meta's read calls (/meta/app, /meta/apps, /meta/nodes, /meta/app_envs, /meta/app/duplication, /meta/backup_policy, /config, ...) with mutated query parameters (known and unknown keys, repeated keys, awkward, huge and unicode values, broken escapes): an expected status, never an internal error; nothing changes",
    async prepare() {
      before = await cluster.snapshot();
    },
    generate(rng) {
      const [call, keys] = rng.pick(META_READS);
      const pieces: string[] = [];
      for (let count = rng.below(4); count > 0; count--) {
        const key = rng.chance(0.8) && keys.length > 0 ? rng.pick(keys) : rng.pick(['name', 'detail', 'x', '', 'NAME', awkwardString(rng, 20)]);
        const value = rng.chance(0.4) ? rng.pick([TABLE, 'nope', '', 'true', '1']) : awkwardString(rng, rng.chance(0.05) ? 20_000 : 200);
        pieces.push(rng.chance(0.1) ? queryValue(rng, key) : `${queryValue(rng, key)}=${queryValue(rng, value)}`);
      }
      let target = `/${call}${pieces.length > 0 ? `?${pieces.join('&')}` : ''}`;
      if (rng.chance(0.05)) target = target.replace(/%[0-9A-F]{2}/, rng.pick(['%', '%G0', '%0']));
      return { port: 0, method: rng.chance(0.8) ? 'GET' : 'POST', target };
    },
    async check(input) {
      const response = await send({ ...input, port: cluster.metaPort });
      outcomes.count(String(response.status));
      // Pegasus answers a meta error it did not expect as 500 with the error's name alone.
      if (response.status === 500) assert.match(response.text, /^ERR_[A-Z_]+$/);
      checkAnswer(response, [200, 400, 404, 431, 500]);
    },
    async finish() {
      await cluster.checkAlive();
      assertUnchanged(before, await cluster.snapshot());
    },
    show: showHttp,
  };
}

// ---- POST bodies to every other call ----------------------------------------------------

/** Calls other fuzzers cover, or that run for seconds by design (profiles) and are not fuzzed here. */
const COVERED_ELSEWHERE = /^(api|api\/download|updateConfig|meta\/app\/start_compaction|meta\/app\/usage_scenario|pprof\/(profile|heap|growth))$/;

/** A body for pprof/symbol (addresses joined by `+`) or any call: mutated addresses, JSON, text or bytes. */
function anyBody(rng: FuzzRng): string {
  switch (rng.below(5)) {
    case 0:
      return mutateText(rng, Array.from({ length: 1 + rng.below(5) }, () => `0x${rng.below(2 ** 31).toString(16)}`).join('+'));
    case 1:
      return rng.bytes(rng.length(3000)).toString('latin1');
    case 2:
      return mutateJson(rng, { app_name: TABLE, app_id: 1, name: TABLE }, ['app_name', 'app_id', 'appid', 'name', 'detail']);
    case 3:
      return rng.pick(['', '0x', '+', '++++', `${'0x1+'.repeat(100_000)}`, '0xffffffffffffffffffffffff', '-0x1', awkwardString(rng, 5000)]);
    default:
      return awkwardString(rng, 2000);
  }
}

export function postBodiesFuzzer(cluster: FuzzCluster): Fuzzer<ApiInput> {
  let before: ClusterState;
  const paths: Record<'meta' | 'replica', string[]> = { meta: [], replica: [] };
  const outcomes = new Outcomes();
  return {
    name: 'post-bodies',
    outcomes,
    description: "POST bodies (mutated JSON, address lists, awkward text, random bytes) with awkward parameters to every other call a meta and a replica server list (pprof/symbol, /replica/*, /meta/*, /config, /metrics, the console, ...): an expected status, never an internal error; nothing changes",
    async prepare() {
      before = await cluster.snapshot();
      for (const [server, port] of [['meta', cluster.metaPort], ['replica', cluster.replicaPort]] as const) {
        const listing = JSON.parse((await rawRequest(port, '/')).text) as Record<string, string>;
        paths[server] = Object.keys(listing).map((key) => key.slice(1)).filter((key) => !COVERED_ELSEWHERE.test(key));
      }
    },
    generate(rng) {
      const server = rng.chance(0.5) ? 'meta' : 'replica';
      const call = rng.pick(paths[server]);
      const query = rng.chance(0.5) ? '' : `?${rng.pick(['app_id', 'appid', 'name', 'detail', 'seconds', 'types', awkwardString(rng, 10)])}=${queryValue(rng, rng.chance(0.5) ? rng.pick(['1', '0', '-1', TABLE, '4294967296']) : awkwardString(rng, 100))}`;
      return { server, port: 0, method: rng.chance(0.9) ? 'POST' : rng.pick(['PUT', 'PATCH', 'DELETE']), target: `/${call}${query}`, body: anyBody(rng) };
    },
    async check(input) {
      const response = await sendBody({ ...input, port: input.server === 'meta' ? cluster.metaPort : cluster.replicaPort });
      if (!response) return outcomes.count(CLOSED_OVER_LIMIT);
      outcomes.count(String(response.status));
      if (response.status === 500) assert.match(response.text, /^ERR_[A-Z_]+$/);
      checkAnswer(response, [200, 400, 404, 405, 413, 431, 500]);
    },
    async finish() {
      await cluster.checkAlive();
      assertUnchanged(before, await cluster.snapshot());
    },
    show: (input) => `${input.server}: ${showHttp(input)}`,
  };
}

// ---- POST /api ------------------------------------------------------------------------------

const API_STATES = ['SCHEDULED', 'SUCCEEDED', 'FAILED', 'REFUSED', 'INTERRUPTED'];
const API_ENVELOPE_KEYS = ['body', 'consumerId', 'message', 'requestId', 'sessionId', 'state'];
const API_FIELDS = ['action', 'requestId', 'sessionId', 'consumerId', 'command', 'execTimeout', 'userId'];

/** Commands that end at once and change nothing (no heap dumps, profiles, log levels or endless dashboards). */
const API_COMMANDS = [
  'version', 'help', 'help version', 'help ls', 'session', 'history', 'history -n 3', 'jobs', 'jobs -a', 'perfcounter', 'perfcounter -d node',
  'sysprop', 'sysenv PATH', 'memory', 'ls', 'ls -a -j', 'app temp', 'nodes -d', 'remote-command help', 'remote-command server-info',
  'remote-command server-stat', 'version &', 'kill 99999',
];

export function apiFuzzer(cluster: FuzzCluster): Fuzzer<ApiInput> {
  const sessions: Record<'meta' | 'replica', { sessionId: string; consumerId: string }> = { meta: { sessionId: '', consumerId: '' }, replica: { sessionId: '', consumerId: '' } };
  const portOf = (server: 'meta' | 'replica') => (server === 'meta' ? cluster.metaPort : cluster.replicaPort);
  const opened: Array<{ port: number; sessionId: string }> = [];
  const outcomes = new Outcomes();
  return {
    name: 'api',
    outcomes,
    description: 'POST /api bodies on a meta and a replica server (every action, mutated fields of every type, unknown sessions and consumers, execTimeout edges, mutated command lines): always 200 with the JSON envelope, never an internal error',
    async prepare() {
      for (const server of ['meta', 'replica'] as const) {
        const response = await rawRequest(portOf(server), '/api', { method: 'POST', body: '{"action":"init_session"}' });
        const answer = JSON.parse(response.text) as { sessionId: string; consumerId: string };
        sessions[server] = { sessionId: answer.sessionId, consumerId: answer.consumerId };
        opened.push({ port: portOf(server), sessionId: answer.sessionId });
      }
    },
    generate(rng) {
      const server = rng.chance(0.5) ? 'meta' : 'replica';
      const { sessionId, consumerId } = sessions[server];
      let command = rng.pick(API_COMMANDS);
      if (rng.chance(0.5)) command = mutateWords(rng, command.split(' ')).map((word) => shellWord(rng, word)).join(' ');
      const valids: unknown[] = [
        { action: 'exec', command }, { action: 'exec', command, execTimeout: 5000 }, { action: 'exec', command, sessionId },
        { action: 'async_exec', command, sessionId }, { action: 'init_session' }, { action: 'session_info', sessionId },
        { action: 'join_session', sessionId }, { action: 'interrupt_job', sessionId }, { action: 'close_session', sessionId: 'nope' },
        { action: 'exec', command: 'version', requestId: 'r1', userId: 'u1' },
      ];
      // A valid pull waits up to its long-poll time: seldom, so that cases stay fast.
      if (rng.chance(0.03)) valids.push({ action: 'pull_results', sessionId, consumerId });
      const method = rng.chance(0.95) ? 'POST' : rng.pick(['GET', 'PUT', 'DELETE', 'PATCH']);
      const target = rng.chance(0.9) ? '/api' : `/api?userId=${queryValue(rng, awkwardString(rng, 40))}`;
      return { server, port: 0, method, target, body: jsonBody(rng, rng.pick(valids), API_FIELDS) };
    },
    async check(input) {
      const response = await sendBody({ ...input, port: portOf(input.server) });
      if (!response) return outcomes.count(CLOSED_OVER_LIMIT);
      checkAnswer(response, [200, 400, 413]);
      // The server refuses a query it cannot decode (a broken %-escape) before any handler.
      if (response.status === 400) return assert.match(response.text, /^failed to parse request: /);
      if (response.status === 413) return;
      const answer = JSON.parse(response.text) as Record<string, unknown>;
      outcomes.count(String(answer.state));
      assert.ok(API_STATES.includes(answer.state as string), response.text.slice(0, 500));
      for (const key of Object.keys(answer)) assert.ok(API_ENVELOPE_KEYS.includes(key), `envelope key ${key}`);
      // An init_session that succeeded opened a session that lives on: closed at the end.
      if (answer.consumerId !== undefined && answer.sessionId !== undefined && answer.body === undefined) {
        opened.push({ port: portOf(input.server), sessionId: answer.sessionId as string });
      }
    },
    async finish() {
      for (const session of opened) await rawRequest(session.port, '/api', { method: 'POST', body: JSON.stringify({ action: 'close_session', sessionId: session.sessionId }) });
      await cluster.checkAlive();
    },
    show: (input) => `${input.server}: ${showHttp(input)}`,
  };
}

// ---- /updateConfig --------------------------------------------------------------------------

interface FlagView {
  name: string;
  type: string;
  tags: string;
  value: string;
}

function flagsOf(configs: string): FlagView[] {
  return Object.values(JSON.parse(configs) as Record<string, FlagView>);
}

/** A value text for a flag of `type`, near or past what it takes. */
function flagValue(rng: FuzzRng, flag: FlagView): string {
  if (rng.chance(0.3)) return mutateText(rng, flag.value);
  switch (flag.type) {
    case 'FV_BOOL':
      return rng.pick(['true', 'false', 'TRUE', 'True', '1', '0', 'yes', '', awkwardString(rng, 20)]);
    case 'FV_DOUBLE':
      return rng.pick(['0.5', '-0.5', '1e308', '1e309', 'nan', 'inf', '0x1p3', '.', '1.', awkwardString(rng, 20)]);
    case 'FV_STRING':
      return awkwardString(rng, 200);
    default:
      return rng.chance(0.7) ? rng.pick(AWKWARD_NUMBERS) : rng.pick(['0x10', '010', ' 5', '5 ', '+5', '-', awkwardString(rng, 20)]);
  }
}

export function updateConfigFuzzer(cluster: FuzzCluster): Fuzzer<ApiInput> {
  let before: ClusterState;
  const flags: Record<'meta' | 'replica', FlagView[]> = { meta: [], replica: [] };
  const portOf = (server: 'meta' | 'replica') => (server === 'meta' ? cluster.metaPort : cluster.replicaPort);
  const outcomes = new Outcomes();
  return {
    name: 'update-config',
    outcomes,
    description: "/updateConfig on a meta and a replica server (every flag with values of wrong types and at the edges, unknown names, none or several parameters): 200 with {update_status}; a flag changes only when the answer is ERR_OK (each such change is undone at once), and every flag is as before at the end",
    // A change is undone before the next case, which could otherwise see it.
    parallel: 1,
    async prepare() {
      before = await cluster.snapshot();
      flags.meta = flagsOf((await rawRequest(cluster.metaPort, '/configs')).text);
      flags.replica = flagsOf((await rawRequest(cluster.replicaPort, '/configs')).text);
    },
    generate(rng) {
      const server = rng.chance(0.5) ? 'meta' : 'replica';
      const pieces: string[] = [];
      const count = rng.chance(0.85) ? 1 : rng.pick([0, 2, 3]);
      for (let index = 0; index < count; index++) {
        if (rng.chance(0.9)) {
          // Mostly the mutable ones: the others are refused before their value is read.
          const mutable = flags[server].filter((flag) => flag.tags.includes('FT_MUTABLE'));
          const flag = rng.pick(rng.chance(0.7) && mutable.length > 0 ? mutable : flags[server]);
          pieces.push(`${queryValue(rng, rng.chance(0.95) ? flag.name : mutateText(rng, flag.name))}=${queryValue(rng, flagValue(rng, flag))}`);
        } else {
          pieces.push(`${queryValue(rng, awkwardString(rng, 40))}=${queryValue(rng, awkwardString(rng, 40))}`);
        }
      }
      return { server, port: 0, method: rng.chance(0.8) ? 'GET' : 'POST', target: `/updateConfig${pieces.length > 0 ? `?${pieces.join('&')}` : ''}` };
    },
    async check(input) {
      const port = portOf(input.server);
      const response = await send({ ...input, port });
      checkAnswer(response, [200, 400, 431]);
      if (response.status !== 200) return outcomes.count(String(response.status));
      const answer = JSON.parse(response.text) as { update_status: string };
      outcomes.count(answer.update_status.split(':')[0]!);
      assert.deepEqual(Object.keys(answer), ['update_status']);
      assert.match(answer.update_status, /^ERR_[A-Z_]+(: [^]*)?$/);
      if (answer.update_status !== 'ERR_OK') return;
      const [name] = new URLSearchParams(input.target.split('?')[1] ?? '').keys();
      const original = flags[input.server].find((flag) => flag.name === name);
      assert.ok(original, `ERR_OK for ${name}, which /configs did not list`);
      const undo = await rawRequest(port, `/updateConfig?${percentEncode(original.name)}=${percentEncode(original.value)}`);
      assert.equal(undo.text, '{"update_status":"ERR_OK"}\n', `undoing ${name}=${original.value}`);
    },
    async finish() {
      await cluster.checkAlive();
      assertUnchanged(before, await cluster.snapshot(), ['envs']);
    },
    show: (input) => `${input.server}: ${showHttp(input)}`,
  };
}

// ---- shell lines against the meta ---------------------------------------------------------

/** Shell lines that reach the meta's duplication and backup policy RPCs, and reads around them. */
const SHELL_TEMPLATES: readonly string[] = [
  `add_dup ${TABLE} other_cluster`, `add_dup ${TABLE} other_cluster -s -a remote_temp -r 3`, 'add_dup nope other_cluster',
  `add_dup ${TABLE} fuzz`, `query_dup ${TABLE}`, `query_dup ${TABLE} -d`, 'query_dup nope',
  `add_backup_policy -p fuzz_policy -b local -a 1 -i 86400 -s 12:30 -c 3`, 'add_backup_policy -p other -b nope -a 1 -i 86400 -c 1',
  'add_backup_policy -p bad -b local -a 99 -i 86400 -c 1', 'ls_backup_policy', 'ls_backup_policy -j', 'query_backup_policy -p fuzz_policy -b 3',
  'query_backup_policy -p nope', `app ${TABLE} -d`, 'ls -d', 'nodes', 'cluster_info', `get_app_envs`,
];

interface ShellLineInput {
  line: string;
}

export function shellClusterFuzzer(cluster: FuzzCluster): Fuzzer<ShellLineInput> {
  let before: ClusterState;
  let meta: MetaClient;
  const addedPolicies = new Set<string>();
  let addedDuplication = false;
  const outcomes = new Outcomes();
  return {
    name: 'shell-cluster',
    outcomes,
    description: "shell lines run against the test cluster's meta (add_dup, add_backup_policy and the queries around them, mutated): runLine resolves to a result and never prints a stack; no table changes, and duplications and backup policies only by what the shell reported as added",
    parallel: 4,
    async prepare() {
      before = await cluster.snapshot();
      meta = new MetaClient(parseHostPortList(`127.0.0.1:${cluster.metaPort}`), { timeoutMs: 30_000 });
    },
    generate(rng) {
      let line = rng.pick(SHELL_TEMPLATES);
      if (rng.chance(0.7)) {
        const [name, ...words] = line.split(' ');
        line = [name, ...mutateWords(rng, words)].map((word) => shellWord(rng, word!)).join(' ');
      }
      if (rng.chance(0.1)) line = mutateText(rng, line);
      return { line };
    },
    async check(input) {
      let printed = '';
      const shell = createShellSession(meta, { out: (text) => (printed += text), err: (text) => (printed += text) }, {
        currentApp: TABLE, sleep: async () => {}, readyPollMs: 1, readyWaitMs: 1, version: 'fuzz', readLine: async () => undefined,
      });
      const result: CommandResult = await shell.runLine(input.line);
      outcomes.count(result);
      assert.ok(['ok', 'failed', 'usage', 'exit'].includes(result), `result ${JSON.stringify(result)}`);
      assert.ok(!STACK_FRAME.test(printed) && !/\b(?:TypeError|RangeError|ReferenceError): /.test(printed), `the shell printed an internal error:\n${printed.slice(0, 2000)}`);
      const policy = /^add backup policy succeed, policy_name = (.*)$/m.exec(printed);
      if (policy) addedPolicies.add(policy[1]!);
      if (/^adding duplication succeed/m.test(printed)) addedDuplication = true;
    },
    async finish() {
      await meta?.close();
      await cluster.checkAlive();
      const after = await cluster.snapshot();
      assertUnchanged(before, after, [...(addedPolicies.size > 0 ? ['backupPolicies' as const] : []), ...(addedDuplication ? ['duplications' as const] : [])]);
      for (const name of addedPolicies) assert.ok(after.backupPolicies.includes(JSON.stringify(name)), `policy ${name} was added but is not listed`);
    },
    show: (input) => JSON.stringify(input.line),
  };
}

export interface ClusterFuzzerSpec {
  name: string;
  description: string;
  create(cluster: FuzzCluster): Fuzzer<any>;
}

function spec(create: (cluster: FuzzCluster) => Fuzzer<any>): ClusterFuzzerSpec {
  // The name and description come from the fuzzer itself; creating one does nothing yet.
  const sample = create(undefined as unknown as FuzzCluster);
  return { name: sample.name, description: sample.description, create };
}

export const CLUSTER_FUZZERS: readonly ClusterFuzzerSpec[] = [
  spec(startCompactionFuzzer), spec(usageScenarioFuzzer), spec(metaParamsFuzzer), spec(postBodiesFuzzer), spec(apiFuzzer), spec(updateConfigFuzzer), spec(shellClusterFuzzer),
];
