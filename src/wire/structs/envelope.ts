// The structs around every RPC payload (spec pegasus-arch §1.4, §1.5): a request body carries
// the generated `<service>_<method>_args` struct, whose one field has id 1; a reply body carries
// `<method>_result`, whose one field has id 0 and the payload's real thrift type (STRUCT for
// structs and placeholders, STRING for the remote-command reply).
import { ThriftDecodeError, ThriftReader, ThriftWriter, TType } from '../thrift.ts';
import { accepts, type WireType } from './types.ts';

export const ARGS_FIELD_ID = 1;
export const RESULT_FIELD_ID = 0;

function encodeWrapped<T>(type: WireType<T>, fieldId: number, value: T): Buffer {
  const writer = new ThriftWriter(128);
  writer.fieldBegin(type.ttype, fieldId);
  type.write(writer, value);
  writer.fieldStop();
  return writer.finish();
}

/**
 * Reads fields until STOP and returns the one with `fieldId`, or undefined when it is absent.
 * Other fields are skipped (standard types only, as everywhere). Bytes after STOP are ignored.
 */
function decodeWrapped<T>(type: WireType<T>, fieldId: number, bytes: Buffer): T | undefined {
  const reader = new ThriftReader(bytes);
  let value: T | undefined;
  for (;;) {
    const header = reader.fieldBegin();
    if (header.type === TType.STOP) return value;
    if (header.id === fieldId && accepts(type, header.type)) value = type.read(reader);
    else reader.skip(header.type);
  }
}

/** The args struct `{1: value}` of a request. */
export function encodeArgs<T>(type: WireType<T>, value: T): Buffer {
  return encodeWrapped(type, ARGS_FIELD_ID, value);
}

/**
 * The argument of a request. A missing argument decodes as the type's empty value (an empty
 * blob, a struct of defaults), as the reference server tolerates it.
 */
export function decodeArgs<T>(type: WireType<T>, args: Buffer): T {
  return decodeWrapped(type, ARGS_FIELD_ID, args) ?? type.empty();
}

/** The result struct `{0: value}` of an ERR_OK reply. */
export function encodeResult<T>(type: WireType<T>, value: T): Buffer {
  return encodeWrapped(type, RESULT_FIELD_ID, value);
}

/** The payload of an ERR_OK reply; a reply without field 0 is a ThriftDecodeError. */
export function decodeResult<T>(type: WireType<T>, result: Buffer): T {
  const value = decodeWrapped(type, RESULT_FIELD_ID, result);
  if (value === undefined) throw new ThriftDecodeError(`result struct has no field 0 of type ${type.label}`);
  return value;
}
