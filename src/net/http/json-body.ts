// JSON request bodies of the admin calls (spec pegasus-http §2.6): strict JSON as rapidjson
// 1.1.0 parses it with its default flags, then a struct decoded as Pegasus's json_helper.h
// decodes one. The parser keeps what JSON.parse loses and the decoding rules need: whether a
// number was written as an integer (1 is an int32, 1.0 is not), and every member of an object
// in order, duplicates included (the first one wins, all of them count).

/** The body of every 400 a call answers when its JSON body does not decode. */
export const INVALID_REQUEST_STRUCTURE = 'invalid request structure';

export type JsonFieldType = 'string' | 'int32' | 'bool';

/** A struct's declared fields, by name. */
export type JsonFields = Readonly<Record<string, JsonFieldType>>;

type FieldValue<T extends JsonFieldType> = T extends 'string' ? string : T extends 'int32' ? number : boolean;

/** What a body decoded to: the declared fields it holds; an absent field is undefined. */
export type JsonStruct<F extends JsonFields> = { [K in keyof F]?: FieldValue<F[K]> };

type JsonValue =
  | { kind: 'string'; text: string }
  /** An integer literal within int64 (rapidjson's IsInt64). */
  | { kind: 'integer'; value: bigint }
  /** Any other number: a fraction, an exponent, or an integer beyond int64. */
  | { kind: 'number' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'array' }
  | { kind: 'object'; members: Array<[string, JsonValue]> };

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Deeper bodies are refused. rapidjson recurses without a bound (a deep enough body crashes the
 * reference server); no real struct nests at all.
 */
const NESTING_MAX = 256;

class JsonSyntaxError extends Error {}

const fail = (): never => {
  throw new JsonSyntaxError();
};

const isDigit = (byte: number | undefined): boolean => byte !== undefined && byte >= 0x30 && byte <= 0x39;

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return fail();
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  return fail();
}

/** Appends a code point (surrogates included, as rapidjson writes them) in UTF-8. */
function pushUtf8(bytes: number[], codePoint: number): void {
  if (codePoint < 0x80) bytes.push(codePoint);
  else if (codePoint < 0x800) bytes.push(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f));
  else if (codePoint < 0x10000) bytes.push(0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
  else bytes.push(0xf0 | (codePoint >> 18), 0x80 | ((codePoint >> 12) & 0x3f), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
}

const SIMPLE_ESCAPES: Readonly<Record<number, number>> = {
  0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09,
};

class JsonParser {
  private index = 0;
  constructor(private readonly bytes: Uint8Array) {}

  /** The document's root value; after it only whitespace, then the end (or a NUL byte: rapidjson's stream reads one as the end). */
  document(): JsonValue {
    this.skipWhitespace();
    const root = this.value(0);
    this.skipWhitespace();
    if (this.index < this.bytes.length && this.bytes[this.index] !== 0) fail();
    return root;
  }

  private peek(): number | undefined {
    return this.bytes[this.index];
  }

  private skipWhitespace(): void {
    for (let byte = this.peek(); byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09; byte = this.peek()) this.index++;
  }

  private expect(byte: number): void {
    if (this.peek() !== byte) fail();
    this.index++;
  }

  private literal(text: string): void {
    for (let offset = 0; offset < text.length; offset++) this.expect(text.charCodeAt(offset));
  }

  private value(depth: number): JsonValue {
    if (depth > NESTING_MAX) fail();
    switch (this.peek()) {
      case 0x7b: return this.object(depth);
      case 0x5b: return this.array(depth);
      case 0x22: return { kind: 'string', text: this.string() };
      case 0x74: this.literal('true'); return { kind: 'bool', value: true };
      case 0x66: this.literal('false'); return { kind: 'bool', value: false };
      case 0x6e: this.literal('null'); return { kind: 'null' };
      default: return this.number();
    }
  }

  private object(depth: number): JsonValue {
    this.expect(0x7b);
    const members: Array<[string, JsonValue]> = [];
    this.skipWhitespace();
    if (this.peek() === 0x7d) {
      this.index++;
      return { kind: 'object', members };
    }
    for (;;) {
      if (this.peek() !== 0x22) fail();
      const key = this.string();
      this.skipWhitespace();
      this.expect(0x3a);
      this.skipWhitespace();
      members.push([key, this.value(depth + 1)]);
      this.skipWhitespace();
      const next = this.peek();
      this.index++;
      if (next === 0x7d) return { kind: 'object', members };
      if (next !== 0x2c) fail();
      this.skipWhitespace();
    }
  }

  private array(depth: number): JsonValue {
    this.expect(0x5b);
    this.skipWhitespace();
    if (this.peek() === 0x5d) {
      this.index++;
      return { kind: 'array' };
    }
    for (;;) {
      this.value(depth + 1);
      this.skipWhitespace();
      const next = this.peek();
      this.index++;
      if (next === 0x5d) return { kind: 'array' };
      if (next !== 0x2c) fail();
      this.skipWhitespace();
    }
  }

  private hex4(): number {
    let value = 0;
    for (let digit = 0; digit < 4; digit++) value = value * 16 + hexValue(this.bytes[this.index++]);
    return value;
  }

  /** A string's bytes are taken as they are (rapidjson does not validate UTF-8 by default) and read as UTF-8. */
  private string(): string {
    this.expect(0x22);
    const bytes: number[] = [];
    for (;;) {
      const byte = this.bytes[this.index++];
      if (byte === undefined || byte < 0x20) return fail();
      if (byte === 0x22) return Buffer.from(bytes).toString('utf8');
      if (byte !== 0x5c) {
        bytes.push(byte);
        continue;
      }
      const escape = this.bytes[this.index++];
      if (escape === undefined) return fail();
      const simple = SIMPLE_ESCAPES[escape];
      if (simple !== undefined) {
        bytes.push(simple);
        continue;
      }
      if (escape !== 0x75) return fail();
      let codePoint = this.hex4();
      // A high surrogate must be followed by an escaped low one; a lone low one passes, as in rapidjson 1.1.0.
      if (codePoint >= 0xd800 && codePoint <= 0xdbff) {
        this.expect(0x5c);
        this.expect(0x75);
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) fail();
        codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (low - 0xdc00);
      }
      pushUtf8(bytes, codePoint);
    }
  }

  private number(): JsonValue {
    const start = this.index;
    if (this.peek() === 0x2d) this.index++;
    if (this.peek() === 0x30) this.index++;
    else if (isDigit(this.peek())) while (isDigit(this.peek())) this.index++;
    else fail();
    let integer = true;
    if (this.peek() === 0x2e) {
      integer = false;
      this.index++;
      if (!isDigit(this.peek())) fail();
      while (isDigit(this.peek())) this.index++;
    }
    if (this.peek() === 0x65 || this.peek() === 0x45) {
      integer = false;
      this.index++;
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.index++;
      if (!isDigit(this.peek())) fail();
      while (isDigit(this.peek())) this.index++;
    }
    const text = Buffer.from(this.bytes.subarray(start, this.index)).toString('latin1');
    if (integer) {
      const value = BigInt(text);
      if (value >= INT64_MIN && value <= INT64_MAX) return { kind: 'integer', value };
    }
    // rapidjson refuses a number too big for a double.
    if (!Number.isFinite(Number(text))) fail();
    return { kind: 'number' };
  }
}

