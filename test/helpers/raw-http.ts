// A byte-exact HTTP/1.1 client for tests: it writes requests exactly as given and parses the
// responses it gets back, so status lines, headers and bodies can be compared byte for byte.
import net from 'node:net';

export interface RawResponse {
  statusLine: string;
  status: number;
  /** Header names in lower case; values as sent. */
  headers: Map<string, string>;
  /** The header lines as sent, in order. */
  headerLines: string[];
  body: Buffer;
  text: string;
}

/** Parses one response from the start of `buffer`; undefined until it is complete. */
export function parseResponse(buffer: Buffer, isHead = false): { response: RawResponse; bytes: number } | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...headerLines] = buffer.toString('latin1', 0, headEnd).split('\r\n') as [string, ...string[]];
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const status = Number(statusLine.split(' ')[1]);
  let offset = headEnd + 4;
  let body: Buffer;
  if (isHead || status === 100) {
    body = Buffer.alloc(0);
  } else if (headers.get('transfer-encoding') === 'chunked') {
    const chunks: Buffer[] = [];
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(buffer.toString('latin1', offset, lineEnd), 16);
      if (buffer.length < lineEnd + 2 + size + 2) return undefined;
      chunks.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
      if (size === 0) break;
    }
    body = Buffer.concat(chunks);
  } else {
    const length = Number(headers.get('content-length') ?? 0);
    if (buffer.length < offset + length) return undefined;
    body = buffer.subarray(offset, offset + length);
    offset += length;
  }
  return { response: { statusLine, status, headers, headerLines, body, text: body.toString('utf8') }, bytes: offset };
}

/** One client connection; responses are read in order. */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.waiter?.();
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** Bytes received and not yet consumed by response(). */
  get pending(): Buffer {
    return this.buffer;
  }

  /** Drops the first `bytes` received bytes (after parsing them some other way). */
  consume(bytes: number): void {
    this.buffer = this.buffer.subarray(bytes);
  }

  /** Waits for the next complete response (skipping interim 100 Continue responses). */
  async response(timeoutMs = 30_000, isHead = false): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.buffer, isHead);
      if (parsed) {
        this.buffer = this.buffer.subarray(parsed.bytes);
        if (parsed.response.status === 100) continue;
        return parsed.response;
      }
      if (this.closed) throw new Error(`connection closed before a full response; got ${JSON.stringify(this.buffer.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no full response within ${timeoutMs} ms; got ${JSON.stringify(this.buffer.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Waits for the server to close the connection; false if it is still open after `timeoutMs`. */
  async waitClosed(timeoutMs = 20_000): Promise<boolean> {
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.closedPromise.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** The bytes of one request; the target is sent exactly as given. */
export function requestBytes(target: string, options: RequestOptions = {}): Buffer {
  const method = options.method ?? 'GET';
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  const headers: Record<string, string> = { Host: '127.0.0.1', ...options.headers };
  if (body !== undefined && headers['Transfer-Encoding'] === undefined) headers['Content-Length'] = String(body.length);
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  // UTF-8, so that a target holding raw non-ASCII characters goes out as their UTF-8 bytes.
  return body === undefined ? Buffer.from(head, 'utf8') : Buffer.concat([Buffer.from(head, 'utf8'), body]);
}

/** Sends one request on a fresh connection and returns the response. */
export async function rawRequest(port: number, target: string, options: RequestOptions = {}): Promise<RawResponse> {
  const connection = await RawConnection.open(port);
  try {
    connection.write(requestBytes(target, options));
    return await connection.response(30_000, options.method === 'HEAD');
  } finally {
    connection.close();
  }
}
