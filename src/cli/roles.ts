// The server roles `pteron` can run, with their default ports (spec pegasus-arch §4.1). A role's
// code is loaded only when it runs (or lists its flags), so other commands start fast and a
// role's flag listing shows the flags of the modules that role loads.
import type { LoadedConfig } from '../config/index.ts';
import type { PteronServer } from '../server/server.ts';

/** Adds the role's own HTTP calls, RPC handlers and background work; returns its shutdown. */
export type RoleInstall = (server: PteronServer, config: LoadedConfig) => Promise<() => Promise<void>>;

export interface RoleDefinition {
  defaultPort: number;
  summary: string;
  /** Loads the role's modules (declaring their flags) and returns its install, if it has one. */
  load: () => Promise<RoleInstall | undefined>;
}

export const ROLES: Record<string, RoleDefinition> = {
  meta: {
    defaultPort: 34601,
    summary: 'a meta server: tables, partition configurations, failure detection, balancing',
    load: async () => (await import('../server/meta/role.ts')).installMeta,
  },
  replica: {
    defaultPort: 34801,
    summary: 'a replica server: the partitions\' data, PacificA replication, the Pegasus data plane',
    load: async () => (await import('../server/replica/role.ts')).installReplica,
  },
  collector: {
    defaultPort: 34101,
    summary: 'a collector: every table\'s statistics from the replica servers (/perfCounter, app_stat)',
    load: async () => (await import('./collector/role.ts')).installCollector,
  },
};
