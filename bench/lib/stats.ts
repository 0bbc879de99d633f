// Small statistics and formatting helpers shared by the benches.

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The value at rank `fraction` (0..1) of samples already sorted ascending (nearest rank). */
export function quantileSorted(sorted: Float64Array | readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

/** A growable list of float samples that does not allocate per sample. */
export class SampleBuffer {
  private values = new Float64Array(1 << 16);
  private count = 0;
  add(value: number): void {
    if (this.count === this.values.length) {
      const larger = new Float64Array(this.values.length * 2);
      larger.set(this.values);
      this.values = larger;
    }
    this.values[this.count++] = value;
  }
  get length(): number {
    return this.count;
  }
  sorted(): Float64Array {
    return this.values.slice(0, this.count).sort();
  }
}

/** Runs `body` `iterations` times and returns each run's wall time in milliseconds. */
export async function timeRuns(iterations: number, body: () => unknown): Promise<number[]> {
  const timesMs: number[] = [];
  for (let index = 0; index < iterations; index++) {
    const startNs = process.hrtime.bigint();
    await body();
    timesMs.push(Number(process.hrtime.bigint() - startNs) / 1e6);
  }
  return timesMs;
}

export function fixed(value: number | undefined, digits: number): string {
  return value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);
}

/** Plain-text table: the first row is the header; numbers-looking cells are right-aligned. */
export function table(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
  const numeric = /^[-+]?[0-9.,]+( ?[a-zA-Z%/µ]+)?$|^-$/;
  const line = (row: readonly string[]): string =>
    row.map((cell, column) => (column > 0 && numeric.test(cell) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  const [header, ...body] = rows;
  if (!header) return '';
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join('\n');
}
