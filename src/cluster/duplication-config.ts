// The duplication configuration both roles read (spec pegasus-arch §3.9): the clusters this one
// can duplicate to, by name, with their metas (`[pegasus.clusters] <name> = meta1,meta2,…`), and
// each cluster's id (`[duplication-group] <name> = 1..127`), which a write's timetag carries so
// that duplicated clusters agree on the last writer. Pegasus reads both as plain sections, not
// flags; the duplication flags both sides read are below.
import { ConfigError, defineFlag, type LoadedConfig } from '../config/index.ts';
import { parseHostPortList, PteronError, type HostPort } from '../base/index.ts';
import { clusterName } from './flags.ts';

export const CLUSTERS_SECTION = 'pegasus.clusters';
export const DUPLICATION_GROUP_SECTION = 'duplication-group';
const CLUSTER_ID_MIN = 1;
const CLUSTER_ID_MAX = 127;

export const duplicationEnabled = defineFlag({
  section: 'replication',
  name: 'duplication_enabled',
  type: 'FV_BOOL',
  default: true,
  description: 'is duplication enabled',
});

export const duplicateLogBatchBytes = defineFlag({
  section: 'replication',
  name: 'duplicate_log_batch_bytes',
  type: 'FV_UINT32',
  default: 4096,
  mutable: true,
  description: 'send mutation log batch bytes size per rpc',
});

export const dupIgnoreOtherClusterIds = defineFlag({
  section: 'replication',
  name: 'dup_ignore_other_cluster_ids',
  type: 'FV_BOOL',
  default: false,
  description: 'Allow any other cluster id except myself to be ignored for duplication',
});

export class DuplicationGroup {
  constructor(
    /** Cluster name → its metas. */
    readonly clusters: ReadonlyMap<string, readonly HostPort[]>,
    /** Cluster name → its id in [1, 127]. */
    readonly clusterIds: ReadonlyMap<string, number>,
  ) {}

  /** The metas of a remote cluster; ERR_OBJECT_NOT_FOUND if `[pegasus.clusters]` does not name it. */
  metasOf(name: string): readonly HostPort[] {
    const metas = this.clusters.get(name);
    if (!metas) throw new PteronError('ERR_OBJECT_NOT_FOUND', `failed to find cluster address for ${name} in [${CLUSTERS_SECTION}]`);
    return metas;
  }

  /** A cluster's id, with Pegasus's errors when it is not configured. */
  clusterIdOf(name: string): number {
    if (name === '') throw new PteronError('ERR_INVALID_PARAMETERS', 'cluster_name is empty');
    if (this.clusterIds.size === 0) throw new PteronError('ERR_OBJECT_NOT_FOUND', `\`${DUPLICATION_GROUP_SECTION}\` is not configured`);
    const id = this.clusterIds.get(name);
    if (id === undefined) throw new PteronError('ERR_OBJECT_NOT_FOUND', `failed to get cluster id for ${name}`);
    return id;
  }

  /** This cluster's id, or 0 when it has none: then writes from any cluster win by timestamp alone. */
  ownClusterIdOrZero(): number {
    return this.clusterIds.get(clusterName.value) ?? 0;
  }

  /**
   * Why a duplicated write stamped with cluster id `id` must be refused here, as Pegasus's
   * follower says it, or undefined when it may be applied.
   */
  refusalOfClusterId(id: number): string | undefined {
    const own = this.ownClusterIdOrZero();
    const configured = (id !== own && dupIgnoreOtherClusterIds.value) || [...this.clusterIds.values()].includes(id);
    if (!configured) return 'request cluster id is unconfigured';
    if (id === own) return 'self-duplicating';
    return undefined;
  }
}

/** Reads and checks both sections; a bad value is a ConfigError naming the section and key. */
export function duplicationGroupFromConfig(config: Pick<LoadedConfig, 'section'>): DuplicationGroup {
  return parseDuplicationGroup(config.section(CLUSTERS_SECTION), config.section(DUPLICATION_GROUP_SECTION));
}

export function parseDuplicationGroup(clusterEntries: ReadonlyMap<string, string>, idEntries: ReadonlyMap<string, string>): DuplicationGroup {
  const clusters = new Map<string, HostPort[]>();
  for (const [name, text] of clusterEntries) {
    let metas: HostPort[];
    try {
      metas = parseHostPortList(text);
    } catch (error) {
      throw new ConfigError(`[${CLUSTERS_SECTION}] ${name} = "${text}": ${(error as Error).message}`);
    }
    if (metas.length === 0) throw new ConfigError(`[${CLUSTERS_SECTION}] ${name}: expected meta1:port,meta2:port,…`);
    clusters.set(name, metas);
  }
  const clusterIds = new Map<string, number>();
  const owners = new Map<number, string>();
  for (const [name, text] of idEntries) {
    const id = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
    if (!(id >= CLUSTER_ID_MIN && id <= CLUSTER_ID_MAX)) {
      throw new ConfigError(`[${DUPLICATION_GROUP_SECTION}] ${name} = "${text}": cluster_id should be in [${CLUSTER_ID_MIN}, ${CLUSTER_ID_MAX}]`);
    }
    const owner = owners.get(id);
    if (owner !== undefined) throw new ConfigError(`[${DUPLICATION_GROUP_SECTION}] ${name} and ${owner} share cluster_id ${id}`);
    owners.set(id, name);
    clusterIds.set(name, id);
  }
  return new DuplicationGroup(clusters, clusterIds);
}
