// Injected faults for the torture harness: a full disk, a slow disk and a skewed clock on one
// server. Off unless the environment variable PTERON_FAULT_FILE names a JSON file; production
// never sets it, and with it unset every hook returns at once without touching the file system.
//
// The file may change while the server runs (the harness turns faults on and off); it is read
// again at most every FAULT_FILE_REFRESH_MS. A missing file means no faults; a file that is not a
// valid fault description is refused loudly (the harness wrote it, so it is a harness bug).
//
//   { "diskFull": true }            log writes fail with ENOSPC
//   { "fsyncDelayMs": 800 }         every log fsync waits this long first
//   { "clockSkewSeconds": -120 }    the record clock (TTL expiry) is this far off
import { readFileSync } from 'node:fs';

export const FAULT_FILE_ENV = 'PTERON_FAULT_FILE';
export const FAULT_FILE_REFRESH_MS = 100;

export interface InjectedFaults {
  diskFull: boolean;
  fsyncDelayMs: number;
  clockSkewSeconds: number;
}

const NO_FAULTS: InjectedFaults = Object.freeze({ diskFull: false, fsyncDelayMs: 0, clockSkewSeconds: 0 });

/** The faults a fault file's text describes; throws on anything else. Pure. */
export function parseFaults(text: string): InjectedFaults {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('fault file must hold a JSON object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(key in NO_FAULTS)) throw new Error(`unknown fault ${JSON.stringify(key)}`);
  }
  const faults = { ...NO_FAULTS };
  if (record.diskFull !== undefined) {
    if (typeof record.diskFull !== 'boolean') throw new Error('diskFull must be a boolean');
    faults.diskFull = record.diskFull;
  }
  for (const key of ['fsyncDelayMs', 'clockSkewSeconds'] as const) {
    const number = record[key];
    if (number === undefined) continue;
    if (typeof number !== 'number' || !Number.isInteger(number)) throw new Error(`${key} must be an integer`);
    if (key === 'fsyncDelayMs' && number < 0) throw new Error('fsyncDelayMs must not be negative');
    faults[key] = number;
  }
  return faults;
}

const faultFile = process.env[FAULT_FILE_ENV];
let cached: InjectedFaults = NO_FAULTS;
let readAt = -Infinity;

function currentFaults(): InjectedFaults {
  if (faultFile === undefined || faultFile === '') return NO_FAULTS;
  const now = performance.now();
  if (now - readAt < FAULT_FILE_REFRESH_MS) return cached;
  readAt = now;
  let text: string;
  try {
    text = readFileSync(faultFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return (cached = NO_FAULTS);
  }
  return (cached = parseFaults(text));
}

/** Throws ENOSPC, as a full disk's write(2) does, while the fault is on. */
export function failIfDiskFull(what: string): void {
  if (!currentFaults().diskFull) return;
  throw Object.assign(new Error(`ENOSPC: no space left on device (injected), ${what}`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** Waits the injected fsync delay, if any, before a caller's fsync. */
export async function delayFsync(): Promise<void> {
  const delayMs = currentFaults().fsyncDelayMs;
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
}

/** Wall-clock milliseconds with the injected skew. */
export function skewedNowMs(): number {
  return Date.now() + currentFaults().clockSkewSeconds * 1000;
}
