// The replica side of a partition split, its deterministic parts: which count a partition judges
// keys by as the meta's news arrives, the errors a request's partition hash gets, which stale
// keys a learner leaves out, and the child's share of a parent's checkpoint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compositeKeyHash, partitionIndexOf } from '../../src/base/index.ts';
import { encodeKey, type Checkpoint } from '../../src/storage/index.ts';
import { childEntries, heldBeforeSplit, isSplitParent, partitionHashRefusal, ReplicaSplitState } from '../../src/replica/split/index.ts';

const SPLIT_8_TO_16 = { partitionCount: 16, initPartitionCount: 8 };

/** A hash key whose record hash falls in partition `index` of `count`. */
function keyIn(index: number, count: number, start = 0): Buffer {
  for (let n = start; ; n++) {
    const key = encodeKey(Buffer.from(`hk${n}`), Buffer.from('sk'));
    if (partitionIndexOf(compositeKeyHash(key), count) === index) return key;
  }
}

describe('split state of a replica', () => {
  it('tells parents from children and from tables never split', () => {
    assert.equal(isSplitParent(3, SPLIT_8_TO_16), true);
    assert.equal(isSplitParent(11, SPLIT_8_TO_16), false);
    assert.equal(isSplitParent(3, { partitionCount: 16, initPartitionCount: -1 }), false);
    assert.equal(isSplitParent(3, { partitionCount: 8, initPartitionCount: 8 }), false);
  });

  it('a parent serves both halves while splitting, one once registered, and does not know before the meta says', () => {
    const state = new ReplicaSplitState();
    assert.equal(state.servingCount(3, SPLIT_8_TO_16), undefined);
    assert.equal(state.keyCount(3, SPLIT_8_TO_16), 8);
    state.onConfigSync(16, 'SPLITTING');
    assert.equal(state.servingCount(3, SPLIT_8_TO_16), 8);
    assert.equal(state.statusAt(16), 'SPLITTING');
    state.childRegistered(16);
    assert.equal(state.servingCount(3, SPLIT_8_TO_16), 16);
    assert.equal(state.statusAt(16), undefined);
    // A config sync answered before the registration does not take it back.
    state.onConfigSync(16, 'SPLITTING');
    assert.equal(state.servingCount(3, SPLIT_8_TO_16), 16);
    // The next split starts unknown again, until the meta says.
    assert.equal(state.servingCount(3, { partitionCount: 32, initPartitionCount: 8 }), undefined);
    state.onConfigSync(32, undefined);
    assert.equal(state.servingCount(3, { partitionCount: 32, initPartitionCount: 8 }), 32);
    // A child always serves the table's count.
    assert.equal(new ReplicaSplitState().servingCount(11, SPLIT_8_TO_16), 16);
  });

  it('refuses a misrouted hash with ERR_PARENT_PARTITION_MISUSED and a child key at an unsure parent with ERR_SPLITTING', () => {
    const own = compositeKeyHash(keyIn(3, 16));
    const child = compositeKeyHash(keyIn(11, 16));
    const other = compositeKeyHash(keyIn(5, 16));
    assert.equal(partitionHashRefusal(0n, 3, SPLIT_8_TO_16, undefined), undefined);
    assert.equal(partitionHashRefusal(own, 3, SPLIT_8_TO_16, undefined), undefined);
    assert.equal(partitionHashRefusal(child, 3, SPLIT_8_TO_16, undefined), 'ERR_SPLITTING');
    assert.equal(partitionHashRefusal(other, 3, SPLIT_8_TO_16, undefined), 'ERR_PARENT_PARTITION_MISUSED');
    assert.equal(partitionHashRefusal(child, 3, SPLIT_8_TO_16, 8), undefined);
    assert.equal(partitionHashRefusal(child, 3, SPLIT_8_TO_16, 16), 'ERR_PARENT_PARTITION_MISUSED');
    assert.equal(partitionHashRefusal(child, 11, SPLIT_8_TO_16, 16), undefined);
  });

  it('a key the partition held before a split is stale, one of an unrelated partition is not', () => {
    assert.equal(heldBeforeSplit(compositeKeyHash(keyIn(11, 16)), 3, 16), true);
    assert.equal(heldBeforeSplit(compositeKeyHash(keyIn(19, 32)), 3, 32), true);
    assert.equal(heldBeforeSplit(compositeKeyHash(keyIn(5, 16)), 3, 16), false);
  });

  it("the child's share of a parent's checkpoint is the keys of the child's index", async () => {
    const keys = [keyIn(3, 16), keyIn(11, 16), keyIn(3, 16, 1000), keyIn(11, 16, 1000)].sort(Buffer.compare);
    const parent: Checkpoint = {
      decree: 42,
      dataVersion: 1,
      async *entries() {
        for (const key of keys) yield [key, Buffer.from('v')];
      },
    };
    const child = childEntries(parent, 11, 16);
    assert.deepEqual([child.decree, child.dataVersion], [42, 1]);
    const copied: Buffer[] = [];
    for await (const [key] of child.entries()) copied.push(key);
    assert.equal(copied.length, 2);
    assert.ok(copied.every((key) => partitionIndexOf(compositeKeyHash(key), 16) === 11));
  });
});
