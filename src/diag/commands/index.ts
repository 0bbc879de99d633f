// The built-in commands. More diagnostics plug in the same way: a CommandSpec whose body appends
// results and watches `signal`, writing any files under diagOutputDir() as heapdump and profiler do.
import { dashboardCommand } from './dashboard.ts';
import { helpCommand, historyCommand, jobsCommand, killCommand, sessionCommand, versionCommand } from './basic.ts';
import { heapdumpCommand } from './heapdump.ts';
import { loggerCommand } from './logger.ts';
import { memoryCommand, threadCommand } from './memory-thread.ts';
import { startGcObserver } from './node-stats.ts';
import { perfcounterCommand } from './perfcounter.ts';
import { profilerCommand } from './profiler.ts';
import { CommandRegistry } from './registry.ts';
import { sysenvCommand, syspropCommand, vmoptionCommand } from './runtime.ts';

export const BUILTIN_COMMANDS = [
  versionCommand, helpCommand, sessionCommand, historyCommand, jobsCommand, killCommand,
  sysenvCommand, syspropCommand, vmoptionCommand, memoryCommand, threadCommand, perfcounterCommand, dashboardCommand, heapdumpCommand,
  profilerCommand, loggerCommand,
] as const;

/** A registry holding the built-in commands; starts counting garbage collections for dashboard. */
export function createBuiltinCommands(): CommandRegistry {
  startGcObserver();
  const registry = new CommandRegistry();
  for (const command of BUILTIN_COMMANDS) registry.register(command);
  return registry;
}

export { diagOutputDir } from './heapdump.ts';
export {
  CommandRegistry, ArgumentError, ParsedArgs, parseArguments, describeCommand, usageOf,
  type CommandSpec, type CommandInvocation, type CommandServices, type OptionSpec, type ArgumentSpec, type OptionType, type ServerInfo,
} from './registry.ts';
