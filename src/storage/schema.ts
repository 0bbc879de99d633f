// Pegasus's on-disk schema: how a (hash key, sort key) pair becomes one ordered byte key, how a
// stored value carries its expiry and timetag in front of the user's bytes, and how Pegasus's
// column families map onto key prefixes of a single LevelDB keyspace.
//
// Key   = [u16 BE hash-key length][hash key][sort key]            (the "composite key")
// Value = v0: [u32 BE expire_ts][user data]
//         v1: [u32 BE expire_ts][u64 BE timetag][user data]       (what new databases write)
//         v2: [0x82][u32 BE expire_ts][u64 BE timetag][user data] (read only)
// expire_ts counts seconds since 2016-01-01T00:00:00Z; 0 means "never expires".
import { PteronError, assert } from '../base/index.ts';
import { skewedNowMs } from '../base/fault-injection.ts';

// ---------------------------------------------------------------------------------------------
// Composite keys

/** Hash keys must be shorter than this (the length travels in a u16 and 0xFFFF is reserved). */
export const HASH_KEY_LENGTH_LIMIT = 0xffff;
const KEY_LENGTH_BYTES = 2;

export interface KeyParts {
  hashKey: Buffer;
  sortKey: Buffer;
}

function checkHashKeyLength(hashKey: Uint8Array): void {
  if (hashKey.length >= HASH_KEY_LENGTH_LIMIT) {
    throw new PteronError(
      'ERR_INVALID_PARAMETERS',
      `hash key is ${hashKey.length} bytes; it must be shorter than ${HASH_KEY_LENGTH_LIMIT}`,
    );
  }
}

/** Builds the composite key of (hashKey, sortKey). Both may be empty. */
export function encodeKey(hashKey: Uint8Array, sortKey: Uint8Array): Buffer {
  checkHashKeyLength(hashKey);
  const key = Buffer.allocUnsafe(KEY_LENGTH_BYTES + hashKey.length + sortKey.length);
  key.writeUInt16BE(hashKey.length, 0);
  key.set(hashKey, KEY_LENGTH_BYTES);
  key.set(sortKey, KEY_LENGTH_BYTES + hashKey.length);
  return key;
}

/** True when `key` is long enough for the hash-key length it declares. */
export function isValidKey(key: Uint8Array): boolean {
  if (key.length < KEY_LENGTH_BYTES) return false;
  const hashKeyBytes = (key[0]! << 8) | key[1]!;
  return hashKeyBytes < HASH_KEY_LENGTH_LIMIT && KEY_LENGTH_BYTES + hashKeyBytes <= key.length;
}

/** Splits a composite key into its parts (views into `key`, no copy). */
export function decodeKey(key: Buffer): KeyParts {
  if (!isValidKey(key)) {
    throw new PteronError('ERR_INVALID_DATA', `malformed composite key of ${key.length} bytes`);
  }
  const hashKeyEnd = KEY_LENGTH_BYTES + key.readUInt16BE(0);
  return { hashKey: key.subarray(KEY_LENGTH_BYTES, hashKeyEnd), sortKey: key.subarray(hashKeyEnd) };
}

/** The hash key of a composite key (a view, no copy). */
export function hashKeyOf(key: Buffer): Buffer {
  return decodeKey(key).hashKey;
}

/** `[len][hashKey]`: every key of this hash key starts with it, and no key of another hash key does. */
export function hashKeyPrefix(hashKey: Uint8Array): Buffer {
  return encodeKey(hashKey, EMPTY);
}

/**
 * The smallest byte string greater than every string that starts with `prefix`: the last byte
 * that is not 0xFF is incremented and everything after it dropped. Undefined when `prefix` is
 * empty or all 0xFF (no such bound exists; the range is open-ended).
 */
export function prefixSuccessor(prefix: Uint8Array): Buffer | undefined {
  let last = prefix.length - 1;
  while (last >= 0 && prefix[last] === 0xff) last -= 1;
  if (last < 0) return undefined;
  const next = Buffer.from(prefix.subarray(0, last + 1));
  next[last] = next[last]! + 1;
  return next;
}

/** The smallest byte string strictly greater than `key` (`key` followed by one zero byte). */
export function keySuccessor(key: Uint8Array): Buffer {
  const next = Buffer.alloc(key.length + 1);
  next.set(key, 0);
  return next;
}

/** Lower and upper bounds of a key range; at most one of each pair is set. */
export interface KeyBounds {
  gt?: Buffer;
  gte?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
}

/**
 * All keys of one hash key, in sort-key order. The bound is `[len][hashKey]` up to its prefix
 * successor, which always exists because the length bytes are never both 0xFF.
 */
