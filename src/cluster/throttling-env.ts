// The values of the throttling table envs, parsed as Pegasus parses them: the meta checks them
// with these functions and the replicas build their throttling controllers from the result, so
// a value the meta accepts is one every replica understands.
//
//   replica.write_throttling, replica.write_throttling_by_size, replica.read_throttling:
//     `<units>[K|M]*delay*<ms>` and/or `<units>[K|M]*reject*<ms>`, comma-separated;
//   replica.read_throttling_by_size (a token bucket, reject only):
//     `<units>[K|M]`, or the same rules as above, where only the reject rule counts.
//
// Units are uint64 (strtoull base 0, so `0x10` and `010` are numbers too); K is 2^10, M 2^20.
import { parseCInteger } from '../config/index.ts';

const UINT64_MAX = 2n ** 64n - 1n;

/** Units and milliseconds of a table's rules; 0 units: the rule is absent. */
export interface ThrottlingRules {
  delayUnits: bigint;
  delayMs: bigint;
  rejectUnits: bigint;
  rejectDelayMs: bigint;
}

/** What a value that does not parse gets: Pegasus's hint message. */
export interface ThrottlingParseError {
  hint: string;
}

/** read_throttling_by_size: bytes per second of the whole table, or disabled (a lone delay rule). */
export interface SizeThrottlingRate {
  rejectBytes: bigint;
  enabled: boolean;
}

/** Pegasus's buf2uint64: the whole text is one unsigned 64-bit number. */
function parseUint64(text: string): bigint | undefined {
  if (text === '') return undefined;
  const value = parseCInteger(text, true);
  return value !== undefined && value <= UINT64_MAX ? value : undefined;
}

/** Pegasus's split_args: pieces with leading blanks and trailing blanks/newlines removed. */
function splitTrimmed(text: string, separator: string, keepEmpty: boolean): string[] {
  const pieces = text.split(separator).map((piece) => piece.replace(/^[ \t]+/, '').replace(/[ \t\r\n]+$/, ''));
  return keepEmpty ? pieces : pieces.filter((piece) => piece !== '');
}

/** `<unsigned>[K|M]`: the number of units it stands for. */
export function parseThrottlingUnits(text: string): bigint | ThrottlingParseError {
  const multiplier = text.endsWith('M') ? 1n << 20n : text.endsWith('K') ? 1n << 10n : 1n;
  const digits = multiplier === 1n ? text : text.slice(0, -1);
  const value = parseUint64(digits);
  if (value === undefined) return { hint: `'${digits}' should be an unsigned integer` };
  if (value * multiplier > UINT64_MAX) return { hint: `'${digits}' result is overflow` };
  return value * multiplier;
}

type RuleParse = { units: bigint; ms: bigint } | { fail: string } | { otherAction: string };

/** One `<units>*<action>*<ms>` rule, read as an `action` rule. */
function parseRule(rule: string, action: 'delay' | 'reject'): RuleParse {
  const fields = splitTrimmed(rule, '*', true);
  if (fields.length !== 3) return { fail: `The field count of '${rule}' separated by '*' must be 3` };
  const [unitsText, actionText, msText] = fields as [string, string, string];
  const units = parseThrottlingUnits(unitsText);
  if (typeof units !== 'bigint') return { fail: units.hint };
  if (actionText !== action) return { otherAction: `'${actionText}' should be 'delay' or 'reject'` };
  const ms = parseUint64(msText);
  if (ms === undefined) return { fail: `'${msText}' should be an unsigned integer` };
  return { units, ms };
}

/** The delay and reject rules of a throttling value (Pegasus's check_throttling). */
export function parseThrottlingRules(value: string): ThrottlingRules | ThrottlingParseError {
  const rules = splitTrimmed(value, ',', false);
  if (rules.length === 0) return { hint: "The value shouldn't be empty" };
  const parsed: ThrottlingRules = { delayUnits: 0n, delayMs: 0n, rejectUnits: 0n, rejectDelayMs: 0n };
  let delaySeen = false;
  let rejectSeen = false;
  for (const rule of rules) {
    const asDelay = parseRule(rule, 'delay');
    if ('fail' in asDelay) return { hint: asDelay.fail };
    if ('units' in asDelay) {
      if (delaySeen) return { hint: "duplicate 'delay' config" };
      delaySeen = true;
      parsed.delayUnits = asDelay.units;
      parsed.delayMs = asDelay.ms;
      continue;
    }
    const asReject = parseRule(rule, 'reject');
    if ('fail' in asReject) return { hint: asReject.fail };
    if ('otherAction' in asReject) return { hint: asReject.otherAction };
    if (rejectSeen) return { hint: "duplicate 'reject' config" };
    rejectSeen = true;
    parsed.rejectUnits = asReject.units;
    parsed.rejectDelayMs = asReject.ms;
  }
  return parsed;
}

/**
 * replica.read_throttling_by_size (Pegasus's token-bucket controller): `200`, `200K`, a lone
 * delay rule (accepted, and throttles nothing: the bucket has no delay), or rules whose reject
 * rule gives the rate and must be above 0.
 */
export function parseSizeThrottlingRate(value: string): SizeThrottlingRate | ThrottlingParseError {
  const plain = parseUint64(value);
  if (plain !== undefined && plain > 0n) return { rejectBytes: plain, enabled: true };
  const withUnit = parseThrottlingUnits(value);
  if (typeof withUnit === 'bigint' && withUnit > 0n) return { rejectBytes: withUnit, enabled: true };
  if ('units' in parseRule(value, 'delay')) return { rejectBytes: 1n, enabled: false };
  const rules = parseThrottlingRules(value);
  if ('hint' in rules) return rules;
  if (rules.rejectUnits === 0n) return { hint: 'reject value should be greater than 0' };
  return { rejectBytes: rules.rejectUnits, enabled: true };
}
