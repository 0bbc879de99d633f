// One ZooKeeper session as promises, over node-zookeeper-client's callbacks.
//
// Rules this layer adds to the library's:
//   - Requests are only sent while the session is connected. The library would queue them
//     while it reconnects and send them minutes later; a meta must rather fail the change at
//     once (its caller answers the client with an error and nothing is half-applied).
//   - Every request has a deadline (op_timeout). A request whose answer never came may still
//     have been applied: `uncertainWrites` counts such writes so the owner can re-read.
//   - The library has no read timeout: a server that stops answering without closing the
//     socket would never be noticed. A heartbeat (`exists /` every third of the session
//     timeout) drops the connection when it goes unanswered for two thirds of it, which makes
//     the library reconnect (to another server when there are several).
//   - Nor does it time out the session handshake: a server that accepts the TCP connection
//     while it is still starting may never answer the connect request, and the library would
//     wait forever. A watchdog drops such a connection after HANDSHAKE_MS so it tries again.
//   - Expiry ends the session for good: the library stops, and so does this object. The owner
//     opens a new session (and with it, new ephemeral nodes).
import { EventEmitter } from 'node:events';
import zookeeper, { type ZkClient, type ZkEvent, type ZkException, type ZkStat } from 'node-zookeeper-client';

export type ZkSessionState = 'connecting' | 'connected' | 'disconnected' | 'expired' | 'closed';

/** The library's error codes we act on, by name; others keep their numeric code. */
const CODE_NAMES = new Map<number, string>([
  [zookeeper.Exception.CONNECTION_LOSS, 'CONNECTION_LOSS'],
  [zookeeper.Exception.OPERATION_TIMEOUT, 'OPERATION_TIMEOUT'],
  [zookeeper.Exception.NO_NODE, 'NO_NODE'],
  [zookeeper.Exception.BAD_VERSION, 'BAD_VERSION'],
  [zookeeper.Exception.NO_CHILDREN_FOR_EPHEMERALS, 'NO_CHILDREN_FOR_EPHEMERALS'],
  [zookeeper.Exception.NODE_EXISTS, 'NODE_EXISTS'],
  [zookeeper.Exception.NOT_EMPTY, 'NOT_EMPTY'],
  [zookeeper.Exception.SESSION_EXPIRED, 'SESSION_EXPIRED'],
]);

/**
 * A failed ZooKeeper request. `code` is the server's error name (NO_NODE, NODE_EXISTS, …), or
 * NOT_CONNECTED (not sent: no connection), TIMEOUT (no answer in time), CLIENT (refused by the
 * library before sending, e.g. data too large).
 */
export class ZkError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** For a failed multi: the index of the op that failed, when the server said. */
    readonly opIndex?: number,
  ) {
    super(message);
    this.name = 'ZkError';
  }

  /** Whether the request may have been applied although it failed. */
  get outcomeUnknown(): boolean {
    return this.code === 'CONNECTION_LOSS' || this.code === 'TIMEOUT' || this.code === 'SESSION_EXPIRED' || this.code === 'OPERATION_TIMEOUT';
  }
}

function codeName(code: number): string {
  return CODE_NAMES.get(code) ?? `ZK_ERROR_${code}`;
}

export type ZkOp =
  | { op: 'create'; path: string; data: Buffer; ephemeral?: boolean }
  | { op: 'set'; path: string; data: Buffer }
  | { op: 'delete'; path: string }
  | { op: 'check'; path: string; version: number };

export interface ZkSessionOptions {
  /** `host:port[,host:port…]`, as in `[zookeeper] hosts_list`. */
  hosts: string;
  /** The session timeout asked for; the server clamps it to [2, 20] × its tickTime. */
  sessionTimeoutMs: number;
  /** Deadline of one request (default: the session timeout). */
  opTimeoutMs?: number;
  /** Check the connection with a heartbeat (default true). */
  heartbeat?: boolean;
}

/** The watcher callback: one event, then the watch is gone (ZooKeeper watches fire once). */
export type ZkWatcher = (event: { type: 'created' | 'deleted' | 'changed' | 'children'; path: string }) => void;

