// The /api handler without a network: envelopes, error texts, exec timeouts on a manual clock,
// the auth gate for any client address, command-line and argument parsing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { commandApiOf, createCommandApi, registerCommandApi, type CommandApi } from '../../src/diag/api.ts';
import { authorize, isLoopback, presentedCredentials, resolveAuthConfig, type AuthConfig } from '../../src/diag/auth.ts';
import { flushPromises, ManualClock } from '../../src/diag/clock.ts';
import { createBuiltinCommands } from '../../src/diag/commands/index.ts';
import { parseArguments, type CommandSpec } from '../../src/diag/commands/registry.ts';
import { DEFAULT_SESSION_LIMITS } from '../../src/diag/sessions.ts';
import { CommandLineError, parseCommandLine } from '../../src/diag/tokenize.ts';
import { serverEntity } from '../../src/metrics/index.ts';
import { HttpRouter, type AdminRequest, type AdminResponse } from '../../src/net/index.ts';
import { log } from '../../src/base/index.ts';

log.level = 'silent';

type Json = Record<string, any>;

const sleepyCommand: CommandSpec = {
  name: 'sleepy',
  summary: 'Sleeps until interrupted',
  async run({ append, sleep }) {
    append({ type: 'message', message: 'started' });
    await sleep(10 * 24 * 3600 * 1000);
  },
};
const boomCommand: CommandSpec = {
  name: 'boom',
  summary: 'Throws',
  run() {
    throw new RangeError('kaput');
  },
};
const typedCommand: CommandSpec = {
  name: 'typed',
  summary: 'Echoes its typed arguments',
  options: [
    { name: 'count', short: 'n', type: 'integer', description: 'count', min: 1, max: 10 },
    { name: 'verbose', short: 'v', type: 'boolean', description: 'verbose' },
    { name: 'label', type: 'string', description: 'label', defaultValue: 'none' },
  ],
  arguments: [
    { name: 'target', type: 'string', required: true, description: 'target' },
    { name: 'rest', type: 'string', variadic: true, description: 'rest' },
  ],
  run({ append, args }) {
    append({ type: 'typed', count: args.integer('count'), verbose: args.flag('verbose'), label: args.text('label'), target: args.argument('target'), rest: args.argument('rest') });
  },
};

const OPEN: AuthConfig = resolveAuthConfig('', '', true);

function setup(options: { auth?: AuthConfig; clock?: ManualClock } = {}): { api: CommandApi; clock: ManualClock } {
  const clock = options.clock ?? new ManualClock();
  const commands = createBuiltinCommands().register(sleepyCommand).register(boomCommand).register(typedCommand);
  const api = createCommandApi(commands, {
    server: { role: 'replica', version: '2.6.0-pteron-test', port: 1, startTime: new Date(0) },
    clock,
    limits: () => DEFAULT_SESSION_LIMITS,
    auth: options.auth ?? OPEN,
    execTimeoutDefaultMs: () => 30000,
  });
  return { api, clock };
}

interface CallOptions {
  method?: string;
  remoteAddress?: string;
  headers?: IncomingHttpHeaders;
  query?: Record<string, string>;
  raw?: string;
}

function request(body: unknown, options: CallOptions = {}): AdminRequest {
  return {
    method: options.method ?? 'POST',
    path: 'api',
    query: new Map(Object.entries(options.query ?? {})),
    rawQuery: '',
    body: Buffer.from(options.raw ?? (body === undefined ? '' : JSON.stringify(body))),
    headers: options.headers ?? {},
    remoteAddress: options.remoteAddress ?? '127.0.0.1',
  };
}

function parse(response: AdminResponse): Json {
  assert.equal(response.status, 200);
  assert.equal(response.contentType, 'application/json; charset=utf-8');
  return JSON.parse(String(response.body)) as Json;
}

async function call(api: CommandApi, body: unknown, options: CallOptions = {}): Promise<Json> {
  return parse(await api.handle(request(body, options)));
}

/** Settles a handler call that waits on the manual clock. */
async function callWithClock(api: CommandApi, clock: ManualClock, body: unknown, stepMs = 100): Promise<{ json: Json; tookMs: number }> {
  const startMs = clock.now();
  let response: AdminResponse | undefined;
  void api.handle(request(body)).then((value) => (response = value));
  await flushPromises();
  while (!response) {
    assert.ok(clock.now() - startMs < 600_000, 'the call never returned');
    await clock.advance(stepMs);
  }
  return { json: parse(response), tookMs: clock.now() - startMs };
}

