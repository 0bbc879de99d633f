import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdminRequest } from '../../src/net/index.ts';
import { metricRegistry, type Counter, type Gauge } from '../../src/metrics/index.ts';
import { balancerStepIsValid, guardianStep, clusterInfoRows, countBalanceOperations, getCluster, MemoryStateStore, planBalance, planPlacement, type BalanceOperation, type BalancerOptions, type BalancerStep, type MetaHttpDeps, type MetaServerState, type StoreOp } from '../../src/meta/index.ts';
import { applyConfigChange, appInfoToJson, gpidText, newPartitionConfiguration, partitionConfigurationToJson, type AppInfo, type PartitionConfiguration } from '../../src/cluster/index.ts';
import { createMetaHarness, HARNESS_NODES, type MetaHarness } from '../helpers/meta-harness.ts';

const A = '10.0.0.1:34801';
const B = '10.0.0.2:34801';
const C = '10.0.0.3:34801';
const D = '10.0.0.4:34801';

const DEFAULTS: BalancerOptions = { balancerInTurn: false, onlyPrimaryBalancer: false, onlyMovePrimary: false };

function appInfo(appId: number, partitionCount: number, maxReplicaCount = 3, status: AppInfo['status'] = 'AS_AVAILABLE'): AppInfo {
  return {
    status, appType: 'pegasus', appName: `t${appId}`, appId, partitionCount, envs: {}, isStateful: true, maxReplicaCount,
    expireSecond: 0, createSecond: 0, dropSecond: 0, duplicating: false, initPartitionCount: partitionCount, isBulkLoading: false,
    atomicIdempotent: false,
  };
}

/** One table's partitions from [primary, ...secondaries] lists. */
function layout(appId: number, members: string[][], ballot = 3): PartitionConfiguration[] {
  return members.map(([primary, ...secondaries], index) => ({
    ...newPartitionConfiguration(appId, index, members[0]!.length), ballot, primary: primary!, secondaries,
  }));
}

interface Tables {
  [appId: number]: PartitionConfiguration[];
}

function plan(tables: Tables, alive: string[], options: Partial<BalancerOptions> = {}, checker = false): BalanceOperation[] {
  const partitions = new Map(Object.entries(tables).map(([appId, configs]) => [Number(appId), configs]));
  const apps = new Map([...partitions].map(([appId, configs]) => [appId, appInfo(appId, configs.length, configs[0]!.maxReplicaCount)]));
  return planBalance({ apps, partitions, aliveNodes: alive, options: { ...DEFAULTS, ...options }, checker });
}

/** [type, gpid, from, to] per operation. */
function summary(operations: BalanceOperation[]): Array<[string, string, string, string]> {
  return operations.map((operation) => [operation.type, gpidText(operation.gpid), operation.from, operation.to]);
}

/** Carries out every step of every operation on the tables, checking each one fits and moves the ballot by one. */
function carryOut(tables: Tables, operations: BalanceOperation[], alive: string[]): void {
  for (const operation of operations) {
    const configs = tables[operation.gpid.appId]!;
    for (const step of operation.steps) {
      const current = configs[operation.gpid.partitionIndex]!;
      assert.ok(balancerStepIsValid(current, step, new Set(alive)), `${step.type} fits ${gpidText(current.gpid)}`);
      const next = applyConfigChange(current, step.type, step.node);
      assert.ok(next, `${step.type} of ${step.node} applies`);
      assert.equal(next.ballot, current.ballot + 1);
      configs[operation.gpid.partitionIndex] = next;
    }
  }
}

function primaryCounts(configs: readonly PartitionConfiguration[], nodes: readonly string[]): number[] {
  return nodes.map((node) => configs.filter((config) => config.primary === node).length);
}

function replicaCounts(configs: readonly PartitionConfiguration[], nodes: readonly string[]): number[] {
  return nodes.map((node) => configs.filter((config) => config.primary === node || config.secondaries.includes(node)).length);
}

