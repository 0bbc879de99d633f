// The seed of a bounded fuzz run in `npm test`: PTERON_FUZZ_SEED replays one, else a fresh one
// (printed by the suite's name, so that a failing run can be replayed).
import { randomInt } from 'node:crypto';

export function fuzzSeed(): number {
  const text = process.env.PTERON_FUZZ_SEED;
  if (text === undefined || text === '') return randomInt(2 ** 31);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`PTERON_FUZZ_SEED must be a whole number, got ${JSON.stringify(text)}`);
  return seed;
}
