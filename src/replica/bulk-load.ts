// Bulk load on a replica server (Pegasus's replica_bulk_loader): the meta sends RPC_BULK_LOAD,
// with the status it holds for the partition, to every member of the partition (Pegasus sends
// it to the primary, which asks its secondaries with RPC_GROUP_BULK_LOAD; here the meta asks
// each member itself and puts the group together), and each member answers with its own state:
//
//   BLS_DOWNLOADING, BLS_DOWNLOADED  download the partition's files into `<replica>/bulk_load/`,
//                                    each checked against its md5 (resumable); report progress
//                                    0..100 and the download's error
//   BLS_INGESTING                    the primary submits one ingestion through two-phase commit;
//                                    every member ingests its files when it applies it (the
//                                    same decree everywhere); report IS_RUNNING / IS_SUCCEED
//   BLS_PAUSING, BLS_PAUSED          stop downloading (what is downloaded stays); report paused
//   BLS_SUCCEED, BLS_FAILED,         drop the files and the state; report cleaned up
//   BLS_CANCELED
//
// While the primary's ingestion is on its way its writes get ERR_OPERATION_DISABLED.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { log, parseHostPort, PteronError, type ErrorName, type Gpid } from '../base/index.ts';
import type { BlockServiceRegistry } from '../block/index.ts';
import {
  BULK_LOAD_PROGRESS_FINISHED, bulkLoadPaths, bulkLoadStatusOf, bulkLoadStatusValue, gpidText, INGESTION_STATUSES, parseBulkLoadMetadata,
  type BulkLoadMetadata, type BulkLoadStatus, type IngestionStatus,
} from '../cluster/index.ts';
import type { ReplicaStore } from '../storage/index.ts';
import type { BulkLoadMetadataWire, BulkLoadRequest, BulkLoadResponse, IngestionRequest, PartitionBulkLoadState } from '../wire/index.ts';
import type { Replica } from './replica.ts';

/** Where a replica keeps the files of its bulk load. */
export function bulkLoadDirOf(replicaDir: string): string {
  return path.join(replicaDir, 'bulk_load');
}

interface Download {
  state: 'running' | 'stopped' | 'done' | 'failed';
  /** 0..100. */
  progress: number;
  /** ERR_OK, or why the download failed (the meta fails the bulk load with it). */
  error: ErrorName;
  metadata: BulkLoadMetadata | undefined;
  /** Set to stop a running download after its current file. */
  stop: boolean;
}

interface BulkLoadContext {
  download: Download | undefined;
  ingestion: IngestionStatus;
  /** The primary submitted the ingestion of this bulk load. */
  ingestionSubmitted: boolean;
  paused: boolean;
}

/** Pegasus's download errors: the local file system, the remote provider, or missing or damaged files. */
export function downloadErrorOf(error: unknown): ErrorName {
  const code = error instanceof PteronError ? error.code : undefined;
  if (code === 'ERR_CORRUPTION' || code === 'ERR_OBJECT_NOT_FOUND' || code === 'ERR_INVALID_DATA') return 'ERR_CORRUPTION';
  if (code === 'ERR_FS_INTERNAL' || code === 'ERR_INVALID_PARAMETERS') return 'ERR_FS_INTERNAL';
  return 'ERR_FILE_OPERATION_FAILED';
}

/** The bytes of `metadata` that `done` files hold, as a progress of 0..100 (100 only when every file is there). */
export function downloadProgress(metadata: BulkLoadMetadata, doneBytes: number, allDone: boolean): number {
  if (allDone) return BULK_LOAD_PROGRESS_FINISHED;
  if (metadata.file_total_size === 0) return 0;
  return Math.min(BULK_LOAD_PROGRESS_FINISHED - 1, Math.floor((doneBytes * BULK_LOAD_PROGRESS_FINISHED) / metadata.file_total_size));
}

function metadataToWire(metadata: BulkLoadMetadata): BulkLoadMetadataWire {
  return {
    files: metadata.files.map((file) => ({ name: file.name, size: BigInt(file.size), md5: file.md5 })),
    fileTotalSize: BigInt(metadata.file_total_size),
  };
}

export interface BulkLoadDeps {
  readonly self: string;
  readonly blockServices: BlockServiceRegistry;
  find(gpid: Gpid): Replica | undefined;
}

export class ReplicaBulkLoads {
  /** By gpid text. */
  private readonly contexts = new Map<string, BulkLoadContext>();

