import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gpidText, membersOf, type PartitionConfiguration } from '../../src/cluster/index.ts';
import { unfitStep, type ProposedAction } from '../../src/meta/index.ts';
import { createMetaHarness, HARNESS_NODES, type MetaHarness } from '../helpers/meta-harness.ts';

const [N1, N2, N3] = HARNESS_NODES as [string, string, string];
const N4 = '127.0.0.1:34804';
const NODES = [N1, N2, N3, N4];

/** A meta at steady with four alive nodes and table `t` (id 1, 4 partitions of 3 replicas) placed and healthy. */
async function metaWithTable(): Promise<MetaHarness> {
  const meta = await createMetaHarness({ nodes: NODES });
  await meta.beacon(...NODES);
  assert.equal((await meta.state.createApp({ appName: 't', partitionCount: 4, replicaCount: 3 })).err, 'ERR_OK');
  await meta.settle();
  for (const node of NODES) meta.state.onConfigSync(node, []);
  assert.ok(meta.state.partitionsOf(1).every((config) => config.primary !== '' && config.secondaries.length === 2));
  return meta;
}

function partition(meta: MetaHarness, index: number): PartitionConfiguration {
  return meta.state.partitionsOf(1)[index]!;
}

/** A node that is no member of the partition. */
function outsider(config: PartitionConfiguration): string {
  return NODES.find((node) => !membersOf(config).includes(node))!;
}

describe('RPC_CM_PROPOSE_BALANCER', () => {
  it('refuses an unknown table, an unknown partition and a dropped table with Pegasus error names', async () => {
    const meta = await metaWithTable();
    const move = (config: PartitionConfiguration): ProposedAction[] => [{ type: 'CT_DOWNGRADE_TO_SECONDARY', target: config.primary, node: config.primary }];
    const config = partition(meta, 0);
    assert.equal((await meta.state.proposeBalancer({ gpid: { appId: 9, partitionIndex: 0 }, actions: move(config), force: false })).err, 'ERR_APP_NOT_EXIST');
    assert.equal((await meta.state.proposeBalancer({ gpid: { appId: 1, partitionIndex: 4 }, actions: move(config), force: false })).err, 'ERR_INVALID_PARAMETERS');
    assert.equal((await meta.state.proposeBalancer({ gpid: { appId: 1, partitionIndex: -1 }, actions: move(config), force: false })).err, 'ERR_INVALID_PARAMETERS');
    assert.equal((await meta.state.dropApp({ appName: 't' })).err, 'ERR_OK');
    assert.equal((await meta.state.proposeBalancer({ gpid: { appId: 1, partitionIndex: 0 }, actions: move(config), force: false })).err, 'ERR_INVALID_PARAMETERS');
  });

  it('refuses steps that do not fit: a node that is no member, not alive, an empty list; nothing is queued or sent', async () => {
    const meta = await metaWithTable();
    const config = partition(meta, 1);
    const stranger = outsider(config);
    const gpid = config.gpid;
    const refused = async (actions: ProposedAction[], hint: RegExp): Promise<void> => {
      const result = await meta.state.proposeBalancer({ gpid, actions, force: false });
      assert.equal(result.err, 'ERR_INVALID_PARAMETERS');
      assert.match(result.hintMessage, hint);
    };
    // copy_sec from a node that holds no replica: the add fits, the removal does not.
    await refused([
      { type: 'CT_ADD_SECONDARY_FOR_LB', target: '', node: config.secondaries[0]! },
    ], /action 1 .*does not fit/);
    await refused([
      { type: 'CT_ADD_SECONDARY_FOR_LB', target: '', node: stranger },
      { type: 'CT_DOWNGRADE_TO_INACTIVE', target: '', node: '127.0.0.9:1' },
    ], /action 2 .*node is not an alive replica server/);
    await refused([{ type: 'CT_UPGRADE_TO_PRIMARY', target: stranger, node: stranger }], /does not fit/);
    await refused([{ type: 'CT_DOWNGRADE_TO_SECONDARY', target: '127.0.0.9:1', node: '127.0.0.9:1' }], /target is not an alive replica server/);
    await refused([], /no action/);
    assert.equal(meta.state.balancerStepsUnderWay().size, 0);
    assert.equal(meta.proposals.length, 0);
    assert.deepEqual(partition(meta, 1), config);
  });

  it('queues a move_pri at steady, proposes its steps one by one and refuses a second operation meanwhile', async () => {
    const meta = await metaWithTable();
    const config = partition(meta, 2);
    const [from, to] = [config.primary, config.secondaries[0]!];
    const actions: ProposedAction[] = [
      { type: 'CT_DOWNGRADE_TO_SECONDARY', target: from, node: from },
      { type: 'CT_UPGRADE_TO_PRIMARY', target: to, node: to },
    ];
    assert.deepEqual(await meta.state.proposeBalancer({ gpid: config.gpid, actions, force: false }), { err: 'ERR_OK', hintMessage: '' });
    assert.deepEqual(meta.proposals.map((proposal) => [gpidText(proposal.gpid), proposal.type, proposal.target]), [['1.2', 'CT_DOWNGRADE_TO_SECONDARY', from]]);
    assert.equal((await meta.state.proposeBalancer({ gpid: config.gpid, actions, force: false })).err, 'ERR_INVALID_PARAMETERS');
    await meta.settle();
    const after = partition(meta, 2);
    assert.equal(after.primary, to);
    assert.deepEqual([...after.secondaries].sort(), [config.secondaries[1]!, from].sort());
    assert.equal(after.ballot, config.ballot + 2);
    assert.equal(meta.state.balancerStepsUnderWay().size, 0);
  });

  it('sends a copy_sec with no target to the primary and moves the replica', async () => {
    const meta = await metaWithTable();
    const config = partition(meta, 3);
    const from = config.secondaries[1]!;
    const to = outsider(config);
    const actions: ProposedAction[] = [
      { type: 'CT_ADD_SECONDARY_FOR_LB', target: '', node: to },
      { type: 'CT_DOWNGRADE_TO_INACTIVE', target: '', node: from },
    ];
    assert.equal((await meta.state.proposeBalancer({ gpid: config.gpid, actions, force: false })).err, 'ERR_OK');
    assert.deepEqual(meta.proposals.map((proposal) => [proposal.type, proposal.target, proposal.node]), [['CT_ADD_SECONDARY_FOR_LB', config.primary, to]]);
    await meta.settle();
    const after = partition(meta, 3);
    assert.equal(after.primary, config.primary);
    assert.deepEqual([...after.secondaries].sort(), [config.secondaries[0]!, to].sort());
  });

  it('with force sends every action to its target unchecked and queues nothing', async () => {
    const meta = await metaWithTable();
    const config = partition(meta, 0);
    const stranger = outsider(config);
    const result = await meta.state.proposeBalancer({
      gpid: config.gpid, actions: [{ type: 'CT_REMOVE', target: config.primary, node: stranger }], force: true,
    });
    assert.equal(result.err, 'ERR_OK');
    assert.deepEqual(meta.proposals.map((proposal) => [proposal.type, proposal.target, proposal.node, proposal.config.ballot]), [
      ['CT_REMOVE', config.primary, stranger, config.ballot],
    ]);
    assert.equal(meta.state.balancerStepsUnderWay().size, 0);
  });

  it('is cleared when the level is set to steady or below', async () => {
    const meta = await metaWithTable();
    const config = partition(meta, 0);
    const actions: ProposedAction[] = [
      { type: 'CT_DOWNGRADE_TO_SECONDARY', target: config.primary, node: config.primary },
      { type: 'CT_UPGRADE_TO_PRIMARY', target: config.secondaries[0]!, node: config.secondaries[0]! },
    ];
    assert.equal((await meta.state.proposeBalancer({ gpid: config.gpid, actions, force: false })).err, 'ERR_OK');
    assert.equal(meta.state.balancerStepsUnderWay().size, 1);
    assert.deepEqual(meta.state.setFunctionLevel('fl_steady'), { err: 'ERR_OK', oldLevel: 'fl_steady' });
    assert.equal(meta.state.balancerStepsUnderWay().size, 0);
  });
});

