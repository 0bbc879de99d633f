// What Pegasus's shell prints for each meta answer (its `ls`, `app`, `nodes`, `cluster_info` and
// `get_app_envs`): pure functions from decoded responses to text, with its tables, column names
// and order. The shell prints them from RPC answers, the meta's remote commands from its state.
import {
  formatLocalTime, isInvalidHostPort, multiTable, renderTable, renderTables, singleTable, type HostPort, type MultiTable, type SingleTable, type Table,
} from '../base/index.ts';
import { AppStatus, NodeStatus, type AppInfo, type ClusterInfoResponse, type NodeInfo, type PartitionConfiguration, type QueryCfgResponse } from '../wire/structs/index.ts';
import { countPartitionHealth, primaryOf, secondariesOf, wirePartitionReplicas, type PartitionHealthCounts } from './health.ts';
import { compareHostPort, type PartitionConfiguration as ModelPartitionConfiguration } from './model.ts';

// ---------------------------------------------------------------------------------------------
// small helpers

/** `AVAILABLE`, `DROPPED`, … (the enum name without its `AS_` prefix). */
function appStatusName(status: number): string {
  const name = AppStatus[status];
  return name === undefined ? `UNKNOWN(${status})` : name.replace(/^AS_/, '');
}

/** `ALIVE`, `UNALIVE`, `INVALID`. */
function nodeStatusName(status: number): string {
  const name = NodeStatus[status];
  return name === undefined ? `UNKNOWN(${status})` : name.replace(/^NS_/, '');
}

/** Local `YYYY-MM-DD_HH:MM:SS` of a Unix-seconds timestamp, or `-` when unset. */
function formatTimestamp(seconds: bigint | number): string {
  const value = Number(seconds);
  if (!(value > 0)) return '-';
  return formatLocalTime(new Date(value * 1000)).replace(' ', '_');
}

function address(hostPort: HostPort): string {
  return `${hostPort.host}:${hostPort.port}`;
}

/** Pegasus's host_port order: host name as a string, then port. */
function compareHostPorts(a: HostPort, b: HostPort): number {
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return a.port - b.port;
}

// ---------------------------------------------------------------------------------------------
// health tables (the shell's and the admin API's alike)

/** One table's partition health, for `ls -d` and /meta/apps?detail. */
export interface AppHealth {
  readonly appId: number;
  readonly appName: string;
  readonly partitionCount: number;
  readonly health: PartitionHealthCounts;
  /** Its partitions not fully healthy: the shell counts from partition_count, /meta/apps from the partitions listed. */
  readonly unhealthy: number;
}

/** The `healthy_info` table, and the summary rows that count the tables by health. */
export function appHealthTables(apps: readonly AppHealth[]): { healthyInfo: MultiTable; summaryRows: Array<[string, string]> } {
  const fullyHealthyApps = apps.filter((app) => app.health.fullyHealthy === app.partitionCount).length;
  const healthyInfo = multiTable(
    'healthy_info',
    ['app_id', 'app_name', 'partition_count', 'fully_healthy', 'unhealthy', 'write_unhealthy', 'read_unhealthy'],
    apps.map(({ appId, appName, partitionCount, health, unhealthy }) => [
      String(appId), appName, String(partitionCount), String(health.fullyHealthy), String(unhealthy),
      String(health.writeUnhealthy), String(health.readUnhealthy),
    ]),
  );
  return {
    healthyInfo,
    summaryRows: [
      ['fully_healthy_app_count', String(fullyHealthyApps)],
      ['unhealthy_app_count', String(apps.length - fullyHealthyApps)],
      ['write_unhealthy_app_count', String(apps.filter((app) => app.health.writeUnhealthy > 0).length)],
      ['read_unhealthy_app_count', String(apps.filter((app) => app.health.readUnhealthy > 0).length)],
    ],
  };
}

/** The `healthy` table of `app -d` and /meta/app?detail. */
function partitionHealthTable(health: PartitionHealthCounts, unhealthy: number): SingleTable {
  return singleTable('healthy', [
    ['fully_healthy_partition_count', String(health.fullyHealthy)],
    ['unhealthy_partition_count', String(unhealthy)],
    ['write_unhealthy_partition_count', String(health.writeUnhealthy)],
    ['read_unhealthy_partition_count', String(health.readUnhealthy)],
  ]);
}

// ---------------------------------------------------------------------------------------------
// ls

export interface AppListOptions {
  detailed: boolean;
  json: boolean;
  /** With `detailed`: the partitions of every available table, by app id. */
  partitionsByAppId?: ReadonlyMap<number, readonly PartitionConfiguration[]>;
}

