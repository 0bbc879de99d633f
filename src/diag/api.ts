// POST /api: Arthas's command-session HTTP API (spec arthas §1). Every outcome of the API's own
// logic is HTTP 200 with a JSON envelope {body, consumerId, message, requestId, sessionId, state},
// absent fields omitted; only a refused client (401) is answered otherwise.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatLocalTime, log } from '../base/index.ts';
import { defineMetric, serverEntity } from '../metrics/index.ts';
import type { AdminRequest, AdminResponse, HttpRouter } from '../net/index.ts';
import { authorize, presentedCredentials, resolveAuthConfig, type AuthConfig } from './auth.ts';
import { systemClock, type Clock } from './clock.ts';
import { diagOutputDir, PLAIN_FILE_NAME } from './commands/heapdump.ts';
import { commandBody } from './commands/invoke.ts';
import type { CommandRegistry, CommandServices, ServerInfo } from './commands/registry.ts';
import { DEFAULT_CONSUMER_LIMITS } from './consumer.ts';
import { PackingSink } from './distributor.ts';
import {
  apiEnabled, apiPassword, apiUsername, consumerTimeoutMs, disabledCommands, execTimeoutDefaultMs, jobTimeoutSeconds,
  localConnectionNonAuth, reaperIntervalMs, sessionsMax, sessionTimeoutSeconds,
} from './flags.ts';
import { JobStateError } from './job.ts';
import { inputStatusResult, makeResult, messageResult, SESSION_JOB_ID, type Result } from './results.ts';
import { DEFAULT_SESSION_LIMITS, Session, SessionLimitError, SessionManager, type SessionLimits } from './sessions.ts';
import { CommandLineError, parseCommandLine } from './tokenize.ts';

export type ApiState = 'SCHEDULED' | 'SUCCEEDED' | 'FAILED' | 'REFUSED' | 'INTERRUPTED';

export interface ApiResponse {
  body?: Record<string, unknown>;
  consumerId?: string;
  message?: string;
  requestId?: string;
  sessionId?: string;
  state: ApiState;
}

export const API_ACTIONS = [
  'exec', 'async_exec', 'interrupt_job', 'pull_results', 'init_session', 'join_session', 'close_session', 'session_info',
] as const;
export type ApiAction = (typeof API_ACTIONS)[number];

/** The request fields, after Arthas's rules: blank strings are absent, execTimeout is a number. */
interface ApiRequest {
  action?: string;
  requestId?: string;
  sessionId?: string;
  consumerId?: string;
  command?: string;
  execTimeout?: number;
  userId?: string;
}

export const WELCOME_MESSAGE = 'Welcome to pteron!';
export const EXEC_TIMEOUT_MESSAGE = 'The job is exceeded time limit, force interrupt';
/** Every method reaches the handler, which refuses all but POST in the envelope, as Arthas does. */
const API_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'] as const;
/** Files of the output directory (heap dumps, CPU profiles) are served below this path. */
const DOWNLOAD_PATH = 'api/download';

const authFailuresMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'api_auth_failures', unit: 'Requests',
  desc: 'The number of /api requests refused with 401: no or wrong credentials, or a non-loopback client without a configured password',
});
const sessionsMetric = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'api_sessions', unit: 'Sessions',
  desc: 'The number of command sessions alive, one-time exec sessions included',
});

export interface CommandApiOptions {
  /** The server's identity; read on use, so a port bound later shows up. */
  server: ServerInfo;
  clock?: Clock;
  /** Defaults to the `diag` flags, read on every use. */
  limits?: () => SessionLimits;
  /** Defaults to the `diag` flags, resolved once at registration. */
  auth?: AuthConfig;
  /** Default exec timeout; defaults to the `api_exec_timeout_ms` flag. */
  execTimeoutDefaultMs?: () => number;
}

export interface CommandApi {
  readonly commands: CommandRegistry;
  readonly sessions: SessionManager;
  /** The /api handler, also usable without a router (tests). */
  handle(request: AdminRequest): Promise<AdminResponse>;
  /** GET /api/download/<file>: a file of the output directory (heapdump, profiler), same access rule as /api. */
  download(request: AdminRequest): Promise<AdminResponse>;
  /** Ends every session and stops the expiry timer. */
  close(): void;
}

