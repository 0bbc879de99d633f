// Wire types: how one value of a thrift type is written, read and defaulted. Struct codecs are
// built from a table of fields (id, property, wire type) by defineStruct, so every struct shares
// one field loop: known fields are read by their type, unknown ones skipped, missing ones defaulted.
//
// Pegasus's placeholder types (blob, gpid, …) say STRUCT in their field header but carry a raw
// payload. The loop only ever calls the generic skip on fields it does not know, so every
// placeholder-typed field must be declared here, or the stream desynchronises.
import { ThriftDecodeError, ThriftReader, ThriftWriter, TType } from '../thrift.ts';

export interface WireType<T> {
  /** The type written in a field header or as a list/map element type. */
  readonly ttype: TType;
  /**
   * Placeholder types only: the standard type whose payload they share (blob → STRING,
   * gpid/rpc_address → I64). A field header of that type is accepted as well, as Pegasus's own
   * server reads the payload without looking at the header type.
   */
  readonly rawType?: TType;
  /** True for the raw placeholder types (STRUCT header, non-struct payload). */
  readonly placeholder: boolean;
  /** Human-readable name, for error messages. */
  readonly label: string;
  write(writer: ThriftWriter, value: T): void;
  read(reader: ThriftReader): T;
  /** The value of a required field that is absent from the input. */
  empty(): T;
}

export function accepts(type: WireType<unknown>, ttype: TType): boolean {
  return ttype === type.ttype || (type.rawType !== undefined && ttype === type.rawType);
}

export const boolType: WireType<boolean> = {
  ttype: TType.BOOL, placeholder: false, label: 'bool',
  write: (writer, value) => void writer.bool(value),
  read: (reader) => reader.bool(),
  empty: () => false,
};

export const byteType: WireType<number> = {
  ttype: TType.BYTE, placeholder: false, label: 'byte',
  write: (writer, value) => void writer.byte(value),
  read: (reader) => reader.byte(),
  empty: () => 0,
};

export const i16Type: WireType<number> = {
  ttype: TType.I16, placeholder: false, label: 'i16',
  write: (writer, value) => void writer.i16(value),
  read: (reader) => reader.i16(),
  empty: () => 0,
};

/** i32, also every thrift enum. */
export const i32Type: WireType<number> = {
  ttype: TType.I32, placeholder: false, label: 'i32',
  write: (writer, value) => void writer.i32(value),
  read: (reader) => reader.i32(),
  empty: () => 0,
};

/** i64 as a signed bigint (decrees, counts, scanner context ids, increments). */
export const i64Type: WireType<bigint> = {
  ttype: TType.I64, placeholder: false, label: 'i64',
  write: (writer, value) => void writer.i64(value),
  read: (reader) => reader.i64(),
  empty: () => 0n,
};

export const doubleType: WireType<number> = {
  ttype: TType.DOUBLE, placeholder: false, label: 'double',
  write: (writer, value) => void writer.double(value),
  read: (reader) => reader.double(),
  empty: () => 0,
};

export const stringType: WireType<string> = {
  ttype: TType.STRING, placeholder: false, label: 'string',
  write: (writer, value) => void writer.string(value),
  read: (reader) => reader.string(),
  empty: () => '',
};

const EMPTY_BYTES = Buffer.alloc(0);

/** thrift `binary`: a real STRING-typed field holding bytes (not the `dsn.blob` placeholder). */
export const binaryType: WireType<Buffer> = {
  ttype: TType.STRING, placeholder: false, label: 'binary',
  write: (writer, value) => void writer.binary(value),
  read: (reader) => reader.binary(),
  empty: () => EMPTY_BYTES,
};

export interface ListType<T> extends WireType<T[]> {
  readonly element: WireType<T>;
}

export interface MapType<K, V> extends WireType<Map<K, V>> {
  readonly key: WireType<K>;
  readonly value: WireType<V>;
}

export function listOf<T>(element: WireType<T>): ListType<T> {
  return sequenceOf(element, TType.LIST, `list<${element.label}>`);
}

/** A thrift set: encoded as a list is, under the SET type; the values are kept in wire order. */
export function setOf<T>(element: WireType<T>): ListType<T> {
  return sequenceOf(element, TType.SET, `set<${element.label}>`);
}

function sequenceOf<T>(element: WireType<T>, ttype: TType.LIST | TType.SET, label: string): ListType<T> {
  return {
    ttype,
    placeholder: false,
    label,
    element,
    write(writer, values) {
      writer.listBegin(element.ttype, values.length);
      for (const value of values) element.write(writer, value);
    },
    read(reader) {
      const list = reader.listBegin();
      if (list.count > 0 && !accepts(element, list.elementType)) {
        throw new ThriftDecodeError(`${label}: element type ${list.elementType} does not match`);
      }
      const values = new Array<T>(list.count);
      for (let index = 0; index < list.count; index++) values[index] = element.read(reader);
      return values;
    },
    empty: () => [],
  };
}

