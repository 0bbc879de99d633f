// The replica server's duplication flags (Pegasus's names and defaults); the flags both roles read
// are in cluster/duplication-config.ts.
import { defineFlag } from '../../config/index.ts';

export const duplicationSyncPeriodSecond = defineFlag({
  section: 'replication',
  name: 'duplication_sync_period_second',
  type: 'FV_UINT64',
  default: 10,
  description: 'The period seconds of duplication to sync data from local cluster to remote cluster',
  validator: (value) => value >= 1,
});

export const dupMaxAllowedWriteSize = defineFlag({
  section: 'replication',
  name: 'dup_max_allowed_write_size',
  type: 'FV_UINT64',
  default: 1 << 20,
  mutable: true,
  description: 'The maximum piece of request can be add to the duplication batch, 0 means no check',
});
