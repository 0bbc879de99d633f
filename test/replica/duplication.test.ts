// Duplication on the replica side, in process: the entries' raw messages, the follower's
// refusals, last-writer-wins when a DUPLICATE mutation is applied, batching of the log, the fail
// modes, a primary's duplicator against a scripted follower, and the manager's answer to the
// meta's dup_map.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clusterName, parseDuplicationGroup } from '../../src/cluster/index.ts';
import { setFlagFromText } from '../../src/config/index.ts';
import { metricRegistry } from '../../src/metrics/index.ts';
import {
  batchMutations, committedMutationsAfter, decodeRawMessage, duplicateRequestRefusal, DuplicationManager, duplicationMetrics, onShipFailure,
  rawMessageOf, ReplicaDuplicator, SHIP_ATTEMPTS_MAX, StoreApplier, INVALID_DECREE,
  type ClientWrite, type DuplicateSender, type DuplicatorHost, type Mutation,
} from '../../src/replica/index.ts';
import { decodeMutation, encodeMutation } from '../../src/replica/log/mutation-codec.ts';
import type { LogRecord } from '../../src/replica/log/mutation-log.ts';
import { encodeKey, makeTimetag, memoryEngine, ReplicaStore, splitTimetag } from '../../src/storage/index.ts';
import {
  DuplicationFailMode, DuplicationStatus, updateRequestCodec, ThriftWriter,
  type DuplicateEntry, type DuplicateRequest, type DuplicateResponse, type DuplicationEntry,
} from '../../src/wire/index.ts';
import { waitFor } from '../helpers/process.ts';

const k = (sortKey: string): Buffer => encodeKey(Buffer.from('h'), Buffer.from(sortKey));
const put = (sortKey: string, value: string): ClientWrite => ({ op: 'put', request: { key: k(sortKey), value: Buffer.from(value), expireTsSeconds: 0 } });
const remove = (sortKey: string): ClientWrite => ({ op: 'remove', key: k(sortKey) });
const incr = (sortKey: string): ClientWrite => ({ op: 'incr', request: { key: k(sortKey), increment: 1n, expireTsSeconds: 0 } });

/** An entry from cluster `clusterId` written at `timestamp` µs. */
function entryOf(write: ClientWrite, timestamp: bigint, clusterId = 2, verifyTimetag = true): DuplicateEntry {
  assert.ok(write.op === 'put' || write.op === 'remove' || write.op === 'multi_put' || write.op === 'multi_remove');
  return { ...rawMessageOf(write), timestamp, clusterId, verifyTimetag };
}

const mutationOf = (decree: number, writes: ClientWrite[], timestampUs = BigInt(decree) * 1000n, ballot = 1): Mutation => ({ decree, ballot, timestampUs, writes });
const duplicate = (decree: number, entries: DuplicateEntry[]): Mutation => mutationOf(decree, [{ op: 'duplicate', request: { entries } }]);

async function follower() {
  const store = await ReplicaStore.open({ replicaDir: '/replica/9.0.pegasus', engineFactory: memoryEngine() });
  const applier = new StoreApplier(store, () => ({ defaultTtlSeconds: 0, clusterId: 1 }));
  return { store, applier };
}

