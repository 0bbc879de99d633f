// The replica server's link to the meta (spec pegasus-arch §2.6), as a deterministic machine:
// the caller feeds it events (the clock, a beacon's or a config sync's answer or failure, a
// configuration proposal) and carries out the actions it returns (send a beacon or a config
// sync, switch to another meta, hand configurations to the stub, ask the meta for a change).
// It has no timers, sockets or clock of its own; the server's I/O shell and the fault simulator
// (test/sim/) are its two callers.
//
// The rules it keeps:
// - A beacon goes to the current meta every `beaconIntervalMs`; a config sync (the replicas this
//   server stores, answered with the partitions it serves) every `configSyncIntervalMs`, and at
//   once on connecting to a meta. One config sync is in flight at a time.
// - Replicas serve only within `leaseMs` of sending a beacon that a primary meta acknowledged.
//   The meta declares the server dead only after a longer grace, so the server has stopped
//   serving by then.
// - When an acknowledgement arrives after the lease had lapsed (by this server's clock), the
//   meta may have declared the server dead and moved its partitions on: it serves again only
//   once a config sync sent after that acknowledgement was answered. (Measured by send times
//   alone, a beacon delayed past the meta's grace would restore the lease without a sync.)
// - A backup meta's answer names the primary, which becomes the current meta; a meta that does
//   not answer within `answerTimeoutMs` (or fails) is left for the next listed one. After a
//   switch the new meta is beaconed at once, at most once per listed meta between two periodic
//   beacons.
import { assert, type Gpid } from '../base/index.ts';
import { applyConfigChange, configTypeFromValue, gpidText, MetaGroupTarget, type AppInfo, type ConfigType, type PartitionConfiguration } from '../cluster/index.ts';
import type { ReplicaInfo } from '../wire/index.ts';

export interface MetaLinkOptions {
  /** This server as `host:port`, as the meta names it in configurations. */
  self: string;
  /** `[meta_server] server_list`, in order. */
  metas: readonly string[];
  beaconIntervalMs: number;
  leaseMs: number;
  configSyncIntervalMs: number;
  /** A beacon or config sync not answered within this long has failed (the RPC timeout). */
  answerTimeoutMs: number;
}

/** What the meta answered a config sync with. */
export interface SyncedPartition {
  info: AppInfo;
  config: PartitionConfiguration;
}

export type MetaLinkEvent =
  /** The clock: due beacons and config syncs, unanswered ones that timed out. */
  | { kind: 'tick' }
  /** A meta answered beacon `beaconId`: `isPrimary` false is a backup, naming `primary` if it knows it. */
  | { kind: 'beacon_answered'; beaconId: number; allowed: boolean; isPrimary: boolean; primary: string | undefined }
  /** The beacon could not be delivered or was not answered. */
  | { kind: 'beacon_failed'; beaconId: number }
  /**
   * The meta answered config sync `syncId`. `updateSeqAtSend` is the stub's update counter when
   * the sync was sent; it is handed back in `retain_only`.
   */
  | { kind: 'sync_answered'; syncId: number; partitions: readonly SyncedPartition[]; garbage: readonly ReplicaInfo[]; updateSeqAtSend: number }
  /** The config sync failed (not delivered, or the meta refused it). */
  | { kind: 'sync_failed'; syncId: number }
  /**
   * A configuration proposal from the meta (`type` as on the wire). `local` is this server's
   * replica of the partition, if it hosts one.
   */
  | {
    kind: 'proposal'; info: AppInfo; config: PartitionConfiguration; type: number; node: string;
    local: { ballot: number; lastCommitted: number } | undefined;
  }
  /** `config_sync_interval_ms` changed: the next periodic sync is one new interval away. */
  | { kind: 'sync_interval_changed'; intervalMs: number };

