// Server addresses. Pegasus has two wire forms (spec pegasus-arch §1.6):
//  - `host_port`: host name string + u16 port + a type byte (0 invalid, 1 IPv4);
//  - `rpc_address`: one i64 `(ipv4 << 32) | (port << 16) | type`, IPv4 only; 0 is "invalid".
// Both are represented here as a HostPort; the invalid address is the empty host with port 0.
import { PteronError } from './errors.ts';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export const INVALID_HOST_PORT: HostPort = Object.freeze({ host: '', port: 0 });

/** The type byte/bits Pegasus stores next to an address. */
export enum HostType {
  INVALID = 0,
  IPV4 = 1,
  /** A group address; Pegasus never serializes it (its (de)serializers assert). */
  GROUP = 2,
}

const PORT_MAX = 0xffff;
/** Longest DNS name; anything longer is not a host. */
const HOST_CHARS_MAX = 253;
const HOST_PATTERN = /^[A-Za-z0-9_.-]+$/;
const IPV4_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function hostPort(host: string, port: number): HostPort {
  return { host, port };
}

export function isInvalidHostPort(address: HostPort): boolean {
  return address.host === '' && address.port === 0;
}

export function hostPortEquals(a: HostPort, b: HostPort): boolean {
  return a.host === b.host && a.port === b.port;
}

/** `host:port`, as Pegasus prints addresses; the invalid address prints as an empty string. */
export function formatHostPort(address: HostPort): string {
  return isInvalidHostPort(address) ? '' : `${address.host}:${address.port}`;
}

/** Parses `host:port` (IPv4 or a host name; port 1–65535). Anything else is ERR_INVALID_PARAMETERS. */
export function parseHostPort(text: string): HostPort {
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  const host = colon > 0 ? trimmed.slice(0, colon) : '';
  const portText = colon > 0 ? trimmed.slice(colon + 1) : '';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (host.length === 0 || host.length > HOST_CHARS_MAX || !HOST_PATTERN.test(host) || !(port >= 1 && port <= PORT_MAX)) {
    throw new PteronError('ERR_INVALID_PARAMETERS', `"${text}" is not a host:port address`);
  }
  return { host, port };
}

/** Parses a comma-separated list of `host:port` (e.g. a meta server list); empty items are skipped. */
export function parseHostPortList(text: string): HostPort[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
    .map(parseHostPort);
}

/** The IPv4 address as an unsigned 32-bit number, or undefined if `host` is not a dotted quad. */
export function ipv4ToU32(host: string): number | undefined {
  const match = IPV4_PATTERN.exec(host);
  if (!match) return undefined;
  let value = 0;
  for (let part = 1; part <= 4; part++) {
    const octet = Number(match[part]);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function u32ToIpv4(value: number): string {
  return `${(value >>> 24) & 0xff}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/**
 * The i64 an IPv4 address is sent as in an `rpc_address` field. The invalid address is 0; any
 * other host must already be an IPv4 dotted quad (resolve names first) — else ERR_INVALID_PARAMETERS.
 */
export function rpcAddressToI64(address: HostPort): bigint {
  if (isInvalidHostPort(address)) return 0n;
  const ip = ipv4ToU32(address.host);
  if (ip === undefined || !Number.isInteger(address.port) || address.port < 0 || address.port > PORT_MAX) {
    throw new PteronError('ERR_INVALID_PARAMETERS', `${address.host}:${address.port} cannot be sent as an rpc_address (IPv4 only)`);
  }
  const unsigned = (BigInt(ip) << 32n) | (BigInt(address.port) << 16n) | BigInt(HostType.IPV4);
  return BigInt.asIntN(64, unsigned);
}

/**
 * Reads an `rpc_address` i64: type 0 is the invalid address whatever the other bits say, type 1
 * is IPv4; other types are ERR_INVALID_DATA (Pegasus itself refuses them).
 */
export function rpcAddressFromI64(value: bigint): HostPort {
  const bits = BigInt.asUintN(64, value);
  const type = Number(bits & 0x3n);
  if (type === HostType.INVALID) return INVALID_HOST_PORT;
  if (type !== HostType.IPV4) {
    throw new PteronError('ERR_INVALID_DATA', `rpc_address 0x${bits.toString(16)} has type ${type}; only IPv4 is supported`);
  }
  return { host: u32ToIpv4(Number(bits >> 32n)), port: Number((bits >> 16n) & 0xffffn) };
}
