// Linearizability checker for key/value register histories, for the seeded simulator and the torture harness.
//
// Every key is an independent register (linearizability is compositional), initially absent.
// Each key's history is checked with a Wing–Gong search in the style of Lowe: depth-first over
// "which operation takes effect next", memoizing visited (set of linearized operations, current
// value) states so that no state is expanded twice.
//
// Time: operation p precedes operation o in real time iff p.completeAt < o.invokeAt (strictly);
// operations whose intervals touch or overlap are concurrent.
//
// Outcomes of writes:
//  - ok: true with completeAt: acknowledged; it takes effect between invokeAt and completeAt.
//  - ok: false: definitely failed; it is dropped from the history.
//  - ok: undefined, or no completeAt: unknown outcome; it may take effect at any point after
//    invokeAt (also after completeAt, which only says when the client gave up) or never.
// Reads appear only when they completed successfully; value undefined means the key was absent.
//
// Search refinements, each of which preserves exactness for arbitrary (not necessarily unique)
// values:
//  - A read that is legal in the current state is linearized at once, without branching: it does
//    not change the state, and taking it early only relaxes the real-time constraints on others.
//  - An unknown-outcome write is only worth linearizing while some read of its value is still
//    pending: any linearization that contains it otherwise stays valid without it. Unknown writes
//    whose value nobody reads are dropped up front; ones whose readers have all been linearized
//    are "dead" and count as settled in the memo key, so equivalent states are merged.
//  - A value that no pending read returns cannot be told apart from any other such value, so the
//    memo key does not distinguish them.
//  - Among "blind" writes that may take effect next (acknowledged writes whose value no pending
//    read returns), only the one that must complete first is tried: in any linearization that
//    starts with another blind candidate, exchanging the two gives one that starts with it.
//  - A write that replaces a value which pending reads still return, when no write of that value
//    is left, leads nowhere and is not tried.
//  - Cheap pre-checks find the common violations (a value nobody wrote, a value read before its
//    write was invoked, absent after an acknowledged write, and, for a value written exactly once,
//    a read after the value was definitely overwritten) with a precise explanation.
//
// A violation found by the search is explained by the first read, in order of completion, that
// cannot be linearized together with all writes and the reads before it.
//
// The search is bounded: after stateLimit distinct states for one key it gives up on that key and
// the result is { ok: true, inconclusive: true } unless another key has a definite violation.
// (Explaining a violation gets a separate budget of the same size; without it the explanation is
// less precise, never the verdict.)

export type RegisterOp =
  | { kind: 'write'; key: string; value: string; invokeAt: number; completeAt?: number; ok: boolean | undefined }
  | { kind: 'read'; key: string; value: string | undefined; invokeAt: number; completeAt: number };

export interface LinearizabilityResult {
  /** false only for a definite violation; an inconclusive check is ok: true with inconclusive: true. */
  ok: boolean;
  /** The violating key, or for an inconclusive result the first key whose search hit the limit. */
  key?: string;
  explanation?: string;
  /** Distinct search states visited, summed over all keys. */
  statesExplored: number;
  /** Set when some key's search hit stateLimit, so ok: true is not a proof. */
  inconclusive?: boolean;
}

export interface LinearizabilityOptions {
  /** Distinct search states allowed per key before giving up on that key (default 1,000,000). */
  stateLimit?: number;
}

export const DEFAULT_STATE_LIMIT = 1_000_000;

export function checkLinearizable(history: readonly RegisterOp[], options: LinearizabilityOptions = {}): LinearizabilityResult {
  const stateLimit = options.stateLimit ?? DEFAULT_STATE_LIMIT;
  if (!(stateLimit >= 1)) throw new RangeError(`stateLimit must be at least 1, got ${stateLimit}`);

  const byKey = new Map<string, RegisterOp[]>();
  for (const op of history) {
    validate(op);
    let ops = byKey.get(op.key);
    if (!ops) byKey.set(op.key, (ops = []));
    ops.push(op);
  }

  let statesExplored = 0;
  let inconclusive: { key: string; states: number } | undefined;
  for (const [key, ops] of byKey) {
    const verdict = checkKey(key, ops, stateLimit);
    statesExplored += verdict.states;
    if (verdict.kind === 'violation') return { ok: false, key, explanation: verdict.explanation, statesExplored };
    if (verdict.kind === 'inconclusive' && !inconclusive) inconclusive = { key, states: verdict.states };
  }
  if (inconclusive) {
    return {
      ok: true,
      inconclusive: true,
      key: inconclusive.key,
      explanation: `inconclusive: state limit reached on key ${JSON.stringify(inconclusive.key)} after ${inconclusive.states} states`,
      statesExplored,
    };
  }
  return { ok: true, statesExplored };
}

