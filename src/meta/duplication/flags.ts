// The meta's duplication flags, as Pegasus names them (src/meta/duplication/duplication_info.cpp).
// `[replication] duplication_enabled` is read by both roles and lives in cluster/.
import { defineFlag } from '../../config/index.ts';

export const dupProgressMinUpdatePeriodMs = defineFlag({
  section: 'replication',
  name: 'dup_progress_min_update_period_ms',
  type: 'FV_UINT64',
  default: 5000,
  description: 'The minimum period in milliseconds that progress of duplication is updated',
});

export const dupProgressMinReportPeriodMs = defineFlag({
  section: 'replication',
  name: 'dup_progress_min_report_period_ms',
  type: 'FV_UINT64',
  default: 5 * 60 * 1000,
  description: 'The minimum period in milliseconds that progress of duplication is reported',
});
