// The shell's Tab completion: command names, a command's options from its usage, table names.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SHELL_COMMANDS } from '../../src/cli/shell/index.ts';
import { complete, usageOptions } from '../../src/cli/shell/completion.ts';

const tables = async (): Promise<string[]> => ['temp', 'test_table', 'users'];
const noTables = async (): Promise<string[]> => assert.fail('table names were not needed');

describe('shell completion', () => {
  test('the first word completes to command names', async () => {
    assert.deepEqual(await complete('full_s', SHELL_COMMANDS, noTables), { hits: ['full_scan'], word: 'full_s' });
    const multi = await complete('multi_', SHELL_COMMANDS, noTables);
    assert.ok(multi.hits.includes('multi_get') && multi.hits.includes('multi_del_range'), String(multi.hits));
    assert.ok(multi.hits.every((name) => name.startsWith('multi_')));
    assert.deepEqual((await complete('', SHELL_COMMANDS, noTables)).hits.length, SHELL_COMMANDS.length);
  });

  test('a word starting with "-" completes to the options the command\'s usage names', async () => {
    assert.deepEqual(usageOptions('<app_name> [-p|--partition_count num] [-f|--fail_if_exist]'), ['-p', '--partition_count', '-f', '--fail_if_exist']);
    assert.deepEqual(await complete('full_scan --no', SHELL_COMMANDS, noTables), { hits: ['--no_value'], word: '--no' });
    assert.deepEqual((await complete('create t --', SHELL_COMMANDS, noTables)).hits.slice(0, 2), ['--partition_count', '--replica_count']);
    assert.deepEqual(await complete('nosuch --x', SHELL_COMMANDS, noTables), { hits: [], word: '--x' });
  });

  test('other words complete to table names where the command takes one', async () => {
    assert.deepEqual(await complete('use te', SHELL_COMMANDS, tables), { hits: ['temp', 'test_table'], word: 'te' });
    assert.deepEqual(await complete('  drop u', SHELL_COMMANDS, tables), { hits: ['users'], word: 'u' });
    assert.deepEqual(await complete('set hk s', SHELL_COMMANDS, noTables), { hits: [], word: 's' }, 'set takes keys, not a table');
  });
});
