// The shell's commands. Each one parses its words, asks the meta through a MetaCaller, and
// prints through the pure formatters; what it prints on success and failure follows Pegasus's
// shell. A command reports whether it succeeded, so scripted runs can exit non-zero.
import {
  AppEnvOperation, AppStatus, NodeStatus, PatternMatchType, RPCS, type AppInfo, type PartitionConfiguration, type UpdateAppEnvRequest, type UpdateAppEnvResponse,
} from '../../wire/structs/index.ts';
import { CommandLineError, parseInt32, parseKeyValueList } from './command-line.ts';
import {
  formatAppDetail, formatAppEnvs, formatAppList, formatClusterInfo, formatNodeList, readyPartitionCount,
} from '../../cluster/index.ts';
import { formatHelp, formatHelpEntry } from './format.ts';
import { APP_STAT_COMMANDS } from './app-stat-commands.ts';
import { BACKUP_COMMANDS } from './backup-commands.ts';
import { BULK_LOAD_COMMANDS } from './bulk-load-commands.ts';
import { COMPACTION_COMMANDS } from './compaction-commands.ts';
import { DATA_COMMANDS } from './data-commands.ts';
import { DUPLICATION_COMMANDS } from './duplication-commands.ts';
import { HOTKEY_COMMANDS } from './hotkey-commands.ts';
import { META_LEVEL_COMMANDS } from './meta-level-commands.ts';
import { SPLIT_COMMANDS } from './split-commands.ts';
import { TABLE_ADMIN_COMMANDS } from './table-admin-commands.ts';
import { RANGE_COMMANDS, SESSION_COMMANDS } from './range-commands.ts';
import { TABLE_DATA_COMMANDS } from './table-data-commands.ts';
import { NODE_COMMANDS, remoteCommand } from './remote-command.ts';
import { replyError, type MetaReply } from './meta-client.ts';
import { flag, options, param, requireCurrentApp, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';

/** Why a table name was refused, as the reference words it. */
const INVALID_APP_NAME = 'only 0-9a-zA-Z.:_ are valid in a table name';

/** Table names the reference accepts: letters, digits, '_', '.' and ':'. */
export function isValidAppName(name: string, allowEmpty = false): boolean {
  return name === '' ? allowEmpty : /^[0-9A-Za-z_.:]+$/.test(name);
}

const APP_STATUS_BY_NAME: Readonly<Record<string, AppStatus>> = {
  all: AppStatus.AS_INVALID,
  available: AppStatus.AS_AVAILABLE,
  creating: AppStatus.AS_CREATING,
  dropping: AppStatus.AS_DROPPING,
  dropped: AppStatus.AS_DROPPED,
  recalling: AppStatus.AS_RECALLING,
};

const MATCH_TYPE_BY_NAME: Readonly<Record<string, PatternMatchType>> = {
  all: PatternMatchType.PMT_MATCH_ALL,
  exact: PatternMatchType.PMT_MATCH_EXACT,
  anywhere: PatternMatchType.PMT_MATCH_ANYWHERE,
  prefix: PatternMatchType.PMT_MATCH_PREFIX,
  postfix: PatternMatchType.PMT_MATCH_POSTFIX,
};

const NODE_STATUS_BY_NAME: Readonly<Record<string, NodeStatus>> = {
  all: NodeStatus.NS_INVALID,
  alive: NodeStatus.NS_ALIVE,
  unalive: NodeStatus.NS_UNALIVE,
};

function lookup<T>(table: Readonly<Record<string, T>>, text: string): T | undefined {
  const key = text.toLowerCase();
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

async function queryPartitions(state: ShellState, appName: string) {
  return state.meta.call(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName, partitionIndices: [] });
}

/** The available tables, or the failed reply. */
export async function listAvailableApps(state: ShellState): Promise<{ apps: AppInfo[] } | { failure: MetaReply<unknown> }> {
  const reply = await state.meta.call(RPCS.RPC_CM_LIST_APPS, {
    status: AppStatus.AS_AVAILABLE, appNamePattern: '', matchType: PatternMatchType.PMT_MATCH_ALL,
  });
  if (reply.err !== 'ERR_OK' || !reply.response) return { failure: reply };
  return { apps: reply.response.infos };
}

/**
 * Polls the table until every partition has a primary and all its replicas, printing progress.
 * Returns ERR_OK once ready or when the wait runs out (the table exists either way), else the
 * error of the query.
 */
async function waitAppReady(state: ShellState, appName: string, partitionCount: number, replicaCount: number): Promise<string> {
  const pollsMax = Math.max(1, Math.ceil(state.readyWaitMs / state.readyPollMs));
  for (let poll = 0; poll < pollsMax; poll++) {
    await state.sleep(state.readyPollMs);
    const reply = await queryPartitions(state, appName);
    if (reply.err === 'ERR_INVALID_STATE' && !reply.response) {
      state.io.out(`${appName} not ready yet, still waiting...\n`);
      continue;
    }
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.out(`waiting for app ${appName} failed: ${replyError(reply)}\n`);
      return reply.err;
    }
    const ready = readyPartitionCount(reply.response.partitions, replicaCount);
    if (ready === partitionCount) {
      state.io.out(`${appName} is ready now: (${ready}/${partitionCount})\n`);
      return 'ERR_OK';
    }
    state.io.out(`${appName} not ready yet, still waiting... (${ready}/${partitionCount})\n`);
  }
  state.io.out(`${appName} is still not ready after ${Math.round(state.readyWaitMs / 1000)} seconds\n`);
  return 'ERR_OK';
}

