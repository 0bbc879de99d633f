// Health checks (one round: HTTP status, TCP connect, ZooKeeper `srvr`) and the streak rule that
// turns rounds into healthy / unhealthy.
import http from 'node:http';
import net from 'node:net';
import type { HealthCheck } from './manifest.ts';

export interface CheckResult {
  ok: boolean;
  /** Why it failed, for /service/health's err. */
  detail?: string;
}

const RESPONSE_BYTES_MAX = 64 * 1024;

export function runCheck(check: HealthCheck, host: string, port: number | undefined, timeoutMs: number): Promise<CheckResult> {
  if (check.type === 'none') return Promise.resolve({ ok: true });
  if (port === undefined) return Promise.resolve({ ok: false, detail: 'no port to check' });
  switch (check.type) {
    case 'http': return httpCheck(host, port, check.path, check.expectStatus, timeoutMs);
    case 'tcp': return tcpCheck(host, port, timeoutMs);
    case 'zookeeper': return zookeeperCheck(host, port, timeoutMs);
  }
}

/** node:http without keep-alive: a check must open its own connection, like a new client would. */
function httpCheck(host: string, port: number, path: string, expectStatus: number, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(result);
    };
    const request = http.request({ host, port, path, method: 'GET', agent: false, headers: { Connection: 'close' } }, (response) => {
      response.resume();
      finish(response.statusCode === expectStatus ? { ok: true } : { ok: false, detail: `GET ${path} answered ${response.statusCode}, expected ${expectStatus}` });
    });
    const timer = setTimeout(() => finish({ ok: false, detail: `GET ${path} timed out after ${timeoutMs}ms` }), timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, detail: `GET ${path}: ${error.code ?? error.message}` }));
    request.end();
  });
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => done({ ok: false, detail: `connect timed out after ${timeoutMs}ms` }), timeoutMs);
    const done = (result: CheckResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, detail: `connect: ${error.code ?? error.message}` }));
  });
}

/** ZooKeeper answers `ruok` before it serves; `srvr` shows `Mode:` only once it does. */
function zookeeperCheck(host: string, port: number, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const timer = setTimeout(() => done(), timeoutMs);
    const done = (error?: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      if (/^Mode:/m.test(reply)) resolve({ ok: true });
      else resolve({ ok: false, detail: error ? `srvr: ${error.code ?? error.message}` : 'srvr reply has no Mode: line' });
    };
    socket.once('connect', () => socket.write('srvr'));
    socket.on('data', (chunk: Buffer) => {
      if (reply.length < RESPONSE_BYTES_MAX) reply += chunk.toString('latin1');
    });
    socket.once('end', () => done());
    socket.once('error', (error: NodeJS.ErrnoException) => done(error));
  });
}

export type HealthVerdict = 'unknown' | 'healthy' | 'unhealthy';

/**
 * Consecutive results decide: `healthyThreshold` passes in a row make an instance healthy,
 * `unhealthyThreshold` failures in a row unhealthy; anything in between keeps the last verdict.
 */
export class HealthStreak {
  private passes = 0;
  private failures = 0;
  verdict: HealthVerdict = 'unknown';

  constructor(private readonly healthyThreshold: number, private readonly unhealthyThreshold: number) {}

  record(ok: boolean): HealthVerdict {
    if (ok) {
      this.passes++;
      this.failures = 0;
      if (this.passes >= this.healthyThreshold) this.verdict = 'healthy';
    } else {
      this.failures++;
      this.passes = 0;
      if (this.failures >= this.unhealthyThreshold) this.verdict = 'unhealthy';
    }
    return this.verdict;
  }
}