async function initSession(api: CommandApi): Promise<{ sessionId: string; consumerId: string }> {
  const json = await call(api, { action: 'init_session' });
  return { sessionId: json.sessionId, consumerId: json.consumerId };
}

async function pull(api: CommandApi, clock: ManualClock, sessionId: string, consumerId: string): Promise<Json[]> {
  const { json } = await callWithClock(api, clock, { action: 'pull_results', sessionId, consumerId }, 50);
  assert.equal(json.state, 'SUCCEEDED');
  return json.body.results as Json[];
}

const summary = (results: Json[]): unknown[] => results.map((r) => [r.type, r.jobId, r.inputStatus ?? r.statusCode ?? r.state ?? r.message ?? '']);

describe('/api envelope and request errors', () => {
  test('non-POST methods are refused inside a 200 JSON envelope', async () => {
    const { api } = setup();
    for (const method of ['GET', 'OPTIONS', 'PUT', 'DELETE']) {
      assert.deepEqual(await call(api, undefined, { method }), { message: `Unsupported http method: ${method}`, state: 'REFUSED' });
    }
    api.close();
  });

  test('unparsable bodies fail with the parse prefix and no requestId', async () => {
    const { api } = setup();
    assert.deepEqual(await call(api, undefined, { raw: '' }), { message: 'Process request error: parse request failed: request body is empty', state: 'FAILED' });
    assert.deepEqual(await call(api, undefined, { raw: ' \n ' }), { message: 'Process request error: parse request failed: request body is empty', state: 'FAILED' });
    for (const raw of ['{', '{"requestId":"r1",', '[1,2]', '"exec"', '{"action":{"a":1},"requestId":"r1"}', '{"action":"exec","execTimeout":"soon","requestId":"r1"}', '{"action":"exec","execTimeout":1.5}']) {
      const json = await call(api, undefined, { raw });
      assert.equal(json.state, 'FAILED', raw);
      assert.match(json.message, /^Process request error: parse request failed: ./, raw);
      assert.deepEqual(Object.keys(json), ['message', 'state'], raw);
    }
    api.close();
  });

  test('an execTimeout of the wrong type is named by its kind, however deep it nests', async () => {
    const { api } = setup();
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    for (const [execTimeout, described] of [[deep, 'an array'], ['{"a":{"b":1}}', 'an object'], ['true', 'true'], [JSON.stringify('x'.repeat(100)), `"${'x'.repeat(63)}…`]]) {
      const json = await call(api, undefined, { raw: `{"action":"exec","command":"version","execTimeout":${execTimeout}}` });
      assert.deepEqual(json, { message: `Process request error: parse request failed: field 'execTimeout' must be an integer number of milliseconds, got ${described}`, state: 'FAILED' });
    }
    api.close();
  });

  test("missing, blank and unknown actions; the requestId is echoed once the body parsed", async () => {
    const { api } = setup();
    assert.deepEqual(await call(api, { requestId: 'r1' }), { message: "'action' is required", requestId: 'r1', state: 'FAILED' });
    assert.deepEqual(await call(api, { action: '  ', requestId: 'r2' }), { message: "'action' is required", requestId: 'r2', state: 'FAILED' });
    assert.deepEqual(await call(api, { action: 'Launch', requestId: 'r3' }), { message: 'unknown action: Launch', requestId: 'r3', state: 'FAILED' });
    assert.deepEqual(await call(api, { action: ' pull-results ' }), { message: 'unknown action:  pull-results ', state: 'FAILED' });
    api.close();
  });

  test('actions are trimmed and case-folded; unknown fields are ignored', async () => {
    const { api } = setup();
    const json = await call(api, { action: ' INIT_Session ', extra: [1, 2], requestId: 7 });
    assert.deepEqual(Object.keys(json), ['consumerId', 'requestId', 'sessionId', 'state']);
    assert.equal(json.requestId, '7');
    assert.match(json.sessionId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(json.consumerId, /^[0-9a-f]{32}_1$/);
    api.close();
  });

  test("every action but init_session and exec needs a session; blank ids count as absent", async () => {
    const { api } = setup();
    for (const action of ['async_exec', 'interrupt_job', 'pull_results', 'join_session', 'close_session', 'session_info']) {
      assert.deepEqual(await call(api, { action, sessionId: '', consumerId: '' }), { message: "'sessionId' is required", state: 'FAILED' }, action);
      assert.deepEqual(await call(api, { action, sessionId: 'nope' }), { message: 'session not found: nope', state: 'FAILED' }, action);
    }
    assert.deepEqual(await call(api, { action: 'exec', command: 'version', sessionId: 'nope' }), { message: 'session not found: nope', state: 'FAILED' });
    api.close();
  });

  test('an unexpected error inside an action is reported, not thrown', async () => {
    const { api } = setup();
    const { sessionId } = await initSession(api);
    const distributor = api.sessions.getSession(sessionId)!.distributor!;
    const getConsumer = distributor.getConsumer;
    distributor.getConsumer = () => {
      throw new Error('broken');
    };
    assert.deepEqual(await call(api, { action: 'pull_results', sessionId, consumerId: 'x' }), { message: 'process http api request failed: broken', state: 'FAILED' });
    distributor.getConsumer = getConsumer;
    api.close();
  });
});

describe('/api sessions', () => {
  test('init_session: welcome message, welcome, ALLOW_INPUT; session_info; close_session', async () => {
    const { api, clock } = setup();
    const { sessionId, consumerId } = await initSession(api);
    const createTime = clock.now();
    const results = await pull(api, clock, sessionId, consumerId);
    assert.deepEqual(results[0], { jobId: 0, message: 'Welcome to pteron!', type: 'message' });
    assert.deepEqual(Object.keys(results[1]!), ['jobId', 'mainClass', 'pid', 'time', 'type', 'version']);
    assert.equal(results[1]!.type, 'welcome');
    assert.equal(results[1]!.pid, String(process.pid));
    assert.equal(results[1]!.version, '2.6.0-pteron-test');
    assert.match(results[1]!.time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    assert.deepEqual(results[2], { inputStatus: 'ALLOW_INPUT', jobId: 0, type: 'input_status' });
    await clock.advance(5000);
    const info = await call(api, { action: 'session_info', sessionId });
    assert.deepEqual(info, { body: { createTime, lastAccessTime: clock.now(), pid: process.pid }, sessionId, state: 'SUCCEEDED' });
    assert.deepEqual(await call(api, { action: 'close_session', sessionId }), { state: 'SUCCEEDED' });
    assert.deepEqual(await call(api, { action: 'session_info', sessionId }), { message: `session not found: ${sessionId}`, state: 'FAILED' });
    api.close();
  });

  test('pull_results: consumer required and looked up in this session only', async () => {
    const { api } = setup();
    const first = await initSession(api);
    const second = await initSession(api);
    assert.deepEqual(await call(api, { action: 'pull_results', sessionId: first.sessionId }), { message: "'consumerId' is required", state: 'FAILED' });
    assert.deepEqual(await call(api, { action: 'pull_results', sessionId: first.sessionId, consumerId: second.consumerId }), { message: `consumer not found: ${second.consumerId}`, state: 'FAILED' });
    api.close();
  });

  test('join_session: a second consumer gets DISABLED, the history, the latest input status', async () => {
    const { api, clock } = setup();
    const { sessionId } = await initSession(api);
    const joined = await call(api, { action: 'join_session', sessionId });
    assert.deepEqual(Object.keys(joined), ['consumerId', 'sessionId', 'state']);
    assert.match(joined.consumerId, /_2$/);
    const results = await pull(api, clock, sessionId, joined.consumerId);
    assert.deepEqual(summary(results), [
      ['input_status', 0, 'DISABLED'],
      ['message', 0, 'Welcome to pteron!'],
      ['welcome', 0, ''],
      ['input_status', 0, 'ALLOW_INPUT'],
    ]);
    api.close();
  });

  test('close_session ends a blocked pull at once and interrupts the foreground job', async () => {
    const { api, clock } = setup();
    const { sessionId, consumerId } = await initSession(api);
    await pull(api, clock, sessionId, consumerId);
    const scheduled = await call(api, { action: 'async_exec', sessionId, command: 'sleepy' });
    const job = api.sessions.findJob(scheduled.body.jobId)!;
    await pull(api, clock, sessionId, consumerId);
    let pulled: AdminResponse | undefined;
    void api.handle(request({ action: 'pull_results', sessionId, consumerId })).then((value) => (pulled = value));
    await clock.advance(300);
    assert.equal(pulled, undefined, 'still waiting');
    assert.deepEqual(await call(api, { action: 'close_session', sessionId }), { state: 'SUCCEEDED' });
    await flushPromises();
    assert.ok(pulled, 'the pull returned without waiting for its 2 s');
    assert.equal(job.status, 'TERMINATED');
    api.close();
  });
});

describe('/api exec', () => {
  test('a one-time exec returns the results and the status, then the session is gone', async () => {
    const { api } = setup();
    const json = await call(api, { action: 'exec', command: 'version', requestId: 'q' });
    assert.deepEqual(json, {
      body: {
        command: 'version',
        jobId: 1,
        jobStatus: 'TERMINATED',
        results: [
          { jobId: 1, type: 'version', version: '2.6.0-pteron-test' },
          { jobId: 1, statusCode: 0, type: 'status' },
        ],
        timeExpired: false,
      },
      requestId: 'q',
      sessionId: json.sessionId,
      state: 'SUCCEEDED',
    });
    assert.equal(api.sessions.getSession(json.sessionId), undefined);
    assert.equal(api.sessions.sessionCount, 0);
    api.close();
  });

  test('unknown, missing and malformed commands fail with the exec prefix and still use a job id', async () => {
    const { api } = setup();
    const unknown = await call(api, { action: 'exec', command: 'jad Foo' });
    assert.deepEqual(unknown, { body: { command: 'jad Foo' }, message: 'Exec command failed:jad: command not found', sessionId: unknown.sessionId, state: 'FAILED' });
    const missing = await call(api, { action: 'exec' });
    assert.deepEqual(missing, { body: {}, message: "Exec command failed:'command' is required", sessionId: missing.sessionId, state: 'FAILED' });
    const blank = await call(api, { action: 'exec', command: '   ' });
    assert.equal(blank.message, "Exec command failed:'command' is required");
    const quote = await call(api, { action: 'exec', command: 'help "dash' });
    assert.equal(quote.message, 'Exec command failed:unclosed quote " in command line');
    const next = await call(api, { action: 'exec', command: 'version' });
    assert.equal(next.body.jobId, 5);
    assert.equal(api.sessions.sessionCount, 0);
    api.close();
  });

  test('bad arguments: SUCCEEDED with one status -10 carrying the parse message', async () => {
    const { api } = setup();
    const cases: Array<[string, string]> = [
      ['typed', "The argument 'target' is required"],
      ['typed x -n', "The option 'count' requires a value"],
      ['typed x -n many', "The option 'count' expects an integer, got 'many'"],
      ['typed x --count=11', "The option 'count' must be at most 10, got 11"],
      ['typed x --bogus', "Unknown option '--bogus'"],
      ['typed x -q', "Unknown option '-q'"],
      ['typed x -v=maybe', "The option 'verbose' is a switch and takes no value, got 'maybe'"],
      ['dashboard -i 5', "The option 'interval' must be at least 100, got 5"],
      ['version extra', "Too many arguments: 'extra'"],
      ['kill', "The argument 'job-id' is required"],
    ];
    for (const [command, message] of cases) {
      const json = await call(api, { action: 'exec', command });
      assert.equal(json.state, 'SUCCEEDED', command);
      assert.deepEqual(json.body.results, [{ jobId: json.body.jobId, message, statusCode: -10, type: 'status' }], command);
    }
    const ok = await call(api, { action: 'exec', command: 'typed  "a b" -n 3 --verbose --label=x c d' });
    assert.deepEqual(ok.body.results[0], { count: 3, jobId: ok.body.jobId, label: 'x', rest: ['c', 'd'], target: 'a b', type: 'typed', verbose: true });
    api.close();
  });

  test('a command that throws ends with status 1 and a message; -h shows help and ends with -10', async () => {
    const { api } = setup();
    const boom = await call(api, { action: 'exec', command: 'boom' });
    assert.equal(boom.state, 'SUCCEEDED');
    assert.equal(boom.body.results.length, 1);
    assert.equal(boom.body.results[0].statusCode, 1);
    assert.match(boom.body.results[0].message, /^Error during processing the command: RangeError, message:kaput/);
    const help = await call(api, { action: 'exec', command: 'dashboard -h' });
    assert.deepEqual(summary(help.body.results), [['help', help.body.jobId, ''], ['status', help.body.jobId, -10]]);
    assert.equal(help.body.results[0].detailCommand.name, 'dashboard');
    api.close();
  });

  test('past execTimeout the job is interrupted: INTERRUPTED, timeExpired, timeout, the results so far and status 0', async () => {
    const { api, clock } = setup();
    const { json, tookMs } = await callWithClock(api, clock, { action: 'exec', command: 'sleepy', execTimeout: '1500' });
    assert.equal(tookMs, 1500);
    assert.deepEqual(json, {
      body: {
        command: 'sleepy',
        jobId: 1,
        jobStatus: 'TERMINATED',
        results: [
          { jobId: 1, message: 'started', type: 'message' },
          { jobId: 1, statusCode: 0, type: 'status' },
        ],
        timeExpired: true,
        timeout: 1500,
      },
      message: 'The job is exceeded time limit, force interrupt',
      sessionId: json.sessionId,
      state: 'INTERRUPTED',
    });
    assert.equal(api.sessions.jobs().length, 0);
    api.close();
  });

  test('execTimeout missing, null, zero or negative means the default', async () => {
    const { api, clock } = setup();
    for (const execTimeout of [undefined, null, 0, -5, '0']) {
      const { json, tookMs } = await callWithClock(api, clock, { action: 'exec', command: 'sleepy', execTimeout }, 1000);
      assert.equal(tookMs, 30000, String(execTimeout));
      assert.equal(json.body.timeout, 30000);
    }
    api.close();
  });

  test('exec in a session: its results stay in the response; the consumers see only the input statuses', async () => {
    const { api, clock } = setup();
    const { sessionId, consumerId } = await initSession(api);
    await pull(api, clock, sessionId, consumerId);
    const json = await call(api, { action: 'exec', command: 'version', sessionId });
    assert.equal(json.sessionId, sessionId);
    assert.equal(json.body.results.length, 2);
    assert.deepEqual(summary(await pull(api, clock, sessionId, consumerId)), [
      ['input_status', 0, 'ALLOW_INTERRUPT'],
      ['input_status', 0, 'ALLOW_INPUT'],
    ]);
    assert.ok(api.sessions.getSession(sessionId), 'a named session outlives its exec');
    api.close();
  });
});

describe('/api async_exec and interrupt_job', () => {
  test('async_exec: SCHEDULED/READY, then command, ALLOW_INTERRUPT, results, status, ALLOW_INPUT on the stream', async () => {
    const { api, clock } = setup();
    const { sessionId, consumerId } = await initSession(api);
    await pull(api, clock, sessionId, consumerId);
    const json = await call(api, { action: 'async_exec', sessionId, command: 'version' });
    assert.deepEqual(json, { body: { command: 'version', jobId: 1, jobStatus: 'READY' }, sessionId, state: 'SCHEDULED' });
    assert.deepEqual(summary(await pull(api, clock, sessionId, consumerId)), [
      ['command', 1, 'SCHEDULED'],
      ['input_status', 0, 'ALLOW_INTERRUPT'],
      ['version', 1, ''],
      ['status', 1, 0],
      ['input_status', 0, 'ALLOW_INPUT'],
    ]);
    api.close();
  });

  test('a second job while one runs is refused, for exec and async_exec alike', async () => {
    const { api } = setup();
    const { sessionId } = await initSession(api);
    await call(api, { action: 'async_exec', sessionId, command: 'sleepy' });
    assert.deepEqual(await call(api, { action: 'async_exec', sessionId, command: 'version' }), { body: { command: 'version' }, message: 'Another job is running.', sessionId, state: 'REFUSED' });
    assert.deepEqual(await call(api, { action: 'exec', sessionId, command: 'version' }), { body: { command: 'version' }, message: 'Another job is running.', sessionId, state: 'REFUSED' });
    api.close();
  });

  test('async_exec of an unknown command fails and tells the consumers, with job id 0', async () => {
    const { api, clock } = setup();
    const { sessionId, consumerId } = await initSession(api);
    await pull(api, clock, sessionId, consumerId);
    const json = await call(api, { action: 'async_exec', sessionId, command: 'watch a b' });
    assert.deepEqual(json, { body: { command: 'watch a b' }, message: 'Async exec command failed:watch: command not found', sessionId, state: 'FAILED' });
    assert.deepEqual(await pull(api, clock, sessionId, consumerId), [
      { command: 'watch a b', jobId: 0, message: 'Async exec command failed:watch: command not found', state: 'FAILED', type: 'command' },
    ]);
    api.close();
  });

  test('interrupt_job: no foreground job; READY job; running job ends with status 0 and ALLOW_INPUT', async () => {
    const { api, clock } = setup();
    const { sessionId, consumerId } = await initSession(api);
    await pull(api, clock, sessionId, consumerId);
    assert.deepEqual(await call(api, { action: 'interrupt_job', sessionId }), { message: 'no foreground job is running', state: 'FAILED' });
    // Interrupting in the same tick as the job's creation, before it started.
    const session = api.sessions.getSession(sessionId)!;
    const ready = api.sessions.startJob({ session, line: 'sleepy', body: () => {}, sink: session.distributor!, background: false });
    const raced = api.handle(request({ action: 'interrupt_job', sessionId }));
    assert.equal(ready.status, 'READY');
    assert.deepEqual(parse(await raced), { message: 'process http api request failed: Cannot interrupt process in READY state', state: 'FAILED' });
    await pull(api, clock, sessionId, consumerId);
    const scheduled = await call(api, { action: 'async_exec', sessionId, command: 'sleepy' });
    await clock.advance(10);
    assert.deepEqual(await call(api, { action: 'interrupt_job', sessionId }), { body: { jobId: scheduled.body.jobId, jobStatus: 'TERMINATED' }, state: 'SUCCEEDED' });
    const jobId = scheduled.body.jobId;
    assert.deepEqual(summary(await pull(api, clock, sessionId, consumerId)), [
      ['command', jobId, 'SCHEDULED'],
      ['input_status', 0, 'ALLOW_INTERRUPT'],
      ['message', jobId, 'started'],
      ['status', jobId, 0],
      ['input_status', 0, 'ALLOW_INPUT'],
    ]);
    api.close();
  });

  test('background jobs: & frees the input, jobs lists them, kill ends them with -10', async () => {
    const { api, clock } = setup();
    const { sessionId, consumerId } = await initSession(api);
    await pull(api, clock, sessionId, consumerId);
    const started = await call(api, { action: 'async_exec', sessionId, command: 'sleepy &' });
    const jobId = started.body.jobId;
    const jobs = await call(api, { action: 'exec', sessionId, command: 'jobs' });
    assert.deepEqual(jobs.body.results[0].jobs.map((job: Json) => [job.id, job.command, job.status, job.foreground]), [
      [jobId, 'sleepy &', 'RUNNING', false],
      [jobs.body.jobId, 'jobs', 'RUNNING', true],
    ]);
    const other = await call(api, { action: 'exec', command: 'kill ' + jobId });
    assert.deepEqual(other.body.results, [{ jobId: other.body.jobId, message: `no running job ${jobId} in this session`, statusCode: 1, type: 'status' }]);
    const killed = await call(api, { action: 'exec', sessionId, command: `kill ${jobId}` });
    assert.deepEqual(killed.body.results[0], { jobId: killed.body.jobId, jobStatus: 'TERMINATED', killedJobId: jobId, type: 'kill' });
    const stream = summary(await pull(api, clock, sessionId, consumerId));
    assert.deepEqual(stream.slice(0, 4), [
      ['command', jobId, 'SCHEDULED'],
      ['input_status', 0, 'ALLOW_INPUT'],
      ['message', jobId, 'started'],
      ['input_status', 0, 'ALLOW_INTERRUPT'],
    ]);
    assert.ok(stream.some((entry) => JSON.stringify(entry) === JSON.stringify(['status', jobId, -10])));
    api.close();
  });
});

describe('/api auth gate', () => {
  const counter = () => serverEntity().metrics.get('api_auth_failures') as unknown as { value: number };

  test('without a password only loopback clients are served; refusals are 401 and counted', async () => {
    const { api } = setup();
    const before = counter().value;
    const refused = await api.handle(request({ action: 'exec', command: 'version' }, { remoteAddress: '10.1.2.3' }));
    assert.deepEqual(refused, { status: 401, body: '', contentType: 'text/plain', headers: { 'WWW-Authenticate': 'Basic realm="pteron"' } });
    const withCredentials = await api.handle(request({ action: 'exec', command: 'version' }, {
      remoteAddress: '192.168.0.9', headers: { authorization: `Basic ${Buffer.from('pteron:x').toString('base64')}` },
    }));
    assert.equal(withCredentials.status, 401);
    assert.equal(counter().value, before + 2);
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '127.1.2.3']) {
      assert.equal((await call(api, { action: 'exec', command: 'version' }, { remoteAddress: address })).state, 'SUCCEEDED', address);
    }
    api.close();
  });

  test('with a password: Basic auth or URL parameters from anywhere; loopback bypass only when allowed', async () => {
    const strict = resolveAuthConfig('ops', 's3cret', false);
    const { api } = setup({ auth: strict });
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    const body = { action: 'exec', command: 'version' };
    assert.equal((await api.handle(request(body))).status, 401, 'loopback without credentials');
    assert.equal((await api.handle(request(body, { headers: basic('ops', 'wrong') }))).status, 401);
    assert.equal((await api.handle(request(body, { headers: basic('root', 's3cret') }))).status, 401);
    assert.equal((await api.handle(request(body, { headers: { authorization: 'Bearer s3cret' } }))).status, 401);
    assert.equal((await call(api, body, { headers: basic('ops', 's3cret'), remoteAddress: '10.0.0.5' })).state, 'SUCCEEDED');
    assert.equal((await call(api, body, { query: { username: 'ops', password: 's3cret' }, remoteAddress: '10.0.0.5' })).state, 'SUCCEEDED');
    api.close();
    const relaxed = setup({ auth: resolveAuthConfig('', 's3cret', true) });
    assert.equal((await call(relaxed.api, body)).state, 'SUCCEEDED', 'loopback bypass');
    assert.equal((await relaxed.api.handle(request(body, { remoteAddress: '10.0.0.5' }))).status, 401);
    assert.equal((await call(relaxed.api, body, { remoteAddress: '10.0.0.5', query: { password: 's3cret' } })).state, 'SUCCEEDED', 'default user name');
    assert.equal((await relaxed.api.handle(request(body, { headers: basic('pteron', 'nope') }))).status, 401, 'wrong credentials are refused even on loopback');
    relaxed.api.close();
  });
});

