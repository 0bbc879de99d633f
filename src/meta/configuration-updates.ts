// Configuration updates (spec pegasus-arch §2.4): a replica server's request to change its
// partition's configuration (RPC_CM_UPDATE_PARTITION_CONFIGURATION), the meta's own changes, and
// applying a written change to the tables (dropped-member history, metrics).
//
// A change is accepted only as the next ballot and only if it is exactly what applyConfigChange
// makes of the current configuration (a ballot compare-and-set). It is written to the store
// first; while it is written the partition is pending: the guardian leaves it alone, a second
// update is ignored, and a config sync of a member it concerns answers ERR_BUSY.
import { log, assert, type ErrorName } from '../base/index.ts';
import { mutation2pcMinReplicaCount } from '../cluster/index.ts';
import {
  applyConfigChange, clonePartitionConfiguration, gpidText, isMember, levelAtMost, membersOf, partitionConfigurationToJson,
  PARTITION_FLAG_DROPPED, replicaCountOf, sameMembership,
  type ConfigType, type FunctionLevel, type Gpid, type PartitionConfiguration,
} from '../cluster/model.ts';
import { assertConfigurationChange, assertMembershipWellFormed } from './config-invariants.ts';
import type { GuardianAction, GuardianProposal } from './guardian.ts';
import { partitionConfigurationChangesMetric, unwritablePartitionChangesMetric, writablePartitionChangesMetric } from './metrics.ts';
import type { MetaStateStore } from './state-store.ts';
import { unavailableError, type MetaTables } from './tables.ts';

/** A replica server's RPC_CM_UPDATE_PARTITION_CONFIGURATION (configuration_update_request). */
export interface UpdateConfigurationRequest {
  /** The configuration the replica proposes (ballot = current + 1). */
  config: PartitionConfiguration;
  type: ConfigType;
  node: string;
}

export type UpdateConfigurationResult =
  | { err: ErrorName; config: PartitionConfiguration | undefined; proposals: GuardianProposal[] }
  /** Another change of this partition is being written: no reply (the replica retries). */
  | 'ignored';

/** What configuration updates need from the rest of the meta. */
export interface ConfigurationUpdatesContext {
  readonly tables: MetaTables;
  readonly store: MetaStateStore;
  nowMs(): number;
  effectiveFunctionLevel(): FunctionLevel;
  /** A change landed: the balance operation of its partition moves on, or is abandoned. */
  onChangeApplied(gpid: Gpid, type: ConfigType, node: string): void;
  /** Runs the guardian on these partitions; returns every action it took or proposed. */
  cure(gpids: readonly Gpid[]): Promise<GuardianAction[]>;
}

/** Each method assumes its caller holds the serial queue. */
export class ConfigurationUpdates {
  private readonly tables: MetaTables;

  constructor(private readonly context: ConfigurationUpdatesContext) {
    this.tables = context.tables;
  }

  /** `RPC_CM_UPDATE_PARTITION_CONFIGURATION` from a replica server. */
  async onUpdateConfiguration(request: UpdateConfigurationRequest): Promise<UpdateConfigurationResult> {
    const reply = (err: ErrorName, config?: PartitionConfiguration): UpdateConfigurationResult =>
      ({ err, config: config && clonePartitionConfiguration(config), proposals: [] });
    if (levelAtMost(this.context.effectiveFunctionLevel(), 'fl_freezed')) return reply('ERR_STATE_FREEZED');
    const { gpid } = request.config;
    const app = this.tables.appsById.get(gpid.appId);
    if (!app) return reply('ERR_APP_NOT_EXIST');
    if (app.status !== 'AS_AVAILABLE') return reply(app.status === 'AS_DROPPED' ? 'ERR_APP_DROPPED' : unavailableError(app.status));
    const current = this.tables.partitions.get(gpid.appId)?.[gpid.partitionIndex];
    if (!current) return reply('ERR_INVALID_PARAMETERS');
    if (this.tables.context(gpid).pending) return 'ignored';
    if (request.config.ballot === current.ballot && sameMembership(request.config, current)) return reply('ERR_OK', current);
    if (request.config.ballot !== current.ballot + 1) return reply('ERR_INVALID_VERSION', current);
    const expected = applyConfigChange(current, request.type, request.node);
    if (!expected || !sameMembership(expected, request.config)) {
      log.warn({ gpid: gpidText(gpid), type: request.type, node: request.node, ballot: request.config.ballot }, 'configuration update does not match the current membership');
      return reply('ERR_INVALID_PARAMETERS', current);
    }
    // The replica reports how far it committed; the meta keeps last_drops itself.
    expected.lastCommittedDecree = Math.max(current.lastCommittedDecree, request.config.lastCommittedDecree);
    await this.write(current, expected, request.type, request.node);
    const actions = await this.context.cure([gpid]);
    return { err: 'ERR_OK', config: clonePartitionConfiguration(expected), proposals: actions.filter((action): action is GuardianProposal => action.kind === 'proposal') };
  }

