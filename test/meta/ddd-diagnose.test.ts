// RPC_CM_DDD_DIAGNOSE on the meta state: a partition whose members all left is listed with its
// configuration, the members that dropped (alive, collected, what each reported) and the
// guardian's reason; the gpid filter (every table, one table, one partition) and an unknown table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyConfigChange, type ConfigType } from '../../src/cluster/index.ts';
import { createMetaHarness, type MetaHarness } from '../helpers/meta-harness.ts';

async function deadPartition(): Promise<{ meta: MetaHarness; members: string[]; reportedBallot: number }> {
  const meta = await createMetaHarness();
  await meta.state.createApp({ appName: 't', partitionCount: 2, replicaCount: 3 });
  await meta.settle();
  const placed = meta.state.partitionsOf(1)[1]!;
  const members = [...placed.secondaries, placed.primary];
  const change = async (type: ConfigType, node: string): Promise<void> => {
    const next = applyConfigChange(meta.state.partitionsOf(1)[1]!, type, node)!;
    const result = await meta.state.onUpdateConfiguration({ config: next, type, node });
    assert.ok(result !== 'ignored' && result.err === 'ERR_OK', `${type} of ${node}`);
    meta.proposals.length = 0;
  };
  for (const node of members) await change('CT_DOWNGRADE_TO_INACTIVE', node);
  // The last two report holding the data, with different decrees.
  const report = (node: string, ballot: number, decree: number) => meta.state.onConfigSync(node, [{
    gpid: { appId: 1, partitionIndex: 1 }, ballot, status: 'PS_INACTIVE', lastCommittedDecree: decree, lastPreparedDecree: decree,
    lastDurableDecree: decree, appType: 'pegasus', diskTag: 'default',
  }]);
  report(members[1]!, placed.ballot + 1, 7);
  await meta.state.checkAllPartitions();
  meta.proposals.length = 0;
  return { meta, members, reportedBallot: placed.ballot + 1 };
}

describe('ddd_diagnose', () => {
  it('lists a partition that lost every member with its drops and the guardian\'s reason', async () => {
    const { meta, members, reportedBallot } = await deadPartition();
    const all = meta.state.dddDiagnose();
    assert.equal(all.err, 'ERR_OK');
    assert.equal(all.partitions.length, 1);
    const [partition] = all.partitions as [typeof all.partitions[0]];
    assert.deepEqual(partition.config.gpid, { appId: 1, partitionIndex: 1 });
    assert.deepEqual(partition.config.lastDrops, members);
    assert.deepEqual(partition.dropped.map((entry) => [entry.node, entry.isAlive, entry.ballot, entry.lastCommittedDecree]), [
      [members[0], true, -1, 0], [members[2], true, -1, 0], [members[1], true, reportedBallot, 7],
    ], 'a report moves its node last');
    assert.ok(partition.dropped.every((entry) => entry.dropTimeMs === meta.now()));
    assert.deepEqual(partition.dropped.map((entry) => entry.isCollected), [false, false, true], 'only one node sent a config sync');
    assert.notEqual(partition.reason, '');

    assert.equal(meta.state.dddDiagnose({ appId: 1, partitionIndex: -1 }).partitions.length, 1);
    assert.equal(meta.state.dddDiagnose({ appId: 1, partitionIndex: 1 }).partitions.length, 1);
    assert.deepEqual(meta.state.dddDiagnose({ appId: 1, partitionIndex: 0 }), { err: 'ERR_OK', partitions: [] });
    assert.deepEqual(meta.state.dddDiagnose({ appId: 9, partitionIndex: -1 }), { err: 'ERR_APP_NOT_EXIST', partitions: [] });
  });
});