/** The body's root value, or undefined when it is not strict JSON. */
function parseJson(body: Uint8Array): JsonValue | undefined {
  try {
    return new JsonParser(body).document();
  } catch (error) {
    if (error instanceof JsonSyntaxError) return undefined;
    throw error;
  }
}

/** A present member's value as its declared type, or undefined when its JSON type is not that. */
function fieldValue(value: JsonValue, type: JsonFieldType): string | number | boolean | undefined {
  switch (type) {
    case 'string':
      return value.kind === 'string' ? value.text : undefined;
    case 'int32':
      return value.kind === 'integer' && value.value >= INT32_MIN && value.value <= INT32_MAX ? Number(value.value) : undefined;
    case 'bool':
      // Pegasus takes an int32 for a bool too (its encoder writes bools as 0 and 1).
      if (value.kind === 'bool') return value.value;
      return value.kind === 'integer' && value.value >= INT32_MIN && value.value <= INT32_MAX ? value.value !== 0n : undefined;
  }
}

/**
 * Decodes a body into the declared fields, or answers undefined, for which the caller answers 400
 * INVALID_REQUEST_STRUCTURE. The body must be a JSON object; each declared field it holds must
 * have its type; and either every declared field is there (other members are then ignored) or
 * every member is a declared field (missing ones are then left out).
 */
export function decodeJsonStruct<F extends JsonFields>(body: Uint8Array | string, fields: F): JsonStruct<F> | undefined {
  const root = parseJson(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  if (root?.kind !== 'object') return undefined;
  const decoded: Record<string, string | number | boolean> = {};
  let present = 0;
  for (const [name, type] of Object.entries(fields)) {
    const member = root.members.find(([key]) => key === name);
    if (!member) continue;
    const value = fieldValue(member[1], type);
    if (value === undefined) return undefined;
    decoded[name] = value;
    present++;
  }
  const complete = present === Object.keys(fields).length;
  const nothingElse = present === root.members.length;
  return complete || nothingElse ? (decoded as JsonStruct<F>) : undefined;
}
