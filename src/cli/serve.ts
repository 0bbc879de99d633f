// `pteron meta|replica|collector`: load the config, start the one-port server, run until a signal.
import { log } from '../base/index.ts';
import { loadConfig, ConfigError } from '../config/index.ts';
import { createServer } from '../runtime/index.ts';
import { ROLES } from './roles.ts';

export interface ServeOptions {
  role: string;
  configFile?: string;
  sets: string[];
  port?: number;
}

function portFromConfig(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value.split(',')[0]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`bad port "${value}" in [apps.*] ports`);
  return port;
}

export async function serve(options: ServeOptions): Promise<void> {
  const role = ROLES[options.role];
  if (!role) throw new ConfigError(`unknown role "${options.role}"; expected one of ${Object.keys(ROLES).join(', ')}`);
  const config = loadConfig(options.configFile, options.sets);
  const port = options.port ?? portFromConfig(config.section(`apps.${options.role}`).get('ports')) ?? role.defaultPort;
  const server = createServer({ role: options.role, port });
  const stopRole = role.install ? await role.install(server, config) : async () => {};
  for (const key of config.unknownKeys()) log.warn({ config: config.source, key }, 'unknown config key ignored');
  const boundPort = await server.start();
  log.info({ role: options.role, port: boundPort, pid: process.pid }, 'pteron server started');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await stopRole();
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
