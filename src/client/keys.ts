// Keys and values as the wire wants them (spec pegasus-arch §1.10): a record's key is the
// composite `[u16 BE hash-key length][hash key][sort key]`; strings are UTF-8.
import { PegasusError } from './errors.ts';

/** Keys and values may be given as bytes or as strings (UTF-8). */
export type Bytes = Buffer | Uint8Array | string;

/** A hash key must be shorter than this many bytes (its length is a u16, and 0xFFFF is reserved). */
export const HASH_KEY_BYTES_MAX = 0xffff - 1;
const LENGTH_PREFIX_BYTES = 2;
const EMPTY = Buffer.alloc(0);

export function toBuffer(value: Bytes): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return value.length === 0 ? EMPTY : Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`expected a Buffer, Uint8Array or string, got ${typeof value}`);
}

/** A hash key as bytes; throws ERR_INVALID_PARAMETERS when it is too long (or empty, if `nonEmpty`). */
export function hashKeyBytes(value: Bytes, operation: string, nonEmpty: boolean): Buffer {
  const bytes = toBuffer(value);
  if (bytes.length > HASH_KEY_BYTES_MAX) {
    throw new PegasusError('ERR_INVALID_PARAMETERS', operation, `hash key of ${bytes.length} bytes is longer than ${HASH_KEY_BYTES_MAX}`);
  }
  if (nonEmpty && bytes.length === 0) throw new PegasusError('ERR_INVALID_PARAMETERS', operation, 'hash key must not be empty');
  return bytes;
}

export function encodeCompositeKey(hashKey: Buffer, sortKey: Buffer): Buffer {
  const key = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + hashKey.length + sortKey.length);
  key.writeUInt16BE(hashKey.length, 0);
  hashKey.copy(key, LENGTH_PREFIX_BYTES);
  sortKey.copy(key, LENGTH_PREFIX_BYTES + hashKey.length);
  return key;
}

/** Splits a composite key (scan results carry them); undefined when it is malformed. */
export function decodeCompositeKey(key: Buffer): { hashKey: Buffer; sortKey: Buffer } | undefined {
  if (key.length < LENGTH_PREFIX_BYTES) return undefined;
  const hashKeyLength = key.readUInt16BE(0);
  const end = LENGTH_PREFIX_BYTES + hashKeyLength;
  if (hashKeyLength === 0xffff || end > key.length) return undefined;
  return { hashKey: key.subarray(LENGTH_PREFIX_BYTES, end), sortKey: key.subarray(end) };
}

/**
 * The smallest key greater than every key that starts with `prefix`: the prefix with trailing
 * 0xFF bytes dropped and the last remaining byte incremented. `floor` bytes at the front are
 * never dropped; if nothing past them can be incremented, undefined (no such key).
 */
export function successorOfPrefix(prefix: Buffer, floor = 0): Buffer | undefined {
  let end = prefix.length;
  while (end > floor && prefix[end - 1] === 0xff) end--;
  if (end <= floor) return undefined;
  const next = Buffer.from(prefix.subarray(0, end));
  next[end - 1]! += 1;
  return next;
}

/** The first key after every record of `hashKey` (exclusive upper bound of a hash-key range). */
export function hashKeyRangeEnd(hashKey: Buffer): Buffer {
  // The length prefix is part of the prefix: incrementing into it still orders after every key
  // of this hash key, and there is always a byte to increment because lengths stop below 0xFFFF.
  return successorOfPrefix(encodeCompositeKey(hashKey, EMPTY))!;
}

export function compareBytes(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}
