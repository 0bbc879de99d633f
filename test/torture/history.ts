// What the torture clients saw, and the checks over it. Pure: the harness records operations
// here and checks them once the cluster has healed.
//
// Model:
//  - A register key (hash key + sort key) is written by set, multi_set and a successful
//    check_and_set, and read by get, multi_get, scans and a failed check_and_set that returned
//    the value it checked. Every value written is unique, so a read names its write.
//  - A write that failed with any error has an unknown outcome: it may have been applied (a
//    timeout after the primary took it) or not. Only a success is an acknowledgement.
//  - A counter key is changed only by incr(1). The client never repeats a non-idempotent write
//    once sent, so each incr is applied at most once; an acknowledged incr returns the value after it.
import { checkLinearizable, type RegisterOp } from '../helpers/linearizability.ts';

export interface RecordedWrite {
  kind: 'write';
  key: string;
  value: string;
  invokeAt: number;
  completeAt: number;
  /** true: acknowledged; undefined: failed with an error, so it may or may not have been applied. */
  ok: true | undefined;
  client: number;
  operation: string;
}

export interface RecordedRead {
  kind: 'read';
  key: string;
  value: string | undefined;
  invokeAt: number;
  completeAt: number;
  client: number;
  operation: string;
}

export interface RecordedIncr {
  kind: 'incr';
  key: string;
  invokeAt: number;
  completeAt: number;
  /** The counter after this increment; undefined when it failed (it may have been applied). */
  result: bigint | undefined;
  client: number;
}

export type RecordedOp = RecordedWrite | RecordedRead | RecordedIncr;

export interface Violation {
  check: 'linearizability' | 'lost-write' | 'counter' | 'health' | 'crash' | 'final-read';
  key?: string;
  message: string;
  /** The operations on the key around the violation, oldest first. */
  history?: string[];
}

export const HISTORY_EXCERPT_OPS = 12;

export function describeOp(op: RecordedOp): string {
  const span = `[${op.invokeAt.toFixed(1)}, ${op.completeAt.toFixed(1)}] ms`;
  if (op.kind === 'incr') return `client ${op.client} incr ${op.key} ${span} -> ${op.result === undefined ? 'unknown' : String(op.result)}`;
  const value = op.value === undefined ? 'absent' : JSON.stringify(op.value);
  if (op.kind === 'read') return `client ${op.client} ${op.operation} read ${op.key} ${span} = ${value}`;
  return `client ${op.client} ${op.operation} write ${op.key} ${span} := ${value} ${op.ok ? 'ok' : 'unknown'}`;
}

/** The operations on `key` whose intervals are nearest to `around` (ms), oldest first. */
export function excerpt(ops: readonly RecordedOp[], key: string, around: number): string[] {
  const onKey = ops.filter((op) => op.key === key).sort((a, b) => a.invokeAt - b.invokeAt);
  const distance = (op: RecordedOp): number => (around < op.invokeAt ? op.invokeAt - around : around > op.completeAt ? around - op.completeAt : 0);
  const nearest = [...onKey].sort((a, b) => distance(a) - distance(b)).slice(0, HISTORY_EXCERPT_OPS);
  const chosen = new Set(nearest);
  return onKey.filter((op) => chosen.has(op)).map(describeOp);
}

/** Per-key linearizability of every register operation, final reads included. */
export function checkRegisters(ops: readonly RecordedOp[]): { violations: Violation[]; inconclusive: string | undefined; statesExplored: number } {
  const registerOps: RegisterOp[] = [];
  for (const op of ops) {
    if (op.kind === 'write') registerOps.push({ kind: 'write', key: op.key, value: op.value, invokeAt: op.invokeAt, completeAt: op.completeAt, ok: op.ok });
    else if (op.kind === 'read') registerOps.push({ kind: 'read', key: op.key, value: op.value, invokeAt: op.invokeAt, completeAt: op.completeAt });
  }
  const result = checkLinearizable(registerOps);
  if (result.ok) return { violations: [], inconclusive: result.inconclusive ? result.explanation : undefined, statesExplored: result.statesExplored };
  const key = result.key!;
  const around = firstNumberIn(result.explanation ?? '') ?? 0;
  return {
    violations: [{ check: 'linearizability', key, message: result.explanation ?? 'not linearizable', history: excerpt(ops, key, around) }],
    inconclusive: undefined,
    statesExplored: result.statesExplored,
  };
}

