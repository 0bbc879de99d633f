// The `user_specified_compaction` table env: operations (delete the record, or update its TTL)
// that compaction applies to the records all of whose rules match (hash key or sort key pattern,
// TTL range), as Pegasus's compaction_operation / compaction_filter_rule define them. The env is
// JSON: `{"ops":[{"type":"COT_DELETE"|"COT_UPDATE_TTL","params":"<json>","rules":[{"type":
// "FRT_HASHKEY_PATTERN"|"FRT_SORTKEY_PATTERN"|"FRT_TTL_RANGE","params":"<json>"}]}]}`, each
// `params` itself a JSON text. What does not decode is skipped as Pegasus skips it: a rule with bad
// params, an op of an unknown type or with no valid rule; an env that is not such JSON means none.
import { decodeKey, EPOCH_2016_UNIX_SECONDS, type StoredRecord } from '../storage/index.ts';

export const ENV_USER_SPECIFIED_COMPACTION = 'user_specified_compaction';

type MatchType = 'SMT_MATCH_ANYWHERE' | 'SMT_MATCH_PREFIX' | 'SMT_MATCH_POSTFIX' | 'SMT_INVALID';
type UpdateTtlType = 'UTOT_FROM_NOW' | 'UTOT_FROM_CURRENT' | 'UTOT_TIMESTAMP' | 'UTOT_INVALID';

type FilterRule =
  | { type: 'FRT_HASHKEY_PATTERN' | 'FRT_SORTKEY_PATTERN'; pattern: Buffer; matchType: MatchType }
  /** 0 and 0: records without a TTL; otherwise expire ts within [now + start, now + stop]. */
  | { type: 'FRT_TTL_RANGE'; startTtl: number; stopTtl: number };

export type UserCompactionOperation =
  | { type: 'COT_DELETE'; rules: FilterRule[] }
  | { type: 'COT_UPDATE_TTL'; updateType: UpdateTtlType; value: number; rules: FilterRule[] };

const UINT32_MAX = 0xffffffff;
const MATCH_TYPES: readonly MatchType[] = ['SMT_MATCH_ANYWHERE', 'SMT_MATCH_PREFIX', 'SMT_MATCH_POSTFIX'];
const UPDATE_TTL_TYPES: readonly UpdateTtlType[] = ['UTOT_FROM_NOW', 'UTOT_FROM_CURRENT', 'UTOT_TIMESTAMP'];

function jsonObject(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= UINT32_MAX;
}

/** An enum field as Pegasus's JSON decodes it: a known name, or its INVALID value. */
function enumOf<T extends string>(value: unknown, known: readonly T[], invalid: T): T {
  return typeof value === 'string' && (known as readonly string[]).includes(value) ? (value as T) : invalid;
}

function parseRule(rule: unknown): FilterRule | undefined {
  if (rule === null || typeof rule !== 'object') return undefined;
  const { type, params } = rule as Record<string, unknown>;
  const fields = jsonObject(params);
  if (fields === undefined) return undefined;
  if (type === 'FRT_HASHKEY_PATTERN' || type === 'FRT_SORTKEY_PATTERN') {
    if (typeof fields.pattern !== 'string' || !('match_type' in fields)) return undefined;
    return { type, pattern: Buffer.from(fields.pattern, 'utf8'), matchType: enumOf(fields.match_type, MATCH_TYPES, 'SMT_INVALID') };
  }
  if (type === 'FRT_TTL_RANGE') {
    if (!isUint32(fields.start_ttl) || !isUint32(fields.stop_ttl)) return undefined;
    return { type, startTtl: fields.start_ttl, stopTtl: fields.stop_ttl };
  }
  return undefined;
}

