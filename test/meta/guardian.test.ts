import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagFromText } from '../../src/config/index.ts';
import { choosePrimaryNode, chooseSecondaryNode, effectiveFunctionLevel, guardianStep, LoadTally, planPlacement, type DroppedReplica, type GuardianAction, type GuardianOptions, type GuardianState } from '../../src/meta/index.ts';
import { applyConfigChange, newPartitionConfiguration, type AppInfo, type FunctionLevel, type PartitionConfiguration } from '../../src/cluster/index.ts';
import { createMetaHarness } from '../helpers/meta-harness.ts';

const A = '10.0.0.1:34801';
const B = '10.0.0.2:34801';
const C = '10.0.0.3:34801';
const D = '10.0.0.4:34801';
const NOW = 1_000_000_000;

const OPTIONS: GuardianOptions = {
  mutation2pcMinReplicaCount: 2,
  replicaAssignDelayMsForDropouts: 600_000,
  addSecondaryEnableFlowControl: false,
  addSecondaryMaxCountForOneNode: 10,
};

function app(appId: number, partitionCount: number, status: AppInfo['status'] = 'AS_AVAILABLE'): AppInfo {
  return {
    status, appType: 'pegasus', appName: `t${appId}`, appId, partitionCount, envs: {}, isStateful: true, maxReplicaCount: 3,
    expireSecond: 0, createSecond: 0, dropSecond: 0, duplicating: false, initPartitionCount: partitionCount, isBulkLoading: false,
    atomicIdempotent: false,
  };
}

function pc(partitionIndex: number, primary: string, secondaries: string[], extra: Partial<PartitionConfiguration> = {}): PartitionConfiguration {
  return { ...newPartitionConfiguration(1, partitionIndex, 3), ballot: 5, primary, secondaries, ...extra };
}

interface Setup {
  configs: PartitionConfiguration[];
  alive: string[];
  level?: FunctionLevel;
  pending?: string[];
  dropped?: Record<string, DroppedReplica[]>;
  options?: Partial<GuardianOptions>;
  status?: AppInfo['status'];
  blackList?: string[];
}

function stateOf(setup: Setup): GuardianState {
  return {
    level: setup.level ?? 'fl_steady',
    apps: new Map([[1, app(1, setup.configs.length, setup.status)]]),
    partitions: new Map([[1, setup.configs]]),
    aliveNodes: new Set(setup.alive),
    pending: new Set(setup.pending ?? []),
    dropped: new Map(Object.entries(setup.dropped ?? {})),
    blackList: setup.blackList ? new Set(setup.blackList) : undefined,
    options: { ...OPTIONS, ...setup.options },
  };
}

function step(setup: Setup, event: Parameters<typeof guardianStep>[1] = { kind: 'check_all' }, nowMs = NOW): GuardianAction[] {
  return guardianStep(stateOf(setup), event, nowMs);
}

/** [kind, type, target, node] per action: the part every case checks. */
function summary(actions: GuardianAction[]): Array<[string, string, string, string]> {
  return actions.map((action) => {
    switch (action.kind) {
      case 'update': return ['update', action.type, '', action.node];
      case 'proposal': return ['proposal', action.type, action.target, action.node];
      case 'ddd': return ['ddd', '', '', action.reason];
    }
  });
}

function assertBallotsIncrease(actions: GuardianAction[], configs: PartitionConfiguration[]): void {
  for (const action of actions) {
    if (action.kind === 'ddd') continue;
    const before = configs[action.gpid.partitionIndex]!;
    const after = action.kind === 'update' ? action.config : action.expected;
    assert.equal(after.ballot, before.ballot + 1, `${action.kind} ${action.type} moves the ballot by one`);
    if (action.kind === 'proposal') assert.deepEqual(action.config, before, 'a proposal carries the current configuration');
  }
}

