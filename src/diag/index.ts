// Command sessions (/api): Arthas's HTTP API on every server, with Node.js diagnostics.
//
//   registerCommandApi(router, createBuiltinCommands(), { server: identity })  serves POST /api;
//   commandApiOf(router).commands.register(spec)                                adds a command.
export {
  registerCommandApi, createCommandApi, commandApiOf, limitsFromFlags, authFromFlags, API_ACTIONS, WELCOME_MESSAGE,
  EXEC_TIMEOUT_MESSAGE, type ApiAction, type ApiResponse, type ApiState, type CommandApi, type CommandApiOptions,
} from './api.ts';
export { createBuiltinCommands, BUILTIN_COMMANDS, diagOutputDir } from './commands/index.ts';
export {
  CommandRegistry, ArgumentError, ParsedArgs, parseArguments, describeCommand, usageOf,
  type CommandSpec, type CommandInvocation, type CommandServices, type OptionSpec, type ArgumentSpec, type OptionType, type ServerInfo,
} from './commands/registry.ts';
export { SessionManager, Session, SessionLimitError, DEFAULT_SESSION_LIMITS, CONSUMER_INACTIVE_MESSAGE, type SessionLimits } from './sessions.ts';
export { Job, JobStateError, type JobStatus, type JobContext, type JobBody, type JobOutcome } from './job.ts';
export { SharingDistributor, PackingSink, UNHEALTHY_CONSUMERS_MESSAGE, type ResultSink } from './distributor.ts';
export { ResultConsumer, DEFAULT_CONSUMER_LIMITS, type ConsumerLimits } from './consumer.ts';
export { systemClock, ManualClock, type Clock, type TimerHandle } from './clock.ts';
export { authorize, isLoopback, presentedCredentials, resolveAuthConfig, DEFAULT_USERNAME, type AuthConfig, type AuthDecision, type Credentials } from './auth.ts';
export { parseCommandLine, CommandLineError, type CommandLine } from './tokenize.ts';
export {
  STATUS_OK, STATUS_ERROR, STATUS_TERMINATED, SESSION_JOB_ID, type Result, type ResultFields, type InputStatus,
} from './results.ts';