type KeyVerdict = { kind: 'ok'; states: number } | { kind: 'violation'; states: number; explanation: string } | { kind: 'inconclusive'; states: number };

function validate(op: RegisterOp): void {
  if (op.kind !== 'write' && op.kind !== 'read') throw new TypeError(`unknown operation kind ${JSON.stringify((op as { kind: unknown }).kind)}`);
  if (typeof op.key !== 'string') throw new TypeError('operation key must be a string');
  if (typeof op.invokeAt !== 'number' || !Number.isFinite(op.invokeAt)) {
    throw new RangeError(`operation on key ${JSON.stringify(op.key)} has invalid invokeAt ${String(op.invokeAt)}`);
  }
  if (op.kind === 'read') {
    if (typeof op.completeAt !== 'number' || !Number.isFinite(op.completeAt)) {
      throw new RangeError(`read on key ${JSON.stringify(op.key)} invoked at ${op.invokeAt} has invalid completeAt ${String(op.completeAt)}`);
    }
  } else if (op.completeAt !== undefined && (typeof op.completeAt !== 'number' || Number.isNaN(op.completeAt))) {
    throw new RangeError(`write on key ${JSON.stringify(op.key)} invoked at ${op.invokeAt} has invalid completeAt`);
  }
  if (op.completeAt !== undefined && op.completeAt < op.invokeAt) {
    throw new RangeError(`${op.kind} on key ${JSON.stringify(op.key)} completes at ${op.completeAt} before it is invoked at ${op.invokeAt}`);
  }
}

function fmtValue(value: string | undefined): string {
  return value === undefined ? 'absent' : JSON.stringify(value);
}

function describe(op: RegisterOp): string {
  const when = op.completeAt === undefined ? `invoked at ${op.invokeAt}, never completed` : `invoked at ${op.invokeAt}, completed at ${op.completeAt}`;
  if (op.kind === 'read') return op.value === undefined ? `the read that found the key absent (${when})` : `the read of ${fmtValue(op.value)} (${when})`;
  const outcome = op.ok === true && op.completeAt !== undefined ? 'acknowledged' : 'unknown outcome';
  return `the write of ${fmtValue(op.value)} (${when}, ${outcome})`;
}

function isUnknownWrite(op: RegisterOp & { kind: 'write' }): boolean {
  return op.ok === undefined || op.completeAt === undefined;
}

function checkKey(key: string, all: readonly RegisterOp[], stateLimit: number): KeyVerdict {
  const where = `key ${JSON.stringify(key)}`;

  // Values read, and the writes that are not known to have failed.
  const readValues = new Set<string | undefined>();
  for (const op of all) if (op.kind === 'read') readValues.add(op.value);
  const writers = new Map<string, RegisterOp[]>();
  const failedWrites = new Set<string>();
  const ops: RegisterOp[] = [];
  for (const op of all) {
    if (op.kind === 'write') {
      if (op.ok === false) {
        failedWrites.add(op.value);
        continue;
      }
      // An unknown-outcome write whose value nobody reads can always be left out.
      if (isUnknownWrite(op) && !readValues.has(op.value)) continue;
      let list = writers.get(op.value);
      if (!list) writers.set(op.value, (list = []));
      list.push(op);
    }
    ops.push(op);
  }

  const pre = precheck(where, ops, writers, failedWrites);
  if (pre !== undefined) return { kind: 'violation', states: 0, explanation: pre };
  const full = search(ops, stateLimit);
  if (full.kind !== 'violation') return { kind: full.kind, states: full.states };
  const culprit = firstUnexplainedRead(ops, stateLimit);
  const states = full.states + culprit.states;
  if (culprit.read) {
    return {
      kind: 'violation',
      states,
      explanation:
        `${where}: no linearization explains ${describe(culprit.read)}: ` +
        `the writes with the ${culprit.before} read${culprit.before === 1 ? '' : 's'} that completed before it linearize, but not once it is added`,
    };
  }
  const stuck = full.stuck ? describe(full.stuck) : 'the history';
  return {
    kind: 'violation',
    states,
    explanation:
      `${where}: no linearization explains ${stuck}; at most ${full.depth} of ${full.required} completed operations ` +
      `can be linearized, leaving the value ${fmtValue(full.value)}`,
  };
}

