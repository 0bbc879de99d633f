// The register linearizability checker used by the fault simulator: classic histories, histories
// recorded from a real sequential register under random interleavings (all linearizable) and
// mutations of them (not), agreement with a brute-force reference on small random histories,
// the state limit, and speed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLinearizable, type RegisterOp } from './linearizability.ts';
import { Prng } from './prng.ts';

type WriteOp = Extract<RegisterOp, { kind: 'write' }>;
type ReadOp = Extract<RegisterOp, { kind: 'read' }>;

type Outcome = 'acked' | 'failed' | 'unknown';

function w(value: string, invokeAt: number, completeAt: number | undefined, outcome: Outcome = 'acked', key = 'k'): WriteOp {
  const ok = outcome === 'acked' ? true : outcome === 'failed' ? false : undefined;
  return completeAt === undefined ? { kind: 'write', key, value, invokeAt, ok } : { kind: 'write', key, value, invokeAt, completeAt, ok };
}

function r(value: string | undefined, invokeAt: number, completeAt: number, key = 'k'): ReadOp {
  return { kind: 'read', key, value, invokeAt, completeAt };
}

function assertOk(history: readonly RegisterOp[]): void {
  const result = checkLinearizable(history);
  assert.equal(result.ok, true, result.explanation);
  assert.equal(result.inconclusive, undefined);
}

