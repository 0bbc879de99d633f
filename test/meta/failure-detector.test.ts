import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, setFlagFromText } from '../../src/config/index.ts';
import { checkFailureDetectorOptions, failureDetectorOptionsFromFlags, MasterFailureDetector, workerLeaseExpired, type FailureDetectorOptions } from '../../src/meta/index.ts';
import { fdLeaseSeconds } from '../../src/cluster/index.ts';
import { waitFor } from '../helpers/process.ts';

const OPTIONS: FailureDetectorOptions = {
  checkIntervalMs: 100,
  beaconIntervalMs: 100,
  leaseMs: 1000,
  graceMs: 1500,
  whiteList: undefined,
  stableRunningMs: 10_000,
  maxUnstableRestarts: 2,
};

describe('master failure detector', () => {
  it('registers a node on its first beacon and declares it dead only after the grace', () => {
    const detector = new MasterFailureDetector(OPTIONS);
    assert.deepEqual(detector.onBeacon('n1:1', 0), { accepted: true, becameAlive: true, restarted: false });
    assert.deepEqual(detector.onBeacon('n1:1', 400), { accepted: true, becameAlive: false, restarted: false });
    assert.equal(detector.isAlive('n1:1'), true);
    assert.equal(detector.nextDeadlineMs(), 1901);
    assert.deepEqual(detector.check(1900), [], 'exactly the grace after the last beacon is still alive');
    assert.deepEqual(detector.check(1901), ['n1:1']);
    assert.deepEqual(detector.check(5000), [], 'reported once');
    assert.equal(detector.isAlive('n1:1'), false);
    assert.equal(detector.nextDeadlineMs(), undefined);
    assert.deepEqual(detector.onBeacon('n1:1', 6000), { accepted: true, becameAlive: true, restarted: false });
  });

  it('keeps nodes with regular beacons alive and reports several deaths sorted', () => {
    const detector = new MasterFailureDetector(OPTIONS);
    for (const node of ['c:1', 'a:1', 'b:1']) detector.onBeacon(node, 0);
    for (let now = 300; now <= 3000; now += 300) {
      detector.onBeacon('b:1', now);
      const died = detector.check(now);
      if (now < 1800) assert.deepEqual(died, []);
      if (now === 1800) assert.deepEqual(died, ['a:1', 'c:1']);
    }
    assert.deepEqual(detector.list().map((worker) => [worker.address, worker.alive]), [['a:1', false], ['b:1', true], ['c:1', false]]);
  });

  it('gives nodes known from stored configurations a full grace to check in', () => {
    const detector = new MasterFailureDetector(OPTIONS);
    detector.assumeAlive('n:1', 1000);
    assert.equal(detector.isAlive('n:1'), true);
    assert.deepEqual(detector.check(2500), []);
    assert.deepEqual(detector.check(2501), ['n:1']);
  });

  it('ignores a late beacon timestamp going backwards', () => {
    const detector = new MasterFailureDetector(OPTIONS);
    detector.onBeacon('n:1', 1000);
    detector.onBeacon('n:1', 500);
    assert.deepEqual(detector.check(2500), []);
  });

  it('refuses nodes outside the white list', () => {
    const detector = new MasterFailureDetector({ ...OPTIONS, whiteList: new Set(['ok:1']) });
    assert.deepEqual(detector.onBeacon('evil:1', 0), { accepted: false, reason: 'not_in_white_list' });
    assert.equal(detector.onBeacon('ok:1', 0).accepted, true);
    assert.deepEqual(detector.list().map((worker) => worker.address), ['ok:1']);
  });

  it('stops accepting a node after successive unstable restarts, until reset', () => {
    const detector = new MasterFailureDetector(OPTIONS);
    assert.deepEqual(detector.onBeacon('n:1', 0, 1000), { accepted: true, becameAlive: true, restarted: false });
    // Restarted after 5 s (< 10 s): unstable.
    assert.deepEqual(detector.onBeacon('n:1', 6000, 6000), { accepted: true, becameAlive: false, restarted: true });
    // Ran 20 s: a stable restart resets the count.
    assert.deepEqual(detector.onBeacon('n:1', 26000, 26000), { accepted: true, becameAlive: false, restarted: true });
    assert.equal(detector.onBeacon('n:1', 27000, 27000).accepted, true);
    assert.deepEqual(detector.onBeacon('n:1', 28000, 28000), { accepted: false, reason: 'unstable' });
    assert.deepEqual(detector.onBeacon('n:1', 28500, 28000), { accepted: false, reason: 'unstable' });
    detector.resetStability('n:1');
    assert.equal(detector.onBeacon('n:1', 29000, 28000).accepted, true);
  });

  it('refuses options where the grace does not exceed the lease', () => {
    assert.throws(() => new MasterFailureDetector({ ...OPTIONS, graceMs: 1000 }), /grace \(1000 ms\) must be greater than lease \(1000 ms\)/);
    assert.throws(() => checkFailureDetectorOptions({ ...OPTIONS, checkIntervalMs: 0 }), /positive/);
  });
});