function printHint(state: ShellState, hint: string): void {
  if (hint === '') return;
  const rule = '='.repeat(29);
  state.io.out(`${rule}\n${hint}\n${rule}\n`);
}

// ---------------------------------------------------------------------------------------------
// the commands

const ls: ShellCommand = {
  name: 'ls',
  usage: '[-a|--all] [-d|--detailed] [-j|--json] [-s|--status all|available|creating|dropping|dropped] '
    + '[-p|--app_name_pattern str] [-m|--match_type all|exact|anywhere|prefix|postfix]',
  async run(state, words) {
    const parsed = options(state, words, [
      flag('a', 'all'), flag('d', 'detailed'), flag('j', 'json'), param('s', 'status'), param('p', 'app_name_pattern'), param('m', 'match_type'),
    ]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const detailed = parsed.options.has('detailed');
    const json = parsed.options.has('json');
    const statusText = parsed.options.get('status') ?? '';
    let status = parsed.options.has('all') ? AppStatus.AS_INVALID : AppStatus.AS_AVAILABLE;
    if (statusText !== '') {
      const chosen = lookup(APP_STATUS_BY_NAME, statusText);
      if (chosen === undefined) {
        state.io.err(`ERROR: unknown table status "${statusText}"\n`);
        return 'usage';
      }
      status = chosen;
    }
    const pattern = parsed.options.get('app_name_pattern') ?? '';
    const matchText = parsed.options.get('match_type');
    // A pattern without a match type matches anywhere in the name.
    let matchType = pattern === '' ? PatternMatchType.PMT_MATCH_ALL : PatternMatchType.PMT_MATCH_ANYWHERE;
    if (matchText !== undefined) {
      const chosen = lookup(MATCH_TYPE_BY_NAME, matchText);
      if (chosen === undefined) {
        state.io.err(`ERROR: unknown match type "${matchText}"\n`);
        return 'usage';
      }
      matchType = chosen;
    }
    const reply = await state.meta.call(RPCS.RPC_CM_LIST_APPS, { status, appNamePattern: pattern, matchType });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.out(`list apps failed, error=${replyError(reply)}\n`);
      return 'failed';
    }
    const apps = reply.response.infos;
    const partitionsByAppId = new Map<number, PartitionConfiguration[]>();
    if (detailed) {
      for (const app of apps) {
        if (app.status !== AppStatus.AS_AVAILABLE) continue;
        const query = await queryPartitions(state, app.appName);
        if (query.err !== 'ERR_OK' || !query.response) {
          state.io.out(`list apps failed, error=${replyError(query)}\n`);
          return 'failed';
        }
        partitionsByAppId.set(app.appId, query.response.partitions);
      }
    }
    state.io.out(formatAppList(apps, { detailed, json, partitionsByAppId }));
    return 'ok';
  },
};

