// Where a bulk load's files live on a block service, and the metadata files in it (Pegasus's
// src/common/bulk_load_common.h), shared by the generator (which writes them), the meta (which
// reads bulk_load_info when a load starts) and the replica servers (which download a
// partition's files):
//
//   <remote_root_path>/<cluster_name>/<app_name>/bulk_load_info
//   <remote_root_path>/<cluster_name>/<app_name>/<pidx>/bulk_load_metadata
//   <remote_root_path>/<cluster_name>/<app_name>/<pidx>/<data files>
//
// The data files are the store's record files (storage/bulk-load-file.ts), not SST files.
import { PteronError } from '../base/index.ts';
import { joinBlockPath } from '../block/index.ts';

export const BULK_LOAD_INFO_FILE = 'bulk_load_info';
export const BULK_LOAD_METADATA_FILE = 'bulk_load_metadata';
/** The ending of the data files the generator writes. */
export const BULK_LOAD_DATA_SUFFIX = '.pbulk';
/** A partition's progress when every member holds its files (Pegasus: bulk_load_constant::PROGRESS_FINISHED). */
export const BULK_LOAD_PROGRESS_FINISHED = 100;

/** idl/bulk_load.thrift's bulk_load_status, in enum order. */
export const BULK_LOAD_STATUSES = [
  'BLS_INVALID', 'BLS_DOWNLOADING', 'BLS_DOWNLOADED', 'BLS_INGESTING', 'BLS_SUCCEED', 'BLS_FAILED', 'BLS_PAUSING', 'BLS_PAUSED', 'BLS_CANCELED',
] as const;
export type BulkLoadStatus = (typeof BULK_LOAD_STATUSES)[number];

export function bulkLoadStatusOf(value: number): BulkLoadStatus {
  return BULK_LOAD_STATUSES[value] ?? 'BLS_INVALID';
}
export function bulkLoadStatusValue(status: BulkLoadStatus): number {
  return BULK_LOAD_STATUSES.indexOf(status);
}

/** idl/bulk_load.thrift's ingestion_status, in enum order. */
export const INGESTION_STATUSES = ['IS_INVALID', 'IS_RUNNING', 'IS_SUCCEED', 'IS_FAILED'] as const;
export type IngestionStatus = (typeof INGESTION_STATUSES)[number];

export const bulkLoadPaths = {
  app: (root: string, clusterName: string, appName: string): string => joinBlockPath(root, clusterName, appName),
  info: (root: string, clusterName: string, appName: string): string => joinBlockPath(root, clusterName, appName, BULK_LOAD_INFO_FILE),
  partition: (root: string, clusterName: string, appName: string, partitionIndex: number): string =>
    joinBlockPath(root, clusterName, appName, String(partitionIndex)),
  metadata: (root: string, clusterName: string, appName: string, partitionIndex: number): string =>
    joinBlockPath(root, clusterName, appName, String(partitionIndex), BULK_LOAD_METADATA_FILE),
};

/** Pegasus's bulk_load_info: the table the files were generated for. */
export interface BulkLoadInfo {
  app_id: number;
  app_name: string;
  partition_count: number;
}

/** Pegasus's bulk_load_metadata: a partition's files. */
export interface BulkLoadMetadata {
  files: Array<{ name: string; size: number; md5: string }>;
  file_total_size: number;
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** A bulk_load_info file, or undefined when it is not one (Pegasus: "bulk_load_info damaged"). */
export function parseBulkLoadInfo(text: string): BulkLoadInfo | undefined {
  const raw = parseJson(text);
  if (raw === undefined || !Number.isSafeInteger(raw.app_id) || typeof raw.app_name !== 'string' || !Number.isSafeInteger(raw.partition_count)) return undefined;
  return { app_id: raw.app_id as number, app_name: raw.app_name, partition_count: raw.partition_count as number };
}

/** Parses a bulk_load_metadata file; ERR_CORRUPTION when it is not one. */
export function parseBulkLoadMetadata(text: string): BulkLoadMetadata {
  const raw = parseJson(text);
  const files = raw?.files;
  const filesOk = Array.isArray(files) && files.every((file: unknown) => {
    const entry = file as Record<string, unknown> | null;
    return typeof entry === 'object' && entry !== null && typeof entry.name === 'string' && /^[^/\\]+$/.test(entry.name) && entry.name !== '..' &&
      isCount(entry.size) && typeof entry.md5 === 'string';
  });
  if (raw === undefined || !filesOk || !isCount(raw.file_total_size)) {
    throw new PteronError('ERR_CORRUPTION', 'bulk_load_metadata does not have the fields of a bulk load partition');
  }
  return { files: files as BulkLoadMetadata['files'], file_total_size: raw.file_total_size };
}
