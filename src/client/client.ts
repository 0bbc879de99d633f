// The client: a meta group to resolve tables with, one connection per replica server, and the
// tables opened so far. `createClient({ metaServers, timeoutMs })` → `openTable(name)`.
import { parseHostPort, type HostPort } from '../base/host-port.ts';
import { PegasusError, untilAborted } from './errors.ts';
import { MetaResolver } from './meta-resolver.ts';
import { ReplicaPool } from './replica-pool.ts';
import { TableRouter, type RetryPolicy } from './router.ts';
import { PegasusTable } from './table.ts';

export interface ClientOptions {
  /** `host:port` of every meta server (or one comma-separated string). */
  metaServers: readonly string[] | string;
  /** Deadline of one operation, retries included (default 5000). */
  timeoutMs?: number;
  /** Timeout of one attempt (default: half the operation's timeout, so a timed-out attempt can be retried). */
  attemptTimeoutMs?: number;
  /** Attempts after the first (default 32); the operation's deadline usually ends the retries first. */
  retriesMax?: number;
  /** First pause before retrying the same server (default 20 ms), doubling up to retryDelayMaxMs (default 1000 ms). */
  retryDelayMs?: number;
  retryDelayMaxMs?: number;
  /** Timeout of one partition-configuration query to one meta (default 3000). */
  metaQueryTimeoutMs?: number;
  /** Requests on the wire to one replica server at once (default 1024)… */
  inFlightMaxPerServer?: number;
  /** …and waiting behind them (default 4096); past that an operation fails at once with ERR_BUSY. */
  queuedMaxPerServer?: number;
  /** Replica-server connections kept (default 256). */
  serversMax?: number;
  /** Tables kept open (default 1024). */
  tablesMax?: number;
}

export const CLIENT_DEFAULTS = Object.freeze({
  timeoutMs: 5000,
  retriesMax: 32,
  retryDelayMs: 20,
  retryDelayMaxMs: 1000,
  metaQueryTimeoutMs: 3000,
  inFlightMaxPerServer: 1024,
  queuedMaxPerServer: 4096,
  serversMax: 256,
  tablesMax: 1024,
});

export interface OpenTableOptions {
  /** How long to wait for the table's configuration (default: the client's timeoutMs). */
  timeoutMs?: number;
  /** Stops waiting (ERR_ABORTED); an opening shared with other callers goes on for them. */
  signal?: AbortSignal;
}

function positive(value: number | undefined, fallback: number, what: string): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen <= 0) throw new PegasusError('ERR_INVALID_PARAMETERS', 'create_client', `${what} must be a positive integer, got ${chosen}`);
  return chosen;
}

export class PegasusClient {
  private readonly meta: MetaResolver;
  private readonly pool: ReplicaPool;
  private readonly policy: RetryPolicy;
  private readonly tables = new Map<string, Promise<PegasusTable>>();
  private readonly tablesMax: number;
  private closed = false;

  constructor(options: ClientOptions) {
    const list = typeof options.metaServers === 'string' ? options.metaServers.split(',') : [...options.metaServers];
    let metas: HostPort[];
    try {
      metas = list.map((item) => item.trim()).filter((item) => item !== '').map(parseHostPort);
    } catch (error) {
      throw new PegasusError('ERR_INVALID_PARAMETERS', 'create_client', (error as Error).message);
    }
    const timeoutMs = positive(options.timeoutMs, CLIENT_DEFAULTS.timeoutMs, 'timeoutMs');
    this.policy = {
      timeoutMs,
      attemptTimeoutMs: options.attemptTimeoutMs === undefined ? undefined : positive(options.attemptTimeoutMs, 1, 'attemptTimeoutMs'),
      retriesMax: Math.max(0, Math.floor(options.retriesMax ?? CLIENT_DEFAULTS.retriesMax)),
      retryDelayMs: positive(options.retryDelayMs, CLIENT_DEFAULTS.retryDelayMs, 'retryDelayMs'),
      retryDelayMaxMs: positive(options.retryDelayMaxMs, CLIENT_DEFAULTS.retryDelayMaxMs, 'retryDelayMaxMs'),
    };
    this.meta = new MetaResolver(metas, {
      queryTimeoutMs: positive(options.metaQueryTimeoutMs, CLIENT_DEFAULTS.metaQueryTimeoutMs, 'metaQueryTimeoutMs'),
      retryDelayMs: Math.max(this.policy.retryDelayMs, 100),
    });
    this.pool = new ReplicaPool(
      {
        timeoutMs,
        inFlightMax: positive(options.inFlightMaxPerServer, CLIENT_DEFAULTS.inFlightMaxPerServer, 'inFlightMaxPerServer'),
        queuedMax: Math.max(0, Math.floor(options.queuedMaxPerServer ?? CLIENT_DEFAULTS.queuedMaxPerServer)),
      },
      positive(options.serversMax, CLIENT_DEFAULTS.serversMax, 'serversMax'),
    );
    this.tablesMax = positive(options.tablesMax, CLIENT_DEFAULTS.tablesMax, 'tablesMax');
  }

  get metaServers(): readonly HostPort[] {
    return this.meta.metaList;
  }

  /** Requests on the wire or waiting, over every replica server. */
  get pendingRequests(): number {
    return this.pool.pending;
  }

  /**
   * The table, once its configuration is known. Rejects with ERR_OBJECT_NOT_FOUND when it does
   * not exist, ERR_TIMEOUT when no meta answered in time. Tables are cached by name.
   */
  async openTable(name: string, options: OpenTableOptions = {}): Promise<PegasusTable> {
    return untilAborted(options.signal, 'open_table', () => this.openShared(name, options));
  }

  private async openShared(name: string, options: OpenTableOptions): Promise<PegasusTable> {
    if (this.closed) throw new PegasusError('ERR_NETWORK_FAILURE', 'open_table', 'client is closed');
    if (name === '') throw new PegasusError('ERR_INVALID_PARAMETERS', 'open_table', 'table name must not be empty');
    const cached = this.tables.get(name);
    if (cached) return cached;
    if (this.tables.size >= this.tablesMax) {
      throw new PegasusError('ERR_INVALID_PARAMETERS', 'open_table', `${this.tables.size} tables are open already`);
    }
    const opening = (async () => {
      const router = new TableRouter(name, this.meta, this.pool, this.policy);
      await router.open(Date.now() + (options.timeoutMs ?? this.policy.timeoutMs));
      return new PegasusTable(router);
    })();
    this.tables.set(name, opening);
    opening.catch(() => {
      if (this.tables.get(name) === opening) this.tables.delete(name);
    });
    return opening;
  }

  /** Closes every connection; operations in flight fail with ERR_NETWORK_FAILURE. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tables.clear();
    await Promise.all([this.pool.close(), this.meta.close()]);
  }
}

export function createClient(options: ClientOptions): PegasusClient {
  return new PegasusClient(options);
}
