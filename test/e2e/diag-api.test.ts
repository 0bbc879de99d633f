// POST /api against real replica processes: every action and error path over HTTP, the
// built-in commands' result shapes, shared sessions, interrupts, timeouts, expiry and auth.
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { sleep, startPteron, type RunningProcess } from '../helpers/process.ts';

type Json = Record<string, any>;

let main: RunningProcess;
let expiring: RunningProcess;
let guarded: RunningProcess;
let outputDir: string;

before(async () => {
  outputDir = await mkdtemp(path.join(os.tmpdir(), 'pteron-diag-'));
  [main, expiring, guarded] = await Promise.all([
    startPteron('replica', { args: ['--set', `diag.api_output_dir=${outputDir}`] }),
    startPteron('replica', {
      args: ['--set', 'diag.api_session_timeout_s=2', '--set', 'diag.api_consumer_timeout_ms=700', '--set', 'diag.api_reaper_interval_ms=100'],
    }),
    startPteron('replica', {
      args: ['--set', 'diag.api_username=ops', '--set', 'diag.api_password=s3cret', '--set', 'diag.api_local_connection_non_auth=false'],
    }),
  ]);
});

after(async () => {
  await Promise.all([main?.stop(), expiring?.stop(), guarded?.stop()]);
  if (outputDir) await rm(outputDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  contentType: string | null;
  text: string;
  json: Json;
}

async function post(server: RunningProcess, body: unknown, init: { method?: string; raw?: string; headers?: Record<string, string>; query?: string } = {}): Promise<Answer> {
  const method = init.method ?? 'POST';
  const response = await fetch(`${server.url}/api${init.query ?? ''}`, {
    method,
    headers: init.headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : (init.raw ?? JSON.stringify(body)),
  });
  const text = await response.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // a 401 has no body
  }
  return { status: response.status, contentType: response.headers.get('content-type'), text, json };
}

async function api(server: RunningProcess, body: unknown): Promise<Json> {
  const answer = await post(server, body);
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.contentType, 'application/json; charset=utf-8');
  return answer.json;
}

async function exec(command: string, extra: Json = {}): Promise<Json> {
  const json = await api(main, { action: 'exec', command, ...extra });
  assert.equal(json.state, 'SUCCEEDED', JSON.stringify(json));
  return json;
}

/** The command's results and its status 0, for a command expected to succeed. */
async function execOk(command: string): Promise<Json[]> {
  const json = await exec(command);
  const results = json.body.results as Json[];
  assert.deepEqual(results.at(-1), { jobId: json.body.jobId, statusCode: 0, type: 'status' }, `${command}: ${JSON.stringify(results.at(-1))}`);
  return results.slice(0, -1);
}

async function initSession(server: RunningProcess): Promise<{ sessionId: string; consumerId: string }> {
  const json = await api(server, { action: 'init_session' });
  assert.equal(json.state, 'SUCCEEDED');
  return { sessionId: json.sessionId, consumerId: json.consumerId };
}

async function pull(server: RunningProcess, sessionId: string, consumerId: string): Promise<Json[]> {
  const json = await api(server, { action: 'pull_results', sessionId, consumerId });
  assert.equal(json.state, 'SUCCEEDED', JSON.stringify(json));
  return json.body.results as Json[];
}

/** Pulls until `done` holds for what was collected (or the time is up). */
async function pullUntil(server: RunningProcess, sessionId: string, consumerId: string, done: (results: Json[]) => boolean, timeoutMs = 15000): Promise<Json[]> {
  const collected: Json[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(collected)) {
    assert.ok(Date.now() < deadline, `pulled for ${timeoutMs} ms: ${JSON.stringify(collected.map((r) => r.type))}`);
    collected.push(...(await pull(server, sessionId, consumerId)));
  }
  return collected;
}

const endsWithInput = (results: Json[]): boolean => results.at(-1)?.inputStatus === 'ALLOW_INPUT' && results.some((r) => r.type === 'status');
const summary = (results: Json[]): unknown[] => results.map((r) => [r.type, r.jobId, r.inputStatus ?? r.statusCode ?? r.state ?? '']);

