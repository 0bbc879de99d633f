// Replica-server liveness by beacons and leases (spec pegasus-arch §2.6), as pure state: the
// caller feeds beacons and clock readings, and asks who died. No timers, no sockets.
//
// Safety rule: a replica server stops serving once it has not heard from the meta for the
// lease, and the meta declares it dead only after the longer grace, so by the time the meta
// hands a dead primary's partitions to someone else, the old primary has already stepped down.
import { livenessTimingFromFlags } from '../cluster/index.ts';
import { defineFlag } from '../config/index.ts';

export const enableWhiteList = defineFlag({
  section: 'meta_server',
  name: 'enable_white_list',
  type: 'FV_BOOL',
  default: false,
  description: 'Only accept beacons from the replica servers listed in replica_white_list',
});

export const replicaWhiteList = defineFlag({
  section: 'meta_server',
  name: 'replica_white_list',
  type: 'FV_STRING',
  default: '',
  description: 'Comma-separated host:port list of the replica servers allowed to join when enable_white_list is true',
});

export const stableRsMinRunningSeconds = defineFlag({
  section: 'meta_server',
  name: 'stable_rs_min_running_seconds',
  type: 'FV_UINT64',
  default: 600,
  description: 'A replica server that restarts sooner than this (seconds) after its previous start counts as an unstable restart',
  mutable: true,
});

export const maxSuccessiveUnstableRestart = defineFlag({
  section: 'meta_server',
  name: 'max_succssive_unstable_restart',
  type: 'FV_UINT64',
  default: 5,
  description: 'After this many successive unstable restarts, the beacons of a replica server are ignored',
  mutable: true,
});

export interface FailureDetectorOptions {
  checkIntervalMs: number;
  beaconIntervalMs: number;
  leaseMs: number;
  graceMs: number;
  /** When set, beacons from other nodes are refused. */
  whiteList: ReadonlySet<string> | undefined;
  stableRunningMs: number;
  maxUnstableRestarts: number;
}

export function failureDetectorOptionsFromFlags(): FailureDetectorOptions {
  const whiteList = enableWhiteList.value
    ? new Set(replicaWhiteList.value.split(',').map((item) => item.trim()).filter((item) => item !== ''))
    : undefined;
  return {
    ...livenessTimingFromFlags(),
    whiteList,
    stableRunningMs: stableRsMinRunningSeconds.value * 1000,
    maxUnstableRestarts: maxSuccessiveUnstableRestart.value,
  };
}

/** Throws when the options could let a meta reassign a primary that still serves. */
export function checkFailureDetectorOptions(options: FailureDetectorOptions): void {
  if (!(options.graceMs > options.leaseMs)) {
    throw new Error(`failure detector: grace (${options.graceMs} ms) must be greater than lease (${options.leaseMs} ms)`);
  }
  if (!(options.checkIntervalMs > 0 && options.beaconIntervalMs > 0)) {
    throw new Error('failure detector: check and beacon intervals must be positive');
  }
}

export interface WorkerState {
  address: string;
  alive: boolean;
  /** Meta-side clock of the last accepted beacon. */
  lastBeaconMs: number;
  /** The process start time the node last reported (0 when never reported). */
  startTimeMs: number;
  unstableRestarts: number;
}

export type BeaconOutcome =
  /** Accepted; `becameAlive` when the node was unknown or dead before. */
  | { accepted: true; becameAlive: boolean; restarted: boolean }
  | { accepted: false; reason: 'not_in_white_list' | 'unstable' | 'too_many_nodes' };

/** Upper bound on tracked workers: beacons from more nodes than this are refused. */
export const WORKERS_MAX = 10_000;

/** The meta (master) side: who is alive, from beacons. */
export class MasterFailureDetector {
  private readonly workers = new Map<string, WorkerState>();

  constructor(readonly options: FailureDetectorOptions) {
    checkFailureDetectorOptions(options);
  }

  /** A beacon from `address`, received at `nowMs`, from a process started at `startTimeMs` (0 = unknown). */
  onBeacon(address: string, nowMs: number, startTimeMs = 0): BeaconOutcome {
    if (this.options.whiteList && !this.options.whiteList.has(address)) return { accepted: false, reason: 'not_in_white_list' };
    let worker = this.workers.get(address);
    if (!worker) {
      if (this.workers.size >= WORKERS_MAX) return { accepted: false, reason: 'too_many_nodes' };
      worker = { address, alive: false, lastBeaconMs: nowMs, startTimeMs, unstableRestarts: 0 };
      this.workers.set(address, worker);
    }
    let restarted = false;
    if (startTimeMs !== 0 && startTimeMs !== worker.startTimeMs) {
      if (worker.startTimeMs !== 0) {
        restarted = true;
        const ranMs = startTimeMs - worker.startTimeMs;
        worker.unstableRestarts = ranMs < this.options.stableRunningMs ? worker.unstableRestarts + 1 : 0;
      }
      worker.startTimeMs = startTimeMs;
    }
    if (worker.unstableRestarts >= this.options.maxUnstableRestarts && this.options.maxUnstableRestarts > 0) {
      return { accepted: false, reason: 'unstable' };
    }
    const becameAlive = !worker.alive;
    worker.alive = true;
    worker.lastBeaconMs = Math.max(worker.lastBeaconMs, nowMs);
    return { accepted: true, becameAlive, restarted };
  }

  /**
   * Treats `address` as alive from `nowMs` (a node known from the stored partition configs when
   * the meta starts): it gets a full grace period to send its first beacon.
   */
  assumeAlive(address: string, nowMs: number): void {
    const worker = this.workers.get(address);
    if (worker) {
      worker.alive = true;
      worker.lastBeaconMs = Math.max(worker.lastBeaconMs, nowMs);
      return;
    }
    this.workers.set(address, { address, alive: true, lastBeaconMs: nowMs, startTimeMs: 0, unstableRestarts: 0 });
  }

  /** Nodes whose grace ran out since the last check; they are now dead. Sorted by address. */
  check(nowMs: number): string[] {
    const died: string[] = [];
    for (const worker of this.workers.values()) {
      if (worker.alive && nowMs - worker.lastBeaconMs > this.options.graceMs) {
        worker.alive = false;
        died.push(worker.address);
      }
    }
    return died.sort();
  }

  /** When the next check could find a death (for scheduling); undefined if no node is alive. */
  nextDeadlineMs(): number | undefined {
    let earliest: number | undefined;
    for (const worker of this.workers.values()) {
      if (!worker.alive) continue;
      const deadline = worker.lastBeaconMs + this.options.graceMs + 1;
      if (earliest === undefined || deadline < earliest) earliest = deadline;
    }
    return earliest;
  }

  isAlive(address: string): boolean {
    return this.workers.get(address)?.alive ?? false;
  }

  /** Forgets the unstable-restart history of a node so its beacons are accepted again. */
  resetStability(address: string): void {
    const worker = this.workers.get(address);
    if (worker) worker.unstableRestarts = 0;
  }

  /** Every known worker (alive or dead), sorted by address. */
  list(): WorkerState[] {
    return [...this.workers.values()].map((worker) => ({ ...worker })).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }
}

/**
 * The replica (worker) side: true when the meta counts as lost, i.e. the last beacon the meta
 * acknowledged was sent so long ago that the lease may run out before the next check.
 */
export function workerLeaseExpired(nowMs: number, lastAckedSendMs: number, options: Pick<FailureDetectorOptions, 'leaseMs' | 'checkIntervalMs'>): boolean {
  return nowMs + options.checkIntervalMs - lastAckedSendMs > options.leaseMs;
}