const app: ShellCommand = {
  name: 'app',
  usage: '<app_name> [-d|--detailed] [-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [flag('d', 'detailed'), flag('j', 'json')]);
    if (!parsed || parsed.positionals.length !== 1) return 'usage';
    const appName = parsed.positionals[0]!;
    const detailed = parsed.options.has('detailed');
    if (!isValidAppName(appName)) {
      state.io.out(`query app ${appName} failed, error=ERR_INVALID_PARAMETERS: ${INVALID_APP_NAME}\n`);
      return 'failed';
    }
    const reply = await queryPartitions(state, appName);
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.out(`query app ${appName} failed, error=${replyError(reply)}\n`);
      return 'failed';
    }
    state.io.out(formatAppDetail(appName, reply.response, { detailed, json: parsed.options.has('json') }));
    return 'ok';
  },
};

const nodes: ShellCommand = {
  name: 'nodes',
  usage: '[-d|--detailed] [-j|--json] [-s|--status all|alive|unalive]',
  async run(state, words) {
    const parsed = options(state, words, [flag('d', 'detailed'), flag('j', 'json'), param('s', 'status')]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const statusText = parsed.options.get('status') ?? '';
    let status = NodeStatus.NS_INVALID;
    if (statusText !== '') {
      const chosen = lookup(NODE_STATUS_BY_NAME, statusText);
      if (chosen === undefined) {
        state.io.err(`ERROR: unknown node status "${statusText}"\n`);
        return 'usage';
      }
      status = chosen;
    }
    const reply = await state.meta.call(RPCS.RPC_CM_LIST_NODES, { status });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.out(`list nodes failed, error=${replyError(reply)}\n`);
      return 'failed';
    }
    const detailed = parsed.options.has('detailed');
    const partitions: PartitionConfiguration[] = [];
    if (detailed) {
      const listed = await listAvailableApps(state);
      if ('failure' in listed) {
        state.io.out(`list apps failed, error=${replyError(listed.failure)}\n`);
        return 'failed';
      }
      for (const info of listed.apps) {
        const query = await queryPartitions(state, info.appName);
        if (query.err !== 'ERR_OK' || !query.response) {
          state.io.out(`list app ${info.appName} failed, error=${replyError(query)}\n`);
          return 'failed';
        }
        partitions.push(...query.response.partitions);
      }
    }
    state.io.out(formatNodeList(reply.response.infos, { detailed, json: parsed.options.has('json'), status: statusText, partitions }));
    return 'ok';
  },
};

const clusterInfo: ShellCommand = {
  name: 'cluster_info',
  usage: '[-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [flag('j', 'json')]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const reply = await state.meta.call(RPCS.RPC_CM_CLUSTER_INFO, {});
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.out(`get cluster info failed, error=${replyError(reply)}\n`);
      return 'failed';
    }
    state.io.out(formatClusterInfo(reply.response, parsed.options.has('json')));
    return 'ok';
  },
};