describe('duplicated writes', () => {
  test('a raw message is the request in thrift binary and decodes back to the same write', () => {
    const write = put('a', 'value');
    const { taskCode, rawMessage } = rawMessageOf(write as Extract<ClientWrite, { op: 'put' }>);
    assert.equal(taskCode, 'RPC_RRDB_RRDB_PUT');
    const writer = new ThriftWriter(64);
    updateRequestCodec.write(writer, { key: k('a'), value: Buffer.from('value'), expireTsSeconds: 0 });
    assert.deepEqual(rawMessage, writer.finish());
    assert.deepEqual(decodeRawMessage(taskCode, rawMessage), write);
    const removal = rawMessageOf(remove('b') as Extract<ClientWrite, { op: 'remove' }>);
    assert.equal(removal.taskCode, 'RPC_RRDB_RRDB_REMOVE');
    assert.deepEqual(decodeRawMessage(removal.taskCode, removal.rawMessage), remove('b'));
  });

  test('malformed entries are refused with a clear error', () => {
    const raw = rawMessageOf(put('a', 'v') as Extract<ClientWrite, { op: 'put' }>).rawMessage;
    assert.throws(() => decodeRawMessage('RPC_RRDB_RRDB_INCR', raw), /unrecognized task code RPC_RRDB_RRDB_INCR/);
    assert.throws(() => decodeRawMessage(undefined, raw), /unrecognized task code/);
    assert.throws(() => decodeRawMessage('RPC_RRDB_RRDB_PUT', Buffer.concat([raw, Buffer.from([0])])), /1 bytes after the request/);
    assert.throws(() => decodeRawMessage('RPC_RRDB_RRDB_PUT', Buffer.from([0x0b, 0x00, 0x01, 0xff, 0xff])), /does not decode/);
  });

  test('a follower refuses entries of an unconfigured cluster, of itself, and malformed ones, naming why', () => {
    const previous = clusterName.value;
    setFlagFromText('cluster_name', 'onebox', true);
    try {
      const group = parseDuplicationGroup(new Map(), new Map([['onebox', '1'], ['backup', '2']]));
      const refusal = (entries: DuplicateEntry[]) => duplicateRequestRefusal({ entries }, (id) => group.refusalOfClusterId(id));
      const good = entryOf(put('a', 'v'), 5n, 2);
      assert.equal(refusal([good]), undefined);
      assert.equal(refusal([good, { ...good, clusterId: 1 }]), 'self-duplicating');
      assert.equal(refusal([{ ...good, clusterId: 9 }]), 'request cluster id is unconfigured');
      assert.equal(refusal([{ ...good, clusterId: undefined }]), 'request cluster id is unconfigured');
      assert.equal(refusal([{ ...good, taskCode: 'RPC_RRDB_RRDB_CHECK_AND_SET' }]), 'unrecognized task code RPC_RRDB_RRDB_CHECK_AND_SET');
      assert.equal(refusal([{ ...good, timestamp: undefined }]), 'entry has no timestamp');
      assert.match(refusal([{ ...good, rawMessage: Buffer.from('garbage') }])!, /does not decode/);
    } finally {
      setFlagFromText('cluster_name', previous, true);
    }
  });

  test('with verify_timetag the newer write wins; without it the shipped write is applied', async () => {
    const { store, applier } = await follower();
    // A local write at 100 µs: its timetag carries this cluster's id.
    await applier.apply(mutationOf(1, [put('a', 'local')], 100n));
    assert.deepEqual(splitTimetag((await store.get(k('a')))!.timetag), { timestampUs: 100n, clusterId: 1, deleted: false });

    assert.deepEqual(await applier.apply(duplicate(2, [entryOf(put('a', 'older'), 50n)])), [{ error: 0 }]);
    assert.equal((await store.get(k('a')))?.userData.toString(), 'local');
    await applier.apply(duplicate(3, [entryOf(put('a', 'same time, lower id'), 100n, 0)]));
    assert.equal((await store.get(k('a')))?.userData.toString(), 'local');
    await applier.apply(duplicate(4, [entryOf(put('a', 'newer'), 200n)]));
    const newer = (await store.get(k('a')))!;
    assert.equal(newer.userData.toString(), 'newer');
    assert.equal(newer.timetag, makeTimetag(200n, 2, false));
    await applier.apply(duplicate(5, [entryOf(put('a', 'unverified'), 10n, 2, false)]));
    assert.equal((await store.get(k('a')))?.userData.toString(), 'unverified');
    assert.equal(store.lastAppliedDecree, 5);
  });

  test('entries of one mutation see each other; removes delete; an invalid entry leaves the mutation without changes', async () => {
    const { store, applier } = await follower();
    await applier.apply(duplicate(1, [entryOf(put('a', 'at 300'), 300n), entryOf(put('a', 'at 250'), 250n), entryOf(put('b', 'b'), 250n)]));
    assert.equal((await store.get(k('a')))?.userData.toString(), 'at 300');
    await applier.apply(duplicate(2, [entryOf(remove('b'), 100n), entryOf(put('b', 'again'), 90n)]));
    assert.equal((await store.get(k('b')))?.userData.toString(), 'again', 'a removed key has no timetag left to win');
    const badKey: ClientWrite = { op: 'put', request: { key: Buffer.from([0]), value: Buffer.from('x'), expireTsSeconds: 0 } };
    const [outcome] = await applier.apply(duplicate(3, [entryOf(put('c', 'c'), 400n), entryOf(badKey, 400n)]));
    assert.equal(outcome!.error, 4);
    assert.match(outcome!.hint!, /entry 1 \(RPC_RRDB_RRDB_PUT\) is invalid/);
    assert.equal(await store.get(k('c')), undefined);
    assert.equal(store.lastAppliedDecree, 3);
  });

  test('a DUPLICATE mutation survives the log codec', () => {
    const mutation = duplicate(7, [entryOf(put('a', 'v'), 5n), entryOf(remove('b'), 6n, 3, false)]);
    assert.deepEqual(decodeMutation(Buffer.from(encodeMutation(mutation))), mutation);
  });
});

