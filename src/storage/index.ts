export {
  entries, checkBounds, ENTRIES_BATCH_DEFAULT,
  type Entry, type WriteOp, type WriteOptions, type EngineSnapshot, type ReadOptions, type CursorOptions,
  type EngineCursor, type EngineStatus, type StorageEngine, type EngineFactory, type EngineOptions,
} from './engine.ts';
export {
  ClassicLevelEngine, classicLevelEngine, foreignStoreReason, LEVELDB_WRITE_BUFFER_DEFAULT, type ClassicLevelTuning,
} from './classic-level-engine.ts';
export { MemoryEngine, MemoryDisk, MemoryVolume, memoryEngine } from './memory-engine.ts';
export {
  HASH_KEY_LENGTH_LIMIT, encodeKey, decodeKey, isValidKey, hashKeyOf, hashKeyPrefix, prefixSuccessor,
  keySuccessor, hashKeyBounds, sortKeyBounds, compositeBounds, inBounds,
  EPOCH_2016_UNIX_SECONDS, DATA_VERSION_LATEST, NO_EXPIRY, EXPIRE_TS_MAX,
  valueHeaderBytes, now2016Seconds, expireTsToDate, isExpireTsPassed, ttlToExpireTs, ttlRemainingSeconds,
  valueVersionOf, readExpireTs, decodeValue, encodeValue, withExpireTs, isExpired, makeTimetag, splitTimetag, TIMESTAMP_US_MAX,
  META_PREFIX, DATA_PREFIX, dataStoreKey, compositeKeyOf, metaStoreKey, dataFamilyBounds,
  toDataFamilyBounds,
  type KeyParts, type KeyBounds, type StoredRecord, type SortKeyRange, type CompositeRange, type ValueParts, type TimetagParts,
} from './schema.ts';
export {
  ReplicaStore, RecordCursor, replicaDirOf, rdbDirOf,
  type MutationOp, type ReplicaStoreOptions, type ScanOptions, type ScanStep,
} from './replica-store.ts';
export { META_LAST_APPLIED_DECREE, META_DATA_VERSION, META_LAST_MANUAL_COMPACT_FINISH_TIME, META_IMPORT_IN_PROGRESS } from './store-internals.ts';
export type { Checkpoint, OpenCheckpoint, ImportStats } from './checkpoint.ts';
export type { CompactOptions, CompactStats } from './compaction.ts';
export {
  encodeCheckpoint, decodeCheckpoint, writeCheckpointFile, readCheckpointFile, type DecodedCheckpoint,
} from './checkpoint-stream.ts';
export { BulkLoadFileWriter, readBulkLoadFile, type BulkRecord } from './bulk-load-file.ts';
export type { IngestOptions, IngestStats } from './bulk-ingest.ts';
