// The mutation codec (round trips of every write kind, golden bytes, bad input) and the private
// mutation log on real files: replay, group commit, rolling, GC, torn tails, corruption, reset
// and write failures.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PteronError } from '../../src/base/index.ts';
import type { ClientWrite, Mutation } from '../../src/replica/write/mutation.ts';
import { decodeMutation, encodeMutation } from '../../src/replica/log/mutation-codec.ts';
import { MutationLog, type LogRecord } from '../../src/replica/log/mutation-log.ts';
import { encodeKey } from '../../src/storage/index.ts';
import { CasCheckType, MutateOperation, UpdateType } from '../../src/wire/index.ts';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
const k = (hashKey: string | Buffer, sortKey: string | Buffer): Buffer => encodeKey(Buffer.from(hashKey), Buffer.from(sortKey));

const mutationOf = (decree: number, writes: ClientWrite[], ballot = 1): Mutation => ({
  decree, ballot, timestampUs: 1_700_000_000_000_000n + BigInt(decree), writes,
});
const putMutation = (decree: number, value = `v${decree}`, ballot = 1): Mutation =>
  mutationOf(decree, [{ op: 'put', request: { key: k('h', `s${decree}`), value: Buffer.from(value), expireTsSeconds: 0 } }], ballot);
const recordOf = (decree: number, value?: string, ballot?: number): LogRecord => ({
  mutation: putMutation(decree, value, ballot), lastCommittedDecree: Math.max(0, decree - 1),
});