export function hashKeyBounds(hashKey: Uint8Array): KeyBounds {
  const prefix = hashKeyPrefix(hashKey);
  const end = prefixSuccessor(prefix);
  assert(end !== undefined, 'a hash-key prefix always has a successor');
  return { gte: prefix, lt: end };
}

export interface SortKeyRange {
  /** Empty: from the first sort key (the empty sort key itself, if `startInclusive`). */
  startSortKey: Uint8Array;
  startInclusive: boolean;
  /** Empty: to the end of the hash key (then `stopInclusive` is ignored). */
  stopSortKey: Uint8Array;
  stopInclusive: boolean;
}

/**
 * The composite-key bounds of a sort-key range inside one hash key, as multi_get reads it.
 * Undefined when the range is empty (start after stop, or start == stop without both ends
 * inclusive).
 */
export function sortKeyBounds(hashKey: Uint8Array, range: SortKeyRange): KeyBounds | undefined {
  const start = encodeKey(hashKey, range.startSortKey);
  const openEnded = range.stopSortKey.length === 0;
  const stop = openEnded ? hashKeyBounds(hashKey).lt! : encodeKey(hashKey, range.stopSortKey);
  const stopInclusive = openEnded ? false : range.stopInclusive;
  const order = Buffer.compare(start, stop);
  if (order > 0 || (order === 0 && !(range.startInclusive && stopInclusive))) return undefined;
  return {
    ...(range.startInclusive ? { gte: start } : { gt: start }),
    ...(stopInclusive ? { lte: stop } : { lt: stop }),
  };
}

export interface CompositeRange {
  /** Empty: from the first key of the table (then `startInclusive` is ignored). */
  startKey: Uint8Array;
  startInclusive: boolean;
  /** Empty: to the last key of the table (then `stopInclusive` is ignored). */
  stopKey: Uint8Array;
  stopInclusive: boolean;
}

/**
 * Bounds of a scan over full composite keys (get_scanner's start_key / stop_key). A full scan
 * visits keys in composite-key byte order: shorter hash keys first, then by hash-key bytes,
 * then by sort key. Undefined when the range is empty.
 */
export function compositeBounds(range: CompositeRange): KeyBounds | undefined {
  const bounds: KeyBounds = {};
  if (range.startKey.length > 0) {
    const start = Buffer.from(range.startKey);
    if (range.startInclusive) bounds.gte = start;
    else bounds.gt = start;
  }
  if (range.stopKey.length > 0) {
    const stop = Buffer.from(range.stopKey);
    if (range.stopInclusive) bounds.lte = stop;
    else bounds.lt = stop;
    const start = bounds.gte ?? bounds.gt ?? EMPTY;
    const order = Buffer.compare(start, stop);
    const bothInclusive = bounds.gte !== undefined && range.stopInclusive;
    if (order > 0 || (order === 0 && !bothInclusive)) return undefined;
  }
  return bounds;
}

