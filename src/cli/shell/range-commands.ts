// More of the shell's data commands, as Pegasus's shell has them: sort-key ranges of one hash
// key (multi_get_range, multi_get_sortkeys, multi_del_range), check_and_mutate with its
// mutations read from the lines that follow it, hash (where a key lives), and the session's
// settings for the data commands (timeout, escape_all). Results go to stderr, as the reference
// prints them; hash prints its table on stdout (and its error on stderr).
import { closeSync, openSync, writeSync } from 'node:fs';
import { formatHostPort, recordHash, renderTableText, singleTable } from '../../base/index.ts';
import { CasCheckType, FilterType, type Mutation } from '../../client/index.ts';
import { RPCS } from '../../wire/structs/index.ts';
import { CommandLineError, parseInt32, splitCommandLine } from './command-line.ts';
import { CHECK_TYPES_BY_NAME, dataSession, errorName, onTable, parseBool, parseFilter } from './data-commands.ts';
import { quoted, wordBytes } from './data-format.ts';
import { flag, options, param, type ShellCommand, type ShellState } from './shell-command.ts';

/** multi_del_range deletes what it scanned in multi_dels of this many sort keys. */
const DELETE_BATCH_SORT_KEYS = 100;

/** The sort-key range options multi_get_range and multi_del_range share, or undefined after printing why not. */
function rangeOptions(state: ShellState, values: ReadonlyMap<string, string>) {
  const startInclusive = parseBool(values.get('start_inclusive') ?? 'true');
  if (startInclusive === undefined) return void state.io.err('invalid start_inclusive param\n');
  const stopInclusive = parseBool(values.get('stop_inclusive') ?? 'false');
  if (stopInclusive === undefined) return void state.io.err('invalid stop_inclusive param\n');
  const filterName = values.get('sort_key_filter_type');
  const filter = filterName === undefined ? undefined : parseFilter(filterName, false);
  if (filterName !== undefined && filter === undefined) return void state.io.err('invalid sort_key_filter_type param\n');
  return {
    startInclusive, stopInclusive, filterName: filterName ?? 'no_filter', filter: filter as FilterType | undefined,
    pattern: wordBytes(values.get('sort_key_filter_pattern') ?? ''),
  };
}

type RangeOptions = NonNullable<ReturnType<typeof rangeOptions>>;

function printRange(state: ShellState, hashKey: Buffer, start: Buffer, stop: Buffer, range: RangeOptions): void {
  const err = (text: string): void => state.io.err(text);
  err(`hash_key: ${quoted(hashKey)}\n`);
  err(`start_sort_key: ${quoted(start)}\n`);
  err(`start_inclusive: ${range.startInclusive}\n`);
  err(`stop_sort_key: ${quoted(stop)}\n`);
  err(`stop_inclusive: ${range.stopInclusive}\n`);
  err(`sort_key_filter_type: ${range.filterName}\n`);
  if (range.filter !== undefined) err(`sort_key_filter_pattern: ${quoted(range.pattern)}\n`);
}

const RANGE_OPTION_SPECS = [param('a', 'start_inclusive'), param('b', 'stop_inclusive'), param('s', 'sort_key_filter_type'), param('y', 'sort_key_filter_pattern')];

