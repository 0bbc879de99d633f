// The duplications of one replica (Pegasus's replica_duplicator_manager): the meta's sync answer
// creates, updates and removes a duplicator per dupid while the replica is primary; a replica
// that is not primary runs none, but keeps the lowest confirmed decree the meta reported so that
// its log keeps what a new primary would ship. Both bound the log's garbage collection.
import { DuplicationStatus, type DuplicationConfirmEntry, type DuplicationEntry } from '../../wire/index.ts';
import { INVALID_DECREE, ReplicaDuplicator, type DuplicatorHost, type DuplicatorState } from './duplicator.ts';

/** The meta's confirmed decree of `partitionIndex` in a duplication, or undefined when it has no progress for it. */
function confirmedOf(entry: DuplicationEntry, partitionIndex: number): number | undefined {
  const confirmed = entry.progress?.get(partitionIndex);
  return confirmed === undefined ? undefined : Number(confirmed);
}

/** Statuses a duplicator runs in (Pegasus's is_duplication_status_invalid excludes the others). */
function runsOnReplica(status: DuplicationStatus): boolean {
  return status === DuplicationStatus.DS_PREPARE || status === DuplicationStatus.DS_APP || status === DuplicationStatus.DS_LOG || status === DuplicationStatus.DS_PAUSE;
}

export class DuplicationManager {
  private readonly duplicators = new Map<number, ReplicaDuplicator>();
  /** Not primary: the lowest confirmed decree of the table's duplications, as the meta last said. */
  private secondaryConfirmed: number | undefined;

  constructor(private readonly host: DuplicatorHost) {}

  /** The meta's duplications of this replica's table (empty when it has none). */
  update(duplications: ReadonlyMap<number, DuplicationEntry>): void {
    const partitionIndex = this.host.gpid.partitionIndex;
    if (!this.host.isPrimary()) {
      this.removeAll();
      const confirmed = [...duplications.values()].map((entry) => confirmedOf(entry, partitionIndex) ?? INVALID_DECREE).filter((decree) => decree !== INVALID_DECREE);
      this.secondaryConfirmed = confirmed.length === 0 ? undefined : Math.min(...confirmed);
      return;
    }
    this.secondaryConfirmed = undefined;
    for (const [dupid, duplicator] of this.duplicators) {
      const entry = duplications.get(dupid);
      if (entry === undefined || !runsOnReplica(entry.status) || confirmedOf(entry, partitionIndex) === undefined) {
        duplicator.close();
        this.duplicators.delete(dupid);
      }
    }
    for (const [dupid, entry] of duplications) {
      const confirmed = confirmedOf(entry, partitionIndex);
      if (confirmed === undefined || !runsOnReplica(entry.status)) continue;
      const duplicator = this.duplicators.get(dupid);
      if (duplicator === undefined) this.duplicators.set(dupid, new ReplicaDuplicator(entry, confirmed, this.host));
      else duplicator.update(entry, confirmed);
    }
  }

  /** What the next sync reports of this replica (only a primary reports). */
  confirmEntries(): DuplicationConfirmEntry[] {
    if (!this.host.isPrimary()) return [];
    return [...this.duplicators.values()].flatMap((duplicator) => duplicator.confirmEntry() ?? []);
  }

  /** The log may be collected up to this decree (Infinity without duplications). */
  get logCollectableUpTo(): number {
    if (this.secondaryConfirmed !== undefined) return this.secondaryConfirmed;
    return Math.min(Infinity, ...[...this.duplicators.values()].map((duplicator) => duplicator.retainedAfter));
  }

  get hasDuplications(): boolean {
    return this.duplicators.size > 0;
  }

  states(): DuplicatorState[] {
    return [...this.duplicators.values()].map((duplicator) => duplicator.state());
  }

  /** For the lag gauges: over every duplication of the replica. */
  lag(): { pendingMutations: number; pendingBytes: number; lostMutations: number } {
    let pendingMutations = 0;
    let pendingBytes = 0;
    let lostMutations = 0;
    for (const duplicator of this.duplicators.values()) {
      pendingMutations += duplicator.pendingMutations;
      pendingBytes += duplicator.pendingBytes;
      lostMutations += duplicator.lostMutations;
    }
    return { pendingMutations, pendingBytes, lostMutations };
  }

  removeAll(): void {
    for (const duplicator of this.duplicators.values()) duplicator.close();
    this.duplicators.clear();
  }
}
