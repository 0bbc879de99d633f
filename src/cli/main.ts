// The `pteron` command.
import { parseArgs } from 'node:util';
import { PteronError, usePrettyLogs } from '../base/index.ts';
import { ConfigError } from '../config/index.ts';
import { oneboxCommand } from './onebox.ts';
import { serve } from './serve.ts';
import { runShell } from './shell/index.ts';
import { ManifestError, runRepoCommand, runSupervisor, runSvcCommand } from '../supervisor/index.ts';

const USAGE = `usage:
  pteron meta|replica|collector [--config FILE] [--set section.key=value]... [--port N] [--pretty]
  pteron onebox [--metas 1|2|3] [--config FILE] [--set section.key=value]...   (--metas 2+: with a local ZooKeeper)
  pteron shell [--meta host:port[,host:port...]] [-e "command"]...
  pteron supervisor [--manifest FILE] [--port N]      (default manifest: pteron.yml)
  pteron svc ls|health|metrics|restart|stop [SVC] [--invalidate] [--url URL] [--json]
  pteron repo [update] [--invalidate] [--url URL] [--json]
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...options] = argv;
  // `--pretty` (any role, onebox, supervisor): log lines for people instead of JSON.
  const rest = command === 'shell' ? options : options.filter((option) => option !== '--pretty');
  if (rest.length < options.length) usePrettyLogs();
  if (command === 'shell') {
    process.exitCode = await runShell(rest);
    return;
  }
  if (command === 'supervisor') return runSupervisor(rest);
  if (command === 'onebox') return oneboxCommand(rest);
  if (command === 'svc' || command === 'repo') {
    process.exitCode = await (command === 'svc' ? runSvcCommand(rest) : runRepoCommand(rest));
    return;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (command === undefined || values.help || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port expects 0-65535, got "${values.port}"`);
  }
  await serve({ role: command, configFile: values.config, sets: values.set ?? [], port });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof PteronError || error instanceof ManifestError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`pteron: ${known ? (error as Error).message : (error as Error).stack}\n`);
  if (!known) process.stderr.write(USAGE);
  process.exit(2);
});
