// The supervisor's rules without processes: who may use the API, client sessions and the rate
// limit, pmesh's parameter and output conventions, backoff, the health streak, log rotation,
// the rolling-restart gate, and /proc readings.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { decideAccess, isLocal, isLoopback, isPrivate, normalizeAddress, originAddress, presentsSecret } from '../../src/supervisor/access.ts';
import { ApiError, errorAnswer, errorPage, jsonAnswer, parseInvalidate, sortedObject } from '../../src/supervisor/api-format.ts';
import { judgeClusterHealth } from '../../src/supervisor/cluster-gate.ts';
import { HealthStreak } from '../../src/supervisor/health.ts';
import { backoffDelayMs } from '../../src/supervisor/instance.ts';
import { RotatingLog } from '../../src/supervisor/log-file.ts';
import { CpuMeter, childrenByParent, processTree, readProcessUsage } from '../../src/supervisor/proc-stats.ts';
import { newServiceId } from '../../src/supervisor/service.ts';
import { ClientSessions, formatGoTime, ZERO_TIME } from '../../src/supervisor/sessions.ts';

const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;

describe('access', () => {
  test('loopback, private and public addresses', () => {
    for (const address of ['127.0.0.1', '127.0.0.2', '127.255.1.9', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(address), address);
    for (const address of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.20', 'fc00::1', 'fd12:3456::7', '::ffff:10.0.0.8']) {
      assert.ok(isPrivate(address), address);
      assert.ok(isLocal(address), address);
    }
    for (const address of ['8.8.8.8', '172.15.0.1', '172.32.0.1', '192.169.0.1', '11.0.0.1', '203.0.113.7', '2001:db8::1', 'fe80::1', '::ffff:8.8.8.8']) {
      assert.ok(!isLocal(address), address);
    }
    assert.equal(normalizeAddress('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(normalizeAddress('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  });

  test('a local peer may forward for a public client; a public peer cannot claim to be local', () => {
    assert.equal(originAddress('127.0.0.1', {}), '127.0.0.1');
    assert.equal(originAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }), '203.0.113.7');
    assert.equal(originAddress('10.0.0.5', { 'x-forwarded-for': '192.168.0.4, 198.51.100.2, 203.0.113.7' }), '198.51.100.2');
    assert.equal(originAddress('127.0.0.1', { 'x-forwarded-for': '10.0.0.9' }), '127.0.0.1');
    assert.equal(originAddress('127.0.0.1', { 'x-forwarded-for': 'garbage' }), '127.0.0.1');
    assert.equal(originAddress('198.51.100.2', { 'x-forwarded-for': '127.0.0.1' }), '198.51.100.2');
    assert.equal(originAddress('::ffff:127.0.0.1', {}), '127.0.0.1');
  });

  test('local clients need nothing; others need the secret as Basic user or password, or bearer token', () => {
    assert.deepEqual(decideAccess('127.0.0.1', {}, ''), { allowed: true, via: 'local' });
    assert.deepEqual(decideAccess('192.168.3.4', {}, ''), { allowed: true, via: 'local' });
    assert.deepEqual(decideAccess('10.9.8.7', {}, 'x'), { allowed: true, via: 'local' });
    assert.deepEqual(decideAccess('203.0.113.7', {}, 'sesame'), { allowed: false });
    assert.deepEqual(decideAccess('203.0.113.7', { authorization: 'Bearer sesame' }, 'sesame'), { allowed: true, via: 'secret' });
    assert.deepEqual(decideAccess('203.0.113.7', { authorization: basic('sesame:') }, 'sesame'), { allowed: true, via: 'secret' });
    assert.deepEqual(decideAccess('203.0.113.7', { authorization: basic('anyone:sesame') }, 'sesame'), { allowed: true, via: 'secret' });
    assert.deepEqual(decideAccess('203.0.113.7', { authorization: basic('anyone:wrong') }, 'sesame'), { allowed: false });
    assert.deepEqual(decideAccess('203.0.113.7', { authorization: 'Bearer wrong' }, 'sesame'), { allowed: false });
    // No secret configured: nothing lets a public client in, not even an empty password.
    assert.deepEqual(decideAccess('203.0.113.7', { authorization: basic(':') }, ''), { allowed: false });
    assert.equal(presentsSecret({ authorization: 'Digest x' }, 'sesame'), false);
  });
});

describe('client sessions and the rate limit', () => {
  test('counts, average rate, first seen, blocking for block_for after going over', () => {
    let nowMs = Date.UTC(2026, 0, 2, 3, 4, 5, 0);
    const sessions = new ClientSessions({ rateLimit: { requests: 3, periodMs: 1000, blockForMs: 60000 }, now: () => nowMs, sweepIntervalMs: 0 });
    const firstSeen = nowMs;
    assert.equal(sessions.track('203.0.113.7', false), 'ok');
    nowMs += 100;
    assert.equal(sessions.track('203.0.113.7', false), 'ok');
    assert.equal(sessions.track('203.0.113.7', false), 'ok');
    assert.equal(sessions.track('203.0.113.7', false), 'blocked');
    const blockedAt = nowMs;
    nowMs += 5000;
    // Blocked requests are still counted, and the window does not matter while blocked.
    assert.equal(sessions.track('203.0.113.7', false), 'blocked');
    // Local clients are counted and never limited.
    for (let index = 0; index < 10; index++) assert.equal(sessions.track('127.0.0.1', true), 'ok');
    const view = sessions.view();
    assert.equal(view.num_clients, 2);
    assert.deepEqual(Object.keys(view.sessions), ['127.0.0.1', '203.0.113.7']);
    assert.deepEqual(view.sessions['203.0.113.7'], {
      avg_rps: (5 / 5100) * 1000,
      num_reqs: 5,
      first_seen: formatGoTime(firstSeen),
      blocked_until: formatGoTime(blockedAt + 60000),
    });
    // Ten requests at the same instant: no time span, so no rate.
    assert.equal(view.sessions['127.0.0.1']!.avg_rps, 0);
    assert.equal(view.sessions['127.0.0.1']!.blocked_until, ZERO_TIME);
    nowMs = blockedAt + 60001;
    assert.equal(sessions.track('203.0.113.7', false), 'ok');
    assert.equal(sessions.view().sessions['203.0.113.7']!.blocked_until, ZERO_TIME);
  });

  test('without block_for, going over is answered 429 for the rest of the window only', () => {
    let nowMs = 1_000_000;
    const sessions = new ClientSessions({ rateLimit: { requests: 2, periodMs: 1000, blockForMs: 0 }, now: () => nowMs, sweepIntervalMs: 0 });
    assert.deepEqual([1, 2, 3, 4].map(() => sessions.track('198.51.100.1', false)), ['ok', 'ok', 'limited', 'limited']);
    nowMs += 1000;
    assert.equal(sessions.track('198.51.100.1', false), 'ok');
  });

  test('idle sessions expire after 30 minutes; the table is bounded', () => {
    let nowMs = 0;
    const sessions = new ClientSessions({ now: () => nowMs, sweepIntervalMs: 0, sessionsMax: 3 });
    sessions.track('198.51.100.1', false);
    nowMs = 29 * 60000;
    sessions.track('198.51.100.2', false);
    nowMs = 31 * 60000;
    sessions.sweep();
    assert.deepEqual(Object.keys(sessions.view().sessions), ['198.51.100.2']);
    sessions.track('198.51.100.3', false);
    sessions.track('198.51.100.4', false);
    sessions.track('198.51.100.5', false);
    assert.deepEqual(Object.keys(sessions.view().sessions), ['198.51.100.3', '198.51.100.4', '198.51.100.5']);
  });

  test("times print as Go's JSON does", () => {
    const saved = process.env.TZ;
    assert.equal(ZERO_TIME, '0001-01-01T00:00:00Z');
    const ms = Date.UTC(2024, 2, 8, 20, 21, 43, 418);
    const text = formatGoTime(ms);
    assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:43\.418(Z|[+-]\d\d:\d\d)$/);
    assert.equal(new Date(text).getTime(), ms);
    assert.match(formatGoTime(Date.UTC(2024, 2, 8, 20, 21, 43, 400)), /:43\.4(Z|[+-])/);
    assert.match(formatGoTime(Date.UTC(2024, 2, 8, 20, 21, 43, 0)), /:43(Z|[+-])/);
    process.env.TZ = saved;
  });
});

