// node:http glue for the admin router: Pegasus's parsing rules, a body limit, metrics per call,
// and no handler error ever escaping into the process.
import http from 'node:http';
import { log, PteronError } from '../../base/index.ts';
import { defineFlag } from '../../config/index.ts';
import { defineMetric, metricRegistry, serverEntity } from '../../metrics/index.ts';
import { normalizePath, parseQuery, percentDecode, splitTarget } from './request.ts';
import { DEFAULT_METHODS, type AdminResponse, type HttpRouter } from './router.ts';

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
const callRequestsMetric = defineMetric({
  entityType: 'http_call', type: 'Counter', name: 'http_call_requests', unit: 'Requests',
  desc: 'The number of requests served by this HTTP call',
});
const callLatencyMetric = defineMetric({
  entityType: 'http_call', type: 'Percentile', name: 'http_call_latency_ns', unit: 'NanoSeconds',
  desc: 'The time from receiving a request of this HTTP call to writing its response',
});

function send(response: http.ServerResponse, answer: AdminResponse): void {
  const body = typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : answer.body;
  const headers: Record<string, string | number> = {
    'Content-Type': answer.contentType ?? 'text/plain',
    'Content-Length': body.length,
    ...answer.headers,
  };
  if (answer.location) headers.Location = answer.location;
  response.writeHead(answer.status, headers);
  response.end(body);
}

function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
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
    request.on('error', reject);
  });
}

export function createAdminHttpServer(router: HttpRouter): http.Server {
  const entity = serverEntity();
  const requests = entity.counter(requestsMetric);
  const badRequests = entity.counter(badRequestsMetric);

  const server = http.createServer({ maxHeaderSize: 16384 }, (request, response) => {
    response.sendDate = false;
    requests.increment();
    void serve(request, response).catch((error: unknown) => {
      log.error({ err: error, url: request.url }, 'http request failed');
      if (!response.headersSent) send(response, { status: 500, body: `internal error: ${(error as Error).message}` });
      else response.destroy();
    });
  });

  const reject = (response: http.ServerResponse, status: number, body: string, extra?: Record<string, string>): void => {
    badRequests.increment();
    send(response, { status, body, headers: extra });
  };

  async function serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
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
      return;
    }
    const call = router.find(path);
    if (!call) {
      request.resume();
      reject(response, 404, `service not found for "${path}"`);
      return;
    }
    const method = request.method ?? 'GET';
    const methods = call.methods ?? DEFAULT_METHODS;
    if (!methods.includes(method)) {
      request.resume();
      reject(response, 405, `method ${method} is not supported by /${path}; use ${methods.join(' or ')}`, { Allow: methods.join(', ') });
      return;
    }
    const body = await readBody(request, bodyBytesMax.value);
    if (body === 'too-large') {
      reject(response, 413, `request body exceeds the limit of ${bodyBytesMax.value} bytes`, { Connection: 'close' });
      response.once('finish', () => request.socket.destroy());
      return;
    }
    let answer: AdminResponse;
    try {
      answer = await call.handler({
        method, path, query, rawQuery, body, headers: request.headers, remoteAddress: request.socket.remoteAddress ?? '',
      });
    } catch (error) {
      if (!(error instanceof PteronError)) throw error;
      answer = { status: 400, body: error.message };
    }
    send(response, answer);
    const callEntity = metricRegistry.entity('http_call', `http_call@/${path}`, { path: `/${path}` });
    callEntity.counter(callRequestsMetric).increment();
    callEntity.percentile(callLatencyMetric).observe(Number(process.hrtime.bigint() - startNs));
  }

  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    badRequests.increment();
    if (socket.writable && error.code !== 'ECONNRESET') {
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      const body = `bad HTTP request: ${error.code ?? error.message}`;
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    } else {
      socket.destroy();
    }
  });
  return server;
}