export type MetaLinkAction =
  /** Send a beacon (its wire time is `sentMs`) to `to`; report the answer as `beaconId`. */
  | { kind: 'send_beacon'; to: string; beaconId: number; sentMs: number }
  /** Send a config sync with the stub's stored replicas to `to`; report the answer as `syncId`. */
  | { kind: 'send_config_sync'; to: string; syncId: number }
  /** From now on talk to `to` (beacons, syncs, configuration updates). */
  | { kind: 'switch_meta'; from: string; to: string }
  /** A meta answered and accepted this server: it counts as connected. */
  | { kind: 'connected'; meta: string }
  /** A beacon failed or was refused (for the beacon failure counter); `unreachable` when it got no answer. */
  | { kind: 'beacon_lost'; meta: string; unreachable: boolean; wasConnected: boolean }
  /** Hand the stub a configuration the meta sent: it opens, updates or closes the replica. */
  | { kind: 'assign'; info: AppInfo; config: PartitionConfiguration }
  /** The stub closes the replicas a config sync did not list (see ReplicaStub.retainOnly). */
  | { kind: 'retain_only'; listed: ReadonlySet<string>; updateSeqAtSend: number }
  /** The stub moves these replicas (of dropped tables) aside. */
  | { kind: 'collect_garbage'; replicas: readonly ReplicaInfo[] }
  /** The primary of `gpid` under `ballot` starts learner `node` (see ReplicaStub.addLearner). */
  | { kind: 'add_learner'; gpid: Gpid; ballot: number; node: string }
  /** Ask the current meta to move the partition to `config` by `type` of `node`. */
  | { kind: 'update_config'; info: AppInfo; config: PartitionConfiguration; type: ConfigType; node: string }
  | { kind: 'proposal_ignored'; gpid: Gpid; type: number };

/** Beacons awaiting an answer, at most: with more, the oldest is forgotten (its answer is ignored). */
const BEACONS_IN_FLIGHT_MAX = 16;

const NO_ACTIONS: readonly MetaLinkAction[] = Object.freeze([]);

interface InFlight {
  meta: string;
  sentMs: number;
}

/**
 * The configuration `current` becomes by `type` of `node` (ballot + 1), reporting how far the
 * requesting replica has committed; undefined when the change does not fit the membership.
 */
export function proposedConfiguration(current: PartitionConfiguration, type: ConfigType, node: string, lastCommitted: number): PartitionConfiguration | undefined {
  const next = applyConfigChange(current, type, node);
  if (next) next.lastCommittedDecree = Math.max(next.lastCommittedDecree, lastCommitted);
  return next;
}

export class MetaLink {
  private readonly options: MetaLinkOptions;
  private readonly group: MetaGroupTarget;
  private nowMs: number;
  private connectedNow = false;
  /** The send time of the newest beacon a primary meta accepted. */
  private lastAckedMs = Number.NEGATIVE_INFINITY;
  /** Set when an acknowledgement came after a lapse: a config sync sent from then on must be answered first. */
  private syncNeededSinceMs: number | undefined;
  private readonly beacons = new Map<number, InFlight>();
  private beaconSeq = 0;
  private sync: (InFlight & { syncId: number }) | undefined;
  private syncSeq = 0;
  private nextBeaconMs: number;
  private nextSyncMs: number;
  private syncIntervalMs: number;
  /** Beacons still allowed right after a switch, until the next periodic one. */
  private switchBeaconsLeft: number;
  private actions: MetaLinkAction[] = [];
  /** The config sync that ended a lapse in this step, for the assertions. */
  private restored: { syncSentMs: number; neededSinceMs: number } | undefined;

  constructor(options: MetaLinkOptions, nowMs: number) {
    assert(options.leaseMs > 0 && options.beaconIntervalMs > 0 && options.answerTimeoutMs > 0, 'meta link timings are positive');
    this.options = options;
    this.group = new MetaGroupTarget(options.metas);
    this.nowMs = nowMs;
    this.nextBeaconMs = nowMs;
    this.syncIntervalMs = options.configSyncIntervalMs;
    this.nextSyncMs = nowMs + this.syncIntervalMs;
    this.switchBeaconsLeft = this.group.list.length - 1;
  }

  // -------------------------------------------------------------------------------------------
  // what the shell reads

