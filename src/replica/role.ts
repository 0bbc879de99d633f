// `pteron replica`: the replica server role. It keeps the meta informed (beacons, config sync
// with the replicas it stores and their decrees), hosts a replica for every partition the meta
// makes it a member of (opening and closing stores as configurations change), carries out the
// meta's configuration proposals, and serves the data plane for the partitions it leads.
// Replication to secondaries (PacificA) comes in later work: secondaries hold a store but get
// no data yet, and only primaries answer clients.
import { addServerStat, registerRemoteCommand } from '../diag/remote/index.ts';
import { replicaRemoteCommands } from '../diag/remote/replica-commands.ts';
import { formatHostPort, isInvalidHostPort, log, parseHostPort, parseHostPortList } from '../base/index.ts';
import { defineFlag, onFlagChange, type LoadedConfig } from '../config/index.ts';
import {
  appInfoFromWire, applyConfigChange, configTypeFromValue, failureDetectorOptionsFromFlags, gpidText, MetaGroupTarget, metaServerList,
  partitionConfigurationFromWire, partitionConfigurationToWire, type PartitionConfiguration,
} from '../meta/index.ts';
import { defineMetric, serverEntity } from '../metrics/index.ts';
import { registerOnewayRpc, RpcClient } from '../net/index.ts';
import { dataDir, type PteronServer } from '../runtime/index.ts';
import { PartitionStatus, RPCS, type AppInfo as WireAppInfo } from '../wire/index.ts';
import { registerDataPlane } from './data-plane.ts';
import { registerReplicaHttpCalls } from './http.ts';
import { ReplicaStub } from './stub.ts';

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
const inactiveReplicasMetric = defineMetric({ entityType: 'server', type: 'Gauge', name: 'inactive_replicas', unit: 'Replicas', desc: 'The number of inactive replicas' });
const errorReplicasMetric = defineMetric({ entityType: 'server', type: 'Gauge', name: 'error_replicas', unit: 'Replicas', desc: 'The number of replicas with errors' });
const beaconFailedMetric = defineMetric({ entityType: 'server', type: 'Counter', name: 'beacon_failed_count', unit: 'Beacons', desc: 'The number of failed beacons sent by failure detector' });

