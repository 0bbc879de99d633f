// The partition guardian: keeps every partition of every available table healthy (spec
// pegasus-arch §2.5, §2.8). It is a pure function of the meta's state, an event and the time,
// and returns actions; the server state persists the `update` actions itself and the role
// sends the `proposal` actions to replica servers. No I/O, no timers, no randomness.
//
// Per partition, in order:
//   1. a dead member is taken out: a dead primary (or a dead secondary of a primary-less
//      partition) by the meta itself, a dead secondary of a live primary through that primary;
//      only the dead primary of a partition that never had another node stays;
//   2. no primary: promote the live secondary that reported the highest committed decree (the
//      least to catch up; fewest primaries breaks ties); a brand-new partition gets a primary; a partition
//      whose replicas all died ("DDD") gets the last dropped member that provably has the data
//      (never one that reports holding none);
//   3. too few members: add a secondary (prefer a recently dropped member, wait a while for it
//      to come back before copying the data elsewhere);
//   4. too many members: remove the secondary on the most loaded node.
// A partition in the middle of a balance operation (§2.9) gets the operation's next step instead
// of 2–4, as long as that step still fits; the server state drops steps that no longer do.
import { assert } from '../base/index.ts';
import { balancerStepIsValid, type BalancerStep } from './balancer.ts';
import {
  applyConfigChange, gpidText, isMember, levelAtMost, replicaCountOf,
  type AppInfo, type ConfigType, type FunctionLevel, type Gpid, type PartitionConfiguration,
} from '../cluster/model.ts';
import { assertConfigurationChange, assertMembershipWellFormed } from './config-invariants.ts';
import { chooseSecondaryNode, chooseSecondaryToPromote, chooseSecondaryToRemove, choosePrimaryNode, LoadTally } from './placement.ts';

export interface GuardianOptions {
  /** Fewer live members than this means the partition cannot commit writes: re-replicate at once. */
  mutation2pcMinReplicaCount: number;
  /** How long to wait for a dropped member to come back before copying its data elsewhere. */
  replicaAssignDelayMsForDropouts: number;
  addSecondaryEnableFlowControl: boolean;
  /** With flow control: at most this many new secondaries per node per round. */
  addSecondaryMaxCountForOneNode: number;
}

/** What the meta knows about a member that left a partition (config changes and config-sync reports). */
export interface DroppedReplica {
  node: string;
  /** Meta clock when it left; 0 when unknown (learnt only from a config-sync report). */
  droppedAtMs: number;
  /** From the node's config-sync report; -1 until it reported this replica. */
  ballot: number;
  lastCommittedDecree: number;
  lastPreparedDecree: number;
}

/** What a member said of its replica in its last config sync (what the choice of a primary uses). */
export interface MemberReport {
  lastCommittedDecree: number;
}

export interface GuardianState {
  /** The effective level (already forced to freezed when too few nodes are alive). */
  level: FunctionLevel;
  apps: ReadonlyMap<number, AppInfo>;
  /** Partition configurations per app id, indexed by partition index. */
  partitions: ReadonlyMap<number, readonly PartitionConfiguration[]>;
  aliveNodes: ReadonlySet<string>;
  /** gpid texts whose configuration write is in flight: left alone until it lands. */
  pending: ReadonlySet<string>;
  /** Dropped-member history per gpid text, most recent last. */
  dropped: ReadonlyMap<string, readonly DroppedReplica[]>;
  /** Per gpid text, per member node: the decrees its last config-sync report gave. */
  memberReports?: ReadonlyMap<string, ReadonlyMap<string, MemberReport>>;
  /** Nodes never chosen for a new replica. */
  blackList?: ReadonlySet<string>;
  /** Per gpid text: the next step of the balance operation queued for the partition. */
  balancerSteps?: ReadonlyMap<string, BalancerStep>;
  options: GuardianOptions;
}

export type GuardianEvent =
  /** The periodic sweep over every partition (every lb_interval_ms). */
  | { kind: 'check_all' }
  /** The failure detector declared `node` dead: handle every partition it is a member of. */
  | { kind: 'node_dead'; node: string }
  /** Re-evaluate these partitions (after their configuration changed). */
  | { kind: 'cure'; gpids: readonly Gpid[] };

