// `remote_command`: runs a remote command (RPC_CLI_CLI_CALL) on meta servers, replica servers
// or listed nodes, and prints each node's answer and a count of successes and failures; and the
// node commands built on it: server_info and flush_log send one remote command (server-info,
// flush-log); server_stat, as Pegasus 2.6's shell, samples each node's /metrics twice, `-i` ms
// apart, and answers with its memory use (and a replica server's replica counts).
import { formatHostPort, parseHostPort, PteronError, type HostPort } from '../../base/index.ts';
import { RpcClient } from '../../net/index.ts';
import { NodeStatus, RPCS } from '../../wire/structs/index.ts';
import { MetricsSampleError } from '../../cluster/index.ts';
import { sampleIntervalOption } from './app-stat-commands.ts';
import { getMetricsBody } from './table-stats.ts';
import type { OptionSpec } from './command-line.ts';
import { flag, metaListOf, options, param, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';

const TARGET_TYPES = ['meta-server', 'replica-server', 'all'] as const;
type TargetType = (typeof TARGET_TYPES)[number];

/** How long one node may take to answer. */
const REMOTE_COMMAND_TIMEOUT_MS = 10_000;

interface Target {
  kind: string;
  node: HostPort;
}

async function replicaServers(state: ShellState): Promise<HostPort[] | string> {
  const reply = await state.meta.call(RPCS.RPC_CM_LIST_NODES, { status: NodeStatus.NS_INVALID });
  if (reply.err !== 'ERR_OK' || !reply.response) return `list nodes failed, error=${reply.err}${reply.detail ? `: ${reply.detail}` : ''}`;
  return reply.response.infos.map((info) => info.hpNode ?? info.node);
}

interface NodeAnswer {
  ok: boolean;
  text: string;
}

async function callOne(target: Target, cmd: string, args: readonly string[]): Promise<NodeAnswer> {
  const client = new RpcClient(target.node, { timeoutMs: REMOTE_COMMAND_TIMEOUT_MS });
  try {
    const reply = await client.callRpc(RPCS.RPC_CLI_CLI_CALL, { cmd, arguments: [...args] });
    if (reply.error !== 'ERR_OK' || reply.result === undefined) return { ok: false, text: reply.error };
    return { ok: true, text: reply.result };
  } catch (error) {
    return { ok: false, text: error instanceof PteronError ? error.message : String(error) };
  } finally {
    client.close();
  }
}

/** The nodes a command goes to: those `-l` lists, else the metas and/or replica servers `-t` chooses (default all). */
async function resolveTargets(state: ShellState, type: TargetType | undefined, list: string | undefined): Promise<Target[] | 'usage' | 'failed'> {
  if (type !== undefined && list !== undefined) {
    state.io.err('ERROR: -t and -l cannot be used together\n');
    return 'usage';
  }
  const targets: Target[] = [];
  if (list !== undefined) {
    for (const text of list.split(',').filter((part) => part !== '')) {
      try {
        targets.push({ kind: 'user-specified', node: parseHostPort(text) });
      } catch {
        state.io.err(`ERROR: invalid address '${text}'\n`);
        return 'usage';
      }
    }
  } else {
    const chosen = type ?? 'all';
    if (chosen === 'meta-server' || chosen === 'all') {
      for (const node of metaListOf(state)) targets.push({ kind: 'meta-server', node });
    }
    if (chosen === 'replica-server' || chosen === 'all') {
      const found = await replicaServers(state);
      if (typeof found === 'string') {
        state.io.err(`${found}\n`);
        return 'failed';
      }
      for (const node of found) targets.push({ kind: 'replica-server', node });
    }
  }
  if (targets.length === 0) {
    state.io.err('no node to send the command to\n');
    return 'failed';
  }
  return targets;
}

/** A node's answer in the JSON form: parsed when it is JSON, else the text. */
function jsonMessage(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Sends `cmd args` to every target and prints each answer and the counts: as text (`CALL [role]
 * [node] succeed: answer`), or with `json` as the newer Pegasus shell prints it (command, details
 * by node with role, acked and message, succeed_count, failed_count).
 */
async function callAndPrint(
  state: ShellState, targets: readonly Target[], cmd: string, args: readonly string[], json: boolean,
  ask: (target: Target) => Promise<NodeAnswer> = (target) => callOne(target, cmd, args),
): Promise<CommandResult> {
  const results = await Promise.all(targets.map(ask));
  const succeeded = results.filter((result) => result.ok).length;
  if (json) {
    const details: Record<string, unknown> = {};
    results.forEach((result, at) => {
      details[formatHostPort(targets[at]!.node)] = { role: targets[at]!.kind, acked: result.ok, message: jsonMessage(result.text) };
    });
    const info = { command: `${cmd} ${args.join(' ')}`, details, succeed_count: succeeded, failed_count: targets.length - succeeded };
    state.io.out(`${JSON.stringify(info, null, 2)}\n`);
  } else {
    state.io.out(`COMMAND: ${[cmd, ...args].join(' ')}\n\n`);
    results.forEach((result, at) => {
      const target = targets[at]!;
      const body = result.text.endsWith('\n') ? result.text : `${result.text}\n`;
      state.io.out(`CALL [${target.kind}] [${formatHostPort(target.node)}] ${result.ok ? 'succeed' : 'failed'}: ${body}`);
    });
    state.io.out(`\nSucceed count: ${succeeded}\nFailed count: ${targets.length - succeeded}\n`);
  }
  return succeeded === targets.length ? 'ok' : 'failed';
}

function parseNodeType(state: ShellState, value: string | undefined): TargetType | undefined | 'bad' {
  if (value === undefined) return undefined;
  if ((TARGET_TYPES as readonly string[]).includes(value)) return value as TargetType;
  state.io.err(`ERROR: invalid node type '${value}'\n`);
  return 'bad';
}

export const remoteCommand: ShellCommand = {
  name: 'remote_command',
  usage: '[-t all|meta-server|replica-server] [-l host:port,host:port...] [-j|--json] <command> [arguments...]',
  async run(state, words) {
    let type: TargetType | undefined;
    let list: string | undefined;
    let json = false;
    let index = 0;
    // Options come first; everything from the command name on goes to the node as is.
    while (index < words.length) {
      const word = words[index]!;
      if (word === '-t' || word === '--node_type') {
        const chosen = parseNodeType(state, words[index + 1] ?? '');
        if (chosen === 'bad') return 'usage';
        type = chosen;
        index += 2;
      } else if (word === '-l' || word === '--node_list') {
        const value = words[index + 1];
        if (value === undefined) {
          state.io.err('ERROR: -l needs a list of host:port\n');
          return 'usage';
        }
        list = value;
        index += 2;
      } else if (word === '-j' || word === '--json') {
        json = true;
        index += 1;
      } else {
        break;
      }
    }
    const [cmd, ...args] = words.slice(index);
    if (cmd === undefined) return 'usage';
    const targets = await resolveTargets(state, type, list);
    if (typeof targets === 'string') return targets;
    return callAndPrint(state, targets, cmd, args, json);
  },
};

/** The options every node command takes, parsed; undefined after printing the problem. */
async function nodeTargets(state: ShellState, words: readonly string[], extra: readonly OptionSpec[] = []) {
  const parsed = options(state, words, [param('t', 'node_type'), param('l', 'node_list'), flag('r', 'resolve_ip'), flag('j', 'json'), ...extra]);
  if (!parsed || parsed.positionals.length > 0) return 'usage';
  const type = parseNodeType(state, parsed.options.get('node_type'));
  if (type === 'bad') return 'usage';
  const targets = await resolveTargets(state, type, parsed.options.get('node_list'));
  return typeof targets === 'string' ? targets : { targets, parsed };
}

/** A shell command that runs one remote command on the chosen nodes (server_info, flush_log). */
function nodeCommand(name: string, remote: string): ShellCommand {
  return {
    name,
    usage: '[-t all|meta-server|replica-server] [-l host:port,host:port...] [-r|--resolve_ip] [-j|--json]',
    async run(state, words) {
      const chosen = await nodeTargets(state, words);
      if (typeof chosen === 'string') return chosen;
      return callAndPrint(state, chosen.targets, remote, [], chosen.parsed.options.has('json'));
    },
  };
}

/** Pegasus's `[shell] nodes_sample_interval_ms`. */
const NODES_SAMPLE_INTERVAL_MS = 1000;

const SERVER_STAT_METRICS = [
  'virtual_mem_usage_mb', 'resident_mem_usage_mb', 'total_replicas', 'opening_replicas', 'closing_replicas', 'inactive_replicas',
  'error_replicas', 'primary_replicas', 'secondary_replicas', 'learning_replicas', 'splitting_replicas',
];

/** The fields of Pegasus's meta_server_stats and replica_server_stats, with the server metric each is read from. */
const META_SERVER_STATS: ReadonlyArray<readonly [string, string]> = [['virt_mem_mb', 'virtual_mem_usage_mb'], ['res_mem_mb', 'resident_mem_usage_mb']];
const REPLICA_SERVER_STATS: ReadonlyArray<readonly [string, string]> = [
  ...META_SERVER_STATS, ...SERVER_STAT_METRICS.slice(2).map((metric): [string, string] => [metric, metric]),
];

interface ServerSample {
  role: string;
  values: Map<string, number>;
}

/** A node's server metrics; throws MetricsSampleError when it does not answer with them. */
async function serverSample(node: HostPort): Promise<ServerSample> {
  const body = await getMetricsBody(formatHostPort(node), `/metrics?types=server&with_metric_fields=name,value&metrics=${SERVER_STAT_METRICS.join(',')}`);
  let parsed: { role?: unknown; entities?: Array<{ metrics?: Array<{ name?: unknown; value?: unknown }> }> };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw new MetricsSampleError(`parse metrics from ${formatHostPort(node)} failed: the metrics answer is not JSON`);
  }
  const values = new Map<string, number>();
  for (const entity of parsed.entities ?? []) {
    for (const metric of entity.metrics ?? []) if (typeof metric.name === 'string' && typeof metric.value === 'number') values.set(metric.name, metric.value);
  }
  return { role: String(parsed.role), values };
}

/** A node's server stats from two samples `intervalMs` apart (the values are the second's), as JSON text. */
async function serverStat(state: ShellState, target: Target, intervalMs: number): Promise<NodeAnswer> {
  let end: ServerSample;
  try {
    await serverSample(target.node);
    await state.sleep(intervalMs);
    end = await serverSample(target.node);
  } catch (error) {
    if (!(error instanceof MetricsSampleError)) throw error;
    return { ok: false, text: error.message };
  }
  const fields = end.role === 'meta' ? META_SERVER_STATS : end.role === 'replica' ? REPLICA_SERVER_STATS : undefined;
  if (!fields) return { ok: false, text: `role ${end.role} is unsupported` };
  return { ok: true, text: JSON.stringify(Object.fromEntries(fields.map(([field, metric]) => [field, end.values.get(metric) ?? 0]))) };
}

const serverStatCommand: ShellCommand = {
  name: 'server_stat',
  usage: '[-t all|meta-server|replica-server] [-l host:port,host:port...] [-r|--resolve_ip] [-j|--json] [-i|--sample_interval_ms num]',
  async run(state, words) {
    const chosen = await nodeTargets(state, words, [param('i', 'sample_interval_ms')]);
    if (typeof chosen === 'string') return chosen;
    const intervalMs = sampleIntervalOption(state, chosen.parsed.options.get('sample_interval_ms'), NODES_SAMPLE_INTERVAL_MS);
    if (intervalMs === undefined) return 'usage';
    return callAndPrint(state, chosen.targets, 'server_stat', [], chosen.parsed.options.has('json'), (target) => serverStat(state, target, intervalMs));
  },
};

/** Nodes are listed by IP address already, so -r (print addresses resolved to IPs) changes nothing. */
export const NODE_COMMANDS: readonly ShellCommand[] = [nodeCommand('server_info', 'server-info'), serverStatCommand, nodeCommand('flush_log', 'flush-log')];
