// The per-replica store: decree + data applied atomically and kept across reopen (and across a
// kill -9), key counting, expiry-aware reads and scans, compaction, snapshot isolation, logical
// checkpoints exported, shipped through the checkpoint byte format and imported.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { PteronError } from '../../src/base/index.ts';
import {
  META_IMPORT_IN_PROGRESS, META_LAST_MANUAL_COMPACT_FINISH_TIME, ReplicaStore, decodeCheckpoint, encodeCheckpoint,
  encodeKey, hashKeyBounds, memoryEngine, metaStoreKey, rdbDirOf, readCheckpointFile, replicaDirOf, sortKeyBounds,
  writeCheckpointFile, type Checkpoint, type Entry, type EngineFactory, type MutationOp, type StorageEngine,
  type StoredRecord, type WriteOp,
} from '../../src/storage/index.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-replica-store-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let sequence = 0;
const freshDir = (): string => path.join(scratch, `replica-${(sequence += 1)}`);
const b = (text: string): Buffer => Buffer.from(text, 'utf8');
const key = (hashKey: string, sortKey: string): Buffer => encodeKey(b(hashKey), b(sortKey));
const put = (hashKey: string, sortKey: string, value: string, expireTs = 0, timetag = 0n): MutationOp =>
  ({ type: 'put', key: key(hashKey, sortKey), userData: b(value), expireTs, timetag });
const del = (hashKey: string, sortKey: string): MutationOp => ({ type: 'del', key: key(hashKey, sortKey) });
const NOW = 300_000_000;

function describeRecord(record: StoredRecord): string {
  const hashKeyBytes = record.key.readUInt16BE(0);
  return `${record.key.subarray(2, 2 + hashKeyBytes)}/${record.key.subarray(2 + hashKeyBytes)}=${record.userData}`;
}

async function allRecords(store: ReplicaStore, now = NOW): Promise<string[]> {
  const list: string[] = [];
  for await (const record of store.records({}, { now })) list.push(describeRecord(record));
  return list;
}

async function checkpointEntries(checkpoint: Checkpoint): Promise<Entry[]> {
  const list: Entry[] = [];
  for await (const entry of checkpoint.entries()) list.push(entry);
  return list;
}

function isCode(code: string) {
  return (error: unknown): boolean => error instanceof PteronError && error.code === code;
}

describe('replica store layout and lifecycle', () => {
  it('lives in <data_dir>/replica/reps/<app_id>.<pidx>.pegasus/data/rdb', async () => {
    const dataDir = path.join(scratch, 'data-dir');
    const replicaDir = replicaDirOf(dataDir, 3, 7);
    assert.equal(replicaDir, path.join(dataDir, 'replica', 'reps', '3.7.pegasus'));
    assert.equal(rdbDirOf(replicaDir), path.join(replicaDir, 'data', 'rdb'));
    const store = await ReplicaStore.open({ replicaDir });
    assert.ok(existsSync(path.join(replicaDir, 'data', 'rdb', 'CURRENT')));
    assert.equal(store.lastAppliedDecree, 0);
    assert.equal(store.dataVersion, 1);
    assert.equal(await store.countKeys(), 0);
    await store.destroy();
    assert.equal(existsSync(rdbDirOf(replicaDir)), false);
  });

  it('keeps decree, data and key count across close and reopen', async () => {
    const replicaDir = freshDir();
    const store = await ReplicaStore.open({ replicaDir });
    await store.applyMutation(1, [put('h', 'a', '1'), put('h', 'b', '2')]);
    await store.applyMutation(2, [del('h', 'a'), put('g', '', 'x')], { sync: true });
    await store.applyMutation(3, []);
    await store.close();
    const reopened = await ReplicaStore.open({ replicaDir });
    assert.equal(reopened.lastAppliedDecree, 3);
    assert.equal(await reopened.countKeys(), 2);
    assert.deepEqual(await allRecords(reopened), ['g/=x', 'h/b=2']);
    await reopened.applyMutation(4, [put('h', 'c', '3')]);
    assert.equal(reopened.lastAppliedDecree, 4);
    await reopened.close();
  });

  it('waits for queued writes on close and refuses new ones after', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    const pending = [1, 2, 3].map((decree) => store.applyMutation(decree, [put('h', String(decree), 'v')]));
    await store.close();
    await Promise.all(pending);
    await assert.rejects(store.applyMutation(4, []), isCode('ERR_INVALID_STATE'));
    const reopened = await ReplicaStore.open({ replicaDir: store.replicaDir });
    assert.equal(reopened.lastAppliedDecree, 3);
    await reopened.close();
  });

  it('creates v0 databases on request and writes v0 values in them', async () => {
    const disk = memoryEngine();
    const store = await ReplicaStore.open({ replicaDir: 'v0', engineFactory: disk, dataVersion: 0 });
    assert.equal(store.dataVersion, 0);
    await store.applyMutation(1, [put('h', 's', 'value', 77, 5n)]);
    const raw = await store.engine.get(Buffer.concat([Buffer.of(1), key('h', 's')]));
    assert.equal(raw?.toString('hex'), '0000004d' + b('value').toString('hex'));
    assert.deepEqual(await store.get(key('h', 's'), 10), { key: key('h', 's'), userData: b('value'), expireTs: 77, timetag: 0n });
    await store.close();
  });
});

