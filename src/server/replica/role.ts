// `pteron replica`: the replica server role. It keeps the meta informed (beacons, config sync
// with the replicas it stores and their decrees), hosts a replica for every partition the meta
// makes it a member of (opening and closing stores as configurations change), carries out the
// meta's configuration proposals, carries the replicas' PacificA messages to and from other
// replica servers, and serves the data plane for the partitions it leads. Replicas serve only
// while the meta acknowledges this server's beacons within the lease (spec pegasus-arch §2.6),
// so a server cut off from the meta stops answering before the meta hands its partitions on.
import path from 'node:path';
import { addServerStat, registerRemoteCommand } from '../../diag/remote/index.ts';
import { replicaRemoteCommands } from './commands.ts';
import { formatHostPort, isInvalidHostPort, log, parseHostPort, parseHostPortList } from '../../base/index.ts';
import { defineFlag, onFlagChange, type LoadedConfig } from '../../config/index.ts';
import { appInfoFromJson, appInfoFromWire, appInfoToJson, appInfoToWire, applyConfigChange, CONFIG_TYPE_VALUES, configTypeFromValue, fdBeaconIntervalSeconds, fdLeaseSeconds, gpidText, MetaGroupTarget, metaServerList, partitionConfigurationFromWire, partitionConfigurationToWire, type AppInfo, type ConfigType, type PartitionConfiguration } from '../../cluster/index.ts';
import { defineMetric, serverEntity } from '../../metrics/index.ts';
import { registerOnewayRpc, registerTypedRpc, RpcClient } from '../../net/index.ts';
import { dataDir, type PteronServer } from '../server.ts';
import { PartitionStatus, RPCS, type AppInfo as WireAppInfo } from '../../wire/index.ts';
import { registerDataPlane } from '../../replica/data-plane.ts';
import { registerReplicaHttpCalls } from '../../replica/http.ts';
import { CheckpointServer, fetchCheckpoint, PEER_RPCS, peerMessageFromWire, PeerTransport } from '../../replica/peers.ts';
import { membershipOf, type ReplicaServices } from '../../replica/replica.ts';
import { ReplicaStub } from '../../replica/stub.ts';

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

/** How long a graceful stop waits for the meta to take this server out of its partitions. */
const GRACEFUL_LEAVE_MS_MAX = 3000;

