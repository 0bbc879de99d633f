// What a duplicator does when a batch could not be shipped (pure), by the duplication's fail
// mode: FAIL_SLOW retries until it succeeds, backing off; FAIL_SKIP gives the batch up after a
// few attempts (the follower misses those writes); FAIL_FAST stops shipping after as many, until
// the duplication is changed (a new fail mode, a pause and start, or a new primary).
import { DuplicationFailMode } from '../../wire/index.ts';

export type ShipFailureAction = { kind: 'retry'; delayMs: number } | { kind: 'skip' } | { kind: 'stop' };

/** Attempts of one batch before FAIL_SKIP skips it or FAIL_FAST stops. */
export const SHIP_ATTEMPTS_MAX = 3;
export const RETRY_DELAY_MS_MIN = 1000;
export const RETRY_DELAY_MS_MAX = 10_000;

/** After `attempts` failed attempts of one batch (1 on the first failure). */
export function onShipFailure(failMode: DuplicationFailMode, attempts: number): ShipFailureAction {
  const delayMs = Math.min(RETRY_DELAY_MS_MIN * 2 ** Math.min(attempts - 1, 10), RETRY_DELAY_MS_MAX);
  if (attempts >= SHIP_ATTEMPTS_MAX && failMode === DuplicationFailMode.FAIL_SKIP) return { kind: 'skip' };
  if (attempts >= SHIP_ATTEMPTS_MAX && failMode === DuplicationFailMode.FAIL_FAST) return { kind: 'stop' };
  return { kind: 'retry', delayMs };
}