const multiGetRange: ShellCommand = {
  name: 'multi_get_range',
  usage: '<hash_key> <start_sort_key> <stop_sort_key> [-a|--start_inclusive true|false] [-b|--stop_inclusive true|false] '
    + '[-s|--sort_key_filter_type anywhere|prefix|postfix] [-y|--sort_key_filter_pattern str] '
    + '[-n|--max_count num] [-i|--no_value] [-r|--reverse]',
  async run(state, words) {
    const parsed = options(state, words, [...RANGE_OPTION_SPECS, param('n', 'max_count'), flag('i', 'no_value'), flag('r', 'reverse')]);
    if (!parsed || parsed.positionals.length !== 3) return 'usage';
    const range = rangeOptions(state, parsed.options);
    if (!range) return 'usage';
    const maxText = parsed.options.get('max_count');
    const maxCount = maxText === undefined ? -1 : parseInt32(maxText);
    if (maxCount === undefined) return (state.io.err(`parse ${maxText} as max_count failed\n`), 'usage');
    const noValue = parsed.options.has('no_value');
    const reverse = parsed.options.has('reverse');
    const [hashKey, start, stop] = parsed.positionals.map(wordBytes) as [Buffer, Buffer, Buffer];
    return onTable(state, async ({ table, err, q, operation }) => {
      printRange(state, hashKey, start, stop, range);
      err(`max_count: ${maxCount}\n`);
      err(`no_value: ${noValue}\n`);
      err(`reverse: ${reverse}\n\n`);
      return operation(false, async (request) => {
        const read = await table.multiGetRange(hashKey, start, stop, {
          startInclusive: range.startInclusive, stopInclusive: range.stopInclusive, maxKvCount: maxCount, maxKvSize: -1, noValue, reverse,
          sortKeyFilter: range.filter === undefined ? undefined : { type: range.filter, pattern: range.pattern }, ...request,
        });
        for (const kv of read.kvs) err(`${q(hashKey)} : ${q(kv.sortKey)}${noValue ? '' : ` => ${q(kv.value)}`}\n`);
        if (read.kvs.length > 0) err('\n');
        err(`${read.kvs.length} key-value pairs got, fetch ${read.allFetched ? 'completed' : 'not completed'}.\n`);
      });
    });
  },
};

const multiGetSortKeys: ShellCommand = {
  name: 'multi_get_sortkeys',
  usage: '<hash_key>',
  async run(state, words) {
    if (words.length !== 1) return 'usage';
    const hashKey = wordBytes(words[0]!);
    return onTable(state, async ({ table, err, q, operation }) => {
      return operation(false, async (request) => {
        const read = await table.multiGet(hashKey, [], { noValue: true, maxKvCount: -1, maxKvSize: -1, ...request });
        for (const kv of read.kvs) err(`${q(kv.sortKey)}\n`);
        err(`\n${read.kvs.length} sort keys got, fetch ${read.allFetched ? 'completed' : 'not completed'}.\n`);
      });
    });
  },
};

