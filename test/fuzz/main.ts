// `npm run fuzz -- [--cases N] [--seed S] [--only NAME[,NAME...]] [--case I] [--list]`: runs every
// fuzzer (10,000 cases each by default) and prints, per fuzzer, its cases, time and failures, each
// failure with the command that replays it. The fuzzers that need servers share one test cluster,
// started only when one of them runs. Exits 1 when any fuzzer failed.
import { parseArgs } from 'node:util';
import { randomInt } from 'node:crypto';
import { CLUSTER_FUZZERS, FuzzCluster } from './cluster-fuzzers.ts';
import { localFuzzers } from './local-fuzzers.ts';
import { formatFailure, runFuzzer, type FuzzResult } from './runner.ts';

function wholeNumber(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${option} expects a whole number, got "${text}"`);
    process.exit(2);
  }
  return value;
}

const { values } = parseArgs({
  options: {
    cases: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' }, case: { type: 'string' }, list: { type: 'boolean' },
  },
});
const cases = wholeNumber('cases', values.cases, 10_000);
const seed = wholeNumber('seed', values.seed, randomInt(2 ** 31));
const onlyCase = values.case === undefined ? undefined : wholeNumber('case', values.case, 0);

const locals = localFuzzers();
const names = [...locals.map((fuzzer) => fuzzer.name), ...CLUSTER_FUZZERS.map((spec) => spec.name)];
if (values.list) {
  for (const fuzzer of locals) console.log(`${fuzzer.name}: ${fuzzer.description}`);
  for (const spec of CLUSTER_FUZZERS) console.log(`${spec.name} (on a test cluster): ${spec.description}`);
  process.exit(0);
}
const only = values.only?.split(',').filter((name) => name !== '');
const unknown = only?.filter((name) => !names.includes(name)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown fuzzer ${unknown.join(', ')}; the fuzzers are ${names.join(', ')}`);
  process.exit(2);
}
const selected = (name: string): boolean => only === undefined || only.includes(name);

console.log(`fuzzing with seed ${seed}, ${onlyCase === undefined ? `${cases} cases per fuzzer` : `case ${onlyCase} only`}`);
const results: FuzzResult[] = [];
const report = (result: FuzzResult): void => {
  results.push(result);
  console.log(`${result.name}: ${result.cases} cases in ${(result.ms / 1000).toFixed(1)} s, ${result.failures.length} failures${result.outcomes === '' ? '' : ` (${result.outcomes})`}`);
  for (const failure of result.failures) console.log(formatFailure(result.name, seed, failure));
};
const options = { cases, seed, onlyCase };

for (const fuzzer of locals.filter((item) => selected(item.name))) report(await runFuzzer(fuzzer, options));
const clusterSpecs = CLUSTER_FUZZERS.filter((spec) => selected(spec.name));
if (clusterSpecs.length > 0) {
  const cluster = new FuzzCluster();
  try {
    await cluster.start();
    for (const spec of clusterSpecs) report(await runFuzzer(spec.create(cluster), options));
  } finally {
    await cluster.stop();
  }
}

const failed = results.filter((result) => result.failures.length > 0);
const total = results.reduce((sum, result) => sum + result.cases, 0);
const seconds = results.reduce((sum, result) => sum + result.ms, 0) / 1000;
console.log(`\n${results.length} fuzzers, ${total} cases in ${seconds.toFixed(1)} s, ${failed.length} failed${failed.length > 0 ? `: ${failed.map((result) => result.name).join(', ')}` : ''} (seed ${seed})`);
process.exit(failed.length > 0 ? 1 : 0);