/** True when `key` lies inside `bounds`. */
export function inBounds(key: Uint8Array, bounds: KeyBounds): boolean {
  if (bounds.gte !== undefined && Buffer.compare(key, bounds.gte) < 0) return false;
  if (bounds.gt !== undefined && Buffer.compare(key, bounds.gt) <= 0) return false;
  if (bounds.lte !== undefined && Buffer.compare(key, bounds.lte) > 0) return false;
  if (bounds.lt !== undefined && Buffer.compare(key, bounds.lt) >= 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Values

/** Unix seconds of 2016-01-01T00:00:00Z, the zero of every Pegasus expire_ts. */
export const EPOCH_2016_UNIX_SECONDS = 1451606400;
/** The value schema that new databases write. */
export const DATA_VERSION_LATEST = 1;
/** expire_ts of a record that never expires. */
export const NO_EXPIRY = 0;
/**
 * Largest expire_ts we write into v0/v1 records. A v1 record whose first byte has its top bit set
 * would read as a v2+ record, so writers keep expire_ts below 2^31 (year 2084).
 */
export const EXPIRE_TS_MAX = 0x7fffffff;

const EXPIRE_TS_BYTES = 4;
const TIMETAG_BYTES = 8;
const V2_VERSION_BYTES = 1;
const VERSIONED_MARK = 0x80;

/** Bytes in front of the user data, by data version. */
export function valueHeaderBytes(dataVersion: number): number {
  switch (dataVersion) {
    case 0: return EXPIRE_TS_BYTES;
    case 1: return EXPIRE_TS_BYTES + TIMETAG_BYTES;
    case 2: return V2_VERSION_BYTES + EXPIRE_TS_BYTES + TIMETAG_BYTES;
    default: throw new PteronError('ERR_INVALID_DATA', `unsupported value schema version ${dataVersion}`);
  }
}

/** Seconds since 2016-01-01T00:00:00Z at `unixMs` (default: now), as Pegasus's epoch_now(). */
export function now2016Seconds(unixMs: number = skewedNowMs()): number {
  return Math.floor(unixMs / 1000) - EPOCH_2016_UNIX_SECONDS;
}

/** Converts a Pegasus expire_ts back to a Date (undefined for "never"). */
export function expireTsToDate(expireTs: number): Date | undefined {
  return expireTs === NO_EXPIRY ? undefined : new Date((expireTs + EPOCH_2016_UNIX_SECONDS) * 1000);
}

/** A record is expired iff it has an expiry and that second has been reached. */
export function isExpireTsPassed(expireTs: number, now: number): boolean {
  return expireTs > 0 && expireTs <= now;
}

/** The client-side rule: TTL 0 means no expiry, otherwise now + ttl. */
export function ttlToExpireTs(ttlSeconds: number, now: number): number {
  assert(Number.isInteger(ttlSeconds) && ttlSeconds >= 0, 'ttl is a non-negative integer');
  return ttlSeconds === 0 ? NO_EXPIRY : now + ttlSeconds;
}

/**
 * The ttl RPC's answer for a live record: seconds left, or -1 when it never expires.
 * Undefined when the record has already expired (the RPC then answers "not found").
 */
export function ttlRemainingSeconds(expireTs: number, now: number): number | undefined {
  if (expireTs === NO_EXPIRY) return -1;
  if (isExpireTsPassed(expireTs, now)) return undefined;
  return expireTs - now;
}

/**
 * The schema a stored value uses: v2+ values say so in their first byte (top bit set), older
 * ones follow the database-wide version from the meta keys.
 */
export function valueVersionOf(raw: Uint8Array, dbDataVersion: number): number {
  if (dbDataVersion >= 2 || (raw.length > 0 && (raw[0]! & VERSIONED_MARK) !== 0)) {
    if (raw.length === 0) throw new PteronError('ERR_INVALID_DATA', 'empty value in a v2+ database');
    return raw[0]! & ~VERSIONED_MARK;
  }
  return dbDataVersion;
}

export interface ValueParts {
  expireTs: number;
  /** Zero for v0 values, which carry no timetag. */
  timetag: bigint;
  /** The user's bytes (a view into the stored value, no copy). */
  userData: Buffer;
}

/** A live (unexpired) record as the read helpers return it. */
export interface StoredRecord {
  /** Composite key. */
  key: Buffer;
  userData: Buffer;
  expireTs: number;
  timetag: bigint;
}

function checkValueLength(raw: Uint8Array, version: number): void {
  const header = valueHeaderBytes(version);
  if (raw.length < header) {
    throw new PteronError('ERR_INVALID_DATA', `v${version} value of ${raw.length} bytes is shorter than its ${header}-byte header`);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** expire_ts of a stored value. */
export function readExpireTs(raw: Uint8Array, dbDataVersion: number): number {
  const version = valueVersionOf(raw, dbDataVersion);
  checkValueLength(raw, version);
  return asBuffer(raw).readUInt32BE(version === 2 ? V2_VERSION_BYTES : 0);
}

/** Splits a stored value into expire_ts, timetag and user data. */
export function decodeValue(raw: Uint8Array, dbDataVersion: number): ValueParts {
  const version = valueVersionOf(raw, dbDataVersion);
  checkValueLength(raw, version);
  const buffer = asBuffer(raw);
  const expireAt = version === 2 ? V2_VERSION_BYTES : 0;
  const expireTs = buffer.readUInt32BE(expireAt);
  const timetag = version === 0 ? 0n : buffer.readBigUInt64BE(expireAt + EXPIRE_TS_BYTES);
  return { expireTs, timetag, userData: buffer.subarray(valueHeaderBytes(version)) };
}

/** Builds a stored value in schema v0 or v1 (the ones Pegasus writes). */
export function encodeValue(
  dataVersion: number,
  userData: Uint8Array,
  expireTs: number,
  timetag: bigint = 0n,
): Buffer {
  assert(dataVersion === 0 || dataVersion === 1, `writers produce v0 or v1 values, not v${dataVersion}`);
  assert(Number.isInteger(expireTs) && expireTs >= 0 && expireTs <= EXPIRE_TS_MAX, `expire_ts ${expireTs} fits 31 bits`);
  assert(timetag >= 0n && timetag <= 0xffffffffffffffffn, 'timetag fits a u64');
  const header = valueHeaderBytes(dataVersion);
  const raw = Buffer.allocUnsafe(header + userData.length);
  raw.writeUInt32BE(expireTs, 0);
  if (dataVersion === 1) raw.writeBigUInt64BE(timetag, EXPIRE_TS_BYTES);
  raw.set(userData, header);
  return raw;
}

/** A copy of `raw` with its expire_ts replaced (any version). */
export function withExpireTs(raw: Uint8Array, dbDataVersion: number, expireTs: number): Buffer {
  const version = valueVersionOf(raw, dbDataVersion);
  checkValueLength(raw, version);
  assert(Number.isInteger(expireTs) && expireTs >= 0 && expireTs <= EXPIRE_TS_MAX, `expire_ts ${expireTs} fits 31 bits`);
  const copy = Buffer.from(raw);
  copy.writeUInt32BE(expireTs, version === 2 ? V2_VERSION_BYTES : 0);
  return copy;
}

/** True when a stored value has expired at `now` (seconds since 2016). */
export function isExpired(raw: Uint8Array, now: number, dbDataVersion: number = DATA_VERSION_LATEST): boolean {
  return isExpireTsPassed(readExpireTs(raw, dbDataVersion), now);
}

// Timetag = [timestamp µs: 56 bits][cluster id: 7 bits][deleted flag: 1 bit]; it orders writes
// for last-writer-wins between duplicated clusters.
/** The largest microseconds a timetag holds (56 bits). */
export const TIMESTAMP_US_MAX = (1n << 56n) - 1n;
const CLUSTER_ID_MAX = 0x7f;

export interface TimetagParts {
  timestampUs: bigint;
  clusterId: number;
  deleted: boolean;
}

export function makeTimetag(timestampUs: bigint, clusterId: number, deleted: boolean): bigint {
  assert(timestampUs >= 0n && timestampUs <= TIMESTAMP_US_MAX, 'timetag timestamp fits 56 bits');
  assert(Number.isInteger(clusterId) && clusterId >= 0 && clusterId <= CLUSTER_ID_MAX, 'cluster id fits 7 bits');
  return (timestampUs << 8n) | (BigInt(clusterId) << 1n) | (deleted ? 1n : 0n);
}

export function splitTimetag(timetag: bigint): TimetagParts {
  return {
    timestampUs: (timetag >> 8n) & TIMESTAMP_US_MAX,
    clusterId: Number((timetag >> 1n) & BigInt(CLUSTER_ID_MAX)),
    deleted: (timetag & 1n) === 1n,
  };
}

// ---------------------------------------------------------------------------------------------
// Column families as key prefixes. Pegasus keeps user data in RocksDB's default column family
// and its bookkeeping in `pegasus_meta_cf`; LevelDB has one keyspace, so each family gets a
// one-byte prefix. Meta sorts first, so a full data scan never touches meta keys.

export const META_PREFIX = 0x00;
export const DATA_PREFIX = 0x01;

const EMPTY = Buffer.alloc(0);

/** The store key of a composite data key. */
export function dataStoreKey(compositeKey: Uint8Array): Buffer {
  const key = Buffer.allocUnsafe(1 + compositeKey.length);
  key[0] = DATA_PREFIX;
  key.set(compositeKey, 1);
  return key;
}

/** The composite key inside a data store key (a view, no copy). */
export function compositeKeyOf(storeKey: Buffer): Buffer {
  assert(storeKey.length >= 1 && storeKey[0] === DATA_PREFIX, 'store key is in the data family');
  return storeKey.subarray(1);
}

/** The store key of a meta entry. */
export function metaStoreKey(name: string): Buffer {
  assert(name.length > 0, 'meta names are not empty');
  return Buffer.concat([Buffer.of(META_PREFIX), Buffer.from(name, 'utf8')]);
}

/** Bounds covering the whole data family. */
export function dataFamilyBounds(): KeyBounds {
  return { gte: Buffer.of(DATA_PREFIX), lt: Buffer.of(DATA_PREFIX + 1) };
}

/** Moves composite-key bounds into the data family (an unset side becomes the family's edge). */
export function toDataFamilyBounds(bounds: KeyBounds): KeyBounds {
  const family = dataFamilyBounds();
  const result: KeyBounds = {};
  if (bounds.gt !== undefined) result.gt = dataStoreKey(bounds.gt);
  else if (bounds.gte !== undefined) result.gte = dataStoreKey(bounds.gte);
  else result.gte = family.gte!;
  if (bounds.lt !== undefined) result.lt = dataStoreKey(bounds.lt);
  else if (bounds.lte !== undefined) result.lte = dataStoreKey(bounds.lte);
  else result.lt = family.lt!;
  return result;
}
