// Atomic writes made idempotent (a table's atomic_idempotent, Pegasus's make_idempotent): the
// primary's write path waits until every earlier mutation is applied, executes the incr or
// check_and_* against the store and replicates the puts and removes it results in; a failed
// check is answered at once without a mutation. With the flag off nothing changes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MutationPath, StoreApplier, type ClientWrite, type Mutation, type MutationCommitter } from '../../src/replica/index.ts';
import { encodeKey, memoryEngine, ReplicaStore } from '../../src/storage/index.ts';
import { CasCheckType, MutateOperation, UpdateType } from '../../src/wire/index.ts';

const k = (sortKey: string): Buffer => encodeKey(Buffer.from('h'), Buffer.from(sortKey));
const incr = (sortKey: string, increment: bigint): ClientWrite => ({ op: 'incr', request: { key: k(sortKey), increment, expireTsSeconds: 0 } });
const put = (sortKey: string, value: string): ClientWrite => ({ op: 'put', request: { key: k(sortKey), value: Buffer.from(value), expireTsSeconds: 0 } });
const checkAndSet = (checkType: CasCheckType, value: string): ClientWrite => ({
  op: 'check_and_set',
  request: {
    hashKey: Buffer.from('h'), checkSortKey: Buffer.from('c'), checkType, checkOperand: Buffer.alloc(0), setDiffSortKey: false,
    setSortKey: Buffer.alloc(0), setValue: Buffer.from(value), setExpireTsSeconds: 0, returnCheckValue: true,
  },
});

/** A primary's write path on a real store; records every mutation it replicates. */
async function primaryPath(atomicIdempotent: () => boolean) {
  const store = await ReplicaStore.open({ replicaDir: '/replica/9.0.pegasus', engineFactory: memoryEngine() });
  const applier = new StoreApplier(store, () => ({ defaultTtlSeconds: 0 }));
  const replicated: Mutation[] = [];
  const committer: MutationCommitter = { commit: (mutation) => (replicated.push(mutation), applier.apply(mutation)) };
  const path = new MutationPath({
    committer, lastDecree: 0, ballot: 1, maxInFlight: 8, maxQueuedWrites: 100,
    idempotence: { enabled: atomicIdempotent, convert: (write, timestampUs) => applier.makeIdempotent(write, timestampUs) },
  });
  return { store, path, replicated };
}

describe('atomic writes made idempotent', () => {
  test('incr after queued puts sees them and replicates a put of the sum', async () => {
    const { store, path, replicated } = await primaryPath(() => true);
    const results = await Promise.all([path.submit(put('n', '40'), 10), path.submit(incr('n', 2n), 10), path.submit(incr('n', -1n), 10)]);
    assert.deepEqual(results.map((result) => result.outcome.newValue), [undefined, 42n, 41n]);
    assert.deepEqual(results.map((result) => result.decree), [1, 2, 3]);
    assert.deepEqual(replicated.slice(1).map((mutation) => mutation.writes), [
      [{ op: 'put', request: { key: k('n'), value: Buffer.from('42'), expireTsSeconds: 0, type: UpdateType.UT_INCR } }],
      [{ op: 'put', request: { key: k('n'), value: Buffer.from('41'), expireTsSeconds: 0, type: UpdateType.UT_INCR } }],
    ]);
    assert.equal((await store.get(k('n')))?.userData.toString(), '41');
  });

  test('check_and_set: a passing check replicates the put, a failing one is answered at once without a mutation', async () => {
    const { store, path, replicated } = await primaryPath(() => true);
    const first = await path.submit(checkAndSet(CasCheckType.CT_VALUE_NOT_EXIST, 'one'), 10);
    assert.equal(first.outcome.error, 0);
    assert.deepEqual(replicated.map((mutation) => mutation.writes[0]), [
      { op: 'put', request: { key: k('c'), value: Buffer.from('one'), expireTsSeconds: 0, type: UpdateType.UT_CHECK_AND_SET } },
    ]);
    const second = await path.submit(checkAndSet(CasCheckType.CT_VALUE_NOT_EXIST, 'two'), 10);
    assert.equal(second.outcome.error, 13, 'kTryAgain');
    assert.deepEqual(second.outcome.check, { returned: true, exist: true, value: Buffer.from('one') });
    assert.equal(replicated.length, 1);
    assert.equal(path.lastPreparedDecree, 1);
    assert.equal((await store.get(k('c')))?.userData.toString(), 'one');
  });

  test('check_and_mutate replicates its puts and removes', async () => {
    const { path, replicated } = await primaryPath(() => true);
    await path.submit(put('gone', 'x'), 10);
    const result = await path.submit({
      op: 'check_and_mutate',
      request: {
        hashKey: Buffer.from('h'), checkSortKey: Buffer.from('c'), checkType: CasCheckType.CT_VALUE_NOT_EXIST, checkOperand: Buffer.alloc(0),
        mutateList: [
          { operation: MutateOperation.MO_PUT, sortKey: Buffer.from('c'), value: Buffer.from('v'), setExpireTsSeconds: 0 },
          { operation: MutateOperation.MO_DELETE, sortKey: Buffer.from('gone'), value: Buffer.alloc(0), setExpireTsSeconds: 0 },
        ],
        returnCheckValue: false,
      },
    }, 10);
    assert.equal(result.outcome.error, 0);
    assert.deepEqual(replicated[1]!.writes, [
      { op: 'put', request: { key: k('c'), value: Buffer.from('v'), expireTsSeconds: 0, type: UpdateType.UT_CHECK_AND_MUTATE_PUT } },
      { op: 'remove', key: k('gone') },
    ]);
  });

  test('with the flag off an incr is replicated as it came', async () => {
    const { path, replicated } = await primaryPath(() => false);
    assert.equal((await path.submit(incr('n', 5n), 10)).outcome.newValue, 5n);
    assert.deepEqual(replicated.map((mutation) => mutation.writes), [[incr('n', 5n)]]);
  });
});