describe('/api request errors over HTTP', () => {
  test('non-POST methods: 200 with REFUSED, JSON content type', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS']) {
      const answer = await post(main, undefined, { method });
      assert.equal(answer.status, 200);
      assert.equal(answer.contentType, 'application/json; charset=utf-8');
      assert.equal(answer.text, `{"message":"Unsupported http method: ${method}","state":"REFUSED"}`);
    }
  });

  test('empty and malformed bodies, missing and unknown actions', async () => {
    assert.equal((await post(main, undefined, { raw: '' })).text, '{"message":"Process request error: parse request failed: request body is empty","state":"FAILED"}');
    const malformed = await post(main, undefined, { raw: '{"action":"exec",' });
    assert.equal(malformed.json.state, 'FAILED');
    assert.match(malformed.json.message, /^Process request error: parse request failed: /);
    assert.equal(malformed.json.requestId, undefined);
    // curl -d sends a form content type; the body is read as JSON regardless.
    const form = await post(main, undefined, { raw: '{"action":"exec","command":"version"}', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.json.state, 'SUCCEEDED');
    assert.deepEqual(await api(main, { requestId: 'a1' }), { message: "'action' is required", requestId: 'a1', state: 'FAILED' });
    assert.deepEqual(await api(main, { action: 'run', requestId: 'a2' }), { message: 'unknown action: run', requestId: 'a2', state: 'FAILED' });
  });

  test("'sessionId' is required, and unknown sessions are not found, for every session action", async () => {
    for (const action of ['async_exec', 'interrupt_job', 'pull_results', 'join_session', 'close_session', 'session_info']) {
      assert.deepEqual(await api(main, { action, sessionId: '' }), { message: "'sessionId' is required", state: 'FAILED' }, action);
      assert.deepEqual(await api(main, { action, sessionId: 'b09f1353-0000-0000-0000-000000000000' }), { message: 'session not found: b09f1353-0000-0000-0000-000000000000', state: 'FAILED' }, action);
    }
  });

  test("pull_results: 'consumerId' is required, unknown consumers are not found", async () => {
    const { sessionId } = await initSession(main);
    assert.deepEqual(await api(main, { action: 'pull_results', sessionId }), { message: "'consumerId' is required", state: 'FAILED' });
    assert.deepEqual(await api(main, { action: 'pull_results', sessionId, consumerId: 'abc_9' }), { message: 'consumer not found: abc_9', state: 'FAILED' });
    assert.deepEqual(await api(main, { action: 'interrupt_job', sessionId }), { message: 'no foreground job is running', state: 'FAILED' });
    await api(main, { action: 'close_session', sessionId });
  });
});

