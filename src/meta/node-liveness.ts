// Replica servers' liveness and config sync (spec pegasus-arch §2.6, §2.7, §2.10): beacons into
// the failure detector, the nodes it declares dead, the level the meta really works at given
// how many nodes are alive, and each node's RPC_CM_CONFIG_SYNC: what it is a member of, which of
// its stored replicas it may delete, and what its replicas report: the members' committed
// decrees and the dropped members' replica state for the guardian's choices, the members'
// manual-compaction status for the progress manual-compaction.ts reports.
import { log, type ErrorName } from '../base/index.ts';
import {
  cloneAppInfo, clonePartitionConfiguration, gpidText, isMember, levelAtMost, membersOf,
  type AppInfo, type FunctionLevel, type NodeInfo, type PartitionConfiguration, type ReplicaInfo, type SplitStatusName,
} from '../cluster/model.ts';
import { serverEntity, type Counter } from '../metrics/index.ts';
import { MasterFailureDetector, type BeaconOutcome, type FailureDetectorOptions } from './failure-detector.ts';
import { minLiveNodeCountForUnfreeze, nodeLivePercentageThresholdForUpdate } from './flags.ts';
import { effectiveFunctionLevel } from './guardian.ts';
import { aliveReplicaServersMetric, replicaServerDisconnectionsMetric, unaliveReplicaServersMetric } from './metrics.ts';
import type { MetaTables } from './tables.ts';

export interface ConfigSyncResult {
  err: ErrorName;
  /** Every partition the meta counts the node as a member of, with its table. */
  partitions: Array<{ info: AppInfo; config: PartitionConfiguration; splitStatus?: SplitStatusName }>;
  /** The node's stored replicas it may delete (only at level lively): tables gone or dropped and expired. */
  gcReplicas: ReplicaInfo[];
}

/** A config sync reads at most this many of a node's stored replicas. */
const CONFIG_SYNC_REPLICAS_MAX = 1_000_000;

/** What node liveness needs from the rest of the meta. */
export interface NodeLivenessContext {
  readonly tables: MetaTables;
  nowMs(): number;
  nowSeconds(): number;
  /** The level set by config or operator. */
  functionLevel(): FunctionLevel;
}

/** Nothing here waits on the store: the methods are synchronous and need no place in the serial queue. */
export class NodeLiveness {
  readonly failureDetector: MasterFailureDetector;
  /** Nodes that have sent config sync since the meta started. */
  private readonly replicasCollected = new Set<string>();
  private readonly disconnections: Counter;
  private readonly tables: MetaTables;

  constructor(private readonly context: NodeLivenessContext, failureDetectorOptions: FailureDetectorOptions) {
    this.tables = context.tables;
    this.failureDetector = new MasterFailureDetector(failureDetectorOptions);
    const server = serverEntity();
    server.gauge(aliveReplicaServersMetric).sampleWith(() => this.aliveNodes().size);
    server.gauge(unaliveReplicaServersMetric).sampleWith(() => this.failureDetector.list().filter((worker) => !worker.alive).length);
    this.disconnections = server.counter(replicaServerDisconnectionsMetric);
  }

  aliveNodes(): Set<string> {
    return new Set(this.failureDetector.list().filter((worker) => worker.alive).map((worker) => worker.address));
  }

  /** Every replica server the meta knows, sorted by host then port. */
  listNodes(): NodeInfo[] {
    return this.failureDetector
      .list()
      .map((worker) => ({
        address: worker.address,
        status: worker.alive ? 'ALIVE' as const : 'UNALIVE' as const,
        lastBeaconMs: worker.lastBeaconMs,
        graceDeadlineMs: worker.alive ? worker.lastBeaconMs + this.failureDetector.options.graceMs : undefined,
      }));
  }

  /** Whether `node` has reported its replicas through config sync since the meta started (or it last restarted). */
  replicasCollectedFrom(node: string): boolean {
    return this.replicasCollected.has(node);
  }

  /** Whether every alive node has reported its replicas through config sync since the meta started. */
  allReplicasCollected(): boolean {
    for (const node of this.aliveNodes()) if (!this.replicasCollected.has(node)) return false;
    return true;
  }

