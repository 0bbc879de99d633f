// `app_stat` and `app_disk`, as Pegasus's shell has them (table_management.cpp): both read the
// replica servers' /metrics and count each partition where the meta says it lives. app_stat
// samples twice, `-i` ms apart, and prints rates per table (or per partition of `-a`); app_disk
// prints each replica's table files and the table's disk use.
import { writeFileSync } from 'node:fs';
import { formatHostPort, multiTable, renderTable, renderTables, singleTable, type Table } from '../../base/index.ts';
import {
  appStatMetricsQuery, LATENCY_OPERATIONS, MetricsSampleError, partitionRows, ratio, sumRows, tableRow, type MetricsSample, type NodeSamples,
  type StatRow, type TablePrimaries,
} from '../../cluster/index.ts';
import { flag, options, param, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';
import { aliveReplicaServers, availableTables, fetchMetricsSamples, primaryOf, tableConfiguration } from './table-stats.ts';

/** Pegasus's `[shell] tables_sample_interval_ms`. */
export const TABLES_SAMPLE_INTERVAL_MS = 1000;

/** Pegasus's table_printer number: "0.00" for (almost) zero, else fixed with `precision` decimals. */
export function formatStat(value: number, precision: number): string {
  return Math.abs(value) < 1e-6 ? '0.00' : value.toFixed(precision);
}

/** A number as C++'s ostream prints a double by default (6 significant digits). */
function streamNumber(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** Parses `-i`: a uint32 above 0, else prints Pegasus's message. */
export function sampleIntervalOption(state: ShellState, text: string | undefined, fallback: number): number | undefined {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(value) || value > 0xffffffff) {
    state.io.err(`ERROR: parse sample_interval_ms(${text}) failed\n`);
    return undefined;
  }
  if (value === 0) {
    state.io.err('ERROR: sample_interval_ms should be > 0\n');
    return undefined;
  }
  return value;
}

/** Writes `text` to `outFile` when one is given, else prints it. */
function emit(state: ShellState, text: string, outFile: string | undefined): CommandResult {
  if (outFile === undefined) {
    state.io.out(text);
    return 'ok';
  }
  try {
    writeFileSync(outFile, text);
    return 'ok';
  } catch (error) {
    state.io.err(`ERROR: write ${outFile} failed: ${(error as Error).message}\n`);
    return 'failed';
  }
}

// ---------------------------------------------------------------------------------------------
// app_stat

/** Rows per table (no `appName`) or per partition of `appName`, from two samples `intervalMs` apart. */
async function sampleRows(state: ShellState, appName: string | undefined, intervalMs: number): Promise<StatRow[] | { error: string }> {
  const nodes = await aliveReplicaServers(state.meta);
  if ('error' in nodes) return nodes;
  let tables: TablePrimaries[];
  if (appName === undefined) {
    const found = await availableTables(state.meta);
    if ('error' in found) return found;
    tables = found;
  } else {
    const found = await tableConfiguration(state.meta, appName);
    if ('error' in found) return found;
    tables = [found.table];
  }
  const query = appStatMetricsQuery(appName === undefined ? undefined : tables[0]!.appId);
  let starts: MetricsSample[];
  let ends: MetricsSample[];
  try {
    starts = await fetchMetricsSamples(nodes, query);
    await state.sleep(intervalMs);
    ends = await fetchMetricsSamples(nodes, query);
  } catch (error) {
    if (!(error instanceof MetricsSampleError)) throw error;
    return { error: error.message };
  }
  const samples: NodeSamples[] = nodes.map((node, at) => ({ node, start: starts[at], end: ends[at]! }));
  if (appName !== undefined) return partitionRows(tables[0]!, samples);
  return tables.map((table) => tableRow(table, partitionRows(table, samples)));
}

/** The p99 latency columns of `-e`, in microseconds. */
const LATENCY_COLUMNS: ReadonlyArray<readonly [string, (typeof LATENCY_OPERATIONS)[number]]> = [
  ['GET_P99', 'get'], ['MGET_P99', 'multi_get'], ['BGET_P99', 'batch_get'], ['PUT_P99', 'put'], ['MPUT_P99', 'multi_put'],
  ['DEL_P99', 'remove'], ['MDEL_P99', 'multi_remove'], ['INCR_P99', 'incr'], ['CAS_P99', 'check_and_set'],
  ['CAM_P99', 'check_and_mutate'], ['SCAN_P99', 'scan'],
];

interface AppStatColumns {
  perTable: boolean;
  onlyQps: boolean;
  onlyUsage: boolean;
  extended: boolean;
}

/** Pegasus's app_stat table (precision 3), and with `extended` the record counts and p99 latencies. */
export function appStatTable(rows: readonly StatRow[], columns: AppStatColumns): Table {
  const names: string[] = [columns.perTable ? 'app_name' : 'pidx'];
  if (columns.perTable) names.push('app_id', 'pcount');
  if (!columns.onlyUsage) {
    names.push('GET', 'MGET', 'BGET', 'PUT', 'MPUT', 'DEL', 'MDEL', 'INCR', 'CAS', 'CAM', 'SCAN', 'RCU', 'WCU', 'expire', 'filter', 'abnormal', 'delay', 'reject');
  }
  if (!columns.onlyQps) names.push('file_mb', 'file_num', 'mem_tbl_mb', 'mem_idx_mb');
  names.push('hit_rate', 'seek_n_rate', 'point_n_rate', 'point_fp_rate');
  if (columns.extended) names.push('records', ...LATENCY_COLUMNS.map(([name]) => `${name}(us)`));
  const stat = (value: number): string => formatStat(value, 3);
  const cells = rows.map((row) => {
    const v = row.values;
    const cells = [row.name];
    if (columns.perTable) cells.push(String(row.appId), String(row.partitionCount));
    if (!columns.onlyUsage) {
      cells.push(...[
        v.get_qps, v.multi_get_qps, v.batch_get_qps, v.put_qps, v.multi_put_qps, v.remove_qps, v.multi_remove_qps, v.incr_qps,
        v.check_and_set_qps, v.check_and_mutate_qps, v.scan_qps, v.recent_read_cu, v.recent_write_cu, v.recent_expire_count,
        v.recent_filter_count, v.recent_abnormal_count, v.recent_write_throttling_delay_count, v.recent_write_throttling_reject_count,
      ].map(stat));
    }
    if (!columns.onlyQps) {
      cells.push(stat(v.storage_mb), String(Math.trunc(v.storage_count)), stat(v.rdb_memtable_mem_usage / (1 << 20)), stat(v.rdb_index_and_filter_blocks_mem_usage / (1 << 20)));
    }
    cells.push(
      stat(ratio(v.rdb_block_cache_hit_count, v.rdb_block_cache_total_count)),
      stat(ratio(v.rdb_bf_seek_negatives, v.rdb_bf_seek_total)),
      stat(ratio(v.rdb_bf_point_negatives, v.rdb_bf_point_negatives + v.rdb_bf_point_positive_total)),
      stat(ratio(v.rdb_bf_point_positive_total - v.rdb_bf_point_positive_true, v.rdb_bf_point_positive_total - v.rdb_bf_point_positive_true + v.rdb_bf_point_negatives)),
    );
    if (columns.extended) {
      cells.push(String(Math.trunc(v.rdb_estimate_num_keys)), ...LATENCY_COLUMNS.map(([, operation]) => stat(row.latenciesNs[operation].p99 / 1000)));
    }
    return cells;
  });
  return multiTable('app_stat', names, cells, names.slice(1));
}

const appStat: ShellCommand = {
  name: 'app_stat',
  usage: '[-a|--app_name str] [-q|--only_qps] [-u|--only_usage] [-e|--extended] [-j|--json] [-o|--output file_name] [-i|--sample_interval_ms num]',
  async run(state, words) {
    const parsed = options(state, words, [
      param('a', 'app_name'), flag('q', 'only_qps'), flag('u', 'only_usage'), flag('e', 'extended'), flag('j', 'json'), param('o', 'output'),
      param('i', 'sample_interval_ms'),
    ]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const intervalMs = sampleIntervalOption(state, parsed.options.get('sample_interval_ms'), TABLES_SAMPLE_INTERVAL_MS);
    if (intervalMs === undefined) return 'usage';
    const onlyQps = parsed.options.has('only_qps');
    const onlyUsage = parsed.options.has('only_usage');
    if (onlyQps && onlyUsage) {
      state.io.err('ERROR: only_qps and only_usage should not be set at the same time\n');
      return 'failed';
    }
    const appName = parsed.options.get('app_name') || undefined;
    const rows = await sampleRows(state, appName, intervalMs);
    if ('error' in rows) {
      state.io.err(`ERROR: query app stat from server failed: ${rows.error}\n`);
      return 'failed';
    }
    const all = [...rows, sumRows(`(total:${rows.length})`, rows)];
    const table = appStatTable(all, { perTable: appName === undefined, onlyQps, onlyUsage, extended: parsed.options.has('extended') });
    return emit(state, renderTable(table, parsed.options.has('json')), parsed.options.get('output'));
  },
};

// ---------------------------------------------------------------------------------------------
// app_disk

/** One replica's cell: `host:port(size,#files)`, `-` for what its server did not report. */
function replicaCell(node: string, sizeMb: number | undefined, files: number | undefined): string {
  return `${node}(${sizeMb === undefined ? '-' : streamNumber(sizeMb)},${files === undefined ? '-' : `#${streamNumber(files)}`})`;
}

const appDisk: ShellCommand = {
  name: 'app_disk',
  usage: '<app_name> [-d|--detailed] [-r|--resolve_ip] [-j|--json] [-o|--output file_name]',
  async run(state, words) {
    const parsed = options(state, words, [flag('d', 'detailed'), flag('r', 'resolve_ip'), flag('j', 'json'), param('o', 'output')]);
    if (!parsed || parsed.positionals.length !== 1) return 'usage';
    const appName = parsed.positionals[0]!;
    const detailed = parsed.options.has('detailed');
    const outFile = parsed.options.get('output');
    const found = await tableConfiguration(state.meta, appName);
    if ('error' in found) {
      state.io.err(`ERROR: ${found.error}\n`);
      return 'failed';
    }
    const { table, partitions } = found;
    const nodes = await aliveReplicaServers(state.meta);
    if ('error' in nodes) {
      state.io.err(`ERROR: get replica server node list failed: ${nodes.error}\n`);
      return 'failed';
    }
    let samples: MetricsSample[];
    try {
      samples = await fetchMetricsSamples(nodes, appStatMetricsQuery(table.appId));
    } catch (error) {
      if (!(error instanceof MetricsSampleError)) throw error;
      state.io.err(`ERROR: ${error.message}\n`);
      return 'failed';
    }
    const sampleOf = new Map(nodes.map((node, at) => [node, samples[at]!]));
    const reported = (node: string, index: number, metric: string): number | undefined =>
      sampleOf.get(node)?.replicas.get(`${table.appId}.${index}`)?.values.get(metric);

    const maxReplicaCount = partitions[0]?.maxReplicaCount ?? 0;
    let primaryMb = 0;
    let primariesCounted = 0;
    let allMb = 0;
    let replicasCounted = 0;
    const details: string[][] = [];
    for (const config of partitions) {
      const index = config.pid.partitionIndex;
      const primary = primaryOf(config);
      let primaryText = '-';
      if (primary !== '') {
        const size = reported(primary, index, 'rdb_total_sst_size_mb');
        if (size !== undefined) {
          primaryMb += size;
          primariesCounted++;
          allMb += size;
          replicasCounted++;
        }
        primaryText = replicaCell(primary, size, reported(primary, index, 'rdb_total_sst_files'));
      }
      const secondaries = (config.hpSecondaries ?? config.secondaries).map((secondary) => {
        const node = formatHostPort(secondary);
        const size = reported(node, index, 'rdb_total_sst_size_mb');
        if (size !== undefined) {
          allMb += size;
          replicasCounted++;
        }
        return replicaCell(node, size, reported(node, index, 'rdb_total_sst_files'));
      });
      const memberCount = secondaries.length + (primary === '' ? 0 : 1);
      details.push([String(index), String(config.ballot), `${memberCount}/${config.maxReplicaCount}`, primaryText, `[${secondaries.join(',')}]`]);
    }
    const parameters: Array<[string, string]> = [['app_name', appName]];
    if (outFile !== undefined) parameters.push(['out_file', outFile]);
    parameters.push(['detailed', String(detailed)]);
    const replicaSlots = table.partitionCount * maxReplicaCount;
    const tables: Table[] = [
      singleTable('parameters', parameters),
      singleTable('result', [
        ['app_name', appName],
        ['app_id', String(table.appId)],
        ['partition_count', String(table.partitionCount)],
        ['max_replica_count', String(maxReplicaCount)],
        ['disk_used_for_primary_replicas(MB)', formatStat(primaryMb, 2)],
        ['disk_used_for_all_replicas(MB)', formatStat(allMb, 2)],
        ['partitions not counted', `${table.partitionCount - primariesCounted}/${table.partitionCount}`],
        ['replicas not counted', `${replicaSlots - replicasCounted}/${replicaSlots}`],
      ]),
    ];
    if (detailed) tables.push(multiTable('details', ['pidx', 'ballot', 'replica_count', 'primary', 'secondaries'], details));
    return emit(state, renderTables(tables, parsed.options.has('json')), outFile);
  },
};

/** Nodes are listed by IP address already, so -r (print addresses resolved to IPs) changes nothing. */
export const APP_STAT_COMMANDS: readonly ShellCommand[] = [appStat, appDisk];
