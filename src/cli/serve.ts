// `pteron meta|replica|collector`: load the config, start the one-port server, run until a signal.
import { setFlagsFromString } from 'node:v8';
import { log } from '../base/index.ts';
import { loadConfig, ConfigError } from '../config/index.ts';
import { createServer } from '../server/server.ts';
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

/**
 * How much V8 lets the old generation grow past what the last full GC left before it starts the
 * next one (V8 picks about 100% by itself). V8 also starts one as soon as the room left is smaller
 * than the young generation: with a server's small old generation (25–35 MB) that meant a full
 * mark-compact every 100–200 ms under write load, each freeing a few MB. At 300% a three-replica
 * write bench ran 36–38 of them instead of 85–97 and spent about 6% less server CPU per write.
 * V8 reads this flag whenever it sets the next limit, so setting it at start-up takes effect.
 */
const HEAP_GROWING_PERCENT = 300;

/** How long a server may take to stop after SIGTERM; the supervisor and onebox wait 10 s before SIGKILL. */
const STOP_DEADLINE_MS = 5000;

export async function serve(options: ServeOptions): Promise<void> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const role = ROLES[options.role];
  if (!role) throw new ConfigError(`unknown role "${options.role}"; expected one of ${Object.keys(ROLES).join(', ')}`);
  const install = await role.load();
  const config = loadConfig(options.configFile, options.sets);
  const port = options.port ?? portFromConfig(config.section(`apps.${options.role}`).get('ports')) ?? role.defaultPort;
  const server = createServer({ role: options.role, port });
  const stopRole = install ? await install(server, config) : async () => {};
  for (const key of config.unknownKeys()) log.warn({ config: config.source, key }, 'unknown config key ignored');
  await server.start();
  log.info('pteron server started');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    // A stop that hangs (a peer or ZooKeeper that does not answer) must not outlive the
    // supervisor's or onebox's grace: the process goes anyway.
    setTimeout(() => {
      log.warn({ ms: STOP_DEADLINE_MS }, 'stop took too long; exiting');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    await stopRole();
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