export async function installReplica(server: PteronServer, _config: LoadedConfig): Promise<() => Promise<void>> {
  const self = `${server.identity.host}:${server.identity.port}`;
  const startTimeMs = BigInt(server.identity.startTime.getTime());
  // The meta to talk to: the first listed, then whichever the beacon acks name as primary, or
  // the next listed one when the current one does not answer (spec pegasus-arch §2.6).
  const metaGroup = new MetaGroupTarget(parseHostPortList(metaServerList.value).map(formatHostPort));
  let metaAddress = metaGroup.current;
  let meta = new RpcClient(parseHostPort(metaAddress), { timeoutMs: 3000 });
  const fd = { leaseMs: fdLeaseSeconds.value * 1000, beaconIntervalMs: fdBeaconIntervalSeconds.value * 1000 };
  // When the newest beacon the meta acknowledged was sent: replicas serve within the lease after it.
  let lastAckedBeaconSentMs = Number.NEGATIVE_INFINITY;
  // After the lease lapsed, the partitions may have moved on without this server: it serves again
  // only once a config sync sent after the lease came back has told it what it still leads.
  let syncNeededSinceMs: number | undefined = 0;
  const peers = new PeerTransport(self, 5000);
  const checkpoints = new CheckpointServer(path.join(dataDir.value, 'replica', 'learn'));
  await checkpoints.clearLeftovers();
  const services: ReplicaServices = {
    sendPeer: (to, replica, message) => {
      // A new learner opens its replica from the table the primary sends along.
      const extra = message.type === 'add_learner' ? { appInfo: appInfoToJson(replica.info) } : {};
      peers.send(to, replica.gpid, message, extra);
    },
    requestChange: (replica, type, node) => {
      if (replica.config === undefined) return;
      void sendConfigurationUpdate(replica.info, replica.config, type, node, replica.lastCommittedDecree);
    },
    fetchCheckpoint: (replica, store, from, signature) =>
      fetchCheckpoint(peers.client(from), replica.gpid, replica.info.partitionCount, self, signature, store, path.join(replica.dir, 'learn')),
    leaseValid: () => syncNeededSinceMs === undefined && Date.now() - lastAckedBeaconSentMs < fd.leaseMs,
  };
  const stub = new ReplicaStub({ self, dataDir: dataDir.value, services });
  const loaded = await stub.loadFromDisk();
  if (loaded > 0) log.info({ replicas: loaded }, 'replicas found on disk');
  registerDataPlane(server.rpc, stub);
  registerReplicaHttpCalls(server.router, stub);
  for (const definition of Object.values(PEER_RPCS)) {
    registerOnewayRpc(server.rpc, definition, (wire) => {
      let message;
      let appInfo: AppInfo | undefined;
      try {
        message = peerMessageFromWire(wire);
        if (wire.appInfo !== undefined) appInfo = appInfoFromJson(wire.appInfo);
      } catch (error) {
        log.warn({ from: wire.from, type: wire.type, err: (error as Error).message }, 'malformed peer message dropped');
        return;
      }
      stub.onPeerMessage(wire.gpid, wire.from, message, appInfo);
    });
  }
  registerTypedRpc(server.rpc, RPCS.RPC_LEARN_CHECKPOINT_CHUNK, async (request) => {
    const replica = stub.find(request.gpid.appId, request.gpid.partitionIndex);
    const offered = replica?.checkpointForLearner(request.learner);
    const empty = { decree: 0n, totalBytes: 0n, data: Buffer.alloc(0), eof: true };
    if (!replica || !offered || BigInt(offered.signature) !== request.signature) {
      return { err: 'ERR_OBJECT_NOT_FOUND', ...empty };
    }
    try {
      const chunk = await checkpoints.chunk(replica.gpid, offered.store, request.learner, offered.signature, Number(request.offset));
      return { err: 'ERR_OK', decree: BigInt(chunk.decree), totalBytes: BigInt(chunk.totalBytes), data: chunk.data, eof: chunk.eof };
    } catch (error) {
      log.warn({ gpid: gpidText(request.gpid), learner: request.learner, err: (error as Error).message }, 'serving a checkpoint chunk failed');
      return { err: 'ERR_GET_LEARN_STATE_FAILED', ...empty };
    }
  });
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
      const sentMs = Date.now();
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
      if (syncNeededSinceMs !== undefined && sentMs >= syncNeededSinceMs) syncNeededSinceMs = undefined;
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
    const sentMs = Date.now();
    try {
      const response = await target.callRpc(RPCS.RPC_FD_FAILURE_DETECTOR_PING, {
        time: BigInt(sentMs), fromNode: parseHostPort(self), toNode: parseHostPort(metaAddress), startTime: startTimeMs,
        hpFromNode: parseHostPort(self), hpToNode: parseHostPort(metaAddress),
      });
      if (target !== meta) return;
      const ack = response.error === 'ERR_OK' ? response.result : undefined;
      const accepted = ack?.allowed === true && ack.isMaster;
      if (!accepted) beaconFailures.increment();
      else {
        if (sentMs - lastAckedBeaconSentMs >= fd.leaseMs && syncNeededSinceMs === undefined) syncNeededSinceMs = sentMs;
        lastAckedBeaconSentMs = Math.max(lastAckedBeaconSentMs, sentMs);
        if (syncNeededSinceMs !== undefined && connected) void configSync();
      }
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

  /**
   * Asks the meta to apply `type` of `node` to `current` (ballot + 1); the answer updates the
   * replica. Resolves with the configuration the meta accepted, if it did.
   */
  const sendConfigurationUpdate = async (
    info: AppInfo, current: PartitionConfiguration, type: ConfigType, node: string, lastCommitted: number,
  ): Promise<PartitionConfiguration | undefined> => {
    const next = applyConfigChange(current, type, node);
    if (!next) {
      log.warn({ gpid: gpidText(current.gpid), type, node }, 'configuration change does not fit the current membership');
      return undefined;
    }
    // The replica that carries out the change reports how far it has committed.
    next.lastCommittedDecree = Math.max(next.lastCommittedDecree, lastCommitted);
    const wireInfo = appInfoToWire(info);
    const response = await meta.callRpc(RPCS.RPC_CM_UPDATE_PARTITION_CONFIGURATION, {
      info: wireInfo, config: partitionConfigurationToWire(next), type: CONFIG_TYPE_VALUES[type], node: parseHostPort(node), hostNode: parseHostPort(self),
      hpNode: parseHostPort(node),
    }).catch((error: unknown) => {
      log.warn({ gpid: gpidText(current.gpid), err: (error as Error).message }, 'configuration update not delivered; it is asked for again');
      return undefined;
    });
    const result = response?.error === 'ERR_OK' ? response.result : undefined;
    // The meta's answer carries its current configuration, also when it refused a stale request.
    if (!result || (result.err !== 'ERR_OK' && result.err !== 'ERR_INVALID_VERSION')) return undefined;
    const accepted = partitionConfigurationFromWire(result.config);
    remember(wireInfo, accepted);
    return result.err === 'ERR_OK' ? accepted : undefined;
  };

  /**
   * Before a graceful stop: this server takes itself out of every partition it serves, so that
   * neither clients nor primaries wait for the failure detector. A primary's partition gets a
   * new primary from the meta at once; a secondary's primary is handed the new membership
   * directly (a newer ballot is adopted from whoever brings it). Bounded in time.
   */
  const leaveGracefully = async (): Promise<void> => {
    const leaving = stub.replicas().filter((replica) => replica.config !== undefined && (replica.role === 'primary' || replica.role === 'secondary'));
    if (leaving.length === 0) return;
    log.info({ replicas: leaving.length }, 'leaving every partition before stopping');
    const handOver = Promise.all(leaving.map(async (replica) => {
      const wasPrimary = replica.role === 'primary';
      const next = await sendConfigurationUpdate(replica.info, replica.config!, 'CT_DOWNGRADE_TO_INACTIVE', self, replica.lastCommittedDecree);
      if (next && !wasPrimary && next.primary !== '') {
        peers.send(next.primary, replica.gpid, { type: 'group_check', membership: membershipOf(next), lastCommitted: 0, learnerSignature: 0 });
      }
    }));
    await Promise.race([handOver, new Promise((resolve) => setTimeout(resolve, GRACEFUL_LEAVE_MS_MAX).unref())]);
  };

  // A proposal from the meta. Adding a secondary starts a learner on the primary (it is
  // promoted once it caught up); every other change is carried out and reported at once.
  registerOnewayRpc(server.rpc, RPCS.RPC_CONFIG_PROPOSAL, async (proposal) => {
    const type = configTypeFromValue(proposal.type);
    const current = partitionConfigurationFromWire(proposal.config);
    const node = `${proposal.hpNode?.host ?? proposal.node.host}:${proposal.hpNode?.port ?? proposal.node.port}`;
    const local = stub.find(current.gpid.appId, current.gpid.partitionIndex);
    if (!type || !applyConfigChange(current, type, node)) {
      log.warn({ gpid: gpidText(current.gpid), type: proposal.type }, 'proposal ignored');
      return;
    }
    if (type === 'CT_ADD_SECONDARY' || type === 'CT_ADD_SECONDARY_FOR_LB') {
      // The meta proposes the next secondary as soon as the previous change is written, often
      // before that change reached this primary: like Pegasus, a newer configuration that the
      // proposal carries is adopted first, or the partition would wait for the next sweep.
      if (current.primary === self && (local === undefined || local.ballot < current.ballot)) remember(proposal.info, current);
      await stub.addLearner(current.gpid, current.ballot, node);
      return;
    }
    await sendConfigurationUpdate(appInfoFromWire(proposal.info), current, type, node, local?.lastCommittedDecree ?? 0);
  });

  const beaconTimer = setInterval(() => void beacon(), fd.beaconIntervalMs);
  let syncTimer = setInterval(() => void configSync(), configSyncIntervalMs.value);
  onFlagChange(configSyncIntervalMs, () => {
    clearInterval(syncTimer);
    syncTimer = setInterval(() => void configSync(), configSyncIntervalMs.value);
  });
  void beacon();
  return async () => {
    await leaveGracefully();
    clearInterval(beaconTimer);
    clearInterval(syncTimer);
    meta.close();
    await stub.close();
    peers.close();
    await checkpoints.close();
  };
}