const spread = (counts: number[]): number => Math.max(...counts) - Math.min(...counts);

/** 8 partitions x 3 replicas on A, B, C with every primary on A. */
const allPrimariesOnA = (appId = 1): PartitionConfiguration[] => layout(appId, Array.from({ length: 8 }, () => [A, B, C]));

describe('balancer plan', () => {
  it('plans nothing for a balanced table', () => {
    const placed = planPlacement(1, 8, 3, [A, B, C]);
    const configs = layout(1, placed.map((partition) => [partition.primary, ...partition.secondaries]));
    assert.deepEqual(plan({ 1: configs }, [A, B, C]), []);
    assert.deepEqual(plan({ 1: configs }, [A, B, C], {}, true), []);
  });

  it('moves primaries from the node holding all of them along the widest hand-over chain, round after round', () => {
    const tables: Tables = { 1: allPrimariesOnA() };
    const first = plan(tables, [A, B, C]);
    // floor(8/3) = 2: B can take two primaries of partitions it is secondary of.
    assert.deepEqual(summary(first), [['move_pri', '1.0', A, B], ['move_pri', '1.1', A, B]]);
    assert.deepEqual(first[0]!.steps, [
      { type: 'CT_DOWNGRADE_TO_SECONDARY', target: A, node: A },
      { type: 'CT_UPGRADE_TO_PRIMARY', target: B, node: B },
    ]);
    let rounds = 0;
    for (let operations = first; operations.length > 0; operations = plan(tables, [A, B, C])) {
      assert.ok(operations.every((operation) => operation.type === 'move_pri'), 'primaries move, no data is copied');
      carryOut(tables, operations, [A, B, C]);
      rounds++;
      assert.ok(rounds <= 5, 'converges within 5 rounds');
    }
    assert.deepEqual(primaryCounts(tables[1]!, [A, B, C]).sort(), [2, 3, 3]);
    assert.deepEqual(replicaCounts(tables[1]!, [A, B, C]), [8, 8, 8], 'replica counts do not change');
  });

  it('aims for ceil(P/N) when no node is below floor(P/N) (4/2/2 of 8 on 3 nodes)', () => {
    const configs = layout(1, [[A, B, C], [A, B, C], [A, B, C], [A, B, C], [B, A, C], [B, A, C], [C, A, B], [C, A, B]]);
    assert.deepEqual(summary(plan({ 1: configs }, [A, B, C])), [['move_pri', '1.0', A, B]]);
  });

  it('copies secondaries from the node with the most replicas to the one with the fewest', () => {
    // Primaries 1/1/1/1; replicas A 4, B 4, C 3, D 1.
    const tables: Tables = { 1: layout(1, [[A, B, C], [B, A, C], [C, A, B], [D, A, B]]) };
    const operations = plan(tables, [A, B, C, D]);
    assert.deepEqual(summary(operations), [['copy_sec', '1.0', B, D], ['copy_sec', '1.1', A, D]]);
    assert.deepEqual(operations[0]!.steps, [
      { type: 'CT_ADD_SECONDARY_FOR_LB', target: A, node: D },
      { type: 'CT_REMOVE', target: A, node: B },
    ]);
    carryOut(tables, operations, [A, B, C, D]);
    assert.deepEqual(replicaCounts(tables[1]!, [A, B, C, D]), [3, 3, 3, 3]);
    assert.deepEqual(plan(tables, [A, B, C, D]), []);
    assert.deepEqual(plan(tables, [A, B, C, D], { onlyPrimaryBalancer: true }), []);
    assert.deepEqual(plan({ 1: layout(1, [[A, B, C], [B, A, C], [C, A, B], [D, A, B]]) }, [A, B, C, D], { onlyPrimaryBalancer: true }), []);
  });

  it('copies primaries when no secondary of an overloaded node is underloaded, unless only_move_primary', () => {
    // Two replicas: A and B serve everything, C and D nothing.
    const members = [[A, B], [A, B], [B, A], [B, A]];
    const tables: Tables = { 1: layout(1, members) };
    const operations = plan(tables, [A, B, C, D]);
    assert.deepEqual(summary(operations), [['copy_pri', '1.0', A, D], ['copy_pri', '1.2', B, C]]);
    assert.deepEqual(operations[1]!.steps, [
      { type: 'CT_ADD_SECONDARY_FOR_LB', target: B, node: C },
      { type: 'CT_DOWNGRADE_TO_SECONDARY', target: B, node: B },
      { type: 'CT_UPGRADE_TO_PRIMARY', target: C, node: C },
      { type: 'CT_REMOVE', target: C, node: B },
    ]);
    carryOut(tables, operations, [A, B, C, D]);
    assert.deepEqual(primaryCounts(tables[1]!, [A, B, C, D]), [1, 1, 1, 1]);
    // Without copying, the primaries stay as they are and the round goes on to the secondaries.
    const moveOnly = plan({ 1: layout(1, members) }, [A, B, C, D], { onlyMovePrimary: true });
    assert.ok(moveOnly.length > 0 && moveOnly.every((operation) => operation.type === 'copy_sec'));
    assert.deepEqual(plan({ 1: layout(1, members) }, [A, B, C, D], { onlyMovePrimary: true, onlyPrimaryBalancer: true }), []);
  });

  it('leaves secondaries to a later round while primaries move; counting plans both', () => {
    // A new empty node D: primaries and replicas both uneven.
    const tables: Tables = { 1: allPrimariesOnA() };
    const lively = plan(tables, [A, B, C, D]);
    assert.ok(lively.length > 0 && lively.every((operation) => operation.type === 'move_pri'));
    const counted = countBalanceOperations(plan(tables, [A, B, C, D], {}, true));
    assert.equal(counted.move_pri, lively.length);
    assert.ok(counted.copy_sec > 0, 'the checker also counts secondary copies');
    assert.equal(counted.total, counted.move_pri + counted.copy_pri + counted.copy_sec);
  });

  it('balances one table per round with balancer_in_turn; the checker still counts every table', () => {
    const tables: Tables = { 1: allPrimariesOnA(1), 2: allPrimariesOnA(2) };
    const both = plan(tables, [A, B, C]);
    assert.deepEqual(new Set(both.map((operation) => operation.gpid.appId)), new Set([1, 2]));
    const inTurn = plan(tables, [A, B, C], { balancerInTurn: true });
    assert.deepEqual(new Set(inTurn.map((operation) => operation.gpid.appId)), new Set([1]));
    assert.equal(plan(tables, [A, B, C], { balancerInTurn: true }, true).length, both.length);
  });

  it('skips ignored tables, tables that are not available, and tables with a dead member or no primary', () => {
    assert.deepEqual(plan({ 1: allPrimariesOnA() }, [A, B, C], { ignoredAppIds: new Set([1]) }), []);
    const partitions = new Map([[1, allPrimariesOnA()]]);
    for (const status of ['AS_DROPPED', 'AS_CREATING'] as const) {
      assert.deepEqual(planBalance({ apps: new Map([[1, appInfo(1, 8, 3, status)]]), partitions, aliveNodes: [A, B, C], options: DEFAULTS, checker: false }), []);
    }
    assert.deepEqual(plan({ 1: allPrimariesOnA() }, [A, B]), [], 'C is not alive');
    const noPrimary = allPrimariesOnA();
    noPrimary[3] = { ...noPrimary[3]!, primary: '', secondaries: [B, C] };
    assert.deepEqual(plan({ 1: noPrimary }, [A, B, C]), []);
    assert.deepEqual(plan({ 1: allPrimariesOnA() }, [A]), [], 'one node: nothing to balance');
  });

  it('is deterministic: the same layout gives the same plan whatever the order of its inputs', () => {
    const tables: Tables = { 2: allPrimariesOnA(2), 1: layout(1, [[A, B, C], [B, A, C], [C, A, B], [D, A, B]]) };
    const reference = plan(tables, [A, B, C, D], {}, true);
    assert.ok(reference.length > 0);
    assert.deepEqual(plan(tables, [D, C, B, A, B], {}, true), reference);
    assert.deepEqual(plan({ 1: tables[1]!, 2: tables[2]! }, [C, A, D, B], {}, true), reference);
    assert.deepEqual(plan(tables, [A, B, C, D], {}, true), reference);
  });

  it('counts operations by type', () => {
    const operations = plan({ 1: layout(1, [[A, B], [A, B], [B, A], [B, A]]), 2: allPrimariesOnA(2) }, [A, B, C, D], {}, true);
    assert.deepEqual(countBalanceOperations(operations), {
      move_pri: operations.filter((operation) => operation.type === 'move_pri').length,
      copy_pri: 2,
      copy_sec: operations.filter((operation) => operation.type === 'copy_sec').length,
      total: operations.length,
    });
    assert.deepEqual(countBalanceOperations([]), { move_pri: 0, copy_pri: 0, copy_sec: 0, total: 0 });
  });

  it('validates a queued step against the partition as it is now', () => {
    const [config] = layout(1, [[A, B, C]]);
    const alive = new Set([A, B, C, D]);
    assert.ok(balancerStepIsValid(config!, { type: 'CT_DOWNGRADE_TO_SECONDARY', target: A, node: A }, alive));
    assert.ok(!balancerStepIsValid(config!, { type: 'CT_DOWNGRADE_TO_SECONDARY', target: B, node: B }, alive), 'B is not primary');
    assert.ok(!balancerStepIsValid(config!, { type: 'CT_UPGRADE_TO_PRIMARY', target: B, node: B }, alive), 'the partition has a primary');
    assert.ok(balancerStepIsValid(config!, { type: 'CT_ADD_SECONDARY_FOR_LB', target: A, node: D }, alive));
    assert.ok(!balancerStepIsValid(config!, { type: 'CT_ADD_SECONDARY_FOR_LB', target: A, node: D }, new Set([A, B, C])), 'D is dead');
    assert.ok(!balancerStepIsValid(config!, { type: 'CT_ADD_SECONDARY_FOR_LB', target: A, node: B }, alive), 'B is a member');
    assert.ok(balancerStepIsValid(config!, { type: 'CT_REMOVE', target: A, node: C }, alive));
    assert.ok(!balancerStepIsValid(config!, { type: 'CT_REMOVE', target: A, node: D }, alive), 'D is not a member');
    const primaryless = { ...config!, primary: '', secondaries: [B, C, A] };
    assert.ok(balancerStepIsValid(primaryless, { type: 'CT_UPGRADE_TO_PRIMARY', target: B, node: B }, alive));
    assert.ok(!balancerStepIsValid(primaryless, { type: 'CT_UPGRADE_TO_PRIMARY', target: B, node: C }, alive), 'target and node differ');
  });
});

