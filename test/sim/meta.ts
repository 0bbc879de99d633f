// The simulated meta server: the one authority for the partition's configuration. It keeps the
// configuration, the replica servers' liveness (beacons, grace period) and the dropped-member
// history, runs the real partition guardian (src/meta/guardian.ts) on node deaths, after every
// accepted change and periodically, applies the guardian's own updates and sends its proposals
// to the replica servers. A change a replica asks for is accepted only as the next ballot and
// only if it is exactly the change `applyConfigChange` makes to the current configuration (the
// ballot compare-and-set of the real meta). Every accepted configuration is pushed to the old
// and new members, the requester and the node concerned.
//
// It answers at several addresses (METAS), one of them the primary at a time; a failover moves
// the primary to another address (the state stays: the real metas share it through ZooKeeper).
// A backup answers beacons naming the primary (or, now and then, not knowing it) and refuses
// config syncs; only the primary runs the failure detector, and a new primary gives every live
// replica server a full grace period, as the real one does when it loads the servers.
import { guardianStep, type DroppedReplica, type GuardianEvent, type MemberReport, type GuardianOptions, type GuardianState } from '../../src/meta/guardian.ts';
import {
  applyConfigChange, clonePartitionConfiguration, gpidText, isMember, membersOf, newPartitionConfiguration, sameMembership,
  type AppInfo, type ConfigType, type PartitionConfiguration,
} from '../../src/cluster/model.ts';
import { configText } from './network.ts';
import { METAS, type ReplicaReport, type SimContext, type SimMessage } from './types.ts';

export const APP_ID = 1;
const DROPPED_HISTORY_MAX = 10;
const CURE_ROUNDS_MAX = 4;
/** How often a backup answering a beacon does not know the primary (it has not learned it yet). */
const BACKUP_KNOWS_NO_PRIMARY_RATE = 0.2;

export class SimMeta {
  config: PartitionConfiguration;
  readonly app: AppInfo;
  readonly alive = new Set<string>();
  private readonly lastBeaconMs = new Map<string, number>();
  private readonly dropped: DroppedReplica[] = [];
  /** The last config-sync report of each member (steers which secondary is promoted). */
  private readonly memberReports = new Map<string, MemberReport>();
  private readonly options: GuardianOptions;
  /** Configuration changes accepted, per type, for the run summary. */
  readonly changesByType = new Map<string, number>();
  /** The address that is the primary meta now. */
  primary = METAS[0]!;
  failovers = 0;
  /** Per replica server, the send time of the newest beacon the primary acknowledged. */
  private readonly ackedBeaconSentMs = new Map<string, number>();
  /** Orders config-sync answers and death declarations (see SimMessage 'config_sync_reply'). */
  private answerSeq = 0;
  /** Per replica server, the `answerSeq` of the last time it was declared dead. */
  private readonly deadAtSeq = new Map<string, number>();

  /**
   * @param keepStaleReports keep a node's dropped-history entry (and its last config-sync report)
   *   when it becomes a member again, as src/meta/server-state.ts once did; the DDD choice can then
   *   compare a report from before the node rejoined.
   */
  constructor(
    private readonly ctx: SimContext,
    maxReplicaCount: number,
    private readonly keepStaleReports: boolean,
    /** After `node` was declared dead (the lease invariants check it at once). */
    private readonly declaredDead: (node: string) => void,
  ) {
    this.config = newPartitionConfiguration(APP_ID, 0, maxReplicaCount);
    this.app = {
      status: 'AS_AVAILABLE', appType: 'pegasus', appName: 'sim', appId: APP_ID, partitionCount: 1, envs: {}, isStateful: true,
      maxReplicaCount, expireSecond: 0, createSecond: 0, dropSecond: 0, duplicating: false, initPartitionCount: 1,
      isBulkLoading: false, atomicIdempotent: false,
    };
    this.options = {
      mutation2pcMinReplicaCount: 2,
      replicaAssignDelayMsForDropouts: ctx.timings.replicaAssignDelayMsForDropouts,
      addSecondaryEnableFlowControl: false,
      addSecondaryMaxCountForOneNode: 10,
    };
  }

  start(): void {
    const fdCheck = (): void => {
      this.checkFailures();
      this.ctx.schedule(this.ctx.timings.metaFdCheckIntervalMs, 'meta fd check', fdCheck);
    };
    const checkAll = (): void => {
      this.runGuardian({ kind: 'check_all' });
      this.ctx.schedule(this.ctx.timings.metaCheckAllIntervalMs, 'meta check_all', checkAll);
    };
    this.ctx.schedule(this.ctx.timings.metaFdCheckIntervalMs, 'meta fd check', fdCheck);
    this.ctx.schedule(this.ctx.timings.metaCheckAllIntervalMs, 'meta check_all', checkAll);
  }

