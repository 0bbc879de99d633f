// The /pprof/* admin calls (spec pegasus-http §4.6), with what each means in a Node.js process:
//
//   /pprof/profile  CPU profile of the main JS thread for `seconds` (default 60), from
//                   @datadog/pprof's time profiler (wall and, where available, CPU time).
//   /pprof/heap     the always-on sampling heap profiler: the live heap now, or with
//                   `seconds=N` the live heap added during the next N seconds (pprof-heap.ts).
//   /pprof/growth   a text report of V8 heap spaces and process memory with their growth since
//                   the previous call (pprof-growth.ts).
//   /pprof/symbol   native symbols of the executable mappings, via nm (pprof-symbols.ts).
//   /pprof/cmdline  the process's command line, one argument per line.
//
// Profiles are gzipped pprof protobuf, which `go tool pprof` reads (gperftools' own formats are
// out of reach). As in Pegasus everything is text/plain, and heap, growth and profile share one
// busy flag; unlike Pegasus, the request that finds it taken gets a short explanation.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { encode, time } from '@datadog/pprof';
import { parseCInteger } from '../../config/index.ts';
import type { AdminResponse, HttpRouter } from '../../net/index.ts';
import { growthReport, takeMemorySnapshot, type MemorySnapshot } from './growth.ts';
import { heapBaseline, heapGrowthProfile, liveHeapProfile, startHeapSampler } from './heap.ts';
import { processSymbols, type SymbolTable } from './symbols.ts';

/** A longer profile ties up the busy flag (and a client) for too long to be useful. */
export const profileSecondsMax = 300;
const cpuProfileSecondsDefault = 60;
/** One sample per millisecond: fine-grained for short profiles, no measurable overhead. */
const cpuSampleIntervalMicros = 1000;
/** More than a maximal request body (1 MiB of `0x…+`) can hold; a bound all the same. */
const symbolAddressesMax = 262144;
const addressMax = 2n ** 64n - 1n;

const ok = (body: string | Buffer): AdminResponse => ({ status: 200, body });

// ---- the busy flag shared by heap, growth and profile

/** Who holds the flag: `/pprof/heap`, or another user of the profilers such as the diag profiler. */
let busyWith: string | undefined;

/**
 * Takes the busy flag for `holder`; returns the function that gives it back, or, when it is
 * taken, who holds it.
 */
export function takeProfilerBusyFlag(holder: string): (() => void) | string {
  if (busyWith !== undefined) return busyWith;
  busyWith = holder;
  return () => {
    if (busyWith === holder) busyWith = undefined;
  };
}

async function exclusive(call: string, work: () => Promise<AdminResponse>): Promise<AdminResponse> {
  const release = takeProfilerBusyFlag(`/pprof/${call}`);
  if (typeof release === 'string') return { status: 500, body: `another profile is in progress: ${release}` };
  try {
    return await work();
  } finally {
    release();
  }
}

function tooLong(secondsText: string): AdminResponse {
  return { status: 400, body: `seconds must be at most ${profileSecondsMax}, got ${secondsText}` };
}

// ---- /pprof/profile

export interface RawSeconds {
  seconds: number;
  /** What the request said, for error messages. */
  text: string;
}

/**
 * `seconds` as Pegasus reads it for the CPU profile: from the RAW query (not percent-decoded),
 * the first `seconds=` piece, converted like strtoul (leading digits; none gives 0; a minus sign
 * wraps around to a huge value). Without a `seconds=` piece: the 60 s default.
 */
export function rawProfileSeconds(rawQuery: string): RawSeconds {
  for (const piece of rawQuery.split('&')) {
    if (!piece.startsWith('seconds=')) continue;
    const text = piece.slice('seconds='.length);
    const [, sign, digits] = /^[ \t\n\v\f\r]*([+-]?)([0-9]*)/.exec(text) as unknown as [string, string, string];
    const magnitude = digits === '' ? 0 : Number(digits);
    return { seconds: sign === '-' && magnitude !== 0 ? Number.POSITIVE_INFINITY : magnitude, text };
  }
  return { seconds: cpuProfileSecondsDefault, text: String(cpuProfileSecondsDefault) };
}

function startCpuProfiler(durationMillis: number): void {
  const options = { intervalMicros: cpuSampleIntervalMicros, durationMillis };
  try {
    // CPU time per sample needs the profiler's context tracking; not every platform has it.
    time.start({ ...options, withContexts: true, collectCpuTime: true });
  } catch {
    time.start(options);
  }
}

async function cpuProfile(seconds: number): Promise<AdminResponse> {
  if (time.isStarted()) return { status: 500, body: 'the CPU profiler is already in use by other code of this process' };
  try {
    // The profiler wants a positive duration; `seconds=0` (or a non-number) gives a near-empty profile.
    startCpuProfiler(Math.max(seconds * 1000, 1));
  } catch (error) {
    return { status: 500, body: `cannot start the CPU profiler: ${(error as Error).message}` };
  }
  // Unreferenced: a running profile must not keep a stopping process alive. (Without an abort
  // signal this sleep cannot fail, so the profiler is always stopped below.)
  await sleep(seconds * 1000, undefined, { ref: false });
  try {
    return ok(await encode(time.stop()));
  } catch (error) {
    return { status: 500, body: `CPU profiling failed: ${(error as Error).message}` };
  }
}

