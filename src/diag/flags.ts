// Settings of the command-session API. Defaults are Arthas's; tests shorten the timeouts.
import { defineFlag } from '../config/index.ts';

const SECTION = 'diag';

export const apiEnabled = defineFlag({
  section: SECTION,
  name: 'api_enabled',
  type: 'FV_BOOL',
  default: true,
  description: 'Whether POST /api, the command-session API, is served',
});

export const sessionTimeoutSeconds = defineFlag({
  section: SECTION,
  name: 'api_session_timeout_s',
  type: 'FV_UINT32',
  default: 10800,
  description: 'A command session idle this long (seconds) and running no foreground job is closed',
  mutable: true,
  validator: (value) => value >= 1,
});

export const consumerTimeoutMs = defineFlag({
  section: SECTION,
  name: 'api_consumer_timeout_ms',
  type: 'FV_UINT32',
  default: 300000,
  description: 'A session consumer not pulled for this long (milliseconds) is removed; its client must join again',
  mutable: true,
  validator: (value) => value >= 1,
});

export const reaperIntervalMs = defineFlag({
  section: SECTION,
  name: 'api_reaper_interval_ms',
  type: 'FV_UINT32',
  default: 60000,
  description: 'How often (milliseconds) idle command sessions and consumers are looked for',
  mutable: true,
  validator: (value) => value >= 10,
});

export const execTimeoutDefaultMs = defineFlag({
  section: SECTION,
  name: 'api_exec_timeout_ms',
  type: 'FV_UINT32',
  default: 30000,
  description: 'How long (milliseconds) a synchronous exec waits for its job when the request gives no execTimeout',
  mutable: true,
  validator: (value) => value >= 1,
});

export const jobTimeoutSeconds = defineFlag({
  section: SECTION,
  name: 'api_job_timeout_s',
  type: 'FV_UINT32',
  default: 86400,
  description: 'Any command job still running after this long (seconds) is ended with status -10',
  mutable: true,
  validator: (value) => value >= 1,
});

export const sessionsMax = defineFlag({
  section: SECTION,
  name: 'api_sessions_max',
  type: 'FV_UINT32',
  default: 1000,
  description: 'The most command sessions (one-time exec sessions included) alive at once',
  mutable: true,
  validator: (value) => value >= 1,
});

export const disabledCommands = defineFlag({
  section: SECTION,
  name: 'api_disabled_commands',
  type: 'FV_STRING',
  default: '',
  description: 'Comma-separated commands the API answers with "command not found"',
});

export const apiUsername = defineFlag({
  section: SECTION,
  name: 'api_username',
  type: 'FV_STRING',
  default: '',
  description: 'The user name /api requires with its password; "pteron" when only a password is set',
});

export const apiPassword = defineFlag({
  section: SECTION,
  name: 'api_password',
  type: 'FV_STRING',
  default: '',
  secret: true,
  description:
    'The password /api requires (Basic auth or ?password=), plain or as sha256:<hex digest>; with a user name and no ' +
    'password a random one is generated and logged; empty with no user name: no credentials, loopback clients only',
});

export const localConnectionNonAuth = defineFlag({
  section: SECTION,
  name: 'api_local_connection_non_auth',
  type: 'FV_BOOL',
  default: true,
  description: 'Whether loopback clients may use /api without credentials when a password is configured',
});

export const outputDir = defineFlag({
  section: SECTION,
  name: 'api_output_dir',
  type: 'FV_STRING',
  default: '',
  description: 'Where heapdump (and later profiler) write their files; empty means pteron-output in the system temporary directory',
});
