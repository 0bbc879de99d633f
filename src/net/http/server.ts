// node:http glue for the admin router: Pegasus's parsing rules, a body limit, metrics per call,
// and no handler error ever escaping into the process.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { log, PteronError } from '../../base/index.ts';
import { defineFlag } from '../../config/index.ts';
import {
  defineMetric, metricRegistry, serverEntity, type Counter, type MetricEntity, type Percentile,
} from '../../metrics/index.ts';
import { accessSettings, decideAccess, httpCallKind, httpSecretShown, isTrustedRequest, refusalBody, type AccessVerdict } from '../access-policy.ts';
import { normalizePath, parseQuery, percentDecode, splitTarget } from './request.ts';
import { DEFAULT_METHODS, type AdminResponse, type HttpCall, type HttpRouter } from './router.ts';

const bodyBytesMax = defineFlag({
  section: 'http',
  name: 'max_request_body_bytes',
  type: 'FV_UINT64',
  default: 1048576,
  description: 'Requests whose body is larger than this are answered with 413 and not processed',
  mutable: true,
  validator: (value) => value >= 1024,
});

const requestsMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'http_requests', unit: 'Requests',
  desc: 'The number of HTTP requests received, whatever their outcome',
});
const badRequestsMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'http_bad_requests', unit: 'Requests',
  desc: 'The number of HTTP requests rejected before reaching a handler (unparsable, too large, unknown path or method)',
});
const accessDeniedMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'http_access_denied', unit: 'Requests',
  desc: 'The number of state-changing HTTP requests refused (403) because the caller is not trusted and did not present the admin secret',
});
const callRequestsMetric = defineMetric({
  entityType: 'http_call', type: 'Counter', name: 'http_call_requests', unit: 'Requests',
  desc: 'The number of requests served by this HTTP call',
  prometheus: { name: 'requests' },
});
const callLatencyMetric = defineMetric({
  entityType: 'http_call', type: 'Percentile', name: 'http_call_latency_ns', unit: 'NanoSeconds',
  desc: 'The time from receiving a request of this HTTP call to writing its response',
  prometheus: { name: 'latency' },
});

/**
 * Bodies up to this many characters go to node as strings, which it writes in one chunk with the
 * head; longer ones are encoded once here, as joining a large string to the head would copy it.
 */
const STRING_BODY_CHARS_MAX = 16384;

function send(response: http.ServerResponse, answer: AdminResponse): void {
  const body =
    typeof answer.body === 'string' && answer.body.length > STRING_BODY_CHARS_MAX ? Buffer.from(answer.body, 'utf8') : answer.body;
  const headers: Record<string, string | number> = {
    'Content-Type': answer.contentType ?? 'text/plain',
    'Content-Length': typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length,
    ...answer.headers,
  };
  if (answer.location) headers.Location = answer.location;
  response.writeHead(answer.status, headers);
  response.end(body);
}

/** 'aborted': the client went away before the whole body arrived (nobody is left to answer). */
function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        request.removeAllListeners('data');
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks, length)));
    // The only error an incoming request reports is its connection closing early.
    request.on('error', () => resolve('aborted'));
  });
}

/** No Content-Length and no Transfer-Encoding (or a zero length) means no body (RFC 9112 §6.3). */
function hasNoBody(request: http.IncomingMessage): boolean {
  const headers = request.headers;
  return headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0');
}

const EMPTY_BODY = Buffer.alloc(0);

