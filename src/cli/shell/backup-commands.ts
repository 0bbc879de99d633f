// Cold backup and restore in the shell. The policy commands (`add_backup_policy`,
// `ls_backup_policy`, `query_backup_policy`, `modify_backup_policy`, `disable_backup_policy`,
// `enable_backup_policy`), `restore_app` and `query_restore_status` are Pegasus's shell's
// (src/shell/commands/cold_backup.cpp, replication_ddl_client.cpp), with its options, checks and
// messages; `start_backup_app` and `query_backup_status` take admin-cli's `backup` and
// `query-backup-status` arguments and print what it prints.
import { formatLocalTime, multiTable, renderTables, singleTable, type Table } from '../../base/index.ts';
import { RPCS, type BackupEntry, type PolicyEntry } from '../../wire/structs/index.ts';
import { parseInt32 } from './command-line.ts';
import { replyError, replyHint } from './meta-client.ts';
import { flag, options, param, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';

/** C's atoi: leading blanks, an optional sign and digits; anything else reads as 0. */
function atoi(text: string): number {
  const match = /^\s*([+-]?\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}

/** `1,2,3` as ids (atoi each), empty items skipped. */
function idList(text: string): number[] {
  return text.split(',').filter((item) => item !== '').map(atoi);
}

/** The shell's check of `hour:minute`. */
function validStartTime(text: string): boolean {
  const match = /^\s*([+-]?\d+):([+-]?\d+)/.exec(text);
  if (!match) return false;
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  return hour >= 0 && hour <= 24 && minute >= 0 && minute < 60 && !(hour === 24 && minute > 0);
}

function policyTable(entry: PolicyEntry): Table {
  return singleTable(entry.policyName, [
    ['backup_provider_type', entry.backupProviderType],
    ['backup_interval', `${entry.backupIntervalSeconds}s`],
    ['app_ids', `{${entry.appIds.join(', ')}}`],
    ['start_time', entry.startTime],
    ['status', entry.isDisable ? 'disabled' : 'enabled'],
    ['backup_history_count', String(entry.backupHistoryCountToKeep)],
  ]);
}

function backupInfoTable(policyName: string, entries: readonly BackupEntry[]): Table {
  const time = (ms: bigint): string => formatLocalTime(new Date(Number(ms)));
  return multiTable(`${policyName}_backup_info`, ['id', 'start_time', 'end_time', 'app_ids'], entries.map((entry) => [
    String(entry.backupId), time(entry.startTimeMs), entry.endTimeMs === 0n ? '-' : time(entry.endTimeMs), `{${entry.appIds.join(', ')}}`,
  ]));
}

/** The reply block Pegasus prints after a successful policy change. */
function printResult(state: ShellState, title: string, err: string, hint: string): void {
  state.io.out(`${title}: ${err}\n`);
  if (hint !== '') state.io.out(`=============================\n${hint}\n=============================\n`);
}

const addBackupPolicy: ShellCommand = {
  name: 'add_backup_policy',
  usage: '<-p|--policy_name str> <-b|--backup_provider_type str> <-a|--app_ids 1,2...> <-i|--backup_interval_seconds num> ' +
    '<-s|--start_time hour:minute> <-c|--backup_history_cnt num>',
  async run(state, words) {
    const parsed = options(state, words, [
      param('p', 'policy_name'), param('b', 'backup_provider_type'), param('a', 'app_ids'), param('i', 'backup_interval_seconds'),
      param('s', 'start_time'), param('c', 'backup_history_cnt'),
    ]);
    if (!parsed) return 'usage';
    const policyName = parsed.options.get('policy_name') ?? '';
    const provider = parsed.options.get('backup_provider_type') ?? '';
    const appIds = idList(parsed.options.get('app_ids') ?? '');
    const interval = atoi(parsed.options.get('backup_interval_seconds') ?? '0');
    const startTime = parsed.options.get('start_time') ?? '';
    const historyCount = atoi(parsed.options.get('backup_history_cnt') ?? '0');
    const badId = appIds.find((id) => id <= 0);
    const problem = badId !== undefined ? `invalid app_id, ${badId}`
      : policyName === '' ? 'policy_name should not be empty'
      : provider === '' ? 'backup_provider_type should not be empty'
      : interval <= 0 ? `invalid backup_interval_seconds: ${interval}, should > 0`
      : historyCount <= 0 ? `invalid backup_history_cnt: ${historyCount}, should > 0`
      : startTime !== '' && !validStartTime(startTime) ? `invalid start time: ${startTime}, should like this hour:minute`
      : undefined;
    if (problem !== undefined) {
      state.io.err(`${problem}\n`);
      return 'usage';
    }
    const reply = await state.meta.call(RPCS.RPC_CM_ADD_BACKUP_POLICY, {
      backupProviderType: provider, policyName, appIds, backupIntervalSeconds: BigInt(interval), backupHistoryCountToKeep: historyCount, startTime,
    });
    if (reply.err !== 'ERR_OK') {
      if (reply.response) state.io.out(`add backup policy failed: ${reply.response.hintMessage}\n`);
      state.io.err(`add backup policy failed, err = ${reply.err}\n`);
      return 'failed';
    }
    state.io.out(`add backup policy succeed, policy_name = ${policyName}\n`);
    return 'ok';
  },
};

const lsBackupPolicy: ShellCommand = {
  name: 'ls_backup_policy',
  usage: '[-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [flag('j', 'json')]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const reply = await state.meta.call(RPCS.RPC_CM_QUERY_BACKUP_POLICY, { policyNames: [], backupInfoCount: 0 });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.out('ls backup policy failed\n');
      return 'failed';
    }
    state.io.out(renderTables(reply.response.policys.map(policyTable), parsed.options.has('json')));
    return 'ok';
  },
};

