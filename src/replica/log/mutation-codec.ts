// The byte form of a Mutation, used by the private mutation log and by replica-to-replica
// messages. Pteron's own layout, written with the thrift binary primitives (big-endian):
//
//   u8   format version (1)
//   i64  decree | i64 ballot | i64 timestampUs
//   i32  write count
//   per write:
//     u8 op code (below)
//     remove:  thrift binary (i32 length + bytes): the composite key
//     others:  the request struct in thrift binary protocol (its rrdb.thrift codec; duplicate:
//              duplicate_request, the entries as the other cluster shipped them; ingest:
//              ingestion_request, a bulk load's files)
//
// The request is kept as the client's request (not storage ops) so that every replica replays
// the same request against the same state. Op codes are on disk: never renumber them.
//
// A mutation is encoded more than once on its way (the primary logs it and sends it to every
// secondary; a secondary logs what it received), so the bytes of each Mutation object are
// remembered: mutations are immutable once formed (a changed mutation is a new object).
import { PteronError, assert } from '../../base/index.ts';
import {
  ThriftDecodeError, ThriftReader, ThriftWriter,
  checkAndMutateRequestCodec, checkAndSetRequestCodec, duplicateRequestCodec, incrRequestCodec, ingestionRequestCodec, multiPutRequestCodec, multiRemoveRequestCodec, updateRequestCodec,
} from '../../wire/index.ts';
import type { ClientWrite, Mutation, WriteOp } from '../write/mutation.ts';

const FORMAT_VERSION = 1;

const OP_CODES: Readonly<Record<WriteOp, number>> = {
  put: 1,
  remove: 2,
  multi_put: 3,
  multi_remove: 4,
  incr: 5,
  check_and_set: 6,
  check_and_mutate: 7,
  duplicate: 8,
  ingest: 9,
};

/** Fixed part: version, decree, ballot, timestamp, write count. */
const HEAD_BYTES = 1 + 8 + 8 + 8 + 4;
/** The smallest write: an op code and an empty key blob (or a struct of just STOP). */
const WRITE_BYTES_MIN = 2;

function invalid(what: string): PteronError {
  return new PteronError('ERR_INVALID_DATA', `mutation: ${what}`);
}

function writeClientWrite(writer: ThriftWriter, write: ClientWrite): void {
  writer.byte(OP_CODES[write.op]);
  switch (write.op) {
    case 'put':
      updateRequestCodec.write(writer, write.request);
      return;
    case 'remove':
      writer.binary(write.key);
      return;
    case 'multi_put':
      multiPutRequestCodec.write(writer, write.request);
      return;
    case 'multi_remove':
      multiRemoveRequestCodec.write(writer, write.request);
      return;
    case 'incr':
      incrRequestCodec.write(writer, write.request);
      return;
    case 'check_and_set':
      checkAndSetRequestCodec.write(writer, write.request);
      return;
    case 'check_and_mutate':
      checkAndMutateRequestCodec.write(writer, write.request);
      return;
    case 'duplicate':
      duplicateRequestCodec.write(writer, write.request);
      return;
    case 'ingest':
      ingestionRequestCodec.write(writer, write.request);
      return;
  }
}

function readClientWrite(reader: ThriftReader): ClientWrite {
  const opCode = reader.byte();
  switch (opCode) {
    case OP_CODES.put:
      return { op: 'put', request: updateRequestCodec.read(reader) };
    case OP_CODES.remove:
      return { op: 'remove', key: reader.binary() };
    case OP_CODES.multi_put:
      return { op: 'multi_put', request: multiPutRequestCodec.read(reader) };
    case OP_CODES.multi_remove:
      return { op: 'multi_remove', request: multiRemoveRequestCodec.read(reader) };
    case OP_CODES.incr:
      return { op: 'incr', request: incrRequestCodec.read(reader) };
    case OP_CODES.check_and_set:
      return { op: 'check_and_set', request: checkAndSetRequestCodec.read(reader) };
    case OP_CODES.check_and_mutate:
      return { op: 'check_and_mutate', request: checkAndMutateRequestCodec.read(reader) };
    case OP_CODES.duplicate:
      return { op: 'duplicate', request: duplicateRequestCodec.read(reader) };
    case OP_CODES.ingest:
      return { op: 'ingest', request: ingestionRequestCodec.read(reader) };
    default:
      throw invalid(`unknown write op code ${opCode} at offset ${reader.offset - 1}`);
  }
}

