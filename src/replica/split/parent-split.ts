// The parents' side of a partition split (Pegasus's replica_split_manager), driven by the config
// sync: for each partition the meta lists, the split status it gives (none once the parent's
// child is registered) goes to the replica's split state, and a primary acts on it:
//
//   SPLITTING  it makes its child: holds new writes back (ERR_SPLITTING, which clients retry),
//              waits for the writes admitted before to be applied, copies the child's keys from
//              a checkpoint of its store into the child's replica directory on this node, and
//              registers the child with the meta (`RPC_CM_REGISTER_CHILD_REPLICA`) with itself as
//              primary. Accepted, it opens the child, judges keys by the doubled count from then
//              on (the child's keys get ERR_PARENT_PARTITION_MISUSED, so clients ask the meta
//              and go to the child) and lets writes in again. The guardian then gives the child
//              its secondaries, which learn from it as any new member does.
//   PAUSING    it tells the meta it stopped (`RPC_CM_NOTIFY_STOP_SPLIT`); the meta marks it PAUSED.
//   CANCELING  likewise; the last parent to stop halves the table's count again.
//
// Pegasus copies the checkpoint while writes go on and then replays the mutations logged since;
// holding writes back during the copy gives the same result without the catch-up, for the time
// one partition's data takes to copy on the same disk.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compositeKeyHash, log, partitionIndexOf, type Gpid } from '../../base/index.ts';
import { gpidText, type AppInfo, type PartitionConfiguration, type SplitStatusName } from '../../cluster/index.ts';
import { ReplicaStore, type Checkpoint, type EngineFactory } from '../../storage/index.ts';
import { INIT_INFO_FILE, type Replica } from '../replica.ts';

/** What a split needs from the server: the meta, and this node's other replicas. */
export interface ParentSplitServices {
  readonly self: string;
  readonly engineFactory?: EngineFactory;
  /** The meta's answer, or the transport's error (an error name either way). */
  registerChild(request: { app: AppInfo; parentConfig: PartitionConfiguration; childConfig: PartitionConfiguration }): Promise<{
    err: string;
    app?: AppInfo;
    childConfig?: PartitionConfiguration;
  }>;
  notifyStopSplit(request: { appName: string; parentGpid: Gpid; status: SplitStatusName; partitionCount: number }): Promise<string>;
  /** The replica directory of a partition on this node. */
  replicaDirOf(gpid: Gpid): string;
  /** Whether this node has a replica of `gpid` open. */
  hostsOpen(gpid: Gpid): boolean;
  /** Says a child made here holds a member's data of `dataBallot` (undefined: forget it), before its registration can reach this node. */
  expectChild(gpid: Gpid, dataBallot: number | undefined): void;
  /** Opens a registered child here as the meta configured it. */
  openChild(app: AppInfo, config: PartitionConfiguration): void;
}

/** One partition of a config sync's answer. */
export interface SyncedSplitStatus {
  replica: Replica;
  info: AppInfo;
  status: SplitStatusName | undefined;
}

/** The child's keys of a checkpoint of its parent: those whose index at the doubled count is the child's. */
export function childEntries(checkpoint: Checkpoint, childIndex: number, partitionCount: number): Checkpoint {
  return {
    decree: checkpoint.decree,
    dataVersion: checkpoint.dataVersion,
    async *entries() {
      for await (const entry of checkpoint.entries()) {
        if (partitionIndexOf(compositeKeyHash(entry[0]), partitionCount) === childIndex) yield entry;
      }
    },
  };
}

export class ParentSplits {
  /** Parents whose split or stop report is under way, per gpid text: one at a time each. */
  private readonly busy = new Set<string>();

  constructor(private readonly services: ParentSplitServices) {}

