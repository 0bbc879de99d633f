// The meta server's metrics (spec pegasus-http §9.3–§9.4): the definitions, and the table and
// partition entities with the metrics Pegasus has on them from the start.
import { defineMetric, metricRegistry, type MetricEntity } from '../metrics/index.ts';
import { mutation2pcMinReplicaCount } from '../cluster/index.ts';
import { gpidText, replicaCountOf, type Gpid, type PartitionConfiguration } from '../cluster/model.ts';

export const aliveReplicaServersMetric = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'alive_replica_servers', unit: 'Servers', desc: 'The number of alive replica servers',
});
export const unaliveReplicaServersMetric = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'unalive_replica_servers', unit: 'Servers', desc: 'The number of unalive replica servers',
});
export const replicaServerDisconnectionsMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'replica_server_disconnections', unit: 'Disconnections',
  desc: 'The number of disconnections with replica servers',
});
const deadPartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'dead_partitions', unit: 'Partitions',
  desc: 'The number of dead partitions, which means primary = 0 && secondary = 0',
});
const unreadablePartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'unreadable_partitions', unit: 'Partitions',
  desc: 'The number of unreadable partitions, which means primary = 0 && secondary > 0',
});
const unwritablePartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'unwritable_partitions', unit: 'Partitions',
  desc: 'The number of unwritable partitions, which means primary = 1 && primary + secondary < mutation_2pc_min_replica_count',
});
const writableIllPartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'writable_ill_partitions', unit: 'Partitions',
  desc: 'The number of writable ill partitions, which means primary = 1 && primary + secondary >= mutation_2pc_min_replica_count && primary + secondary < max_replica_count',
});
const healthyPartitionsMetric = defineMetric({
  entityType: 'table', type: 'Gauge', name: 'healthy_partitions', unit: 'Partitions',
  desc: 'The number of healthy partitions, which means primary = 1 && primary + secondary >= max_replica_count',
});
export const partitionConfigurationChangesMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'partition_configuration_changes', unit: 'Changes',
  desc: 'The number of times the configuration has been changed',
});
export const unwritablePartitionChangesMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'unwritable_partition_changes', unit: 'Changes',
  desc: 'The number of times the status of partition has been changed to unwritable',
});
export const writablePartitionChangesMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'writable_partition_changes', unit: 'Changes',
  desc: 'The number of times the status of partition has been changed to writable',
});
export const greedyRecentBalanceOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Gauge', name: 'greedy_recent_balance_operations', unit: 'Operations',
  desc: 'The number of balance operations by greedy balancer that are recently needed to be executed',
});
const greedyMovePrimaryOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'greedy_move_primary_operations', unit: 'Operations',
  desc: 'The number of balance operations by greedy balancer that move primaries',
});
const greedyCopyPrimaryOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'greedy_copy_primary_operations', unit: 'Operations',
  desc: 'The number of balance operations by greedy balancer that copy primaries',
});
const greedyCopySecondaryOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'greedy_copy_secondary_operations', unit: 'Operations',
  desc: 'The number of balance operations by greedy balancer that copy secondaries',
});
export const GREEDY_OPERATION_METRICS = {
  move_pri: greedyMovePrimaryOperationsMetric,
  copy_pri: greedyCopyPrimaryOperationsMetric,
  copy_sec: greedyCopySecondaryOperationsMetric,
} as const;

export const choosePrimaryFailedOperationsMetric = defineMetric({
  entityType: 'partition', type: 'Counter', name: 'choose_primary_failed_operations', unit: 'Operations',
  desc: 'The number of operations that fail to choose the primary replica',
});

/** A partition's metric entity, with the balancer's metrics present from the start as in Pegasus. */
export function partitionEntity(gpid: Gpid): MetricEntity {
  const entity = metricRegistry.entity('partition', `partition@${gpidText(gpid)}`, {
    table_id: String(gpid.appId), partition_id: String(gpid.partitionIndex),
  });
  entity.gauge(greedyRecentBalanceOperationsMetric);
  for (const metric of Object.values(GREEDY_OPERATION_METRICS)) entity.counter(metric);
  return entity;
}

export type PartitionHealth = 'dead' | 'unreadable' | 'unwritable' | 'writable_ill' | 'healthy';

/** The table-metric classification of one partition (§9.3; not the /meta/app rule). */
export function partitionHealth(config: PartitionConfiguration, min2pc: number): PartitionHealth {
  const count = replicaCountOf(config);
  if (config.primary === '') return count === 0 ? 'dead' : 'unreadable';
  if (count < min2pc) return 'unwritable';
  return count < config.maxReplicaCount ? 'writable_ill' : 'healthy';
}


/** A table's metric entity: its partitions counted by health, sampled from `configsOf` when read. */
export function tableEntity(appId: number, configsOf: () => readonly PartitionConfiguration[]): MetricEntity {
  const entity = metricRegistry.entity('table', `table@${appId}`, { table_id: String(appId) });
  const count = (health: PartitionHealth) => () => {
    const min2pc = mutation2pcMinReplicaCount.value;
    return configsOf().filter((config) => partitionHealth(config, min2pc) === health).length;
  };
  entity.gauge(deadPartitionsMetric).sampleWith(count('dead'));
  entity.gauge(unreadablePartitionsMetric).sampleWith(count('unreadable'));
  entity.gauge(unwritablePartitionsMetric).sampleWith(count('unwritable'));
  entity.gauge(writableIllPartitionsMetric).sampleWith(count('writable_ill'));
  entity.gauge(healthyPartitionsMetric).sampleWith(count('healthy'));
  return entity;
}
