// Pegasus's CRC-64 and the partition-hash rules built on it (spec pegasus-arch §1.10).
//
// The CRC is the reflected form with polynomial 0x9a6c9329ac4bc9b5, register preset to all ones
// and complemented at the end; `init` chains a previous result, so
// crc64(b, crc64(a)) === crc64(a ++ b). Every client routes by this value and the server
// re-checks it, so a single wrong bit sends requests to the wrong partition.
//
// The register is kept as two unsigned 32-bit halves: bigint arithmetic per byte is several
// times slower, and this runs for every key of every request.

const POLY_HIGH = 0x9a6c9329;
const POLY_LOW = 0xac4bc9b5;

const TABLE_HIGH = new Uint32Array(256);
const TABLE_LOW = new Uint32Array(256);

for (let index = 0; index < 256; index++) {
  let low = index;
  let high = 0;
  for (let bit = 0; bit < 8; bit++) {
    const carry = low & 1;
    low = ((low >>> 1) | ((high & 1) << 31)) >>> 0;
    high = high >>> 1;
    if (carry) {
      low = (low ^ POLY_LOW) >>> 0;
      high = (high ^ POLY_HIGH) >>> 0;
    }
  }
  TABLE_HIGH[index] = high;
  TABLE_LOW[index] = low;
}

/** CRC-64 of `bytes` as an unsigned 64-bit value; `init` continues from an earlier result. */
export function crc64(bytes: Uint8Array, init = 0n): bigint {
  let high = ~Number((init >> 32n) & 0xffffffffn);
  let low = ~Number(init & 0xffffffffn);
  for (let offset = 0; offset < bytes.length; offset++) {
    const index = (low ^ bytes[offset]!) & 0xff;
    low = ((low >>> 8) | (high << 24)) ^ TABLE_LOW[index]!;
    high = (high >>> 8) ^ TABLE_HIGH[index]!;
  }
  return (BigInt(~high >>> 0) << 32n) | BigInt(~low >>> 0);
}

/** Bytes of the two-byte big-endian hash-key length that starts every composite key. */
const HASH_KEY_LENGTH_BYTES = 2;

/** The hash of a hash key: what multi-key RPCs (multi_get/put/remove, sortkey_count) route by. */
export function hashKeyHash(hashKey: Uint8Array): bigint {
  return crc64(hashKey);
}

/**
 * The hash of one record, from its hash key and sort key: crc64 of the hash key, or — when the
 * hash key is empty — crc64 of the sort key, so that records without a hash key still spread.
 */
export function recordHash(hashKey: Uint8Array, sortKey: Uint8Array): bigint {
  return hashKey.length > 0 ? crc64(hashKey) : crc64(sortKey);
}

/**
 * The hash of a composite key `[u16 BE hash-key length][hash key][sort key]` (the `key` blob of
 * get/put/remove/ttl/incr), by the same rule as recordHash. Throws RangeError for a key that is
 * shorter than its own length prefix says: the caller validates peer input before routing.
 */
export function compositeKeyHash(compositeKey: Uint8Array): bigint {
  if (compositeKey.length < HASH_KEY_LENGTH_BYTES) {
    throw new RangeError(`composite key of ${compositeKey.length} bytes has no hash-key length`);
  }
  const hashKeyLength = (compositeKey[0]! << 8) | compositeKey[1]!;
  const end = HASH_KEY_LENGTH_BYTES + hashKeyLength;
  if (hashKeyLength === 0) return crc64(compositeKey.subarray(HASH_KEY_LENGTH_BYTES));
  if (compositeKey.length < end) {
    throw new RangeError(`composite key of ${compositeKey.length} bytes is shorter than its hash key (${hashKeyLength} bytes)`);
  }
  return crc64(compositeKey.subarray(HASH_KEY_LENGTH_BYTES, end));
}

/**
 * The partition a hash routes to, as clients compute it: the hash taken as unsigned 64 bits,
 * modulo the partition count. (The server checks `hash & (count - 1)`, which agrees only for
 * power-of-two counts — tables are created with power-of-two counts for that reason.)
 */
export function partitionIndexOf(hash: bigint, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount <= 0) {
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  }
  return Number(BigInt.asUintN(64, hash) % BigInt(partitionCount));
}