const create: ShellCommand = {
  name: 'create',
  usage: '<app_name> [-p|--partition_count num] [-r|--replica_count num] [-f|--fail_if_exist] '
    + '[-i|--atomic_idempotent] [-e|--envs k1=v1,k2=v2...]',
  async run(state, words) {
    const parsed = options(state, words, [
      param('p', 'partition_count'), param('r', 'replica_count'), flag('f', 'fail_if_exist'), flag('i', 'atomic_idempotent'), param('e', 'envs'),
    ]);
    if (!parsed || parsed.positionals.length !== 1) return 'usage';
    const appName = parsed.positionals[0]!;
    const counts: Record<string, number> = {};
    for (const [option, fallback] of [['partition_count', 4], ['replica_count', 3]] as const) {
      const text = parsed.options.get(option);
      const value = text === undefined ? fallback : parseInt32(text);
      if (value === undefined) {
        state.io.err(`ERROR: ${option} "${text}" is not an integer\n`);
        return 'usage';
      }
      counts[option] = value;
    }
    let envs: Map<string, string>;
    try {
      envs = parseKeyValueList(parsed.options.get('envs') ?? '');
    } catch (error) {
      if (!(error instanceof CommandLineError)) throw error;
      state.io.err(`ERROR: ${error.message}\n`);
      return 'usage';
    }
    const fail = (err: string): CommandResult => {
      state.io.out(`create app "${appName}" failed, error = ${err}\n`);
      return 'failed';
    };
    const partitionCount = counts.partition_count!;
    const replicaCount = counts.replica_count!;
    if (partitionCount < 1) {
      state.io.err(`create app ${appName} failed: partition_count should be at least 1\n`);
      return fail('ERR_INVALID_PARAMETERS');
    }
    if (replicaCount < 1) {
      state.io.err(`create app ${appName} failed: replica_count should be at least 1\n`);
      return fail('ERR_INVALID_PARAMETERS');
    }
    if (!isValidAppName(appName)) {
      state.io.err(`create app ${appName} failed: ${INVALID_APP_NAME}\n`);
      return fail('ERR_INVALID_PARAMETERS');
    }
    const reply = await state.meta.call(RPCS.RPC_CM_CREATE_APP, {
      appName,
      options: {
        partitionCount,
        replicaCount,
        successIfExist: !parsed.options.has('fail_if_exist'),
        appType: 'pegasus',
        isStateful: true,
        envs,
        atomicIdempotent: parsed.options.has('atomic_idempotent'),
      },
    });
    if (reply.err !== 'ERR_OK') {
      if (reply.detail !== undefined) state.io.err(`create app ${appName} failed: ${reply.detail}\n`);
      return fail(reply.err);
    }
    state.io.out(`create app ${appName} succeed, waiting for app ready\n`);
    const ready = await waitAppReady(state, appName, partitionCount, replicaCount);
    if (ready !== 'ERR_OK') return fail(ready);
    state.io.out(`${appName} is ready now!\n`);
    state.io.out(`create app "${appName}" succeed\n`);
    return 'ok';
  },
};

const drop: ShellCommand = {
  name: 'drop',
  usage: '<app_name> [-r|--reserve_seconds num]',
  async run(state, words) {
    const parsed = options(state, words, [param('r', 'reserve_seconds')]);
    if (!parsed || parsed.positionals.length !== 1) return 'usage';
    const appName = parsed.positionals[0]!;
    const reserveText = parsed.options.get('reserve_seconds');
    const reserveSeconds = reserveText === undefined ? 0 : parseInt32(reserveText);
    if (reserveSeconds === undefined) {
      state.io.err(`ERROR: reserve_seconds "${reserveText}" is not an integer\n`);
      return 'usage';
    }
    state.io.out(`reserve_seconds = ${reserveSeconds}\n`);
    if (!isValidAppName(appName)) {
      state.io.out(`drop app ${appName} failed, error=ERR_INVALID_PARAMETERS: ${INVALID_APP_NAME}\n`);
      return 'failed';
    }
    const reply = await state.meta.call(RPCS.RPC_CM_DROP_APP, {
      appName, options: { successIfNotExist: true, reserveSeconds: BigInt(reserveSeconds) },
    });
    if (reply.err !== 'ERR_OK') {
      state.io.out(`drop app ${appName} failed, error=${replyError(reply)}\n`);
      return 'failed';
    }
    state.io.out(`drop app ${appName} succeed\n`);
    return 'ok';
  },
};