const queryBackupPolicy: ShellCommand = {
  name: 'query_backup_policy',
  usage: '<-p|--policy_name p1,p2...> [-b|--backup_info_cnt num] [-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [param('p', 'policy_name'), param('b', 'backup_info_cnt'), flag('j', 'json')]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const policyNames = (parsed.options.get('policy_name') ?? '').split(',').filter((name) => name !== '');
    if (policyNames.length === 0) {
      state.io.err("invalid command, policy_name should be in the form of 'val1,val2,val3' and should not be empty\n");
      return 'failed';
    }
    if (new Set(policyNames).size !== policyNames.length) {
      state.io.err('invalid command, policy_name has duplicate values\n');
      return 'failed';
    }
    const countText = parsed.options.get('backup_info_cnt');
    const backupInfoCount = countText === undefined ? 3 : parseInt32(countText);
    if (backupInfoCount === undefined || backupInfoCount < 0) {
      state.io.err(`invalid command, ${countText} should be a non-negative number\n`);
      return 'failed';
    }
    const reply = await state.meta.call(RPCS.RPC_CM_QUERY_BACKUP_POLICY, { policyNames, backupInfoCount });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.err(`query backup policy failed, err = ${reply.err}\n`);
      return 'failed';
    }
    const { policys, backupInfos } = reply.response;
    const tables = policys.flatMap((entry, index) => [policyTable(entry), backupInfoTable(entry.policyName, backupInfos[index] ?? [])]);
    state.io.out(renderTables(tables, parsed.options.has('json')));
    return 'ok';
  },
};

