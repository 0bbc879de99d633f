// Pegasus's six placeholder types (idl/dsn.thrift declares them as empty structs; every
// implementation serializes them by hand). In binary protocol the payload is raw — no field
// headers, no STOP — even though the enclosing field header or list element type says STRUCT:
//
//   blob        i32 length + bytes (a thrift binary)
//   error_code  thrift string: the error name, e.g. "ERR_OK"
//   task_code   thrift string: the task code name, e.g. "RPC_RRDB_RRDB_PUT"
//   gpid        i64 (partition_index << 32) | app_id
//   rpc_address i64 (ipv4 << 32) | (port << 16) | type   (0 = invalid)
//   host_port   thrift string host, i16 port, i8 type     (0 = invalid, 1 = IPv4)
import { PteronError } from '../../base/errors.ts';
import { gpidFromI64, gpidToI64, INVALID_GPID, type Gpid } from '../../base/gpid.ts';
import {
  HostType, INVALID_HOST_PORT, isInvalidHostPort, rpcAddressFromI64, rpcAddressToI64, type HostPort,
} from '../../base/host-port.ts';
import { ThriftDecodeError, type ThriftReader, type ThriftWriter, TType } from '../thrift.ts';
import type { WireType } from './types.ts';

const EMPTY_BYTES = Buffer.alloc(0);

export function writeBlob(writer: ThriftWriter, value: Uint8Array): void {
  writer.binary(value);
}
/** A view into the reader's buffer, not a copy. */
export function readBlob(reader: ThriftReader): Buffer {
  return reader.binary();
}

export function writeErrorCode(writer: ThriftWriter, name: string): void {
  writer.string(name);
}
export function readErrorCode(reader: ThriftReader): string {
  return reader.string();
}

export function writeTaskCode(writer: ThriftWriter, name: string): void {
  writer.string(name);
}
export function readTaskCode(reader: ThriftReader): string {
  return reader.string();
}

export function writeGpid(writer: ThriftWriter, value: Gpid): void {
  writer.i64(gpidToI64(value));
}
export function readGpid(reader: ThriftReader): Gpid {
  return gpidFromI64(reader.i64());
}

/** Throws PteronError ERR_INVALID_PARAMETERS for a host that is not an IPv4 dotted quad. */
export function writeRpcAddress(writer: ThriftWriter, value: HostPort): void {
  writer.i64(rpcAddressToI64(value));
}
export function readRpcAddress(reader: ThriftReader): HostPort {
  const raw = reader.i64();
  try {
    return rpcAddressFromI64(raw);
  } catch (error) {
    if (error instanceof PteronError) throw new ThriftDecodeError(error.message);
    throw error;
  }
}

export function writeHostPort(writer: ThriftWriter, value: HostPort): void {
  const invalid = isInvalidHostPort(value);
  writer.string(value.host).i16(value.port << 16 >> 16).byte(invalid ? HostType.INVALID : HostType.IPV4);
}
export function readHostPort(reader: ThriftReader): HostPort {
  const host = reader.string();
  const port = reader.i16() & 0xffff;
  const type = reader.byte();
  if (type === HostType.INVALID) return host === '' && port === 0 ? INVALID_HOST_PORT : { host, port };
  if (type !== HostType.IPV4) throw new ThriftDecodeError(`host_port ${host}:${port} has type ${type}; only IPv4 is supported`);
  return { host, port };
}

export const blobType: WireType<Buffer> = {
  ttype: TType.STRUCT, rawType: TType.STRING, placeholder: true, label: 'blob',
  write: writeBlob, read: readBlob, empty: () => EMPTY_BYTES,
};

export const errorCodeType: WireType<string> = {
  ttype: TType.STRUCT, rawType: TType.STRING, placeholder: true, label: 'error_code',
  write: writeErrorCode, read: readErrorCode,
  // rDSN's default-constructed error_code is ERR_OK (code 0).
  empty: () => 'ERR_OK',
};

export const taskCodeType: WireType<string> = {
  ttype: TType.STRUCT, rawType: TType.STRING, placeholder: true, label: 'task_code',
  write: writeTaskCode, read: readTaskCode, empty: () => 'TASK_CODE_INVALID',
};

export const gpidType: WireType<Gpid> = {
  ttype: TType.STRUCT, rawType: TType.I64, placeholder: true, label: 'gpid',
  write: writeGpid, read: readGpid, empty: () => INVALID_GPID,
};

export const rpcAddressType: WireType<HostPort> = {
  ttype: TType.STRUCT, rawType: TType.I64, placeholder: true, label: 'rpc_address',
  write: writeRpcAddress, read: readRpcAddress, empty: () => INVALID_HOST_PORT,
};

export const hostPortType: WireType<HostPort> = {
  ttype: TType.STRUCT, placeholder: true, label: 'host_port',
  write: writeHostPort, read: readHostPort, empty: () => INVALID_HOST_PORT,
};
