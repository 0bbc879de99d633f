// Partition split from the shell: `start_partition_split`, `query_partition_split`,
// `pause_partition_split`, `restart_partition_split` and `cancel_partition_split`
// (RPC_CM_START/QUERY/CONTROL_PARTITION_SPLIT). Pegasus's C++ shell has no split commands; these
// take the options of its admin-cli's `partition-split start|query|pause|restart|cancel` and
// print what it prints: a failure as `ERR_X [hint: …]` on stderr, so `-j` output pipes into `jq`.
import { renderTables, multiTable } from '../../base/index.ts';
import { SPLIT_STATUS_VALUES } from '../../cluster/index.ts';
import { RPCS, SplitControlType } from '../../wire/structs/index.ts';
import { parseInt32 } from './command-line.ts';
import type { MetaReply } from './meta-client.ts';
import { flag, options, param, type ShellCommand, type ShellState } from './shell-command.ts';

/** admin-cli's wrapHintIntoError: the error, then the meta's hint when it gave one. */
function splitError(reply: MetaReply<{ hintMsg?: string }>): string {
  const hint = reply.response?.hintMsg || reply.detail || '';
  return hint === '' ? reply.err : `${reply.err} [hint: ${hint}]`;
}

const TABLE = param('a', 'tableName');

/** The table name, or undefined after printing admin-cli's complaint. */
function tableNameOf(state: ShellState, value: string | undefined): string | undefined {
  if (value !== undefined && value !== '') return value;
  state.io.err('tableName cannot be empty\n');
  return undefined;
}

/** A count option: undefined when it is missing or zero (admin-cli's "cannot be empty"), or not an integer. */
function countOf(state: ShellState, name: string, value: string | undefined): number | undefined {
  const count = value === undefined ? 0 : parseInt32(value);
  if (count === undefined) {
    state.io.err(`invalid ${name}: ${value}\n`);
    return undefined;
  }
  if (count === 0) {
    state.io.err(`${name} cannot be empty\n`);
    return undefined;
  }
  return count;
}

const startPartitionSplit: ShellCommand = {
  name: 'start_partition_split',
  usage: '<-a|--tableName TABLE_NAME> <-p|--newPartitionCount NEW_PARTITION_COUNT>',
  async run(state, words) {
    const parsed = options(state, words, [TABLE, param('p', 'newPartitionCount')]);
    if (!parsed || parsed.positionals.length !== 0) return 'usage';
    const appName = tableNameOf(state, parsed.options.get('tableName'));
    if (appName === undefined) return 'usage';
    const newPartitionCount = countOf(state, 'newPartitionCount', parsed.options.get('newPartitionCount'));
    if (newPartitionCount === undefined) return 'usage';
    const reply = await state.meta.call(RPCS.RPC_CM_START_PARTITION_SPLIT, { appName, newPartitionCount });
    if (reply.err !== 'ERR_OK') {
      state.io.err(`${splitError(reply)}\n`);
      return 'failed';
    }
    state.io.out(`Table ${appName} start partition split succeed\n`);
    return 'ok';
  },
};

const STATUS_NAMES = new Map<number, string>(Object.entries(SPLIT_STATUS_VALUES).map(([name, value]) => [value, name]));

const queryPartitionSplit: ShellCommand = {
  name: 'query_partition_split',
  usage: '<-a|--tableName TABLE_NAME> [-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [TABLE, flag('j', 'json')]);
    if (!parsed || parsed.positionals.length !== 0) return 'usage';
    const appName = tableNameOf(state, parsed.options.get('tableName'));
    if (appName === undefined) return 'usage';
    const reply = await state.meta.call(RPCS.RPC_CM_QUERY_PARTITION_SPLIT, { appName });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.err(`${splitError(reply)}\n`);
      return 'failed';
    }
    const { newPartitionCount, status } = reply.response;
    const parents = Math.floor(newPartitionCount / 2);
    const rows: string[][] = [];
    for (let index = 0; index < parents; index++) {
      const value = status.get(index);
      rows.push([String(index), value === undefined ? 'COMPLETED' : STATUS_NAMES.get(value) ?? String(value)]);
    }
    const summary = [[String(status.size), String(parents - status.size)]];
    state.io.out(renderTables([
      multiTable('AllPartitionStatus', ['Pidx', 'SplitStatus'], rows),
      multiTable('Summary', ['SplittingCount', 'CompletedCount'], summary),
    ], parsed.options.has('json')));
    return 'ok';
  },
};

function controlPartitionSplit(name: 'pause' | 'restart'): ShellCommand {
  return {
    name: `${name}_partition_split`,
    usage: '<-a|--tableName TABLE_NAME> [-i|--parentPidx PARENT_PIDX]',
    async run(state, words) {
      const parsed = options(state, words, [TABLE, param('i', 'parentPidx')]);
      if (!parsed || parsed.positionals.length !== 0) return 'usage';
      const appName = tableNameOf(state, parsed.options.get('tableName'));
      if (appName === undefined) return 'usage';
      const indexText = parsed.options.get('parentPidx');
      const parentPidx = indexText === undefined ? -1 : parseInt32(indexText);
      if (parentPidx === undefined) {
        state.io.err(`invalid parentPidx: ${indexText}\n`);
        return 'usage';
      }
      const controlType = name === 'pause' ? SplitControlType.PAUSE : SplitControlType.RESTART;
      const reply = await state.meta.call(RPCS.RPC_CM_CONTROL_PARTITION_SPLIT, { appName, controlType, parentPidx });
      if (reply.err !== 'ERR_OK') {
        state.io.err(`${splitError(reply)}\n`);
        return 'failed';
      }
      state.io.out(parentPidx < 0 ? `Table ${appName} all partition ${name} split succeed\n` : `Table ${appName} partition[${parentPidx}] ${name} split succeed\n`);
      return 'ok';
    },
  };
}

const cancelPartitionSplit: ShellCommand = {
  name: 'cancel_partition_split',
  usage: '<-a|--tableName TABLE_NAME> <-p|--oldPartitionCount OLD_PARTITION_COUNT>',
  async run(state, words) {
    const parsed = options(state, words, [TABLE, param('p', 'oldPartitionCount')]);
    if (!parsed || parsed.positionals.length !== 0) return 'usage';
    const appName = tableNameOf(state, parsed.options.get('tableName'));
    if (appName === undefined) return 'usage';
    const oldPartitionCount = countOf(state, 'oldPartitionCount', parsed.options.get('oldPartitionCount'));
    if (oldPartitionCount === undefined) return 'usage';
    const reply = await state.meta.call(RPCS.RPC_CM_CONTROL_PARTITION_SPLIT, {
      appName, controlType: SplitControlType.CANCEL, parentPidx: -1, oldPartitionCount,
    });
    if (reply.err !== 'ERR_OK') {
      state.io.err(`${splitError(reply)}\n`);
      return 'failed';
    }
    state.io.out(`Table ${appName} cancel partition split succeed\n`);
    return 'ok';
  },
};

export const SPLIT_COMMANDS: readonly ShellCommand[] = [
  startPartitionSplit, queryPartitionSplit, controlPartitionSplit('pause'), controlPartitionSplit('restart'), cancelPartitionSplit,
];
