// The duplication commands, as Pegasus's shell has them (src/shell/commands/duplication.cpp):
// add_dup, query_dup, remove_dup, start_dup, pause_dup and set_dup_fail_mode, with its options,
// messages and tables.
import { formatLocalTime, multiTable, renderTableText } from '../../base/index.ts';
import { duplicationQueryJson, duplicationStatusName } from '../../cluster/index.ts';
import { DuplicationFailMode, DuplicationStatus, RPCS, type DuplicationModifyRequest } from '../../wire/structs/index.ts';
import { parseInt32 } from './command-line.ts';
import { replyError } from './meta-client.ts';
import { flag, options, param, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';

/** buf2uint32: decimal digits within 32 bits. */
function parseUint32(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value <= 0xffffffff ? value : undefined;
}

/** A creation time as Pegasus's time_ms_to_string prints it: local time with milliseconds. */
function createTime(ms: bigint): string {
  return formatLocalTime(new Date(Number(ms)), true);
}

const addDup: ShellCommand = {
  name: 'add_dup',
  usage: '<app_name> <remote_cluster_name> [-s|--sst] [-a|--remote_app_name str] [-r|--remote_replica_count num]',
  async run(state, words) {
    const parsed = options(state, words, [flag('s', 'sst'), param('a', 'remote_app_name'), param('r', 'remote_replica_count')]);
    if (!parsed) return 'usage';
    const [appName, remoteClusterName] = parsed.positionals;
    if (appName === undefined) return (state.io.err('missing param <app_name>\n'), 'usage');
    if (remoteClusterName === undefined) return (state.io.err('missing param <remote_cluster_name>\n'), 'usage');
    const isDuplicatingCheckpoint = parsed.options.has('sst');
    const remoteAppName = parsed.options.get('remote_app_name') ?? appName;
    const replicaText = parsed.options.get('remote_replica_count') ?? '0';
    const remoteReplicaCount = parseUint32(replicaText);
    if (remoteReplicaCount === undefined) return (state.io.err(`invalid command, '${replicaText}' should be an unsigned integer\n`), 'usage');
    const request = `app_name: ${appName}, remote_cluster_name: ${remoteClusterName}, is_duplicating_checkpoint: ${isDuplicatingCheckpoint}, ` +
      `remote_app_name: ${remoteAppName}, remote_replica_count: ${remoteReplicaCount}`;
    state.io.out(`trying to add duplication [${request}]\n`);
    const reply = await state.meta.call(RPCS.RPC_CM_ADD_DUPLICATION, { appName, remoteClusterName, isDuplicatingCheckpoint, remoteAppName, remoteReplicaCount });
    const response = reply.response;
    if ((reply.err !== 'ERR_OK' && reply.err !== 'ERR_DUP_EXIST') || !response) {
      state.io.err(`adding duplication failed [${request}, error: ${reply.response ? reply.err : replyError(reply)}]\n`);
      if (response?.hint) state.io.err(`detail:\n  ${response.hint}\n`);
      return 'failed';
    }
    let text = reply.err === 'ERR_DUP_EXIST' ? 'duplication has been existing' : 'adding duplication succeed';
    text += ` [app_name: ${appName}, remote_cluster_name: ${remoteClusterName}, appid: ${response.appid}, dupid: ${response.dupid}`;
    if (reply.err === 'ERR_OK') text += `, is_duplicating_checkpoint: ${isDuplicatingCheckpoint}`;
    if (response.remoteAppName !== undefined) text += `, remote_app_name: ${response.remoteAppName}`;
    if (response.remoteReplicaCount !== undefined) text += `, remote_replica_count: ${response.remoteReplicaCount}`;
    state.io.out(`${text}]\n`);
    return 'ok';
  },
};

const queryDup: ShellCommand = {
  name: 'query_dup',
  usage: '<app_name> [-d|--detail]',
  async run(state, words) {
    const parsed = options(state, words, [flag('d', 'detail')]);
    if (!parsed) return 'usage';
    if (parsed.positionals.length > 1) return (state.io.err('too many params\n'), 'usage');
    const appName = parsed.positionals[0];
    if (appName === undefined) return (state.io.err('missing param <app_name>\n'), 'usage');
    const reply = await state.meta.call(RPCS.RPC_CM_QUERY_DUPLICATION, { appName });
    const response = reply.response;
    if (reply.err !== 'ERR_OK' || !response) {
      state.io.err(`querying duplications of app [${appName}] failed, error=${replyError(reply)}\n`);
      return 'failed';
    }
    if (parsed.options.has('detail')) {
      state.io.out(`duplications of app [${appName}] in detail:\n${duplicationQueryJson(response.appid, response.entryList)}\n\n`);
      return 'ok';
    }
    state.io.out(`duplications of app [${appName}] are listed as below:\n`);
    // Pegasus prints the table after each row it adds, so it shows once per duplication, growing.
    const rows: string[][] = [];
    for (const entry of response.entryList) {
      rows.push([String(entry.dupid), duplicationStatusName(entry.status), entry.remote, createTime(entry.createTs)]);
      state.io.out(`${renderTableText(multiTable('', ['dup_id', 'status', 'remote cluster', 'create time'], rows))}\n`);
    }
    return 'ok';
  },
};

/** Prints `<operation> succeed` or why not, as Pegasus's handle_duplication_modify_response. */
async function modifyDuplication(state: ShellState, operation: string, request: DuplicationModifyRequest): Promise<CommandResult> {
  const reply = await state.meta.call(RPCS.RPC_CM_MODIFY_DUPLICATION, request);
  if (reply.err === 'ERR_OK') {
    state.io.out(`${operation} succeed\n`);
    return 'ok';
  }
  const hint = reply.err === 'ERR_OBJECT_NOT_FOUND' ? ' [duplication not found]' : '';
  state.io.err(`${operation} failed, error=${replyError(reply)}${hint}\n`);
  return 'failed';
}

function statusCommand(name: string, operation: string, status: DuplicationStatus): ShellCommand {
  return {
    name,
    usage: '<app_name> <dup_id>',
    async run(state, words) {
      const [appName, dupidText] = words;
      if (appName === undefined || dupidText === undefined) return 'usage';
      const dupid = parseInt32(dupidText);
      if (dupid === undefined) return (state.io.err(`parsing ${dupidText} as positive int failed\n`), 'usage');
      return modifyDuplication(state, `${operation}(${dupid}) for app ${appName}`, { appName, dupid, status });
    },
  };
}

const FAIL_MODES: Readonly<Record<string, DuplicationFailMode>> = { slow: DuplicationFailMode.FAIL_SLOW, skip: DuplicationFailMode.FAIL_SKIP };

const setDupFailMode: ShellCommand = {
  name: 'set_dup_fail_mode',
  usage: '<app_name> <dup_id> <slow|skip>',
  async run(state, words) {
    if (words.length > 3) return (state.io.err('too many params\n'), 'usage');
    const [appName = '', dupidText = '', mode = ''] = words;
    const dupid = parseInt32(dupidText);
    if (dupid === undefined) return (state.io.err(`invalid dup_id ${dupidText}\n`), 'usage');
    const failMode = Object.hasOwn(FAIL_MODES, mode) ? FAIL_MODES[mode] : undefined;
    if (failMode === undefined) return (state.io.err(`fail_mode must be "slow" or  "skip": ${mode}\n`), 'usage');
    return modifyDuplication(state, `set duplication(${dupid}) fail_mode (${mode}) for app ${appName}`, { appName, dupid, failMode });
  },
};

export const DUPLICATION_COMMANDS: readonly ShellCommand[] = [
  addDup,
  queryDup,
  statusCommand('remove_dup', 'removing duplication', DuplicationStatus.DS_REMOVED),
  statusCommand('start_dup', 'starting duplication', DuplicationStatus.DS_LOG),
  statusCommand('pause_dup', 'pausing duplication', DuplicationStatus.DS_PAUSE),
  setDupFailMode,
];