describe('worker lease', () => {
  it('expires when the last acknowledged beacon is older than the lease minus one check interval', () => {
    const options = { leaseMs: 1000, checkIntervalMs: 100 };
    assert.equal(workerLeaseExpired(900, 0, options), false);
    assert.equal(workerLeaseExpired(901, 0, options), true);
    // The worker always gives up before the master's grace (1500) runs out.
    assert.ok(901 < OPTIONS.graceMs);
  });
});

describe('failure detector flags', () => {
  it('default to Pegasus values', () => {
    const options = failureDetectorOptionsFromFlags();
    assert.equal(options.checkIntervalMs, 2000);
    assert.equal(options.beaconIntervalMs, 3000);
    assert.equal(options.leaseMs, 20000);
    assert.equal(options.graceMs, 22000);
    assert.equal(options.stableRunningMs, 600000);
    assert.equal(options.maxUnstableRestarts, 5);
    assert.equal(options.whiteList, undefined);
  });

  it('refuse, at load time, a lease that is not shorter than the grace', () => {
    try {
      assert.throws(() => loadConfig(undefined, ['replication.fd_lease_seconds=22']), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /fd_grace_seconds \(22\) must be greater than fd_lease_seconds \(22\)/);
        return true;
      });
      loadConfig(undefined, ['replication.fd_lease_seconds=2', 'replication.fd_grace_seconds=3']);
      assert.equal(failureDetectorOptionsFromFlags().graceMs, 3000);
    } finally {
      setFlagFromText('fd_grace_seconds', '22', true);
      setFlagFromText('fd_lease_seconds', '20', true);
    }
    assert.equal(fdLeaseSeconds.value, 20);
  });
});

describe('meta background work', () => {
  it('runs the node check on a timer until stopped', async () => {
    const { startMetaBackgroundWork } = await import('../../src/meta/index.ts');
    const { createMetaHarness, HARNESS_NODES } = await import('../helpers/meta-harness.ts');
    const meta = await createMetaHarness();
    assert.deepEqual(meta.state.listNodes()[0], { address: HARNESS_NODES[0], status: 'ALIVE', lastBeaconMs: meta.now(), graceDeadlineMs: meta.now() + 1500 });
    const stop = startMetaBackgroundWork(meta.state, { checkNodesIntervalMs: 5, checkAllIntervalMs: 5 });
    try {
      meta.advance(2000);
      // The 5 ms timer fires many times a second; the limit only tells a check that runs from one that never does.
      await waitFor('every node missed its grace', () => meta.state.aliveNodes().size === 0, 30_000, 5);
      assert.deepEqual(meta.state.listNodes().map((node) => node.status), HARNESS_NODES.map(() => 'UNALIVE'));
    } finally {
      stop();
    }
  });
});
