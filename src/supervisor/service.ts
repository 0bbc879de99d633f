// A service of the manifest: its instances, the id of the current run (a new one at every
// start or restart, as pmesh's service-instance ids), and its health in pmesh's shape.
import { Instance, type InstanceOptions } from './instance.ts';
import type { ServiceSpec } from './manifest.ts';

export type ServiceState =
  /** Not started yet (waiting for the services it depends on). */
  | 'pending'
  | 'running'
  | 'stopped';

export interface ServiceHealth {
  status: string;
  healthy: number;
  total: number;
  err?: string;
}

const ID_EPOCH_MS = 1704067200000; // 2024-01-01T00:00:00Z
let idSequence = 0;

/** A snowflake-style id as a decimal string: milliseconds since 2024, then a 22-bit sequence. */
export function newServiceId(nowMs = Date.now()): string {
  idSequence = (idSequence + 1) & 0x3fffff;
  return ((BigInt(nowMs - ID_EPOCH_MS) << 22n) | BigInt(idSequence)).toString();
}

export class Service {
  state: ServiceState = 'pending';
  id: string | undefined;
  /** What a pending service waits for, or why it could not start. */
  waitingFor: string | undefined;
  readonly instances: Instance[];

  constructor(readonly spec: ServiceSpec, instanceOptions: Omit<InstanceOptions, 'spec' | 'service'>) {
    this.instances = spec.instances.map((instance) => new Instance({ ...instanceOptions, spec: instance, service: spec }));
  }

  get name(): string {
    return this.spec.name;
  }

  get healthy(): boolean {
    return this.state === 'running' && this.instances.every((instance) => instance.healthy);
  }

  /** Starts every instance that is not running. */
  start(): void {
    this.id = newServiceId();
    this.state = 'running';
    this.waitingFor = undefined;
    for (const instance of this.instances) instance.start();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.waitingFor = undefined;
    await Promise.all(this.instances.map((instance) => instance.stop()));
  }

  /**
   * pmesh's Health: `status` is OK while at least one instance is healthy, Down otherwise;
   * `healthy`/`total` count instances; `err` says what is wrong with the others.
   */
  health(nowMs = Date.now()): ServiceHealth {
    if (this.state === 'stopped') return { status: 'Down', healthy: 0, total: 0, err: 'shutdown' };
    const total = this.instances.length;
    if (this.state === 'pending') {
      return { status: 'Down', healthy: 0, total, err: this.waitingFor ?? 'not started' };
    }
    const healthy = this.instances.filter((instance) => instance.healthy).length;
    const health: ServiceHealth = { status: healthy > 0 ? 'OK' : 'Down', healthy, total };
    if (healthy < total) health.err = this.instances.filter((instance) => !instance.healthy).map((instance) => instance.describe(nowMs)).join('; ');
    return health;
  }

  close(): void {
    for (const instance of this.instances) instance.close();
  }
}
