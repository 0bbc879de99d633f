// The meta state at start-up: the default tables a cluster starts with (from the config, or
// `temp` for onebox), written on its first start, and the tables read back from the store.
import { log } from '../base/index.ts';
import {
  APP_TYPE_PEGASUS, appInfoFromJson, gpidText, newPartitionConfiguration, partitionConfigurationFromJson,
  partitionConfigurationToJson, PARTITION_FLAG_DROPPED, type AppInfo, type PartitionConfiguration,
} from '../cluster/model.ts';
import type { LoadedConfig } from '../config/index.ts';
import { parseEnvList, validateCreateAppEnvs } from './app-envs.ts';
import { loadSplitState, unregisteredChild } from './partition-split.ts';
import { ensurePath, joinPath, type MetaStateStore, type StoreOp } from './state-store.ts';
import { checkTableShape, createAppOps, newAppInfo } from './table-ddl.ts';
import type { MetaTables } from './tables.ts';

const stateLog = log.child({ component: 'meta state' });

export interface DefaultAppSpec {
  appName: string;
  appType: string;
  partitionCount: number;
  maxReplicaCount: number;
  isStateful: boolean;
  envs: Record<string, string>;
}

/** The table `pteron onebox` starts with when the config names none: `temp`, 8 partitions × 3. */
export const ONEBOX_DEFAULT_APPS: readonly DefaultAppSpec[] = [
  { appName: 'temp', appType: APP_TYPE_PEGASUS, partitionCount: 8, maxReplicaCount: 3, isStateful: true, envs: {} },
];

function parseIntegerKey(section: string, key: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\s*\d+\s*$/.test(text)) throw new Error(`[${section}] ${key} = "${text}" is not a non-negative integer`);
  return Number(text);
}

/** The `[meta_server.apps.<name>]` sections: keys app_name, app_type, partition_count, max_replica_count, stateful, envs. */
export function defaultAppsFromConfig(config: LoadedConfig): DefaultAppSpec[] {
  const prefix = 'meta_server.apps.';
  return config.sectionsWithPrefix(prefix).map((section) => {
    const entries = config.section(section);
    const stateful = entries.get('stateful');
    if (stateful !== undefined && !/^(true|false)$/i.test(stateful)) throw new Error(`[${section}] stateful = "${stateful}" is not true or false`);
    let envs: Record<string, string>;
    try {
      envs = parseEnvList(entries.get('envs') ?? '');
    } catch (error) {
      throw new Error(`[${section}] envs: ${(error as Error).message}`);
    }
    return {
      appName: entries.get('app_name') ?? section.slice(prefix.length),
      appType: entries.get('app_type') ?? APP_TYPE_PEGASUS,
      partitionCount: parseIntegerKey(section, 'partition_count', entries.get('partition_count'), 1),
      maxReplicaCount: parseIntegerKey(section, 'max_replica_count', entries.get('max_replica_count'), 3),
      isStateful: stateful === undefined ? true : stateful.toLowerCase() === 'true',
      envs,
    };
  });
}

/** What loading needs: the (empty) tables to fill and the store to read them from. */
export interface LoadContext {
  readonly tables: MetaTables;
  readonly store: MetaStateStore;
  nowSeconds(): number;
}

/**
 * Reads the tables back from the store, writing the default tables first on a cluster's first
 * start (or after a start that died while writing them), and the partition nodes a store could
 * not write in one batch.
 */
