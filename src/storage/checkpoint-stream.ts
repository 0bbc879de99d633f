// A byte format for logical checkpoints, so one can be written to a file
// (`data/checkpoint.<decree>`) or streamed to a learner, and read back with its integrity
// checked.
//
//   header   "PTRNCKPT" | u32 format version (1) | u32 data version | u64 decree     (24 bytes)
//   entry    u32 key bytes | u32 value bytes | key | value                          (repeated)
//   trailer  u32 0xFFFFFFFF | u64 entry count | u32 CRC-32 of every byte before it
//
// All integers are big-endian. A key is never empty (composite keys have >= 2 bytes), and its
// length is never 0xFFFFFFFF, so the trailer mark cannot be mistaken for an entry.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { crc32 } from 'node:zlib';
import { PteronError, assert } from '../base/index.ts';
import type { Entry } from './engine.ts';
import type { Checkpoint } from './checkpoint.ts';

const MAGIC = Buffer.from('PTRNCKPT', 'latin1');
const FORMAT_VERSION = 1;
const HEADER_BYTES = MAGIC.length + 4 + 4 + 8;
const TRAILER_MARK = 0xffffffff;
const ENTRY_HEAD_BYTES = 8;
/** Keys are a 2-byte length, a hash key < 64 KiB and a sort key; anything longer is corruption. */
const KEY_BYTES_MAX = 16 * 1024 * 1024;
const VALUE_BYTES_MAX = 256 * 1024 * 1024;
/** Encoded output is handed out in chunks of about this size. */
const CHUNK_BYTES = 256 * 1024;

function corrupt(what: string): PteronError {
  return new PteronError('ERR_INVALID_DATA', `checkpoint stream: ${what}`);
}

