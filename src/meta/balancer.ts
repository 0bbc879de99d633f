// The greedy load balancer (spec pegasus-arch §2.9, Pegasus's app_balance_policy). A pure function
// of the partition layout and the alive nodes: it returns the balance operations it would carry
// out; the server state queues their steps per partition and the guardian proposes them one at a
// time. No I/O, no clock, no randomness: the same layout always gives the same plan.
//
// Per table, in table-id order:
//   1. primaries. When some node holds more than ceil(P/N) of the table's primaries or fewer
//      than floor(P/N), look for the widest chain of hand-overs "X is primary of a partition Y
//      is secondary of" from an overloaded node to an underloaded one, and move as many
//      primaries along it as the narrowest link allows (move_pri: the primary steps down, the
//      secondary steps up; no data moves). One chain per table per round: the next round sees
//      the result and finds the next chain.
//   2. When no chain exists and copying is allowed: copy primaries from the node with the most
//      to the one with the fewest (copy_pri: the target learns the partition as an extra
//      secondary, the roles swap, the old primary leaves).
//   3. Only when no primary has to move in any table (or when only counting): copy secondaries
//      from the node with the most replicas of the table to the one with the fewest, until they
//      differ by at most one (copy_sec: add the target, remove the source).
//
// Pegasus prefers partitions on the most loaded disk of a node; replica servers here report one
// disk, so among equal candidates the lowest partition index is taken.
import { assert } from '../base/index.ts';
import {
  compareHostPort, gpidText, isMember,
  type AppInfo, type ConfigType, type Gpid, type PartitionConfiguration,
} from '../cluster/model.ts';

export type BalanceOperationType = 'move_pri' | 'copy_pri' | 'copy_sec';

/** One configuration change of an operation: proposed to `target`, about `node`. */
export interface BalancerStep {
  type: ConfigType;
  target: string;
  node: string;
}

export interface BalanceOperation {
  type: BalanceOperationType;
  gpid: Gpid;
  /** The node that gives up the primary (move_pri, copy_pri) or the replica (copy_sec). */
  from: string;
  /** The node that receives it. */
  to: string;
  /** The changes in order; each one moves the partition's ballot by one. */
  steps: BalancerStep[];
}

/** What /meta/cluster and RPC_CM_CLUSTER_INFO show as balance_operation_count. */
export interface BalanceOperationCount {
  move_pri: number;
  copy_pri: number;
  copy_sec: number;
  /** -1 while the meta has not heard the replicas of every alive node. */
  total: number;
}

export interface BalancerOptions {
  /** Stop at the first table that needs operations (one table per round). */
  balancerInTurn: boolean;
  /** Never copy secondaries: only primaries are balanced. */
  onlyPrimaryBalancer: boolean;
  /** Balance primaries by moving them only, never by copying data. */
  onlyMovePrimary: boolean;
  /** Tables left alone (`meta.lb.ignored_app_list`). */
  ignoredAppIds?: ReadonlySet<number>;
}

export interface BalancerInput {
  apps: ReadonlyMap<number, AppInfo>;
  /** Partition configurations per app id, indexed by partition index. */
  partitions: ReadonlyMap<number, readonly PartitionConfiguration[]>;
  aliveNodes: Iterable<string>;
  options: BalancerOptions;
  /**
   * Counting only (Pegasus's "checker" round, what steady reports): every table and both phases
   * are planned, ignoring balancer_in_turn and the rule that secondaries wait for primaries.
   */
  checker: boolean;
}

export const BALANCE_COUNT_NOT_COLLECTED: Readonly<BalanceOperationCount> = Object.freeze({ move_pri: 0, copy_pri: 0, copy_sec: 0, total: -1 });

export function countBalanceOperations(operations: readonly BalanceOperation[]): BalanceOperationCount {
  const count: BalanceOperationCount = { move_pri: 0, copy_pri: 0, copy_sec: 0, total: operations.length };
  for (const operation of operations) count[operation.type]++;
  return count;
}