describe('guardian with queued balancer steps', () => {
  const options = { mutation2pcMinReplicaCount: 2, replicaAssignDelayMsForDropouts: 600_000, addSecondaryEnableFlowControl: false, addSecondaryMaxCountForOneNode: 10 };
  const step = (configs: PartitionConfiguration[], steps: Map<string, BalancerStep>, alive = [A, B, C, D]) =>
    guardianStep({
      level: 'fl_lively', apps: new Map([[1, appInfo(1, configs.length)]]), partitions: new Map([[1, configs]]), aliveNodes: new Set(alive),
      pending: new Set(), dropped: new Map(), balancerSteps: steps, options,
    }, { kind: 'check_all' }, 0);

  it('proposes the next step instead of curing, and cures as usual when the step no longer fits', () => {
    // Primary-less after a move's downgrade: the step says C, the guardian on its own would pick A (no primaries, lowest address).
    const configs = layout(1, [[A, B, C]]);
    configs[0] = { ...configs[0]!, primary: '', secondaries: [B, C, A] };
    const upgradeC = new Map([['1.0', { type: 'CT_UPGRADE_TO_PRIMARY' as const, target: C, node: C }]]);
    assert.deepEqual(step(configs, upgradeC).map((action) => action.kind === 'proposal' && [action.type, action.target, action.node]), [
      ['CT_UPGRADE_TO_PRIMARY', C, C],
    ]);
    assert.deepEqual(step(configs, new Map()).map((action) => action.kind === 'proposal' && [action.type, action.node]), [['CT_UPGRADE_TO_PRIMARY', A]]);
    const upgradeD = new Map([['1.0', { type: 'CT_UPGRADE_TO_PRIMARY' as const, target: D, node: D }]]);
    assert.deepEqual(step(configs, upgradeD).map((action) => action.kind === 'proposal' && [action.type, action.node]), [['CT_UPGRADE_TO_PRIMARY', A]]);
  });

  it('keeps the extra secondary a copy added while the operation goes on', () => {
    // copy_pri after its first step: D was added for the balancer, A is to step down next.
    const configs = layout(1, [[A, B, C]]);
    configs[0] = { ...configs[0]!, secondaries: [B, C, D] };
    const downgradeA = new Map([['1.0', { type: 'CT_DOWNGRADE_TO_SECONDARY' as const, target: A, node: A }]]);
    assert.deepEqual(step(configs, downgradeA).map((action) => action.kind === 'proposal' && [action.type, action.target, action.node]), [
      ['CT_DOWNGRADE_TO_SECONDARY', A, A],
    ]);
    // On its own the guardian removes a member: the partition has one too many.
    assert.deepEqual(step(configs, new Map()).map((action) => action.kind === 'proposal' && action.type), ['CT_REMOVE']);
  });
});