describe('shipping the log', () => {
  const record = (mutation: Mutation, lastCommittedDecree = mutation.decree - 1): LogRecord => ({ mutation, lastCommittedDecree });

  test('committed mutations after a decree: the later record of a decree, nothing past the commit point, a gap reported as lost', () => {
    const records = [1, 2, 3, 4, 5].map((decree) => record(mutationOf(decree, [put(`k${decree}`, 'v')])));
    records.push(record(mutationOf(3, [put('k3', 'newer ballot')], 3000n, 2)));
    const loaded = committedMutationsAfter(records, 1, 4);
    assert.deepEqual(loaded.mutations.map((mutation) => mutation.decree), [2, 3, 4]);
    assert.equal(loaded.mutations[1]!.ballot, 2);
    assert.equal(loaded.lost, 0);
    const gap = committedMutationsAfter(records.filter((each) => each.mutation.decree !== 2), 0, 5);
    assert.deepEqual(gap.mutations.map((mutation) => mutation.decree), [3, 4, 5]);
    assert.equal(gap.lost, 2);
    assert.deepEqual(committedMutationsAfter(records, 5, 5), { mutations: [], lost: 0 });
  });

  test('batches end after the mutation that reaches the batch bytes; atomic and duplicated writes are not shipped', () => {
    const value = 'x'.repeat(100);
    const mutations = [
      mutationOf(1, [put('a', value)]),
      mutationOf(2, [put('b', value), remove('c')]),
      mutationOf(3, [incr('n')]),
      mutationOf(4, [{ op: 'duplicate', request: { entries: [entryOf(put('d', 'from elsewhere'), 1n)] } }]),
      mutationOf(5, [put('e', value)]),
    ];
    const batches = batchMutations(mutations, 7, 150, 0);
    assert.deepEqual(batches.map((batch) => [batch.lastDecree, batch.mutations, batch.entries.length]), [[2, 2, 3], [5, 3, 1]]);
    const [first] = batches[0]!.entries;
    assert.equal(first!.taskCode, 'RPC_RRDB_RRDB_PUT');
    assert.equal(first!.timestamp, 1000n);
    assert.equal(first!.clusterId, 7);
    assert.equal(first!.verifyTimetag, true);
    assert.deepEqual(decodeRawMessage(first!.taskCode, first!.rawMessage), put('a', value));
    assert.equal(batches[0]!.bytes, batches[0]!.entries.reduce((sum, entry) => sum + entry.rawMessage!.length, 0));
    assert.deepEqual(batchMutations([mutationOf(1, [incr('n')])], 7, 150, 0).map((batch) => batch.entries.length), [0]);
    assert.equal(batchMutations(mutations, 7, 1 << 20, 120).length, 3, 'dup_max_allowed_write_size ends a batch too');
  });

  test('fail modes: FAIL_SLOW retries with back-off, FAIL_SKIP skips and FAIL_FAST stops after a few attempts', () => {
    assert.deepEqual(onShipFailure(DuplicationFailMode.FAIL_SLOW, 1), { kind: 'retry', delayMs: 1000 });
    assert.deepEqual(onShipFailure(DuplicationFailMode.FAIL_SLOW, 2), { kind: 'retry', delayMs: 2000 });
    assert.deepEqual(onShipFailure(DuplicationFailMode.FAIL_SLOW, 100), { kind: 'retry', delayMs: 10_000 });
    assert.deepEqual(onShipFailure(DuplicationFailMode.FAIL_SKIP, SHIP_ATTEMPTS_MAX - 1), { kind: 'retry', delayMs: 2000 });
    assert.deepEqual(onShipFailure(DuplicationFailMode.FAIL_SKIP, SHIP_ATTEMPTS_MAX), { kind: 'skip' });
    assert.deepEqual(onShipFailure(DuplicationFailMode.FAIL_FAST, SHIP_ATTEMPTS_MAX), { kind: 'stop' });
    assert.deepEqual(onShipFailure(9 as DuplicationFailMode, SHIP_ATTEMPTS_MAX), { kind: 'retry', delayMs: 4000 }, 'an unknown mode retries');
  });
});