  constructor(private readonly deps: BulkLoadDeps) {}

  /** `RPC_BULK_LOAD`. */
  async handle(request: BulkLoadRequest): Promise<BulkLoadResponse> {
    const status = bulkLoadStatusOf(request.metaBulkLoadStatus);
    const base = { pid: request.pid, appName: request.appName, groupBulkLoadState: new Map() };
    const replica = this.deps.find(request.pid);
    if (replica === undefined) return { err: 'ERR_OBJECT_NOT_FOUND', primaryBulkLoadStatus: 0, ...base };
    const member = replica.state === 'serving' && (replica.role === 'primary' || replica.role === 'secondary') && replica.store !== undefined;
    if (!member || BigInt(replica.ballot) !== request.ballot) return { err: 'ERR_INVALID_STATE', primaryBulkLoadStatus: 0, ...base };
    const key = gpidText(request.pid);
    let context = this.contexts.get(key);
    switch (status) {
      case 'BLS_DOWNLOADING':
      case 'BLS_DOWNLOADED':
      case 'BLS_INGESTING':
        context ??= this.newContext(key);
        context.paused = false;
        this.startDownload(replica, request, context);
        if (status === 'BLS_INGESTING') this.submitIngestion(replica, request, context);
        break;
      case 'BLS_PAUSING':
      case 'BLS_PAUSED':
        if (context?.download?.state === 'running') context.download.stop = true;
        if (context) context.paused = context.download?.state !== 'running';
        break;
      case 'BLS_SUCCEED':
      case 'BLS_FAILED':
      case 'BLS_CANCELED':
        if (context !== undefined) await this.cleanUp(replica, key, context);
        context = undefined;
        break;
      case 'BLS_INVALID':
        break;
    }
    const state = this.stateOf(status, context);
    const self = parseHostPort(this.deps.self);
    const metadata = context?.download?.metadata;
    return {
      err: 'ERR_OK',
      ...base,
      primaryBulkLoadStatus: bulkLoadStatusValue(status),
      groupBulkLoadState: new Map([[self, state]]),
      hpGroupBulkLoadState: new Map([[self, state]]),
      totalDownloadProgress: state.downloadProgress ?? 0,
      isGroupIngestionFinished: state.ingestStatus === INGESTION_STATUSES.indexOf('IS_SUCCEED'),
      isGroupBulkLoadContextCleanedUp: state.isCleanedUp === true,
      isGroupBulkLoadPaused: state.isPaused === true,
      ...(request.queryBulkLoadMetadata && metadata !== undefined && { metadata: metadataToWire(metadata) }),
    };
  }

  private newContext(key: string): BulkLoadContext {
    const context: BulkLoadContext = { download: undefined, ingestion: 'IS_INVALID', ingestionSubmitted: false, paused: false };
    this.contexts.set(key, context);
    return context;
  }

  /** What this member reports for the status the meta holds. */
  private stateOf(status: BulkLoadStatus, context: BulkLoadContext | undefined): PartitionBulkLoadState {
    const download = context?.download;
    const state: PartitionBulkLoadState = {
      downloadProgress: download?.progress ?? 0,
      downloadStatus: download?.error ?? 'ERR_OK',
      ingestStatus: INGESTION_STATUSES.indexOf(context?.ingestion ?? 'IS_INVALID'),
    };
    if (status === 'BLS_SUCCEED' || status === 'BLS_FAILED' || status === 'BLS_CANCELED') state.isCleanedUp = context === undefined;
    if (status === 'BLS_PAUSING' || status === 'BLS_PAUSED') state.isPaused = context === undefined || context.paused;
    return state;
  }

  private startDownload(replica: Replica, request: BulkLoadRequest, context: BulkLoadContext): void {
    const download = context.download;
    if (download !== undefined && (download.state === 'running' || download.state === 'done' || download.state === 'failed')) {
      if (download.state === 'running') download.stop = false;
      return;
    }
    const started: Download = { state: 'running', progress: download?.progress ?? 0, error: 'ERR_OK', metadata: download?.metadata, stop: false };
    context.download = started;
    void this.download(replica, request, started);
  }

