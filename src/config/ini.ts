// A Pegasus-style config.ini reader. Section names stay flat (`[apps.meta]` is the section
// "apps.meta", `[apps..default]` is "apps..default"), values stay strings, and `;`/`#` start a
// comment only at the beginning of a line, so URLs and lists keep their characters.

export interface IniEntry {
  section: string;
  key: string;
  value: string;
  line: number;
}

export class IniSyntaxError extends Error {
  constructor(readonly file: string, readonly line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
  }
}

export function parseIni(text: string, file = 'config.ini'): IniEntry[] {
  const entries: IniEntry[] = [];
  let section = '';
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = lines[index]!.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new IniSyntaxError(file, lineNumber, `unterminated section header "${line}"`);
      section = line.slice(1, -1).trim();
      if (section === '') throw new IniSyntaxError(file, lineNumber, 'empty section name');
      continue;
    }
    const equals = line.indexOf('=');
    if (equals <= 0) throw new IniSyntaxError(file, lineNumber, `expected "key = value", got "${line}"`);
    if (section === '') throw new IniSyntaxError(file, lineNumber, 'key outside of any [section]');
    entries.push({ section, key: line.slice(0, equals).trim(), value: line.slice(equals + 1).trim(), line: lineNumber });
  }
  return entries;
}
