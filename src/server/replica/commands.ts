// The replica server's own remote commands: what it hosts and the envs of its tables.
import type { ReplicaStub } from '../../replica/stub.ts';
import { PartitionStatus } from '../../wire/structs/index.ts';
import { RemoteCommandArgumentError, type RemoteCommandSpec } from '../../diag/remote/registry.ts';

function statusName(status: PartitionStatus): string {
  return PartitionStatus[status] ?? String(status);
}

/** The one optional `[app_id]` argument both commands take. */
function optionalAppId(args: readonly string[]): number | undefined {
  if (args.length > 1) throw new RemoteCommandArgumentError('at most one app_id');
  const text = args[0];
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new RemoteCommandArgumentError(`invalid app_id "${text}": expect a non-negative integer`);
  return Number(text);
}

export function replicaRemoteCommands(stub: ReplicaStub): RemoteCommandSpec[] {
  const sorted = () =>
    stub.replicas().sort((a, b) => a.gpid.appId - b.gpid.appId || a.gpid.partitionIndex - b.gpid.partitionIndex);
  return [
    {
      names: ['replica.replicas', 'replica.query-replicas'],
      help: 'the replicas this server hosts: gpid, table, role, ballot, last committed decree',
      usage: '[app_id]',
      handler(args) {
        const appId = optionalAppId(args);
        const replicas = sorted().filter((replica) => appId === undefined || replica.gpid.appId === appId);
        const lines = replicas.map((replica) =>
          `${replica.gpid.appId}.${replica.gpid.partitionIndex} app_name=${replica.info.appName} status=${statusName(replica.status)}`
          + ` state=${replica.state} ballot=${replica.ballot} last_committed_decree=${replica.lastCommittedDecree}`);
        lines.push(`total ${replicas.length} replicas`);
        return `${lines.join('\n')}\n`;
      },
    },
    {
      names: ['replica.query-app-envs'],
      help: 'the envs of the tables this server hosts, as its replicas know them',
      usage: '[app_id]',
      handler(args) {
        const appId = optionalAppId(args);
        const seen = new Map<number, { name: string; envs: Record<string, string> }>();
        for (const replica of sorted()) {
          if (appId !== undefined && replica.gpid.appId !== appId) continue;
          if (!seen.has(replica.gpid.appId)) seen.set(replica.gpid.appId, { name: replica.info.appName, envs: replica.info.envs });
        }
        if (appId !== undefined && seen.size === 0) return `app_id ${appId} is not hosted here`;
        const out: string[] = [];
        for (const [id, { name, envs }] of seen) {
          out.push(`[${id}] ${name}`);
          for (const key of Object.keys(envs).sort()) out.push(`  ${key} = ${envs[key]}`);
        }
        return `${out.join('\n')}\n`;
      },
    },
  ];
}
