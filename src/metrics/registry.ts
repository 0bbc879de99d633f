// Entities (server, replica@1.0, table@2, …) hold metrics; the process has one registry.
import { assert } from '../base/index.ts';
import { defineFlag } from '../config/index.ts';
import { Counter, Gauge, Percentile, VolatileCounter, type Metric } from './metric.ts';
import type { MetricPrototype } from './types.ts';

const entityRetirementDelayMs = defineFlag({
  section: 'metrics',
  name: 'entity_retirement_delay_ms',
  type: 'FV_UINT64',
  default: 600000,
  description: 'The retention interval (milliseconds) for an entity after it becomes stale',
});

const percentileIntervalMs = defineFlag({
  section: 'metrics',
  name: 'percentile_interval_ms',
  type: 'FV_UINT64',
  default: 10000,
  description: 'The interval (milliseconds) at which percentiles are recomputed from their recent samples',
  validator: (value) => value >= 10,
});

export class MetricEntity {
  readonly metrics = new Map<string, Metric>();
  /** Set when the owner let go of the entity; it stays visible until the retirement delay passes. */
  retiredAtMs: number | undefined;
  constructor(
    readonly type: string,
    readonly id: string,
    public attributes: Record<string, string>,
    private readonly registry: MetricRegistry,
  ) {}

  private instantiate<T extends Metric>(prototype: MetricPrototype, make: () => T): T {
    assert(prototype.entityType === this.type, `metric ${prototype.name} belongs to ${prototype.entityType}, not ${this.type}`);
    const existing = this.metrics.get(prototype.name);
    if (existing) {
      assert(existing.prototype === prototype, `metric ${prototype.name} declared twice on ${this.id}`);
      return existing as T;
    }
    const metric = make();
    this.metrics.set(prototype.name, metric);
    if (metric instanceof Percentile) this.registry.trackPercentile(metric);
    return metric;
  }

  counter(prototype: MetricPrototype): Counter {
    assert(prototype.type === 'Counter', `${prototype.name} is not a Counter`);
    return this.instantiate(prototype, () => new Counter(prototype));
  }
  volatileCounter(prototype: MetricPrototype): VolatileCounter {
    assert(prototype.type === 'VolatileCounter', `${prototype.name} is not a VolatileCounter`);
    return this.instantiate(prototype, () => new VolatileCounter(prototype));
  }
  gauge(prototype: MetricPrototype): Gauge {
    assert(prototype.type === 'Gauge', `${prototype.name} is not a Gauge`);
    return this.instantiate(prototype, () => new Gauge(prototype));
  }
  percentile(prototype: MetricPrototype): Percentile {
    assert(prototype.type === 'Percentile', `${prototype.name} is not a Percentile`);
    return this.instantiate(prototype, () => new Percentile(prototype));
  }

  /** The owner no longer uses the entity: keep it (with its last values) for the retirement delay. */
  retire(nowMs = Date.now()): void {
    this.retiredAtMs = nowMs;
  }
}

export class MetricRegistry {
  private readonly entitiesById = new Map<string, MetricEntity>();
  private readonly percentiles = new Set<Percentile>();
  private timer: NodeJS.Timeout | undefined;

  /** Gets or creates an entity; re-creating one with the same id reuses it and replaces its attributes. */
  entity(type: string, id: string, attributes: Record<string, string> = {}): MetricEntity {
    const existing = this.entitiesById.get(id);
    if (existing) {
      assert(existing.type === type, `entity ${id} exists with type ${existing.type}, not ${type}`);
      existing.attributes = attributes;
      existing.retiredAtMs = undefined;
      return existing;
    }
    const entity = new MetricEntity(type, id, attributes, this);
    this.entitiesById.set(id, entity);
    return entity;
  }

  /** Live entities, after dropping the ones whose retirement delay has passed. */
  entities(nowMs = Date.now()): IterableIterator<MetricEntity> {
    for (const [id, entity] of this.entitiesById) {
      if (entity.retiredAtMs !== undefined && nowMs - entity.retiredAtMs >= entityRetirementDelayMs.value) {
        this.entitiesById.delete(id);
        for (const metric of entity.metrics.values()) if (metric instanceof Percentile) this.percentiles.delete(metric);
      }
    }
    return this.entitiesById.values();
  }

  trackPercentile(percentile: Percentile): void {
    this.percentiles.add(percentile);
    this.startTimer();
  }

  recomputePercentiles(): void {
    for (const percentile of this.percentiles) percentile.recompute();
  }

  private startTimer(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.recomputePercentiles();
      this.timer = setTimeout(tick, percentileIntervalMs.value);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, percentileIntervalMs.value);
    this.timer.unref();
  }
}

/** The process-wide registry, as in Pegasus. */
export const metricRegistry = new MetricRegistry();

/** The `server` singleton entity every process has. */
export function serverEntity(): MetricEntity {
  return metricRegistry.entity('server', 'server');
}
