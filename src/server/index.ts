export { createServer, listenAddress, dataDir, type PteronServer, type ServerOptions } from './server.ts';
export type { ServerIdentity } from './identity.ts';
export { installMeta } from './meta/role.ts';
export { installReplica, configSyncIntervalMs } from './replica/role.ts';
