// The deterministic fault simulator: one partition, a few replica servers running the real
// PacificA state machine and the real link to the meta (beacons, lease, meta switches, config
// sync, proposals), one meta running the real partition guardian at three addresses (one
// primary at a time), clients, a network and disks that fail, all on a virtual clock driven by
// one seeded generator. The same seed always
// gives the same run, so a failing seed is a reproducible bug:
//
//   node --import tsx test/sim/run.ts --seed <S>
//
// A run has three phases. Active: clients write and read while a chaos process injects faults
// (crashes with torn log tails, partitions, loss bursts, delay spikes, disk failures, slow
// disks, the primary meta moving), for `steps` events. Recovery: every fault heals, every node restarts, clients go on
// for a while, then stop. Verdict: the partition must have a primary and full membership again,
// every acknowledged write must be readable through that primary, and the clients' history
// (plus those final reads) must be linearizable. The one excuse for no primary: no node's disk
// holds the committed data any more (every copy was wiped); nothing may serve then, and the
// partition waits for an operator (DDD). Safety invariants (./invariants.ts) are checked after
// every event throughout, and the lease invariants (./lease-invariants.ts) as often as a lease
// can change.
import type { Mutation } from '../../src/replica/write/mutation.ts';
import { checkLinearizable, type RegisterOp } from '../helpers/linearizability.ts';
import { EventQueue, labelText, type Label } from './event-queue.ts';
import { InvariantChecker } from './invariants.ts';
import { SimMeta } from './meta.ts';
import { Network, configText } from './network.ts';
import { SimNode, type NodeSettings } from './node.ts';
import { SimClient } from './clients.ts';
import { Prng } from '../helpers/prng.ts';
import { METAS, type SimContext, type SimMessage, type SimTimings } from './types.ts';
import { LeaseChecker } from './lease-invariants.ts';

export interface SimOptions {
  seed: number;
  /** Events in the active (faulty) phase. */
  steps?: number;
  /** Print every event as it runs. */
  verbose?: boolean;
  /** How many trace lines a failure shows. */
  traceTail?: number;
  /** Overrides of the node shell's behaviour (to show what the checks catch without it). */
  nodeOverrides?: Partial<NodeSettings>;
  /** The meta keeps dropped-history reports across a node's rejoining (see SimMeta). */
  metaKeepsStaleReports?: boolean;
  /** Timings instead of the usual ones (to show what the checks catch with wrong ones). */
  timings?: Partial<SimTimings>;
  /** Fault weights instead of the seed's (kinds left out are not injected). */
  faults?: Partial<Record<FaultKind, number>>;
  /**
   * Also replace the disk of a crashed secondary now and then (weight 0.3), only while two other
   * members are up and hold the committed data, so that no committed data is really lost with it.
   */
  wipes?: boolean;
}

export interface SimStats {
  events: number;
  virtualMs: number;
  decrees: number;
  /** Accepted configuration changes per type. */
  configChanges: Record<string, number>;
  checkpoints: number;
  crashes: number;
  partitions: number;
  /** Primary meta moves, replica servers' meta switches and their lease lapses. */
  metaFailovers: number;
  metaSwitches: number;
  leaseLapses: number;
  puts: number;
  putsAcked: number;
  reads: number;
  messages: number;
  lost: number;
  profile: string;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  /** The violated invariant or the liveness failure. */
  failure?: string;
  /** The last events before the failure. */
  traceTail: string[];
  stats: SimStats;
  /** The linearizability check gave up (state limit); not a failure. */
  inconclusive?: boolean;
  /**
   * The run ended with the partition unavailable because no disk held the committed data any more
   * (not a failure: the meta must then wait for an operator). What the nodes held.
   */
  dataLost?: string;
}

export const DEFAULT_STEPS = 20_000;

