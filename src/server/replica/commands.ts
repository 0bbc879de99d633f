// The replica server's own remote commands: what it hosts, the envs of its tables and their
// manual compactions, syncing their stores (replica.trigger-checkpoint), closing replicas
// (replica.kill_partition), refusing every client request for a while (replica.deny-client) and
// hot-key detection on one replica (replica.detect-hotkey, the RPC_DETECT_HOTKEY of the shell).
import { log } from '../../base/index.ts';
import { gpidText } from '../../cluster/index.ts';
import { parseCInteger } from '../../config/index.ts';
import type { RpcServer } from '../../net/index.ts';
import type { HotkeyDetectors } from '../../replica/hotkey/index.ts';
import type { Replica } from '../../replica/replica.ts';
import type { ReplicaStub } from '../../replica/stub.ts';
import { detectActionFromName, hotkeyTypeFromName, PartitionStatus } from '../../wire/structs/index.ts';
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

/**
 * `replica.deny-client`: while true, the server's data-plane requests get no answer at all, as
 * Pegasus's replica stub drops them; clients time out and retry.
 */
export class ClientGate {
  denied = false;

  /**
   * The RPC server the data plane registers its handlers on: every handler first asks this gate.
   * Handlers are stored in `rpc` itself; only the registration is intercepted.
   */
  gatedRpc(rpc: RpcServer): RpcServer {
    const gated = Object.create(rpc) as RpcServer;
    gated.register = (name, handler) => rpc.register(name, (request) => (this.denied ? undefined : handler(request)));
    return gated;
  }
}

const INT32_TEXT = /^[+-]?\d+$/;

/** Pegasus's register_bool_command: no argument reads the value, one true/false sets it; the answer is JSON. */
function boolCommand(name: string, help: string, get: () => boolean, set: (value: boolean) => void): RemoteCommandSpec {
  return {
    names: [name],
    help,
    usage: '[true|false]',
    handler(args) {
      const answer = (error: string, extra: Record<string, string> = {}): string => JSON.stringify({ error, ...extra }, null, 2);
      if (args.length === 0) return answer('ok', { [name]: String(get()) });
      if (args.length > 1) return answer('ERR: invalid arguments, only one boolean argument is acceptable');
      const lowered = args[0]!.toLowerCase();
      if (lowered !== 'true' && lowered !== 'false') return answer(`ERR: invalid arguments, '${args[0]}' is not a boolean`);
      set(lowered === 'true');
      log.info({ command: name, value: lowered }, 'set by remote command');
      return answer('ok');
    },
  };
}

/**
 * `replica.kill_partition [app_id [partition_index]]`: closes the replicas named (all, one
 * table's, or one) as when the meta no longer lists them here; the meta finds them gone at the
 * next config sync and the partition is cured as after any lost member. Answers the error name.
 */
function killPartitions(stub: ReplicaStub, args: readonly string[]): string {
  if (args.length > 2 || !args.every((arg) => INT32_TEXT.test(arg))) return 'ERR_INVALID_PARAMETERS';
  const [appId = -1, partitionIndex = -1] = args.map(Number);
  const replicas = stub.replicas();
  // As Pegasus: an app id or partition index of -1 (or none) kills every replica of the table (of all tables for app -1).
  const one = appId !== -1 && partitionIndex !== -1;
  const killed = replicas.filter((replica) =>
    (appId === -1 || replica.gpid.appId === appId) && (!one || replica.gpid.partitionIndex === partitionIndex));
  if (one && killed.length === 0) return 'ERR_OBJECT_NOT_FOUND';
  const kept = new Set(replicas.filter((replica) => !killed.includes(replica)).map((replica) => gpidText(replica.gpid)));
  stub.retainOnly(kept, Number.POSITIVE_INFINITY);
  log.info({ replicas: killed.map((replica) => gpidText(replica.gpid)) }, 'replicas killed by remote command');
  return 'ERR_OK';
}

/**
 * `replica.detect-hotkey <app_id.partition_index> <read|write> <start|stop|query>`: what the
 * shell's detect_hotkey asks by RPC, answered with the response's fields as JSON.
 */
function detectHotkey(hotkeys: HotkeyDetectors, args: readonly string[]): string {
  if (args.length !== 3) throw new RemoteCommandArgumentError('expect <app_id.partition_index> <read|write> <start|stop|query>');
  const [gpidArg, typeArg, actionArg] = args as [string, string, string];
  const gpid = /^(\d+)\.(\d+)$/.exec(gpidArg);
  if (!gpid) throw new RemoteCommandArgumentError(`invalid gpid "${gpidArg}": expect app_id.partition_index`);
  const type = hotkeyTypeFromName(typeArg);
  if (type === undefined) throw new RemoteCommandArgumentError(`"${typeArg}" is an invalid hotkey type (should be 'read' or 'write')`);
  const action = detectActionFromName(actionArg);
  if (action === undefined) throw new RemoteCommandArgumentError(`"${actionArg}" is an invalid hotkey detect action (should be 'start', 'stop' or 'query')`);
  const response = hotkeys.handle({ type, action, pid: { appId: Number(gpid[1]), partitionIndex: Number(gpid[2]) } });
  return JSON.stringify({ err: response.err, err_hint: response.errHint, hotkey_result: response.hotkeyResult }, null, 2);
}

export function replicaRemoteCommands(stub: ReplicaStub, gate: ClientGate, hotkeys: HotkeyDetectors): RemoteCommandSpec[] {
  const sorted = () =>
    stub.replicas().sort((a, b) => a.gpid.appId - b.gpid.appId || a.gpid.partitionIndex - b.gpid.partitionIndex);
  return [
    {
      names: ['replica.kill_partition'],
      help: 'Kill partitions by (all, one app, one partition)',
      usage: '[app_id [partition_index]]',
      handler: (args) => killPartitions(stub, args),
    },
    {
      names: ['replica.trigger-checkpoint'],
      help: 'Trigger replicas to do checkpoint by app_id or app_id.partition_id',
      usage: '[id1,id2,...]',
      // Pegasus flushes RocksDB's memtables so the durable decree catches up and the log can be
      // dropped; here the store syncs what it applied, which the log's next collection drops up to.
      handler: (args) => execOnReplicas(stub, stub.self, args, (replica) => {
        replica.store?.syncApplied().catch((error: unknown) => {
          log.warn({ gpid: gpidText(replica.gpid), err: (error as Error).message }, 'triggered checkpoint failed');
        });
        return 'triggered';
      }),
    },
    {
      names: ['replica.detect-hotkey'],
      help: 'start, stop or query hot-key detection of reads or writes on one replica',
      usage: '<app_id.partition_index> <read|write> <start|stop|query>',
      handler: (args) => detectHotkey(hotkeys, args),
    },
    boolCommand('replica.deny-client', 'control if deny client read & write request', () => gate.denied, (value) => (gate.denied = value)),
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
