// What table statistics are computed from, fetched as Pegasus's shell fetches it: the alive
// replica servers and the available tables (with each partition's primary) from the meta, and
// each replica server's /metrics. The rows themselves are computed in cluster/app-stat.ts.
import { formatHostPort, isInvalidHostPort } from '../../base/index.ts';
import { MetricsSampleError, parseMetricsSample, type MetricsSample, type TablePrimaries } from '../../cluster/index.ts';
import { AppStatus, NodeStatus, PatternMatchType, RPCS, type PartitionConfiguration } from '../../wire/index.ts';
import { replyError, type MetaCaller } from './meta-client.ts';

/** How long one replica server may take to answer /metrics. */
const METRICS_TIMEOUT_MS = 10_000;

/** The primary of a partition as host:port, '' when it has none. */
export function primaryOf(config: PartitionConfiguration): string {
  const primary = config.hpPrimary ?? config.primary;
  return isInvalidHostPort(primary) ? '' : formatHostPort(primary);
}

/** The alive replica servers, or the error of the meta's answer. */
export async function aliveReplicaServers(meta: MetaCaller): Promise<string[] | { error: string }> {
  const reply = await meta.call(RPCS.RPC_CM_LIST_NODES, { status: NodeStatus.NS_ALIVE });
  if (reply.err !== 'ERR_OK' || !reply.response) return { error: `list nodes failed, error=${replyError(reply)}` };
  return reply.response.infos.map((info) => formatHostPort(info.hpNode ?? info.node));
}

/** One table's configuration: its id, partition count and partitions, or the error. */
export async function tableConfiguration(
  meta: MetaCaller, appName: string,
): Promise<{ table: TablePrimaries; partitions: PartitionConfiguration[] } | { error: string }> {
  const reply = await meta.call(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName, partitionIndices: [] });
  if (reply.err !== 'ERR_OK' || !reply.response) return { error: `list app ${appName} failed, error=${replyError(reply)}` };
  const { appId, partitionCount, partitions } = reply.response;
  return { table: { appName, appId, partitionCount, primaries: partitions.map(primaryOf) }, partitions };
}

/** Every available table with its primaries, or the first error. */
export async function availableTables(meta: MetaCaller): Promise<TablePrimaries[] | { error: string }> {
  const reply = await meta.call(RPCS.RPC_CM_LIST_APPS, { status: AppStatus.AS_AVAILABLE, appNamePattern: '', matchType: PatternMatchType.PMT_MATCH_ALL });
  if (reply.err !== 'ERR_OK' || !reply.response) return { error: `list apps failed, error=${replyError(reply)}` };
  const tables: TablePrimaries[] = [];
  for (const app of reply.response.infos) {
    const found = await tableConfiguration(meta, app.appName);
    if ('error' in found) return found;
    tables.push(found.table);
  }
  return tables;
}

/** Why a fetch failed: its message and the cause's code (ECONNREFUSED, ...) when there is one. */
function fetchFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${(error as Error).message} (${detail})` : (error as Error).message;
}

/** The body of a GET of `pathAndQuery` from `node`'s admin HTTP port; throws MetricsSampleError on a failure or a status other than 200. */
export async function getMetricsBody(node: string, pathAndQuery: string): Promise<string> {
  let response: Response;
  let body: string;
  try {
    response = await fetch(`http://${node}${pathAndQuery}`, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) });
    body = await response.text();
  } catch (error) {
    throw new MetricsSampleError(`get metrics from ${node} failed: ${fetchFailure(error)}`);
  }
  if (response.status !== 200) throw new MetricsSampleError(`get metrics from ${node} failed: HTTP ${response.status}: ${body.trim()}`);
  return body;
}

/** One replica server's /metrics answer to `pathAndQuery`, parsed as a sample. */
export async function fetchMetricsSample(node: string, pathAndQuery: string): Promise<MetricsSample> {
  const body = await getMetricsBody(node, pathAndQuery);
  try {
    return parseMetricsSample(body);
  } catch (error) {
    throw new MetricsSampleError(`parse metrics from ${node} failed: ${(error as Error).message}`);
  }
}

/** One sample of every node, in their order; rejects with the first node that failed. */
export function fetchMetricsSamples(nodes: readonly string[], pathAndQuery: string): Promise<MetricsSample[]> {
  return Promise.all(nodes.map((node) => fetchMetricsSample(node, pathAndQuery)));
}
