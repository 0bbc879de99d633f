// The meta server: tables, partition configurations, replica-server liveness and curing.
export * from './state-store.ts';
export {
  SimpleStateStore, openSimpleStore, MetaStoreCorruptionError, SIMPLE_STORE_FILE_NAME, crc32, replayLog, encodeRecord,
  simpleStoreRepairTail, simpleStoreCompactionBytesMin, type SimpleStoreOptions, type ReplayResult,
} from './simple-store.ts';
export { APP_ENV_DEFINITIONS, validateAppEnv, validateCreateAppEnvs, appEnvCatalogue, parseEnvList, type EnvValueType } from './app-envs.ts';
export * from './failure-detector.ts';
export * from './placement.ts';
export * from './balancer.ts';
export * from './guardian.ts';
export * from './flags.ts';
export { partitionHealth, type PartitionHealth } from './metrics.ts';
export { MetaTables, unavailableError, type ListAppsFilter, type PartitionContext, type QueryConfigurationResult } from './tables.ts';
export { defaultAppsFromConfig, loadTables, ONEBOX_DEFAULT_APPS, type DefaultAppSpec, type LoadContext } from './load.ts';
export * from './table-ddl.ts';
export * from './node-liveness.ts';
export * from './configuration-updates.ts';
export * from './balancer-queue.ts';
export * from './balancer-proposals.ts';
export * from './config-invariants.ts';
export * from './manual-compaction.ts';
export * from './server-state.ts';
export * from './http.ts';
export { startMetaBackgroundWork, type MetaBackgroundOptions } from './background.ts';
export {
  LeaderElection, LEADER_LOCK_ID, LOCK_NODE_PREFIX, distributedLockServiceParameters, lockRootFrom, lockOrder, lockNodeSequence,
  type ElectionView, type LeaderElectionOptions,
} from './zk/leader-election.ts';
export {
  ZooKeeperStateStore, metaStateServiceType, parseStateServiceType, resolveStateServiceType, MULTI_BYTES_MAX,
  type StateServiceType, type ZooKeeperStoreOptions,
} from './zk/store.ts';
export { ZkSession, ZkError, type ZkSessionOptions, type ZkSessionState, type ZkOp, type ZkWatcher } from './zk/session.ts';
export { zookeeperHostsList, zookeeperTimeoutMs } from './zk/flags.ts';
export { ZooKeeperMetaGroup, type MetaGroupOptions, type PrimaryHandle, type Standing as MetaGroupStanding } from './zk/meta-group.ts';
export {
  startZooKeeperServer, zooKeeperAvailable, zooKeeperClassPath, zooKeeperReady, fourLetterWord, zooCfg,
  type ZooKeeperServer, type ZooKeeperServerOptions,
} from './zk/server.ts';