const TIMINGS: SimTimings = {
  beaconIntervalMs: 200,
  leaseMs: 1_500,
  answerTimeoutMs: 500,
  graceMs: 2_000,
  configSyncIntervalMs: 2_000,
  metaFdCheckIntervalMs: 100,
  metaCheckAllIntervalMs: 1_000,
  replicaAssignDelayMsForDropouts: 1_500,
  tickIntervalMs: 50,
};

/** An experiment's grace period, shorter than the lease: the meta declares servers dead that still serve. */
export const GRACE_BELOW_LEASE_MS = 1_000;

/** After the active phase: clients keep going this long while everything heals. */
const RECOVERY_CLIENT_MS = 6_000;
/** Then the cluster gets this long to settle before the verdict. */
const QUIET_MS = 8_000;
/** The verdict waits at most this long (after the quiet time) for a healthy partition. */
const HEALTHY_DEADLINE_MS = 60_000;
/** A hard cap on virtual time, whatever happens. */
const VIRTUAL_MS_MAX = 30 * 60_000;

class Violation extends Error {}

interface Profile {
  nodes: number;
  clients: number;
  keys: number;
  faultGapMinMs: number;
  faultGapMaxMs: number;
  weights: Record<FaultKind, number>;
  /** At most this many nodes down at once. */
  maxDown: number;
  text: string;
}

export type FaultKind = 'crash' | 'crash_primary' | 'partition' | 'loss' | 'delay' | 'disk_fail' | 'slow_disk' | 'meta_failover' | 'wipe';
/** The kinds a seed draws weights for; 'wipe' only runs when asked for (see SimOptions.wipes). */
const FAULT_KINDS: readonly FaultKind[] = ['crash', 'crash_primary', 'partition', 'loss', 'delay', 'disk_fail', 'slow_disk', 'meta_failover'];

export function runSimulation(options: SimOptions): SimResult {
  return new World(options).run();
}

class World implements SimContext {
  nowMs = 0;
  readonly rng: Prng;
  readonly timings: SimTimings;
  private readonly queue = new EventQueue();
  private readonly traceRing: Array<{ timeMs: number; label: Label }> = [];
  private readonly traceTailMax: number;
  private readonly network: Network;
  private readonly meta: SimMeta;
  private readonly nodes: SimNode[] = [];
  private readonly nodesByName = new Map<string, SimNode>();
  private readonly clients: SimClient[] = [];
  private readonly clientsByName = new Map<string, SimClient>();
  private readonly history: RegisterOp[] = [];
  private readonly checker: InvariantChecker;
  private readonly leases: LeaseChecker;
  private readonly profile: Profile;
  private readonly heals: Array<() => void> = [];
  private active = true;
  /** Set when the recovery found every copy of the committed data gone (see SimResult.dataLost). */
  private dataLost: string | undefined;
  private crashes = 0;
  private partitions = 0;
  private events = 0;

