// Client sessions of the supervisor's listener: one per origin address, with its request
// count, first and last request, and a rate limit that blocks a client for a while once it
// goes over (fixed windows of the configured period). Sessions idle for 30 minutes are
// dropped, with their counters and blocks, as pmesh does.
import type { RateLimitSpec } from './manifest.ts';

export interface ClientSession {
  firstSeenMs: number;
  lastRequestMs: number;
  requests: number;
  blockedUntilMs: number;
  windowIndex: number;
  windowRequests: number;
}

/** `ok`: serve it; `blocked`: 403 (blocked now or still blocked); `limited`: 429 (over, no blocking configured). */
export type TrackVerdict = 'ok' | 'blocked' | 'limited';

export interface SessionView {
  avg_rps: number;
  num_reqs: number;
  first_seen: string;
  blocked_until: string;
}

export interface SessionsOptions {
  rateLimit?: RateLimitSpec;
  now?: () => number;
  sessionsMax?: number;
  idleMs?: number;
  sweepIntervalMs?: number;
}

const SESSIONS_MAX = 10000;
const IDLE_MS = 30 * 60 * 1000;
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

export class ClientSessions {
  private readonly sessions = new Map<string, ClientSession>();
  private rateLimit: RateLimitSpec | undefined;
  private readonly now: () => number;
  private readonly sessionsMax: number;
  private readonly idleMs: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: SessionsOptions = {}) {
    this.rateLimit = options.rateLimit;
    this.now = options.now ?? Date.now;
    this.sessionsMax = options.sessionsMax ?? SESSIONS_MAX;
    this.idleMs = options.idleMs ?? IDLE_MS;
    const sweepIntervalMs = options.sweepIntervalMs ?? SWEEP_INTERVAL_MS;
    if (sweepIntervalMs > 0) {
      this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
      this.sweeper.unref();
    }
  }

  setRateLimit(rateLimit: RateLimitSpec | undefined): void {
    this.rateLimit = rateLimit;
  }

  /** Counts one request of `address`; `exempt` clients are counted but never limited. */
  track(address: string, exempt: boolean): TrackVerdict {
    const nowMs = this.now();
    let session = this.sessions.get(address);
    if (!session) {
      this.makeRoom(nowMs);
      session = { firstSeenMs: nowMs, lastRequestMs: nowMs, requests: 0, blockedUntilMs: 0, windowIndex: -1, windowRequests: 0 };
      this.sessions.set(address, session);
    }
    session.requests++;
    session.lastRequestMs = nowMs;
    if (exempt) return 'ok';
    if (session.blockedUntilMs > nowMs) return 'blocked';
    const limit = this.rateLimit;
    if (!limit) return 'ok';
    const windowIndex = Math.floor(nowMs / limit.periodMs);
    if (windowIndex !== session.windowIndex) {
      session.windowIndex = windowIndex;
      session.windowRequests = 0;
    }
    session.windowRequests++;
    if (session.windowRequests <= limit.requests) return 'ok';
    if (limit.blockForMs <= 0) return 'limited';
    session.blockedUntilMs = Math.max(session.blockedUntilMs, nowMs + limit.blockForMs);
    return 'blocked';
  }

  blockedUntil(address: string): number {
    return this.sessions.get(address)?.blockedUntilMs ?? 0;
  }

  /** The /session answer: `{"num_clients", "sessions": {address: …}}`, addresses in byte order. */
  view(): { num_clients: number; sessions: Record<string, SessionView> } {
    const nowMs = this.now();
    const sessions: Record<string, SessionView> = {};
    for (const address of [...this.sessions.keys()].sort()) {
      const session = this.sessions.get(address)!;
      const spanMs = session.lastRequestMs - session.firstSeenMs;
      sessions[address] = {
        avg_rps: session.requests > 1 && spanMs > 0 ? (session.requests / spanMs) * 1000 : 0,
        num_reqs: session.requests,
        first_seen: formatGoTime(session.firstSeenMs),
        blocked_until: session.blockedUntilMs > nowMs ? formatGoTime(session.blockedUntilMs) : ZERO_TIME,
      };
    }
    return { num_clients: this.sessions.size, sessions };
  }

  sweep(nowMs = this.now()): void {
    for (const [address, session] of this.sessions) {
      if (nowMs - session.lastRequestMs > this.idleMs && session.blockedUntilMs <= nowMs) this.sessions.delete(address);
    }
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** At the bound: drop idle sessions, then the least recently seen one. */
  private makeRoom(nowMs: number): void {
    if (this.sessions.size < this.sessionsMax) return;
    this.sweep(nowMs);
    if (this.sessions.size < this.sessionsMax) return;
    let oldest: string | undefined;
    let oldestMs = Infinity;
    for (const [address, session] of this.sessions) {
      if (session.lastRequestMs < oldestMs) {
        oldestMs = session.lastRequestMs;
        oldest = address;
      }
    }
    if (oldest !== undefined) this.sessions.delete(oldest);
  }
}

/** Go's zero time, which pmesh prints for a client that is not blocked. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/**
 * A time as Go's JSON encoding writes it: RFC 3339 in the server's local zone, fractional
 * seconds without trailing zeros (`…:43.418+02:00`, `…:43.4Z`, `…:43Z`).
 */
export function formatGoTime(ms: number): string {
  const date = new Date(ms);
  const offsetMinutes = -date.getTimezoneOffset();
  const fraction = String(((ms % 1000) + 1000) % 1000).padStart(3, '0').replace(/0+$/, '');
  const zone = offsetMinutes === 0
    ? 'Z'
    : `${offsetMinutes > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}:${pad(Math.abs(offsetMinutes) % 60)}`;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${fraction ? `.${fraction}` : ''}${zone}`;
}
