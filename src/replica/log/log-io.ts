// What the private mutation logs and the shared log have in common: their record frames, and
// writing and syncing their files.
//
// A frame is a checksummed, length-prefixed record:
//
//   u32 magic | u32 payload bytes | u32 CRC-32 of the payload | payload
//
// big-endian. Scanning stops at the first frame that is short, has another magic, an impossible
// length or a bad CRC: at the end of a file that is a torn write, anywhere else corruption.
import { writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { PteronError, assert } from '../../base/index.ts';
import { delayFsync, failIfDiskFull } from '../../base/fault-injection.ts';

export const FRAME_HEAD_BYTES = 12;

/** One frame around `payloadBytes` bytes that `fill` writes into the payload it is given. */
export function encodeFrame(magic: number, payloadBytes: number, fill: (payload: Buffer) => void): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEAD_BYTES + payloadBytes);
  const payload = frame.subarray(FRAME_HEAD_BYTES);
  fill(payload);
  frame.writeUInt32BE(magic, 0);
  frame.writeUInt32BE(payloadBytes, 4);
  frame.writeUInt32BE(crc32(payload) >>> 0, 8);
  return frame;
}

export interface ScannedFrames {
  /** Payloads of the whole frames, in order (views into the scanned bytes). */
  payloads: Buffer[];
  /** Bytes up to the end of the last whole frame. */
  validBytes: number;
  /** Why scanning stopped before the end of the bytes. */
  problem?: { offset: number; what: string };
}

/** Reads whole frames from the start of `bytes`; payloads must hold `payloadBytesMin..Max` bytes; pure. */
export function scanFrames(bytes: Buffer, magic: number, payloadBytesMin: number, payloadBytesMax: number): ScannedFrames {
  const payloads: Buffer[] = [];
  let offset = 0;
  const stop = (what: string): ScannedFrames => ({ payloads, validBytes: offset, problem: { offset, what } });
  while (offset < bytes.length) {
    const left = bytes.length - offset;
    if (left < FRAME_HEAD_BYTES) return stop(`short record head (${left} bytes)`);
    const found = bytes.readUInt32BE(offset);
    if (found !== magic) return stop(`bad magic 0x${found.toString(16)}`);
    const payloadBytes = bytes.readUInt32BE(offset + 4);
    if (payloadBytes < payloadBytesMin || payloadBytes > payloadBytesMax) return stop(`bad payload length ${payloadBytes}`);
    if (payloadBytes > left - FRAME_HEAD_BYTES) return stop(`short record (${payloadBytes} payload bytes, ${left - FRAME_HEAD_BYTES} left)`);
    const payload = bytes.subarray(offset + FRAME_HEAD_BYTES, offset + FRAME_HEAD_BYTES + payloadBytes);
    assert(payload.length === payloadBytes, 'record payload read back at its header length');
    if ((crc32(payload) >>> 0) !== bytes.readUInt32BE(offset + 8)) return stop('bad CRC');
    payloads.push(payload);
    offset += FRAME_HEAD_BYTES + payloadBytes;
  }
  return { payloads, validBytes: offset };
}

/**
 * Writes the whole buffer at `position`. Synchronous on purpose: a write into the page cache
 * takes microseconds, far less than handing it to the thread pool and back; the fsync that
 * follows is what waits on the disk, and that one stays asynchronous.
 */
export function writeFully(fd: number, bytes: Buffer, position: number): void {
  failIfDiskFull('log write');
  let done = 0;
  while (done < bytes.length) {
    const bytesWritten = writeSync(fd, bytes, done, bytes.length - done, position + done);
    // A write that makes no progress would loop forever; report it as the failure it is.
    if (bytesWritten <= 0) throw new PteronError('ERR_FILE_OPERATION_FAILED', 'log write made no progress');
    done += bytesWritten;
  }
  assert(done === bytes.length, 'the whole buffer was written');
}

/** fsyncs a log file's data (after the torture harness's injected delay, when it asks for one). */
export async function datasyncLog(handle: { datasync(): Promise<void> }): Promise<void> {
  await delayFsync();
  await handle.datasync();
}

/** Makes file creations and deletions in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await openFile(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
