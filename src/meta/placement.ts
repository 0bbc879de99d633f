// Where replicas go: the node choices the guardian makes when it assigns a primary, promotes a
// secondary, adds a secondary or removes an extra one (spec pegasus-arch §2.5). Choices are
// balanced by replica counts (per table first, then overall) and ties break by address, so
// the same inputs always give the same placement.
import { assert } from '../base/index.ts';
import { compareHostPort, type PartitionConfiguration } from '../cluster/model.ts';

interface Counts {
  primaries: number;
  partitions: number;
}

/**
 * Replica counts per node, per table and overall. The guardian starts one from the current
 * configurations and records each proposal it makes, so several partitions cured in one round
 * spread out instead of all landing on the node that was least loaded at the start.
 */
export class LoadTally {
  private readonly perApp = new Map<number, Map<string, Counts>>();
  private readonly overall = new Map<string, Counts>();

  constructor(configs: Iterable<PartitionConfiguration> = []) {
    for (const config of configs) {
      if (config.primary !== '') this.addPrimary(config.gpid.appId, config.primary, true);
      for (const secondary of config.secondaries) this.addReplica(config.gpid.appId, secondary);
    }
  }

  private counts(map: Map<string, Counts>, node: string): Counts {
    let counts = map.get(node);
    if (!counts) map.set(node, (counts = { primaries: 0, partitions: 0 }));
    return counts;
  }

  private appMap(appId: number): Map<string, Counts> {
    let map = this.perApp.get(appId);
    if (!map) this.perApp.set(appId, (map = new Map()));
    return map;
  }

  /** `node` becomes a primary; `newReplica` when it did not hold a replica of the partition before. */
  addPrimary(appId: number, node: string, newReplica: boolean): void {
    for (const counts of [this.counts(this.appMap(appId), node), this.counts(this.overall, node)]) {
      counts.primaries++;
      if (newReplica) counts.partitions++;
    }
  }

  addReplica(appId: number, node: string): void {
    this.counts(this.appMap(appId), node).partitions++;
    this.counts(this.overall, node).partitions++;
  }

  removeReplica(appId: number, node: string, wasPrimary: boolean): void {
    for (const counts of [this.counts(this.appMap(appId), node), this.counts(this.overall, node)]) {
      counts.partitions = Math.max(0, counts.partitions - 1);
      if (wasPrimary) counts.primaries = Math.max(0, counts.primaries - 1);
    }
  }

  appPrimaries(appId: number, node: string): number {
    return this.perApp.get(appId)?.get(node)?.primaries ?? 0;
  }
  appPartitions(appId: number, node: string): number {
    return this.perApp.get(appId)?.get(node)?.partitions ?? 0;
  }
  totalPrimaries(node: string): number {
    return this.overall.get(node)?.primaries ?? 0;
  }
  totalPartitions(node: string): number {
    return this.overall.get(node)?.partitions ?? 0;
  }
}

/** Picks the candidate whose key list is smallest (lexicographically), ties by address. */
function pickMinimum(candidates: readonly string[], key: (node: string) => number[]): string | undefined {
  let best: string | undefined;
  let bestKey: number[] = [];
  for (const node of candidates) {
    const nodeKey = key(node);
    if (best === undefined || compareKeys(nodeKey, bestKey) < 0 || (compareKeys(nodeKey, bestKey) === 0 && compareHostPort(node, best) < 0)) {
      best = node;
      bestKey = nodeKey;
    }
  }
  return best;
}

function compareKeys(a: number[], b: number[]): number {
  assert(a.length === b.length, 'placement keys of different lengths');
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return a[index]! - b[index]!;
  return 0;
}

/** A brand-new partition's primary: fewest primaries of the table, then fewest replicas of it, then fewest primaries overall. */
export function choosePrimaryNode(candidates: readonly string[], appId: number, tally: LoadTally): string | undefined {
  return pickMinimum(candidates, (node) => [
    tally.appPrimaries(appId, node),
    tally.appPartitions(appId, node),
    tally.totalPrimaries(node),
    tally.totalPartitions(node),
  ]);
}

/** Which secondary to promote when the primary is gone: the one with the fewest primaries. */
export function chooseSecondaryToPromote(secondaries: readonly string[], appId: number, tally: LoadTally): string | undefined {
  return pickMinimum(secondaries, (node) => [tally.appPrimaries(appId, node), tally.totalPrimaries(node)]);
}

/** A new secondary: fewest replicas of the table, then fewest replicas overall. */
export function chooseSecondaryNode(candidates: readonly string[], appId: number, tally: LoadTally): string | undefined {
  return pickMinimum(candidates, (node) => [tally.appPartitions(appId, node), tally.totalPartitions(node)]);
}

/** The secondary to remove when a partition has too many members: the one on the most loaded node. */
export function chooseSecondaryToRemove(secondaries: readonly string[], appId: number, tally: LoadTally): string | undefined {
  return pickMinimum(secondaries, (node) => [-tally.totalPartitions(node), -tally.appPartitions(appId, node)]);
}

export interface PlannedPartition {
  primary: string;
  secondaries: string[];
}

/**
 * The layout the guardian converges to for a new table on `nodes` (it assigns one primary per
 * partition, then adds secondaries one at a time), computed in one go: for tests, dry runs and
 * the shell. `tally` is updated with the planned replicas.
 */
export function planPlacement(
  appId: number,
  partitionCount: number,
  replicaCount: number,
  nodes: readonly string[],
  tally: LoadTally = new LoadTally(),
): PlannedPartition[] {
  const plan: PlannedPartition[] = [];
  for (let index = 0; index < partitionCount; index++) {
    const primary = choosePrimaryNode(nodes, appId, tally);
    if (primary === undefined) return plan;
    tally.addPrimary(appId, primary, true);
    plan.push({ primary, secondaries: [] });
  }
  for (let round = 1; round < replicaCount; round++) {
    for (const partition of plan) {
      const candidates = nodes.filter((node) => node !== partition.primary && !partition.secondaries.includes(node));
      const secondary = chooseSecondaryNode(candidates, appId, tally);
      if (secondary === undefined) continue;
      tally.addReplica(appId, secondary);
      partition.secondaries.push(secondary);
    }
  }
  return plan;
}
