// A table's replica count (Pegasus's server_state::get_max_replica_count and
// set_max_replica_count): a change is made in three writes, each to the store first:
//   1. the table's env `max_replica_count.update` = `updating;<new count>` (marks it under way),
//   2. every partition configuration with the new max_replica_count at the next ballot,
//   3. the table's max_replica_count, with the env removed.
// The guardian then adds secondaries (they learn from the primary) to a partition that has fewer
// members than its configuration's count, and removes extra secondaries from one that has more.
// A meta that stops between the writes (a failover) finishes the change when it loads the state.
import { log, type ErrorName } from '../base/index.ts';
import { appInfoToJson, cloneAppInfo, levelAtMost, type AppInfo, type FunctionLevel, type Gpid, type PartitionConfiguration } from '../cluster/model.ts';
import { maxAllowedReplicaCount, minAllowedReplicaCount } from './flags.ts';
import type { MetaStateStore } from './state-store.ts';
import type { MetaTables } from './tables.ts';

/** The env that marks a change under way (Pegasus's replica_envs::UPDATE_MAX_REPLICA_COUNT). */
export const UPDATE_MAX_REPLICA_COUNT_ENV = 'max_replica_count.update';

export interface GetMaxReplicaCountResult {
  err: ErrorName;
  hintMessage: string;
  /** 0 on error. */
  maxReplicaCount: number;
}

export interface SetMaxReplicaCountResult {
  err: ErrorName;
  hintMessage: string;
  /** The count before the call; 0 when the table is unknown or inconsistent. */
  oldMaxReplicaCount: number;
}

/** What replica-count changes need from the rest of the meta. */
export interface ReplicaCountContext {
  readonly tables: MetaTables;
  readonly store: MetaStateStore;
  /** The level set by config or operator. */
  functionLevel(): FunctionLevel;
  aliveNodeCount(): number;
  /** Writes a partition's configuration at the next ballot with a new max_replica_count, then applies it. */
  writeMaxReplicaCount(current: PartitionConfiguration, maxReplicaCount: number): Promise<void>;
  /** Runs the guardian on these partitions. */
  cure(gpids: readonly Gpid[]): Promise<unknown>;
}

/** undefined when `count` is a replica count a table may be given now, otherwise why not. */
export function checkTargetReplicaCount(count: number, aliveNodeCount: number): string | undefined {
  const low = minAllowedReplicaCount.value;
  const high = maxAllowedReplicaCount.value;
  if (count > high || count < low) return `requested replica count(${count}) must be within the range of [min=${low}, max=${high}]`;
  if (count > aliveNodeCount) return `there are not enough alive replica servers(${aliveNodeCount}) for the requested replica count(${count})`;
  return undefined;
}

/** The count an `updating;<count>` env value names; undefined for any other value. */
export function updatingReplicaCount(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^updating;(\d+)$/.exec(value);
  if (!match) return undefined;
  const count = Number(match[1]);
  return count > 0 ? count : undefined;
}

/** Each method that changes state assumes its caller holds the serial queue. */
export class ReplicaCountChanges {
  private readonly tables: MetaTables;

  constructor(private readonly context: ReplicaCountContext) {
    this.tables = context.tables;
  }

  /** `RPC_CM_GET_MAX_REPLICA_COUNT`. */
  get(appName: string): GetMaxReplicaCountResult {
    const app = this.tables.findApp(appName);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', hintMessage: `app(${appName}) does not exist`, maxReplicaCount: 0 };
    const inconsistency = this.inconsistency(app);
    if (inconsistency !== undefined) return { err: 'ERR_INCONSISTENT_STATE', hintMessage: inconsistency, maxReplicaCount: 0 };
    return { err: 'ERR_OK', hintMessage: '', maxReplicaCount: app.maxReplicaCount };
  }

