// `remote_command`: runs a remote command (RPC_CLI_CLI_CALL) on meta servers, replica servers
// or listed nodes, and prints each node's answer and a count of successes and failures.
import { formatHostPort, parseHostPort, PteronError, type HostPort } from '../../base/index.ts';
import { RpcClient } from '../../net/index.ts';
import { NodeStatus, RPCS } from '../../wire/structs/index.ts';
import { metaListOf, type ShellCommand, type ShellState } from './shell-command.ts';

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

async function callOne(target: Target, cmd: string, args: readonly string[]): Promise<{ ok: boolean; text: string }> {
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

export const remoteCommand: ShellCommand = {
  name: 'remote_command',
  usage: '[-t all|meta-server|replica-server] [-l host:port,host:port...] <command> [arguments...]',
  async run(state, words) {
    let type: TargetType | undefined;
    let list: string | undefined;
    let index = 0;
    // Options come first; everything from the command name on goes to the node as is.
    while (index < words.length) {
      const word = words[index]!;
      if (word === '-t' || word === '--node_type') {
        const value = words[index + 1];
        if (value === undefined || !(TARGET_TYPES as readonly string[]).includes(value)) {
          state.io.err(`ERROR: invalid node type '${value ?? ''}'\n`);
          return 'usage';
        }
        type = value as TargetType;
        index += 2;
      } else if (word === '-l' || word === '--node_list') {
        const value = words[index + 1];
        if (value === undefined) {
          state.io.err('ERROR: -l needs a list of host:port\n');
          return 'usage';
        }
        list = value;
        index += 2;
      } else {
        break;
      }
    }
    const [cmd, ...args] = words.slice(index);
    if (cmd === undefined) return 'usage';
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
          state.io.out(`${found}\n`);
          return 'failed';
        }
        for (const node of found) targets.push({ kind: 'replica-server', node });
      }
    }
    if (targets.length === 0) {
      state.io.out('no node to send the command to\n');
      return 'failed';
    }
    state.io.out(`COMMAND: ${[cmd, ...args].join(' ')}\n\n`);
    const results = await Promise.all(targets.map((target) => callOne(target, cmd, args)));
    let succeeded = 0;
    results.forEach((result, at) => {
      const target = targets[at]!;
      if (result.ok) succeeded++;
      const body = result.text.endsWith('\n') ? result.text : `${result.text}\n`;
      state.io.out(`CALL [${target.kind}] [${formatHostPort(target.node)}] ${result.ok ? 'succeed' : 'failed'}: ${body}`);
    });
    state.io.out(`\nSucceed count: ${succeeded}\nFailed count: ${targets.length - succeeded}\n`);
    return succeeded === targets.length ? 'ok' : 'failed';
  },
};
