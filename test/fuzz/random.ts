// The fuzzers' seeded randomness: the project's Prng with the draws that input generation needs
// (bounded integers, skewed lengths, bytes, text), and one independent stream per case, so that a
// failing case replays from its seed alone, whatever ran before it.
import { Prng } from '../helpers/prng.ts';

export class FuzzRng extends Prng {
  /** 0 ≤ n < bound. */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** Lengths skewed towards small ones, up to `max` (now and then -1 below, to reach 0). */
  length(max: number): number {
    return Math.max(0, Math.floor(max ** this.next()) - (this.chance(0.1) ? 1 : 0));
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let index = 0; index < length; index++) out[index] = this.below(256);
    return out;
  }

  text(alphabet: string, length: number): string {
    const characters = [...alphabet];
    let out = '';
    for (let index = 0; index < length; index++) out += characters[this.below(characters.length)];
    return out;
  }

  /** Up to `count` of `items`, in random order, without repeats. */
  some<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < count && pool.length > 0) out.push(pool.splice(this.below(pool.length), 1)[0]!);
    return out;
  }
}

/** FNV-1a over the text: a fuzzer's name as a number. */
function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193) >>> 0;
  return hash;
}

/** The seed of one case: a function of the run's seed, the fuzzer and the case number only. */
export function caseSeed(runSeed: number, fuzzer: string, index: number): number {
  return (runSeed ^ hashText(fuzzer) ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
}

export function caseRng(runSeed: number, fuzzer: string, index: number): FuzzRng {
  return new FuzzRng(caseSeed(runSeed, fuzzer, index));
}
