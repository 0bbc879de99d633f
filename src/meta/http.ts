// The meta server's admin HTTP calls: /meta/app, /meta/app/duplication, /meta/apps, /meta/nodes, /meta/cluster,
// /meta/app_envs, /meta/backup_policy, /meta/app/start_bulk_load, /meta/app/query_bulk_load, /meta/app/start_compaction, /meta/app/usage_scenario and /envs/list, with
// Pegasus's exact bodies, status codes and the backup-meta 307 redirect (spec pegasus-http
// §5.1–§5.14).
import { formatLocalTime, multiTable, PteronError, renderRowsCompactJson, renderTablesCompactJson, singleTable, type Table } from '../base/index.ts';
import { decodeJsonStruct, INVALID_REQUEST_STRUCTURE, nj, type AdminRequest, type AdminResponse, type HttpRouter } from '../net/index.ts';
import { appEnvCatalogue } from './app-envs.ts';
import { MANUAL_COMPACT_ENVS } from './manual-compaction.ts';
import { statusText } from './bulk-load/status-machine.ts';
import type { BalanceOperationCount } from './balancer.ts';
import {
  appDetailTables, appHealthTables, bulkLoadStatusOf, duplicationEnabled, duplicationQueryJson, appStatusDisplayName, compareHostPort, countPartitionHealth, functionLevelDisplayName,
  modelPartitionPlacement, modelPartitionReplicas, nodeSummaryTable, type AppInfo, type PartitionConfiguration,
} from '../cluster/index.ts';
import type { MetaServerState } from './server-state.ts';

/** Who leads the metas: this process, another one, or nobody known. */
export type LeaderInfo = { self: true } | { self: false; leader: string | undefined };

export interface MetaHttpDeps {
  state: MetaServerState;
  /** Consulted by every /meta/* call; a backup meta answers 307 to the leader. */
  leader: () => LeaderInfo;
  /** The configured meta list (`[meta_server] server_list`), as host:port. */
  metaServers: () => string[];
  /** This meta's own host:port. */
  selfAddress: () => string;
  /** The balancer's last plan; default: the state's balanceOperationCount(). */
  balanceOperationCount?: () => BalanceOperationCount;
}

const ok = (body: string): AdminResponse => ({ status: 200, body });
const badRequest = (body = ''): AdminResponse => ({ status: 400, body });

/** Header values cannot carry control characters; Pegasus strips NULs, we strip all of them. */
function headerSafe(text: string): string {
  return text.replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
}

/** The 307 a backup meta answers, or undefined on the leader. */
function redirectIfNotLeader(request: AdminRequest, deps: Pick<MetaHttpDeps, 'leader'>): AdminResponse | undefined {
  const leader = deps.leader();
  if (leader.self) return undefined;
  const host = leader.leader === undefined || leader.leader === '' ? 'invalid host_port' : leader.leader;
  let location = `http://${host}/${request.path}`;
  if (request.query.size > 0) location += `?${[...request.query].map(([key, value]) => `${key}=${value}`).join('&')}`;
  return { status: 307, body: '', location: headerSafe(location) };
}

function onlyKeys(request: AdminRequest, allowed: readonly string[]): boolean {
  for (const key of request.query.keys()) if (!allowed.includes(key)) return false;
  return true;
}

function createTime(app: AppInfo): string {
  return app.createSecond === 0 ? '-' : formatLocalTime(new Date(app.createSecond * 1000), true);
}

/** Primary and secondary counts per node over the given partitions. */
function countReplicas(configs: Iterable<PartitionConfiguration>): Map<string, { primary: number; secondary: number }> {
  const counts = new Map<string, { primary: number; secondary: number }>();
  const entry = (node: string) => {
    let value = counts.get(node);
    if (!value) counts.set(node, (value = { primary: 0, secondary: 0 }));
    return value;
  };
  for (const config of configs) {
    if (config.primary !== '') entry(config.primary).primary++;
    for (const node of config.secondaries) entry(node).secondary++;
  }
  return counts;
}

function availablePartitions(state: MetaServerState): PartitionConfiguration[] {
  return state.listApps({ status: 'AS_AVAILABLE' }).infos.flatMap((app) => state.partitionsOf(app.appId));
}

// ---------------------------------------------------------------------------------------------
// handlers (exported for tests; registerMetaHttpCalls wires them)

