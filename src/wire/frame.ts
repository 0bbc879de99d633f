// Pegasus's THFT framing (spec pegasus-arch §1.2–1.5): request headers v0 (48 bytes, Go, Node.js,
// Python clients) and v1 (16 bytes + a thrift meta struct, Java), and the response frame.
import { MessageType, ThriftDecodeError, ThriftReader, ThriftWriter, TType } from './thrift.ts';

export const THFT_MAGIC = 0x54484654; // "THFT"
export const HEADER_V0_BYTES = 48;
export const HEADER_V1_FIXED_BYTES = 16;
/** The v1 meta struct is five small fields; anything much larger is not a Pegasus client. */
export const HEADER_V1_META_BYTES_MAX = 1024;

export interface RequestHeader {
  version: 0 | 1;
  appId: number;
  partitionIndex: number;
  clientTimeoutMs: number;
  threadHash: number;
  partitionHash: bigint;
  isBackupRequest: boolean;
}

export interface RequestFrame {
  header: RequestHeader;
  /** The RPC name from the TMessage header: it alone selects the handler. */
  name: string;
  messageType: MessageType;
  seqid: number;
  /** The args struct, from just after the TMessage header to the end of the body. */
  args: Buffer;
}

/** The frame can never become valid: the connection is dropped. */
export class FrameError extends Error {}

export type FrameParse =
  | { kind: 'frame'; frame: RequestFrame; bytes: number }
  | { kind: 'need-more'; bytesKnown?: number };

function parseV1Meta(buffer: Buffer, start: number, end: number): Omit<RequestHeader, 'version'> {
  const meta = { appId: 0, partitionIndex: 0, clientTimeoutMs: 0, threadHash: 0, partitionHash: 0n, isBackupRequest: false };
  const reader = new ThriftReader(buffer, start, end);
  for (;;) {
    const field = reader.fieldBegin();
    if (field.type === TType.STOP) break;
    if (field.id === 1 && field.type === TType.I32) meta.appId = reader.i32();
    else if (field.id === 2 && field.type === TType.I32) meta.partitionIndex = reader.i32();
    else if (field.id === 3 && field.type === TType.I32) meta.clientTimeoutMs = reader.i32();
    else if (field.id === 4 && field.type === TType.I64) meta.partitionHash = BigInt.asUintN(64, reader.i64());
    else if (field.id === 5 && field.type === TType.BOOL) meta.isBackupRequest = reader.bool();
    else reader.skip(field.type);
  }
  meta.threadHash = (meta.appId * 7919 + meta.partitionIndex) | 0;
  return meta;
}

/**
 * Parses one request frame from the start of `buffer`. Returns need-more until the whole frame
 * is there; throws FrameError for input that can never become a valid frame.
 */
export function parseRequestFrame(buffer: Buffer, bodyBytesMax: number): FrameParse {
  if (buffer.length < HEADER_V1_FIXED_BYTES) return { kind: 'need-more' };
  if (buffer.readUInt32BE(0) !== THFT_MAGIC) throw new FrameError('bad magic: not a THFT frame');
  const version = buffer.readUInt32BE(4);
  let header: RequestHeader;
  let bodyStart: number;
  let bodyLength: number;
  if (version === 0) {
    const headerLength = buffer.readUInt32BE(8);
    if (headerLength !== HEADER_V0_BYTES) throw new FrameError(`bad header length ${headerLength}, expected ${HEADER_V0_BYTES}`);
    // body_length sits at bytes 16..19, past the 16 bytes checked above.
    if (buffer.length < 20) return { kind: 'need-more' };
    bodyLength = buffer.readUInt32BE(16);
    if (bodyLength > bodyBytesMax) throw new FrameError(`body length ${bodyLength} exceeds the limit of ${bodyBytesMax} bytes`);
    if (buffer.length < HEADER_V0_BYTES) return { kind: 'need-more', bytesKnown: HEADER_V0_BYTES + bodyLength };
    header = {
      version: 0,
      appId: buffer.readInt32BE(24),
      partitionIndex: buffer.readInt32BE(28),
      clientTimeoutMs: buffer.readInt32BE(32),
      threadHash: buffer.readInt32BE(36),
      partitionHash: buffer.readBigUInt64BE(40),
      isBackupRequest: false,
    };
    bodyStart = HEADER_V0_BYTES;
  } else if (version === 1) {
    const metaLength = buffer.readUInt32BE(8);
    bodyLength = buffer.readUInt32BE(12);
    if (metaLength > HEADER_V1_META_BYTES_MAX) throw new FrameError(`meta length ${metaLength} exceeds ${HEADER_V1_META_BYTES_MAX} bytes`);
    if (bodyLength > bodyBytesMax) throw new FrameError(`body length ${bodyLength} exceeds the limit of ${bodyBytesMax} bytes`);
    bodyStart = HEADER_V1_FIXED_BYTES + metaLength;
    if (buffer.length < bodyStart) return { kind: 'need-more', bytesKnown: bodyStart + bodyLength };
    try {
      header = { version: 1, ...parseV1Meta(buffer, HEADER_V1_FIXED_BYTES, bodyStart) };
    } catch (error) {
      throw new FrameError(`bad v1 request meta: ${(error as Error).message}`);
    }
  } else {
    throw new FrameError(`unknown header version ${version}`);
  }
  const frameBytes = bodyStart + bodyLength;
  if (buffer.length < frameBytes) return { kind: 'need-more', bytesKnown: frameBytes };

  const reader = new ThriftReader(buffer, bodyStart, frameBytes);
  let message;
  try {
    message = reader.messageBegin();
  } catch (error) {
    throw new FrameError(`bad thrift message header: ${(error as Error).message}`);
  }
  if (message.type !== MessageType.CALL && message.type !== MessageType.ONEWAY) {
    throw new FrameError(`message type ${message.type} is not a request`);
  }
  return {
    kind: 'frame',
    bytes: frameBytes,
    frame: {
      header,
      name: message.name,
      messageType: message.type,
      seqid: message.seqid,
      // Copied so that the connection's receive buffer can be reused.
      args: Buffer.from(buffer.subarray(reader.offset, frameBytes)),
    },
  };
}

