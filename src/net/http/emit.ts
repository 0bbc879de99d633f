// nlohmann::json's output, which some of Pegasus's admin calls answer with (spec pegasus-http §2);
// the others print tables (base/table-printer.ts). Which one an endpoint uses decides its bytes.

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