// ---------------------------------------------------------------------------------------------
// in the meta server state

const [N1, N2, N3] = HARNESS_NODES as [string, string, string];
const N4 = '127.0.0.1:34804';

function storeWith(appId: number, configs: PartitionConfiguration[]): MemoryStateStore {
  const store = new MemoryStateStore();
  const ops: StoreOp[] = [
    { op: 'create', path: '/c', data: Buffer.alloc(0) },
    { op: 'create', path: '/c/apps', data: Buffer.from('unlock') },
    { op: 'create', path: `/c/apps/${appId}`, data: Buffer.from(appInfoToJson(appInfo(appId, configs.length, configs[0]!.maxReplicaCount))) },
    ...configs.map((config): StoreOp => ({
      op: 'create', path: `/c/apps/${appId}/${config.gpid.partitionIndex}`, data: Buffer.from(partitionConfigurationToJson(config)),
    })),
  ];
  store.tree.apply(ops);
  return store;
}

async function metaWith(
  appId: number, members: string[][], level: 'fl_steady' | 'fl_lively', nodes: readonly string[] = HARNESS_NODES,
): Promise<MetaHarness> {
  const meta = await createMetaHarness({ store: storeWith(appId, layout(appId, members)), clusterRoot: '/c', functionLevel: level, nodes });
  return meta;
}