export function getApp(request: AdminRequest, deps: MetaHttpDeps): AdminResponse {
  if (!onlyKeys(request, ['name', 'detail'])) return badRequest();
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  const name = request.query.get('name') ?? '';
  if (name === '') return badRequest("app name shouldn't be empty");
  const detailed = request.query.has('detail');
  const result = deps.state.queryConfiguration(name);
  if (result.err === 'ERR_OBJECT_NOT_FOUND') return { status: 404, body: `table not found: "${name}"` };
  if (result.err !== 'ERR_OK') return { status: 500, body: result.err };
  const tables = appDetailTables(
    { appName: name, appId: result.appId, partitionCount: result.partitionCount },
    result.partitions.map(modelPartitionPlacement),
    detailed ? { totalRowName: 'total', unhealthyOf: 'partitions_listed' } : undefined,
  );
  return ok(renderTablesCompactJson(tables));
}

export function getApps(request: AdminRequest, deps: MetaHttpDeps): AdminResponse {
  if (!onlyKeys(request, ['detail'])) return badRequest();
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  const detailed = request.query.has('detail');
  const listed = deps.state.listApps({ status: 'AS_INVALID' });
  if (listed.err !== 'ERR_OK') return { status: 500, body: listed.err };
  const apps = listed.infos.filter((app) => app.status === 'AS_AVAILABLE').sort((a, b) => a.appId - b.appId);
  const tables: Table[] = [multiTable(
    'general_info',
    ['app_id', 'status', 'app_name', 'app_type', 'partition_count', 'replica_count', 'is_stateful', 'create_time', 'drop_time', 'drop_expire', 'envs_count'],
    apps.map((app) => [
      String(app.appId), appStatusDisplayName(app.status), app.appName, app.appType, String(app.partitionCount),
      String(app.maxReplicaCount), String(app.isStateful), createTime(app), '-', '-', String(Object.keys(app.envs).length),
    ]),
  )];
  const summary: Array<[string, string]> = [['total_app_count', String(apps.length)]];
  if (detailed && apps.length > 0) {
    const { healthyInfo, summaryRows } = appHealthTables(apps.map((app) => {
      const partitions = deps.state.partitionsOf(app.appId);
      const health = countPartitionHealth(partitions.map(modelPartitionReplicas));
      // Unlike the shell, the admin API counts the unhealthy against the partitions listed.
      return { appId: app.appId, appName: app.appName, partitionCount: app.partitionCount, health, unhealthy: partitions.length - health.fullyHealthy };
    }));
    tables.push(healthyInfo);
    summary.push(...summaryRows);
  }
  tables.push(singleTable('summary', summary));
  return ok(renderTablesCompactJson(tables));
}

export function getNodes(request: AdminRequest, deps: MetaHttpDeps): AdminResponse {
  if (!onlyKeys(request, ['detail'])) return badRequest();
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  const detailed = request.query.has('detail');
  const nodes = deps.state.listNodes().sort((a, b) => compareHostPort(a.address, b.address));
  const counts = detailed ? countReplicas(availablePartitions(deps.state)) : new Map<string, { primary: number; secondary: number }>();
  const alive = nodes.filter((node) => node.status === 'ALIVE').length;
  return ok(renderTablesCompactJson([
    multiTable(
      'details',
      detailed ? ['address', 'status', 'replica_count', 'primary_count', 'secondary_count'] : ['address', 'status'],
      nodes.map((node) => {
        if (!detailed) return [node.address, node.status];
        const { primary, secondary } = counts.get(node.address) ?? { primary: 0, secondary: 0 };
        return [node.address, node.status, String(primary + secondary), String(primary), String(secondary)];
      }),
    ),
    nodeSummaryTable(nodes.length, alive),
  ]));
}

/** sqrt(Σ(x−mean)²/d), d = n−1 for a partial sample, rounded to 2 decimals as Pegasus does. */
function roundedStddev(sample: readonly number[], partial: boolean): number {
  const mean = sample.reduce((sum, value) => sum + value, 0) / sample.length;
  const squares = sample.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  const stddev = Math.sqrt(squares / (partial ? sample.length - 1 : sample.length));
  return Math.floor((stddev + 0.005) * 100) / 100;
}

