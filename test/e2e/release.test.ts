// What a release is: the compiled build (servers run dist/ with plain node, no TypeScript loader),
// the `pteron` command's help, and the client package packed with `npm pack`, installed into a
// scratch project without a registry, doing a set and a get against a cluster.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fastClusterSettings, freePort, PROJECT_ROOT, startPteron, type RunningProcess } from '../helpers/process.ts';

const PTERON_BIN = path.join(PROJECT_ROOT, 'bin/pteron.js');

function run(command: string, args: string[], cwd = PROJECT_ROOT): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const pteron = (...args: string[]) => run(process.execPath, [PTERON_BIN, ...args]);

describe('the release', { timeout: 600_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pteron-release-'));
  const servers: RunningProcess[] = [];

  before(() => {
    const built = run('npm', ['run', 'build', '--silent']);
    assert.equal(built.status, 0, built.stdout + built.stderr);
  });

  after(async () => {
    for (const server of servers.reverse()) await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('pteron --help, -h, --version and every ROLE --help; a bad command exits 2', () => {
    for (const flag of ['--help', '-h']) {
      const help = pteron(flag);
      assert.equal(help.status, 0);
      assert.match(help.stdout, /^usage:\n {2}pteron meta\|replica\|collector /);
    }
    const version = pteron('--version');
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^pteron 2\.6\.0-pteron-\d+\.\d+\.\d+\n$/);
    const expected: Record<string, RegExp> = {
      meta: /\n\[meta_server\]\n[^]*\n {2}min_live_node_count_for_unfreeze = \d+ {3}\(FV_[A-Z0-9]+[^)]*\)\n {6}\S/,
      replica: /\n\[pegasus\.server\]\n/,
      collector: /\n\[network\]\n/,
    };
    for (const [role, pattern] of Object.entries(expected)) {
      const help = pteron(role, '--help');
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^usage: pteron ${role} `));
      assert.match(help.stdout, /\n\[core\]\n {2}data_dir = data {3}\(FV_STRING\)\n/);
      assert.match(help.stdout, pattern, help.stdout);
    }
    assert.doesNotMatch(pteron('collector', '--help').stdout, /\[meta_server\]\n {2}min_live/, 'a role lists the flags its process declares');
    const bad = pteron('nosuch');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^pteron: unknown command "nosuch"/);
    assert.equal(pteron('meta', '--bogus').status, 2);
  });

  test('servers started from dist/ load no TypeScript compiler or loader; the packed client sets and gets', async () => {
    const metaPort = await freePort();
    const cluster = fastClusterSettings(metaPort, 'release');
    servers.push(await startPteron('meta', {
      port: metaPort, compiled: true,
      args: [...cluster, '--set', `core.data_dir=${dir}/meta`, '--set', 'meta_server.min_live_node_count_for_unfreeze=1',
        '--set', 'meta_server.apps.temp.partition_count=2', '--set', 'meta_server.apps.temp.max_replica_count=1'],
    }));
    // One replica server: a single-replica table, whose writes commit on the primary alone.
    servers.push(await startPteron('replica', {
      compiled: true, args: [...cluster, '--set', `core.data_dir=${dir}/replica`, '--set', 'replication.mutation_2pc_min_replica_count=1'],
    }));
    for (const server of servers) {
      const commandLine = fs.readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0');
      assert.equal(commandLine[1], path.join(PROJECT_ROOT, 'dist/cli/main.js'), commandLine.join(' '));
      // What could load a loader from the environment: NODE_OPTIONS (npm's own npm_* variables only describe the test run).
      const nodeOptions = fs.readFileSync(`/proc/${server.pid}/environ`, 'utf8').split('\0').filter((entry) => entry.startsWith('NODE_OPTIONS='));
      const maps = fs.readFileSync(`/proc/${server.pid}/maps`, 'utf8');
      for (const text of [commandLine.join(' '), nodeOptions.join(' '), maps]) assert.doesNotMatch(text, /tsx|typescript|esbuild/);
    }

    // The client package, as another project installs it: no registry, no dependencies.
    const packed = run('npm', ['pack', '--silent', '--pack-destination', dir], path.join(PROJECT_ROOT, 'packages/client'));
    assert.equal(packed.status, 0, packed.stderr);
    const tarball = path.join(dir, packed.stdout.trim().split('\n').at(-1)!);
    const project = path.join(dir, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', type: 'module', private: true }));
    const installed = run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], project);
    assert.equal(installed.status, 0, installed.stdout + installed.stderr);
    assert.deepEqual(fs.readdirSync(path.join(project, 'node_modules')).filter((name) => !name.startsWith('.')), ['pteron-client']);
    fs.writeFileSync(path.join(project, 'main.js'), `
import { createClient, PegasusError } from 'pteron-client';
const client = createClient({ metaServers: ['127.0.0.1:${metaPort}'], timeoutMs: 60000 });
const table = await client.openTable('temp');
await table.set('release', 'sk', 'packed');
console.log(JSON.stringify({ value: (await table.get('release', 'sk')).toString(), errorClass: typeof PegasusError }));
await client.close();
`);
    const used = run(process.execPath, ['main.js'], project);
    assert.equal(used.status, 0, used.stdout + used.stderr);
    assert.deepEqual(JSON.parse(used.stdout), { value: 'packed', errorClass: 'function' });
    // Its type declarations check in a strict TypeScript project.
    fs.writeFileSync(path.join(project, 'typed.ts'), `import { createClient, type PegasusErrorCode, type PegasusTable } from 'pteron-client';
const code: PegasusErrorCode = 'ERR_ABORTED';
const table: Promise<PegasusTable> = createClient({ metaServers: '127.0.0.1:1' }).openTable('t', { signal: AbortSignal.abort() });
export { code, table };
`);
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], typeRoots: [path.join(PROJECT_ROOT, 'node_modules/@types')] },
      files: ['typed.ts'],
    }));
    const typed = run(path.join(PROJECT_ROOT, 'node_modules/.bin/tsc'), ['-p', '.'], project);
    assert.equal(typed.status, 0, typed.stdout + typed.stderr);
  });

  test('importing the client declares no server flag and starts no logger', () => {
    const script = `import('${path.join(PROJECT_ROOT, 'packages/client/dist/client/index.js')}').then(() => {});`;
    const checked = run(process.execPath, ['--input-type=module', '-e', script]);
    assert.equal(checked.status, 0, checked.stderr);
    const files = fs.readdirSync(path.join(PROJECT_ROOT, 'packages/client/dist'));
    assert.deepEqual(files.filter((name) => !name.startsWith('.')).sort(), ['base', 'client', 'cluster', 'net', 'wire'], 'the package holds the client and what it needs');
    assert.ok(!fs.existsSync(path.join(PROJECT_ROOT, 'packages/client/dist/config')), 'no flag registry');
    assert.ok(!fs.existsSync(path.join(PROJECT_ROOT, 'packages/client/dist/base/log.js')), 'no logger');
  });
});
