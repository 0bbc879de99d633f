// What a replica knows of its table's partition split, and what follows from it for requests and
// for the keys it keeps. Pure.
//
// When the meta doubles a table's count from N to 2N, a parent p < N keeps serving its child's
// keys (p + N) until it has registered the child; only then do they belong elsewhere. So a
// parent counts its keys by N while the meta says it is splitting and by 2N once its child is
// registered (Pegasus's partition_version). A parent that has not heard either since it opened
// does not know: it refuses the child's keys with ERR_SPLITTING (clients retry) and drops none.
import { partitionIndexOf, type ErrorName } from '../../base/index.ts';
import type { SplitStatusName } from '../../cluster/index.ts';

/** The parts of a table's app_info that decide whether a partition is the parent of a split. */
export interface SplitTable {
  partitionCount: number;
  /** The count before the table's first split; -1 (or 0) for a table never split. */
  initPartitionCount: number;
}

/** Whether `partitionIndex` is a parent of the table's latest split, i.e. has a child at index + count / 2. */
export function isSplitParent(partitionIndex: number, table: SplitTable): boolean {
  const count = table.partitionCount;
  return table.initPartitionCount > 0 && count > table.initPartitionCount && partitionIndex < count / 2;
}

export class ReplicaSplitState {
  /** The table count at which this parent's child is registered (the meta said so, or answered its registration). */
  private registeredAtCount = 0;
  /** The table count at which the meta last said this parent is splitting, and the status it gave. */
  private splitting: { count: number; status: SplitStatusName } | undefined;
  /** Set while the parent's primary copies its data to the child: writes are refused with ERR_SPLITTING. */
  barrier = false;

  /** A config sync's news: the table's count, and the split status the meta gave this partition (none once its child is registered). */
  onConfigSync(partitionCount: number, status: SplitStatusName | undefined): void {
    if (status === undefined) this.registeredAtCount = Math.max(this.registeredAtCount, partitionCount);
    else this.splitting = { count: partitionCount, status };
  }

  /** The meta accepted this parent's child at this table count. */
  childRegistered(partitionCount: number): void {
    this.registeredAtCount = Math.max(this.registeredAtCount, partitionCount);
  }

  /** The split status the meta gave at this count, if it still stands (the child is not registered). */
  statusAt(partitionCount: number): SplitStatusName | undefined {
    if (this.registeredAtCount >= partitionCount || this.splitting?.count !== partitionCount) return undefined;
    return this.splitting.status;
  }

  /**
   * The count this partition's keys are judged by: the table's, or half of it for a parent whose
   * child is not registered. Undefined for a parent that does not know yet.
   */
  servingCount(partitionIndex: number, table: SplitTable): number | undefined {
    const count = table.partitionCount;
    if (!isSplitParent(partitionIndex, table) || this.registeredAtCount >= count) return count;
    return this.splitting?.count === count ? count / 2 : undefined;
  }

  /** The count by which keys are kept (compaction, learning, scans): a parent that does not know keeps its child's keys. */
  keyCount(partitionIndex: number, table: SplitTable): number {
    return this.servingCount(partitionIndex, table) ?? table.partitionCount / 2;
  }
}

/**
 * The error a request whose header carries `partitionHash` (non-zero) gets from this partition,
 * or undefined when the partition serves it: ERR_PARENT_PARTITION_MISUSED for a key of another
 * partition (the client asks the meta again), ERR_SPLITTING for a child's key at a parent that
 * does not know whether it still serves it.
 */
export function partitionHashRefusal(partitionHash: bigint, partitionIndex: number, table: SplitTable, servingCount: number | undefined): ErrorName | undefined {
  if (partitionHash === 0n || table.partitionCount <= 0) return undefined;
  if (servingCount !== undefined) return partitionIndexOf(partitionHash, servingCount) === partitionIndex ? undefined : 'ERR_PARENT_PARTITION_MISUSED';
  if (partitionIndexOf(partitionHash, table.partitionCount / 2) !== partitionIndex) return 'ERR_PARENT_PARTITION_MISUSED';
  return partitionIndexOf(partitionHash, table.partitionCount) === partitionIndex ? undefined : 'ERR_SPLITTING';
}

/**
 * Whether a key of hash `hash` that is not partition `partitionIndex`'s at `partitionCount` is
 * one it held before a split (its index at some earlier, halved count): stale data a compaction
 * has yet to drop, not a key that could never have been there.
 */
export function heldBeforeSplit(hash: bigint, partitionIndex: number, partitionCount: number): boolean {
  for (let count = partitionCount / 2; Number.isInteger(count) && count > partitionIndex; count /= 2) {
    if (partitionIndexOf(hash, count) === partitionIndex) return true;
  }
  return false;
}