const apis = new WeakMap<HttpRouter, CommandApi>();

/** The command API registered on `router`, e.g. for a role to add its own commands. */
export function commandApiOf(router: HttpRouter): CommandApi | undefined {
  return apis.get(router);
}

export function limitsFromFlags(): SessionLimits {
  return {
    ...DEFAULT_SESSION_LIMITS,
    sessionTimeoutMs: sessionTimeoutSeconds.value * 1000,
    consumerTimeoutMs: consumerTimeoutMs.value,
    reaperIntervalMs: reaperIntervalMs.value,
    jobTimeoutMs: jobTimeoutSeconds.value * 1000,
    sessionsMax: sessionsMax.value,
    consumerLimits: DEFAULT_CONSUMER_LIMITS,
  };
}

export function authFromFlags(): AuthConfig {
  return resolveAuthConfig(apiUsername.value, apiPassword.value, localConnectionNonAuth.value, (password) =>
    log.warn({ username: apiUsername.value, password }, 'diag.api_username is set without a password; generated one for /api'),
  );
}

function disabledFromFlag(name: string): boolean {
  const list = disabledCommands.value;
  return list !== '' && list.split(',').some((item) => item.trim() === name);
}

/** Thrown inside an action: becomes a bare FAILED envelope with this message. */
class ApiError extends Error {}

function isBlank(text: string | undefined): boolean {
  return text === undefined || text.trim() === '';
}

/** A JSON value for an error message: a scalar as JSON (long strings cut), a container by its kind only (it may nest deeper than JSON.stringify can go). */
function describeJsonValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

const STRING_FIELDS = ['action', 'requestId', 'sessionId', 'consumerId', 'command', 'userId'] as const;

/** Arthas reads the body into a typed object; wrong types fail the parse, like its JSON binder. */
function parseApiRequest(text: string): ApiRequest {
  if (text.trim() === '') throw new ApiError('Process request error: parse request failed: request body is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApiError(`Process request error: parse request failed: ${(error as Error).message}`);
  }
  const fail = (why: string): never => {
    throw new ApiError(`Process request error: parse request failed: ${why}`);
  };
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail('the request body must be a JSON object');
  const raw = parsed as Record<string, unknown>;
  const request: ApiRequest = {};
  for (const field of STRING_FIELDS) {
    const value = raw[field];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') request[field] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') request[field] = String(value);
    else fail(`field '${field}' must be a string, got ${Array.isArray(value) ? 'an array' : 'an object'}`);
  }
  const timeout = raw.execTimeout;
  if (timeout !== undefined && timeout !== null) {
    const number = typeof timeout === 'string' && /^\s*[+-]?\d+\s*$/.test(timeout) ? Number(timeout) : timeout;
    if (typeof number !== 'number' || !Number.isInteger(number) || Math.abs(number) > 2 ** 31 - 1) {
      fail(`field 'execTimeout' must be an integer number of milliseconds, got ${describeJsonValue(timeout)}`);
    }
    request.execTimeout = number as number;
  }
  for (const field of ['action', 'sessionId', 'consumerId', 'userId'] as const) {
    if (isBlank(request[field])) delete request[field];
  }
  return request;
}

/** Fields in ascending order, as Arthas's serializer writes them; absent ones left out. */
function envelope(response: ApiResponse): Record<string, unknown> {
  const ordered: Record<string, unknown> = {};
  for (const key of ['body', 'consumerId', 'message', 'requestId', 'sessionId', 'state'] as const) {
    if (response[key] !== undefined) ordered[key] = response[key];
  }
  return ordered;
}

function jsonResponse(response: ApiResponse): AdminResponse {
  return { status: 200, body: JSON.stringify(envelope(response)), contentType: 'application/json; charset=utf-8' };
}

function failed(message: string): ApiResponse {
  return { state: 'FAILED', message };
}

/** Resolves true when `promise` settles first, false when `ms` passes first. */
function settlesWithin(promise: Promise<void>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, () => resolve(false));
    void promise.then(() => {
      timer.cancel();
      resolve(true);
    });
  });
}

