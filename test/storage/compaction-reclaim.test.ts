// Space reclaimed by the compaction pass on real LevelDB: 100k records whose expiry is already
// past and some live ones; after compact() the store's files and key count shrink and every live
// record reads back. Also the manual-compaction finish time kept in the meta family.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ReplicaStore, encodeKey, now2016Seconds, type MutationOp } from '../../src/storage/index.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-compaction-reclaim-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const EXPIRED_RECORDS = 100_000;
const LIVE_RECORDS = 2_000;
const RECORDS_PER_DECREE = 1_000;

const keyOf = (kind: string, index: number): Buffer => encodeKey(Buffer.from(`${kind}${index % 997}`), Buffer.from(`sort-${index}`));
const valueOf = (kind: string, index: number): Buffer => Buffer.from(`${kind}-value-${index}-`.padEnd(100, 'x'));

describe('compaction reclaims expired records', () => {
  it('100k expired records: on-disk bytes and key count fall, every live record is intact', async () => {
    const store = await ReplicaStore.open({ replicaDir: path.join(scratch, 'reclaim') });
    const now = now2016Seconds();
    let decree = 0;
    for (let start = 0; start < EXPIRED_RECORDS; start += RECORDS_PER_DECREE) {
      const ops: MutationOp[] = [];
      for (let index = start; index < start + RECORDS_PER_DECREE; index += 1) {
        ops.push({ type: 'put', key: keyOf('gone', index), userData: valueOf('gone', index), expireTs: now - 60 });
      }
      await store.applyMutation((decree += 1), ops);
    }
    // Half of the live records never expire, half in an hour.
    const live: MutationOp[] = [];
    for (let index = 0; index < LIVE_RECORDS; index += 1) {
      live.push({ type: 'put', key: keyOf('live', index), userData: valueOf('live', index), expireTs: index % 2 === 0 ? 0 : now + 3600 });
    }
    await store.applyMutation((decree += 1), live);
    await store.syncApplied();

    const keysBefore = await store.countKeys();
    const bytesBefore = await store.diskBytes();
    assert.equal(keysBefore, EXPIRED_RECORDS + LIVE_RECORDS);
    const stats = await store.compact();
    const keysAfter = await store.countKeys();
    const bytesAfter = await store.diskBytes();
    console.log(`compaction: ${keysBefore} -> ${keysAfter} keys, ${bytesBefore} -> ${bytesAfter} bytes on disk`);
    assert.equal(stats.expiredDropped, EXPIRED_RECORDS);
    assert.equal(stats.raced, 0);
    assert.equal(keysAfter, LIVE_RECORDS);
    assert.ok(bytesAfter * 5 < bytesBefore, `${bytesBefore} -> ${bytesAfter} bytes`);
    assert.equal(store.lastAppliedDecree, decree, 'the pass consumes no decree');

    const values = await store.getMany(live.map((op) => op.key));
    values.forEach((record, index) => {
      const op = live[index] as Extract<MutationOp, { type: 'put' }>;
      assert.ok(record, `live record ${index} is there`);
      assert.ok(record.userData.equals(op.userData));
      assert.equal(record.expireTs, op.expireTs);
    });
    await store.close();
  });

  it('keeps the last manual compaction finish time across a reopen; diskBytes of a new store is small but not 0', async () => {
    const replicaDir = path.join(scratch, 'finish-time');
    const store = await ReplicaStore.open({ replicaDir });
    assert.equal(await store.lastManualCompactFinishTimeMs(), 0, 'never compacted');
    assert.ok((await store.diskBytes()) > 0);
    await store.recordManualCompactFinish(1_767_000_000_123);
    await store.close();
    const reopened = await ReplicaStore.open({ replicaDir });
    assert.equal(await reopened.lastManualCompactFinishTimeMs(), 1_767_000_000_123);
    await reopened.close();
  });
});
