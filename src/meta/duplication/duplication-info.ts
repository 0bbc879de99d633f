// One duplication as the meta keeps it (Pegasus's duplication_info): its identity, status and
// fail mode, and per partition the confirmed decree stored in the state store, the one last
// reported, the last committed decree and whether the checkpoint is prepared. Pure: the service
// (service.ts) does the store writes and calls these to decide what to write.
import type { ErrorName } from '../../base/index.ts';
import { duplicationFailModeName as failModeName, duplicationStatusName as statusName } from '../../cluster/duplication-json.ts';
import {
  DuplicationFailMode, DuplicationStatus, type DuplicationConfirmEntry, type DuplicationEntry, type DuplicationPartitionState,
} from '../../wire/index.ts';

/** Pegasus's invalid_decree: no progress yet. */
export const INVALID_DECREE = -1n;

export interface PartitionProgress {
  /** The confirmed decree the state store holds. */
  storedDecree: bigint;
  /** The highest confirmed decree reported (at least storedDecree). */
  volatileDecree: bigint;
  /** The primary's last committed decree, as last reported (not stored). */
  lastCommittedDecree: bigint;
  checkpointPrepared: boolean;
  /** When the stored decree last moved, on the meta's clock. */
  lastUpdateMs: number;
}

export interface DuplicationInfo {
  readonly dupid: number;
  readonly appId: number;
  readonly appName: string;
  readonly partitionCount: number;
  readonly remoteClusterName: string;
  readonly remoteAppName: string;
  readonly remoteReplicaCount: number;
  readonly createTimestampMs: number;
  status: DuplicationStatus;
  failMode: DuplicationFailMode;
  /** Per partition index; every partition has one. */
  readonly progress: PartitionProgress[];
}

export function newProgress(confirmedDecree: bigint): PartitionProgress {
  return { storedDecree: confirmedDecree, volatileDecree: confirmedDecree, lastCommittedDecree: INVALID_DECREE, checkpointPrepared: false, lastUpdateMs: 0 };
}

/** Pegasus's is_valid_alteration: the moves the status machine allows (the same status is always allowed). */
export function isValidAlteration(from: DuplicationStatus, to: DuplicationStatus): boolean {
  if (to === from || to === DuplicationStatus.DS_REMOVED) return true;
  switch (to) {
    case DuplicationStatus.DS_PREPARE: return from === DuplicationStatus.DS_INIT;
    case DuplicationStatus.DS_APP: return from === DuplicationStatus.DS_PREPARE;
    case DuplicationStatus.DS_LOG:
      return from === DuplicationStatus.DS_PAUSE || from === DuplicationStatus.DS_APP || from === DuplicationStatus.DS_INIT;
    case DuplicationStatus.DS_PAUSE: return from === DuplicationStatus.DS_LOG;
    default: return false;
  }
}

/**
 * Whether the duplication may go to `to` with `failMode` (Pegasus's alter_status): ERR_OK, also
 * when nothing changes; ERR_OBJECT_NOT_FOUND once removed; ERR_INVALID_PARAMETERS for a move the
 * status machine does not allow.
 */
export function checkAlteration(dup: Pick<DuplicationInfo, 'status'>, to: DuplicationStatus): ErrorName {
  if (dup.status === DuplicationStatus.DS_REMOVED) return 'ERR_OBJECT_NOT_FOUND';
  if (!(to in DuplicationStatus) || !isValidAlteration(dup.status, to)) return 'ERR_INVALID_PARAMETERS';
  return 'ERR_OK';
}

/** The status a new duplication starts in: DS_PREPARE to copy a checkpoint first, else DS_LOG at once. */
export function initialStatus(isDuplicatingCheckpoint: boolean): DuplicationStatus {
  return isDuplicatingCheckpoint ? DuplicationStatus.DS_PREPARE : DuplicationStatus.DS_LOG;
}

/**
 * Takes a primary's report for one partition (Pegasus's alter_progress): the last committed
 * decree and checkpoint flag always; the confirmed decree only forward. Returns the decree to
 * store, or undefined when the stored one stands (unchanged, or moved less than
 * `minUpdatePeriodMs` ago).
 */
export function takeConfirm(progress: PartitionProgress, confirm: DuplicationConfirmEntry, nowMs: number, minUpdatePeriodMs: number): bigint | undefined {
  if (confirm.lastCommittedDecree !== undefined) progress.lastCommittedDecree = confirm.lastCommittedDecree;
  progress.checkpointPrepared = confirm.checkpointPrepared ?? false;
  if (confirm.confirmedDecree > progress.volatileDecree) progress.volatileDecree = confirm.confirmedDecree;
  if (progress.volatileDecree === progress.storedDecree) return undefined;
  if (progress.lastUpdateMs !== 0 && nowMs < progress.lastUpdateMs + minUpdatePeriodMs) return undefined;
  return progress.volatileDecree;
}

