// The safety invariants the simulator checks after every step, against a reference history
// built from the first application of each decree anywhere:
//   - at most one node is primary for any ballot (over the whole run, not just at one instant);
//   - a committed decree never changes: every node that applies decree d applies the same
//     writes (and timestamp) as the first node that applied it;
//   - every node applies decrees in order, one after the other, and its store after applying d
//     (or after installing a checkpoint at d) equals the reference state at d; the applied decree
//     goes backwards only through a checkpoint, which must then match the reference;
//   - the state machine and the store agree on the commit point.
import type { Mutation } from '../../src/replica/write/mutation.ts';
import type { SimNode } from './node.ts';

export class InvariantChecker {
  private readonly primaryOfBallot = new Map<number, string>();
  /** Per decree: the content digest of its first application, and who applied it. */
  private readonly decrees: Array<{ digest: string; node: string }> = [{ digest: '', node: '' }];
  /** Per decree: the reference store after applying it. */
  private readonly states: Array<ReadonlyMap<string, string>> = [new Map()];

  constructor(private readonly violation: (text: string) => void) {}

  get highestDecree(): number {
    return this.decrees.length - 1;
  }

  /** Content of committed decree `decree` as first applied, if any node applied it. */
  digestOf(decree: number): string | undefined {
    return this.decrees[decree]?.digest;
  }

  /** Whether `mutation` is the committed version of its decree (as some node applied it). */
  isCommitted(mutation: Mutation): boolean {
    const first = this.decrees[mutation.decree];
    return first !== undefined && mutation.decree > 0 && first.digest === digestOf(mutation);
  }

  beforeApply(node: SimNode, mutation: Mutation): void {
    const decree = mutation.decree;
    if (decree !== node.disk.applied + 1) {
      this.violation(`${node.name} applies decree ${decree} after ${node.disk.applied} (not in order)`);
      return;
    }
    const digest = digestOf(mutation);
    const first = this.decrees[decree];
    if (first) {
      if (first.digest !== digest) {
        this.violation(`committed decree ${decree} changed: ${node.name} applies ${digest}, but ${first.node} applied ${first.digest}`);
      }
      return;
    }
    if (decree !== this.decrees.length) {
      this.violation(`${node.name} applies decree ${decree}, but no node applied decree ${this.decrees.length} yet`);
      return;
    }
    this.decrees.push({ digest, node: node.name });
    const next = new Map(this.states[decree - 1]!);
    for (const write of mutation.writes) {
      if (write.op === 'put') next.set(write.request.key.toString(), write.request.value.toString());
    }
    this.states.push(next);
  }

  afterStoreChange(node: SimNode, how: string): void {
    const decree = node.disk.applied;
    const reference = this.states[decree];
    if (!reference) {
      this.violation(`${node.name} store is at decree ${decree} after ${how}, which no node applied`);
      return;
    }
    const store = node.disk.store;
    let same = store.size === reference.size;
    if (same) {
      for (const [key, value] of reference) {
        if (store.get(key) !== value) {
          same = false;
          break;
        }
      }
    }
    if (!same) {
      this.violation(`${node.name} store after ${how} differs from the reference at decree ${decree}: ${mapText(store)} vs ${mapText(reference)}`);
    }
  }

  /** After every step. */
  checkStep(nodes: readonly SimNode[]): void {
    for (const node of nodes) {
      const core = node.core;
      if (!node.up || !core) continue;
      if (core.role === 'primary') {
        const holder = this.primaryOfBallot.get(core.ballot);
        if (holder === undefined) this.primaryOfBallot.set(core.ballot, node.name);
        else if (holder !== node.name) this.violation(`two primaries for ballot ${core.ballot}: ${holder} and ${node.name}`);
      }
      if (core.role !== 'error' && core.lastCommitted !== node.disk.applied) {
        this.violation(`${node.name}: the state machine committed ${core.lastCommitted} but the store applied ${node.disk.applied}`);
      }
    }
  }
}

function digestOf(mutation: Mutation): string {
  const writes = mutation.writes.map((write) => (write.op === 'put' ? `${write.request.key.toString()}=${write.request.value.toString()}` : write.op));
  return `[${writes.join(' ')}]@${mutation.timestampUs}`;
}

function mapText(map: ReadonlyMap<string, string>): string {
  return `{${[...map].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => `${key}=${value}`).join(' ')}}`;
}
