// copy_data and clear_data, as Pegasus's shell has them: every partition of the current table
// is scanned in parallel (one split per partition, or the one `-p` names), each record that
// passes the filters is copied to a target table or deleted, and progress is printed each
// second, then each split's rows and the total. Everything is printed on stderr.
//
// Pegasus names the target cluster of copy_data by a section of its config file; Pteron's shell
// has none, so `-c` takes the target cluster's meta servers (host:port[,host:port...]).
// `-g` also writes each record into the geo index table `<target>_geo`, as Pegasus's geo client
// does (geo-keys.ts).
import { formatHostPort, parseHostPortList, PteronError } from '../../base/index.ts';
import {
  CasCheckType, createClient, FilterType, PegasusError, type PegasusClient, type PegasusScanner, type PegasusTable, type ScanEntry,
} from '../../client/index.ts';
import { parseInt32, type ParsedOptions } from './command-line.ts';
import { dataSession, errorName, onTable, parseFilter, PROGRESS_INTERVAL_MS, valuePasses } from './data-commands.ts';
import { quoted, wordBytes } from './data-format.ts';
import { geoKeys } from './geo-keys.ts';
import { flag, metaListOf, options, param, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';

const FILTER_OPTION_SPECS = [
  param('p', 'partition'), param('b', 'max_batch_count'), param('t', 'timeout_ms'),
  param('h', 'hash_key_filter_type'), param('x', 'hash_key_filter_pattern'), param('s', 'sort_key_filter_type'),
  param('y', 'sort_key_filter_pattern'), param('v', 'value_filter_type'), param('z', 'value_filter_pattern'),
];

interface NamedFilter {
  name: string;
  type: FilterType | 'exact' | undefined;
  pattern: Buffer;
}

/** What copy_data and clear_data both take: the partition, batch, timeout and the three filters. */
interface ScanSelection {
  partition: number;
  maxBatchCount: number;
  timeoutMs: number;
  hashKey: NamedFilter;
  sortKey: NamedFilter;
  value: NamedFilter;
}

function scanSelection(state: ShellState, parsed: ParsedOptions): ScanSelection | undefined {
  const err = (text: string): undefined => void state.io.err(text);
  const number = (name: string, fallback: number): number | undefined => {
    const text = parsed.options.get(name);
    return text === undefined ? fallback : parseInt32(text);
  };
  const partitionText = parsed.options.get('partition');
  const partition = number('partition', -1);
  if (partition === undefined) return err(`ERROR: parse ${partitionText} as partition failed\n`);
  if (partition < 0 && partitionText !== undefined) return err('ERROR: partition should be greater than 0\n');
  const maxBatchCount = number('max_batch_count', 500);
  if (maxBatchCount === undefined) return err(`ERROR: parse ${parsed.options.get('max_batch_count')} as max_batch_count failed\n`);
  const timeoutMs = number('timeout_ms', dataSession(state)?.timeoutMs ?? 5000);
  if (timeoutMs === undefined) return err(`ERROR: parse ${parsed.options.get('timeout_ms')} as timeout_ms failed\n`);
  const filter = (typeOption: string, patternOption: string, allowExact: boolean): NamedFilter | undefined => {
    const name = parsed.options.get(typeOption);
    const type = name === undefined ? undefined : parseFilter(name, allowExact);
    if (name !== undefined && type === undefined) return err(`ERROR: invalid ${typeOption} param\n`);
    return { name: name ?? 'no_filter', type, pattern: wordBytes(parsed.options.get(patternOption) ?? '') };
  };
  const hashKey = filter('hash_key_filter_type', 'hash_key_filter_pattern', false);
  if (!hashKey) return undefined;
  const sortKey = filter('sort_key_filter_type', 'sort_key_filter_pattern', true);
  if (!sortKey) return undefined;
  const value = filter('value_filter_type', 'value_filter_pattern', true);
  if (!value) return undefined;
  if (maxBatchCount <= 1) return err('ERROR: max_batch_count should be greater than 1\n');
  if (timeoutMs <= 0) return err('ERROR: timeout_ms should be greater than 0\n');
  return { partition, maxBatchCount, timeoutMs, hashKey, sortKey, value };
}

function printSelection(state: ShellState, selection: ScanSelection): void {
  const err = (text: string): void => state.io.err(text);
  err(`INFO: partition = ${selection.partition >= 0 ? selection.partition : 'all'}\n`);
  err(`INFO: max_batch_count = ${selection.maxBatchCount}\n`);
  err(`INFO: timeout_ms = ${selection.timeoutMs}\n`);
  for (const [label, filter] of [['hash_key', selection.hashKey], ['sort_key', selection.sortKey], ['value', selection.value]] as const) {
    err(`INFO: ${label}_filter_type = ${filter.name}\n`);
    if (filter.type !== undefined) err(`INFO: ${label}_filter_pattern = ${quoted(filter.pattern)}\n`);
  }
}

/** Opens one scanner per partition (or just `-p`'s); prints as the reference does; undefined after an error. */
async function openScanners(
  state: ShellState, table: PegasusTable, selection: ScanSelection, noValue: boolean, batchSize: number, what: string,
): Promise<PegasusScanner[] | undefined> {
  const err = (text: string): void => state.io.err(text);
  let scanners: PegasusScanner[];
  try {
    const sortType = selection.sortKey.type;
    scanners = await table.getUnorderedScanners(0x7fffffff, {
      batchSize, timeoutMs: selection.timeoutMs, signal: state.signal, noValue,
      hashKeyFilter: selection.hashKey.type === undefined ? undefined : { type: selection.hashKey.type as FilterType, pattern: selection.hashKey.pattern },
      // An exact sort-key match is sent as a prefix filter; the length is checked per record.
      sortKeyFilter: sortType === undefined ? undefined : { type: sortType === 'exact' ? FilterType.FT_MATCH_PREFIX : sortType, pattern: selection.sortKey.pattern },
    });
  } catch (error) {
    err(`ERROR: open ${what}scanner failed: ${errorName(error)}\n`);
    return undefined;
  }
  err(`INFO: open ${what}scanner succeed, partition_count = ${scanners.length}\n`);
  if (selection.partition >= 0) {
    if (selection.partition >= scanners.length) {
      err(`ERROR: invalid partition param: ${selection.partition}\n`);
      await Promise.all(scanners.map((scanner) => scanner.close()));
      return undefined;
    }
    const chosen = scanners[selection.partition]!;
    await Promise.all(scanners.filter((scanner) => scanner !== chosen).map((scanner) => scanner.close()));
    scanners = [chosen];
  }
  err(`INFO: prepare scanners succeed, split_count = ${scanners.length}\n`);
  return scanners;
}

/** Whether a scanned record passes the filters the server could not apply (exact sort key, value). */
function passes(selection: ScanSelection, entry: ScanEntry): boolean {
  if (selection.sortKey.type === 'exact' && !entry.sortKey.equals(selection.sortKey.pattern)) return false;
  return valuePasses(selection.value.type, selection.value.pattern, entry.value);
}

/**
 * Runs `handle` on each record of each split (then `endOfSplit` once), in parallel over the
 * splits, printing progress each second; stops every split at the first error. Returns the rows each split handled and whether
 * an error stopped them.
 */
async function processSplits(
  state: ShellState, scanners: readonly PegasusScanner[], handle: (entry: ScanEntry, split: number) => Promise<number>,
  endOfSplit?: (split: number) => Promise<number>,
): Promise<{ rows: number[]; failed: boolean }> {
  const rows = scanners.map(() => 0);
  const done = scanners.map(() => false);
  let failed = false;
  const work = Promise.all(scanners.map(async (scanner, index) => {
    try {
      while (!failed) {
        const entry = await scanner.next();
        if (!entry) break;
        rows[index]! += await handle(entry, index);
      }
      if (!failed && endOfSplit) rows[index]! += await endOfSplit(index);
    } catch (error) {
      state.io.err(`ERROR: ${errorName(error)}\n`);
      failed = true;
    } finally {
      done[index] = true;
      await scanner.close();
    }
  }));
  const started = Date.now();
  let lastTotal = 0;
  for (;;) {
    const finished = await Promise.race([work.then(() => true), state.sleep(PROGRESS_INTERVAL_MS).then(() => false)]);
    const seconds = Math.max(1, Math.ceil((Date.now() - started) / 1000));
    const total = rows.reduce((sum, count) => sum + count, 0);
    const completed = done.filter(Boolean).length;
    state.io.err(`INFO: processed for ${seconds} seconds, (${completed}/${scanners.length}) splits, total ${total} rows, `
      + `last second ${total - lastTotal} rows${failed ? ', error occurred, terminating...' : ''}\n`);
    lastTotal = total;
    if (finished) break;
  }
  return { rows, failed };
}

function printSplitRows(state: ShellState, rows: readonly number[], verb: string, failed: boolean): number {
  rows.forEach((count, index) => state.io.err(`INFO: split[${index}]: ${count} rows\n`));
  const total = rows.reduce((sum, count) => sum + count, 0);
  state.io.err(`\n${verb} ${failed ? 'terminated' : 'done'}, total ${total} rows.\n`);
  return total;
}

// ---------------------------------------------------------------------------------------------
// copy_data

/** The remaining TTL to copy a record with (0: none), or undefined when it expired meanwhile. */
async function remainingTtl(table: PegasusTable, entry: ScanEntry, timeoutMs: number): Promise<number | undefined> {
  const seconds = await table.ttl(entry.hashKey, entry.sortKey, { timeoutMs });
  return seconds === undefined ? undefined : seconds === -1 ? 0 : seconds;
}

/** Pegasus's geo client keeps its index in the table named after the data table with this suffix. */
const GEO_TABLE_SUFFIX = '_geo';

/**
 * Pegasus's geo_client::set: drops the index record of the value being replaced, then writes
 * the record to `target` and its index record (keyed by the value's S2 cell) to `geoTarget`.
 * A value without a valid latitude and longitude fails with PERR_GEO_DECODE_VALUE_ERROR.
 */
async function geoSet(target: PegasusTable, geoTarget: PegasusTable, entry: ScanEntry, ttlSeconds: number, timeoutMs: number): Promise<void> {
  const keys = geoKeys(entry.hashKey, entry.sortKey, entry.value);
  if (!keys) throw new PegasusError('PERR_GEO_DECODE_VALUE_ERROR', 'geo set', 'the value holds no valid latitude and longitude');
  const old = await target.get(entry.hashKey, entry.sortKey, { timeoutMs });
  const oldKeys = old && geoKeys(entry.hashKey, entry.sortKey, old);
  if (oldKeys) await geoTarget.del(oldKeys.hashKey, oldKeys.sortKey, { timeoutMs });
  await Promise.all([
    target.set(entry.hashKey, entry.sortKey, entry.value, ttlSeconds, { timeoutMs }),
    geoTarget.set(keys.hashKey, keys.sortKey, entry.value, ttlSeconds, { timeoutMs }),
  ]);
}

const copyData: ShellCommand = {
  name: 'copy_data',
  usage: '<-c|--target_cluster_name str> <-a|--target_app_name str> [-p|--partition num] [-b|--max_batch_count num] [-t|--timeout_ms num] '
    + '[-h|--hash_key_filter_type anywhere|prefix|postfix] [-x|--hash_key_filter_pattern str] '
    + '[-s|--sort_key_filter_type anywhere|prefix|postfix|exact] [-y|--sort_key_filter_pattern str] '
    + '[-v|--value_filter_type anywhere|prefix|postfix|exact] [-z|--value_filter_pattern str] [-m|--max_multi_set_concurrency] '
    + '[-o|--scan_option_batch_size] [-e|--no_ttl] [-n|--no_overwrite] [-i|--no_value] [-g|--geo_data] [-u|--use_multi_set]',
  async run(state, words) {
    const parsed = options(state, words, [
      ...FILTER_OPTION_SPECS, param('c', 'target_cluster_name'), param('a', 'target_app_name'), param('m', 'max_multi_set_concurrency'),
      param('o', 'scan_option_batch_size'), flag('e', 'no_ttl'), flag('n', 'no_overwrite'), flag('i', 'no_value'), flag('g', 'geo_data'),
      flag('u', 'use_multi_set'),
    ]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const selection = scanSelection(state, parsed);
    if (!selection) return 'usage';
    const err = (text: string): void => state.io.err(text);
    const intOption = (name: string, fallback: number): number | undefined => {
      const text = parsed.options.get(name);
      const value = text === undefined ? fallback : parseInt32(text);
      if (value === undefined) err(`ERROR: parse ${text} as ${name} failed\n`);
      return value;
    };
    const concurrency = intOption('max_multi_set_concurrency', 20);
    const scanBatchSize = intOption('scan_option_batch_size', 1000);
    if (concurrency === undefined || scanBatchSize === undefined) return 'usage';
    const targetCluster = parsed.options.get('target_cluster_name') ?? '';
    const targetAppName = parsed.options.get('target_app_name') ?? '';
    const noTtl = parsed.options.has('no_ttl');
    const noOverwrite = parsed.options.has('no_overwrite');
    const noValue = parsed.options.has('no_value');
    const useMultiSet = parsed.options.has('use_multi_set');
    if (targetCluster === '') return (err('ERROR: target_cluster_name not specified\n'), 'usage');
    if (targetAppName === '') return (err('ERROR: target_app_name not specified\n'), 'usage');
    if (selection.value.type !== undefined && noValue) return (err('ERROR: no_value should not be set when value_filter_type is set\n'), 'usage');
    if (concurrency <= 0) return (err('ERROR: max_multi_set_concurrency should be greater than 0\n'), 'usage');
    if (scanBatchSize <= 0) return (err('ERROR: scan_option_batch_size should be greater than 0\n'), 'usage');
    if (useMultiSet && noOverwrite) return (err('ERROR: copy with multi_set not support no_overwrite!\n'), 'usage');
    const geoData = parsed.options.has('geo_data');
    let targetMetas: string[];
    try {
      targetMetas = parseHostPortList(targetCluster).map(formatHostPort);
    } catch (error) {
      if (!(error instanceof PteronError)) throw error;
      return (err(`ERROR: target_cluster_name "${targetCluster}" is not a list of meta servers (host:port,...)\n`), 'usage');
    }
    return onTable(state, async ({ table }) => {
      const sourceCluster = metaListOf(state).map(formatHostPort).join(',');
      err(`INFO: source_cluster_name = ${sourceCluster}\n`);
      err(`INFO: source_app_name = ${table.name}\n`);
      err(`INFO: target_cluster_name = ${targetCluster}\n`);
      err(`INFO: target_app_name = ${targetAppName}\n`);
      if (geoData) err(`INFO: target_geo_app_name = ${targetAppName}${GEO_TABLE_SUFFIX}\n`);
      if (useMultiSet) err(`INFO: copy use asyncer_multi_set, max_multi_set_concurrency = ${concurrency}\n`);
      printSelection(state, selection);
      err(`INFO: no_overwrite = ${noOverwrite}\n`);
      err(`INFO: no_value = ${noValue}\n`);
      if (targetMetas.join(',') === sourceCluster && targetAppName === table.name) {
        err('ERROR: source app and target app is the same\n');
        return 'failed';
      }
      const targetClient: PegasusClient = createClient({ metaServers: targetMetas, timeoutMs: selection.timeoutMs });
      try {
        let target: PegasusTable;
        try {
          target = await targetClient.openTable(targetAppName, { timeoutMs: selection.timeoutMs });
          await target.exist('a', 'b', { timeoutMs: selection.timeoutMs });
        } catch (error) {
          if (!(error instanceof PegasusError)) throw error;
          err(`ERROR: test target app failed: ${error.code}\n`);
          return 'failed';
        }
        let geoTarget: PegasusTable | undefined;
        if (geoData) {
          try {
            geoTarget = await targetClient.openTable(`${targetAppName}${GEO_TABLE_SUFFIX}`, { timeoutMs: selection.timeoutMs });
          } catch (error) {
            if (!(error instanceof PegasusError)) throw error;
            err(`ERROR: open target geo app failed: ${error.code}\n`);
            return 'failed';
          }
        }
        const scanners = await openScanners(state, table, selection, noValue, scanBatchSize, 'source app ');
        if (!scanners) return 'failed';
        if (useMultiSet && !geoData) err('WARN: used multi_set will lose accurate ttl time per value! ttl time will be assign the max value of this batch data.\n');
        const timeoutMs = selection.timeoutMs;
        const copyOne = async (entry: ScanEntry): Promise<number> => {
          if (!passes(selection, entry)) return 0;
          if (geoTarget) {
            // As Pegasus's geo copy: the record keeps its remaining TTL whatever -e says.
            const geoTtl = await remainingTtl(table, entry, timeoutMs);
            if (geoTtl === undefined) return 0;
            await geoSet(target, geoTarget, entry, geoTtl, timeoutMs);
            return 1;
          }
          const ttl = noTtl ? 0 : await remainingTtl(table, entry, timeoutMs);
          if (ttl === undefined) return 0;
          if (noOverwrite) {
            const outcome = await target.checkAndSet(entry.hashKey, entry.sortKey, CasCheckType.CT_VALUE_NOT_EXIST, Buffer.alloc(0), entry.sortKey, entry.value, {
              setValueTtlSeconds: ttl, timeoutMs,
            });
            return outcome.setSucceed ? 1 : 0;
          }
          await target.set(entry.hashKey, entry.sortKey, entry.value, ttl, { timeoutMs });
          return 1;
        };
        const { rows, failed } = useMultiSet && !geoData
          ? await copyByMultiSet(state, scanners, selection, target, noTtl ? undefined : table, concurrency)
          : await processSplits(state, scanners, copyOne);
        if (failed) err('ERROR: error occurred, processing terminated\n');
        printSplitRows(state, rows, 'Copy', failed);
        return failed ? 'failed' : 'ok';
      } finally {
        await targetClient.close();
      }
    });
  },
};

/**
 * copy_data -u: each split gathers the records of one hash key (up to max_batch_count) and
 * writes them with one multi_set carrying the largest TTL among them, at most `concurrency`
 * multi_sets at a time over all splits.
 */
async function copyByMultiSet(
  state: ShellState, scanners: readonly PegasusScanner[], selection: ScanSelection, target: PegasusTable, ttlSource: PegasusTable | undefined,
  concurrency: number,
): Promise<{ rows: number[]; failed: boolean }> {
  let running = 0;
  const waiting: Array<() => void> = [];
  const batches = scanners.map(() => ({ hashKey: undefined as Buffer | undefined, kvs: [] as Array<{ sortKey: Buffer; value: Buffer }>, ttl: 0 }));
  const flush = async (split: number): Promise<number> => {
    const batch = batches[split]!;
    if (batch.hashKey === undefined) return 0;
    const { hashKey, kvs, ttl } = batch;
    batches[split] = { hashKey: undefined, kvs: [], ttl: 0 };
    while (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      await target.multiSet(hashKey, kvs, ttl, { timeoutMs: selection.timeoutMs });
    } finally {
      running--;
      waiting.shift()?.();
    }
    return kvs.length;
  };
  return processSplits(state, scanners, async (entry, split) => {
    if (!passes(selection, entry)) return 0;
    let written = 0;
    if (batches[split]!.hashKey?.equals(entry.hashKey) === false) written += await flush(split);
    const ttl = ttlSource ? await remainingTtl(ttlSource, entry, selection.timeoutMs) : 0;
    if (ttl === undefined) return written;
    const batch = batches[split]!;
    batch.hashKey ??= Buffer.from(entry.hashKey);
    batch.kvs.push({ sortKey: Buffer.from(entry.sortKey), value: Buffer.from(entry.value) });
    batch.ttl = Math.max(batch.ttl, ttl);
    if (batch.kvs.length >= selection.maxBatchCount) written += await flush(split);
    return written;
  }, flush);
}

// ---------------------------------------------------------------------------------------------
// clear_data

const clearData: ShellCommand = {
  name: 'clear_data',
  usage: '[-p|--partition num] [-b|--max_batch_count num] [-t|--timeout_ms num] '
    + '[-h|--hash_key_filter_type anywhere|prefix|postfix] [-x|--hash_key_filter_pattern str] '
    + '[-s|--sort_key_filter_type anywhere|prefix|postfix|exact] [-y|--sort_key_filter_pattern str] '
    + '[-v|--value_filter_type anywhere|prefix|postfix|exact] [-z|--value_filter_pattern str] [-f|--force]',
  async run(state, words) {
    const parsed = options(state, words, [...FILTER_OPTION_SPECS, flag('f', 'force')]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const selection = scanSelection(state, parsed);
    if (!selection) return 'usage';
    const force = parsed.options.has('force');
    return onTable(state, async ({ table, err }): Promise<CommandResult> => {
      err(`INFO: cluster_name = ${metaListOf(state).map(formatHostPort).join(',')}\n`);
      err(`INFO: app_name = ${table.name}\n`);
      printSelection(state, selection);
      err(`INFO: force = ${force}\n`);
      if (!force) {
        err('ERROR: be careful to clear data!!! Please specify --force if you are determined to do.\n');
        return 'usage';
      }
      const scanners = await openScanners(state, table, selection, selection.value.type === undefined, selection.maxBatchCount, 'app ');
      if (!scanners) return 'failed';
      const { rows, failed } = await processSplits(state, scanners, async (entry) => {
        if (!passes(selection, entry)) return 0;
        await table.del(entry.hashKey, entry.sortKey, { timeoutMs: selection.timeoutMs });
        return 1;
      });
      if (failed) err('ERROR: error occurred, terminate processing\n');
      printSplitRows(state, rows, 'Clear', failed);
      return failed ? 'failed' : 'ok';
    });
  },
};

export const TABLE_DATA_COMMANDS: readonly ShellCommand[] = [copyData, clearData];