  /** The level the meta works at: freezed while too few replica servers are alive (§2.6). */
  effectiveFunctionLevel(): FunctionLevel {
    const workers = this.failureDetector.list();
    const alive = workers.filter((worker) => worker.alive).length;
    return effectiveFunctionLevel(
      this.context.functionLevel(), alive, workers.length, minLiveNodeCountForUnfreeze.value, nodeLivePercentageThresholdForUpdate.value,
    );
  }

  /** Nodes named in the loaded configurations get a grace period to send their first beacon. */
  assumeMembersAlive(): void {
    const now = this.context.nowMs();
    for (const configs of this.tables.partitions.values()) {
      for (const config of configs) for (const node of membersOf(config)) this.failureDetector.assumeAlive(node, now);
    }
  }

  /** `RPC_FD_FAILURE_DETECTOR_PING` from `node`. */
  onBeacon(node: string, startTimeMs: number): BeaconOutcome {
    const outcome = this.failureDetector.onBeacon(node, this.context.nowMs(), startTimeMs);
    if (!outcome.accepted) {
      log.warn({ node, reason: outcome.reason }, 'beacon refused');
      return outcome;
    }
    if (outcome.restarted) this.replicasCollected.delete(node);
    if (outcome.becameAlive) log.info({ node }, 'replica server is alive');
    return outcome;
  }

  /** Runs the failure detector at the current time; returns the nodes that just died. */
  checkNodes(): string[] {
    return this.failureDetector.check(this.context.nowMs());
  }

  /** A node the failure detector declared dead: what it reported no longer counts. */
  onNodeDead(node: string): void {
    log.warn({ node }, 'replica server is dead');
    this.disconnections.increment();
    this.replicasCollected.delete(node);
  }

  /** `RPC_CM_CONFIG_SYNC` from a replica server. */
  onConfigSync(node: string, storedReplicas: readonly ReplicaInfo[]): ConfigSyncResult {
    const none: ConfigSyncResult = { err: 'ERR_OBJECT_NOT_FOUND', partitions: [], gcReplicas: [] };
    if (!this.failureDetector.list().some((worker) => worker.address === node)) return none;
    // A change that concerns this node is being written: its answer would be stale.
    for (const context of this.tables.contexts.values()) {
      if (context.pending && context.pendingNodes.has(node)) return { err: 'ERR_BUSY', partitions: [], gcReplicas: [] };
    }
    const partitions: ConfigSyncResult['partitions'] = [];
    for (const [appId, configs] of this.tables.partitions) {
      const app = this.tables.appsById.get(appId)!;
      if (app.status !== 'AS_AVAILABLE') continue;
      const split = this.tables.splits.get(appId);
      for (const config of configs) {
        if (!isMember(config, node)) continue;
        const splitStatus = split?.status.get(config.gpid.partitionIndex);
        partitions.push({ info: cloneAppInfo(app), config: clonePartitionConfiguration(config), ...(splitStatus && { splitStatus }) });
      }
    }
    const gcReplicas: ReplicaInfo[] = [];
    const gcAllowed = !levelAtMost(this.effectiveFunctionLevel(), 'fl_steady');
    const nowSeconds = this.context.nowSeconds();
    for (const replica of storedReplicas.slice(0, CONFIG_SYNC_REPLICAS_MAX)) {
      const app = this.tables.appsById.get(replica.gpid.appId);
      if (!app) {
        // A table this cluster never had (or its metadata is gone): nothing can use it.
        if (gcAllowed) gcReplicas.push({ ...replica, gpid: { ...replica.gpid } });
        continue;
      }
      if (app.status === 'AS_DROPPED' && app.expireSecond <= nowSeconds) {
        if (gcAllowed) gcReplicas.push({ ...replica, gpid: { ...replica.gpid } });
        continue;
      }
      const config = this.tables.partitions.get(app.appId)?.[replica.gpid.partitionIndex];
      if (!config) continue;
      if (isMember(config, node)) {
        this.tables.contexts.get(gpidText(config.gpid))?.memberReports.set(node, {
          lastCommittedDecree: replica.lastCommittedDecree,
          manualCompactStatus: replica.manualCompactStatus ?? 'IDLE',
        });
        continue;
      }
      this.tables.recordDropped(config.gpid, {
        node, droppedAtMs: 0, ballot: replica.ballot,
        lastCommittedDecree: replica.lastCommittedDecree, lastPreparedDecree: replica.lastPreparedDecree,
      });
    }
    this.replicasCollected.add(node);
    return { err: 'ERR_OK', partitions, gcReplicas };
  }
}
