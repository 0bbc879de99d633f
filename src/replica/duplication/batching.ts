// What a primary ships of its log (pure): the committed mutations after the shipped decree, as
// DUPLICATE entries (each write's task code and raw message, the mutation's timestamp and this
// cluster's id), cut into batches. A batch ends after the mutation that takes it to
// `duplicate_log_batch_bytes` of raw messages (or `dup_max_allowed_write_size`), so that every
// batch shipped moves the progress to a whole mutation's decree. Writes that are not shipped,
// as Pegasus's duplicator skips them: atomic writes logged before the table was duplicated (they
// are not idempotent) and writes another cluster duplicated here (no cycles between clusters).
import type { LogRecord } from '../log/mutation-log.ts';
import { isDuplicatedWrite, rawMessageOf } from '../write/duplicated-writes.ts';
import type { Mutation } from '../write/mutation.ts';
import type { DuplicateEntry } from '../../wire/index.ts';

export interface DuplicateBatch {
  entries: DuplicateEntry[];
  /** The decree of the batch's last mutation: the progress once the batch is shipped. */
  lastDecree: number;
  /** Raw message bytes of the entries. */
  bytes: number;
  mutations: number;
}

export interface LoadedMutations {
  /** Committed mutations after the decree asked for, in decree order, without gaps between them. */
  mutations: Mutation[];
  /** Decrees after the one asked for that the log no longer holds (collected, or replaced by a learned checkpoint). */
  lost: number;
}

/**
 * The committed mutations of `records` (a log's records in append order) after decree `after`,
 * up to `lastCommitted`: a decree logged twice is the later record's (a newer ballot's).
 */
export function committedMutationsAfter(records: readonly LogRecord[], after: number, lastCommitted: number): LoadedMutations {
  const byDecree = new Map<number, Mutation>();
  for (const { mutation } of records) {
    if (mutation.decree > after && mutation.decree <= lastCommitted) byDecree.set(mutation.decree, mutation);
  }
  const decrees = [...byDecree.keys()].sort((a, b) => a - b);
  if (decrees.length === 0) return { mutations: [], lost: 0 };
  // Only the run that ends at the newest decree is shipped: one missing before it is gone for good.
  let start = decrees.length - 1;
  while (start > 0 && decrees[start - 1] === decrees[start]! - 1) start -= 1;
  const usable = decrees.slice(start);
  return { mutations: usable.map((decree) => byDecree.get(decree)!), lost: usable[0]! - after - 1 };
}

/** The entries one mutation ships. */
export function entriesOf(mutation: Mutation, clusterId: number): DuplicateEntry[] {
  return mutation.writes.filter(isDuplicatedWrite).map((write) => ({
    ...rawMessageOf(write),
    timestamp: mutation.timestampUs,
    clusterId,
    // Re-shipped entries (after a primary change) and concurrent writes on both clusters of an
    // active-active pair then settle on the newer write.
    verifyTimetag: true,
  }));
}

/** Cuts mutations (in decree order) into batches of about `batchBytes`; a batch may hold no entry (only skipped writes). */
export function batchMutations(mutations: readonly Mutation[], clusterId: number, batchBytes: number, maxBatchBytes: number): DuplicateBatch[] {
  const batches: DuplicateBatch[] = [];
  let current: DuplicateBatch | undefined;
  for (const mutation of mutations) {
    current ??= { entries: [], lastDecree: mutation.decree, bytes: 0, mutations: 0 };
    for (const entry of entriesOf(mutation, clusterId)) {
      current.entries.push(entry);
      current.bytes += entry.rawMessage!.length;
    }
    current.lastDecree = mutation.decree;
    current.mutations += 1;
    if (current.bytes >= batchBytes || (maxBatchBytes > 0 && current.bytes >= maxBatchBytes)) {
      batches.push(current);
      current = undefined;
    }
  }
  if (current !== undefined) batches.push(current);
  return batches;
}
