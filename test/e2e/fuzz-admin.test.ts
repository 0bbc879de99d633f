// `npm test`'s bounded run of the fuzzers of the admin calls and the shell's meta RPCs, on one
// small real cluster (test/fuzz/cluster-fuzzers.ts); `npm run fuzz` runs them at 10,000 cases each.
import { after, before, describe, it } from 'node:test';
import { CLUSTER_FUZZERS, FuzzCluster } from '../fuzz/cluster-fuzzers.ts';
import { assertNoFailures, runFuzzer } from '../fuzz/runner.ts';
import { fuzzSeed } from '../fuzz/seed.ts';

const SEED = fuzzSeed();
const CASES = 400;

describe(`fuzzing the admin calls of a real cluster (seed ${SEED}; rerun with PTERON_FUZZ_SEED=${SEED})`, { timeout: 240_000 }, () => {
  const cluster = new FuzzCluster();
  before(() => cluster.start());
  after(() => cluster.stop());

  for (const spec of CLUSTER_FUZZERS) {
    it(`${spec.name}: ${spec.description}`, async (t) => {
      const result = await runFuzzer(spec.create(cluster), { cases: CASES, seed: SEED });
      t.diagnostic(`${result.cases} cases in ${result.ms} ms${result.outcomes === '' ? '' : `: ${result.outcomes}`}`);
      assertNoFailures(result, SEED);
    });
  }
});
