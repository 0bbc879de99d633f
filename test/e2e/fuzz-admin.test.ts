// `npm test`'s bounded run of the fuzzers of the admin calls and the shell's meta RPCs, on one
// small real cluster (test/fuzz/cluster-fuzzers.ts), and of config.ini as a server reads it at
// start; `npm run fuzz` runs the fuzzers at 10,000 cases each.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLUSTER_FUZZERS, FuzzCluster } from '../fuzz/cluster-fuzzers.ts';
import { configIniFuzzer } from '../fuzz/local-fuzzers.ts';
import { caseRng } from '../fuzz/random.ts';
import { assertNoFailures, runFuzzer } from '../fuzz/runner.ts';
import { fuzzSeed } from '../fuzz/seed.ts';
import { freePort, PROJECT_ROOT, stopWithTestProcess } from '../helpers/process.ts';

const SEED = fuzzSeed();
const CASES = 300;

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

/** `pteron meta --config <file>`: its exit code and what it printed on stderr. */
function runMeta(configFile: string, port: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'meta', '--port', String(port), '--config', configFile], {
      cwd: PROJECT_ROOT, env: { ...process.env, PTERON_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    stopWithTestProcess(child);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    // A meta that started after all is stopped: the assertion below then names the config.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe(`a server given a broken config.ini (seed ${SEED})`, { timeout: 240_000 }, () => {
  it('exits 2 with the loader\'s message, never a stack trace, for mutants the loader refuses', async () => {
    const fuzzer = configIniFuzzer();
    await fuzzer.prepare!();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-fuzz-config-'));
    try {
      let started = 0;
      for (let index = 0; started < 3; index++) {
        const text = fuzzer.generate(caseRng(SEED, 'config-ini-process', index));
        const refused = fuzzer.outcomes!.get('refused');
        fuzzer.check(text);
        if (fuzzer.outcomes!.get('refused') === refused) continue;
        started++;
        const file = path.join(dir, `config${index}.ini`);
        writeFileSync(file, text, 'latin1');
        const { code, stderr } = await runMeta(file, await freePort());
        const context = `case ${index}: ${JSON.stringify(text.slice(0, 500))}\n${stderr.slice(0, 2000)}`;
        assert.equal(code, 2, context);
        assert.match(stderr, /^pteron: \S/, context);
        assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+\)?$/m, context);
      }
    } finally {
      await fuzzer.finish?.();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