function assertViolation(history: readonly RegisterOp[], key = 'k'): string {
  const result = checkLinearizable(history);
  assert.equal(result.ok, false, 'expected a violation');
  assert.equal(result.key, key);
  assert.ok(result.explanation, 'a violation carries an explanation');
  assert.ok(result.explanation.includes(JSON.stringify(key)), `explanation names the key: ${result.explanation}`);
  return result.explanation;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
/** The simulator's generator, with the bound-style helpers these tests use. */
class Rng {
  private readonly prng: Prng;
  constructor(seed: number) {
    this.prng = new Prng(seed);
  }
  next(): number {
    return this.prng.next();
  }
  /** 0 ≤ result < bound */
  int(bound: number): number {
    return this.prng.int(0, bound - 1);
  }
  chance(probability: number): boolean {
    return this.prng.chance(probability);
  }
  pick<T>(items: readonly T[]): T {
    return this.prng.pick(items);
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

interface GenOptions {
  ops: number;
  keys: number;
  /** Clients issuing one operation at a time each: the concurrency. */
  clients: number;
  readRatio?: number;
  unknownRatio?: number;
  failRatio?: number;
}

/**
 * A history recorded from a real sequential register: every operation takes effect at a random
 * instant inside its interval (an unknown-outcome write possibly later, or never), and reads return
 * what the register held at their instant. Such a history is linearizable by construction.
 */
function generate(rng: Rng, options: GenOptions): RegisterOp[] {
  const { ops, keys, clients } = options;
  const readRatio = options.readRatio ?? 0.5;
  const unknownRatio = options.unknownRatio ?? 0.05;
  const failRatio = options.failRatio ?? 0.05;
  const freeAt = Array.from({ length: clients }, () => rng.int(5));
  const effects: { at: number; op: WriteOp | ReadOp }[] = [];
  const history: RegisterOp[] = [];
  for (let n = 0; n < ops; n++) {
    let client = 0;
    for (let c = 1; c < clients; c++) if (freeAt[c]! < freeAt[client]!) client = c;
    const invokeAt = freeAt[client]!;
    const duration = 1 + rng.int(8);
    const completeAt = invokeAt + duration;
    freeAt[client] = completeAt + rng.int(3);
    const key = `key${rng.int(keys)}`;
    const at = invokeAt + rng.next() * duration;
    if (rng.chance(readRatio)) {
      const op: ReadOp = { kind: 'read', key, value: undefined, invokeAt, completeAt };
      effects.push({ at, op });
      history.push(op);
    } else if (rng.chance(failRatio)) {
      history.push({ kind: 'write', key, value: `${key}=v${n}`, invokeAt, completeAt, ok: false });
    } else if (rng.chance(unknownRatio)) {
      const op: WriteOp = rng.chance(0.3)
        ? { kind: 'write', key, value: `${key}=v${n}`, invokeAt, ok: undefined }
        : { kind: 'write', key, value: `${key}=v${n}`, invokeAt, completeAt, ok: undefined };
      // Applied after a delay that may outlast the client's timeout, or lost.
      if (rng.chance(0.6)) effects.push({ at: invokeAt + rng.next() * duration * 3, op });
      history.push(op);
    } else {
      const op: WriteOp = { kind: 'write', key, value: `${key}=v${n}`, invokeAt, completeAt, ok: true };
      effects.push({ at, op });
      history.push(op);
    }
  }
  effects.sort((a, b) => a.at - b.at);
  const register = new Map<string, string>();
  for (const { op } of effects) {
    if (op.kind === 'write') register.set(op.key, op.value);
    else op.value = register.get(op.key);
  }
  return rng.shuffle(history);
}

function isUnknown(op: WriteOp): boolean {
  return op.ok === undefined || op.completeAt === undefined;
}

/**
 * Reference: every subset of the unknown-outcome writes, every order of the chosen operations
 * that respects real time (a before b whenever a completed before b was invoked), replayed on a
 * register. Only for a handful of operations.
 */
function bruteForce(history: readonly RegisterOp[]): boolean {
  const keys = new Set(history.map((op) => op.key));
  for (const key of keys) {
    const ops = history.filter((op) => op.key === key && !(op.kind === 'write' && op.ok === false));
    const unknown = ops.filter((op) => op.kind === 'write' && isUnknown(op));
    const required = ops.filter((op) => !(op.kind === 'write' && isUnknown(op)));
    const end = (op: RegisterOp): number => (op.kind === 'write' && isUnknown(op) ? Infinity : op.completeAt!);
    let found = false;
    for (let mask = 0; mask < 1 << unknown.length && !found; mask++) {
      const chosen = [...required, ...unknown.filter((_, i) => (mask & (1 << i)) !== 0)];
      const used = new Array<boolean>(chosen.length).fill(false);
      const extend = (placed: number, value: string | undefined): boolean => {
        if (placed === chosen.length) return true;
        for (let i = 0; i < chosen.length; i++) {
          if (used[i]) continue;
          const op = chosen[i]!;
          // Nothing still unplaced may have completed before op was invoked.
          if (chosen.some((p, j) => !used[j] && j !== i && end(p) < op.invokeAt)) continue;
          if (op.kind === 'read' && op.value !== value) continue;
          used[i] = true;
          const ok = extend(placed + 1, op.kind === 'write' ? op.value : value);
          used[i] = false;
          if (ok) return true;
        }
        return false;
      };
      found = extend(0, undefined);
    }
    if (!found) return false;
  }
  return true;
}

/** Small random single-key histories with repeated values, outcomes of every kind, and random reads. */
function randomSmall(rng: Rng, size: number): RegisterOp[] {
  const values = ['a', 'b', 'c'];
  const ops: RegisterOp[] = [];
  for (let i = 0; i < size; i++) {
    const invokeAt = rng.int(12);
    const completeAt = invokeAt + rng.int(5);
    if (rng.chance(0.45)) {
      ops.push(r(rng.chance(0.25) ? undefined : rng.pick(values), invokeAt, completeAt));
    } else {
      const roll = rng.next();
      const outcome: Outcome = roll < 0.7 ? 'acked' : roll < 0.85 ? 'failed' : 'unknown';
      ops.push(w(rng.pick(values), invokeAt, outcome === 'unknown' && rng.chance(0.3) ? undefined : completeAt, outcome));
    }
  }
  return ops;
}

function clone(history: readonly RegisterOp[]): RegisterOp[] {
  return history.map((op) => ({ ...op }));
}

const acked = (op: RegisterOp): op is WriteOp => op.kind === 'write' && op.ok === true && op.completeAt !== undefined;

describe('linearizability checker: classic histories', () => {
  it('accepts an empty history and a sequential one', () => {
    assertOk([]);
    assertOk([r(undefined, 0, 1), w('a', 2, 3), r('a', 4, 5), w('b', 6, 7), r('b', 8, 9), r('b', 10, 11)]);
  });

  it('accepts a read concurrent with a write in either order', () => {
    assertOk([w('a', 0, 1), w('b', 2, 6), r('a', 3, 4)]);
    assertOk([w('a', 0, 1), w('b', 2, 6), r('b', 3, 4)]);
    assertOk([w('a', 0, 10), r(undefined, 1, 2), r('a', 3, 4)]);
    // Touching intervals count as concurrent.
    assertOk([w('a', 0, 5), r(undefined, 5, 6)]);
  });

  it('accepts concurrent writes observed in an order different from their invocations', () => {
    assertOk([w('a', 0, 10), w('b', 1, 10), r('b', 11, 12), r('b', 13, 14)]);
    assertOk([w('a', 0, 10), w('b', 1, 10), r('b', 2, 3), r('a', 4, 5), r('a', 11, 12)]);
  });

  it('rejects a stale read after a completed overwrite', () => {
    const why = assertViolation([w('a', 0, 1), w('b', 2, 3), r('a', 4, 5)]);
    assert.match(why, /"a"/);
    assert.match(why, /invoked at 4, completed at 5/);
  });

  it('rejects a read of a value that was never written', () => {
    const why = assertViolation([w('a', 0, 1), r('zzz', 2, 3)]);
    assert.match(why, /"zzz".*never written/);
  });

  it('rejects a read of a value written only by a failed write, and ignores failed writes otherwise', () => {
    assertViolation([w('a', 0, 1, 'failed'), r('a', 2, 3)]);
    assertOk([w('a', 0, 1), w('b', 2, 3, 'failed'), r('a', 4, 5)]);
  });

  it('rejects a read of a value before its write was invoked', () => {
    assertViolation([r('a', 0, 1), w('a', 2, 3)]);
  });

  it('rejects reading the key absent after an acknowledged write completed', () => {
    const why = assertViolation([w('a', 0, 1), r(undefined, 2, 3)]);
    assert.match(why, /absent/);
  });

  it('accepts an unknown-outcome write observed by a later read, however late', () => {
    assertOk([w('a', 0, 1), w('b', 2, 3, 'unknown'), r('b', 100, 101)]);
    assertOk([w('a', 0, 1), w('b', 2, undefined, 'unknown'), r('a', 50, 51), r('b', 100, 101)]);
  });

  it('accepts an unknown-outcome write that is never observed', () => {
    assertOk([w('a', 0, 1), w('b', 2, 3, 'unknown'), r('a', 4, 5), r('a', 100, 101)]);
    assertOk([w('b', 2, undefined, 'unknown'), r(undefined, 4, 5)]);
  });

  it('rejects an unknown-outcome write that is observed, then unobserved, then observed again', () => {
    // b is applied once at most: after the read of a (which follows the read of b) it cannot come back.
    const why = assertViolation([w('a', 0, 1), w('b', 2, 3, 'unknown'), r('b', 4, 5), r('a', 6, 7), r('b', 8, 9)]);
    // The search names the first read that cannot be added to the writes and the reads before it:
    // once b was read, a cannot come back.
    assert.match(why, /no linearization explains the read of "a" \(invoked at 6, completed at 7\)/);
  });

  it('rejects two reads seeing the new then the old value in non-overlapping intervals', () => {
    const why = assertViolation([w('a', 0, 1), w('b', 2, 10), r('b', 3, 4), r('a', 5, 6)]);
    assert.match(why, /read of "a" \(invoked at 5, completed at 6\)/);
  });

  it('finds violations that need the search when values repeat', () => {
    // a is written twice; the read of a after b can only be explained by the second write.
    assertOk([w('a', 0, 1), w('b', 2, 3), w('a', 4, 10), r('a', 5, 6)]);
    assertViolation([w('a', 0, 1), w('b', 2, 3), w('a', 4, 10), r('a', 5, 6), r('b', 7, 8)]);
  });

  it('checks keys independently and names the violating one', () => {
    const history = [w('a', 0, 1, 'acked', 'x'), w('a', 0, 1, 'acked', 'y'), r('a', 2, 3, 'x'), w('b', 4, 5, 'acked', 'y'), r('a', 6, 7, 'y')];
    assertViolation(history, 'y');
    // The same interleaving is fine when each key's story is consistent on its own.
    assertOk([w('a', 0, 10, 'acked', 'x'), w('b', 0, 10, 'acked', 'y'), r('a', 2, 3, 'x'), r(undefined, 2, 3, 'y'), r('b', 11, 12, 'y')]);
  });

  it('does not depend on the order operations are listed in', () => {
    const history = [w('a', 0, 1), w('b', 2, 10), r('b', 3, 4), r('a', 5, 6)];
    assertViolation([...history].reverse());
  });

  it('rejects malformed operations', () => {
    assert.throws(() => checkLinearizable([r('a', 5, 4)]), RangeError);
    assert.throws(() => checkLinearizable([w('a', Number.NaN, 4)]), RangeError);
  });
});

describe('linearizability checker: state limit', () => {
  // Eight concurrent writes, then a read that settles on one of them: many orders to consider,
  // and one final read that no order explains.
  const crowded = (): RegisterOp[] => {
    const ops: RegisterOp[] = [];
    for (let i = 0; i < 8; i++) ops.push(w(`v${i}`, 0, 100));
    ops.push(r('v3', 0, 100), r('v5', 0, 100), r('v3', 0, 100), r('v5', 0, 100), r('v3', 0, 100));
    ops.push(r('v5', 101, 102), r('v3', 103, 104));
    return ops;
  };

  it('reports an inconclusive pass when the limit is reached', () => {
    const result = checkLinearizable(crowded(), { stateLimit: 10 });
    assert.equal(result.ok, true);
    assert.equal(result.inconclusive, true);
    assert.equal(result.key, 'k');
    assert.match(result.explanation ?? '', /^inconclusive: state limit reached/);
    assert.ok(result.statesExplored <= 10);
  });

  it('finds the violation with the default limit', () => {
    const result = checkLinearizable(crowded());
    assert.equal(result.ok, false);
    assert.equal(result.inconclusive, undefined);
    assert.ok(result.statesExplored > 10);
  });

  it('a definite violation on another key wins over an inconclusive key', () => {
    const history = [...crowded(), w('a', 0, 1, 'acked', 'other'), r(undefined, 2, 3, 'other')];
    const result = checkLinearizable(history, { stateLimit: 10 });
    assert.equal(result.ok, false);
    assert.equal(result.key, 'other');
  });
});

describe('linearizability checker: random histories', () => {
  it('agrees with a brute-force reference on small random histories', () => {
    const rng = new Rng(0x5eed1);
    let accepted = 0;
    let rejected = 0;
    for (let n = 0; n < 4000; n++) {
      const history = randomSmall(rng, 2 + rng.int(6));
      const expected = bruteForce(history);
      const result = checkLinearizable(history);
      assert.equal(result.ok, expected, `case ${n}: ${JSON.stringify(history)} -> ${result.explanation}`);
      if (expected) accepted++;
      else rejected++;
    }
    assert.ok(accepted > 500 && rejected > 500, `both verdicts occur (${accepted} ok, ${rejected} violations)`);
  });

  it('agrees with the brute-force reference on small recorded histories and their mutations', () => {
    const rng = new Rng(0xfeed2);
    let rejected = 0;
    for (let n = 0; n < 1500; n++) {
      const history = generate(rng, { ops: 7, keys: 1 + rng.int(2), clients: 3, unknownRatio: 0.2, failRatio: 0.1 });
      assert.equal(bruteForce(history), true);
      assert.equal(checkLinearizable(history).ok, true, JSON.stringify(history));
      // Mutate one read to another value of its key (or absent).
      const mutated = clone(history);
      const reads = mutated.filter((op): op is ReadOp => op.kind === 'read');
      if (reads.length === 0) continue;
      const read = rng.pick(reads);
      const others = [undefined, ...mutated.filter((op) => op.kind === 'write' && op.key === read.key).map((op) => op.value)];
      read.value = rng.pick(others);
      const expected = bruteForce(mutated);
      assert.equal(checkLinearizable(mutated).ok, expected, JSON.stringify(mutated));
      if (!expected) rejected++;
    }
    assert.ok(rejected > 100, `mutations produce violations (${rejected})`);
  });

  it('accepts every history recorded from a real register', () => {
    const rng = new Rng(0xab5c3);
    for (let n = 0; n < 200; n++) {
      const history = generate(rng, { ops: 50 + rng.int(250), keys: 1 + rng.int(5), clients: 2 + rng.int(6), unknownRatio: rng.next() * 0.2 });
      const result = checkLinearizable(history);
      assert.equal(result.ok, true, `history ${n}: ${result.explanation}`);
      assert.equal(result.inconclusive, undefined);
    }
  });

  it('rejects recorded histories mutated into definite violations', () => {
    const rng = new Rng(0x77a1e);
    const counts = { stale: 0, absent: 0, unwritten: 0, failed: 0 };
    for (let n = 0; n < 300; n++) {
      const history = generate(rng, { ops: 100 + rng.int(200), keys: 1 + rng.int(4), clients: 2 + rng.int(4) });
      const reads = rng.shuffle(history.filter((op): op is ReadOp => op.kind === 'read'));
      const writes = history.filter(acked);
      const mutation = n % 4;
      let mutatedKey: string | undefined;
      const mutated = history.map((op) => ({ ...op }));
      const at = (op: RegisterOp): RegisterOp => mutated[history.indexOf(op)]!;
      if (mutation === 0) {
        // Stale: the value of a write that another write, entirely after it, overwrote before the read.
        for (const read of reads) {
          const older = writes.find((w1) => w1.key === read.key && writes.some((w2) => w2.key === read.key && w2.invokeAt > w1.completeAt! && w2.completeAt! < read.invokeAt));
          if (!older) continue;
          (at(read) as ReadOp).value = older.value;
          mutatedKey = read.key;
          counts.stale++;
          break;
        }
      } else if (mutation === 1) {
        // Absent after an acknowledged write had completed.
        const read = reads.find((rd) => writes.some((wr) => wr.key === rd.key && wr.completeAt! < rd.invokeAt));
        if (read) {
          (at(read) as ReadOp).value = undefined;
          mutatedKey = read.key;
          counts.absent++;
        }
      } else if (mutation === 2) {
        const read = reads[0];
        if (read) {
          (at(read) as ReadOp).value = 'never-written';
          mutatedKey = read.key;
          counts.unwritten++;
        }
      } else {
        // The write a read observed is reported as failed.
        const read = reads.find((rd) => rd.value !== undefined);
        if (read) {
          const writer = history.find((op) => op.kind === 'write' && op.value === read.value)!;
          (at(writer) as WriteOp).ok = false;
          mutatedKey = read.key;
          counts.failed++;
        }
      }
      if (mutatedKey === undefined) continue;
      const result = checkLinearizable(mutated);
      assert.equal(result.ok, false, `history ${n}, mutation ${mutation}`);
      assert.equal(result.key, mutatedKey);
      assert.ok(result.explanation?.includes(JSON.stringify(mutatedKey)));
    }
    for (const [kind, count] of Object.entries(counts)) assert.ok(count > 30, `${kind} mutations applied: ${count}`);
  });
});

// The search's work, counted in distinct states (deterministic, unlike time): its pruning keeps
// it within a few states per operation on these histories.
describe('linearizability checker: work bounds', () => {
  const checkGenerated = (seed: number, options: GenOptions, statesPerOpMax: number): RegisterOp[] => {
    const history = generate(new Rng(seed), options);
    const result = checkLinearizable(history);
    assert.equal(result.ok, true, result.explanation);
    assert.equal(result.inconclusive, undefined);
    assert.ok(result.statesExplored <= statesPerOpMax * options.ops, `${result.statesExplored} states for ${options.ops} operations`);
    return history;
  };

  it('checks 2,000 operations over 20 keys with concurrency 5 in at most 2 states per operation', () => {
    checkGenerated(0xc0ffee, { ops: 2000, keys: 20, clients: 5, unknownRatio: 0.1 }, 2);
  });

  it('checks 3,000 operations on one key with concurrency 30 in at most 4 states per operation', () => {
    checkGenerated(0x30c11e, { ops: 3000, keys: 1, clients: 30, unknownRatio: 0.1 }, 4);
  });

  it('checks 2,000 operations on one key with concurrency 5, and finds a late violation in at most 16 states per operation', () => {
    const history = checkGenerated(0xbadcafe, { ops: 2000, keys: 1, clients: 5, unknownRatio: 0.1 }, 2);

    // A read after everything that returns the very first acknowledged value, which a second
    // write with the same interval wrote as well: with the value written twice, no shortcut applies and
    // the search has to cover the whole history before it gives up.
    const end = Math.max(...history.map((op) => op.completeAt ?? op.invokeAt));
    const first = history.filter(acked).sort((a, b) => a.completeAt! - b.completeAt!)[0]!;
    const bad = checkLinearizable([...history, w(first.value, first.invokeAt, first.completeAt, 'acked', first.key), r(first.value, end + 1, end + 2, first.key)]);
    assert.equal(bad.ok, false);
    assert.match(bad.explanation ?? '', /no linearization explains/);
    assert.ok(bad.statesExplored <= 16 * history.length, `${bad.statesExplored} states for ${history.length} operations`);
  });
});
