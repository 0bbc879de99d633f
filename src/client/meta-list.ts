// The meta servers a caller knows: the one to ask first (the last that answered as leader),
// leaders learned from forward hints, and one RPC client per meta. Shared by the client's
// partition resolver and the shell.
import { formatHostPort, hostPortEquals, isInvalidHostPort, type HostPort } from '../base/host-port.ts';
import { RpcClient } from '../net/rpc/client.ts';
import type { QueryCfgResponse } from '../wire/index.ts';

/** Metas learned from leader hints beyond the configured list: a bound against a confused peer. */
export const LEARNED_METAS_MAX = 8;

/** The leader a non-leader names in its answer (partitions[0], host_port form first), if any. */
export function forwardHint(response: Partial<QueryCfgResponse> | undefined): HostPort | undefined {
  const first = response?.partitions?.[0];
  if (!first) return undefined;
  for (const candidate of [first.hpPrimary, first.primary]) {
    if (candidate && !isInvalidHostPort(candidate)) return candidate;
  }
  return undefined;
}

export class MetaList {
  private readonly metas: HostPort[];
  private readonly clients = new Map<string, RpcClient>();
  private current = 0;
  private learned = 0;

  /** `metas` must not be empty; callers report that with their own error. */
  constructor(metas: readonly HostPort[], private readonly rpcTimeoutMs: number) {
    this.metas = [...metas];
  }

  get all(): readonly HostPort[] {
    return this.metas;
  }

  get size(): number {
    return this.metas.length;
  }

  /** The meta to ask next. */
  get first(): HostPort {
    return this.metas[this.current]!;
  }

  clientFor(target: HostPort): RpcClient {
    const key = formatHostPort(target);
    let client = this.clients.get(key);
    if (!client) {
      client = new RpcClient(target, { timeoutMs: this.rpcTimeoutMs });
      this.clients.set(key, client);
    }
    return client;
  }

  rotate(): void {
    this.current = (this.current + 1) % this.metas.length;
  }

  /** Asks `leader` next, adding it to the list (within LEARNED_METAS_MAX) when it was not there. */
  moveTo(leader: HostPort): void {
    const index = this.metas.findIndex((meta) => hostPortEquals(meta, leader));
    if (index >= 0) {
      this.current = index;
    } else if (this.learned < LEARNED_METAS_MAX) {
      this.learned++;
      this.metas.push(leader);
      this.current = this.metas.length - 1;
    } else {
      this.rotate();
    }
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }
}
