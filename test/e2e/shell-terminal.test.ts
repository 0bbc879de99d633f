// The interactive shell in a real terminal (a pty from util-linux's `script`): Tab completes a
// command name, and Ctrl-C cancels a running full_scan (its replica never answers) instead of
// closing the shell, which then runs the next command.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeMeta, FakeReplica, FakeStore } from '../helpers/fake-pegasus.ts';
import { PROJECT_ROOT, waitFor } from '../helpers/process.ts';

const PTERON_BIN = path.join(PROJECT_ROOT, 'bin/pteron.js');
const CTRL_C = '\x03';

describe('the shell in a terminal', { timeout: 180_000 }, () => {
  const store = new FakeStore();
  let meta: FakeMeta;
  let replica: FakeReplica;
  let shell: ChildProcess;
  let screen = '';

  before(async () => {
    meta = await FakeMeta.start();
    replica = await FakeReplica.start(store, meta.partitionCountOf);
    meta.tables.set('t', { appId: 2, partitions: [{ primary: replica.address, ballot: 1 }] });
    replica.serve(2, 0);
    const command = [process.execPath, PTERON_BIN, 'shell', '--meta', meta.address].map((word) => `'${word}'`).join(' ');
    shell = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, TERM: 'xterm', PTERON_LOG_LEVEL: 'warn', PTERON_SHELL_HISTORY: path.join(os.tmpdir(), `pteron-shell-history-${process.pid}`) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    shell.stdout!.on('data', (chunk) => (screen += chunk));
    shell.stderr!.on('data', (chunk) => (screen += chunk));
  });

  after(async () => {
    if (shell.exitCode === null && shell.signalCode === null) shell.kill('SIGKILL');
    await Promise.all([meta.close(), replica.close()]);
  });

  /** Waits until the screen, after `from`, matches; returns where the match ends. */
  const waitScreen = async (pattern: RegExp, from: number): Promise<number> => {
    let end = -1;
    await waitFor(`the screen to show ${pattern}`, () => {
      const match = pattern.exec(screen.slice(from));
      if (match) end = from + match.index + match[0].length;
      return match !== null;
    }, 60_000, 20).catch((error: Error) => assert.fail(`${error.message}; the screen:\n${screen}`));
    return end;
  };

  test('Tab completes, Ctrl-C cancels the running full_scan, and the shell goes on', async () => {
    let at = await waitScreen(/>>> /, 0);
    shell.stdin!.write('vers\t');
    at = await waitScreen(/version/, at);
    shell.stdin!.write('\r');
    at = await waitScreen(/Pteron Shell 2\.6\.0-pteron-[^\r\n]*\r?\n[^]*>>> /, at);

    shell.stdin!.write('use t\r');
    at = await waitScreen(/OK\r?\n[^]*>>> /, at);
    replica.fault = (request) => (request.name === 'RPC_RRDB_RRDB_GET_SCANNER' ? 'hang' : undefined);
    // A deadline of 10 minutes: only Ctrl-C ends this scan.
    shell.stdin!.write('full_scan -t 600000\r');
    await waitFor('the scan reached the replica', () => replica.count('RPC_RRDB_RRDB_GET_SCANNER') > 0, 60_000, 20);
    shell.stdin!.write(CTRL_C);
    at = await waitScreen(/cancelled\r?\n[^]*>>> /, at);
    assert.equal(shell.exitCode, null, 'the shell is still running');

    shell.stdin!.write('use\r');
    at = await waitScreen(/Current app: t\r?\n/, at);
    shell.stdin!.write('exit\r');
    await waitFor('the shell to exit', () => shell.exitCode !== null, 60_000, 20);
    assert.equal(shell.exitCode, 0, screen);
  });
});
