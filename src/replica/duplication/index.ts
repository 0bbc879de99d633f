// Duplication on the replica side (spec pegasus-arch §3.9): a primary's duplicators ship its log
// to the follower cluster; the follower's write path applies the DUPLICATE writes
// (../write/duplicated-writes.ts).
export { DuplicationManager } from './manager.ts';
export { ReplicaDuplicator, INVALID_DECREE, type DuplicateSender, type DuplicateTarget, type DuplicatorHost, type DuplicatorState } from './duplicator.ts';
export { batchMutations, committedMutationsAfter, entriesOf, type DuplicateBatch, type LoadedMutations } from './batching.ts';
export { onShipFailure, SHIP_ATTEMPTS_MAX, type ShipFailureAction } from './fail-mode.ts';
export { duplicationMetrics, type DuplicationMetrics } from './metrics.ts';
export { duplicationSyncPeriodSecond, dupMaxAllowedWriteSize } from './flags.ts';
export { applyDuplicationMap, duplicationConfirmList, type SyncedReplica } from './sync.ts';
