// The deterministic core of a replica's manual compaction, as Pegasus's manual compact service
// decides it: which `manual_compact.*` table envs ask for a compaction now, whether one may be
// queued, and the replica's status (IDLE / QUEUING / RUNNING / FINISHED). It holds no timers and
// does no I/O; every step takes the time (milliseconds since the Unix epoch) as an argument.
import { compositeKeyHash } from '../base/index.ts';
import { parseCInteger } from '../config/index.ts';
import type { ManualCompactStatus } from '../cluster/index.ts';

export const ENV_DISABLED = 'manual_compact.disabled';
export const ENV_MAX_CONCURRENT_RUNNING_COUNT = 'manual_compact.max_concurrent_running_count';
const ONCE_PREFIX = 'manual_compact.once.';
const PERIODIC_PREFIX = 'manual_compact.periodic.';

/**
 * LevelDB's fixed number of levels (config::kNumLevels), standing in for RocksDB's `num_levels`
 * when a `target_level` env is checked.
 */
export const LEVELDB_NUM_LEVELS = 7;

const INT32_MAX = 0x7fffffff;

export type CompactRule = 'once' | 'periodic';

/**
 * The RocksDB CompactRange options a rule's envs set, parsed as Pegasus does (an invalid value
 * falls back to the default). LevelDB's compactRange has neither option: it always pushes the
 * range down through every level that holds it and rewrites the bottommost level too, which is
 * RocksDB's `target_level = -1` with `bottommost_level_compaction = force`; the replica store's
 * compaction pass applies the TTL filter to every record whatever these say. They are kept so the
 * compaction reports what was asked for.
 */
export interface CompactRangeSettings {
  /** -1: the level the data already reaches; otherwise a level in [1, LEVELDB_NUM_LEVELS]. */
  targetLevel: number;
  bottommostLevelCompaction: 'force' | 'skip';
}

export interface CompactRequest {
  rule: CompactRule;
  settings: CompactRangeSettings;
}

/** Why evaluate() queued nothing (logged by the I/O shell when it matters). */
export type NotQueuedReason = 'disabled' | 'max_concurrent_running_count' | 'not_due' | 'busy_or_too_soon';

function int32Of(text: string): number | undefined {
  const value = parseCInteger(text, false);
  return value === undefined || value < -2147483648n || value > BigInt(INT32_MAX) ? undefined : Number(value);
}

function int64Of(text: string): bigint | undefined {
  const value = parseCInteger(text, false);
  return value === undefined || value < -(2n ** 63n) || value >= 2n ** 63n ? undefined : value;
}

/** `manual_compact.disabled`: only the exact text `true` disables, as in Pegasus. */
export function isDisabled(envs: Readonly<Record<string, string>>): boolean {
  return envs[ENV_DISABLED] === 'true';
}

/** `manual_compact.max_concurrent_running_count`; absent or invalid: no limit (INT32_MAX). */
export function maxConcurrentRunningCount(envs: Readonly<Record<string, string>>): number {
  const text = envs[ENV_MAX_CONCURRENT_RUNNING_COUNT];
  return (text === undefined ? undefined : int32Of(text)) ?? INT32_MAX;
}

/** `manual_compact.once.trigger_time` (seconds) is later than the last finish (seconds). */
export function isOnceDue(envs: Readonly<Record<string, string>>, lastFinishMs: number): boolean {
  const text = envs[`${ONCE_PREFIX}trigger_time`];
  if (text === undefined) return false;
  const triggerSeconds = int64Of(text);
  if (triggerSeconds === undefined || triggerSeconds <= 0n) return false;
  return triggerSeconds > BigInt(Math.floor(lastFinishMs / 1000));
}

/** `H:MM` as sscanf("%d:%d") reads it, hour in [0, 23] and minute in [0, 59]: seconds of the day. */
export function secondsOfDay(text: string): number | undefined {
  const match = /^\s*([+-]?\d+):\s*([+-]?\d+)/.exec(text);
  if (!match) return undefined;
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  return hour * 3600 + minute * 60;
}

/** Local midnight of the day `nowMs` falls on. */
export function localMidnightMs(nowMs: number): number {
  const day = new Date(nowMs);
  day.setHours(0, 0, 0, 0);
  return day.getTime();
}

/**
 * `manual_compact.periodic.trigger_time` (`H:MM[,H:MM...]`, local times): one of today's times
 * lies after the last finish and before now.
 */
export function isPeriodicDue(envs: Readonly<Record<string, string>>, lastFinishMs: number, nowMs: number): boolean {
  const text = envs[`${PERIODIC_PREFIX}trigger_time`];
  if (text === undefined) return false;
  const midnightMs = localMidnightMs(nowMs);
  for (const part of text.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const seconds = secondsOfDay(trimmed);
    if (seconds === undefined) continue;
    // Local midnight plus the time of day, as Pegasus's mktime(midnight) + seconds.
    const triggerMs = midnightMs + seconds * 1000;
    if (lastFinishMs < triggerMs && triggerMs < nowMs) return true;
  }
  return false;
}

/** The `<rule>.target_level` and `<rule>.bottommost_level_compaction` envs, defaults for invalid values. */
export function compactRangeSettings(envs: Readonly<Record<string, string>>, rule: CompactRule): CompactRangeSettings {
  const prefix = rule === 'once' ? ONCE_PREFIX : PERIODIC_PREFIX;
  const settings: CompactRangeSettings = { targetLevel: -1, bottommostLevelCompaction: 'skip' };
  const levelText = envs[`${prefix}target_level`];
  if (levelText !== undefined) {
    const level = int32Of(levelText);
    if (level !== undefined && (level === -1 || (level >= 1 && level <= LEVELDB_NUM_LEVELS))) settings.targetLevel = level;
  }
  const bottommost = envs[`${prefix}bottommost_level_compaction`];
  if (bottommost === 'force' || bottommost === 'skip') settings.bottommostLevelCompaction = bottommost;
  return settings;
}