describe("pmesh's parameters and answers", () => {
  const request = (method: string, query: Record<string, string>, body = '') => ({ method, query: new Map(Object.entries(query)), body: Buffer.from(body) });

  test('invalidate from the query (any method, any case, Go booleans plus on) and from a JSON body (POST, PUT, PATCH)', () => {
    for (const value of ['1', 't', 'T', 'TRUE', 'true', 'True', 'on']) assert.equal(parseInvalidate(request('GET', { invalidate: value })).invalidate, true, value);
    for (const value of ['0', 'f', 'false', '', 'yes', 'maybe']) assert.equal(parseInvalidate(request('GET', { invalidate: value })).invalidate, false, value);
    assert.equal(parseInvalidate(request('DELETE', { Invalidate: '1' })).invalidate, true);
    assert.equal(parseInvalidate(request('POST', {}, '{"invalidate":true}')).invalidate, true);
    assert.equal(parseInvalidate(request('PATCH', {}, '{"Invalidate":true}')).invalidate, true);
    assert.equal(parseInvalidate(request('PUT', { invalidate: 'true' }, '{"invalidate":false}')).invalidate, false);
    assert.equal(parseInvalidate(request('POST', {}, '')).invalidate, false);
    assert.equal(parseInvalidate(request('POST', {}, 'null')).invalidate, false);
    // GET and DELETE bodies are never read.
    assert.equal(parseInvalidate(request('GET', {}, '{"x":1}')).invalidate, false);
    assert.throws(() => parseInvalidate(request('POST', {}, '{"invalidate":true,"x":1}')), (error: Error) => error instanceof ApiError && error.message === 'json: unknown field "x"');
    assert.throws(() => parseInvalidate(request('POST', {}, '{"invalidate":"yes"}')), /json: cannot unmarshal string into field invalidate of type bool/);
    assert.throws(() => parseInvalidate(request('POST', {}, '[1]')), /json: cannot unmarshal array/);
    assert.throws(() => parseInvalidate(request('POST', {}, '{')), /^ApiError: json: /);
  });

  test('answers: JSON and a newline, {} for nothing, pretty, errors, error pages by Accept', () => {
    assert.deepEqual(jsonAnswer({ count: 1 }, false, 'r'), { status: 200, body: '{"count":1}\n', contentType: 'application/json; charset=utf-8', headers: { 'X-Ray': 'r' } });
    assert.equal(jsonAnswer(undefined, false, 'r').body, '{}');
    assert.equal(jsonAnswer({ a: { b: 1 } }, true, 'r').body, '{\n  "a": {\n    "b": 1\n  }\n}\n');
    assert.equal(jsonAnswer('<&>', false, 'r').body, '"<&>"\n');
    assert.deepEqual(errorAnswer('service not found', 'r'), { status: 400, body: '{"error":"service not found"}\n', contentType: 'application/json; charset=utf-8', headers: { 'X-Ray': 'r' } });
    assert.equal(errorAnswer('', 'r').body, '{"error":"error"}\n');
    const page = errorPage(403, { method: 'GET', headers: {} }, 'r');
    assert.equal(page.body, '{"code":403,"error":"Forbidden","message":"You have been blocked from accessing this resource."}');
    assert.equal(page.headers!['X-Content-Type-Options'], 'nosniff');
    assert.equal(errorPage(404, { method: 'GET', headers: { accept: 'application/json' } }, 'r').body, '{"code":404,"error":"Not Found","message":"The requested resource was not found."}');
    assert.match(String(errorPage(404, { method: 'GET', headers: { accept: 'text/html,application/json' } }, 'r').body), /^<!DOCTYPE html>/);
    assert.equal(errorPage(404, { method: 'GET', headers: { accept: 'text/plain' } }, 'r').body, '404 Not Found: The requested resource was not found.\n');
    assert.equal(errorPage(403, { method: 'GET', headers: { accept: 'image/png' } }, 'r').contentType, 'application/json; charset=utf-8');
    assert.equal(errorPage(403, { method: 'HEAD', headers: {} }, 'r').body, '');
    assert.deepEqual(Object.keys(sortedObject([['b', 1], ['a', 2], ['B', 3]])), ['B', 'a', 'b']);
  });

  test('service ids are decimal strings that grow', () => {
    const first = newServiceId(Date.UTC(2026, 0, 1));
    const second = newServiceId(Date.UTC(2026, 0, 1));
    assert.match(first, /^\d+$/);
    assert.ok(BigInt(second) > BigInt(first));
  });
});

