// The seeded fault schedule and the command line of `npm run torture`. Pure: the same seed and
// options give the same schedule, so a failing run is repeated with its seed.
import { Prng } from '../helpers/prng.ts';

export const NEMESES = ['kill', 'pause', 'restart', 'meta-failover', 'zk-loss', 'disk-full', 'slow-disk', 'clock', 'log-tail'] as const;
export type Nemesis = (typeof NEMESES)[number];

export interface Fault {
  nemesis: Nemesis;
  /** Which replica server (kill, pause, restart, disk-full, slow-disk, clock, log-tail) or meta (pause of a meta) it hits, as an index. */
  target: number;
  /** pause: a meta instead of a replica server. */
  onMeta: boolean;
  /** How long the fault lasts before it is healed (ms). */
  durationMs: number;
  /** clock: the skew in seconds; slow-disk: the fsync delay in ms; log-tail: the bytes cut. */
  amount: number;
}

/** The next fault of the schedule (the prng carries its state). */
export function nextFault(prng: Prng, nemeses: readonly Nemesis[], replicaCount: number, metaCount: number): Fault {
  const nemesis = prng.pick(nemeses);
  const onMeta = nemesis === 'pause' && prng.chance(0.3);
  const target = prng.int(0, (onMeta ? metaCount : replicaCount) - 1);
  const durationMs = prng.int(2000, 8000);
  const amount =
    nemesis === 'clock' ? prng.pick([-1, 1]) * prng.int(30, 600)
      : nemesis === 'slow-disk' ? prng.int(200, 1500)
        : nemesis === 'log-tail' ? prng.int(1, 4096)
          : 0;
  return { nemesis, target, onMeta, durationMs, amount };
}

/** Quiet time between one fault's healing and the next fault (ms). */
export function quietMs(prng: Prng): number {
  return prng.int(1000, 4000);
}

export interface TortureOptions {
  seconds: number;
  seed: number;
  nemeses: Nemesis[];
  clients: number;
  /** Write the summary as JSON to this file too. */
  summaryFile?: string;
}

export const DEFAULT_NEMESES: Nemesis[] = ['kill', 'pause', 'restart', 'meta-failover', 'zk-loss', 'disk-full', 'slow-disk', 'clock', 'log-tail'];

const USAGE = 'usage: npm run torture -- [--seconds N] [--seed S] [--nemesis kill,pause,...] [--clients N] [--summary FILE]';

/** Parses the command line; throws an Error whose message starts with the usage on bad input. */
export function parseTortureArgs(argv: readonly string[]): TortureOptions {
  const options: TortureOptions = { seconds: 60, seed: Date.now() % 1_000_000, nemeses: [...DEFAULT_NEMESES], clients: 4 };
  const bad = (why: string): Error => new Error(`${USAGE}\n${why}`);
  const wholeNumber = (flag: string, text: string | undefined, min: number): number => {
    const value = Number(text);
    if (text === undefined || !/^\d+$/.test(text) || value < min) throw bad(`${flag} takes a whole number >= ${min}, got ${JSON.stringify(text ?? '')}`);
    return value;
  };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index]!;
    const value = argv[index + 1];
    switch (flag) {
      case '--seconds': options.seconds = wholeNumber(flag, value, 1); break;
      case '--seed': options.seed = wholeNumber(flag, value, 0); break;
      case '--clients': options.clients = wholeNumber(flag, value, 1); break;
      case '--summary':
        if (value === undefined) throw bad('--summary takes a file name');
        options.summaryFile = value;
        break;
      case '--nemesis': {
        const names = (value ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
        if (names.length === 0) throw bad('--nemesis takes a comma-separated list');
        for (const name of names) if (!(NEMESES as readonly string[]).includes(name)) throw bad(`unknown nemesis ${JSON.stringify(name)}; known: ${NEMESES.join(',')}`);
        options.nemeses = names as Nemesis[];
        break;
      }
      default:
        throw bad(`unknown argument ${JSON.stringify(flag)}`);
    }
    index += 1;
  }
  return options;
}
