// The gate of a rolling restart: the cluster is ready for the next replica server when the meta
// reports every partition of every table fully healthy (`/meta/apps?detail`) and, when a node
// was just restarted, that node alive (`/meta/nodes?detail`) and serving again: its own
// `total_replicas` gauge has reached the replica count the meta gives it. (A replica server
// back within the meta's grace period was never marked dead, so the meta alone cannot tell
// whether it has opened its replicas yet.) Backup metas redirect to the primary, which fetch
// follows.

export interface ClusterHealth {
  ready: boolean;
  /** What is not ready yet, for the error when the gate times out. */
  detail: string;
}

interface AppsDetail {
  healthy_info?: Record<string, { app_name?: string; partition_count?: string; fully_healthy?: string }>;
  summary?: { total_app_count?: string };
}

interface NodesDetail {
  details?: Record<string, { status?: string; replica_count?: string }>;
}

interface MetricsAnswer {
  entities?: Array<{ metrics?: Array<{ name: string; value?: number }> }>;
}

async function getJson<T>(url: string, timeoutMs: number): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

/** Judges the two answers; pure, so the rule is tested without a meta. */
export function judgeClusterHealth(
  apps: AppsDetail, nodes: NodesDetail | undefined, node: string | undefined, nodeReplicas: number | undefined,
): ClusterHealth {
  const unhealthy: string[] = [];
  for (const info of Object.values(apps.healthy_info ?? {})) {
    const partitions = Number(info.partition_count ?? 0);
    const healthy = Number(info.fully_healthy ?? 0);
    if (healthy < partitions) unhealthy.push(`${info.app_name ?? '?'} ${healthy}/${partitions} partitions healthy`);
  }
  if (unhealthy.length > 0) return { ready: false, detail: unhealthy.join(', ') };
  if (node !== undefined) {
    const status = nodes?.details?.[node]?.status;
    if (status !== 'ALIVE') return { ready: false, detail: `${node} is ${status ?? 'not known to the meta'}` };
    const assigned = Number(nodes?.details?.[node]?.replica_count ?? 0);
    if (nodeReplicas !== undefined && nodeReplicas < assigned) {
      return { ready: false, detail: `${node} serves ${nodeReplicas} of the ${assigned} replicas the meta assigns it` };
    }
  }
  return { ready: true, detail: 'every partition healthy' };
}

/** The replica server's own count of the replicas it serves; undefined when it does not say. */
async function replicasServed(node: string, timeoutMs: number): Promise<number | undefined> {
  try {
    const answer = await getJson<MetricsAnswer>(`http://${node}/metrics?types=server&metrics=total_replicas`, timeoutMs);
    const metric = answer.entities?.flatMap((entity) => entity.metrics ?? []).find((candidate) => candidate.name === 'total_replicas');
    return typeof metric?.value === 'number' ? metric.value : undefined;
  } catch {
    return 0;
  }
}

export async function clusterHealth(metaAddresses: string[], node: string | undefined, timeoutMs: number): Promise<ClusterHealth> {
  const failures: string[] = [];
  for (const address of metaAddresses) {
    try {
      const apps = await getJson<AppsDetail>(`http://${address}/meta/apps?detail`, timeoutMs);
      const nodes = node === undefined ? undefined : await getJson<NodesDetail>(`http://${address}/meta/nodes?detail`, timeoutMs);
      const nodeReplicas = node === undefined ? undefined : await replicasServed(node, timeoutMs);
      return judgeClusterHealth(apps, nodes, node, nodeReplicas);
    } catch (error) {
      failures.push(`${address}: ${(error as Error).message}`);
    }
  }
  return { ready: false, detail: failures.length > 0 ? `no meta answered (${failures.join('; ')})` : 'no meta server in the manifest' };
}

/** Polls until ready; throws with the last detail when `timeoutMs` passes. */
export async function waitClusterHealthy(options: {
  metaAddresses: string[];
  node?: string;
  timeoutMs: number;
  pollMs: number;
  /** The last answer, for progress reports. */
  onPoll?: (health: ClusterHealth) => void;
}): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const health = await clusterHealth(options.metaAddresses, options.node, Math.max(500, Math.min(5000, options.pollMs * 2)));
    options.onPoll?.(health);
    if (health.ready) return;
    if (Date.now() >= deadline) throw new Error(`the cluster was not healthy within ${Math.round(options.timeoutMs / 1000)}s: ${health.detail}`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}
