// An HTTP request made from a chosen local address (e.g. 127.0.0.2, which a server configured
// with `[security] trusted_addresses = 127.0.0.1` treats as a remote caller).
import http from 'node:http';

export interface HttpFromResponse {
  status: number;
  body: string;
  contentType: string;
}

export interface HttpFromOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export function httpFrom(localAddress: string, port: number, path: string, options: HttpFromOptions = {}): Promise<HttpFromResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1', port, path, localAddress, method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers: options.headers, agent: false, timeout: 60_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentType: String(response.headers['content-type'] ?? '') }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer to ${path} within 60 s`)));
    request.on('error', reject);
    request.end(options.body);
  });
}
