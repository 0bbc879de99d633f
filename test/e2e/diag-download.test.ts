// The profiler command end to end on a real replica: start and stop over POST /api, download the
// profile from /api/download, and check that `go tool pprof` reads it; downloads stay inside the
// output directory.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startPteron, type RunningProcess } from '../helpers/process.ts';

type Json = Record<string, any>;

let replica: RunningProcess;
let tempDir: string;
let outputDir: string;

before(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'pteron-download-'));
  outputDir = path.join(tempDir, 'output');
  replica = await startPteron('replica', {
    args: [
      '--set', 'meta_server.server_list=127.0.0.1:1',
      '--set', `core.data_dir=${path.join(tempDir, 'data')}`,
      '--set', `diag.api_output_dir=${outputDir}`,
    ],
  });
});

after(async () => {
  await replica?.stop();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
});

async function exec(command: string): Promise<Json[]> {
  const response = await fetch(`${replica.url}/api`, { method: 'POST', body: JSON.stringify({ action: 'exec', command }) });
  assert.equal(response.status, 200);
  const json = (await response.json()) as Json;
  assert.equal(json.state, 'SUCCEEDED', JSON.stringify(json));
  const results = json.body.results as Json[];
  assert.deepEqual(results.at(-1), { jobId: json.body.jobId, statusCode: 0, type: 'status' }, JSON.stringify(results));
  return results.slice(0, -1);
}

/** A GET with the path sent as written: fetch would resolve `..` before sending. */
function rawGet(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: replica.port, path: target, method: 'GET' }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.once('error', reject);
    request.end();
  });
}

test('profiler start/stop over /api gives a pprof file that downloads and that go tool pprof reads', async () => {
  const [started] = await exec('profiler start');
  assert.equal(started!.executeResult, 'Profiling started');
  // Some work for the profile to see.
  await exec('dashboard -i 100 -n 2');
  const [stopped] = await exec('profiler stop');
  assert.equal(stopped!.format, 'pprof');
  assert.match(stopped!.downloadUrl, /^\/api\/download\/profile-[0-9-]+-\d+\.pb\.gz$/);
  assert.equal(path.dirname(stopped!.outputFile), outputDir);

  const response = await fetch(`${replica.url}${stopped!.downloadUrl}`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  assert.equal(response.headers.get('content-disposition'), `attachment; filename="${path.basename(stopped!.outputFile)}"`);
  const profile = Buffer.from(await response.arrayBuffer());
  assert.deepEqual([...profile.subarray(0, 2)], [0x1f, 0x8b]);

  const downloaded = path.join(tempDir, 'downloaded.pb.gz');
  await writeFile(downloaded, profile);
  const pprofTmp = path.join(tempDir, 'pprof');
  const { stdout } = await promisify(execFile)('go', ['tool', 'pprof', '-top', downloaded], {
    env: { ...process.env, PPROF_TMPDIR: pprofTmp },
    timeout: 120_000,
  });
  assert.match(stdout, /flat%/);
});

test('downloads: unknown files are 404, anything but a plain file name is refused', async () => {
  assert.equal((await fetch(`${replica.url}/api/download/no-such-file.pb.gz`)).status, 404);
  for (const target of ['/api/download/../x', '/api/download/%2e%2e%2fx', '/api/download/.hidden', '/api/download/a/b']) {
    const answer = await rawGet(target);
    assert.ok(answer.status === 400 || answer.status === 404, `${target}: ${answer.status}`);
    assert.notEqual(answer.status, 200);
  }
  assert.equal((await rawGet('/api/download/../x')).status, 400);
});
