// The small decisions RRDB operations share: key filters (multi_get, scanners), the check of
// check_and_set / check_and_mutate, and Pegasus's integer parsing for incr and integer checks.
import { parseCInteger } from '../config/index.ts';
import { CasCheckType, FilterType } from '../wire/index.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT64_TEXT_BYTES_MAX = 1024;

export function isFilterTypeSupported(type: number): boolean {
  return type >= FilterType.FT_NO_FILTER && type <= FilterType.FT_MATCH_POSTFIX;
}

/**
 * True when `bytes` passes the filter. An empty pattern passes everything; a pattern longer than
 * the bytes passes nothing. Callers check the type with isFilterTypeSupported first.
 */
export function matchesFilter(type: number, pattern: Buffer, bytes: Buffer): boolean {
  if (type === FilterType.FT_NO_FILTER || pattern.length === 0) return true;
  if (bytes.length < pattern.length) return false;
  switch (type) {
    case FilterType.FT_MATCH_ANYWHERE:
      return bytes.indexOf(pattern) >= 0;
    case FilterType.FT_MATCH_PREFIX:
      return bytes.subarray(0, pattern.length).equals(pattern);
    case FilterType.FT_MATCH_POSTFIX:
      return bytes.subarray(bytes.length - pattern.length).equals(pattern);
    default:
      return false;
  }
}

/**
 * Pegasus's buf2int64: the C library's strtoll with base 0 over all of the bytes (leading blanks,
 * a sign, `0x` hex and leading-zero octal accepted, nothing after the digits), within int64.
 * Undefined for anything else, the empty value included.
 */
export function parseInt64(bytes: Buffer): bigint | undefined {
  // Longer texts are int64 only with runs of blanks or leading zeros; they are refused unparsed.
  if (bytes.length === 0 || bytes.length > INT64_TEXT_BYTES_MAX) return undefined;
  const value = parseCInteger(bytes.toString('latin1'), false);
  if (value === undefined || value < INT64_MIN || value > INT64_MAX) return undefined;
  return value;
}

/** `a + b` when it fits int64, otherwise undefined. */
export function addInt64(a: bigint, b: bigint): bigint | undefined {
  const sum = a + b;
  return sum < INT64_MIN || sum > INT64_MAX ? undefined : sum;
}

export function isCheckTypeSupported(type: number): boolean {
  return type >= CasCheckType.CT_NO_CHECK && type <= CasCheckType.CT_VALUE_INT_GREATER;
}

export interface CheckVerdict {
  passed: boolean;
  /** An integer check met a value or operand that is not an int64: the answer is kInvalidArgument. */
  invalidArgument: boolean;
}

const PASS: CheckVerdict = { passed: true, invalidArgument: false };
const FAIL: CheckVerdict = { passed: false, invalidArgument: false };
const INVALID: CheckVerdict = { passed: false, invalidArgument: true };
const verdict = (passed: boolean): CheckVerdict => (passed ? PASS : FAIL);

/** Orders with equality: LESS, LESS_OR_EQUAL, EQUAL, GREATER_OR_EQUAL, GREATER, as offsets from the first. */
function orderPasses(offset: number, order: number): boolean {
  if (order < 0) return offset <= 1;
  if (order > 0) return offset >= 3;
  return offset >= 1 && offset <= 3;
}

/** Evaluates a check of check_and_set / check_and_mutate against the current value. */
export function evaluateCheck(type: CasCheckType, operand: Buffer, exists: boolean, value: Buffer): CheckVerdict {
  switch (type) {
    case CasCheckType.CT_NO_CHECK:
      return PASS;
    case CasCheckType.CT_VALUE_NOT_EXIST:
      return verdict(!exists);
    case CasCheckType.CT_VALUE_NOT_EXIST_OR_EMPTY:
      return verdict(!exists || value.length === 0);
    case CasCheckType.CT_VALUE_EXIST:
      return verdict(exists);
    case CasCheckType.CT_VALUE_NOT_EMPTY:
      return verdict(exists && value.length > 0);
    case CasCheckType.CT_VALUE_MATCH_ANYWHERE:
    case CasCheckType.CT_VALUE_MATCH_PREFIX:
    case CasCheckType.CT_VALUE_MATCH_POSTFIX: {
      if (!exists) return FAIL;
      const filter = {
        [CasCheckType.CT_VALUE_MATCH_ANYWHERE]: FilterType.FT_MATCH_ANYWHERE,
        [CasCheckType.CT_VALUE_MATCH_PREFIX]: FilterType.FT_MATCH_PREFIX,
        [CasCheckType.CT_VALUE_MATCH_POSTFIX]: FilterType.FT_MATCH_POSTFIX,
      }[type];
      return verdict(matchesFilter(filter, operand, value));
    }
    case CasCheckType.CT_VALUE_BYTES_LESS:
    case CasCheckType.CT_VALUE_BYTES_LESS_OR_EQUAL:
    case CasCheckType.CT_VALUE_BYTES_EQUAL:
    case CasCheckType.CT_VALUE_BYTES_GREATER_OR_EQUAL:
    case CasCheckType.CT_VALUE_BYTES_GREATER:
      if (!exists) return FAIL;
      return verdict(orderPasses(type - CasCheckType.CT_VALUE_BYTES_LESS, Buffer.compare(value, operand)));
    case CasCheckType.CT_VALUE_INT_LESS:
    case CasCheckType.CT_VALUE_INT_LESS_OR_EQUAL:
    case CasCheckType.CT_VALUE_INT_EQUAL:
    case CasCheckType.CT_VALUE_INT_GREATER_OR_EQUAL:
    case CasCheckType.CT_VALUE_INT_GREATER: {
      if (!exists) return FAIL;
      const current = parseInt64(value);
      if (current === undefined) return INVALID;
      const expected = parseInt64(operand);
      if (expected === undefined) return INVALID;
      const order = current < expected ? -1 : current > expected ? 1 : 0;
      return verdict(orderPasses(type - CasCheckType.CT_VALUE_INT_LESS, order));
    }
    default:
      return FAIL;
  }
}