  private async download(replica: Replica, request: BulkLoadRequest, download: Download): Promise<void> {
    const name = gpidText(request.pid);
    try {
      const service = this.deps.blockServices.get(request.remoteProviderName);
      if (service === undefined) throw new PteronError('ERR_INVALID_PARAMETERS', `block service ${request.remoteProviderName} is not configured`);
      const metadataPath = bulkLoadPaths.metadata(request.remoteRootPath, request.clusterName, request.appName, request.pid.partitionIndex);
      const metadata = download.metadata ?? parseBulkLoadMetadata((await service.read(metadataPath)).toString('utf8'));
      download.metadata = metadata;
      const remoteDir = bulkLoadPaths.partition(request.remoteRootPath, request.clusterName, request.appName, request.pid.partitionIndex);
      const localDir = bulkLoadDirOf(replica.dir);
      await mkdir(localDir, { recursive: true });
      let doneBytes = 0;
      for (const file of metadata.files) {
        if (download.stop) {
          download.state = 'stopped';
          log.info({ gpid: name }, 'bulk load download paused');
          return;
        }
        const got = await service.download(`${remoteDir}/${file.name}`, path.join(localDir, file.name), file.md5);
        if (got.size !== file.size) throw new PteronError('ERR_CORRUPTION', `${file.name}: ${got.size} bytes, bulk_load_metadata says ${file.size}`);
        doneBytes += file.size;
        download.progress = downloadProgress(metadata, doneBytes, false);
      }
      download.progress = downloadProgress(metadata, doneBytes, true);
      download.state = 'done';
      log.info({ gpid: name, files: metadata.files.length, bytes: metadata.file_total_size }, 'bulk load files downloaded');
    } catch (error) {
      download.state = 'failed';
      download.error = downloadErrorOf(error);
      log.error({ gpid: name, err: (error as Error).message, status: download.error }, 'bulk load download failed');
    }
  }

  /** The primary's one ingestion of this bulk load, once its own files are all there. */
  private submitIngestion(replica: Replica, request: BulkLoadRequest, context: BulkLoadContext): void {
    const serving = replica.servingPrimary;
    const metadata = context.download?.metadata;
    if (serving === undefined || context.ingestionSubmitted || context.ingestion === 'IS_SUCCEED' || context.download?.state !== 'done' || metadata === undefined) return;
    const ingestion: IngestionRequest = {
      appName: request.appName,
      metadata: metadataToWire(metadata),
      ingestBehind: replica.info.envs['rocksdb.allow_ingest_behind'] === 'true',
      ballot: request.ballot,
      verifyBeforeIngest: true,
    };
    context.ingestionSubmitted = true;
    context.ingestion = 'IS_RUNNING';
    replica.ingestingBulkLoad = true;
    serving.path.submit({ op: 'ingest', request: ingestion }, 0).then(
      () => {
        log.info({ gpid: gpidText(request.pid) }, 'bulk load ingestion committed');
        // No write follows to carry the commit to the secondaries: tell them now.
        replica.announceCommit();
      },
      (error: unknown) => {
        // Not committed here (the primary changed or failed): the next request submits it again.
        context.ingestionSubmitted = false;
        if (context.ingestion === 'IS_RUNNING') context.ingestion = 'IS_INVALID';
        log.warn({ gpid: gpidText(request.pid), err: (error as Error).message }, 'bulk load ingestion not committed');
      },
    ).finally(() => {
      replica.ingestingBulkLoad = false;
    });
  }

  /** Applies a committed ingestion on this member (the replica's StoreApplier calls it). */
  async ingest(replica: Replica, store: ReplicaStore, request: IngestionRequest, decree: number): Promise<void> {
    const key = gpidText(replica.gpid);
    const context = this.contexts.get(key) ?? this.newContext(key);
    context.ingestion = 'IS_RUNNING';
    const files = request.metadata.files.map((file) => path.join(bulkLoadDirOf(replica.dir), file.name));
    try {
      const stats = await store.ingestBulkLoad(decree, files, { behind: request.ingestBehind });
      context.ingestion = 'IS_SUCCEED';
      log.info({ gpid: key, decree, records: stats.records, written: stats.written }, 'bulk load ingested');
    } catch (error) {
      context.ingestion = 'IS_FAILED';
      throw error;
    }
  }

  private async cleanUp(replica: Replica, key: string, context: BulkLoadContext): Promise<void> {
    if (context.download?.state === 'running') {
      context.download.stop = true;
      return;
    }
    this.contexts.delete(key);
    await rm(bulkLoadDirOf(replica.dir), { recursive: true, force: true });
    log.info({ gpid: key }, 'bulk load state and files cleaned up');
  }
}
