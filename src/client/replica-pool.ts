// One RpcClient per replica server, shared by every table of a client. Bounded: past
// `serversMax` addresses the oldest connection is closed (its in-flight calls fail with
// ERR_NETWORK_FAILURE, which the callers treat like any lost connection).
import { formatHostPort, type HostPort } from '../base/host-port.ts';
import { RpcClient, type RpcClientOptions } from '../net/rpc/client.ts';

export class ReplicaPool {
  private readonly clients = new Map<string, RpcClient>();
  private closed = false;

  constructor(
    private readonly options: RpcClientOptions,
    private readonly serversMax: number,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get size(): number {
    return this.clients.size;
  }

  get(address: HostPort): RpcClient {
    const key = formatHostPort(address);
    let client = this.clients.get(key);
    if (client) return client;
    client = new RpcClient(address, this.options);
    if (this.closed) void client.close();
    this.clients.set(key, client);
    while (this.clients.size > this.serversMax) {
      const [oldestKey, oldest] = this.clients.entries().next().value as [string, RpcClient];
      this.clients.delete(oldestKey);
      void oldest.close();
    }
    return client;
  }

  /** Calls on the wire and waiting, over every server. */
  get pending(): number {
    let total = 0;
    for (const client of this.clients.values()) total += client.inFlight + client.queued;
    return total;
  }

  async close(): Promise<void> {
    this.closed = true;
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }
}
