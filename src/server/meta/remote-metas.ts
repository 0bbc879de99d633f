// The metas of the clusters this one duplicates to, as the meta's duplications reach them
// (meta/duplication RemoteMetas): one MetaClient per meta list, which follows a backup's
// redirect to the primary.
import { formatHostPort, type ErrorName, type HostPort } from '../../base/index.ts';
import { MetaClient } from '../../client/meta-client.ts';
import { partitionConfigurationFromWire } from '../../cluster/convert.ts';
import type { RemoteMetas } from '../../meta/duplication/index.ts';
import { RPCS } from '../../wire/index.ts';

const REMOTE_META_TIMEOUT_MS = 10_000;

export class RemoteMetaClients implements RemoteMetas {
  private readonly clients = new Map<string, MetaClient>();

  private clientFor(metas: readonly HostPort[]): MetaClient {
    const key = metas.map(formatHostPort).join(',');
    let client = this.clients.get(key);
    if (!client) this.clients.set(key, (client = new MetaClient(metas, { timeoutMs: REMOTE_META_TIMEOUT_MS })));
    return client;
  }

  async createApp(metas: readonly HostPort[], request: Parameters<RemoteMetas['createApp']>[1]): Promise<ErrorName> {
    const reply = await this.clientFor(metas).call(RPCS.RPC_CM_CREATE_APP, {
      appName: request.appName,
      options: {
        partitionCount: request.partitionCount,
        replicaCount: request.replicaCount,
        successIfExist: false,
        appType: request.appType,
        isStateful: request.isStateful,
        envs: new Map(Object.entries(request.envs)),
      },
    });
    return reply.err as ErrorName;
  }

  async queryConfiguration(metas: readonly HostPort[], appName: string): ReturnType<RemoteMetas['queryConfiguration']> {
    const reply = await this.clientFor(metas).call(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName, partitionIndices: [] });
    return { err: reply.err as ErrorName, partitions: (reply.response?.partitions ?? []).map(partitionConfigurationFromWire) };
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }
}
