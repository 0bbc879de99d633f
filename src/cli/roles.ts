// The server roles `pteron` can run, with their default ports (spec pegasus-arch §4.1).
import type { LoadedConfig } from '../config/index.ts';
import { installMeta } from '../server/index.ts';
import { installReplica } from '../server/replica/role.ts';
import type { PteronServer } from '../server/index.ts';
import { installCollector } from './collector/role.ts';

export interface RoleDefinition {
  defaultPort: number;
  /** Adds the role's own HTTP calls, RPC handlers and background work; returns its shutdown. */
  install?: (server: PteronServer, config: LoadedConfig) => Promise<() => Promise<void>>;
}

export const ROLES: Record<string, RoleDefinition> = {
  meta: { defaultPort: 34601, install: installMeta },
  replica: { defaultPort: 34801, install: installReplica },
  collector: { defaultPort: 34101, install: installCollector },
};
