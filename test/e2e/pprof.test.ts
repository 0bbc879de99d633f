// /pprof/* against a real replica process. Needs `go` (Debian: golang-go) for `go tool pprof`,
// and binutils' `nm` for the symbol lookups.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { startPteron, type RunningProcess } from '../helpers/process.ts';

let server: RunningProcess;
let scratch: string;

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, PPROF_TMPDIR: scratch }, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr: error && typeof error.code === 'string' ? `${error.code} ${stderr}` : stderr });
    });
  });
}

/** `go tool pprof -top <source>`; fails the test with go's own output when it cannot read it. */
async function pprofTop(source: string, ...flags: string[]): Promise<string> {
  const result = await run('go', ['tool', 'pprof', '-top', ...flags, source]);
  assert.equal(result.code, 0, `go tool pprof failed (is Debian's golang-go installed?):\n${result.stderr}`);
  return result.stdout;
}

async function get(pathAndQuery: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: Buffer }> {
  const response = await fetch(`${server.url}${pathAndQuery}`, init);
  return { status: response.status, type: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
}

function assertGzippedProfile(body: Buffer): void {
  assert.ok(body.length > 2, 'profile body is empty');
  assert.deepEqual([...body.subarray(0, 2)], [0x1f, 0x8b], 'profile is not gzipped');
  assert.ok(gunzipSync(body).length > 0);
}

async function profileFile(name: string, body: Buffer): Promise<string> {
  const file = path.join(scratch, name);
  await writeFile(file, body);
  return file;
}

before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'pteron-pprof-'));
  server = await startPteron('replica');
});

