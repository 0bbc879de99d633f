// The data files of a bulk load: records in the store's own form (Pegasus's composite key and
// the encoded value with its expire_ts and timetag), which a replica ingests without turning
// them back into requests. Pegasus ingests RocksDB SST files; this storage is LevelDB, which has
// no external-file ingestion, so the files are Pteron's own, checked block by block:
//
//   header  "PTRNBULK" | u32 format version (1) | u32 value data version                (16 bytes)
//   block   u32 record count | u32 payload bytes | u32 CRC-32 of the payload | payload   (repeated)
//   payload per record: u32 key bytes | key | u32 value bytes | value
//
// All integers are big-endian. A block holds at most BLOCK_BYTES_TARGET bytes of payload (or
// one record, if that is larger), so a reader checks and hands out a bounded amount at a time.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { crc32 } from 'node:zlib';
import { PteronError, assert } from '../base/index.ts';
import { valueHeaderBytes } from './schema.ts';

const MAGIC = Buffer.from('PTRNBULK', 'latin1');
const FORMAT_VERSION = 1;
const HEADER_BYTES = MAGIC.length + 4 + 4;
const BLOCK_HEAD_BYTES = 12;
const BLOCK_BYTES_TARGET = 256 * 1024;
/** A payload larger than this is corruption (a record's key is < 64 KiB, its value is bounded by the write path). */
const BLOCK_BYTES_MAX = 512 * 1024 * 1024;

/** One record: a composite key and a stored value (schema `dataVersion` of the file). */
export interface BulkRecord {
  readonly key: Buffer;
  readonly value: Buffer;
}

function corrupt(file: string, what: string): PteronError {
  return new PteronError('ERR_CORRUPTION', `bulk load file ${file}: ${what}`);
}

/** Writes records to a new file, block by block. */
export class BulkLoadFileWriter {
  private readonly out: WriteStream;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingCount = 0;
  private recordCount = 0;

  constructor(readonly file: string, readonly dataVersion: number) {
    valueHeaderBytes(dataVersion);
    this.out = createWriteStream(file);
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt32BE(FORMAT_VERSION, 8);
    header.writeUInt32BE(dataVersion, 12);
    this.out.write(header);
  }

  get records(): number {
    return this.recordCount;
  }

  /** Appends a record; resolves once the stream can take more (back-pressure). */
  async add(record: BulkRecord): Promise<void> {
    assert(record.key.length >= 2, 'a composite key has its hash-key length');
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(record.key.length, 0);
    const valueHead = Buffer.allocUnsafe(4);
    valueHead.writeUInt32BE(record.value.length, 0);
    this.pending.push(head, record.key, valueHead, record.value);
    this.pendingBytes += 8 + record.key.length + record.value.length;
    this.pendingCount += 1;
    this.recordCount += 1;
    if (this.pendingBytes >= BLOCK_BYTES_TARGET) await this.flushBlock();
  }

  private async flushBlock(): Promise<void> {
    if (this.pendingCount === 0) return;
    const payload = Buffer.concat(this.pending, this.pendingBytes);
    const head = Buffer.allocUnsafe(BLOCK_HEAD_BYTES);
    head.writeUInt32BE(this.pendingCount, 0);
    head.writeUInt32BE(payload.length, 4);
    head.writeUInt32BE(crc32(payload), 8);
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingCount = 0;
    this.out.write(head);
    if (!this.out.write(payload)) await once(this.out, 'drain');
  }

  /** Writes the last block and closes the file. */
  async close(): Promise<void> {
    await this.flushBlock();
    this.out.end();
    await once(this.out, 'finish');
  }
}

/** A file's value data version, from its header. */
function parseHeader(file: string, header: Buffer): number {
  if (header.length < HEADER_BYTES || !header.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt(file, 'not a bulk load file');
  const format = header.readUInt32BE(8);
  if (format !== FORMAT_VERSION) throw corrupt(file, `unknown format version ${format}`);
  const dataVersion = header.readUInt32BE(12);
  try {
    valueHeaderBytes(dataVersion);
  } catch {
    throw corrupt(file, `unknown value data version ${dataVersion}`);
  }
  return dataVersion;
}

function parsePayload(file: string, payload: Buffer, count: number): BulkRecord[] {
  const records: BulkRecord[] = [];
  let offset = 0;
  for (let index = 0; index < count; index++) {
    if (offset + 4 > payload.length) throw corrupt(file, 'a record runs past its block');
    const keyBytes = payload.readUInt32BE(offset);
    const keyEnd = offset + 4 + keyBytes;
    if (keyBytes < 2 || keyEnd + 4 > payload.length) throw corrupt(file, 'a record key runs past its block');
    const valueBytes = payload.readUInt32BE(keyEnd);
    const valueEnd = keyEnd + 4 + valueBytes;
    if (valueEnd > payload.length) throw corrupt(file, 'a record value runs past its block');
    records.push({ key: payload.subarray(offset + 4, keyEnd), value: payload.subarray(keyEnd + 4, valueEnd) });
    offset = valueEnd;
  }
  if (offset !== payload.length) throw corrupt(file, 'a block has bytes after its last record');
  return records;
}

/**
 * The records of a file, one checked block at a time, with the file's value data version. A
 * damaged or truncated file throws ERR_CORRUPTION at the block that does not check out.
 */
export async function* readBulkLoadFile(file: string): AsyncGenerator<{ dataVersion: number; records: BulkRecord[] }, void, undefined> {
  let buffered: Buffer = Buffer.alloc(0);
  let dataVersion: number | undefined;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (dataVersion === undefined) {
      if (buffered.length < HEADER_BYTES) continue;
      dataVersion = parseHeader(file, buffered);
      buffered = buffered.subarray(HEADER_BYTES);
    }
    while (buffered.length >= BLOCK_HEAD_BYTES) {
      const count = buffered.readUInt32BE(0);
      const bytes = buffered.readUInt32BE(4);
      if (bytes > BLOCK_BYTES_MAX || count === 0) throw corrupt(file, 'a block head is damaged');
      if (buffered.length < BLOCK_HEAD_BYTES + bytes) break;
      const payload = buffered.subarray(BLOCK_HEAD_BYTES, BLOCK_HEAD_BYTES + bytes);
      if (crc32(payload) !== buffered.readUInt32BE(8)) throw corrupt(file, 'a block does not match its CRC-32');
      const records = parsePayload(file, payload, count);
      buffered = buffered.subarray(BLOCK_HEAD_BYTES + bytes);
      yield { dataVersion, records };
    }
  }
  if (dataVersion === undefined) throw corrupt(file, 'the header is missing');
  if (buffered.length > 0) throw corrupt(file, 'the file ends inside a block');
}
