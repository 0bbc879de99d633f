// The manual-compaction commands, as Pegasus's admin-cli has them (`manual-compaction start`
// and `manual-compaction query`): the same options, defaults, checks and messages; the meta's
// error is printed by name with its hint.
import { RPCS } from '../../wire/structs/index.ts';
import { parseInt32 } from './command-line.ts';
import type { MetaReply } from './meta-client.ts';
import { flag, options, param, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';

/** `<Call> failed: <ERR> [hint: <hint>]`, as admin-cli words a failed meta call. */
function failure(state: ShellState, call: string, reply: MetaReply<{ hintMsg: string }>): CommandResult {
  const hint = reply.response?.hintMsg || reply.detail || '';
  state.io.err(`${call} failed: ${reply.err}${hint === '' ? '' : ` [hint: ${hint}]`}\n`);
  return 'failed';
}

/** An int32 option's value (or its default), or undefined after printing why not. */
function intOption(state: ShellState, given: string | undefined, name: string, fallback: number): number | undefined {
  if (given === undefined) return fallback;
  const value = parseInt32(given);
  if (value === undefined) state.io.err(`ERROR: ${name} "${given}" is not an integer\n`);
  return value;
}

const startManualCompaction: ShellCommand = {
  name: 'start_manual_compaction',
  usage: '<-a|--app_name str> [-l|--target_level num] [-c|--max_concurrent_running_count num] [-b|--bottommost_level_compaction]',
  async run(state, words) {
    const parsed = options(state, words, [
      param('a', 'app_name'), param('l', 'target_level'), param('c', 'max_concurrent_running_count'), flag('b', 'bottommost_level_compaction'),
    ]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const appName = parsed.options.get('app_name') ?? '';
    if (appName === '') {
      state.io.err('ERROR: tableName cannot be empty\n');
      return 'usage';
    }
    const targetLevel = intOption(state, parsed.options.get('target_level'), 'target_level', -1);
    const maxRunningCount = intOption(state, parsed.options.get('max_concurrent_running_count'), 'max_concurrent_running_count', 0);
    if (targetLevel === undefined || maxRunningCount === undefined) return 'usage';
    if (targetLevel < -1) {
      state.io.err('ERROR: targetLevel should be greater than -1\n');
      return 'failed';
    }
    if (maxRunningCount < 0) {
      state.io.err('ERROR: maxRunningCount should be greater than 0\n');
      return 'failed';
    }
    const reply = await state.meta.call(RPCS.RPC_CM_START_MANUAL_COMPACT, {
      appName, targetLevel, maxRunningCount, bottommost: parsed.options.has('bottommost_level_compaction'),
    });
    if (reply.err !== 'ERR_OK') return failure(state, 'StartManualCompact', reply);
    state.io.out(`Table ${appName} start manual compaction succeed\n`);
    return 'ok';
  },
};

const queryManualCompaction: ShellCommand = {
  name: 'query_manual_compaction',
  usage: '<-a|--app_name str>',
  async run(state, words) {
    const parsed = options(state, words, [param('a', 'app_name')]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const appName = parsed.options.get('app_name') ?? '';
    if (appName === '') {
      state.io.err('ERROR: tableName cannot be empty\n');
      return 'usage';
    }
    const reply = await state.meta.call(RPCS.RPC_CM_QUERY_MANUAL_COMPACT_STATUS, { appName });
    if (reply.err !== 'ERR_OK') return failure(state, 'QueryManualCompact', reply);
    state.io.out(`Table ${appName} manual compaction progress is ${reply.response?.progress ?? 0}\n`);
    return 'ok';
  },
};

export const COMPACTION_COMMANDS: readonly ShellCommand[] = [startManualCompaction, queryManualCompaction];
