// The shared log on real files: private logs that use it share its fsyncs; start-up writes its
// groups back into private files that lost their unsynced tail; groups of a private file that is
// gone, or of a replica that left, are not written back; full files are deleted once every member
// synced; a torn tail of the last shared file is ignored and damage in an earlier one is refused.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PteronError, type Gpid } from '../../src/base/index.ts';
import { MutationLog, type LogRecord } from '../../src/replica/log/mutation-log.ts';
import { SharedLog } from '../../src/replica/log/shared-log.ts';
import { encodeKey } from '../../src/storage/index.ts';

const recordOf = (decree: number, value = `v${decree}`): LogRecord => ({
  mutation: {
    decree, ballot: 1, timestampUs: 1_700_000_000_000_000n + BigInt(decree),
    writes: [{ op: 'put', request: { key: encodeKey(Buffer.from('h'), Buffer.from(`s${decree}`)), value: Buffer.from(value), expireTsSeconds: 0 } }],
  },
  lastCommittedDecree: decree - 1,
});

const GPIDS: Gpid[] = [{ appId: 1, partitionIndex: 0 }, { appId: 1, partitionIndex: 1 }, { appId: 2, partitionIndex: 0 }];

describe('shared log', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pteron-slog-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A data dir: the shared log in `slog/`, private logs in `<appId>.<pidx>/`. */
  async function server(name: string, fileBytesMax?: number): Promise<{ dir: string; privateDirOf: (gpid: Gpid) => string; open: () => ReturnType<typeof SharedLog.open> }> {
    const dir = path.join(root, name);
    const privateDirOf = (gpid: Gpid): string => path.join(dir, `${gpid.appId}.${gpid.partitionIndex}`);
    return { dir, privateDirOf, open: () => SharedLog.open({ dir: path.join(dir, 'slog'), privateLogDirOf: privateDirOf, ...(fileBytesMax && { fileBytesMax }) }) };
  }

  const decrees = (records: readonly LogRecord[]): number[] => records.map((record) => record.mutation.decree);

  /** The one log file of a private log (these tests never roll one). */
  async function onlyFile(dir: string): Promise<string> {
    const names = (await readdir(dir)).filter((name) => name.startsWith('log.'));
    assert.equal(names.length, 1);
    return path.join(dir, names[0]!);
  }

  test('groups of several private logs written in one turn share one fsync', async () => {
    const node = await server('share');
    const { log: shared } = await node.open();
    const logs = await Promise.all(GPIDS.map(async (gpid) => (await MutationLog.open({ dir: node.privateDirOf(gpid), shared: { log: shared, gpid } })).log));
    // The first append of each log creates its file first, which takes turns of its own.
    await Promise.all(logs.map((log) => log.append(recordOf(1))));
    const before = shared.syncCount;
    await Promise.all(logs.flatMap((log) => [log.append(recordOf(2)), log.append(recordOf(3))]));
    assert.equal(shared.syncCount, before + 1, 'one fsync for the groups of three logs');
    for (const log of logs) await log.close();
    await shared.close();
    for (const gpid of GPIDS) {
      const reopened = await MutationLog.open({ dir: node.privateDirOf(gpid) });
      assert.deepEqual(decrees(reopened.records), [1, 2, 3]);
      await reopened.log.close();
    }
  });

  test('start-up writes back what private files lost (the page cache of a crash), and empties the shared log', async () => {
    const node = await server('crash');
    const { log: shared } = await node.open();
    const [first, second] = GPIDS;
    const logA = (await MutationLog.open({ dir: node.privateDirOf(first!), shared: { log: shared, gpid: first! } })).log;
    const logB = (await MutationLog.open({ dir: node.privateDirOf(second!), shared: { log: shared, gpid: second! } })).log;
    for (let decree = 1; decree <= 5; decree++) await Promise.all([logA.append(recordOf(decree)), logB.append(recordOf(decree, 'x'.repeat(300)))]);
    // The crash: nothing is closed; one private file lost everything, the other a torn tail.
    const fileA = await onlyFile(node.privateDirOf(first!));
    const fileB = await onlyFile(node.privateDirOf(second!));
    await truncate(fileA, 0);
    await truncate(fileB, (await stat(fileB)).size - 100);

    const recovered = await node.open();
    assert.equal(recovered.groupsRedone, 10);
    assert.equal(recovered.tornBytes, 0);
    assert.deepEqual(await readdir(path.join(node.dir, 'slog')), ['slog.2'], 'the old file is deleted, a new one started');
    const reopenedA = await MutationLog.open({ dir: node.privateDirOf(first!) });
    const reopenedB = await MutationLog.open({ dir: node.privateDirOf(second!) });
    assert.deepEqual(decrees(reopenedA.records), [1, 2, 3, 4, 5]);
    assert.deepEqual(decrees(reopenedB.records), [1, 2, 3, 4, 5]);
    assert.equal(reopenedB.tornBytes, 0);
    await reopenedA.log.close();
    await reopenedB.log.close();
    await recovered.log.close();
    // What the crashed process still had open.
    await Promise.all([logA.close(), logB.close()]);
    await shared.close();
  });

  test('a replica that left, and whose directory was replaced, gets none of its old groups', async () => {
    const node = await server('leave');
    const { log: shared } = await node.open();
    const gpid = GPIDS[0]!;
    const dir = node.privateDirOf(gpid);
    const old = (await MutationLog.open({ dir, shared: { log: shared, gpid } })).log;
    for (let decree = 1; decree <= 3; decree++) await old.append(recordOf(decree, 'old value, longer than the new one'));
    await old.close();
    await rename(dir, `${dir}.gar`);
    const fresh = (await MutationLog.open({ dir, shared: { log: shared, gpid } })).log;
    await fresh.append(recordOf(1, 'new'));
    // The crash: the shared log holds the old groups (for the same file name) and the new one.
    const recovered = await node.open();
    assert.equal(recovered.groupsRedone, 1);
    assert.equal(recovered.groupsSkipped, 3);
    const reopened = await MutationLog.open({ dir });
    assert.deepEqual(reopened.records.map((record) => record.mutation.writes[0]!.op === 'put' && record.mutation.writes[0].request.value.toString()), ['new']);
    assert.equal(reopened.tornBytes, 0);
    await reopened.log.close();
    await fresh.close();
    await shared.close();
    await recovered.log.close();
  });

  test('groups of a private file that was collected are skipped', async () => {
    const node = await server('collected');
    const { log: shared } = await node.open();
    const gpid = GPIDS[0]!;
    const log = (await MutationLog.open({ dir: node.privateDirOf(gpid), fileBytesMax: 200, shared: { log: shared, gpid } })).log;
    for (let decree = 1; decree <= 4; decree++) await log.append(recordOf(decree, 'v'.repeat(100)));
    assert.equal(log.fileCount, 4, 'one record per private file');
    assert.equal(await log.gc(2), 2);
    const recovered = await node.open();
    assert.equal(recovered.groupsRedone, 2);
    assert.equal(recovered.groupsSkipped, 2);
    const reopened = await MutationLog.open({ dir: node.privateDirOf(gpid) });
    assert.deepEqual(decrees(reopened.records), [3, 4]);
    await reopened.log.close();
    await recovered.log.close();
    await log.close();
    await shared.close();
  });

  test('full shared files are deleted once every member synced its private log', async () => {
    const node = await server('roll', 4096);
    const { log: shared } = await node.open();
    const logs = await Promise.all(GPIDS.map(async (gpid) => (await MutationLog.open({ dir: node.privateDirOf(gpid), shared: { log: shared, gpid } })).log));
    for (let decree = 1; decree <= 40; decree++) await Promise.all(logs.map((log) => log.append(recordOf(decree, 'v'.repeat(200)))));
    // Collection runs in the background after a file fills up.
    for (let attempt = 0; attempt < 100 && shared.fileCount > 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(shared.fileCount <= 2, `${shared.fileCount} shared files left`);
    assert.ok((await readdir(path.join(node.dir, 'slog'))).length <= 2);
    for (const log of logs) await log.close();
    await shared.close();
    // Every record is in the private logs themselves.
    await rm(path.join(node.dir, 'slog'), { recursive: true });
    for (const gpid of GPIDS) {
      const reopened = await MutationLog.open({ dir: node.privateDirOf(gpid) });
      assert.equal(reopened.records.length, 40);
      await reopened.log.close();
    }
  });

  test('a torn tail of the last shared file is ignored; damage in an earlier file is refused', async () => {
    const node = await server('torn');
    const slogDir = path.join(node.dir, 'slog');
    const { log: shared } = await node.open();
    const gpid = GPIDS[0]!;
    const log = (await MutationLog.open({ dir: node.privateDirOf(gpid), shared: { log: shared, gpid } })).log;
    await log.append(recordOf(1));
    await log.append(recordOf(2));
    const [name] = await readdir(slogDir);
    const file = path.join(slogDir, name!);
    await truncate(file, (await stat(file)).size - 5);
    const recovered = await node.open();
    assert.equal(recovered.groupsRedone, 1);
    assert.ok(recovered.tornBytes > 0);
    await recovered.log.close();
    await log.close();
    await shared.close();

    await writeFile(path.join(slogDir, 'slog.100'), Buffer.from('not a shared log record'));
    await writeFile(path.join(slogDir, 'slog.101'), Buffer.alloc(0));
    await assert.rejects(node.open(), (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_DATA');
  });
});