  /** The meta to talk to now. */
  get meta(): string {
    return this.group.current;
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  /** The send time of the newest beacon a primary meta acknowledged (-Infinity before the first). */
  get lastAckedBeaconSentMs(): number {
    return this.lastAckedMs;
  }

  /** Whether a config sync must be answered before the replicas serve again. */
  get awaitingSync(): boolean {
    return this.syncNeededSinceMs !== undefined;
  }

  /** Whether the replicas may serve at `nowMs`. */
  leaseValid(nowMs: number): boolean {
    return this.syncNeededSinceMs === undefined && nowMs - this.lastAckedMs < this.options.leaseMs;
  }

  /** When the next tick has work (a beacon, a sync, a timeout), at the latest. */
  get nextDueMs(): number {
    let due = Math.min(this.nextBeaconMs, this.nextSyncMs);
    for (const beacon of this.beacons.values()) due = Math.min(due, beacon.sentMs + this.options.answerTimeoutMs);
    if (this.sync) due = Math.min(due, this.sync.sentMs + this.options.answerTimeoutMs);
    return due;
  }

  // -------------------------------------------------------------------------------------------
  // events

  /** Feeds one event at `nowMs`; returns what to do, in order. */
  step(event: MetaLinkEvent, nowMs: number): readonly MetaLinkAction[] {
    // A wall clock may step back; the machine's time does not.
    this.nowMs = Math.max(this.nowMs, nowMs);
    const leaseBefore = this.leaseValid(this.nowMs);
    this.restored = undefined;
    switch (event.kind) {
      case 'tick':
        this.onTick();
        break;
      case 'beacon_answered':
        this.onBeaconAnswered(event.beaconId, event.allowed && event.isPrimary, event.isPrimary, event.primary);
        break;
      case 'beacon_failed':
        this.onBeaconFailed(event.beaconId);
        break;
      case 'sync_answered':
        this.onSyncAnswered(event);
        break;
      case 'sync_failed':
        if (this.sync?.syncId === event.syncId) this.sync = undefined;
        break;
      case 'proposal':
        this.onProposal(event);
        break;
      case 'sync_interval_changed':
        assert(event.intervalMs > 0, 'config sync interval is positive');
        this.syncIntervalMs = event.intervalMs;
        this.nextSyncMs = this.nowMs + event.intervalMs;
        break;
    }
    this.checkAfterStep(event, leaseBefore);
    if (this.actions.length === 0) return NO_ACTIONS;
    const actions = this.actions;
    this.actions = [];
    return actions;
  }

  private onTick(): void {
    const now = this.nowMs;
    for (const [beaconId, beacon] of this.beacons) {
      if (now - beacon.sentMs >= this.options.answerTimeoutMs) this.onBeaconFailed(beaconId);
    }
    if (this.sync && now - this.sync.sentMs >= this.options.answerTimeoutMs) this.sync = undefined;
    if (now >= this.nextBeaconMs) {
      this.nextBeaconMs = now + this.options.beaconIntervalMs;
      this.switchBeaconsLeft = this.group.list.length - 1;
      this.sendBeacon();
    }
    if (now >= this.nextSyncMs) {
      this.nextSyncMs = now + this.syncIntervalMs;
      this.sendSync();
    }
  }

  private sendBeacon(): void {
    if (this.beacons.size >= BEACONS_IN_FLIGHT_MAX) this.beacons.delete(this.beacons.keys().next().value!);
    const beaconId = ++this.beaconSeq;
    this.beacons.set(beaconId, { meta: this.meta, sentMs: this.nowMs });
    this.emit({ kind: 'send_beacon', to: this.meta, beaconId, sentMs: this.nowMs });
  }

  private sendSync(): void {
    if (this.sync) return;
    const syncId = ++this.syncSeq;
    this.sync = { syncId, meta: this.meta, sentMs: this.nowMs };
    this.emit({ kind: 'send_config_sync', to: this.meta, syncId });
  }

  private onBeaconAnswered(beaconId: number, accepted: boolean, isPrimary: boolean, primary: string | undefined): void {
    const beacon = this.takeBeacon(beaconId);
    if (!beacon) return;
    if (!accepted) this.emit({ kind: 'beacon_lost', meta: beacon.meta, unreachable: false, wasConnected: this.connectedNow });
    else {
      assert(beacon.sentMs <= this.nowMs, `beacon sent at ${beacon.sentMs} answered before, at ${this.nowMs}`);
      // The lease had lapsed here: the meta may have declared this server dead meanwhile.
      if (this.nowMs - this.lastAckedMs >= this.options.leaseMs && this.syncNeededSinceMs === undefined) this.syncNeededSinceMs = this.nowMs;
      this.lastAckedMs = Math.max(this.lastAckedMs, beacon.sentMs);
      if (this.syncNeededSinceMs !== undefined && this.connectedNow) this.sendSync();
    }
    if (!isPrimary) {
      this.follow((group) => group.redirected(primary));
    } else if (accepted && !this.connectedNow) {
      this.connectedNow = true;
      this.emit({ kind: 'connected', meta: beacon.meta });
      this.sendSync();
    }
  }

  private onBeaconFailed(beaconId: number): void {
    const beacon = this.takeBeacon(beaconId);
    if (!beacon) return;
    this.emit({ kind: 'beacon_lost', meta: beacon.meta, unreachable: true, wasConnected: this.connectedNow });
    this.connectedNow = false;
    this.follow((group) => group.unreachable());
  }

  /** The beacon in flight to the current meta, taken out; undefined for a forgotten one or one to a meta left since. */
  private takeBeacon(beaconId: number): InFlight | undefined {
    const beacon = this.beacons.get(beaconId);
    if (!beacon) return undefined;
    this.beacons.delete(beaconId);
    return beacon.meta === this.meta ? beacon : undefined;
  }

  /** Moves to the meta `choose` picks (from the meta group); a different one is beaconed at once, within bounds. */
  private follow(choose: (group: MetaGroupTarget) => string): void {
    const previous = this.meta;
    const next = choose(this.group);
    if (next === previous) return;
    this.connectedNow = false;
    // What is still on its way to the previous meta is given up, as a closed connection would.
    this.beacons.clear();
    this.sync = undefined;
    this.emit({ kind: 'switch_meta', from: previous, to: next });
    if (this.switchBeaconsLeft > 0) {
      this.switchBeaconsLeft -= 1;
      this.sendBeacon();
    }
  }

  private onSyncAnswered(event: Extract<MetaLinkEvent, { kind: 'sync_answered' }>): void {
    const sync = this.sync;
    if (!sync || sync.syncId !== event.syncId) return;
    this.sync = undefined;
    assert(sync.sentMs <= this.nowMs, `config sync sent at ${sync.sentMs} answered before, at ${this.nowMs}`);
    const listed = new Set<string>();
    for (const partition of event.partitions) {
      listed.add(gpidText(partition.config.gpid));
      this.emit({ kind: 'assign', info: partition.info, config: partition.config });
    }
    this.emit({ kind: 'retain_only', listed, updateSeqAtSend: event.updateSeqAtSend });
    if (this.syncNeededSinceMs !== undefined && sync.sentMs >= this.syncNeededSinceMs) {
      this.restored = { syncSentMs: sync.sentMs, neededSinceMs: this.syncNeededSinceMs };
      this.syncNeededSinceMs = undefined;
    }
    if (event.garbage.length > 0) this.emit({ kind: 'collect_garbage', replicas: event.garbage });
  }

  private onProposal(event: Extract<MetaLinkEvent, { kind: 'proposal' }>): void {
    const { info, config, node, local } = event;
    const type = configTypeFromValue(event.type);
    if (!type || !applyConfigChange(config, type, node)) {
      this.emit({ kind: 'proposal_ignored', gpid: config.gpid, type: event.type });
      return;
    }
    if (type === 'CT_ADD_SECONDARY' || type === 'CT_ADD_SECONDARY_FOR_LB') {
      // Adding a secondary starts a learner on the primary (it is promoted once it caught up).
      // The meta proposes the next secondary as soon as the previous change is written, often
      // before that change reached this primary: like Pegasus, a newer configuration that the
      // proposal carries is adopted first, or the partition would wait for the next sweep.
      if (config.primary === this.options.self && (local === undefined || local.ballot < config.ballot)) this.emit({ kind: 'assign', info, config });
      this.emit({ kind: 'add_learner', gpid: config.gpid, ballot: config.ballot, node });
      return;
    }
    // Every other change is carried out and reported at once.
    const next = proposedConfiguration(config, type, node, local?.lastCommitted ?? 0);
    assert(next !== undefined, 'a proposal that fits gives a configuration');
    this.emit({ kind: 'update_config', info, config: next, type, node });
  }

  private emit(action: MetaLinkAction): void {
    this.actions.push(action);
  }

  // -------------------------------------------------------------------------------------------
  // assertions

  private checkAfterStep(event: MetaLinkEvent, leaseBefore: boolean): void {
    const now = this.nowMs;
    const leaseNow = this.leaseValid(now);
    assert(!leaseNow || this.lastAckedMs > now - this.options.leaseMs, 'the lease is valid only with a beacon acknowledged within it');
    assert(this.lastAckedMs <= now, `a beacon acknowledged at ${this.lastAckedMs} was sent after now (${now})`);
    assert(this.syncNeededSinceMs === undefined || this.syncNeededSinceMs <= now, 'a sync is needed only since a time passed');
    assert(this.beacons.size <= BEACONS_IN_FLIGHT_MAX, `${this.beacons.size} beacons in flight`);
    if (!leaseBefore && leaseNow) {
      // Only a config sync sent after the lapse was seen ends it: a beacon answer never restores
      // the lease (after a lapse it makes a sync needed), and nothing else touches it.
      assert(event.kind === 'sync_answered', `the lease came back on ${event.kind}`);
      assert(this.restored !== undefined && this.restored.syncSentMs >= this.restored.neededSinceMs, 'a config sync older than the lapse restored the lease');
    }
    if (event.kind === 'tick') {
      assert(this.nextBeaconMs > now, 'a tick sends the beacon that was due');
      for (const beacon of this.beacons.values()) assert(now - beacon.sentMs < this.options.answerTimeoutMs, 'a tick times out unanswered beacons');
    }
  }
}
