// The PacificA core's assertions: inputs that only a bug in its shell could produce stop it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReplicaCore, type CoreOptions, type RestoredState } from '../../src/replica/pacifica/core.ts';
import type { Mutation } from '../../src/replica/write/mutation.ts';

const SELF = '10.0.0.1:34801';
const OPTIONS: CoreOptions = {
  self: SELF, prepareTimeoutMs: 1_000, prepareRetryMs: 100, groupCheckIntervalMs: 1_000, learnTimeoutMs: 1_000, cacheDecreesMax: 16, changeRetryMs: 1_000,
};
const EMPTY: RestoredState = { lastApplied: 0, ballot: 0, records: [] };
const mutationOf = (decree: number, ballot: number): Mutation => ({ decree, ballot, timestampUs: 0n, writes: [] });

/** A replica that leads ballot 1 alone. */
function soloPrimary(): ReplicaCore {
  const core = new ReplicaCore(OPTIONS, EMPTY);
  core.onConfig({ ballot: 1, primary: SELF, secondaries: [] }, 0);
  core.takeActions();
  assert.equal(core.role, 'primary');
  return core;
}

describe('replica core assertions', () => {
  test('a primary commits what it proposed in decree order, and refuses a decree out of sequence', () => {
    const core = soloPrimary();
    core.propose(mutationOf(1, 1), 0);
    core.logged(1, 1, 0);
    assert.deepEqual(core.takeActions().map((action) => action.kind), ['append', 'apply']);
    assert.equal(core.lastCommitted, 1);
    assert.throws(() => core.propose(mutationOf(3, 1), 0), /assertion failed: proposed decree 3 follows 1/);
  });

  test('a logged append of a ballot the replica never held is a bug', () => {
    const core = soloPrimary();
    core.propose(mutationOf(1, 1), 0);
    assert.throws(() => core.logged(1, 2, 0), /assertion failed: a logged append's ballot 2/);
  });

  test('a restored record that does not follow its commit point is a bug', () => {
    const records = [{ mutation: mutationOf(2, 1), lastCommittedDecree: 2 }];
    assert.throws(() => new ReplicaCore(OPTIONS, { lastApplied: 0, ballot: 1, records }), /assertion failed: restored decree 2 follows the commit point 2/);
  });
});