export async function loadTables(context: LoadContext, defaultApps: readonly DefaultAppSpec[]): Promise<void> {
  const { tables, store } = context;
  await ensurePath(store, tables.root);
  const marker = await store.get(tables.appsPath);
  if (marker === undefined || marker.toString() === 'lock') {
    // First start (or a start that died while writing the default tables): write them all.
    if (marker !== undefined) await store.delete(tables.appsPath, true);
    await createDefaultApps(context, defaultApps);
  }
  const repairs: StoreOp[] = [];
  for (const name of await store.children(tables.appsPath)) {
    if (!/^\d+$/.test(name)) {
      stateLog.warn({ path: joinPath(tables.appsPath, name) }, 'ignoring a node that is not a table id');
      continue;
    }
    const appId = Number(name);
    const data = await store.get(tables.appPath(appId));
    let app: AppInfo;
    try {
      app = appInfoFromJson(data?.toString('utf8') ?? '');
    } catch (error) {
      throw new Error(`meta state: ${tables.appPath(appId)} is not a valid app_info: ${(error as Error).message}`);
    }
    if (app.appId !== appId) throw new Error(`meta state: ${tables.appPath(appId)} holds app_id ${app.appId}`);
    if (app.status !== 'AS_AVAILABLE' && app.status !== 'AS_DROPPED') {
      throw new Error(`meta state: ${tables.appPath(appId)} has status ${app.status}; only AS_AVAILABLE and AS_DROPPED are stored`);
    }
    const split = app.status === 'AS_AVAILABLE' ? await loadSplitState(tables, store, appId) : undefined;
    if (split) tables.splits.set(appId, split);
    const configs: PartitionConfiguration[] = [];
    for (let index = 0; index < app.partitionCount; index++) {
      const gpid = { appId, partitionIndex: index };
      const partitionData = await store.get(tables.partitionPath(gpid));
      let config: PartitionConfiguration;
      if (partitionData === undefined && split && index >= app.partitionCount / 2) {
        // A split child whose parent has not registered it yet.
        config = unregisteredChild(appId, index, app.maxReplicaCount);
      } else if (partitionData === undefined) {
        // Only possible with a store that could not write the table in one batch.
        config = newPartitionConfiguration(appId, index, app.maxReplicaCount);
        if (app.status === 'AS_DROPPED') config.partitionFlags |= PARTITION_FLAG_DROPPED;
        repairs.push({ op: 'create', path: tables.partitionPath(gpid), data: Buffer.from(partitionConfigurationToJson(config)) });
      } else {
        try {
          config = partitionConfigurationFromJson(partitionData.toString('utf8'));
        } catch (error) {
          throw new Error(`meta state: ${tables.partitionPath(gpid)} is not a valid partition_configuration: ${(error as Error).message}`);
        }
        if (config.gpid.appId !== appId || config.gpid.partitionIndex !== index) {
          throw new Error(`meta state: ${tables.partitionPath(gpid)} holds pid ${gpidText(config.gpid)}`);
        }
      }
      configs.push(config);
    }
    tables.installApp(app, configs);
  }
  if (repairs.length > 0) {
    stateLog.warn({ partitions: repairs.length }, 'writing missing partition nodes');
    await store.multi(repairs);
  }
}

async function createDefaultApps(context: LoadContext, specs: readonly DefaultAppSpec[]): Promise<void> {
  const { tables, store } = context;
  const ops: StoreOp[] = [{ op: 'create', path: tables.appsPath, data: Buffer.from('unlock') }];
  const names = new Set<string>();
  let appId = 0;
  for (const spec of specs) {
    const problem = checkTableShape(spec.appName, spec.partitionCount, spec.maxReplicaCount) ?? validateCreateAppEnvs(spec.envs);
    if (problem !== undefined) throw new Error(`default table "${spec.appName}": ${problem}`);
    if (names.has(spec.appName)) throw new Error(`default table "${spec.appName}" is configured twice`);
    names.add(spec.appName);
    appId++;
    const app = newAppInfo(
      appId, spec.appName, spec.appType, spec.partitionCount, spec.maxReplicaCount, spec.isStateful, spec.envs, false, context.nowSeconds(),
    );
    ops.push(...createAppOps(tables, app));
  }
  await store.multi(ops);
  if (specs.length > 0) stateLog.info({ tables: specs.map((spec) => spec.appName) }, 'created the default tables');
}