function parseOperation(op: unknown): UserCompactionOperation | undefined {
  if (op === null || typeof op !== 'object') return undefined;
  const { type, params, rules } = op as Record<string, unknown>;
  if (typeof params !== 'string' || !Array.isArray(rules)) return undefined;
  const parsedRules = rules.map(parseRule).filter((rule): rule is FilterRule => rule !== undefined);
  if (parsedRules.length === 0) return undefined;
  if (type === 'COT_DELETE') return { type, rules: parsedRules };
  if (type === 'COT_UPDATE_TTL') {
    const fields = jsonObject(params);
    if (fields === undefined || !('type' in fields) || !isUint32(fields.value)) return undefined;
    return { type, updateType: enumOf(fields.type, UPDATE_TTL_TYPES, 'UTOT_INVALID'), value: fields.value, rules: parsedRules };
  }
  return undefined;
}

/** The operations of a `user_specified_compaction` env, in order; none when it does not decode. */
export function parseUserSpecifiedCompaction(text: string): UserCompactionOperation[] {
  const root = jsonObject(text);
  if (root === undefined || !Array.isArray(root.ops)) return [];
  return root.ops.map(parseOperation).filter((op): op is UserCompactionOperation => op !== undefined);
}

function patternMatches(value: Buffer, matchType: MatchType, pattern: Buffer): boolean {
  if (pattern.length === 0 || value.length < pattern.length) return false;
  switch (matchType) {
    case 'SMT_MATCH_ANYWHERE':
      return value.includes(pattern);
    case 'SMT_MATCH_PREFIX':
      return value.subarray(0, pattern.length).equals(pattern);
    case 'SMT_MATCH_POSTFIX':
      return value.subarray(value.length - pattern.length).equals(pattern);
    default:
      return false;
  }
}

/** Pegasus adds these as uint32_t: the sums wrap. */
const uint32 = (value: number): number => value >>> 0;

function ruleMatches(rule: FilterRule, hashKey: Buffer, sortKey: Buffer, expireTs: number, now: number): boolean {
  switch (rule.type) {
    case 'FRT_HASHKEY_PATTERN':
      return patternMatches(hashKey, rule.matchType, rule.pattern);
    case 'FRT_SORTKEY_PATTERN':
      return patternMatches(sortKey, rule.matchType, rule.pattern);
    case 'FRT_TTL_RANGE':
      if (expireTs === 0 && rule.startTtl === 0 && rule.stopTtl === 0) return true;
      return uint32(rule.startTtl + now) <= expireTs && uint32(rule.stopTtl + now) >= expireTs;
  }
}

/** The new expire ts an update gives a record, or undefined when it leaves it alone. */
function updatedExpireTs(op: Extract<UserCompactionOperation, { type: 'COT_UPDATE_TTL' }>, expireTs: number, now: number): number | undefined {
  switch (op.updateType) {
    case 'UTOT_FROM_NOW':
      return uint32(now + op.value);
    case 'UTOT_FROM_CURRENT':
      return expireTs === 0 ? undefined : uint32(op.value + expireTs);
    case 'UTOT_TIMESTAMP':
      // `value` is a Unix time: it becomes seconds since 2016.
      return uint32(op.value - EPOCH_2016_UNIX_SECONDS);
    default:
      return undefined;
  }
}

/**
 * The compaction pass's verdict for a live record (`now` and its expire ts in seconds since
 * 2016): 'drop' when a matching delete comes first, otherwise the expire ts the last matching
 * update sets. Every operation sees the record as it was, as Pegasus's filter passes each the
 * same existing value.
 */
export function applyUserOperations(operations: readonly UserCompactionOperation[], record: StoredRecord, now: number): 'drop' | number | undefined {
  if (operations.length === 0) return undefined;
  const { hashKey, sortKey } = decodeKey(record.key);
  let expireTs: number | undefined;
  for (const op of operations) {
    if (!op.rules.every((rule) => ruleMatches(rule, hashKey, sortKey, record.expireTs, now))) continue;
    if (op.type === 'COT_DELETE') return 'drop';
    expireTs = updatedExpireTs(op, record.expireTs, now) ?? expireTs;
  }
  return expireTs;
}