/** Every partition has prepared its checkpoint for the follower. */
export function allCheckpointsPrepared(dup: DuplicationInfo): boolean {
  return dup.progress.every((progress) => progress.checkpointPrepared);
}

/** A duplication that has not been removed makes its table `duplicating`. */
export function isActive(dup: DuplicationInfo): boolean {
  return dup.status !== DuplicationStatus.DS_REMOVED && dup.status !== DuplicationStatus.DS_INIT;
}

function duplicationLevelEntry(dup: DuplicationInfo): DuplicationEntry {
  return {
    dupid: dup.dupid,
    status: dup.status,
    remote: dup.remoteClusterName,
    createTs: BigInt(dup.createTimestampMs),
    failMode: dup.failMode,
    remoteAppName: dup.remoteAppName,
    remoteReplicaCount: dup.remoteReplicaCount,
  };
}

/** The entry a replica server gets in its sync answer: the stored confirmed decree per partition. */
export function syncEntry(dup: DuplicationInfo): DuplicationEntry {
  return { ...duplicationLevelEntry(dup), progress: new Map(dup.progress.map((progress, index) => [index, progress.storedDecree])) };
}

/** The entry of query and list answers: confirmed and last committed decree per partition. */
export function listEntry(dup: DuplicationInfo): DuplicationEntry {
  const states = new Map<number, DuplicationPartitionState>(
    dup.progress.map((progress, index) => [index, { confirmedDecree: progress.storedDecree, lastCommittedDecree: progress.lastCommittedDecree }]),
  );
  return { ...duplicationLevelEntry(dup), partitionStates: states };
}

// ---------------------------------------------------------------------------------------------
// the store's form: <app>/duplication/<dupid> holds this JSON, <app>/duplication/<dupid>/<pidx>
// the partition's confirmed decree as decimal text

/** What <app>/duplication/<dupid> holds (Pegasus's json_helper, in its field order). */
export interface StoredDuplication {
  remote: string;
  status: DuplicationStatus;
  createTimestampMs: number;
  failMode: DuplicationFailMode;
  remoteAppName: string;
  remoteReplicaCount: number;
}

export function storedDuplicationToJson(dup: StoredDuplication): string {
  return JSON.stringify({
    remote: dup.remote,
    status: statusName(dup.status),
    create_timestamp_ms: dup.createTimestampMs,
    fail_mode: failModeName(dup.failMode),
    remote_app_name: dup.remoteAppName,
    remote_replica_count: dup.remoteReplicaCount,
  });
}

/**
 * Reads a stored duplication; throws on JSON that is not one. As Pegasus decodes it: an unknown
 * status reads as DS_REMOVED, an unknown fail mode as FAIL_SLOW, a missing remote app name or
 * replica count (written before they existed) as the table's own.
 */
export function storedDuplicationFromJson(text: string, appName: string, appReplicaCount: number): StoredDuplication {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
  const record = value as Record<string, unknown>;
  if (typeof record.remote !== 'string' || record.remote === '') throw new Error('"remote" is not a cluster name');
  if (typeof record.create_timestamp_ms !== 'number') throw new Error('"create_timestamp_ms" is not a number');
  const status = DuplicationStatus[record.status as keyof typeof DuplicationStatus];
  const failMode = DuplicationFailMode[record.fail_mode as keyof typeof DuplicationFailMode];
  const remoteAppName = typeof record.remote_app_name === 'string' && record.remote_app_name !== '' ? record.remote_app_name : appName;
  const replicaCount = typeof record.remote_replica_count === 'number' && record.remote_replica_count > 0 ? record.remote_replica_count : appReplicaCount;
  return {
    remote: record.remote,
    status: typeof status === 'number' ? status : DuplicationStatus.DS_REMOVED,
    createTimestampMs: record.create_timestamp_ms,
    failMode: typeof failMode === 'number' ? failMode : DuplicationFailMode.FAIL_SLOW,
    remoteAppName,
    remoteReplicaCount: replicaCount,
  };
}

/** A stored confirmed decree; undefined for text that is not a decimal integer. */
export function parseStoredDecree(text: string): bigint | undefined {
  return /^-?\d+$/.test(text) ? BigInt(text) : undefined;
}