describe('/api exec and the built-in commands', () => {
  test('a one-time exec of version, with the exact envelope', async () => {
    const json = await api(main, { action: 'exec', command: 'version', execTimeout: '10000', requestId: 'req112', sessionId: '', consumerId: '' });
    const jobId = json.body.jobId;
    assert.ok(Number.isInteger(jobId) && jobId > 0);
    assert.deepEqual(json, {
      body: {
        command: 'version',
        jobId,
        jobStatus: 'TERMINATED',
        results: [
          { jobId, type: 'version', version: json.body.results[0].version },
          { jobId, statusCode: 0, type: 'status' },
        ],
        timeExpired: false,
      },
      requestId: 'req112',
      sessionId: json.sessionId,
      state: 'SUCCEEDED',
    });
    assert.match(json.body.results[0].version, /^2\.6\.0-pteron-/);
    assert.deepEqual(await api(main, { action: 'session_info', sessionId: json.sessionId }), { message: `session not found: ${json.sessionId}`, state: 'FAILED' });
  });

  test('unknown commands, missing commands and bad arguments', async () => {
    const unknown = await api(main, { action: 'exec', command: 'watch demo.MathGame primeFactors' });
    assert.deepEqual(unknown, { body: { command: 'watch demo.MathGame primeFactors' }, message: 'Exec command failed:watch: command not found', sessionId: unknown.sessionId, state: 'FAILED' });
    const missing = await api(main, { action: 'exec' });
    assert.equal(missing.message, "Exec command failed:'command' is required");
    const bad = await exec('dashboard -n zero');
    assert.deepEqual(bad.body.results, [{ jobId: bad.body.jobId, message: "The option 'number-of-execution' expects an integer, got 'zero'", statusCode: -10, type: 'status' }]);
  });

  test('help lists every built-in; help <name> describes one', async () => {
    const [list] = await execOk('help');
    const names = (list!.commands as Json[]).map((command) => command.name);
    for (const name of ['dashboard', 'help', 'history', 'jobs', 'kill', 'memory', 'perfcounter', 'session', 'sysenv', 'sysprop', 'thread', 'version', 'vmoption']) {
      assert.ok(names.includes(name), name);
    }
    const [detail] = await execOk('help dashboard');
    assert.equal(detail!.detailCommand.name, 'dashboard');
    assert.equal(detail!.detailCommand.usage, 'dashboard [-i <interval>] [-n <number-of-execution>]');
    const missing = await exec('help nosuch');
    assert.deepEqual(missing.body.results, [{ jobId: missing.body.jobId, message: 'nosuch: command not found', statusCode: 1, type: 'status' }]);
  });

  test('memory: heap, nonheap and buffer_pool arrays of {type, name, used, total, max}', async () => {
    const [memory] = await execOk('memory');
    assert.equal(memory!.type, 'memory');
    for (const group of ['heap', 'nonheap', 'buffer_pool']) {
      const entries = memory!.memoryInfo[group] as Json[];
      assert.ok(Array.isArray(entries) && entries.length > 0, group);
      for (const entry of entries) {
        assert.deepEqual(Object.keys(entry), ['type', 'name', 'used', 'total', 'max']);
        assert.equal(entry.type, group);
      }
    }
    const heap = (memory!.memoryInfo.heap as Json[])[0]!;
    assert.equal(heap.name, 'heap');
    assert.ok(heap.used > 0 && heap.total >= heap.used && heap.max > heap.total);
    assert.ok((memory!.memoryInfo.heap as Json[]).some((entry) => entry.name === 'old_space'));
  });

  test('thread: the event loop as the one thread, its delay, utilisation and resources', async () => {
    const [thread] = await execOk('thread -i 50');
    assert.equal(thread!.all, false);
    assert.deepEqual(thread!.threadStateCount, { NEW: 0, RUNNABLE: 1, BLOCKED: 0, WAITING: 0, TIMED_WAITING: 0, TERMINATED: 0 });
    const main0 = thread!.threadStats[0];
    assert.deepEqual(Object.keys(main0).sort(), ['cpu', 'daemon', 'deltaTime', 'group', 'id', 'interrupted', 'name', 'priority', 'state', 'time']);
    assert.equal(main0.name, 'main');
    assert.deepEqual(Object.keys(thread!.eventLoop), ['utilization', 'delayMeanMs', 'delayP99Ms', 'delayMaxMs']);
    assert.ok(thread!.activeResources.TCPServerWrap >= 1);
    assert.ok(thread!.threadPoolSize >= 1);
    const [detail] = await execOk(`thread -i 10 ${main0.id}`);
    assert.equal(detail!.threadInfo.threadName, 'main');
    assert.ok((detail!.threadInfo.handles as Json[]).some((handle) => handle.type === 'tcp'));
    const other = await exec('thread 99');
    assert.equal(other.body.results[0].statusCode, 1);
  });

  test('sysenv, sysprop, vmoption', async () => {
    const [env] = await execOk('sysenv');
    assert.equal(typeof env!.env.PATH, 'string');
    const [path] = await execOk('sysenv PATH');
    assert.deepEqual(Object.keys(path!.env), ['PATH']);
    assert.equal((await exec('sysenv PTERON_NO_SUCH_VARIABLE')).body.results[0].message, 'no such environment variable: PTERON_NO_SUCH_VARIABLE');
    const [props] = await execOk('sysprop');
    assert.equal(props!.props['versions.node'], process.versions.node);
    assert.equal(props!.props['pteron.role'], 'replica');
    assert.equal(props!.props['process.pid'], String(main.pid));
    const [one] = await execOk('sysprop versions.v8');
    assert.deepEqual(Object.keys(one!.props), ['versions.v8']);
    assert.equal((await exec('sysprop a b')).body.results[0].statusCode, 1);
    const [options] = await execOk('vmoption');
    const limit = (options!.vmOptions as Json[]).find((option) => option.name === 'stack_trace_limit');
    assert.deepEqual(limit, { name: 'stack_trace_limit', value: '10', origin: 'DEFAULT', writeable: true });
    assert.ok((options!.vmOptions as Json[]).some((option) => option.name === 'import' && option.origin === 'VM_CREATION' && !option.writeable));
    const [changed] = await execOk('vmoption stack-trace-limit 25');
    assert.deepEqual(changed!.changeResult, { name: 'stack_trace_limit', beforeValue: '10', afterValue: '25' });
    const [after] = await execOk('vmoption stack_trace_limit');
    assert.deepEqual(after!.vmOptions, [{ name: 'stack_trace_limit', value: '25', origin: 'MANAGEMENT', writeable: true }]);
    const refused = await exec('vmoption import foo');
    assert.equal(refused.body.results[0].statusCode, 1);
    assert.match(refused.body.results[0].message, /^import cannot be changed at runtime/);
    for (const name of ['constructor', '__proto__', 'toString']) {
      const inherited = await exec(`vmoption ${name} 1`);
      assert.equal(inherited.body.results[0].statusCode, 1, name);
      assert.match(inherited.body.results[0].message, new RegExp(`^${name} cannot be changed at runtime`), name);
    }
  });

  test('perfcounter reads the metrics registry; -d adds units and variability', async () => {
    const [counters] = await execOk('perfcounter');
    const byName = new Map((counters!.perfCounters as Json[]).map((counter) => [counter.name, counter]));
    assert.ok(byName.get('server.http_requests')!.value > 0);
    assert.deepEqual(Object.keys(byName.get('server.http_requests')!), ['name', 'value']);
    assert.ok(byName.has('node.eventLoop.utilization'));
    assert.ok(byName.has('v8.heap.used_heap_size'));
    const [detailed] = await execOk('perfcounter -d http_requests');
    assert.equal(detailed!.details, true);
    assert.deepEqual((detailed!.perfCounters as Json[]).find((counter) => counter.name === 'server.http_requests'), {
      name: 'server.http_requests', units: 'Requests', variability: 'Monotonic', value: (detailed!.perfCounters as Json[]).find((counter) => counter.name === 'server.http_requests')!.value,
    });
  });

  test('dashboard -n 2: two refreshes with threads, memoryInfo, gcInfos, runtimeInfo, then status 0', async () => {
    const results = await execOk('dashboard -i 100 -n 2');
    assert.equal(results.length, 2);
    for (const dashboard of results) {
      assert.equal(dashboard.type, 'dashboard');
      assert.ok(Array.isArray(dashboard.threads) && dashboard.threads[0].name === 'main');
      for (const group of ['heap', 'nonheap', 'buffer_pool']) assert.ok(Array.isArray(dashboard.memoryInfo[group]), group);
      assert.ok((dashboard.gcInfos as Json[]).some((gc) => gc.name === 'scavenge'));
      assert.ok(Math.abs(dashboard.runtimeInfo.timestamp - Date.now()) < 60_000);
      assert.equal(dashboard.runtimeInfo.role, 'replica');
      assert.ok(typeof dashboard.eventLoop.delayMaxMs === 'number');
      assert.ok((dashboard.metrics as Json[]).some((metric) => metric.name === 'http_requests'));
    }
  });

  test('heapdump writes a snapshot into the output directory, and only there', async () => {
    const results = await execOk('heapdump --live first');
    const dumpFile = path.join(outputDir, 'first.heapsnapshot');
    assert.deepEqual(results.map((result) => result.type), ['message', 'message', 'heapdump']);
    assert.equal(results[0]!.message, `Dumping heap to ${dumpFile} ...`);
    assert.equal(results[1]!.message, 'Heap dump file created');
    assert.deepEqual(results[2], { downloadUrl: '/api/download/first.heapsnapshot', dumpFile, jobId: results[2]!.jobId, live: true, type: 'heapdump' });
    assert.ok((await stat(dumpFile)).size > 100_000);
    const file = await open(dumpFile);
    const head = Buffer.alloc(12);
    await file.read(head, 0, 12, 0);
    await file.close();
    assert.equal(head.toString(), '{"snapshot":');
    const [plain] = (await execOk('heapdump')).slice(-1);
    assert.match(plain!.dumpFile, new RegExp(`^${outputDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/heapdump-[0-9-]+-${main.pid}\\.heapsnapshot$`));
    assert.equal(plain!.live, false);
    const escape = await exec('heapdump ../outside');
    assert.deepEqual(escape.body.results, [{ jobId: escape.body.jobId, message: "heapdump writes only into the output directory; '../outside' is not a plain file name", statusCode: 1, type: 'status' }]);
  });

  test('profiler: start, status, stop writes a gzipped pprof profile; misuse gets clear statuses', async () => {
    const status = async (command: string): Promise<Json[]> => (await exec(command)).body.results as Json[];
    assert.equal((await status('profiler status'))[0]!.executeResult, 'Profiler is not started');
    const [notStarted] = await status('profiler stop');
    assert.deepEqual(notStarted, { jobId: notStarted!.jobId, message: 'profiler is not started', statusCode: 1, type: 'status' });
    assert.equal((await status('profiler begin'))[0]!.message, "The argument 'action' must be one of start, stop, status, got 'begin'");
    const [started] = await execOk('profiler start -i 500');
    assert.deepEqual(started, { action: 'start', executeResult: 'Profiling started', jobId: started!.jobId, type: 'profiler' });
    assert.equal((await status('profiler start'))[0]!.message, 'profiler already started; stop it first');
    assert.match((await execOk('profiler status'))[0]!.executeResult, /^Profiling is running for \d+ seconds, sampling every 500 us$/);
    await execOk('dashboard -i 100 -n 1');
    const [stopped] = await execOk('profiler stop busy');
    const outputFile = path.join(outputDir, 'busy.pb.gz');
    const downloadUrl = '/api/download/busy.pb.gz';
    assert.deepEqual(stopped, { action: 'stop', downloadUrl, executeResult: 'Profiling stopped', format: 'pprof', jobId: stopped!.jobId, outputFile, type: 'profiler' });
    const profile = await readFile(outputFile);
    assert.deepEqual([...profile.subarray(0, 2)], [0x1f, 0x8b]);
    assert.ok(gunzipSync(profile).length > 0);
    const [after] = await execOk('profiler status');
    assert.equal(after!.outputFile, outputFile);
    assert.equal(after!.downloadUrl, downloadUrl);
  });

  test('session and history', async () => {
    const { sessionId } = await initSession(main);
    const json = await api(main, { action: 'exec', command: 'session', sessionId, userId: 'alice' });
    assert.deepEqual(
      { ...json.body.results[0], createTime: 0, lastAccessTime: 0 },
      { createTime: 0, jobId: json.body.jobId, lastAccessTime: 0, pid: main.pid, role: 'replica', sessionId, type: 'session', userId: 'alice' },
    );
    const [history] = await execOk('history -n 2');
    assert.deepEqual(history!.history, ['session', 'history -n 2']);
    await api(main, { action: 'close_session', sessionId });
  });

  test('past execTimeout: INTERRUPTED with timeExpired, timeout and the results so far', async () => {
    const startMs = Date.now();
    const json = await api(main, { action: 'exec', command: 'dashboard -i 100', execTimeout: 700 });
    const tookMs = Date.now() - startMs;
    // The upper bound only tells the timeout from a job left to run forever.
    assert.ok(tookMs >= 650 && tookMs < 30_000, `took ${tookMs} ms`);
    assert.equal(json.state, 'INTERRUPTED');
    assert.equal(json.message, 'The job is exceeded time limit, force interrupt');
    assert.equal(json.body.timeExpired, true);
    assert.equal(json.body.timeout, 700);
    assert.equal(json.body.jobStatus, 'TERMINATED');
    const results = json.body.results as Json[];
    assert.ok(results.filter((result) => result.type === 'dashboard').length >= 3);
    assert.deepEqual(results.at(-1), { jobId: json.body.jobId, statusCode: 0, type: 'status' });
    assert.deepEqual(Object.keys(json), ['body', 'message', 'sessionId', 'state']);
  });
});