describe('applying mutations', () => {
  it('applies decrees strictly in order and refuses gaps without failing the store', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await assert.rejects(store.applyMutation(2, [put('h', 's', 'v')]), isCode('ERR_INVALID_STATE'));
    await assert.rejects(store.applyMutation(0, []));
    await store.applyMutation(1, [put('h', 's', 'v')]);
    await assert.rejects(store.applyMutation(1, []), isCode('ERR_INVALID_STATE'));
    assert.equal(store.failedWith, undefined);
    assert.equal(store.lastAppliedDecree, 1);
    await store.close();
  });

  it('runs pipelined calls in call order', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    const order: number[] = [];
    const calls = [];
    for (let decree = 1; decree <= 200; decree += 1) {
      calls.push(store.applyMutation(decree, [put('h', String(decree % 17), String(decree))]).then(() => order.push(decree)));
    }
    await Promise.all(calls);
    assert.deepEqual(order, Array.from({ length: 200 }, (_, index) => index + 1));
    assert.equal(store.lastAppliedDecree, 200);
    assert.equal(await store.countKeys(), 17);
    assert.equal((await store.get(key('h', '0'), NOW))?.userData.toString(), '187');
    await store.close();
  });

  it('refuses only the out-of-order decrees of a pipelined group', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    const results = await Promise.allSettled([
      store.applyMutation(1, [put('h', 'a', '1')]),
      store.applyMutation(2, [put('h', 'b', '2')]),
      store.applyMutation(2, [put('h', 'b', 'duplicate')]),
      store.applyMutation(4, [put('h', 'd', 'gap')]),
      store.applyMutation(3, [put('h', 'c', '3')]),
    ]);
    assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    assert.equal(store.lastAppliedDecree, 3);
    assert.deepEqual(await allRecords(store), ['h/a=1', 'h/b=2', 'h/c=3']);
    assert.equal(await store.countKeys(), 3);
    await store.close();
  });

  it('keeps mutations issued after an import behind it', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir(), engineFactory: memoryEngine() });
    const checkpoint: Checkpoint = {
      decree: 9,
      dataVersion: 1,
      async *entries() { yield [key('learned', ''), Buffer.alloc(12)] as Entry; },
    };
    const before = store.applyMutation(1, [put('h', 'before', 'x')]);
    const imported = store.importCheckpoint(checkpoint);
    const after = [store.applyMutation(10, [put('h', 'after', 'y')]), store.applyMutation(11, [])];
    await Promise.all([before, imported, ...after]);
    assert.equal(store.lastAppliedDecree, 11);
    assert.deepEqual(await allRecords(store), ['h/after=y', 'learned/=']);
    await store.close();
  });

  it('fails every mutation of a group whose write fails', async () => {
    const memory = memoryEngine();
    let failWrites = false;
    const store = await ReplicaStore.open({
      replicaDir: 'group-fail',
      engineFactory: (location) => {
        const engine = memory(location);
        const write = engine.write.bind(engine);
        engine.write = async (ops, options) => {
          if (failWrites) throw new Error('write refused');
          return write(ops, options);
        };
        return engine;
      },
    });
    await store.applyMutation(1, []);
    failWrites = true;
    const results = await Promise.allSettled([2, 3, 4].map((decree) => store.applyMutation(decree, [put('h', String(decree), 'v')])));
    assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected', 'rejected']);
    assert.equal(store.lastAppliedDecree, 1);
    assert.ok(store.failedWith !== undefined);
    await store.close();
  });

  it('rejects malformed keys and expire_ts before writing anything', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await assert.rejects(store.applyMutation(1, [{ type: 'put', key: Buffer.of(0, 5, 1), userData: b(''), expireTs: 0 }]), isCode('ERR_INVALID_PARAMETERS'));
    await assert.rejects(store.applyMutation(1, [{ ...put('h', 's', 'v'), expireTs: -1 } as MutationOp]), isCode('ERR_INVALID_PARAMETERS'));
    await assert.rejects(store.applyMutation(1, [{ ...put('h', 's', 'v'), expireTs: 2 ** 31 } as MutationOp]), isCode('ERR_INVALID_PARAMETERS'));
    assert.equal(store.lastAppliedDecree, 0);
    await store.applyMutation(1, []);
    await store.close();
  });

  it('applies puts and deletes in order: new, overwritten, deleted, missing, repeated within one mutation', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await store.applyMutation(1, [put('h', 'a', '1'), put('h', 'b', '1')]);
    assert.equal(await store.countKeys(), 2);
    await store.applyMutation(2, [put('h', 'a', '2')]);
    assert.equal(await store.countKeys(), 2);
    await store.applyMutation(3, [del('h', 'zz'), del('h', 'b')]);
    assert.equal(await store.countKeys(), 1);
    await store.applyMutation(4, [put('h', 'c', '1'), del('h', 'c'), put('h', 'd', '1'), del('h', 'a'), put('h', 'a', '3')]);
    assert.equal(await store.countKeys(), 2);
    assert.deepEqual(await allRecords(store), ['h/a=3', 'h/d=1']);
    await store.close();
  });

  it('stores timetags and expire_ts in v1 values', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await store.applyMutation(1, [put('h', 's', 'v', NOW + 10, 0xabcdefn)]);
    const raw = await store.engine.get(Buffer.concat([Buffer.of(1), key('h', 's')]));
    assert.equal(raw?.subarray(0, 12).toString('hex'), (NOW + 10).toString(16).padStart(8, '0') + '0000000000abcdef');
    assert.deepEqual(store.getSync(key('h', 's'), NOW), { key: key('h', 's'), userData: b('v'), expireTs: NOW + 10, timetag: 0xabcdefn });
    await store.close();
  });

  it('keeps 1 MiB values intact', async () => {
    const replicaDir = freshDir();
    const store = await ReplicaStore.open({ replicaDir });
    const big = Buffer.alloc(1 << 20);
    for (let index = 0; index < big.length; index += 1) big[index] = (index * 131) & 0xff;
    await store.applyMutation(1, [{ type: 'put', key: key('big', ''), userData: big, expireTs: 0 }]);
    await store.close();
    const reopened = await ReplicaStore.open({ replicaDir });
    assert.ok((await reopened.get(key('big', ''), NOW))!.userData.equals(big));
    assert.ok(reopened.getSync(key('big', ''), NOW)!.userData.equals(big));
    const checkpoint = await reopened.openCheckpoint();
    const copy = await ReplicaStore.open({ replicaDir: freshDir() });
    await copy.importCheckpoint(checkpoint);
    await checkpoint.close();
    assert.ok((await copy.get(key('big', ''), NOW))!.userData.equals(big));
    await copy.close();
    await reopened.close();
  });

  it('fails the store when the engine fails a write, and refuses everything after', async () => {
    const memory = memoryEngine();
    let failWrites = false;
    const flaky: EngineFactory = (location) => {
      const engine = memory(location);
      const write = engine.write.bind(engine);
      engine.write = async (ops: readonly WriteOp[], options) => {
        if (failWrites) throw new Error('disk on fire');
        return write(ops, options);
      };
      return engine;
    };
    const store = await ReplicaStore.open({ replicaDir: 'flaky', engineFactory: flaky });
    await store.applyMutation(1, [put('h', 's', 'v')]);
    failWrites = true;
    await assert.rejects(store.applyMutation(2, [put('h', 's', 'w')]), /disk on fire/);
    failWrites = false;
    assert.match(String(store.failedWith), /disk on fire/);
    await assert.rejects(store.applyMutation(2, [put('h', 's', 'w')]), isCode('ERR_LOCAL_APP_FAILURE'));
    assert.equal(store.lastAppliedDecree, 1);
    assert.equal((await store.get(key('h', 's'), NOW))?.userData.toString(), 'v');
    await store.close();
  });

  it('never splits a decree from its data when the process is killed mid-stream', async () => {
    const replicaDir = freshDir();
    const storeModule = pathToFileURL(path.resolve('src/storage/index.ts')).href;
    const script = `
      import { ReplicaStore, encodeKey } from ${JSON.stringify(storeModule)};
      const store = await ReplicaStore.open({ replicaDir: ${JSON.stringify(replicaDir)} });
      // Pipelined, so that group commit folds several decrees into one batch.
      for (let decree = 1; ; ) {
        const inFlight = [];
        for (let pipelined = 0; pipelined < 8; pipelined += 1, decree += 1) {
          const ops = [];
          for (let index = 0; index < 20; index += 1) {
            ops.push({ type: 'put', key: encodeKey(Buffer.from('d' + decree), Buffer.from(String(index))), userData: Buffer.alloc(200, decree & 0xff), expireTs: 0 });
          }
          inFlight.push(store.applyMutation(decree, ops));
        }
        await Promise.all(inFlight);
        if (decree > 50 && decree <= 58) process.stdout.write('ready\\n');
      }
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve(); });
      child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const store = await ReplicaStore.open({ replicaDir });
    const decree = store.lastAppliedDecree;
    assert.ok(decree >= 50, `decree ${decree}`);
    assert.equal(await store.countKeys(), decree * 20);
    assert.equal(await store.sortKeyCount(b(`d${decree}`), NOW), 20);
    assert.equal(await store.sortKeyCount(b(`d${decree + 1}`), NOW), 0);
    await store.close();
  });
});

describe('reads', () => {
  it('never returns expired records', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await store.applyMutation(1, [
      put('h', 'live', 'a'), put('h', 'ttl', 'b', NOW + 60), put('h', 'dead', 'c', NOW), put('h', 'old', 'd', NOW - 100),
    ]);
    assert.equal(await store.get(key('h', 'dead'), NOW), undefined);
    assert.equal(store.getSync(key('h', 'old'), NOW), undefined);
    assert.equal((await store.get(key('h', 'dead'), NOW - 1))?.userData.toString(), 'c', 'alive one second earlier');
    const many = await store.getMany([key('h', 'live'), key('h', 'dead'), key('h', 'none'), key('h', 'ttl')], NOW);
    assert.deepEqual(many.map((record) => record?.userData.toString()), ['a', undefined, undefined, 'b']);
    assert.equal(await store.ttlSeconds(key('h', 'live'), NOW), -1);
    assert.equal(await store.ttlSeconds(key('h', 'ttl'), NOW), 60);
    assert.equal(await store.ttlSeconds(key('h', 'dead'), NOW), undefined);
    assert.equal(await store.ttlSeconds(key('h', 'none'), NOW), undefined);
    assert.deepEqual(await allRecords(store), ['h/live=a', 'h/ttl=b']);
    assert.equal(await store.sortKeyCount(b('h'), NOW), 2);
    assert.equal(await store.countKeys(), 4, 'expired records still count until compacted');
    await store.close();
  });

  it('scans one hash key without touching hash keys that extend it', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    const hashKeys = [Buffer.alloc(0), b('a'), b('ab'), b('b'), Buffer.of(0xff), Buffer.of(0xff, 0xff), Buffer.of(0x61, 0xff)];
    const ops: MutationOp[] = [];
    for (const hashKey of hashKeys) {
      for (const sortKey of [Buffer.alloc(0), b('x'), Buffer.of(0xff)]) {
        ops.push({ type: 'put', key: encodeKey(hashKey, sortKey), userData: Buffer.concat([hashKey, b('|'), sortKey]), expireTs: 0 });
      }
    }
    await store.applyMutation(1, ops);
    for (const hashKey of hashKeys) {
      const seen: Buffer[] = [];
      for await (const record of store.records(hashKeyBounds(hashKey), { now: NOW })) seen.push(record.userData);
      assert.deepEqual(seen.map((data) => data.toString('hex')),
        [Buffer.alloc(0), b('x'), Buffer.of(0xff)].map((sortKey) => Buffer.concat([hashKey, b('|'), sortKey]).toString('hex')),
        `hash key ${hashKey.toString('hex')}`);
      assert.equal(await store.sortKeyCount(hashKey, NOW), 3);
    }
    await store.close();
  });

  it('scans sort-key ranges forward and in reverse', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await store.applyMutation(1, ['a', 'b', 'c', 'd'].map((sortKey) => put('h', sortKey, sortKey)).concat([put('i', 'a', 'other')]));
    const scan = async (start: string, startInclusive: boolean, stop: string, stopInclusive: boolean, reverse = false) => {
      const bounds = sortKeyBounds(b('h'), { startSortKey: b(start), startInclusive, stopSortKey: b(stop), stopInclusive });
      if (bounds === undefined) return [];
      const list: string[] = [];
      for await (const record of store.records(bounds, { now: NOW, reverse })) list.push(record.userData.toString());
      return list;
    };
    assert.deepEqual(await scan('b', true, 'd', false), ['b', 'c']);
    assert.deepEqual(await scan('b', false, 'd', true), ['c', 'd']);
    assert.deepEqual(await scan('', true, '', false), ['a', 'b', 'c', 'd']);
    assert.deepEqual(await scan('a', false, '', false, true), ['d', 'c', 'b']);
    assert.deepEqual(await scan('c', true, 'b', true), []);
    await store.close();
  });

  it('bounds each scan step and counts the expired records it skips', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    const ops: MutationOp[] = [];
    for (let index = 0; index < 30; index += 1) {
      const sortKey = String(index).padStart(2, '0');
      ops.push(put('h', sortKey, sortKey, index < 20 ? NOW - 1 : 0));
    }
    await store.applyMutation(1, ops);
    const cursor = store.openScan(hashKeyBounds(b('h')), { now: NOW });
    const first = await cursor.next(5, { maxScanned: 10 });
    assert.deepEqual(first, { records: [], done: false }, 'ten expired entries used the budget');
    const second = await cursor.next(5, { maxScanned: 100 });
    assert.deepEqual(second.records.map((record) => record.userData.toString()), ['20', '21', '22', '23', '24']);
    const third = await cursor.next(100, { now: NOW + 1_000_000 });
    assert.equal(third.records.length, 5, 'records without TTL never expire');
    assert.equal(third.done, true);
    assert.equal(cursor.expiredSkipped, 20);
    assert.equal(cursor.scannedEntries, 30);
    await cursor.close();
    assert.equal(cursor.closed, true);
    await store.close();
  });

  it('reads under a snapshot do not see later mutations', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await store.applyMutation(1, [put('h', 'a', 'old'), put('h', 'b', 'old')]);
    const snapshot = store.snapshot();
    await store.applyMutation(2, [put('h', 'a', 'new'), del('h', 'b'), put('h', 'c', 'new')]);
    assert.equal((await store.get(key('h', 'a'), NOW, snapshot))?.userData.toString(), 'old');
    assert.equal(store.getSync(key('h', 'b'), NOW, snapshot)?.userData.toString(), 'old');
    assert.equal((await store.getMany([key('h', 'c')], NOW, snapshot))[0], undefined);
    const seen: string[] = [];
    for await (const record of store.records({}, { now: NOW, snapshot })) seen.push(describeRecord(record));
    assert.deepEqual(seen, ['h/a=old', 'h/b=old']);
    assert.deepEqual(await allRecords(store), ['h/a=new', 'h/c=new']);
    await snapshot.close();
    await store.close();
  });

  it('keeps other layers\' meta keys apart from its own', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await store.writeMeta({ [META_LAST_MANUAL_COMPACT_FINISH_TIME]: '1700000000000', usage_scenario: 'normal' });
    assert.equal(await store.readMeta(META_LAST_MANUAL_COMPACT_FINISH_TIME), '1700000000000');
    await store.writeMeta({ usage_scenario: undefined });
    assert.equal(await store.readMeta('usage_scenario'), undefined);
    await assert.rejects(store.writeMeta({ last_applied_decree: '9' }));
    assert.equal(store.lastAppliedDecree, 0);
    assert.deepEqual(await allRecords(store), [], 'meta keys are not data');
    await store.close();
  });
});

describe('compaction', () => {
  it('drops expired records, frees their space and fixes the key count', async () => {
    const replicaDir = freshDir();
    const store = await ReplicaStore.open({ replicaDir });
    const filler = Buffer.alloc(2000, 0x33);
    for (let decree = 1; decree <= 20; decree += 1) {
      const ops: MutationOp[] = [];
      for (let index = 0; index < 50; index += 1) {
        ops.push({ type: 'put', key: key(`h${decree}`, String(index)), userData: Buffer.from(filler.map((byte) => byte ^ index ^ decree)), expireTs: decree <= 18 ? NOW - 5 : NOW + 1000 });
      }
      await store.applyMutation(decree, ops);
    }
    assert.equal(await store.countKeys(), 1000);
    const stats = await store.compact({ now: NOW });
    assert.equal(stats.scannedEntries, 1000);
    assert.equal(stats.expiredDropped, 900);
    assert.equal(stats.raced, 0);
    assert.equal(await store.countKeys(), 100);
    assert.equal(store.lastAppliedDecree, 20, 'compaction consumes no decree');
    const bytes = await store.approximateDataBytes();
    assert.ok(bytes < 100 * 2000 * 2, `${bytes} bytes left on disk`);
    await store.close();
    const reopened = await ReplicaStore.open({ replicaDir });
    assert.equal(await reopened.countKeys(), 100);
    await reopened.close();
  });

  it('applies a default TTL to records without one and drops what the predicate selects', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await store.applyMutation(1, [put('keep', 'a', '1'), put('keep', 'b', '2', NOW + 5), put('move', 'a', '3')]);
    const stats = await store.compact({
      now: NOW,
      defaultTtlSeconds: 100,
      drop: (record) => record.key.subarray(2, 6).toString() === 'move',
    });
    assert.deepEqual(stats, { scannedEntries: 3, expiredDropped: 0, predicateDropped: 1, userDropped: 0, ttlApplied: 1, raced: 0 });
    assert.equal((await store.get(key('keep', 'a'), NOW))?.expireTs, NOW + 100);
    assert.equal((await store.get(key('keep', 'b'), NOW))?.expireTs, NOW + 5);
    assert.equal(await store.get(key('move', 'a'), NOW), undefined);
    assert.equal(await store.countKeys(), 2);
    await store.close();
  });

  it('never undoes a mutation applied while it runs', async () => {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await store.applyMutation(1, [put('h', 'a', 'expired', NOW - 1), put('h', 'b', 'expired', NOW - 1)]);
    let rewrite: Promise<void> | undefined;
    const stats = await store.compact({ now: NOW });
    assert.equal(stats.expiredDropped, 2);

    await store.applyMutation(2, [put('h', 'a', 'expired', NOW - 1), put('h', 'c', 'live')]);
    // The predicate runs while the pass reads its snapshot: a mutation queued from there lands
    // before the pass's rewrite batch, which must then leave the key alone.
    const racing = await store.compact({
      now: NOW,
      drop: (record) => {
        if (rewrite === undefined) rewrite = store.applyMutation(3, [put('h', 'a', 'fresh'), put('h', 'c', 'changed')]);
        return record.key.equals(key('h', 'c'));
      },
    });
    await rewrite;
    assert.equal(racing.raced, 2);
    assert.equal(racing.expiredDropped, 0);
    assert.equal((await store.get(key('h', 'a'), NOW))?.userData.toString(), 'fresh');
    assert.equal((await store.get(key('h', 'c'), NOW))?.userData.toString(), 'changed');
    assert.equal(await store.countKeys(), 2);
    await store.close();
  });
});

describe('checkpoints and learning', () => {
  async function sourceStore(): Promise<ReplicaStore> {
    const store = await ReplicaStore.open({ replicaDir: freshDir() });
    await store.applyMutation(1, [put('a', '', '1'), put('a', 'x', '2', NOW + 50, 9n), put('bb', 'y', '3')]);
    await store.applyMutation(2, [put('c', 'z', 'expired', NOW - 10), { type: 'put', key: encodeKey(Buffer.of(0xff), Buffer.of(0, 0xff)), userData: Buffer.of(1, 2, 3), expireTs: 0 }]);
    await store.applyMutation(3, [del('bb', 'y'), put('bb', 'w', '4')]);
    return store;
  }

  async function rawEntries(store: ReplicaStore): Promise<string[]> {
    const checkpoint = await store.openCheckpoint();
    try {
      return (await checkpointEntries(checkpoint)).map(([entryKey, value]) => `${entryKey.toString('hex')}:${value.toString('hex')}`);
    } finally {
      await checkpoint.close();
    }
  }

  it('exports a snapshot: decree, data and count agree, later writes stay out', async () => {
    const store = await sourceStore();
    const checkpoint = await store.openCheckpoint();
    await store.applyMutation(4, [put('late', '', 'no'), del('a', '')]);
    assert.equal(checkpoint.decree, 3);
    assert.equal(checkpoint.dataVersion, 1);
    const exported = await checkpointEntries(checkpoint);
    await checkpoint.close();
    assert.equal(exported.length, 5, 'expired records are copied too');
    const keys = exported.map(([entryKey]) => entryKey);
    assert.deepEqual(keys, keys.slice().sort(Buffer.compare));
    assert.ok(keys.some((entryKey) => entryKey.equals(key('a', ''))));
    assert.ok(!keys.some((entryKey) => entryKey.equals(key('late', ''))));
    await store.close();
  });

  it('imports a checkpoint over existing data, then continues from its decree', async () => {
    const source = await sourceStore();
    const learnerDir = freshDir();
    const learner = await ReplicaStore.open({ replicaDir: learnerDir });
    await learner.applyMutation(1, [put('stale', '', 'gone'), put('a', '', 'overwritten')]);
    const checkpoint = await source.openCheckpoint();
    const stats = await learner.importCheckpoint(checkpoint);
    await checkpoint.close();
    assert.equal(stats.entries, 5);
    assert.equal(learner.lastAppliedDecree, 3);
    assert.equal(await learner.countKeys(), 5);
    assert.deepEqual(await rawEntries(learner), await rawEntries(source));
    assert.deepEqual(await allRecords(learner), await allRecords(source));
    await learner.applyMutation(4, [put('after', '', 'learned')]);
    await learner.close();
    const reopened = await ReplicaStore.open({ replicaDir: learnerDir });
    assert.equal(reopened.lastAppliedDecree, 4);
    assert.equal(await reopened.countKeys(), 6);
    assert.equal(reopened.recoveredInterruptedImport, false);
    await reopened.close();
    await source.close();
  });

  it('round-trips through the checkpoint byte format and a file', async () => {
    const source = await sourceStore();
    const file = path.join(scratch, 'checkpoint.3');
    const checkpoint = await source.openCheckpoint();
    const { bytes } = await writeCheckpointFile(file, checkpoint);
    await checkpoint.close();
    assert.equal(readFileSync(file).length, bytes);
    assert.equal(readFileSync(file).subarray(0, 8).toString(), 'PTRNCKPT');
    assert.equal(existsSync(`${file}.tmp`), false);

    const fromFile = await readCheckpointFile(file);
    assert.equal(fromFile.decree, 3);
    assert.equal(fromFile.dataVersion, 1);
    const learner = await ReplicaStore.open({ replicaDir: freshDir(), engineFactory: memoryEngine() });
    await learner.importCheckpoint(fromFile);
    assert.deepEqual(await rawEntries(learner), await rawEntries(source));
    assert.equal(learner.lastAppliedDecree, 3);
    await learner.close();
    await source.close();
  });

  it('decodes a stream cut into arbitrary chunks', async () => {
    const source = await sourceStore();
    const checkpoint = await source.openCheckpoint();
    const chunks: Buffer[] = [];
    for await (const chunk of encodeCheckpoint(checkpoint)) chunks.push(chunk);
    await checkpoint.close();
    const whole = Buffer.concat(chunks);
    async function* dribble(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < whole.length; offset += 3) yield whole.subarray(offset, offset + 3);
    }
    const decoded = await decodeCheckpoint(dribble());
    const entries = await checkpointEntries(decoded);
    assert.equal(entries.length, 5);
    await source.close();
  });

  it('refuses damaged streams and leaves the learner empty at decree 0', async () => {
    const source = await sourceStore();
    const checkpoint = await source.openCheckpoint();
    const chunks: Buffer[] = [];
    for await (const chunk of encodeCheckpoint(checkpoint)) chunks.push(chunk);
    await checkpoint.close();
    const whole = Buffer.concat(chunks);

    const damaged = Buffer.from(whole);
    damaged[damaged.length - 20] = damaged[damaged.length - 20]! ^ 0x01;
    const truncated = whole.subarray(0, whole.length - 7);
    const badMagic = Buffer.from(whole);
    badMagic[0] = 0x41;
    await assert.rejects(decodeCheckpoint([badMagic]), /bad magic/);

    const learner = await ReplicaStore.open({ replicaDir: freshDir() });
    for (const [bytes, message] of [[damaged, /checksum mismatch/], [truncated, /truncated/]] as const) {
      await learner.applyMutation(learner.lastAppliedDecree + 1, [put('mine', '', 'x')]);
      await assert.rejects(learner.importCheckpoint(await decodeCheckpoint([bytes])), message);
      assert.equal(learner.failedWith, undefined);
      assert.equal(learner.lastAppliedDecree, 0);
      assert.equal(await learner.countKeys(), 0);
      assert.deepEqual(await allRecords(learner), []);
      assert.equal(await learner.readMeta(META_IMPORT_IN_PROGRESS), undefined);
    }
    await learner.close();
    await source.close();
  });

  it('refuses out-of-order and malformed entries', async () => {
    const learner = await ReplicaStore.open({ replicaDir: freshDir(), engineFactory: memoryEngine() });
    const value = Buffer.alloc(12);
    const fake = (list: Entry[], dataVersion = 1): Checkpoint => ({
      decree: 9,
      dataVersion,
      async *entries() { yield* list; },
    });
    await assert.rejects(learner.importCheckpoint(fake([[key('b', ''), value], [key('a', ''), value]])), /out of key order/);
    await assert.rejects(learner.importCheckpoint(fake([[key('a', ''), value], [key('a', ''), value]])), /out of key order/);
    await assert.rejects(learner.importCheckpoint(fake([[Buffer.of(0, 9), value]])), /malformed key/);
    await assert.rejects(learner.importCheckpoint(fake([[key('a', ''), Buffer.alloc(5)]])), /not a v1 value/);
    await assert.rejects(learner.importCheckpoint(fake([], 2)), isCode('ERR_INVALID_VERSION'));
    assert.equal(learner.lastAppliedDecree, 0);
    await learner.importCheckpoint(fake([[key('a', ''), value]]));
    assert.equal(learner.lastAppliedDecree, 9);
    await learner.close();
  });

  it('resets an import that died half way at the next open', async () => {
    const replicaDir = freshDir();
    const store = await ReplicaStore.open({ replicaDir });
    await store.applyMutation(1, [put('half', '', 'imported')]);
    // What a crash in the middle of importCheckpoint leaves behind: the marker and some data.
    await store.engine.write([{ type: 'put', key: metaStoreKey(META_IMPORT_IN_PROGRESS), value: b('7') }], { sync: true });
    await store.close();
    const reopened = await ReplicaStore.open({ replicaDir });
    assert.equal(reopened.recoveredInterruptedImport, true);
    assert.equal(reopened.lastAppliedDecree, 0);
    assert.equal(await reopened.countKeys(), 0);
    assert.deepEqual(await allRecords(reopened), []);
    await reopened.applyMutation(1, []);
    await reopened.close();
  });

  it('refuses to open a database whose meta keys are damaged', async () => {
    const replicaDir = freshDir();
    const store = await ReplicaStore.open({ replicaDir });
    await store.engine.write([{ type: 'put', key: metaStoreKey('last_applied_decree'), value: b('12x') }]);
    await store.close();
    await assert.rejects(ReplicaStore.open({ replicaDir }), isCode('ERR_CORRUPTION'));
    // The failed open released the database: it can be opened (and repaired) directly.
    const engine: StorageEngine = (await import('../../src/storage/index.ts')).classicLevelEngine()(rdbDirOf(replicaDir));
    await engine.open();
    await engine.write([{ type: 'put', key: metaStoreKey('last_applied_decree'), value: b('12') }]);
    await engine.close();
    const repaired = await ReplicaStore.open({ replicaDir });
    assert.equal(repaired.lastAppliedDecree, 12);
    await repaired.close();
  });
});

describe('memory-engine replica store', () => {
  it('survives a restart on the same memory disk', async () => {
    const disk = memoryEngine();
    const store = await ReplicaStore.open({ replicaDir: 'sim/1.0', engineFactory: disk });
    await store.applyMutation(1, [put('h', 's', 'v')]);
    await store.close();
    const again = await ReplicaStore.open({ replicaDir: 'sim/1.0', engineFactory: disk });
    assert.equal(again.lastAppliedDecree, 1);
    assert.equal((await again.get(key('h', 's'), NOW))?.userData.toString(), 'v');
    await again.close();
  });
});
