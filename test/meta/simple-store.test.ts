import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PteronError } from '../../src/base/index.ts';
import {
  crc32, ensurePath, MemoryStateStore, MemoryTree, MetaStoreCorruptionError, openSimpleStore, SimpleStateStore,
  SIMPLE_STORE_FILE_NAME, validatePath,
} from '../../src/meta/index.ts';

const data = (text: string): Buffer => Buffer.from(text);

function errorCode(error: unknown): string {
  return error instanceof PteronError ? error.code : `not a PteronError: ${String(error)}`;
}

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.from('1234'), Buffer.from('56789')), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
  });
});

describe('MemoryTree', () => {
  it('has ZooKeeper semantics: parents must exist, no duplicate creates, non-recursive delete of a parent fails', () => {
    const tree = new MemoryTree();
    tree.apply([{ op: 'create', path: '/a', data: data('1') }]);
    assert.throws(() => tree.apply([{ op: 'create', path: '/a', data: data('2') }]), (error) => errorCode(error) === 'ERR_NODE_ALREADY_EXIST');
    assert.throws(() => tree.apply([{ op: 'create', path: '/x/y', data: data('') }]), (error) => errorCode(error) === 'ERR_OBJECT_NOT_FOUND');
    assert.throws(() => tree.apply([{ op: 'set', path: '/nope', data: data('') }]), (error) => errorCode(error) === 'ERR_OBJECT_NOT_FOUND');
    tree.apply([{ op: 'create', path: '/a/b', data: data('b') }]);
    assert.throws(() => tree.apply([{ op: 'delete', path: '/a' }]), (error) => errorCode(error) === 'ERR_DIR_NOT_EMPTY');
    assert.deepEqual(tree.children('/'), ['a']);
    assert.deepEqual(tree.children('/a'), ['b']);
    tree.apply([{ op: 'delete', path: '/a', recursive: true }]);
    assert.equal(tree.exists('/a'), false);
    assert.equal(tree.exists('/a/b'), false);
    assert.deepEqual(tree.children('/'), []);
  });

  it('applies a batch atomically: a failing op undoes the ones before it', () => {
    const tree = new MemoryTree();
    tree.apply([{ op: 'create', path: '/keep', data: data('old') }]);
    assert.throws(() =>
      tree.apply([
        { op: 'set', path: '/keep', data: data('new') },
        { op: 'create', path: '/n', data: data('') },
        { op: 'create', path: '/n/m', data: data('') },
        { op: 'delete', path: '/keep' },
        { op: 'create', path: '/n', data: data('dup') },
      ]),
    );
    assert.equal(tree.get('/keep')?.toString(), 'old');
    assert.equal(tree.exists('/n'), false);
    assert.deepEqual(tree.children('/'), ['keep']);
  });

  it('rejects malformed paths and oversized data', () => {
    for (const bad of ['', 'a', '/a/', '//a', '/a//b', '/a/../b']) assert.throws(() => validatePath(bad), /invalid meta store path/);
    const tree = new MemoryTree();
    assert.throws(() => tree.apply([{ op: 'create', path: '/big', data: Buffer.alloc(1024 * 1024 + 1) }]), /more than/);
  });

  it('walks parents before children', () => {
    const tree = new MemoryTree();
    tree.apply([
      { op: 'create', path: '/b', data: data('') },
      { op: 'create', path: '/a', data: data('') },
      { op: 'create', path: '/a/2', data: data('') },
      { op: 'create', path: '/a/10', data: data('') },
    ]);
    assert.deepEqual([...tree.walk()].map(([nodePath]) => nodePath), ['/a', '/a/10', '/a/2', '/b']);
  });
});

describe('MemoryStateStore and ensurePath', () => {
  it('creates each missing component', async () => {
    const store = new MemoryStateStore();
    await ensurePath(store, '/pegasus/onebox/host');
    await ensurePath(store, '/pegasus/onebox/host');
    assert.deepEqual(await store.children('/pegasus/onebox'), ['host']);
    assert.deepEqual(store.describe(), [['meta_state_store', 'memory']]);
  });
});

