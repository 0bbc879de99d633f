// Replica-to-replica messages on the wire: every message type survives the trip through the
// thrift struct and back, and a message no peer could have meant is refused with ERR_INVALID_DATA.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PteronError } from '../src/base/index.ts';
import type { Mutation } from '../src/replica/mutation.ts';
import type { PeerMessage } from '../src/replica/pacifica/messages.ts';
import { peerMessageFromWire, peerMessageToWire } from '../src/replica/peers.ts';
import { encodeKey } from '../src/storage/index.ts';
import { decodeValue, encodeValue, peerMessageCodec, type PeerMessageWire } from '../src/wire/index.ts';

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
