// A hand-written thrift TBinaryProtocol codec (big-endian, strict message headers).
// Pegasus's "placeholder" types (blob, gpid, rpc_address, host_port, error_code) are written by
// the struct codecs with the raw helpers below, under a STRUCT field header.

export enum TType {
  STOP = 0,
  BOOL = 2,
  BYTE = 3,
  DOUBLE = 4,
  I16 = 6,
  I32 = 8,
  I64 = 10,
  STRING = 11,
  STRUCT = 12,
  MAP = 13,
  SET = 14,
  LIST = 15,
}

export enum MessageType {
  CALL = 1,
  REPLY = 2,
  EXCEPTION = 3,
  ONEWAY = 4,
}

const VERSION_1 = 0x80010000;
const VERSION_MASK = 0xffff0000;

/** Input that is not a valid thrift encoding: the peer's fault, answered by dropping the frame or connection. */
export class ThriftDecodeError extends Error {}

/** Nesting bound for skipping unknown values: deeper input is rejected, not recursed into. */
const SKIP_DEPTH_MAX = 64;

export class ThriftWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialBytes = 256) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    // At least 64 bytes: doubling an empty buffer would never grow it.
    let size = Math.max(64, this.buffer.length * 2);
    while (size < this.length + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  byte(value: number): this {
    this.reserve(1);
    this.buffer.writeInt8(value, this.length);
    this.length += 1;
    return this;
  }
  bool(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }
  i16(value: number): this {
    this.reserve(2);
    this.buffer.writeInt16BE(value, this.length);
    this.length += 2;
    return this;
  }
  i32(value: number): this {
    this.reserve(4);
    this.buffer.writeInt32BE(value | 0, this.length);
    this.length += 4;
    return this;
  }
  u32(value: number): this {
    this.reserve(4);
    this.buffer.writeUInt32BE(value >>> 0, this.length);
    this.length += 4;
    return this;
  }
  i64(value: bigint | number): this {
    this.reserve(8);
    this.buffer.writeBigInt64BE(BigInt.asIntN(64, BigInt(value)), this.length);
    this.length += 8;
    return this;
  }
  double(value: number): this {
    this.reserve(8);
    this.buffer.writeDoubleBE(value, this.length);
    this.length += 8;
    return this;
  }
  /** thrift binary/string: i32 length + bytes. */
  binary(value: Buffer | Uint8Array): this {
    this.i32(value.length);
    this.raw(value);
    return this;
  }
  string(value: string): this {
    return this.binary(Buffer.from(value, 'utf8'));
  }
  raw(bytes: Buffer | Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }
  fieldBegin(type: TType, id: number): this {
    return this.byte(type).i16(id);
  }
  fieldStop(): this {
    return this.byte(TType.STOP);
  }
  listBegin(elementType: TType, count: number): this {
    return this.byte(elementType).i32(count);
  }
  mapBegin(keyType: TType, valueType: TType, count: number): this {
    return this.byte(keyType).byte(valueType).i32(count);
  }
  messageBegin(name: string, type: MessageType, seqid: number): this {
    return this.u32(VERSION_1 | type).string(name).i32(seqid);
  }
  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
  get size(): number {
    return this.length;
  }
}

export interface MessageHeader {
  name: string;
  type: MessageType;
  seqid: number;
}

export class ThriftReader {
  offset: number;

  constructor(readonly buffer: Buffer, offset = 0, private readonly end = buffer.length) {
    this.offset = offset;
  }

  private need(bytes: number): void {
    if (bytes < 0 || this.offset + bytes > this.end) {
      throw new ThriftDecodeError(`truncated thrift data: need ${bytes} bytes at offset ${this.offset}, have ${this.end - this.offset}`);
    }
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  byte(): number {
    this.need(1);
    return this.buffer.readInt8(this.offset++);
  }
  bool(): boolean {
    return this.byte() !== 0;
  }
  i16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  i32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  i64(): bigint {
    this.need(8);
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  double(): number {
    this.need(8);
    const value = this.buffer.readDoubleBE(this.offset);
    this.offset += 8;
    return value;
  }
  /** A copy-free view of a thrift binary value. */
  binary(): Buffer {
    const length = this.i32();
    if (length < 0) throw new ThriftDecodeError(`negative binary length ${length}`);
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  string(): string {
    return this.binary().toString('utf8');
  }
  /** Accepts the strict header (version word) and the old non-strict one (name first). */
  messageBegin(): MessageHeader {
    const first = this.i32();
    if (first < 0) {
      if ((first & VERSION_MASK) >>> 0 !== VERSION_1) throw new ThriftDecodeError(`bad thrift message version 0x${(first >>> 0).toString(16)}`);
      const type = first & 0xff;
      const name = this.string();
      return { name, type, seqid: this.i32() };
    }
    this.need(first);
    const name = this.buffer.toString('utf8', this.offset, this.offset + first);
    this.offset += first;
    const type = this.byte();
    return { name, type, seqid: this.i32() };
  }
  fieldBegin(): { type: TType; id: number } {
    const type = this.byte() as TType;
    if (type === TType.STOP) return { type, id: 0 };
    return { type, id: this.i16() };
  }
  listBegin(): { elementType: TType; count: number } {
    const elementType = this.byte() as TType;
    const count = this.i32();
    if (count < 0 || count > this.remaining) throw new ThriftDecodeError(`bad list size ${count}`);
    return { elementType, count };
  }
  mapBegin(): { keyType: TType; valueType: TType; count: number } {
    const keyType = this.byte() as TType;
    const valueType = this.byte() as TType;
    const count = this.i32();
    if (count < 0 || count > this.remaining) throw new ThriftDecodeError(`bad map size ${count}`);
    return { keyType, valueType, count };
  }
  /** Skips a value of a standard thrift type (never use it on a placeholder-typed field). */
  skip(type: TType, depth = 0): void {
    if (depth > SKIP_DEPTH_MAX) throw new ThriftDecodeError('thrift value nested too deeply');
    switch (type) {
      case TType.BOOL:
      case TType.BYTE:
        this.need(1);
        this.offset += 1;
        return;
      case TType.I16:
        this.need(2);
        this.offset += 2;
        return;
      case TType.I32:
        this.need(4);
        this.offset += 4;
        return;
      case TType.I64:
      case TType.DOUBLE:
        this.need(8);
        this.offset += 8;
        return;
      case TType.STRING:
        this.binary();
        return;
      case TType.STRUCT:
        for (;;) {
          const field = this.fieldBegin();
          if (field.type === TType.STOP) return;
          this.skip(field.type, depth + 1);
        }
      case TType.MAP: {
        const map = this.mapBegin();
        for (let index = 0; index < map.count; index++) {
          this.skip(map.keyType, depth + 1);
          this.skip(map.valueType, depth + 1);
        }
        return;
      }
      case TType.SET:
      case TType.LIST: {
        const list = this.listBegin();
        for (let index = 0; index < list.count; index++) this.skip(list.elementType, depth + 1);
        return;
      }
      default:
        throw new ThriftDecodeError(`unknown thrift type ${type}`);
    }
  }
}
