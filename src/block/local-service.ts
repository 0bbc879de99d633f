// Pegasus's `local_service` block service: a directory tree on a local (or mounted) filesystem.
// A file `dir/name` has its metadata beside it in `dir/.name.meta`, the JSON {"size":…,"md5":…}
// Pegasus writes; a file without metadata is not listed and cannot be read. Writes go to a
// temporary name first and are renamed into place, so a file is never seen half written.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PteronError } from '../base/index.ts';
import { checkBlockPath, type BlockService, type FileMeta, type ListEntry } from './block-service.ts';

export const LOCAL_SERVICE_TYPE = 'local_service';
/** A download in progress is kept under this suffix, so an interrupted one can continue. */
const PARTIAL_SUFFIX = '.downloading';
const WRITING_SUFFIX = '.writing';

/** `dir/.name.meta`: where Pegasus's local_service keeps a file's size and md5. */
export function metaFileOf(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.meta`);
}

function isMetaFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.meta');
}

/** md5 (hex) and size of a local file. */
export async function fileMd5(file: string): Promise<FileMeta> {
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, md5: hash.digest('hex') };
}

function md5Of(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

function fsError(what: string, error: unknown): PteronError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new PteronError('ERR_OBJECT_NOT_FOUND', `${what}: not found`);
  return new PteronError('ERR_FS_INTERNAL', `${what}: ${(error as Error).message}`);
}

export class LocalBlockService implements BlockService {
  readonly type = LOCAL_SERVICE_TYPE;

  /** `root` is the directory every path is relative to (Pegasus: the first of `args`). */
  constructor(readonly root: string) {}

  private resolve(relative: string): string {
    checkBlockPath(relative);
    return path.join(this.root, relative);
  }

  async list(dir: string): Promise<ListEntry[]> {
    const full = this.resolve(dir);
    let info;
    try {
      info = await stat(full);
    } catch (error) {
      throw fsError(`list ${dir}`, error);
    }
    if (!info.isDirectory()) throw new PteronError('ERR_INVALID_PARAMETERS', `list ${dir}: not a directory`);
    const entries = await readdir(full, { withFileTypes: true });
    const names = new Set(entries.map((entry) => entry.name));
    const listed: ListEntry[] = [];
    for (const entry of entries) {
      if (entry.isDirectory()) listed.push({ name: entry.name, isDirectory: true });
      else if (entry.isFile() && !isMetaFileName(entry.name) && names.has(`.${entry.name}.meta`)) listed.push({ name: entry.name, isDirectory: false });
    }
    return listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async stat(file: string): Promise<FileMeta | undefined> {
    const full = this.resolve(file);
    try {
      await stat(full);
      const meta = JSON.parse(await readFile(metaFileOf(full), 'utf8')) as { size?: unknown; md5?: unknown };
      if (typeof meta.size !== 'number' || typeof meta.md5 !== 'string') return undefined;
      return { size: meta.size, md5: meta.md5 };
    } catch {
      return undefined;
    }
  }

  private async requireMeta(file: string): Promise<FileMeta> {
    const meta = await this.stat(file);
    if (meta === undefined) throw new PteronError('ERR_OBJECT_NOT_FOUND', `${file}: the file or its metadata is missing`);
    return meta;
  }

  async read(file: string): Promise<Buffer> {
    const meta = await this.requireMeta(file);
    let data: Buffer;
    try {
      data = await readFile(this.resolve(file));
    } catch (error) {
      throw fsError(`read ${file}`, error);
    }
    if (data.length !== meta.size || md5Of(data) !== meta.md5) throw new PteronError('ERR_CORRUPTION', `${file}: content does not match its md5`);
    return data;
  }

  async write(file: string, data: Uint8Array): Promise<FileMeta> {
    const full = this.resolve(file);
    const meta: FileMeta = { size: data.length, md5: md5Of(data) };
    try {
      await mkdir(path.dirname(full), { recursive: true });
      await writeFile(full + WRITING_SUFFIX, data, { flush: true });
      await rename(full + WRITING_SUFFIX, full);
      await this.writeMeta(full, meta);
    } catch (error) {
      throw fsError(`write ${file}`, error);
    }
    return meta;
  }

  private async writeMeta(full: string, meta: FileMeta): Promise<void> {
    const metaFile = metaFileOf(full);
    await writeFile(metaFile + WRITING_SUFFIX, JSON.stringify({ size: meta.size, md5: meta.md5 }), { flush: true });
    await rename(metaFile + WRITING_SUFFIX, metaFile);
  }

  async upload(localFile: string, remote: string): Promise<FileMeta> {
    const full = this.resolve(remote);
    let local: FileMeta;
    try {
      local = await fileMd5(localFile);
    } catch (error) {
      throw fsError(`upload ${localFile}`, error);
    }
    const existing = await this.stat(remote);
    if (existing?.size === local.size && existing.md5 === local.md5) return existing;
    try {
      await mkdir(path.dirname(full), { recursive: true });
      await pipeline(createReadStream(localFile), createWriteStream(full + WRITING_SUFFIX));
      const copied = await fileMd5(full + WRITING_SUFFIX);
      if (copied.md5 !== local.md5) throw new PteronError('ERR_CORRUPTION', `upload ${remote}: the copy does not match the md5 of ${localFile}`);
      await rename(full + WRITING_SUFFIX, full);
      await this.writeMeta(full, local);
    } catch (error) {
      await rm(full + WRITING_SUFFIX, { force: true });
      throw error instanceof PteronError ? error : fsError(`upload ${remote}`, error);
    }
    return local;
  }

  async download(remote: string, localFile: string, expectedMd5?: string): Promise<FileMeta> {
    const meta = await this.requireMeta(remote);
    if (expectedMd5 !== undefined && expectedMd5 !== meta.md5) {
      throw new PteronError('ERR_CORRUPTION', `download ${remote}: its md5 ${meta.md5} is not the expected ${expectedMd5}`);
    }
    const existing = await fileMd5(localFile).catch(() => undefined);
    if (existing?.md5 === meta.md5 && existing.size === meta.size) return meta;
    const partial = localFile + PARTIAL_SUFFIX;
    try {
      await mkdir(path.dirname(localFile), { recursive: true });
      // Continue a partial download from where it stopped; one longer than the file starts over.
      let offset = await stat(partial).then((info) => info.size, () => 0);
      if (offset > meta.size) {
        await rm(partial, { force: true });
        offset = 0;
      }
      if (offset < meta.size || offset === 0) {
        const output = createWriteStream(partial, { flags: offset > 0 ? 'a' : 'w' });
        await pipeline(createReadStream(this.resolve(remote), { start: offset }), output);
      }
      const got = await fileMd5(partial);
      if (got.md5 !== meta.md5 || got.size !== meta.size) {
        await rm(partial, { force: true });
        throw new PteronError('ERR_CORRUPTION', `download ${remote}: content does not match its md5 ${meta.md5}`);
      }
      await rename(partial, localFile);
    } catch (error) {
      throw error instanceof PteronError ? error : fsError(`download ${remote}`, error);
    }
    return meta;
  }

  async remove(target: string, recursive: boolean): Promise<void> {
    const full = this.resolve(target);
    let info;
    try {
      info = await stat(full);
    } catch (error) {
      throw fsError(`remove ${target}`, error);
    }
    try {
      if (info.isDirectory()) {
        if (!recursive && (await readdir(full)).length > 0) throw new PteronError('ERR_DIR_NOT_EMPTY', `remove ${target}: the directory is not empty`);
        await rm(full, { recursive: true, force: true });
      } else {
        await rm(full, { force: true });
        await rm(metaFileOf(full), { force: true });
      }
    } catch (error) {
      throw error instanceof PteronError ? error : fsError(`remove ${target}`, error);
    }
  }
}
