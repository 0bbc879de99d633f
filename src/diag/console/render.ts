// Turns the result objects of a command session into terminal text (CRLF line ends, a few ANSI
// colours). Known result types get a compact layout; anything else is printed field by field,
// with arrays of flat objects laid out as tables.
import type { Result } from '../results.ts';

const RED = '\x1b[31m';
const BOLD = '\x1b[1m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
/** Clears the screen and homes the cursor: each dashboard refresh redraws it. */
export const CLEAR_SCREEN = '\x1b[2J\x1b[H';

const HIDDEN_FIELDS = new Set(['type', 'jobId']);

function scalar(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function isFlat(value: unknown): value is Record<string, unknown> {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) &&
    Object.values(value).every((field) => field === null || typeof field !== 'object')
  );
}

function table(rows: Array<Record<string, unknown>>, indent: string): string[] {
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const cells = rows.map((row) => columns.map((column) => scalar(row[column])));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => line[index]!.length)));
  const format = (line: string[]): string => indent + line.map((cell, index) => cell.padEnd(widths[index]!)).join('  ').trimEnd();
  return [BOLD + format(columns.map((column) => column.toUpperCase())) + RESET, ...cells.map(format)];
}

function fieldLines(key: string, value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}${key}: (none)`];
    if (value.every(isFlat)) return [`${indent}${key}:`, ...table(value, indent + '  ')];
    if (value.every((item) => item === null || typeof item !== 'object')) {
      return [`${indent}${key}:`, ...value.map((item) => `${indent}  ${scalar(item)}`)];
    }
    return [`${indent}${key}:`, ...value.flatMap((item, index) => fieldLines(`[${index}]`, item, indent + '  '))];
  }
  if (value !== null && typeof value === 'object') {
    return [`${indent}${key}:`, ...Object.entries(value).flatMap(([name, field]) => fieldLines(name, field, indent + '  '))];
  }
  return [`${indent}${key}: ${scalar(value)}`];
}

function genericLines(result: Result): string[] {
  return Object.entries(result)
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .flatMap(([key, value]) => fieldLines(key, value, ''));
}

function helpLines(result: Result): string[] {
  const commands = result.commands as Array<Record<string, unknown>> | undefined;
  if (commands) {
    return table(commands.map((command) => ({ name: command.name, description: command.summary ?? command.description })), '');
  }
  return genericLines(result);
}

/** The text for one result, or undefined when it prints nothing (stream bookkeeping). */
export function renderResult(result: Result): string | undefined {
  let lines: string[];
  switch (result.type) {
    case 'input_status':
      return undefined;
    case 'command':
      if (result.state !== 'FAILED') return undefined;
      lines = [RED + scalar(result.message) + RESET];
      break;
    case 'message':
      lines = [scalar(result.message)];
      break;
    case 'version':
      lines = [scalar(result.version)];
      break;
    case 'status':
      if (result.statusCode === 0 || result.message === undefined) return undefined;
      lines = [RED + scalar(result.message) + RESET];
      break;
    case 'welcome':
      lines = [
        `${DIM}version ${scalar(result.version)}  pid ${scalar(result.pid)}  ${scalar(result.mainClass)}  ${scalar(result.time)}${RESET}`,
        `${DIM}Type 'help' for the commands; Ctrl-C interrupts the running one.${RESET}`,
      ];
      break;
    case 'help':
      lines = helpLines(result);
      break;
    case 'history': {
      const history = (result.history as string[] | undefined) ?? [];
      lines = history.map((line, index) => `${String(index + 1).padStart(5)}  ${line}`);
      break;
    }
    case 'dashboard':
      return `${CLEAR_SCREEN}${BOLD}dashboard${RESET} ${DIM}${new Date().toISOString()}  (Ctrl-C to stop)${RESET}\r\n` +
        genericLines(result).join('\r\n') + '\r\n';
    default:
      lines = genericLines(result);
  }
  return lines.map((line) => line.replace(/\r?\n/g, '\r\n')).join('\r\n') + '\r\n';
}