/**
 * For a history that does not linearize: the first read, in order of completion, that cannot be
 * added to all the writes and the reads before it. Dropping reads keeps a history linearizable
 * and the writes alone always linearize, so this is a binary search. Gives up (no read) when the
 * searches together exceed the state limit.
 */
function firstUnexplainedRead(ops: readonly RegisterOp[], stateLimit: number): { read?: RegisterOp; before: number; states: number } {
  const writes = ops.filter((op) => op.kind === 'write');
  const reads = ops.filter((op) => op.kind === 'read').sort((a, b) => a.completeAt! - b.completeAt! || a.invokeAt - b.invokeAt);
  let states = 0;
  let lo = 1;
  let hi = reads.length; // the first `hi` reads do not linearize with the writes
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (states >= stateLimit) return { before: 0, states };
    const verdict = search([...writes, ...reads.slice(0, mid)], stateLimit - states);
    states += verdict.states;
    if (verdict.kind === 'inconclusive') return { before: 0, states };
    if (verdict.kind === 'violation') hi = mid;
    else lo = mid + 1;
  }
  return hi >= 1 ? { read: reads[hi - 1]!, before: hi - 1, states } : { before: 0, states };
}

/** Violations that need no search. Returns the explanation of the earliest-completing bad read. */
function precheck(where: string, ops: readonly RegisterOp[], writers: Map<string, RegisterOp[]>, failedWrites: Set<string>): string | undefined {
  // Acknowledged writes sorted by invocation, with the suffix minimum of their completion.
  const acked = ops.filter((op) => op.kind === 'write' && !isUnknownWrite(op)).sort((a, b) => a.invokeAt - b.invokeAt);
  const suffixMin: number[] = new Array<number>(acked.length + 1);
  suffixMin[acked.length] = -1;
  for (let i = acked.length - 1; i >= 0; i--) {
    const next = suffixMin[i + 1]!;
    suffixMin[i] = next >= 0 && acked[next]!.completeAt! <= acked[i]!.completeAt! ? next : i;
  }
  /** The acknowledged write that completes first among those invoked strictly after time t. */
  const firstCompletedInvokedAfter = (t: number): RegisterOp | undefined => {
    let lo = 0;
    let hi = acked.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (acked[mid]!.invokeAt > t) hi = mid;
      else lo = mid + 1;
    }
    const idx = suffixMin[lo]!;
    return idx >= 0 ? acked[idx] : undefined;
  };
  const firstCompleted = firstCompletedInvokedAfter(-Infinity);

  const reads = ops.filter((op) => op.kind === 'read').sort((a, b) => a.completeAt! - b.completeAt! || a.invokeAt - b.invokeAt);
  for (const read of reads) {
    if (read.kind !== 'read') continue;
    const start = read.invokeAt;
    const end = read.completeAt;
    if (read.value === undefined) {
      if (firstCompleted && firstCompleted.completeAt! < start) {
        return `${where}: ${describe(read)} cannot be linearized: ${describe(firstCompleted)} had already completed, and no write makes the key absent`;
      }
      continue;
    }
    const candidates = writers.get(read.value);
    if (!candidates) {
      const why = failedWrites.has(read.value) ? 'was written only by a write that failed' : 'was never written';
      return `${where}: ${describe(read)} cannot be linearized: the value ${why}`;
    }
    let earliestInvoke = Infinity;
    for (const w of candidates) earliestInvoke = Math.min(earliestInvoke, w.invokeAt);
    if (earliestInvoke > end) {
      return `${where}: ${describe(read)} cannot be linearized: the value was first written by a write invoked at ${earliestInvoke}, after the read completed`;
    }
    if (candidates.length === 1) {
      const writer = candidates[0]!;
      if (writer.kind === 'write' && !isUnknownWrite(writer)) {
        const over = firstCompletedInvokedAfter(writer.completeAt!);
        if (over && over.completeAt! < start) {
          return `${where}: stale read: ${describe(read)} cannot be linearized: ${describe(writer)} was overwritten by ${describe(over)} before the read was invoked`;
        }
      }
    }
  }
  return undefined;
}