export type GuardianAction =
  /** A change the meta makes itself: persist `config` (ballot + 1), then apply it. */
  | { kind: 'update'; gpid: Gpid; type: ConfigType; node: string; config: PartitionConfiguration }
  /**
   * A change a replica server makes (one-way RPC_CONFIG_PROPOSAL to `target`, carrying `config`,
   * the current configuration). `expected` is the configuration the change will lead to.
   */
  | { kind: 'proposal'; gpid: Gpid; type: ConfigType; target: string; node: string; config: PartitionConfiguration; expected: PartitionConfiguration }
  /** All replicas dead and none can be picked safely: an operator has to recover it. */
  | { kind: 'ddd'; gpid: Gpid; reason: string };

export type GuardianProposal = Extract<GuardianAction, { kind: 'proposal' }>;
/**
 * The level the meta really works at: a level above freezed drops to freezed while fewer than
 * `minLiveNodes` replica servers are alive or less than `livePercentage`% of the known ones.
 */
export function effectiveFunctionLevel(
  level: FunctionLevel,
  aliveCount: number,
  knownCount: number,
  minLiveNodes: number,
  livePercentage: number,
): FunctionLevel {
  if (levelAtMost(level, 'fl_freezed')) return level;
  if (aliveCount < minLiveNodes || aliveCount * 100 < livePercentage * knownCount) return 'fl_freezed';
  return level;
}

interface Round {
  state: GuardianState;
  nowMs: number;
  tally: LoadTally;
  /** New secondaries chosen per node in this round (flow control). */
  newSecondaries: Map<string, number>;
  actions: GuardianAction[];
}

/** One guardian step: (state, event, now) → actions. Pure. */
export function guardianStep(state: GuardianState, event: GuardianEvent, nowMs: number): GuardianAction[] {
  // stopped and blind: no partition configuration is written at all.
  if (levelAtMost(state.level, 'fl_blind')) return [];
  const configs: PartitionConfiguration[] = [];
  for (const [appId, list] of state.partitions) {
    if (state.apps.get(appId)?.status !== 'AS_AVAILABLE') continue;
    list.forEach((config, index) => assertReadable(config, appId, index));
    // A split child that is not registered yet has no members to cure: its parent serves its keys.
    configs.push(...list.filter((config) => config.ballot >= 0));
  }
  const round: Round = { state, nowMs, tally: new LoadTally(configs), newSecondaries: new Map(), actions: [] };

  let targets: PartitionConfiguration[];
  switch (event.kind) {
    case 'check_all':
      // Partitions without any secondary go first, so they get the scarce slots.
      targets = [...configs].sort((a, b) => Number(a.secondaries.length > 0) - Number(b.secondaries.length > 0));
      break;
    case 'node_dead':
      targets = configs.filter((config) => isMember(config, event.node));
      break;
    case 'cure': {
      targets = [];
      const seen = new Set<string>();
      for (const gpid of event.gpids) {
        const config = state.partitions.get(gpid.appId)?.[gpid.partitionIndex];
        if (!config || config.ballot < 0 || state.apps.get(gpid.appId)?.status !== 'AS_AVAILABLE' || seen.has(gpidText(gpid))) continue;
        seen.add(gpidText(gpid));
        targets.push(config);
      }
      break;
    }
  }
  for (const config of targets) {
    if (state.pending.has(gpidText(config.gpid))) continue;
    curePartition(round, config);
  }
  assertActions(state, round.actions);
  return round.actions;
}

/** What the guardian reads: each configuration in its place, with a well-formed membership. */
function assertReadable(config: PartitionConfiguration, appId: number, index: number): void {
  assert(
    config.gpid.appId === appId && config.gpid.partitionIndex === index,
    `guardian reads the configuration of ${gpidText(config.gpid)} in the place of ${appId}.${index}`,
  );
  assertMembershipWellFormed(config, 'guardian reads a configuration');
}

