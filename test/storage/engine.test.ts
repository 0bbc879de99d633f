// The StorageEngine contract, checked against both engines: LevelDB (classic-level) in a temp
// directory, and the in-memory engine the simulator uses. Then LevelDB-only facts: data
// survives close/reopen, compaction frees space, properties, the write buffer taken at open, and
// directories of other engines (RocksDB, as Pegasus leaves them) refused.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ClassicLevelEngine, LEVELDB_WRITE_BUFFER_DEFAULT, MemoryDisk, classicLevelEngine, entries, foreignStoreReason, memoryEngine, type Entry,
  type StorageEngine,
} from '../../src/storage/index.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-storage-engine-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let sequence = 0;
const memoryDisk = new MemoryDisk();
const makeMemory = memoryEngine(memoryDisk);

interface EngineKind {
  name: string;
  make(): StorageEngine;
}

const kinds: EngineKind[] = [
  { name: 'classic-level', make: () => new ClassicLevelEngine(path.join(scratch, `db-${(sequence += 1)}`)) },
  { name: 'memory', make: () => makeMemory(`mem-${(sequence += 1)}`) },
];

const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const text = (list: Entry[]): string[] => list.map(([key, value]) => `${key.toString('latin1')}=${value.toString('latin1')}`);

async function withEngine(kind: EngineKind, body: (engine: StorageEngine) => Promise<void>): Promise<void> {
  const engine = kind.make();
  await engine.open();
  try {
    await body(engine);
  } finally {
    await engine.destroy();
  }
}

async function collect(engine: StorageEngine, options: Parameters<StorageEngine['cursor']>[0] = {}): Promise<Entry[]> {
  const list: Entry[] = [];
  for await (const entry of entries(engine, options, 2)) list.push(entry);
  return list;
}

async function fill(engine: StorageEngine, keys: string[]): Promise<void> {
  await engine.write(keys.map((key) => ({ type: 'put' as const, key: b(key), value: b(key.toUpperCase()) })));
}

