// The shell's partition-split commands against an in-memory meta: the requests they send, what
// they print (admin-cli's messages and query tables, -j JSON), and their refusals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MetaReply } from '../../src/cli/shell/index.ts';
import { SplitControlType, SplitStatus } from '../../src/wire/index.ts';
import { shellWith } from '../helpers/fake-meta-shell.ts';

const ok = (): MetaReply<any> => ({ err: 'ERR_OK', response: { err: 'ERR_OK', hintMsg: '' } });

describe('partition split commands', () => {
  test('start sends the new count and prints admin-cli\'s message; a refusal goes to stderr with its hint', async () => {
    const shell = shellWith({ RPC_CM_START_PARTITION_SPLIT: ok });
    assert.deepEqual(await shell.run('start_partition_split -a temp -p 16'), { result: 'ok', out: 'Table temp start partition split succeed\n', err: '' });
    assert.deepEqual(shell.calls[0], { name: 'RPC_CM_START_PARTITION_SPLIT', args: { appName: 'temp', newPartitionCount: 16 } });
    const busy = shellWith({
      RPC_CM_START_PARTITION_SPLIT: () => ({ err: 'ERR_BUSY', response: { err: 'ERR_BUSY', hintMsg: 'app(temp) is already executing partition split' } }),
    });
    assert.deepEqual(await busy.run('start_partition_split --tableName temp --newPartitionCount 16'), {
      result: 'failed', out: '', err: 'ERR_BUSY [hint: app(temp) is already executing partition split]\n',
    });
    const empty = await shell.run('start_partition_split -p 16');
    assert.equal(empty.result, 'usage');
    assert.match(empty.err, /^tableName cannot be empty$/m);
    assert.match((await shell.run('start_partition_split -a temp')).err, /^newPartitionCount cannot be empty$/m);
    assert.match((await shell.run('start_partition_split -a temp -p x')).err, /^invalid newPartitionCount: x$/m);
    assert.equal(shell.calls.length, 1);
  });

  test('query prints every parent\'s status (COMPLETED once registered) and a summary, as text and JSON', async () => {
    const status = new Map([[0, SplitStatus.SPLITTING], [2, SplitStatus.PAUSED]]);
    const shell = shellWith({ RPC_CM_QUERY_PARTITION_SPLIT: () => ({ err: 'ERR_OK', response: { err: 'ERR_OK', newPartitionCount: 8, status } }) });
    const text = await shell.run('query_partition_split -a temp');
    assert.equal(text.result, 'ok');
    assert.equal(text.out, [
      '[AllPartitionStatus]', 'Pidx  SplitStatus  ', '0     SPLITTING    ', '1     COMPLETED    ', '2     PAUSED       ', '3     COMPLETED    ', '',
      '[Summary]', 'SplittingCount  CompletedCount  ', '2               2               ', '', '',
    ].join('\n'));
    const json = JSON.parse((await shell.run('query_partition_split -a temp -j')).out) as Record<string, Record<string, Record<string, string>>>;
    assert.deepEqual(json.AllPartitionStatus!['2'], { Pidx: '2', SplitStatus: 'PAUSED' });
    assert.deepEqual(json.Summary!['2'], { SplittingCount: '2', CompletedCount: '2' });
    const idle = shellWith({
      RPC_CM_QUERY_PARTITION_SPLIT: () => ({ err: 'ERR_INVALID_STATE', response: { err: 'ERR_INVALID_STATE', newPartitionCount: 0, status: new Map(), hintMsg: 'app(temp) is not splitting' } }),
    });
    assert.deepEqual(await idle.run('query_partition_split -a temp'), { result: 'failed', out: '', err: 'ERR_INVALID_STATE [hint: app(temp) is not splitting]\n' });
  });

  test('pause and restart one parent or all, cancel with the old count', async () => {
    const shell = shellWith({ RPC_CM_CONTROL_PARTITION_SPLIT: ok });
    assert.equal((await shell.run('pause_partition_split -a temp')).out, 'Table temp all partition pause split succeed\n');
    assert.equal((await shell.run('pause_partition_split -a temp -i 3')).out, 'Table temp partition[3] pause split succeed\n');
    assert.equal((await shell.run('restart_partition_split -a temp -i 3')).out, 'Table temp partition[3] restart split succeed\n');
    assert.equal((await shell.run('cancel_partition_split -a temp -p 8')).out, 'Table temp cancel partition split succeed\n');
    assert.deepEqual(shell.calls.map((call) => call.args), [
      { appName: 'temp', controlType: SplitControlType.PAUSE, parentPidx: -1 },
      { appName: 'temp', controlType: SplitControlType.PAUSE, parentPidx: 3 },
      { appName: 'temp', controlType: SplitControlType.RESTART, parentPidx: 3 },
      { appName: 'temp', controlType: SplitControlType.CANCEL, parentPidx: -1, oldPartitionCount: 8 },
    ]);
    assert.match((await shell.run('cancel_partition_split -a temp')).err, /^oldPartitionCount cannot be empty$/m);
    assert.match((await shell.run('pause_partition_split -a temp -i one')).err, /^invalid parentPidx: one$/m);
  });
});
