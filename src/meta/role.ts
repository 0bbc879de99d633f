// `pteron meta`: the meta server role. Opens the state store, serves the meta RPCs (client
// routing, table DDL, replica-server beacons, config sync and configuration updates) and the
// /meta/* admin calls, sends the guardian's proposals to replica servers, and runs the
// failure detector and guardian on timers.
import path from 'node:path';
import { formatHostPort, log, parseHostPortList } from '../base/index.ts';
import { defineFlag, type LoadedConfig } from '../config/index.ts';
import { registerTypedRpc, RpcClient } from '../net/index.ts';
import { dataDir, type PteronServer } from '../runtime/index.ts';
import { AppEnvOperation, ConfigType, NodeStatus, PatternMatchType, RPCS, type AppInfo as WireAppInfo } from '../wire/index.ts';
import { startMetaBackgroundWork } from './background.ts';
import {
  appInfoToWire, fromHostPort, partitionConfigurationFromWire, partitionConfigurationToWire, replicaInfoFromWire,
  replicaInfoToWire, toHostPort,
} from './convert.ts';
import { clusterInfoRows, registerMetaHttpCalls, type MetaHttpDeps } from './http.ts';
import { appStatusFromValue, configTypeFromValue, type AppInfo } from './model.ts';
import { MetaServerState, defaultAppsFromConfig, type ListAppsFilter } from './server-state.ts';
import { failureDetectorOptionsFromFlags } from './failure-detector.ts';
import type { GuardianProposal } from './guardian.ts';
import { openSimpleStore } from './simple-store.ts';

export const metaServerList = defineFlag({
  section: 'meta_server',
  name: 'server_list',
  type: 'FV_STRING',
  default: '127.0.0.1:34601',
  description: 'The meta servers of the cluster, as host:port separated by commas',
});

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

function emptyWireApp(): WireAppInfo {
  return appInfoToWire({
    status: 'AS_INVALID', appType: '', appName: '', appId: 0, partitionCount: 0, envs: {}, isStateful: true, maxReplicaCount: 0,
    expireSecond: 0, createSecond: 0, dropSecond: 0, duplicating: false, initPartitionCount: -1, isBulkLoading: false,
    atomicIdempotent: false,
  } satisfies AppInfo);
}