/** A primary with `decrees` committed mutations (one put each) and a follower answering by `answer`. */
function fakePrimary(decrees: number, answer: (request: DuplicateRequest) => DuplicateResponse | Error, name: string) {
  const mutations = Array.from({ length: decrees }, (_unused, index) => mutationOf(index + 1, [put(`k${index + 1}`, `v${index + 1}`)]));
  const sent: DuplicateRequest[] = [];
  const sender: DuplicateSender = {
    send: async (target, request) => {
      assert.deepEqual(target, { remoteCluster: 'backup', remoteAppName: 'follower', partitionIndex: 3 });
      sent.push(request);
      const reply = answer(request);
      if (reply instanceof Error) throw reply;
      return reply;
    },
  };
  let primary = true;
  let syncs = 0;
  const entity = metricRegistry.entity('replica', `replica@dup-test-${name}`, {});
  const metrics = duplicationMetrics(entity, () => ({ pendingMutations: 0, pendingBytes: 0, lostMutations: 0 }));
  const host: DuplicatorHost = {
    gpid: { appId: 9, partitionIndex: 3 },
    appName: () => 'master',
    clusterId: () => 1,
    isPrimary: () => primary,
    lastCommittedDecree: () => mutations.length,
    lastAppliedDecree: () => 0,
    readLog: async (after) => ({ records: mutations.filter((mutation) => mutation.decree > after).map((mutation) => ({ mutation, lastCommittedDecree: mutation.decree - 1 })), bytes: 1 }),
    syncStore: async () => {
      syncs += 1;
      return mutations.length;
    },
    sender,
    metrics,
  };
  return {
    host, sent, metrics, mutations,
    setPrimary: (value: boolean) => (primary = value),
    syncs: () => syncs,
    shippedKeys: () => sent.flatMap((request) => request.entries.map((entry) => (decodeRawMessage(entry.taskCode, entry.rawMessage) as Extract<ClientWrite, { op: 'put' }>).request.key.toString('latin1'))),
  };
}

const dupEntry = (status: DuplicationStatus, failMode = DuplicationFailMode.FAIL_SLOW, confirmed = INVALID_DECREE): DuplicationEntry => ({
  dupid: 1700000000, status, remote: 'backup', createTs: 0n, remoteAppName: 'follower', failMode, progress: new Map([[3, BigInt(confirmed)]]),
});