export async function installReplica(server: PteronServer, _config: LoadedConfig): Promise<() => Promise<void>> {
  const self = `${server.identity.host}:${server.identity.port}`;
  const startTimeMs = BigInt(server.identity.startTime.getTime());
  // The meta to talk to: the first listed, then whichever the beacon acks name as primary, or
  // the next listed one when the current one does not answer (spec pegasus-arch §2.6).
  const metaGroup = new MetaGroupTarget(parseHostPortList(metaServerList.value).map(formatHostPort));
  let metaAddress = metaGroup.current;
  let meta = new RpcClient(parseHostPort(metaAddress), { timeoutMs: 3000 });
  const fd = failureDetectorOptionsFromFlags();
  const stub = new ReplicaStub({ self, dataDir: dataDir.value });
  const loaded = await stub.loadFromDisk();
  if (loaded > 0) log.info({ replicas: loaded }, 'replicas found on disk');
  registerDataPlane(server.rpc, stub);
  registerReplicaHttpCalls(server.router, stub);
  for (const spec of replicaRemoteCommands(stub)) registerRemoteCommand(server, spec);
  addServerStat(server.rpc, () => [
    ['replica_count', stub.replicas().length],
    ['primary_replica_count', stub.replicas().filter((replica) => replica.status === PartitionStatus.PS_PRIMARY).length],
  ]);

  const countWith = (status: PartitionStatus) => () => stub.replicas().filter((replica) => replica.status === status).length;
  const entity = serverEntity();
  entity.gauge(totalReplicasMetric).sampleWith(() => stub.replicas().length);
  entity.gauge(primaryReplicasMetric).sampleWith(countWith(PartitionStatus.PS_PRIMARY));
  entity.gauge(secondaryReplicasMetric).sampleWith(countWith(PartitionStatus.PS_SECONDARY));
  entity.gauge(inactiveReplicasMetric).sampleWith(countWith(PartitionStatus.PS_INACTIVE));
  entity.gauge(errorReplicasMetric).sampleWith(countWith(PartitionStatus.PS_ERROR));
  const beaconFailures = entity.counter(beaconFailedMetric);

  const remember = (info: WireAppInfo, config: PartitionConfiguration): void => stub.update(appInfoFromWire(info), config);

  let syncing = false;
  const configSync = async (): Promise<void> => {
    if (syncing) return;
    syncing = true;
    try {
      const sentAtSeq = stub.updateSeq;
      const response = await meta.callRpc(RPCS.RPC_CM_CONFIG_SYNC, {
        node: parseHostPort(self), hpNode: parseHostPort(self), storedReplicas: stub.storedReplicas(),
      });
      if (response.error !== 'ERR_OK' || !response.result || response.result.err !== 'ERR_OK') return;
      const listed = new Set<string>();
      for (const update of response.result.partitions) {
        const config = partitionConfigurationFromWire(update.config);
        listed.add(gpidText(config.gpid));
        remember(update.info, config);
      }
      stub.retainOnly(listed, sentAtSeq);
      if (response.result.gcReplicas && response.result.gcReplicas.length > 0) await stub.collectGarbage(response.result.gcReplicas);
    } catch (error) {
      log.debug({ err: (error as Error).message }, 'config sync failed');
    } finally {
      syncing = false;
    }
  };

  let connected = false;
  const switchMeta = (next: string): boolean => {
    if (next === metaAddress) return false;
    log.info({ from: metaAddress, to: next }, 'switching to another meta server');
    meta.close();
    metaAddress = next;
    meta = new RpcClient(parseHostPort(metaAddress), { timeoutMs: 3000 });
    connected = false;
    return true;
  };
  /** One beacon; after a switch to another meta, beacons it at once (at most once per listed meta). */
  const beacon = async (hopsLeft = metaGroup.list.length): Promise<void> => {
    const target = meta;
    let next: string | undefined;
    try {
      const response = await target.callRpc(RPCS.RPC_FD_FAILURE_DETECTOR_PING, {
        time: BigInt(Date.now()), fromNode: parseHostPort(self), toNode: parseHostPort(metaAddress), startTime: startTimeMs,
        hpFromNode: parseHostPort(self), hpToNode: parseHostPort(metaAddress),
      });
      if (target !== meta) return;
      const ack = response.error === 'ERR_OK' ? response.result : undefined;
      const accepted = ack?.allowed === true && ack.isMaster;
      if (!accepted) beaconFailures.increment();
      if (ack && !ack.isMaster) {
        const primary = ack.hpPrimaryNode ?? ack.primaryNode;
        next = metaGroup.redirected(isInvalidHostPort(primary) ? undefined : formatHostPort(primary));
      } else if (accepted && !connected) {
        connected = true;
        log.info({ meta: metaAddress }, 'connected to the meta server');
        void configSync();
      }
    } catch {
      if (target !== meta) return;
      beaconFailures.increment();
      if (connected) log.warn({ meta: metaAddress }, 'beacon to the meta server failed');
      connected = false;
      next = metaGroup.unreachable();
    }
    if (next !== undefined && switchMeta(next) && hopsLeft > 1) await beacon(hopsLeft - 1);
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
    // The replica that carries out the change reports how far it has committed.
    const local = stub.find(current.gpid.appId, current.gpid.partitionIndex);
    if (local !== undefined) next.lastCommittedDecree = Math.max(next.lastCommittedDecree, local.lastCommittedDecree);
    const response = await meta.callRpc(RPCS.RPC_CM_UPDATE_PARTITION_CONFIGURATION, {
      info: proposal.info, config: partitionConfigurationToWire(next), type: proposal.type, node: proposal.node, hostNode: parseHostPort(self),
      hpNode: proposal.hpNode,
    }).catch((error: unknown) => {
      log.warn({ gpid: gpidText(current.gpid), err: (error as Error).message }, 'configuration update not delivered; the meta proposes again');
      return undefined;
    });
    if (response?.error === 'ERR_OK' && response.result?.err === 'ERR_OK') {
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
    await stub.close();
  };
}
