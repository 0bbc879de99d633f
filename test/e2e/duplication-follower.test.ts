// A follower cluster (one meta, three replica servers) taking RPC_RRDB_RRDB_DUPLICATE requests
// that the test sends itself as raw RPCs, as a master's primary would: shipped puts, multi_puts
// and removes read back byte for byte, an older write loses to a newer one (verify_timetag), and
// entries from itself, from an unconfigured cluster or malformed are refused with Pegasus's
// hints and change nothing. /replica/duplication answers a node without duplications as Pegasus.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeKey } from '../../src/storage/index.ts';
import { rawMessageOf, type ClientWrite, type DuplicatedWrite } from '../../src/replica/index.ts';
import type { DuplicateEntry } from '../../src/wire/index.ts';
import { keyHashOf, hashOfHashKey, TableRouter, TestCluster } from '../helpers/data-plane.ts';

const MASTER_CLUSTER_ID = 2;
const cluster = new TestCluster({
  partitionCount: 4,
  // This cluster is `test` (id 1); `master` (id 2) may duplicate into it.
  replicaSettings: ['duplication-group.test=1', `duplication-group.master=${MASTER_CLUSTER_ID}`],
});
let router: TableRouter;

const key = (hashKey: string, sortKey: string): Buffer => encodeKey(Buffer.from(hashKey), Buffer.from(sortKey));

function entryOf(write: DuplicatedWrite, timestamp: bigint, clusterId = MASTER_CLUSTER_ID): DuplicateEntry {
  return { ...rawMessageOf(write), timestamp, clusterId, verifyTimetag: true };
}

const nowUs = (): bigint => BigInt(Date.now()) * 1000n;

async function duplicate(hash: bigint, entries: DuplicateEntry[]) {
  const reply = await router.callRetrying('RPC_RRDB_RRDB_DUPLICATE', { entries }, hash);
  assert.equal(reply.error, 'ERR_OK');
  return reply.result!;
}

async function get(composite: Buffer): Promise<Buffer | undefined> {
  const reply = await router.callRetrying('RPC_RRDB_RRDB_GET', composite, keyHashOf(composite));
  assert.equal(reply.error, 'ERR_OK');
  return reply.result!.error === 1 ? undefined : reply.result!.value;
}

before(async () => {
  await cluster.start();
  await cluster.waitHealthy('temp', 4);
  router = new TableRouter(cluster.metaPort, 'temp');
  await cluster.waitServing(router);
});

after(async () => {
  await cluster.stop();
});

describe('a follower cluster', () => {
  test('applies shipped puts, multi_puts and removes through its write path, byte for byte', async () => {
    const binary = Buffer.from([0, 1, 2, 250, 255]);
    const put: ClientWrite = { op: 'put', request: { key: key('h1', 's1'), value: binary, expireTsSeconds: 0 } };
    const doomed: ClientWrite = { op: 'put', request: { key: key('h1', 's2'), value: Buffer.from('gone soon'), expireTsSeconds: 0 } };
    const removal: ClientWrite = { op: 'remove', key: key('h1', 's2') };
    const start = nowUs();
    const answer = await duplicate(keyHashOf(key('h1', 's1')), [entryOf(put, start), entryOf(doomed, start + 1n), entryOf(removal, start + 2n)]);
    assert.deepEqual(answer, { error: 0 });
    assert.deepEqual(await get(key('h1', 's1')), binary);
    assert.equal(await get(key('h1', 's2')), undefined);

    const multiPut: ClientWrite = {
      op: 'multi_put',
      request: { hashKey: Buffer.from('h2'), kvs: [{ key: Buffer.from('a'), value: Buffer.from('A') }, { key: Buffer.from('b'), value: Buffer.from('B') }], expireTsSeconds: 0 },
    };
    assert.deepEqual(await duplicate(hashOfHashKey(Buffer.from('h2')), [entryOf(multiPut, nowUs())]), { error: 0 });
    assert.deepEqual(await get(key('h2', 'a')), Buffer.from('A'));
    assert.deepEqual(await get(key('h2', 'b')), Buffer.from('B'));
  });

  test('keeps the newer write when an older one arrives (verify_timetag)', async () => {
    const at = nowUs();
    const newer: ClientWrite = { op: 'put', request: { key: key('h3', 's'), value: Buffer.from('newer'), expireTsSeconds: 0 } };
    const older: ClientWrite = { op: 'put', request: { key: key('h3', 's'), value: Buffer.from('older'), expireTsSeconds: 0 } };
    const hash = keyHashOf(key('h3', 's'));
    await duplicate(hash, [entryOf(newer, at)]);
    assert.deepEqual(await duplicate(hash, [entryOf(older, at - 1000n)]), { error: 0 });
    assert.deepEqual(await get(key('h3', 's')), Buffer.from('newer'));
  });

  test('refuses entries from itself, from an unconfigured cluster and malformed ones, and changes nothing', async () => {
    const write: ClientWrite = { op: 'put', request: { key: key('h4', 's'), value: Buffer.from('never'), expireTsSeconds: 0 } };
    const hash = keyHashOf(key('h4', 's'));
    const good = entryOf(write, nowUs());
    assert.deepEqual(await duplicate(hash, [good, { ...good, clusterId: 1 }]), { error: 4, errorHint: 'self-duplicating' });
    assert.deepEqual(await duplicate(hash, [{ ...good, clusterId: 77 }]), { error: 4, errorHint: 'request cluster id is unconfigured' });
    assert.deepEqual(await duplicate(hash, [{ ...good, taskCode: 'RPC_RRDB_RRDB_INCR' }]), { error: 4, errorHint: 'unrecognized task code RPC_RRDB_RRDB_INCR' });
    const garbled = await duplicate(hash, [{ ...good, rawMessage: Buffer.from('not a request') }]);
    assert.equal(garbled.error, 4);
    assert.match(garbled.errorHint!, /raw message of RPC_RRDB_RRDB_PUT/);
    assert.equal(await get(key('h4', 's')), undefined);
  });

  test('/replica/duplication answers a node without duplications as Pegasus', async () => {
    const port = cluster.replicaPorts[0]!;
    const missing = await fetch(`http://127.0.0.1:${port}/replica/duplication`);
    assert.deepEqual([missing.status, await missing.text()], [400, 'appid should not be empty']);
    const invalid = await fetch(`http://127.0.0.1:${port}/replica/duplication?appid=2xx`);
    assert.deepEqual([invalid.status, await invalid.text()], [400, 'invalid appid=2xx']);
    const unknown = await fetch(`http://127.0.0.1:${port}/replica/duplication?appid=999`);
    assert.deepEqual([unknown.status, await unknown.text()], [404, 'no primary for app [appid=999]']);
    const appId = router.appId;
    const answers = await Promise.all(cluster.replicaPorts.map(async (each) => {
      const response = await fetch(`http://127.0.0.1:${each}/replica/duplication?appid=${appId}`);
      return [response.status, await response.text()];
    }));
    assert.ok(answers.some(([, body]) => body === `no duplication assigned for app [appid=${appId}]`), JSON.stringify(answers));
  });
});