const recall: ShellCommand = {
  name: 'recall',
  usage: '<app_id> [new_app_name]',
  async run(state, words) {
    if (words.length < 1 || words.length > 2) return 'usage';
    const appId = parseInt32(words[0]!);
    if (appId === undefined) {
      state.io.err(`ERROR: "${words[0]}" is not a table id\n`);
      return 'usage';
    }
    const newAppName = words[1] ?? '';
    if (!isValidAppName(newAppName, true)) {
      state.io.out(`recall app ${appId} failed, error=ERR_INVALID_PARAMETERS: ${INVALID_APP_NAME}\n`);
      return 'failed';
    }
    const reply = await state.meta.call(RPCS.RPC_CM_RECALL_APP, { appId, newAppName });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.out(`recall app ${appId} failed, error=${replyError(reply)}\n`);
      return 'failed';
    }
    const info = reply.response.info;
    state.io.out(`recall app ok, id(${info.appId}), name(${info.appName}), partition_count(${info.partitionCount}), wait it ready\n`);
    const ready = await waitAppReady(state, info.appName, info.partitionCount, info.maxReplicaCount);
    if (ready !== 'ERR_OK') {
      state.io.out(`recall app ${appId} failed, error=${ready}\n`);
      return 'failed';
    }
    state.io.out(`recall app ${appId} succeed\n`);
    return 'ok';
  },
};

const getAppEnvs: ShellCommand = {
  name: 'get_app_envs',
  usage: '[app_name] [-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [flag('j', 'json')]);
    if (!parsed || parsed.positionals.length > 1) return 'usage';
    const appName = parsed.positionals[0] ?? requireCurrentApp(state);
    if (appName === undefined) return 'failed';
    const reply = await state.meta.call(RPCS.RPC_CM_LIST_APPS, {
      status: AppStatus.AS_AVAILABLE, appNamePattern: appName, matchType: PatternMatchType.PMT_MATCH_EXACT,
    });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.err(`get app env failed with err = ${replyError(reply)}\n`);
      return 'failed';
    }
    // A meta that ignores the pattern lists every table: pick the one asked for.
    const info = reply.response.infos.find((candidate) => candidate.appName === appName);
    if (!info) {
      state.io.err('get app env failed with err = ERR_OBJECT_NOT_FOUND\n');
      return 'failed';
    }
    state.io.out(formatAppEnvs(info.envs, parsed.options.has('json')));
    return 'ok';
  },
};

interface AppEnvUpdateMessages {
  readonly succeeded: string;
  readonly failed: (reply: MetaReply<UpdateAppEnvResponse>) => string;
  /** del and clear print the meta's hint after success; set does not. */
  readonly printsHint: boolean;
}

/** Sends one app-env update (set, del or clear) and prints how it went. */
async function updateAppEnvs(state: ShellState, request: UpdateAppEnvRequest, messages: AppEnvUpdateMessages): Promise<CommandResult> {
  const reply = await state.meta.call(RPCS.RPC_CM_UPDATE_APP_ENV, request);
  const hint = reply.response?.hintMessage;
  if (reply.err !== 'ERR_OK' || (messages.printsHint && hint === undefined)) {
    state.io.err(messages.failed(reply));
    return 'failed';
  }
  state.io.out(`${messages.succeeded}\n`);
  if (messages.printsHint) printHint(state, hint ?? '');
  return 'ok';
}

const setAppEnvs: ShellCommand = {
  name: 'set_app_envs',
  usage: '<key> <value> [key value...]',
  async run(state, words) {
    const appName = requireCurrentApp(state);
    if (appName === undefined) return 'failed';
    if (words.length < 2) return 'usage';
    if (words.length % 2 !== 0) {
      state.io.err(`ERROR: no value given for key "${words[words.length - 1]}"\n`);
      return 'failed';
    }
    const keys = words.filter((_, index) => index % 2 === 0);
    const values = words.filter((_, index) => index % 2 === 1);
    return updateAppEnvs(state, { appName, op: AppEnvOperation.APP_ENV_OP_SET, keys, values }, {
      succeeded: 'set app envs succeed',
      failed: (reply) => `set app envs failed with error ${reply.err} [hint:"${reply.response?.hintMessage ?? reply.detail ?? ''}"]!\n`,
      printsHint: false,
    });
  },
};

