// Bulk load in the shell: `start_bulk_load`, `query_bulk_load_status`, `pause_bulk_load`,
// `restart_bulk_load`, `cancel_bulk_load` and `clear_bulk_load`, with the options, checks and
// messages of Pegasus's shell (src/shell/commands/bulk_load.cpp); the query prints its tables
// ("all partitions", "single partition", "summary") as Pegasus's does.
import { formatHostPort, multiTable, renderTables, singleTable, type Table } from '../../base/index.ts';
import { INGESTION_STATUSES, bulkLoadStatusOf } from '../../cluster/index.ts';
import { RPCS, type QueryBulkLoadResponse } from '../../wire/structs/index.ts';
import { parseInt32 } from './command-line.ts';
import { replyError, type MetaReply } from './meta-client.ts';
import { flag, options, param, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';

const APP = param('a', 'app_name');

/** Pegasus's `error=<err> [hint:"<hint>"]` line of a failed call, on stderr. */
function failed(state: ShellState, what: string, reply: MetaReply<{ hintMsg?: string }>): CommandResult {
  state.io.err(`${what} failed, error=${replyError(reply)} [hint:"${reply.response?.hintMsg ?? ''}"]\n`);
  return 'failed';
}

/** The app name, or undefined after Pegasus's complaint. */
function appNameOf(state: ShellState, value: string | undefined): string | undefined {
  if (value !== undefined && value !== '') return value;
  state.io.err('app_name should not be empty\n');
  return undefined;
}

const startBulkLoad: ShellCommand = {
  name: 'start_bulk_load',
  usage: '<-a --app_name str> <-c --cluster_name str> <-p --file_provider_type str> <-r --root_path> [-i --ingest_behind]',
  async run(state, words) {
    const parsed = options(state, words, [APP, param('c', 'cluster_name'), param('p', 'file_provider_type'), param('r', 'root_path'), flag('i', 'ingest_behind')]);
    if (!parsed) return 'usage';
    const appName = appNameOf(state, parsed.options.get('app_name'));
    if (appName === undefined) return 'usage';
    const required = [['cluster_name', 'cluster_name'], ['file_provider_type', 'file_provider_type'], ['root_path', 'remote_root_path']] as const;
    for (const [option, name] of required) {
      if ((parsed.options.get(option) ?? '') === '') {
        state.io.err(`${name} should not be empty\n`);
        return 'usage';
      }
    }
    const reply = await state.meta.call(RPCS.RPC_CM_START_BULK_LOAD, {
      appName, clusterName: parsed.options.get('cluster_name')!, fileProviderType: parsed.options.get('file_provider_type')!,
      remoteRootPath: parsed.options.get('root_path')!, ingestBehind: parsed.options.has('ingest_behind'),
    });
    if (reply.err !== 'ERR_OK') return failed(state, 'start bulk load', reply);
    state.io.out('start bulk load succeed\n');
    return 'ok';
  },
};

/** bulk_load_control_type. */
const CONTROL = { pause: 0, restart: 1, cancel: 2, forceCancel: 3 } as const;

function controlBulkLoad(name: 'pause' | 'restart'): ShellCommand {
  return {
    name: `${name}_bulk_load`,
    usage: '<-a --app_name str>',
    async run(state, words) {
      const parsed = options(state, words, [APP]);
      if (!parsed) return 'usage';
      const appName = appNameOf(state, parsed.options.get('app_name'));
      if (appName === undefined) return 'usage';
      const reply = await state.meta.call(RPCS.RPC_CM_CONTROL_BULK_LOAD, { appName, type: CONTROL[name] });
      if (reply.err !== 'ERR_OK') return failed(state, `${name} bulk load`, reply);
      state.io.out(`${name} bulk load succeed\n`);
      return 'ok';
    },
  };
}

const cancelBulkLoad: ShellCommand = {
  name: 'cancel_bulk_load',
  usage: '<-a --app_name str> [-f --forced]',
  async run(state, words) {
    const parsed = options(state, words, [APP, flag('f', 'forced')]);
    if (!parsed) return 'usage';
    const appName = appNameOf(state, parsed.options.get('app_name'));
    if (appName === undefined) return 'usage';
    const forced = parsed.options.has('forced');
    const reply = await state.meta.call(RPCS.RPC_CM_CONTROL_BULK_LOAD, { appName, type: forced ? CONTROL.forceCancel : CONTROL.cancel });
    if (reply.err !== 'ERR_OK') {
      failed(state, 'cancel bulk load', reply);
      if (reply.err === 'ERR_INVALID_STATE' && !forced) state.io.err('you can force cancel bulk load by using "-f"\n');
      return 'failed';
    }
    state.io.out('cancel bulk load succeed\n');
    return 'ok';
  },
};

const clearBulkLoad: ShellCommand = {
  name: 'clear_bulk_load',
  usage: '<-a --app_name str>',
  async run(state, words) {
    const parsed = options(state, words, [APP]);
    if (!parsed) return 'usage';
    const reply = await state.meta.call(RPCS.RPC_CM_CLEAR_BULK_LOAD, { appName: parsed.options.get('app_name') ?? '' });
    if (reply.err !== 'ERR_OK') return failed(state, 'clear bulk load', reply);
    state.io.out(`${reply.response?.hintMsg ?? ''}\n`);
    return 'ok';
  },
};

const statusName = (value: number): string => bulkLoadStatusOf(value);
const ingestionName = (value: number | undefined): string => INGESTION_STATUSES[value ?? 0] ?? 'IS_INVALID';
const yesNo = (value: boolean | undefined): string => (value ? 'YES' : 'NO');

/** The tables query_bulk_load_status prints for `partitionIndex` (-1: every partition). */
export function bulkLoadStatusTables(response: QueryBulkLoadResponse, partitionIndex: number, detailed: boolean): Table[] {
  const partitionCount = response.partitionsStatus.length;
  const appStatus = statusName(response.appStatus);
  const downloading = appStatus === 'BLS_DOWNLOADING';
  const ingesting = appStatus === 'BLS_INGESTING';
  const replicaCount = Math.max(1, response.maxReplicaCount);
  const states = response.bulkLoadStates;
  const partitionProgress = (index: number): number =>
    Math.trunc([...(states[index] ?? new Map()).values()].reduce((sum, state) => sum + (state.downloadProgress ?? 0), 0) / replicaCount);
  const tables: Table[] = [];
  if (detailed && partitionIndex === -1) {
    const ended = appStatus === 'BLS_CANCELED' || appStatus === 'BLS_FAILED' || appStatus === 'BLS_SUCCEED';
    const columns = ['partition_index', 'partition_status', ...(downloading ? ['download_progress(%)'] : []), ...(ended ? ['is_cleaned_up'] : [])];
    const rows = Array.from({ length: partitionCount }, (_, index) => {
      const members = [...(states[index] ?? new Map()).values()];
      const cleaned = members.length === response.maxReplicaCount && members.every((state) => state.isCleanedUp === true);
      return [String(index), statusName(response.partitionsStatus[index]!), ...(downloading ? [String(partitionProgress(index))] : []), ...(ended ? [yesNo(cleaned)] : [])];
    });
    tables.push(multiTable('all partitions', columns, rows));
  }
  if (detailed && partitionIndex !== -1) {
    const partitionStatus = statusName(response.partitionsStatus[partitionIndex]!);
    if (partitionStatus !== 'BLS_INVALID' && partitionStatus !== 'BLS_PAUSED' && partitionStatus !== 'BLS_DOWNLOADED') {
      const progress = partitionStatus === 'BLS_DOWNLOADING';
      const ingestion = partitionStatus === 'BLS_INGESTING';
      const cleanup = partitionStatus === 'BLS_SUCCEED' || partitionStatus === 'BLS_CANCELED' || partitionStatus === 'BLS_FAILED';
      const pause = partitionStatus === 'BLS_PAUSING';
      const columns = [
        'partition_index', 'node_address', ...(progress ? ['download_progress(%)'] : []), ...(ingestion ? ['ingestion_status'] : []),
        ...(cleanup ? ['is_cleaned_up'] : []), ...(pause ? ['is_paused'] : []),
      ];
      const rows = [...(states[partitionIndex] ?? new Map())].map(([node, state]) => [
        String(partitionIndex), formatHostPort(node), ...(progress ? [String(state.downloadProgress ?? 0)] : []),
        ...(ingestion ? [ingestionName(state.ingestStatus)] : []), ...(cleanup ? [yesNo(state.isCleanedUp)] : []), ...(pause ? [yesNo(state.isPaused)] : []),
      ]);
      tables.push(multiTable('single partition', columns, rows));
    }
  }
  const summary: Array<[string, string]> = [];
  if (partitionIndex !== -1) summary.push(['partition_bulk_load_status', statusName(response.partitionsStatus[partitionIndex]!)]);
  summary.push(['is_bulk_loading', yesNo(response.isBulkLoading)], ['app_bulk_load_status', appStatus]);
  if (appStatus === 'BLS_FAILED') summary.push(['bulk_load_err', response.err]);
  if (downloading) {
    let total = 0;
    for (let index = 0; index < partitionCount; index++) total += partitionProgress(index);
    summary.push(['app_total_download_progress', String(partitionCount === 0 ? 0 : Math.trunc(total / partitionCount))]);
  }
  if (ingesting) {
    const succeeded = response.partitionsStatus.filter((status) => statusName(status) === 'BLS_SUCCEED').length;
    summary.push(['app_total_ingestion_progress', String(partitionCount === 0 ? 0 : Math.trunc((succeeded * 100) / partitionCount))]);
  }
  tables.push(singleTable('summary', summary));
  return tables;
}

const queryBulkLoadStatus: ShellCommand = {
  name: 'query_bulk_load_status',
  usage: '<-a --app_name str> [-i --partition_index num] [-d --detailed]',
  async run(state, words) {
    const parsed = options(state, words, [APP, param('i', 'partition_index'), flag('d', 'detailed')]);
    if (!parsed) return 'usage';
    const appName = appNameOf(state, parsed.options.get('app_name'));
    if (appName === undefined) return 'usage';
    const indexText = parsed.options.get('partition_index');
    const partitionIndex = indexText === undefined ? -1 : parseInt32(indexText);
    if (partitionIndex === undefined) return 'usage';
    const reply = await state.meta.call(RPCS.RPC_CM_QUERY_BULK_LOAD_STATUS, { appName });
    if (reply.response === undefined) {
      state.io.err(`query bulk load failed, error=${replyError(reply)}\n`);
      return 'failed';
    }
    if (reply.err !== 'ERR_OK') return failed(state, 'query bulk load', reply);
    if (partitionIndex < -1 || partitionIndex >= reply.response.partitionsStatus.length) {
      state.io.err('query bulk load failed, error=ERR_INVALID_PARAMETERS [hint:"invalid partition index"]\n');
      return 'failed';
    }
    state.io.out(renderTables(bulkLoadStatusTables(reply.response, partitionIndex, parsed.options.has('detailed')), false));
    return 'ok';
  },
};

export const BULK_LOAD_COMMANDS: readonly ShellCommand[] = [
  startBulkLoad, queryBulkLoadStatus, controlBulkLoad('pause'), controlBulkLoad('restart'), cancelBulkLoad, clearBulkLoad,
];
