// Typed reading of a parsed YAML document that remembers where every value came from, so a
// manifest error names the file, line and column and the key path (`services.replica.port`).
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Parsed } from './units.ts';

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** A value in the document: the node (undefined for a missing key) and its key path. */
export interface Located {
  readonly node: Node | undefined;
  readonly path: string;
  /** The node to point at when `node` is missing: the map that lacks the key. */
  readonly parent?: Node;
}

export class YamlReader {
  private readonly lines = new LineCounter();
  readonly document: Document;

  constructor(readonly file: string, text: string) {
    try {
      this.document = parseDocument(text, { lineCounter: this.lines, merge: true, uniqueKeys: true, prettyErrors: false });
    } catch (error) {
      // The yaml package recurses once per level of nesting, and not every overflow is caught
      // inside it: a text nested deep enough (`a: a: a: …` in a flow mapping) exhausts the stack.
      if (error instanceof RangeError) throw new ManifestError(`${file}: the manifest nests too deeply to be read`);
      throw error;
    }
    const first = this.document.errors[0];
    if (first) {
      const where = this.lines.linePos(first.pos[0]);
      throw new ManifestError(`${file}:${where.line}:${where.col}: ${first.message.split('\n')[0]}`);
    }
  }

  root(): Located {
    return { node: (this.document.contents as Node | null) ?? undefined, path: '' };
  }

  where(located: Located): string {
    const node = located.node ?? located.parent;
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (!range) return `${this.file}:1:1`;
    const position = this.lines.linePos(range[0]);
    return `${this.file}:${position.line}:${position.col}`;
  }

  fail(located: Located, message: string): never {
    const subject = located.path === '' ? '' : `${located.path}: `;
    throw new ManifestError(`${this.where(located)}: ${subject}${message}`);
  }

  private resolve(node: Node | undefined): Node | undefined {
    let current = node;
    // Aliases may point at aliases; a document is finite and the yaml package refuses cycles.
    for (let depth = 0; current !== undefined && isAlias(current); depth++) {
      if (depth > 32) return undefined;
      current = current.resolve(this.document) as Node | undefined;
    }
    return current;
  }

  isMissing(located: Located): boolean {
    const node = this.resolve(located.node);
    return node === undefined || (isScalar(node) && node.value === null);
  }

  /** The entries of a mapping, with `<<` merge keys applied (own keys win), in document order. */
  entries(located: Located): Array<[string, Located]> {
    const node = this.resolve(located.node);
    if (!isMap(node)) this.fail(located, 'expected a mapping (key: value lines)');
    const result = new Map<string, Located>();
    const merged: Array<[string, Located]> = [];
    for (const pair of node.items) {
      const key = this.resolve(pair.key as Node | undefined);
      const keyLocated: Located = { node: key, path: located.path, parent: node };
      // With merge keys on, the parser gives `<<` as a symbol.
      const isMerge = isScalar(key) && typeof key.value === 'symbol' && key.value.description === '<<';
      if (!isMerge && (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number'))) this.fail(keyLocated, 'expected a plain key');
      const name = isMerge ? '<<' : String((key as { value: unknown }).value);
      const path = located.path === '' ? name : `${located.path}.${name}`;
      const value: Located = { node: (pair.value as Node | null) ?? undefined, path, parent: key };
      if (name === '<<') {
        const sources = isSeq(this.resolve(value.node)) ? this.list(value) : [value];
        for (const source of sources) for (const entry of this.entries({ ...source, path: located.path })) merged.push(entry);
        continue;
      }
      result.set(name, value);
    }
    for (const [name, value] of merged) if (!result.has(name)) result.set(name, value);
    return [...result];
  }

  /** The mapping's entries as a lookup; keys outside `allowed` are refused with the list of known ones. */
  object(located: Located, allowed: readonly string[]): Map<string, Located> {
    const entries = this.entries(located);
    for (const [name, value] of entries) {
      if (!allowed.includes(name)) this.fail({ node: (value.parent ?? value.node), path: value.path }, `unknown key; expected one of ${allowed.join(', ')}`);
    }
    return new Map(entries);
  }

  isList(located: Located): boolean {
    return isSeq(this.resolve(located.node));
  }

  list(located: Located): Located[] {
    const node = this.resolve(located.node);
    if (!isSeq(node)) this.fail(located, 'expected a list');
    return node.items.map((item, index) => ({ node: (item as Node | null) ?? undefined, path: `${located.path}[${index}]`, parent: node }));
  }

  private scalar(located: Located): unknown {
    const node = this.resolve(located.node);
    if (node === undefined) this.fail(located, 'missing value');
    if (!isScalar(node)) this.fail(located, 'expected a single value, not a list or mapping');
    return node.value;
  }

  string(located: Located): string {
    const value = this.scalar(located);
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return this.fail(located, 'expected a text value');
  }

  integer(located: Located, min: number, max: number): number {
    const value = this.scalar(located);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(located, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  boolean(located: Located): boolean {
    const value = this.scalar(located);
    if (typeof value !== 'boolean') this.fail(located, `expected true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  /** A text value run through a unit parser (durations, sizes, rates). */
  parsed<T>(located: Located, parse: (text: string) => Parsed<T>): T {
    const value = this.scalar(located);
    if (typeof value !== 'string' && typeof value !== 'number') this.fail(located, `expected a text value, got ${JSON.stringify(value)}`);
    const result = parse(String(value));
    if (!result.ok) this.fail(located, result.message);
    return result.value;
  }

  oneOf<T extends string>(located: Located, choices: readonly T[]): T {
    const value = this.string(located);
    if (!(choices as readonly string[]).includes(value)) this.fail(located, `expected one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  }

  /** A list of texts, or one text as a list of one. */
  strings(located: Located): string[] {
    const node = this.resolve(located.node);
    if (isSeq(node)) return this.list(located).map((item) => this.string(item));
    return [this.string(located)];
  }

  stringMap(located: Located): Record<string, string> {
    const result: Record<string, string> = {};
    for (const [name, value] of this.entries(located)) result[name] = this.string(value);
    return result;
  }
}