const EVENT_TYPES: Record<number, 'created' | 'deleted' | 'changed' | 'children'> = {
  [zookeeper.Event.NODE_CREATED]: 'created',
  [zookeeper.Event.NODE_DELETED]: 'deleted',
  [zookeeper.Event.NODE_DATA_CHANGED]: 'changed',
  [zookeeper.Event.NODE_CHILDREN_CHANGED]: 'children',
};

/** Upper bound of how long close() waits for the server to end the session. */
const CLOSE_WAIT_MS_MAX = 2000;
/** The library's "connecting" state: TCP connection made or under way, session handshake not done. */
const LIBRARY_CONNECTING = 1;

/** How long a session handshake may take on an open TCP connection before it is dropped and retried. */
function handshakeTimeoutMs(sessionTimeoutMs: number): number {
  return Math.max(250, Math.min(2000, Math.floor(sessionTimeoutMs / 3)));
}

/**
 * Events: `connected` (also after each reconnect), `disconnected`, `expired` (the session is
 * over; no more events), `closed`.
 */
export class ZkSession extends EventEmitter {
  readonly hosts: string;
  private readonly client: ZkClient;
  private current: ZkSessionState = 'connecting';
  private readonly opTimeoutMs: number;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private watchedSocket: unknown;
  private watchedSinceMs = 0;
  private closing = false;
  /** Writes that failed without an answer: they may or may not have been applied. */
  uncertainWrites = 0;
  /** How many times the connection was lost (for diagnostics and tests). */
  disconnects = 0;

  private constructor(readonly options: ZkSessionOptions) {
    super();
    this.hosts = options.hosts;
    this.opTimeoutMs = options.opTimeoutMs ?? options.sessionTimeoutMs;
    this.client = zookeeper.createClient(options.hosts, {
      sessionTimeout: options.sessionTimeoutMs,
      // Reconnect attempts after every server was tried wait up to this long: short, so that a
      // session survives a server restart that takes less than the session timeout.
      spinDelay: Math.max(50, Math.min(1000, Math.floor(options.sessionTimeoutMs / 5))),
      retries: 0,
    });
    this.client.on('state', (state: { name: string }) => this.onState(state.name));
    const handshakeMs = handshakeTimeoutMs(options.sessionTimeoutMs);
    this.watchdogTimer = setInterval(() => this.watchHandshake(handshakeMs), Math.max(50, Math.floor(handshakeMs / 2)));
    this.watchdogTimer.unref();
  }

  /** Drops a TCP connection whose session handshake has gone unanswered for `handshakeMs`. */
  private watchHandshake(handshakeMs: number): void {
    const manager = this.client.connectionManager;
    const socket = manager?.socket;
    if (this.connected || this.ended || this.closing || manager?.state !== LIBRARY_CONNECTING || !socket || socket.readyState !== 'open') {
      this.watchedSocket = undefined;
      return;
    }
    if (socket !== this.watchedSocket) {
      this.watchedSocket = socket;
      this.watchedSinceMs = Date.now();
      return;
    }
    if (Date.now() - this.watchedSinceMs > handshakeMs) {
      this.watchedSocket = undefined;
      socket.destroy();
    }
  }

  /** Starts connecting; wait with `waitConnected`. */
  static open(options: ZkSessionOptions): ZkSession {
    const session = new ZkSession(options);
    session.client.connect();
    return session;
  }

  get state(): ZkSessionState {
    return this.current;
  }

  get connected(): boolean {
    return this.current === 'connected';
  }

  /** Over: expired or closed. */
  get ended(): boolean {
    return this.current === 'expired' || this.current === 'closed';
  }

  /** The session timeout the server granted (the asked-for one until the first connection). */
  get sessionTimeoutMs(): number {
    return this.client.getSessionTimeout();
  }

