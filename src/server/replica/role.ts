// `pteron replica`: the replica server role. It keeps the meta informed (beacons, config sync
// with the replicas it stores and their decrees), hosts a replica for every partition the meta
// makes it a member of (opening and closing stores as configurations change), carries out the
// meta's configuration proposals, carries the replicas' PacificA messages to and from other
// replica servers, and serves the data plane for the partitions it leads. Replicas serve only
// while the meta acknowledges this server's beacons within the lease (spec pegasus-arch §2.6),
// so a server cut off from the meta stops answering before the meta hands its partitions on.
// It also runs the replicas' hot-key collectors (RPC_DETECT_HOTKEY) and their analysis timer,
// and hands the split status each config sync brings to the splitting parents (replica/split/).
import path from 'node:path';
import { addServerStat, registerRemoteCommand } from '../../diag/remote/index.ts';
import { ClientGate, replicaRemoteCommands } from './commands.ts';
import { formatHostPort, isInvalidHostPort, log, parseHostPort, parseHostPortList, PteronError } from '../../base/index.ts';
import { blockServicesFromConfig } from '../../block/index.ts';
import type { ReplicaStore } from '../../storage/index.ts';
import { defineFlag, onFlagChange, type LoadedConfig } from '../../config/index.ts';
import { ClientDuplicateSender, startDuplicationSync } from './duplication.ts';
import { appInfoFromJson, appInfoFromWire, appInfoToJson, appInfoToWire, CONFIG_TYPE_VALUES, duplicationGroupFromConfig, gpidText, livenessTimingFromFlags, metaServerList, partitionConfigurationFromWire, partitionConfigurationToWire, SPLIT_STATUS_VALUES, splitStatusFromValue, type AppInfo, type ConfigType, type PartitionConfiguration } from '../../cluster/index.ts';
import { defineMetric, serverEntity } from '../../metrics/index.ts';
import { registerOnewayRpc, registerTypedRpc, RpcClient } from '../../net/index.ts';
import { dataDir, type PteronServer } from '../server.ts';
import { PartitionStatus, RPCS } from '../../wire/index.ts';
import { registerDataPlane } from '../../replica/data-plane.ts';
import { collectorSettingsFromFlags, hotkeyAnalyseTimeIntervalS, HotkeyDetectors } from '../../replica/hotkey/index.ts';
import { updateRdbStatIntervalS } from '../../replica/flags.ts';
import { registerReplicaHttpCalls } from '../../replica/http.ts';
import { MetaLink, proposedConfiguration, type MetaLinkAction, type MetaLinkEvent } from '../../replica/meta-link.ts';
import { CheckpointServer, fetchCheckpoint, PEER_RPCS, peerMessageFromWire, PeerTransport } from '../../replica/peers.ts';
import { ColdBackups } from '../../replica/cold-backup.ts';
import { ReplicaBulkLoads } from '../../replica/bulk-load.ts';
import { membershipOf, type Replica, type ReplicaServices } from '../../replica/replica.ts';
import { restorePartition, restoreSourceOf } from '../../replica/restore.ts';
import { ParentSplits } from '../../replica/split/index.ts';
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

/** How long the meta gets to answer an RPC; an unanswered beacon counts as failed after it. */
const META_RPC_TIMEOUT_MS = 3000;

/** How long a graceful stop waits for the meta to take this server out of its partitions. */
const GRACEFUL_LEAVE_MS_MAX = 3000;

