// A small seeded pseudo-random generator for the fault simulator and the torture harness: the whole run is a function of
// the seed, so a failing seed replays exactly. mulberry32 over a 32-bit state, seeded through a
// splitmix-style scramble so that neighbouring seeds give unrelated streams.

export class Prng {
  private state: number;

  constructor(seed: number) {
    let mixed = (seed ^ 0x9e3779b9) >>> 0;
    mixed = Math.imul(mixed ^ (mixed >>> 16), 0x85ebca6b) >>> 0;
    mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35) >>> 0;
    this.state = (mixed ^ (mixed >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [low, high] (both included). */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A new generator whose stream depends on this one's (for a component that draws on its own). */
  fork(): Prng {
    return new Prng(Math.floor(this.next() * 4294967296));
  }
}
