// TTLs travel as absolute expiry times in seconds since 2016-01-01 00:00:00 UTC, 0 meaning
// "never" (spec pegasus-arch §1.12). The client turns a TTL in seconds into that form.
import { PegasusError } from './errors.ts';

/** 2016-01-01T00:00:00Z in Unix seconds: Pegasus's epoch. */
export const PEGASUS_EPOCH_UNIX_SECONDS = 1451606400;
const I32_MAX = 0x7fffffff;

export function nowSincePegasusEpochSeconds(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000) - PEGASUS_EPOCH_UNIX_SECONDS;
}

/** The `expire_ts_seconds` of a write with this TTL: 0 for no TTL. Throws on a negative or fractional TTL. */
export function expireTsFromTtl(ttlSeconds: number, operation: string, nowMs = Date.now()): number {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0) {
    throw new PegasusError('ERR_INVALID_PARAMETERS', operation, `ttl must be a non-negative integer number of seconds, got ${ttlSeconds}`);
  }
  if (ttlSeconds === 0) return 0;
  const expireTs = nowSincePegasusEpochSeconds(nowMs) + ttlSeconds;
  if (expireTs > I32_MAX) throw new PegasusError('ERR_INVALID_PARAMETERS', operation, `ttl ${ttlSeconds} s ends after 2084`);
  return expireTs;
}