  constructor(private readonly options: SimOptions) {
    this.rng = new Prng(options.seed);
    this.timings = { ...TIMINGS, ...options.timings };
    this.traceTailMax = options.traceTail ?? 40;
    const rng = this.rng;
    this.profile = chooseProfile(rng, options.faults);
    if (options.wipes) {
      this.profile.weights.wipe = 0.3;
      this.profile.text += ' wipe:0.30';
    }
    this.network = new Network(rng.fork(), {
      nowMs: () => this.nowMs,
      schedule: (delayMs, label, run) => this.schedule(delayMs, label, run),
      deliver: (from, to, message) => this.deliver(from, to, message),
      trace: (text) => this.trace(text),
    }, {
      baseDropRate: rng.chance(0.3) ? 0 : rng.next() * 0.03,
      duplicateRate: rng.chance(0.3) ? 0 : rng.next() * 0.05,
      delayMinMs: 1,
      delayMaxMs: rng.int(2, 20),
      slowRate: rng.next() * 0.05,
      slowDelayMaxMs: rng.int(50, 600),
    });
    this.checker = new InvariantChecker((text) => this.violation(text));
    this.meta = new SimMeta(this, 3, options.metaKeepsStaleReports === true, (name) => this.leases.checkLease(this.nodesByName.get(name)!));
    this.leases = new LeaseChecker(this.meta, this.timings.leaseMs, () => this.nowMs, (text) => this.violation(text));
    const nodeSettings: NodeSettings = {
      core: {
        prepareTimeoutMs: 1_000,
        prepareRetryMs: 150,
        groupCheckIntervalMs: 500,
        learnTimeoutMs: 2_500,
        cacheDecreesMax: rng.pick([2, 5, 20, 60]),
        changeRetryMs: 500,
      },
      appendDelayMinMs: 1,
      appendDelayMaxMs: rng.int(2, 30),
      tornTailRate: rng.pick([0, 0.5, 1]),
      batchWindowMs: rng.pick([0, 0, 2, 5]),
      maxInFlight: rng.pick([1, 5, 20]),
      syncAfterReconnect: true,
      ballotSaveDelayMaxMs: 0,
      failWritesOnStepDown: false,
      ...options.nodeOverrides,
    };
    const hooks = {
      node: (name: string) => this.nodesByName.get(name)!,
      beforeApply: (node: SimNode, mutation: Parameters<InvariantChecker['beforeApply']>[1]) => this.checker.beforeApply(node, mutation),
      afterStoreChange: (node: SimNode, how: string) => this.checker.afterStoreChange(node, how),
      isCut: (a: string, b: string) => this.network.isCut(a, b),
      serving: (node: SimNode, what: string) => this.leases.checkServing(node, what),
      checkLease: (node: SimNode) => this.leases.checkLease(node),
      meta: () => this.meta,
    };
    for (let index = 1; index <= this.profile.nodes; index++) {
      const node = new SimNode(`n${index}:34801`, this, hooks, nodeSettings);
      this.nodes.push(node);
      this.nodesByName.set(node.name, node);
    }
    const keys = Array.from({ length: this.profile.keys }, (_, index) => `k${index}`);
    for (let index = 1; index <= this.profile.clients; index++) {
      const client = new SimClient(`c${index}`, this, {
        keys, putRatio: 0.6, putTimeoutMs: 2_000, getTimeoutMs: 800, queryTimeoutMs: 400, thinkMaxMs: rng.pick([0, 10, 50]),
        stickiness: rng.pick([0, 0.5, 0.9]),
      }, this.history);
      this.clients.push(client);
      this.clientsByName.set(client.name, client);
    }
  }

  // -------------------------------------------------------------------------------------------
  // SimContext

  schedule(delayMs: number, label: Label, run: () => void): void {
    this.queue.push(this.nowMs + Math.max(0, delayMs), label, run);
  }

  send(from: string, to: string, message: SimMessage): void {
    this.network.send(from, to, message);
  }

  trace(text: string): void {
    this.pushTrace(`  ${text}`);
    if (this.options.verbose) console.log(`${this.nowMs} ${text}`);
  }

  violation(text: string): never {
    throw new Violation(text);
  }

  private pushTrace(label: Label): void {
    this.traceRing.push({ timeMs: this.nowMs, label });
    if (this.traceRing.length > this.traceTailMax * 4) this.traceRing.splice(0, this.traceRing.length - this.traceTailMax);
  }

  private deliver(from: string, to: string, message: SimMessage): void {
    if (METAS.includes(to)) {
      this.meta.onMessage(from, to, message);
      return;
    }
    const node = this.nodesByName.get(to);
    if (node) {
      node.onMessage(from, message);
      return;
    }
    this.clientsByName.get(to)?.onMessage(from, message);
  }

  // -------------------------------------------------------------------------------------------
  // the run

