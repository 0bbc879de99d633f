import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertConfigurationChange, assertMembershipWellFormed, guardianStep, type GuardianState } from '../../src/meta/index.ts';
import { applyConfigChange, newPartitionConfiguration, type PartitionConfiguration } from '../../src/cluster/index.ts';

const A = '10.0.0.1:34801';
const B = '10.0.0.2:34801';
const C = '10.0.0.3:34801';

function config(primary: string, secondaries: string[], extra: Partial<PartitionConfiguration> = {}): PartitionConfiguration {
  return { ...newPartitionConfiguration(1, 0, 3), ballot: 5, primary, secondaries, lastCommittedDecree: 10, ...extra };
}

describe('configuration invariants', () => {
  it('accept every change applyConfigChange makes', () => {
    const current = config(A, [B]);
    for (const [type, node] of [['CT_ADD_SECONDARY', C], ['CT_REMOVE', B], ['CT_DOWNGRADE_TO_SECONDARY', A], ['CT_DOWNGRADE_TO_INACTIVE', A], ['CT_PRIMARY_FORCE_UPDATE_BALLOT', A], ['CT_DROP_PARTITION', '']] as const) {
      assertConfigurationChange(current, applyConfigChange(current, type, node)!, type, node, 'test');
    }
    const primaryless = config('', [B]);
    assertConfigurationChange(primaryless, applyConfigChange(primaryless, 'CT_UPGRADE_TO_PRIMARY', B)!, 'CT_UPGRADE_TO_PRIMARY', B, 'test');
  });

  it('refuse a primary that is also a secondary, or a secondary listed twice', () => {
    assert.throws(() => assertMembershipWellFormed(config(A, [A, B]), 'test'), /assertion failed: test: the primary of 1\.0/);
    assert.throws(() => assertMembershipWellFormed(config(A, [B, B]), 'test'), /lists a secondary twice/);
    assert.throws(() => assertMembershipWellFormed(config(A, ['']), 'test'), /without an address/);
  });

  it('refuse a change that skips a ballot, forgets committed decrees or does not do what its type says', () => {
    const current = config(A, [B]);
    const added = applyConfigChange(current, 'CT_ADD_SECONDARY', C)!;
    assert.throws(() => assertConfigurationChange(current, { ...added, ballot: 7 }, 'CT_ADD_SECONDARY', C, 'test'), /ballot of 1\.0 goes 5 → 7/);
    assert.throws(() => assertConfigurationChange(current, { ...added, lastCommittedDecree: 9 }, 'CT_ADD_SECONDARY', C, 'test'), /committed decree of 1\.0 goes back/);
    assert.throws(() => assertConfigurationChange(current, added, 'CT_REMOVE', B, 'test'), /does not remove a member/);
    assert.throws(() => assertConfigurationChange(current, { ...added, gpid: { appId: 1, partitionIndex: 1 } }, 'CT_ADD_SECONDARY', C, 'test'), /carries the configuration of 1\.1/);
  });

  it('the guardian refuses to read an ill-formed configuration', () => {
    const state: GuardianState = {
      level: 'fl_steady',
      apps: new Map([[1, {
        status: 'AS_AVAILABLE', appType: 'pegasus', appName: 't1', appId: 1, partitionCount: 1, envs: {}, isStateful: true, maxReplicaCount: 3,
        expireSecond: 0, createSecond: 0, dropSecond: 0, duplicating: false, initPartitionCount: 1, isBulkLoading: false, atomicIdempotent: false,
      }]]),
      partitions: new Map([[1, [config(A, [A, B])]]]),
      aliveNodes: new Set([A, B, C]),
      pending: new Set(),
      dropped: new Map(),
      options: { mutation2pcMinReplicaCount: 2, replicaAssignDelayMsForDropouts: 600_000, addSecondaryEnableFlowControl: false, addSecondaryMaxCountForOneNode: 10 },
    };
    assert.throws(() => guardianStep(state, { kind: 'check_all' }, 0), /guardian reads a configuration: the primary of 1\.0/);
  });
});