describe('a primary duplicator', () => {
  test('in DS_LOG ships every committed mutation in order and reports the progress until the meta confirms it', async () => {
    const primary = fakePrimary(5, () => ({ error: 0 }), 'log');
    const duplicator = new ReplicaDuplicator(dupEntry(DuplicationStatus.DS_LOG, DuplicationFailMode.FAIL_SLOW, 0), 0, primary.host);
    try {
      await waitFor('five shipped', () => duplicator.state().lastDecree === 5, 60_000);
      assert.deepEqual(primary.shippedKeys(), [1, 2, 3, 4, 5].map((decree) => k(`k${decree}`).toString('latin1')));
      assert.equal(primary.metrics.shippedMutations.value, 5);
      assert.deepEqual(duplicator.confirmEntry(), { dupid: 1700000000, confirmedDecree: 5n, checkpointPrepared: false, lastCommittedDecree: 5n });
      assert.equal(duplicator.retainedAfter, 0, 'the log is kept after what the meta confirmed');
      duplicator.update(dupEntry(DuplicationStatus.DS_LOG), 5);
      assert.equal(duplicator.confirmEntry(), undefined);
      assert.equal(duplicator.retainedAfter, 5);
    } finally {
      duplicator.close();
    }
  });

  test('a new primary continues from the confirmed decree; DS_PAUSE ships nothing', async () => {
    const primary = fakePrimary(4, () => ({ error: 0 }), 'continue');
    const duplicator = new ReplicaDuplicator(dupEntry(DuplicationStatus.DS_PAUSE), 2, primary.host);
    try {
      assert.equal(duplicator.state().duplicating, false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(primary.sent.length, 0);
      duplicator.update(dupEntry(DuplicationStatus.DS_LOG), 2);
      await waitFor('the rest shipped', () => duplicator.state().lastDecree === 4, 60_000);
      assert.deepEqual(primary.shippedKeys(), [k('k3').toString('latin1'), k('k4').toString('latin1')]);
    } finally {
      duplicator.close();
    }
  });

  test('DS_PREPARE makes the store durable and reports the checkpoint prepared', async () => {
    const primary = fakePrimary(3, () => ({ error: 0 }), 'prepare');
    const duplicator = new ReplicaDuplicator(dupEntry(DuplicationStatus.DS_PREPARE), INVALID_DECREE, primary.host);
    try {
      await waitFor('checkpoint prepared', () => duplicator.confirmEntry()?.checkpointPrepared === true, 60_000);
      assert.equal(primary.syncs(), 1);
      assert.equal(duplicator.confirmEntry()!.confirmedDecree, 1n, 'the progress starts at the checkpoint decree');
      assert.equal(primary.sent.length, 0);
    } finally {
      duplicator.close();
    }
  });

  test('FAIL_SLOW retries a refused batch until the follower takes it', async () => {
    let refusals = 2;
    const primary = fakePrimary(1, () => (refusals-- > 0 ? { error: 11, errorHint: 'busy' } : { error: 0 }), 'slow');
    const duplicator = new ReplicaDuplicator(dupEntry(DuplicationStatus.DS_LOG, DuplicationFailMode.FAIL_SLOW, 0), 0, primary.host);
    try {
      await waitFor('shipped after retries', () => duplicator.state().lastDecree === 1, 60_000);
      assert.equal(primary.sent.length, 3);
      assert.equal(primary.metrics.shippedFailedRequests.value, 2);
      assert.equal(primary.metrics.shippedSuccessfulRequests.value, 1);
    } finally {
      duplicator.close();
    }
  });

  test('FAIL_SKIP gives a batch up; FAIL_FAST stops until the duplication changes', async () => {
    const skipping = fakePrimary(1, () => new Error('no primary'), 'skip');
    const skipper = new ReplicaDuplicator(dupEntry(DuplicationStatus.DS_LOG, DuplicationFailMode.FAIL_SKIP, 0), 0, skipping.host);
    let fastFails = true;
    const failing = fakePrimary(1, () => (fastFails ? new Error('no primary') : { error: 0 }), 'fast');
    const stopper = new ReplicaDuplicator(dupEntry(DuplicationStatus.DS_LOG, DuplicationFailMode.FAIL_FAST, 0), 0, failing.host);
    try {
      await waitFor('skipped', () => skipper.state().lastDecree === 1, 60_000);
      assert.equal(skipping.sent.length, SHIP_ATTEMPTS_MAX);
      assert.equal(skipping.metrics.skippedMutations.value, 1);
      await waitFor('stopped', () => !stopper.state().duplicating, 60_000);
      assert.equal(failing.sent.length, SHIP_ATTEMPTS_MAX);
      assert.equal(stopper.state().lastDecree, 0);
      fastFails = false;
      stopper.update(dupEntry(DuplicationStatus.DS_LOG, DuplicationFailMode.FAIL_SLOW), 0);
      await waitFor('shipped after the change', () => stopper.state().lastDecree === 1, 60_000);
    } finally {
      skipper.close();
      stopper.close();
    }
  });
});

describe('the duplication manager', () => {
  test('follows the dup_map: a duplicator per dupid on a primary, the lowest confirmed decree otherwise', async () => {
    const primary = fakePrimary(2, () => ({ error: 0 }), 'manager');
    const manager = new DuplicationManager(primary.host);
    try {
      const other = { ...dupEntry(DuplicationStatus.DS_PAUSE, DuplicationFailMode.FAIL_SLOW, 1), dupid: 1700000001 };
      const noProgress = { ...dupEntry(DuplicationStatus.DS_LOG), dupid: 1700000002, progress: new Map() };
      manager.update(new Map([[1700000000, dupEntry(DuplicationStatus.DS_LOG, DuplicationFailMode.FAIL_SLOW, 0)], [other.dupid, other], [noProgress.dupid, noProgress]]));
      assert.deepEqual(manager.states().map((state) => state.dupid).sort(), [1700000000, 1700000001]);
      await waitFor('shipped', () => manager.states().find((state) => state.dupid === 1700000000)?.lastDecree === 2, 60_000);
      assert.deepEqual(manager.confirmEntries().map((entry) => [entry.dupid, entry.confirmedDecree]), [[1700000000, 2n]]);
      assert.equal(manager.logCollectableUpTo, 0);
      manager.update(new Map([[other.dupid, other]]));
      assert.deepEqual(manager.states().map((state) => state.dupid), [1700000001]);
      assert.equal(manager.logCollectableUpTo, 1);
      primary.setPrimary(false);
      manager.update(new Map([[other.dupid, other], [1700000000, dupEntry(DuplicationStatus.DS_LOG, DuplicationFailMode.FAIL_SLOW, 7)]]));
      assert.deepEqual(manager.states(), []);
      assert.deepEqual(manager.confirmEntries(), []);
      assert.equal(manager.logCollectableUpTo, 1, 'a secondary keeps the log after the lowest confirmed decree');
      manager.update(new Map());
      assert.equal(manager.logCollectableUpTo, Infinity);
    } finally {
      manager.removeAll();
    }
  });
});
