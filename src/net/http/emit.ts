// The three JSON emitters Pegasus's admin API uses (spec pegasus-http §2). Which one an
// endpoint uses decides its exact bytes, so handlers pick one explicitly.

/** One table of Pegasus's `table_printer`. */
export type Table =
  /** (name, value) rows → `{"name":"value",...}`; contributes nothing when it has no rows. */
  | { kind: 'single'; name?: string; rows: Array<[string, string]> }
  /** Header + rows; each row becomes `"<first cell>":{"<title>":"<first cell>","<col>":"<cell>",...}`. */
  | { kind: 'multi'; name?: string; title: string; columns: string[]; rows: string[][] };

const quote = (text: string): string => JSON.stringify(text);

function tableMembers(table: Table): string[] {
  if (table.kind === 'single') return table.rows.map(([name, value]) => `${quote(name)}:${quote(value)}`);
  const header = [table.title, ...table.columns];
  return table.rows.map((row) => {
    const cells = header.map((column, index) => `${quote(column)}:${quote(row[index] ?? '')}`);
    return `${quote(row[0] ?? '')}:{${cells.join(',')}}`;
  });
}

/** "TP": compact, every value a string, trailing newline; several tables become a multi-table object. */
export function tp(...tables: Table[]): string {
  const members: string[] = [];
  for (const table of tables) {
    const rows = tableMembers(table);
    if (table.name === undefined) {
      members.push(...rows);
    } else if (table.kind === 'multi' || rows.length > 0) {
      members.push(`${quote(table.name)}:{${rows.join(',')}}`);
    }
  }
  return `{${members.join(',')}}\n`;
}

/** TP for the common single-column case. */
export function tpRows(rows: Array<[string, string]>): string {
  return tp({ kind: 'single', rows });
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort(compareBytes)) sorted[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** "NJ": nlohmann::json dump: keys sorted byte-wise, compact or 2-space pretty, no trailing newline. */
export function nj(value: unknown, indent?: 2): string {
  if (value === undefined) return 'null';
  return JSON.stringify(sortKeysDeep(value), null, indent);
}