describe('supervision rules', () => {
  test('backoff doubles per consecutive failure, up to the cap', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 60].map((failures) => backoffDelayMs(failures, 1000, 30000)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  test('health needs consecutive passes or failures to change', () => {
    const streak = new HealthStreak(2, 3);
    assert.deepEqual([true, true].map((ok) => streak.record(ok)), ['unknown', 'healthy']);
    assert.deepEqual([false, false, true, false, false, false].map((ok) => streak.record(ok)), ['healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'unhealthy']);
    assert.deepEqual([true, false, true, true].map((ok) => streak.record(ok)), ['unhealthy', 'unhealthy', 'unhealthy', 'healthy']);
  });

  test('the rolling-restart gate: every partition healthy, and a restarted node alive and serving what the meta gives it', () => {
    const apps = (healthy: string) => ({ healthy_info: { 1: { app_name: 'temp', partition_count: '8', fully_healthy: healthy } } });
    const nodes = (status: string) => ({ details: { '127.0.0.1:34802': { status, replica_count: '8' } } });
    assert.deepEqual(judgeClusterHealth(apps('8'), undefined, undefined, undefined), { ready: true, detail: 'every partition healthy' });
    assert.deepEqual(judgeClusterHealth(apps('6'), undefined, undefined, undefined), { ready: false, detail: 'temp 6/8 partitions healthy' });
    assert.deepEqual(judgeClusterHealth({}, undefined, undefined, undefined).ready, true);
    assert.deepEqual(judgeClusterHealth(apps('8'), nodes('UNALIVE'), '127.0.0.1:34802', 8), { ready: false, detail: '127.0.0.1:34802 is UNALIVE' });
    assert.deepEqual(judgeClusterHealth(apps('8'), nodes('ALIVE'), '127.0.0.1:34802', 3), { ready: false, detail: '127.0.0.1:34802 serves 3 of the 8 replicas the meta assigns it' });
    assert.equal(judgeClusterHealth(apps('8'), nodes('ALIVE'), '127.0.0.1:34802', 8).ready, true);
    assert.equal(judgeClusterHealth(apps('8'), nodes('ALIVE'), '127.0.0.1:34802', undefined).ready, true);
    assert.equal(judgeClusterHealth(apps('8'), nodes('ALIVE'), '127.0.0.1:34999', 8).detail, '127.0.0.1:34999 is not known to the meta');
  });
});

describe('logs and process readings', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pteron-supervisor-rules-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the log rotates at its size, keeping files - 1 old ones', () => {
    const file = path.join(dir, 'replica1.log');
    const log = new RotatingLog({ file, bytesMax: 100, files: 3 });
    for (let index = 0; index < 10; index++) log.write(`${String(index).repeat(39)}\n`);
    log.close();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['replica1.log', 'replica1.log.1', 'replica1.log.2']);
    assert.equal(fs.readFileSync(file, 'utf8'), `${'8'.repeat(39)}\n${'9'.repeat(39)}\n`);
    assert.equal(fs.readFileSync(`${file}.1`, 'utf8'), `${'6'.repeat(39)}\n${'7'.repeat(39)}\n`);
    for (const name of fs.readdirSync(dir)) assert.ok(fs.statSync(path.join(dir, name)).size <= 100);
    // A reopened log continues where it was.
    const again = new RotatingLog({ file, bytesMax: 100, files: 3 });
    again.write('x\n');
    again.close();
    assert.equal(fs.readFileSync(file, 'utf8').length, 82);
  });

  test('/proc: this process, its tree, CPU in cores', { skip: !fs.existsSync('/proc/self/stat') }, () => {
    const usage = readProcessUsage(process.pid)!;
    assert.equal(usage.pid, process.pid);
    assert.equal(usage.ppid, process.ppid);
    assert.ok(usage.rssBytes > 10 * 1024 * 1024);
    assert.ok(usage.vmsBytes >= usage.rssBytes);
    assert.ok(usage.cmd.includes('node'));
    // Seconds apart at most, even if a busy machine slowed this process's start; a wrong unit or base is off by far more.
    assert.ok(Math.abs(usage.createTimeMs - (Date.now() - process.uptime() * 1000)) < 10_000, `create time ${usage.createTimeMs}`);
    const tree = processTree(process.ppid, childrenByParent());
    assert.equal(tree[0], process.ppid);
    assert.ok(tree.includes(process.pid));
    const meter = new CpuMeter();
    const spinUntil = Date.now() + 300;
    while (Date.now() < spinUntil) Math.sqrt(Math.random());
    const cores = meter.coresInUse(readProcessUsage(process.pid)!);
    assert.ok(cores > 0 && cores <= os.cpus().length, `cores ${cores}`);
    assert.equal(readProcessUsage(2 ** 22 + 12345), undefined);
  });
});
