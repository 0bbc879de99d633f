// The flags of the meta's bulk load service.
import { defineFlag } from '../../config/index.ts';

export const bulkLoadRequestIntervalMs = defineFlag({
  section: 'meta_server',
  name: 'bulk_load_request_interval_ms',
  type: 'FV_UINT64',
  default: 10000,
  description: 'How often (ms) the meta asks every member of a bulk-loading partition how far it is (Pegasus: 10 s, 2 s while ingesting)',
  validator: (value) => value >= 10,
});