/** primary_replica_count_stddev and total_replica_count_stddev of /meta/cluster (spec §5.5). */
function replicaCountStddev(state: MetaServerState): { primary: string; total: string } {
  const counts = countReplicas(availablePartitions(state));
  const primarySample: number[] = [];
  const totalSample: number[] = [];
  let primaryPartial = false;
  let totalPartial = false;
  for (const node of state.listNodes()) {
    const { primary, secondary } = counts.get(node.address) ?? { primary: 0, secondary: 0 };
    if (node.status === 'ALIVE') {
      if (primary + secondary === 0) continue;
      primarySample.push(primary);
      totalSample.push(primary + secondary);
    } else {
      if (primary > 0) primaryPartial = true;
      if (primary + secondary > 0) totalPartial = true;
    }
  }
  if (primarySample.length <= 1 || totalSample.length <= 1) return { primary: '0.00', total: '0.00' };
  return {
    primary: roundedStddev(primarySample, primaryPartial).toFixed(2),
    total: roundedStddev(totalSample, totalPartial).toFixed(2),
  };
}

/** The cluster facts /meta/cluster and RPC_CM_CLUSTER_INFO report, in Pegasus's order. */
export function clusterInfoRows(deps: MetaHttpDeps): Array<[string, string]> {
  const state = deps.state;
  const balance = deps.balanceOperationCount?.() ?? state.balanceOperationCount();
  const stddev = replicaCountStddev(state);
  return [
    ['meta_servers', deps.metaServers().join(',')],
    ['primary_meta_server', deps.selfAddress()],
    ...state.store.describe(),
    ['meta_function_level', functionLevelDisplayName(state.effectiveFunctionLevel())],
    ['balance_operation_count', nj(balance, 2)],
    ['primary_replica_count_stddev', stddev.primary],
    ['total_replica_count_stddev', stddev.total],
  ];
}

export function getCluster(request: AdminRequest, deps: MetaHttpDeps): AdminResponse {
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  return ok(renderRowsCompactJson(clusterInfoRows(deps)));
}

export function getAppEnvs(request: AdminRequest, deps: MetaHttpDeps): AdminResponse {
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  const name = request.query.get('name') ?? '';
  if (name === '') return badRequest("app name shouldn't be empty");
  const listed = deps.state.listApps({ status: 'AS_AVAILABLE' });
  if (listed.err !== 'ERR_OK') return { status: 500, body: listed.err };
  const app = listed.infos.find((info) => info.appName === name);
  const rows: Array<[string, string]> = app
    ? Object.keys(app.envs).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((key) => [key, app.envs[key]!])
    : [];
  return ok(renderRowsCompactJson(rows));
}

export function listEnvs(): AdminResponse {
  return ok(nj(appEnvCatalogue(), 2));
}

/** A table's envs to set, or the 400 body of the first rule the request breaks. */
type EnvsFromBody = { appName: string; envs: Array<[string, string]> } | { refusal: string };

/** `manual_compaction_info`. */
const MANUAL_COMPACTION_INFO = {
  app_name: 'string', type: 'string', target_level: 'int32', bottommost_level_compaction: 'string',
  max_concurrent_running_count: 'int32', trigger_time: 'string',
} as const;

/**
 * The envs a `/meta/app/start_compaction` body asks for (spec §5.11), checked in Pegasus's order
 * with its messages (typos included). A `once` compaction is triggered now, whatever trigger_time
 * says. An integer left out counts as 0 (Pegasus reads uninitialised memory).
 */
export function startCompactionEnvs(body: Uint8Array, nowSeconds: number): EnvsFromBody {
  const info = decodeJsonStruct(body, MANUAL_COMPACTION_INFO);
  if (!info) return { refusal: INVALID_REQUEST_STRUCTURE };
  const appName = info.app_name ?? '';
  const type = info.type ?? '';
  const targetLevel = info.target_level ?? 0;
  const bottommost = info.bottommost_level_compaction ?? '';
  const maxRunningCount = info.max_concurrent_running_count ?? 0;
  const triggerTime = info.trigger_time ?? '';
  if (appName === '') return { refusal: 'app_name should not be empty' };
  if (type !== 'once' && type !== 'periodic') return { refusal: "type should ony be 'once' or 'periodic'" };
  if (targetLevel < -1) return { refusal: 'target_level should be >= -1' };
  if (bottommost !== 'skip' && bottommost !== 'force') return { refusal: "bottommost_level_compaction should ony be 'skip' or 'force'" };
  if (maxRunningCount < 0) return { refusal: 'max_running_count should be >= 0' };
  if (type === 'periodic' && triggerTime === '') return { refusal: 'trigger_time should not be empty when type is periodic' };
  const envs: Array<[string, string]> = type === 'once'
    ? [
      [MANUAL_COMPACT_ENVS.onceTargetLevel, String(targetLevel)],
      [MANUAL_COMPACT_ENVS.onceBottommost, bottommost],
      [MANUAL_COMPACT_ENVS.onceTriggerTime, String(nowSeconds)],
    ]
    : [
      [MANUAL_COMPACT_ENVS.periodicTargetLevel, String(targetLevel)],
      [MANUAL_COMPACT_ENVS.periodicBottommost, bottommost],
      [MANUAL_COMPACT_ENVS.periodicTriggerTime, triggerTime],
    ];
  if (maxRunningCount > 0) envs.push([MANUAL_COMPACT_ENVS.maxConcurrentRunningCount, String(maxRunningCount)]);
  return { appName, envs };
}

