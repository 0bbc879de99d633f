// `npm test`'s bounded run of the fuzzers that need no server (config.ini, manifests, the
// supervisor's parameters, shell lines); `npm run fuzz` runs them at 10,000 cases each.
import { describe, it } from 'node:test';
import { localFuzzers } from './local-fuzzers.ts';
import { assertNoFailures, runFuzzer } from './runner.ts';
import { fuzzSeed } from './seed.ts';

const SEED = fuzzSeed();
const CASES = 500;

describe(`fuzzing inputs without a server (seed ${SEED}; rerun with PTERON_FUZZ_SEED=${SEED})`, () => {
  for (const fuzzer of localFuzzers()) {
    it(`${fuzzer.name}: ${fuzzer.description}`, async (t) => {
      const result = await runFuzzer(fuzzer, { cases: CASES, seed: SEED });
      t.diagnostic(`${result.cases} cases in ${result.ms} ms${result.outcomes === '' ? '' : `: ${result.outcomes}`}`);
      assertNoFailures(result, SEED);
    });
  }
});
