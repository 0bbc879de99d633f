// The replica server's link to the meta, event by event: beacons and the lease, the lapse and
// the config sync that ends it, switching metas, timeouts, and the meta's proposals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_TYPE_VALUES, newPartitionConfiguration, type AppInfo, type PartitionConfiguration } from '../../src/cluster/index.ts';
import { MetaLink, type MetaLinkAction, type MetaLinkOptions } from '../../src/replica/meta-link.ts';

const SELF = 'r1:34801';
const METAS = ['m1:34601', 'm2:34601', 'm3:34601'];
const OPTIONS: MetaLinkOptions = { self: SELF, metas: METAS, beaconIntervalMs: 1_000, leaseMs: 5_000, configSyncIntervalMs: 30_000, answerTimeoutMs: 3_000 };
const INFO: AppInfo = {
  status: 'AS_AVAILABLE', appType: 'pegasus', appName: 't', appId: 1, partitionCount: 1, envs: {}, isStateful: true,
  maxReplicaCount: 3, expireSecond: 0, createSecond: 0, dropSecond: 0, duplicating: false, initPartitionCount: 1,
  isBulkLoading: false, atomicIdempotent: false,
};

function config(ballot: number, primary: string, secondaries: string[] = []): PartitionConfiguration {
  return { ...newPartitionConfiguration(1, 0, 3), ballot, primary, secondaries };
}

function only<K extends MetaLinkAction['kind']>(actions: readonly MetaLinkAction[], kind: K): Array<Extract<MetaLinkAction, { kind: K }>> {
  return actions.filter((action): action is Extract<MetaLinkAction, { kind: K }> => action.kind === kind);
}

/** A link driven by hand, with the clock in `nowMs`. */
class Harness {
  nowMs = 0;
  readonly link: MetaLink;
  constructor(options: Partial<MetaLinkOptions> = {}) {
    this.link = new MetaLink({ ...OPTIONS, ...options }, this.nowMs);
  }
  tick(atMs: number): readonly MetaLinkAction[] {
    this.nowMs = atMs;
    return this.link.step({ kind: 'tick' }, atMs);
  }
  ack(beaconId: number, atMs: number, answer: { isPrimary?: boolean; primary?: string; allowed?: boolean } = {}): readonly MetaLinkAction[] {
    this.nowMs = atMs;
    return this.link.step({ kind: 'beacon_answered', beaconId, allowed: answer.allowed ?? true, isPrimary: answer.isPrimary ?? true, primary: answer.primary }, atMs);
  }
  syncAnswer(syncId: number, atMs: number, partitions: PartitionConfiguration[] = []): readonly MetaLinkAction[] {
    this.nowMs = atMs;
    return this.link.step({ kind: 'sync_answered', syncId, partitions: partitions.map((item) => ({ info: INFO, config: item })), garbage: [], updateSeqAtSend: 7 }, atMs);
  }
  /** Ticks to `atMs`; returns the beacon sent then. */
  beaconAt(atMs: number): number {
    const beacon = only(this.tick(atMs), 'send_beacon')[0];
    assert.ok(beacon, `a beacon at ${atMs}`);
    return beacon.beaconId;
  }
  /** Connected with the lease: the first beacon acknowledged and the sync it triggers answered. */
  connect(): void {
    const actions = this.ack(this.beaconAt(0), 10);
    const sync = only(actions, 'send_config_sync')[0]!;
    this.syncAnswer(sync.syncId, 20);
    assert.equal(this.link.leaseValid(20), true);
  }
}

