// /pprof/growth in Node terms. gperftools reports the stacks that grew the address space; V8
// has no such record, so this reports where the memory is and how much each part grew: the V8
// heap spaces (used and reserved bytes) and the process totals (RSS, external memory, array
// buffers), each with its change since the previous report (the first report compares with
// the moment the server registered its calls).
import v8 from 'node:v8';

export interface MemorySnapshot {
  takenAtMs: number;
  /** space name → [used bytes, reserved (space size) bytes] */
  spaces: Map<string, [number, number]>;
  /** process-wide totals, in the order they are printed */
  totals: Array<[string, number]>;
}

export function takeMemorySnapshot(): MemorySnapshot {
  const spaces = new Map<string, [number, number]>();
  for (const space of v8.getHeapSpaceStatistics()) spaces.set(space.space_name, [space.space_used_size, space.space_size]);
  const usage = process.memoryUsage();
  return {
    takenAtMs: Date.now(),
    spaces,
    totals: [
      ['rss', usage.rss],
      ['heap_total', usage.heapTotal],
      ['heap_used', usage.heapUsed],
      ['external', usage.external],
      ['array_buffers', usage.arrayBuffers],
    ],
  };
}

function signed(value: number): string {
  return value > 0 ? `+${value}` : String(value);
}

function row(cells: string[], widths: number[]): string {
  return cells.map((cell, index) => (index === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[index]!))).join('  ').trimEnd();
}

/** The text report of `now` against `previous`. */
export function growthReport(previous: MemorySnapshot, now: MemorySnapshot, previousLabel: string): string {
  const seconds = ((now.takenAtMs - previous.takenAtMs) / 1000).toFixed(3);
  const lines = [`memory growth over ${seconds} s, since ${previousLabel}`, ''];

  const spaceWidths = [26, 14, 14, 14, 14];
  lines.push(row(['v8_heap_space', 'used_bytes', 'used_growth', 'size_bytes', 'size_growth'], spaceWidths));
  for (const [name, [used, size]] of now.spaces) {
    const [usedBefore, sizeBefore] = previous.spaces.get(name) ?? [0, 0];
    lines.push(row([name, String(used), signed(used - usedBefore), String(size), signed(size - sizeBefore)], spaceWidths));
  }
  lines.push('');

  const totalWidths = [26, 14, 14];
  lines.push(row(['process', 'bytes', 'growth'], totalWidths));
  const before = new Map(previous.totals);
  for (const [name, bytes] of now.totals) {
    lines.push(row([name, String(bytes), signed(bytes - (before.get(name) ?? 0))], totalWidths));
  }
  return `${lines.join('\n')}\n`;
}