const modifyBackupPolicy: ShellCommand = {
  name: 'modify_backup_policy',
  usage: '<-p|--policy_name str> [-a|--add_app 1,2...] [-r|--remove_app 1,2...] [-i|--backup_interval_seconds num] ' +
    '[-c|--backup_history_count num] [-s|--start_time hour:minute]',
  async run(state, words) {
    const parsed = options(state, words, [
      param('p', 'policy_name'), param('a', 'add_app'), param('r', 'remove_app'), param('i', 'backup_interval_seconds'),
      param('c', 'backup_history_count'), param('s', 'start_time'),
    ]);
    if (!parsed) return 'usage';
    const addAppids = idList(parsed.options.get('add_app') ?? '');
    const removalAppids = idList(parsed.options.get('remove_app') ?? '');
    const interval = atoi(parsed.options.get('backup_interval_seconds') ?? '0');
    const historyCount = atoi(parsed.options.get('backup_history_count') ?? '0');
    const policyName = parsed.options.get('policy_name') ?? '';
    const startTime = parsed.options.get('start_time') ?? '';
    const badAdd = addAppids.find((id) => id <= 0);
    const badRemove = removalAppids.find((id) => id <= 0);
    const problem = badAdd !== undefined ? `add invalid app_id(${badAdd}) to policy`
      : badRemove !== undefined ? `remove invalid app_id(${badRemove}) from policy`
      : interval < 0 ? `invalid backup_interval_seconds(${interval})`
      : historyCount < 0 ? `invalid backup_history_count(${historyCount})`
      : policyName === '' ? 'empty policy name'
      : startTime !== '' && !validStartTime(startTime) ? `invalid start time: ${startTime}, should like this hour:minute`
      : undefined;
    if (problem !== undefined) {
      state.io.err(`${problem}\n`);
      return 'usage';
    }
    const reply = await state.meta.call(RPCS.RPC_CM_MODIFY_BACKUP_POLICY, {
      policyName,
      ...(addAppids.length > 0 && { addAppids }),
      ...(removalAppids.length > 0 && { removalAppids }),
      ...(interval > 0 && { newBackupIntervalSec: BigInt(interval) }),
      ...(historyCount > 0 && { backupHistoryCountToKeep: historyCount }),
      ...(startTime !== '' && { startTime }),
    });
    if (reply.err !== 'ERR_OK') {
      if (reply.response) state.io.out(`modify backup policy failed: ${reply.response.hintMessage}\n`);
      state.io.err(`modify backup policy failed, with err = ${reply.err}\n`);
      return 'failed';
    }
    printResult(state, 'Modify policy result', reply.err, reply.response?.hintMessage ?? '');
    return 'ok';
  },
};

function switchBackupPolicy(name: 'disable_backup_policy' | 'enable_backup_policy'): ShellCommand {
  const disable = name === 'disable_backup_policy';
  const verb = disable ? 'disable' : 'enable';
  return {
    name,
    usage: disable ? '<-p|--policy_name str> [-f|--force]' : '<-p|--policy_name str>',
    async run(state, words): Promise<CommandResult> {
      const parsed = options(state, words, disable ? [param('p', 'policy_name'), flag('f', 'force')] : [param('p', 'policy_name')]);
      if (!parsed || parsed.positionals.length > 0) return 'usage';
      const policyName = parsed.options.get('policy_name') ?? '';
      if (policyName === '') {
        state.io.err(disable ? 'invalid command, policy_name should not be empty\n' : 'empty policy name\n');
        return 'usage';
      }
      const reply = await state.meta.call(RPCS.RPC_CM_MODIFY_BACKUP_POLICY, {
        policyName, isDisable: disable, ...(disable && { forceDisable: parsed.options.has('force') }),
      });
      if (reply.err !== 'ERR_OK') {
        if (reply.response) state.io.out(`${verb} backup policy failed: ${reply.response.hintMessage}\n`);
        state.io.err(`${verb} backup policy failed, with err = ${reply.err}\n`);
        return 'failed';
      }
      printResult(state, `${verb} policy result`, reply.err, reply.response?.hintMessage ?? '');
      return 'ok';
    },
  };
}

