// The built-in commands. Heavier diagnostics (heapdump, profiler) plug in the same way: a
// CommandSpec whose body appends results and watches `signal`, registered on the registry.
import { dashboardCommand } from './dashboard.ts';
import { helpCommand, historyCommand, jobsCommand, killCommand, sessionCommand, versionCommand } from './basic.ts';
import { memoryCommand, threadCommand } from './memory-thread.ts';
import { startGcObserver } from './node-stats.ts';
import { perfcounterCommand } from './perfcounter.ts';
import { CommandRegistry } from './registry.ts';
import { sysenvCommand, syspropCommand, vmoptionCommand } from './runtime.ts';

export const BUILTIN_COMMANDS = [
  versionCommand, helpCommand, sessionCommand, historyCommand, jobsCommand, killCommand,
  sysenvCommand, syspropCommand, vmoptionCommand, memoryCommand, threadCommand, perfcounterCommand, dashboardCommand,
] as const;

/** A registry holding the built-in commands; starts counting garbage collections for dashboard. */
export function createBuiltinCommands(): CommandRegistry {
  startGcObserver();
  const registry = new CommandRegistry();
  for (const command of BUILTIN_COMMANDS) registry.register(command);
  return registry;
}

export {
  CommandRegistry, ArgumentError, ParsedArgs, parseArguments, describeCommand, usageOf,
  type CommandSpec, type CommandInvocation, type CommandServices, type OptionSpec, type ArgumentSpec, type OptionType, type ServerInfo,
} from './registry.ts';
