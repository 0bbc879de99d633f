// Runs a fuzzer: each case's input comes from its own seeded stream (caseRng), each check is
// bounded in time (a case that does not finish is a hang, and a failure), and a failing case is
// reported with everything needed to replay it: the run's seed, the case number, the input.
import { caseRng, caseSeed, type FuzzRng } from './random.ts';

export interface Fuzzer<Input = unknown> {
  readonly name: string;
  /** What the inputs are and which properties are checked, for the listing. */
  readonly description: string;
  /** Cases checked at once; 1 for fuzzers whose cases share state that a check reads. */
  readonly parallel?: number;
  /** Runs once before the first case (loading what the inputs are made from). */
  prepare?(): Promise<void> | void;
  generate(rng: FuzzRng): Input;
  /** Throws when a property does not hold for this input. */
  check(input: Input): Promise<void> | void;
  /** The input as a failure report shows it; default: JSON, cut short. */
  show?(input: Input): string;
  /** What the answers were, counted (e.g. statuses), for the report: the inputs reached past the first check. */
  readonly outcomes?: Outcomes;
  /** The properties of the whole run (the server still alive, state unchanged), checked after the last case. */
  finish?(): Promise<void> | void;
}

/** Counts of the kinds of answer a fuzzer saw. */
export class Outcomes {
  private readonly counts = new Map<string, number>();

  count(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  get(kind: string): number {
    return this.counts.get(kind) ?? 0;
  }

  /** `kind count, ...`, the most frequent first. */
  toString(): string {
    return [...this.counts].sort((a, b) => b[1] - a[1]).map(([kind, count]) => `${kind} ${count}`).join(', ');
  }
}

export interface FuzzFailure {
  index: number;
  caseSeed: number;
  input: string;
  error: string;
}

export interface FuzzResult {
  name: string;
  cases: number;
  failures: FuzzFailure[];
  ms: number;
  outcomes: string;
}

export interface FuzzRunOptions {
  cases: number;
  seed: number;
  /** Only this case (the replay of a reported failure). */
  onlyCase?: number;
  /** The run stops once this many cases failed. */
  failuresMax?: number;
  /** A check still running after this long is a hang. */
  caseTimeoutMs?: number;
}

const SHOW_CHARS_MAX = 2000;

function defaultShow(input: unknown): string {
  const text = typeof input === 'string' ? JSON.stringify(input) : JSON.stringify(input, (_, value) => (typeof value === 'bigint' ? `${value}n` : value));
  return text === undefined ? String(input) : text;
}

function cut(text: string): string {
  return text.length <= SHOW_CHARS_MAX ? text : `${text.slice(0, SHOW_CHARS_MAX)}… (${text.length} characters)`;
}

async function withinTime<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${ms} ms: a hang`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runFuzzer<Input>(fuzzer: Fuzzer<Input>, options: FuzzRunOptions): Promise<FuzzResult> {
  const started = Date.now();
  const failuresMax = options.failuresMax ?? 5;
  const caseTimeoutMs = options.caseTimeoutMs ?? 60_000;
  const failures: FuzzFailure[] = [];
  const indexes = options.onlyCase !== undefined ? [options.onlyCase] : Array.from({ length: options.cases }, (_, index) => index);
  await fuzzer.prepare?.();
  let next = 0;
  let ran = 0;
  const worker = async (): Promise<void> => {
    while (next < indexes.length && failures.length < failuresMax) {
      const index = indexes[next++]!;
      const input = fuzzer.generate(caseRng(options.seed, fuzzer.name, index));
      try {
        await withinTime(Promise.resolve().then(() => fuzzer.check(input)), caseTimeoutMs);
      } catch (error) {
        failures.push({
          index, caseSeed: caseSeed(options.seed, fuzzer.name, index), input: cut((fuzzer.show ?? defaultShow)(input)),
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
      }
      ran++;
    }
  };
  await Promise.all(Array.from({ length: fuzzer.parallel ?? 8 }, worker));
  try {
    await fuzzer.finish?.();
  } catch (error) {
    failures.push({ index: -1, caseSeed: 0, input: '(after the last case)', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
  return { name: fuzzer.name, cases: ran, failures, ms: Date.now() - started, outcomes: fuzzer.outcomes?.toString() ?? '' };
}

/** A failure as a person reads it, with the command that replays it. */
export function formatFailure(name: string, seed: number, failure: FuzzFailure): string {
  const where = failure.index < 0 ? 'after its cases' : `case ${failure.index}`;
  const replay = failure.index < 0
    ? `npm run fuzz -- --only ${name} --seed ${seed}`
    : `npm run fuzz -- --only ${name} --seed ${seed} --case ${failure.index}`;
  return `fuzzer ${name} failed ${where} (seed ${seed}; replay: ${replay})\n  input: ${failure.input}\n  ${failure.error.replace(/\n/g, '\n  ')}`;
}

/** Throws with every failure's report unless the run had none (for node:test). */
export function assertNoFailures(result: FuzzResult, seed: number): void {
  if (result.failures.length === 0) return;
  throw new Error(result.failures.map((failure) => formatFailure(result.name, seed, failure)).join('\n\n'));
}
