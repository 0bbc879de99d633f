// The four metric kinds. Values are plain numbers: an int64 counter would need 2^53 events to
// lose precision, which no process here lives to see.
import {
  BASE_UNITS, LATENCY_BUCKETS_SECONDS, PERCENTILE_KINDS, PERCENTILE_RANKS, type MetricPrototype, type PercentileKind,
} from './types.ts';

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
  private sinceStart = 0;
  constructor(readonly prototype: MetricPrototype) {}
  increment(by = 1): void {
    this.count += by;
    this.sinceStart += by;
  }
  /** The count since the counter was made, which no read resets (what Prometheus scrapes). */
  get total(): number {
    return this.sinceStart;
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
 * default), so reads are cheap and stable between recomputations, as in Pegasus. Every sample
 * is also counted in a histogram bucket since start, which Prometheus scrapes: percentiles of
 * one server cannot be added up into a cluster's, bucket counts can.
 */
export class Percentile {
  private readonly samples = new Float64Array(PERCENTILE_SAMPLES_MAX);
  private total = 0;
  private sampleSum = 0;
  private readonly computed = new Map<PercentileKind, number>();
  readonly kinds: readonly PercentileKind[];
  /** Upper bounds of the buckets in the base unit (seconds, bytes), ascending; above the last is +Inf. */
  readonly bucketBounds: readonly number[];
  /** The same bounds in the metric's own unit, which samples are in. */
  private readonly samplesBounds: readonly number[];
  /** Samples per bucket (not cumulative); the +Inf bucket is `observations` minus their sum. */
  private readonly bucketSamples: Float64Array;
  constructor(readonly prototype: MetricPrototype) {
    this.kinds = prototype.kinds ?? PERCENTILE_KINDS;
    for (const kind of this.kinds) this.computed.set(kind, 0);
    const scale = BASE_UNITS[prototype.unit]?.scale ?? 1;
    this.bucketBounds = prototype.buckets ?? LATENCY_BUCKETS_SECONDS;
    // Rounded so a bound lands on the value it names (5e-8 s is 50 ns, not 49.999…).
    this.samplesBounds = this.bucketBounds.map((bound) => Number((bound / scale).toPrecision(12)));
    this.bucketSamples = new Float64Array(this.bucketBounds.length);
  }
  observe(value: number): void {
    this.samples[this.total % PERCENTILE_SAMPLES_MAX] = value;
    this.total++;
    this.sampleSum += value;
    const bucket = this.samplesBounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) this.bucketSamples[bucket]!++;
  }
  /** Samples at or below each bound, in `bucketBounds` order. */
  cumulativeBuckets(): number[] {
    let running = 0;
    return Array.from(this.bucketSamples, (count) => (running += count));
  }
  /** The sum of every sample since start, in the metric's unit. */
  get sum(): number {
    return this.sampleSum;
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
