// The balancer's queue (spec pegasus-arch §2.9; Pegasus's lb_actions): the balancer stage of a
// sweep plans with balancer.ts, queues each operation's steps on its partition, and the guardian
// proposes a partition's next step instead of curing it. A change that lands completes the step
// it matches; any other change, a dead node or a new layout makes the rest of the steps stale,
// and they are dropped.
import { log } from '../base/index.ts';
import { gpidText, levelAtMost, membersOf, parseGpid, replicaCountOf, type ConfigType, type FunctionLevel, type Gpid } from '../cluster/model.ts';
import {
  BALANCE_COUNT_NOT_COLLECTED, balancerStepIsValid, countBalanceOperations, planBalance,
  type BalanceOperation, type BalanceOperationCount, type BalancerOptions, type BalancerStep,
} from './balancer.ts';
import { GREEDY_OPERATION_METRICS, greedyRecentBalanceOperationsMetric } from './metrics.ts';
import type { MetaTables } from './tables.ts';

/** What the balancer queue needs from the rest of the meta. */
export interface BalancerQueueContext {
  readonly tables: MetaTables;
  aliveNodes(): Set<string>;
  allReplicasCollected(): boolean;
  effectiveFunctionLevel(): FunctionLevel;
  /** Read on each round. */
  balancerOptions(): BalancerOptions;
}

/** Each method that changes the queue assumes its caller holds the serial queue. */
export class BalancerQueue {
  /** The remaining steps of the operation under way, next first, per gpid text. */
  private readonly steps = new Map<string, BalancerStep[]>();
  /** The counts of the balancer's last round; undefined until a round reached the balancer. */
  private lastBalanceCount: BalanceOperationCount | undefined;
  private ignoredAppIds: ReadonlySet<number> = new Set();
  private readonly tables: MetaTables;

  constructor(private readonly context: BalancerQueueContext) {
    this.tables = context.tables;
  }

  /**
   * The balancer stage of a sweep. At steady it only counts what it would do; at lively it
   * queues the operations' steps on their partitions and returns those partitions, for the
   * guardian to propose the first steps. The counts stay as they were when the stage does not
   * run (a partition unhealthy or an operation still under way).
   */
  round(): Gpid[] {
    const level = this.context.effectiveFunctionLevel();
    if (levelAtMost(level, 'fl_freezed') || !this.mayRun()) return [];
    if (!this.context.allReplicasCollected()) {
      this.report([], true, false);
      return [];
    }
    const input = {
      apps: this.tables.appsById,
      partitions: this.tables.partitions,
      aliveNodes: this.context.aliveNodes(),
      options: { ...this.context.balancerOptions(), ignoredAppIds: this.ignoredAppIds },
    };
    if (level === 'fl_lively') {
      const operations = planBalance({ ...input, checker: false });
      if (operations.length > 0) {
        for (const operation of operations) this.steps.set(gpidText(operation.gpid), operation.steps.map((step) => ({ ...step })));
        this.report(operations, false);
        log.info(countBalanceOperations(operations), 'balancer round: operations queued');
        return operations.map((operation) => operation.gpid);
      }
    }
    this.report(planBalance({ ...input, checker: true }), true);
    return [];
  }

  /** The next step of every operation under way, per gpid text (what the guardian proposes). */
  nextSteps(): Map<string, BalancerStep> {
    const next = new Map<string, BalancerStep>();
    for (const [key, steps] of this.steps) next.set(key, steps[0]!);
    return next;
  }

  /** Queues an operator's proposal (balancer-proposals.ts) like a planned operation; false when one is under way. */
  queue(gpid: Gpid, steps: readonly BalancerStep[]): boolean {
    const key = gpidText(gpid);
    if (this.steps.has(key) || steps.length === 0) return false;
    this.steps.set(key, steps.map((step) => ({ ...step })));
    return true;
  }

  /** A change landed: it completes the queued step it matches; any other change makes the rest stale. */
  onChangeApplied(gpid: Gpid, type: ConfigType, node: string): void {
    const key = gpidText(gpid);
    const steps = this.steps.get(key);
    if (!steps) return;
    const next = steps[0]!;
    if (next.type === type && next.node === node) {
      steps.shift();
      if (steps.length === 0) this.steps.delete(key);
      return;
    }
    this.abandon(gpid, `${type} of ${node} came in while ${next.type} of ${node === next.node ? 'it' : next.node} was due`);
  }