for (const kind of kinds) {
  describe(`${kind.name} engine`, () => {
    it('opens, reports status, and reads what it wrote', async () => {
      const engine = kind.make();
      assert.equal(engine.status, 'closed');
      await engine.open();
      assert.equal(engine.status, 'open');
      await engine.write([{ type: 'put', key: b('k'), value: b('v') }]);
      assert.equal((await engine.get(b('k')))?.toString(), 'v');
      assert.equal(engine.getSync(b('k'))?.toString(), 'v');
      assert.equal(await engine.get(b('missing')), undefined);
      assert.equal(engine.getSync(b('missing')), undefined);
      const many = await engine.getMany([b('k'), b('missing'), b('k')]);
      assert.deepEqual(many.map((value) => value?.toString()), ['v', undefined, 'v']);
      assert.deepEqual(await engine.hasMany([b('missing'), b('k')]), [false, true]);
      assert.deepEqual(await engine.getMany([]), []);
      await engine.destroy();
      assert.equal(engine.status, 'closed');
    });

    it('applies a batch in order, as one write', async () => {
      await withEngine(kind, async (engine) => {
        await engine.write([
          { type: 'put', key: b('a'), value: b('1') },
          { type: 'put', key: b('b'), value: b('2') },
          { type: 'del', key: b('a') },
          { type: 'put', key: b('b'), value: b('3') },
          { type: 'del', key: b('never-there') },
        ]);
        assert.deepEqual(text(await collect(engine)), ['b=3']);
        await engine.write([]);
        assert.deepEqual(text(await collect(engine)), ['b=3']);
      });
    });

    it('keeps binary keys in unsigned byte order', async () => {
      await withEngine(kind, async (engine) => {
        const keys = [Buffer.of(0xff), Buffer.of(0x00), Buffer.of(0x00, 0x00), Buffer.of(0x7f), Buffer.of(0x80), Buffer.of(0xff, 0xff)];
        await engine.write(keys.map((key) => ({ type: 'put' as const, key, value: key })));
        const order = (await collect(engine)).map(([key]) => key.toString('hex'));
        assert.deepEqual(order, ['00', '0000', '7f', '80', 'ff', 'ffff']);
      });
    });

    it('iterates forward and backward with bounds and limits', async () => {
      await withEngine(kind, async (engine) => {
        await fill(engine, ['a', 'b', 'c', 'd', 'e']);
        const keys = async (options: Parameters<StorageEngine['cursor']>[0]) =>
          (await collect(engine, options)).map(([key]) => key.toString());
        assert.deepEqual(await keys({}), ['a', 'b', 'c', 'd', 'e']);
        assert.deepEqual(await keys({ reverse: true }), ['e', 'd', 'c', 'b', 'a']);
        assert.deepEqual(await keys({ gte: b('b'), lt: b('d') }), ['b', 'c']);
        assert.deepEqual(await keys({ gt: b('b'), lte: b('d') }), ['c', 'd']);
        assert.deepEqual(await keys({ gt: b('b'), lte: b('d'), reverse: true }), ['d', 'c']);
        assert.deepEqual(await keys({ gte: b('bb') }), ['c', 'd', 'e']);
        assert.deepEqual(await keys({ limit: 2 }), ['a', 'b']);
        assert.deepEqual(await keys({ limit: 2, reverse: true }), ['e', 'd']);
        assert.deepEqual(await keys({ limit: 0 }), []);
        assert.deepEqual(await keys({ gte: b('x') }), []);
        assert.deepEqual(await keys({ gte: b('d'), lt: b('b') }), []);
        assert.throws(() => engine.cursor({ gt: b('a'), gte: b('a') }));
      });
    });

    it('hands out cursor entries in steps and ends with an empty step', async () => {
      await withEngine(kind, async (engine) => {
        await fill(engine, ['a', 'b', 'c']);
        const cursor = engine.cursor({});
        assert.equal((await cursor.next(2)).length, 2);
        assert.equal((await cursor.next(2)).length, 1);
        assert.equal((await cursor.next(2)).length, 0);
        await cursor.close();
        assert.equal(cursor.closed, true);
        assert.deepEqual(await cursor.next(1), []);
      });
    });

    it('a cursor reads the store as it was when opened', async () => {
      await withEngine(kind, async (engine) => {
        await fill(engine, ['a', 'b', 'c']);
        const cursor = engine.cursor({});
        await engine.write([{ type: 'del', key: b('b') }, { type: 'put', key: b('bb'), value: b('new') }]);
        const seen = (await cursor.next(10)).map(([key]) => key.toString());
        await cursor.close();
        assert.deepEqual(seen, ['a', 'b', 'c']);
      });
    });

    it('a snapshot hides writes made after it, for gets and cursors', async () => {
      await withEngine(kind, async (engine) => {
        await engine.write([{ type: 'put', key: b('k'), value: b('before') }, { type: 'put', key: b('gone'), value: b('x') }]);
        const snapshot = engine.snapshot();
        await engine.write([
          { type: 'put', key: b('k'), value: b('after') },
          { type: 'del', key: b('gone') },
          { type: 'put', key: b('new'), value: b('y') },
        ]);
        assert.equal((await engine.get(b('k'), { snapshot }))?.toString(), 'before');
        assert.equal(engine.getSync(b('k'), { snapshot })?.toString(), 'before');
        assert.equal((await engine.getMany([b('gone'), b('new')], { snapshot }))[0]?.toString(), 'x');
        assert.equal((await engine.getMany([b('new')], { snapshot }))[0], undefined);
        assert.deepEqual(text(await collect(engine, { snapshot })), ['gone=x', 'k=before']);
        assert.deepEqual(text(await collect(engine)), ['k=after', 'new=y']);
        await snapshot.close();
        assert.equal(snapshot.closed, true);
        assert.throws(() => engine.getSync(b('k'), { snapshot }));
      });
    });

    it('deletes a key range', async () => {
      await withEngine(kind, async (engine) => {
        await fill(engine, ['a', 'b', 'ba', 'c', 'd']);
        await engine.clearRange({ gte: b('b'), lt: b('c') });
        assert.deepEqual((await collect(engine)).map(([key]) => key.toString()), ['a', 'c', 'd']);
        await engine.clearRange({ gt: b('c') });
        assert.deepEqual((await collect(engine)).map(([key]) => key.toString()), ['a', 'c']);
        await engine.clearRange({});
        assert.deepEqual(await collect(engine), []);
      });
    });

    it('stores 1 MiB values intact', async () => {
      await withEngine(kind, async (engine) => {
        const big = Buffer.alloc(1 << 20);
        for (let index = 0; index < big.length; index += 1) big[index] = (index * 31 + 7) & 0xff;
        await engine.write([{ type: 'put', key: b('big'), value: big }, { type: 'put', key: b('big2'), value: big }]);
        assert.ok((await engine.get(b('big')))!.equals(big));
        assert.ok(engine.getSync(b('big2'))!.equals(big));
        const listed = await collect(engine);
        assert.equal(listed.length, 2);
        assert.ok(listed[1]![1].equals(big));
      });
    });

    it('does not let a caller change stored data through a reused buffer', async () => {
      await withEngine(kind, async (engine) => {
        const value = b('original');
        await engine.write([{ type: 'put', key: b('k'), value }]);
        value.fill(0x21);
        assert.equal((await engine.get(b('k')))?.toString(), 'original');
      });
    });

    it('closing the engine fails open cursors and releases snapshots', async () => {
      const engine = kind.make();
      await engine.open();
      await fill(engine, ['a', 'b']);
      const cursor = engine.cursor({});
      assert.equal((await cursor.next(1)).length, 1);
      const snapshot = engine.snapshot();
      await engine.close();
      assert.equal(engine.status, 'closed');
      await engine.close();
      await assert.rejects(cursor.next(1));
      await cursor.close();
      await snapshot.close();
      await engine.destroy();
    });

    it('keeps its data across close and reopen', async () => {
      const first = kind.make();
      await first.open();
      await fill(first, ['x', 'y']);
      await first.write([{ type: 'del', key: b('x') }], { sync: true });
      await first.close();
      const second = kind.name === 'memory' ? makeMemory(first.location) : new ClassicLevelEngine(first.location);
      await second.open();
      assert.deepEqual(text(await collect(second)), ['y=Y']);
      await second.destroy();
    });

    it('compacts a range and estimates sizes', async () => {
      await withEngine(kind, async (engine) => {
        await engine.compactRange(b('a'), b('z'));
        assert.equal(typeof (await engine.approximateSize(b('a'), b('z'))), 'number');
      });
    });

    it('reads that leave the block cache alone (fillCache: false) see the same data', async () => {
      await withEngine(kind, async (engine) => {
        await fill(engine, ['a', 'b', 'c']);
        const options = { fillCache: false };
        assert.deepEqual(await engine.get(b('b'), options), b('B'));
        assert.deepEqual(engine.getSync(b('c'), options), b('C'));
        assert.deepEqual(await engine.getMany([b('a'), b('x')], options), [b('A'), undefined]);
        const snapshot = engine.snapshot();
        await fill(engine, ['d']);
        assert.deepEqual(text(await collect(engine, { ...options, snapshot })), ['a=A', 'b=B', 'c=C']);
        await snapshot.close();
        assert.deepEqual(text(await collect(engine, { ...options, reverse: true, limit: 2 })), ['d=D', 'c=C']);
      });
    });
  });
}

