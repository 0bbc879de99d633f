// The torture harness at its `npm test` size: about 60 s of kills, pauses and meta failovers
// with a fixed seed on three metas (ZooKeeper) and four replica servers; any violation fails.
// `npm run torture -- --seconds 600` runs every nemesis for longer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zooKeeperSkipReason } from '../helpers/zookeeper.ts';
import { formatSummary, runTorture } from '../torture/torture.ts';

test('torture: 60 s of kill, pause and meta-failover with seed 21 leaves a linearizable history and nothing lost', { skip: zooKeeperSkipReason(), timeout: 15 * 60_000 }, async () => {
  const summary = await runTorture({ seconds: 60, seed: 21, nemeses: ['kill', 'pause', 'meta-failover'], clients: 4 }, () => {});
  const text = formatSummary(summary);
  assert.ok(summary.faults.length >= 3, `faults were injected\n${text}`);
  assert.ok(summary.operations > 0, `operations ran\n${text}`);
  assert.equal(summary.violations.length, 0, text);
  assert.equal(summary.acknowledgedWritesLost, 0, text);
});