  abandon(gpid: Gpid, reason: string): void {
    const key = gpidText(gpid);
    const steps = this.steps.get(key);
    if (!steps) return;
    log.info({ gpid: key, steps: steps.length, reason }, 'balance operation abandoned');
    this.steps.delete(key);
  }

  abandonAll(reason: string): void {
    for (const key of [...this.steps.keys()]) this.abandon(parseGpid(key)!, reason);
  }

  /** Drops the queued steps that no longer fit their partition (a node died, the layout changed). */
  prune(): void {
    if (this.steps.size === 0) return;
    const alive = this.context.aliveNodes();
    for (const [key, steps] of [...this.steps]) {
      const gpid = parseGpid(key)!;
      const config = this.tables.partitions.get(gpid.appId)?.[gpid.partitionIndex];
      const available = this.tables.appsById.get(gpid.appId)?.status === 'AS_AVAILABLE';
      if (!config || !available || !balancerStepIsValid(config, steps[0]!, alive)) {
        this.abandon(gpid, 'the next step no longer fits the partition');
      }
    }
  }

  /** The steps of the balance operations under way, per gpid text (for tests and diagnostics). */
  stepsUnderWay(): Map<string, BalancerStep[]> {
    const copy = new Map<string, BalancerStep[]>();
    for (const [key, steps] of this.steps) copy.set(key, steps.map((step) => ({ ...step })));
    return copy;
  }

  /** `meta.lb.ignored_app_list`: tables the balancer leaves alone. */
  setIgnoredApps(appIds: Iterable<number>): void {
    this.ignoredAppIds = new Set(appIds);
  }
  ignoredApps(): number[] {
    return [...this.ignoredAppIds].sort((a, b) => a - b);
  }

  /**
   * balance_operation_count of /meta/cluster: the counts of the balancer's last round (total -1
   * when it had not heard every alive node's replicas); before the first round all zero, with
   * total -1 until every alive node reported.
   */
  balanceOperationCount(): BalanceOperationCount {
    if (this.lastBalanceCount) return { ...this.lastBalanceCount };
    return { move_pri: 0, copy_pri: 0, copy_sec: 0, total: this.context.allReplicasCollected() ? 0 : -1 };
  }

  /**
   * Every partition of every available table healthy, with no write or balance operation under
   * way, every member alive (so no dead node still holds replicas), and no table being created,
   * dropped or recalled.
   */
  private mayRun(): boolean {
    if (this.steps.size > 0) return false;
    const alive = this.context.aliveNodes();
    for (const [appId, app] of this.tables.appsById) {
      if (app.status === 'AS_CREATING' || app.status === 'AS_DROPPING' || app.status === 'AS_RECALLING') return false;
      if (app.status !== 'AS_AVAILABLE') continue;
      for (const config of this.tables.partitions.get(appId) ?? []) {
        if (this.tables.context(config.gpid).pending) return false;
        if (config.primary === '' || replicaCountOf(config) !== config.maxReplicaCount) return false;
        if (!membersOf(config).every((node) => alive.has(node))) return false;
      }
    }
    return true;
  }

  /** Remembers a round's counts and updates the partitions' balancer metrics (counters only for operations carried out). */
  private report(operations: readonly BalanceOperation[], checker: boolean, collected = true): void {
    this.lastBalanceCount = collected ? countBalanceOperations(operations) : { ...BALANCE_COUNT_NOT_COLLECTED };
    const inPlan = new Set(operations.map((operation) => gpidText(operation.gpid)));
    for (const [appId, app] of this.tables.appsById) {
      if (app.status !== 'AS_AVAILABLE') continue;
      for (const config of this.tables.partitions.get(appId) ?? []) {
        this.tables.context(config.gpid).metrics.gauge(greedyRecentBalanceOperationsMetric).set(inPlan.has(gpidText(config.gpid)) ? 1 : 0);
      }
    }
    if (checker) return;
    for (const operation of operations) {
      this.tables.context(operation.gpid).metrics.counter(GREEDY_OPERATION_METRICS[operation.type]).increment();
    }
  }
}