/** The bytes each mutation object was encoded to or decoded from; dropped with the object. */
const encodedBytes = new WeakMap<Mutation, Buffer>();

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/** The mutation's bytes; the same Buffer for the same object, which callers must not modify. */
export function encodeMutation(mutation: Mutation): Buffer {
  const known = encodedBytes.get(mutation);
  if (known !== undefined) return known;
  // Broken numbers would be silently wrapped by the i64 writer: they are bugs, stop here.
  assert(isCount(mutation.decree), 'mutation decree is a non-negative safe integer');
  assert(isCount(mutation.ballot), 'mutation ballot is a non-negative safe integer');
  assert(mutation.timestampUs >= 0n && mutation.timestampUs <= 0x7fffffffffffffffn, 'mutation timestamp fits an i64');
  assert(mutation.writes.length <= 0x7fffffff, 'mutation write count fits an i32');
  const writer = new ThriftWriter(256);
  writer.byte(FORMAT_VERSION);
  writer.i64(mutation.decree);
  writer.i64(mutation.ballot);
  writer.i64(mutation.timestampUs);
  writer.i32(mutation.writes.length);
  for (const write of mutation.writes) writeClientWrite(writer, write);
  const bytes = writer.finish();
  assert(bytes.length >= HEAD_BYTES + WRITE_BYTES_MIN * mutation.writes.length, 'encoded mutation has its minimum length');
  encodedBytes.set(mutation, bytes);
  return bytes;
}

/**
 * Decodes what encodeMutation wrote; bytes after the mutation are an error. Keys and values are
 * views into `bytes`, not copies, and `bytes` become the mutation's encoding (so it must not be
 * modified afterwards, like the keys and values). Bad input throws PteronError ERR_INVALID_DATA.
 */
export function decodeMutation(bytes: Buffer): Mutation {
  try {
    if (bytes.length < HEAD_BYTES) throw invalid(`${bytes.length} bytes, shorter than the ${HEAD_BYTES}-byte head`);
    const reader = new ThriftReader(bytes);
    const version = reader.byte();
    if (version !== FORMAT_VERSION) throw invalid(`unknown format version ${version}`);
    const decree = readCount(reader, 'decree');
    const ballot = readCount(reader, 'ballot');
    const timestampUs = reader.i64();
    if (timestampUs < 0n) throw invalid(`negative timestamp ${timestampUs}`);
    const count = reader.i32();
    // Every write takes at least WRITE_BYTES_MIN bytes, so a larger count is corruption, not a huge allocation.
    if (count < 0 || count * WRITE_BYTES_MIN > reader.remaining) throw invalid(`bad write count ${count} for ${reader.remaining} bytes`);
    const writes: ClientWrite[] = [];
    for (let index = 0; index < count; index++) writes.push(readClientWrite(reader));
    if (reader.remaining !== 0) throw invalid(`${reader.remaining} bytes after the last write`);
    const mutation: Mutation = { decree, ballot, timestampUs, writes };
    encodedBytes.set(mutation, bytes);
    return mutation;
  } catch (error) {
    if (error instanceof PteronError) throw error;
    // Any reader failure (truncation, a bad type, a bad length) means the input is not ours.
    if (error instanceof ThriftDecodeError || error instanceof RangeError) throw invalid((error as Error).message);
    throw error;
  }
}

function readCount(reader: ThriftReader, what: string): number {
  const value = reader.i64();
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} ${value} out of range`);
  return Number(value);
}