describe('guardian: dead members (§2.8)', () => {
  it('downgrades a dead primary itself, then promotes the secondary with the fewest primaries', () => {
    const configs = [pc(0, A, [B, C]), pc(1, C, [A, B])];
    const first = step({ configs, alive: [B, C] }, { kind: 'node_dead', node: A });
    // Partition 1 has A as a secondary: its primary C is asked to drop it.
    assert.deepEqual(summary(first), [['update', 'CT_DOWNGRADE_TO_INACTIVE', '', A], ['proposal', 'CT_DOWNGRADE_TO_INACTIVE', C, A]]);
    assertBallotsIncrease(first, configs);
    const downgraded = (first[0] as Extract<GuardianAction, { kind: 'update' }>).config;
    assert.equal(downgraded.primary, '');
    assert.deepEqual(downgraded.secondaries, [B, C]);
    assert.deepEqual(downgraded.lastDrops, [A]);

    const next = [downgraded, configs[1]!];
    const second = step({ configs: next, alive: [B, C] }, { kind: 'cure', gpids: [downgraded.gpid] });
    // C is already primary of partition 1, so B is promoted.
    assert.deepEqual(summary(second), [['proposal', 'CT_UPGRADE_TO_PRIMARY', B, B]]);
    assertBallotsIncrease(second, next);
    const expected = (second[0] as Extract<GuardianAction, { kind: 'proposal' }>).expected;
    assert.equal(expected.primary, B);
    assert.deepEqual(expected.secondaries, [C]);
    assert.equal(expected.ballot, configs[0]!.ballot + 2);
  });

  it('promotes the secondary that reported the highest committed decree, whatever its load', () => {
    // D already leads partition 1, so by load alone D would lose to C.
    const configs = [pc(0, '', [C, D]), pc(1, D, [A, B])];
    const report = (lastCommittedDecree: number) => ({ lastCommittedDecree });
    const reported = (reports: Record<string, number>) => guardianStep(
      { ...stateOf({ configs, alive: [A, B, C, D] }), memberReports: new Map([['1.0', new Map(Object.entries(reports).map(([node, decree]) => [node, report(decree)]))]]) },
      { kind: 'cure', gpids: [configs[0]!.gpid] },
      NOW,
    );
    assert.deepEqual(summary(reported({ [C]: 40, [D]: 41 })), [['proposal', 'CT_UPGRADE_TO_PRIMARY', D, D]]);
    assert.deepEqual(summary(reported({ [C]: 41, [D]: 41 })), [['proposal', 'CT_UPGRADE_TO_PRIMARY', C, C]], 'a tie goes to the less loaded node');
    assert.deepEqual(summary(reported({ [D]: 7 })), [['proposal', 'CT_UPGRADE_TO_PRIMARY', D, D]], 'a node that reported beats one that did not');
    assert.deepEqual(summary(reported({})), [['proposal', 'CT_UPGRADE_TO_PRIMARY', C, C]], 'without reports, load decides');
  });

  it('asks the primary to remove a dead secondary', () => {
    const configs = [pc(0, A, [B, C])];
    const actions = step({ configs, alive: [A, C] }, { kind: 'node_dead', node: B });
    assert.deepEqual(summary(actions), [['proposal', 'CT_DOWNGRADE_TO_INACTIVE', A, B]]);
    assertBallotsIncrease(actions, configs);
    const expected = (actions[0] as Extract<GuardianAction, { kind: 'proposal' }>).expected;
    assert.deepEqual(expected.secondaries, [C]);
    assert.deepEqual(expected.lastDrops, [B]);
  });

  it('removes a dead secondary itself when the partition has no primary', () => {
    const configs = [pc(0, '', [B, C])];
    const actions = step({ configs, alive: [A, C] });
    assert.deepEqual(summary(actions), [['update', 'CT_DOWNGRADE_TO_INACTIVE', '', B]]);
    assertBallotsIncrease(actions, configs);
  });

  it('keeps a dead primary that is the only node the partition ever had (no secondaries, no last drops)', () => {
    // Nothing else could lead it: taken out, it would leave a DDD waiting for this same node, and
    // one that never acted as primary (its ballot-1 configuration never reached it) could then not
    // lead from its empty store. With a drop history, it goes as usual.
    const first = [pc(0, A, [], { ballot: 1 })];
    assert.deepEqual(step({ configs: first, alive: [B, C] }, { kind: 'node_dead', node: A }), []);
    assert.deepEqual(step({ configs: first, alive: [B, C] }), []);
    const later = [pc(0, A, [], { lastDrops: [B] })];
    assert.deepEqual(summary(step({ configs: later, alive: [B, C] }, { kind: 'node_dead', node: A })), [['update', 'CT_DOWNGRADE_TO_INACTIVE', '', A]]);
  });

  it('only looks at the dead node\'s partitions on node_dead', () => {
    const configs = [pc(0, A, [B]), pc(1, C, [D]), pc(2, '', [])];
    const actions = step({ configs, alive: [B, C, D] }, { kind: 'node_dead', node: A });
    assert.deepEqual(actions.map((action) => action.gpid.partitionIndex), [0]);
  });
});