const delAppEnvs: ShellCommand = {
  name: 'del_app_envs',
  usage: '<key> [key...]',
  async run(state, words) {
    const appName = requireCurrentApp(state);
    if (appName === undefined) return 'failed';
    if (words.length < 1) return 'usage';
    return updateAppEnvs(state, { appName, op: AppEnvOperation.APP_ENV_OP_DEL, keys: [...words] }, {
      succeeded: 'del app envs succeed',
      failed: (reply) => `del app env failed with err = ${replyError(reply)}\n`,
      printsHint: true,
    });
  },
};

const clearAppEnvs: ShellCommand = {
  name: 'clear_app_envs',
  usage: '[-a|--all] [-p|--prefix str]',
  async run(state, words) {
    const appName = requireCurrentApp(state);
    if (appName === undefined) return 'failed';
    const parsed = options(state, words, [flag('a', 'all'), param('p', 'prefix')]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const all = parsed.options.has('all');
    const prefix = parsed.options.get('prefix') ?? '';
    if (!all && prefix === '') {
      state.io.err('ERROR: give either --all or --prefix\n');
      return 'usage';
    }
    return updateAppEnvs(state, { appName, op: AppEnvOperation.APP_ENV_OP_CLEAR, clearPrefix: all ? '' : prefix }, {
      succeeded: 'clear app envs succeed',
      failed: (reply) => `clear app envs failed with err = ${replyError(reply)}\n`,
      printsHint: true,
    });
  },
};

const use: ShellCommand = {
  name: 'use',
  usage: '[app_name]',
  async run(state, words) {
    if (words.length > 1) return 'usage';
    if (words.length === 0) {
      if (state.currentApp === '') {
        state.io.err('Current app not specified.\n');
        return 'usage';
      }
      state.io.err(`Current app: ${state.currentApp}\n`);
      return 'ok';
    }
    state.currentApp = words[0]!;
    state.io.err('OK\n');
    return 'ok';
  },
};

const version: ShellCommand = {
  name: 'version',
  usage: '',
  async run(state, words) {
    if (words.length > 0) return 'usage';
    state.io.out(`Pteron Shell ${state.version}\n`);
    return 'ok';
  },
};

const exit: ShellCommand = {
  name: 'exit',
  usage: '',
  async run() {
    return 'exit';
  },
};

const help: ShellCommand = {
  name: 'help',
  usage: '',
  async run(state) {
    state.io.out(formatHelp(SHELL_COMMANDS));
    return 'ok';
  },
};

export const SHELL_COMMANDS: readonly ShellCommand[] = [
  help, version, clusterInfo, app, ls, nodes, create, drop, recall, use, getAppEnvs, setAppEnvs, delAppEnvs, clearAppEnvs, ...COMPACTION_COMMANDS,
  ...TABLE_ADMIN_COMMANDS, ...DUPLICATION_COMMANDS,
  ...BACKUP_COMMANDS, ...BULK_LOAD_COMMANDS, ...SPLIT_COMMANDS,
  ...META_LEVEL_COMMANDS, ...HOTKEY_COMMANDS,
  ...SESSION_COMMANDS, ...DATA_COMMANDS, ...RANGE_COMMANDS, ...TABLE_DATA_COMMANDS, ...APP_STAT_COMMANDS, ...NODE_COMMANDS, remoteCommand, exit,
];

const COMMANDS_BY_NAME = new Map(SHELL_COMMANDS.map((command) => [command.name, command]));
const NAME_WIDTH = Math.max(...SHELL_COMMANDS.map((command) => command.name.length));

export function findCommand(name: string): ShellCommand | undefined {
  return COMMANDS_BY_NAME.get(name);
}

/** Runs one command line already split into words; prints usage or an unknown-command error itself. */
export async function runCommand(state: ShellState, words: readonly string[]): Promise<CommandResult> {
  const [name, ...rest] = words;
  if (name === undefined) return 'ok';
  const command = findCommand(name);
  if (!command) {
    state.io.out(`ERROR: invalid subcommand '${name}'\n`);
    state.io.out(formatHelp(SHELL_COMMANDS));
    return 'failed';
  }
  const result = await command.run(state, rest);
  if (result === 'usage') state.io.out(`USAGE: ${formatHelpEntry(command, NAME_WIDTH)}`);
  return result;
}
