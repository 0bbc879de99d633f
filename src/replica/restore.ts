// Restoring a partition from a cold backup (Pegasus's replica_restore.cpp): a table created by
// restore_app carries the `restore.*` envs; the primary it is first given opens an empty store,
// finds the checkpoint its old partition uploaded (`current_checkpoint` names the directory,
// `backup_metadata` lists the files with their md5), downloads them checked and resumable into
// `<replica>/restore.<policy>.<backup_id>/`, and imports the checkpoint. The secondaries then
// learn from it as usual. Missing or damaged data fails the partition with ERR_CORRUPTION, or,
// with skip_bad_partition, leaves it empty and reports ERR_IGNORE_BAD_DATA.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PteronError, type ErrorName } from '../base/index.ts';
import type { BlockServiceRegistry } from '../block/index.ts';
import {
  BACKUP_CHECKPOINT_FILE, BACKUP_METADATA_FILE, BACKUP_PROGRESS_FINISHED, RESTORE_ENVS, backupPaths, parseColdBackupMetadata, restoreRootOf,
} from '../cluster/index.ts';
import { readCheckpointFile, type ReplicaStore } from '../storage/index.ts';

/** Where a restored table's data is, from its `restore.*` envs. */
export interface RestoreSource {
  provider: string;
  clusterName: string;
  policyName: string;
  /** The backed-up table's name and id (the backup's directory is named after them). */
  appName: string;
  appId: number;
  backupId: bigint;
  skipBadPartition: boolean;
  restorePath: string | undefined;
}

/** The restore a table's envs ask for, or undefined for a table that is not being restored. */
export function restoreSourceOf(envs: Record<string, string>): RestoreSource | undefined {
  const provider = envs[RESTORE_ENVS.provider];
  const appId = Number(envs[RESTORE_ENVS.appId]);
  const backupId = envs[RESTORE_ENVS.backupId];
  if (provider === undefined || !Number.isSafeInteger(appId) || backupId === undefined || !/^\d+$/.test(backupId)) return undefined;
  return {
    provider,
    clusterName: envs[RESTORE_ENVS.clusterName] ?? '',
    policyName: envs[RESTORE_ENVS.policyName] ?? '',
    appName: envs[RESTORE_ENVS.appName] ?? '',
    appId,
    backupId: BigInt(backupId),
    skipBadPartition: envs[RESTORE_ENVS.skipBadPartition] === 'true',
    restorePath: envs[RESTORE_ENVS.restorePath],
  };
}

export interface RestoreOutcome {
  /** ERR_OK, ERR_IGNORE_BAD_DATA (skipped, left empty) or ERR_CORRUPTION (the partition fails). */
  status: ErrorName;
  progress: number;
  reason: string;
  decree: number;
}

/** Downloads partition `partitionIndex` of `source` and imports it into the (empty) `store`. */
export async function restorePartition(
  source: RestoreSource, partitionIndex: number, store: ReplicaStore, blockServices: BlockServiceRegistry, replicaDir: string,
): Promise<RestoreOutcome> {
  const workDir = path.join(replicaDir, `restore.${source.policyName}.${source.backupId}`);
  try {
    const service = blockServices.get(source.provider);
    if (service === undefined) throw new PteronError('ERR_CORRUPTION', `block service ${source.provider} is not configured`);
    const root = restoreRootOf(source.clusterName, source.policyName, source.restorePath);
    const oldGpid = { appId: source.appId, partitionIndex };
    const dirName = (await service.read(backupPaths.currentCheckpoint(root, source.appName, oldGpid, source.backupId))).toString('utf8');
    const remoteDir = `${backupPaths.partition(root, source.appName, oldGpid, source.backupId)}/${dirName}`;
    const metadata = parseColdBackupMetadata((await service.read(`${remoteDir}/${BACKUP_METADATA_FILE}`)).toString('utf8'));
    if (!metadata.files.some((file) => file.name === BACKUP_CHECKPOINT_FILE)) throw new PteronError('ERR_CORRUPTION', `the checkpoint has no ${BACKUP_CHECKPOINT_FILE}`);
    await mkdir(workDir, { recursive: true });
    for (const file of metadata.files) await service.download(`${remoteDir}/${file.name}`, path.join(workDir, file.name), file.md5);
    const checkpoint = await readCheckpointFile(path.join(workDir, BACKUP_CHECKPOINT_FILE));
    await store.importCheckpoint(checkpoint);
    await rm(workDir, { recursive: true, force: true });
    return { status: 'ERR_OK', progress: BACKUP_PROGRESS_FINISHED, reason: '', decree: checkpoint.decree };
  } catch (error) {
    const reason = (error as Error).message;
    // Whatever could not be found or read counts as damaged data, as in Pegasus.
    const damaged = !(error instanceof PteronError) || ['ERR_OBJECT_NOT_FOUND', 'ERR_CORRUPTION', 'ERR_INVALID_DATA'].includes(error.code);
    if (!damaged) throw error;
    await rm(workDir, { recursive: true, force: true });
    return source.skipBadPartition
      ? { status: 'ERR_IGNORE_BAD_DATA', progress: BACKUP_PROGRESS_FINISHED, reason, decree: 0 }
      : { status: 'ERR_CORRUPTION', progress: 0, reason, decree: 0 };
  }
}
