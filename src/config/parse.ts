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

/** strtod over the whole string: leading blanks, sign, decimal or hexadecimal (`0x1.8p3`) forms. */
function parseCDouble(text: string): number | undefined {
  const match = /^[ \t\n\v\f\r]*([+-]?)(?:0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?|((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))$/.exec(text);
  if (!match) return undefined;
  const [, sign, hexInteger, hexFraction, binaryExponent, decimal] = match;
  let magnitude: number;
  if (decimal !== undefined) {
    magnitude = Number(decimal);
  } else {
    const digits = (hexInteger ?? '') + (hexFraction ?? '');
    if (digits === '') return undefined; // "0x" or "0x.": strtod stops after the "0"
    const exponent = Number(binaryExponent ?? '0') - 4 * (hexFraction ?? '').length;
    // Number(bigint) rounds to nearest; scaling by a power of two is then exact (short of the subnormal range).
    const mantissa = BigInt('0x' + digits);
    magnitude = mantissa === 0n ? 0 : Number(mantissa) * 2 ** exponent;
  }
  return sign === '-' ? -magnitude : magnitude;
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
      // strtod also reads "inf" and "nan", which are rejected anyway, so they need no branch here.
      const value = parseCDouble(text);
      return value !== undefined && Number.isFinite(value) ? value : undefined;
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

/** `std::fixed` with two decimals, except that anything below 1e-6 in magnitude is "0.00". */
export function formatDouble(value: number): string {
  if (Math.abs(value) < 1e-6) return '0.00';
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  // toFixed switches to exponent notation from 1e21; such doubles are integers.
  if (Math.abs(value) >= 1e21) return `${BigInt(value)}.00`;
  const text = value.toFixed(2);
  // toFixed rounds an exact tie away from zero, printf to even. At two decimals a double is an
  // exact tie only when it is an odd multiple of 1/8 (0.125, 0.625, ...).
  const eighths = value * 8;
  if (!Number.isInteger(eighths) || eighths % 2 === 0) return text;
  const negative = value < 0;
  let cents = BigInt(text.replace('-', '').replace('.', ''));
  if (cents % 2n === 1n) cents -= 1n;
  const digits = cents.toString().padStart(3, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}
