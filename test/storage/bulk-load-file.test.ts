// Bulk-load data files: written and read back block by block, damage found by the CRC, and
// ingested into a replica store as one decree (behind or over what the store holds).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PteronError } from '../../src/base/index.ts';
import {
  BulkLoadFileWriter, ReplicaStore, encodeKey, encodeValue, readBulkLoadFile, type BulkRecord,
} from '../../src/storage/index.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-bulk-file-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string): string => path.join(scratch, `${counter++}-${name}`);

function record(index: number, dataVersion = 1): BulkRecord {
  return { key: encodeKey(Buffer.from(`h${index}`), Buffer.from('s')), value: encodeValue(dataVersion, Buffer.from(`value-${index}`), 0) };
}

async function writeFile(file: string, count: number, dataVersion = 1): Promise<void> {
  const writer = new BulkLoadFileWriter(file, dataVersion);
  for (let index = 0; index < count; index++) await writer.add(record(index, dataVersion));
  await writer.close();
}

async function readAll(file: string): Promise<BulkRecord[]> {
  const records: BulkRecord[] = [];
  for await (const block of readBulkLoadFile(file)) records.push(...block.records);
  return records;
}

describe('bulk load file', () => {
  it('reads back every record written, across many blocks', async () => {
    const file = fresh('many.pbulk');
    await writeFile(file, 20_000);
    const records = await readAll(file);
    assert.equal(records.length, 20_000);
    assert.deepEqual(records[12_345], record(12_345));
  });

  it('an empty file has a header and no records', async () => {
    const file = fresh('empty.pbulk');
    await writeFile(file, 0);
    assert.deepEqual(await readAll(file), []);
  });

  it('a flipped byte, a cut file or a foreign file is ERR_CORRUPTION', async () => {
    const file = fresh('flip.pbulk');
    await writeFile(file, 100);
    const bytes = readFileSync(file);
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 3]! ^= 0xff;
    const cases: Array<[string, Buffer]> = [['flipped', flipped], ['cut', bytes.subarray(0, bytes.length - 5)], ['foreign', Buffer.from('not a bulk load file at all')]];
    for (const [name, content] of cases) {
      const damaged = fresh(`${name}.pbulk`);
      writeFileSync(damaged, content);
      await assert.rejects(readAll(damaged), (error: unknown) => error instanceof PteronError && error.code === 'ERR_CORRUPTION', name);
    }
  });
});

describe('ReplicaStore.ingestBulkLoad', () => {
  async function openStore(): Promise<ReplicaStore> {
    return ReplicaStore.open({ replicaDir: fresh('replica') });
  }

  it('writes every record as one decree', async () => {
    const store = await openStore();
    try {
      const files = [fresh('a.pbulk'), fresh('b.pbulk')];
      await writeFile(files[0]!, 3000);
      await writeFile(files[1]!, 10);
      await store.applyMutation(1, [{ type: 'put', key: encodeKey(Buffer.from('other'), Buffer.from('s')), userData: Buffer.from('x'), expireTs: 0 }]);
      const stats = await store.ingestBulkLoad(2, files, { behind: false });
      assert.equal(stats.records, 3010);
      assert.equal(stats.written, 3010);
      assert.equal(store.lastAppliedDecree, 2);
      assert.equal((await store.get(record(2999).key))?.userData.toString(), 'value-2999');
      assert.equal((await store.get(encodeKey(Buffer.from('other'), Buffer.from('s'))))?.userData.toString(), 'x');
    } finally {
      await store.close();
    }
  });

  it('behind keeps what the store holds; otherwise the file wins', async () => {
    for (const behind of [true, false]) {
      const store = await openStore();
      try {
        const file = fresh('behind.pbulk');
        await writeFile(file, 5);
        await store.applyMutation(1, [{ type: 'put', key: record(3).key, userData: Buffer.from('newer'), expireTs: 0 }]);
        await store.ingestBulkLoad(2, [file], { behind });
        assert.equal((await store.get(record(3).key))?.userData.toString(), behind ? 'newer' : 'value-3');
        assert.equal((await store.get(record(4).key))?.userData.toString(), 'value-4');
      } finally {
        await store.close();
      }
    }
  });

  it('a damaged file writes nothing and keeps the decree', async () => {
    const store = await openStore();
    try {
      const good = fresh('good.pbulk');
      const bad = fresh('bad.pbulk');
      await writeFile(good, 50);
      await writeFile(bad, 50);
      const bytes = readFileSync(bad);
      bytes[bytes.length - 1]! ^= 0x01;
      writeFileSync(bad, bytes);
      await assert.rejects(store.ingestBulkLoad(1, [good, bad], { behind: false }), (error: unknown) => (error as PteronError).code === 'ERR_CORRUPTION');
      assert.equal(store.lastAppliedDecree, 0);
      assert.equal(await store.get(record(0).key), undefined);
    } finally {
      await store.close();
    }
  });

  it('re-encodes values for a store of another data version', async () => {
    const store = await ReplicaStore.open({ replicaDir: fresh('v0'), dataVersion: 0 });
    try {
      const file = fresh('v1.pbulk');
      await writeFile(file, 3, 1);
      await store.ingestBulkLoad(1, [file], { behind: false });
      assert.equal((await store.get(record(1).key))?.userData.toString(), 'value-1');
    } finally {
      await store.close();
    }
  });
});