  /** The newest acknowledged beacon `node` sent (-Infinity if none). */
  lastAckedBeaconSentMs(node: string): number {
    return this.ackedBeaconSentMs.get(node) ?? Number.NEGATIVE_INFINITY;
  }

  /** When (`answerSeq`) `node` was last declared dead, if ever. */
  lastDeathSeq(node: string): number | undefined {
    return this.deadAtSeq.get(node);
  }

  /** The primary moves to `next`. */
  failover(next: string): void {
    this.ctx.trace(`meta: ${this.primary} hands the primary role to ${next}`);
    this.primary = next;
    this.failovers += 1;
    for (const node of this.alive) this.lastBeaconMs.set(node, this.ctx.nowMs);
  }

  /** `message` from `from` to the meta at address `to`. */
  onMessage(from: string, to: string, message: SimMessage): void {
    if (to !== this.primary) {
      this.onMessageAtBackup(from, to, message);
      return;
    }
    switch (message.type) {
      case 'beacon':
        this.lastBeaconMs.set(from, this.ctx.nowMs);
        this.ackedBeaconSentMs.set(from, Math.max(this.lastAckedBeaconSentMs(from), message.sentMs));
        if (!this.alive.has(from)) {
          this.alive.add(from);
          this.ctx.trace(`meta: ${from} is alive`);
        }
        this.ctx.send(to, from, { type: 'beacon_ack', beaconId: message.beaconId, sentMs: message.sentMs, isPrimary: true, primary: to });
        return;
      case 'update_config':
        this.onUpdate(from, message.config, message.change, message.node);
        return;
      case 'config_sync': {
        const member = isMember(this.config, from);
        if (message.report && member) this.memberReports.set(from, { lastCommittedDecree: message.report.lastCommitted });
        if (message.report && !member) this.recordReport(from, message.report);
        this.ctx.send(to, from, {
          type: 'config_sync_reply', syncId: message.syncId, err: 'ERR_OK', config: member ? clonePartitionConfiguration(this.config) : undefined, answerSeq: ++this.answerSeq,
        });
        return;
      }
      case 'query_config':
        this.ctx.send(to, from, { type: 'query_reply', queryId: message.queryId, config: clonePartitionConfiguration(this.config) });
        return;
      default:
        return;
    }
  }

  private onMessageAtBackup(from: string, to: string, message: SimMessage): void {
    switch (message.type) {
      case 'beacon': {
        const primary = this.ctx.rng.chance(BACKUP_KNOWS_NO_PRIMARY_RATE) ? undefined : this.primary;
        this.ctx.send(to, from, { type: 'beacon_ack', beaconId: message.beaconId, sentMs: message.sentMs, isPrimary: false, primary });
        return;
      }
      case 'config_sync':
        this.ctx.send(to, from, { type: 'config_sync_reply', syncId: message.syncId, err: 'ERR_FORWARD_TO_OTHERS', config: undefined, answerSeq: this.answerSeq });
        return;
      case 'query_config':
        // Clients may ask any meta: the configuration is shared.
        this.ctx.send(to, from, { type: 'query_reply', queryId: message.queryId, config: clonePartitionConfiguration(this.config) });
        return;
      default:
        // Configuration updates are for the primary: the replica asks again.
        return;
    }
  }

  private checkFailures(): void {
    for (const node of [...this.alive]) {
      const last = this.lastBeaconMs.get(node) ?? 0;
      if (this.ctx.nowMs - last > this.ctx.timings.graceMs) {
        this.alive.delete(node);
        this.deadAtSeq.set(node, ++this.answerSeq);
        this.ctx.trace(`meta: ${node} is dead (no beacon since ${last})`);
        this.declaredDead(node);
        this.runGuardian({ kind: 'node_dead', node });
      }
    }
  }

  /** RPC_CM_UPDATE_PARTITION_CONFIGURATION, as the real meta answers it. */
  private onUpdate(from: string, requested: PartitionConfiguration, type: ConfigType, node: string): void {
    const current = this.config;
    const reply = (err: string): void => this.ctx.send(this.primary, from, { type: 'update_reply', err, config: clonePartitionConfiguration(this.config) });
    if (requested.ballot === current.ballot && sameMembership(requested, current)) return reply('ERR_OK');
    if (requested.ballot !== current.ballot + 1) return reply('ERR_INVALID_VERSION');
    const expected = applyConfigChange(current, type, node);
    if (!expected || !sameMembership(expected, requested)) return reply('ERR_INVALID_PARAMETERS');
    expected.lastCommittedDecree = Math.max(current.lastCommittedDecree, requested.lastCommittedDecree);
    this.apply(expected, type, node, from);
    reply('ERR_OK');
    this.runGuardian({ kind: 'cure', gpids: [{ ...current.gpid }] });
  }