describe('/api shared sessions', () => {
  test('two consumers of one session both receive an async job from command echo to ALLOW_INPUT', async () => {
    const { sessionId, consumerId } = await initSession(main);
    const joined = await api(main, { action: 'join_session', sessionId });
    assert.deepEqual(Object.keys(joined), ['consumerId', 'sessionId', 'state']);
    assert.notEqual(joined.consumerId, consumerId);
    assert.deepEqual(summary(await pull(main, sessionId, joined.consumerId)), [
      ['input_status', 0, 'DISABLED'],
      ['message', 0, ''],
      ['welcome', 0, ''],
      ['input_status', 0, 'ALLOW_INPUT'],
    ]);
    await pull(main, sessionId, consumerId);
    const scheduled = await api(main, { action: 'async_exec', sessionId, command: 'dashboard -i 100 -n 2' });
    const jobId = scheduled.body.jobId;
    assert.deepEqual(scheduled, { body: { command: 'dashboard -i 100 -n 2', jobId, jobStatus: 'READY' }, sessionId, state: 'SCHEDULED' });
    const [first, second] = await Promise.all([
      pullUntil(main, sessionId, consumerId, endsWithInput),
      pullUntil(main, sessionId, joined.consumerId, endsWithInput),
    ]);
    const expected = [
      ['command', jobId, 'SCHEDULED'],
      ['input_status', 0, 'ALLOW_INTERRUPT'],
      ['dashboard', jobId, ''],
      ['dashboard', jobId, ''],
      ['status', jobId, 0],
      ['input_status', 0, 'ALLOW_INPUT'],
    ];
    assert.deepEqual(summary(first), expected);
    assert.deepEqual(summary(second), expected);
    assert.deepEqual(first, second, 'the same results, not copies with differences');
    await api(main, { action: 'close_session', sessionId });
  });

  test('a long dashboard is interrupted by interrupt_job; a second job is refused meanwhile', async () => {
    const { sessionId, consumerId } = await initSession(main);
    await pull(main, sessionId, consumerId);
    const scheduled = await api(main, { action: 'async_exec', sessionId, command: 'dashboard -i 100' });
    const jobId = scheduled.body.jobId;
    await pullUntil(main, sessionId, consumerId, (results) => results.filter((result) => result.type === 'dashboard').length >= 2);
    assert.deepEqual(await api(main, { action: 'async_exec', sessionId, command: 'version' }), { body: { command: 'version' }, message: 'Another job is running.', sessionId, state: 'REFUSED' });
    assert.deepEqual(await api(main, { action: 'exec', sessionId, command: 'version' }), { body: { command: 'version' }, message: 'Another job is running.', sessionId, state: 'REFUSED' });
    assert.deepEqual(await api(main, { action: 'interrupt_job', sessionId }), { body: { jobId, jobStatus: 'TERMINATED' }, state: 'SUCCEEDED' });
    const rest = await pullUntil(main, sessionId, consumerId, endsWithInput);
    assert.deepEqual(summary(rest.slice(-2)), [['status', jobId, 0], ['input_status', 0, 'ALLOW_INPUT']]);
    assert.deepEqual(await pull(main, sessionId, consumerId), [], 'nothing after the interrupt');
    assert.deepEqual(await api(main, { action: 'interrupt_job', sessionId }), { message: 'no foreground job is running', state: 'FAILED' });
    assert.equal((await api(main, { action: 'exec', sessionId, command: 'version' })).state, 'SUCCEEDED');
    await api(main, { action: 'close_session', sessionId });
  });

  test('async_exec of an unknown command fails and the consumers see the failed command', async () => {
    const { sessionId, consumerId } = await initSession(main);
    await pull(main, sessionId, consumerId);
    const json = await api(main, { action: 'async_exec', sessionId, command: 'trace a b' });
    assert.deepEqual(json, { body: { command: 'trace a b' }, message: 'Async exec command failed:trace: command not found', sessionId, state: 'FAILED' });
    assert.deepEqual(await pull(main, sessionId, consumerId), [
      { command: 'trace a b', jobId: 0, message: 'Async exec command failed:trace: command not found', state: 'FAILED', type: 'command' },
    ]);
    await api(main, { action: 'close_session', sessionId });
  });

  test('session_info; close_session ends a waiting pull at once; the session is gone afterwards', async () => {
    const { sessionId, consumerId } = await initSession(main);
    const info = await api(main, { action: 'session_info', sessionId });
    assert.deepEqual(Object.keys(info.body), ['createTime', 'lastAccessTime', 'pid']);
    assert.equal(info.body.pid, main.pid);
    assert.ok(info.body.lastAccessTime >= info.body.createTime);
    await pull(main, sessionId, consumerId);
    await api(main, { action: 'close_session', sessionId });
    assert.deepEqual(await api(main, { action: 'join_session', sessionId }), { message: `session not found: ${sessionId}`, state: 'FAILED' });
    // That the pull ends without waiting its 2 s is shown with a controlled clock in test/diag;
    // here, over HTTP, it ends empty. A pull that reaches the server after the close finds no
    // session; then the round is tried again with a new session.
    for (let round = 1; ; round++) {
      const { sessionId: waitedOn, consumerId: waiter } = await initSession(main);
      await pull(main, waitedOn, waiter);
      const waiting = api(main, { action: 'pull_results', sessionId: waitedOn, consumerId: waiter });
      await sleep(300);
      assert.deepEqual(await api(main, { action: 'close_session', sessionId: waitedOn }), { state: 'SUCCEEDED' });
      const answer = await waiting;
      if (answer.state === 'FAILED' && round < 5) continue;
      assert.equal(answer.state, 'SUCCEEDED', JSON.stringify(answer));
      assert.deepEqual(answer.body.results, []);
      break;
    }
  });

  test('an idle pull returns an empty list after about 2 s', async () => {
    const { sessionId, consumerId } = await initSession(main);
    await pull(main, sessionId, consumerId);
    const startMs = Date.now();
    assert.deepEqual(await pull(main, sessionId, consumerId), []);
    const tookMs = Date.now() - startMs;
    assert.ok(tookMs >= 1900 && tookMs < 30_000, `took ${tookMs} ms`);
    await api(main, { action: 'close_session', sessionId });
  });
});