/**
 * The response frame: i32 total length (counting itself), the error name, a strict REPLY
 * message header named `<request>_ACK` with the request's seqid, and the result body only on ERR_OK.
 */
export function encodeResponseFrame(errorName: string, requestName: string, seqid: number, result?: Buffer): Buffer {
  const writer = new ThriftWriter(64 + (result?.length ?? 0));
  writer.i32(0).string(errorName).messageBegin(`${requestName}_ACK`, MessageType.REPLY, seqid);
  if (errorName === 'ERR_OK' && result) writer.raw(result);
  const frame = writer.finish();
  frame.writeInt32BE(frame.length, 0);
  return frame;
}

/** Encodes a v0 request frame, as the Go and Node.js clients do. */
export function encodeRequestFrameV0(
  name: string,
  seqid: number,
  args: Buffer,
  target: { appId?: number; partitionIndex?: number; clientTimeoutMs?: number; partitionHash?: bigint; oneway?: boolean } = {},
): Buffer {
  const body = new ThriftWriter(64 + args.length)
    .messageBegin(name, target.oneway ? MessageType.ONEWAY : MessageType.CALL, seqid)
    .raw(args)
    .finish();
  const appId = target.appId ?? 0;
  const partitionIndex = target.partitionIndex ?? 0;
  const header = Buffer.alloc(HEADER_V0_BYTES);
  header.writeUInt32BE(THFT_MAGIC, 0);
  header.writeUInt32BE(0, 4);
  header.writeUInt32BE(HEADER_V0_BYTES, 8);
  header.writeUInt32BE(0, 12);
  header.writeUInt32BE(body.length, 16);
  header.writeUInt32BE(0, 20);
  header.writeInt32BE(appId, 24);
  header.writeInt32BE(partitionIndex, 28);
  header.writeInt32BE(target.clientTimeoutMs ?? 0, 32);
  header.writeInt32BE((appId * 7919 + partitionIndex) | 0, 36);
  header.writeBigUInt64BE(target.partitionHash ?? 0n, 40);
  return Buffer.concat([header, body]);
}

export interface ResponseFrame {
  error: string;
  name: string;
  seqid: number;
  /** The result struct (empty unless error is ERR_OK). */
  result: Buffer;
}

/** Parses a response frame (client side): need-more until complete. */
export function parseResponseFrame(buffer: Buffer, frameBytesMax: number): { frame: ResponseFrame; bytes: number } | undefined {
  if (buffer.length < 4) return undefined;
  const total = buffer.readInt32BE(0);
  if (total < 4 || total > frameBytesMax) throw new FrameError(`bad response frame length ${total}`);
  if (buffer.length < total) return undefined;
  try {
    const reader = new ThriftReader(buffer, 4, total);
    const error = reader.string();
    const message = reader.messageBegin();
    return { bytes: total, frame: { error, name: message.name, seqid: message.seqid, result: Buffer.from(buffer.subarray(reader.offset, total)) } };
  } catch (error) {
    if (error instanceof ThriftDecodeError) throw new FrameError(`bad response frame: ${error.message}`);
    throw error;
  }
}