const restoreApp: ShellCommand = {
  name: 'restore_app',
  usage: '<-c|--old_cluster_name str> <-p|--old_policy_name str> <-a|--old_app_name str> <-i|--old_app_id id> ' +
    '<-t|--timestamp/backup_id timestamp> <-b|--backup_provider_type str> [-n|--new_app_name str] [-s|--skip_bad_partition] [-r|--restore_path str]',
  async run(state, words) {
    const parsed = options(state, words, [
      param('c', 'old_cluster_name'), param('p', 'old_policy_name'), param('a', 'old_app_name'), param('i', 'old_app_id'),
      param('n', 'new_app_name'), param('t', 'timestamp'), param('b', 'backup_provider_type'), param('r', 'restore_path'),
      flag('s', 'skip_bad_partition'),
    ]);
    if (!parsed) {
      state.io.err('invalid parameter\n');
      return 'usage';
    }
    const get = (name: string): string => parsed.options.get(name) ?? '';
    const clusterName = get('old_cluster_name');
    const appName = get('old_app_name');
    const appId = parseInt32(get('old_app_id') || '0') ?? 0;
    const timestampText = get('timestamp') || '0';
    const timeStamp = /^\d+$/.test(timestampText) ? BigInt(timestampText) : 0n;
    const provider = get('backup_provider_type');
    if (clusterName === '' || appName === '' || appId <= 0 || timeStamp <= 0n || provider === '') {
      state.io.err('invalid parameter\n');
      return 'usage';
    }
    const restorePath = get('restore_path');
    if (restorePath !== '') state.io.out(`restore app from the specified path : ${restorePath}\n`);
    state.io.out('sleep 1 second to wait complete...\n');
    const reply = await state.meta.call(RPCS.RPC_CM_START_RESTORE, {
      clusterName, policyName: get('old_policy_name'), timeStamp, appName, appId, newAppName: get('new_app_name') || appName,
      backupProviderName: provider, skipBadPartition: parsed.options.has('skip_bad_partition'), ...(restorePath !== '' && { restorePath }),
    });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      if (reply.err === 'ERR_OBJECT_NOT_FOUND') state.io.out("restore app failed: couldn't find valid app metadata\n");
      state.io.err(`restore app failed with err(${reply.err})\n`);
      return 'failed';
    }
    state.io.out(`\tnew app_id = ${reply.response.appid}\n`);
    return 'ok';
  },
};

/** What query_restore_status calls a partition. */
function restoreStatusName(status: string, progress: number): string {
  if (status === 'ERR_OK') return progress === 1000 ? 'ok' : 'ongoing';
  return status === 'ERR_IGNORE_BAD_DATA' ? 'skip' : 'unknown';
}

const queryRestoreStatus: ShellCommand = {
  name: 'query_restore_status',
  usage: '<restore_app_id> [-d|--detailed]',
  async run(state, words) {
    const parsed = options(state, words, [flag('d', 'detailed')]);
    if (!parsed || parsed.positionals.length !== 1) {
      state.io.err('invalid parameter\n');
      return 'usage';
    }
    const restoreAppId = parseInt32(parsed.positionals[0]!) ?? 0;
    if (restoreAppId <= 0) {
      state.io.err(`invalid restore_app_id(${restoreAppId})\n`);
      return 'usage';
    }
    const reply = await state.meta.call(RPCS.RPC_CM_QUERY_RESTORE_STATUS, { restoreAppId });
    const response = reply.response;
    if (reply.err === 'ERR_APP_NOT_EXIST') {
      state.io.out(`invalid restore_app_id(${restoreAppId})\n`);
      return 'ok';
    }
    if (reply.err === 'ERR_APP_DROPPED') {
      state.io.out("restore failed, because some partition's data is damaged on cold backup media\n");
      return 'ok';
    }
    if (reply.err !== 'ERR_OK' || !response) {
      state.io.err(`query restore status failed, restore_app_id(${restoreAppId}), err = ${reply.err}\n`);
      return 'failed';
    }
    const progresses = response.restoreProgress;
    const overall = progresses.length === 0 ? 0 : Math.trunc(Math.trunc(progresses.reduce((sum, value) => sum + value, 0) / progresses.length) / 10);
    if (!parsed.options.has('detailed')) {
      state.io.out(`the overall progress of restore is ${overall}%\n`);
      return 'ok';
    }
    const width = 'restore_status'.length;
    const row = (cells: string[]): string => `${cells.map((cell) => cell.padEnd(width)).join('')}\n`;
    let text = row(['pid', 'progress(%)', 'restore_status']);
    response.restoreStatus.forEach((status, index) => {
      const progress = progresses[index] ?? 0;
      text += row([String(index), String(Math.trunc(progress / 10)), restoreStatusName(status, progress)]);
    });
    text += `\nthe overall progress of restore is ${overall}%\n\nannotations:\n` +
      '    ok : mean restore complete\n    ongoing : mean restore is under going\n' +
      '    skip : data on cold backup media is damaged, but skip the damaged partition\n' +
      '    unknown : invalid, should login server and check it\n';
    state.io.out(text);
    return 'ok';
  },
};

