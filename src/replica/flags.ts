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

export const slowQueryThresholdNs = defineFlag({
  section: 'pegasus.server',
  name: 'rocksdb_slow_query_threshold_ns',
  type: 'FV_UINT64',
  default: 100_000_000,
  description: 'A get, multi_get or batch_get taking at least this many nanoseconds is logged and counted in abnormal_read_requests; the table env replica.slow_query_threshold (ms) overrides it',
  mutable: true,
  validator: (value) => value > 0,
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

// PacificA (spec pegasus-arch §3.2–§3.6).

export const prepareTimeoutMsForSecondaries = defineFlag({
  section: 'replication',
  name: 'prepare_timeout_ms_for_secondaries',
  type: 'FV_UINT32',
  default: 3000,
  description: 'A secondary that has not acknowledged a prepare or group check for this long is removed from the partition',
  mutable: true,
  validator: (value) => value >= 100,
});

export const prepareRetryMs = defineFlag({
  section: 'replication',
  name: 'prepare_retry_ms',
  type: 'FV_UINT32',
  default: 1000,
  description: 'Unacknowledged prepares and unanswered learn requests are sent again after this long',
  mutable: true,
  validator: (value) => value >= 10,
});

export const groupCheckIntervalMs = defineFlag({
  section: 'replication',
  name: 'group_check_interval_ms',
  type: 'FV_UINT32',
  // Pegasus uses 100000; a shorter interval lets idle secondaries learn the commit point sooner.
  default: 10000,
  description: 'The interval milliseconds of the primary checking its secondaries and learners',
  mutable: true,
  validator: (value) => value >= 100,
});

export const learnTimeoutMs = defineFlag({
  section: 'replication',
  name: 'learn_timeout_ms',
  type: 'FV_UINT32',
  default: 60000,
  description: 'A learner and its primary give up on each other after this long without hearing from the other',
  mutable: true,
  validator: (value) => value >= 1000,
});

export const learnCacheDecreesMax = defineFlag({
  section: 'replication',
  name: 'max_mutation_count_in_learn_cache',
  type: 'FV_UINT32',
  default: 20000,
  description: 'Committed mutations a replica keeps in memory, so that a learner close behind needs no checkpoint',
  validator: (value) => value >= 1,
});

export const configChangeRetryMs = defineFlag({
  section: 'replication',
  name: 'config_change_retry_ms',
  type: 'FV_UINT32',
  default: 1000,
  description: 'A configuration change the meta has not answered is asked for again after this long',
  mutable: true,
  validator: (value) => value >= 100,
});

export const plogForceFlush = defineFlag({
  section: 'replication',
  name: 'plog_force_flush',
  type: 'FV_BOOL',
  // Pegasus defaults to false (the OS cache holds the log); a replica acknowledges a prepare
  // only once the mutation is durable, so Pteron fsyncs every group commit by default.
  default: true,
  description: 'Whether the private mutation log is fsynced before a mutation is acknowledged',
});

export const logSharedEnabled = defineFlag({
  section: 'replication',
  name: 'log_shared_enabled',
  type: 'FV_BOOL',
  // Pegasus once had a shared log too; it made one fsync serve every replica of a server.
  default: true,
  description: 'Whether a replica server makes its replicas\' mutation logs durable through one shared log (one fsync for all of them) instead of fsyncing each; only with plog_force_flush',
});

export const logSharedFileSizeMb = defineFlag({
  section: 'replication',
  name: 'log_shared_file_size_mb',
  type: 'FV_UINT32',
  default: 32,
  description: 'The size at which the shared log starts its next file; full files are deleted once every replica synced its own log',
  validator: (value) => value >= 1,
});

export const durableIntervalMs = defineFlag({
  section: 'replication',
  name: 'durable_decree_interval_ms',
  type: 'FV_UINT32',
  default: 10000,
  description: 'How often a replica syncs its store, after which the mutation log up to that decree is removed',
  mutable: true,
  validator: (value) => value >= 100,
});

export const learnCacheBytesMax = defineFlag({
  section: 'replication',
  name: 'max_mutation_bytes_in_learn_cache',
  type: 'FV_UINT64',
  default: 64 * 1024 * 1024,
  description: 'The most bytes (keys and values) of committed mutations a replica keeps in memory for learners',
  validator: (value) => value >= 1024,
});

export const updateRdbStatIntervalS = defineFlag({
  section: 'pegasus.server',
  name: 'update_rdb_stat_interval',
  type: 'FV_INT32',
  default: 60,
  description: 'The interval seconds to update RocksDB statistics, in seconds.',
  validator: (value) => value >= 1,
});