  /** `RPC_CM_SET_MAX_REPLICA_COUNT`: checked as Pegasus checks it, then the three writes. */
  async set(appName: string, count: number): Promise<SetMaxReplicaCountResult> {
    const app = this.tables.findApp(appName);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', hintMessage: `app(${appName}) does not exist`, oldMaxReplicaCount: 0 };
    const inconsistency = this.inconsistency(app);
    if (inconsistency !== undefined) return { err: 'ERR_INCONSISTENT_STATE', hintMessage: inconsistency, oldMaxReplicaCount: 0 };
    const old = app.maxReplicaCount;
    const fail = (err: ErrorName, hintMessage: string): SetMaxReplicaCountResult => ({ err, hintMessage, oldMaxReplicaCount: old });
    if (app.status !== 'AS_AVAILABLE') return fail('ERR_INVALID_STATE', `app(${appName}) is not in available status`);
    if (levelAtMost(this.context.functionLevel(), 'fl_freezed')) {
      return fail('ERR_STATE_FREEZED', 'current meta function level is freezed, since there are too few alive nodes');
    }
    const problem = checkTargetReplicaCount(count, this.context.aliveNodeCount());
    if (problem !== undefined) return fail('ERR_INVALID_PARAMETERS', problem);
    if (count === old) return { err: 'ERR_OK', hintMessage: "no need to update max_replica_count since it's not changed", oldMaxReplicaCount: old };
    if (updatingReplicaCount(app.envs[UPDATE_MAX_REPLICA_COUNT_ENV]) !== undefined) {
      return fail('ERR_OPERATION_DISABLED', `max_replica_count of app(${appName}) is being updated, thus this request would be rejected`);
    }
    log.info({ appName, appId: app.appId, from: old, to: count }, `${count > old ? 'increasing' : 'decreasing'} max_replica_count`);
    await this.writeApp({ ...cloneAppInfo(app), envs: { ...app.envs, [UPDATE_MAX_REPLICA_COUNT_ENV]: `updating;${count}` } });
    await this.finish(app.appId, count);
    await this.context.cure(this.tables.partitions.get(app.appId)!.map((config) => config.gpid));
    return { err: 'ERR_OK', hintMessage: '', oldMaxReplicaCount: old };
  }

  /** Finishes every change a previous meta left under way (its env still says `updating`); the curing loop then acts on it. */
  async recoverUnfinished(): Promise<void> {
    for (const app of this.tables.listAllApps()) {
      if (app.status !== 'AS_AVAILABLE') continue;
      const count = updatingReplicaCount(app.envs[UPDATE_MAX_REPLICA_COUNT_ENV]);
      if (count === undefined) continue;
      log.info({ appName: app.appName, appId: app.appId, to: count }, 'finishing a max_replica_count change left under way');
      await this.finish(app.appId, count);
    }
  }

  /** Writes 2 and 3: the partitions, then the table. */
  private async finish(appId: number, count: number): Promise<void> {
    const configs = this.tables.partitions.get(appId)!;
    for (let index = 0; index < configs.length; index++) {
      const current = configs[index]!;
      if (current.maxReplicaCount !== count) await this.context.writeMaxReplicaCount(current, count);
    }
    const app = this.tables.appsById.get(appId)!;
    const envs = { ...app.envs };
    delete envs[UPDATE_MAX_REPLICA_COUNT_ENV];
    await this.writeApp({ ...cloneAppInfo(app), maxReplicaCount: count, envs });
    log.info({ appName: app.appName, appId, maxReplicaCount: count }, 'max_replica_count updated');
  }

  private async writeApp(app: AppInfo): Promise<void> {
    await this.context.store.set(this.tables.appPath(app.appId), Buffer.from(appInfoToJson(app)));
    this.tables.appsById.set(app.appId, app);
  }

  /** Why the table's count and its partitions' counts disagree; undefined when they agree. */
  private inconsistency(app: AppInfo): string | undefined {
    for (const config of this.tables.partitions.get(app.appId) ?? []) {
      if (config.maxReplicaCount !== app.maxReplicaCount) {
        return `partition_max_replica_count(${config.maxReplicaCount}) != app_max_replica_count(${app.maxReplicaCount}) for partition ${app.appId}.${config.gpid.partitionIndex}`;
      }
    }
    return undefined;
  }
}
