// Value parsers with the C library's rules that Pegasus applies to flag values
// (strtoll/strtoull with base 0 over the whole string, strtod, case-insensitive bools).

export type FlagType = 'FV_BOOL' | 'FV_INT32' | 'FV_UINT32' | 'FV_INT64' | 'FV_UINT64' | 'FV_DOUBLE' | 'FV_STRING';
export type FlagValue = boolean | number | string;

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  FV_INT32: [-(2n ** 31n), 2n ** 31n - 1n],
  FV_UINT32: [0n, 2n ** 32n - 1n],
  // 64-bit flags are held as JS numbers: the range is what a number represents exactly.
  FV_INT64: [BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)],
  FV_UINT64: [0n, BigInt(Number.MAX_SAFE_INTEGER)],
};

/** strtoll/strtoull base 0: optional leading blanks and sign, 0x hex, leading-0 octal, nothing after. */
export function parseCInteger(text: string, unsigned: boolean): bigint | undefined {
  const match = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!match) return undefined;
  const [, sign, digits] = match as unknown as [string, string, string];
  let magnitude: bigint;
  if (/^0[xX]/.test(digits)) magnitude = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith('0')) magnitude = BigInt('0o' + digits.slice(1));
  else magnitude = BigInt(digits);
  if (sign === '-') {
    if (unsigned && magnitude !== 0n) return undefined;
    return -magnitude;
  }
  return magnitude;
}

/** Parses a flag value for its type; undefined when the text is not a valid value. */
export function parseFlagValue(type: FlagType, text: string): FlagValue | undefined {
  switch (type) {
    case 'FV_BOOL': {
      const lower = text.toLowerCase();
      return lower === 'true' ? true : lower === 'false' ? false : undefined;
    }
    case 'FV_STRING':
      return text;
    case 'FV_DOUBLE': {
      if (!/^[ \t\n\v\f\r]*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)$/.test(text)) return undefined;
      const value = Number(text.trim());
      return Number.isFinite(value) ? value : undefined;
    }
    default: {
      const range = INTEGER_RANGES[type]!;
      const value = parseCInteger(text, type === 'FV_UINT32' || type === 'FV_UINT64');
      if (value === undefined || value < range[0] || value > range[1]) return undefined;
      return Number(value);
    }
  }
}

/** The value as Pegasus prints it: doubles with two decimals, and tiny ones as "0.00". */
export function formatFlagValue(type: FlagType, value: FlagValue): string {
  if (type === 'FV_DOUBLE') return formatDouble(value as number);
  return String(value);
}

export function formatDouble(value: number): string {
  return Math.abs(value) < 1e-6 ? '0.00' : value.toFixed(2);
}
