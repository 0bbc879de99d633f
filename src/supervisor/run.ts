// `pteron supervisor [--manifest FILE] [--port N]`: serve the session-state API on the
// supervisor's port, run the manifest's services, and on SIGINT/SIGTERM (or /shutdown) stop
// them in reverse dependency order before exiting.
import { parseArgs } from 'node:util';
import { log } from '../base/index.ts';
import { ConfigError, loadConfig } from '../config/index.ts';
import { createServer } from '../server/index.ts';
import { installSupervisorApi } from './api.ts';
import { loadManifest } from './manifest.ts';
import { ClientSessions } from './sessions.ts';
import { Supervisor } from './supervisor.ts';

export const DEFAULT_MANIFEST = 'pteron.yml';

export async function runSupervisor(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { manifest: { type: 'string', short: 'm' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(
      `usage: pteron supervisor [--manifest FILE] [--port N]\n` +
        `  runs the services of FILE (default ${DEFAULT_MANIFEST}) and serves the session-state API on supervisor.port ` +
        `(--port overrides it); pteron svc and pteron repo talk to it\n`,
    );
    return;
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port expects 0-65535, got "${values.port}"`);
  }
  const manifest = loadManifest(values.manifest ?? DEFAULT_MANIFEST, { port });
  // The state-changing calls of its port (restart, stop, reload, update, shutdown) follow the
  // servers' access policy, with the manifest's secret and trusted callers.
  loadConfig(undefined, [
    `network.listen_address=${manifest.supervisor.host}`,
    `security.admin_secret=${manifest.supervisor.secret}`,
    `security.trusted_addresses=${manifest.supervisor.trustedAddresses}`,
  ]);

  const supervisor = new Supervisor(manifest);
  const sessions = new ClientSessions({ rateLimit: manifest.supervisor.rateLimit });
  const server = createServer({ role: 'supervisor', port: manifest.supervisor.port });

  let stopping = false;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'stopping every service');
    try {
      await supervisor.shutdown();
    } finally {
      sessions.close();
      await server.close();
      process.exit(0);
    }
  };
  installSupervisorApi(server.router, {
    supervisor,
    sessions,
    // Answer first, then go.
    requestShutdown: () => void setTimeout(() => void stop('/shutdown'), 500),
  });

  const boundPort = await server.start();
  try {
    await supervisor.start();
  } catch (error) {
    await server.close();
    throw error;
  }
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP'));
  log.info({ port: boundPort, pid: process.pid, manifest: manifest.file, services: manifest.services.map((service) => service.name) }, 'supervisor started');
  process.stdout.write(
    `supervisor: API on http://${manifest.supervisor.host}:${boundPort} (pteron svc ls); ` +
      `running ${manifest.services.map((service) => `${service.name} ×${service.instances.length}`).join(', ')} from ${manifest.file}\n`,
  );
}
