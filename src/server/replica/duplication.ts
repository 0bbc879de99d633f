// The replica server's duplication I/O: the DUPLICATE sender, which reaches a follower table
// through the client (one per remote cluster of `[pegasus.clusters]`), and the periodic
// RPC_CM_DUPLICATION_SYNC with the meta (replica/duplication/sync.ts decides what it carries).
import { formatHostPort, log, parseHostPort } from '../../base/index.ts';
import { createClient, type PegasusClient } from '../../client/index.ts';
import { duplicationEnabled, type DuplicationGroup } from '../../cluster/index.ts';
import type { RpcClient } from '../../net/index.ts';
import {
  applyDuplicationMap, duplicationConfirmList, duplicationSyncPeriodSecond, type DuplicateSender, type DuplicateTarget,
} from '../../replica/duplication/index.ts';
import type { ReplicaStub } from '../../replica/stub.ts';
import { RPCS, type DuplicateRequest, type DuplicateResponse } from '../../wire/index.ts';

/** One DUPLICATE request, retries on the follower included; a failure is then retried by the duplicator's fail mode. */
const DUPLICATE_TIMEOUT_MS = 10_000;

export class ClientDuplicateSender implements DuplicateSender {
  private readonly clients = new Map<string, PegasusClient>();

  constructor(private readonly group: DuplicationGroup) {}

  async send(target: DuplicateTarget, request: DuplicateRequest): Promise<DuplicateResponse> {
    const table = await this.clientOf(target.remoteCluster).openTable(target.remoteAppName);
    return table.duplicate(target.partitionIndex, request, { timeoutMs: DUPLICATE_TIMEOUT_MS });
  }

  private clientOf(cluster: string): PegasusClient {
    let client = this.clients.get(cluster);
    if (client === undefined) {
      client = createClient({ metaServers: this.group.metasOf(cluster).map(formatHostPort), timeoutMs: DUPLICATE_TIMEOUT_MS });
      this.clients.set(cluster, client);
    }
    return client;
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }
}

/** Starts the sync timer; the returned function stops it. `meta` is the meta this server talks to now. */
export function startDuplicationSync(self: string, stub: ReplicaStub, meta: () => RpcClient): () => void {
  let syncing = false;
  const sync = async (): Promise<void> => {
    if (syncing || !duplicationEnabled.value) return;
    syncing = true;
    try {
      const node = parseHostPort(self);
      const response = await meta().callRpc(RPCS.RPC_CM_DUPLICATION_SYNC, { node, confirmList: duplicationConfirmList(stub.replicas()), hpNode: node });
      const result = response.error === 'ERR_OK' ? response.result : undefined;
      if (result?.err !== 'ERR_OK') {
        log.debug({ err: result?.err ?? response.error }, 'duplication sync refused');
        return;
      }
      applyDuplicationMap(stub.replicas(), result.dupMap);
    } catch (error) {
      log.debug({ err: (error as Error).message }, 'duplication sync failed');
    } finally {
      syncing = false;
    }
  };
  const timer = setInterval(() => void sync(), duplicationSyncPeriodSecond.value * 1000);
  return () => clearInterval(timer);
}
