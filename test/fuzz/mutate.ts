// Input mutations shared by the fuzzers: awkward values (wrong types, huge numbers, unicode, deep
// nesting, huge strings), structure-aware mutations of JSON documents (a field of the wrong type,
// missing, repeated, renamed or unknown), of texts (bytes and lines) and of command words.
import type { FuzzRng } from './random.ts';

/** Strings that break naive parsers, printers and validators. */
export const AWKWARD_STRINGS: readonly string[] = [
  '', ' ', '  x  ', '\t', '\n', '\r\n', '\u0000', 'a\u0000b', '\u0007', '\u001b[31m', '"', "'", '\\', '\\"', '\\u0000', '%', '%s%n%d',
  '%00', '%E4%B8%AD', '../../x', '/', '*', '?', '#', ';', ',', ',,', '=', 'a=b', '&', '{}', '[]', 'null', 'true', 'NaN', 'undefined',
  '-1', '0', '00', '-0', '0x1f', '1e999', '2147483648', '-2147483649', '9223372036854775808', '18446744073709551616', '1.5', '.5',
  'é', 'ü', '中文表', '🦄', '\u202e', '\ufeff', '\ud800', '\udfff', 'Ā'.repeat(40), 'temp', 'TEMP', 'temp ', ' temp', 'temp\n',
  '<script>', '${HOME}', '$(id)', '`id`', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
];

/** Numbers at and past the edges of every integer type, as JSON number texts. */
export const AWKWARD_NUMBERS: readonly string[] = [
  '0', '-0', '1', '-1', '2', '7', '127', '128', '255', '256', '65535', '65536', '2147483647', '2147483648', '-2147483648', '-2147483649',
  '4294967295', '4294967296', '9007199254740991', '9007199254740993', '9223372036854775807', '9223372036854775808',
  '-9223372036854775809', '18446744073709551616', '1e9', '1e308', '1e309', '-1e309', '1e-400', '0.5', '1.0', '-0.0', '3.14159',
  '1E2', '1e+2', '123456789012345678901234567890',
];

/** A string of one of many awkward shapes, up to about `maxLength` characters. */
export function awkwardString(rng: FuzzRng, maxLength = 4096): string {
  switch (rng.below(6)) {
    case 0:
    case 1:
      return rng.pick(AWKWARD_STRINGS);
    case 2:
      return rng.text('abcXYZ019_-.:/ é中🦄\u0000\t\n"\\\'%&=', rng.length(64));
    case 3:
      return rng.pick(['a', 'x', '中', '🦄', '\\', '%']).repeat(rng.length(maxLength));
    case 4:
      return String.fromCharCode(...Array.from({ length: rng.length(32) }, () => rng.below(0x10000)));
    default:
      return rng.pick(AWKWARD_NUMBERS);
  }
}

/** A JSON document as a tree whose leaves are raw texts, so that it can hold what JavaScript values cannot (1e999, duplicate keys). */
export type JsonTree =
  | { kind: 'raw'; text: string }
  | { kind: 'array'; items: JsonTree[] }
  | { kind: 'object'; members: Array<[string, JsonTree]> };

export function jsonTree(value: unknown): JsonTree {
  if (Array.isArray(value)) return { kind: 'array', items: value.map(jsonTree) };
  if (value !== null && typeof value === 'object') return { kind: 'object', members: Object.entries(value).map(([key, item]) => [key, jsonTree(item)]) };
  return { kind: 'raw', text: JSON.stringify(value) ?? 'null' };
}

export function jsonText(tree: JsonTree): string {
  switch (tree.kind) {
    case 'raw':
      return tree.text;
    case 'array':
      return `[${tree.items.map(jsonText).join(',')}]`;
    case 'object':
      return `{${tree.members.map(([key, value]) => `${JSON.stringify(key)}:${jsonText(value)}`).join(',')}}`;
  }
}

