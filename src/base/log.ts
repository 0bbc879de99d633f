// One structured logger per process: JSON lines on stdout, or one readable line each with
// `--pretty`. The process binds who it is (role, name, address) once at start, so every line of
// every module carries them, child loggers included; a component that wants its own fields takes `log.child({...})`.
// An error goes under `err`, as an Error or as its message: both print as `{ type, message, stack? }`.
import { pino, type Logger } from 'pino';
import { PteronError } from './errors.ts';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/** The same shape for an error whether the caller logged the Error or only its message. */
function serializeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { type: error.name, message: error.message, ...(code === undefined ? {} : { code }), ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { type: 'Error', message: String(error) };
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields a pretty line shows in its own columns rather than as key=value. */
const PRETTY_COLUMNS = new Set(['level', 'time', 'msg', 'pid', 'role', 'name', 'address']);

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && 'message' in value && 'type' in value) {
    const error = value as { message: unknown; stack?: unknown };
    return typeof error.stack === 'string' ? `\n    ${error.stack.replace(/\n/g, '\n    ')}` : JSON.stringify(error.message);
  }
  return JSON.stringify(value);
}

/** One JSON log line as a person reads it: `time LEVEL name address message key=value...`. */
export function formatPrettyLine(jsonLine: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const level = (LEVEL_NAMES[entry.level as number] ?? String(entry.level)).padEnd(5);
  const who = [entry.name ?? entry.role, entry.address].filter((part) => part !== undefined).join(' ');
  const fields = Object.entries(entry)
    .filter(([key]) => !PRETTY_COLUMNS.has(key))
    .map(([key, value]) => `${key}=${prettyValue(value)}`);
  return `${[time, level, who, entry.msg ?? '', ...fields].filter((part) => part !== '').join(' ')}\n`;
}

const jsonOut = pino.destination({ dest: 1, sync: true });
let pretty = false;

/** Where pino writes: stdout as JSON, or through formatPrettyLine once `usePrettyLogs()` was called. */
const output = {
  write(line: string): void {
    if (pretty) process.stdout.write(formatPrettyLine(line));
    else jsonOut.write(line);
  },
  flush(): void {
    jsonOut.flush();
  },
};

const startLevel = process.env.PTERON_LOG_LEVEL ?? 'info';

/** Who this process is; a mixin rather than bindings, so child loggers made before the identity was known (or before the port was bound) carry it too. */
let identity: { role: string; name: string; address: string } | undefined;

export const log: Logger = pino(
  {
    level: isLogLevel(startLevel) ? startLevel : 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError },
    mixin: () => identity ?? {},
  },
  output,
);

export function usePrettyLogs(): void {
  pretty = true;
}

export function logFormat(): 'json' | 'pretty' {
  return pretty ? 'pretty' : 'json';
}

/** Binds the process's identity to the logger: every line from here on carries it. */
export function bindLogIdentity(who: { role: string; name: string; address: string }): void {
  identity = who;
}

export function setLogLevel(level: string): void {
  if (!isLogLevel(level)) throw new PteronError('ERR_INVALID_PARAMETERS', `unknown log level "${level}"; expected one of ${LOG_LEVELS.join(', ')}`);
  log.level = level;
}
