// The four metric kinds. Values are plain numbers: an int64 counter would need 2^53 events to
// lose precision, which no process here lives to see.
import { PERCENTILE_KINDS, PERCENTILE_RANKS, type MetricPrototype, type PercentileKind } from './types.ts';

export class Counter {
  private count = 0;
  constructor(readonly prototype: MetricPrototype) {}
  increment(by = 1): void {
    this.count += by;
  }
  get value(): number {
    return this.count;
  }
}

/** Reading it returns the count since the previous read and resets it. */
export class VolatileCounter {
  private count = 0;
  constructor(readonly prototype: MetricPrototype) {}
  increment(by = 1): void {
    this.count += by;
  }
  take(): number {
    const value = this.count;
    this.count = 0;
    return value;
  }
}

export class Gauge {
  private current = 0;
  private sampler: (() => number) | undefined;
  constructor(readonly prototype: MetricPrototype) {}
  set(value: number): void {
    this.current = value;
  }
  add(delta: number): void {
    this.current += delta;
  }
  /** Read the value from `sampler` whenever the gauge is read (memory, lag, counts owned elsewhere). */
  sampleWith(sampler: () => number): this {
    this.sampler = sampler;
    return this;
  }
  get value(): number {
    return this.sampler ? this.sampler() : this.current;
  }
}

export const PERCENTILE_SAMPLES_MAX = 4096;

/**
 * A ring of the most recent samples; the percentiles are recomputed on a timer (every 10 s by
 * default), so reads are cheap and stable between recomputations, as in Pegasus.
 */
export class Percentile {
  private readonly samples = new Float64Array(PERCENTILE_SAMPLES_MAX);
  private total = 0;
  private readonly computed = new Map<PercentileKind, number>();
  readonly kinds: readonly PercentileKind[];
  constructor(readonly prototype: MetricPrototype) {
    this.kinds = prototype.kinds ?? PERCENTILE_KINDS;
    for (const kind of this.kinds) this.computed.set(kind, 0);
  }
  observe(value: number): void {
    this.samples[this.total % PERCENTILE_SAMPLES_MAX] = value;
    this.total++;
  }
  /** value at index floor(n * rank) of the n most recent samples, sorted ascending. */
  recompute(): void {
    const count = Math.min(this.total, PERCENTILE_SAMPLES_MAX);
    if (count === 0) return;
    const sorted = this.samples.slice(0, count).sort();
    for (const kind of this.kinds) {
      this.computed.set(kind, sorted[Math.min(count - 1, Math.floor(count * PERCENTILE_RANKS[kind]))]!);
    }
  }
  get(kind: PercentileKind): number | undefined {
    return this.computed.get(kind);
  }
  get observations(): number {
    return this.total;
  }
}

export type Metric = Counter | VolatileCounter | Gauge | Percentile;
