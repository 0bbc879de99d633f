// Pegasus's request parsing rules: percent-decode, normalise the path, and split the query
// AFTER decoding it (so %26 and %3D act as separators and `+` stays a plus).
import { PteronError } from '../../base/index.ts';

function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

const PLAIN_ASCII = /^[\x00-\x24\x26-\x7f]*$/;

/**
 * Decodes `%XY` escapes byte-wise (no validation, `%80` is accepted), as Pegasus's uri decoder
 * does. `text` holds the target's bytes one per char (node's parser hands the URL over as
 * latin1); the decoded bytes are read as UTF-8, so `%E4%B8%AD` becomes `中` and a handler that
 * echoes it sends back the same three bytes.
 */
export function percentDecode(text: string): string {
  if (PLAIN_ASCII.test(text)) return text;
  const input = Buffer.from(text, 'latin1');
  const output = Buffer.alloc(input.length);
  let length = 0;
  for (let index = 0; index < input.length; index++) {
    const byte = input[index]!;
    if (byte !== 0x25) {
      output[length++] = byte;
      continue;
    }
    if (index + 2 >= input.length) {
      throw new PteronError('ERR_INVALID_PARAMETERS', 'Encountered partial escape sequence at end of string');
    }
    if (!isHex(input[index + 1]!) || !isHex(input[index + 2]!)) {
      const rest = input.subarray(index + 1).toString('utf8');
      throw new PteronError(
        'ERR_INVALID_PARAMETERS',
        `The characters ${rest} do not form a hex value. Please escape it or pass a valid hex value`,
      );
    }
    output[length++] = Number.parseInt(input.subarray(index + 1, index + 3).toString('latin1'), 16);
    index += 2;
  }
  return output.subarray(0, length).toString('utf8');
}

const LEADING_BLANKS = /^[ \t]+/;
const TRAILING_BLANKS = /[ \t\r\n]+$/;

function trimPiece(piece: string): string {
  return piece.replace(LEADING_BLANKS, '').replace(TRAILING_BLANKS, '');
}

/** `//pprof///heap/` → `pprof/heap`; `/`, `///` and `` → ``. */
export function normalizePath(decodedPath: string): string {
  return decodedPath.split('/').map(trimPiece).filter((segment) => segment !== '').join('/');
}

export function parseQuery(rawQuery: string): Map<string, string> {
  const query = new Map<string, string>();
  for (const rawPiece of percentDecode(rawQuery).split('&')) {
    const piece = trimPiece(rawPiece);
    if (piece === '') continue;
    const equals = piece.indexOf('=');
    if (equals < 0) {
      if (!query.has(piece)) query.set(piece, '');
      continue;
    }
    const key = piece.slice(0, equals);
    if (query.has(key)) throw new PteronError('ERR_INVALID_PARAMETERS', `duplicate parameter: ${key}`);
    query.set(key, piece.slice(equals + 1));
  }
  return query;
}

/** Splits a request target (origin or absolute form) into its raw path and raw query. */
export function splitTarget(target: string): { rawPath: string; rawQuery: string } {
  let rest = target;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const question = rest.indexOf('?');
  return question < 0 ? { rawPath: rest, rawQuery: '' } : { rawPath: rest.slice(0, question), rawQuery: rest.slice(question + 1) };
}
