// Backup policies and the backups they made (Pegasus's meta_backup_service.h): their checks,
// their schedule and their JSON in the meta state store, as Pegasus writes them. Pure: no I/O.
import { backupIntervalSecondsMin, coldBackupCheckpointReserveMinutes } from './flags.ts';

/** `hour:minute` in local time; hour 24 means "any time" (Pegasus keeps it for tests). */
export interface StartTime {
  hour: number;
  minute: number;
}

export interface Policy {
  policyName: string;
  backupProviderType: string;
  appIds: number[];
  appNames: Map<number, string>;
  backupIntervalSeconds: number;
  backupHistoryCountToKeep: number;
  isDisable: boolean;
  startTime: StartTime;
}

/** One backup of a policy: under way while `endTimeMs` is 0. */
export interface BackupInfo {
  backupId: number;
  startTimeMs: number;
  endTimeMs: number;
  appIds: number[];
  appNames: Map<number, string>;
}

/**
 * Pegasus's backup_start_time::parse_from: `h:m` read as two integers; an hour above 24, 24
 * with minutes, or minutes from 60 become 24:00 and count as invalid; text that is not `h:m`
 * leaves `previous` as it is.
 */
export function parseStartTime(text: string, previous: StartTime): { time: StartTime; valid: boolean } {
  const match = /^\s*([+-]?\d+)\s*:\s*([+-]?\d+)/.exec(text);
  if (!match) return { time: previous, valid: false };
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  if (hour > 24 || (hour === 24 && minute !== 0) || minute >= 60) return { time: { hour: 24, minute: 0 }, valid: false };
  return { time: { hour, minute }, valid: true };
}

export function formatStartTime(time: StartTime): string {
  return `${String(time.hour).padStart(2, '0')}:${String(time.minute).padStart(2, '0')}`;
}

/** Why a policy may not back up every `seconds`, or undefined when it may. */
export function backupIntervalProblem(seconds: number): string | undefined {
  const reserveMinutes = coldBackupCheckpointReserveMinutes.value;
  if (seconds <= reserveMinutes * 60) return `backup interval must be larger than cold_backup_checkpoint_reserve_minutes=${reserveMinutes}`;
  const min = backupIntervalSecondsMin.value;
  if (seconds < min) return min === 86400 ? 'backup interval must be >= 86400 (1 day)' : `backup interval must be >= ${min}`;
  return undefined;
}

/** Why `name` cannot name a policy (it becomes a metric label), or undefined. Existing names are the caller's check. */
export function policyNameProblem(name: string): string | undefined {
  if (name.includes('backup_info')) return 'policy name is reserved';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) {
    return 'policy name should match regex \'[a-zA-Z_:][a-zA-Z0-9_:]*\' when act as a metric name in prometheus';
  }
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) {
    return 'policy name should match regex \'[a-zA-Z_][a-zA-Z0-9_]*\' when act as a metric label in prometheus';
  }
  return undefined;
}

/**
 * Whether a policy's next backup is due at `nowMs` (policy_context::should_start_backup_unlocked):
 * the first one in the start hour, later ones an interval after the last start (corrected for
 * how late that one started against the start time) and again in the start hour.
 */
export function shouldStartBackup(policy: Policy, lastStartMs: number | undefined, nowMs: number): boolean {
  const inStartHour = (): boolean => policy.startTime.hour === 24 || new Date(nowMs).getHours() === policy.startTime.hour;
  if (lastStartMs === undefined) return inStartHour();
  let nextMs = lastStartMs + policy.backupIntervalSeconds * 1000;
  if (policy.startTime.hour !== 24) {
    const last = new Date(lastStartMs);
    const driftMs = ((last.getHours() - policy.startTime.hour) * 60 + (last.getMinutes() - policy.startTime.minute)) * 60_000;
    if (driftMs >= 0) nextMs -= driftMs;
  }
  return nextMs <= nowMs && inStartHour();
}

function mapToJson(map: Map<number, string>): Record<string, string> {
  return Object.fromEntries([...map].sort(([a], [b]) => a - b).map(([id, name]) => [String(id), name]));
}

function mapFromJson(value: unknown): Map<number, string> {
  const map = new Map<number, string>();
  if (typeof value === 'object' && value !== null) {
    for (const [id, name] of Object.entries(value)) if (typeof name === 'string' && Number.isSafeInteger(Number(id))) map.set(Number(id), name);
  }
  return map;
}

function idsFromJson(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((id): id is number => Number.isSafeInteger(id)).sort((a, b) => a - b) : [];
}

function numberField(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** The policy as Pegasus stores it (`<cluster_root>/backup/<policy_name>`). */
export function policyToJson(policy: Policy): string {
  return JSON.stringify({
    policy_name: policy.policyName,
    backup_provider_type: policy.backupProviderType,
    app_ids: [...policy.appIds].sort((a, b) => a - b),
    app_names: mapToJson(policy.appNames),
    backup_interval_seconds: policy.backupIntervalSeconds,
    backup_history_count_to_keep: policy.backupHistoryCountToKeep,
    is_disable: policy.isDisable,
    start_time: { hour: policy.startTime.hour, minute: policy.startTime.minute },
  });
}

export function policyFromJson(text: string): Policy {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const start = (raw.start_time ?? {}) as Record<string, unknown>;
  if (typeof raw.policy_name !== 'string' || typeof raw.backup_provider_type !== 'string') throw new Error('not a backup policy');
  return {
    policyName: raw.policy_name,
    backupProviderType: raw.backup_provider_type,
    appIds: idsFromJson(raw.app_ids),
    appNames: mapFromJson(raw.app_names),
    backupIntervalSeconds: numberField(raw.backup_interval_seconds),
    backupHistoryCountToKeep: numberField(raw.backup_history_count_to_keep, 1),
    isDisable: raw.is_disable === true,
    startTime: { hour: numberField(start.hour), minute: numberField(start.minute) },
  };
}

/** A backup as Pegasus stores it (`<cluster_root>/backup/<policy_name>/<backup_id>`, and `backup_info` on the block service). */
export function backupInfoToJson(info: BackupInfo): string {
  return JSON.stringify({
    backup_id: info.backupId,
    start_time_ms: info.startTimeMs,
    end_time_ms: info.endTimeMs,
    app_ids: [...info.appIds].sort((a, b) => a - b),
    app_names: mapToJson(info.appNames),
    info_status: 1,
  });
}

export function backupInfoFromJson(text: string): BackupInfo {
  const raw = JSON.parse(text) as Record<string, unknown>;
  if (!Number.isSafeInteger(raw.backup_id)) throw new Error('not a backup_info');
  return {
    backupId: raw.backup_id as number,
    startTimeMs: numberField(raw.start_time_ms),
    endTimeMs: numberField(raw.end_time_ms),
    appIds: idsFromJson(raw.app_ids),
    appNames: mapFromJson(raw.app_names),
  };
}
