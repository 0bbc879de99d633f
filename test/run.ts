// `npm test`'s runner: the in-process suites, then the real-process suites of test/e2e/, each
// group with its own concurrency, and one closing line over both. The e2e suites start servers
// and clusters, so on a small machine they get fewer files at once
// (PTERON_E2E_CONCURRENCY, default 2; PTERON_TEST_CONCURRENCY for the others, default 2).
// A file still running after PTERON_FILE_TIMEOUT_SECONDS (default 300) fails and is stopped, so
// one hung file, or one kept alive by a handle its tests left open, cannot hold the whole run
// until CI's own limit. (Not forceExit: on Node 22 it ends some files before their last suites.)
//
//   node --import tsx test/run.ts [FILE ...]     (no files: every test/**/*.test.ts)
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { PROJECT_ROOT } from './helpers/process.ts';

const TEST_ROOT = path.join(PROJECT_ROOT, 'test');
const E2E_ROOT = path.join(TEST_ROOT, 'e2e');

interface Group {
  name: string;
  files: string[];
  concurrency: number;
  fileTimeoutMs: number;
}

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return testFiles(full);
      return entry.name.endsWith('.test.ts') ? [full] : [];
    })
    .sort();
}

function wholeNumberFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number >= 1, got ${JSON.stringify(raw)}`);
  return value;
}

async function runGroup(group: Group, tally: Tally): Promise<void> {
  if (group.files.length === 0) return;
  console.log(`\n# ${group.name}: ${group.files.length} files, ${group.concurrency} at a time`);
  const stream = run({ files: group.files, concurrency: group.concurrency, timeout: group.fileTimeoutMs });
  stream.on('test:pass', (event) => {
    if (event.details.type === 'suite') return;
    if (event.skip !== undefined && event.skip !== false) tally.skipped++;
    else tally.passed++;
  });
  stream.on('test:fail', (event) => {
    if (event.details.type !== 'suite') tally.failed++;
  });
  const reported = stream.compose(new spec());
  reported.pipe(process.stdout, { end: false });
  await new Promise<void>((resolve, reject) => {
    reported.on('end', resolve);
    reported.on('error', reject);
  });
}

async function main(): Promise<void> {
  const named = process.argv.slice(2).map((file) => path.resolve(file));
  const files = named.length > 0 ? named : testFiles(TEST_ROOT);
  const isE2e = (file: string) => file.startsWith(E2E_ROOT + path.sep);
  const fileTimeoutMs = wholeNumberFrom('PTERON_FILE_TIMEOUT_SECONDS', 300) * 1000;
  const groups: Group[] = [
    { name: 'in-process suites', files: files.filter((file) => !isE2e(file)), concurrency: wholeNumberFrom('PTERON_TEST_CONCURRENCY', 2), fileTimeoutMs },
    { name: 'real-process suites (test/e2e)', files: files.filter(isE2e), concurrency: wholeNumberFrom('PTERON_E2E_CONCURRENCY', 2), fileTimeoutMs },
  ];
  const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
  for (const group of groups) await runGroup(group, tally);
  // A failing file that never reports a test (a syntax error, a crash at load) counts as failed.
  process.exitCode = tally.failed > 0 || process.exitCode ? 1 : 0;
  console.log(`\n${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`);
}

await main();