  get sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  private onState(name: string): void {
    if (this.ended) return;
    switch (name) {
      case 'SYNC_CONNECTED':
        if (this.closing) return;
        this.current = 'connected';
        this.startHeartbeat();
        this.emit('connected');
        return;
      case 'DISCONNECTED':
        if (this.closing) return;
        if (this.current === 'connected') this.disconnects++;
        this.current = 'disconnected';
        this.stopHeartbeat();
        this.emit('disconnected');
        return;
      case 'EXPIRED':
        this.current = 'expired';
        this.stopHeartbeat();
        clearInterval(this.watchdogTimer);
        // The library will not reconnect after expiry; make sure its socket is gone too.
        this.client.connectionManager?.socket?.destroy();
        this.emit('expired');
        return;
      default:
        // AUTH_FAILED and read-only connections are not used by Pteron.
        return;
    }
  }

  /** Resolves once connected; rejects if the session ends or `timeoutMs` passes first. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.ended) return Promise.reject(new ZkError('SESSION_EXPIRED', `ZooKeeper session to ${this.hosts} is ${this.current}`));
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.off('connected', onConnected);
        this.off('expired', onEnded);
        this.off('closed', onEnded);
        if (error) reject(error);
        else resolve();
      };
      const onConnected = (): void => done();
      const onEnded = (): void => done(new ZkError('SESSION_EXPIRED', `ZooKeeper session to ${this.hosts} is ${this.current}`));
      const timer = setTimeout(() => done(new ZkError('NOT_CONNECTED', `no connection to ZooKeeper at ${this.hosts} within ${timeoutMs} ms`)), timeoutMs);
      this.on('connected', onConnected);
      this.on('expired', onEnded);
      this.on('closed', onEnded);
    });
  }

  // -------------------------------------------------------------------------------------------
  // heartbeat

  private startHeartbeat(): void {
    if (this.options.heartbeat === false || this.heartbeatTimer) return;
    const intervalMs = Math.max(100, Math.floor(this.sessionTimeoutMs / 3));
    this.heartbeatTimer = setInterval(() => this.beat(), intervalMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private beat(): void {
    if (this.heartbeatInFlight || !this.connected) return;
    this.heartbeatInFlight = true;
    const deadlineMs = Math.max(200, Math.floor((this.sessionTimeoutMs * 2) / 3));
    this.request<ZkStat | null | undefined>('heartbeat', deadlineMs, false, (callback) => this.client.exists('/', undefined, callback))
      .catch((error: unknown) => {
        if (error instanceof ZkError && error.code === 'TIMEOUT' && this.connected) {
          // The server stopped answering but the socket is open: drop it so the library reconnects.
          this.client.connectionManager?.socket?.destroy();
        }
      })
      .finally(() => {
        this.heartbeatInFlight = false;
      });
  }

  // -------------------------------------------------------------------------------------------
  // requests

  /** Sends one request if connected, with a deadline; `write` marks requests that change data. */
  private request<T>(
    what: string, deadlineMs: number, write: boolean, send: (callback: (error: ZkException | null | undefined, result?: T) => void) => void,
  ): Promise<T | undefined> {
    if (!this.connected) {
      return Promise.reject(new ZkError('NOT_CONNECTED', `${what}: not connected to ZooKeeper at ${this.hosts} (session ${this.current})`));
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        if (write) this.uncertainWrites++;
        reject(new ZkError('TIMEOUT', `${what}: no answer from ZooKeeper at ${this.hosts} within ${deadlineMs} ms`));
      }, deadlineMs);
      const callback = (error: ZkException | null | undefined, result?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          const zkError = new ZkError(codeName(error.code), `${what}: ${codeName(error.code)}`);
          if (write && zkError.outcomeUnknown) this.uncertainWrites++;
          reject(zkError);
        } else {
          resolve(result);
        }
      };
      try {
        send(callback);
      } catch (error) {
        // The library validates some arguments by throwing (path syntax, data size).
        settled = true;
        clearTimeout(timer);
        reject(new ZkError('CLIENT', `${what}: ${(error as Error).message}`));
      }
    });
  }

  private wrapWatcher(watcher: ZkWatcher | undefined): ((event: ZkEvent) => void) | undefined {
    if (!watcher) return undefined;
    return (event) => {
      const type = EVENT_TYPES[event.type];
      if (type) watcher({ type, path: event.path ?? '' });
    };
  }

  /** The node's stat, or undefined when missing. With a watcher: fires on create, delete or change. */
  async exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | undefined> {
    const stat = await this.request<ZkStat | null>(`exists ${path}`, this.opTimeoutMs, false, (callback) =>
      this.client.exists(path, this.wrapWatcher(watcher), callback));
    return stat ?? undefined;
  }

  /** The node's data, or undefined when missing. A watcher is only set when the node exists. */
  async getData(path: string, watcher?: ZkWatcher): Promise<Buffer | undefined> {
    try {
      const data = await this.request<Buffer | null>(`get ${path}`, this.opTimeoutMs, false, (callback) =>
        this.client.getData(path, this.wrapWatcher(watcher), callback));
      return data ?? Buffer.alloc(0);
    } catch (error) {
      if (error instanceof ZkError && error.code === 'NO_NODE') return undefined;
      throw error;
    }
  }

  /** Child names, in the server's order. ZkError NO_NODE when the node is missing. */
  async getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    const children = await this.request<string[]>(`children ${path}`, this.opTimeoutMs, false, (callback) =>
      this.client.getChildren(path, this.wrapWatcher(watcher), callback));
    return children ?? [];
  }

  /** Creates a node; returns its path (with the sequence number for sequential nodes). */
  async create(path: string, data: Buffer, mode: 'persistent' | 'ephemeral' | 'ephemeral_sequential' = 'persistent'): Promise<string> {
    const modeValue = mode === 'persistent'
      ? zookeeper.CreateMode.PERSISTENT
      : mode === 'ephemeral' ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL;
    const created = await this.request<string>(`create ${path}`, this.opTimeoutMs, true, (callback) =>
      this.client.create(path, data, modeValue, callback));
    return created ?? path;
  }

  async setData(path: string, data: Buffer, version = -1): Promise<void> {
    await this.request(`set ${path}`, this.opTimeoutMs, true, (callback) => this.client.setData(path, data, version, callback));
  }

  async remove(path: string, version = -1): Promise<void> {
    await this.request(`delete ${path}`, this.opTimeoutMs, true, (callback) => this.client.remove(path, version, callback));
  }

  /** All ops or none (one ZooKeeper multi). A failure names the op the server refused. */
  async multi(ops: readonly ZkOp[]): Promise<void> {
    if (ops.length === 0) return;
    const transaction = this.client.transaction();
    const what = `multi of ${ops.length} ops`;
    try {
      for (const op of ops) {
        switch (op.op) {
          case 'create':
            transaction.create(op.path, op.data, op.ephemeral ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT);
            break;
          case 'set':
            transaction.setData(op.path, op.data, -1);
            break;
          case 'delete':
            transaction.remove(op.path, -1);
            break;
          case 'check':
            transaction.check(op.path, op.version);
            break;
        }
      }
    } catch (error) {
      throw new ZkError('CLIENT', `${what}: ${(error as Error).message}`);
    }
    let failedAt: number | undefined;
    try {
      await this.request<unknown>(what, this.opTimeoutMs, true, (callback) =>
        transaction.commit((error, results) => {
          if (error && results) {
            const index = results.findIndex((result) => result.err !== undefined && result.err !== 0);
            if (index >= 0) failedAt = index;
          }
          callback(error, results);
        }));
    } catch (error) {
      if (error instanceof ZkError && failedAt !== undefined) {
        throw new ZkError(error.code, `${what}: ${error.code} at op ${failedAt} (${ops[failedAt]!.op} ${ops[failedAt]!.path})`, failedAt);
      }
      throw error;
    }
  }

  /** Ends the session (its ephemeral nodes go at once). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closing || this.ended) {
      this.closing = true;
      clearInterval(this.watchdogTimer);
      this.client.connectionManager?.socket?.destroy();
      return;
    }
    this.closing = true;
    this.stopHeartbeat();
    clearInterval(this.watchdogTimer);
    const wasConnected = this.connected;
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wasConnected ? CLOSE_WAIT_MS_MAX : 0);
      this.client.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.client.close();
    await ended;
    // Whatever state the library is in (reconnecting, waiting to retry), stop its socket.
    this.client.connectionManager?.socket?.destroy();
    this.current = 'closed';
    this.emit('closed');
  }
}
