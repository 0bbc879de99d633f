// The replica server's half of RPC_CM_DUPLICATION_SYNC (Pegasus's duplication_sync_timer): the
// progress its primaries report, and the meta's answer handed to every replica it hosts, the
// duplications of its table or none.
import type { Gpid } from '../../base/index.ts';
import type { DuplicationConfirmEntry, DuplicationEntry } from '../../wire/index.ts';
import type { DuplicationManager } from './manager.ts';

export interface SyncedReplica {
  readonly gpid: Gpid;
  readonly duplication: DuplicationManager;
}

/** The confirm list of a sync request: each primary with something the meta does not know yet. */
export function duplicationConfirmList(replicas: Iterable<SyncedReplica>): Map<Gpid, DuplicationConfirmEntry[]> {
  const confirmList = new Map<Gpid, DuplicationConfirmEntry[]>();
  for (const replica of replicas) {
    const entries = replica.duplication.confirmEntries();
    if (entries.length > 0) confirmList.set({ ...replica.gpid }, entries);
  }
  return confirmList;
}

const NO_DUPLICATIONS: ReadonlyMap<number, DuplicationEntry> = new Map();

/** Hands the meta's dup_map (app id → dupid → duplication) to every replica. */
export function applyDuplicationMap(replicas: Iterable<SyncedReplica>, dupMap: ReadonlyMap<number, ReadonlyMap<number, DuplicationEntry>>): void {
  for (const replica of replicas) replica.duplication.update(dupMap.get(replica.gpid.appId) ?? NO_DUPLICATIONS);
}
