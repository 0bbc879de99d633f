// The follower table, from both ends (Pegasus's meta_duplication_service.cpp and
// server_state::process_create_follower_app_status): the envs the master creates it with, what
// a follower meta answers a repeated create of it, and when the master counts it created and
// healthy. Pure decisions; the service and table DDL do the calls and writes.
import type { ErrorName } from '../../base/index.ts';
import type { PartitionConfiguration } from '../../cluster/model.ts';

export const ENV_MASTER_CLUSTER = 'duplication.master_cluster';
export const ENV_MASTER_METAS = 'duplication.master_metas';
export const ENV_MASTER_APP_NAME = 'duplication.master_app_name';
export const ENV_FOLLOWER_APP_STATUS = 'duplication.follower_app_status';
export const FOLLOWER_CREATING = 'creating';
export const FOLLOWER_CREATED = 'created';

export type FollowerAppStatus = typeof FOLLOWER_CREATING | typeof FOLLOWER_CREATED;

/** The follower table's envs: the master table's, and where it comes from. */
export function followerEnvs(
  masterEnvs: Readonly<Record<string, string>>, masterCluster: string, masterMetas: string, masterAppName: string, status: FollowerAppStatus,
): Record<string, string> {
  return {
    ...masterEnvs,
    [ENV_MASTER_CLUSTER]: masterCluster,
    [ENV_MASTER_METAS]: masterMetas,
    [ENV_MASTER_APP_NAME]: masterAppName,
    [ENV_FOLLOWER_APP_STATUS]: status,
  };
}

/** What a follower meta does with a create of a table that exists and is available. */
export type RepeatedCreate = { kind: 'answer'; err: ErrorName } | { kind: 'mark_created' };

/**
 * A create that names a master cluster, of a table that exists: the same master may repeat
 * "creating" while it waits, and move the table from creating to created once; anything else
 * is refused as Pegasus refuses it.
 */
export function repeatedFollowerCreate(existingEnvs: Readonly<Record<string, string>>, requestEnvs: Readonly<Record<string, string>>): RepeatedCreate {
  const answer = (err: ErrorName): RepeatedCreate => ({ kind: 'answer', err });
  if (existingEnvs[ENV_MASTER_CLUSTER] !== requestEnvs[ENV_MASTER_CLUSTER]) return answer('ERR_APP_EXIST');
  const requested = requestEnvs[ENV_FOLLOWER_APP_STATUS];
  if (requested === undefined) return answer('ERR_APP_EXIST');
  const current = existingEnvs[ENV_FOLLOWER_APP_STATUS];
  if (current === undefined) return answer('ERR_INVALID_STATE');
  if (current === FOLLOWER_CREATING) {
    if (requested === FOLLOWER_CREATING) return answer('ERR_OK');
    if (requested === FOLLOWER_CREATED) return { kind: 'mark_created' };
    return answer('ERR_INVALID_PARAMETERS');
  }
  if (current === FOLLOWER_CREATED) {
    if (requested === FOLLOWER_CREATING) return answer('ERR_APP_EXIST');
    if (requested === FOLLOWER_CREATED) return answer('ERR_OK');
    return answer('ERR_INVALID_PARAMETERS');
  }
  return answer('ERR_INVALID_PARAMETERS');
}

/**
 * Whether the follower table is ready for the log (Pegasus's
 * check_follower_app_if_create_completed): ERR_OK, ERR_INCONSISTENT_STATE when it has another
 * partition count than the master's, ERR_INACTIVE_STATE while a partition has no primary,
 * ERR_NOT_ENOUGH_MEMBER while one that should have secondaries has none.
 */
export function followerReadiness(partitions: readonly PartitionConfiguration[], partitionCount: number): ErrorName {
  if (partitions.length !== partitionCount) return 'ERR_INCONSISTENT_STATE';
  for (const config of partitions) {
    if (config.primary === '') return 'ERR_INACTIVE_STATE';
    if (1 + config.secondaries.length < config.maxReplicaCount && config.secondaries.length === 0) return 'ERR_NOT_ENOUGH_MEMBER';
    if (config.secondaries.some((node) => node === '')) return 'ERR_INACTIVE_STATE';
  }
  return 'ERR_OK';
}
