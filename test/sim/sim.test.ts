// The deterministic fault simulator (test/sim/) over the PacificA replica core, the replica
// server's link to the meta and the meta's partition guardian: many seeds, each a different mix
// of crashes, torn log tails, partitions, message loss, slow disks and meta failovers (and, for
// some, disks replaced while a node is down), must keep every safety invariant (the lease's
// among them), recover, and give clients a linearizable history. A failure prints the
// command that replays its seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantChecker } from './invariants.ts';
import type { SimNode } from './node.ts';
import { formatFailure } from './report.ts';
import { DEFAULT_STEPS, GRACE_BELOW_LEASE_MS, runSimulation, type SimOptions } from './simulation.ts';
import type { Mutation } from '../../src/replica/write/mutation.ts';

const SEED_CHUNKS = 4;
const SEEDS_PER_CHUNK = 100;
const WIPE_SEED_CHUNKS = 2;

function failuresOf(seeds: Iterable<number>, options: Omit<SimOptions, 'seed'> = {}): string[] {
  const failures: string[] = [];
  for (const seed of seeds) {
    const result = runSimulation({ seed, ...options });
    if (!result.ok) failures.push(formatFailure(result, options.steps ?? DEFAULT_STEPS, options.wipes ? ' --wipes' : ''));
  }
  return failures;
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => first + index);
}

describe('fault simulator', () => {
  for (let chunk = 0; chunk < SEED_CHUNKS; chunk++) {
    const first = chunk * SEEDS_PER_CHUNK + 1;
    const last = first + SEEDS_PER_CHUNK - 1;
    it(`keeps every invariant, recovers and stays linearizable: seeds ${first}–${last}`, () => {
      const failures = failuresOf(range(first, SEEDS_PER_CHUNK));
      assert.equal(failures.length, 0, `\n${failures.join('\n\n')}`);
    });
  }

  // A wiped secondary comes back empty: it must neither lead nor pass for a secondary, and the
  // meta must never pick it to lead, while the members that kept the data carry on.
  for (let chunk = 0; chunk < WIPE_SEED_CHUNKS; chunk++) {
    const first = chunk * SEEDS_PER_CHUNK + 1;
    const last = first + SEEDS_PER_CHUNK - 1;
    it(`the same with wiped disks: seeds ${first}–${last}`, () => {
      const failures = failuresOf(range(first, SEEDS_PER_CHUNK), { wipes: true });
      assert.equal(failures.length, 0, `\n${failures.join('\n\n')}`);
    });
  }

  it('replays a seed exactly', () => {
    const first = runSimulation({ seed: 7, steps: 5_000 });
    const second = runSimulation({ seed: 7, steps: 5_000 });
    assert.deepEqual(second.stats, first.stats);
    assert.deepEqual(second.traceTail, first.traceTail);
    assert.notDeepEqual(runSimulation({ seed: 8, steps: 5_000 }).stats, first.stats);
  });

  // The checks have teeth: take a safeguard away and some seed fails, with the right complaint.

  it('catches a server that serves again as soon as its lease is back, before a config sync told it what it still leads', () => {
    const failure = firstFailure({ nodeOverrides: { syncAfterReconnect: false }, faults: { partition: 1 } }, 200);
    assert.match(failure, /the meta declared it dead .* no config sync answered since|not linearizable/);
  });

  it('catches a committed decree lost when the meta picks a DDD primary from a report older than its rejoining', () => {
    // Crashes and partitions: the partition's members must all die now and then.
    const failure = firstFailure({ metaKeepsStaleReports: true, faults: { crash: 1, crash_primary: 1, partition: 0.5, loss: 0.5 } }, 300);
    assert.match(failure, /committed decree \d+ changed|acknowledged write .* lost|not linearizable/);
  });

  it('catches a meta that declares a replica server dead while its lease still runs', () => {
    const failure = firstFailure({ timings: { graceMs: GRACE_BELOW_LEASE_MS }, faults: { partition: 1 } }, 50);
    assert.match(failure, /holds a valid lease .* but the meta declared it dead/);
  });

  // Not vacuous: the servers' links to the meta do lapse, switch metas and follow failovers.
  it('simulates lease lapses, meta switches and meta failovers', () => {
    const totals = { leaseLapses: 0, metaSwitches: 0, metaFailovers: 0 };
    for (const seed of range(1, 10)) {
      const { stats } = runSimulation({ seed, steps: 5_000, faults: { partition: 1, meta_failover: 1, loss: 0.5 } });
      totals.leaseLapses += stats.leaseLapses;
      totals.metaSwitches += stats.metaSwitches;
      totals.metaFailovers += stats.metaFailovers;
    }
    assert.ok(totals.leaseLapses > 0 && totals.metaSwitches > 0 && totals.metaFailovers > 0, JSON.stringify(totals));
  });
});

