// The "simple" meta state store: the tree of state-store.ts persisted as an append-only log in one
// local file, for a single meta (spec pegasus-arch §2.13). Every commit is one record, written
// and fsync'ed before the change becomes visible; start-up replays the records. A record that
// is cut short or fails its checksum stops start-up with the file name and byte offset: losing
// the tail silently could resurrect dropped tables or forget ballots, so only an explicit
// repair option drops it.
//
// File layout (little endian):
//   header  = "PTRNMETA" (8 bytes), u32 format version, u32 crc32(first 12 bytes)
//   record  = u32 RECORD_MAGIC, u32 payload length, u32 crc32(length bytes ‖ payload), payload
//   payload = u32 op count, then per op: u8 kind, u32 path length, path (utf8), u32 data length, data
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { log, PteronError } from '../base/index.ts';
import { defineFlag } from '../config/index.ts';
import { MemoryTree, MULTI_OPS_MAX, NODE_DATA_BYTES_MAX, PATH_BYTES_MAX, type MetaStateStore, type StoreOp } from './state-store.ts';

export const SIMPLE_STORE_FILE_NAME = 'meta_state_service.log';

const FILE_MAGIC = Buffer.from('PTRNMETA', 'latin1');
const FORMAT_VERSION = 1;
const FILE_HEADER_BYTES = 16;
const RECORD_MAGIC = 0x52_4d_54_50; // "PTMR" read as little endian
const RECORD_HEADER_BYTES = 12;
/** A record never holds more than this: the largest batch the tree accepts, with room to spare. */
export const RECORD_PAYLOAD_BYTES_MAX = 256 * 1024 * 1024;
/** Records written by compaction are cut at this size. */
const COMPACTION_RECORD_BYTES_TARGET = 4 * 1024 * 1024;

const OP_CREATE = 1;
const OP_SET = 2;
const OP_DELETE = 3;
const OP_DELETE_RECURSIVE = 4;

export const simpleStoreRepairTail = defineFlag({
  section: 'meta_server',
  name: 'simple_store_truncate_corrupt_tail',
  type: 'FV_BOOL',
  default: false,
  description:
    'When the simple meta state store finds a torn or corrupt record at start-up, cut the file at that record ' +
    'instead of refusing to start. Everything from that offset on is lost; use only after reading the error',
});

export const simpleStoreCompactionBytesMin = defineFlag({
  section: 'meta_server',
  name: 'simple_store_compaction_bytes_min',
  type: 'FV_UINT64',
  default: 16 * 1024 * 1024,
  description:
    'The simple meta state store rewrites its log as a snapshot once the log is larger than this and four times larger than the snapshot',
  mutable: true,
});

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320)

const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    table[byte] = crc >>> 0;
  }
  return table;
})();

