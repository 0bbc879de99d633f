// `pteron meta`: the meta server role. Opens the state store, serves the meta RPCs (client
// routing, table DDL, replica counts, atomic idempotence, ddd diagnosis, manual compaction, duplication, partition split, the function level and balancer proposals,
// replica-server beacons, config sync and configuration updates) and the /meta/* admin calls, sends the guardian's proposals to replica servers, and
// runs the failure detector and guardian on timers.
//
// With the simple store this meta is always the primary. With ZooKeeper (several metas) it is
// the primary only while it holds the leader lock (zk/meta-group.ts); otherwise it is a backup:
// every /meta/* call answers 307 to the primary (http.ts), every meta RPC answers
// ERR_FORWARD_TO_OTHERS in its response (the partition-config query with the primary in
// partitions[0].primary), and beacon acks say is_master=false with the primary as
// primary_node. A primary still reading its state answers ERR_SERVICE_NOT_ACTIVE over RPC and
// 503 over HTTP.
import path from 'node:path';
import { formatHostPort, INVALID_HOST_PORT, log, parseHostPortList, PteronError, type ErrorName } from '../../base/index.ts';
import type { LoadedConfig } from '../../config/index.ts';
import { blockServicesFromConfig } from '../../block/index.ts';
import { registerBackupRpcs } from './backup-rpcs.ts';
import { registerBulkLoadRpcs } from './bulk-load-rpcs.ts';
import { registerPrimaryRpc, type Standing } from './primary-rpc.ts';
import { HttpRouter, registerTypedRpc, RpcClient, type AdminResponse } from '../../net/index.ts';
import { dataDir, type PteronServer } from '../server.ts';
import {
  AppEnvOperation, ConfigType, MetaFunctionLevel, NodeStatus, PatternMatchType, RPCS, type AppInfo as WireAppInfo,
  type BackupRequest, type BackupResponse, type BulkLoadRequest, type BulkLoadResponse, type RecoveryRequest, type RecoveryResponse,
} from '../../wire/index.ts';
import { addServerStat, registerRemoteCommand } from '../../diag/remote/index.ts';
import { metaRemoteCommands, registerMetaCommands } from './commands.ts';
import { startMetaBackgroundWork } from '../../meta/background.ts';
import {
  appInfoFromWire, appInfoToWire, fromHostPort, partitionConfigurationFromWire, partitionConfigurationToWire, replicaInfoFromWire,
  replicaInfoToWire, toHostPort,
} from '../../cluster/convert.ts';
import { clusterInfoRows, registerMetaHttpCalls, type MetaHttpDeps } from '../../meta/http.ts';
import {
  appStatusFromValue, clusterName, configTypeFromValue, duplicationEnabled, duplicationGroupFromConfig, FUNCTION_LEVEL_VALUES, levelAtMost,
  metaServerList, newPartitionConfiguration, parseFunctionLevel, SPLIT_STATUS_VALUES, splitStatusFromValue, type AppInfo, type FunctionLevel,
} from '../../cluster/index.ts';
import type { DuplicationEnvironment } from '../../meta/duplication/index.ts';
import { RemoteMetaClients } from './remote-metas.ts';
import { clusterRoot, metaFunctionLevelOnStart } from '../../meta/flags.ts';
import { defaultAppsFromConfig } from '../../meta/load.ts';
import { splitControlFromValue } from '../../meta/partition-split.ts';
import { MetaServerState } from '../../meta/server-state.ts';
import type { ListAppsFilter } from '../../meta/tables.ts';
import { failureDetectorOptionsFromFlags } from '../../meta/failure-detector.ts';
import type { GuardianProposal } from '../../meta/guardian.ts';
import { distributedLockServiceParameters, lockRootFrom } from '../../meta/zk/leader-election.ts';
import { openSimpleStore } from '../../meta/simple-store.ts';
import { normalizeRootPath, type MetaStateStore } from '../../meta/state-store.ts';
import { metaStateServiceType, resolveStateServiceType } from '../../meta/zk/store.ts';
import { zookeeperHostsList, zookeeperTimeoutMs } from '../../meta/zk/flags.ts';
import { ZooKeeperMetaGroup, type Standing as GroupStanding } from '../../meta/zk/meta-group.ts';
import {
  planRecovery, recoverFromReplicaServer, storeHoldsTables, writeRecoveredTables, type NodeHoldings,
} from '../../meta/recovery.ts';


