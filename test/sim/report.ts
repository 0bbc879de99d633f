// How a failing seed is reported: the command that replays it, the violation, the run's profile
// and the last events before the failure.
import { DEFAULT_STEPS, type SimResult } from './simulation.ts';

export function replayCommand(seed: number, steps: number, flags = ''): string {
  return `node --import tsx test/sim/run.ts --seed ${seed}${steps === DEFAULT_STEPS ? '' : ` --steps ${steps}`}${flags}`;
}

export function formatFailure(result: SimResult, steps: number, flags = ''): string {
  return [
    `FAIL seed ${result.seed}: ${replayCommand(result.seed, steps, flags)}`,
    `  ${result.failure}`,
    `  profile: ${result.stats.profile}`,
    '  trace tail:',
    ...result.traceTail.map((line) => `    ${line}`),
  ].join('\n');
}