  private apply(next: PartitionConfiguration, type: ConfigType, node: string, requester: string | undefined): void {
    const previous = this.config;
    if (next.ballot !== previous.ballot + 1) this.ctx.violation(`meta: ballot goes ${previous.ballot} → ${next.ballot}`);
    this.config = clonePartitionConfiguration(next);
    this.changesByType.set(type, (this.changesByType.get(type) ?? 0) + 1);
    this.ctx.trace(`meta: ${type} ${node}${requester ? ` (asked by ${requester})` : ''}: ${configText(previous)} → ${configText(next)}`);
    for (const member of membersOf(previous)) {
      if (!isMember(next, member)) this.recordDrop(member);
    }
    if (!this.keepStaleReports) {
      // A member's report from before it (re)joined says nothing about the data it holds when it
      // is dropped again: forget it, so the DDD choice waits for a report made after the drop.
      for (const member of membersOf(next)) {
        const index = this.dropped.findIndex((entry) => entry.node === member);
        if (index >= 0) this.dropped.splice(index, 1);
      }
    }
    const told = new Set([...membersOf(previous), ...membersOf(next), node]);
    if (requester !== undefined) told.add(requester);
    told.delete('');
    for (const target of told) this.ctx.send(this.primary, target, { type: 'config_push', config: clonePartitionConfiguration(this.config) });
  }

  private runGuardian(first: GuardianEvent): void {
    let event: GuardianEvent | undefined = first;
    for (let round = 0; round < CURE_ROUNDS_MAX && event; round++) {
      const actions = guardianStep(this.guardianState(), event, this.ctx.nowMs);
      event = undefined;
      for (const action of actions) {
        switch (action.kind) {
          case 'update':
            if (action.config.ballot !== this.config.ballot + 1) {
              this.ctx.violation(`meta: guardian update to ballot ${action.config.ballot} on ${configText(this.config)}`);
              return;
            }
            this.apply(action.config, action.type, action.node, undefined);
            event = { kind: 'cure', gpids: [{ ...action.gpid }] };
            break;
          case 'proposal':
            if (action.type === 'CT_ASSIGN_PRIMARY' && action.config.lastDrops.length > 0) {
              const history = this.dropped.map((entry) => `${entry.node}@${entry.droppedAtMs}:b${entry.ballot}/c${entry.lastCommittedDecree}/p${entry.lastPreparedDecree}`);
              this.ctx.trace(`meta: ddd recovery proposes ${action.node} (last drops ${action.config.lastDrops.join(' ')}; history ${history.join(' ')})`);
            }
            this.ctx.send(this.primary, action.target, { type: 'proposal', proposal: action });
            break;
          case 'ddd':
            this.ctx.trace(`meta: ddd: ${action.reason}`);
            break;
        }
      }
    }
  }

  private guardianState(): GuardianState {
    return {
      level: 'fl_steady',
      apps: new Map([[APP_ID, this.app]]),
      partitions: new Map([[APP_ID, [this.config]]]),
      aliveNodes: this.alive,
      pending: new Set(),
      dropped: new Map([[gpidText(this.config.gpid), this.dropped]]),
      memberReports: new Map([[gpidText(this.config.gpid), this.memberReports]]),
      options: this.options,
    };
  }

  private recordDrop(node: string): void {
    this.mergeDropped({ node, droppedAtMs: this.ctx.nowMs, ballot: -1, lastCommittedDecree: 0, lastPreparedDecree: 0 });
  }

  private recordReport(node: string, report: ReplicaReport): void {
    this.mergeDropped({
      node, droppedAtMs: 0, ballot: report.ballot, lastCommittedDecree: report.lastCommitted, lastPreparedDecree: report.lastPrepared,
    });
  }

  /** A drop keeps the last reported replica state; a report keeps the drop time (like the real meta). */
  private mergeDropped(entry: DroppedReplica): void {
    this.memberReports.delete(entry.node);
    const index = this.dropped.findIndex((item) => item.node === entry.node);
    if (index >= 0) {
      const previous = this.dropped[index]!;
      this.dropped.splice(index, 1);
      entry = entry.droppedAtMs === 0
        ? { ...entry, droppedAtMs: previous.droppedAtMs }
        : { ...entry, ballot: previous.ballot, lastCommittedDecree: previous.lastCommittedDecree, lastPreparedDecree: previous.lastPreparedDecree };
    }
    this.dropped.push(entry);
    if (this.dropped.length > DROPPED_HISTORY_MAX) this.dropped.splice(0, this.dropped.length - DROPPED_HISTORY_MAX);
  }
}