const MATCH_TYPES: Partial<Record<number, ListAppsFilter['match']>> = {
  [PatternMatchType.PMT_MATCH_EXACT]: 'exact',
  [PatternMatchType.PMT_MATCH_ANYWHERE]: 'anywhere',
  [PatternMatchType.PMT_MATCH_PREFIX]: 'prefix',
  [PatternMatchType.PMT_MATCH_POSTFIX]: 'postfix',
};

const ENV_OPERATIONS: Partial<Record<number, 'SET' | 'DEL' | 'CLEAR'>> = {
  [AppEnvOperation.APP_ENV_OP_SET]: 'SET',
  [AppEnvOperation.APP_ENV_OP_DEL]: 'DEL',
  [AppEnvOperation.APP_ENV_OP_CLEAR]: 'CLEAR',
};

/** A meta_function_level value as its name; undefined for a value the enum does not have. */
function functionLevelFromValue(value: number): FunctionLevel | undefined {
  return (Object.keys(FUNCTION_LEVEL_VALUES) as FunctionLevel[]).find((level) => FUNCTION_LEVEL_VALUES[level] === value);
}

function emptyWireApp(): WireAppInfo {
  return appInfoToWire({
    status: 'AS_INVALID', appType: '', appName: '', appId: 0, partitionCount: 0, envs: {}, isStateful: true, maxReplicaCount: 0,
    expireSecond: 0, createSecond: 0, dropSecond: 0, duplicating: false, initPartitionCount: -1, isBulkLoading: false,
    atomicIdempotent: false,
  } satisfies AppInfo);
}

/** The primary's part of a meta: its state and the work it runs on timers. */
interface MetaPrimary {
  /** Undefined while it waits in recovery mode. */
  readonly state: MetaServerState | undefined;
  recover?: (request: RecoveryRequest) => Promise<RecoveryResponse>;
  stop(): Promise<void>;
}

/** How long a recovering meta waits for each replica server's answers. */
const RECOVERY_QUERY_TIMEOUT_MS = 10_000;

/** Asks every node for the tables and replicas it holds (RPC_QUERY_APP_INFO, RPC_QUERY_REPLICA_INFO). */
async function collectHoldings(nodes: readonly string[], self: string): Promise<{ holdings: NodeHoldings[]; failures: Array<{ node: string; err: string }> }> {
  const holdings: NodeHoldings[] = [];
  const failures: Array<{ node: string; err: string }> = [];
  await Promise.all(nodes.map(async (node) => {
    const client = new RpcClient(toHostPort(node), { timeoutMs: RECOVERY_QUERY_TIMEOUT_MS });
    try {
      const [apps, replicas] = await Promise.all([
        client.callRpc(RPCS.RPC_QUERY_APP_INFO, { metaServer: toHostPort(self), hpMetaServer: toHostPort(self) }),
        client.callRpc(RPCS.RPC_QUERY_REPLICA_INFO, { node1: toHostPort(node), hpNode1: toHostPort(node) }),
      ]);
      const err = [apps.error, apps.result?.err, replicas.error, replicas.result?.err].find((code) => code !== 'ERR_OK') ?? 'ERR_OK';
      if (err !== 'ERR_OK') {
        failures.push({ node, err });
        return;
      }
      holdings.push({
        node,
        apps: apps.result!.apps.map(appInfoFromWire),
        replicas: replicas.result!.replicas.map((replica) => ({
          appId: replica.pid.appId, partitionIndex: replica.pid.partitionIndex, ballot: Number(replica.ballot),
          lastCommittedDecree: Number(replica.lastCommittedDecree), lastPreparedDecree: Number(replica.lastPreparedDecree),
        })),
      });
    } catch (error) {
      failures.push({ node, err: error instanceof PteronError ? error.code : 'ERR_NETWORK_FAILURE' });
    } finally {
      client.close();
    }
  }));
  return { holdings, failures };
}

/** A primary's standing: serving its state, or waiting in recovery mode. */
function primaryStanding(primary: MetaPrimary): Standing {
  if (primary.state) return { kind: 'primary', state: primary.state };
  return { kind: 'recovering', recover: primary.recover! };
}

/** partitions[0] of a backup's partition-config answer: the primary, for clients to go to (spec §1.15). */
function leaderHintPartitions(leader: string | undefined) {
  if (leader === undefined) return [];
  const hint = newPartitionConfiguration(0, 0, 0);
  hint.primary = leader;
  return [partitionConfigurationToWire(hint)];
}

