// Remote commands on every server: one registry per process, answered over RPC_CLI_CLI_CALL and
// through the /api command sessions (`remote-command CMD [ARGS...]`, and each command whose main
// name fits the /api naming under that name, dots turned into dashes).
//
//   installRemoteCommands(server)                 at server creation (runtime/server.ts);
//   remoteCommandsOf(server.rpc)!.register(spec)  a role adds its own commands.
import { allFlags, formatValue } from '../../config/index.ts';
import { formatLocalTime, log } from '../../base/index.ts';
import { registerTypedRpc, type RpcServer } from '../../net/rpc/server.ts';
import { RPCS } from '../../wire/structs/index.ts';
import type { HttpRouter } from '../../net/index.ts';
import { commandApiOf } from '../api.ts';
import { changeLogLevel, logStartLevel, PEGASUS_LOG_LEVELS, pegasusLevelName } from '../logging.ts';
import { perfCounters } from '../commands/perfcounter.ts';
import { STATUS_ERROR } from '../results.ts';
import { RemoteCommandArgumentError, RemoteCommandRegistry, usageLine, type RemoteCommandSpec } from './registry.ts';

export { RemoteCommandRegistry, RemoteCommandArgumentError, unknownCommandText, usageLine, type RemoteCommandSpec, type RemoteCommandHandler } from './registry.ts';

export interface RemoteServerIdentity {
  role: string;
  host: string;
  port: number;
  version: string;
  gitCommit: string;
  startTime: Date;
}

export interface RemoteCommandHost {
  readonly router: HttpRouter;
  readonly rpc: RpcServer;
  readonly identity: RemoteServerIdentity;
}

/** Extra `name=value` pairs a role adds to `server-stat`. */
export type ServerStatProvider = () => Array<[string, string | number]>;

interface Installed {
  registry: RemoteCommandRegistry;
  statProviders: ServerStatProvider[];
  router: HttpRouter;
  rpcAnswered: boolean;
}

const installed = new WeakMap<RpcServer, Installed>();

export function remoteCommandsOf(rpc: RpcServer): RemoteCommandRegistry | undefined {
  return installed.get(rpc)?.registry;
}

/** Adds `name=value` pairs to this server's `server-stat`. */
export function addServerStat(rpc: RpcServer, provider: ServerStatProvider): void {
  installed.get(rpc)?.statProviders.push(provider);
}

/** Registers `spec` with the server's remote commands and, where the name allows, as an /api command. */
export function registerRemoteCommand(host: { rpc: RpcServer }, spec: RemoteCommandSpec): void {
  const entry = installed.get(host.rpc);
  if (!entry) throw new Error('remote commands are not installed on this server');
  entry.registry.register(spec);
  exposeOnApi(entry, spec);
}

const API_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

function exposeOnApi(entry: Installed, spec: RemoteCommandSpec): void {
  const api = commandApiOf(entry.router);
  if (!api) return;
  // Under its main name only: aliases would crowd the /api command list.
  for (const name of spec.names.slice(0, 1)) {
    const apiName = name.replace(/\./g, '-');
    if (!API_NAME.test(apiName) || api.commands.find(apiName)) continue;
    api.commands.register({
      name: apiName,
      summary: `Remote command ${name}: ${spec.help}`,
      arguments: [{ name: 'args', type: 'string', variadic: true, description: spec.usage || 'no arguments' }],
      async run({ append, args }) {
        const words = args.argument('args');
        const list = Array.isArray(words) ? (words as string[]) : words === undefined ? [] : [String(words)];
        append({ type: 'remote_command', command: name, arguments: list, result: await entry.registry.run(name, list) });
      },
    });
  }
}