/** Encodes a checkpoint as a sequence of byte chunks. */
export async function* encodeCheckpoint(checkpoint: Checkpoint): AsyncGenerator<Buffer, void, undefined> {
  assert(Number.isSafeInteger(checkpoint.decree) && checkpoint.decree >= 0, 'checkpoint decree is a non-negative integer');
  let crc = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const push = (bytes: Buffer): void => {
    crc = crc32(bytes, crc);
    pending.push(bytes);
    pendingBytes += bytes.length;
  };
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(FORMAT_VERSION, 8);
  header.writeUInt32BE(checkpoint.dataVersion, 12);
  header.writeBigUInt64BE(BigInt(checkpoint.decree), 16);
  push(header);
  let count = 0;
  for await (const [key, value] of checkpoint.entries()) {
    assert(key.length > 0 && key.length <= KEY_BYTES_MAX, 'checkpoint key length is in range');
    assert(value.length <= VALUE_BYTES_MAX, 'checkpoint value length is in range');
    const head = Buffer.allocUnsafe(ENTRY_HEAD_BYTES);
    head.writeUInt32BE(key.length, 0);
    head.writeUInt32BE(value.length, 4);
    push(head);
    push(key);
    push(value);
    count += 1;
    if (pendingBytes >= CHUNK_BYTES) {
      yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  const trailer = Buffer.allocUnsafe(12);
  trailer.writeUInt32BE(TRAILER_MARK, 0);
  trailer.writeBigUInt64BE(BigInt(count), 4);
  push(trailer);
  const crcBytes = Buffer.allocUnsafe(4);
  crcBytes.writeUInt32BE(crc >>> 0, 0);
  pending.push(crcBytes);
  yield Buffer.concat(pending);
}

async function* toAsync(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  yield* chunks;
}

/** Reads exact byte counts from a chunk stream, keeping a running CRC of what it handed out. */
class ChunkReader {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  crc = 0;
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Exactly `count` bytes, or undefined at a clean end of stream before any of them. */
  async read(count: number, checksum = true): Promise<Buffer | undefined> {
    while (this.bufferedBytes < count) {
      const next = await this.source.next();
      if (next.done === true) {
        if (this.bufferedBytes === 0) return undefined;
        throw corrupt(`truncated: wanted ${count} bytes, ${this.bufferedBytes} left`);
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.buffered.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    const joined = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
    const bytes = joined.subarray(0, count);
    const rest = joined.subarray(count);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.bufferedBytes = rest.length;
    if (checksum) this.crc = crc32(bytes, this.crc);
    return bytes;
  }

  async readExactly(count: number, what: string, checksum = true): Promise<Buffer> {
    const bytes = await this.read(count, checksum);
    if (bytes === undefined) throw corrupt(`truncated before ${what}`);
    return bytes;
  }

  async atEnd(): Promise<boolean> {
    if (this.bufferedBytes > 0) return false;
    const next = await this.source.next();
    if (next.done === true) return true;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    return chunk.length === 0 ? this.atEnd() : false;
  }
}

/**
 * Decodes a checkpoint stream. The header is read now; entries are read (and the trailer's
 * count and CRC checked) as `entries()` is iterated, which can happen once. A damaged stream
 * makes the iteration throw, so an import of it fails instead of completing.
 */
export interface DecodedCheckpoint extends Checkpoint {
  /** Releases the source without reading the rest (not needed after a full iteration). */
  close(): Promise<void>;
}

export async function decodeCheckpoint(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<DecodedCheckpoint> {
  const iterator = Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : toAsync(chunks);
  const reader = new ChunkReader(iterator);
  const close = async (): Promise<void> => {
    await iterator.return?.();
  };
  let header: Buffer;
  try {
    header = await reader.readExactly(HEADER_BYTES, 'the header');
    if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('bad magic');
    const formatVersion = header.readUInt32BE(8);
    if (formatVersion !== FORMAT_VERSION) throw corrupt(`unknown format version ${formatVersion}`);
    if (header.readBigUInt64BE(16) > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('decree out of range');
  } catch (error) {
    await close();
    throw error;
  }
  let iterated = false;
  return {
    decree: Number(header.readBigUInt64BE(16)),
    dataVersion: header.readUInt32BE(12),
    close,
    async *entries(): AsyncGenerator<Entry, void, undefined> {
      assert(!iterated, 'checkpoint entries are iterated once');
      iterated = true;
      try {
        let count = 0;
        for (;;) {
          const head = await reader.readExactly(4, `entry ${count}`);
          const keyBytes = head.readUInt32BE(0);
          if (keyBytes === TRAILER_MARK) break;
          if (keyBytes === 0 || keyBytes > KEY_BYTES_MAX) throw corrupt(`entry ${count} has a key of ${keyBytes} bytes`);
          const valueBytes = (await reader.readExactly(4, `entry ${count}`)).readUInt32BE(0);
          if (valueBytes > VALUE_BYTES_MAX) throw corrupt(`entry ${count} has a value of ${valueBytes} bytes`);
          const key = Buffer.from(await reader.readExactly(keyBytes, `key ${count}`));
          const value = Buffer.from(await reader.readExactly(valueBytes, `value ${count}`));
          count += 1;
          yield [key, value];
        }
        const trailerCount = (await reader.readExactly(8, 'the trailer')).readBigUInt64BE(0);
        const expectedCrc = reader.crc >>> 0;
        const storedCrc = (await reader.readExactly(4, 'the checksum', false)).readUInt32BE(0);
        if (trailerCount !== BigInt(count)) throw corrupt(`trailer counts ${trailerCount} entries, stream had ${count}`);
        if (storedCrc !== expectedCrc) throw corrupt('checksum mismatch');
        if (!(await reader.atEnd())) throw corrupt('bytes after the trailer');
      } finally {
        await close();
      }
    },
  };
}

/** Writes a checkpoint to `path` (through a temporary file, renamed when complete). */
export async function writeCheckpointFile(path: string, checkpoint: Checkpoint): Promise<{ bytes: number }> {
  const temporary = `${path}.tmp`;
  const out = createWriteStream(temporary, { flush: true });
  let bytes = 0;
  try {
    for await (const chunk of encodeCheckpoint(checkpoint)) {
      bytes += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  } catch (error) {
    out.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
  await rename(temporary, path);
  return { bytes };
}

/** Opens a checkpoint file written by `writeCheckpointFile`. */
export function readCheckpointFile(path: string): Promise<DecodedCheckpoint> {
  return decodeCheckpoint(createReadStream(path, { highWaterMark: CHUNK_BYTES }));
}