describe('auth rules', () => {
  test('resolveAuthConfig follows the two settings', () => {
    assert.equal(resolveAuthConfig('', '', true).required, false);
    assert.deepEqual(resolveAuthConfig('', 'pw', false), { required: true, username: 'pteron', password: 'pw', localConnectionNonAuth: false });
    let generated = '';
    const config = resolveAuthConfig('ops', '', true, (password) => (generated = password));
    assert.equal(config.username, 'ops');
    assert.ok(generated.length >= 32);
    assert.equal(config.password, generated);
  });

  test('a sha256:<hex> password is compared by digest', () => {
    const hex = createHash('sha256').update('letmein').digest('hex');
    const config = resolveAuthConfig('', `sha256:${hex}`, false);
    assert.deepEqual(authorize(config, '10.0.0.1', { username: 'pteron', password: 'letmein' }), { allowed: true, username: 'pteron' });
    assert.equal(authorize(config, '10.0.0.1', { username: 'pteron', password: `sha256:${hex}` }).allowed, false);
  });

  test('loopback detection and credential parsing', () => {
    assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('::ffff:127.0.0.1'));
    assert.ok(!isLoopback('10.0.0.1') && !isLoopback('::ffff:10.0.0.1') && !isLoopback('') && !isLoopback('128.0.0.1'));
    const query = new Map<string, string>();
    assert.equal(presentedCredentials({}, query), undefined);
    assert.deepEqual(presentedCredentials({ authorization: `basic ${Buffer.from('a:b:c').toString('base64')}` }, query), { username: 'a', password: 'b:c' });
    assert.equal(presentedCredentials({ authorization: 'Basic !!!' }, query), 'malformed');
    assert.equal(presentedCredentials({ authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }, query), 'malformed');
    assert.deepEqual(presentedCredentials({}, new Map([['password', 'p']])), { username: 'pteron', password: 'p' });
    assert.equal(authorize(OPEN, '127.0.0.1', 'malformed').allowed, true, 'no password configured: loopback is enough');
    assert.deepEqual(authorize(resolveAuthConfig('', 'pw', true), '127.0.0.1', 'malformed'), { allowed: false, reason: 'malformed Authorization header' });
  });
});