describe('guardian: missing primary (§2.5)', () => {
  it('assigns brand-new partitions\' primaries evenly in one round', () => {
    const configs = Array.from({ length: 8 }, (_, index) => pc(index, '', [], { ballot: 0 }));
    const actions = step({ configs, alive: [C, A, B] });
    assert.equal(actions.length, 8);
    assertBallotsIncrease(actions, configs);
    const counts = new Map<string, number>();
    for (const action of actions) {
      assert.equal(action.kind, 'proposal');
      if (action.kind !== 'proposal') continue;
      assert.equal(action.type, 'CT_ASSIGN_PRIMARY');
      assert.equal(action.target, action.node, 'sent to the node that becomes primary');
      counts.set(action.node, (counts.get(action.node) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { [A]: 3, [B]: 3, [C]: 2 });
  });

  it('does nothing for a new partition when no node is alive', () => {
    assert.deepEqual(step({ configs: [pc(0, '', [], { ballot: 0 })], alive: [] }), []);
  });

  describe('all replicas dead (DDD)', () => {
    const report = (node: string, ballot: number, lastCommittedDecree: number, lastPreparedDecree: number): DroppedReplica =>
      ({ node, droppedAtMs: NOW - 1000, ballot, lastCommittedDecree, lastPreparedDecree });

    it('waits for a single last drop to come back and report its replica, then makes it primary', () => {
      const configs = [pc(0, '', [], { lastDrops: [A], lastCommittedDecree: 10 })];
      assert.deepEqual(summary(step({ configs, alive: [B, C] })), [['ddd', '', '', `the only last drop ${A} is not alive`]]);
      assert.deepEqual(summary(step({ configs, alive: [A, B, C] })), [['ddd', '', '', `the only last drop ${A} has not reported its replica`]]);
      const actions = step({ configs, alive: [A, B, C], dropped: { '1.0': [report(A, 5, 10, 10)] } });
      assert.deepEqual(summary(actions), [['proposal', 'CT_ASSIGN_PRIMARY', A, A]]);
      assertBallotsIncrease(actions, configs);
      assert.deepEqual((actions[0] as Extract<GuardianAction, { kind: 'proposal' }>).expected.lastDrops, []);
    });

    it('never picks a last drop that reports no replica data (ballot 0: an empty or wiped data dir)', () => {
      const single = [pc(0, '', [], { lastDrops: [A] })];
      assert.deepEqual(summary(step({ configs: single, alive: [A], dropped: { '1.0': [report(A, 0, 0, 0)] } })),
        [['ddd', '', '', `last drop ${A} holds no replica data (it reported ballot 0)`]]);
      // With two, one with data wins whatever the decrees; two without leave the partition dead.
      const configs = [pc(0, '', [], { lastDrops: [A, B], lastCommittedDecree: 10 })];
      const pick = (a: DroppedReplica, b: DroppedReplica) => summary(step({ configs, alive: [A, B], dropped: { '1.0': [a, b] } }))[0]!;
      assert.deepEqual(pick(report(A, 4, 10, 12), report(B, 0, 0, 0)), ['proposal', 'CT_ASSIGN_PRIMARY', A, A]);
      assert.deepEqual(pick(report(A, 0, 0, 0), report(B, 0, 0, 0)), ['ddd', '', '', `last drop ${B} holds no replica data (it reported ballot 0)`]);
    });

    it('needs the two most recent drops alive and reported, and picks the newer ballot', () => {
      const configs = [pc(0, '', [], { lastDrops: [C, A, B], lastCommittedDecree: 10 })];
      assert.match(summary(step({ configs, alive: [B, C] }))[0]![3], new RegExp(`last drop ${A} is not alive`));
      assert.match(summary(step({ configs, alive: [A, B], dropped: { '1.0': [report(A, 5, 10, 12)] } }))[0]![3], /have not both reported/);
      const dropped = { '1.0': [report(A, 5, 10, 12), report(B, 4, 20, 25)] };
      assert.deepEqual(summary(step({ configs, alive: [A, B], dropped })), [['proposal', 'CT_ASSIGN_PRIMARY', A, A]]);
    });

    it('breaks a ballot tie by committed, then prepared decree, then recency', () => {
      const configs = [pc(0, '', [], { lastDrops: [A, B], lastCommittedDecree: 10 })];
      const pick = (a: DroppedReplica, b: DroppedReplica) => summary(step({ configs, alive: [A, B], dropped: { '1.0': [a, b] } }))[0]!;
      assert.deepEqual(pick(report(A, 5, 11, 12), report(B, 5, 10, 15)), ['proposal', 'CT_ASSIGN_PRIMARY', A, A]);
      assert.deepEqual(pick(report(A, 5, 10, 12), report(B, 5, 10, 15)), ['proposal', 'CT_ASSIGN_PRIMARY', B, B]);
      assert.deepEqual(pick(report(A, 5, 10, 12), report(B, 5, 10, 12)), ['proposal', 'CT_ASSIGN_PRIMARY', B, B]);
    });

    it('refuses a candidate that has not prepared everything the partition committed', () => {
      const configs = [pc(0, '', [], { lastDrops: [A, B], lastCommittedDecree: 30 })];
      const actions = step({ configs, alive: [A, B], dropped: { '1.0': [report(A, 5, 20, 25), report(B, 4, 20, 29)] } });
      assert.deepEqual(summary(actions), [['ddd', '', '', `${A} prepared up to decree 25, less than the committed decree 30`]]);
    });
  });
});

describe('guardian: missing secondaries (§2.5)', () => {
  it('adds the least loaded alive node when there is no drop history', () => {
    const configs = [pc(0, A, [B]), pc(1, C, [A]), pc(2, A, [B, C])];
    const actions = step({ configs, alive: [A, B, C, D] });
    // D is empty; after it takes partition 0 it still holds fewer replicas of the table than B.
    assert.deepEqual(summary(actions), [['proposal', 'CT_ADD_SECONDARY', A, D], ['proposal', 'CT_ADD_SECONDARY', C, D]]);
    assertBallotsIncrease(actions, configs);
  });

  it('waits for a recently dropped node to come back instead of copying the data elsewhere', () => {
    const configs = [pc(0, A, [B], { lastDrops: [C] })];
    const dropped = { '1.0': [{ node: C, droppedAtMs: NOW - 60_000, ballot: -1, lastCommittedDecree: 0, lastPreparedDecree: 0 }] };
    assert.deepEqual(step({ configs, alive: [A, B, D], dropped }), [], 'C left a minute ago: wait for it');
    assert.deepEqual(summary(step({ configs, alive: [A, B, C, D], dropped })), [['proposal', 'CT_ADD_SECONDARY', A, C]], 'C is back');
    assert.deepEqual(
      summary(step({ configs, alive: [A, B, D], dropped }, { kind: 'check_all' }, NOW + 600_000)),
      [['proposal', 'CT_ADD_SECONDARY', A, D]],
      'the delay has passed: copy to D',
    );
    assert.deepEqual(summary(step({ configs, alive: [A, B, D], dropped, blackList: [C] })), [['proposal', 'CT_ADD_SECONDARY', A, D]], 'C is black-listed');
  });

  it('re-replicates at once when the partition is below the 2PC minimum, preferring a dropped node', () => {
    const configs = [pc(0, A, [], { lastDrops: [D, C] })];
    const dropped = { '1.0': [{ node: C, droppedAtMs: NOW - 1000, ballot: -1, lastCommittedDecree: 0, lastPreparedDecree: 0 }] };
    assert.deepEqual(summary(step({ configs, alive: [A, B, D], dropped })), [['proposal', 'CT_ADD_SECONDARY', A, D]]);
    assert.deepEqual(summary(step({ configs, alive: [A, B], dropped })), [['proposal', 'CT_ADD_SECONDARY', A, B]]);
  });

  it('limits new secondaries per node with flow control, serving partitions without secondaries first', () => {
    const configs = [pc(0, A, [B]), pc(1, A, []), pc(2, B, [A]), pc(3, B, [])];
    const options = { addSecondaryEnableFlowControl: true, addSecondaryMaxCountForOneNode: 1 };
    const actions = step({ configs, alive: [A, B, C], options });
    assert.deepEqual(summary(actions), [['proposal', 'CT_ADD_SECONDARY', A, C], ['proposal', 'CT_ADD_SECONDARY', B, A]]);
    assert.deepEqual(actions.map((action) => action.gpid.partitionIndex), [1, 3]);
  });

  it('removes the secondary on the most loaded node when there are too many members', () => {
    const configs = [pc(0, A, [B, C, D]), pc(1, D, [C])];
    const actions = step({ configs, alive: [A, B, C, D] });
    assert.deepEqual(summary(actions)[0], ['proposal', 'CT_REMOVE', A, C]);
    assertBallotsIncrease(actions, configs);
  });
});

describe('guardian: gating', () => {
  const mixed = () => [pc(0, A, [B, C]), pc(1, B, [C]), pc(2, '', [], { ballot: 0 }), pc(3, B, [A, C])];

  it('does nothing at stopped and blind, not even for a dead primary', () => {
    for (const level of ['fl_stopped', 'fl_blind'] as const) assert.deepEqual(step({ configs: mixed(), alive: [B, C], level }), []);
  });

  it('at freezed only takes dead members out itself; no proposals', () => {
    const actions = step({ configs: mixed(), alive: [B, C], level: 'fl_freezed' });
    assert.deepEqual(summary(actions), [['update', 'CT_DOWNGRADE_TO_INACTIVE', '', A]]);
  });

  it('at steady and lively cures everything', () => {
    for (const level of ['fl_steady', 'fl_lively'] as const) {
      const actions = step({ configs: mixed(), alive: [B, C], level });
      assert.deepEqual(summary(actions), [
        ['proposal', 'CT_ASSIGN_PRIMARY', C, C],
        ['update', 'CT_DOWNGRADE_TO_INACTIVE', '', A],
        ['proposal', 'CT_DOWNGRADE_TO_INACTIVE', B, A],
      ]);
    }
  });

  it('skips partitions with a write in flight and tables that are not available', () => {
    assert.deepEqual(step({ configs: [pc(0, A, [B, C])], alive: [B, C], pending: ['1.0'] }), []);
    assert.deepEqual(step({ configs: [pc(0, A, [B, C])], alive: [B, C], status: 'AS_DROPPED' }), []);
  });

  it('is deterministic', () => {
    const setup = { configs: mixed(), alive: [D, C, B] };
    assert.deepEqual(step(setup), step(setup));
  });

  it('drops the effective level to freezed when too few nodes are alive', () => {
    assert.equal(effectiveFunctionLevel('fl_steady', 3, 3, 3, 65), 'fl_steady');
    assert.equal(effectiveFunctionLevel('fl_lively', 2, 3, 3, 65), 'fl_freezed');
    assert.equal(effectiveFunctionLevel('fl_steady', 2, 3, 1, 65), 'fl_steady');
    assert.equal(effectiveFunctionLevel('fl_steady', 6, 10, 1, 65), 'fl_freezed');
    assert.equal(effectiveFunctionLevel('fl_blind', 0, 3, 3, 65), 'fl_blind');
  });
});

describe('placement', () => {
  it('balances 8 partitions x 3 replicas on 3 nodes', () => {
    const plan = planPlacement(1, 8, 3, [B, C, A]);
    const totals = new Map<string, number>();
    const primaries = new Map<string, number>();
    for (const partition of plan) {
      assert.equal(new Set([partition.primary, ...partition.secondaries]).size, 3, 'three distinct nodes');
      primaries.set(partition.primary, (primaries.get(partition.primary) ?? 0) + 1);
      for (const node of [partition.primary, ...partition.secondaries]) totals.set(node, (totals.get(node) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(primaries), { [A]: 3, [B]: 3, [C]: 2 });
    assert.deepEqual(Object.fromEntries(totals), { [A]: 8, [B]: 8, [C]: 8 });
  });

  it('balances 16 x 3 on 4 nodes exactly', () => {
    const plan = planPlacement(1, 16, 3, [A, B, C, D]);
    const totals = new Map<string, number>();
    const primaries = new Map<string, number>();
    for (const partition of plan) {
      primaries.set(partition.primary, (primaries.get(partition.primary) ?? 0) + 1);
      for (const node of [partition.primary, ...partition.secondaries]) totals.set(node, (totals.get(node) ?? 0) + 1);
    }
    assert.deepEqual([...primaries.values()], [4, 4, 4, 4]);
    assert.deepEqual([...totals.values()], [12, 12, 12, 12]);
  });

  it('looks at the table first, then the whole cluster', () => {
    const tally = new LoadTally([pc(0, A, [B]), pc(1, A, [B])]);
    // Table 2 is empty everywhere; A already leads two primaries of table 1.
    assert.equal(choosePrimaryNode([A, B, C], 2, tally), C);
    assert.equal(choosePrimaryNode([A, B], 2, tally), B);
    assert.equal(chooseSecondaryNode([A, B, C], 2, tally), C);
    // For table 1, B holds replicas but no primaries.
    assert.equal(choosePrimaryNode([A, B], 1, tally), B);
  });

  it('breaks ties by host, then numeric port', () => {
    const tally = new LoadTally();
    assert.equal(choosePrimaryNode(['h:10', 'h:9', 'g:20'], 1, tally), 'g:20');
    assert.equal(choosePrimaryNode(['h:10', 'h:9'], 1, tally), 'h:9');
  });

  it('agrees with applyConfigChange on what each change does', () => {
    const base = pc(0, A, [B], { lastDrops: [C] });
    assert.deepEqual(applyConfigChange(base, 'CT_ADD_SECONDARY', C), { ...base, ballot: 6, secondaries: [B, C], lastDrops: [] });
    assert.equal(applyConfigChange(base, 'CT_ADD_SECONDARY', B), undefined);
    assert.equal(applyConfigChange(base, 'CT_UPGRADE_TO_PRIMARY', B), undefined, 'there is a primary');
    assert.deepEqual(applyConfigChange(base, 'CT_DOWNGRADE_TO_SECONDARY', A), { ...base, ballot: 6, primary: '', secondaries: [B, A] });
    assert.deepEqual(applyConfigChange(base, 'CT_REMOVE', B), { ...base, ballot: 6, secondaries: [], lastDrops: [C, B] });
    const dropped = applyConfigChange(pc(0, A, [B, C], { lastDrops: [D] }), 'CT_DROP_PARTITION', '')!;
    assert.deepEqual(dropped.lastDrops, [A, B, C], 'at most three, the oldest fall out');
    assert.equal(dropped.partitionFlags, 1);
  });
});

describe('meta state with the guardian, end to end', () => {
  it('cures a node failure: promote, shrink, wait for the node, re-add it', async () => {
    setFlagFromText('min_live_node_count_for_unfreeze', '2');
    try {
      const meta = await createMetaHarness({ nodes: [A, B, C] });
      await meta.state.createApp({ appName: 't', partitionCount: 8, replicaCount: 3 });
      await meta.settle();
      const healthy = meta.state.partitionsOf(1);
      assert.ok(healthy.every((config) => config.primary !== '' && config.secondaries.length === 2));
      const onA = healthy.filter((config) => config.primary === A).map((config) => config.gpid.partitionIndex);
      assert.ok(onA.length > 0);

      // A stops sending beacons; B and C keep going.
      for (let elapsed = 0; elapsed <= 1600; elapsed += 400) {
        meta.advance(400);
        await meta.beacon(B, C);
      }
      assert.deepEqual(await meta.state.checkNodes(), [A]);
      await meta.settle();
      for (const config of meta.state.partitionsOf(1)) {
        const before = healthy[config.gpid.partitionIndex]!;
        assert.notEqual(config.primary, '', 'every partition has a primary again');
        assert.ok(!config.secondaries.includes(A) && config.primary !== A, 'A is out');
        assert.equal(config.secondaries.length, 1, 'waiting for A rather than copying: only two nodes anyway');
        assert.ok(config.ballot > before.ballot);
        if (onA.includes(config.gpid.partitionIndex)) assert.equal(config.ballot, before.ballot + 2, 'downgrade, then upgrade');
        assert.deepEqual(config.lastDrops, [A]);
      }

      // A comes back: it is re-added everywhere.
      meta.advance(1000);
      await meta.beacon(A, B, C);
      await meta.settle();
      for (const config of meta.state.partitionsOf(1)) {
        assert.equal(config.secondaries.length + 1, 3);
        assert.ok(config.primary === A || config.secondaries.includes(A));
      }
    } finally {
      setFlagFromText('min_live_node_count_for_unfreeze', '3');
    }
  });

  it('copies a lost node\'s replicas to a spare node once the delay has passed', async () => {
    setFlagFromText('replica_assign_delay_ms_for_dropouts', '5000');
    try {
      const meta = await createMetaHarness({ nodes: [A, B, C, D] });
      await meta.state.createApp({ appName: 't', partitionCount: 4, replicaCount: 3 });
      await meta.settle();
      const victim = meta.state.partitionsOf(1)[0]!.primary;
      const survivors = [A, B, C, D].filter((node) => node !== victim);
      for (let elapsed = 0; elapsed <= 1600; elapsed += 400) {
        meta.advance(400);
        await meta.beacon(...survivors);
      }
      await meta.state.checkNodes();
      await meta.settle();
      assert.ok(meta.state.partitionsOf(1).some((config) => config.secondaries.length === 1), 'within the delay some partitions wait');
      for (let elapsed = 0; elapsed <= 5000; elapsed += 1000) {
        meta.advance(1000);
        await meta.beacon(...survivors);
      }
      await meta.state.checkAllPartitions();
      await meta.settle();
      for (const config of meta.state.partitionsOf(1)) {
        assert.equal(config.secondaries.length, 2, `partition ${config.gpid.partitionIndex} is whole again`);
        assert.ok(config.primary !== victim && !config.secondaries.includes(victim));
      }
    } finally {
      setFlagFromText('replica_assign_delay_ms_for_dropouts', '600000');
    }
  });
});