export function crc32(...parts: Buffer[]): number {
  let crc = 0xffffffff;
  for (const part of parts) {
    for (let index = 0; index < part.length; index++) crc = CRC32_TABLE[(crc ^ part[index]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// encoding

export class MetaStoreCorruptionError extends PteronError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(
      'ERR_CORRUPTION',
      `meta state store ${file} is damaged at byte offset ${offset}: ${reason}. ` +
        `Start-up stops here so no committed metadata is silently lost; to cut the file at that offset ` +
        `(losing every change from it on) set [meta_server] ${simpleStoreRepairTail.name} = true`,
    );
    this.name = 'MetaStoreCorruptionError';
  }
}

function encodeFileHeader(): Buffer {
  const header = Buffer.alloc(FILE_HEADER_BYTES);
  FILE_MAGIC.copy(header, 0);
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(crc32(header.subarray(0, 12)), 12);
  return header;
}

export function encodeRecord(ops: readonly StoreOp[]): Buffer {
  const pieces: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32LE(ops.length);
  pieces.push(count);
  for (const op of ops) {
    const pathBytes = Buffer.from(op.path, 'utf8');
    const data = op.op === 'delete' ? Buffer.alloc(0) : op.data;
    const head = Buffer.alloc(5);
    head.writeUInt8(op.op === 'create' ? OP_CREATE : op.op === 'set' ? OP_SET : op.recursive ? OP_DELETE_RECURSIVE : OP_DELETE, 0);
    head.writeUInt32LE(pathBytes.length, 1);
    const dataLength = Buffer.alloc(4);
    dataLength.writeUInt32LE(data.length);
    pieces.push(head, pathBytes, dataLength, data);
  }
  const payload = Buffer.concat(pieces);
  if (payload.length > RECORD_PAYLOAD_BYTES_MAX) {
    throw new PteronError('ERR_INVALID_PARAMETERS', `a meta store commit of ${payload.length} bytes exceeds ${RECORD_PAYLOAD_BYTES_MAX}`);
  }
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  header.writeUInt32LE(RECORD_MAGIC, 0);
  header.writeUInt32LE(payload.length, 4);
  header.writeUInt32LE(crc32(header.subarray(4, 8), payload), 8);
  return Buffer.concat([header, payload]);
}

/** Decodes a payload whose checksum already matched; throws a plain Error on a malformed one. */
function decodePayload(payload: Buffer): StoreOp[] {
  let offset = 0;
  const need = (bytes: number): void => {
    if (offset + bytes > payload.length) throw new Error(`payload ends at ${payload.length} but needs ${offset + bytes} bytes`);
  };
  need(4);
  const count = payload.readUInt32LE(offset);
  offset += 4;
  if (count > MULTI_OPS_MAX) throw new Error(`op count ${count} exceeds ${MULTI_OPS_MAX}`);
  const ops: StoreOp[] = [];
  for (let index = 0; index < count; index++) {
    need(5);
    const kind = payload.readUInt8(offset);
    const pathLength = payload.readUInt32LE(offset + 1);
    offset += 5;
    if (pathLength > PATH_BYTES_MAX) throw new Error(`path length ${pathLength} exceeds ${PATH_BYTES_MAX}`);
    need(pathLength + 4);
    const opPath = payload.toString('utf8', offset, offset + pathLength);
    offset += pathLength;
    const dataLength = payload.readUInt32LE(offset);
    offset += 4;
    if (dataLength > NODE_DATA_BYTES_MAX) throw new Error(`data length ${dataLength} exceeds ${NODE_DATA_BYTES_MAX}`);
    need(dataLength);
    const data = Buffer.from(payload.subarray(offset, offset + dataLength));
    offset += dataLength;
    switch (kind) {
      case OP_CREATE:
        ops.push({ op: 'create', path: opPath, data });
        break;
      case OP_SET:
        ops.push({ op: 'set', path: opPath, data });
        break;
      case OP_DELETE:
      case OP_DELETE_RECURSIVE:
        if (dataLength !== 0) throw new Error('a delete op carries data');
        ops.push({ op: 'delete', path: opPath, recursive: kind === OP_DELETE_RECURSIVE });
        break;
      default:
        throw new Error(`unknown op kind ${kind}`);
    }
  }
  if (offset !== payload.length) throw new Error(`${payload.length - offset} unexpected bytes after the last op`);
  return ops;
}

export interface ReplayResult {
  tree: MemoryTree;
  /** Bytes of valid log (header + whole records). */
  validBytes: number;
  records: number;
  /** Set when the log is damaged from this offset on. */
  damage?: { offset: number; reason: string };
}

/** Replays a whole log image. Never throws for damage: it reports where the valid prefix ends. */
export function replayLog(image: Buffer): ReplayResult {
  const tree = new MemoryTree();
  if (image.length < FILE_HEADER_BYTES) {
    return { tree, validBytes: 0, records: 0, damage: { offset: 0, reason: `the file header needs ${FILE_HEADER_BYTES} bytes but the file has ${image.length}` } };
  }
  if (!image.subarray(0, 8).equals(FILE_MAGIC) || image.readUInt32LE(12) !== crc32(image.subarray(0, 12))) {
    return { tree, validBytes: 0, records: 0, damage: { offset: 0, reason: 'this is not a Pteron meta state store file (bad header)' } };
  }
  const version = image.readUInt32LE(8);
  if (version !== FORMAT_VERSION) {
    return { tree, validBytes: 0, records: 0, damage: { offset: 0, reason: `unsupported format version ${version}` } };
  }
  let offset = FILE_HEADER_BYTES;
  let records = 0;
  while (offset < image.length) {
    const damage = (reason: string): ReplayResult => ({ tree, validBytes: offset, records, damage: { offset, reason } });
    const left = image.length - offset;
    if (left < RECORD_HEADER_BYTES) {
      return damage(`torn record: its header needs ${RECORD_HEADER_BYTES} bytes but the file ends after ${left}`);
    }
    const magic = image.readUInt32LE(offset);
    if (magic !== RECORD_MAGIC) return damage(`bad record magic 0x${magic.toString(16).padStart(8, '0')}`);
    const length = image.readUInt32LE(offset + 4);
    const checksum = image.readUInt32LE(offset + 8);
    if (length > RECORD_PAYLOAD_BYTES_MAX) return damage(`record length ${length} exceeds ${RECORD_PAYLOAD_BYTES_MAX}`);
    if (left - RECORD_HEADER_BYTES < length) {
      return damage(`torn record: it needs ${RECORD_HEADER_BYTES + length} bytes but the file ends after ${left}`);
    }
    const payload = image.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
    const actual = crc32(image.subarray(offset + 4, offset + 8), payload);
    if (actual !== checksum) {
      return damage(`checksum mismatch (stored 0x${checksum.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')})`);
    }
    let ops: StoreOp[];
    try {
      ops = decodePayload(payload);
    } catch (error) {
      return damage(`malformed record: ${(error as Error).message}`);
    }
    try {
      tree.apply(ops);
    } catch (error) {
      return damage(`record does not apply to the replayed state: ${(error as Error).message}`);
    }
    offset += RECORD_HEADER_BYTES + length;
    records++;
  }
  return { tree, validBytes: offset, records };
}

// ---------------------------------------------------------------------------------------------
// the store

export interface SimpleStoreOptions {
  /** Cut a damaged tail instead of failing (default: the simple_store_truncate_corrupt_tail flag). */
  repairTail?: boolean;
  /** Compaction threshold in bytes (default: the simple_store_compaction_bytes_min flag). */
  compactionBytesMin?: number;
}

function fsyncDirectory(directory: string): void {
  // Makes a create or rename durable. Some platforms cannot open a directory; then there is
  // nothing more we can do.
  let fd: number | undefined;
  try {
    fd = openSync(directory, 'r');
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export class SimpleStateStore implements MetaStateStore {
  readonly type = 'simple';
  private handle: FileHandle | undefined;
  private tail: Promise<void> = Promise.resolve();
  /** Set after a failed write: the file may end in a partial record, so nothing more is written. */
  private failure: Error | undefined;
  private fileBytes: number;

  private constructor(
    readonly file: string,
    private readonly tree: MemoryTree,
    handle: FileHandle,
    fileBytes: number,
    private readonly compactionBytesMin: number,
  ) {
    this.handle = handle;
    this.fileBytes = fileBytes;
  }

  /** Opens (or creates) the log at `file` and replays it. Throws MetaStoreCorruptionError on damage. */
  static async open(file: string, options: SimpleStoreOptions = {}): Promise<SimpleStateStore> {
    const repairTail = options.repairTail ?? simpleStoreRepairTail.value;
    const compactionBytesMin = options.compactionBytesMin ?? simpleStoreCompactionBytesMin.value;
    const absolute = path.resolve(file);
    let handle: FileHandle;
    try {
      handle = await open(absolute, 'a+');
    } catch (error) {
      throw new PteronError('ERR_FILE_OPERATION_FAILED', `cannot open meta state store ${absolute}: ${(error as Error).message}`);
    }
    try {
      const { size } = await handle.stat();
      if (size === 0) {
        await handle.write(encodeFileHeader());
        await handle.sync();
        fsyncDirectory(path.dirname(absolute));
        return new SimpleStateStore(absolute, new MemoryTree(), handle, FILE_HEADER_BYTES, compactionBytesMin);
      }
      const image = Buffer.alloc(size);
      const { bytesRead } = await handle.read(image, 0, size, 0);
      const replay = replayLog(image.subarray(0, bytesRead));
      let fileBytes = bytesRead;
      if (replay.damage) {
        if (!repairTail || replay.validBytes < FILE_HEADER_BYTES) {
          throw new MetaStoreCorruptionError(absolute, replay.damage.offset, replay.damage.reason);
        }
        log.warn(
          { file: absolute, offset: replay.damage.offset, droppedBytes: bytesRead - replay.validBytes, reason: replay.damage.reason },
          'meta state store: cutting the damaged tail as configured',
        );
        await handle.truncate(replay.validBytes);
        await handle.sync();
        fileBytes = replay.validBytes;
      }
      log.info({ file: absolute, records: replay.records, nodes: replay.tree.size, bytes: fileBytes }, 'meta state store replayed');
      const store = new SimpleStateStore(absolute, replay.tree, handle, fileBytes, compactionBytesMin);
      await store.maybeCompact();
      return store;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  describe(): Array<[string, string]> {
    return [
      ['meta_state_store', 'simple'],
      ['meta_state_store_file', this.file],
    ];
  }

  private live(): MemoryTree {
    if (!this.handle) throw new PteronError('ERR_SERVICE_NOT_ACTIVE', `meta state store ${this.file} is closed`);
    return this.tree;
  }

  async exists(nodePath: string): Promise<boolean> {
    return this.live().exists(nodePath);
  }
  async get(nodePath: string): Promise<Buffer | undefined> {
    const data = this.live().get(nodePath);
    return data && Buffer.from(data);
  }
  async children(nodePath: string): Promise<string[]> {
    return this.live().children(nodePath);
  }
  create(nodePath: string, data: Buffer): Promise<void> {
    return this.commit([{ op: 'create', path: nodePath, data }]);
  }
  set(nodePath: string, data: Buffer): Promise<void> {
    return this.commit([{ op: 'set', path: nodePath, data }]);
  }
  delete(nodePath: string, recursive = false): Promise<void> {
    return this.commit([{ op: 'delete', path: nodePath, recursive }]);
  }
  multi(ops: StoreOp[]): Promise<void> {
    return this.commit(ops);
  }

  /** Bytes in the log file now (for tests and diagnostics). */
  get logBytes(): number {
    return this.fileBytes;
  }

  /** Commits run one at a time, in call order: check → append → fsync → apply in memory. */
  private commit(ops: StoreOp[]): Promise<void> {
    const copy = ops.map((op) => ({ ...op }));
    const run = this.tail.then(() => this.commitNow(copy));
    this.tail = run.catch(() => {});
    return run;
  }

  private async commitNow(ops: StoreOp[]): Promise<void> {
    const tree = this.live();
    if (this.failure) {
      throw new PteronError('ERR_FILE_OPERATION_FAILED', `meta state store ${this.file} stopped after a failed write: ${this.failure.message}`);
    }
    if (ops.length === 0) return;
    tree.check(ops);
    const record = encodeRecord(ops);
    try {
      await this.handle!.write(record);
      await this.handle!.sync();
    } catch (error) {
      this.failure = error as Error;
      throw new PteronError('ERR_FILE_OPERATION_FAILED', `cannot write meta state store ${this.file}: ${(error as Error).message}`);
    }
    this.fileBytes += record.length;
    tree.apply(ops);
    await this.maybeCompact();
  }

  /** Rewrites the log as a snapshot of the tree when it has grown much larger than the tree. */
  private async maybeCompact(): Promise<void> {
    if (this.fileBytes < this.compactionBytesMin) return;
    const snapshot = this.snapshotRecords();
    const snapshotBytes = snapshot.reduce((sum, record) => sum + record.length, FILE_HEADER_BYTES);
    if (this.fileBytes < 4 * snapshotBytes) return;
    await this.rewrite(snapshot, snapshotBytes);
  }

  /** Forces a rewrite of the log as a snapshot (tests, operators). */
  async compact(): Promise<void> {
    const run = this.tail.then(async () => {
      this.live();
      const snapshot = this.snapshotRecords();
      await this.rewrite(snapshot, snapshot.reduce((sum, record) => sum + record.length, FILE_HEADER_BYTES));
    });
    this.tail = run.catch(() => {});
    return run;
  }

  private snapshotRecords(): Buffer[] {
    const records: Buffer[] = [];
    let batch: StoreOp[] = [];
    let batchBytes = 0;
    for (const [nodePath, data] of this.tree.walk()) {
      batch.push({ op: 'create', path: nodePath, data });
      batchBytes += nodePath.length + data.length + 9;
      if (batchBytes >= COMPACTION_RECORD_BYTES_TARGET || batch.length >= MULTI_OPS_MAX) {
        records.push(encodeRecord(batch));
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) records.push(encodeRecord(batch));
    return records;
  }

  private async rewrite(records: Buffer[], snapshotBytes: number): Promise<void> {
    const temporary = `${this.file}.compact`;
    await rm(temporary, { force: true });
    const output = await open(temporary, 'w');
    try {
      await output.write(encodeFileHeader());
      for (const record of records) await output.write(record);
      await output.sync();
    } finally {
      await output.close();
    }
    // Check what was written before it replaces the log.
    const written = await stat(temporary);
    if (written.size !== snapshotBytes) throw new Error(`compaction wrote ${written.size} bytes, expected ${snapshotBytes}`);
    await rename(temporary, this.file);
    fsyncDirectory(path.dirname(this.file));
    const previous = this.handle!;
    this.handle = await open(this.file, 'a+');
    await previous.close();
    log.info({ file: this.file, fromBytes: this.fileBytes, toBytes: snapshotBytes }, 'meta state store compacted');
    this.fileBytes = snapshotBytes;
  }

  async close(): Promise<void> {
    await this.tail;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

/** Opens the simple store in `dataDir` (creating the directory's file on first start). */
export async function openSimpleStore(dataDir: string, options: SimpleStoreOptions = {}): Promise<SimpleStateStore> {
  await mkdir(dataDir, { recursive: true });
  return SimpleStateStore.open(path.join(dataDir, SIMPLE_STORE_FILE_NAME), options);
}
