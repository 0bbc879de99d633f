// Tab completion for the interactive shell: the first word completes to command names; later
// words to the command's options (from its usage text) when they start with '-', else to table
// names when the command takes one. Pure: the table names come from the caller.
import type { ShellCommand } from './shell-command.ts';

/** The options a usage text names: `-a|--app_name str` gives `-a` and `--app_name`. */
export function usageOptions(usage: string): string[] {
  return [...new Set(usage.match(/(?<![\w-])--?[A-Za-z][\w-]*/g) ?? [])];
}

/** Whether the command's words include a table name (`<app_name>`, `-a|--app_name str`, ...). */
export function takesTableName(command: ShellCommand): boolean {
  return /app_name/.test(command.usage);
}

export interface Completion {
  /** Candidates for the word under the cursor. */
  hits: string[];
  /** That word (what the candidates replace). */
  word: string;
}

/** What completes the last word of `line`; `tableNames` is asked only when table names may fit. */
export async function complete(line: string, commands: readonly ShellCommand[], tableNames: () => Promise<readonly string[]>): Promise<Completion> {
  const words = line.trimStart().split(/\s+/);
  const word = words.at(-1) ?? '';
  if (words.length === 1) return { hits: commands.map((command) => command.name).filter((name) => name.startsWith(word)), word };
  const command = commands.find((entry) => entry.name === words[0]);
  if (!command) return { hits: [], word };
  if (word.startsWith('-')) return { hits: usageOptions(command.usage).filter((option) => option.startsWith(word)), word };
  if (!takesTableName(command)) return { hits: [], word };
  return { hits: (await tableNames()).filter((name) => name.startsWith(word)), word };
}
