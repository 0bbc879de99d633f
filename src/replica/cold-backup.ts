// Cold backups on a primary (Pegasus's replica_backup.cpp, cold_backup_context): the meta asks
// a partition's primary with RPC_COLD_BACKUP, again and again until it answers ERR_OK. The
// first request starts the work in the background: a consistent checkpoint of the store (one
// snapshot, one decree) written to a local file, uploaded with its md5 to
// `<partition>/chkpt_<host>_<port>/`, then `backup_metadata` (the files, sizes and md5s) and
// last `current_checkpoint` (the directory's name), which marks the upload complete. Later
// requests read the progress (0..1000): ERR_BUSY while it runs, ERR_OK when complete,
// ERR_LOCAL_APP_FAILURE once when it failed.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { log, type ErrorName, type Gpid } from '../base/index.ts';
import type { BlockService, BlockServiceRegistry } from '../block/index.ts';
import {
  BACKUP_CHECKPOINT_FILE, BACKUP_METADATA_FILE, BACKUP_PROGRESS_FINISHED, backupPaths, backupRootFor, checkpointDirName, coldBackupRoot, gpidText, type ColdBackupMetadata,
} from '../cluster/index.ts';
import { writeCheckpointFile } from '../storage/index.ts';
import type { BackupRequest, BackupResponse } from '../wire/index.ts';
import type { Replica } from './replica.ts';

/** Progress marks of one partition's backup (of 1000). */
const PROGRESS_CHECKPOINTED = 100;
const PROGRESS_UPLOADED = 900;

interface BackupContext {
  readonly backupId: bigint;
  status: 'running' | 'completed' | 'failed';
  progress: number;
  totalBytes: number;
  reason: string;
}

export interface ColdBackupDeps {
  readonly self: string;
  readonly blockServices: BlockServiceRegistry;
  find(gpid: Gpid): Replica | undefined;
}

export class ColdBackups {
  /** By `<gpid>/<policy name>`: the latest backup of that policy on this partition. */
  private readonly contexts = new Map<string, BackupContext>();

  constructor(private readonly deps: ColdBackupDeps) {}

  /** `RPC_COLD_BACKUP`. */
  handle(request: BackupRequest): BackupResponse {
    const answer = (err: ErrorName, context?: BackupContext): BackupResponse => ({
      err, pid: request.pid, progress: context?.progress ?? 0, policyName: request.policy.policyName, backupId: request.backupId,
      checkpointTotalSize: BigInt(context?.totalBytes ?? 0),
    });
    if (coldBackupRoot.value === '') return answer('ERR_OPERATION_DISABLED');
    const replica = this.deps.find(request.pid);
    if (replica === undefined || replica.role !== 'primary' || replica.store === undefined) return answer('ERR_INVALID_STATE');
    const service = this.deps.blockServices.get(request.policy.backupProviderType);
    if (service === undefined) return answer('ERR_INVALID_PARAMETERS');

    const key = `${gpidText(request.pid)}/${request.policy.policyName}`;
    let context = this.contexts.get(key);
    if (context !== undefined && context.backupId > request.backupId) return answer('ERR_VERSION_OUTDATED');
    if (context === undefined || context.backupId < request.backupId) {
      context = { backupId: request.backupId, status: 'running', progress: 0, totalBytes: 0, reason: '' };
      this.contexts.set(key, context);
      void this.run(replica, service, request, context);
      return answer('ERR_BUSY', context);
    }
    switch (context.status) {
      case 'running':
        return answer('ERR_BUSY', context);
      case 'completed':
        return answer('ERR_OK', context);
      case 'failed':
        // Reported once; the meta's next request starts the backup again.
        this.contexts.delete(key);
        return answer('ERR_LOCAL_APP_FAILURE', context);
    }
  }

  private async run(replica: Replica, service: BlockService, request: BackupRequest, context: BackupContext): Promise<void> {
    const name = `${gpidText(request.pid)}@${request.policy.policyName}.${request.backupId}`;
    const localDir = path.join(replica.dir, 'backup', `backup.${request.policy.policyName}.${request.backupId}`);
    try {
      const root = backupRootFor(request.policy.policyName, request.backupPath);
      const dirName = checkpointDirName(this.deps.self);
      const remoteDir = `${backupPaths.partition(root, request.appName, request.pid, request.backupId)}/${dirName}`;
      await mkdir(localDir, { recursive: true });
      const localFile = path.join(localDir, BACKUP_CHECKPOINT_FILE);
      const checkpoint = await replica.store!.openCheckpoint();
      const timestamp = Date.now();
      try {
        await writeCheckpointFile(localFile, checkpoint);
      } finally {
        await checkpoint.close();
      }
      context.progress = PROGRESS_CHECKPOINTED;
      const uploaded = await service.upload(localFile, `${remoteDir}/${BACKUP_CHECKPOINT_FILE}`);
      context.progress = PROGRESS_UPLOADED;
      context.totalBytes = uploaded.size;
      const metadata: ColdBackupMetadata = {
        checkpoint_decree: checkpoint.decree,
        checkpoint_timestamp: timestamp,
        files: [{ name: BACKUP_CHECKPOINT_FILE, size: uploaded.size, md5: uploaded.md5 }],
        checkpoint_total_size: uploaded.size,
      };
      await service.write(`${remoteDir}/${BACKUP_METADATA_FILE}`, Buffer.from(JSON.stringify(metadata)));
      await service.write(backupPaths.currentCheckpoint(root, request.appName, request.pid, request.backupId), Buffer.from(dirName));
      context.progress = BACKUP_PROGRESS_FINISHED;
      context.status = 'completed';
      log.info({ backup: name, decree: checkpoint.decree, bytes: uploaded.size }, 'cold backup of the partition uploaded');
    } catch (error) {
      context.status = 'failed';
      context.reason = (error as Error).message;
      log.error({ backup: name, err: context.reason }, 'cold backup of the partition failed');
    } finally {
      await rm(localDir, { recursive: true, force: true }).catch(() => {});
    }
  }
}