function firstNumberIn(text: string): number | undefined {
  const match = /invoked at (\d+(?:\.\d+)?)/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * Acknowledged writes lost: a key whose value after healing (`finalValues`) could not be the last
 * write. The possible last values are every unknown-outcome write (it may land at any time) and
 * every acknowledged write that no other acknowledged write follows in real time; absent is
 * possible only when no write was acknowledged.
 */
export function checkNoLostWrites(ops: readonly RecordedOp[], finalValues: ReadonlyMap<string, string | undefined>): Violation[] {
  const violations: Violation[] = [];
  for (const [key, finalValue] of finalValues) {
    const writes = ops.filter((op): op is RecordedWrite => op.kind === 'write' && op.key === key);
    const acked = writes.filter((op) => op.ok);
    const lastAckedInvoke = Math.max(-Infinity, ...acked.map((op) => op.invokeAt));
    const possible = new Set<string | undefined>();
    for (const write of writes) if (!write.ok || write.completeAt >= lastAckedInvoke) possible.add(write.value);
    if (acked.length === 0) possible.add(undefined);
    if (possible.has(finalValue)) continue;
    const latest = acked.reduce((a, b) => (b.invokeAt > a.invokeAt ? b : a));
    violations.push({
      check: 'lost-write',
      key,
      message: `key ${key} holds ${finalValue === undefined ? 'nothing' : JSON.stringify(finalValue)} after healing, ` +
        `but ${describeOp(latest)} was acknowledged after that value could last have been written`,
      history: excerpt(ops, key, latest.completeAt),
    });
  }
  return violations;
}

export interface CounterReport {
  violations: Violation[];
  acknowledged: number;
  unknown: number;
}

/**
 * Counters by bounds. Each acknowledged incr's result r must satisfy
 *   r >= 1 + (acknowledged incrs that completed before it was invoked), and
 *   r <= (incrs invoked before it completed),
 * results are distinct (each increment is applied at most once), an incr that completes before
 * another is invoked returns less, and the final value lies between the acknowledged incrs (and
 * the highest result) and all incrs invoked.
 */
export function checkCounters(ops: readonly RecordedOp[], finalValues: ReadonlyMap<string, bigint>): CounterReport {
  const violations: Violation[] = [];
  let acknowledged = 0;
  let unknown = 0;
  for (const [key, finalValue] of finalValues) {
    const incrs = ops.filter((op): op is RecordedIncr => op.kind === 'incr' && op.key === key);
    const acked = incrs.filter((op) => op.result !== undefined).sort((a, b) => a.invokeAt - b.invokeAt);
    acknowledged += acked.length;
    unknown += incrs.length - acked.length;
    const fail = (message: string, around: number): void => {
      violations.push({ check: 'counter', key, message: `counter ${key}: ${message}`, history: excerpt(ops, key, around) });
    };
    // Sorted completions and invocations, so each bound is a binary search (histories are long).
    const byCompletion = [...acked].sort((a, b) => a.completeAt - b.completeAt);
    const completions = byCompletion.map((op) => op.completeAt);
    const invocations = incrs.map((op) => op.invokeAt).sort((a, b) => a - b);
    // prefixMax[i]: the highest result among the first i acknowledged incrs by completion.
    const prefixMax: bigint[] = [0n];
    for (const op of byCompletion) prefixMax.push(op.result! > prefixMax[prefixMax.length - 1]! ? op.result! : prefixMax[prefixMax.length - 1]!);
    const seen = new Map<bigint, RecordedIncr>();
    for (const op of acked) {
      const result = op.result!;
      const other = seen.get(result);
      if (other) fail(`two increments returned ${result}: ${describeOp(other)} and ${describeOp(op)}`, op.invokeAt);
      seen.set(result, op);
      const before = countBelow(completions, op.invokeAt);
      const invoked = countAtMost(invocations, op.completeAt);
      if (result < BigInt(before + 1)) fail(`${describeOp(op)} returned ${result}, but ${before} increments were acknowledged before it began`, op.invokeAt);
      if (result > BigInt(invoked)) fail(`${describeOp(op)} returned ${result}, but only ${invoked} increments had been invoked when it completed`, op.invokeAt);
      if (prefixMax[before]! >= result) fail(`${describeOp(op)} began after an increment that returned ${prefixMax[before]} had completed, but returned no more`, op.invokeAt);
    }
    const highest = acked.reduce((max, op) => (op.result! > max ? op.result! : max), 0n);
    const lowerBound = BigInt(acked.length) > highest ? BigInt(acked.length) : highest;
    if (finalValue < lowerBound) fail(`holds ${finalValue} after healing, fewer than the ${lowerBound} increments it acknowledged`, Infinity);
    if (finalValue > BigInt(incrs.length)) fail(`holds ${finalValue} after healing, more than the ${incrs.length} increments ever invoked`, Infinity);
  }
  return { violations, acknowledged, unknown };
}

/** How many of the ascending `sorted` are < `value`. */
function countBelow(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of the ascending `sorted` are <= `value`. */
function countAtMost(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Per second of the run: operations completed and how many of them succeeded. */
export function availabilityPerSecond(ops: readonly RecordedOp[], durationMs: number): Array<{ completed: number; succeeded: number }> {
  const seconds = Array.from({ length: Math.max(1, Math.ceil(durationMs / 1000)) }, () => ({ completed: 0, succeeded: 0 }));
  for (const op of ops) {
    const second = Math.floor(op.completeAt / 1000);
    const slot = seconds[second];
    if (!slot) continue;
    slot.completed += 1;
    if (op.kind === 'read' || (op.kind === 'write' && op.ok) || (op.kind === 'incr' && op.result !== undefined)) slot.succeeded += 1;
  }
  return seconds;
}

/** One character a second: '#' all succeeded, 0–9 tenths succeeded, '.' nothing completed. */
export function availabilityStrip(seconds: ReadonlyArray<{ completed: number; succeeded: number }>): string {
  return seconds.map(({ completed, succeeded }) => {
    if (completed === 0) return '.';
    if (succeeded === completed) return '#';
    return String(Math.floor((succeeded / completed) * 10));
  }).join('');
}

/**
 * Write unavailability after SIGKILLs of a primary-holding server: for each kill at `at` (ms),
 * the longest time over keys from the kill until a write to that key invoked after it was
 * acknowledged (keys never written again count until the end of the run).
 */
export function writeUnavailabilityAfter(ops: readonly RecordedOp[], killsAt: readonly number[], endMs: number): number[] {
  const keys = new Set(ops.filter((op) => op.kind !== 'read').map((op) => op.key));
  return killsAt.map((at) => {
    let longest = 0;
    for (const key of keys) {
      let firstAck = endMs;
      for (const op of ops) {
        if (op.key !== key || op.invokeAt < at) continue;
        const acked = (op.kind === 'write' && op.ok) || (op.kind === 'incr' && op.result !== undefined);
        if (acked && op.completeAt < firstAck) firstAck = op.completeAt;
      }
      longest = Math.max(longest, firstAck - at);
    }
    return longest;
  });
}
