// /repo and /repo/update against a local bare remote: the test clones this checkout into a bare
// repository and a working copy, runs a supervisor (one collector process) from the working
// copy, then pushes commits from a second clone. A good commit is built (type-checked and
// compiled) apart, checked out, its compiled tree swapped in and the process restarted on it; a
// commit that fails the type-check, or a fetch that fails, changes nothing.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoInfo } from '../../src/supervisor/git.ts';
import { alive, freePort, PROJECT_ROOT, waitFor, spawnSupervisor } from '../helpers/process.ts';

const AUTHOR = ['-c', 'user.name=Release Bot', '-c', 'user.email=bot@example.com'];

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

describe('/repo and /repo/update', { timeout: 300000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pteron-supervisor-repo-'));
  const remote = path.join(dir, 'remote.git');
  const work = path.join(dir, 'work');
  const dev = path.join(dir, 'dev');
  let branch = '';
  let port = 0;
  let collectorPort = 0;
  let supervisor: ChildProcess;
  let output = '';
  const pids = new Set<number>();

  const api = async (method: string, target: string, body?: string): Promise<{ status: number; json: any; text: string }> => {
    const response = await fetch(`http://127.0.0.1:${port}${target}`, { method, body });
    const text = await response.text();
    return { status: response.status, json: JSON.parse(text), text };
  };
  const collectorPid = async (): Promise<number> => {
    const metrics = (await api('GET', '/service/metrics/collector')).json;
    const pid = metrics.processes[0].pid as number;
    pids.add(pid);
    return pid;
  };
  const collectorCommit = async (): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${collectorPort}/version`);
    return ((await response.json()) as { GitCommit: string }).GitCommit;
  };
  const healthy = async (): Promise<boolean> => (await api('GET', '/service/health/collector')).json.healthy === 1;
  const commit = (file: string, text: string, message: string): string => {
    fs.mkdirSync(path.dirname(path.join(dev, file)), { recursive: true });
    fs.writeFileSync(path.join(dev, file), text);
    git(dev, 'add', file);
    git(dev, ...AUTHOR, 'commit', '--quiet', '-m', message);
    git(dev, 'push', '--quiet', 'origin', `HEAD:${branch}`);
    return git(dev, 'rev-parse', 'HEAD');
  };

  before(async () => {
    git(dir, 'clone', '--quiet', '--bare', PROJECT_ROOT, remote);
    git(dir, 'clone', '--quiet', remote, work);
    git(dir, 'clone', '--quiet', remote, dev);
    branch = git(work, 'symbolic-ref', '--short', 'HEAD');
    fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(work, 'node_modules'), 'dir');
    // The services run the checkout's compiled tree, as after `npm start`.
    const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: work, encoding: 'utf8' });
    assert.equal(built.status, 0, `npm run build: ${built.stdout}${built.stderr}`);
    port = await freePort();
    collectorPort = await freePort();
    const manifestFile = path.join(dir, 'pteron.yml');
    fs.writeFileSync(manifestFile, `
root: ${work}
supervisor:
  port: ${port}
  run_dir: ${dir}/run
  log_dir: ${dir}/logs
services:
  collector:
    kind: collector
    port: ${collectorPort}
    data_dir: ${dir}/{name}
    health: { http: /version, interval: 300ms, timeout: 1s, start_timeout: 30s }
    restart: { backoff: 300ms }
    stop: { grace: 3s }
`);
    supervisor = spawnSupervisor(manifestFile, (chunk) => (output += chunk));
    try {
      await waitFor('collector healthy', healthy, 60000, 200);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
    await collectorPid();
  });

  after(async () => {
    if (supervisor.exitCode === null && supervisor.signalCode === null) {
      supervisor.kill('SIGTERM');
      await waitFor('supervisor exit', () => supervisor.exitCode !== null || supervisor.signalCode !== null, 20000).catch(() => supervisor.kill('SIGKILL'));
    }
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('/repo: HEAD, the remote branch and the remote URL', async () => {
    const head = git(work, 'rev-parse', 'HEAD');
    const answer = await api('GET', '/repo');
    assert.equal(answer.status, 200);
    const message = spawnSync('git', ['cat-file', 'commit', 'HEAD'], { cwd: work, encoding: 'utf8' }).stdout;
    const expectedReference = (branchName: string) => ({
      branch: branchName,
      hash: head,
      author: git(work, 'log', '-1', '--format=%an <%ae>'),
      message: `${message.slice(message.indexOf('\n\n') + 2)}`,
    });
    assert.deepEqual(answer.json, { sys: 'git', ref: expectedReference(branch), remote: expectedReference(`origin/${branch}`), url: remote });
    assert.equal(await collectorCommit(), head);
  });

  test('/repo/update with nothing new answers from = to and restarts nothing', async () => {
    const pid = await collectorPid();
    const answer = await api('POST', '/repo/update');
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(Object.keys(answer.json), ['from', 'to']);
    assert.equal(answer.json.from.hash, answer.json.to.hash);
    assert.equal(answer.json.to.branch, `origin/${branch}`);
    assert.equal(await collectorPid(), pid);
  });

  test('/repo/update builds the new commit, moves the checkout to it and restarts the process on it', async () => {
    const oldHead = git(work, 'rev-parse', 'HEAD');
    const oldPid = await collectorPid();
    const newHead = commit('src/deployment-note.ts', 'export const note = "deployed by the supervisor test";\n', 'Add deployment notes\n\nA second paragraph.');
    const answer = await api('POST', '/repo/update', '{"invalidate":false}');
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json.from, { ...answer.json.from, branch, hash: oldHead });
    assert.deepEqual(answer.json.to, {
      branch: `origin/${branch}`, hash: newHead, author: 'Release Bot <bot@example.com>', message: 'Add deployment notes\n\nA second paragraph.\n',
    });
    assert.equal(git(work, 'rev-parse', 'HEAD'), newHead);
    assert.equal(git(work, 'symbolic-ref', '--short', 'HEAD'), branch);
    assert.ok(fs.existsSync(path.join(work, 'src/deployment-note.ts')));
    assert.ok(fs.existsSync(path.join(work, 'dist/deployment-note.js')), 'the compiled tree of the new commit was swapped in');
    const newPid = await collectorPid();
    assert.notEqual(newPid, oldPid);
    assert.ok(!alive(oldPid));
    assert.equal(await collectorCommit(), newHead, 'the restarted process runs from the new commit');
    // The build ran apart from the checkout, and its work tree is gone.
    assert.match(fs.readFileSync(path.join(dir, 'logs', 'build.log'), 'utf8'), /\$ npm run build {4}# in .*pteron-build/);
    assert.equal(git(work, 'worktree', 'list').split('\n').length, 1);
    assert.equal((await api('GET', '/repo')).json.ref.hash, newHead);
  });

  test('a commit that fails the type-check changes nothing and says why', async () => {
    const head = git(work, 'rev-parse', 'HEAD');
    const pid = await collectorPid();
    const broken = commit('src/broken-for-supervisor-test.ts', 'export const answer: number = "forty-two";\n', 'Break the build');
    const answer = await api('POST', '/repo/update');
    assert.equal(answer.status, 400);
    assert.match(answer.json.error, new RegExp(`^the build of ${broken.slice(0, 12)} failed; nothing changed: npm run build failed:\\n[^]*broken-for-supervisor-test\\.ts[^]*TS2322`));
    assert.equal(git(work, 'rev-parse', 'HEAD'), head);
    assert.ok(!fs.existsSync(path.join(work, 'src/broken-for-supervisor-test.ts')));
    assert.equal(await collectorPid(), pid);
    assert.equal(await collectorCommit(), head);
    assert.equal(git(work, 'worktree', 'list').split('\n').length, 1);
    const repo = (await api('GET', '/repo')).json;
    assert.deepEqual([repo.ref.hash, repo.remote.hash], [head, broken]);
  });

  test('a failed fetch changes nothing and says why', async () => {
    const head = git(work, 'rev-parse', 'HEAD');
    git(work, 'remote', 'set-url', 'origin', path.join(dir, 'missing.git'));
    try {
      const answer = await api('GET', '/repo/update');
      assert.equal(answer.status, 400);
      assert.match(answer.json.error, /^git fetch origin failed; nothing changed: fatal: .*missing\.git/);
      assert.equal(git(work, 'rev-parse', 'HEAD'), head);
    } finally {
      git(work, 'remote', 'set-url', 'origin', remote);
    }
  });

  test('outside a repository: no repository found', async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'pteron-no-repo-'));
    try {
      await assert.rejects(repoInfo(plain), /^Error: no repository found$/);
    } finally {
      fs.rmSync(plain, { recursive: true, force: true });
    }
  });
});
