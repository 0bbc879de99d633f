// The bulk load status machine of the meta (Pegasus's bulk_load_service), without I/O: a table's
// bulk load and its partitions' statuses, what the members of a partition report moves them on,
// and what pause, restart and cancel do. The service (bulk-load-service.ts) persists every new
// state and asks the members.
//
//   app        DOWNLOADING → DOWNLOADED → INGESTING → SUCCEED      (each once every partition is there)
//              DOWNLOADING ⇄ PAUSING → PAUSED → DOWNLOADING          (pause, restart)
//              DOWNLOADING | PAUSED → CANCELED                        (cancel; force cancel from anywhere)
//              any failure → FAILED (with the error)
//   partition  follows the app into DOWNLOADING, PAUSING, CANCELED and FAILED; reaches DOWNLOADED
//              (every member holds its files), INGESTING (the app is DOWNLOADED), SUCCEED (every
//              member ingested) and PAUSED (every member stopped) on its own
//
// A bulk load that reached SUCCEED, FAILED or CANCELED ends once every member of every partition
// cleaned up; the table then stops bulk loading and the result stays for queries.
import type { ErrorName } from '../../base/index.ts';
import type { BulkLoadStatus, IngestionStatus } from '../../cluster/index.ts';
import { BULK_LOAD_PROGRESS_FINISHED } from '../../cluster/index.ts';

export interface PartitionBulkLoad {
  readonly status: BulkLoadStatus;
  /** Every member of the partition ingested (Pegasus's ever_ingest_succeed). */
  readonly everIngestSucceed: boolean;
}

export interface AppBulkLoad {
  readonly appId: number;
  readonly appName: string;
  readonly partitionCount: number;
  readonly clusterName: string;
  readonly fileProviderType: string;
  readonly remoteRootPath: string;
  readonly ingestBehind: boolean;
  readonly status: BulkLoadStatus;
  /** Why it failed (ERR_OK otherwise). */
  readonly err: ErrorName;
  readonly isEverIngesting: boolean;
  readonly partitions: readonly PartitionBulkLoad[];
}

/** What one member answered to the status it was asked with. */
export interface MemberReport {
  readonly askedStatus: BulkLoadStatus;
  readonly downloadProgress: number;
  readonly downloadStatus: ErrorName;
  readonly ingestStatus: IngestionStatus;
  readonly isCleanedUp: boolean;
  readonly isPaused: boolean;
}

export type ControlType = 'BLC_PAUSE' | 'BLC_RESTART' | 'BLC_CANCEL' | 'BLC_FORCE_CANCEL';
export const CONTROL_TYPES: readonly ControlType[] = ['BLC_PAUSE', 'BLC_RESTART', 'BLC_CANCEL', 'BLC_FORCE_CANCEL'];

/** A status as Pegasus's enum_to_string prints it. */
export function statusText(status: BulkLoadStatus): string {
  return `replication::bulk_load_status::${status}`;
}

export interface StartSpec {
  appId: number;
  appName: string;
  partitionCount: number;
  clusterName: string;
  fileProviderType: string;
  remoteRootPath: string;
  ingestBehind: boolean;
}

/** A new bulk load: the table and each partition downloading. */
export function newBulkLoad(spec: StartSpec): AppBulkLoad {
  return {
    ...spec, status: 'BLS_DOWNLOADING', err: 'ERR_OK', isEverIngesting: false,
    partitions: Array.from({ length: spec.partitionCount }, () => ({ status: 'BLS_DOWNLOADING', everIngestSucceed: false })),
  };
}

/** Statuses the partitions follow the table into. */
const FOLLOWED: ReadonlySet<BulkLoadStatus> = new Set(['BLS_DOWNLOADING', 'BLS_PAUSING', 'BLS_CANCELED', 'BLS_FAILED']);
/** Statuses the table reaches once every partition is in them. */
const GATHERED: ReadonlySet<BulkLoadStatus> = new Set(['BLS_DOWNLOADED', 'BLS_INGESTING', 'BLS_SUCCEED', 'BLS_PAUSED']);

