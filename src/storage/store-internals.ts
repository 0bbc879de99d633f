// What ReplicaStore shares with the files that work on it (checkpoint.ts, compaction.ts): the
// names and encoding of its meta keys, and the parts of the store they run on. Not exported
// beyond src/storage.
import { PteronError } from '../base/index.ts';
import type { StorageEngine, WriteOp } from './engine.ts';
import { metaStoreKey } from './schema.ts';

// Meta keys (the `meta` family). Values are decimal strings, as in Pegasus's meta column family.
export const META_LAST_APPLIED_DECREE = 'last_applied_decree';
export const META_DATA_VERSION = 'data_version';
export const META_LAST_MANUAL_COMPACT_FINISH_TIME = 'last_manual_compact_finish_time';
/** Present while a checkpoint import is under way; found at open, it means the import died. */
export const META_IMPORT_IN_PROGRESS = 'import_in_progress';

export function parseMetaNumber(name: string, raw: Buffer | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.toString('utf8');
  if (!/^\d{1,16}$/.test(text)) throw new PteronError('ERR_CORRUPTION', `meta key ${name} holds "${text}", not a decimal integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new PteronError('ERR_CORRUPTION', `meta key ${name} holds ${text}, out of range`);
  return value;
}

export function metaPut(name: string, value: number | string): WriteOp {
  return { type: 'put', key: metaStoreKey(name), value: Buffer.from(String(value), 'utf8') };
}

/** The refusal of a store whose engine failed a write earlier. */
export function failedEarlier(failure: Error): PteronError {
  return new PteronError('ERR_LOCAL_APP_FAILURE', `storage failed earlier: ${failure.message}`);
}

/**
 * A job of the store's write queue. It sets `mayHaveWritten` before it changes the engine: a
 * throw after that fails the store, one before it rejects only the job.
 */
export type WriteJob<T> = (progress: { mayHaveWritten: boolean }) => Promise<T>;

/** The parts of a ReplicaStore that its checkpoints and compaction run on. */
export interface StoreInternals {
  readonly engine: StorageEngine;
  /** The value schema of the data now (an import may change it). */
  readonly dataVersion: number;
  /** Whether writes are fsynced. */
  readonly syncWrites: boolean;
  /** The last decree applied. */
  readonly appliedDecree: number;
  /** The error that failed the store, if one did. */
  readonly failure: Error | undefined;
  /** Runs `job` after every earlier write of the store. */
  enqueue<T>(job: WriteJob<T>): Promise<T>;
  /** Drops all data and bookkeeping except the data version: an empty replica at decree 0. */
  resetToEmpty(): Promise<void>;
  /** An import replaced the data: it is now at `decree`, in value schema `dataVersion`. */
  installed(decree: number, dataVersion: number): void;
}
