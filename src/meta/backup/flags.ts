// The flags of the meta's cold backup service, and its metric per policy.
import { defineFlag } from '../../config/index.ts';
import { defineMetric, metricRegistry, type MetricEntity } from '../../metrics/index.ts';

export const coldBackupDisabled = defineFlag({
  section: 'meta_server',
  name: 'cold_backup_disabled',
  type: 'FV_BOOL',
  default: true,
  description: 'whether to disable cold backup',
});

export const coldBackupCheckpointReserveMinutes = defineFlag({
  section: 'replication',
  name: 'cold_backup_checkpoint_reserve_minutes',
  type: 'FV_INT32',
  default: 10,
  description: 'reserve minutes of cold backup checkpoint',
});

export const backupIntervalSecondsMin = defineFlag({
  section: 'meta_server',
  name: 'backup_interval_seconds_min',
  type: 'FV_UINT64',
  default: 86400,
  description: 'The shortest interval (seconds) a backup policy may have; Pegasus fixes it at one day, a test cluster may shorten it',
});

export const backupCheckIntervalMs = defineFlag({
  section: 'meta_server',
  name: 'backup_check_interval_ms',
  type: 'FV_UINT64',
  default: 10000,
  description: 'How often (ms) the meta starts due policy backups and asks the primaries how far the backups under way are',
  validator: (value) => value >= 10,
});

const backupRecentDurationMetric = defineMetric({
  entityType: 'backup_policy', type: 'Gauge', name: 'backup_recent_duration_ms', unit: 'MilliSeconds', desc: 'The duration of recent backup',
});

/** A policy's metric entity (`backup_policy@<name>`) and its recent-duration gauge. */
export function backupPolicyDurationGauge(policyName: string): { set(value: number): void } {
  const entity: MetricEntity = metricRegistry.entity('backup_policy', `backup_policy@${policyName}`, { policy_name: policyName });
  return entity.gauge(backupRecentDurationMetric);
}