// ---- /pprof/heap

let heapSamplerProblem: string | undefined = 'not started';

async function heapProfile(seconds: number | undefined): Promise<AdminResponse> {
  if (heapSamplerProblem !== undefined) return { status: 500, body: `the heap sampler is not running: ${heapSamplerProblem}` };
  try {
    if (seconds === undefined) return ok(await encode(liveHeapProfile()));
    const baseline = heapBaseline();
    await sleep(seconds * 1000, undefined, { ref: false });
    return ok(await encode(heapGrowthProfile(baseline)));
  } catch (error) {
    return { status: 500, body: `heap profiling failed: ${(error as Error).message}` };
  }
}

// ---- /pprof/growth

let previousSnapshot: MemorySnapshot | undefined;
let previousLabel = 'start-up';

function memoryGrowth(): AdminResponse {
  const now = takeMemorySnapshot();
  const report = growthReport(previousSnapshot ?? now, now, previousLabel);
  previousSnapshot = now;
  previousLabel = 'the previous /pprof/growth call';
  return ok(report);
}

// ---- /pprof/symbol

/** `0xA+0xB…`, maybe quoted, as pprof posts it; each item read like strtoull base 16. */
export function parseAddressList(body: string): bigint[] {
  const addresses: bigint[] = [];
  for (const item of body.trim().replace(/^['"]/, '').split('+')) {
    const trimmed = item.trim();
    if (trimmed === '') continue;
    const match = /^(?:0[xX])?([0-9a-fA-F]+)/.exec(trimmed);
    const value = match ? BigInt(`0x${match[1]}`) : 0n;
    addresses.push(value > addressMax ? addressMax : value);
  }
  return addresses;
}

function formatAddress(address: bigint): string {
  return `0x${address.toString(16).padStart(8, '0')}`;
}

function symbolLines(table: SymbolTable, addresses: bigint[]): string {
  return addresses
    .map((address) => {
      const hex = formatAddress(address);
      return `${hex}\t${table.lookup(address) ?? hex}\n`;
    })
    .join('');
}

// ---- /pprof/cmdline

async function commandLine(): Promise<AdminResponse> {
  try {
    const raw = await readFile('/proc/self/cmdline');
    for (let index = 0; index < raw.length; index++) if (raw[index] === 0) raw[index] = 0x0a;
    return ok(raw);
  } catch {
    // No /proc (not Linux): what Node itself knows about the command line.
    return ok([process.execPath, ...process.execArgv, ...process.argv.slice(1)].map((arg) => `${arg}\n`).join(''));
  }
}

export function registerPprofCalls(router: HttpRouter): void {
  heapSamplerProblem = startHeapSampler();
  previousSnapshot ??= takeMemorySnapshot();

  router.register({
    path: 'pprof/heap',
    parameters: '[seconds=<heap_profile_seconds>]',
    description:
      "Query a sample of live objects and the stack traces that allocated these objects (an environment variable TCMALLOC_SAMPLE_PARAMETER should set to a positive value, such as 524288), or the current heap profiling information if 'seconds' parameter is specified.",
    handler: ({ query }) => {
      const secondsText = query.get('seconds');
      const seconds = secondsText === undefined ? undefined : parseCInteger(secondsText, true);
      if (seconds !== undefined && seconds > BigInt(profileSecondsMax)) return tooLong(secondsText!);
      // Like Pegasus: a `seconds` that is not an unsigned integer counts as no `seconds` at all.
      return exclusive('heap', () => heapProfile(seconds === undefined ? undefined : Number(seconds)));
    },
  });

  router.register({
    path: 'pprof/symbol',
    parameters: '[symbol_address]',
    description:
      "Query the process' symbols. Return the symbol count of the process if using GET, return the symbol of the 'symbol_address' if using POST.",
    handler: async ({ method, body }) => {
      if (method !== 'POST') return ok(`num_symbols: ${(await processSymbols()).count}\n`);
      const addresses = parseAddressList(body.toString('latin1'));
      if (addresses.length > symbolAddressesMax) {
        return { status: 400, body: `too many addresses: ${addresses.length}, at most ${symbolAddressesMax}` };
      }
      return ok(symbolLines(await processSymbols(), addresses));
    },
  });

  router.register({
    path: 'pprof/cmdline',
    description: "Query the process' cmdline.",
    handler: commandLine,
  });

  router.register({
    path: 'pprof/growth',
    description: 'Query the stack traces that caused growth in the address space size.',
    handler: () => exclusive('growth', async () => memoryGrowth()),
  });

  router.register({
    path: 'pprof/profile',
    parameters: '[seconds=<cpu_profile_seconds>]',
    description: "Query the CPU profile. 'seconds' is 60 if not specified.",
    handler: ({ rawQuery }) => {
      const { seconds, text } = rawProfileSeconds(rawQuery);
      if (seconds > profileSecondsMax) return tooLong(text);
      return exclusive('profile', () => cpuProfile(seconds));
    },
  });
}