function firstFailure(options: Omit<SimOptions, 'seed'>, seedsMax: number): string {
  for (let seed = 1; seed <= seedsMax; seed++) {
    const result = runSimulation({ seed, steps: 12_000, ...options });
    if (!result.ok) return result.failure!;
  }
  assert.fail(`no seed up to ${seedsMax} failed`);
}

describe('invariant checker', () => {
  interface FakeNode {
    name: string;
    up: boolean;
    core: { role: string; ballot: number; lastCommitted: number } | undefined;
    disk: { applied: number; store: Map<string, string> };
  }
  const node = (name: string): FakeNode => ({ name, up: true, core: undefined, disk: { applied: 0, store: new Map() } });
  const put = (decree: number, key: string, value: string, timestampUs = BigInt(decree)): Mutation => ({
    decree, ballot: 1, timestampUs, writes: [{ op: 'put', request: { key: Buffer.from(key), value: Buffer.from(value), expireTsSeconds: 0 } }],
  });
  const apply = (checker: InvariantChecker, target: FakeNode, mutation: Mutation): void => {
    checker.beforeApply(target as unknown as SimNode, mutation);
    for (const write of mutation.writes) if (write.op === 'put') target.disk.store.set(write.request.key.toString(), write.request.value.toString());
    target.disk.applied = mutation.decree;
    checker.afterStoreChange(target as unknown as SimNode, 'apply');
  };
  const checker = (): { checker: InvariantChecker; violations: string[] } => {
    const violations: string[] = [];
    return { checker: new InvariantChecker((text) => violations.push(text)), violations };
  };

  it('accepts the same history on every node', () => {
    const { checker: check, violations } = checker();
    const a = node('a');
    const b = node('b');
    for (const target of [a, b]) {
      apply(check, target, put(1, 'k', 'x'));
      apply(check, target, put(2, 'k', 'y'));
    }
    assert.deepEqual(violations, []);
  });

  it('flags a committed decree applied with other content', () => {
    const { checker: check, violations } = checker();
    apply(check, node('a'), put(1, 'k', 'x'));
    apply(check, node('b'), put(1, 'k', 'z'));
    assert.match(violations[0] ?? '', /committed decree 1 changed/);
  });

  it('flags decrees applied out of order and a store that differs from the reference', () => {
    const { checker: check, violations } = checker();
    const a = node('a');
    apply(check, a, put(1, 'k', 'x'));
    check.beforeApply(a as unknown as SimNode, put(3, 'k', 'y'));
    assert.match(violations[0] ?? '', /not in order/);
    const b = node('b');
    b.disk.applied = 1;
    b.disk.store.set('k', 'other');
    check.afterStoreChange(b as unknown as SimNode, 'checkpoint');
    assert.match(violations[1] ?? '', /differs from the reference at decree 1/);
  });

  it('flags two primaries of one ballot, also at different times', () => {
    const { checker: check, violations } = checker();
    const a = node('a');
    const b = node('b');
    a.core = { role: 'primary', ballot: 4, lastCommitted: 0 };
    check.checkStep([a, b] as unknown as SimNode[]);
    a.core = { role: 'secondary', ballot: 4, lastCommitted: 0 };
    b.core = { role: 'primary', ballot: 4, lastCommitted: 0 };
    check.checkStep([a, b] as unknown as SimNode[]);
    assert.match(violations[0] ?? '', /two primaries for ballot 4/);
  });
});
