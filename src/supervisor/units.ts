// Text forms of durations, sizes and rates in the manifest. Pure functions: they return a value
// or a message saying what was expected, and the manifest reader adds the file and line.

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** `500ms`, `10s`, `1m30s`, `2h`; `0` alone is zero. A bare number is refused: its unit is unclear. */
export function parseDuration(text: string): Parsed<number> {
  const trimmed = text.trim();
  if (trimmed === '0') return { ok: true, value: 0 };
  const expected = `expected a duration such as 500ms, 10s, 1m or 1m30s, got "${text}"`;
  if (trimmed === '') return { ok: false, message: expected };
  let totalMs = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < trimmed.length) {
    const match = DURATION_PART.exec(trimmed);
    if (!match) return { ok: false, message: expected };
    totalMs += Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  }
  return { ok: true, value: Math.round(totalMs) };
}

/** `never` (or `off`) is "no limit": undefined. */
export function parseOptionalDuration(text: string): Parsed<number | undefined> {
  if (text === 'never' || text === 'off') return { ok: true, value: undefined };
  return parseDuration(text);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
};

/** Bytes: `4096`, `512k`, `10mb`, `1gib` (k/m/g and kib/mib/gib are 1024-based, kb/mb/gb 1000-based). */
export function parseSize(text: string): Parsed<number> {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) return { ok: false, message: `expected a size such as 4096, 512k, 10mb or 1gib, got "${text}"` };
  return { ok: true, value: Math.floor(Number(match[1]) * unit) };
}

export interface Rate {
  requests: number;
  periodMs: number;
}

/** `100/1s`, `600/1m`, `5/10s`; a unit alone means one of it (`100/s` = `100/1s`). */
export function parseRate(text: string): Parsed<Rate> {
  const expected = `expected a rate such as 100/1s or 600/1m, got "${text}"`;
  const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
  if (!match) return { ok: false, message: expected };
  const requests = Number(match[1]);
  const periodText = /^\d/.test(match[2]!) ? match[2]! : `1${match[2]}`;
  const period = parseDuration(periodText);
  if (!period.ok || period.value <= 0 || requests <= 0) return { ok: false, message: expected };
  return { ok: true, value: { requests, periodMs: period.value } };
}

/** `1500` → `1.5s`, `90000` → `1m30s`: for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60000) return `${Number((ms / 1000).toFixed(1))}s`;
  const minutes = Math.floor(ms / 60000);
  const seconds = Math.round((ms % 60000) / 1000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