  /** Persists one partition's next configuration (the change `type` of `node`), then applies it. */
  async write(current: PartitionConfiguration, next: PartitionConfiguration, type: ConfigType, node: string): Promise<void> {
    assert(this.tables.appsById.get(current.gpid.appId)?.status === 'AS_AVAILABLE', `configuration of ${gpidText(current.gpid)} written while its table is not available`);
    assertConfigurationChange(current, next, type, node, 'meta writes a configuration');
    await this.persistAndInstall(current, next, [...membersOf(current), ...membersOf(next)]);
    this.context.onChangeApplied(next.gpid, type, node);
  }

  /** Persists one partition's configuration at the next ballot with a new max_replica_count (same members), then applies it. */
  async writeMaxReplicaCount(current: PartitionConfiguration, maxReplicaCount: number): Promise<void> {
    const next = { ...clonePartitionConfiguration(current), ballot: current.ballot + 1, maxReplicaCount };
    await this.persistAndInstall(current, next, membersOf(current));
  }

  /** Writes `next` to the store, the partition marked pending for `pendingNodes` meanwhile, then applies it. */
  private async persistAndInstall(current: PartitionConfiguration, next: PartitionConfiguration, pendingNodes: Iterable<string>): Promise<void> {
    const context = this.tables.context(current.gpid);
    assert(!context.pending, `configuration of ${gpidText(current.gpid)} written twice at once`);
    context.pending = true;
    context.pendingNodes = new Set(pendingNodes);
    try {
      await this.context.store.set(this.tables.partitionPath(next.gpid), Buffer.from(partitionConfigurationToJson(next)));
    } finally {
      context.pending = false;
      context.pendingNodes = new Set();
    }
    this.install(current, next);
  }

  /** Applies a partition's configuration of a dropped table, once the store holds it. */
  applyDropped(current: PartitionConfiguration, next: PartitionConfiguration): void {
    assertConfigurationChange(current, next, 'CT_DROP_PARTITION', '', 'meta drops a partition');
    this.install(current, next);
  }

  /** Applies a partition's configuration of a recalled table (the same ballot, not flagged dropped), once the store holds it. */
  applyRecalled(current: PartitionConfiguration, next: PartitionConfiguration): void {
    const partition = gpidText(current.gpid);
    assert(next.ballot === current.ballot && sameMembership(current, next), `recall of ${partition} changes its ballot or members`);
    assert(next.partitionFlags === (current.partitionFlags & ~PARTITION_FLAG_DROPPED), `recall of ${partition} sets flags ${next.partitionFlags}`);
    this.install(current, next);
  }

  /** Puts `next` in the place of `current` and updates what the meta keeps beside it. */
  private install(current: PartitionConfiguration, next: PartitionConfiguration): void {
    const configs = this.tables.partitions.get(next.gpid.appId);
    assert(configs !== undefined && configs[next.gpid.partitionIndex] === current, `stale configuration of ${gpidText(next.gpid)} applied`);
    // Every path in here keeps the committed decree, so the one the guardian reads only grows.
    assert(next.lastCommittedDecree >= current.lastCommittedDecree, `committed decree of ${gpidText(next.gpid)} goes back`);
    assertMembershipWellFormed(next, 'meta applies a configuration');
    const stored = clonePartitionConfiguration(next);
    configs[next.gpid.partitionIndex] = stored;
    const context = this.tables.context(next.gpid);
    const now = this.context.nowMs();
    for (const node of membersOf(current)) {
      if (!isMember(stored, node)) this.tables.recordDropped(next.gpid, { node, droppedAtMs: now, ballot: -1, lastCommittedDecree: 0, lastPreparedDecree: 0 });
    }
    // A member's entry goes: what it reported before it (re)joined says nothing about the data it
    // will hold when it leaves again, and a drop keeps the last report. Kept, the DDD choice could
    // compare that old report after the next drop and pick a node holding less data than the other
    // (found by the fault simulator: committed writes were lost that way).
    for (const node of membersOf(stored)) this.tables.forgetDropped(next.gpid, node);
    if (stored.ballot !== current.ballot) context.metrics.counter(partitionConfigurationChangesMetric).increment();
    const min2pc = mutation2pcMinReplicaCount.value;
    const writable = (config: PartitionConfiguration): boolean => config.primary !== '' && replicaCountOf(config) >= min2pc;
    if (writable(current) && !writable(stored)) context.metrics.counter(unwritablePartitionChangesMetric).increment();
    if (!writable(current) && writable(stored)) context.metrics.counter(writablePartitionChangesMetric).increment();
    if (stored.primary !== '') this.tables.dddPartitions.delete(gpidText(stored.gpid));
  }
}