export async function installReplica(server: PteronServer, config: LoadedConfig): Promise<() => Promise<void>> {
  const self = `${server.identity.host}:${server.identity.port}`;
  const startTimeMs = BigInt(server.identity.startTime.getTime());
  // Beacons, the lease, the choice of meta and the config sync (src/replica/meta-link.ts).
  const clockMs = (): number => Date.now();
  const liveness = livenessTimingFromFlags();
  const link = new MetaLink({
    self, metas: parseHostPortList(metaServerList.value).map(formatHostPort), leaseMs: liveness.leaseMs,
    beaconIntervalMs: liveness.beaconIntervalMs, configSyncIntervalMs: configSyncIntervalMs.value, answerTimeoutMs: META_RPC_TIMEOUT_MS,
  }, clockMs());
  let meta = new RpcClient(parseHostPort(link.meta), { timeoutMs: META_RPC_TIMEOUT_MS });
  const peers = new PeerTransport(self, 5000);
  const duplicationGroup = duplicationGroupFromConfig(config);
  const duplicateSender = new ClientDuplicateSender(duplicationGroup);
  const checkpoints = new CheckpointServer(path.join(dataDir.value, 'replica', 'learn'));
  await checkpoints.clearLeftovers();
  const services: ReplicaServices = {
    sendPeer: (to, replica, message) => {
      // A new learner opens its replica from the table the primary sends along.
      const extra = message.type === 'add_learner' ? { appInfo: appInfoToJson(replica.info) } : {};
      peers.send(to, replica.gpid, message, extra);
    },
    requestChange: (replica, type, node) => {
      if (replica.config !== undefined) void requestConfigurationChange(replica.info, replica.config, type, node, replica.lastCommittedDecree);
    },
    fetchCheckpoint: (replica, store, from, signature) =>
      fetchCheckpoint(peers.client(from), replica.gpid, replica.keyPartitionCount, self, signature, store, path.join(replica.dir, 'learn')),
    leaseValid: () => link.leaseValid(clockMs()),
    duplication: { clusterId: duplicationGroup.ownClusterIdOrZero(), sender: duplicateSender },
    restore: (replica, store) => restoreReplica(replica, store),
    ingestBulkLoad: (replica, store, request, decree) => bulkLoads.ingest(replica, store, request, decree),
  };
  const blockServices = blockServicesFromConfig(config);
  const stub = new ReplicaStub({ self, dataDir: dataDir.value, services });
  const coldBackups = new ColdBackups({ self, blockServices, find: (gpid) => stub.find(gpid.appId, gpid.partitionIndex) });
  registerTypedRpc(server.rpc, RPCS.RPC_COLD_BACKUP, (request) => coldBackups.handle(request));
  const bulkLoads = new ReplicaBulkLoads({ self, blockServices, find: (gpid) => stub.find(gpid.appId, gpid.partitionIndex) });
  registerTypedRpc(server.rpc, RPCS.RPC_BULK_LOAD, (request) => bulkLoads.handle(request));

  /**
   * Fills a restored table's first primary from the backup and tells the meta how it went. Data
   * that is missing or damaged (without skip_bad_partition) fails the open and drops the table,
   * as Pegasus rolls a failed restore back.
   */
  async function restoreReplica(replica: Replica, store: ReplicaStore): Promise<void> {
    const source = restoreSourceOf(replica.info.envs)!;
    const outcome = await restorePartition(source, replica.gpid.partitionIndex, store, blockServices, replica.dir);
    log.info({ gpid: gpidText(replica.gpid), status: outcome.status, decree: outcome.decree, reason: outcome.reason || undefined }, 'partition restored from a cold backup');
    const report = { pid: replica.gpid, restoreStatus: outcome.status, progress: outcome.progress, ...(outcome.reason !== '' && { reason: outcome.reason }) };
    meta.callRpc(RPCS.RPC_CM_REPORT_RESTORE_STATUS, report).catch((error: unknown) => {
      log.warn({ gpid: gpidText(replica.gpid), err: (error as Error).message }, 'restore status not reported to the meta');
    });
    if (outcome.status !== 'ERR_CORRUPTION') return;
    meta.callRpc(RPCS.RPC_CM_DROP_APP, { appName: replica.info.appName, options: { successIfNotExist: true, reserveSeconds: 1n } }).catch((error: unknown) => {
      log.warn({ app: replica.info.appName, err: (error as Error).message }, 'dropping the table of a failed restore was not delivered');
    });
    throw new PteronError('ERR_CORRUPTION', `restore of ${gpidText(replica.gpid)} failed: ${outcome.reason}`);
  }
  const splits = new ParentSplits({
    self,
    ...(stub.storeEngineFactory && { engineFactory: stub.storeEngineFactory }),
    registerChild: async ({ app, parentConfig, childConfig }) => {
      const response = await meta.callRpc(RPCS.RPC_CM_REGISTER_CHILD_REPLICA, {
        app: appInfoToWire(app), parentConfig: partitionConfigurationToWire(parentConfig), childConfig: partitionConfigurationToWire(childConfig),
        primary: parseHostPort(self), hpPrimary: parseHostPort(self),
      });
      const result = response.error === 'ERR_OK' ? response.result : undefined;
      if (!result) return { err: response.error };
      return { err: result.err, app: appInfoFromWire(result.app), childConfig: partitionConfigurationFromWire(result.childConfig) };
    },
    notifyStopSplit: async ({ appName, parentGpid, status, partitionCount }) => {
      const response = await meta.callRpc(RPCS.RPC_CM_NOTIFY_STOP_SPLIT, { appName, parentGpid, metaSplitStatus: SPLIT_STATUS_VALUES[status], partitionCount });
      return response.error === 'ERR_OK' && response.result ? response.result.err : response.error;
    },
    replicaDirOf: (gpid) => stub.replicaDirOf(gpid),
    hostsOpen: (gpid) => stub.find(gpid.appId, gpid.partitionIndex) !== undefined,
    expectChild: (gpid, dataBallot) => stub.expectSplitChild(gpid, dataBallot),
    openChild: (app, config) => stub.update(app, config),
  });
  const loaded = await stub.loadFromDisk();
  if (loaded > 0) log.info({ replicas: loaded }, 'replicas found on disk');
  const clientGate = new ClientGate();
  const hotkeys = new HotkeyDetectors(stub, collectorSettingsFromFlags(() => Math.floor(Date.now() / 1000)));
  registerDataPlane(clientGate.gatedRpc(server.rpc), stub, hotkeys, duplicationGroup);
  // An operator's request, not a client's: replica.deny-client does not refuse it.
  registerTypedRpc(server.rpc, RPCS.RPC_DETECT_HOTKEY, (request) => hotkeys.handle(request));
  // A meta in recovery mode rebuilds its tables and partitions from what each replica server holds.
  registerTypedRpc(server.rpc, RPCS.RPC_QUERY_APP_INFO, () => ({ err: 'ERR_OK', apps: stub.storedApps().map(appInfoToWire) }));
  registerTypedRpc(server.rpc, RPCS.RPC_QUERY_REPLICA_INFO, () => ({ err: 'ERR_OK', replicas: stub.storedReplicas() }));
  const hotkeyTimer = setInterval(() => hotkeys.analyse(), hotkeyAnalyseTimeIntervalS.value * 1000);
  // A round that outlasts the interval (large stores) is not overlapped by the next.
  let storageStatRound: Promise<void> | undefined;
  const storageStatTimer = setInterval(() => {
    storageStatRound ??= refreshStorageStats(stub).finally(() => (storageStatRound = undefined));
  }, updateRdbStatIntervalS.value * 1000);
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
  for (const spec of replicaRemoteCommands(stub, clientGate, hotkeys)) registerRemoteCommand(server, spec);
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

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  /** Feeds `event` to the link, carries out its actions and waits for the next due tick. */
  const step = (event: MetaLinkEvent): void => {
    if (stopped) return;
    for (const action of link.step(event, clockMs())) perform(action);
    clearTimeout(timer);
    timer = setTimeout(() => step({ kind: 'tick' }), Math.max(0, link.nextDueMs - clockMs()));
  };

  const perform = (action: MetaLinkAction): void => {
    switch (action.kind) {
      case 'send_beacon': {
        const to = parseHostPort(action.to);
        meta.callRpc(RPCS.RPC_FD_FAILURE_DETECTOR_PING, {
          time: BigInt(action.sentMs), fromNode: parseHostPort(self), toNode: to, startTime: startTimeMs, hpFromNode: parseHostPort(self), hpToNode: to,
        }).then((response) => {
          const ack = response.error === 'ERR_OK' ? response.result : undefined;
          if (!ack) return step({ kind: 'beacon_answered', beaconId: action.beaconId, allowed: false, isPrimary: true, primary: undefined });
          const primary = ack.hpPrimaryNode ?? ack.primaryNode;
          step({ kind: 'beacon_answered', beaconId: action.beaconId, allowed: ack.allowed, isPrimary: ack.isMaster, primary: isInvalidHostPort(primary) ? undefined : formatHostPort(primary) });
        }, () => step({ kind: 'beacon_failed', beaconId: action.beaconId }));
        return;
      }
      case 'send_config_sync': {
        const updateSeqAtSend = stub.updateSeq;
        meta.callRpc(RPCS.RPC_CM_CONFIG_SYNC, { node: parseHostPort(self), hpNode: parseHostPort(self), storedReplicas: stub.storedReplicas() }).then((response) => {
          const result = response.error === 'ERR_OK' ? response.result : undefined;
          if (!result || result.err !== 'ERR_OK') return step({ kind: 'sync_failed', syncId: action.syncId });
          const partitions = result.partitions.map((update) => ({ info: appInfoFromWire(update.info), config: partitionConfigurationFromWire(update.config) }));
          step({ kind: 'sync_answered', syncId: action.syncId, partitions, garbage: result.gcReplicas ?? [], updateSeqAtSend });
          splits.onConfigSync(result.partitions.flatMap((update, index) => {
            const replica = stub.find(update.config.pid.appId, update.config.pid.partitionIndex);
            const status = update.metaSplitStatus === undefined ? undefined : splitStatusFromValue(update.metaSplitStatus);
            return replica ? [{ replica, info: partitions[index]!.info, status }] : [];
          }));
        }, (error: unknown) => {
          log.debug({ err: (error as Error).message }, 'config sync failed');
          step({ kind: 'sync_failed', syncId: action.syncId });
        });
        return;
      }
      case 'switch_meta':
        log.info({ from: action.from, to: action.to }, 'switching to another meta server');
        meta.close();
        meta = new RpcClient(parseHostPort(action.to), { timeoutMs: META_RPC_TIMEOUT_MS });
        return;
      case 'connected':
        log.info({ meta: action.meta }, 'connected to the meta server');
        return;
      case 'beacon_lost':
        beaconFailures.increment();
        if (action.unreachable && action.wasConnected) log.warn({ meta: action.meta }, 'beacon to the meta server failed');
        return;
      case 'assign':
        stub.update(action.info, action.config);
        return;
      case 'retain_only':
        stub.retainOnly(action.listed, action.updateSeqAtSend);
        return;
      case 'collect_garbage':
        void stub.collectGarbage(action.replicas);
        return;
      case 'add_learner':
        void stub.addLearner(action.gpid, action.ballot, action.node);
        return;
      case 'update_config':
        void sendConfigurationUpdate(action.info, action.config, action.type, action.node);
        return;
      case 'proposal_ignored':
        log.warn({ gpid: gpidText(action.gpid), type: action.type }, 'proposal ignored');
        return;
    }
  };

  /**
   * Asks the meta to move the partition to `next` (ballot + 1) by `type` of `node`; the answer
   * updates the replica. Resolves with the configuration the meta accepted, if it did.
   */
  const sendConfigurationUpdate = async (info: AppInfo, next: PartitionConfiguration, type: ConfigType, node: string): Promise<PartitionConfiguration | undefined> => {
    const response = await meta.callRpc(RPCS.RPC_CM_UPDATE_PARTITION_CONFIGURATION, {
      info: appInfoToWire(info), config: partitionConfigurationToWire(next), type: CONFIG_TYPE_VALUES[type], node: parseHostPort(node), hostNode: parseHostPort(self),
      hpNode: parseHostPort(node),
    }).catch((error: unknown) => {
      log.warn({ gpid: gpidText(next.gpid), err: (error as Error).message }, 'configuration update not delivered; it is asked for again');
      return undefined;
    });
    const result = response?.error === 'ERR_OK' ? response.result : undefined;
    // The meta's answer carries its current configuration, also when it refused a stale request.
    if (!result || (result.err !== 'ERR_OK' && result.err !== 'ERR_INVALID_VERSION')) return undefined;
    const accepted = partitionConfigurationFromWire(result.config);
    stub.update(info, accepted);
    return result.err === 'ERR_OK' ? accepted : undefined;
  };

  /** A replica's own request to change its partition from `current`; the replica reports how far it has committed. */
  const requestConfigurationChange = async (
    info: AppInfo, current: PartitionConfiguration, type: ConfigType, node: string, lastCommitted: number,
  ): Promise<PartitionConfiguration | undefined> => {
    const next = proposedConfiguration(current, type, node, lastCommitted);
    if (next) return sendConfigurationUpdate(info, next, type, node);
    log.warn({ gpid: gpidText(current.gpid), type, node }, 'configuration change does not fit the current membership');
    return undefined;
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
      const next = await requestConfigurationChange(replica.info, replica.config!, 'CT_DOWNGRADE_TO_INACTIVE', self, replica.lastCommittedDecree);
      if (next && !wasPrimary && next.primary !== '') {
        peers.send(next.primary, replica.gpid, { type: 'group_check', membership: membershipOf(next), lastCommitted: 0, learnerSignature: 0 });
      }
    }));
    await Promise.race([handOver, new Promise((resolve) => setTimeout(resolve, GRACEFUL_LEAVE_MS_MAX).unref())]);
  };

  registerOnewayRpc(server.rpc, RPCS.RPC_CONFIG_PROPOSAL, (proposal) => {
    const config = partitionConfigurationFromWire(proposal.config);
    const node = `${proposal.hpNode?.host ?? proposal.node.host}:${proposal.hpNode?.port ?? proposal.node.port}`;
    const local = stub.find(config.gpid.appId, config.gpid.partitionIndex);
    step({
      kind: 'proposal', info: appInfoFromWire(proposal.info), config, type: proposal.type, node,
      local: local && { ballot: local.ballot, lastCommitted: local.lastCommittedDecree },
    });
  });
  onFlagChange(configSyncIntervalMs, () => step({ kind: 'sync_interval_changed', intervalMs: configSyncIntervalMs.value }));
  step({ kind: 'tick' });
  const stopDuplicationSync = startDuplicationSync(self, stub, () => meta);
  return async () => {
    await leaveGracefully();
    stopped = true;
    clearTimeout(timer);
    clearInterval(hotkeyTimer);
    stopDuplicationSync();
    clearInterval(storageStatTimer);
    meta.close();
    await stub.close();
    peers.close();
    await duplicateSender.close();
    await checkpoints.close();
  };
}

/** One round of the replicas' storage gauges, one replica at a time (each may scan its keys). */
async function refreshStorageStats(stub: ReplicaStub): Promise<void> {
  for (const replica of stub.replicas()) {
    try {
      await replica.refreshStorageStats();
    } catch (error) {
      // A store closed or failed mid-count: the next round counts again.
      log.debug({ gpid: gpidText(replica.gpid), err: (error as Error).message }, 'storage statistics not updated');
    }
  }
}