/** `usage_scenario_info`. */
const USAGE_SCENARIO_INFO = { app_name: 'string', scenario: 'string' } as const;

/** The env a `/meta/app/usage_scenario` body asks for (spec §5.12): the env also takes prefer_write, the call does not. */
export function usageScenarioEnvs(body: Uint8Array): EnvsFromBody {
  const info = decodeJsonStruct(body, USAGE_SCENARIO_INFO);
  if (!info) return { refusal: INVALID_REQUEST_STRUCTURE };
  const appName = info.app_name ?? '';
  const scenario = info.scenario ?? '';
  if (appName === '') return { refusal: 'app_name should not be empty' };
  if (scenario !== 'normal' && scenario !== 'bulk_load') return { refusal: "scenario should ony be 'normal' or 'bulk_load'" };
  return { appName, envs: [['rocksdb.usage_scenario', scenario]] };
}

/**
 * The "set app envs" step of the POST calls (spec §5.13): the app-env update's SET, answered as
 * `{"error":..,"hint_message":..}`. A store that cannot be written (Pegasus aborts there) is
 * answered the same way, with its error.
 */
async function setAppEnvs(state: MetaServerState, asked: EnvsFromBody): Promise<AdminResponse> {
  if ('refusal' in asked) return badRequest(asked.refusal);
  const answer = (err: string, hint: string): AdminResponse => ok(renderRowsCompactJson([['error', err], ['hint_message', hint]]));
  try {
    const result = await state.updateAppEnv({
      appName: asked.appName, op: 'SET', keys: asked.envs.map(([key]) => key), values: asked.envs.map(([, value]) => value),
    });
    return answer(result.err, result.hintMessage);
  } catch (error) {
    if (!(error instanceof PteronError)) throw error;
    const prefix = `${error.code}: `;
    return answer(error.code, error.message.startsWith(prefix) ? error.message.slice(prefix.length) : '');
  }
}

export async function startCompaction(request: AdminRequest, deps: MetaHttpDeps): Promise<AdminResponse> {
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  const state = deps.state;
  return setAppEnvs(state, startCompactionEnvs(request.body, state.nowSeconds()));
}

export async function updateUsageScenario(request: AdminRequest, deps: MetaHttpDeps): Promise<AdminResponse> {
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  return setAppEnvs(deps.state, usageScenarioEnvs(request.body));
}

/** `start_bulk_load_request` as the HTTP call decodes it: ingest_behind is not among its fields, so it is always false here. */
const START_BULK_LOAD_REQUEST = { app_name: 'string', cluster_name: 'string', file_provider_type: 'string', remote_root_path: 'string' } as const;

/** `/meta/app/start_bulk_load` (spec §5.9): the checks of the body, then the bulk load service's synchronous answer. */
export async function startBulkLoad(request: AdminRequest, deps: MetaHttpDeps): Promise<AdminResponse> {
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  const body = decodeJsonStruct(request.body, START_BULK_LOAD_REQUEST);
  if (!body) return badRequest(INVALID_REQUEST_STRUCTURE);
  for (const field of ['app_name', 'cluster_name', 'file_provider_type', 'remote_root_path'] as const) {
    if ((body[field] ?? '') === '') return badRequest(`${field} should not be empty`);
  }
  const answer = (err: string, hint: string): AdminResponse => ok(renderRowsCompactJson([['error', err], ['hint_msg', hint]]));
  try {
    const result = await deps.state.startBulkLoad({
      appName: body.app_name!, clusterName: body.cluster_name!, fileProviderType: body.file_provider_type!, remoteRootPath: body.remote_root_path!,
      ingestBehind: false,
    });
    return answer(result.err, result.hintMsg);
  } catch (error) {
    if (!(error instanceof PteronError)) throw error;
    return answer(error.code, error.message);
  }
}

