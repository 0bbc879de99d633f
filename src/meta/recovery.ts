// Rebuilding a lost meta state from the replica servers: Pegasus's recovery mode. A meta started
// with `[meta_server] recover_from_replica_server = true` and an empty state store waits (it
// serves nothing, and creates no default table) until an operator's `recover` sends
// RPC_CM_START_RECOVERY with the replica servers to ask. Each is asked for the tables and the
// replicas it holds (RPC_QUERY_APP_INFO, RPC_QUERY_REPLICA_INFO); `planRecovery` turns the
// answers into tables and partition configurations, which are written to the store; the meta
// then loads them and starts as usual.
//
// Where Pegasus makes the newest collected replica the primary at once, a recovered partition
// here starts with no member and the collected replicas as its last drops, oldest first: the
// guardian's rule for a partition whose members all died then picks the primary once those
// replica servers have reported their replicas, the same rule a restart of every replica server
// relies on, and adds secondaries after it.
import { PteronError, type ErrorName } from '../base/index.ts';
import {
  appInfoToJson, gpidText, newPartitionConfiguration, PARTITION_FLAG_DROPPED, partitionConfigurationToJson,
  type AppInfo, type PartitionConfiguration,
} from '../cluster/index.ts';
import { defineFlag } from '../config/index.ts';
import { ensurePath, type MetaStateStore, type StoreOp } from './state-store.ts';
import { MetaTables } from './tables.ts';

export const recoverFromReplicaServer = defineFlag({
  section: 'meta_server',
  name: 'recover_from_replica_server',
  type: 'FV_BOOL',
  default: false,
  description: 'Whether to recover the meta state from the replica servers (with the `recover` command) when the state store is empty',
});

/** One replica a replica server holds, as RPC_QUERY_REPLICA_INFO reports it. */
export interface HeldReplica {
  appId: number;
  partitionIndex: number;
  ballot: number;
  lastCommittedDecree: number;
  lastPreparedDecree: number;
}

/** What one replica server answered. */
export interface NodeHoldings {
  node: string;
  apps: AppInfo[];
  replicas: HeldReplica[];
}

export interface RecoveryOptions {
  /** Go on without the nodes that did not answer. */
  skipBadNodes: boolean;
  /** Recover a partition no node holds as an empty one. */
  skipLostPartitions: boolean;
  nowSeconds: number;
}

export interface RecoveredTable {
  app: AppInfo;
  configs: PartitionConfiguration[];
}

export interface RecoveryPlan {
  err: ErrorName;
  /** Pegasus's hint_message: one WARNING or ERROR line per finding. */
  hint: string;
  tables: RecoveredTable[];
}

/** What a table that no node holds any more (an id below the highest one found) becomes. */
function dropHolder(appId: number, nowSeconds: number): AppInfo {
  return {
    status: 'AS_DROPPED', appType: 'pegasus', appName: `__drop_holder__${appId}`, appId, partitionCount: 1, envs: {},
    isStateful: true, maxReplicaCount: 3, expireSecond: nowSeconds, createSecond: 0, dropSecond: nowSeconds, duplicating: false,
    initPartitionCount: 1, isBulkLoading: false, atomicIdempotent: false,
  };
}

function sameShape(a: AppInfo, b: AppInfo): boolean {
  return a.appName === b.appName && a.appType === b.appType && a.partitionCount === b.partitionCount && a.isStateful === b.isStateful;
}

/** Newest last: by ballot, then committed decree, then prepared decree. */
function olderFirst(a: HeldReplica & { node: string }, b: HeldReplica & { node: string }): number {
  return a.ballot - b.ballot || a.lastCommittedDecree - b.lastCommittedDecree || a.lastPreparedDecree - b.lastPreparedDecree;
}

/**
 * The tables and partitions the answers of `holdings` describe, or the error Pegasus answers:
 * ERR_TRY_AGAIN when a node failed (without skipBadNodes) or a partition has no replica anywhere
 * (without skipLostPartitions), ERR_INCONSISTENT_STATE when two nodes disagree about a table.
 */
