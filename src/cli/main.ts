// The `pteron` command. Each command's code is imported only when that command runs, so that
// `pteron shell` or `pteron --help` does not load the servers.
// Exit codes: 0 success, 1 a command that ran and failed (shell scripts, svc), 2 bad usage or
// a server that cannot start.
import { parseArgs } from 'node:util';
import { PteronError } from '../base/errors.ts';
import { ConfigError } from '../config/config.ts';
import { allFlags } from '../config/flags.ts';
import { pteronVersion } from '../server/identity.ts';
import { ManifestError } from '../supervisor/yaml-reader.ts';
import { roleHelp, USAGE } from './help.ts';
import { ROLES } from './roles.ts';

async function main(argv: string[]): Promise<void> {
  const [command, ...options] = argv;
  // `--pretty` (any role, onebox, supervisor): log lines for people instead of JSON.
  const rest = command === 'shell' ? options : options.filter((option) => option !== '--pretty');
  if (rest.length < options.length) (await import('../base/log.ts')).usePrettyLogs();
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`pteron ${pteronVersion()}\n`);
    return;
  }
  if (command === 'shell') {
    const { runShell } = await import('./shell/index.ts');
    process.exitCode = await runShell(rest);
    return;
  }
  if (command === 'supervisor') return (await import('../supervisor/index.ts')).runSupervisor(rest);
  if (command === 'onebox') return (await import('./onebox.ts')).oneboxCommand(rest);
  if (command === 'bulk-load') return (await import('./bulk-load-generate.ts')).bulkLoadCommand(rest);
  if (command === 'svc' || command === 'repo') {
    const { runRepoCommand, runSvcCommand } = await import('../supervisor/index.ts');
    process.exitCode = await (command === 'svc' ? runSvcCommand(rest) : runRepoCommand(rest));
    return;
  }
  const role = ROLES[command];
  if (!role) throw new ConfigError(`unknown command "${command}"; expected a role (${Object.keys(ROLES).join(', ')}) or onebox, shell, supervisor, svc, repo, bulk-load`);
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
  // serve.ts loads the server every role runs in, so its flags are declared for the listing too.
  const { serve } = await import('./serve.ts');
  if (values.help) {
    await role.load();
    process.stdout.write(roleHelp(command, role, allFlags()));
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
