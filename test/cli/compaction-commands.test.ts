// The shell's manual-compaction commands against an in-memory meta: the request they send (the
// admin-cli's defaults), their checks, and what they print on success and failure.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shellWith, type Answer } from '../helpers/fake-meta-shell.ts';

const started: Answer = () => ({ err: 'ERR_OK', response: { err: 'ERR_OK', hintMsg: 'succeed' } });

describe('start_manual_compaction', () => {
  test('sends the admin-cli defaults: target level -1, no running-count limit, bottommost skipped', async () => {
    const shell = shellWith({ RPC_CM_START_MANUAL_COMPACT: started });
    assert.deepEqual(await shell.run('start_manual_compaction -a orders'), { result: 'ok', out: 'Table orders start manual compaction succeed\n', err: '' });
    assert.equal((await shell.run('start_manual_compaction --app_name orders -l 2 -c 4 -b')).result, 'ok');
    assert.deepEqual(shell.calls.map((call) => call.args), [
      { appName: 'orders', targetLevel: -1, maxRunningCount: 0, bottommost: false },
      { appName: 'orders', targetLevel: 2, maxRunningCount: 4, bottommost: true },
    ]);
  });

  test('checks the table name, the level and the count before asking the meta', async () => {
    const shell = shellWith({ RPC_CM_START_MANUAL_COMPACT: started });
    const noTable = await shell.run('start_manual_compaction');
    assert.equal(noTable.result, 'usage');
    assert.equal(noTable.err, 'ERROR: tableName cannot be empty\n');
    assert.match(noTable.out, /^USAGE: \tstart_manual_compaction +<-a\|--app_name str> /);
    assert.deepEqual(await shell.run('start_manual_compaction -a t -l -2'), { result: 'failed', out: '', err: 'ERROR: targetLevel should be greater than -1\n' });
    assert.deepEqual(await shell.run('start_manual_compaction -a t -c -1'), { result: 'failed', out: '', err: 'ERROR: maxRunningCount should be greater than 0\n' });
    const notNumber = await shell.run('start_manual_compaction -a t -l one');
    assert.equal(notNumber.result, 'usage');
    assert.equal(notNumber.err, 'ERROR: target_level "one" is not an integer\n');
    assert.equal((await shell.run('start_manual_compaction -a t extra')).result, 'usage');
    assert.equal((await shell.run('start_manual_compaction -a t --bogus')).result, 'usage');
    assert.equal(shell.calls.length, 0);
  });

  test('prints the meta\'s error with its hint, or the transport\'s detail', async () => {
    const shell = shellWith({
      RPC_CM_START_MANUAL_COMPACT: (args) => args.appName === 'gone'
        ? { err: 'ERR_NETWORK_FAILURE', response: undefined, detail: 'connect ECONNREFUSED' }
        : { err: 'ERR_APP_NOT_EXIST', response: { err: 'ERR_APP_NOT_EXIST', hintMsg: `app ${args.appName} is not existed` } },
    });
    assert.deepEqual(await shell.run('start_manual_compaction -a nope'), {
      result: 'failed', out: '', err: 'StartManualCompact failed: ERR_APP_NOT_EXIST [hint: app nope is not existed]\n',
    });
    assert.deepEqual(await shell.run('start_manual_compaction -a gone'), {
      result: 'failed', out: '', err: 'StartManualCompact failed: ERR_NETWORK_FAILURE [hint: connect ECONNREFUSED]\n',
    });
  });
});

describe('query_manual_compaction', () => {
  test('prints the progress, or the meta\'s error', async () => {
    const shell = shellWith({
      RPC_CM_QUERY_MANUAL_COMPACT_STATUS: (args) => args.appName === 'idle'
        ? { err: 'ERR_INVALID_STATE', response: { err: 'ERR_INVALID_STATE', hintMsg: 'app idle is not manual compaction' } }
        : { err: 'ERR_OK', response: { err: 'ERR_OK', hintMsg: 'succeed', progress: 75 } },
    });
    assert.deepEqual(await shell.run('query_manual_compaction -a orders'), { result: 'ok', out: 'Table orders manual compaction progress is 75\n', err: '' });
    assert.deepEqual(await shell.run('query_manual_compaction -a idle'), {
      result: 'failed', out: '', err: 'QueryManualCompact failed: ERR_INVALID_STATE [hint: app idle is not manual compaction]\n',
    });
    assert.equal((await shell.run('query_manual_compaction')).err, 'ERROR: tableName cannot be empty\n');
    assert.deepEqual(shell.calls.map((call) => call.args), [{ appName: 'orders' }, { appName: 'idle' }]);
  });

  test('both are listed by help', async () => {
    const { out } = await shellWith({}).run('help');
    assert.match(out, /\n\tstart_manual_compaction +<-a\|--app_name str> \[-l\|--target_level num\]\n\t +\[-c\|--max_concurrent_running_count num\]\n\t +\[-b\|--bottommost_level_compaction\]\n/);
    assert.match(out, /\n\tquery_manual_compaction +<-a\|--app_name str>\n/);
  });
});
