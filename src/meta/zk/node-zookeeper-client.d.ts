// The part of node-zookeeper-client 1.1.3 that src/meta/zk/session.ts uses (the package ships
// no types). The library is callback-based; session.ts wraps it in promises.
declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  interface ZkState {
    readonly name: string;
    readonly code: number;
    getName(): string;
    getCode(): number;
  }

  interface ZkStat {
    version: number;
    cversion: number;
    ephemeralOwner: Buffer;
    dataLength: number;
    numChildren: number;
  }

  interface ZkEvent {
    readonly type: number;
    readonly name: string;
    readonly path: string | undefined;
    getType(): number;
    getName(): string;
    getPath(): string | undefined;
  }

  interface ZkException extends Error {
    readonly code: number;
    readonly name: string;
    getCode(): number;
    getName(): string;
  }

  type Watcher = (event: ZkEvent) => void;

  interface ZkTransaction {
    create(path: string, data?: Buffer, mode?: number): ZkTransaction;
    check(path: string, version?: number): ZkTransaction;
    setData(path: string, data: Buffer | null, version?: number): ZkTransaction;
    remove(path: string, version?: number): ZkTransaction;
    commit(callback: (error: ZkException | null | undefined, results?: Array<{ type: number; err?: number; path?: string }>) => void): void;
  }

  interface ClientOptions {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
  }

  interface ZkClient extends EventEmitter {
    connect(): void;
    close(): void;
    getState(): ZkState;
    getSessionId(): Buffer;
    getSessionTimeout(): number;
    create(path: string, data: Buffer | null, mode: number, callback: (error: ZkException | null | undefined, path?: string) => void): void;
    remove(path: string, version: number, callback: (error: ZkException | null | undefined) => void): void;
    setData(path: string, data: Buffer | null, version: number, callback: (error: ZkException | null | undefined, stat?: ZkStat) => void): void;
    getData(path: string, watcher: Watcher | undefined, callback: (error: ZkException | null | undefined, data?: Buffer | null, stat?: ZkStat) => void): void;
    exists(path: string, watcher: Watcher | undefined, callback: (error: ZkException | null | undefined, stat?: ZkStat | null) => void): void;
    getChildren(path: string, watcher: Watcher | undefined, callback: (error: ZkException | null | undefined, children?: string[], stat?: ZkStat) => void): void;
    transaction(): ZkTransaction;
    /** Internal: the connection manager and its socket (used to drop a stalled connection). */
    readonly connectionManager?: { socket?: Socket; state?: number };
  }

  const zookeeper: {
    createClient(connectionString: string, options?: ClientOptions): ZkClient;
    readonly CreateMode: { readonly PERSISTENT: 0; readonly EPHEMERAL: 1; readonly PERSISTENT_SEQUENTIAL: 2; readonly EPHEMERAL_SEQUENTIAL: 3 };
    readonly State: {
      readonly DISCONNECTED: ZkState;
      readonly SYNC_CONNECTED: ZkState;
      readonly AUTH_FAILED: ZkState;
      readonly CONNECTED_READ_ONLY: ZkState;
      readonly SASL_AUTHENTICATED: ZkState;
      readonly EXPIRED: ZkState;
    };
    readonly Event: { readonly NODE_CREATED: 1; readonly NODE_DELETED: 2; readonly NODE_DATA_CHANGED: 3; readonly NODE_CHILDREN_CHANGED: 4 };
    readonly Exception: {
      readonly OK: 0;
      readonly CONNECTION_LOSS: -4;
      readonly OPERATION_TIMEOUT: -7;
      readonly NO_NODE: -101;
      readonly BAD_VERSION: -103;
      readonly NO_CHILDREN_FOR_EPHEMERALS: -108;
      readonly NODE_EXISTS: -110;
      readonly NOT_EMPTY: -111;
      readonly SESSION_EXPIRED: -112;
    };
  };
  export default zookeeper;
  export type { ZkClient, ZkEvent, ZkException, ZkStat, ZkState, ZkTransaction, Watcher, ClientOptions };
}
