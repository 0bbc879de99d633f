// The replica server's own remote commands: what it hosts, the envs of its tables and their
// manual compactions.
import { parseCInteger } from '../../config/index.ts';
import type { Replica } from '../../replica/replica.ts';
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

/**
 * Pegasus's exec_command_on_replica: `args` name replicas as comma-separated `app_id` or
 * `app_id.partition_index` (none: every replica); `run` answers for each primary or secondary
 * among them, in gpid order, after a `<n> processed, <m> not found` line.
 */
function execOnReplicas(stub: ReplicaStub, self: string, args: readonly string[], run: (replica: Replica) => string): string {
  const replicas = stub.replicas();
  const chosen = new Map<string, Replica>();
  const required = new Map<string, { appId: number; partitionIndex: number }>();
  if (args.length === 0) {
    for (const replica of replicas) chosen.set(`${replica.gpid.appId}.${replica.gpid.partitionIndex}`, replica);
  }
  for (const arg of args) {
    const parts = arg.split(',').map((part) => part.trim()).filter((part) => part !== '');
    if (parts.length === 0) return 'invalid arguments';
    for (const part of parts) {
      const gpid = /^(\d+)\.(\d+)$/.exec(part);
      if (gpid) {
        const id = { appId: Number(gpid[1]), partitionIndex: Number(gpid[2]) };
        required.set(part, id);
        const replica = stub.find(id.appId, id.partitionIndex);
        if (replica) chosen.set(part, replica);
        continue;
      }
      const appId = parseCInteger(part, false);
      if (appId === undefined || appId < -2147483648n || appId > 2147483647n) return 'invalid arguments';
      for (const replica of replicas) {
        if (BigInt(replica.gpid.appId) === appId) chosen.set(`${replica.gpid.appId}.${replica.gpid.partitionIndex}`, replica);
      }
    }
  }
  const results = new Map<string, { appId: number; partitionIndex: number; role: string; text: string }>();
  for (const [key, replica] of chosen) {
    const status = replica.status;
    if (status !== PartitionStatus.PS_PRIMARY && status !== PartitionStatus.PS_SECONDARY) continue;
    results.set(key, { ...replica.gpid, role: status === PartitionStatus.PS_PRIMARY ? '@P' : '@S', text: run(replica) });
  }
  const processed = results.size;
  let notFound = 0;
  for (const [key, id] of required) {
    if (results.has(key)) continue;
    results.set(key, { ...id, role: '', text: 'not found' });
    notFound += 1;
  }
  const ordered = [...results.values()].sort((a, b) => a.appId - b.appId || a.partitionIndex - b.partitionIndex);
  return [`${processed} processed, ${notFound} not found`, ...ordered.map((result) =>
    `    ${result.appId}.${result.partitionIndex}@${self}${result.role} : ${result.text}`)].join('\n');
}

export function replicaRemoteCommands(stub: ReplicaStub): RemoteCommandSpec[] {
  const sorted = () =>
    stub.replicas().sort((a, b) => a.gpid.appId - b.gpid.appId || a.gpid.partitionIndex - b.gpid.partitionIndex);
  return [
    {
      names: ['replica.query-compact'],
      help: 'Query full compact status on the underlying storage engine by app_id or app_id.partition_id',
      usage: '[id1,id2,...]',
      handler: (args) => execOnReplicas(stub, stub.self, args, (replica) => JSON.stringify(replica.compaction.report())),
    },
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