after(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('/pprof/*', () => {
  test('help lists the five calls with their Pegasus texts', async () => {
    const help = JSON.parse((await get('/')).body.toString()) as Record<string, string>;
    assert.equal(help['/pprof/cmdline'], "Query the process' cmdline.");
    assert.equal(help['/pprof/growth'], 'Query the stack traces that caused growth in the address space size.');
    assert.equal(
      help['/pprof/heap'],
      "[seconds=<heap_profile_seconds>]. Query a sample of live objects and the stack traces that allocated these objects (an environment variable TCMALLOC_SAMPLE_PARAMETER should set to a positive value, such as 524288), or the current heap profiling information if 'seconds' parameter is specified.",
    );
    assert.equal(help['/pprof/profile'], "[seconds=<cpu_profile_seconds>]. Query the CPU profile. 'seconds' is 60 if not specified.");
    assert.equal(
      help['/pprof/symbol'],
      "[symbol_address]. Query the process' symbols. Return the symbol count of the process if using GET, return the symbol of the 'symbol_address' if using POST.",
    );
  });

  test('profile answers gzipped pprof as text/plain, and go tool pprof reads it over HTTP', async () => {
    const startMs = Date.now();
    const response = await get('/pprof/profile?seconds=1');
    assert.equal(response.status, 200);
    assert.equal(response.type, 'text/plain');
    assert.ok(Date.now() - startMs >= 900, 'the profile did not last its second');
    assertGzippedProfile(response.body);
    assert.match(await pprofTop(await profileFile('cpu.pb.gz', response.body)), /Type: cpu/);

    const top = await pprofTop(`${server.url}/pprof/profile?seconds=1`);
    assert.match(top, /Type: cpu/);
    assert.match(top, /Duration: 1\.\d+s/);
  });

  test('profile: a non-numeric seconds means 0 s, too many seconds is a 400', async () => {
    const zero = await get('/pprof/profile?seconds=abc');
    assert.equal(zero.status, 200);
    assertGzippedProfile(zero.body);
    for (const query of ['seconds=301', 'seconds=-1', 'seconds=99999999999999999999999']) {
      const response = await get(`/pprof/profile?${query}`);
      assert.equal(response.status, 400, query);
      assert.match(response.body.toString(), /^seconds must be at most 300, got /);
    }
  });

  test('heap without seconds: the live heap sample, at once', async () => {
    const startMs = Date.now();
    const response = await get('/pprof/heap');
    assert.equal(response.status, 200);
    assert.equal(response.type, 'text/plain');
    // The bound only tells an answer from a hang; the heap is read without any window.
    assert.ok(Date.now() - startMs < 25_000);
    assertGzippedProfile(response.body);
    const top = await pprofTop(await profileFile('heap.pb.gz', response.body), '-sample_index=inuse_space');
    assert.match(top, /Type: inuse_space/);
    assert.match(await pprofTop(`${server.url}/pprof/heap`), /Type: inuse_space/);
  });

  test('heap with seconds: the heap added over that many seconds', async () => {
    const startMs = Date.now();
    const response = await get('/pprof/heap?seconds=1');
    assert.equal(response.status, 200);
    assert.ok(Date.now() - startMs >= 900, 'the heap window did not last its second');
    assertGzippedProfile(response.body);
    assert.match(await pprofTop(await profileFile('heap-growth.pb.gz', response.body)), /Type: inuse_space/);
    assert.equal((await get('/pprof/heap?seconds=301')).status, 400);
    // Not an unsigned number: like Pegasus, as if there were no seconds.
    assert.equal((await get('/pprof/heap?seconds=soon')).status, 200);
  });

  test('growth: V8 heap spaces and process memory with their growth', async () => {
    const first = await get('/pprof/growth');
    assert.equal(first.status, 200);
    assert.equal(first.type, 'text/plain');
    const firstText = first.body.toString();
    assert.match(firstText, /^memory growth over \d+\.\d{3} s, since start-up\n/);
    assert.match(firstText, /^v8_heap_space +used_bytes +used_growth +size_bytes +size_growth$/m);
    assert.match(firstText, /^old_space +\d+ +[+-]?\d+ +\d+ +[+-]?\d+$/m);
    for (const total of ['rss', 'heap_total', 'heap_used', 'external', 'array_buffers']) {
      assert.match(firstText, new RegExp(`^${total} +\\d+ +[+-]?\\d+$`, 'm'));
    }
    const second = (await get('/pprof/growth')).body.toString();
    assert.match(second, /^memory growth over \d+\.\d{3} s, since the previous \/pprof\/growth call\n/);
  });

  test('heap, growth and profile share one busy flag', async () => {
    const running = get('/pprof/profile?seconds=2');
    await new Promise((resolve) => setTimeout(resolve, 400));
    for (const call of ['/pprof/profile?seconds=1', '/pprof/heap', '/pprof/heap?seconds=1', '/pprof/growth']) {
      const busy = await get(call);
      assert.equal(busy.status, 500, call);
      assert.equal(busy.body.toString(), 'another profile is in progress: /pprof/profile', call);
    }
    // The other calls are not held up.
    assert.equal((await get('/pprof/cmdline')).status, 200);
    const first = await running;
    assert.equal(first.status, 200);
    assertGzippedProfile(first.body);
    assert.equal((await get('/pprof/heap')).status, 200, 'the busy flag was not released');
  });

  test('symbol: count on GET, one line per address on POST', async () => {
    const nmPresent = (await run('nm', ['--version'])).code === 0;
    const count = await get('/pprof/symbol');
    assert.equal(count.status, 200);
    const match = /^num_symbols: (\d+)\n$/.exec(count.body.toString());
    assert.ok(match, count.body.toString());
    if (nmPresent) assert.ok(Number(match[1]) > 0, 'nm is installed but no symbols were loaded');

    const unknown = await get('/pprof/symbol', { method: 'POST', body: "'0x10+0xdeadbeefdeadbeef+" });
    assert.equal(unknown.status, 200);
    assert.equal(unknown.body.toString(), '0x00000010\t0x00000010\n0xdeadbeefdeadbeef\t0xdeadbeefdeadbeef\n');
    assert.equal((await get('/pprof/symbol', { method: 'POST', body: '' })).body.toString(), '');

    // `main` of the node binary, placed as the loader placed it in the server process.
    if (!nmPresent) return;
    const nodeBinary = await readlink(`/proc/${server.pid}/exe`).catch(() => undefined);
    if (!nodeBinary) return;
    const nm = await run('nm', ['-p', nodeBinary]);
    const mainLine = /^([0-9a-f]+) T main$/m.exec(nm.stdout);
    if (!mainLine) return; // a stripped node binary: nothing to look up
    const header = Buffer.alloc(18);
    const file = await open(nodeBinary, 'r');
    await file.read(header, 0, 18, 0).finally(() => file.close());
    const isPie = header.readUInt16LE(16) === 3; // ET_DYN; ET_EXEC (2) is linked at its final addresses
    const maps = await readFile(`/proc/${server.pid}/maps`, 'utf8');
    const base = maps.split('\n').find((line) => line.endsWith(nodeBinary) && line.split(/\s+/)[2] === '00000000');
    const loadBase = isPie && base ? BigInt(`0x${base.split('-')[0]}`) : 0n;
    const address = loadBase + BigInt(`0x${mainLine[1]}`) + 1n;
    const named = await get('/pprof/symbol', { method: 'POST', body: `0x${address.toString(16)}` });
    assert.equal(named.body.toString(), `0x${address.toString(16).padStart(8, '0')}\tmain\n`);
  });

  test('cmdline: one argument per line', async () => {
    const response = await get('/pprof/cmdline');
    assert.equal(response.status, 200);
    const text = response.body.toString();
    assert.ok(text.endsWith('\n'));
    const args = text.split('\n');
    assert.ok(args.includes('replica'), text);
    assert.ok(args.includes('--port'), text);
    assert.ok(args.includes(String(server.port)), text);
  });

  test('the server is still up after all of the above', async () => {
    assert.equal(server.child.exitCode, null, server.output());
    assert.equal((await get('/version')).status, 200);
  });
});