/** One level of the depth-first search. */
interface Frame {
  /** Every operation below this index is linearized or a dead unknown write. */
  first: number;
  /** The highest linearized index (-1 for none). */
  top: number;
  cands: number[];
  pos: number;
  /** The operation this frame last linearized, and the value before it. */
  chosen: number;
  prevValue: number;
}

interface SearchResult {
  kind: 'ok' | 'violation' | 'inconclusive';
  states: number;
  /** For a violation, the deepest state reached: completed operations linearized of all, the value, and the next deadline's operation. */
  depth: number;
  required: number;
  value: string | undefined;
  stuck?: RegisterOp;
}

function search(source: readonly RegisterOp[], stateLimit: number): SearchResult {
  const ops = [...source].sort((a, b) => a.invokeAt - b.invokeAt);
  const n = ops.length;
  const valueIds = new Map<string | undefined, number>([[undefined, 0]]);
  const valueOf: (string | undefined)[] = [undefined];
  const idOf = (value: string | undefined): number => {
    let id = valueIds.get(value);
    if (id === undefined) {
      id = valueOf.length;
      valueIds.set(value, id);
      valueOf.push(value);
    }
    return id;
  };

  const inv = new Float64Array(n);
  const ret = new Float64Array(n);
  const val = new Int32Array(n);
  const isRead = new Uint8Array(n);
  const optional = new Uint8Array(n);
  const optionalIdx: number[] = [];
  let requiredLeft = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    inv[i] = op.invokeAt;
    val[i] = idOf(op.value);
    if (op.kind === 'read') {
      isRead[i] = 1;
      ret[i] = op.completeAt;
      requiredLeft++;
    } else if (isUnknownWrite(op)) {
      optional[i] = 1;
      ret[i] = Infinity;
      optionalIdx.push(i);
    } else {
      ret[i] = op.completeAt!;
      requiredLeft++;
    }
  }
  const totalRequired = requiredLeft;
  if (totalRequired === 0) return { kind: 'ok', states: 0, depth: 0, required: 0, value: undefined };

  // Pending reads and not yet linearized writes, per value.
  const readsLeft = new Int32Array(valueOf.length);
  const writesLeft = new Int32Array(valueOf.length);
  for (let i = 0; i < n; i++) {
    if (isRead[i]) readsLeft[val[i]!]!++;
    else writesLeft[val[i]!]!++;
  }

  const words = (n + 31) >>> 5;
  const lin = new Uint32Array(words);
  const scratch = new Uint32Array(words);
  const isLin = (i: number): boolean => (lin[i >>> 5]! & (1 << (i & 31))) !== 0;
  const isDead = (i: number): boolean => optional[i] === 1 && readsLeft[val[i]!] === 0;
  let cur = 0;

  const apply = (i: number): void => {
    lin[i >>> 5]! |= 1 << (i & 31);
    if (isRead[i]) {
      readsLeft[val[i]!]!--;
    } else {
      writesLeft[val[i]!]!--;
      cur = val[i]!;
    }
    if (!optional[i]) requiredLeft--;
  };
  const undo = (i: number, prevValue: number): void => {
    lin[i >>> 5]! &= ~(1 << (i & 31));
    if (isRead[i]) readsLeft[val[i]!]!++;
    else writesLeft[val[i]!]!++;
    cur = prevValue;
    if (!optional[i]) requiredLeft++;
  };
  const advance = (from: number): number => {
    let f = from;
    while (f < n && (isLin(f) || isDead(f))) f++;
    return f;
  };
  /**
   * The memo key: the value (values no pending read returns are all alike) and the settled set
   * from `first` to `top` (the highest linearized index), dead unknown writes counted as settled.
   */
  const stateKey = (first: number, top: number): string => {
    let s = `${readsLeft[cur] === 0 ? -1 : cur}:${first}`;
    if (top < first) return s;
    const w0 = first >>> 5;
    const w1 = top >>> 5;
    for (let w = w0; w <= w1; w++) scratch[w] = lin[w]!;
    // Unknown writes from `first` on (optionalIdx is in index order).
    let lo = 0;
    let hi = optionalIdx.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (optionalIdx[mid]! < first) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < optionalIdx.length && optionalIdx[k]! <= top; k++) {
      const i = optionalIdx[k]!;
      if (isDead(i)) scratch[i >>> 5]! |= 1 << (i & 31);
    }
    scratch[w0] = scratch[w0]! & (~0 << (first & 31));
    scratch[w1] = scratch[w1]! & (~0 >>> (31 - (top & 31)));
    for (let w = w0; w <= w1; w++) s += `,${scratch[w]}`;
    return s;
  };

  // Deepest state seen, for the explanation.
  let bestDepth = -1;
  let bestValue = 0;
  let bestStuck = -1;

  const result = (kind: SearchResult['kind'], states: number): SearchResult =>
    kind === 'violation'
      ? { kind, states, depth: bestDepth, required: totalRequired, value: valueOf[bestValue], stuck: bestStuck >= 0 ? ops[bestStuck] : undefined }
      : { kind, states, depth: 0, required: totalRequired, value: undefined };

  /** The operations that may take effect next; also records the deepest state. */
  const candidates = (first: number): number[] => {
    let m = Infinity;
    let mIdx = -1;
    for (let i = first; i < n; i++) {
      if (inv[i]! > m) break;
      if (isLin(i)) continue;
      if (ret[i]! < m) {
        m = ret[i]!;
        mIdx = i;
      }
    }
    const depth = totalRequired - requiredLeft;
    if (depth > bestDepth) {
      bestDepth = depth;
      bestValue = cur;
      bestStuck = mIdx;
    }
    const out: number[] = [];
    let blind = -1;
    for (let i = first; i < n && inv[i]! <= m; i++) {
      if (isLin(i)) continue;
      if (isRead[i]) {
        if (val[i] === cur) return [i];
      } else if (readsLeft[val[i]!] === 0) {
        // Blind (no pending read of its value); dead if it is an unknown write.
        if (!optional[i] && (blind < 0 || ret[i]! < ret[blind]!)) blind = i;
      } else {
        out.push(i);
      }
    }
    if (blind >= 0) out.push(blind);
    return out;
  };

  const seen = new Set<string>();
  let states = 0;
  const rootFirst = advance(0);
  seen.add(stateKey(rootFirst, -1));
  states++;
  const stack: Frame[] = [{ first: rootFirst, top: -1, cands: candidates(rootFirst), pos: 0, chosen: -1, prevValue: 0 }];

  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.pos >= frame.cands.length) {
      stack.pop();
      const parent = stack[stack.length - 1];
      if (parent) undo(parent.chosen, parent.prevValue);
      continue;
    }
    const i = frame.cands[frame.pos++]!;
    frame.chosen = i;
    frame.prevValue = cur;
    apply(i);
    if (requiredLeft === 0) return result('ok', states);
    const lost = frame.prevValue;
    if (lost !== cur && readsLeft[lost]! > 0 && writesLeft[lost] === 0) {
      // The value this write replaced still has pending reads and nothing left can write it again.
      undo(i, lost);
      continue;
    }
    const first = advance(frame.first);
    const top = Math.max(frame.top, i);
    const key = stateKey(first, top);
    if (seen.has(key)) {
      undo(i, frame.prevValue);
      continue;
    }
    if (states >= stateLimit) return result('inconclusive', states);
    seen.add(key);
    states++;
    stack.push({ first, top, cands: candidates(first), pos: 0, chosen: -1, prevValue: 0 });
  }

  return result('violation', states);
}
