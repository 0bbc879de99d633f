// A replica store's compaction pass, what Pegasus's compaction filter does to each record: it
// drops expired records (and those a predicate selects), gives TTL-less records the table's
// default TTL, applies the user-specified operations, then asks the engine to compact the data
// family.
import { assert } from '../base/index.ts';
import type { Entry, WriteOp } from './engine.ts';
import {
  EXPIRE_TS_MAX, NO_EXPIRY, compositeKeyOf, dataFamilyBounds, decodeValue, isExpireTsPassed, now2016Seconds, withExpireTs, type StoredRecord,
} from './schema.ts';
import type { StoreInternals } from './store-internals.ts';

/** Compaction rewrites candidates in batches of at most this many keys. */
const COMPACT_BATCH_KEYS_MAX = 512;

export interface CompactOptions {
  /** Seconds since 2016 used to decide expiry (default: now). */
  now?: number;
  /** Give records without a TTL this one (the table's `default_ttl`); 0/unset: leave them. */
  defaultTtlSeconds?: number;
  /** Also drop live records this returns true for (e.g. keys that moved away in a split). */
  drop?: (record: StoredRecord) => boolean;
  /**
   * User-specified operations on a live record whose `expireTs` already carries the default TTL:
   * 'drop' deletes it, a number is its new expire ts, undefined leaves it.
   */
  userOperations?: (record: StoredRecord, now: number) => 'drop' | number | undefined;
}

export interface CompactStats {
  scannedEntries: number;
  expiredDropped: number;
  /** Records dropped by the `drop` predicate. */
  predicateDropped: number;
  /** Records a user-specified operation deleted. */
  userDropped: number;
  /** Records whose expire ts changed (the default TTL or a user-specified operation). */
  ttlApplied: number;
  /** Candidates left alone because a write changed them after the pass read them. */
  raced: number;
}

interface CompactionCandidate {
  storeKey: Buffer;
  /** The value the pass read; the candidate is applied only if it is still the current value. */
  seen: Buffer;
  action: 'expired' | 'predicate' | 'user' | 'ttl';
  rewrite?: Buffer;
}

/**
 * The pass reads under a snapshot and rewrites in small batches queued with the store's writes,
 * re-checking each candidate against its current value, so mutations applied meanwhile are never
 * undone. These rewrites are local: they consume no decree.
 */
export async function compactStore(store: StoreInternals, options: CompactOptions = {}): Promise<CompactStats> {
  const now = options.now ?? now2016Seconds();
  const defaultTtl = options.defaultTtlSeconds ?? 0;
  assert(Number.isInteger(defaultTtl) && defaultTtl >= 0, 'default ttl is a non-negative integer');
  const stats: CompactStats = { scannedEntries: 0, expiredDropped: 0, predicateDropped: 0, userDropped: 0, ttlApplied: 0, raced: 0 };
  const snapshot = store.engine.snapshot();
  const cursor = store.engine.cursor({ ...dataFamilyBounds(), snapshot });
  try {
    for (;;) {
      const batch = await cursor.next(COMPACT_BATCH_KEYS_MAX);
      if (batch.length === 0) break;
      stats.scannedEntries += batch.length;
      const candidates = compactionCandidates(batch, store.dataVersion, now, defaultTtl, options);
      if (candidates.length > 0) await applyCompactionBatch(store, candidates, stats);
    }
  } finally {
    await cursor.close();
    await snapshot.close();
  }
  const bounds = dataFamilyBounds();
  await store.engine.compactRange(bounds.gte!, bounds.lt!);
  return stats;
}

function compactionCandidates(
  batch: readonly Entry[],
  dataVersion: number,
  now: number,
  defaultTtl: number,
  { drop, userOperations }: CompactOptions,
): CompactionCandidate[] {
  const candidates: CompactionCandidate[] = [];
  for (const [storeKey, raw] of batch) {
    const parts = decodeValue(raw, dataVersion);
    if (isExpireTsPassed(parts.expireTs, now)) {
      candidates.push({ storeKey, seen: raw, action: 'expired' });
      continue;
    }
    const record: StoredRecord = { key: compositeKeyOf(storeKey), ...parts };
    if (defaultTtl > 0 && parts.expireTs === NO_EXPIRY) record.expireTs = Math.min(now + defaultTtl, EXPIRE_TS_MAX);
    const verdict = userOperations?.(record, now);
    if (verdict === 'drop') {
      candidates.push({ storeKey, seen: raw, action: 'user' });
    } else if (drop !== undefined && drop(record)) {
      candidates.push({ storeKey, seen: raw, action: 'predicate' });
    } else {
      const expireTs = Math.min(verdict ?? record.expireTs, EXPIRE_TS_MAX);
      if (expireTs !== parts.expireTs) candidates.push({ storeKey, seen: raw, action: 'ttl', rewrite: withExpireTs(raw, dataVersion, expireTs) });
    }
  }
  return candidates;
}

function applyCompactionBatch(store: StoreInternals, candidates: readonly CompactionCandidate[], stats: CompactStats): Promise<void> {
  return store.enqueue(async (progress) => {
    const current = await store.engine.getMany(candidates.map((candidate) => candidate.storeKey));
    const batch: WriteOp[] = [];
    candidates.forEach((candidate, index) => {
      const value = current[index];
      if (value === undefined || !value.equals(candidate.seen)) {
        stats.raced += 1;
        return;
      }
      if (candidate.action === 'ttl') {
        batch.push({ type: 'put', key: candidate.storeKey, value: candidate.rewrite! });
        stats.ttlApplied += 1;
        return;
      }
      batch.push({ type: 'del', key: candidate.storeKey });
      if (candidate.action === 'expired') stats.expiredDropped += 1;
      else if (candidate.action === 'user') stats.userDropped += 1;
      else stats.predicateDropped += 1;
    });
    if (batch.length === 0) return;
    progress.mayHaveWritten = true;
    await store.engine.write(batch, { sync: store.syncWrites });
  });
}
