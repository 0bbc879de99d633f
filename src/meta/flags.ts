// The meta server's flags (section, name, default and description as Pegasus has them), and
// the guardian's and the balancer's options read from them on every run.
import { mutation2pcMinReplicaCount } from '../cluster/index.ts';
import { parseFunctionLevel } from '../cluster/model.ts';
import { defineFlag } from '../config/index.ts';
import type { BalancerOptions } from './balancer.ts';
import type { GuardianOptions } from './guardian.ts';

export const clusterRoot = defineFlag({
  section: 'meta_server',
  name: 'cluster_root',
  type: 'FV_STRING',
  default: '/',
  description: 'The root path of this cluster in the meta state store',
});

export const metaFunctionLevelOnStart = defineFlag({
  section: 'meta_server',
  name: 'meta_function_level_on_start',
  type: 'FV_STRING',
  default: 'steady',
  description: 'The meta function level at start-up: stopped, blind, freezed, steady or lively',
  validator: (value) => parseFunctionLevel(value) !== undefined,
});

export const minLiveNodeCountForUnfreeze = defineFlag({
  section: 'meta_server',
  name: 'min_live_node_count_for_unfreeze',
  type: 'FV_UINT64',
  default: 3,
  description: 'With fewer alive replica servers than this, the meta works at level freezed',
  mutable: true,
});

export const nodeLivePercentageThresholdForUpdate = defineFlag({
  section: 'meta_server',
  name: 'node_live_percentage_threshold_for_update',
  type: 'FV_UINT64',
  default: 65,
  description: 'With a smaller percentage of the known replica servers alive, the meta works at level freezed',
  mutable: true,
  validator: (value) => value <= 100,
});

export const holdSecondsForDroppedApp = defineFlag({
  section: 'meta_server',
  name: 'hold_seconds_for_dropped_app',
  type: 'FV_UINT64',
  default: 604800,
  description: 'How long (seconds) a dropped table can be recalled before its data is deleted',
  mutable: true,
});

export const replicaAssignDelayMsForDropouts = defineFlag({
  section: 'meta_server',
  name: 'replica_assign_delay_ms_for_dropouts',
  type: 'FV_UINT64',
  default: 600000,
  description: 'How long (ms) to wait for a dropped replica server to come back before copying its replicas elsewhere',
  mutable: true,
});

export const addSecondaryEnableFlowControl = defineFlag({
  section: 'meta_server',
  name: 'add_secondary_enable_flow_control',
  type: 'FV_BOOL',
  default: false,
  description: 'Limit how many new secondaries one replica server receives per guardian round',
  mutable: true,
});

export const addSecondaryMaxCountForOneNode = defineFlag({
  section: 'meta_server',
  name: 'add_secondary_max_count_for_one_node',
  type: 'FV_UINT64',
  default: 10,
  description: 'With add_secondary_enable_flow_control, the most new secondaries one replica server receives per round',
  mutable: true,
  validator: (value) => value >= 1,
});

export const maxAllowedReplicaCount = defineFlag({
  section: 'meta_server',
  name: 'max_allowed_replica_count',
  type: 'FV_INT32',
  default: 5,
  description: 'The largest replica count a table may have',
  mutable: true,
  validator: (value) => value >= 1,
});

export const minAllowedReplicaCount = defineFlag({
  section: 'meta_server',
  name: 'min_allowed_replica_count',
  type: 'FV_INT32',
  default: 1,
  description: 'The smallest replica count a table may have',
  mutable: true,
  validator: (value) => value >= 1,
});

export const maxAllowedPartitionCount = defineFlag({
  section: 'meta_server',
  name: 'max_allowed_partition_count',
  type: 'FV_INT32',
  default: 65536,
  description: 'The largest partition count a table may have (a power of two)',
  mutable: true,
  validator: (value) => value >= 1,
});

export const lbIntervalMs = defineFlag({
  section: 'replication',
  name: 'lb_interval_ms',
  type: 'FV_UINT64',
  default: 10000,
  description: 'How often (ms) the meta server checks every partition and cures the unhealthy ones',
  validator: (value) => value >= 10,
});

export const balancerInTurn = defineFlag({
  section: 'meta_server',
  name: 'balancer_in_turn',
  type: 'FV_BOOL',
  default: false,
  description: 'Balance the tables one at a time: a round stops at the first table that needs balance operations',
  mutable: true,
});

export const onlyPrimaryBalancer = defineFlag({
  section: 'meta_server',
  name: 'only_primary_balancer',
  type: 'FV_BOOL',
  default: false,
  description: 'Only balance the primaries, never the secondaries',
  mutable: true,
});

export const onlyMovePrimary = defineFlag({
  section: 'meta_server',
  name: 'only_move_primary',
  type: 'FV_BOOL',
  default: false,
  description: 'Balance the primaries only by moving them to existing secondaries, never by copying data',
  mutable: true,
});

export function balancerOptionsFromFlags(): BalancerOptions {
  return { balancerInTurn: balancerInTurn.value, onlyPrimaryBalancer: onlyPrimaryBalancer.value, onlyMovePrimary: onlyMovePrimary.value };
}

export function guardianOptionsFromFlags(): GuardianOptions {
  return {
    mutation2pcMinReplicaCount: mutation2pcMinReplicaCount.value,
    replicaAssignDelayMsForDropouts: replicaAssignDelayMsForDropouts.value,
    addSecondaryEnableFlowControl: addSecondaryEnableFlowControl.value,
    addSecondaryMaxCountForOneNode: addSecondaryMaxCountForOneNode.value,
  };
}