describe('classic-level specifics', () => {
  it('creates the directory, and destroy removes it', async () => {
    const location = path.join(scratch, 'nested', 'deeper', 'rdb');
    const engine = new ClassicLevelEngine(location);
    await engine.open();
    assert.ok(existsSync(location));
    await engine.destroy();
    assert.equal(existsSync(location), false);
  });

  it('compaction frees the space of deleted data', async () => {
    const engine = new ClassicLevelEngine(path.join(scratch, 'compact'), { writeBufferBytes: 256 * 1024 });
    await engine.open();
    try {
      const value = Buffer.alloc(1000, 0x5a);
      for (let batch = 0; batch < 10; batch += 1) {
        const ops = [];
        for (let index = 0; index < 500; index += 1) {
          ops.push({ type: 'put' as const, key: b(`key:${String(batch * 500 + index).padStart(6, '0')}`), value: Buffer.from(value.map((byte) => byte ^ index)) });
        }
        await engine.write(ops);
      }
      await engine.compactRange(b('key:'), b('key;'));
      const before = await engine.approximateSize(b('key:'), b('key;'));
      assert.ok(before > 100_000, `expected the data on disk, got ${before} bytes`);
      await engine.clearRange({ gte: b('key:'), lt: b('key;') });
      await engine.compactRange(b('key:'), b('key;'));
      const afterBytes = await engine.approximateSize(b('key:'), b('key;'));
      assert.ok(afterBytes < before / 10, `${afterBytes} bytes left of ${before}`);
      assert.match(engine.property('leveldb.stats') ?? '', /Compactions/);
      assert.equal(engine.property('no.such.property'), undefined);
    } finally {
      await engine.destroy();
    }
  });

  it('takes its write buffer from the factory options: a small one writes table files, a large one keeps the data in memory', async () => {
    const ops = Array.from({ length: 1000 }, (_, index) => ({ type: 'put' as const, key: b(`key:${String(index).padStart(4, '0')}`), value: Buffer.alloc(1000, index) }));
    const tableFiles = async (writeBufferBytes: number): Promise<number> => {
      const location = path.join(scratch, `buffer-${writeBufferBytes}`);
      const engine = classicLevelEngine({ writeBufferBytes: 1 << 20 })(location, { writeBufferBytes });
      assert.equal(engine.writeBufferBytes, writeBufferBytes, 'the factory options override the tuning');
      await engine.open();
      try {
        for (let start = 0; start < ops.length; start += 100) await engine.write(ops.slice(start, start + 100));
        return readdirSync(location).filter((name) => name.endsWith('.ldb')).length;
      } finally {
        await engine.destroy();
      }
    };
    assert.ok((await tableFiles(64 * 1024)) > 0, 'about 1 MB through a 64 KiB buffer reaches table files');
    assert.equal(await tableFiles(64 * 1024 * 1024), 0, 'about 1 MB fits a 64 MiB buffer');
    assert.equal(new ClassicLevelEngine(path.join(scratch, 'unset')).writeBufferBytes, LEVELDB_WRITE_BUFFER_DEFAULT);
  });

  it('tells a LevelDB directory from a RocksDB one by its files', () => {
    assert.equal(foreignStoreReason([]), undefined);
    assert.equal(foreignStoreReason(['CURRENT', 'LOCK', 'LOG', 'LOG.old', 'MANIFEST-000004', '000005.ldb', '000006.log']), undefined);
    assert.equal(foreignStoreReason(['LOCK', 'LOG', 'MANIFEST-000001']), undefined, 'a creation cut short: LevelDB starts it afresh');
    assert.equal(foreignStoreReason(['CURRENT', 'notes.txt']), undefined, 'LevelDB ignores files it does not know');
    assert.match(foreignStoreReason(['CURRENT', 'IDENTITY', 'LOCK', 'MANIFEST-000005', 'OPTIONS-000007', '000009.sst'])!, /RocksDB database \(IDENTITY;/);
    assert.match(foreignStoreReason(['CURRENT', 'OPTIONS-000007'])!, /RocksDB database \(OPTIONS-000007;/);
    assert.match(foreignStoreReason(['data.bin'])!, /holds data\.bin but no LevelDB CURRENT file/);
  });

  it('refuses to open a RocksDB directory or a file, naming the location and the reason, and leaves it untouched', async () => {
    // The files RocksDB (and so Pegasus's data/rdb) writes.
    const rocksdb = path.join(scratch, 'pegasus', 'data', 'rdb');
    mkdirSync(rocksdb, { recursive: true });
    const files = ['CURRENT', 'IDENTITY', 'LOCK', 'LOG', 'MANIFEST-000005', 'OPTIONS-000007', '000009.sst'];
    for (const name of files) writeFileSync(path.join(rocksdb, name), name === 'CURRENT' ? 'MANIFEST-000005\n' : '');
    const engine = new ClassicLevelEngine(rocksdb);
    await assert.rejects(engine.open(), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_LOCAL_APP_FAILURE');
      assert.ok(error.message.includes(rocksdb), error.message);
      assert.match(error.message, /RocksDB database/);
      return true;
    });
    assert.equal(engine.status, 'closed');
    assert.deepEqual(readdirSync(rocksdb).sort(), [...files].sort(), 'nothing was written into it');

    const file = path.join(scratch, 'plain-file');
    writeFileSync(file, 'not a database');
    await assert.rejects(new ClassicLevelEngine(file).open(), new RegExp(`refusing to open ${file} as a LevelDB store: it is not a directory`));
  });

  it('a second engine on an open directory fails to open (LevelDB lock)', async () => {
    const location = path.join(scratch, 'locked');
    const first = new ClassicLevelEngine(location);
    await first.open();
    const second = new ClassicLevelEngine(location);
    await assert.rejects(second.open());
    await first.destroy();
  });
});

describe('memory engine specifics', () => {
  it('keeps volumes per location on one disk, and destroy empties one', async () => {
    const disk = new MemoryDisk();
    const make = memoryEngine(disk);
    const one = make('one');
    const two = make('two');
    await one.open();
    await two.open();
    await fill(one, ['a']);
    assert.deepEqual(await collect(two), []);
    await one.destroy();
    const again = make('one');
    await again.open();
    assert.deepEqual(await collect(again), []);
    assert.equal(again.property('memory.entries'), '0');
    await again.close();
    await two.close();
  });

  it('refuses reads when closed', async () => {
    const engine = memoryEngine()('closed');
    assert.throws(() => engine.getSync(b('k')));
    await assert.rejects(engine.get(b('k')));
  });
});