describe('command lines and arguments', () => {
  test('tokenising: blanks, quotes, escapes, background', () => {
    assert.deepEqual(parseCommandLine('  thread   -i 10 '), { words: ['thread', '-i', '10'], background: false });
    assert.deepEqual(parseCommandLine(`a "b c" 'd "e"' f\\ g "h\\"i"`), { words: ['a', 'b c', 'd "e"', 'f g', 'h"i'], background: false });
    assert.deepEqual(parseCommandLine('dashboard &'), { words: ['dashboard'], background: true });
    assert.deepEqual(parseCommandLine('dashboard&'), { words: ['dashboard'], background: true });
    assert.deepEqual(parseCommandLine('echo "&"'), { words: ['echo', '&'], background: false });
    assert.deepEqual(parseCommandLine('grep "|"'), { words: ['grep', '|'], background: false });
    assert.throws(() => parseCommandLine('thread | grep main'), CommandLineError);
    assert.throws(() => parseCommandLine("it's"), /unclosed quote '/);
  });

  test('options: long, long=value, short, short+value glued, --, negative numbers as arguments', () => {
    const args = parseArguments(typedCommand, ['-n5', '--', '-v', '-3']);
    assert.equal(args.integer('count'), 5);
    assert.equal(args.flag('verbose'), false);
    assert.equal(args.text('label'), 'none');
    assert.equal(args.argument('target'), '-v');
    assert.deepEqual(args.argument('rest'), ['-3']);
    assert.equal(parseArguments(typedCommand, ['x', '--help']).help, true);
    assert.equal(parseArguments(typedCommand, ['-h']).help, true, 'help needs no required argument');
    assert.throws(() => args.integer('verbose'), /has no integer option "verbose"/);
  });

  test('the registry refuses bad specs and hides disabled commands', () => {
    const registry = createBuiltinCommands();
    assert.throws(() => registry.register({ ...sleepyCommand, name: 'version' }), /registered twice/);
    assert.throws(() => registry.register({ ...sleepyCommand, name: 'Bad Name' }), /bad command name/);
    assert.throws(() => registry.register({ ...sleepyCommand, name: 'v2', arguments: [{ name: 'a', type: 'string', variadic: true, description: '' }, { name: 'b', type: 'string', description: '' }] }), /only the last argument/);
    registry.setDisabled((name) => name === 'sysenv');
    assert.equal(registry.find('sysenv'), undefined);
    assert.ok(!registry.list().some((spec) => spec.name === 'sysenv'));
    assert.ok(registry.find('sysprop'));
  });
});

describe('registering the API and extra commands', () => {
  test('a role finds the API of its router and adds a command that /api then runs', async () => {
    const router = new HttpRouter();
    const clock = new ManualClock();
    const registered = registerCommandApi(router, createBuiltinCommands(), {
      server: { role: 'meta', version: 'v', port: 1, startTime: new Date(0) }, clock, auth: OPEN,
    });
    assert.equal(commandApiOf(router), registered);
    assert.deepEqual(router.find('api')?.methods, ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
    commandApiOf(router)!.commands.register({
      name: 'nodes',
      summary: 'List the replica servers the meta knows',
      options: [{ name: 'detailed', short: 'd', type: 'boolean', description: 'More columns' }],
      run({ append, args }) {
        append({ type: 'nodes', detailed: args.flag('detailed'), nodes: [] });
      },
    });
    const answer = parse(await router.find('api')!.handler(request({ action: 'exec', command: 'nodes -d' })));
    assert.deepEqual(answer.body.results, [
      { detailed: true, jobId: 1, nodes: [], type: 'nodes' },
      { jobId: 1, statusCode: 0, type: 'status' },
    ]);
    registered.close();
  });
});