/** `/meta/app/query_bulk_load?name=` (spec §5.10). */
export function queryBulkLoad(request: AdminRequest, deps: MetaHttpDeps): AdminResponse {
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  const name = request.query.get('name');
  if (name === undefined) return badRequest('name should not be empty');
  const result = deps.state.queryBulkLoad(name);
  const status = result.err === 'ERR_APP_NOT_EXIST' || result.err === 'ERR_APP_DROPPED' ? 'BLS_INVALID' : bulkLoadStatusOf(result.appStatus);
  return ok(renderRowsCompactJson([['error', result.err], ['app_status', statusText(status)]]));
}

/** `/meta/app/duplication?name=`: the table's duplications, as Pegasus's JSON (spec pegasus-http §5.8). */
export function getAppDuplication(request: AdminRequest, deps: MetaHttpDeps): AdminResponse {
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  if (!duplicationEnabled.value) return { status: 404, body: 'duplication is not enabled [FLAGS_duplication_enabled=false]' };
  const name = request.query.get('name');
  if (name === undefined) return badRequest('name should not be empty');
  const result = deps.state.queryDuplication(name);
  if (result.err !== 'ERR_OK') return { status: result.err === 'ERR_APP_NOT_EXIST' ? 404 : 500, body: result.err };
  return ok(duplicationQueryJson(result.appid, result.entryList));
}

/** `/meta/backup_policy[?name=<policy>]` (spec §5.7): the policies found, in name order; `{}` for none. */
export function getBackupPolicies(request: AdminRequest, deps: MetaHttpDeps): AdminResponse {
  const redirect = redirectIfNotLeader(request, deps);
  if (redirect) return redirect;
  const backups = deps.state.coldBackup;
  if (backups === undefined) return { status: 404, body: 'cold_backup_disabled' };
  if (!onlyKeys(request, ['name'])) return badRequest('Invalid parameter');
  const name = request.query.get('name');
  const entries = backups.policyEntries(name === undefined ? [] : [name]);
  const columns = ['name', 'backup_provider_type', 'backup_interval', 'app_ids', 'start_time', 'status', 'backup_history_count'];
  const rows = entries.map((entry) => [
    entry.policyName, entry.backupProviderType, entry.backupIntervalSeconds, JSON.stringify(entry.appIds), entry.startTime,
    entry.isDisable ? 'disabled' : 'enabled', String(entry.backupHistoryCountToKeep),
  ]);
  return ok(renderTablesCompactJson([multiTable('', columns, rows)]));
}

export function registerMetaHttpCalls(router: HttpRouter, deps: MetaHttpDeps): void {
  router.register({
    path: 'meta/backup_policy', parameters: 'name=<app_name1>&name=<app_name2>', description: 'Query backup policy by policy names.',
    handler: (request) => getBackupPolicies(request, deps),
  });
  router.register({
    path: 'meta/app', parameters: 'name=<app_name>[&detail]', description: 'Query app info.',
    handler: (request) => getApp(request, deps),
  });
  router.register({
    path: 'meta/app/duplication', parameters: 'name=<app_name>', description: 'Query app duplication info.',
    handler: (request) => getAppDuplication(request, deps),
  });
  router.register({
    path: 'meta/apps', parameters: '[detail]', description: 'List all apps in the cluster.',
    handler: (request) => getApps(request, deps),
  });
  router.register({
    path: 'meta/nodes', parameters: '[detail]', description: 'Query the replica servers info.',
    handler: (request) => getNodes(request, deps),
  });
  router.register({
    path: 'meta/cluster', description: 'Query the cluster info.',
    handler: (request) => getCluster(request, deps),
  });
  router.register({
    path: 'meta/app_envs', parameters: 'name=<app_name>', description: 'Query app environments.',
    handler: (request) => getAppEnvs(request, deps),
  });
  router.register({
    path: 'meta/app/query_bulk_load', parameters: 'name=<app_name>', description: 'Query app bulk load info.',
    handler: (request) => queryBulkLoad(request, deps),
  });
  router.register({
    path: 'meta/app/start_bulk_load', parameters: 'A JSON format of start_bulk_load_request structure', description: 'Start bulk load on an app.',
    handler: (request) => startBulkLoad(request, deps),
  });
  router.register({
    path: 'meta/app/start_compaction', parameters: 'A JSON format of manual_compaction_info structure', description: 'Start compaction for an app.',
    handler: (request) => startCompaction(request, deps),
  });
  router.register({
    path: 'meta/app/usage_scenario', parameters: 'A JSON format of usage_scenario_info structure', description: 'Update usage scenario of an app.',
    handler: (request) => updateUsageScenario(request, deps),
  });
  router.register({
    path: 'envs/list', description: 'List all available table environments.',
    handler: () => listEnvs(),
  });
}