  run(): SimResult {
    const steps = this.options.steps ?? DEFAULT_STEPS;
    let failure: string | undefined;
    let inconclusive = false;
    try {
      this.meta.start();
      for (const node of this.nodes) this.schedule(this.rng.int(0, 300), () => `${node.name} boots`, () => node.start());
      for (const client of this.clients) client.start(this.rng.int(500, 1_500));
      this.scheduleChaos();
      while (this.active && this.events < steps) this.step();
      failure = this.recover();
      if (failure === undefined) {
        const verdict = this.verdict();
        failure = verdict.failure;
        inconclusive = verdict.inconclusive;
      }
    } catch (error) {
      failure = error instanceof Violation ? error.message : `exception: ${(error as Error).stack ?? String(error)}`;
    }
    const stats: SimStats = {
      events: this.events,
      virtualMs: this.nowMs,
      decrees: this.checker.highestDecree,
      configChanges: Object.fromEntries(this.meta.changesByType),
      checkpoints: this.nodes.reduce((sum, node) => sum + node.checkpoints, 0),
      crashes: this.crashes,
      partitions: this.partitions,
      metaFailovers: this.meta.failovers,
      metaSwitches: this.nodes.reduce((sum, node) => sum + node.metaSwitches, 0),
      leaseLapses: this.nodes.reduce((sum, node) => sum + node.leaseLapses, 0),
      puts: this.history.filter((op) => op.kind === 'write').length,
      putsAcked: this.history.filter((op) => op.kind === 'write' && op.ok === true).length,
      reads: this.history.filter((op) => op.kind === 'read').length,
      messages: this.network.sent,
      lost: this.network.lost,
      profile: this.profile.text,
    };
    const tail = this.traceRing.slice(-this.traceTailMax).map((entry) => `${entry.timeMs} ${labelText(entry.label)}`);
    return {
      seed: this.options.seed, ok: failure === undefined, ...(failure !== undefined && { failure }), traceTail: tail, stats,
      ...(inconclusive && { inconclusive }), ...(this.dataLost !== undefined && { dataLost: this.dataLost }),
    };
  }

  private step(): boolean {
    const event = this.queue.pop();
    if (!event) return false;
    this.nowMs = event.timeMs;
    if (this.nowMs > VIRTUAL_MS_MAX) throw new Violation(`virtual time passed ${VIRTUAL_MS_MAX} ms`);
    this.events += 1;
    this.pushTrace(event.label);
    if (this.options.verbose) console.log(`${this.nowMs} ${labelText(event.label)}`);
    event.run();
    this.checker.checkStep(this.nodes);
    return true;
  }

  /** Runs events until `untilMs` (virtual). */
  private runUntil(untilMs: number, stop?: () => boolean): void {
    for (;;) {
      if (stop?.()) return;
      const next = this.peekTime();
      if (next === undefined || next > untilMs) {
        this.nowMs = Math.max(this.nowMs, untilMs);
        return;
      }
      this.step();
    }
  }

  private peekTime(): number | undefined {
    return this.queue.peekTime();
  }

  /** Heals everything, restarts every node, lets clients run a while, then stops them. Returns a failure, if any. */
  private recover(): string | undefined {
    this.active = false;
    this.trace('--- recovery: every fault heals ---');
    for (const heal of this.heals.splice(0)) heal();
    this.network.healAll();
    this.network.profile = { ...this.network.profile, baseDropRate: 0, duplicateRate: 0, slowRate: 0 };
    for (const node of this.nodes) {
      if (!node.up) node.start();
      else if (node.core?.role === 'error') node.reopen('after its disk failure');
    }
    this.runUntil(this.nowMs + RECOVERY_CLIENT_MS);
    for (const client of this.clients) client.stop();
    this.runUntil(this.nowMs + QUIET_MS, () => this.clients.every((client) => client.idle));
    this.runUntil(this.nowMs + QUIET_MS);
    const deadline = this.nowMs + HEALTHY_DEADLINE_MS;
    while (this.nowMs < deadline) {
      if (this.healthy() === undefined && this.clients.every((client) => client.idle)) return undefined;
      this.runUntil(this.nowMs + 250);
    }
    const unhealthy = this.healthy();
    // Unavailable for good is right only if the data is really gone: then nothing serves, and the
    // meta has no primary (it must not have handed the partition to a node without the data).
    if (this.meta.config.primary === '' && this.nodes.every((node) => !node.servesReads) && !this.nodes.some((node) => this.holdsCommittedData(node))) {
      this.dataLost = `no disk holds the committed decrees up to ${this.checker.highestDecree}: ${unhealthy}`;
      this.trace(`--- every copy of the data is lost: ${this.dataLost} ---`);
      return undefined;
    }
    return `liveness: no healthy partition ${HEALTHY_DEADLINE_MS} ms after the quiet time: ${unhealthy}`;
  }