describe('unfitStep', () => {
  const config: PartitionConfiguration = {
    gpid: { appId: 1, partitionIndex: 0 }, ballot: 3, maxReplicaCount: 3, primary: N1, secondaries: [N2, N3], lastDrops: [],
    lastCommittedDecree: 0, partitionFlags: 0,
  };
  const alive = new Set(NODES);

  it('checks each step on the configuration the previous ones lead to', () => {
    assert.equal(unfitStep(config, [
      { type: 'CT_ADD_SECONDARY_FOR_LB', target: N1, node: N4 },
      { type: 'CT_DOWNGRADE_TO_SECONDARY', target: N1, node: N1 },
      { type: 'CT_UPGRADE_TO_PRIMARY', target: N4, node: N4 },
      { type: 'CT_REMOVE', target: N4, node: N1 },
    ], alive), undefined);
    // Upgrading N4 before it was added does not fit.
    assert.match(unfitStep(config, [
      { type: 'CT_DOWNGRADE_TO_SECONDARY', target: N1, node: N1 },
      { type: 'CT_UPGRADE_TO_PRIMARY', target: N4, node: N4 },
    ], alive)!, /^action 2 \(CT_UPGRADE_TO_PRIMARY target 127.0.0.1:34804 node 127.0.0.1:34804\): does not fit/);
    assert.match(unfitStep(config, [{ type: 'CT_ADD_SECONDARY_FOR_LB', target: N1, node: N4 }], new Set([N1, N2, N3]))!, /node is not an alive/);
  });
});

describe('meta.lb.assign_secondary_black_list', () => {
  it('keeps new secondaries off the listed nodes until the list is cleared', async () => {
    const meta = await createMetaHarness({ nodes: NODES });
    await meta.beacon(...NODES);
    meta.state.setAssignSecondaryBlackList([N4, N3]);
    assert.deepEqual(meta.state.assignSecondaryBlackListNodes(), [N3, N4]);
    assert.equal((await meta.state.createApp({ appName: 't', partitionCount: 4, replicaCount: 3 })).err, 'ERR_OK');
    await meta.settle();
    // Two usable nodes for three replicas: every partition stays one short, and none is on N3 or N4.
    for (const config of meta.state.partitionsOf(1)) {
      assert.deepEqual(membersOf(config).filter((node) => node === N3 || node === N4), [], gpidText(config.gpid));
      assert.equal(membersOf(config).length, 2);
    }
    meta.state.setAssignSecondaryBlackList([]);
    await meta.state.checkAllPartitions();
    await meta.settle();
    assert.ok(meta.state.partitionsOf(1).every((config) => membersOf(config).length === 3));
  });
});
