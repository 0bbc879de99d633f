// The flags both sides of the cluster read: the cluster's name, where the metas are, the liveness timing that the
// meta's failure detector and the replica server's lease must agree on, and the write quorum.
import { defineFlag, defineGroupValidator } from '../config/index.ts';

export const clusterName = defineFlag({
  section: 'replication',
  name: 'cluster_name',
  type: 'FV_STRING',
  default: '',
  description: 'The name of the cluster this server belongs to (duplication knows clusters by it)',
});

export const metaServerList = defineFlag({
  section: 'meta_server',
  name: 'server_list',
  type: 'FV_STRING',
  default: '127.0.0.1:34601',
  description: 'The meta servers of the cluster, as host:port separated by commas',
});

export const fdCheckIntervalSeconds = defineFlag({
  section: 'replication',
  name: 'fd_check_interval_seconds',
  type: 'FV_UINT64',
  default: 2,
  description: 'How often (seconds) the failure detector checks leases and grace periods',
  validator: (value) => value >= 1,
});

export const fdBeaconIntervalSeconds = defineFlag({
  section: 'replication',
  name: 'fd_beacon_interval_seconds',
  type: 'FV_UINT64',
  default: 3,
  description: 'How often (seconds) a replica server sends a beacon to the meta server',
  validator: (value) => value >= 1,
});

export const fdLeaseSeconds = defineFlag({
  section: 'replication',
  name: 'fd_lease_seconds',
  type: 'FV_UINT64',
  default: 20,
  description: 'A replica server whose beacons have gone unanswered this long (seconds) considers the meta lost and stops serving',
  validator: (value) => value >= 1,
});

export const fdGraceSeconds = defineFlag({
  section: 'replication',
  name: 'fd_grace_seconds',
  type: 'FV_UINT64',
  default: 22,
  description: 'The meta server declares a replica server dead after this long (seconds) without a beacon; must exceed fd_lease_seconds',
  validator: (value) => value >= 1,
});

export const mutation2pcMinReplicaCount = defineFlag({
  section: 'replication',
  name: 'mutation_2pc_min_replica_count',
  type: 'FV_INT32',
  default: 2,
  description: 'The fewest replicas (primary included) a write must reach before it commits',
  validator: (value) => value >= 1,
});

defineGroupValidator('fd_grace_exceeds_lease', () =>
  fdGraceSeconds.value > fdLeaseSeconds.value
    ? true
    : `fd_grace_seconds (${fdGraceSeconds.value}) must be greater than fd_lease_seconds (${fdLeaseSeconds.value})`,
);

/** The liveness timing in milliseconds, as the meta's failure detector and the replica server's lease both read it. */
export interface LivenessTiming {
  checkIntervalMs: number;
  beaconIntervalMs: number;
  leaseMs: number;
  graceMs: number;
}

export function livenessTimingFromFlags(): LivenessTiming {
  return {
    checkIntervalMs: fdCheckIntervalSeconds.value * 1000,
    beaconIntervalMs: fdBeaconIntervalSeconds.value * 1000,
    leaseMs: fdLeaseSeconds.value * 1000,
    graceMs: fdGraceSeconds.value * 1000,
  };
}