export function withAppStatus(app: AppBulkLoad, status: BulkLoadStatus, err: ErrorName = 'ERR_OK'): AppBulkLoad {
  const partitions = FOLLOWED.has(status)
    ? app.partitions.map((partition) => ({ status, everIngestSucceed: status === 'BLS_DOWNLOADING' ? false : partition.everIngestSucceed }))
    : app.partitions;
  return { ...app, status, err, isEverIngesting: app.isEverIngesting || status === 'BLS_INGESTING', partitions };
}

export function withPartitionStatus(app: AppBulkLoad, partitionIndex: number, status: BulkLoadStatus): AppBulkLoad {
  const current = app.partitions[partitionIndex]!;
  if (current.status === status) return app;
  const partitions = app.partitions.map((partition, index) => index !== partitionIndex ? partition : {
    status, everIngestSucceed: partition.everIngestSucceed || (current.status === 'BLS_INGESTING' && status === 'BLS_SUCCEED'),
  });
  const next = { ...app, partitions };
  return GATHERED.has(status) && partitions.every((partition) => partition.status === status) ? withAppStatus(next, status) : next;
}

/** The error a failed download fails the bulk load with (Pegasus keeps these three, anything else is ERR_UNKNOWN). */
function downloadFailure(status: ErrorName): ErrorName {
  return status === 'ERR_FILE_OPERATION_FAILED' || status === 'ERR_FS_INTERNAL' || status === 'ERR_CORRUPTION' ? status : 'ERR_UNKNOWN';
}

export interface ReportOutcome {
  readonly next: AppBulkLoad;
  /** The bulk load ended and every member of this partition cleaned up. */
  readonly cleanedUp: boolean;
}

/**
 * Moves the bulk load on from what the members of partition `partitionIndex` last reported.
 * `members` are the partition's primary and secondaries; `replicaCount` the table's replica
 * count: downloads and ingestions finish only with every replica there. Reports to an earlier
 * status than the partition's are ignored.
 */
export function onPartitionReports(
  app: AppBulkLoad, partitionIndex: number, members: readonly string[], reports: ReadonlyMap<string, MemberReport>, replicaCount: number,
): ReportOutcome {
  const partition = app.partitions[partitionIndex]!;
  const current = members.flatMap((member) => {
    const report = reports.get(member);
    return report !== undefined && report.askedStatus === partition.status ? [report] : [];
  });
  const whole = members.length >= replicaCount && current.length === members.length;
  const unchanged = { next: app, cleanedUp: false };
  switch (app.status) {
    case 'BLS_DOWNLOADING': {
      const failed = current.find((report) => report.downloadStatus !== 'ERR_OK');
      if (failed !== undefined) return { next: withAppStatus(app, 'BLS_FAILED', downloadFailure(failed.downloadStatus)), cleanedUp: false };
      if (whole && current.every((report) => report.downloadProgress >= BULK_LOAD_PROGRESS_FINISHED)) {
        return { next: withPartitionStatus(app, partitionIndex, 'BLS_DOWNLOADED'), cleanedUp: false };
      }
      return unchanged;
    }
    case 'BLS_DOWNLOADED':
      return { next: withPartitionStatus(app, partitionIndex, 'BLS_INGESTING'), cleanedUp: false };
    case 'BLS_INGESTING': {
      if (current.some((report) => report.ingestStatus === 'IS_FAILED')) return { next: withAppStatus(app, 'BLS_FAILED', 'ERR_INGESTION_FAILED'), cleanedUp: false };
      if (partition.status === 'BLS_INGESTING' && whole && current.every((report) => report.ingestStatus === 'IS_SUCCEED')) {
        return { next: withPartitionStatus(app, partitionIndex, 'BLS_SUCCEED'), cleanedUp: false };
      }
      return unchanged;
    }
    case 'BLS_SUCCEED':
    case 'BLS_FAILED':
    case 'BLS_CANCELED':
      return { next: app, cleanedUp: current.length === members.length && members.length > 0 && current.every((report) => report.isCleanedUp) };
    case 'BLS_PAUSING':
      if (whole && current.every((report) => report.isPaused)) return { next: withPartitionStatus(app, partitionIndex, 'BLS_PAUSED'), cleanedUp: false };
      return unchanged;
    default:
      return unchanged;
  }
}