export async function installMeta(server: PteronServer, config: LoadedConfig): Promise<() => Promise<void>> {
  const selfAddress = `${server.identity.host}:${server.identity.port}`;
  const store = await openSimpleStore(path.join(dataDir.value, 'meta'));
  const proposalClients = new Map<string, RpcClient>();

  const sendProposal = (proposal: GuardianProposal): void => {
    let client = proposalClients.get(proposal.target);
    if (!client) {
      client = new RpcClient(toHostPort(proposal.target), { timeoutMs: 5000 });
      proposalClients.set(proposal.target, client);
    }
    const app = state.getApp(proposal.gpid.appId);
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

  // Replica servers of a starting cluster get one beacon interval and a margin to register.
  const settleMs = failureDetectorOptionsFromFlags().beaconIntervalMs + 1000;
  const state = await MetaServerState.open({ store, defaultApps: defaultAppsFromConfig(config), sendProposal, settleMs });
  const settleTimer = setTimeout(() => void state.checkAllPartitions().catch(() => {}), settleMs);
  settleTimer.unref();
  const metaServers = (): string[] => parseHostPortList(metaServerList.value).map(formatHostPort);
  const httpDeps: MetaHttpDeps = {
    state,
    leader: () => ({ self: true }),
    metaServers,
    selfAddress: () => selfAddress,
    balanceOperationCount: () => state.balanceOperationCount(),
  };
  registerMetaHttpCalls(server.router, httpDeps);

  const rpc = server.rpc;
  registerTypedRpc(rpc, RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, (request) => {
    const result = state.queryConfiguration(request.appName, request.partitionIndices);
    return {
      err: result.err,
      appId: result.appId,
      partitionCount: result.partitionCount,
      isStateful: result.isStateful,
      partitions: result.partitions.map(partitionConfigurationToWire),
    };
  });
  registerTypedRpc(rpc, RPCS.RPC_CM_CREATE_APP, async (request) => {
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
  registerTypedRpc(rpc, RPCS.RPC_CM_DROP_APP, async (request) => {
    const reserve = request.options.reserveSeconds;
    const result = await state.dropApp({
      appName: request.appName,
      successIfNotExist: request.options.successIfNotExist,
      reserveSeconds: reserve === undefined ? undefined : Number(reserve),
    });
    return { err: result.err };
  });
  registerTypedRpc(rpc, RPCS.RPC_CM_RECALL_APP, async (request) => {
    const result = await state.recallApp({ appId: request.appId, newAppName: request.newAppName });
    return { err: result.err, info: result.info ? appInfoToWire(result.info) : emptyWireApp() };
  });
  registerTypedRpc(rpc, RPCS.RPC_CM_LIST_APPS, (request) => {
    const status = appStatusFromValue(request.status) ?? 'AS_INVALID';
    const result = state.listApps({
      status,
      namePattern: request.appNamePattern,
      match: request.matchType === undefined ? undefined : MATCH_TYPES[request.matchType],
    });
    return { err: result.err, infos: result.infos.map(appInfoToWire) };
  });
  registerTypedRpc(rpc, RPCS.RPC_CM_LIST_NODES, (request) => {
    const infos = state
      .listNodes()
      .map((node) => ({ status: node.status === 'ALIVE' ? NodeStatus.NS_ALIVE : NodeStatus.NS_UNALIVE, address: node.address }))
      .filter((node) => request.status === NodeStatus.NS_INVALID || node.status === request.status)
      .map((node) => ({ status: node.status, node: toHostPort(node.address), hpNode: toHostPort(node.address) }));
    return { err: 'ERR_OK', infos };
  });
  registerTypedRpc(rpc, RPCS.RPC_CM_CLUSTER_INFO, () => {
    const rows = clusterInfoRows(httpDeps);
    return { err: 'ERR_OK', keys: rows.map(([key]) => key), values: rows.map(([, value]) => value) };
  });
  registerTypedRpc(rpc, RPCS.RPC_CM_UPDATE_APP_ENV, async (request) => {
    const op = ENV_OPERATIONS[request.op];
    if (!op) return { err: 'ERR_INVALID_PARAMETERS', hintMessage: `unknown app env operation ${request.op}` };
    const result = await state.updateAppEnv({
      appName: request.appName, op, keys: request.keys, values: request.values, clearPrefix: request.clearPrefix,
    });
    return { err: result.err, hintMessage: result.hintMessage };
  });

  // Replica servers.
  registerTypedRpc(rpc, RPCS.RPC_FD_FAILURE_DETECTOR_PING, async (beacon) => {
    const from = fromHostPort(beacon.hpFromNode ?? beacon.fromNode);
    const outcome = await state.onBeacon(from, Number(beacon.startTime ?? 0n));
    const self = toHostPort(selfAddress);
    return { time: beacon.time, thisNode: self, primaryNode: self, isMaster: true, allowed: outcome.accepted, hpThisNode: self, hpPrimaryNode: self };
  });
  registerTypedRpc(rpc, RPCS.RPC_CM_CONFIG_SYNC, (request) => {
    const node = fromHostPort(request.hpNode ?? request.node);
    const result = state.onConfigSync(node, (request.storedReplicas ?? []).map(replicaInfoFromWire));
    return {
      err: result.err,
      partitions: result.partitions.map(({ info, config: partition }) => ({
        info: appInfoToWire(info),
        config: partitionConfigurationToWire(partition),
        type: ConfigType.CT_INVALID,
        node: toHostPort(node),
        hostNode: toHostPort(node),
      })),
      gcReplicas: result.gcReplicas.map(replicaInfoToWire),
    };
  });
  registerTypedRpc(rpc, RPCS.RPC_CM_UPDATE_PARTITION_CONFIGURATION, async (request) => {
    const type = configTypeFromValue(request.type);
    const proposed = partitionConfigurationFromWire(request.config);
    if (!type) return { err: 'ERR_INVALID_PARAMETERS', config: request.config };
    const result = await state.onUpdateConfiguration({ config: proposed, type, node: fromHostPort(request.hpNode ?? request.node) });
    if (result === 'ignored') return { err: 'ERR_BUSY', config: request.config };
    return { err: result.err, config: result.config ? partitionConfigurationToWire(result.config) : request.config };
  });

  const stopBackground = startMetaBackgroundWork(state);
  log.info({ tables: state.listAllApps().length }, 'meta state loaded');
  return async () => {
    stopBackground();
    clearTimeout(settleTimer);
    for (const client of proposalClients.values()) client.close();
    await state.close();
  };
}
