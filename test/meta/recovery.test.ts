import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppInfo } from '../../src/cluster/index.ts';
import { planRecovery, type HeldReplica, type NodeHoldings } from '../../src/meta/recovery.ts';
import { newAppInfo } from '../../src/meta/table-ddl.ts';

const NOW = 1_700_000_000;
const table = (appId: number, name: string, partitions: number, replicas = 3): AppInfo =>
  newAppInfo(appId, name, 'pegasus', partitions, replicas, true, {}, false, NOW - 100);
const held = (appId: number, partitionIndex: number, ballot: number, lastCommittedDecree: number, lastPreparedDecree = lastCommittedDecree): HeldReplica =>
  ({ appId, partitionIndex, ballot, lastCommittedDecree, lastPreparedDecree });
const options = { skipBadNodes: false, skipLostPartitions: false, nowSeconds: NOW };

describe('planRecovery', () => {
  it('rebuilds tables and partitions from what the nodes hold, newest replica last in the last drops', () => {
    const temp = table(1, 'temp', 2);
    const holdings: NodeHoldings[] = [
      { node: 'a:1', apps: [temp], replicas: [held(1, 0, 5, 100), held(1, 1, 4, 40)] },
      { node: 'b:1', apps: [temp], replicas: [held(1, 0, 5, 98), held(1, 1, 4, 42)] },
      { node: 'c:1', apps: [temp], replicas: [held(1, 0, 4, 90), held(1, 1, 3, 20)] },
    ];
    const plan = planRecovery(holdings, [], options);
    assert.equal(plan.err, 'ERR_OK');
    assert.equal(plan.hint, '');
    assert.equal(plan.tables.length, 1);
    const [p0, p1] = plan.tables[0]!.configs;
    assert.deepEqual(p0!.lastDrops, ['c:1', 'b:1', 'a:1']);
    assert.equal(p0!.ballot, 5);
    assert.equal(p0!.lastCommittedDecree, 100);
    assert.equal(p0!.primary, '');
    assert.deepEqual(p0!.secondaries, []);
    assert.deepEqual(p1!.lastDrops, ['c:1', 'a:1', 'b:1']);
    assert.equal(plan.tables[0]!.app.status, 'AS_AVAILABLE');
  });

  it('warns about partitions with fewer replicas than the table wants, and keeps at most that many last drops', () => {
    const small = table(1, 'small', 1, 2);
    const holdings: NodeHoldings[] = [
      { node: 'a:1', apps: [small], replicas: [held(1, 0, 3, 10)] },
      { node: 'b:1', apps: [small], replicas: [held(1, 0, 2, 9)] },
      { node: 'c:1', apps: [small], replicas: [held(1, 0, 1, 1)] },
    ];
    assert.deepEqual(planRecovery(holdings, [], options).tables[0]!.configs[0]!.lastDrops, ['b:1', 'a:1']);
    const one = planRecovery([{ node: 'a:1', apps: [table(1, 'temp', 1)], replicas: [held(1, 0, 3, 10)] }], [], options);
    assert.equal(one.err, 'ERR_OK');
    assert.equal(one.hint, 'WARNING: partition(1.0) only collects 1/3 of replicas, may lost data\n');
  });

  it('refuses a failed node or a lost partition unless told to skip them, with Pegasus\'s hints', () => {
    const holdings: NodeHoldings[] = [{ node: 'a:1', apps: [table(1, 'temp', 2)], replicas: [held(1, 0, 3, 10)] }];
    const failures = [{ node: 'b:1', err: 'ERR_NETWORK_FAILURE' }];
    const bad = planRecovery(holdings, failures, options);
    assert.equal(bad.err, 'ERR_TRY_AGAIN');
    assert.equal(bad.hint, 'ERROR: collect app and replica info from node(b:1) failed with err(ERR_NETWORK_FAILURE), you can skip it by set skip_bad_nodes option');
    const lost = planRecovery(holdings, failures, { ...options, skipBadNodes: true });
    assert.equal(lost.err, 'ERR_TRY_AGAIN');
    assert.match(lost.hint, /^WARNING: collect app .* skip the bad node/);
    assert.match(lost.hint, /ERROR: partition\(1\.1\) has no replica collected, you can force recover it by set skip_lost_partitions option\n$/);
    const forced = planRecovery(holdings, failures, { ...options, skipBadNodes: true, skipLostPartitions: true });
    assert.equal(forced.err, 'ERR_OK');
    assert.match(forced.hint, /WARNING: partition\(1\.1\) has no replica collected, force recover the lost partition to empty\n/);
    assert.deepEqual(forced.tables[0]!.configs[1]!.lastDrops, []);
  });

  it('holds the ids of tables no node has as dropped, and renames a taken name', () => {
    const dropped = { ...table(2, 'old', 1), status: 'AS_DROPPED' as const, dropSecond: NOW - 10 };
    const holdings: NodeHoldings[] = [
      { node: 'a:1', apps: [table(4, 'temp', 1), dropped, table(3, 'temp', 1)], replicas: [held(4, 0, 1, 1), held(3, 0, 1, 1), held(2, 0, 1, 1)] },
    ];
    const plan = planRecovery(holdings, [], options);
    assert.equal(plan.err, 'ERR_OK');
    const byId = new Map(plan.tables.map((entry) => [entry.app.appId, entry]));
    assert.deepEqual([...byId.keys()], [1, 2, 3, 4]);
    assert.equal(byId.get(1)!.app.appName, '__drop_holder__1');
    assert.equal(byId.get(1)!.app.status, 'AS_DROPPED');
    assert.equal(byId.get(2)!.app.status, 'AS_DROPPED');
    assert.equal(byId.get(4)!.app.appName, 'temp');
    assert.equal(byId.get(3)!.app.appName, 'temp__3');
    assert.match(plan.hint, /WARNING: app\(3\)'s old name\(temp\) is conflict with others, rename it to \(temp__3\)\n/);
    assert.ok(byId.get(2)!.configs.every((config) => config.partitionFlags === 1 && config.lastDrops.length === 0));
  });

  it('refuses two nodes that disagree about a table', () => {
    const plan = planRecovery([
      { node: 'a:1', apps: [table(1, 'temp', 2)], replicas: [] },
      { node: 'b:1', apps: [table(1, 'temp', 4)], replicas: [] },
    ], [], options);
    assert.equal(plan.err, 'ERR_INCONSISTENT_STATE');
    assert.match(plan.hint, /conflict app info from \(b:1\) for id\(1\)/);
  });
});