/**
 * What the guardian hands out: at most one action per partition, each about a partition of an
 * available table with no write in flight; an update or a proposal is the next ballot of the
 * configuration it read (ballot + 1, nothing committed forgotten, the primary a member and not
 * also a secondary), a proposal goes to an alive node, and only a partition without members is
 * reported DDD.
 */
function assertActions(state: GuardianState, actions: readonly GuardianAction[]): void {
  const seen = new Set<string>();
  for (const action of actions) {
    const key = gpidText(action.gpid);
    assert(!seen.has(key), `guardian acts twice on ${key} in one step`);
    seen.add(key);
    assert(!state.pending.has(key), `guardian acts on ${key} while its configuration is being written`);
    assert(state.apps.get(action.gpid.appId)?.status === 'AS_AVAILABLE', `guardian acts on ${key} of a table that is not available`);
    const current = state.partitions.get(action.gpid.appId)?.[action.gpid.partitionIndex];
    assert(current !== undefined, `guardian acts on ${key}, which does not exist`);
    switch (action.kind) {
      case 'update':
        assertConfigurationChange(current, action.config, action.type, action.node, 'guardian update');
        break;
      case 'proposal':
        assert(action.config === current, `guardian proposal for ${key} carries a configuration other than the current one`);
        assertConfigurationChange(current, action.expected, action.type, action.node, 'guardian proposal');
        assert(state.aliveNodes.has(action.target), `guardian proposes ${action.type} on ${key} to ${action.target}, which is not alive`);
        break;
      case 'ddd':
        assert(replicaCountOf(current) === 0, `guardian reports ${key} as DDD while it has members`);
        break;
    }
  }
}

function update(round: Round, current: PartitionConfiguration, type: ConfigType, node: string): void {
  const next = applyConfigChange(current, type, node);
  if (!next) return;
  round.actions.push({ kind: 'update', gpid: { ...current.gpid }, type, node, config: next });
}

function propose(round: Round, current: PartitionConfiguration, type: ConfigType, target: string, node: string): boolean {
  const expected = applyConfigChange(current, type, node);
  if (!expected) return false;
  round.actions.push({ kind: 'proposal', gpid: { ...current.gpid }, type, target, node, config: current, expected });
  return true;
}

function curePartition(round: Round, config: PartitionConfiguration): void {
  const { state, tally } = round;
  const appId = config.gpid.appId;
  const alive = (node: string): boolean => state.aliveNodes.has(node);

  // 1. Dead members. One change at a time: the next step runs after this one is applied.
  if (config.primary !== '' && !alive(config.primary) && config.secondaries.length === 0 && config.lastDrops.length === 0) {
    // The only node the partition ever had (every node that left is in last_drops until it is
    // added again) stays its primary: nothing else could lead it, and taking it out would only
    // leave a DDD that waits for this same node. It may come back without having acted as primary
    // at all (its configuration never reached it); as the primary of ballot 1 it may then still
    // lead from an empty store, but not as the only last drop of a later ballot (found by the
    // fault simulator: such a partition stayed without a primary for good).
    return;
  }
  if (config.primary !== '' && !alive(config.primary)) {
    update(round, config, 'CT_DOWNGRADE_TO_INACTIVE', config.primary);
    tally.removeReplica(appId, config.primary, true);
    return;
  }
  const deadSecondary = config.secondaries.find((node) => !alive(node));
  if (deadSecondary !== undefined) {
    if (config.primary === '') {
      update(round, config, 'CT_DOWNGRADE_TO_INACTIVE', deadSecondary);
      tally.removeReplica(appId, deadSecondary, false);
    } else if (!levelAtMost(state.level, 'fl_freezed')) {
      // The primary drops it, so its own view and the meta's stay in step.
      propose(round, config, 'CT_DOWNGRADE_TO_INACTIVE', config.primary, deadSecondary);
      tally.removeReplica(appId, deadSecondary, false);
    }
    return;
  }

  // Curing proper needs replica servers to act on proposals: not at freezed or below.
  if (levelAtMost(state.level, 'fl_freezed')) return;

  const balancerStep = state.balancerSteps?.get(gpidText(config.gpid));
  if (balancerStep !== undefined && balancerStepIsValid(config, balancerStep, state.aliveNodes)) {
    proposeBalancerStep(round, config, balancerStep);
    return;
  }

  if (config.primary === '') {
    cureMissingPrimary(round, config);
    return;
  }
  const count = replicaCountOf(config);
  if (count < config.maxReplicaCount) {
    cureMissingSecondary(round, config);
  } else if (count > config.maxReplicaCount) {
    const victim = chooseSecondaryToRemove(config.secondaries, appId, tally);
    if (victim !== undefined && propose(round, config, 'CT_REMOVE', config.primary, victim)) tally.removeReplica(appId, victim, false);
  }
}

