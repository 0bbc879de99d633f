// Settings of the data plane, with the names, sections and defaults Pegasus uses (spec
// pegasus-arch §1.13, §3.2). The scanner-context timeout is fixed at 5 minutes in Pegasus; it is
// a flag here so that tests (and operators) can shorten it.
import { defineFlag } from '../config/index.ts';

export const maxAllowedWriteSize = defineFlag({
  section: 'replication',
  name: 'max_allowed_write_size',
  type: 'FV_UINT64',
  default: 1 << 20,
  description: 'A write request whose body is larger than this many bytes is rejected with ERR_INVALID_DATA; 0 means no check',
  mutable: true,
});

export const stalenessForCommit = defineFlag({
  section: 'replication',
  name: 'staleness_for_commit',
  type: 'FV_INT32',
  default: 20,
  description: 'The most mutations of one replica that may be on their way to commit at once; later writes wait and batch',
  validator: (value) => value >= 1 && value <= 1000,
});

export const multiGetMaxIterationCount = defineFlag({
  section: 'pegasus.server',
  name: 'rocksdb_multi_get_max_iteration_count',
  type: 'FV_UINT32',
  default: 3000,
  description: 'The most records one multi_get range read visits (expired and filtered ones included)',
  mutable: true,
  validator: (value) => value >= 1,
});

export const multiGetMaxIterationSize = defineFlag({
  section: 'pegasus.server',
  name: 'rocksdb_multi_get_max_iteration_size',
  type: 'FV_UINT64',
  default: 30 << 20,
  description: 'A multi_get range read stops once the keys and values it collected reach this many bytes; 0 means no limit',
  mutable: true,
});

export const maxIterationCount = defineFlag({
  section: 'pegasus.server',
  name: 'rocksdb_max_iteration_count',
  type: 'FV_UINT32',
  default: 1000,
  description: 'The most records one scanner request visits, and the largest scanner batch',
  mutable: true,
  validator: (value) => value >= 1,
});

export const iterationThresholdTimeMs = defineFlag({
  section: 'pegasus.server',
  name: 'rocksdb_iteration_threshold_time_ms',
  type: 'FV_UINT64',
  default: 30000,
  description: 'A range read (multi_get, sortkey_count, scan) running longer than this many milliseconds stops early; 0 means no limit',
  mutable: true,
});

export const scanContextTimeoutMs = defineFlag({
  section: 'pegasus.server',
  name: 'scan_context_timeout_ms',
  type: 'FV_UINT64',
  default: 5 * 60 * 1000,
  description: 'A scanner context nobody continued for this many milliseconds is dropped (later scans on it get NotFound)',
  mutable: true,
  validator: (value) => value >= 10,
});

export const scanContextsMax = defineFlag({
  section: 'pegasus.server',
  name: 'scan_contexts_max',
  type: 'FV_UINT32',
  default: 10000,
  description: 'The most scanner contexts one replica keeps; past it the least recently used one is dropped',
  mutable: true,
  validator: (value) => value >= 1,
});

export const writeQueueMax = defineFlag({
  section: 'replication',
  name: 'max_pending_client_writes',
  type: 'FV_UINT32',
  default: 10000,
  description: 'The most client writes of one replica waiting for a mutation slot; past it writes get ERR_BUSY',
  mutable: true,
  validator: (value) => value >= 1,
});
