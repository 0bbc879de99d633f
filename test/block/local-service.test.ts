// Pegasus's local_service block service: metadata files beside the data, md5 checked on read,
// upload and download, resumable transfers, listing and removal, and the config registry.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { LocalBlockService, blockServicesFromConfig, metaFileOf } from '../../src/block/index.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-block-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let sequence = 0;
const fresh = (): { service: LocalBlockService; local: string } => {
  sequence += 1;
  return { service: new LocalBlockService(path.join(scratch, `root-${sequence}`)), local: path.join(scratch, `local-${sequence}`) };
};
const md5 = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

function errorCode(code: string): (error: unknown) => boolean {
  return (error) => (error as { code?: string }).code === code;
}

describe('local_service', () => {
  it('writes a file with Pegasus\'s metadata beside it and reads it back', async () => {
    const { service } = fresh();
    const meta = await service.write('a/b/file', Buffer.from('hello'));
    assert.deepEqual(meta, { size: 5, md5: md5('hello') });
    const onDisk = JSON.parse(readFileSync(metaFileOf(path.join(service.root, 'a/b/file')), 'utf8'));
    assert.deepEqual(onDisk, { size: 5, md5: md5('hello') });
    assert.equal((await service.read('a/b/file')).toString(), 'hello');
    assert.deepEqual(await service.list('a'), [{ name: 'b', isDirectory: true }]);
    assert.deepEqual(await service.list('a/b'), [{ name: 'file', isDirectory: false }]);
  });

  it('refuses a file whose content no longer matches its md5, and one without metadata', async () => {
    const { service } = fresh();
    await service.write('f', Buffer.from('original'));
    writeFileSync(path.join(service.root, 'f'), 'tampered');
    await assert.rejects(service.read('f'), errorCode('ERR_CORRUPTION'));
    writeFileSync(path.join(service.root, 'bare'), 'no meta');
    await assert.rejects(service.read('bare'), errorCode('ERR_OBJECT_NOT_FOUND'));
    assert.deepEqual((await service.list('')).map((entry) => entry.name), ['f']);
    await assert.rejects(service.list('missing'), errorCode('ERR_OBJECT_NOT_FOUND'));
    await assert.rejects(service.list('f'), errorCode('ERR_INVALID_PARAMETERS'));
    await assert.rejects(service.read('../outside'), errorCode('ERR_INVALID_PARAMETERS'));
  });

  it('uploads and downloads with md5 checks, skipping what is already there', async () => {
    const { service, local } = fresh();
    const source = `${local}-source`;
    writeFileSync(source, Buffer.alloc(300_000, 7));
    const uploaded = await service.upload(source, 'dir/data.bin');
    assert.equal(uploaded.md5, md5(Buffer.alloc(300_000, 7)));
    // Uploading the same content again leaves the remote file alone.
    const remoteFile = path.join(service.root, 'dir/data.bin');
    const before = readFileSync(remoteFile);
    assert.deepEqual(await service.upload(source, 'dir/data.bin'), uploaded);
    assert.deepEqual(readFileSync(remoteFile), before);

    const target = path.join(local, 'copy.bin');
    assert.deepEqual(await service.download('dir/data.bin', target, uploaded.md5), uploaded);
    assert.deepEqual(readFileSync(target), Buffer.alloc(300_000, 7));
    await assert.rejects(service.download('dir/data.bin', path.join(local, 'other'), md5('something else')), errorCode('ERR_CORRUPTION'));
    assert.equal(existsSync(path.join(local, 'other')), false);
    await assert.rejects(service.download('dir/none', path.join(local, 'none')), errorCode('ERR_OBJECT_NOT_FOUND'));
  });

  it('continues a partial download, and drops one whose bytes are wrong', async () => {
    const { service, local } = fresh();
    const content = Buffer.from('0123456789'.repeat(1000));
    await service.write('big', content);
    const target = path.join(local, 'big');
    mkdirSync(local, { recursive: true });
    writeFileSync(`${target}.downloading`, content.subarray(0, 4000), { flag: 'w' });
    assert.equal((await service.download('big', target)).size, content.length);
    assert.deepEqual(readFileSync(target), content);
    assert.equal(existsSync(`${target}.downloading`), false);

    const other = path.join(local, 'bad');
    writeFileSync(`${other}.downloading`, Buffer.alloc(4000, 1));
    await assert.rejects(service.download('big', other), errorCode('ERR_CORRUPTION'));
    assert.equal(existsSync(`${other}.downloading`), false);
    // The next try starts over and succeeds.
    assert.equal((await service.download('big', other)).md5, md5(content));
  });

  it('removes files and directories, non-empty ones only recursively', async () => {
    const { service } = fresh();
    await service.write('d/x', Buffer.from('x'));
    await assert.rejects(service.remove('d', false), errorCode('ERR_DIR_NOT_EMPTY'));
    await service.remove('d/x', false);
    assert.equal(await service.stat('d/x'), undefined);
    await service.write('d/y', Buffer.from('y'));
    await service.remove('d', true);
    await assert.rejects(service.remove('d', true), errorCode('ERR_OBJECT_NOT_FOUND'));
  });
});

describe('block service registry', () => {
  it('creates the providers config.ini declares and nothing else', async () => {
    const root = path.join(scratch, 'registry-root');
    const config = loadConfig(undefined, [
      `block_service.local.type=local_service`, `block_service.local.args=${root}`,
      'block_service.odd.type=s3_service', 'block_service.rootless.type=local_service',
    ]);
    const registry = blockServicesFromConfig(config);
    assert.deepEqual(registry.names(), ['local', 'odd', 'rootless']);
    const local = registry.get('local');
    assert.ok(local instanceof LocalBlockService);
    assert.equal(local.root, root);
    assert.equal(registry.get('local'), local);
    assert.equal(registry.get('odd'), undefined);
    assert.equal(registry.get('rootless'), undefined);
    assert.equal(registry.get('missing'), undefined);
  });
});
