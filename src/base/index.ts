export { ERROR_NAMES, PteronError, assert } from './errors.ts';
export type { ErrorName } from './errors.ts';
export { formatLocalTime } from './time.ts';
export {
  bindLogIdentity, formatPrettyLine, logFormat, isLogLevel, log, LOG_LEVELS, setLogLevel, usePrettyLogs, type Logger, type LogLevel,
} from './log.ts';
export * from './crc64.ts';
export * from './gpid.ts';
export * from './host-port.ts';
export * from './table-printer.ts';