const multiDelRange: ShellCommand = {
  name: 'multi_del_range',
  usage: '<hash_key> <start_sort_key> <stop_sort_key> [-a|--start_inclusive true|false] [-b|--stop_inclusive true|false] '
    + '[-s|--sort_key_filter_type anywhere|prefix|postfix] [-y|--sort_key_filter_pattern str] [-o|--output file_name] [-i|--silent]',
  async run(state, words) {
    const parsed = options(state, words, [...RANGE_OPTION_SPECS, param('o', 'output'), flag('i', 'silent')]);
    if (!parsed || parsed.positionals.length !== 3) return 'usage';
    const range = rangeOptions(state, parsed.options);
    if (!range) return 'usage';
    const silent = parsed.options.has('silent');
    const [hashKey, start, stop] = parsed.positionals.map(wordBytes) as [Buffer, Buffer, Buffer];
    const outputFile = parsed.options.get('output');
    let fd: number | undefined;
    if (outputFile !== undefined) {
      try {
        fd = openSync(outputFile, 'w');
      } catch {
        state.io.err(`open filename ${outputFile} failed\n`);
        return 'usage';
      }
    }
    // What the reference writes to its output file, and repeats on stderr when that is a file.
    const report = (text: string, alsoOnStderr: boolean): void => {
      if (fd === undefined) state.io.err(text);
      else {
        writeSync(fd, text);
        if (alsoOnStderr) state.io.err(text);
      }
    };
    try {
      return await onTable(state, async ({ table, session, err, q }) => {
        printRange(state, hashKey, start, stop, range);
        err(`silent: ${silent}\n\n`);
        let deleted = 0;
        let failed = false;
        const scanner = table.getScanner(hashKey, start, stop, {
          startInclusive: range.startInclusive, stopInclusive: range.stopInclusive, noValue: true, timeoutMs: session.timeoutMs, signal: state.signal,
          sortKeyFilter: range.filter === undefined ? undefined : { type: range.filter, pattern: range.pattern },
        });
        try {
          const batch: Buffer[] = [];
          for (;;) {
            let entry;
            try {
              entry = await scanner.next();
            } catch (error) {
              const info = scanner.info;
              report(`ERROR: scan data failed: ${errorName(error)} {app_id=${info?.appId ?? 0}, partition_index=${info?.partitionIndex ?? 0}, server=${info?.server ?? ''}}\n`, true);
              failed = true;
              break;
            }
            if (entry) batch.push(Buffer.from(entry.sortKey));
            if (batch.length > 0 && (batch.length >= DELETE_BATCH_SORT_KEYS || !entry)) {
              const info = { appId: 0, partitionIndex: 0, decree: 0n, server: '' };
              try {
                deleted += await table.multiDel(hashKey, batch, { timeoutMs: session.timeoutMs, info, signal: state.signal });
              } catch (error) {
                report(`ERROR: delete data failed: ${errorName(error)} {app_id=${info.appId}, partition_index=${info.partitionIndex}, server=${info.server}}\n`, true);
                failed = true;
                break;
              }
              if (!silent) for (const sortKey of batch) report(`Deleted: ${q(sortKey)}\n`, false);
              batch.length = 0;
            }
            if (!entry) break;
          }
        } finally {
          await scanner.close();
        }
        if (failed) {
          err(`\nTerminated for error, ${deleted} sort keys deleted.\n`);
          return 'failed';
        }
        if (fd === undefined && !silent && deleted > 0) err('\n');
        err(`OK, ${deleted} sort keys deleted.\n`);
        return 'ok';
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// check_and_mutate

/** Reads `set <sort_key> <value> [ttl]` and `del <sort_key>` lines until `ok`; undefined after `abort` or the end of input. */
async function loadMutations(state: ShellState, q: (bytes: Uint8Array) => string): Promise<Mutation[] | undefined> {
  const err = (text: string): void => state.io.err(text);
  const mutations: Mutation[] = [];
  for (;;) {
    const line = await state.readLine();
    if (line === undefined) {
      err('INFO: abort loading\n');
      return undefined;
    }
    let words: string[];
    try {
      words = splitCommandLine(line);
    } catch (error) {
      if (!(error instanceof CommandLineError)) throw error;
      words = [];
    }
    const [op, ...rest] = words;
    if (op === 'abort') {
      err('INFO: abort loading\n');
      return undefined;
    }
    if (op === 'ok') {
      err('INFO: load mutations done.\n\n');
      return mutations;
    }
    if (op === 'set' && (rest.length === 2 || rest.length === 3)) {
      let ttl = 0;
      if (rest.length === 3) {
        const parsed = parseInt32(rest[2]!);
        if (parsed === undefined) {
          err(`ERROR: parse "${rest[2]}" as ttl failed, print "ok" to finish loading, print "abort" to abort this command\n`);
          continue;
        }
        if (parsed <= 0) {
          err(`ERROR: invalid ttl ${rest[2]}, print "ok" to finish loading, print "abort" to abort this command\n`);
          continue;
        }
        ttl = parsed;
      }
      const sortKey = wordBytes(rest[0]!);
      const value = wordBytes(rest[1]!);
      err(`LOAD: set sortkey ${q(sortKey)}, value ${q(value)}, ttl ${ttl}\n`);
      mutations.push({ operation: 'put', sortKey, value, ttlSeconds: ttl });
    } else if (op === 'del' && rest.length === 1) {
      const sortKey = wordBytes(rest[0]!);
      err(`LOAD: del sortkey ${q(sortKey)}\n`);
      mutations.push({ operation: 'delete', sortKey });
    } else {
      err('ERROR: invalid mutation, print "ok" to finish loading\n');
    }
  }
}

const checkAndMutate: ShellCommand = {
  name: 'check_and_mutate',
  usage: '<hash_key> [-c|--check_sort_key str] [-t|--check_type not_exist|not_exist_or_empty|exist|not_empty] '
    + '[match_anywhere|match_prefix|match_postfix] [bytes_less|bytes_less_or_equal|bytes_equal|bytes_greater_or_equal|bytes_greater] '
    + '[int_less|int_less_or_equal|int_equal|int_greater_or_equal|int_greater] [-o|--check_operand str] [-r|--return_check_value]',
  async run(state, words) {
    const parsed = options(state, words, [param('c', 'check_sort_key'), param('t', 'check_type'), param('o', 'check_operand'), flag('r', 'return_check_value')]);
    if (!parsed || parsed.positionals.length !== 1) return 'usage';
    const typeName = parsed.options.get('check_type');
    const checkType = typeName === undefined ? undefined : CHECK_TYPES_BY_NAME[typeName.toLowerCase()];
    if (typeName !== undefined && checkType === undefined) return (state.io.err('ERROR: invalid check_type param\n'), 'usage');
    if (!parsed.options.has('check_sort_key')) return (state.io.err('ERROR: check_sort_key not provided\n'), 'usage');
    if (checkType === undefined) return (state.io.err('ERROR: check_type not provided\n'), 'usage');
    if (!parsed.options.has('check_operand') && checkType >= CasCheckType.CT_VALUE_MATCH_ANYWHERE) {
      return (state.io.err('ERROR: check_operand not provided\n'), 'usage');
    }
    const hashKey = wordBytes(parsed.positionals[0]!);
    const checkSortKey = wordBytes(parsed.options.get('check_sort_key')!);
    const checkOperand = wordBytes(parsed.options.get('check_operand') ?? '');
    const returnCheckValue = parsed.options.has('return_check_value');
    const err = (text: string): void => state.io.err(text);
    err('Load mutations, like\n  set <sort_key> <value> [ttl]\n  del <sort_key>\nPrint "ok" to finish loading, "abort" to abort this command\n');
    const mutations = await loadMutations(state, (bytes) => quoted(bytes, dataSession(state)?.escapeAll ?? false));
    if (!mutations) {
      err('INFO: abort check_and_mutate command\n');
      return 'ok';
    }
    if (mutations.length === 0) return (err('ERROR: mutations not provided\n'), 'usage');
    return onTable(state, async ({ table, q, operation }) => {
      err(`hash_key: ${quoted(hashKey)}\n`);
      err(`check_sort_key: ${quoted(checkSortKey)}\n`);
      err(`check_type: ${typeName}\n`);
      if (checkType >= CasCheckType.CT_VALUE_MATCH_ANYWHERE) err(`check_operand: ${quoted(checkOperand)}\n`);
      err(`return_check_value: ${returnCheckValue}\n`);
      err('mutations:\n');
      mutations.forEach((mutation, index) => {
        if (mutation.operation === 'put') {
          err(`  mutation[${index}].type: SET\n  mutation[${index}].sort_key: ${quoted(mutation.sortKey as Buffer)}\n`
            + `  mutation[${index}].value: ${quoted(mutation.value as Buffer)}\n  mutation[${index}].expire_seconds: ${mutation.ttlSeconds ?? 0}\n`);
        } else {
          err(`  mutation[${index}].type: DEL\n  mutation[${index}].sort_key: ${quoted(mutation.sortKey as Buffer)}\n`);
        }
      });
      err('\n');
      return operation(true, async (request) => {
        const outcome = await table.checkAndMutate(hashKey, checkSortKey, checkType, checkOperand, mutations, { returnCheckValue, ...request });
        err(outcome.mutateSucceed ? 'Mutate succeed.\n' : 'Mutate failed, because check not passed.\n');
        if (outcome.checkValueReturned) {
          err('\n');
          err(outcome.checkValueExist && outcome.checkValue ? `Check value: ${q(outcome.checkValue)}\n` : 'Check value not exist.\n');
        }
      });
    });
  },
};

// ---------------------------------------------------------------------------------------------
// hash, timeout, escape_all

const hash: ShellCommand = {
  name: 'hash',
  usage: '<hash_key> <sort_key>',
  async run(state, words) {
    if (words.length !== 2) return 'usage';
    const keyHash = recordHash(wordBytes(words[0]!), wordBytes(words[1]!));
    const rows: Array<[string, string]> = [['key_hash', keyHash.toString()]];
    const appName = state.currentApp;
    if (appName !== '') {
      const reply = await state.meta.call(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName, partitionIndices: [] });
      if (reply.err !== 'ERR_OK' || !reply.response) {
        state.io.err(`list app [${appName}] failed, error=${reply.err}\n`);
        return 'failed';
      }
      const { appId, partitionCount, partitions } = reply.response;
      const partitionIndex = partitionCount > 0 ? Number(keyHash % BigInt(partitionCount)) : 0;
      rows.push(['app_name', appName], ['app_id', String(appId)], ['partition_count', String(partitionCount)], ['partition_index', String(partitionIndex)]);
      const config = partitions.find((partition) => partition.pid.partitionIndex === partitionIndex);
      if (config) {
        const primary = config.hpPrimary ?? config.primary;
        rows.push(['primary', primary.port === 0 ? '' : formatHostPort(primary)]);
        rows.push(['secondaries', (config.hpSecondaries ?? config.secondaries).map(formatHostPort).join(',')]);
      }
    }
    state.io.out(renderTableText(singleTable('', rows)));
    return 'ok';
  },
};

/** The data commands' settings of a session that may have no data client yet. */
function settingsOf(state: ShellState): { timeoutMs: number; escapeAll: boolean } | undefined {
  const session = dataSession(state);
  if (!session) state.io.err('ERROR: no meta server address\n');
  return session;
}

const timeout: ShellCommand = {
  name: 'timeout',
  usage: '[time_in_ms]',
  async run(state, words) {
    if (words.length > 1) return 'usage';
    const settings = settingsOf(state);
    if (!settings) return 'failed';
    if (words.length === 0) {
      state.io.err(`Current timeout: ${settings.timeoutMs} ms.\n`);
      return 'ok';
    }
    const value = parseInt32(words[0]!);
    if (value === undefined) return (state.io.err(`ERROR: parse ${words[0]} as timeout failed\n`), 'usage');
    if (value <= 0) return (state.io.err(`ERROR: invalid timeout ${words[0]}\n`), 'usage');
    settings.timeoutMs = value;
    state.io.err('OK\n');
    return 'ok';
  },
};

const escapeAll: ShellCommand = {
  name: 'escape_all',
  usage: '[true|false]',
  async run(state, words) {
    if (words.length > 1) return 'usage';
    const settings = settingsOf(state);
    if (!settings) return 'failed';
    if (words.length === 0) {
      state.io.err(`Current escape_all: ${settings.escapeAll}.\n`);
      return 'ok';
    }
    const value = parseBool(words[0]!);
    if (value === undefined) return (state.io.err('ERROR: invalid parameter.\n'), 'usage');
    settings.escapeAll = value;
    state.io.err('OK\n');
    return 'ok';
  },
};

export const RANGE_COMMANDS: readonly ShellCommand[] = [hash, multiGetRange, multiGetSortKeys, multiDelRange, checkAndMutate];
export const SESSION_COMMANDS: readonly ShellCommand[] = [escapeAll, timeout];