function resetLogStartLevelCommand(): RemoteCommandSpec {
  return {
    names: ['reset-log-start-level'],
    help: 'Reset the log start level',
    usage: '[DEBUG | INFO | WARNING | ERROR | FATAL]',
    handler(args) {
      if (args.length > 1) throw new RemoteCommandArgumentError('at most one level');
      // Pegasus's names without their LOG_LEVEL_ prefix: DEBUG, INFO, WARNING, ERROR, FATAL.
      const chosen = args.length === 0 ? pegasusLevelName(logStartLevel()) : `LOG_LEVEL_${args[0]}`;
      if (chosen === undefined) return `ERROR: the start level '${logStartLevel()}' has no Pegasus name`;
      if (!(chosen in PEGASUS_LOG_LEVELS)) return `ERROR: invalid level '${args[0]}'`;
      changeLogLevel(chosen);
      return `OK, current level is ${chosen}`;
    },
  };
}

/**
 * `perf-counters [regexp]...`: the process's counters (perfcounter's list) whose whole name one of
 * the expressions matches (all without any), in Pegasus's JSON. The expressions are JavaScript
 * regular expressions, where Pegasus takes POSIX basic ones: `.`, `*`, `[...]`, `^` and `$` read
 * the same, `\(`/`\{` groups do not.
 */
function perfCountersCommand(): RemoteCommandSpec {
  return {
    names: ['perf-counters'],
    help: 'Query perf counters, filtered by OR of regular expressions',
    usage: '[regexp]...',
    handler(args) {
      const now = new Date();
      const info = { result: 'OK', timestamp: Math.floor(now.getTime() / 1000), timestamp_str: formatLocalTime(now), counters: [] as Array<{ name: string; type: string; value: number }> };
      const patterns: RegExp[] = [];
      for (const arg of args) {
        try {
          patterns.push(new RegExp(`^(?:${arg})$`));
        } catch {
          return JSON.stringify({ ...info, result: `ERROR: invalid filter: ${arg}` });
        }
      }
      for (const counter of perfCounters()) {
        if (typeof counter.value !== 'number') continue;
        if (patterns.length > 0 && !patterns.some((pattern) => pattern.test(counter.name))) continue;
        info.counters.push({ name: counter.name, type: counter.percentile ? 'PERCENTILE' : 'NUMBER', value: counter.value });
      }
      return JSON.stringify(info);
    },
  };
}

function formatMb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(2);
}

function builtinCommands(host: RemoteCommandHost, entry: Installed): RemoteCommandSpec[] {
  const { identity } = host;
  return [
    {
      names: ['help', 'h', 'H', 'Help'],
      help: 'list the commands, or show the usage of one',
      usage: '[command]',
      handler(args) {
        if (args.length > 1) throw new RemoteCommandArgumentError('help takes at most one command name');
        if (args.length === 1) {
          const spec = entry.registry.find(args[0]!);
          if (!spec) return `unknown command '${args[0]}'`;
          return `${usageLine(spec)}\n    ${spec.help}\n`;
        }
        const lines = entry.registry.list().map((spec) => `${usageLine(spec)}\n    ${spec.help}`);
        return `${lines.join('\n')}\n`;
      },
    },
    {
      names: ['server-info'],
      help: 'the server version, build, commit, start time and role as JSON',
      handler(args) {
        if (args.length > 0) throw new RemoteCommandArgumentError('server-info takes no arguments');
        return JSON.stringify({
          version: identity.version,
          build_type: 'Release',
          git_SHA: identity.gitCommit || 'unknown',
          start_time: formatLocalTime(identity.startTime),
          role: identity.role,
        });
      },
    },
    {
      names: ['server-stat'],
      help: 'a few key figures of this server as name=value pairs',
      handler(args) {
        if (args.length > 0) throw new RemoteCommandArgumentError('server-stat takes no arguments');
        const memory = process.memoryUsage();
        const pairs: Array<[string, string | number]> = [
          ['role', identity.role],
          ['uptime_s', Math.floor((Date.now() - identity.startTime.getTime()) / 1000)],
          ['memused_res(MB)', formatMb(memory.rss)],
          ['heap_used(MB)', formatMb(memory.heapUsed)],
          ['heap_total(MB)', formatMb(memory.heapTotal)],
        ];
        for (const provider of entry.statProviders) {
          try {
            pairs.push(...provider());
          } catch (error) {
            log.debug({ err: (error as Error).message }, 'server-stat provider failed');
          }
        }
        return pairs.map(([key, value]) => `${key}=${value}`).join(', ');
      },
    },
    {
      names: ['config-dump'],
      help: 'every configuration flag and its current value',
      usage: '[section]',
      handler(args) {
        if (args.length > 1) throw new RemoteCommandArgumentError('config-dump takes at most one section name');
        const section = args[0];
        const flags = allFlags()
          .filter((flag) => section === undefined || flag.section === section)
          .sort((a, b) => (a.section === b.section ? (a.name < b.name ? -1 : 1) : a.section < b.section ? -1 : 1));
        if (section !== undefined && flags.length === 0) return `no flag in section [${section}]`;
        return `${flags.map((flag) => `${flag.section}.${flag.name} = ${formatValue(flag)}`).join('\n')}\n`;
      },
    },
    perfCountersCommand(),
    resetLogStartLevelCommand(),
    {
      names: ['flush-log'],
      help: 'write out whatever the logger holds',
      handler(args) {
        if (args.length > 0) throw new RemoteCommandArgumentError('flush-log takes no arguments');
        const flushable = log as unknown as { flush?: () => void };
        flushable.flush?.();
        return 'Flush done.';
      },
    },
  ];
}

