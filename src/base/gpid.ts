// gpid: the global id of one partition, (app_id, partition_index).
// On the wire it is one i64 with the partition index in the high 32 bits and the app id in the
// low 32 bits, so its big-endian bytes are pidx then app_id (spec pegasus-arch §1.6).
import { PteronError } from './errors.ts';

export interface Gpid {
  readonly appId: number;
  readonly partitionIndex: number;
}

export const INVALID_GPID: Gpid = Object.freeze({ appId: 0, partitionIndex: 0 });

export function gpid(appId: number, partitionIndex: number): Gpid {
  return { appId, partitionIndex };
}

/** The signed i64 a gpid is sent as. */
export function gpidToI64(value: Gpid): bigint {
  const high = BigInt(value.partitionIndex | 0) << 32n;
  const low = BigInt((value.appId | 0) >>> 0);
  return BigInt.asIntN(64, high | low);
}

/** Reads a gpid from its i64 form (either signedness). */
export function gpidFromI64(value: bigint): Gpid {
  const bits = BigInt.asUintN(64, value);
  return {
    appId: Number(BigInt.asIntN(32, bits & 0xffffffffn)),
    partitionIndex: Number(BigInt.asIntN(32, bits >> 32n)),
  };
}

/** Pegasus's text form, `<app_id>.<partition_index>` (e.g. "2.3"). */
export function formatGpid(value: Gpid): string {
  return `${value.appId}.${value.partitionIndex}`;
}

const GPID_PATTERN = /^(-?\d{1,10})\.(-?\d{1,10})$/;
const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;

/** Parses `<app_id>.<partition_index>`; anything else is ERR_INVALID_PARAMETERS. */
export function parseGpid(text: string): Gpid {
  const match = GPID_PATTERN.exec(text.trim());
  const appId = match ? Number(match[1]) : NaN;
  const partitionIndex = match ? Number(match[2]) : NaN;
  const inRange = (n: number): boolean => n >= I32_MIN && n <= I32_MAX;
  if (!match || !inRange(appId) || !inRange(partitionIndex)) {
    throw new PteronError('ERR_INVALID_PARAMETERS', `"${text}" is not a gpid (expected <app_id>.<partition_index>)`);
  }
  return { appId, partitionIndex };
}
