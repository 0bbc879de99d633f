// `npm run torture -- [--seconds N] [--seed S] [--nemesis kill,pause,...] [--clients N] [--summary FILE]`:
// one torture run; prints its summary and exits 1 on any violation.
import { writeFileSync } from 'node:fs';
import { parseTortureArgs, type TortureOptions } from './schedule.ts';
import { formatSummary, runTorture } from './torture.ts';

let options: TortureOptions;
try {
  options = parseTortureArgs(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const summary = await runTorture(options);
console.log(formatSummary(summary));
if (options.summaryFile) writeFileSync(options.summaryFile, JSON.stringify(summary, (_, value) => (typeof value === 'bigint' ? String(value) : value), 2));
process.exit(summary.violations.length === 0 ? 0 : 1);
