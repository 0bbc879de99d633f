// Ingesting a bulk load's data files (bulk-load-file.ts) into a replica's store, as one decree:
// every file is read and checked whole before anything is written, so a damaged file leaves the
// store as it was; then the records go in through the write queue in batches, and the last batch
// records the decree (synced), so a restart either replays the whole ingestion or skips it.
// With `behind` (Pegasus's ingest_behind), a record whose key already holds a live value is
// skipped: what the table had wins over what is loaded.
import { PteronError } from '../base/index.ts';
import type { WriteOp } from './engine.ts';
import { readBulkLoadFile, type BulkRecord } from './bulk-load-file.ts';
import { dataStoreKey, decodeValue, encodeValue, isExpireTsPassed, now2016Seconds, readExpireTs } from './schema.ts';
import { META_LAST_APPLIED_DECREE, metaPut, type StoreInternals } from './store-internals.ts';

/** A store batch of an ingestion takes about this many bytes of keys and values. */
const INGEST_BATCH_BYTES = 4 * 1024 * 1024;

export interface IngestOptions {
  /** Keep the live values the store has at keys the files also hold. */
  readonly behind: boolean;
}

export interface IngestStats {
  /** Records the files hold. */
  records: number;
  /** Records written (fewer than `records` when ingesting behind). */
  written: number;
  bytes: number;
}

/** Reads every file through, checking each block; ERR_CORRUPTION at the first that does not check out. */
async function checkFiles(files: readonly string[]): Promise<number> {
  let records = 0;
  for (const file of files) for await (const block of readBulkLoadFile(file)) records += block.records.length;
  return records;
}

export async function ingestBulkLoad(internals: StoreInternals, decree: number, files: readonly string[], options: IngestOptions): Promise<IngestStats> {
  const records = await checkFiles(files);
  return internals.enqueue(async (progress) => {
    if (decree !== internals.appliedDecree + 1) {
      throw new PteronError('ERR_INVALID_STATE', `ingestion decree ${decree} does not follow last applied decree ${internals.appliedDecree}`);
    }
    const storeVersion = internals.dataVersion;
    const now = now2016Seconds();
    const stats: IngestStats = { records, written: 0, bytes: 0 };
    let batch: WriteOp[] = [];
    let batchBytes = 0;
    const storedValue = (record: BulkRecord, fileVersion: number): Buffer => {
      if (fileVersion === storeVersion) return record.value;
      const parts = decodeValue(record.value, fileVersion);
      return encodeValue(storeVersion, parts.userData, parts.expireTs, parts.timetag);
    };
    const holdsLiveValue = async (key: Buffer): Promise<boolean> => {
      const existing = await internals.engine.get(key);
      return existing !== undefined && !isExpireTsPassed(readExpireTs(existing, storeVersion), now);
    };
    for (const file of files) {
      for await (const block of readBulkLoadFile(file)) {
        for (const record of block.records) {
          const key = dataStoreKey(record.key);
          if (options.behind && await holdsLiveValue(key)) continue;
          const value = storedValue(record, block.dataVersion);
          batch.push({ type: 'put', key, value });
          batchBytes += key.length + value.length;
          stats.written += 1;
          stats.bytes += record.key.length + value.length;
        }
        if (batchBytes >= INGEST_BATCH_BYTES) {
          progress.mayHaveWritten = true;
          await internals.engine.write(batch, { sync: false });
          batch = [];
          batchBytes = 0;
        }
      }
    }
    batch.push(metaPut(META_LAST_APPLIED_DECREE, decree));
    progress.mayHaveWritten = true;
    await internals.engine.write(batch, { sync: true });
    internals.installed(decree, storeVersion);
    return stats;
  });
}
