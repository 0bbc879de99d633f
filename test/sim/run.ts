// Runs the fault simulator from the command line.
//
//   node --import tsx test/sim/run.ts --seeds N [--first F] [--steps K]   seeds F … F+N-1 (F defaults to 1)
//   node --import tsx test/sim/run.ts --seed S [--steps K] [--verbose]    one seed (replay)
//
// Prints one line per failing seed with the command that replays it, the violation and the tail
// of its trace, then a summary; exits 1 if any seed failed.
import { DEFAULT_STEPS, runSimulation, type SimResult } from './simulation.ts';

function parseArgs(argv: readonly string[]): { seeds: number[]; steps: number; verbose: boolean; quiet: boolean } {
  let count: number | undefined;
  let first = 1;
  let single: number | undefined;
  let steps = DEFAULT_STEPS;
  let verbose = false;
  let quiet = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const value = (): number => {
      const text = argv[++index];
      const number = Number(text);
      if (text === undefined || !Number.isInteger(number) || number < 0) throw new Error(`${arg} needs a non-negative integer`);
      return number;
    };
    if (arg === '--seeds') count = value();
    else if (arg === '--first') first = value();
    else if (arg === '--seed') single = value();
    else if (arg === '--steps') steps = value();
    else if (arg === '--verbose') verbose = true;
    else if (arg === '--quiet') quiet = true;
    else throw new Error(`unknown argument ${arg} (use --seeds N [--first F] | --seed S, [--steps K] [--verbose])`);
  }
  if (single !== undefined) return { seeds: [single], steps, verbose, quiet };
  const total = count ?? 100;
  return { seeds: Array.from({ length: total }, (_, index) => first + index), steps, verbose, quiet };
}

export function replayCommand(seed: number, steps: number): string {
  return `node --import tsx test/sim/run.ts --seed ${seed}${steps === DEFAULT_STEPS ? '' : ` --steps ${steps}`}`;
}

export function formatFailure(result: SimResult, steps: number): string {
  return [
    `FAIL seed ${result.seed}: ${replayCommand(result.seed, steps)}`,
    `  ${result.failure}`,
    `  profile: ${result.stats.profile}`,
    '  trace tail:',
    ...result.traceTail.map((line) => `    ${line}`),
  ].join('\n');
}

function main(): void {
  const { seeds, steps, verbose, quiet } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  let failed = 0;
  let inconclusive = 0;
  let events = 0;
  let decrees = 0;
  let virtualMs = 0;
  for (const seed of seeds) {
    const result = runSimulation({ seed, steps, verbose });
    events += result.stats.events;
    decrees += result.stats.decrees;
    virtualMs += result.stats.virtualMs;
    if (result.inconclusive) inconclusive += 1;
    if (!result.ok) {
      failed += 1;
      console.log(formatFailure(result, steps));
    } else if (seeds.length === 1 || (!quiet && verbose)) {
      const stats = result.stats;
      console.log(`ok seed ${seed}: ${stats.events} events, ${(stats.virtualMs / 1000).toFixed(1)} s virtual, ${stats.decrees} decrees, ${stats.putsAcked}/${stats.puts} puts acknowledged, ${stats.reads} reads, ${stats.configChanges} config changes, ${stats.crashes} crashes, ${stats.partitions} partitions, ${stats.lost}/${stats.messages} messages lost; ${stats.profile}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`${seeds.length} seeds, ${failed} failed${inconclusive > 0 ? `, ${inconclusive} inconclusive linearizability checks` : ''}; ${events} events, ${decrees} decrees, ${(virtualMs / 1000).toFixed(0)} s virtual in ${seconds.toFixed(1)} s`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main();