const APP_LIST_COLUMNS = [
  'app_id', 'status', 'app_name', 'app_type', 'partition_count', 'replica_count', 'is_stateful',
  'create_time', 'drop_time', 'drop_expire', 'envs_count', 'atomic_idempotent',
];

export function formatAppList(apps: readonly AppInfo[], options: AppListOptions): string {
  const available = apps.filter((app) => app.status === AppStatus.AS_AVAILABLE);
  const generalRows = apps.map((app) => {
    const dropped = app.status === AppStatus.AS_DROPPED && Number(app.expireSecond) > 0;
    return [
      String(app.appId),
      appStatusName(app.status),
      app.appName,
      app.appType,
      String(app.partitionCount),
      String(app.maxReplicaCount),
      String(app.isStateful),
      formatTimestamp(app.createSecond),
      dropped ? formatTimestamp(app.dropSecond) : '-',
      dropped ? formatTimestamp(app.expireSecond) : '-',
      String(app.envs.size),
      String(app.atomicIdempotent ?? false),
    ];
  });
  const tables: Table[] = [multiTable('general_info', APP_LIST_COLUMNS, generalRows)];
  const summary: Array<[string, string]> = [['total_app_count', String(available.length)]];
  if (options.detailed && available.length > 0) {
    const { healthyInfo, summaryRows } = appHealthTables(available.map((app) => {
      const health = countPartitionHealth((options.partitionsByAppId?.get(app.appId) ?? []).map(wirePartitionReplicas));
      return { appId: app.appId, appName: app.appName, partitionCount: app.partitionCount, health, unhealthy: app.partitionCount - health.fullyHealthy };
    }));
    tables.push(healthyInfo);
    summary.push(...summaryRows);
  }
  tables.push(singleTable('summary', summary));
  return renderTables(tables, options.json);
}

// ---------------------------------------------------------------------------------------------
// app

/** One partition as `app -d` and /meta/app?detail print it, addresses as host:port. */
export interface PartitionPlacement {
  readonly partitionIndex: number;
  readonly ballot: string;
  readonly maxReplicaCount: number;
  readonly primary: string | undefined;
  readonly secondaries: readonly string[];
}

function wirePartitionPlacement(config: PartitionConfiguration): PartitionPlacement {
  const primary = primaryOf(config);
  return {
    partitionIndex: config.pid.partitionIndex,
    ballot: String(config.ballot),
    maxReplicaCount: config.maxReplicaCount,
    primary: primary ? address(primary) : undefined,
    secondaries: secondariesOf(config).map(address),
  };
}

export function modelPartitionPlacement(config: ModelPartitionConfiguration): PartitionPlacement {
  return {
    partitionIndex: config.gpid.partitionIndex,
    ballot: String(config.ballot),
    maxReplicaCount: config.maxReplicaCount,
    primary: config.primary === '' ? undefined : config.primary,
    secondaries: config.secondaries,
  };
}

/** Where `app -d` and /meta/app?detail part ways. */
export interface AppDetailStyle {
  /** The name of the `nodes` table's total row: '' in the shell, 'total' in the admin API. */
  readonly totalRowName: string;
  /** What the unhealthy count is taken from: the shell, partition_count; the admin API, the partitions listed. */
  readonly unhealthyOf: 'partition_count' | 'partitions_listed';
}

/** The `general` table and, with `style` (the detailed form), the `replicas`, `nodes` and `healthy` tables. */
export function appDetailTables(
  app: { readonly appName: string; readonly appId: number; readonly partitionCount: number },
  partitions: readonly PartitionPlacement[],
  style: AppDetailStyle | undefined,
): Table[] {
  const tables: Table[] = [singleTable('general', [
    ['app_name', app.appName],
    ['app_id', String(app.appId)],
    ['partition_count', String(app.partitionCount)],
    ['max_replica_count', String(partitions[0]?.maxReplicaCount ?? 0)],
  ])];
  if (style === undefined) return tables;
  const perNode = new Map<string, { primary: number; secondary: number }>();
  const countFor = (node: string) => {
    let entry = perNode.get(node);
    if (!entry) perNode.set(node, (entry = { primary: 0, secondary: 0 }));
    return entry;
  };
  let primaries = 0;
  let secondaries = 0;
  const replicaRows = partitions.map((partition) => {
    if (partition.primary !== undefined) {
      countFor(partition.primary).primary++;
      primaries++;
    }
    for (const secondary of partition.secondaries) countFor(secondary).secondary++;
    secondaries += partition.secondaries.length;
    const replicaCount = (partition.primary === undefined ? 0 : 1) + partition.secondaries.length;
    return [
      String(partition.partitionIndex),
      partition.ballot,
      `${replicaCount}/${partition.maxReplicaCount}`,
      partition.primary ?? '-',
      `[${partition.secondaries.join(',')}]`,
    ];
  });
  tables.push(multiTable('replicas', ['pidx', 'ballot', 'replica_count', 'primary', 'secondaries'], replicaRows));
  const nodeRows = [...perNode.keys()].sort(compareHostPort).map((node) => {
    const { primary, secondary } = perNode.get(node)!;
    return [node, String(primary), String(secondary), String(primary + secondary)];
  });
  nodeRows.push([style.totalRowName, String(primaries), String(secondaries), String(primaries + secondaries)]);
  tables.push(multiTable('nodes', ['node', 'primary', 'secondary', 'total'], nodeRows));
  const health = countPartitionHealth(partitions.map((partition) => ({
    hasPrimary: partition.primary !== undefined,
    replicaCount: (partition.primary === undefined ? 0 : 1) + partition.secondaries.length,
    maxReplicaCount: partition.maxReplicaCount,
  })));
  const basis = style.unhealthyOf === 'partition_count' ? app.partitionCount : partitions.length;
  tables.push(partitionHealthTable(health, basis - health.fullyHealthy));
  return tables;
}