export async function installMeta(server: PteronServer, config: LoadedConfig): Promise<() => Promise<void>> {
  const selfAddress = `${server.identity.host}:${server.identity.port}`;
  const metaServers = (): string[] => parseHostPortList(metaServerList.value).map(formatHostPort);
  const serviceType = resolveStateServiceType(metaStateServiceType.value, metaServers().length);
  const root = normalizeRootPath(clusterRoot.value);
  const defaultApps = defaultAppsFromConfig(config);
  const proposalClients = new Map<string, RpcClient>();
  const duplicationGroup = duplicationGroupFromConfig(config);
  const remoteMetas = new RemoteMetaClients();
  const duplication: DuplicationEnvironment = {
    group: () => duplicationGroup,
    clusterName: () => clusterName.value,
    ownMetaList: () => metaServers().join(','),
    remote: remoteMetas,
  };
  const clientOf = (target: string): RpcClient => {
    let client = proposalClients.get(target);
    if (!client) {
      client = new RpcClient(toHostPort(target), { timeoutMs: 5000 });
      proposalClients.set(target, client);
    }
    return client;
  };
  const blockServices = blockServicesFromConfig(config);
  const sendColdBackup = async (primary: string, request: BackupRequest): Promise<BackupResponse> => {
    const target = { appId: request.pid.appId, partitionIndex: request.pid.partitionIndex };
    const reply = await clientOf(primary).callRpc(RPCS.RPC_COLD_BACKUP, request, target);
    if (reply.result === undefined) throw new PteronError(reply.error as ErrorName, `RPC_COLD_BACKUP to ${primary} failed`);
    return reply.result;
  };

  const sendBulkLoad = async (node: string, request: BulkLoadRequest): Promise<BulkLoadResponse> => {
    const reply = await clientOf(node).callRpc(RPCS.RPC_BULK_LOAD, request, { appId: request.pid.appId, partitionIndex: request.pid.partitionIndex });
    if (reply.result === undefined) throw new PteronError(reply.error as ErrorName, `RPC_BULK_LOAD to ${node} failed`);
    return reply.result;
  };

  /** Reads the state from `store` and starts the failure detector and guardian timers. */
  const openServing = async (store: MetaStateStore, writable: () => boolean): Promise<MetaPrimary> => {
    let opened: MetaServerState | undefined;
    const sendProposal = (proposal: GuardianProposal): void => {
      const client = clientOf(proposal.target);
      const app = opened?.getApp(proposal.gpid.appId);
      const request = {
        info: app ? appInfoToWire(app) : emptyWireApp(),
        config: partitionConfigurationToWire(proposal.config),
        type: ConfigType[proposal.type as keyof typeof ConfigType] ?? ConfigType.CT_INVALID,
        node: toHostPort(proposal.node),
        hostNode: toHostPort(proposal.target),
        hpNode: toHostPort(proposal.node),
      };
      client.callRpc(RPCS.RPC_CONFIG_PROPOSAL, request).catch((error: unknown) => {
        log.warn({ target: proposal.target, err: (error as Error).message }, 'proposal not delivered; the guardian retries');
      });
    };
    // Replica servers of a starting cluster (or of a new primary) get one beacon interval and a
    // margin to register. Loading counts every node of the stored configurations alive from now,
    // so none is declared dead before a full grace period (MetaServerState.load).
    const settleMs = failureDetectorOptionsFromFlags().beaconIntervalMs + 1000;
    // A recovered cluster starts no higher than steady, as in Pegasus: its operator looks before balancing.
    const onStart = parseFunctionLevel(metaFunctionLevelOnStart.value)!;
    const functionLevel = recoverFromReplicaServer.value && !levelAtMost(onStart, 'fl_steady') ? 'fl_steady' : onStart;
    const state = await MetaServerState.open({
      store, defaultApps, sendProposal, settleMs, functionLevel, duplication, blockServices, sendColdBackup, sendBulkLoad,
    });
    opened = state;
    const settleTimer = setTimeout(() => {
      if (writable()) void state.checkAllPartitions().catch(() => {});
    }, settleMs);
    settleTimer.unref();
    const stopBackground = startMetaBackgroundWork(state, { paused: () => !writable() });
    log.info({ tables: state.listAllApps().length, store: store.type }, 'meta state loaded');
    return {
      state,
      async stop() {
        stopBackground();
        clearTimeout(settleTimer);
        await state.close();
      },
    };
  };

  /** The primary: serving at once, or in recovery mode waiting for `recover` to fill an empty store. */
  const openPrimary = async (store: MetaStateStore, writable: () => boolean): Promise<MetaPrimary> => {
    if (!recoverFromReplicaServer.value) return openServing(store, writable);
    if (await storeHoldsTables(store, root)) {
      throw new Error('find apps from remote storage, but [meta_server].recover_from_replica_server = true');
    }
    log.warn({ store: store.type, root }, 'recovery mode ([meta_server] recover_from_replica_server): waiting for `recover` to rebuild the tables from the replica servers');
    let serving: MetaPrimary | undefined;
    let recovering = false;
    return {
      get state() {
        return serving?.state;
      },
      recover: async (request) => {
        if (serving) return { err: 'ERR_SERVICE_ALREADY_RUNNING', hintMessage: '' };
        if (recovering) return { err: 'ERR_BUSY', hintMessage: 'a recovery is under way' };
        recovering = true;
        try {
          const nodes = (request.hpRecoveryNodes ?? request.recoveryNodes).map(formatHostPort);
          const { holdings, failures } = await collectHoldings(nodes, selfAddress);
          const plan = planRecovery(holdings, failures, {
            skipBadNodes: request.skipBadNodes, skipLostPartitions: request.skipLostPartitions, nowSeconds: Math.floor(Date.now() / 1000),
          });
          if (plan.err !== 'ERR_OK') return { err: plan.err, hintMessage: plan.hint };
          await writeRecoveredTables(store, root, plan.tables);
          serving = await openServing(store, writable);
          log.warn({ tables: plan.tables.length, nodes }, 'meta state recovered from the replica servers');
          return { err: 'ERR_OK', hintMessage: plan.hint };
        } finally {
          recovering = false;
        }
      },
      async stop() {
        await serving?.stop();
      },
    };
  };

  let standing: () => Standing;
  let stopStore: () => Promise<void>;
  if (serviceType === 'simple') {
    const store = await openSimpleStore(path.join(dataDir.value, 'meta'));
    const primary = await openPrimary(store, () => true);
    standing = () => primaryStanding(primary);
    stopStore = async () => {
      await primary.stop();
      await store.close();
    };
  } else {
    const hosts = zookeeperHostsList.value;
    const lockRoot = lockRootFrom(distributedLockServiceParameters.value, root);
    const metaGroup = new ZooKeeperMetaGroup<MetaPrimary>({
      hosts,
      sessionTimeoutMs: zookeeperTimeoutMs.value,
      root,
      lockRoot,
      self: selfAddress,
      openPrimary: (store) => openPrimary(store, () => store.writable),
    });
    const view = (now: GroupStanding<MetaPrimary>): Standing =>
      now.kind === 'primary' ? primaryStanding(now.primary) : now;
    standing = () => view(metaGroup.standing());
    stopStore = () => metaGroup.stop();
    // Connecting, electing and loading go on in the background: the server answers (as a
    // backup that knows no primary yet) from the start.
    metaGroup.start();
    log.info({ zookeeper: hosts, root, lockRoot, self: selfAddress }, 'meta server joins the meta group in ZooKeeper');
  }
  const currentState = (): MetaServerState => {
    const now = standing();
    if (now.kind !== 'primary') throw new Error('no meta state: this meta is not the primary');
    return now.state;
  };

  const httpDeps: MetaHttpDeps = {
    get state() {
      return currentState();
    },
    leader: () => {
      const now = standing();
      // A primary still loading (or recovering) counts as the leader; the wrapper below answers 503 for it.
      return now.kind === 'backup' ? { self: false, leader: now.leader } : { self: true };
    },
    metaServers,
    selfAddress: () => selfAddress,
    balanceOperationCount: () => currentState().balanceOperationCount(),
  };
  // The /meta/* handlers read the state after their redirect check; while the primary loads
  // there is no state yet, so those calls answer 503 ERR_SERVICE_NOT_ACTIVE until it is there.
  const staging = new HttpRouter();
  registerMetaHttpCalls(staging, httpDeps);
  for (const callPath of staging.paths()) {
    const call = staging.find(callPath)!;
    if (!callPath.startsWith('meta/')) {
      server.router.register(call);
      continue;
    }
    server.router.register({
      ...call,
      handler: (request): AdminResponse | Promise<AdminResponse> =>
        standing().kind === 'loading' || standing().kind === 'recovering' ? { status: 503, body: 'ERR_SERVICE_NOT_ACTIVE' } : call.handler(request),
    });
  }

  const commandDeps = { state: currentState, clusterInfo: () => clusterInfoRows(httpDeps) };
  registerMetaCommands(server.router, commandDeps);
  for (const spec of metaRemoteCommands(commandDeps)) registerRemoteCommand(server, spec);
  addServerStat(server.rpc, () => {
    const now = standing();
    if (now.kind !== 'primary') return [['meta_standing', now.kind]];
    const nodes = now.state.listNodes();
    return [['meta_standing', 'primary'], ['alive_node_count', nodes.filter((node) => node.status === 'ALIVE').length], ['total_node_count', nodes.length]];
  });

  const rpc = server.rpc;
  registerPrimaryRpc(
    rpc, RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, standing,
    (err, _request, leader) => ({ err, appId: 0, partitionCount: 0, isStateful: true, partitions: leaderHintPartitions(leader) }),
    (request, state) => {
      const result = state.queryConfiguration(request.appName, request.partitionIndices);
      return {
        err: result.err,
        appId: result.appId,
        partitionCount: result.partitionCount,
        isStateful: result.isStateful,
        partitions: result.partitions.map(partitionConfigurationToWire),
      };
    },
  );
  registerPrimaryRpc(rpc, RPCS.RPC_CM_CREATE_APP, standing, (err) => ({ err, appid: 0 }), async (request, state) => {
    const result = await state.createApp({
      appName: request.appName,
      partitionCount: request.options.partitionCount,
      replicaCount: request.options.replicaCount,
      successIfExist: request.options.successIfExist,
      appType: request.options.appType || undefined,
      isStateful: request.options.isStateful,
      envs: Object.fromEntries(request.options.envs),
      atomicIdempotent: request.options.atomicIdempotent,
    });
    return { err: result.err, appid: result.appId };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_DROP_APP, standing, (err) => ({ err }), async (request, state) => {
    const reserve = request.options.reserveSeconds;
    const result = await state.dropApp({
      appName: request.appName,
      successIfNotExist: request.options.successIfNotExist,
      reserveSeconds: reserve === undefined ? undefined : Number(reserve),
    });
    return { err: result.err };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_RECALL_APP, standing, (err) => ({ err, info: emptyWireApp() }), async (request, state) => {
    const result = await state.recallApp({ appId: request.appId, newAppName: request.newAppName });
    return { err: result.err, info: result.info ? appInfoToWire(result.info) : emptyWireApp() };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_RENAME_APP, standing, (err) => ({ err, hintMessage: '' }), async (request, state) =>
    state.renameApp(request.oldAppName, request.newAppName));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_GET_MAX_REPLICA_COUNT, standing, (err) => ({ err, maxReplicaCount: 0, hintMessage: '' }), (request, state) =>
    state.getMaxReplicaCount(request.appName));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_SET_MAX_REPLICA_COUNT, standing, (err) => ({ err, oldMaxReplicaCount: 0, hintMessage: '' }), (request, state) =>
    state.setMaxReplicaCount(request.appName, request.maxReplicaCount));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_GET_ATOMIC_IDEMPOTENT, standing, (err) => ({ err, atomicIdempotent: false, hintMessage: '' }), (request, state) =>
    state.getAtomicIdempotent(request.appName));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_SET_ATOMIC_IDEMPOTENT, standing, (err) => ({ err, oldAtomicIdempotent: false, hintMessage: '' }), (request, state) =>
    state.setAtomicIdempotent(request.appName, request.atomicIdempotent));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_START_PARTITION_SPLIT, standing, (err) => ({ err, hintMsg: '' }), async (request, state) => {
    const result = await state.startPartitionSplit(request.appName, request.newPartitionCount);
    return { err: result.err, hintMsg: result.hintMessage };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_CONTROL_PARTITION_SPLIT, standing, (err) => ({ err }), async (request, state) => {
    const control = splitControlFromValue(request.controlType);
    if (!control) return { err: 'ERR_INVALID_PARAMETERS', hintMsg: `unknown split_control_type ${request.controlType}` };
    const result = await state.controlPartitionSplit(request.appName, control, request.parentPidx, request.oldPartitionCount);
    return { err: result.err, ...(result.hintMessage !== '' && { hintMsg: result.hintMessage }) };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_QUERY_PARTITION_SPLIT, standing, (err) => ({ err, newPartitionCount: 0, status: new Map() }), async (request, state) => {
    const result = await state.queryPartitionSplit(request.appName);
    const status = new Map([...result.status].map(([index, name]) => [index, SPLIT_STATUS_VALUES[name]]));
    return { err: result.err, newPartitionCount: result.newPartitionCount, status, ...(result.hintMessage !== '' && { hintMsg: result.hintMessage }) };
  });
  registerPrimaryRpc(
    rpc, RPCS.RPC_CM_REGISTER_CHILD_REPLICA, standing,
    (err, request) => ({ err, app: request.app, parentConfig: request.parentConfig, childConfig: request.childConfig }),
    async (request, state) => {
      const result = await state.registerChild({
        appName: request.app.appName,
        parentConfig: partitionConfigurationFromWire(request.parentConfig),
        childConfig: partitionConfigurationFromWire(request.childConfig),
        primary: fromHostPort(request.hpPrimary ?? request.primary),
      });
      return {
        err: result.err,
        app: result.app ? appInfoToWire(result.app) : request.app,
        parentConfig: result.parentConfig ? partitionConfigurationToWire(result.parentConfig) : request.parentConfig,
        childConfig: result.childConfig ? partitionConfigurationToWire(result.childConfig) : request.childConfig,
      };
    },
  );
  registerPrimaryRpc(rpc, RPCS.RPC_CM_NOTIFY_STOP_SPLIT, standing, (err) => ({ err }), async (request, state) => {
    const status = splitStatusFromValue(request.metaSplitStatus);
    if (status === undefined) return { err: 'ERR_INVALID_PARAMETERS' };
    return state.notifyStopSplit({ appName: request.appName, parentGpid: request.parentGpid, status, partitionCount: request.partitionCount });
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_QUERY_CHILD_STATE, standing, (err) => ({ err }), async (request, state) => {
    const result = await state.queryChildState(request.appName, request.pid, request.partitionCount);
    return {
      err: result.err,
      ...(result.partitionCount !== undefined && { partitionCount: result.partitionCount }),
      ...(result.childConfig && { childConfig: partitionConfigurationToWire(result.childConfig) }),
    };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_DDD_DIAGNOSE, standing, (err) => ({ err, partitions: [] }), (request, state) => {
    const result = state.dddDiagnose(request.pid);
    return {
      err: result.err,
      partitions: result.partitions.map((partition) => ({
        config: partitionConfigurationToWire(partition.config),
        reason: partition.reason,
        dropped: partition.dropped.map((entry) => ({
          node: toHostPort(entry.node),
          hpNode: toHostPort(entry.node),
          dropTimeMs: BigInt(entry.dropTimeMs),
          isAlive: entry.isAlive,
          isCollected: entry.isCollected,
          ballot: BigInt(entry.ballot),
          lastCommittedDecree: BigInt(entry.lastCommittedDecree),
          lastPreparedDecree: BigInt(entry.lastPreparedDecree),
        })),
      })),
    };
  });
  // A recovery is taken only while this meta waits in recovery mode, before its service starts
  // (Pegasus's on_start_recovery): a serving primary answers ERR_SERVICE_ALREADY_RUNNING.
  registerTypedRpc(rpc, RPCS.RPC_CM_START_RECOVERY, async (request) => {
    const now = standing();
    switch (now.kind) {
      case 'recovering': return now.recover(request);
      case 'primary': return { err: 'ERR_SERVICE_ALREADY_RUNNING', hintMessage: '' };
      case 'backup': return { err: 'ERR_FORWARD_TO_OTHERS', hintMessage: now.leader ?? '' };
      case 'loading': return { err: 'ERR_SERVICE_NOT_ACTIVE', hintMessage: '' };
    }
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_LIST_APPS, standing, (err) => ({ err, infos: [] }), (request, state) => {
    const status = appStatusFromValue(request.status) ?? 'AS_INVALID';
    const result = state.listApps({
      status,
      namePattern: request.appNamePattern,
      match: request.matchType === undefined ? undefined : MATCH_TYPES[request.matchType],
    });
    return { err: result.err, infos: result.infos.map(appInfoToWire) };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_LIST_NODES, standing, (err) => ({ err, infos: [] }), (request, state) => {
    const infos = state
      .listNodes()
      .map((node) => ({ status: node.status === 'ALIVE' ? NodeStatus.NS_ALIVE : NodeStatus.NS_UNALIVE, address: node.address }))
      .filter((node) => request.status === NodeStatus.NS_INVALID || node.status === request.status)
      .map((node) => ({ status: node.status, node: toHostPort(node.address), hpNode: toHostPort(node.address) }));
    return { err: 'ERR_OK', infos };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_CLUSTER_INFO, standing, (err) => ({ err, keys: [], values: [] }), () => {
    const rows = clusterInfoRows(httpDeps);
    return { err: 'ERR_OK', keys: rows.map(([key]) => key), values: rows.map(([, value]) => value) };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_UPDATE_APP_ENV, standing, (err) => ({ err, hintMessage: '' }), async (request, state) => {
    const op = ENV_OPERATIONS[request.op];
    if (!op) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `unknown app env operation ${request.op}` };
    const result = await state.updateAppEnv({
      appName: request.appName, op, keys: request.keys, values: request.values, clearPrefix: request.clearPrefix,
    });
    return { err: result.err, hintMessage: result.hintMessage };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_START_MANUAL_COMPACT, standing, (err) => ({ err, hintMsg: '' }), async (request, state) => {
    const result = await state.startManualCompact({
      appName: request.appName,
      triggerTime: request.triggerTime,
      targetLevel: request.targetLevel,
      bottommost: request.bottommost,
      maxRunningCount: request.maxRunningCount,
    });
    return { err: result.err, hintMsg: result.hintMessage };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_QUERY_MANUAL_COMPACT_STATUS, standing, (err) => ({ err, hintMsg: '' }), (request, state) => {
    const result = state.queryManualCompactStatus(request.appName);
    return { err: result.err, hintMsg: result.hintMessage, progress: result.progress };
  });

  // Duplication: with `duplication_enabled` false Pegasus's meta has no duplication service and
  // answers ERR_SERVICE_NOT_ACTIVE.
  const duplicationOff = (): boolean => !duplicationEnabled.value;
  registerPrimaryRpc(rpc, RPCS.RPC_CM_ADD_DUPLICATION, standing, (err) => ({ err, appid: 0, dupid: 0 }), async (request, state) => {
    if (duplicationOff()) return { err: 'ERR_SERVICE_NOT_ACTIVE', appid: 0, dupid: 0 };
    const result = await state.addDuplication(request);
    return {
      err: result.err, appid: result.appid, dupid: result.dupid, hint: result.hint === '' ? undefined : result.hint,
      remoteAppName: result.remoteAppName, remoteReplicaCount: result.remoteReplicaCount,
    };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_MODIFY_DUPLICATION, standing, (err) => ({ err, appid: 0 }), async (request, state) =>
    duplicationOff() ? { err: 'ERR_SERVICE_NOT_ACTIVE', appid: 0 } : state.modifyDuplication(request));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_QUERY_DUPLICATION, standing, (err) => ({ err, appid: 0, entryList: [] }), (request, state) =>
    duplicationOff() ? { err: 'ERR_SERVICE_NOT_ACTIVE', appid: 0, entryList: [] } : state.queryDuplication(request.appName));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_LIST_DUPLICATION, standing, (err) => ({ err, hintMessage: '', appStates: new Map() }), (request, state) =>
    duplicationOff()
      ? { err: 'ERR_SERVICE_NOT_ACTIVE', hintMessage: '', appStates: new Map() }
      : state.listDuplications(request.appNamePattern, request.matchType));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_DUPLICATION_SYNC, standing, (err) => ({ err, dupMap: new Map() }), async (request, state) =>
    duplicationOff()
      ? { err: 'ERR_SERVICE_NOT_ACTIVE', dupMap: new Map() }
      : state.onDuplicationSync(fromHostPort(request.hpNode ?? request.node), request.confirmList));

  registerPrimaryRpc(
    rpc, RPCS.RPC_CM_CONTROL_META, standing, (err) => ({ err, oldLevel: MetaFunctionLevel.fl_invalid }),
    (request, state) => {
      const level = functionLevelFromValue(request.level);
      const current = FUNCTION_LEVEL_VALUES[state.functionLevel];
      // Pegasus stores any number it is sent; a value that is no level is refused here instead.
      if (!level) return { err: 'ERR_INVALID_PARAMETERS', oldLevel: current };
      const result = state.setFunctionLevel(level);
      return { err: result.err, oldLevel: FUNCTION_LEVEL_VALUES[result.oldLevel] };
    },
  );
  registerPrimaryRpc(rpc, RPCS.RPC_CM_PROPOSE_BALANCER, standing, (err) => ({ err }), async (request, state) => {
    const actions = [];
    for (const action of request.actionList) {
      const type = configTypeFromValue(action.type);
      if (!type || type === 'CT_INVALID') return { err: 'ERR_INVALID_PARAMETERS' };
      actions.push({ type, target: fromHostPort(action.hpTarget ?? action.target), node: fromHostPort(action.hpNode ?? action.node) });
    }
    const result = await state.proposeBalancer({ gpid: request.gpid, actions, force: request.force ?? false });
    return { err: result.err };
  });

  registerBackupRpcs(rpc, standing);
  registerBulkLoadRpcs(rpc, standing);

  // Replica servers. A backup acknowledges beacons as not the master and names the primary,
  // so the replica server switches to it (spec §2.6).
  registerTypedRpc(rpc, RPCS.RPC_FD_FAILURE_DETECTOR_PING, async (beacon) => {
    const self = toHostPort(selfAddress);
    const now = standing();
    if (now.kind !== 'primary') {
      // A loading (or recovering) primary names itself: the replica server stays and asks again.
      const primary = now.kind === 'loading' || now.kind === 'recovering' ? self : now.leader === undefined ? INVALID_HOST_PORT : toHostPort(now.leader);
      return { time: beacon.time, thisNode: self, primaryNode: primary, isMaster: false, allowed: true, hpThisNode: self, hpPrimaryNode: primary };
    }
    const from = fromHostPort(beacon.hpFromNode ?? beacon.fromNode);
    const startTimeMs = Number(beacon.startTime ?? 0n);
    // A node coming alive makes the guardian run; if that cannot write (ZooKeeper away) the
    // beacon still counts: the failure detector took it before the guardian ran.
    const outcome = await now.state.onBeacon(from, startTimeMs).catch((error: unknown) => {
      log.debug({ node: from, err: (error as Error).message }, 'curing after a beacon failed');
      return { accepted: true as const };
    });
    return { time: beacon.time, thisNode: self, primaryNode: self, isMaster: true, allowed: outcome.accepted, hpThisNode: self, hpPrimaryNode: self };
  });
  registerPrimaryRpc(rpc, RPCS.RPC_CM_CONFIG_SYNC, standing, (err) => ({ err, partitions: [], gcReplicas: [] }), (request, state) => {
    const node = fromHostPort(request.hpNode ?? request.node);
    const result = state.onConfigSync(node, (request.storedReplicas ?? []).map(replicaInfoFromWire));
    return {
      err: result.err,
      partitions: result.partitions.map(({ info, config: partition, splitStatus }) => ({
        info: appInfoToWire(info),
        config: partitionConfigurationToWire(partition),
        type: ConfigType.CT_INVALID,
        node: toHostPort(node),
        hostNode: toHostPort(node),
        ...(splitStatus && { metaSplitStatus: SPLIT_STATUS_VALUES[splitStatus] }),
      })),
      gcReplicas: result.gcReplicas.map(replicaInfoToWire),
    };
  });
  registerPrimaryRpc(
    rpc, RPCS.RPC_CM_UPDATE_PARTITION_CONFIGURATION, standing, (err, request) => ({ err, config: request.config }),
    async (request, state) => {
      const type = configTypeFromValue(request.type);
      const proposed = partitionConfigurationFromWire(request.config);
      if (!type) return { err: 'ERR_INVALID_PARAMETERS', config: request.config };
      const result = await state.onUpdateConfiguration({ config: proposed, type, node: fromHostPort(request.hpNode ?? request.node) });
      if (result === 'ignored') return { err: 'ERR_BUSY', config: request.config };
      return { err: result.err, config: result.config ? partitionConfigurationToWire(result.config) : request.config };
    },
  );

  return async () => {
    await stopStore();
    for (const client of proposalClients.values()) client.close();
    await remoteMetas.close();
  };
}
