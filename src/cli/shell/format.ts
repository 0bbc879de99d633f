// The shell's `help`: each command's name and its usage, wrapped between options.
export interface HelpEntry {
  readonly name: string;
  readonly usage: string;
}

/** Usage text is wrapped near this many characters, between options. */
const USAGE_WRAP_CHARS = 70;

/** Splits a usage string after each `]` or `>` that a blank follows, then packs the pieces into lines. */
export function wrapUsage(usage: string, widthChars = USAGE_WRAP_CHARS): string[] {
  const pieces = usage.split(/(?<=[\]>]) +/).map((piece) => piece.trim()).filter((piece) => piece !== '');
  const lines: string[] = [];
  let line = '';
  for (const piece of pieces) {
    if (line !== '' && line.length + 1 + piece.length > widthChars) {
      lines.push(line);
      line = piece;
    } else {
      line = line === '' ? piece : `${line} ${piece}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** One command's help line(s): a tab, the name padded to the widest name plus two, its usage. */
export function formatHelpEntry(entry: HelpEntry, nameWidth: number): string {
  const lead = `\t${entry.name}${' '.repeat(Math.max(0, nameWidth + 2 - entry.name.length))}`;
  const lines = wrapUsage(entry.usage);
  if (lines.length === 0) return `${lead}\n`;
  const indent = `\t${' '.repeat(nameWidth + 2)}`;
  return lines.map((line, index) => `${index === 0 ? lead : indent}${line}\n`).join('');
}

export function formatHelp(entries: readonly HelpEntry[]): string {
  const nameWidth = Math.max(0, ...entries.map((entry) => entry.name.length));
  return `Usage:\n${entries.map((entry) => formatHelpEntry(entry, nameWidth)).join('')}`;
}
