// A replica store's logical checkpoints, what learning ships: taking a consistent copy of the
// data under a snapshot, and replacing the whole data with one. checkpoint-stream.ts gives them
// a byte form.
import { PteronError, assert } from '../base/index.ts';
import { ENTRIES_BATCH_DEFAULT, type Entry, type WriteOp } from './engine.ts';
import { compositeKeyOf, dataFamilyBounds, dataStoreKey, isValidKey, metaStoreKey, valueHeaderBytes, valueVersionOf } from './schema.ts';
import {
  META_DATA_VERSION, META_IMPORT_IN_PROGRESS, META_LAST_APPLIED_DECREE, failedEarlier, metaPut, parseMetaNumber, type StoreInternals,
} from './store-internals.ts';

/** Import batches are cut at whichever limit comes first. */
const IMPORT_BATCH_ENTRIES_MAX = 1024;
const IMPORT_BATCH_BYTES_MAX = 4 * 1024 * 1024;
/** Largest entry a checkpoint may carry: a hash key < 64 KiB, a sort key and value are far below this. */
const ENTRY_BYTES_MAX = 256 * 1024 * 1024;

/** A consistent copy of a replica's data at one decree: what learning ships and imports. */
export interface Checkpoint {
  readonly decree: number;
  readonly dataVersion: number;
  /** (composite key, stored value with its header) in ascending key order. May be iterated once. */
  entries(): AsyncIterable<Entry>;
}

/** A checkpoint read from a live store under a snapshot; close it to release the snapshot. */
export interface OpenCheckpoint extends Checkpoint {
  close(): Promise<void>;
}

export interface ImportStats {
  entries: number;
  bytes: number;
}

/**
 * A consistent copy of the store: the decree and data version are read under the same
 * snapshot as the entries, so they describe exactly the data the entries hold.
 */
export async function openCheckpoint(store: StoreInternals): Promise<OpenCheckpoint> {
  if (store.failure !== undefined) throw failedEarlier(store.failure);
  const { engine } = store;
  const snapshot = engine.snapshot();
  try {
    const names = [META_LAST_APPLIED_DECREE, META_DATA_VERSION];
    const [decreeRaw, versionRaw] = await engine.getMany(names.map(metaStoreKey), { snapshot });
    const decree = parseMetaNumber(META_LAST_APPLIED_DECREE, decreeRaw);
    const dataVersion = parseMetaNumber(META_DATA_VERSION, versionRaw);
    assert(decree !== undefined && dataVersion !== undefined, 'an open store has its meta keys');
    let iterated = false;
    return {
      decree,
      dataVersion,
      async *entries(): AsyncGenerator<Entry, void, undefined> {
        assert(!iterated, 'checkpoint entries are iterated once');
        iterated = true;
        const cursor = engine.cursor({ ...dataFamilyBounds(), snapshot });
        try {
          for (;;) {
            const batch = await cursor.next(ENTRIES_BATCH_DEFAULT);
            if (batch.length === 0) return;
            for (const [storeKey, raw] of batch) yield [compositeKeyOf(storeKey), raw];
          }
        } finally {
          await cursor.close();
        }
      },
      close: () => snapshot.close(),
    };
  } catch (error) {
    await snapshot.close();
    throw error;
  }
}

/**
 * Replaces the whole content of the store with `checkpoint` (learning). Entries must come in
 * strictly ascending key order with well-formed keys and values. The import is marked in the
 * meta family first: if it dies half way (crash, bad input), the store is reset to an empty
 * replica at decree 0, now or at the next open, and the replica learns again.
 */
export function importCheckpoint(store: StoreInternals, checkpoint: Checkpoint): Promise<ImportStats> {
  return store.enqueue(async (progress) => {
    assert(Number.isSafeInteger(checkpoint.decree) && checkpoint.decree >= 0, 'checkpoint decree is a non-negative integer');
    if (checkpoint.dataVersion !== 0 && checkpoint.dataVersion !== 1) {
      throw new PteronError('ERR_INVALID_VERSION', `checkpoint uses value schema v${checkpoint.dataVersion}`);
    }
    progress.mayHaveWritten = true;
    await store.engine.write([metaPut(META_IMPORT_IN_PROGRESS, checkpoint.decree)], { sync: true });
    try {
      return await importEntries(store, checkpoint);
    } catch (error) {
      // Reset so the store is usable (empty at decree 0) rather than failed; if the reset
      // itself fails, the marker stays and the next open finishes the job.
      await store.resetToEmpty();
      progress.mayHaveWritten = false;
      throw error;
    }
  });
}

async function importEntries(store: StoreInternals, checkpoint: Checkpoint): Promise<ImportStats> {
  const { engine } = store;
  await engine.clearRange(dataFamilyBounds());
  const headerBytes = valueHeaderBytes(checkpoint.dataVersion);
  let previous: Buffer | undefined;
  let batch: WriteOp[] = [];
  let batchBytes = 0;
  const stats: ImportStats = { entries: 0, bytes: 0 };
  for await (const [key, value] of checkpoint.entries()) {
    if (!isValidKey(key)) throw new PteronError('ERR_INVALID_DATA', `checkpoint entry ${stats.entries} has a malformed key`);
    if (previous !== undefined && Buffer.compare(previous, key) >= 0) {
      throw new PteronError('ERR_INVALID_DATA', `checkpoint entry ${stats.entries} is out of key order`);
    }
    if (key.length + value.length > ENTRY_BYTES_MAX) throw new PteronError('ERR_INVALID_DATA', `checkpoint entry ${stats.entries} is too large`);
    if (value.length < headerBytes || valueVersionOf(value, checkpoint.dataVersion) !== checkpoint.dataVersion) {
      throw new PteronError('ERR_INVALID_DATA', `checkpoint entry ${stats.entries} is not a v${checkpoint.dataVersion} value`);
    }
    previous = key;
    batch.push({ type: 'put', key: dataStoreKey(key), value: Buffer.from(value) });
    batchBytes += key.length + value.length;
    stats.entries += 1;
    stats.bytes += key.length + value.length;
    if (batch.length >= IMPORT_BATCH_ENTRIES_MAX || batchBytes >= IMPORT_BATCH_BYTES_MAX) {
      await engine.write(batch);
      batch = [];
      batchBytes = 0;
    }
  }
  batch.push(
    metaPut(META_LAST_APPLIED_DECREE, checkpoint.decree),
    metaPut(META_DATA_VERSION, checkpoint.dataVersion),
    { type: 'del', key: metaStoreKey(META_IMPORT_IN_PROGRESS) },
  );
  await engine.write(batch, { sync: true });
  store.installed(checkpoint.decree, checkpoint.dataVersion);
  return stats;
}
