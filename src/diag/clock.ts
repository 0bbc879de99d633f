// Time for the command-session logic. Sessions, consumers and jobs read the time and set timers
// only through a Clock, so their rules (long-poll waits, expiry, exec timeouts) can be tested by
// advancing a manual clock instead of sleeping.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once after `delayMs`; the timer never keeps the process alive. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

/** node's timers fire at once when asked for more than this; longer waits are chained. */
const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, callback) {
    let timer: NodeJS.Timeout;
    const arm = (remainingMs: number): void => {
      const stepMs = Math.min(Math.max(0, remainingMs), TIMER_DELAY_MS_MAX);
      timer = setTimeout(() => (remainingMs > stepMs ? arm(remainingMs - stepMs) : callback()), stepMs);
      timer.unref();
    };
    arm(delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
};

interface ManualTimer {
  dueMs: number;
  order: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. `advance` fires due timers in due-time order (ties in
 * the order they were set), letting promise callbacks run between them, so code that awaits a
 * timer and then sets the next one behaves as it would in real time.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private order = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: ManualTimer = { dueMs: this.nowMs + Math.max(0, delayMs), order: this.order++, callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Timers set and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const targetMs = this.nowMs + ms;
    await flushPromises();
    for (;;) {
      this.timers = this.timers.filter((timer) => !timer.cancelled);
      const next = this.timers
        .filter((timer) => timer.dueMs <= targetMs)
        .sort((a, b) => a.dueMs - b.dueMs || a.order - b.order)[0];
      if (!next) break;
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      next.cancelled = true;
      next.callback();
      await flushPromises();
    }
    this.nowMs = targetMs;
    await flushPromises();
  }
}

/** Lets every queued promise callback (and the ones they queue, a few levels deep) run. */
export async function flushPromises(): Promise<void> {
  for (let round = 0; round < 20; round++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
