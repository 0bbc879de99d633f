// Bytes in and out of the shell's data commands. Pegasus's shell works on raw bytes: what a
// word holds is stored as is, and keys and values are printed in double quotes with C escapes.
//
// In: the line splitter turns "\xHH" into the character U+00HH. A word whose characters all
// fit in one byte is therefore taken byte for byte (so "\xff" is the single byte 0xFF); a word
// with any wider character (typed non-Latin text) is UTF-8.
//
// Out: \n \r \t \" \' \\ are escaped with a backslash, other control bytes as \xHH; bytes from
// 0x80 up are printed as text when they form valid UTF-8 (as a terminal would show the raw
// bytes), else — and always under escape_all — as \xHH.

const LATIN1_MAX = 0xff;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function wordBytes(word: string): Buffer {
  for (let index = 0; index < word.length; index++) {
    if (word.charCodeAt(index) > LATIN1_MAX) return Buffer.from(word, 'utf8');
  }
  return Buffer.from(word, 'latin1');
}

const hex = (byte: number): string => `\\x${byte.toString(16).padStart(2, '0')}`;

const SIMPLE_ESCAPES: Readonly<Record<number, string>> = {
  0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x22: '\\"', 0x27: "\\'", 0x5c: '\\\\',
};

export function escapeBytes(bytes: Uint8Array, escapeAll = false): string {
  let text = '';
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index]!;
    if (byte >= 0x80) {
      let end = index;
      while (end < bytes.length && bytes[end]! >= 0x80) end++;
      const run = bytes.subarray(index, end);
      let decoded: string | undefined;
      if (!escapeAll) {
        try {
          decoded = utf8.decode(run);
        } catch {
          decoded = undefined;
        }
      }
      text += decoded ?? Array.from(run, hex).join('');
      index = end;
      continue;
    }
    const simple = SIMPLE_ESCAPES[byte];
    if (simple !== undefined) text += simple;
    else if (byte < 0x20 || byte === 0x7f) text += hex(byte);
    else text += String.fromCharCode(byte);
    index++;
  }
  return text;
}

/** `"…"`: escaped bytes in double quotes. */
export function quoted(bytes: Uint8Array, escapeAll = false): string {
  return `"${escapeBytes(bytes, escapeAll)}"`;
}