/** What `replica.query-compact` prints per replica (Pegasus's query_compact_state), times formatted by the caller. */
export interface CompactStateReport {
  last_finish: string;
  last_used_ms: string;
  recent_enqueue_at: string;
  recent_start_at: string;
}

/**
 * One replica's manual-compaction state. At most one compaction is queued or running at a time;
 * a queued one starts when the I/O shell got it a slot (begin) and ends with end() or fail().
 */
export class ManualCompactCore {
  private enqueueMs = 0;
  private startMs = 0;
  private lastFinishMs = 0;
  private lastUsedMs = 0;
  private disabledNow = false;
  private maxRunning = INT32_MAX;

  /** The last finish time restored from the store. */
  restoreLastFinish(lastFinishMs: number): void {
    this.lastFinishMs = lastFinishMs;
  }

  get disabled(): boolean {
    return this.disabledNow;
  }

  /** How many manual compactions of this table may run at once on this server. */
  get maxConcurrentRunningCount(): number {
    return this.maxRunning;
  }

  get lastFinishTimeMs(): number {
    return this.lastFinishMs;
  }

  get queued(): boolean {
    return this.enqueueMs > 0 && this.startMs === 0;
  }

  get running(): boolean {
    return this.startMs > 0;
  }

  /**
   * The envs arrived (or the periodic check came): returns the compaction to queue now, if one
   * is due and none is queued or running, and the last one finished more than
   * `minIntervalSeconds` ago (<= 0: no limit).
   */
  evaluate(envs: Readonly<Record<string, string>>, nowMs: number, minIntervalSeconds: number): CompactRequest | NotQueuedReason {
    this.disabledNow = isDisabled(envs);
    this.maxRunning = maxConcurrentRunningCount(envs);
    if (this.disabledNow) return 'disabled';
    if (this.maxRunning <= 0) return 'max_concurrent_running_count';
    let rule: CompactRule | undefined;
    if (isOnceDue(envs, this.lastFinishMs)) rule = 'once';
    else if (isPeriodicDue(envs, this.lastFinishMs, nowMs)) rule = 'periodic';
    if (rule === undefined) return 'not_due';
    const intervalPassed = minIntervalSeconds <= 0 || this.lastFinishMs === 0 || nowMs - this.lastFinishMs > minIntervalSeconds * 1000;
    if (!intervalPassed || this.enqueueMs !== 0) return 'busy_or_too_soon';
    this.enqueueMs = nowMs;
    return { rule, settings: compactRangeSettings(envs, rule) };
  }

  /** A slot was granted: starts the queued compaction, unless compaction was disabled meanwhile (then it is dropped). */
  begin(nowMs: number): boolean {
    if (this.enqueueMs === 0) return false;
    if (this.disabledNow) {
      this.enqueueMs = 0;
      return false;
    }
    this.startMs = nowMs;
    return true;
  }

  end(finishMs: number): void {
    this.lastFinishMs = finishMs;
    // At least 1 ms: Pegasus reports a compaction that took 0 ms as IDLE, never FINISHED.
    this.lastUsedMs = Math.max(1, finishMs - this.startMs);
    this.enqueueMs = 0;
    this.startMs = 0;
  }

  /** The queued compaction was dropped, or the running one failed: back to the state before it. */
  drop(): void {
    this.enqueueMs = 0;
    this.startMs = 0;
  }

  /** Pegasus's query_compact_status(). */
  status(): ManualCompactStatus {
    if (this.startMs > 0) return 'RUNNING';
    if (this.enqueueMs > 0) return 'QUEUING';
    if (this.lastUsedMs > 0 && this.lastFinishMs > 0) return 'FINISHED';
    return 'IDLE';
  }

  /** Pegasus's query_compact_state(); `formatSeconds` prints a Unix time in seconds. */
  report(formatSeconds: (unixSeconds: number) => string): CompactStateReport {
    const at = (ms: number): string => (ms > 0 ? formatSeconds(Math.floor(ms / 1000)) : '-');
    return {
      last_finish: at(this.lastFinishMs),
      last_used_ms: this.lastUsedMs > 0 ? String(this.lastUsedMs) : '-',
      recent_enqueue_at: at(this.enqueueMs),
      recent_start_at: at(this.startMs),
    };
  }
}

/** `yyyy-MM-dd hh:mm:ss` in local time, as Pegasus's time_s_to_date_time. */
export function localDateTime(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const two = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/**
 * After a partition split each half still holds the other half's keys until compaction drops
 * them: with `replica.split.validate_partition_hash`, a key whose hash masked by the partition
 * version (partition count - 1) is not this partition's index is stale. Undefined when nothing
 * can be judged stale (no partition count known, or an index outside it).
 */
export function staleSplitKeyPredicate(partitionIndex: number, partitionCount: number): ((compositeKey: Buffer) => boolean) | undefined {
  const partitionVersion = partitionCount - 1;
  if (partitionVersion < 0 || partitionIndex > partitionVersion) return undefined;
  const mask = BigInt(partitionVersion);
  return (compositeKey) => Number(compositeKeyHash(compositeKey) & mask) !== partitionIndex;
}