export interface AppDetailOptions {
  detailed: boolean;
  json: boolean;
}

export function formatAppDetail(appName: string, response: QueryCfgResponse, options: AppDetailOptions): string {
  const style: AppDetailStyle = { totalRowName: '', unhealthyOf: 'partition_count' };
  return renderTables([
    singleTable('parameters', [['app_name', appName], ['detailed', String(options.detailed)]]),
    ...appDetailTables(
      { appName, appId: response.appId, partitionCount: response.partitionCount },
      response.partitions.map(wirePartitionPlacement),
      options.detailed ? style : undefined,
    ),
  ], options.json);
}

// ---------------------------------------------------------------------------------------------
// nodes

export interface NodeListOptions {
  detailed: boolean;
  json: boolean;
  /** The `-s` argument as typed, shown in a `parameters` table. */
  status?: string;
  /** With `detailed`: the partitions of every available table. */
  partitions?: readonly PartitionConfiguration[];
}

/** The `summary` table of `nodes` and /meta/nodes. */
export function nodeSummaryTable(nodeCount: number, aliveCount: number): SingleTable {
  return singleTable('summary', [
    ['total_node_count', String(nodeCount)],
    ['alive_node_count', String(aliveCount)],
    ['unalive_node_count', String(nodeCount - aliveCount)],
  ]);
}

export function formatNodeList(nodes: readonly NodeInfo[], options: NodeListOptions): string {
  const byAddress = new Map<string, { node: HostPort; status: number; primary: number; secondary: number }>();
  for (const info of nodes) {
    const node = info.hpNode && !isInvalidHostPort(info.hpNode) ? info.hpNode : info.node;
    byAddress.set(address(node), { node, status: info.status, primary: 0, secondary: 0 });
  }
  if (options.detailed) {
    for (const config of options.partitions ?? []) {
      const primary = primaryOf(config);
      if (primary) {
        const entry = byAddress.get(address(primary));
        if (entry) entry.primary++;
      }
      for (const secondary of secondariesOf(config)) {
        const entry = byAddress.get(address(secondary));
        if (entry) entry.secondary++;
      }
    }
  }
  const entries = [...byAddress.values()].sort((a, b) => compareHostPorts(a.node, b.node));
  const tables: Table[] = [];
  if (options.status !== undefined && options.status !== '') tables.push(singleTable('parameters', [['status', options.status]]));
  const counts = ['replica_count', 'primary_count', 'secondary_count'];
  tables.push(multiTable(
    'details',
    ['address', 'status', ...(options.detailed ? counts : [])],
    entries.map((entry) => [
      address(entry.node),
      nodeStatusName(entry.status),
      ...(options.detailed ? [String(entry.primary + entry.secondary), String(entry.primary), String(entry.secondary)] : []),
    ]),
    counts,
  ));
  tables.push(nodeSummaryTable(entries.length, entries.filter((entry) => entry.status === NodeStatus.NS_ALIVE).length));
  return renderTables(tables, options.json);
}

// ---------------------------------------------------------------------------------------------
// cluster_info, app envs

export function formatClusterInfo(response: ClusterInfoResponse, json: boolean): string {
  const rows = response.keys.map((key, index): [string, string] => [key, response.values[index] ?? '']);
  return renderTable(singleTable('cluster_info', rows), json);
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Envs sorted by key bytes. A table without envs prints nothing, as in the reference. */
export function formatAppEnvs(envs: ReadonlyMap<string, string>, json: boolean): string {
  const rows = [...envs.keys()].sort(compareBytes).map((key): [string, string] => [key, envs.get(key)!]);
  return renderTable(singleTable('app_envs', rows), json);
}

