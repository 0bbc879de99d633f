// A session's result stream: every result goes to a bounded history (replayed to consumers that
// join later) and to every consumer's queue. Results are handed over synchronously; a consumer's
// waiting pull is woken by its own queue.
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.ts';
import { DEFAULT_CONSUMER_LIMITS, ResultConsumer, type ConsumerLimits } from './consumer.ts';
import { inputStatusResult, type Result } from './results.ts';

/** Clients match this text to tell an unhealthy-consumer interrupt from an ordinary failure. */
export const UNHEALTHY_CONSUMERS_MESSAGE = 'all consumers are unhealthy, current job was interrupted.';

/** A place results can be appended to: the session stream, or one `exec` request's list. */
export interface ResultSink {
  appendResult(result: Result): void;
}

export interface DistributorOptions {
  /** How many results (input statuses aside) a joining consumer is replayed. */
  historySize: number;
  consumerLimits: ConsumerLimits;
  /** Called once when a result finds no healthy consumer (re-armed once one is healthy again). */
  onAllConsumersUnhealthy: () => void;
}

export class SharingDistributor implements ResultSink {
  private readonly history: Result[] = [];
  private lastInputStatus: Result | undefined;
  private readonly consumers = new Map<string, ResultConsumer>();
  private consumerCounter = 0;
  private unhealthyReported = false;
  private closedFlag = false;

  constructor(
    private readonly clock: Clock,
    private readonly options: DistributorOptions = {
      historySize: 50,
      consumerLimits: DEFAULT_CONSUMER_LIMITS,
      onAllConsumersUnhealthy: () => {},
    },
  ) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  appendResult(result: Result): void {
    if (this.closedFlag) return;
    if (result.type === 'input_status') {
      this.lastInputStatus = result;
    } else {
      this.history.push(result);
      if (this.history.length > this.options.historySize) this.history.shift();
    }
    for (const consumer of this.consumers.values()) consumer.append(result);
    this.checkHealth();
  }

  /**
   * A new consumer; a joining one (`replay`) first gets DISABLED, the history, then the latest
   * input status, so a refreshed page shows what happened and whether it may type.
   */
  addConsumer(replay: boolean): ResultConsumer {
    const id = `${randomUUID().replaceAll('-', '')}_${++this.consumerCounter}`;
    const consumer = new ResultConsumer(id, this.clock, this.options.consumerLimits);
    if (replay) {
      consumer.append(inputStatusResult('DISABLED'));
      for (const result of this.history) consumer.append(result);
      if (this.lastInputStatus) consumer.append(this.lastInputStatus);
    }
    if (!this.closedFlag) this.consumers.set(id, consumer);
    else consumer.close();
    return consumer;
  }

  getConsumer(id: string): ResultConsumer | undefined {
    return this.consumers.get(id);
  }

  removeConsumer(id: string): void {
    const consumer = this.consumers.get(id);
    if (!consumer) return;
    this.consumers.delete(id);
    consumer.close();
  }

  allConsumers(): ResultConsumer[] {
    return [...this.consumers.values()];
  }

  close(): void {
    this.closedFlag = true;
    for (const consumer of this.consumers.values()) consumer.close();
    this.consumers.clear();
  }

  private checkHealth(): void {
    if (this.consumers.size === 0) return;
    for (const consumer of this.consumers.values()) {
      if (consumer.isHealthy()) {
        this.unhealthyReported = false;
        return;
      }
    }
    if (this.unhealthyReported) return;
    this.unhealthyReported = true;
    this.options.onAllConsumersUnhealthy();
  }
}

/** Collects one `exec` request's results, up to a bound; later ones are dropped. */
export class PackingSink implements ResultSink {
  readonly results: Result[] = [];
  droppedCount = 0;
  constructor(private readonly capacity = 500) {}
  appendResult(result: Result): void {
    if (this.results.length < this.capacity) this.results.push(result);
    else this.droppedCount++;
  }
}
