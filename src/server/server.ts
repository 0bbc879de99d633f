// The runtime every role shares: one port (HTTP admin + thrift RPC), the built-in admin calls,
// and the process metrics. A role adds its own HTTP calls and RPC handlers to `router` and `rpc`.
import type http from 'node:http';
import { bindLogIdentity } from '../base/index.ts';
import { defineFlag } from '../config/index.ts';
import { recordLogStartLevel } from '../diag/logging.ts';
import { createBuiltinCommands, registerCommandApi } from '../diag/index.ts';
import { registerConsole } from '../diag/console/index.ts';
import { answerRemoteCommandsOverRpc, installRemoteCommands } from '../diag/remote/index.ts';
import { adminSecret, createAdminHttpServer, HttpRouter, listen, RpcServer, setConnectionSecret, type Listener } from '../net/index.ts';
import { registerBuiltinCalls } from './builtins.ts';
import { gitCommit, pteronVersion, type ServerIdentity } from './identity.ts';
import { registerPprofCalls } from '../diag/pprof/index.ts';
import { registerProcessMetrics } from '../diag/process-metrics.ts';

export const listenAddress = defineFlag({
  section: 'network',
  name: 'listen_address',
  type: 'FV_STRING',
  default: '127.0.0.1',
  description: 'The address every server listens on; 0.0.0.0 exposes it to other machines',
});

export const dataDir = defineFlag({
  section: 'core',
  name: 'data_dir',
  type: 'FV_STRING',
  default: 'data',
  description: 'The directory this server keeps its state in (meta state, replica data and logs)',
});

/** A server's name in its log lines: its instance name under the supervisor or onebox, else its role. */
function serverName(role: string): string {
  return process.env.PTERON_INSTANCE || role;
}

export interface ServerOptions {
  role: string;
  port: number;
}

export interface PteronServer {
  readonly router: HttpRouter;
  readonly rpc: RpcServer;
  readonly identity: ServerIdentity;
  /** Starts accepting connections; resolves with the bound port. */
  start(): Promise<number>;
  close(): Promise<void>;
}

export function createServer(options: ServerOptions): PteronServer {
  registerProcessMetrics();
  // The cluster's servers share the admin secret: their connections to one another present it.
  if (adminSecret.value !== '') setConnectionSecret(adminSecret.value);
  const router = new HttpRouter();
  const rpc = new RpcServer();
  const identity: ServerIdentity = {
    role: options.role,
    host: listenAddress.value,
    port: options.port,
    version: pteronVersion(),
    gitCommit: gitCommit(),
    startTime: new Date(),
  };
  // Config is loaded by now: this is the process's start level, and who it is goes on every log line.
  recordLogStartLevel();
  const bindIdentity = (): void => bindLogIdentity({ role: identity.role, name: serverName(identity.role), address: `${identity.host}:${identity.port}` });
  bindIdentity();
  registerBuiltinCalls(router, identity);
  registerPprofCalls(router);
  const commandApi = registerCommandApi(router, createBuiltinCommands(), { server: identity });
  if (router.find('api')) registerConsole(router, commandApi);
  installRemoteCommands({ router, rpc, identity });
  let http: http.Server | undefined;
  let listener: Listener | undefined;
  return {
    router,
    rpc,
    identity,
    async start() {
      answerRemoteCommandsOverRpc(rpc);
      http = createAdminHttpServer(router);
      listener = await listen({ host: listenAddress.value, port: options.port, http, rpc });
      if (identity.port !== listener.port) {
        identity.port = listener.port;
        bindIdentity();
      }
      return listener.port;
    },
    async close() {
      await listener?.close();
      http?.closeAllConnections();
    },
  };
}
