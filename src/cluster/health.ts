// The partition-health rule of Pegasus's shell (`ls -d`, `app -d`) and of its /meta/app and
// /meta/apps: no primary → neither readable nor writable; a primary with every replica → fully
// healthy; a primary with fewer than two replicas → not writable. The "two" is hard-coded there,
// not mutation_2pc_min_replica_count (that one drives the table metrics instead).
import { isInvalidHostPort, type HostPort } from '../base/host-port.ts';
import type * as wire from '../wire/index.ts';
import type { PartitionConfiguration } from './model.ts';

/** What the rule reads of one partition, whichever form its configuration came in. */
export interface PartitionReplicas {
  readonly hasPrimary: boolean;
  /** The primary (when there is one) and the secondaries. */
  readonly replicaCount: number;
  readonly maxReplicaCount: number;
}

export interface PartitionHealthCounts {
  fullyHealthy: number;
  writeUnhealthy: number;
  readUnhealthy: number;
}

/** The primary of a wire partition (its host_port twin when the meta sent it), or undefined. */
export function primaryOf(config: wire.PartitionConfiguration): HostPort | undefined {
  for (const candidate of [config.hpPrimary, config.primary]) {
    if (candidate && !isInvalidHostPort(candidate)) return candidate;
  }
  return undefined;
}

/** The secondaries of a wire partition (their host_port twins when the meta sent them). */
export function secondariesOf(config: wire.PartitionConfiguration): readonly HostPort[] {
  const named = config.hpSecondaries;
  return named !== undefined && named.length > 0 ? named : config.secondaries;
}

export function wirePartitionReplicas(config: wire.PartitionConfiguration): PartitionReplicas {
  const hasPrimary = primaryOf(config) !== undefined;
  return { hasPrimary, replicaCount: (hasPrimary ? 1 : 0) + secondariesOf(config).length, maxReplicaCount: config.maxReplicaCount };
}

export function modelPartitionReplicas(config: PartitionConfiguration): PartitionReplicas {
  const hasPrimary = config.primary !== '';
  return { hasPrimary, replicaCount: (hasPrimary ? 1 : 0) + config.secondaries.length, maxReplicaCount: config.maxReplicaCount };
}

function isFullyHealthy(partition: PartitionReplicas): boolean {
  return partition.hasPrimary && partition.replicaCount >= partition.maxReplicaCount;
}

export function countPartitionHealth(partitions: Iterable<PartitionReplicas>): PartitionHealthCounts {
  const counts = { fullyHealthy: 0, writeUnhealthy: 0, readUnhealthy: 0 };
  for (const partition of partitions) {
    if (!partition.hasPrimary) {
      counts.writeUnhealthy++;
      counts.readUnhealthy++;
    } else if (isFullyHealthy(partition)) {
      counts.fullyHealthy++;
    } else if (partition.replicaCount < 2) {
      counts.writeUnhealthy++;
    }
  }
  return counts;
}

/** Partitions with a primary and `replicaCount` replicas in all (what `create` waits for). */
export function readyPartitionCount(configs: readonly wire.PartitionConfiguration[], replicaCount: number): number {
  return configs.filter((config) => isFullyHealthy({ ...wirePartitionReplicas(config), maxReplicaCount: replicaCount })).length;
}