  /**
   * Whether `node`'s disk holds a copy of the committed data: its store, plus the newest durable
   * log record of every later decree, reaches the highest decree any node applied, with the
   * content that was applied.
   */
  private holdsCommittedData(node: SimNode): boolean {
    const disk = node.disk;
    const newest = new Map<number, Mutation>();
    for (const { mutation } of disk.log) {
      const seen = newest.get(mutation.decree);
      if (!seen || seen.ballot <= mutation.ballot) newest.set(mutation.decree, mutation);
    }
    for (let decree = disk.applied + 1; decree <= this.checker.highestDecree; decree++) {
      const mutation = newest.get(decree);
      if (!mutation || !this.checker.isCommitted(mutation)) return false;
    }
    return true;
  }

  /** Undefined when the partition is healthy, else what is missing. */
  private healthy(): string | undefined {
    const config = this.meta.config;
    const state = this.nodes.map((node) => `${node.name}=${node.up ? `${node.core?.role}@b${node.core?.ballot} c${node.core?.lastCommitted}` : 'down'}`).join(' ');
    const describeAll = `meta ${configText(config)}; ${state}`;
    if (config.primary === '' || config.secondaries.length !== 2) return `membership incomplete: ${describeAll}`;
    const primary = this.nodesByName.get(config.primary)!;
    if (!primary.servesReads || primary.core!.ballot !== config.ballot) return `primary not serving: ${describeAll}`;
    for (const name of config.secondaries) {
      const core = this.nodesByName.get(name)!.core;
      if (core?.role !== 'secondary' || core.ballot !== config.ballot) return `secondary ${name} not in step: ${describeAll}`;
    }
    return undefined;
  }

  private verdict(): { failure?: string; inconclusive: boolean } {
    if (this.dataLost !== undefined) {
      // No final values to read: the history so far must still be linearizable.
      const result = checkLinearizable(this.history);
      if (!result.ok) return { failure: `not linearizable: ${result.explanation}`, inconclusive: false };
      return { inconclusive: result.inconclusive === true };
    }
    const config = this.meta.config;
    const primary = this.nodesByName.get(config.primary)!;
    // Final reads through the primary, at one instant.
    const finals = new Map<string, string | undefined>();
    for (const key of this.keys()) {
      const value = primary.disk.store.get(key);
      finals.set(key, value);
      this.history.push({ kind: 'read', key, value, invokeAt: this.nowMs, completeAt: this.nowMs });
    }
    // Every acknowledged write is still there: the final value of its key is its own or that of
    // a write that was not over before it began.
    for (const op of this.history) {
      if (op.kind !== 'write' || op.ok !== true) continue;
      const finalValue = finals.get(op.key);
      if (finalValue === op.value) continue;
      const winner = this.history.find((other) => other.kind === 'write' && other.key === op.key && other.value === finalValue);
      const lost = finalValue === undefined || !winner || (winner.kind === 'write' && winner.completeAt !== undefined && winner.ok === true && winner.completeAt < op.invokeAt);
      if (lost) return { failure: `acknowledged write ${op.key}=${op.value} (at ${op.invokeAt}–${op.completeAt}) lost: the primary ${primary.name} reads ${finalValue ?? 'absent'}`, inconclusive: false };
    }
    const result = checkLinearizable(this.history);
    if (!result.ok) return { failure: `not linearizable: ${result.explanation}`, inconclusive: false };
    return { inconclusive: result.inconclusive === true };
  }

