// How a replica server prints a hash key in its answers: Pegasus's c_escape_string (\n \r \t
// \" \' \\ with a backslash, every other byte outside ' '..'~' as \xNN in capitals).
const SIMPLE_ESCAPES: Readonly<Record<number, string>> = {
  0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x22: '\\"', 0x27: "\\'", 0x5c: '\\\\',
};

export function cEscape(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    const simple = SIMPLE_ESCAPES[byte];
    if (simple !== undefined) text += simple;
    else if (byte < 0x20 || byte > 0x7e) text += `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    else text += String.fromCharCode(byte);
  }
  return text;
}