  /** A config sync's answer: every listed replica learns its status; primaries act on theirs. */
  onConfigSync(partitions: readonly SyncedSplitStatus[]): void {
    for (const { replica, info, status } of partitions) {
      replica.split.onConfigSync(info.partitionCount, status);
      const current = replica.split.statusAt(info.partitionCount);
      if (current === undefined || replica.role !== 'primary' || replica.info.partitionCount !== info.partitionCount) continue;
      const key = gpidText(replica.gpid);
      if (this.busy.has(key)) continue;
      this.busy.add(key);
      const work = current === 'SPLITTING' ? this.split(replica, info) : current === 'PAUSED' ? Promise.resolve() : this.reportStop(replica, info, current);
      void work.catch((error: unknown) => {
        log.warn({ gpid: key, err: (error as Error).message }, 'partition split step failed; the next config sync tries again');
      }).finally(() => this.busy.delete(key));
    }
  }

  private async reportStop(replica: Replica, info: AppInfo, status: SplitStatusName): Promise<void> {
    const err = await this.services.notifyStopSplit({ appName: info.appName, parentGpid: { ...replica.gpid }, status, partitionCount: info.partitionCount / 2 });
    log.info({ gpid: gpidText(replica.gpid), status, err }, 'told the meta this parent stopped splitting');
  }

  private async split(replica: Replica, info: AppInfo): Promise<void> {
    const count = info.partitionCount;
    const child: Gpid = { appId: replica.gpid.appId, partitionIndex: replica.gpid.partitionIndex + count / 2 };
    // An open child is a registered one whose news reached this node before this parent's (the
    // meta's next answer says so). A child only on disk is an earlier attempt's that the meta
    // never registered (it still says SPLITTING): it is made again.
    if (this.services.hostsOpen(child)) return;
    const key = gpidText(replica.gpid);
    const startedMs = Date.now();
    replica.split.barrier = true;
    try {
      const frozen = await replica.quiesceWrites();
      if (!frozen) return;
      const childDir = this.services.replicaDirOf(child);
      await rm(childDir, { recursive: true, force: true });
      const keys = await copyChild(frozen.store, childDir, child.partitionIndex, count, this.services.engineFactory);
      // The child's data is a member's of the parent's ballot, and the child starts at the next
      // one: a replica leads only with a member's data, and never at the ballot it holds data of.
      await writeFile(path.join(childDir, INIT_INFO_FILE), JSON.stringify({ init_ballot: frozen.config.ballot }));
      const childConfig: PartitionConfiguration = {
        gpid: child, ballot: frozen.config.ballot + 1, maxReplicaCount: frozen.config.maxReplicaCount, primary: this.services.self,
        secondaries: [], lastDrops: [], lastCommittedDecree: frozen.decree, partitionFlags: 0,
      };
      this.services.expectChild(child, frozen.config.ballot);
      const reply = await this.services.registerChild({ app: info, parentConfig: frozen.config, childConfig }).catch((error: unknown) => {
        this.services.expectChild(child, undefined);
        throw error;
      });
      if (reply.err !== 'ERR_OK' || !reply.app || !reply.childConfig) {
        log.warn({ gpid: key, err: reply.err }, 'the meta did not register the split child');
        if (reply.err === 'ERR_CHILD_REGISTERED') {
          replica.split.childRegistered(count);
        } else {
          this.services.expectChild(child, undefined);
          await rm(childDir, { recursive: true, force: true });
        }
        return;
      }
      replica.split.childRegistered(count);
      this.services.openChild(reply.app, reply.childConfig);
      log.info({ gpid: key, child: gpidText(child), decree: frozen.decree, keys, ms: Date.now() - startedMs }, 'split child registered; this parent now serves half its keys');
    } finally {
      replica.split.barrier = false;
    }
  }
}

/** Writes the child's keys of `parent` into a new store at `childDir`; returns how many. */
async function copyChild(parent: ReplicaStore, childDir: string, childIndex: number, partitionCount: number, engineFactory?: EngineFactory): Promise<number> {
  await mkdir(childDir, { recursive: true });
  const checkpoint = await parent.openCheckpoint();
  try {
    const store = await ReplicaStore.open({ replicaDir: childDir, ...(engineFactory && { engineFactory }) });
    try {
      const stats = await store.importCheckpoint(childEntries(checkpoint, childIndex, partitionCount));
      return stats.entries;
    } finally {
      await store.close();
    }
  } finally {
    await checkpoint.close();
  }
}