/** The configuration changes that carry out an operation on `config`, in order. */
export function balanceSteps(type: BalanceOperationType, config: PartitionConfiguration, from: string, to: string): BalancerStep[] {
  switch (type) {
    case 'move_pri':
      return [
        { type: 'CT_DOWNGRADE_TO_SECONDARY', target: from, node: from },
        { type: 'CT_UPGRADE_TO_PRIMARY', target: to, node: to },
      ];
    case 'copy_pri':
      return [
        { type: 'CT_ADD_SECONDARY_FOR_LB', target: from, node: to },
        { type: 'CT_DOWNGRADE_TO_SECONDARY', target: from, node: from },
        { type: 'CT_UPGRADE_TO_PRIMARY', target: to, node: to },
        { type: 'CT_REMOVE', target: to, node: from },
      ];
    case 'copy_sec':
      return [
        { type: 'CT_ADD_SECONDARY_FOR_LB', target: config.primary, node: to },
        { type: 'CT_REMOVE', target: config.primary, node: from },
      ];
  }
}

/**
 * Whether a queued step still fits the partition as it is now: both nodes alive and the change
 * possible from this configuration. A step that does not fit means the plan is stale.
 */
export function balancerStepIsValid(config: PartitionConfiguration, step: BalancerStep, aliveNodes: ReadonlySet<string>): boolean {
  const { target, node } = step;
  if (target === '' || node === '' || !aliveNodes.has(target) || !aliveNodes.has(node)) return false;
  switch (step.type) {
    case 'CT_ASSIGN_PRIMARY':
      return node === target && config.primary === '' && !config.secondaries.includes(node);
    case 'CT_UPGRADE_TO_PRIMARY':
      return node === target && config.primary === '' && config.secondaries.includes(node);
    case 'CT_ADD_SECONDARY':
    case 'CT_ADD_SECONDARY_FOR_LB':
      return config.primary === target && !isMember(config, node);
    case 'CT_DOWNGRADE_TO_INACTIVE':
    case 'CT_REMOVE':
      return config.primary === target && isMember(config, node);
    case 'CT_DOWNGRADE_TO_SECONDARY':
      return node === target && config.primary === target;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// the plan

interface TableView {
  app: AppInfo;
  configs: readonly PartitionConfiguration[];
}

interface Plan {
  /** Alive nodes sorted by address; a node's number is its index here. */
  nodes: readonly string[];
  numberOf: ReadonlyMap<string, number>;
  /** By gpid text: at most one operation per partition per round. */
  operations: Map<string, BalanceOperation>;
}

/** The operations of one balancer round, ordered by table id then partition index. */
export function planBalance(input: BalancerInput): BalanceOperation[] {
  const nodes = [...new Set(input.aliveNodes)].sort(compareHostPort);
  if (nodes.length < 2) return [];
  const plan: Plan = { nodes, numberOf: new Map(nodes.map((node, index) => [node, index])), operations: new Map() };
  const tables = balanceableTables(input, plan);
  const { options, checker } = input;
  const oneTableOnly = !checker && options.balancerInTurn;

  for (const table of tables) {
    balancePrimaries(plan, table, options.onlyMovePrimary);
    if (oneTableOnly && plan.operations.size > 0) return finish(plan);
  }
  // Moving primaries changes which replicas count where: secondaries wait for the next round.
  if (!checker && plan.operations.size > 0) return finish(plan);
  if (options.onlyPrimaryBalancer) return finish(plan);
  for (const table of tables) {
    copySecondaries(plan, table);
    if (oneTableOnly && plan.operations.size > 0) break;
  }
  return finish(plan);
}

function finish(plan: Plan): BalanceOperation[] {
  return [...plan.operations.values()].sort((a, b) => a.gpid.appId - b.gpid.appId || a.gpid.partitionIndex - b.gpid.partitionIndex);
}

/**
 * Available tables, not ignored and not bulk loading, whose every partition has a primary and
 * only alive members (the caller runs the balancer on a healthy cluster; a table that is not
 * is skipped rather than planned on a layout that is about to change).
 */
function balanceableTables(input: BalancerInput, plan: Plan): TableView[] {
  const tables: TableView[] = [];
  const appIds = [...input.partitions.keys()].sort((a, b) => a - b);
  for (const appId of appIds) {
    const app = input.apps.get(appId);
    if (!app || app.status !== 'AS_AVAILABLE' || app.isBulkLoading || input.options.ignoredAppIds?.has(appId)) continue;
    const configs = input.partitions.get(appId)!;
    if (configs.length === 0) continue;
    const settled = configs.every((config) =>
      config.primary !== '' && plan.numberOf.has(config.primary) && config.secondaries.every((node) => plan.numberOf.has(node)));
    if (settled) tables.push({ app, configs });
  }
  return tables;
}

function addOperation(plan: Plan, type: BalanceOperationType, config: PartitionConfiguration, from: string, to: string): void {
  const key = gpidText(config.gpid);
  assert(!plan.operations.has(key), `balancer planned ${key} twice in one round`);
  plan.operations.set(key, { type, gpid: { ...config.gpid }, from, to, steps: balanceSteps(type, config, from, to) });
}

function planned(plan: Plan, config: PartitionConfiguration): boolean {
  return plan.operations.has(gpidText(config.gpid));
}

// ---------------------------------------------------------------------------------------------
// primaries

function balancePrimaries(plan: Plan, table: TableView, onlyMovePrimary: boolean): void {
  const nodeCount = plan.nodes.length;
  const partitionCount = table.configs.length;
  const low = Math.floor(partitionCount / nodeCount);
  const high = Math.ceil(partitionCount / nodeCount);
  const primaries = new Array<number>(nodeCount).fill(0);
  for (const config of table.configs) primaries[plan.numberOf.get(config.primary)!]!++;
  const above = primaries.filter((count) => count > high).length;
  const below = primaries.filter((count) => count < low).length;
  if (above === 0 && below === 0) return;

  const chain = widestHandOverChain(plan, table, primaries, low, below === 0);
  if (chain) {
    movePrimariesAlong(plan, table, chain);
    return;
  }
  if (!onlyMovePrimary) copyPrimaries(plan, table, primaries, below > 0, low);
}

interface HandOverChain {
  /** How many primaries move over every link. */
  flow: number;
  /** [from, to] node numbers, from the underloaded end back to the overloaded one. */
  links: Array<[number, number]>;
}

/**
 * The flow network: a source feeds every node its surplus over floor(P/N), every node drains its
 * shortfall into a sink, and X → Y carries one unit per partition X is primary of and Y
 * secondary of. When no node is short of floor(P/N), the target is ceil(P/N) instead (surplus
 * counted one lower, every other node may take one more), or a table of 8 on 3 nodes laid out
 * 4/2/2 would never move. Returns the path whose narrowest link is widest (a
 * Dijkstra-like search that always extends the node reached with the largest flow; ties go to
 * the lower node number), or undefined when no primary can reach an underloaded node.
 */
function widestHandOverChain(
  plan: Plan, table: TableView, primaries: readonly number[], low: number, noneBelowLow: boolean,
): HandOverChain | undefined {
  const nodeCount = plan.nodes.length;
  const size = nodeCount + 2;
  const source = 0;
  const sink = nodeCount + 1;
  const vertexOf = (node: number): number => node + 1;
  const capacity = new Int32Array(size * size);
  const edge = (from: number, to: number): number => from * size + to;

  for (let node = 0; node < nodeCount; node++) {
    const count = primaries[node]!;
    const vertex = vertexOf(node);
    if (count > low) capacity[edge(source, vertex)] = count - low;
    else capacity[edge(vertex, sink)] = low - count;
    if (noneBelowLow) {
      if (capacity[edge(source, vertex)]! > 0) capacity[edge(source, vertex)]!--;
      else capacity[edge(vertex, sink)]!++;
    }
  }
  for (const config of table.configs) {
    const from = vertexOf(plan.numberOf.get(config.primary)!);
    for (const secondary of config.secondaries) capacity[edge(from, vertexOf(plan.numberOf.get(secondary)!))]!++;
  }

  const flow = new Array<number>(size).fill(0);
  const previous = new Array<number>(size).fill(-1);
  const reached = new Array<boolean>(size).fill(false);
  flow[source] = Number.MAX_SAFE_INTEGER;
  while (!reached[sink]) {
    let next = -1;
    for (let vertex = 0; vertex < size; vertex++) {
      if (!reached[vertex] && flow[vertex]! > (next < 0 ? 0 : flow[next]!)) next = vertex;
    }
    if (next < 0) break;
    reached[next] = true;
    for (let vertex = 0; vertex < size; vertex++) {
      if (reached[vertex]) continue;
      const through = Math.min(flow[next]!, capacity[edge(next, vertex)]!);
      if (through > flow[vertex]!) {
        flow[vertex] = through;
        previous[vertex] = next;
      }
    }
  }
  if (!reached[sink] || flow[sink] === 0) return undefined;

  const links: Array<[number, number]> = [];
  // A node has either a source edge or a sink edge, so the chain has at least one link.
  for (let vertex = previous[sink]!; previous[vertex] !== source; vertex = previous[vertex]!) {
    assert(links.length < nodeCount, 'hand-over chain longer than the node count');
    links.push([previous[vertex]! - 1, vertex - 1]);
  }
  assert(links.length > 0, 'hand-over chain without a link');
  return { flow: flow[sink]!, links };
}

function movePrimariesAlong(plan: Plan, table: TableView, chain: HandOverChain): void {
  for (const [fromNumber, toNumber] of chain.links) {
    const from = plan.nodes[fromNumber]!;
    const to = plan.nodes[toNumber]!;
    const candidates = table.configs.filter((config) => config.primary === from && config.secondaries.includes(to) && !planned(plan, config));
    assert(candidates.length >= chain.flow, `${from} → ${to}: ${candidates.length} partitions can hand over, ${chain.flow} planned`);
    for (const config of candidates.slice(0, chain.flow)) addOperation(plan, 'move_pri', config, from, to);
  }
}

/** Orders node numbers by count, then number: the least loaded first, the most loaded last. */
function byLoad(counts: readonly number[]): (a: number, b: number) => number {
  return (a, b) => counts[a]! - counts[b]! || a - b;
}

/**
 * Copies primaries from the most to the least loaded node: until every node reaches floor(P/N)
 * when some node was below it, otherwise until the counts differ by at most one. A node whose
 * primaries cannot go to the least loaded one (all planned already, or that node is a member)
 * leaves the race.
 */
function copyPrimaries(plan: Plan, table: TableView, primaries: readonly number[], someBelowLow: boolean, low: number): void {
  const counts = [...primaries];
  const order = plan.nodes.map((_, number) => number);
  const roundsMax = table.configs.length + plan.nodes.length + 1;
  for (let round = 0; round < roundsMax && order.length >= 2; round++) {
    order.sort(byLoad(counts));
    const least = order[0]!;
    const most = order[order.length - 1]!;
    if (someBelowLow ? counts[least]! >= low : counts[most]! - counts[least]! <= 1) return;
    const from = plan.nodes[most]!;
    const to = plan.nodes[least]!;
    const chosen = table.configs.find((config) => config.primary === from && !planned(plan, config) && !isMember(config, to));
    if (!chosen) {
      order.pop();
      continue;
    }
    addOperation(plan, 'copy_pri', chosen, from, to);
    counts[most]!--;
    counts[least]!++;
  }
}

// ---------------------------------------------------------------------------------------------
// secondaries

/**
 * Copies non-primary replicas from the node with the most replicas of the table to the one with
 * the fewest, while the most loaded holds more than floor(P/N) and they differ by more than one.
 */
function copySecondaries(plan: Plan, table: TableView): void {
  const nodeCount = plan.nodes.length;
  const low = Math.floor(table.configs.length / nodeCount);
  const counts = new Array<number>(nodeCount).fill(0);
  for (const config of table.configs) {
    counts[plan.numberOf.get(config.primary)!]!++;
    for (const secondary of config.secondaries) counts[plan.numberOf.get(secondary)!]!++;
  }
  const order = plan.nodes.map((_, number) => number);
  const roundsMax = table.configs.length * nodeCount + nodeCount + 1;
  for (let round = 0; round < roundsMax && order.length >= 2; round++) {
    order.sort(byLoad(counts));
    const least = order[0]!;
    const most = order[order.length - 1]!;
    if (counts[most]! <= low || counts[most]! - counts[least]! <= 1) return;
    const from = plan.nodes[most]!;
    const to = plan.nodes[least]!;
    const chosen = table.configs.find((config) =>
      config.secondaries.includes(from) && !planned(plan, config) && !isMember(config, to));
    if (!chosen) {
      order.pop();
      continue;
    }
    addOperation(plan, 'copy_sec', chosen, from, to);
    counts[most]!--;
    counts[least]!++;
  }
}