  private keys(): string[] {
    return Array.from({ length: this.profile.keys }, (_, index) => `k${index}`);
  }

  // -------------------------------------------------------------------------------------------
  // chaos

  private scheduleChaos(): void {
    const gap = this.rng.int(this.profile.faultGapMinMs, this.profile.faultGapMaxMs);
    this.schedule(gap, 'chaos', () => {
      if (!this.active) return;
      this.injectFault();
      this.scheduleChaos();
    });
  }

  private injectFault(): void {
    const rng = this.rng;
    const weights = this.profile.weights;
    const kinds: FaultKind[] = weights.wipe > 0 ? [...FAULT_KINDS, 'wipe'] : [...FAULT_KINDS];
    let total = 0;
    for (const kind of kinds) total += weights[kind];
    if (total <= 0) return;
    let roll = rng.next() * total;
    let kind: FaultKind = 'crash';
    for (const candidate of kinds) {
      roll -= weights[candidate];
      if (roll < 0) {
        kind = candidate;
        break;
      }
    }
    const up = this.nodes.filter((node) => node.up);
    const down = this.nodes.length - up.length;
    switch (kind) {
      case 'crash':
      case 'crash_primary': {
        if (down >= this.profile.maxDown || up.length === 0) return;
        const primary = this.nodesByName.get(this.meta.config.primary);
        const victim = kind === 'crash_primary' && primary?.up ? primary : rng.pick(up);
        const downMs = rng.chance(0.3) ? rng.int(50, 1_000) : rng.int(1_000, 8_000);
        this.crashes += 1;
        this.trace(`chaos: crash ${victim.name} for ${downMs} ms`);
        victim.crash();
        this.schedule(downMs, () => `${victim.name} restarts`, () => {
          if (!victim.up) victim.start();
        });
        return;
      }
      case 'partition': {
        const durationMs = rng.int(300, 6_000);
        const names = this.nodes.map((node) => node.name);
        const clients = this.clients.map((client) => client.name);
        const shape = rng.int(0, 4);
        let heal: () => void;
        let text: string;
        if (shape === 0) {
          const victim = rng.chance(0.5) && this.meta.config.primary !== '' ? this.meta.config.primary : rng.pick(names);
          heal = this.network.cut([victim], [...names, ...METAS, ...clients]);
          text = `isolate ${victim}`;
        } else if (shape === 1) {
          const victim = rng.chance(0.5) && this.meta.config.primary !== '' ? this.meta.config.primary : rng.pick(names);
          heal = this.network.cut([victim], METAS);
          text = `cut ${victim} from the metas`;
        } else if (shape === 2) {
          const victim = rng.pick(names);
          heal = this.network.cut([victim], names);
          text = `cut ${victim} from its peers`;
        } else if (shape === 3) {
          // The backups still answer: the server must find its way back to the primary.
          const victim = rng.chance(0.5) && this.meta.config.primary !== '' ? this.meta.config.primary : rng.pick(names);
          heal = this.network.cut([victim], [this.meta.primary]);
          text = `cut ${victim} from the primary meta ${this.meta.primary}`;
        } else {
          const sideA: string[] = [];
          const sideB: string[] = [];
          for (const name of [...names, ...METAS, ...clients]) (rng.chance(0.5) ? sideA : sideB).push(name);
          heal = this.network.cut(sideA, sideB);
          text = `split {${sideA.join(' ')}} | {${sideB.join(' ')}}`;
        }
        this.partitions += 1;
        this.heals.push(heal);
        this.trace(`chaos: ${text} for ${durationMs} ms`);
        this.schedule(durationMs, () => `heal: ${text}`, heal);
        return;
      }
      case 'loss': {
        const rate = rng.next() * 0.6;
        const durationMs = rng.int(200, 3_000);
        this.trace(`chaos: lose ${(rate * 100).toFixed(0)}% of messages for ${durationMs} ms`);
        this.network.lossBurst(rate, durationMs);
        return;
      }
      case 'delay': {
        const extraMs = rng.int(50, 1_500);
        const durationMs = rng.int(200, 3_000);
        this.trace(`chaos: up to ${extraMs} ms more delay for ${durationMs} ms`);
        this.network.delaySpike(extraMs, durationMs);
        return;
      }
      case 'disk_fail': {
        if (up.length === 0) return;
        const victim = rng.pick(up);
        const reopenMs = rng.int(100, 3_000);
        this.trace(`chaos: disk failure on ${victim.name}, replica reopens in ${reopenMs} ms`);
        victim.fail();
        this.schedule(reopenMs, () => `${victim.name} reopens`, () => {
          if (victim.up && victim.core?.role === 'error') victim.reopen('after its disk failure');
        });
        return;
      }
      case 'wipe': {
        // Two other members up and holding the data, not just listed: a member that was wiped
        // itself and has not learned since holds nothing (found with this fault: a wipe left the
        // data on one node, which then crashed and was dropped before the two empty ones, and the
        // meta rightly would not pick a primary past the two most recent drops).
        const config = this.meta.config;
        const holders = (victim: SimNode): number => [config.primary, ...config.secondaries].filter((name) => {
          const node = this.nodesByName.get(name);
          return name !== victim.name && node?.up === true && this.holdsCommittedData(node);
        }).length;
        const victims = up.filter((node) => config.secondaries.includes(node.name) && holders(node) >= 2);
        if (victims.length === 0 || down >= this.profile.maxDown) return;
        const victim = rng.pick(victims);
        const downMs = rng.int(50, 3_000);
        this.crashes += 1;
        this.trace(`chaos: crash ${victim.name} and replace its disk, back in ${downMs} ms`);
        victim.crash();
        victim.wipe();
        this.schedule(downMs, () => `${victim.name} restarts`, () => {
          if (!victim.up) victim.start();
        });
        return;
      }
      case 'meta_failover': {
        const next = rng.pick(METAS.filter((address) => address !== this.meta.primary));
        this.trace(`chaos: the primary meta moves to ${next}`);
        this.meta.failover(next);
        return;
      }
      case 'slow_disk': {
        if (up.length === 0) return;
        const victim = rng.pick(up);
        const extraMs = rng.int(20, 1_500);
        const durationMs = rng.int(200, 4_000);
        this.trace(`chaos: ${victim.name} disk slower by up to ${extraMs} ms for ${durationMs} ms`);
        victim.slowDisk(extraMs, durationMs);
        return;
      }
    }
  }
}

function chooseProfile(rng: Prng, faults: SimOptions['faults']): Profile {
  const nodes = rng.pick([4, 5, 5]);
  const weights = { wipe: 0 } as Record<FaultKind, number>;
  for (const kind of FAULT_KINDS) {
    const drawn = rng.chance(0.25) ? 0 : rng.next();
    weights[kind] = faults ? faults[kind] ?? 0 : drawn;
  }
  const profile: Profile = {
    nodes,
    clients: rng.int(2, 4),
    keys: rng.int(2, 5),
    faultGapMinMs: rng.int(100, 800),
    faultGapMaxMs: rng.int(1_000, 4_000),
    weights,
    maxDown: rng.pick([1, 2, nodes]),
    text: '',
  };
  const active = FAULT_KINDS.filter((kind) => weights[kind] > 0).map((kind) => `${kind}:${weights[kind].toFixed(2)}`).join(' ');
  profile.text = `${nodes} nodes, ${profile.clients} clients, ${profile.keys} keys, fault every ${profile.faultGapMinMs}–${profile.faultGapMaxMs} ms, at most ${profile.maxDown} down; ${active}`;
  return profile;
}