/** The body keys Arthas builds in a sorted map. */
function sortedBody(fields: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of Object.keys(fields).sort()) if (fields[key] !== undefined) body[key] = fields[key];
  return body;
}

export function createCommandApi(commands: CommandRegistry, options: CommandApiOptions): CommandApi {
  const clock = options.clock ?? systemClock;
  const sessions = new SessionManager(clock, options.limits ?? limitsFromFlags);
  const auth = options.auth ?? authFromFlags();
  const execTimeoutDefault = options.execTimeoutDefaultMs ?? (() => execTimeoutDefaultMs.value);
  const services: CommandServices = { sessions, commands, server: options.server };
  const entity = serverEntity();
  const authFailures = entity.counter(authFailuresMetric);
  entity.gauge(sessionsMetric).sampleWith(() => sessions.sessionCount);
  sessions.startReaper();

  type Resolved = { ok: true; body: ReturnType<typeof commandBody>; background: boolean } | { ok: false; message: string };

  /** Tokenises and looks the command up; the message is what follows the exec prefix. */
  function resolveCommand(line: string | undefined, session: Session): Resolved {
    if (line === undefined || line.trim() === '') return { ok: false, message: "'command' is required" };
    let parsed;
    try {
      parsed = parseCommandLine(line);
    } catch (error) {
      if (error instanceof CommandLineError) return { ok: false, message: error.message };
      throw error;
    }
    const name = parsed.words[0];
    if (name === undefined) return { ok: false, message: "'command' is required" };
    const spec = commands.find(name);
    if (!spec) return { ok: false, message: `${name}: command not found` };
    return { ok: true, body: commandBody(spec, parsed.words, line, session, services), background: parsed.background };
  }

  function initSession(userId: string | undefined): ApiResponse {
    let session: Session;
    try {
      session = sessions.createSession(false);
    } catch (error) {
      if (error instanceof SessionLimitError) throw new ApiError(`create api session failed: ${error.message}`);
      throw error;
    }
    session.userId = userId;
    const consumer = sessions.addConsumer(session, false);
    const stream = session.distributor!;
    stream.appendResult(messageResult(SESSION_JOB_ID, WELCOME_MESSAGE));
    stream.appendResult(
      makeResult(SESSION_JOB_ID, {
        type: 'welcome',
        version: options.server.version,
        pid: String(process.pid),
        mainClass: `pteron ${options.server.role}`,
        time: formatLocalTime(new Date(clock.now()), true),
      }),
    );
    stream.appendResult(inputStatusResult('ALLOW_INPUT'));
    return { consumerId: consumer.id, sessionId: session.id, state: 'SUCCEEDED' };
  }

  async function exec(request: ApiRequest, session: Session): Promise<ApiResponse> {
    const line = request.command;
    const response: ApiResponse = { body: sortedBody({ command: line }), sessionId: session.id, state: 'SUCCEEDED' };
    if (session.foregroundJob) return { ...response, state: 'REFUSED', message: 'Another job is running.' };
    const jobId = sessions.nextJobId();
    if (!isBlank(line)) sessions.addHistory(line!);
    const resolved = resolveCommand(line, session);
    if (!resolved.ok) return { ...response, state: 'FAILED', message: `Exec command failed:${resolved.message}` };
    const packing = new PackingSink();
    const job = sessions.startJob({ session, line: line!, body: resolved.body, sink: packing, background: resolved.background }, jobId);
    const timeoutMs = request.execTimeout !== undefined && request.execTimeout > 0 ? request.execTimeout : execTimeoutDefault();
    const timeExpired = !(await settlesWithin(job.ended(), timeoutMs, clock));
    if (timeExpired) {
      if (job.status === 'READY') job.terminate(0);
      else job.interrupt();
    }
    const body = sortedBody({
      command: line,
      jobId: job.id,
      jobStatus: job.status,
      results: packing.results,
      timeExpired,
      timeout: timeExpired ? timeoutMs : undefined,
    });
    return timeExpired
      ? { body, message: EXEC_TIMEOUT_MESSAGE, sessionId: session.id, state: 'INTERRUPTED' }
      : { body, sessionId: session.id, state: 'SUCCEEDED' };
  }

  function asyncExec(request: ApiRequest, session: Session): ApiResponse {
    const line = request.command;
    const response: ApiResponse = { body: sortedBody({ command: line }), sessionId: session.id, state: 'SCHEDULED' };
    if (session.foregroundJob) return { ...response, state: 'REFUSED', message: 'Another job is running.' };
    const stream = session.distributor;
    const jobId = sessions.nextJobId();
    if (!isBlank(line)) sessions.addHistory(line!);
    const resolved: Resolved = stream ? resolveCommand(line, session) : { ok: false, message: 'a one-time exec session has no result stream' };
    if (!resolved.ok) {
      const message = `Async exec command failed:${resolved.message}`;
      stream?.appendResult(makeResult(SESSION_JOB_ID, { type: 'command', command: line, state: 'FAILED', message }));
      return { ...response, state: 'FAILED', message };
    }
    stream!.appendResult(makeResult(jobId, { type: 'command', command: line, state: 'SCHEDULED' }));
    const job = sessions.startJob({ session, line: line!, body: resolved.body, sink: stream!, background: resolved.background }, jobId);
    return { ...response, body: sortedBody({ command: line, jobId: job.id, jobStatus: job.status }) };
  }

  function interruptJob(session: Session): ApiResponse {
    const job = session.foregroundJob;
    if (!job) throw new ApiError('no foreground job is running');
    try {
      job.interrupt();
    } catch (error) {
      if (error instanceof JobStateError) throw new ApiError(`process http api request failed: ${error.message}`);
      throw error;
    }
    return { body: { jobId: job.id, jobStatus: job.status }, state: 'SUCCEEDED' };
  }

  async function pullResults(request: ApiRequest, session: Session): Promise<ApiResponse> {
    const consumerId = request.consumerId;
    if (consumerId === undefined) throw new ApiError("'consumerId' is required");
    const consumer = session.distributor?.getConsumer(consumerId);
    if (!consumer) throw new ApiError(`consumer not found: ${consumerId}`);
    const results: Result[] = await consumer.pollResults();
    sessions.touch(session);
    return { body: { results }, consumerId, sessionId: session.id, state: 'SUCCEEDED' };
  }

  function joinSession(session: Session): ApiResponse {
    if (!session.distributor) throw new ApiError('join session failed: a one-time exec session cannot be joined');
    let consumerId: string;
    try {
      consumerId = sessions.addConsumer(session, true).id;
    } catch (error) {
      if (error instanceof SessionLimitError) throw new ApiError(`join session failed: ${error.message}`);
      throw error;
    }
    return { consumerId, sessionId: session.id, state: 'SUCCEEDED' };
  }

  async function dispatch(action: ApiAction, request: ApiRequest, userIdParam: string | undefined): Promise<ApiResponse> {
    const userId = request.userId ?? userIdParam;
    if (action === 'init_session') return initSession(userId);
    let session: Session | undefined;
    if (request.sessionId === undefined) {
      if (action !== 'exec') throw new ApiError("'sessionId' is required");
    } else {
      session = sessions.getSession(request.sessionId);
      if (!session) throw new ApiError(`session not found: ${request.sessionId}`);
      sessions.touch(session);
    }
    if (!session) {
      try {
        session = sessions.createSession(true);
      } catch (error) {
        if (error instanceof SessionLimitError) throw new ApiError(`Exec command failed:${error.message}`);
        throw error;
      }
      const oneTime = session;
      oneTime.userId = userId;
      try {
        return await exec(request, oneTime);
      } finally {
        sessions.removeSession(oneTime.id);
      }
    }
    if (userId !== undefined) session.userId = userId;
    switch (action) {
      case 'exec':
        return exec(request, session);
      case 'async_exec':
        return asyncExec(request, session);
      case 'interrupt_job':
        return interruptJob(session);
      case 'pull_results':
        return pullResults(request, session);
      case 'join_session':
        return joinSession(session);
      case 'close_session':
        sessions.removeSession(session.id);
        return { state: 'SUCCEEDED' };
      case 'session_info':
        return {
          body: { createTime: session.createTimeMs, lastAccessTime: session.lastAccessTimeMs, pid: session.pid },
          sessionId: session.id,
          state: 'SUCCEEDED',
        };
    }
  }

  async function processRequest(request: AdminRequest): Promise<ApiResponse> {
    if (request.method !== 'POST') return { state: 'REFUSED', message: `Unsupported http method: ${request.method}` };
    let apiRequest: ApiRequest;
    try {
      apiRequest = parseApiRequest(request.body.toString('utf8'));
    } catch (error) {
      if (error instanceof ApiError) return failed(error.message);
      throw error;
    }
    let response: ApiResponse;
    try {
      const actionText = apiRequest.action;
      if (actionText === undefined) throw new ApiError("'action' is required");
      const action = actionText.trim().toLowerCase() as ApiAction;
      if (!API_ACTIONS.includes(action)) throw new ApiError(`unknown action: ${actionText}`);
      response = await dispatch(action, apiRequest, request.query.get('userId') || undefined);
    } catch (error) {
      if (error instanceof ApiError) {
        response = failed(error.message);
      } else {
        log.error({ err: error }, '/api request failed');
        response = failed(`process http api request failed: ${(error as Error).message}`);
      }
    }
    return { ...response, requestId: apiRequest.requestId };
  }

  /** The 401 answer for a client the auth rule refuses; undefined for one it lets in. */
  function refusal(request: AdminRequest): AdminResponse | undefined {
    const decision = authorize(auth, request.remoteAddress, presentedCredentials(request.headers, request.query));
    if (decision.allowed) return undefined;
    authFailures.increment();
    log.warn({ remoteAddress: request.remoteAddress, path: request.path, reason: decision.reason }, '/api request refused');
    return {
      status: 401,
      body: '',
      contentType: 'text/plain',
      headers: { 'WWW-Authenticate': 'Basic realm="pteron"' },
    };
  }

  async function handle(request: AdminRequest): Promise<AdminResponse> {
    return refusal(request) ?? jsonResponse(await processRequest(request));
  }

  async function download(request: AdminRequest): Promise<AdminResponse> {
    const refused = refusal(request);
    if (refused) return refused;
    // The path is normalised but not resolved: `api/download/../x` arrives as it was sent.
    const name = request.path.startsWith(`${DOWNLOAD_PATH}/`) ? request.path.slice(DOWNLOAD_PATH.length + 1) : '';
    if (!PLAIN_FILE_NAME.test(name)) {
      return { status: 400, body: `only plain file names of the output directory can be downloaded, got '${name}'`, contentType: 'text/plain' };
    }
    const file = path.join(diagOutputDir(), name);
    let body: Buffer;
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a regular file');
      body = await readFile(file);
    } catch {
      return { status: 404, body: `no such file in the output directory: ${name}`, contentType: 'text/plain' };
    }
    return {
      status: 200,
      body: request.method === 'HEAD' ? Buffer.alloc(0) : body,
      contentType: 'application/octet-stream',
      headers: { 'Content-Disposition': `attachment; filename="${name}"` },
    };
  }

  commands.setDisabled(disabledFromFlag);
  return {
    commands,
    sessions,
    handle,
    download,
    close: () => sessions.closeAll(),
  };
}

/**
 * Serves the command-session API at POST /api on `router`. Returns the API so the caller (or a
 * role, through `commandApiOf(router)`) can add commands to `commands` at any time.
 */
export function registerCommandApi(router: HttpRouter, commands: CommandRegistry, options: CommandApiOptions): CommandApi {
  const api = createCommandApi(commands, options);
  apis.set(router, api);
  if (!apiEnabled.value) {
    api.close();
    return api;
  }
  router.register({
    path: 'api',
    description: 'Command sessions (Arthas HTTP API): POST {"action":"exec","command":"help"}; actions exec, async_exec, ' +
      'interrupt_job, pull_results, init_session, join_session, close_session, session_info',
    methods: API_METHODS,
    handler: (request) => api.handle(request),
  });
  router.register({
    path: DOWNLOAD_PATH,
    parameters: '/<file>',
    description: 'Download a file that heapdump or profiler wrote into the output directory (same access rule as /api)',
    methods: ['GET', 'HEAD'],
    prefix: true,
    handler: (request) => api.download(request),
  });
  return api;
}
