// Reading one shell line into words, and a command's words into options, as the Pegasus shell
// reads them: words split on blanks; "double quotes" take backslash escapes (\n \r \t \b \a
// \\ \" \xHH); 'single quotes' take only \'; a closing quote must end the word. Options follow
// getopt_long: `-d`, grouped flags `-ad`, `-s value`, `-svalue`, `--status value`,
// `--status=value`, `--` ends the options, and options and positionals may interleave.

export class CommandLineError extends Error {}

const BLANK = /[ \t\n\r\v\f]/;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' };
/** A shell line longer than this is refused rather than split. */
const LINE_CHARS_MAX = 1024 * 1024;

/** The words of a line; throws CommandLineError on an unbalanced quote. */
export function splitCommandLine(line: string): string[] {
  if (line.length > LINE_CHARS_MAX) throw new CommandLineError(`the line is longer than ${LINE_CHARS_MAX} characters`);
  const words: string[] = [];
  let index = 0;
  for (;;) {
    while (index < line.length && BLANK.test(line[index]!)) index++;
    if (index >= line.length) return words;
    let word = '';
    let quote: '"' | "'" | undefined;
    for (;;) {
      const char = line[index];
      if (quote === '"') {
        if (char === undefined) throw new CommandLineError('unbalanced double quote');
        const next = line[index + 1];
        if (char === '\\' && next === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(index + 2, index + 4))) {
          word += String.fromCharCode(parseInt(line.slice(index + 2, index + 4), 16));
          index += 4;
          continue;
        }
        if (char === '\\' && next !== undefined) {
          word += SIMPLE_ESCAPES[next] ?? next;
          index += 2;
          continue;
        }
        if (char === '"') {
          if (index + 1 < line.length && !BLANK.test(line[index + 1]!)) throw new CommandLineError('a closing quote must be followed by a blank');
          index++;
          break;
        }
        word += char;
        index++;
      } else if (quote === "'") {
        if (char === undefined) throw new CommandLineError('unbalanced single quote');
        if (char === '\\' && line[index + 1] === "'") {
          word += "'";
          index += 2;
          continue;
        }
        if (char === "'") {
          if (index + 1 < line.length && !BLANK.test(line[index + 1]!)) throw new CommandLineError('a closing quote must be followed by a blank');
          index++;
          break;
        }
        word += char;
        index++;
      } else {
        if (char === undefined || BLANK.test(char)) break;
        if (char === '"' || char === "'") quote = char;
        else word += char;
        index++;
      }
    }
    words.push(word);
  }
}

// ---------------------------------------------------------------------------------------------
// options

export interface OptionSpec {
  /** One letter, used as `-x`. */
  readonly short: string;
  /** Used as `--long`; also the key in the parsed result. */
  readonly long: string;
  /** True when the option takes a value. */
  readonly value: boolean;
}

export interface ParsedOptions {
  /** By long name: flags map to '', valued options to their (last) value. */
  readonly options: ReadonlyMap<string, string>;
  readonly positionals: readonly string[];
}

/** Parses a command's words after its name; throws CommandLineError on unknown or incomplete options. */
export function parseOptions(words: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const options = new Map<string, string>();
  const positionals: string[] = [];
  const byShort = new Map(specs.map((spec) => [spec.short, spec]));
  const byLong = new Map(specs.map((spec) => [spec.long, spec]));
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (word === '--') {
      positionals.push(...words.slice(index + 1));
      break;
    }
    if (word.startsWith('--')) {
      const equals = word.indexOf('=');
      const name = equals < 0 ? word.slice(2) : word.slice(2, equals);
      const spec = byLong.get(name);
      if (!spec) throw new CommandLineError(`unknown option '--${name}'`);
      if (!spec.value) {
        if (equals >= 0) throw new CommandLineError(`option '--${name}' takes no value`);
        options.set(spec.long, '');
      } else if (equals >= 0) {
        options.set(spec.long, word.slice(equals + 1));
      } else {
        if (index + 1 >= words.length) throw new CommandLineError(`option '--${name}' needs a value`);
        options.set(spec.long, words[++index]!);
      }
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      for (let at = 1; at < word.length; at++) {
        const spec = byShort.get(word[at]!);
        if (!spec) throw new CommandLineError(`unknown option '-${word[at]}'`);
        if (!spec.value) {
          options.set(spec.long, '');
          continue;
        }
        if (at + 1 < word.length) {
          options.set(spec.long, word.slice(at + 1));
        } else {
          if (index + 1 >= words.length) throw new CommandLineError(`option '-${spec.short}' needs a value`);
          options.set(spec.long, words[++index]!);
        }
        break;
      }
      continue;
    }
    positionals.push(word);
  }
  return { options, positionals };
}

/** A decimal int32 (the reference's buf2int32: optional sign, digits only), or undefined. */
export function parseInt32(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text.trim())) return undefined;
  const value = Number(text.trim());
  return Number.isSafeInteger(value) && value >= -0x80000000 && value <= 0x7fffffff ? value : undefined;
}

/**
 * `k1=v1,k2=v2`: pairs split on ',', each split at its first '='; empty items are skipped.
 * Throws CommandLineError on an item without '=' or with an empty key.
 */
export function parseKeyValueList(text: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const item of text.split(',')) {
    const trimmed = item.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    const key = equals < 0 ? '' : trimmed.slice(0, equals).trim();
    if (key === '') throw new CommandLineError(`invalid kvs: '${text}'`);
    pairs.set(key, trimmed.slice(equals + 1).trim());
  }
  return pairs;
}
