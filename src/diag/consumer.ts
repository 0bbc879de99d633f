// One reader of a session's result stream. Each consumer has its own bounded queue, so two
// people sharing a session both see every result and neither's pulls affect the other's.
import type { Clock, TimerHandle } from './clock.ts';
import { resultItemCount, type Result } from './results.ts';

export interface ConsumerLimits {
  /** Queue capacity; on overflow the oldest result is dropped, the producer never waits. */
  queueSize: number;
  /** A pull returns with an empty list after waiting this long for a first result. */
  pollTimeLimitMs: number;
  /** Once a pull holds results, it returns when nothing more arrives for this long. */
  flushDelayMs: number;
  /** A pull returns at most this many results. */
  batchSize: number;
  /** A pull stops taking results once their item count reaches this. */
  batchItemsMax: number;
  /** A second pull on the same consumer waits this long for the first, then returns empty. */
  pollLockWaitMs: number;
  /** A consumer pulled this recently counts as healthy, whatever its queue holds. */
  healthyAccessMs: number;
}

export const DEFAULT_CONSUMER_LIMITS: ConsumerLimits = {
  queueSize: 50,
  pollTimeLimitMs: 2000,
  flushDelayMs: 100,
  batchSize: 20,
  batchItemsMax: 100,
  pollLockWaitMs: 500,
  healthyAccessMs: 1000,
};

type Wakeup = () => void;
/** Called with true to hand the poll lock over, with false when the consumer closed. */
type LockWaiter = (granted: boolean) => void;

export class ResultConsumer {
  private readonly queue: Result[] = [];
  private closedFlag = false;
  /** Set while a pull is running: the poll lock. */
  private polling = false;
  /** Pulls waiting for the lock, oldest first. */
  private lockWaiters: LockWaiter[] = [];
  /** The running pull, waiting for a result (or for the consumer to close). */
  private arrivalWaiter: Wakeup | undefined;
  lastAccessMs: number;
  /** Results dropped because the queue was full. */
  droppedCount = 0;

  constructor(
    readonly id: string,
    private readonly clock: Clock,
    private readonly limits: ConsumerLimits = DEFAULT_CONSUMER_LIMITS,
  ) {
    this.lastAccessMs = clock.now();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** A pull is running right now. */
  get isPolling(): boolean {
    return this.polling;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  append(result: Result): void {
    if (this.closedFlag) return;
    if (this.queue.length >= this.limits.queueSize) {
      this.queue.shift();
      this.droppedCount++;
    }
    this.queue.push(result);
    this.wake();
  }

  /** Healthy: pulling now, or room left in the queue, or pulled within the last second. */
  isHealthy(): boolean {
    return (
      this.polling ||
      this.queue.length < this.limits.queueSize ||
      this.clock.now() - this.lastAccessMs < this.limits.healthyAccessMs
    );
  }

  /** Ends the consumer: a running pull returns at once with what it has; later pulls get nothing. */
  close(): void {
    this.closedFlag = true;
    this.wake();
    for (const waiter of this.lockWaiters.splice(0)) waiter(false);
  }

  /**
   * The long poll: returns about `flushDelayMs` after results show up, or after
   * `pollTimeLimitMs` with an empty list, or at once when a batch limit is reached.
   */
  async pollResults(): Promise<Result[]> {
    this.lastAccessMs = this.clock.now();
    if (this.polling) {
      // The running pull hands the lock straight over, so no third pull can slip in between.
      if (!(await this.waitForLock())) return [];
    } else {
      this.polling = true;
    }
    const collected: Result[] = [];
    try {
      const startMs = this.clock.now();
      let itemCount = 0;
      for (;;) {
        while (this.queue.length > 0 && collected.length < this.limits.batchSize && itemCount < this.limits.batchItemsMax) {
          const result = this.queue.shift()!;
          collected.push(result);
          itemCount += resultItemCount(result);
        }
        if (this.closedFlag || collected.length >= this.limits.batchSize || itemCount >= this.limits.batchItemsMax) break;
        const waitMs = collected.length > 0 ? this.limits.flushDelayMs : startMs + this.limits.pollTimeLimitMs - this.clock.now();
        if (waitMs <= 0) break;
        const arrived = await this.waitForArrival(waitMs);
        if (!arrived && (collected.length > 0 || this.queue.length === 0)) break;
      }
    } finally {
      this.lastAccessMs = this.clock.now();
      const next = this.lockWaiters.shift();
      if (next) next(true);
      else this.polling = false;
    }
    return collected;
  }

  private wake(): void {
    const waiter = this.arrivalWaiter;
    this.arrivalWaiter = undefined;
    waiter?.();
  }

  /** Resolves true when a result arrives or the consumer closes, false when `waitMs` passes first. */
  private waitForArrival(waitMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      this.arrivalWaiter = () => {
        timer?.cancel();
        resolve(true);
      };
      timer = this.clock.setTimer(waitMs, () => {
        this.arrivalWaiter = undefined;
        resolve(false);
      });
    });
  }

  /** Waits for the running pull to finish, at most `pollLockWaitMs`; true when the lock was handed over. */
  private waitForLock(): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const waiter: LockWaiter = (granted) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        resolve(granted);
      };
      const timer = this.clock.setTimer(this.limits.pollLockWaitMs, () => {
        if (settled) return;
        settled = true;
        this.lockWaiters = this.lockWaiters.filter((other) => other !== waiter);
        resolve(false);
      });
      this.lockWaiters.push(waiter);
    });
  }
}
