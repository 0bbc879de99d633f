// The web console at /ui: a browser terminal (xterm.js) talking over a websocket at /ui/ws to a
// command session of the server's /api, plus /ui/endpoints listing the admin calls. Everything
// goes through the API's own handler, so sessions, jobs, history and the access rules are the
// ones /api has; a client /api refuses is refused here too.
//
//   registerConsole(router, api)   serves /ui, /ui/endpoints, its assets and the websocket.
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { log } from '../../base/index.ts';
import type { AdminRequest, AdminResponse, HttpRouter } from '../../net/index.ts';
import { parseQuery, splitTarget } from '../../net/http/request.ts';
import type { CommandApi } from '../api.ts';
import type { Result } from '../results.ts';
import { consolePage, CONSOLE_SCRIPT, endpointsPage } from './pages.ts';
import { renderResult } from './render.ts';

const HTML = 'text/html; charset=utf-8';
/** The largest websocket message a browser may send: a command line, not a file. */
const MESSAGE_BYTES_MAX = 65536;

/** The directory of the installed @xterm/xterm package, found at run time. */
function xtermDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@xterm/xterm/package.json'));
}

function asset(file: string, contentType: string): () => AdminResponse {
  let body: Buffer | undefined;
  return () => {
    body ??= readFileSync(path.join(xtermDir(), file));
    return { status: 200, body, contentType, headers: { 'Cache-Control': 'max-age=3600' } };
  };
}

type ApiEnvelope = { state: string; message?: string; sessionId?: string; consumerId?: string; body?: Record<string, unknown> };

/** Calls /api's handler as the client at `origin` (its address and credentials). */
async function callApi(
  api: CommandApi, origin: Pick<AdminRequest, 'headers' | 'remoteAddress' | 'query'>, request: Record<string, unknown>,
): Promise<ApiEnvelope | 'refused'> {
  const response = await api.handle({
    method: 'POST', path: 'api', query: origin.query, rawQuery: '', body: Buffer.from(JSON.stringify(request)),
    headers: origin.headers, remoteAddress: origin.remoteAddress,
  });
  if (response.status === 401) return 'refused';
  return JSON.parse(response.body.toString()) as ApiEnvelope;
}

/** True when /api would serve this client: asked with a request that only checks access. */
async function mayUse(api: CommandApi, origin: Pick<AdminRequest, 'headers' | 'remoteAddress' | 'query'>): Promise<boolean> {
  return (await callApi(api, origin, { action: 'session_info' })) !== 'refused';
}

const UNAUTHORIZED: AdminResponse = {
  status: 401, body: 'unauthorized', contentType: 'text/plain', headers: { 'WWW-Authenticate': 'Basic realm="pteron"' },
};

function guarded(api: CommandApi, answer: (request: AdminRequest) => AdminResponse): (request: AdminRequest) => Promise<AdminResponse> {
  return async (request) => ((await mayUse(api, request)) ? answer(request) : UNAUTHORIZED);
}

type ClientMessage = { type: 'line'; line: string } | { type: 'interrupt' };

function parseClientMessage(data: Buffer): ClientMessage | undefined {
  try {
    const message = JSON.parse(data.toString('utf8')) as Partial<{ type: string; line: unknown }>;
    if (message.type === 'line' && typeof message.line === 'string') return { type: 'line', line: message.line };
    if (message.type === 'interrupt') return { type: 'interrupt' };
  } catch {
    // Not JSON: ignored like any other message the console does not send.
  }
  return undefined;
}

/**
 * Browsers let any page open a websocket to any address, so a page from another site could reach
 * a loopback console: an upgrade whose Origin names another host than the one it asks is refused.
 */
