// `pteron replica`: the replica server role. For now it keeps the meta informed (beacons,
// config sync), learns which partitions it serves and in which role, and carries out the
// meta's configuration proposals by reporting the changed configuration back. PacificA
// replication and the data plane take this place in later work.
import { log, parseHostPort } from '../base/index.ts';
import { defineFlag, onFlagChange, type LoadedConfig } from '../config/index.ts';
import {
  applyConfigChange, configTypeFromValue, failureDetectorOptionsFromFlags, gpidText, metaServerList, partitionConfigurationFromWire,
  partitionConfigurationToWire, type PartitionConfiguration,
} from '../meta/index.ts';
import { defineMetric, serverEntity } from '../metrics/index.ts';
import { registerOnewayRpc, RpcClient } from '../net/index.ts';
import type { PteronServer } from '../runtime/index.ts';
import { PartitionStatus, RPCS, type AppInfo, type ReplicaInfo } from '../wire/index.ts';

export const configSyncIntervalMs = defineFlag({
  section: 'replication',
  name: 'config_sync_interval_ms',
  type: 'FV_UINT32',
  default: 30000,
  description: 'The interval milliseconds of replica server to send replica config-sync requests to meta server',
  mutable: true,
  validator: (value) => value >= 100,
});

const totalReplicasMetric = defineMetric({ entityType: 'server', type: 'Gauge', name: 'total_replicas', unit: 'Replicas', desc: 'The total number of replicas' });
const primaryReplicasMetric = defineMetric({ entityType: 'server', type: 'Gauge', name: 'primary_replicas', unit: 'Replicas', desc: 'The number of primary replicas' });
const secondaryReplicasMetric = defineMetric({ entityType: 'server', type: 'Gauge', name: 'secondary_replicas', unit: 'Replicas', desc: 'The number of secondary replicas' });
const beaconFailedMetric = defineMetric({ entityType: 'server', type: 'Counter', name: 'beacon_failed_count', unit: 'Beacons', desc: 'The number of failed beacons sent by failure detector' });

interface LocalReplica {
  info: AppInfo;
  config: PartitionConfiguration;
}

export async function installReplica(server: PteronServer, _config: LoadedConfig): Promise<() => Promise<void>> {
  const self = `${server.identity.host}:${server.identity.port}`;
  const startTimeMs = BigInt(server.identity.startTime.getTime());
  const metaAddress = metaServerList.value.split(',')[0]!.trim();
  const meta = new RpcClient(parseHostPort(metaAddress), { timeoutMs: 3000 });
  const replicas = new Map<string, LocalReplica>();
  const fd = failureDetectorOptionsFromFlags();

  const statusOf = (config: PartitionConfiguration): PartitionStatus =>
    config.primary === self ? PartitionStatus.PS_PRIMARY : config.secondaries.includes(self) ? PartitionStatus.PS_SECONDARY : PartitionStatus.PS_INACTIVE;
  const countWith = (status: PartitionStatus) => () => [...replicas.values()].filter((replica) => statusOf(replica.config) === status).length;
  const entity = serverEntity();
  entity.gauge(totalReplicasMetric).sampleWith(() => replicas.size);
  entity.gauge(primaryReplicasMetric).sampleWith(countWith(PartitionStatus.PS_PRIMARY));
  entity.gauge(secondaryReplicasMetric).sampleWith(countWith(PartitionStatus.PS_SECONDARY));
  const beaconFailures = entity.counter(beaconFailedMetric);

  /** Keeps the newer configuration of a partition; forgets partitions this node left. */
  const remember = (info: AppInfo, config: PartitionConfiguration): void => {
    const key = gpidText(config.gpid);
    const known = replicas.get(key);
    if (known && known.config.ballot > config.ballot) return;
    if (statusOf(config) === PartitionStatus.PS_INACTIVE) replicas.delete(key);
    else replicas.set(key, { info, config });
  };

  const storedReplicas = (): ReplicaInfo[] =>
    [...replicas.values()].map(({ info, config }) => ({
      pid: { ...config.gpid },
      ballot: BigInt(config.ballot),
      status: statusOf(config),
      lastCommittedDecree: 0n,
      lastPreparedDecree: 0n,
      lastDurableDecree: 0n,
      appType: info.appType,
      diskTag: 'default',
    }));

  let syncing = false;
  const configSync = async (): Promise<void> => {
    if (syncing) return;
    syncing = true;
    try {
      const response = await meta.callRpc(RPCS.RPC_CM_CONFIG_SYNC, {
        node: parseHostPort(self), hpNode: parseHostPort(self), storedReplicas: storedReplicas(),
      });
      if (response.error !== 'ERR_OK' || !response.result || response.result.err !== 'ERR_OK') return;
      const listed = new Set<string>();
      for (const update of response.result.partitions) {
        const config = partitionConfigurationFromWire(update.config);
        listed.add(gpidText(config.gpid));
        remember(update.info, config);
      }
      for (const key of replicas.keys()) if (!listed.has(key)) replicas.delete(key);
    } catch (error) {
      log.debug({ err: (error as Error).message }, 'config sync failed');
    } finally {
      syncing = false;
    }
  };

  let connected = false;
  const beacon = async (): Promise<void> => {
    try {
      const response = await meta.callRpc(RPCS.RPC_FD_FAILURE_DETECTOR_PING, {
        time: BigInt(Date.now()), fromNode: parseHostPort(self), toNode: parseHostPort(metaAddress), startTime: startTimeMs,
        hpFromNode: parseHostPort(self), hpToNode: parseHostPort(metaAddress),
      });
      const accepted = response.error === 'ERR_OK' && response.result?.allowed === true;
      if (!accepted) beaconFailures.increment();
      if (accepted && !connected) {
        connected = true;
        log.info({ meta: metaAddress }, 'connected to the meta server');
        void configSync();
      }
    } catch {
      beaconFailures.increment();
      if (connected) log.warn({ meta: metaAddress }, 'beacon to the meta server failed');
      connected = false;
    }
  };

  // A proposal from the meta: carry it out and report the new configuration (ballot + 1).
  registerOnewayRpc(server.rpc, RPCS.RPC_CONFIG_PROPOSAL, async (proposal) => {
    const type = configTypeFromValue(proposal.type);
    const current = partitionConfigurationFromWire(proposal.config);
    const node = `${proposal.hpNode?.host ?? proposal.node.host}:${proposal.hpNode?.port ?? proposal.node.port}`;
    const next = type && applyConfigChange(current, type, node);
    if (!type || !next) {
      log.warn({ gpid: gpidText(current.gpid), type: proposal.type }, 'proposal ignored');
      return;
    }
    const response = await meta.callRpc(RPCS.RPC_CM_UPDATE_PARTITION_CONFIGURATION, {
      info: proposal.info, config: partitionConfigurationToWire(next), type: proposal.type, node: proposal.node, hostNode: parseHostPort(self),
      hpNode: proposal.hpNode,
    });
    if (response.error === 'ERR_OK' && response.result?.err === 'ERR_OK') {
      remember(proposal.info, partitionConfigurationFromWire(response.result.config));
    }
  });

  const beaconTimer = setInterval(() => void beacon(), fd.beaconIntervalMs);
  let syncTimer = setInterval(() => void configSync(), configSyncIntervalMs.value);
  onFlagChange(configSyncIntervalMs, () => {
    clearInterval(syncTimer);
    syncTimer = setInterval(() => void configSync(), configSyncIntervalMs.value);
  });
  void beacon();
  return async () => {
    clearInterval(beaconTimer);
    clearInterval(syncTimer);
    meta.close();
  };
}