export interface ControlOutcome {
  readonly err: ErrorName;
  readonly hintMsg?: string;
  readonly next?: AppBulkLoad;
}

/** `RPC_CM_CONTROL_BULK_LOAD` on a table that is bulk loading. */
export function controlBulkLoad(app: AppBulkLoad, type: ControlType): ControlOutcome {
  const refuse = (verb: string): ControlOutcome => ({
    err: 'ERR_INVALID_STATE', hintMsg: `can not ${verb} bulk load for app(${app.appName}) with status(${statusText(app.status)})`,
  });
  switch (type) {
    case 'BLC_PAUSE':
      return app.status === 'BLS_DOWNLOADING' ? { err: 'ERR_OK', next: withAppStatus(app, 'BLS_PAUSING') } : refuse('pause');
    case 'BLC_RESTART':
      return app.status === 'BLS_PAUSED' ? { err: 'ERR_OK', next: withAppStatus(app, 'BLS_DOWNLOADING') } : refuse('restart');
    case 'BLC_CANCEL':
      return app.status === 'BLS_DOWNLOADING' || app.status === 'BLS_PAUSED' ? { err: 'ERR_OK', next: withAppStatus(app, 'BLS_CANCELED') } : refuse('cancel');
    case 'BLC_FORCE_CANCEL':
      return { err: 'ERR_OK', next: withAppStatus(app, 'BLS_CANCELED') };
  }
}

// ---------------------------------------------------------------------------------------------
// stored forms (Pegasus's app_bulk_load_info and partition_bulk_load_info JSON)

export function appBulkLoadToJson(app: AppBulkLoad): string {
  return JSON.stringify({
    app_id: app.appId, partition_count: app.partitionCount, app_name: app.appName, cluster_name: app.clusterName,
    file_provider_type: app.fileProviderType, remote_root_path: app.remoteRootPath, status: app.status, ingest_behind: app.ingestBehind,
    is_ever_ingesting: app.isEverIngesting, bulk_load_err: app.err,
  });
}

export function partitionBulkLoadToJson(partition: PartitionBulkLoad): string {
  return JSON.stringify({ status: partition.status, ever_ingest_succeed: partition.everIngestSucceed });
}

function statusFrom(value: unknown): BulkLoadStatus | undefined {
  return typeof value === 'string' && /^BLS_[A-Z]+$/.test(value) ? value as BulkLoadStatus : undefined;
}

/** A stored bulk load with its stored partitions (a missing one counts as the table's status); throws on a damaged record. */
export function appBulkLoadFromJson(appText: string, partitionTexts: ReadonlyMap<number, string>): AppBulkLoad {
  const raw = JSON.parse(appText) as Record<string, unknown>;
  const status = statusFrom(raw.status);
  const partitionCount = raw.partition_count;
  if (!Number.isSafeInteger(raw.app_id) || typeof raw.app_name !== 'string' || !Number.isSafeInteger(partitionCount) || status === undefined) {
    throw new Error('not a stored bulk load');
  }
  const partitions = Array.from({ length: partitionCount as number }, (_, index): PartitionBulkLoad => {
    const text = partitionTexts.get(index);
    const stored = text === undefined ? undefined : JSON.parse(text) as Record<string, unknown>;
    return { status: statusFrom(stored?.status) ?? status, everIngestSucceed: stored?.ever_ingest_succeed === true };
  });
  return {
    appId: raw.app_id as number, appName: raw.app_name, partitionCount: partitionCount as number, clusterName: String(raw.cluster_name ?? ''),
    fileProviderType: String(raw.file_provider_type ?? ''), remoteRootPath: String(raw.remote_root_path ?? ''), ingestBehind: raw.ingest_behind === true,
    status, err: (typeof raw.bulk_load_err === 'string' ? raw.bulk_load_err : 'ERR_OK') as ErrorName, isEverIngesting: raw.is_ever_ingesting === true,
    partitions,
  };
}