describe('SimpleStateStore', () => {
  let directory: string;
  before(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'pteron-meta-store-'));
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  let counter = 0;
  const freshDir = (): string => path.join(directory, `case-${++counter}`);

  async function populated(dir: string): Promise<SimpleStateStore> {
    const store = await openSimpleStore(dir);
    await store.create('/root', data('r'));
    await store.multi([
      { op: 'create', path: '/root/apps', data: data('unlock') },
      { op: 'create', path: '/root/apps/1', data: data('{"app":1}') },
    ]);
    await store.set('/root/apps/1', data('{"app":1,"v":2}'));
    await store.create('/root/tmp', data('x'));
    await store.delete('/root/tmp');
    return store;
  }

  it('replays every committed change after a restart', async () => {
    const dir = freshDir();
    const store = await populated(dir);
    await store.close();
    const reopened = await openSimpleStore(dir);
    assert.equal((await reopened.get('/root/apps/1'))?.toString(), '{"app":1,"v":2}');
    assert.equal(await reopened.exists('/root/tmp'), false);
    assert.deepEqual(await reopened.children('/root'), ['apps']);
    assert.deepEqual(reopened.describe(), [
      ['meta_state_store', 'simple'],
      ['meta_state_store_file', path.join(dir, SIMPLE_STORE_FILE_NAME)],
    ]);
    await reopened.close();
  });

  it('writes nothing for a failing batch and stays usable', async () => {
    const dir = freshDir();
    const store = await populated(dir);
    const before = store.logBytes;
    await assert.rejects(store.multi([{ op: 'create', path: '/root/new', data: data('') }, { op: 'create', path: '/root', data: data('') }]), (error) => errorCode(error) === 'ERR_NODE_ALREADY_EXIST');
    assert.equal(store.logBytes, before);
    assert.equal((await stat(path.join(dir, SIMPLE_STORE_FILE_NAME))).size, before);
    await store.create('/root/new', data('ok'));
    await store.close();
    const reopened = await openSimpleStore(dir);
    assert.equal((await reopened.get('/root/new'))?.toString(), 'ok');
    await reopened.close();
  });

  it('refuses to start on a torn tail and names the file and the byte offset', async () => {
    const dir = freshDir();
    const store = await populated(dir);
    const goodBytes = store.logBytes;
    await store.create('/root/last', data('the last record, to be torn'));
    const fullBytes = store.logBytes;
    await store.close();
    const file = path.join(dir, SIMPLE_STORE_FILE_NAME);
    await truncate(file, fullBytes - 5);
    await assert.rejects(openSimpleStore(dir), (error: unknown) => {
      assert.ok(error instanceof MetaStoreCorruptionError);
      assert.equal(error.code, 'ERR_CORRUPTION');
      assert.equal(error.file, file);
      assert.equal(error.offset, goodBytes);
      assert.match(error.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged at byte offset ${goodBytes}: torn record`));
      assert.match(error.message, /simple_store_truncate_corrupt_tail/);
      return true;
    });
    // A tear inside the record header is reported the same way.
    await truncate(file, goodBytes + 7);
    await assert.rejects(openSimpleStore(dir), (error: unknown) => error instanceof MetaStoreCorruptionError && error.offset === goodBytes && /header needs 12 bytes/.test(error.message));
    // The file is left as it was: nothing is silently cut.
    assert.equal((await stat(file)).size, goodBytes + 7);
  });

  it('detects a flipped byte by its checksum', async () => {
    const dir = freshDir();
    const store = await openSimpleStore(dir);
    await store.create('/a', data('first'));
    const secondOffset = store.logBytes;
    await store.create('/b', data('second'));
    await store.create('/c', data('third'));
    await store.close();
    const file = path.join(dir, SIMPLE_STORE_FILE_NAME);
    const image = await readFile(file);
    image[secondOffset + 20] ^= 0x01;
    await writeFile(file, image);
    await assert.rejects(openSimpleStore(dir), (error: unknown) => {
      assert.ok(error instanceof MetaStoreCorruptionError);
      assert.equal(error.offset, secondOffset);
      assert.match(error.message, /checksum mismatch/);
      return true;
    });
  });

  it('rejects a file that is not a meta store', async () => {
    const dir = freshDir();
    const store = await openSimpleStore(dir);
    await store.close();
    const file = path.join(dir, SIMPLE_STORE_FILE_NAME);
    await writeFile(file, 'hello, this is not a log at all');
    await assert.rejects(openSimpleStore(dir), (error: unknown) => error instanceof MetaStoreCorruptionError && error.offset === 0 && /bad header/.test(error.message));
  });

  it('cuts the damaged tail only when asked to, and keeps appending after it', async () => {
    const dir = freshDir();
    const store = await populated(dir);
    const goodBytes = store.logBytes;
    await store.create('/root/torn', data('will be lost'));
    await store.close();
    const file = path.join(dir, SIMPLE_STORE_FILE_NAME);
    await truncate(file, goodBytes + 15);
    const repaired = await openSimpleStore(dir, { repairTail: true });
    assert.equal((await stat(file)).size, goodBytes);
    assert.equal(await repaired.exists('/root/torn'), false);
    assert.equal((await repaired.get('/root/apps/1'))?.toString(), '{"app":1,"v":2}');
    await repaired.create('/root/after', data('fine'));
    await repaired.close();
    const reopened = await openSimpleStore(dir);
    assert.equal((await reopened.get('/root/after'))?.toString(), 'fine');
    await reopened.close();
  });

  it('compacts a long log into a snapshot with the same content', async () => {
    const dir = freshDir();
    const store = await openSimpleStore(dir, { compactionBytesMin: 4096 });
    await store.create('/n', data(''));
    for (let round = 0; round < 200; round++) await store.set('/n', data(`value ${round}`));
    assert.ok(store.logBytes < 4096 + 200, `log stays small: ${store.logBytes}`);
    await store.create('/n/child', data('c'));
    await store.compact();
    await store.close();
    const reopened = await openSimpleStore(dir);
    assert.equal((await reopened.get('/n'))?.toString(), 'value 199');
    assert.equal((await reopened.get('/n/child'))?.toString(), 'c');
    await reopened.close();
  });

  it('serialises concurrent commits in call order', async () => {
    const dir = freshDir();
    const store = await openSimpleStore(dir);
    await store.create('/k', data('0'));
    await Promise.all(Array.from({ length: 20 }, (_, index) => store.set('/k', data(String(index + 1)))));
    assert.equal((await store.get('/k'))?.toString(), '20');
    await store.close();
    const reopened = await openSimpleStore(dir);
    assert.equal((await reopened.get('/k'))?.toString(), '20');
    await reopened.close();
    await assert.rejects(reopened.get('/k'), (error) => errorCode(error) === 'ERR_SERVICE_NOT_ACTIVE');
  });
});