/** The next step of a balance operation; new secondaries count against flow control like the guardian's own. */
function proposeBalancerStep(round: Round, config: PartitionConfiguration, step: BalancerStep): void {
  const options = round.state.options;
  const addsSecondary = step.type === 'CT_ADD_SECONDARY' || step.type === 'CT_ADD_SECONDARY_FOR_LB';
  if (addsSecondary && options.addSecondaryEnableFlowControl && (round.newSecondaries.get(step.node) ?? 0) >= options.addSecondaryMaxCountForOneNode) return;
  if (!propose(round, config, step.type, step.target, step.node)) return;
  if (addsSecondary) round.newSecondaries.set(step.node, (round.newSecondaries.get(step.node) ?? 0) + 1);
}

function candidateNodes(state: GuardianState): string[] {
  return [...state.aliveNodes].filter((node) => !state.blackList?.has(node));
}

function cureMissingPrimary(round: Round, config: PartitionConfiguration): void {
  const { state, tally } = round;
  const appId = config.gpid.appId;
  if (config.secondaries.length > 0) {
    // Every secondary is alive here (dead ones were removed first). Each has prepared everything
    // committed, so any is safe; the one that committed most has the shortest tail to commit.
    const reports = state.memberReports?.get(gpidText(config.gpid));
    const committed = (node: string): number => reports?.get(node)?.lastCommittedDecree ?? -1;
    const highest = Math.max(...config.secondaries.map(committed));
    const chosen = chooseSecondaryToPromote(config.secondaries.filter((node) => committed(node) === highest), appId, tally);
    if (chosen !== undefined && propose(round, config, 'CT_UPGRADE_TO_PRIMARY', chosen, chosen)) tally.addPrimary(appId, chosen, false);
    return;
  }
  if (config.lastDrops.length === 0) {
    // A brand-new partition: no data anywhere yet, any node will do.
    const chosen = choosePrimaryNode(candidateNodes(state), appId, tally);
    if (chosen !== undefined && propose(round, config, 'CT_ASSIGN_PRIMARY', chosen, chosen)) tally.addPrimary(appId, chosen, true);
    return;
  }
  const choice = chooseDddPrimary(state, config);
  if ('reason' in choice) {
    round.actions.push({ kind: 'ddd', gpid: { ...config.gpid }, reason: choice.reason });
    return;
  }
  if (propose(round, config, 'CT_ASSIGN_PRIMARY', choice.node, choice.node)) tally.addPrimary(appId, choice.node, true);
}

/**
 * All replicas are dead: only a member that held the latest data may become primary. With one
 * last drop, it is that node once it is back and has reported its replica. With more, the two
 * most recent must both be back and have reported their replicas; the one with the newer ballot,
 * then the higher committed, then the higher prepared decree wins, and it must have prepared
 * everything the partition committed. A replica without a member's data (an empty or wiped data
 * dir) reports ballot 0: it never wins, and is never picked.
 */