describe('/api expiry (session timeout 2 s, consumer timeout 700 ms)', () => {
  test('an idle session is removed', async () => {
    const { sessionId } = await initSession(expiring);
    // Any request about the session would keep it alive, so this waits, untouched, well past its 2 s.
    await sleep(6000);
    assert.deepEqual(await api(expiring, { action: 'session_info', sessionId }), { message: `session not found: ${sessionId}`, state: 'FAILED' });
  });

  test('a consumer that stops pulling is removed while its session lives on', async () => {
    const { sessionId, consumerId } = await initSession(expiring);
    const joined = await api(expiring, { action: 'join_session', sessionId });
    await pull(expiring, sessionId, joined.consumerId);
    await pull(expiring, sessionId, joined.consumerId);
    assert.deepEqual(await api(expiring, { action: 'pull_results', sessionId, consumerId }), { message: `consumer not found: ${consumerId}`, state: 'FAILED' });
    assert.equal((await api(expiring, { action: 'session_info', sessionId })).state, 'SUCCEEDED');
    await api(expiring, { action: 'close_session', sessionId });
  });

  test('a session running a foreground job is kept however idle', async () => {
    const { sessionId } = await initSession(expiring);
    await api(expiring, { action: 'async_exec', sessionId, command: 'dashboard -i 1000' });
    await sleep(3000);
    assert.equal((await api(expiring, { action: 'session_info', sessionId })).state, 'SUCCEEDED');
    assert.equal((await api(expiring, { action: 'interrupt_job', sessionId })).state, 'SUCCEEDED');
    await api(expiring, { action: 'close_session', sessionId });
  });
});

