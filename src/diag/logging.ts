// The process's log level as a flag: Pegasus's `[core] logging_start_level` (its LOG_LEVEL_*
// names, or pino's), read from config.ini and changed at run time by /updateConfig, the `logger`
// command of /api and the `reset-log-start-level` remote command, so /configs always shows the
// level the logger uses.
import { isLogLevel, setLogLevel, type LogLevel } from '../base/index.ts';
import { defineFlag, onFlagChange, setFlagFromText } from '../config/index.ts';

export const PEGASUS_LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  LOG_LEVEL_DEBUG: 'debug', LOG_LEVEL_INFO: 'info', LOG_LEVEL_WARNING: 'warn', LOG_LEVEL_ERROR: 'error', LOG_LEVEL_FATAL: 'fatal',
};

/** The logger's level for a Pegasus name (LOG_LEVEL_WARNING) or a pino one (warn), or undefined. */
export function logLevelOf(name: string): LogLevel | undefined {
  // Own keys only: `__proto__` or `constructor` must not name a level.
  return Object.hasOwn(PEGASUS_LOG_LEVELS, name) ? PEGASUS_LOG_LEVELS[name] : isLogLevel(name) ? name : undefined;
}

const environmentLevel = process.env.PTERON_LOG_LEVEL;

export const loggingStartLevel = defineFlag({
  section: 'core',
  name: 'logging_start_level',
  type: 'FV_STRING',
  // PTERON_LOG_LEVEL (the tests' quiet servers) is the start level where config.ini names none.
  default: environmentLevel !== undefined && logLevelOf(environmentLevel) ? environmentLevel : 'LOG_LEVEL_INFO',
  description: `Logs with level larger than or equal to this level be logged: ${Object.keys(PEGASUS_LOG_LEVELS).join(', ')}, or trace, debug, info, warn, error, fatal, silent`,
  mutable: true,
  updatableString: true,
  validator: (value) => logLevelOf(value) !== undefined,
});

onFlagChange(loggingStartLevel, (value) => setLogLevel(logLevelOf(String(value))!));

/** Changes the level through the flag; throws ERR_INVALID_PARAMETERS for an unknown name. */
export function changeLogLevel(name: string): void {
  setFlagFromText(loggingStartLevel.name, name);
}

/** The Pegasus name of a level given by either name, or undefined (trace, silent). */
export function pegasusLevelName(name: string): string | undefined {
  const level = logLevelOf(name);
  return Object.keys(PEGASUS_LOG_LEVELS).find((pegasusName) => PEGASUS_LOG_LEVELS[pegasusName] === level);
}

let levelAtStart: string | undefined;

/** Remembers the level config.ini gave, which `reset-log-start-level` without a level goes back to. */
export function recordLogStartLevel(): void {
  levelAtStart = loggingStartLevel.value;
}

export function logStartLevel(): string {
  return levelAtStart ?? loggingStartLevel.value;
}