/** Nesting `depth` levels deep, past any parser's recursion if deep enough. */
function deeplyNested(rng: FuzzRng, depth: number): JsonTree {
  const open = rng.chance(0.5) ? '[' : '{"a":';
  const close = open === '[' ? ']' : '}';
  return { kind: 'raw', text: open.repeat(depth) + (rng.chance(0.8) ? '1' : '') + close.repeat(rng.chance(0.9) ? depth : depth - 1) };
}

/** A value of any JSON type, often not the one a field wants. */
export function awkwardJson(rng: FuzzRng, depth = 0): JsonTree {
  switch (rng.below(10)) {
    case 0:
      return { kind: 'raw', text: rng.pick(['null', 'true', 'false']) };
    case 1:
    case 2:
      return { kind: 'raw', text: rng.pick(AWKWARD_NUMBERS) };
    case 3:
    case 4:
      return jsonTree(awkwardString(rng));
    case 5:
      return depth < 3 ? { kind: 'array', items: Array.from({ length: rng.below(4) }, () => awkwardJson(rng, depth + 1)) } : jsonTree([]);
    case 6:
      return depth < 3
        ? { kind: 'object', members: Array.from({ length: rng.below(3) }, () => [awkwardString(rng, 16), awkwardJson(rng, depth + 1)] as [string, JsonTree]) }
        : jsonTree({});
    case 7:
      return deeplyNested(rng, rng.pick([10, 300, 5000, 100_000]));
    case 8:
      // A long string: well past what a name or a value should be, sometimes past the body limit.
      return jsonTree('x'.repeat(rng.pick([1000, 70_000, 600_000])));
    default:
      return jsonTree(rng.text('0123456789', 1 + rng.below(30)));
  }
}

function mutateNode(rng: FuzzRng, tree: JsonTree, keys: readonly string[]): JsonTree {
  if (tree.kind === 'object' && tree.members.length > 0 && rng.chance(0.6)) {
    const members = tree.members.map(([key, value]) => [key, value] as [string, JsonTree]);
    const index = rng.below(members.length);
    switch (rng.below(7)) {
      case 0:
        members.splice(index, 1);
        break;
      case 1:
        members.splice(rng.below(members.length + 1), 0, [rng.chance(0.7) && keys.length > 0 ? rng.pick(keys) : awkwardString(rng, 64), awkwardJson(rng)]);
        break;
      case 2:
        // The same key twice: which one wins differs between parsers.
        members.splice(rng.below(members.length + 1), 0, [members[index]![0], awkwardJson(rng)]);
        break;
      case 3: {
        const [key, value] = members[index]!;
        members[index] = [rng.pick([key.toUpperCase(), `${key} `, ` ${key}`, key.slice(1), `${key}\u0000`, awkwardString(rng, 16)]), value];
        break;
      }
      case 4:
        members[index] = [members[index]![0], mutateNode(rng, members[index]![1], keys)];
        break;
      default:
        members[index] = [members[index]![0], awkwardJson(rng)];
    }
    return { kind: 'object', members };
  }
  if (tree.kind === 'array' && tree.items.length > 0 && rng.chance(0.5)) {
    const items = [...tree.items];
    items[rng.below(items.length)] = mutateNode(rng, items[rng.below(items.length)]!, keys);
    return { kind: 'array', items };
  }
  return rng.chance(0.15) ? rng.pick([jsonTree([]), jsonTree({}), jsonTree(null), jsonTree('')]) : awkwardJson(rng);
}

/**
 * A mutant of `valid` (a JSON value) as JSON text: a few structure-aware changes (`keys` are the
 * field names the receiver knows), then now and then a change of the text itself.
 */
export function mutateJson(rng: FuzzRng, valid: unknown, keys: readonly string[] = []): string {
  let tree = jsonTree(valid);
  const steps = rng.chance(0.2) ? 0 : 1 + rng.below(3);
  for (let step = 0; step < steps; step++) tree = mutateNode(rng, tree, keys);
  const text = jsonText(tree);
  return rng.chance(0.15) ? mutateText(rng, text) : text;
}