function sameOrigin(request: http.IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** One browser terminal: a session of its own, its results pulled and rendered until either side closes. */
async function runTerminal(api: CommandApi, socket: WebSocket, origin: Pick<AdminRequest, 'headers' | 'remoteAddress' | 'query'>): Promise<void> {
  let open = true;
  const send = (message: Record<string, unknown>): void => {
    if (open) socket.send(JSON.stringify(message));
  };
  const init = await callApi(api, origin, { action: 'init_session' });
  if (init === 'refused' || init.state !== 'SUCCEEDED') {
    send({ type: 'output', text: `\x1b[31m${init === 'refused' ? 'unauthorized' : init.message ?? 'no session'}\x1b[0m\r\n` });
    socket.close();
    return;
  }
  const { sessionId, consumerId } = init;
  socket.on('close', () => {
    open = false;
    void callApi(api, origin, { action: 'close_session', sessionId });
  });
  socket.on('message', (data: Buffer) => {
    const message = parseClientMessage(data);
    if (!message) return;
    const request = message.type === 'line'
      ? { action: 'async_exec', sessionId, command: message.line }
      : { action: 'interrupt_job', sessionId };
    void callApi(api, origin, request).then((answer) => {
      if (answer === 'refused') socket.close();
      // A refused or failed line puts the prompt back; a scheduled one waits for its input status.
      else if (message.type === 'line' && answer.state !== 'SCHEDULED') {
        if (answer.state === 'REFUSED') send({ type: 'output', text: `\x1b[31m${answer.message ?? 'refused'}\x1b[0m\r\n` });
        send({ type: 'input', status: 'ALLOW_INPUT' });
      }
    });
  });
  while (open) {
    const answer = await callApi(api, origin, { action: 'pull_results', sessionId, consumerId });
    if (answer === 'refused' || answer.state !== 'SUCCEEDED') break;
    const results = (answer.body?.results as Result[] | undefined) ?? [];
    for (const result of results) {
      if (result.type === 'input_status') {
        send({ type: 'input', status: result.inputStatus });
        continue;
      }
      const text = renderResult(result);
      if (text !== undefined) send({ type: 'output', text });
    }
  }
  if (open) socket.close();
}

/** Serves the console on `router`, using `api` for everything it runs. */
export function registerConsole(router: HttpRouter, api: CommandApi): void {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MESSAGE_BYTES_MAX });
  router.register({
    path: 'ui',
    description: 'Web console: a terminal running the /api commands in the browser',
    methods: ['GET'],
    handler: guarded(api, () => ({ status: 200, body: consolePage(), contentType: HTML })),
  });
  router.register({
    path: 'ui/endpoints',
    description: "Web console: the server's admin endpoints",
    methods: ['GET'],
    handler: guarded(api, () => ({ status: 200, body: endpointsPage(router.helpRows()), contentType: HTML })),
  });
  router.register({
    path: 'ui/console.js',
    description: 'Web console: its script',
    methods: ['GET'],
    handler: guarded(api, () => ({ status: 200, body: CONSOLE_SCRIPT, contentType: 'text/javascript; charset=utf-8' })),
  });
  router.register({
    path: 'ui/xterm.mjs',
    description: 'Web console: xterm.js',
    methods: ['GET'],
    handler: guarded(api, asset('lib/xterm.mjs', 'text/javascript; charset=utf-8')),
  });
  router.register({
    path: 'ui/xterm.css',
    description: "Web console: xterm.js's style sheet",
    methods: ['GET'],
    handler: guarded(api, asset('css/xterm.css', 'text/css; charset=utf-8')),
  });
  router.registerUpgrade('ui/ws', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!sameOrigin(request)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    let query: Map<string, string>;
    try {
      query = parseQuery(splitTarget(request.url ?? '/').rawQuery);
    } catch {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const origin = { headers: request.headers, remoteAddress: request.socket.remoteAddress ?? '', query };
    void mayUse(api, origin).then((allowed) => {
      if (!allowed) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="pteron"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      sockets.handleUpgrade(request, socket, head, (ws) => {
        runTerminal(api, ws, origin).catch((error: unknown) => {
          log.error({ err: error }, 'web console terminal failed');
          ws.terminate();
        });
      });
    });
  });
}
