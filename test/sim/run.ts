// Runs the fault simulator from the command line.
//
//   node --import tsx test/sim/run.ts --seeds N [--first F] [--steps K]   seeds F … F+N-1 (F defaults to 1)
//   node --import tsx test/sim/run.ts --seed S [--steps K] [--verbose]    one seed (replay)
//
// Experiments (what the checks catch when a safeguard is taken away):
//   --no-reconnect-sync        a replica serves reads again as soon as its lease is back, before
//                              a config sync told it whether it is still primary
//   --meta-keep-stale-reports  the meta keeps a node's old config-sync report across its rejoining
//   --lazy-ballot              a replica saves a new ballot up to 50 ms after acting on it (a crash
//                              in between restores the older one)
//   --fail-writes-on-step-down a primary that steps down answers its writes in flight as failed
//   --grace-below-lease        the meta declares a replica server dead before its lease ran out
// More faults:
//   --wipes                    also replace the disk of a crashed secondary (while two other
//                              members are up and hold the data, so no committed data is really
//                              lost); a run that still ends with every copy lost must end with
//                              the partition unavailable, and is counted, not failed
//
// Prints one line per failing seed with the command that replays it, the violation and the tail
// of its trace, then a summary; exits 1 if any seed failed.
import { formatFailure } from './report.ts';
import { DEFAULT_STEPS, GRACE_BELOW_LEASE_MS, runSimulation, type SimOptions } from './simulation.ts';

interface Args {
  seeds: number[];
  steps: number;
  verbose: boolean;
  quiet: boolean;
  experiment: Pick<SimOptions, 'nodeOverrides' | 'metaKeepsStaleReports' | 'wipes' | 'timings'>;
  flags: string;
}

function parseArgs(argv: readonly string[]): Args {
  let count: number | undefined;
  let first = 1;
  let single: number | undefined;
  let steps = DEFAULT_STEPS;
  let verbose = false;
  let quiet = false;
  const experiment: Args['experiment'] = {};
  const flags: string[] = [];
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
    else if (arg === '--no-reconnect-sync') {
      experiment.nodeOverrides = { ...experiment.nodeOverrides, syncAfterReconnect: false };
      flags.push(arg);
    } else if (arg === '--lazy-ballot') {
      experiment.nodeOverrides = { ...experiment.nodeOverrides, ballotSaveDelayMaxMs: 50 };
      flags.push(arg);
    } else if (arg === '--fail-writes-on-step-down') {
      experiment.nodeOverrides = { ...experiment.nodeOverrides, failWritesOnStepDown: true };
      flags.push(arg);
    } else if (arg === '--grace-below-lease') {
      experiment.timings = { graceMs: GRACE_BELOW_LEASE_MS };
      flags.push(arg);
    } else if (arg === '--wipes') {
      experiment.wipes = true;
      flags.push(arg);
    } else if (arg === '--meta-keep-stale-reports') {
      experiment.metaKeepsStaleReports = true;
      flags.push(arg);
    }
    else throw new Error(`unknown argument ${arg} (use --seeds N [--first F] | --seed S, [--steps K] [--verbose])`);
  }
  const common = { steps, verbose, quiet, experiment, flags: flags.map((flag) => ` ${flag}`).join('') };
  if (single !== undefined) return { seeds: [single], ...common };
  const total = count ?? 100;
  return { seeds: Array.from({ length: total }, (_, index) => first + index), ...common };
}

function changesText(entries: Array<[string, number]>): string {
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  const parts = entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([type, count]) => `${type.replace(/^CT_/, '')} ${count}`);
  return `${total} config changes (${parts.join(', ')})`;
}

function main(): void {
  const { seeds, steps, verbose, quiet, experiment, flags } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  let failed = 0;
  let inconclusive = 0;
  let dataLost = 0;
  let events = 0;
  let decrees = 0;
  let virtualMs = 0;
  let crashes = 0;
  let partitions = 0;
  let checkpoints = 0;
  let metaFailovers = 0;
  let metaSwitches = 0;
  let leaseLapses = 0;
  const changes = new Map<string, number>();
  for (const seed of seeds) {
    const result = runSimulation({ seed, steps, verbose, ...experiment });
    events += result.stats.events;
    decrees += result.stats.decrees;
    virtualMs += result.stats.virtualMs;
    crashes += result.stats.crashes;
    partitions += result.stats.partitions;
    checkpoints += result.stats.checkpoints;
    metaFailovers += result.stats.metaFailovers;
    metaSwitches += result.stats.metaSwitches;
    leaseLapses += result.stats.leaseLapses;
    for (const [type, count] of Object.entries(result.stats.configChanges)) changes.set(type, (changes.get(type) ?? 0) + count);
    if (result.inconclusive) inconclusive += 1;
    if (result.dataLost !== undefined) {
      dataLost += 1;
      if (!quiet) console.log(`seed ${seed}: every copy of the data was lost, the partition waits for an operator (${result.dataLost})`);
    }
    if (!result.ok) {
      failed += 1;
      console.log(formatFailure(result, steps, flags));
    } else if (seeds.length === 1 || (!quiet && verbose)) {
      const stats = result.stats;
      console.log(`ok seed ${seed}: ${stats.events} events, ${(stats.virtualMs / 1000).toFixed(1)} s virtual, ${stats.decrees} decrees, ${stats.putsAcked}/${stats.puts} puts acknowledged, ${stats.reads} reads, ${changesText(Object.entries(stats.configChanges))}, ${stats.checkpoints} checkpoints, ${stats.crashes} crashes, ${stats.partitions} partitions, ${stats.metaFailovers} meta failovers, ${stats.metaSwitches} meta switches, ${stats.leaseLapses} lease lapses, ${stats.lost}/${stats.messages} messages lost; ${stats.profile}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (seeds.length > 1) {
    console.log(`faults: ${crashes} crashes, ${partitions} partitions, ${metaFailovers} meta failovers; ${metaSwitches} meta switches, ${leaseLapses} lease lapses; ${checkpoints} checkpoints; ${changesText([...changes])}`);
  }
  const lostText = dataLost > 0 ? `, ${dataLost} ended with every copy of the data lost (unavailable, as they must be)` : '';
  console.log(`${seeds.length} seeds, ${failed} failed${inconclusive > 0 ? `, ${inconclusive} inconclusive linearizability checks` : ''}${lostText}; ${events} events, ${decrees} decrees, ${(virtualMs / 1000).toFixed(0)} s virtual in ${seconds.toFixed(1)} s`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main();