export function planRecovery(holdings: readonly NodeHoldings[], failures: ReadonlyArray<{ node: string; err: string }>, options: RecoveryOptions): RecoveryPlan {
  let hint = '';
  for (const failure of failures) {
    hint += options.skipBadNodes
      ? `WARNING: collect app and replica info from node(${failure.node}) failed with err(${failure.err}), skip the bad node`
      : `ERROR: collect app and replica info from node(${failure.node}) failed with err(${failure.err}), you can skip it by set skip_bad_nodes option`;
  }
  if (failures.length > 0 && !options.skipBadNodes) return { err: 'ERR_TRY_AGAIN', hint, tables: [] };

  const apps = new Map<number, AppInfo>();
  for (const { node, apps: held } of holdings) {
    for (const info of held) {
      if (!(info.appId > 0)) return { err: 'ERR_INCONSISTENT_STATE', hint: `${hint}ERROR: invalid app id ${info.appId} from (${node})\n`, tables: [] };
      const known = apps.get(info.appId);
      if (!known) {
        apps.set(info.appId, { ...info, envs: { ...info.envs } });
      } else if (!sameShape(known, info)) {
        return {
          err: 'ERR_INCONSISTENT_STATE',
          hint: `${hint}ERROR: conflict app info from (${node}) for id(${info.appId}): ${info.appName} with ${info.partitionCount} partitions, known as ${known.appName} with ${known.partitionCount}\n`,
          tables: [],
        };
      }
    }
  }
  const maxAppId = Math.max(0, ...apps.keys());
  for (let appId = 1; appId <= maxAppId; appId++) {
    const app = apps.get(appId);
    if (!app) apps.set(appId, dropHolder(appId, options.nowSeconds));
    else if (app.status !== 'AS_AVAILABLE') apps.set(appId, { ...app, status: 'AS_DROPPED', dropSecond: app.dropSecond || options.nowSeconds });
  }

  // Two tables with one name: the higher id keeps it, as in Pegasus.
  const taken = new Set<string>();
  for (let appId = maxAppId; appId >= 1; appId--) {
    const app = apps.get(appId)!;
    const oldName = app.appName;
    while (taken.has(app.appName)) app.appName = `${app.appName}__${appId}`;
    if (app.appName !== oldName) hint += `WARNING: app(${appId})'s old name(${oldName}) is conflict with others, rename it to (${app.appName})\n`;
    taken.add(app.appName);
  }

  const collected = new Map<string, Array<HeldReplica & { node: string }>>();
  for (const { node, replicas } of holdings) {
    for (const replica of replicas) {
      const key = gpidText({ appId: replica.appId, partitionIndex: replica.partitionIndex });
      let list = collected.get(key);
      if (!list) collected.set(key, (list = []));
      list.push({ ...replica, node });
    }
  }

  let lost = 0;
  const tables: RecoveredTable[] = [];
  for (let appId = 1; appId <= maxAppId; appId++) {
    const app = apps.get(appId)!;
    const configs: PartitionConfiguration[] = [];
    for (let index = 0; index < app.partitionCount; index++) {
      const config = newPartitionConfiguration(appId, index, app.maxReplicaCount);
      configs.push(config);
      if (app.status === 'AS_DROPPED') {
        config.partitionFlags |= PARTITION_FLAG_DROPPED;
        continue;
      }
      const replicas = (collected.get(gpidText(config.gpid)) ?? []).sort(olderFirst);
      if (replicas.length === 0) {
        lost += 1;
        hint += options.skipLostPartitions
          ? `WARNING: partition(${appId}.${index}) has no replica collected, force recover the lost partition to empty\n`
          : `ERROR: partition(${appId}.${index}) has no replica collected, you can force recover it by set skip_lost_partitions option\n`;
        continue;
      }
      config.lastDrops = replicas.slice(-app.maxReplicaCount).map((replica) => replica.node);
      config.ballot = Math.max(...replicas.map((replica) => replica.ballot));
      config.lastCommittedDecree = Math.max(...replicas.map((replica) => replica.lastCommittedDecree));
      if (replicas.length < app.maxReplicaCount) {
        hint += `WARNING: partition(${appId}.${index}) only collects ${replicas.length}/${app.maxReplicaCount} of replicas, may lost data\n`;
      }
    }
    tables.push({ app, configs });
  }
  if (lost > 0 && !options.skipLostPartitions) return { err: 'ERR_TRY_AGAIN', hint, tables: [] };
  return { err: 'ERR_OK', hint, tables };
}

/** Whether the store under `root` holds tables (a recovery would overwrite them). */
export async function storeHoldsTables(store: MetaStateStore, root: string): Promise<boolean> {
  const tables = new MetaTables(root, Date.now);
  const marker = await store.get(tables.appsPath);
  return marker !== undefined && marker.toString() !== 'lock';
}

/** Writes the recovered tables in the layout the meta loads (load.ts), in one batch. */
export async function writeRecoveredTables(store: MetaStateStore, root: string, recovered: readonly RecoveredTable[]): Promise<void> {
  if (await storeHoldsTables(store, root)) {
    throw new PteronError('ERR_SERVICE_ALREADY_RUNNING', 'the meta state store already holds tables');
  }
  const tables = new MetaTables(root, Date.now);
  await ensurePath(store, root);
  // A first start that died while writing the default tables left a 'lock' marker.
  if (await store.exists(tables.appsPath)) await store.delete(tables.appsPath, true);
  const ops: StoreOp[] = [{ op: 'create', path: tables.appsPath, data: Buffer.from('unlock') }];
  for (const { app, configs } of recovered) {
    ops.push({ op: 'create', path: tables.appPath(app.appId), data: Buffer.from(appInfoToJson(app)) });
    for (const config of configs) ops.push({ op: 'create', path: tables.partitionPath(config.gpid), data: Buffer.from(partitionConfigurationToJson(config)) });
  }
  await store.multi(ops);
}
