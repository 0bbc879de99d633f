// Pegasus's `table_printer`, which its shell and its admin HTTP API both print with:
//
// - a table is either "single" (name: value rows) or "multi" (a header row of a title and
//   columns, then data rows);
// - in text form, a named table starts with `[name]`; every cell is padded with spaces to its
//   column's widest cell plus two, left-aligned unless the column is right-aligned (the last
//   column too, so lines keep their trailing spaces); a single table's value cells are
//   prefixed with ": ";
// - several tables printed together are each followed by an empty line;
// - in JSON form, tables become members of one object, every value a string, members in
//   insertion order (duplicate names are kept): pretty (4-space indent, the shell's `-j`) or
//   compact (the admin HTTP API).
// Widths count UTF-8 bytes, as the reference pads std::string.

export type Alignment = 'left' | 'right';

export interface SingleTable {
  readonly kind: 'single';
  readonly name: string;
  readonly rows: ReadonlyArray<readonly [string, string]>;
}

export interface MultiTable {
  readonly kind: 'multi';
  readonly name: string;
  /** The header: the title column first, then the data columns. */
  readonly columns: readonly string[];
  readonly align: readonly Alignment[];
  readonly rows: ReadonlyArray<readonly string[]>;
}

export type Table = SingleTable | MultiTable;

/** Spaces between columns (the reference's default `tabular_width`). */
const COLUMN_GAP = 2;
const JSON_INDENT = '    ';

export function singleTable(name: string, rows: ReadonlyArray<readonly [string, string]>): SingleTable {
  return { kind: 'single', name, rows };
}

/** `columns[0]` is the title; `rightAligned` names the data columns printed flush right. */
export function multiTable(
  name: string,
  columns: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  rightAligned: readonly string[] = [],
): MultiTable {
  for (const row of rows) {
    if (row.length !== columns.length) throw new Error(`table ${name}: a row has ${row.length} cells for ${columns.length} columns`);
  }
  const align = columns.map((column, index): Alignment => (index > 0 && rightAligned.includes(column) ? 'right' : 'left'));
  return { kind: 'multi', name, columns, align, rows };
}

function byteWidth(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function pad(text: string, width: number, align: Alignment): string {
  const fill = ' '.repeat(Math.max(0, width - byteWidth(text)));
  return align === 'left' ? text + fill : fill + text;
}

/** One table as text. A single table without rows prints nothing at all, not even its name. */
export function renderTableText(table: Table): string {
  const matrix: ReadonlyArray<readonly string[]> = table.kind === 'single' ? table.rows : [table.columns, ...table.rows];
  if (matrix.length === 0) return '';
  const columnCount = table.kind === 'single' ? 2 : table.columns.length;
  const widths = new Array<number>(columnCount).fill(0);
  for (const row of matrix) row.forEach((cell, index) => (widths[index] = Math.max(widths[index]!, byteWidth(cell))));
  const align = table.kind === 'single' ? (['left', 'left'] as const) : table.align;
  const separator = table.kind === 'single' ? ': ' : '';
  let text = table.name === '' ? '' : `[${table.name}]\n`;
  for (const row of matrix) {
    text += row.map((cell, index) => pad(index === 0 ? cell : separator + cell, widths[index]! + COLUMN_GAP, align[index]!)).join('');
    text += '\n';
  }
  return text;
}

/** Several tables as text, each followed by an empty line. */
function renderTablesText(tables: readonly Table[]): string {
  return tables.map((table) => `${renderTableText(table)}\n`).join('');
}

// ---------------------------------------------------------------------------------------------
// JSON

type JsonNode = string | ReadonlyArray<readonly [string, JsonNode]>;

interface JsonStyle {
  /** Indent per level; '' writes everything on one line with no blanks. */
  readonly indent: string;
  readonly quote: (text: string) => string;
}

/** A JSON string as rapidjson writes it: control characters as upper-case \u escapes. */
function rapidjsonString(text: string): string {
  return JSON.stringify(text).replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => `\\u${hex.toUpperCase()}`);
}

const PRETTY: JsonStyle = { indent: JSON_INDENT, quote: rapidjsonString };
// The admin API has always escaped as JSON.stringify does (lower-case \u); kept so its bytes stay put.
const COMPACT: JsonStyle = { indent: '', quote: (text) => JSON.stringify(text) };

function renderJsonNode(node: JsonNode, depth: number, style: JsonStyle): string {
  if (typeof node === 'string') return style.quote(node);
  if (style.indent === '') return `{${node.map(([key, value]) => `${style.quote(key)}:${renderJsonNode(value, depth + 1, style)}`).join(',')}}`;
  if (node.length === 0) return '{}';
  const inner = style.indent.repeat(depth + 1);
  const members = node.map(([key, value]) => `${inner}${style.quote(key)}: ${renderJsonNode(value, depth + 1, style)}`);
  return `{\n${members.join(',\n')}\n${style.indent.repeat(depth)}}`;
}

function tableMembers(table: Table): Array<[string, JsonNode]> {
  if (table.kind === 'single') {
    if (table.rows.length === 0) return [];
    const rows = table.rows.map(([name, value]): [string, JsonNode] => [name, value]);
    return table.name === '' ? rows : [[table.name, rows]];
  }
  const rows = table.rows.map((row): [string, JsonNode] => [row[0]!, table.columns.map((column, index): [string, JsonNode] => [column, row[index]!])]);
  return table.name === '' ? rows : [[table.name, rows]];
}

/** Tables as one pretty JSON object, with a trailing newline. */
export function renderTablesJson(tables: readonly Table[]): string {
  return `${renderJsonNode(tables.flatMap(tableMembers), 0, PRETTY)}\n`;
}

/** Tables as one compact JSON object, with a trailing newline. */
export function renderTablesCompactJson(tables: readonly Table[]): string {
  return `${renderJsonNode(tables.flatMap(tableMembers), 0, COMPACT)}\n`;
}

/** Name-value rows as one compact JSON object (`{"name":"value",...}`), as most admin calls answer. */
export function renderRowsCompactJson(rows: ReadonlyArray<readonly [string, string]>): string {
  return renderTablesCompactJson([singleTable('', rows)]);
}

/** A stand-alone table (not part of a group): no empty line after it in text form. */
export function renderTable(table: Table, json: boolean): string {
  return json ? renderTablesJson([table]) : renderTableText(table);
}

/** A group of tables printed together. */
export function renderTables(tables: readonly Table[], json: boolean): string {
  return json ? renderTablesJson(tables) : renderTablesText(tables);
}
