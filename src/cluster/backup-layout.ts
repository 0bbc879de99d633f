// Where a cold backup lives on a block service, and the metadata files in it (Pegasus's
// src/common/backup_common.h), shared by the meta (which writes the table and backup files) and
// the replica servers (which upload their checkpoints and download them to restore):
//
//   <root>/<backup_id>/backup_info
//   <root>/<backup_id>/<app_name>_<app_id>/meta/app_metadata
//   <root>/<backup_id>/<app_name>_<app_id>/meta/app_backup_status
//   <root>/<backup_id>/<app_name>_<app_id>/<pidx>/current_checkpoint
//   <root>/<backup_id>/<app_name>_<app_id>/<pidx>/chkpt_<host>_<port>/<files>, backup_metadata
//
// `<root>` is `[<backup_path>/]<cold_backup_root>` for a one-time backup and
// `<cold_backup_root>/<policy_name>` for a policy's; a restore reads
// `[<restore_path>/]<cluster_name>[/<policy_name>]`, so with cold_backup_root set to the cluster
// name both kinds restore by (cluster, policy).
import { PteronError, type Gpid } from '../base/index.ts';
import { defineFlag } from '../config/index.ts';

export const coldBackupRoot = defineFlag({
  section: 'replication',
  name: 'cold_backup_root',
  type: 'FV_STRING',
  default: '',
  description: 'The prefix of cold backup data path on remote storage',
});

/** A partition's backup progress when it is complete (Pegasus: cold_backup_constant::PROGRESS_FINISHED). */
export const BACKUP_PROGRESS_FINISHED = 1000;
/** The policy name a one-time backup carries to the replica servers (Pegasus's backup_engine). */
export const ONE_TIME_POLICY_PREFIX = 'fake_policy_';

/** The table envs a restored table carries, which tell its replicas where their data is. */
export const RESTORE_ENVS = {
  forceRestore: 'restore.force_restore',
  provider: 'restore.block_service_provider',
  clusterName: 'restore.cluster_name',
  policyName: 'restore.policy_name',
  appName: 'restore.app_name',
  appId: 'restore.app_id',
  backupId: 'restore.backup_id',
  skipBadPartition: 'restore.skip_bad_partition',
  restorePath: 'restore.restore_path',
} as const;

function join(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/').replace(/\/+/g, '/');
}

/** The root of the backups a replica server or the meta writes for `policyName`. */
export function backupRootFor(policyName: string, backupPath?: string): string {
  const root = coldBackupRoot.value;
  return policyName.startsWith(ONE_TIME_POLICY_PREFIX) ? join(backupPath ?? '', root) : join(root, policyName);
}

/** The root a restore reads from. */
export function restoreRootOf(clusterName: string, policyName: string, restorePath?: string): string {
  return join(restorePath ?? '', clusterName, policyName);
}

export const backupPaths = {
  backup: (root: string, backupId: bigint | number): string => join(root, String(backupId)),
  backupInfo: (root: string, backupId: bigint | number): string => join(root, String(backupId), 'backup_info'),
  app: (root: string, appName: string, appId: number, backupId: bigint | number): string => join(root, String(backupId), `${appName}_${appId}`),
  appMetadata: (root: string, appName: string, appId: number, backupId: bigint | number): string =>
    join(backupPaths.app(root, appName, appId, backupId), 'meta', 'app_metadata'),
  appBackupStatus: (root: string, appName: string, appId: number, backupId: bigint | number): string =>
    join(backupPaths.app(root, appName, appId, backupId), 'meta', 'app_backup_status'),
  partition: (root: string, appName: string, gpid: Gpid, backupId: bigint | number): string =>
    join(backupPaths.app(root, appName, gpid.appId, backupId), String(gpid.partitionIndex)),
  currentCheckpoint: (root: string, appName: string, gpid: Gpid, backupId: bigint | number): string =>
    join(backupPaths.partition(root, appName, gpid, backupId), 'current_checkpoint'),
};

/** `chkpt_<host>_<port>`: the checkpoint directory of the primary that uploaded it. */
export function checkpointDirName(self: string): string {
  const colon = self.lastIndexOf(':');
  return `chkpt_${self.slice(0, colon)}_${self.slice(colon + 1)}`;
}

export const BACKUP_METADATA_FILE = 'backup_metadata';
/** The one file a Pteron checkpoint directory holds: the store's logical checkpoint (storage/checkpoint-stream.ts), not RocksDB's SST files. */
export const BACKUP_CHECKPOINT_FILE = 'checkpoint.ptrn';

/** Pegasus's cold_backup_metadata: the checkpoint a partition's backup holds. */
export interface ColdBackupMetadata {
  checkpoint_decree: number;
  checkpoint_timestamp: number;
  files: Array<{ name: string; size: number; md5: string }>;
  checkpoint_total_size: number;
}

/** Parses a backup_metadata file; ERR_CORRUPTION when it is not one. */
export function parseColdBackupMetadata(text: string): ColdBackupMetadata {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PteronError('ERR_CORRUPTION', 'backup_metadata is not JSON');
  }
  const meta = parsed as Partial<ColdBackupMetadata>;
  const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  const filesOk = Array.isArray(meta.files) && meta.files.every((file) =>
    typeof file === 'object' && file !== null && typeof file.name === 'string' && /^[^/\\]+$/.test(file.name) && file.name !== '..' &&
    isCount(file.size) && typeof file.md5 === 'string');
  if (!isCount(meta.checkpoint_decree) || !isCount(meta.checkpoint_timestamp) || !filesOk || !isCount(meta.checkpoint_total_size)) {
    throw new PteronError('ERR_CORRUPTION', 'backup_metadata does not have the fields of a cold backup checkpoint');
  }
  return meta as ColdBackupMetadata;
}