describe('/api with a password (loopback bypass off)', () => {
  const body = { action: 'exec', command: 'version' };
  const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  async function authFailures(): Promise<number> {
    const response = await fetch(`${guarded.url}/metrics?metrics=api_auth_failures`);
    const json = (await response.json()) as Json;
    return json.entities[0].metrics[0].value as number;
  }

  test('no or wrong credentials: 401 with a Basic challenge and no body, counted', async () => {
    const before = await authFailures();
    for (const headers of [undefined, basic('ops', 'wrong'), basic('admin', 's3cret'), { authorization: 'Basic ???' }]) {
      const answer = await post(guarded, body, { headers });
      assert.equal(answer.status, 401);
      assert.equal(answer.text, '');
      assert.equal(answer.contentType, 'text/plain');
    }
    const challenge = await fetch(`${guarded.url}/api`, { method: 'POST', body: '{}' });
    assert.equal(challenge.headers.get('www-authenticate'), 'Basic realm="pteron"');
    assert.equal(await authFailures(), before + 5);
  });

  test('Basic auth over loopback, or the URL parameters, are served', async () => {
    const answer = await post(guarded, body, { headers: basic('ops', 's3cret') });
    assert.equal(answer.status, 200);
    assert.equal(answer.json.state, 'SUCCEEDED');
    const query = await post(guarded, body, { query: '?username=ops&password=s3cret' });
    assert.equal(query.json.state, 'SUCCEEDED');
    const other = await post(main, body, { headers: basic('ops', 'nope') });
    assert.equal(other.json.state, 'SUCCEEDED', 'without a password configured, loopback needs no credentials');
  });
});
