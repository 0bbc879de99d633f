// The shell's data commands on the table `use` chose: set, get, del, multi_set, multi_get,
// multi_del, incr, check_and_set, exist, ttl, count, hash_scan, full_scan and count_data, through the TypeScript client. Like Pegasus's shell they
// print their results and the answering replica (app_id, partition_index, decree, server) on
// stderr. A command whose operation failed reports 'failed', so scripted runs exit 1.
import { writeFileSync } from 'node:fs';
import { formatHostPort, multiTable, renderTableText } from '../../base/index.ts';
import {
  CasCheckType, createClient, emptyOperationInfo, FilterType, PegasusError, type OperationInfo, type PegasusClient, type PegasusScanner,
  type PegasusTable, type ScanEntry,
} from '../../client/index.ts';
import { parseInt32, type ParsedOptions } from './command-line.ts';
import { flag, metaListOf, options, param, requireCurrentApp, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';
import { quoted, wordBytes } from './data-format.ts';

/** The shell's operation timeout (Pegasus's shell default). */
const SHELL_DATA_TIMEOUT_MS = 5000;
/** How often count_data reports progress. */
export const PROGRESS_INTERVAL_MS = 1000;

// ---------------------------------------------------------------------------------------------
// the client behind a shell session

export interface DataSession {
  client: PegasusClient;
  timeoutMs: number;
  escapeAll: boolean;
}

const sessions = new WeakMap<ShellState, DataSession>();

/** Gives a shell session its data client (tests; `pteron shell` builds one from --meta itself). */
export function attachDataClient(state: ShellState, client: PegasusClient, timeoutMs = SHELL_DATA_TIMEOUT_MS): void {
  sessions.set(state, { client, timeoutMs, escapeAll: false });
}

export function dataSession(state: ShellState): DataSession | undefined {
  let session = sessions.get(state);
  if (session) return session;
  const metas = metaListOf(state);
  if (metas.length === 0) return undefined;
  session = { client: createClient({ metaServers: metas.map(formatHostPort), timeoutMs: SHELL_DATA_TIMEOUT_MS }), timeoutMs: SHELL_DATA_TIMEOUT_MS, escapeAll: false };
  sessions.set(state, session);
  return session;
}

/** Closes the session's data client, if one was opened; what it still had in flight fails. */
export async function closeDataSession(state: ShellState): Promise<void> {
  const session = sessions.get(state);
  sessions.delete(state);
  await session?.client.close();
}

/** What one operation is sent with: the session's timeout, where the client notes who answered, and Ctrl-C. */
interface OperationRequest {
  readonly timeoutMs: number;
  readonly info: OperationInfo;
  readonly signal: AbortSignal;
}

export interface DataContext {
  readonly state: ShellState;
  readonly table: PegasusTable;
  readonly session: DataSession;
  err(text: string): void;
  q(bytes: Uint8Array): string;
  /**
   * Runs one single-key or one-hash-key operation: prints its error name if it fails, then, either
   * way, the replica that answered (with the decree for writes), as Pegasus's shell does.
   */
  operation(withDecree: boolean, send: (request: OperationRequest) => Promise<void>): Promise<CommandResult>;
}

/**
 * Runs `body` on the current table: no table chosen prints the `use` hint, a table that cannot
 * be opened prints the error; both fail the command.
 */
export async function onTable(state: ShellState, body: (context: DataContext) => Promise<CommandResult>): Promise<CommandResult> {
  if (requireCurrentApp(state) === undefined) return 'failed';
  const session = dataSession(state);
  if (!session) {
    state.io.err(`get client error, app_name(${state.currentApp}): no meta server address\n`);
    return 'failed';
  }
  let table: PegasusTable;
  try {
    table = await session.client.openTable(state.currentApp, { timeoutMs: session.timeoutMs, signal: state.signal });
  } catch (error) {
    if (!(error instanceof PegasusError)) throw error;
    state.io.err(`ERROR: open table ${state.currentApp} failed: ${error.code}\n`);
    return 'failed';
  }
  const err = (text: string): void => state.io.err(text);
  const operation = async (withDecree: boolean, send: (request: OperationRequest) => Promise<void>): Promise<CommandResult> => {
    const info = emptyOperationInfo();
    let result: CommandResult = 'ok';
    try {
      await send({ timeoutMs: session.timeoutMs, info, signal: state.signal });
    } catch (error) {
      err(`ERROR: ${errorName(error)}\n`);
      result = 'failed';
    }
    err(infoBlock(info, withDecree));
    return result;
  };
  return body({ state, table, session, err, q: (bytes) => quoted(bytes, session.escapeAll), operation });
}

// ---------------------------------------------------------------------------------------------
// helpers

function infoBlock(info: OperationInfo, withDecree: boolean): string {
  return '\n'
    + `app_id          : ${info.appId}\n`
    + `partition_index : ${info.partitionIndex}\n`
    + (withDecree ? `decree          : ${info.decree}\n` : '')
    + `server          : ${info.server}\n`;
}

/** The error name of a failed operation; anything that is not a PegasusError is a bug and rethrown. */
export function errorName(error: unknown): string {
  if (error instanceof PegasusError) return error.code;
  throw error;
}

export function parseBool(text: string): boolean | undefined {
  const lowered = text.trim().toLowerCase();
  return lowered === 'true' ? true : lowered === 'false' ? false : undefined;
}

/** Filter names as the shell takes them; `exact` only where the reference accepts it. */
export function parseFilter(text: string, allowExact: boolean): FilterType | 'exact' | undefined {
  switch (text.trim().toLowerCase()) {
    case 'anywhere': return FilterType.FT_MATCH_ANYWHERE;
    case 'prefix': return FilterType.FT_MATCH_PREFIX;
    case 'postfix': return FilterType.FT_MATCH_POSTFIX;
    case 'exact': return allowExact ? 'exact' : undefined;
    default: return undefined;
  }
}

/** Whether a value passes a client-side value filter. */
export function valuePasses(type: FilterType | 'exact' | undefined, pattern: Buffer, value: Buffer): boolean {
  switch (type) {
    case undefined: return true;
    case 'exact': return value.equals(pattern);
    case FilterType.FT_MATCH_ANYWHERE: return pattern.length === 0 || value.includes(pattern);
    case FilterType.FT_MATCH_PREFIX: return value.subarray(0, pattern.length).equals(pattern);
    case FilterType.FT_MATCH_POSTFIX: return pattern.length <= value.length && value.subarray(value.length - pattern.length).equals(pattern);
    default: return true;
  }
}

export const CHECK_TYPES_BY_NAME: Readonly<Record<string, CasCheckType>> = {
  not_exist: CasCheckType.CT_VALUE_NOT_EXIST,
  not_exist_or_empty: CasCheckType.CT_VALUE_NOT_EXIST_OR_EMPTY,
  exist: CasCheckType.CT_VALUE_EXIST,
  not_empty: CasCheckType.CT_VALUE_NOT_EMPTY,
  match_anywhere: CasCheckType.CT_VALUE_MATCH_ANYWHERE,
  match_prefix: CasCheckType.CT_VALUE_MATCH_PREFIX,
  match_postfix: CasCheckType.CT_VALUE_MATCH_POSTFIX,
  bytes_less: CasCheckType.CT_VALUE_BYTES_LESS,
  bytes_less_or_equal: CasCheckType.CT_VALUE_BYTES_LESS_OR_EQUAL,
  bytes_equal: CasCheckType.CT_VALUE_BYTES_EQUAL,
  bytes_greater_or_equal: CasCheckType.CT_VALUE_BYTES_GREATER_OR_EQUAL,
  bytes_greater: CasCheckType.CT_VALUE_BYTES_GREATER,
  int_less: CasCheckType.CT_VALUE_INT_LESS,
  int_less_or_equal: CasCheckType.CT_VALUE_INT_LESS_OR_EQUAL,
  int_equal: CasCheckType.CT_VALUE_INT_EQUAL,
  int_greater_or_equal: CasCheckType.CT_VALUE_INT_GREATER_OR_EQUAL,
  int_greater: CasCheckType.CT_VALUE_INT_GREATER,
};

/** Unique sort keys in byte order (the reference collects them in a std::set). */
export function uniqueSorted(keys: readonly Buffer[]): Buffer[] {
  const byId = new Map<string, Buffer>();
  for (const key of keys) byId.set(key.toString('latin1'), key);
  return [...byId.values()].sort(Buffer.compare);
}

// ---------------------------------------------------------------------------------------------
// single records

const set: ShellCommand = {
  name: 'set',
  usage: '<hash_key> <sort_key> <value> [ttl_in_seconds]',
  async run(state, words) {
    if (words.length !== 3 && words.length !== 4) return 'usage';
    let ttl = 0;
    if (words.length === 4) {
      const parsed = parseInt32(words[3]!);
      if (parsed === undefined) {
        state.io.err(`ERROR: parse ${words[3]} as ttl failed\n`);
        return 'usage';
      }
      if (parsed <= 0) {
        state.io.err(`ERROR: invalid ttl ${words[3]}\n`);
        return 'usage';
      }
      ttl = parsed;
    }
    return onTable(state, async ({ table, err, operation }) => {
      return operation(true, async (request) => {
        await table.set(wordBytes(words[0]!), wordBytes(words[1]!), wordBytes(words[2]!), ttl, request);
        err('OK\n');
      });
    });
  },
};

const get: ShellCommand = {
  name: 'get',
  usage: '<hash_key> <sort_key>',
  async run(state, words) {
    if (words.length !== 2) return 'usage';
    return onTable(state, async ({ table, err, q, operation }) => {
      return operation(false, async (request) => {
        const value = await table.get(wordBytes(words[0]!), wordBytes(words[1]!), request);
        err(value === undefined ? 'Not found\n' : `${q(value)}\n`);
      });
    });
  },
};

const del: ShellCommand = {
  name: 'del',
  usage: '<hash_key> <sort_key>',
  async run(state, words) {
    if (words.length !== 2) return 'usage';
    return onTable(state, async ({ table, err, operation }) => {
      return operation(true, async (request) => {
        await table.del(wordBytes(words[0]!), wordBytes(words[1]!), request);
        err('OK\n');
      });
    });
  },
};

const exist: ShellCommand = {
  name: 'exist',
  usage: '<hash_key> <sort_key>',
  async run(state, words) {
    if (words.length !== 2) return 'usage';
    return onTable(state, async ({ table, err, operation }) => {
      return operation(false, async (request) => {
        err((await table.exist(wordBytes(words[0]!), wordBytes(words[1]!), request)) ? 'True\n' : 'False\n');
      });
    });
  },
};

const ttl: ShellCommand = {
  name: 'ttl',
  usage: '<hash_key> <sort_key>',
  async run(state, words) {
    if (words.length !== 2) return 'usage';
    return onTable(state, async ({ table, err, operation }) => {
      return operation(false, async (request) => {
        const seconds = await table.ttl(wordBytes(words[0]!), wordBytes(words[1]!), request);
        err(seconds === undefined ? 'Not found\n' : seconds === -1 ? 'Infinite\n' : `${seconds}\n`);
      });
    });
  },
};

const incr: ShellCommand = {
  name: 'incr',
  usage: '<hash_key> <sort_key> [increment]',
  async run(state, words) {
    if (words.length !== 2 && words.length !== 3) return 'usage';
    let increment = 1n;
    if (words.length === 3) {
      const text = words[2]!.trim();
      const parsed = /^[+-]?\d+$/.test(text) ? BigInt(text) : undefined;
      if (parsed === undefined || BigInt.asIntN(64, parsed) !== parsed) {
        state.io.err('ERROR: invalid increment param\n');
        return 'usage';
      }
      increment = parsed;
    }
    return onTable(state, async ({ table, err, operation }) => {
      return operation(true, async (request) => {
        err(`${await table.incr(wordBytes(words[0]!), wordBytes(words[1]!), increment, request)}\n`);
      });
    });
  },
};

const checkAndSet: ShellCommand = {
  name: 'check_and_set',
  usage: '<hash_key> [-c|--check_sort_key str] [-t|--check_type str] [-o|--check_operand str] [-s|--set_sort_key str] '
    + '[-v|--set_value str] [-l|--set_value_ttl_seconds num] [-r|--return_check_value]',
  async run(state, words) {
    const parsed = options(state, words, [
      param('c', 'check_sort_key'), param('t', 'check_type'), param('o', 'check_operand'), param('s', 'set_sort_key'),
      param('v', 'set_value'), param('l', 'set_value_ttl_seconds'), flag('r', 'return_check_value'),
    ]);
    if (!parsed || parsed.positionals.length !== 1) return 'usage';
    const typeName = parsed.options.get('check_type');
    const checkType = typeName === undefined ? undefined : CHECK_TYPES_BY_NAME[typeName.toLowerCase()];
    if (typeName !== undefined && checkType === undefined) {
      state.io.err('ERROR: invalid check_type param\n');
      return 'usage';
    }
    const ttlText = parsed.options.get('set_value_ttl_seconds');
    const ttlSeconds = ttlText === undefined ? 0 : parseInt32(ttlText);
    if (ttlSeconds === undefined || ttlSeconds < 0) {
      state.io.err('ERROR: invalid set_value_ttl_seconds param\n');
      return 'usage';
    }
    const missing = (what: string): CommandResult => {
      state.io.err(`ERROR: ${what} not provided\n`);
      return 'usage';
    };
    if (!parsed.options.has('check_sort_key')) return missing('check_sort_key');
    if (checkType === undefined) return missing('check_type');
    if (!parsed.options.has('check_operand') && checkType >= CasCheckType.CT_VALUE_MATCH_ANYWHERE) return missing('check_operand');
    if (!parsed.options.has('set_sort_key')) return missing('set_sort_key');
    if (!parsed.options.has('set_value')) return missing('set_value');
    const hashKey = wordBytes(parsed.positionals[0]!);
    const checkSortKey = wordBytes(parsed.options.get('check_sort_key')!);
    const checkOperand = wordBytes(parsed.options.get('check_operand') ?? '');
    const setSortKey = wordBytes(parsed.options.get('set_sort_key')!);
    const setValue = wordBytes(parsed.options.get('set_value')!);
    const returnCheckValue = parsed.options.has('return_check_value');
    return onTable(state, async ({ table, err, q, operation }) => {
      err(`hash_key: ${quoted(hashKey)}\n`);
      err(`check_sort_key: ${quoted(checkSortKey)}\n`);
      err(`check_type: ${typeName}\n`);
      if (checkType >= CasCheckType.CT_VALUE_MATCH_ANYWHERE) err(`check_operand: ${quoted(checkOperand)}\n`);
      err(`set_sort_key: ${quoted(setSortKey)}\n`);
      err(`set_value: ${quoted(setValue)}\n`);
      err(`set_value_ttl_seconds: ${ttlSeconds}\n`);
      err(`return_check_value: ${returnCheckValue}\n\n`);
      return operation(true, async (request) => {
        const outcome = await table.checkAndSet(hashKey, checkSortKey, checkType, checkOperand, setSortKey, setValue, {
          setValueTtlSeconds: ttlSeconds, returnCheckValue, ...request,
        });
        err(outcome.setSucceed ? 'Set succeed.\n' : 'Set failed, because check not passed.\n');
        if (outcome.checkValueReturned) {
          err('\n');
          err(outcome.checkValueExist && outcome.checkValue ? `Check value: ${q(outcome.checkValue)}\n` : 'Check value not exist.\n');
        }
      });
    });
  },
};

// ---------------------------------------------------------------------------------------------
// one hash key

const multiSet: ShellCommand = {
  name: 'multi_set',
  usage: '<hash_key> <sort_key> <value> [sort_key value...]',
  async run(state, words) {
    if (words.length < 3 || words.length % 2 === 0) return 'usage';
    const kvs = new Map<string, { sortKey: Buffer; value: Buffer }>();
    for (let index = 1; index < words.length; index += 2) {
      const sortKey = wordBytes(words[index]!);
      const id = sortKey.toString('latin1');
      if (kvs.has(id)) {
        state.io.err(`ERROR: duplicate sort key ${words[index]}\n`);
        return 'failed';
      }
      kvs.set(id, { sortKey, value: wordBytes(words[index + 1]!) });
    }
    return onTable(state, async ({ table, err, operation }) => {
      return operation(true, async (request) => {
        await table.multiSet(wordBytes(words[0]!), [...kvs.values()], 0, request);
        err('OK\n');
      });
    });
  },
};

const multiGet: ShellCommand = {
  name: 'multi_get',
  usage: '<hash_key> [sort_key...]',
  async run(state, words) {
    if (words.length < 1) return 'usage';
    const hashKey = wordBytes(words[0]!);
    const sortKeys = uniqueSorted(words.slice(1).map(wordBytes));
    return onTable(state, async ({ table, err, q, operation }) => {
      return operation(false, async (request) => {
        const read = await table.multiGet(hashKey, sortKeys, { maxKvCount: -1, maxKvSize: -1, ...request });
        for (const kv of read.kvs) err(`${q(hashKey)} : ${q(kv.sortKey)} => ${q(kv.value)}\n`);
        err(`\n${read.kvs.length} key-value pairs got, fetch ${read.allFetched ? 'completed' : 'not completed'}.\n`);
      });
    });
  },
};

const multiDel: ShellCommand = {
  name: 'multi_del',
  usage: '<hash_key> <sort_key> [sort_key...]',
  async run(state, words) {
    if (words.length < 2) return 'usage';
    const sortKeys = uniqueSorted(words.slice(1).map(wordBytes));
    return onTable(state, async ({ table, err, operation }) => {
      return operation(true, async (request) => {
        const count = await table.multiDel(wordBytes(words[0]!), sortKeys, request);
        err(`${count} key-value pairs deleted.\n`);
      });
    });
  },
};

const count: ShellCommand = {
  name: 'count',
  usage: '<hash_key>',
  async run(state, words) {
    if (words.length !== 1) return 'usage';
    return onTable(state, async ({ table, err, operation }) => {
      return operation(false, async (request) => {
        const total = await table.sortKeyCount(wordBytes(words[0]!), request);
        err(total === -1 ? 'ERROR: it takes too long to count sortkey\n' : `${total}\n`);
      });
    });
  },
};

// ---------------------------------------------------------------------------------------------
// scans

interface ScanPrintOptions {
  maxCount: number;
  detailed: boolean;
  noValue: boolean;
  valueFilterType: FilterType | 'exact' | undefined;
  valueFilterPattern: Buffer;
  /** full_scan's `exact` sort-key filter: sent as a prefix filter, the length checked here. */
  exactSortKeyLength: number | undefined;
}

/** Prints a scanner's records until done or `budget.left` runs out; returns the error name, if any. */
async function printScan(
  scanner: PegasusScanner, print: ScanPrintOptions, budget: { printed: number }, line: (text: string) => void, q: (bytes: Uint8Array) => string,
): Promise<string | undefined> {
  try {
    while (print.maxCount <= 0 || budget.printed < print.maxCount) {
      const entry: ScanEntry | undefined = await scanner.next();
      if (!entry) return undefined;
      if (print.exactSortKeyLength !== undefined && entry.sortKey.length > print.exactSortKeyLength) continue;
      if (!valuePasses(print.valueFilterType, print.valueFilterPattern, entry.value)) continue;
      let text = `${q(entry.hashKey)} : ${q(entry.sortKey)}`;
      if (!print.noValue) text += ` => ${q(entry.value)}`;
      if (print.detailed) {
        const info = scanner.info ?? emptyOperationInfo();
        text += ` {app_id=${info.appId}, partition_index=${info.partitionIndex}, server=${info.server}}`;
      }
      line(`${text}\n`);
      budget.printed++;
    }
    return undefined;
  } catch (error) {
    const name = errorName(error);
    const info = scanner.info ?? emptyOperationInfo();
    return `${name} {app_id=${info.appId}, partition_index=${info.partitionIndex}, server=${info.server}}`;
  } finally {
    await scanner.close();
  }
}

/** Where scan output goes: stderr, or a file written at the end (`-o`). */
interface ScanOutput {
  line(text: string): void;
  /** Closes the output; false when the file could not be written. */
  finish(): boolean;
}

function scanOutput(state: ShellState, file: string | undefined): ScanOutput {
  if (file === undefined) return { line: (text) => state.io.err(text), finish: () => true };
  const lines: string[] = [];
  return {
    line: (text) => void lines.push(text),
    finish: () => {
      try {
        writeFileSync(file, lines.join(''));
        return true;
      } catch (error) {
        state.io.err(`ERROR: write ${file} failed: ${(error as Error).message}\n`);
        return false;
      }
    },
  };
}

const SCAN_OPTION_SPECS = [
  flag('d', 'detailed'), param('n', 'max_count'), param('t', 'timeout_ms'), param('o', 'output'),
  param('s', 'sort_key_filter_type'), param('y', 'sort_key_filter_pattern'), param('v', 'value_filter_type'), param('z', 'value_filter_pattern'),
  flag('i', 'no_value'),
];

interface CommonScanOptions {
  maxCount: number;
  timeoutMs: number;
  detailed: boolean;
  noValue: boolean;
  output: string | undefined;
  sortFilterName: string | undefined;
  sortFilter: FilterType | 'exact' | undefined;
  sortPattern: Buffer;
  valueFilterName: string | undefined;
  valueFilter: FilterType | 'exact' | undefined;
  valuePattern: Buffer;
}

function commonScanOptions(state: ShellState, parsed: ParsedOptions, allowExactSortKey: boolean): CommonScanOptions | undefined {
  const session = dataSession(state);
  const maxText = parsed.options.get('max_count');
  const maxCount = maxText === undefined ? -1 : parseInt32(maxText);
  if (maxCount === undefined) return void state.io.err(`ERROR: parse ${maxText} as max_count failed\n`);
  const timeoutText = parsed.options.get('timeout_ms');
  const timeoutMs = timeoutText === undefined ? (session?.timeoutMs ?? SHELL_DATA_TIMEOUT_MS) : parseInt32(timeoutText);
  if (timeoutMs === undefined || timeoutMs <= 0) return void state.io.err(`ERROR: parse ${timeoutText} as timeout_ms failed\n`);
  const sortFilterName = parsed.options.get('sort_key_filter_type');
  const sortFilter = sortFilterName === undefined ? undefined : parseFilter(sortFilterName, allowExactSortKey);
  if (sortFilterName !== undefined && sortFilter === undefined) return void state.io.err('ERROR: invalid sort_key_filter_type param\n');
  const valueFilterName = parsed.options.get('value_filter_type');
  const valueFilter = valueFilterName === undefined ? undefined : parseFilter(valueFilterName, true);
  if (valueFilterName !== undefined && valueFilter === undefined) return void state.io.err('ERROR: invalid value_filter_type param\n');
  const noValue = parsed.options.has('no_value');
  if (valueFilter !== undefined && noValue) return void state.io.err('ERROR: no_value should not be set when value_filter_type is set\n');
  return {
    maxCount, timeoutMs, detailed: parsed.options.has('detailed'), noValue, output: parsed.options.get('output'),
    sortFilterName, sortFilter, sortPattern: wordBytes(parsed.options.get('sort_key_filter_pattern') ?? ''),
    valueFilterName, valueFilter, valuePattern: wordBytes(parsed.options.get('value_filter_pattern') ?? ''),
  };
}

function printScanParameters(state: ShellState, common: CommonScanOptions): void {
  const err = (text: string): void => state.io.err(text);
  err(`sort_key_filter_type: ${common.sortFilterName ?? 'no_filter'}\n`);
  if (common.sortFilter !== undefined) err(`sort_key_filter_pattern: ${quoted(common.sortPattern)}\n`);
  err(`value_filter_type: ${common.valueFilterName ?? 'no_filter'}\n`);
  if (common.valueFilter !== undefined) err(`value_filter_pattern: ${quoted(common.valuePattern)}\n`);
  err(`max_count: ${common.maxCount}\n`);
  // The reference prints this label with its typo.
  err(`timout_ms: ${common.timeoutMs}\n`);
  err(`detailed: ${common.detailed}\n`);
  err(`no_value: ${common.noValue}\n\n`);
}

/**
 * After a scan: closes its output, repeats the error on stderr when records went to a file, and
 * prints how many records were got.
 */
function finishScan(state: ShellState, output: ScanOutput, common: CommonScanOptions, printed: number, failure: string | undefined): CommandResult {
  const written = output.finish();
  if (failure !== undefined && common.output !== undefined) state.io.err(`ERROR: ${failure}\n`);
  if (common.output === undefined && printed > 0) state.io.err('\n');
  state.io.err(`${printed} key-value pairs got.\n`);
  return failure === undefined && written ? 'ok' : 'failed';
}

const hashScan: ShellCommand = {
  name: 'hash_scan',
  usage: '<hash_key> <start_sort_key> <stop_sort_key> [-a|--start_inclusive true|false] [-b|--stop_inclusive true|false] '
    + '[-s|--sort_key_filter_type anywhere|prefix|postfix] [-y|--sort_key_filter_pattern str] '
    + '[-v|--value_filter_type anywhere|prefix|postfix|exact] [-z|--value_filter_pattern str] [-o|--output file_name] '
    + '[-n|--max_count num] [-t|--timeout_ms num] [-d|--detailed] [-i|--no_value]',
  async run(state, words) {
    const parsed = options(state, words, [...SCAN_OPTION_SPECS, param('a', 'start_inclusive'), param('b', 'stop_inclusive')]);
    if (!parsed || parsed.positionals.length !== 3) return 'usage';
    const common = commonScanOptions(state, parsed, false);
    if (!common) return 'usage';
    const startInclusive = parseBool(parsed.options.get('start_inclusive') ?? 'true');
    const stopInclusive = parseBool(parsed.options.get('stop_inclusive') ?? 'false');
    if (startInclusive === undefined) return (state.io.err('ERROR: invalid start_inclusive param\n'), 'usage');
    if (stopInclusive === undefined) return (state.io.err('ERROR: invalid stop_inclusive param\n'), 'usage');
    const [hashKey, start, stop] = parsed.positionals.map(wordBytes) as [Buffer, Buffer, Buffer];
    return onTable(state, async ({ table, err, q }) => {
      err(`hash_key: ${quoted(hashKey)}\n`);
      err(`start_sort_key: ${quoted(start)}\n`);
      err(`start_inclusive: ${startInclusive}\n`);
      err(`stop_sort_key: ${quoted(stop)}\n`);
      err(`stop_inclusive: ${stopInclusive}\n`);
      printScanParameters(state, common);
      const output = scanOutput(state, common.output);
      const budget = { printed: 0 };
      let failure: string | undefined;
      try {
        const scanner = table.getScanner(hashKey, start, stop, {
          startInclusive, stopInclusive, noValue: common.noValue, timeoutMs: common.timeoutMs, signal: state.signal,
          sortKeyFilter: common.sortFilter === undefined || common.sortFilter === 'exact' ? undefined : { type: common.sortFilter, pattern: common.sortPattern },
        });
        failure = await printScan(scanner, {
          maxCount: common.maxCount, detailed: common.detailed, noValue: common.noValue,
          valueFilterType: common.valueFilter, valueFilterPattern: common.valuePattern, exactSortKeyLength: undefined,
        }, budget, output.line, q);
        if (failure !== undefined) output.line(`ERROR: ${failure}\n`);
      } catch (error) {
        failure = errorName(error);
        output.line(`ERROR: get scanner failed: ${failure}\n`);
      }
      return finishScan(state, output, common, budget.printed, failure);
    });
  },
};

const fullScan: ShellCommand = {
  name: 'full_scan',
  usage: '[-h|--hash_key_filter_type anywhere|prefix|postfix] [-x|--hash_key_filter_pattern str] '
    + '[-s|--sort_key_filter_type anywhere|prefix|postfix|exact] [-y|--sort_key_filter_pattern str] '
    + '[-v|--value_filter_type anywhere|prefix|postfix|exact] [-z|--value_filter_pattern str] [-o|--output file_name] '
    + '[-n|--max_count num] [-t|--timeout_ms num] [-p|--partition num] [-d|--detailed] [-i|--no_value]',
  async run(state, words) {
    const parsed = options(state, words, [
      ...SCAN_OPTION_SPECS, param('p', 'partition'), param('h', 'hash_key_filter_type'), param('x', 'hash_key_filter_pattern'),
    ]);
    if (!parsed || parsed.positionals.length !== 0) return 'usage';
    const common = commonScanOptions(state, parsed, true);
    if (!common) return 'usage';
    const partitionText = parsed.options.get('partition');
    const partition = partitionText === undefined ? -1 : parseInt32(partitionText);
    if (partition === undefined) return (state.io.err(`ERROR: parse ${partitionText} as partition id failed\n`), 'usage');
    if (partitionText !== undefined && partition < 0) return (state.io.err('ERROR: invalid partition param, should > 0\n'), 'usage');
    const hashFilterName = parsed.options.get('hash_key_filter_type');
    const hashFilter = hashFilterName === undefined ? undefined : parseFilter(hashFilterName, false);
    if (hashFilterName !== undefined && (hashFilter === undefined || hashFilter === 'exact')) {
      return (state.io.err('ERROR: invalid hash_key_filter_type param\n'), 'usage');
    }
    const hashPattern = wordBytes(parsed.options.get('hash_key_filter_pattern') ?? '');
    return onTable(state, async ({ table, err, q }) => {
      err(`partition: ${partition >= 0 ? partition : 'all'}\n`);
      err(`hash_key_filter_type: ${hashFilterName ?? 'no_filter'}\n`);
      if (hashFilter !== undefined) err(`hash_key_filter_pattern: ${quoted(hashPattern)}\n`);
      printScanParameters(state, common);
      const output = scanOutput(state, common.output);
      const budget = { printed: 0 };
      let failure: string | undefined;
      try {
        // One scanner per partition, in partition order.
        const scanners = await table.getUnorderedScanners(10_000, {
          noValue: common.noValue, timeoutMs: common.timeoutMs, signal: state.signal,
          hashKeyFilter: hashFilter === undefined ? undefined : { type: hashFilter as FilterType, pattern: hashPattern },
          sortKeyFilter: common.sortFilter === undefined ? undefined
            : { type: common.sortFilter === 'exact' ? FilterType.FT_MATCH_PREFIX : common.sortFilter, pattern: common.sortPattern },
        });
        if (partition >= scanners.length) {
          failure = 'ERR_INVALID_PARAMETERS';
          output.line(`ERROR: partition ${partition} out of range, should be in range of [0,${scanners.length - 1}]\n`);
        } else {
          for (const [index, scanner] of scanners.entries()) {
            if (partition >= 0 && index !== partition) continue;
            const scanFailure = await printScan(scanner, {
              maxCount: common.maxCount, detailed: common.detailed, noValue: common.noValue,
              valueFilterType: common.valueFilter, valueFilterPattern: common.valuePattern,
              exactSortKeyLength: common.sortFilter === 'exact' ? common.sortPattern.length : undefined,
            }, budget, output.line, q);
            if (scanFailure !== undefined) {
              failure = scanFailure;
              output.line(`ERROR: ${scanFailure}\n`);
            }
          }
        }
      } catch (error) {
        failure = errorName(error);
        output.line(`ERROR: ${failure}\n`);
      }
      return finishScan(state, output, common, budget.printed, failure);
    });
  },
};

const countData: ShellCommand = {
  name: 'count_data',
  usage: '[-c|--precise] [-p|--partition num] [-b|--max_batch_count num] [-t|--timeout_ms num] '
    + '[-h|--hash_key_filter_type anywhere|prefix|postfix] [-x|--hash_key_filter_pattern str] '
    + '[-s|--sort_key_filter_type anywhere|prefix|postfix|exact] [-y|--sort_key_filter_pattern str] '
    + '[-v|--value_filter_type anywhere|prefix|postfix|exact] [-z|--value_filter_pattern str] [-d|--diff_hash_key] '
    + '[-r|--run_seconds num]',
  async run(state, words) {
    const parsed = options(state, words, [
      flag('c', 'precise'), param('p', 'partition'), param('b', 'max_batch_count'), param('t', 'timeout_ms'),
      param('h', 'hash_key_filter_type'), param('x', 'hash_key_filter_pattern'), param('s', 'sort_key_filter_type'),
      param('y', 'sort_key_filter_pattern'), param('v', 'value_filter_type'), param('z', 'value_filter_pattern'),
      flag('d', 'diff_hash_key'), param('r', 'run_seconds'),
    ]);
    if (!parsed || parsed.positionals.length !== 0) return 'usage';
    const precise = parsed.options.has('precise');
    // Like the reference: any other option asks for a precise count, which needs -c.
    if (!precise && parsed.options.size > 0) {
      state.io.err('ERROR: you must input [-c|-pricise] flag when you expect to get pricise result by scaning all record online\n');
      return 'usage';
    }
    const number = (name: string, fallback: number): number | undefined => {
      const text = parsed.options.get(name);
      return text === undefined ? fallback : parseInt32(text);
    };
    const partition = number('partition', -1);
    const maxBatchCount = number('max_batch_count', 500);
    const session = dataSession(state);
    const timeoutMs = number('timeout_ms', session?.timeoutMs ?? SHELL_DATA_TIMEOUT_MS);
    const runSeconds = number('run_seconds', 0);
    if (partition === undefined || (parsed.options.has('partition') && partition < 0)) return (state.io.err('ERROR: partition should be greater than 0\n'), 'usage');
    if (maxBatchCount === undefined || maxBatchCount <= 1) return (state.io.err('ERROR: max_batch_count should be greater than 1\n'), 'usage');
    if (timeoutMs === undefined || timeoutMs <= 0) return (state.io.err('ERROR: timeout_ms should be greater than 0\n'), 'usage');
    if (runSeconds === undefined || runSeconds < 0) return (state.io.err('ERROR: run_seconds should be no less than 0\n'), 'usage');
    const filterOf = (name: string, allowExact: boolean): { name: string | undefined; type: FilterType | 'exact' | undefined; bad: boolean } => {
      const text = parsed.options.get(name);
      const type = text === undefined ? undefined : parseFilter(text, allowExact);
      return { name: text, type, bad: text !== undefined && type === undefined };
    };
    const hashFilter = filterOf('hash_key_filter_type', false);
    const sortFilter = filterOf('sort_key_filter_type', true);
    const valueFilter = filterOf('value_filter_type', true);
    if (hashFilter.bad) return (state.io.err('ERROR: invalid hash_key_filter_type param\n'), 'usage');
    if (sortFilter.bad) return (state.io.err('ERROR: invalid sort_key_filter_type param\n'), 'usage');
    if (valueFilter.bad) return (state.io.err('ERROR: invalid value_filter_type param\n'), 'usage');
    const hashPattern = wordBytes(parsed.options.get('hash_key_filter_pattern') ?? '');
    const sortPattern = wordBytes(parsed.options.get('sort_key_filter_pattern') ?? '');
    const valuePattern = wordBytes(parsed.options.get('value_filter_pattern') ?? '');
    const diffHashKey = parsed.options.has('diff_hash_key');
    return onTable(state, async ({ table, err }) => {
      if (!precise) return estimateCounts(state, table, timeoutMs);
      err(`INFO: cluster_name = ${metaListOf(state).map(formatHostPort).join(',')}\n`);
      err(`INFO: app_name = ${table.name}\n`);
      err(`INFO: partition = ${partition >= 0 ? partition : 'all'}\n`);
      err(`INFO: max_batch_count = ${maxBatchCount}\n`);
      err(`INFO: timeout_ms = ${timeoutMs}\n`);
      err(`INFO: hash_key_filter_type = ${hashFilter.name ?? 'no_filter'}\n`);
      if (hashFilter.type !== undefined) err(`INFO: hash_key_filter_pattern = ${quoted(hashPattern)}\n`);
      err(`INFO: sort_key_filter_type = ${sortFilter.name ?? 'no_filter'}\n`);
      if (sortFilter.type !== undefined) err(`INFO: sort_key_filter_pattern = ${quoted(sortPattern)}\n`);
      err(`INFO: value_filter_type = ${valueFilter.name ?? 'no_filter'}\n`);
      if (valueFilter.type !== undefined) err(`INFO: value_filter_pattern = ${quoted(valuePattern)}\n`);
      err(`INFO: diff_hash_key = ${diffHashKey}\n`);
      err('INFO: stat_size = false\n');
      err('INFO: top_count = 0\n');
      err(`INFO: run_seconds = ${runSeconds}\n`);
      let scanners: PegasusScanner[];
      try {
        scanners = await table.getUnorderedScanners(0x7fffffff, {
          batchSize: maxBatchCount, timeoutMs, signal: state.signal, noValue: valueFilter.type === undefined,
          hashKeyFilter: hashFilter.type === undefined ? undefined : { type: hashFilter.type as FilterType, pattern: hashPattern },
          sortKeyFilter: sortFilter.type === undefined ? undefined
            : { type: sortFilter.type === 'exact' ? FilterType.FT_MATCH_PREFIX : sortFilter.type, pattern: sortPattern },
        });
      } catch (error) {
        err(`ERROR: open app scanner failed: ${errorName(error)}\n`);
        return 'failed';
      }
      err(`INFO: open app scanner succeed, partition_count = ${scanners.length}\n`);
      if (partition >= 0) {
        if (partition >= scanners.length) {
          err(`ERROR: invalid partition param: ${partition}\n`);
          return 'failed';
        }
        scanners = [scanners[partition]!];
      }
      err(`INFO: prepare scanners succeed, split_count = ${scanners.length}\n`);
      const splits = scanners.map(() => ({ rows: 0, hashKeys: 0, done: false, lastHashKey: undefined as Buffer | undefined }));
      let stop: 'error' | 'time' | undefined;
      const exactLength = sortFilter.type === 'exact' ? sortPattern.length : undefined;
      const work = Promise.all(scanners.map(async (scanner, index) => {
        const split = splits[index]!;
        try {
          while (stop === undefined) {
            const entry = await scanner.next();
            if (!entry) break;
            if (exactLength !== undefined && entry.sortKey.length > exactLength) continue;
            if (!valuePasses(valueFilter.type, valuePattern, entry.value)) continue;
            split.rows++;
            if (diffHashKey && !(split.lastHashKey && split.lastHashKey.equals(entry.hashKey))) {
              split.hashKeys++;
              split.lastHashKey = Buffer.from(entry.hashKey);
            }
          }
        } catch (error) {
          errorName(error);
          stop ??= 'error';
        } finally {
          split.done = true;
          await scanner.close();
        }
      }));
      let finished = false;
      void work.then(() => (finished = true));
      const started = Date.now();
      let lastRows = 0;
      for (let tick = 1; ; tick++) {
        await Promise.race([work, state.sleep(PROGRESS_INTERVAL_MS)]);
        const seconds = Math.max(1, Math.ceil((Date.now() - started) / 1000));
        if (runSeconds > 0 && seconds >= runSeconds && stop === undefined && !finished) stop = 'time';
        const done = splits.filter((split) => split.done).length;
        const rows = splits.reduce((sum, split) => sum + split.rows, 0);
        const hashKeys = diffHashKey ? ` (${splits.reduce((sum, split) => sum + split.hashKeys, 0)} hash keys)` : '';
        const suffix = stop === 'error' ? ', error occurred, terminating...' : '';
        err(`INFO: processed for ${seconds} seconds, (${done}/${splits.length}) splits, total ${rows} rows${hashKeys}, last second ${rows - lastRows} rows${suffix}\n`);
        lastRows = rows;
        if (done === splits.length || tick > 1_000_000) break;
      }
      await work;
      if (stop === 'time') err('INFO: reached run seconds, terminate processing\n');
      if (stop === 'error') err('ERROR: error occurred, terminate processing\n');
      let total = 0;
      let totalHashKeys = 0;
      splits.forEach((split, index) => {
        total += split.rows;
        totalHashKeys += split.hashKeys;
        err(`INFO: split[${partition >= 0 ? partition : index}]: ${split.rows} rows${diffHashKey ? ` (${split.hashKeys} hash keys)` : ''}\n`);
      });
      const description = stop === 'time' ? 'terminated as run time used out' : stop === 'error' ? 'terminated as error occurred' : 'done';
      err(`Count ${description}, total ${total} rows.${diffHashKey ? ` (${totalHashKeys} hash keys)` : ''}\n`);
      return stop === 'error' ? 'failed' : 'ok';
    });
  },
};

/**
 * count_data without -c: the reference reads each replica's estimated key count from its
 * metrics. Here every partition is counted by a key-only scan, printed in the same table.
 */
async function estimateCounts(state: ShellState, table: PegasusTable, timeoutMs: number): Promise<CommandResult> {
  let scanners: PegasusScanner[];
  try {
    scanners = await table.getUnorderedScanners(0x7fffffff, { noValue: true, timeoutMs, signal: state.signal });
  } catch (error) {
    state.io.err(`ERROR: query app stat from server failed: ${errorName(error)}\n`);
    return 'failed';
  }
  const counts = new Array<number>(scanners.length).fill(0);
  try {
    await Promise.all(scanners.map(async (scanner, index) => {
      try {
        while (await scanner.next()) counts[index]!++;
      } finally {
        await scanner.close();
      }
    }));
  } catch (error) {
    state.io.err(`ERROR: query app stat from server failed: ${errorName(error)}\n`);
    return 'failed';
  }
  const rows = counts.map((value, index) => [String(index), String(value)]);
  rows.push([`(total:${counts.length})`, String(counts.reduce((sum, value) => sum + value, 0))]);
  state.io.out(renderTableText(multiTable('count_data', ['pidx', 'estimate_count'], rows)));
  return 'ok';
}

export const DATA_COMMANDS: readonly ShellCommand[] = [
  set, multiSet, get, multiGet, del, multiDel, incr, checkAndSet, exist, count, ttl, hashScan, fullScan, countData,
];