export function mapOf<K, V>(key: WireType<K>, value: WireType<V>): MapType<K, V> {
  const label = `map<${key.label},${value.label}>`;
  return {
    ttype: TType.MAP,
    placeholder: false,
    label,
    key,
    value,
    write(writer, entries) {
      writer.mapBegin(key.ttype, value.ttype, entries.size);
      for (const [k, v] of entries) {
        key.write(writer, k);
        value.write(writer, v);
      }
    },
    read(reader) {
      const map = reader.mapBegin();
      if (map.count > 0 && (!accepts(key, map.keyType) || !accepts(value, map.valueType))) {
        throw new ThriftDecodeError(`${label}: key/value types ${map.keyType}/${map.valueType} do not match`);
      }
      const entries = new Map<K, V>();
      for (let index = 0; index < map.count; index++) {
        const k = key.read(reader);
        entries.set(k, value.read(reader));
      }
      return entries;
    },
    empty: () => new Map<K, V>(),
  };
}

// ---------------------------------------------------------------------------------------------
// Structs

type Defined<T> = Exclude<T, undefined>;
type IsOptional<T, K extends keyof T> = {} extends Pick<T, K> ? true : false;

/**
 * One field of struct T. An optional property must be declared `optional: true` (written only
 * when set, undefined when absent); a required one is always written and defaults when absent.
 */
export type FieldSpec<T> = {
  [K in keyof T & string]-?: {
    readonly id: number;
    readonly name: K;
    readonly type: WireType<Defined<T[K]>>;
  } & (IsOptional<T, K> extends true
    ? { readonly optional: true }
    : { readonly optional?: false; readonly defaultValue?: () => Defined<T[K]> });
}[keyof T & string];

export interface StructType<T> extends WireType<T> {
  /** The IDL struct name, e.g. `update_request`. */
  readonly name: string;
  readonly fields: readonly FieldSpec<T>[];
  /** A complete value: `partial` over the defaults of every required field. */
  create(partial?: Partial<T>): T;
}

interface RuntimeField {
  id: number;
  name: string;
  type: WireType<unknown>;
  optional: boolean;
  defaultValue: () => unknown;
}

/** Field ids in Pegasus's IDL are small; a dense table indexes them directly. */
const DENSE_FIELD_ID_MAX = 64;

export function defineStruct<T extends object>(name: string, fields: readonly FieldSpec<T>[]): StructType<T> {
  const runtime: RuntimeField[] = fields.map((field) => {
    const spec = field as unknown as { id: number; name: string; type: WireType<unknown>; optional?: boolean; defaultValue?: () => unknown };
    return {
      id: spec.id,
      name: spec.name,
      type: spec.type,
      optional: spec.optional === true,
      defaultValue: spec.defaultValue ?? (() => spec.type.empty()),
    };
  });
  const byId: (RuntimeField | undefined)[] = [];
  const names = new Set<string>();
  for (const field of runtime) {
    if (!Number.isInteger(field.id) || field.id < 0 || field.id >= DENSE_FIELD_ID_MAX) throw new Error(`${name}: bad field id ${field.id}`);
    if (byId[field.id] || names.has(field.name)) throw new Error(`${name}: field ${field.id} ${field.name} declared twice`);
    byId[field.id] = field;
    names.add(field.name);
  }
  const required = runtime.filter((field) => !field.optional);

  const defaults = (): Record<string, unknown> => {
    const value: Record<string, unknown> = {};
    for (const field of required) value[field.name] = field.defaultValue();
    return value;
  };

  return {
    name,
    fields,
    ttype: TType.STRUCT,
    placeholder: false,
    label: name,
    write(writer, value) {
      const record = value as Record<string, unknown>;
      for (const field of runtime) {
        let fieldValue = record[field.name];
        if (fieldValue === undefined) {
          if (field.optional) continue;
          fieldValue = field.defaultValue();
        }
        writer.fieldBegin(field.type.ttype, field.id);
        field.type.write(writer, fieldValue);
      }
      writer.fieldStop();
    },
    read(reader) {
      const value = defaults();
      for (;;) {
        const header = reader.fieldBegin();
        if (header.type === TType.STOP) break;
        const field = header.id >= 0 && header.id < DENSE_FIELD_ID_MAX ? byId[header.id] : undefined;
        if (field && accepts(field.type, header.type)) value[field.name] = field.type.read(reader);
        else reader.skip(header.type);
      }
      return value as T;
    },
    empty: () => defaults() as T,
    create: (partial) => ({ ...defaults(), ...stripUndefined(partial) }) as T,
  };
}

function stripUndefined<T extends object>(partial: Partial<T> | undefined): Partial<T> {
  if (!partial) return {};
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(partial)) if (value !== undefined) result[key] = value;
  return result as Partial<T>;
}

/** The bytes of one value (e.g. a struct on its own, without the args/result wrapper). */
export function encodeValue<T>(type: WireType<T>, value: T): Buffer {
  const writer = new ThriftWriter(128);
  type.write(writer, value);
  return writer.finish();
}

/** Reads one value from the start of `bytes`; bytes after it are ignored. */
export function decodeValue<T>(type: WireType<T>, bytes: Buffer): T {
  return type.read(new ThriftReader(bytes));
}