/**
 * Answers RPC_CLI_CLI_CALL with the server's registry; called when the server starts, so a
 * handler registered for RPC_CLI_CLI_CALL before then (a test's stand-in) is kept instead.
 */
export function answerRemoteCommandsOverRpc(rpc: RpcServer): void {
  const entry = installed.get(rpc);
  if (!entry || entry.rpcAnswered) return;
  entry.rpcAnswered = true;
  try {
    registerTypedRpc(rpc, RPCS.RPC_CLI_CLI_CALL, (command) => entry.registry.run(command.cmd, command.arguments ?? []));
  } catch (error) {
    log.debug({ err: (error as Error).message }, 'RPC_CLI_CLI_CALL already has a handler; remote commands answer through /api only');
  }
}

/** Creates this server's registry with the built-in commands (and its /api commands). */
export function installRemoteCommands(host: RemoteCommandHost): RemoteCommandRegistry {
  const existing = installed.get(host.rpc);
  if (existing) return existing.registry;
  const entry: Installed = { registry: new RemoteCommandRegistry(), statProviders: [], router: host.router, rpcAnswered: false };
  installed.set(host.rpc, entry);
  for (const spec of builtinCommands(host, entry)) {
    entry.registry.register(spec);
    exposeOnApi(entry, spec);
  }
  const api = commandApiOf(host.router);
  if (api && !api.commands.find('remote-command')) {
    api.commands.register({
      name: 'remote-command',
      summary: "Run one of this server's remote commands (what RPC_CLI_CLI_CALL answers)",
      arguments: [
        { name: 'command', type: 'string', required: true, description: 'The remote command, e.g. server-info' },
        { name: 'args', type: 'string', variadic: true, description: 'Its arguments' },
      ],
      examples: ['remote-command help', 'remote-command server-info', 'remote-command config-dump core'],
      async run({ append, args }) {
        const cmd = args.argumentText('command');
        if (cmd === undefined) return { statusCode: STATUS_ERROR, message: 'remote-command: a command name is required' };
        const words = args.argument('args');
        const list = Array.isArray(words) ? (words as string[]) : words === undefined ? [] : [String(words)];
        append({ type: 'remote_command', command: cmd, arguments: list, result: await entry.registry.run(cmd, list) });
      },
    });
  }
  return entry.registry;
}
