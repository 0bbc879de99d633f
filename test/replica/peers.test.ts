// Replica-to-replica messages on the wire: every message type survives the trip through the
// thrift struct and back, and a message no peer could have meant is refused with ERR_INVALID_DATA.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PteronError } from '../../src/base/index.ts';
import type { Mutation } from '../../src/replica/write/mutation.ts';
import type { PeerMessage } from '../../src/replica/pacifica/messages.ts';
import { CheckpointServer, peerMessageFromWire, peerMessageToWire } from '../../src/replica/peers.ts';
import { decodeCheckpoint, encodeKey, memoryEngine, ReplicaStore } from '../../src/storage/index.ts';
import { decodeValue, encodeValue, peerMessageCodec, type PeerMessageWire } from '../../src/wire/index.ts';

const gpid = { appId: 3, partitionIndex: 5 };
const membership = { ballot: 7, primary: '127.0.0.1:34801', secondaries: ['127.0.0.1:34802', '127.0.0.1:34803'] };
const mutation: Mutation = {
  decree: 42, ballot: 7, timestampUs: 1_700_000_000_000_000n,
  writes: [
    { op: 'put', request: { key: encodeKey(Buffer.from('h'), Buffer.from('s')), value: Buffer.from([0, 1, 255]), expireTsSeconds: 0 } },
    { op: 'remove', key: encodeKey(Buffer.from('h'), Buffer.from('')) },
  ],
};

const messages: PeerMessage[] = [
  { type: 'prepare', membership, lastCommitted: 41, mutation },
  { type: 'prepare_ack', err: 'ERR_OK', ballot: 7, decree: 42, mutationBallot: 7 },
  { type: 'group_check', membership, lastCommitted: 41, learnerSignature: 0 },
  { type: 'group_check_ack', err: 'ERR_INVALID_STATE', ballot: 8, lastCommitted: 40, lastPrepared: 42 },
  { type: 'add_learner', membership, signature: 7_000_001 },
  { type: 'learn', signature: 7_000_001, lastCommitted: 12 },
  { type: 'learn_reply', err: 'ERR_OK', membership, signature: 7_000_001, kind: 'cache', lastCommitted: 41, prepareStart: 43, mutations: [mutation] },
  { type: 'learn_reply', err: 'ERR_OBJECT_NOT_FOUND', membership, signature: 7_000_001, kind: 'checkpoint', lastCommitted: 41, prepareStart: 0, mutations: [] },
  { type: 'learn_completed', signature: 7_000_001, lastPrepared: 42 },
];

/** Through the struct's bytes and back, as a peer receives it. */
const roundTrip = (message: PeerMessage): PeerMessage => {
  const wire = decodeValue(peerMessageCodec, encodeValue(peerMessageCodec, peerMessageToWire(gpid, '127.0.0.1:34801', message)));
  assert.deepEqual([wire.gpid, wire.from, wire.type], [gpid, '127.0.0.1:34801', message.type]);
  return peerMessageFromWire(wire);
};

describe('peer messages on the wire', () => {
  for (const message of messages) {
    test(`${message.type}${'kind' in message ? ` (${message.kind})` : ''} round-trips`, () => {
      assert.deepEqual(roundTrip(message), message);
    });
  }

  test('malformed messages are refused with ERR_INVALID_DATA', () => {
    const base: PeerMessageWire = { gpid, from: '127.0.0.1:34801', type: 'prepare_ack', err: 'ERR_OK', ballot: 1n, decree: 2n, mutationBallot: 1n };
    const bad: PeerMessageWire[] = [
      { ...base, type: 'nonsense' },
      { ...base, err: 'ERR_SOMETHING_ELSE' },
      { ...base, decree: undefined },
      { ...base, decree: -1n },
      { ...base, ballot: 1n << 60n },
      { ...base, type: 'prepare', primary: 'a:1', secondaries: [], lastCommitted: 0n, mutations: [] },
      { ...base, type: 'prepare', primary: 'a:1', secondaries: [], lastCommitted: 0n, mutations: [Buffer.from('not a mutation')] },
      { ...base, type: 'learn_reply', kind: 'snapshot', signature: 1n, lastCommitted: 0n, prepareStart: 0n },
    ];
    for (const wire of bad) {
      assert.throws(() => peerMessageFromWire(wire), (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_DATA', JSON.stringify(wire, (_, value) => typeof value === 'bigint' ? String(value) : value));
    }
  });
});

describe('checkpoint copies for learners', () => {
  test('two partitions with the same learner and signature get their own checkpoints', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-checkpoints-'));
    const server = new CheckpointServer(dir);
    const stores: ReplicaStore[] = [];
    try {
      for (const partitionIndex of [0, 1]) {
        const store = await ReplicaStore.open({ replicaDir: `/replica/1.${partitionIndex}.pegasus`, engineFactory: memoryEngine() });
        // Each checkpoint spans several chunks.
        const ops = Array.from({ length: 3 }, (_, index) => ({
          type: 'put' as const, key: encodeKey(Buffer.from(`p${partitionIndex}`), Buffer.from(`s${index}`)), userData: Buffer.alloc(600_000, 1), expireTs: 0,
        }));
        await store.applyMutation(1, ops);
        stores.push(store);
      }
      // The same learner and signature (signatures count within a ballot, so partitions share
      // them): partition 1's copy starts while partition 0's is half way.
      const learner = '127.0.0.1:34803';
      const first = await server.chunk({ appId: 1, partitionIndex: 0 }, stores[0]!, learner, 7_000_001, 0);
      assert.equal(first.eof, false);
      const copy = async (partitionIndex: number, start: Buffer[]): Promise<Buffer[]> => {
        const parts = [...start];
        for (let offset = parts.reduce((sum, part) => sum + part.length, 0); ;) {
          const next = await server.chunk({ appId: 1, partitionIndex }, stores[partitionIndex]!, learner, 7_000_001, offset);
          parts.push(next.data);
          offset += next.data.length;
          if (next.eof) return parts;
        }
      };
      const otherFirst = await server.chunk({ appId: 1, partitionIndex: 1 }, stores[1]!, learner, 7_000_001, 0);
      assert.equal(otherFirst.eof, false);
      const copies = [await copy(0, [first.data]), await copy(1, [otherFirst.data])];
      for (const [partitionIndex, chunks] of copies.entries()) {
        const checkpoint = await decodeCheckpoint(chunks);
        const hashKeys = new Set<string>();
        for await (const [key] of checkpoint.entries()) hashKeys.add(key.subarray(2, 4).toString());
        assert.deepEqual([...hashKeys], [`p${partitionIndex}`]);
      }
    } finally {
      for (const store of stores) await store.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