const startBackupApp: ShellCommand = {
  name: 'start_backup_app',
  usage: '<app_id> <backup_provider_type> [backup_path]',
  async run(state, words) {
    if (words.length < 2 || words.length > 3) return 'usage';
    const appId = parseInt32(words[0]!);
    if (appId === undefined) {
      state.io.err(`invalid app_id: ${words[0]}\n`);
      return 'usage';
    }
    const backupPath = words[2] ?? '';
    const reply = await state.meta.call(RPCS.RPC_CM_START_BACKUP_APP, {
      backupProviderType: words[1]!, appId, ...(backupPath !== '' && { backupPath }),
    });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.err(`StartBackupApp failed: ${replyError(reply)}\n`);
      return 'failed';
    }
    state.io.out(`[hint]: ${replyHint(reply)}\nBackupID: ${reply.response.backupId ?? 0n}\n`);
    return 'ok';
  },
};

const queryBackupStatus: ShellCommand = {
  name: 'query_backup_status',
  usage: '<app_id> [backup_id] [-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [flag('j', 'json')]);
    if (!parsed || parsed.positionals.length < 1 || parsed.positionals.length > 2) return 'usage';
    const appId = parseInt32(parsed.positionals[0]!);
    const backupIdText = parsed.positionals[1] ?? '0';
    if (appId === undefined || !/^\d+$/.test(backupIdText)) {
      state.io.err(`invalid app_id or backup_id: ${parsed.positionals.join(' ')}\n`);
      return 'usage';
    }
    const backupId = BigInt(backupIdText);
    const reply = await state.meta.call(RPCS.RPC_CM_QUERY_BACKUP_STATUS, { appId, ...(backupId > 0n && { backupId }) });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.err(`QueryBackupStatus failed: ${replyError(reply)}\n`);
      return 'failed';
    }
    const time = (ms: bigint): string => formatLocalTime(new Date(Number(ms)));
    const rows = (reply.response.backupItems ?? []).map((item) => [
      String(item.backupId), item.appName, time(item.startTimeMs), item.endTimeMs === 0n ? '-' : time(item.endTimeMs),
      item.isBackupFailed ? 'failed' : item.endTimeMs === 0n ? 'in progress' : 'completed', item.backupProviderType, item.backupPath,
    ]);
    const table = multiTable('', ['BackupID', 'AppName', 'StartTime', 'EndTime', 'Status', 'BackupProviderType', 'BackupPath'], rows);
    state.io.out(`[hint]: ${reply.response.hintMessage}\n${renderTables([table], parsed.options.has('json'))}`);
    return 'ok';
  },
};

export const BACKUP_COMMANDS: readonly ShellCommand[] = [
  addBackupPolicy, lsBackupPolicy, queryBackupPolicy, modifyBackupPolicy, switchBackupPolicy('disable_backup_policy'),
  switchBackupPolicy('enable_backup_policy'), restoreApp, queryRestoreStatus, startBackupApp, queryBackupStatus,
];