describe('meta link', () => {
  it('beacons at once and every interval; the lease needs an acknowledged beacon and then a config sync', () => {
    const h = new Harness();
    const first = only(h.tick(0), 'send_beacon');
    assert.deepEqual(first, [{ kind: 'send_beacon', to: METAS[0], beaconId: 1, sentMs: 0 }]);
    assert.deepEqual(h.tick(500), []);
    assert.equal(only(h.tick(1_000), 'send_beacon').length, 1);
    assert.equal(h.link.leaseValid(1_000), false);
    const actions = h.ack(1, 1_010);
    assert.deepEqual(actions.map((action) => action.kind), ['connected', 'send_config_sync']);
    // Acknowledged, but the first sync is not answered yet.
    assert.equal(h.link.leaseValid(1_010), false);
    assert.equal(h.link.awaitingSync, true);
    const assigned = h.syncAnswer(1, 1_020, [config(3, SELF, ['r2:34801'])]);
    assert.deepEqual(assigned.map((action) => action.kind), ['assign', 'retain_only']);
    assert.deepEqual(only(assigned, 'retain_only')[0], { kind: 'retain_only', listed: new Set(['1.0']), updateSeqAtSend: 7 });
    assert.equal(h.link.leaseValid(1_020), true);
    // The lease runs from the acknowledged beacon's send time (0).
    assert.equal(h.link.leaseValid(4_999), true);
    assert.equal(h.link.leaseValid(5_000), false);
  });

  it('after a lapse serves again only once a config sync sent after the acknowledgement is answered', () => {
    const h = new Harness({ metas: [METAS[0]!] });
    h.connect();
    // Beacons at 1 s … 6 s are lost (timed out); the lease from 0 lapses at 5 s.
    for (let atMs = 1_000; atMs <= 6_000; atMs += 1_000) h.beaconAt(atMs);
    assert.equal(h.link.leaseValid(6_000), false);
    // A periodic sync sent during the lapse, answered after the lease came back, does not count.
    h.link.step({ kind: 'sync_interval_changed', intervalMs: 100 }, 6_100);
    const early = only(h.tick(6_200), 'send_config_sync')[0]!;
    const beacon = h.beaconAt(7_000);
    h.ack(beacon, 7_010);
    assert.equal(h.link.awaitingSync, true);
    h.syncAnswer(early.syncId, 7_020);
    assert.equal(h.link.leaseValid(7_020), false, 'a sync sent before the lapse was seen does not end it');
    // The next sync goes out (with the next acknowledgement or tick) and ends the lapse.
    const next = only(h.tick(7_100), 'send_config_sync')[0]!;
    h.syncAnswer(next.syncId, 7_120);
    assert.equal(h.link.leaseValid(7_120), true);
  });

  it('a beacon delayed past the lease asks for a sync, though it was sent within the lease', () => {
    // One meta: the beacons that time out meanwhile leave it for itself, keeping the others in flight.
    const h = new Harness({ metas: [METAS[0]!] });
    h.connect();
    const late = h.beaconAt(1_000);
    // Nothing answers until 5.5 s: the lease (from 0) has lapsed here.
    assert.equal(h.link.leaseValid(5_500), false);
    h.ack(late, 2_900);
    assert.equal(h.link.leaseValid(2_900), true, 'within the lease the acknowledgement just extends it');
    const delayed = h.beaconAt(3_000);
    h.tick(4_000);
    h.tick(5_000);
    h.ack(delayed, 5_950);
    // Sent at 3 s (within the lease from 1 s), acknowledged at 5.95 s: the lapse (at 6 s) did not
    // happen, so the lease runs on.
    assert.equal(h.link.leaseValid(5_950), true);
    const overdue = h.beaconAt(6_000);
    h.tick(7_000);
    h.tick(8_000);
    // Answered at 8.99 s, after the lease (from 3 s) lapsed at 8 s.
    h.ack(overdue, 8_990);
    assert.equal(h.link.awaitingSync, true);
    assert.equal(h.link.leaseValid(8_990), false);
  });

  it('a backup meta redirects to the primary, which is beaconed at once; a primary that fails is left for the next', () => {
    const h = new Harness();
    const redirected = h.ack(h.beaconAt(0), 10, { isPrimary: false, primary: METAS[2] });
    assert.deepEqual(redirected.map((action) => action.kind), ['beacon_lost', 'switch_meta', 'send_beacon']);
    assert.deepEqual(only(redirected, 'switch_meta')[0], { kind: 'switch_meta', from: METAS[0], to: METAS[2] });
    assert.equal(h.link.meta, METAS[2]);
    const beacon = only(redirected, 'send_beacon')[0]!;
    assert.equal(beacon.to, METAS[2]);
    h.ack(beacon.beaconId, 20);
    assert.equal(h.link.connected, true);
    // The primary stops answering: after the timeout, the next listed meta (m1, after m3).
    const unanswered = h.beaconAt(1_000);
    const timedOut = h.tick(4_000);
    assert.deepEqual(only(timedOut, 'beacon_lost')[0], { kind: 'beacon_lost', meta: METAS[2], unreachable: true, wasConnected: true });
    assert.equal(h.link.meta, METAS[0]);
    assert.equal(h.link.connected, false);
    // A late answer from the meta left behind is ignored.
    assert.deepEqual(h.ack(unanswered, 4_100), []);
  });

  it('switches at most once per listed meta between two periodic beacons', () => {
    const h = new Harness();
    let actions = h.tick(0);
    let switches = 0;
    for (let round = 0; round < 10; round++) {
      const beacon = only(actions, 'send_beacon')[0];
      if (!beacon) break;
      actions = h.link.step({ kind: 'beacon_failed', beaconId: beacon.beaconId }, 1);
      switches += only(actions, 'switch_meta').length;
    }
    assert.equal(switches, METAS.length);
    assert.equal(only(actions, 'send_beacon').length, 0, 'the last switch waits for the next periodic beacon');
  });

  it('one config sync at a time; an unanswered one times out', () => {
    const h = new Harness({ configSyncIntervalMs: 1_000 });
    h.tick(0);
    const sync = only(h.tick(1_000), 'send_config_sync');
    assert.equal(sync.length, 1);
    assert.equal(only(h.tick(2_000), 'send_config_sync').length, 0, 'still in flight');
    assert.equal(only(h.tick(4_000), 'send_config_sync').length, 1, 'timed out at 4 s, the next one goes out');
    assert.deepEqual(h.syncAnswer(sync[0]!.syncId, 4_010), [], 'the timed-out answer is ignored');
  });

  it('reports garbage and forgets nothing a refused beacon cannot give', () => {
    const h = new Harness();
    const refused = h.ack(h.beaconAt(0), 10, { allowed: false });
    assert.deepEqual(refused, [{ kind: 'beacon_lost', meta: METAS[0], unreachable: false, wasConnected: false }]);
    assert.equal(h.link.lastAckedBeaconSentMs, Number.NEGATIVE_INFINITY);
    const sync = only(h.tick(30_000), 'send_config_sync')[0]!;
    const garbage = [{ pid: { appId: 9, partitionIndex: 0 }, ballot: 1n, status: 0, lastCommittedDecree: 0n, lastPreparedDecree: 0n, lastDurableDecree: 0n, appType: 'pegasus', diskTag: 'default' }];
    const actions = h.link.step({ kind: 'sync_answered', syncId: sync.syncId, partitions: [], garbage, updateSeqAtSend: 0 }, 30_010);
    assert.deepEqual(actions.map((action) => action.kind), ['retain_only', 'collect_garbage']);
    assert.equal(h.link.leaseValid(30_010), false, 'no beacon acknowledged, no lease');
  });

  it('carries out proposals: a learner on the primary (adopting a newer configuration first), other changes through the meta', () => {
    const h = new Harness();
    const proposal = (type: keyof typeof CONFIG_TYPE_VALUES, proposed: PartitionConfiguration, node: string, local?: { ballot: number; lastCommitted: number }) =>
      h.link.step({ kind: 'proposal', info: INFO, config: proposed, type: CONFIG_TYPE_VALUES[type], node, local }, 0);
    const add = proposal('CT_ADD_SECONDARY', config(4, SELF, ['r2:34801']), 'r3:34801', { ballot: 3, lastCommitted: 10 });
    assert.deepEqual(add.map((action) => action.kind), ['assign', 'add_learner']);
    assert.deepEqual(only(add, 'add_learner')[0], { kind: 'add_learner', gpid: { appId: 1, partitionIndex: 0 }, ballot: 4, node: 'r3:34801' });
    const known = proposal('CT_ADD_SECONDARY', config(4, SELF, ['r2:34801']), 'r3:34801', { ballot: 4, lastCommitted: 10 });
    assert.deepEqual(known.map((action) => action.kind), ['add_learner']);
    const remove = proposal('CT_DOWNGRADE_TO_INACTIVE', config(4, SELF, ['r2:34801']), 'r2:34801', { ballot: 4, lastCommitted: 12 });
    const update = only(remove, 'update_config')[0]!;
    assert.equal(update.config.ballot, 5);
    assert.deepEqual(update.config.secondaries, []);
    assert.equal(update.config.lastCommittedDecree, 12);
    const unfit = proposal('CT_DOWNGRADE_TO_INACTIVE', config(4, SELF, []), 'r9:34801');
    assert.deepEqual(unfit, [{ kind: 'proposal_ignored', gpid: { appId: 1, partitionIndex: 0 }, type: CONFIG_TYPE_VALUES.CT_DOWNGRADE_TO_INACTIVE }]);
    assert.equal(h.link.step({ kind: 'proposal', info: INFO, config: config(4, SELF), type: 999, node: SELF, local: undefined }, 0)[0]?.kind, 'proposal_ignored');
  });

  it('its clock does not go back, and the next due time covers beacons, syncs and timeouts', () => {
    const h = new Harness();
    h.tick(0);
    assert.equal(h.link.nextDueMs, 1_000);
    h.link.step({ kind: 'tick' }, 2_000);
    // A wall clock stepping back: the machine keeps its time, nothing is sent twice.
    assert.deepEqual(h.link.step({ kind: 'tick' }, 1_500), []);
    assert.ok(h.link.nextDueMs > 2_000);
  });
});