function syncAll(meta: MetaHarness, nodes: readonly string[] = HARNESS_NODES): void {
  for (const node of nodes) assert.equal(meta.state.onConfigSync(node, []).err, 'ERR_OK');
}

function ballots(state: MetaServerState, appId: number): number[] {
  return state.partitionsOf(appId).map((config) => config.ballot);
}

function partitionMetric(gpid: string, name: string): number {
  for (const entity of metricRegistry.entities()) {
    if (entity.id !== `partition@${gpid}`) continue;
    const metric = entity.metrics.get(name);
    assert.ok(metric, `${name} exists on partition@${gpid}`);
    return (metric as Counter | Gauge).value;
  }
  assert.fail(`no entity partition@${gpid}`);
}

function request(path: string): AdminRequest {
  return { method: 'GET', path, query: new Map(), rawQuery: '', body: Buffer.alloc(0), headers: {}, remoteAddress: '127.0.0.1' };
}

function roleDeps(state: MetaServerState): MetaHttpDeps {
  return {
    state,
    leader: () => ({ self: true }),
    metaServers: () => ['127.0.0.1:34601'],
    selfAddress: () => '127.0.0.1:34601',
    balanceOperationCount: () => state.balanceOperationCount(),
  };
}

const ALL_ON_N1 = Array.from({ length: 8 }, () => [N1, N2, N3]);