export function chooseDddPrimary(state: GuardianState, config: PartitionConfiguration): { node: string } | { reason: string } {
  const drops = config.lastDrops;
  const alive = (node: string): boolean => state.aliveNodes.has(node);
  const history = state.dropped.get(gpidText(config.gpid)) ?? [];
  const reported = (node: string): DroppedReplica | undefined => {
    for (let index = history.length - 1; index >= 0; index--) {
      const entry = history[index]!;
      if (entry.node === node && entry.ballot >= 0) return entry;
    }
    return undefined;
  };
  const noData = (entry: DroppedReplica): { reason: string } => ({ reason: `last drop ${entry.node} holds no replica data (it reported ballot 0)` });
  if (drops.length === 1) {
    // Its report, not just its return: one without data refuses to lead and leaves again, and
    // picked again before it reported, it would go round with the meta (found by the fault simulator).
    const only = drops[0]!;
    if (!alive(only)) return { reason: `the only last drop ${only} is not alive` };
    const onlyInfo = reported(only);
    if (!onlyInfo) return { reason: `the only last drop ${only} has not reported its replica` };
    return onlyInfo.ballot === 0 ? noData(onlyInfo) : { node: only };
  }
  const latest = drops[drops.length - 1]!;
  const previous = drops[drops.length - 2]!;
  for (const node of [previous, latest]) if (!alive(node)) return { reason: `last drop ${node} is not alive` };
  const latestInfo = reported(latest);
  const previousInfo = reported(previous);
  if (!latestInfo || !previousInfo) {
    return { reason: `last drops ${previous} and ${latest} have not both reported their replica` };
  }
  const order = (a: DroppedReplica, b: DroppedReplica): number =>
    a.ballot !== b.ballot ? a.ballot - b.ballot
      : a.lastCommittedDecree !== b.lastCommittedDecree ? a.lastCommittedDecree - b.lastCommittedDecree
        : a.lastPreparedDecree - b.lastPreparedDecree;
  // On a full tie the most recent drop wins.
  const best = order(previousInfo, latestInfo) > 0 ? previousInfo : latestInfo;
  if (best.ballot === 0) return noData(best);
  if (best.lastPreparedDecree < config.lastCommittedDecree) {
    return {
      reason: `${best.node} prepared up to decree ${best.lastPreparedDecree}, less than the committed decree ${config.lastCommittedDecree}`,
    };
  }
  return { node: best.node };
}

function cureMissingSecondary(round: Round, config: PartitionConfiguration): void {
  const { state, tally, nowMs } = round;
  const appId = config.gpid.appId;
  const options = state.options;
  const alive = (node: string): boolean => state.aliveNodes.has(node);
  const usable = (node: string): boolean => alive(node) && !isMember(config, node) && !state.blackList?.has(node);
  const underFlowLimit = (node: string): boolean =>
    !options.addSecondaryEnableFlowControl || (round.newSecondaries.get(node) ?? 0) < options.addSecondaryMaxCountForOneNode;

  const drops = config.lastDrops.filter((node) => !isMember(config, node));
  const mostRecent = drops[drops.length - 1];
  const history = state.dropped.get(gpidText(config.gpid)) ?? [];
  const droppedAtMs = (node: string): number => {
    let when = 0;
    for (const entry of history) if (entry.node === node && entry.droppedAtMs > when) when = entry.droppedAtMs;
    return when;
  };

  const emergency =
    replicaCountOf(config) < options.mutation2pcMinReplicaCount ||
    mostRecent === undefined ||
    nowMs - droppedAtMs(mostRecent) > options.replicaAssignDelayMsForDropouts ||
    (state.blackList?.has(mostRecent) ?? false);

  let chosen: string | undefined;
  if (emergency) {
    // A member that left recently still has most of the data: cheapest to bring back.
    for (let index = drops.length - 1; index >= 0 && chosen === undefined; index--) {
      const node = drops[index]!;
      if (usable(node) && underFlowLimit(node)) chosen = node;
    }
    chosen ??= chooseSecondaryNode(candidateNodes(state).filter((node) => usable(node) && underFlowLimit(node)), appId, tally);
  } else if (usable(mostRecent!) && underFlowLimit(mostRecent!)) {
    chosen = mostRecent;
  }
  if (chosen === undefined) return;
  if (propose(round, config, 'CT_ADD_SECONDARY', config.primary, chosen)) {
    tally.addReplica(appId, chosen);
    round.newSecondaries.set(chosen, (round.newSecondaries.get(chosen) ?? 0) + 1);
  }
}
