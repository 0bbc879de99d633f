// `pteron shell`: the cluster admin shell, talking to the metas over thrift RPC.
export { runShell, createShellSession, SHELL_USAGE, DEFAULT_META_SERVERS, type ShellSession, type ShellStreams } from './run.ts';
export { runCommand, findCommand, isValidAppName, SHELL_COMMANDS } from './commands.ts';
export { SHELL_DEFAULTS, type ShellCommand, type ShellState, type ShellOutput, type CommandResult } from './shell-command.ts';
export { MetaClient, META_CLIENT_DEFAULTS, leaderHint, type MetaCaller, type MetaReply, type MetaClientOptions } from './meta-client.ts';
export * from './format.ts';
export { splitCommandLine, parseOptions, parseInt32, parseKeyValueList, CommandLineError, type OptionSpec, type ParsedOptions } from './command-line.ts';
export { aliveReplicaServers, availableTables, fetchMetricsSamples, tableConfiguration } from './table-stats.ts';