/** A mutant of `text`: bytes or characters inserted, removed, replaced or repeated, lines dropped, cut short. */
export function mutateText(rng: FuzzRng, text: string): string {
  let out = text;
  const steps = 1 + rng.below(4);
  for (let step = 0; step < steps; step++) {
    const at = rng.below(out.length + 1);
    switch (rng.below(9)) {
      case 0:
        out = out.slice(0, at) + awkwardString(rng, 64) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + rng.below(16));
        break;
      case 2:
        out = out.slice(0, at) + String.fromCharCode(rng.below(256)) + out.slice(at + 1);
        break;
      case 3: {
        const piece = out.slice(at, at + 1 + rng.below(32));
        out = out.slice(0, at) + piece.repeat(2 + rng.below(rng.chance(0.1) ? 5000 : 4)) + out.slice(at);
        break;
      }
      case 4:
        out = out.slice(0, at);
        break;
      case 5: {
        const lines = out.split('\n');
        lines.splice(rng.below(lines.length), 1);
        out = lines.join('\n');
        break;
      }
      case 6: {
        const lines = out.split('\n');
        const line = lines[rng.below(lines.length)]!;
        lines.splice(rng.below(lines.length + 1), 0, line);
        out = lines.join('\n');
        break;
      }
      case 7:
        out = out.slice(0, at) + rng.pick(['\n', '\r\n', '\r', '\t', ' ', '\u0000', '\ufeff', '"', '[', ']', '{', '}', ':', '=', '#', ';']) + out.slice(at);
        break;
      default:
        out = out.slice(0, at) + out.slice(at).toUpperCase();
    }
  }
  return out;
}

/** Words that make option parsers and positional readers stumble. */
const AWKWARD_WORDS: readonly string[] = [
  '-', '--', '---', '-x', '-Z', '--x', '--=', '--a=', '-a', '-s', '-d', '-j', '-o', '-e', '-p', '-b', '-i', '-c', '-n', '-r', '-t',
  '--json', '--detailed', '--all', '--help', '-h', '&', '|', '>', '0', '-1', '1', '99999999999', '4294967296', '-2147483649', 'temp',
  'nope', '""', "''", '"', "'", '"a b"', '\\x00', '"\\x00"', '"\\xZZ"',
];

/** A mutant of a command's words: words dropped, repeated, swapped, replaced or added. */
export function mutateWords(rng: FuzzRng, words: readonly string[]): string[] {
  const out = [...words];
  const steps = 1 + rng.below(3);
  for (let step = 0; step < steps; step++) {
    const at = rng.below(out.length + 1);
    switch (rng.below(6)) {
      case 0:
        out.splice(at, 1);
        break;
      case 1:
        if (out.length > 0) out.splice(at, 0, out[rng.below(out.length)]!);
        break;
      case 2:
        if (out.length > 1) {
          const other = rng.below(out.length);
          [out[other], out[at % out.length]] = [out[at % out.length]!, out[other]!];
        }
        break;
      case 3:
        out.splice(at, 1, rng.chance(0.5) ? rng.pick(AWKWARD_WORDS) : awkwardString(rng, 200));
        break;
      default:
        out.splice(at, 0, rng.chance(0.6) ? rng.pick(AWKWARD_WORDS) : awkwardString(rng, 200));
    }
  }
  return out;
}

/** A word as a shell line carries it: plain, or in quotes with its escapes; now and then a quote left open. */
export function shellWord(rng: FuzzRng, word: string): string {
  if (word !== '' && !/[\s"'\\]/.test(word) && rng.chance(0.8)) return word;
  const draw = rng.next();
  if (draw < 0.6) return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  if (draw < 0.9) return `'${word.replace(/'/g, "\\'")}'`;
  return draw < 0.95 ? `"${word}` : word;
}