describe('balancer in the meta server state', () => {
  it('at lively moves primaries until they are even, one ballot per change', async () => {
    const meta = await metaWith(11, ALL_ON_N1, 'fl_lively');
    syncAll(meta);
    const before = ballots(meta.state, 11);
    let changes = 0;
    let rounds = 0;
    while (spread(primaryCounts(meta.state.partitionsOf(11), HARNESS_NODES)) > 1) {
      rounds++;
      assert.ok(rounds <= 6, 'balanced within 6 rounds');
      const actions = await meta.state.checkAllPartitions();
      assert.ok(actions.length > 0, 'the round proposes the first steps');
      for (const action of actions) {
        assert.equal(action.kind, 'proposal');
        if (action.kind === 'proposal') assert.equal(action.expected.ballot, action.config.ballot + 1);
      }
      changes += await meta.settle();
      assert.equal(meta.state.balancerStepsUnderWay().size, 0, 'every queued step was carried out');
    }
    assert.deepEqual(primaryCounts(meta.state.partitionsOf(11), HARNESS_NODES).sort(), [2, 3, 3]);
    const after = ballots(meta.state, 11);
    assert.equal(after.reduce((sum, ballot, index) => sum + ballot - before[index]!, 0), changes, 'every change moved a ballot by one');
    assert.ok(after.every((ballot, index) => (ballot - before[index]!) % 2 === 0), 'a move is a downgrade then an upgrade');
    for (const config of meta.state.partitionsOf(11)) assert.equal(config.secondaries.length, 2);
    const moves = meta.state.partitionsOf(11).reduce((sum, config) => sum + partitionMetric(gpidText(config.gpid), 'greedy_move_primary_operations'), 0);
    assert.equal(moves * 2, changes);

    // Balanced: the next round plans nothing and reports zero.
    assert.deepEqual(await meta.state.checkAllPartitions(), []);
    assert.deepEqual(meta.state.balanceOperationCount(), { move_pri: 0, copy_pri: 0, copy_sec: 0, total: 0 });
    assert.equal(partitionMetric('11.0', 'greedy_recent_balance_operations'), 0);
  });

  it('at steady counts the operations and changes nothing; /meta/cluster shows them', async () => {
    const meta = await metaWith(12, ALL_ON_N1, 'fl_steady');
    const deps = roleDeps(meta.state);
    const balanceRow = () => clusterInfoRows(deps).find(([key]) => key === 'balance_operation_count')![1];
    assert.equal(JSON.parse(balanceRow()).total, -1, 'no node has reported its replicas yet');
    await meta.state.checkAllPartitions();
    assert.deepEqual(meta.state.balanceOperationCount(), { move_pri: 0, copy_pri: 0, copy_sec: 0, total: -1 });

    syncAll(meta);
    const before = meta.state.partitionsOf(12);
    assert.deepEqual(await meta.state.checkAllPartitions(), []);
    assert.equal(meta.proposals.length, 0);
    assert.deepEqual(meta.state.partitionsOf(12), before, 'nothing changes at steady');
    assert.deepEqual(meta.state.balanceOperationCount(), { move_pri: 2, copy_pri: 0, copy_sec: 0, total: 2 });
    assert.equal(balanceRow(), '{\n  "copy_pri": 0,\n  "copy_sec": 0,\n  "move_pri": 2,\n  "total": 2\n}');
    const body = getCluster(request('meta/cluster'), deps).body as string;
    assert.ok(body.includes('"balance_operation_count":"{\\n  \\"copy_pri\\": 0,\\n  \\"copy_sec\\": 0,\\n  \\"move_pri\\": 2,\\n  \\"total\\": 2\\n}"'), body);
    // The state's count is also the default when the deps name none.
    const plain: MetaHttpDeps = { state: deps.state, leader: deps.leader, metaServers: deps.metaServers, selfAddress: deps.selfAddress };
    assert.equal(getCluster(request('meta/cluster'), plain).body, body);
    assert.equal(partitionMetric('12.0', 'greedy_recent_balance_operations'), 1);
    assert.equal(partitionMetric('12.7', 'greedy_recent_balance_operations'), 0);
    assert.equal(partitionMetric('12.0', 'greedy_move_primary_operations'), 0, 'counted, not carried out');

    // Switching to lively carries them out.
    meta.state.setFunctionLevel('fl_lively');
    await meta.state.checkAllPartitions();
    assert.equal(await meta.settle(), 4);
    assert.deepEqual(primaryCounts(meta.state.partitionsOf(12), HARNESS_NODES), [6, 2, 0]);
  });

  it('copies a primary in four steps (add, downgrade, upgrade, remove) when moving cannot help', async () => {
    const nodes = [N1, N2, N3, N4];
    const meta = await metaWith(13, [[N1, N2], [N1, N2], [N2, N1], [N2, N1]], 'fl_lively', nodes);
    syncAll(meta, nodes);
    const actions = await meta.state.checkAllPartitions();
    assert.deepEqual(actions.map((action) => action.kind === 'proposal' && [gpidText(action.gpid), action.type, action.target, action.node]), [
      ['13.0', 'CT_ADD_SECONDARY_FOR_LB', N1, N4],
      ['13.2', 'CT_ADD_SECONDARY_FOR_LB', N2, N3],
    ]);
    assert.deepEqual(meta.state.balanceOperationCount(), { move_pri: 0, copy_pri: 2, copy_sec: 0, total: 2 });
    assert.equal(await meta.settle(), 8);
    const configs = meta.state.partitionsOf(13);
    assert.deepEqual(primaryCounts(configs, nodes), [1, 1, 1, 1]);
    assert.deepEqual([configs[0]!.primary, configs[0]!.secondaries], [N4, [N2]]);
    assert.deepEqual([configs[2]!.primary, configs[2]!.secondaries], [N3, [N1]]);
    assert.deepEqual(ballots(meta.state, 13), [7, 3, 7, 3]);
    assert.deepEqual(configs[0]!.lastDrops, [N1]);
    assert.equal(partitionMetric('13.0', 'greedy_copy_primary_operations'), 1);
    // Primaries are even, replicas 3/3/1/1 are not: the next round copies secondaries.
    assert.deepEqual(replicaCounts(configs, nodes), [3, 3, 1, 1]);
    await meta.state.checkAllPartitions();
    assert.deepEqual(meta.state.balanceOperationCount(), { move_pri: 0, copy_pri: 0, copy_sec: 2, total: 2 });
    assert.equal(await meta.settle(), 4);
    assert.deepEqual(replicaCounts(meta.state.partitionsOf(13), nodes), [2, 2, 2, 2]);
    assert.deepEqual(primaryCounts(meta.state.partitionsOf(13), nodes), [1, 1, 1, 1]);
    await meta.state.checkAllPartitions();
    assert.deepEqual(meta.state.balanceOperationCount(), { move_pri: 0, copy_pri: 0, copy_sec: 0, total: 0 });
  });

  it('copies secondaries to an empty node at lively', async () => {
    const nodes = [N1, N2, N3, N4];
    const meta = await metaWith(14, [[N1, N2, N3], [N2, N1, N3], [N3, N1, N2], [N4, N1, N2]], 'fl_lively', nodes);
    syncAll(meta, nodes);
    await meta.state.checkAllPartitions();
    assert.deepEqual(meta.state.balanceOperationCount(), { move_pri: 0, copy_pri: 0, copy_sec: 2, total: 2 });
    assert.equal(await meta.settle(), 4);
    assert.deepEqual(replicaCounts(meta.state.partitionsOf(14), nodes), [3, 3, 3, 3]);
    assert.equal(partitionMetric('14.0', 'greedy_copy_secondary_operations'), 1);
  });

  it('re-sends a step whose proposal was lost on the next sweep, without planning anew', async () => {
    const meta = await metaWith(17, ALL_ON_N1, 'fl_lively');
    syncAll(meta);
    await meta.state.checkAllPartitions();
    const first = meta.proposals.splice(0).map((proposal) => [gpidText(proposal.gpid), proposal.type, proposal.target]);
    assert.equal(first.length, 2);
    // Lost: the next sweep proposes the same steps again; the counts stay those of the plan under way.
    const again = await meta.state.checkAllPartitions();
    assert.deepEqual(again.map((action) => action.kind === 'proposal' && [gpidText(action.gpid), action.type, action.target]), first);
    assert.deepEqual(meta.state.balanceOperationCount(), { move_pri: 2, copy_pri: 0, copy_sec: 0, total: 2 });
    assert.equal(await meta.settle(), 4);
    assert.deepEqual(primaryCounts(meta.state.partitionsOf(17), HARNESS_NODES), [6, 2, 0]);
    assert.equal(partitionMetric('17.0', 'greedy_move_primary_operations'), 1, 'counted once, when queued');
  });

  it('leaving lively abandons the remaining steps, and the guardian gives the partition a primary again', async () => {
    const meta = await metaWith(15, ALL_ON_N1, 'fl_lively');
    syncAll(meta);
    await meta.state.checkAllPartitions();
    assert.equal(meta.state.balancerStepsUnderWay().size, 2);
    meta.state.setFunctionLevel('fl_steady');
    assert.equal(meta.state.balancerStepsUnderWay().size, 0);
    // The downgrades already sent still land; the guardian then promotes the secondary with the fewest primaries.
    await meta.settle();
    const configs = meta.state.partitionsOf(15);
    assert.ok(configs.every((config) => config.primary !== '' && config.secondaries.length === 2));
    assert.equal(primaryCounts(configs, HARNESS_NODES)[0], 6);
  });

  it('drops a queued step whose node died; the guardian cures the partition instead', async () => {
    // Four nodes, so that one dying does not freeze the meta.
    const nodes = [N1, N2, N3, N4];
    const meta = await metaWith(16, ALL_ON_N1, 'fl_lively', nodes);
    syncAll(meta, nodes);
    await meta.state.checkAllPartitions();
    // Carry out only the downgrades: the partitions now wait for N2 to become primary.
    const downgrades = meta.proposals.splice(0);
    for (const proposal of downgrades) {
      await meta.state.onUpdateConfiguration({ config: proposal.expected, type: proposal.type, node: proposal.node });
    }
    const upgrades = meta.proposals.splice(0);
    assert.deepEqual(upgrades.map((proposal) => [proposal.type, proposal.node]), [['CT_UPGRADE_TO_PRIMARY', N2], ['CT_UPGRADE_TO_PRIMARY', N2]]);
    // N2 dies before acting on them.
    meta.advance(1000);
    await meta.beacon(N1, N3, N4);
    meta.advance(1000);
    await meta.beacon(N1, N3, N4);
    assert.deepEqual(await meta.state.checkNodes(), [N2]);
    assert.equal(meta.state.balancerStepsUnderWay().size, 0);
    await meta.settle();
    for (const config of meta.state.partitionsOf(16).slice(0, 2)) {
      assert.ok(config.primary === N1 || config.primary === N3, `${gpidText(config.gpid)} has an alive primary`);
      assert.ok(!config.secondaries.includes(N2));
    }
  });
});
