// `RPC_CM_DDD_DIAGNOSE` (Pegasus's partition_guardian::get_ddd_partitions): the partitions the
// guardian could not give a primary because every member was lost, each with its configuration,
// the members that dropped out (when, whether alive now, what each last reported of its replica)
// and the guardian's reason. Pegasus keeps a snapshot from the moment the guardian gave up; this
// view is built from the meta's state at the time of the query.
import type { ErrorName } from '../base/index.ts';
import type { Gpid, PartitionConfiguration } from '../cluster/model.ts';
import type { MetaTables } from './tables.ts';

export interface DddNode {
  node: string;
  /** 0 when the meta does not know (it learnt of the member only from a report). */
  dropTimeMs: number;
  isAlive: boolean;
  /** The node reported its replicas (config sync) since this meta started. */
  isCollected: boolean;
  /** -1 until the node reported a replica of the partition. */
  ballot: number;
  lastCommittedDecree: number;
  lastPreparedDecree: number;
}

export interface DddPartition {
  config: PartitionConfiguration;
  /** Oldest first. */
  dropped: DddNode[];
  reason: string;
}

export interface DddDiagnoseContext {
  readonly tables: MetaTables;
  aliveNodes(): ReadonlySet<string>;
  replicasCollectedFrom(node: string): boolean;
}

/** app_id -1 asks for every table, partition_index -1 for every partition of one; an unknown table is ERR_APP_NOT_EXIST. */
export function dddDiagnose(context: DddDiagnoseContext, pid: Gpid): { err: ErrorName; partitions: DddPartition[] } {
  const { tables } = context;
  if (pid.appId !== -1 && !tables.appsById.has(pid.appId)) return { err: 'ERR_APP_NOT_EXIST', partitions: [] };
  const chosen = tables.dddDiagnose().filter(({ gpid }) =>
    pid.appId === -1 || (gpid.appId === pid.appId && (pid.partitionIndex === -1 || gpid.partitionIndex === pid.partitionIndex)));
  const alive = context.aliveNodes();
  const partitions = chosen.flatMap(({ gpid, reason }): DddPartition[] => {
    const config = tables.partitionsOf(gpid.appId)[gpid.partitionIndex];
    if (!config) return [];
    const dropped = tables.droppedHistory(gpid).map((entry) => ({
      node: entry.node,
      dropTimeMs: entry.droppedAtMs,
      isAlive: alive.has(entry.node),
      isCollected: context.replicasCollectedFrom(entry.node),
      ballot: entry.ballot,
      lastCommittedDecree: entry.lastCommittedDecree,
      lastPreparedDecree: entry.lastPreparedDecree,
    }));
    return [{ config, dropped, reason }];
  });
  // In gpid order, as Pegasus's map of them.
  partitions.sort((a, b) => a.config.gpid.appId - b.config.gpid.appId || a.config.gpid.partitionIndex - b.config.gpid.partitionIndex);
  return { err: 'ERR_OK', partitions };
}