function expectInvalidData(run: () => unknown): void {
  assert.throws(run, (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_DATA');
}

/** Deterministic bytes for fuzzing (xorshift32). */
function seededBytes(seed: number, length: number): Buffer {
  let state = seed >>> 0 || 1;
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

describe('mutation codec', () => {
  const everyKind: ClientWrite[] = [
    { op: 'put', request: { key: k(ALL_BYTES, ALL_BYTES), value: ALL_BYTES, expireTsSeconds: 12345 } },
    {
      op: 'put',
      request: {
        key: k('h', ''), value: Buffer.alloc(0), expireTsSeconds: 0, type: UpdateType.UT_CHECK_AND_SET,
        checkValueReturned: true, checkValueExist: true, checkValue: Buffer.from([0, 0xff, 0]),
      },
    },
    { op: 'remove', key: k(Buffer.from([0, 1, 2]), '') },
    {
      op: 'multi_put',
      request: {
        hashKey: ALL_BYTES,
        kvs: [
          { key: Buffer.alloc(0), value: Buffer.from('empty sort key') },
          { key: Buffer.from([0xff, 0x00]), value: ALL_BYTES, expireTsSeconds: 99 },
        ],
        expireTsSeconds: 7,
      },
    },
    { op: 'multi_remove', request: { hashKey: Buffer.from('h'), sortKeys: [Buffer.alloc(0), ALL_BYTES], maxCount: 0n } },
    { op: 'incr', request: { key: k('h', ''), increment: -0x7fffffffffffffffn - 1n, expireTsSeconds: -1 } },
    {
      op: 'check_and_set',
      request: {
        hashKey: Buffer.from('h'), checkSortKey: Buffer.alloc(0), checkType: CasCheckType.CT_VALUE_BYTES_EQUAL,
        checkOperand: ALL_BYTES, setDiffSortKey: true, setSortKey: Buffer.from([0]), setValue: ALL_BYTES,
        setExpireTsSeconds: 60, returnCheckValue: true,
      },
    },
    {
      op: 'check_and_mutate',
      request: {
        hashKey: ALL_BYTES, checkSortKey: Buffer.from('c'), checkType: CasCheckType.CT_VALUE_NOT_EXIST, checkOperand: Buffer.alloc(0),
        mutateList: [
          { operation: MutateOperation.MO_PUT, sortKey: Buffer.alloc(0), value: ALL_BYTES, setExpireTsSeconds: 3 },
          { operation: MutateOperation.MO_DELETE, sortKey: Buffer.from('gone'), value: Buffer.alloc(0), setExpireTsSeconds: 0 },
        ],
        returnCheckValue: false,
      },
    },
  ];

  for (const write of everyKind) {
    test(`round trip: ${write.op}${write.op === 'put' && write.request.type !== undefined ? ' (server-side fields)' : ''}`, () => {
      const mutation = mutationOf(42, [write], 7);
      assert.deepStrictEqual(decodeMutation(encodeMutation(mutation)), mutation);
    });
  }

  test('round trip: every kind in one mutation, an empty mutation, large numbers', () => {
    const many: Mutation = { decree: Number.MAX_SAFE_INTEGER, ballot: 2 ** 40, timestampUs: 0x7fffffffffffffffn, writes: everyKind };
    assert.deepStrictEqual(decodeMutation(encodeMutation(many)), many);
    const empty: Mutation = { decree: 0, ballot: 0, timestampUs: 0n, writes: [] };
    assert.deepStrictEqual(decodeMutation(encodeMutation(empty)), empty);
  });

  test('round trip: 1 MiB values', () => {
    const big = seededBytes(7, 1024 * 1024);
    const mutation = mutationOf(3, [
      { op: 'put', request: { key: k('h', ''), value: big, expireTsSeconds: 0 } },
      { op: 'multi_put', request: { hashKey: Buffer.from('h'), kvs: [{ key: Buffer.from('a'), value: big }], expireTsSeconds: 0 } },
    ]);
    const bytes = encodeMutation(mutation);
    assert.ok(bytes.length > 2 * big.length);
    assert.deepStrictEqual(decodeMutation(bytes), mutation);
  });

  test('golden bytes of a remove', () => {
    const bytes = encodeMutation({ decree: 5, ballot: 3, timestampUs: 0x0102n, writes: [{ op: 'remove', key: Buffer.from([0, 1, 0x61, 0x62]) }] });
    assert.equal(bytes.toString('hex'), [
      '01', // format version
      '0000000000000005', // decree
      '0000000000000003', // ballot
      '0000000000000102', // timestamp
      '00000001', // write count
      '02', // op: remove
      '00000004', '00016162', // key blob
    ].join(''));
  });

  test('golden bytes of an incr (thrift struct after the op code)', () => {
    const bytes = encodeMutation({ decree: 1, ballot: 1, timestampUs: 0n, writes: [{ op: 'incr', request: { key: Buffer.from([0, 0]), increment: 1n, expireTsSeconds: 0 } }] });
    assert.equal(bytes.subarray(29).toString('hex'), [
      '05', // op: incr
      '0c0001', '00000002', '0000', // field 1 key: STRUCT header, blob payload
      '0a0002', '0000000000000001', // field 2 increment: i64
      '080003', '00000000', // field 3 expire_ts_seconds: i32
      '00', // STOP
    ].join(''));
  });

  test('every truncation of a valid encoding is ERR_INVALID_DATA', () => {
    const bytes = encodeMutation(mutationOf(9, everyKind));
    for (let length = 0; length < bytes.length; length++) expectInvalidData(() => decodeMutation(bytes.subarray(0, length)));
  });

  test('bad version, unknown op code, absurd write count, trailing bytes', () => {
    const bytes = encodeMutation(mutationOf(9, [{ op: 'remove', key: Buffer.from([0, 0]) }]));
    const withByte = (offset: number, value: number): Buffer => {
      const copy = Buffer.from(bytes);
      copy[offset] = value;
      return copy;
    };
    expectInvalidData(() => decodeMutation(withByte(0, 2)));
    expectInvalidData(() => decodeMutation(withByte(29, 0)));
    expectInvalidData(() => decodeMutation(withByte(29, 99)));
    expectInvalidData(() => decodeMutation(withByte(25, 0x7f)));
    expectInvalidData(() => decodeMutation(withByte(25, 0x80)));
    expectInvalidData(() => decodeMutation(withByte(1, 0x80))); // negative decree
    expectInvalidData(() => decodeMutation(Buffer.concat([bytes, Buffer.from([0])])));
  });

  test('random bytes decode or throw ERR_INVALID_DATA, nothing else', () => {
    const valid = encodeMutation(mutationOf(9, everyKind));
    for (let seed = 1; seed <= 2000; seed++) {
      const noise = seededBytes(seed, 1 + (seed % 200));
      // Mostly noise after a valid head, so the struct readers get exercised too.
      const input = seed % 2 === 0 ? noise : Buffer.concat([valid.subarray(0, 30), noise]);
      try {
        decodeMutation(input);
      } catch (error) {
        assert.ok(error instanceof PteronError && error.code === 'ERR_INVALID_DATA', `seed ${seed}: ${(error as Error).stack}`);
      }
    }
    // Flipped bytes inside a valid encoding.
    for (let offset = 0; offset < valid.length; offset += 7) {
      const copy = Buffer.from(valid);
      copy[offset] = copy[offset]! ^ 0xa5;
      try {
        decodeMutation(copy);
      } catch (error) {
        assert.ok(error instanceof PteronError && error.code === 'ERR_INVALID_DATA', `offset ${offset}: ${(error as Error).stack}`);
      }
    }
  });
});

describe('mutation log', () => {
  let root = '';
  let counter = 0;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pteron-plog-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const freshDir = (): string => path.join(root, `log-${++counter}`);
  const logFiles = async (dir: string): Promise<string[]> =>
    (await readdir(dir)).filter((name) => name.startsWith('log.')).sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
  const decrees = (records: LogRecord[]): number[] => records.map((record) => record.mutation.decree);

  test('append then replay: records, order, last decree; a new directory is created', async () => {
    const dir = path.join(freshDir(), 'nested', 'plog');
    const opened = await MutationLog.open({ dir });
    assert.deepStrictEqual(opened.records, []);
    assert.equal(opened.tornBytes, 0);
    assert.equal(opened.tornFile, undefined);
    assert.equal(opened.log.lastDecree, 0);
    assert.equal(opened.log.fileCount, 0);
    const written = [recordOf(1), recordOf(2), recordOf(3, 'x', 1), recordOf(3, 'y', 2), recordOf(4)];
    for (const record of written) await opened.log.append(record);
    assert.equal(opened.log.lastDecree, 4);
    assert.equal(opened.log.fileCount, 1);
    assert.equal(opened.log.syncCount, 5);
    await opened.log.close();
    assert.deepStrictEqual(await logFiles(dir), ['log.1.1']);

    const again = await MutationLog.open({ dir });
    assert.deepStrictEqual(again.records, written);
    assert.equal(again.tornBytes, 0);
    assert.equal(again.log.lastDecree, 4);
    await again.log.append(recordOf(5));
    await again.log.close();
    const third = await MutationLog.open({ dir });
    assert.deepStrictEqual(decrees(third.records), [1, 2, 3, 3, 4, 5]);
    await third.log.close();
  });

  test('record framing: magic, payload length, CRC-32, last committed decree, mutation', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir });
    const record = recordOf(7);
    await log.append(record);
    await log.close();
    const bytes = await readFile(path.join(dir, 'log.1.7'));
    const mutationBytes = encodeMutation(record.mutation);
    assert.equal(bytes.length, 12 + 8 + mutationBytes.length);
    assert.equal(bytes.readUInt32BE(0), 0x504c4f31);
    assert.equal(bytes.readUInt32BE(4), 8 + mutationBytes.length);
    assert.equal(bytes.readBigUInt64BE(12), 6n);
    assert.deepStrictEqual(bytes.subarray(20), mutationBytes);
    const { crc32 } = await import('node:zlib');
    assert.equal(bytes.readUInt32BE(8), crc32(bytes.subarray(12)) >>> 0);
  });

  test('group commit: concurrent appends share writes and fsyncs, and resolve in order', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir });
    const resolved: number[] = [];
    const appends = Array.from({ length: 300 }, (_, index) => log.append(recordOf(index + 1)).then(() => resolved.push(index + 1)));
    await Promise.all(appends);
    assert.equal(log.syncCount, 1, 'appends issued in one tick make one group');
    assert.equal(log.writeCount, 1);
    assert.deepStrictEqual(resolved, Array.from({ length: 300 }, (_, index) => index + 1));

    // Appends issued while a group is in flight are written together after it.
    const first = log.append(recordOf(301));
    await new Promise((resolve) => setImmediate(resolve));
    const later = Array.from({ length: 50 }, (_, index) => log.append(recordOf(302 + index)));
    await Promise.all([first, ...later]);
    assert.equal(log.syncCount, 3);

    // A group is bounded: 3000 records take at least three.
    const before = log.syncCount;
    await Promise.all(Array.from({ length: 3000 }, (_, index) => log.append(recordOf(352 + index))));
    assert.ok(log.syncCount - before >= 3, `${log.syncCount - before} groups`);
    assert.ok(log.syncCount - before < 3000);
    await log.close();

    const replayed = await MutationLog.open({ dir });
    assert.deepStrictEqual(decrees(replayed.records), Array.from({ length: 3351 }, (_, index) => index + 1));
    await replayed.log.close();
  });

  test('rolls across files at fileBytesMax, names carry index and first decree', async () => {
    const dir = freshDir();
    const fileBytesMax = 4096;
    const { log } = await MutationLog.open({ dir, fileBytesMax });
    const value = 'v'.repeat(300);
    for (let decree = 1; decree <= 60; decree++) await log.append(recordOf(decree, value));
    // Concurrent appends roll too, and a group never overflows a file.
    await Promise.all(Array.from({ length: 60 }, (_, index) => log.append(recordOf(61 + index, value))));
    const names = await logFiles(dir);
    assert.equal(log.fileCount, names.length);
    assert.ok(names.length >= 8, `${names.length} files`);
    for (const name of names) assert.ok((await stat(path.join(dir, name))).size <= fileBytesMax, name);
    await log.close();

    const replayed = await MutationLog.open({ dir, fileBytesMax });
    assert.deepStrictEqual(decrees(replayed.records), Array.from({ length: 120 }, (_, index) => index + 1));
    // Each name's decree is that file's first record.
    let seen = 0;
    for (const [position, name] of names.entries()) {
      const [, index, firstDecree] = name.split('.');
      assert.equal(Number(index), position + 1);
      assert.equal(Number(firstDecree), replayed.records[seen]!.mutation.decree);
      const size = (await stat(path.join(dir, name))).size;
      let bytes = 0;
      while (bytes < size) {
        bytes += 12 + 8 + encodeMutation(replayed.records[seen]!.mutation).length;
        seen += 1;
      }
      assert.equal(bytes, size);
    }
    assert.equal(seen, 120);
    await replayed.log.close();
  });

  test('a record larger than a file gets a file of its own', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir, fileBytesMax: 1024 });
    await log.append(recordOf(1));
    await log.append(recordOf(2, 'x'.repeat(5000)));
    await log.append(recordOf(3));
    assert.equal(log.fileCount, 3);
    await log.close();
    const replayed = await MutationLog.open({ dir, fileBytesMax: 1024 });
    assert.deepStrictEqual(decrees(replayed.records), [1, 2, 3]);
    assert.equal(replayed.records[1]!.mutation.writes[0]!.op, 'put');
    await replayed.log.close();
  });

  test('gc removes only whole files at or below the durable decree, never the current file', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir, fileBytesMax: 2048 });
    for (let decree = 1; decree <= 40; decree++) await log.append(recordOf(decree, 'v'.repeat(200)));
    const names = await logFiles(dir);
    assert.ok(names.length >= 4);
    const firstDecreeOf = (name: string): number => Number(name.split('.')[2]);
    // Durable up to the middle of the third file: the first two go, the third stays.
    const durable = firstDecreeOf(names[2]!) + 1;
    assert.equal(await log.gc(0), 0);
    assert.equal(await log.gc(durable), 2);
    assert.deepStrictEqual(await logFiles(dir), names.slice(2));
    assert.equal(log.fileCount, names.length - 2);
    assert.equal(await log.gc(durable), 0);
    // Everything durable: all but the file being written.
    assert.equal(await log.gc(1000), names.length - 3);
    assert.deepStrictEqual(await logFiles(dir), [names[names.length - 1]!]);
    assert.equal(log.fileCount, 1);
    assert.equal(log.lastDecree, 40);
    await log.append(recordOf(41, 'v'.repeat(200)));
    await log.close();

    const replayed = await MutationLog.open({ dir, fileBytesMax: 2048 });
    const remaining = decrees(replayed.records);
    assert.equal(remaining[0], firstDecreeOf(names[names.length - 1]!));
    assert.equal(remaining[remaining.length - 1], 41);
    assert.equal(replayed.log.lastDecree, 41);
    await replayed.log.close();
  });

  describe('torn tail of the last file', () => {
    const damages: Array<{ name: string; damage: (file: string, size: number) => Promise<void> }> = [
      { name: 'cut mid-record', damage: (file, size) => truncate(file, size - 5) },
      { name: 'cut mid-record, then garbage', damage: async (file, size) => { await truncate(file, size - 30); await appendFile(file, seededBytes(3, 100)); } },
      { name: 'cut inside the record head', damage: async (file, size) => { await truncate(file, size - lastRecordBytes + 7); } },
      { name: 'garbage after whole records', damage: (file) => appendFile(file, Buffer.from('not a record')) },
      { name: 'zeros after whole records', damage: (file) => appendFile(file, Buffer.alloc(4096)) },
      {
        name: 'bad CRC in the last record',
        damage: async (file) => {
          const bytes = await readFile(file);
          bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
          await writeFile(file, bytes);
        },
      },
    ];
    const lastRecordBytes = 12 + 8 + encodeMutation(putMutation(20)).length;

    for (const { name, damage } of damages) {
      test(name, async () => {
        const dir = freshDir();
        const { log } = await MutationLog.open({ dir, fileBytesMax: 1500 });
        for (let decree = 1; decree <= 20; decree++) await log.append(recordOf(decree));
        await log.close();
        const names = await logFiles(dir);
        assert.ok(names.length >= 2, 'the damage is in the last of several files');
        const lastFile = path.join(dir, names[names.length - 1]!);
        const sizeBefore = (await stat(lastFile)).size;
        await damage(lastFile, sizeBefore);
        const damagedSize = (await stat(lastFile)).size;

        const opened = await MutationLog.open({ dir, fileBytesMax: 1500 });
        const replayedDecrees = decrees(opened.records);
        const wholeRecords = name.includes('after whole records') ? 20 : 19;
        assert.deepStrictEqual(replayedDecrees, Array.from({ length: wholeRecords }, (_, index) => index + 1));
        assert.equal(opened.tornFile, lastFile);
        const validSize = wholeRecords === 20 ? sizeBefore : sizeBefore - lastRecordBytes;
        assert.equal(opened.tornBytes, damagedSize - validSize);
        assert.equal((await stat(lastFile)).size, validSize, 'the file is cut at the last whole record');
        assert.equal(opened.log.lastDecree, wholeRecords);

        // Appends go on after the cut, and a second replay is clean.
        await opened.log.append(recordOf(wholeRecords + 1, 'after'));
        await opened.log.close();
        const again = await MutationLog.open({ dir, fileBytesMax: 1500 });
        assert.equal(again.tornBytes, 0);
        assert.equal(again.tornFile, undefined);
        assert.deepStrictEqual(decrees(again.records), Array.from({ length: wholeRecords + 1 }, (_, index) => index + 1));
        assert.deepStrictEqual(again.records[wholeRecords], recordOf(wholeRecords + 1, 'after'));
        await again.log.close();
      });
    }

    test('a last file torn down to nothing is reused', async () => {
      const dir = freshDir();
      const { log } = await MutationLog.open({ dir });
      await log.append(recordOf(1));
      await log.close();
      await truncate(path.join(dir, 'log.1.1'), 3);
      const opened = await MutationLog.open({ dir });
      assert.deepStrictEqual(opened.records, []);
      assert.equal(opened.tornBytes, 3);
      assert.equal(opened.log.lastDecree, 0);
      await opened.log.append(recordOf(1, 'again'));
      await opened.log.close();
      const again = await MutationLog.open({ dir });
      assert.deepStrictEqual(again.records, [recordOf(1, 'again')]);
      assert.equal(again.log.fileCount, 1);
      await again.log.close();
    });
  });

  test('corruption in an earlier file is an error naming the file and offset', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir, fileBytesMax: 1500 });
    for (let decree = 1; decree <= 60; decree++) await log.append(recordOf(decree));
    await log.close();
    const names = await logFiles(dir);
    assert.ok(names.length >= 3);
    const middle = path.join(dir, names[1]!);
    const bytes = await readFile(middle);
    const recordBytes = 12 + 8 + encodeMutation(putMutation(Number(names[1]!.split('.')[2]))).length;
    const offset = recordBytes; // the second record of the file
    bytes[offset + 12 + 10] = bytes[offset + 12 + 10]! ^ 0x01;
    await writeFile(middle, bytes);
    await assert.rejects(MutationLog.open({ dir, fileBytesMax: 1500 }), (error: unknown) => {
      assert.ok(error instanceof PteronError);
      assert.equal(error.code, 'ERR_INVALID_DATA');
      assert.ok(error.message.includes(middle), error.message);
      assert.ok(error.message.includes(`offset ${offset}`), error.message);
      assert.ok(error.message.includes('CRC'), error.message);
      return true;
    });
    // A torn (short) earlier file is corruption too: only the last file may end mid-record.
    await writeFile(middle, bytes.subarray(0, 5));
    await assert.rejects(MutationLog.open({ dir, fileBytesMax: 1500 }), /ERR_INVALID_DATA: .*offset 0: short record head/);
  });

  test('a record whose CRC matches but does not decode is an error even at the tail', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir });
    await log.append(recordOf(1));
    await log.close();
    const file = path.join(dir, 'log.1.1');
    const bytes = await readFile(file);
    bytes[20] = 9; // the mutation's format version
    const { crc32 } = await import('node:zlib');
    bytes.writeUInt32BE(crc32(bytes.subarray(12)) >>> 0, 8);
    await writeFile(file, bytes);
    await assert.rejects(MutationLog.open({ dir }), /ERR_INVALID_DATA: .*offset 0: .*unknown format version 9/);
  });

  test('a record must follow its commit point: an append refuses one that does not, and replay asserts it', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir });
    await assert.rejects(log.append({ mutation: putMutation(3), lastCommittedDecree: 3 }), /assertion failed: appended decree 3 follows its commit point 3/);
    await log.append(recordOf(1));
    await log.close();
    // A commit point past the decree with a matching CRC could only have been written by a bug.
    const file = path.join(dir, 'log.1.1');
    const bytes = await readFile(file);
    bytes.writeBigUInt64BE(1n, 12);
    const { crc32 } = await import('node:zlib');
    bytes.writeUInt32BE(crc32(bytes.subarray(12)) >>> 0, 8);
    await writeFile(file, bytes);
    await assert.rejects(MutationLog.open({ dir }), /assertion failed: replayed decree 1 follows its commit point 1/);
  });

  test('reset drops every record; appends queued before it are dropped, after it kept', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir, fileBytesMax: 1500 });
    for (let decree = 1; decree <= 60; decree++) await log.append(recordOf(decree));
    assert.ok(log.fileCount >= 3);
    const before = log.append(recordOf(61));
    const reset = log.reset();
    const afterReset = [log.append(recordOf(101)), log.append(recordOf(102))];
    await Promise.all([before, reset, ...afterReset]);
    assert.equal(log.lastDecree, 102);
    const afterNames = await logFiles(dir);
    assert.equal(afterNames.length, 1);
    assert.match(afterNames[0]!, /^log\.\d+\.101$/);
    assert.equal(log.fileCount, 1);
    await log.reset();
    assert.equal(log.lastDecree, 0);
    assert.equal(log.fileCount, 0);
    assert.deepStrictEqual(await logFiles(dir), []);
    await log.append(recordOf(200));
    await log.close();

    const replayed = await MutationLog.open({ dir });
    assert.deepStrictEqual(replayed.records, [recordOf(200)]);
    assert.equal(replayed.log.lastDecree, 200);
    await replayed.log.close();
  });

  test('a failed write fails that group and every later append', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir, fileBytesMax: 200 });
    await log.append(recordOf(1, 'v'.repeat(150)));
    // The next append rolls into a new file, which cannot be created any more.
    await rm(dir, { recursive: true, force: true });
    const failing = [log.append(recordOf(2, 'v'.repeat(150))), log.append(recordOf(3))];
    for (const append of failing) await assert.rejects(append, (error: unknown) => error instanceof PteronError && error.code === 'ERR_FILE_OPERATION_FAILED');
    await assert.rejects(log.append(recordOf(4)), /ERR_FILE_OPERATION_FAILED/);
    await assert.rejects(log.reset(), /ERR_FILE_OPERATION_FAILED/);
    await log.close();
  });

  test('without fsync appends still group and replay; closed logs refuse work', async () => {
    const dir = freshDir();
    const { log } = await MutationLog.open({ dir, fsync: false });
    await Promise.all(Array.from({ length: 10 }, (_, index) => log.append(recordOf(index + 1))));
    assert.equal(log.syncCount, 0);
    assert.equal(log.writeCount, 1);
    const closing = log.close();
    await assert.rejects(log.append(recordOf(11)), /ERR_INVALID_STATE/);
    await assert.rejects(log.gc(100), /ERR_INVALID_STATE/);
    await closing;
    await log.close();
    const replayed = await MutationLog.open({ dir });
    assert.deepStrictEqual(decrees(replayed.records), Array.from({ length: 10 }, (_, index) => index + 1));
    await replayed.log.close();
  });
});