/** The access policy's verdict on a request for `path` (see access-policy.ts). */
function judgeRequest(path: string, request: http.IncomingMessage): AccessVerdict {
  const settings = accessSettings();
  const caller = {
    trusted: isTrustedRequest(request.socket.remoteAddress ?? '', request.headers, settings.trusted),
    secret: httpSecretShown(request.headers, settings.secret),
  };
  return decideAccess(httpCallKind(path), caller, settings);
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

interface CallMetrics {
  entity: MetricEntity;
  requests: Counter;
  latencyNs: Percentile;
}

export function createAdminHttpServer(router: HttpRouter): http.Server {
  const entity = serverEntity();
  const requests = entity.counter(requestsMetric);
  const badRequests = entity.counter(badRequestsMetric);
  const accessDenied = entity.counter(accessDeniedMetric);
  // Per-call metrics, looked up once per registered path rather than once per request.
  const callMetricsByPath = new Map<string, CallMetrics>();

  const fail = (request: http.IncomingMessage, response: http.ServerResponse, error: unknown): void => {
    log.error({ err: error, url: request.url }, 'http request failed');
    if (!response.headersSent) send(response, { status: 500, body: `internal error: ${(error as Error).message}` });
    else response.destroy();
  };

  // Pegasus answers HTTP/1.1 requests without a Host header like any other; node would reject them.
  const server = http.createServer({ maxHeaderSize: 16384, requireHostHeader: false }, (request, response) => {
    response.sendDate = false;
    requests.increment();
    // Requests without a body and with a synchronous handler are answered right here, without
    // waiting for the request's 'end' or a microtask; the rest continue asynchronously.
    try {
      const pending = serve(request, response);
      if (pending) pending.catch((error: unknown) => fail(request, response, error));
    } catch (error) {
      fail(request, response, error);
    }
  });

  const reject = (response: http.ServerResponse, status: number, body: string, extra?: Record<string, string>): void => {
    badRequests.increment();
    send(response, { status, body, headers: extra });
  };

  function callMetrics(path: string): CallMetrics {
    const cached = callMetricsByPath.get(path);
    // A retired entity is fetched again, which revives it (or replaces it once it was dropped).
    if (cached && cached.entity.retiredAtMs === undefined) return cached;
    const callEntity = metricRegistry.entity('http_call', `http_call@/${path}`, { path: `/${path}` });
    const metrics = { entity: callEntity, requests: callEntity.counter(callRequestsMetric), latencyNs: callEntity.percentile(callLatencyMetric) };
    callMetricsByPath.set(path, metrics);
    return metrics;
  }

  /** Returns a promise only when the request could not be answered synchronously. */
  function serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> | undefined {
    const startNs = process.hrtime.bigint();
    const { rawPath, rawQuery } = splitTarget(request.url ?? '/');
    let path: string;
    let query: Map<string, string>;
    try {
      path = normalizePath(percentDecode(rawPath));
      query = parseQuery(rawQuery);
    } catch (error) {
      if (!(error instanceof PteronError)) throw error;
      request.resume();
      reject(response, 400, `failed to parse request: ${error.message}`);
      return undefined;
    }
    const call = router.find(path);
    if (!call) {
      request.resume();
      reject(response, 404, `service not found for "${path}"`);
      return undefined;
    }
    const method = request.method ?? 'GET';
    const methods = call.methods ?? DEFAULT_METHODS;
    if (!methods.includes(method)) {
      request.resume();
      reject(response, 405, `method ${method} is not supported by /${path}; use ${methods.join(' or ')}`, { Allow: methods.join(', ') });
      return undefined;
    }
    const verdict = judgeRequest(path, request);
    if (!verdict.allowed) {
      request.resume();
      accessDenied.increment();
      send(response, { status: 403, body: refusalBody(verdict.reason), contentType: 'application/json' });
      return undefined;
    }

    if (hasNoBody(request)) return handle(call, request, response, path, query, rawQuery, EMPTY_BODY, startNs);
    return readBody(request, bodyBytesMax.value).then((body) => {
      if (body === 'aborted') return undefined;
      if (body === 'too-large') {
        reject(response, 413, `request body exceeds the limit of ${bodyBytesMax.value} bytes`, { Connection: 'close' });
        response.once('finish', () => request.socket.destroy());
        return undefined;
      }
      return handle(call, request, response, path, query, rawQuery, body, startNs);
    });
  }

  // The functions below take everything as arguments: closures created per request cost time.

  function handle(
    call: HttpCall, request: http.IncomingMessage, response: http.ServerResponse, path: string, query: Map<string, string>,
    rawQuery: string, body: Buffer, startNs: bigint,
  ): Promise<void> | undefined {
    let result: AdminResponse | Promise<AdminResponse>;
    try {
      result = call.handler({
        method: request.method ?? 'GET', path, query, rawQuery, body, headers: request.headers, remoteAddress: request.socket.remoteAddress ?? '',
      });
    } catch (error) {
      handlerFailed(response, call.path, startNs, error);
      return undefined;
    }
    if (isPromise(result)) {
      return result.then(
        (answer) => respond(response, call.path, startNs, answer),
        (error: unknown) => handlerFailed(response, call.path, startNs, error),
      );
    }
    // Metrics per registered call: the paths below a prefix call share its entity.
    respond(response, call.path, startNs, result);
    return undefined;
  }

  function respond(response: http.ServerResponse, path: string, startNs: bigint, answer: AdminResponse): void {
    send(response, answer);
    const metrics = callMetrics(path);
    metrics.requests.increment();
    metrics.latencyNs.observe(Number(process.hrtime.bigint() - startNs));
  }

  /** A user-caused error (PteronError) is a 400 answer; anything else is a bug and propagates. */
  function handlerFailed(response: http.ServerResponse, path: string, startNs: bigint, error: unknown): void {
    if (!(error instanceof PteronError)) throw error;
    respond(response, path, startNs, { status: 400, body: error.message });
  }

  // Upgrade requests go to the handler registered for their path; the rest are refused.
  server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    requests.increment();
    let handler;
    let path = '';
    try {
      path = normalizePath(percentDecode(splitTarget(request.url ?? '/').rawPath));
      handler = router.findUpgrade(path);
    } catch (error) {
      if (!(error instanceof PteronError)) throw error;
    }
    const verdict = handler ? judgeRequest(path, request) : undefined;
    if (verdict && !verdict.allowed) {
      accessDenied.increment();
      const body = refusalBody(verdict.reason);
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    if (!handler) {
      badRequests.increment();
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    try {
      handler(request, socket, head);
    } catch (error) {
      log.error({ err: error, url: request.url }, 'http upgrade failed');
      socket.destroy();
    }
  });

  // The answer to a malformed request closes the connection once it is written. Ending the
  // socket alone is not enough: a socket node has paused (pipelined requests whose answers wait
  // past the write high-water mark) never reads the client's FIN or reset, so it would stay open
  // for good after the client has gone.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    badRequests.increment();
    if (socket.writable && error.code !== 'ECONNRESET') {
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      const body = `bad HTTP request: ${error.code ?? error.message}`;
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () =>
        socket.destroy(),
      );
    } else {
      socket.destroy();
    }
  });
  return server;
}
