// `detect_hotkey`: starts, stops or queries hot-key detection of reads or writes on one replica
// of a replica server (RPC_DETECT_HOTKEY, sent to that server), with Pegasus's shell options,
// checks and messages. The server must be a node of the cluster; refusals go to stderr.
import { hostPortEquals, parseHostPort, PteronError, type HostPort } from '../../base/index.ts';
import { RpcClient } from '../../net/index.ts';
import { DetectAction, detectActionFromName, hotkeyTypeFromName, NodeStatus, RPCS, type DetectHotkeyResponse, type HotkeyType } from '../../wire/structs/index.ts';
import { parseInt32 } from './command-line.ts';
import { options, param, type CommandResult, type ShellCommand, type ShellState } from './shell-command.ts';

/** How long the replica server may take to answer. */
const DETECT_HOTKEY_TIMEOUT_MS = 10_000;

/** The node of `-d` when it is one of the cluster's replica servers, else why not (Pegasus's validate_ip). */
async function clusterNode(state: ShellState, text: string): Promise<HostPort | string> {
  let node: HostPort;
  try {
    node = parseHostPort(text);
  } catch (error) {
    if (!(error instanceof PteronError)) throw error;
    return `invalid host:port '${text}', can't transform it into host_port`;
  }
  const reply = await state.meta.call(RPCS.RPC_CM_LIST_NODES, { status: NodeStatus.NS_INVALID });
  if (reply.err !== 'ERR_OK' || !reply.response) return `list nodes failed, error=${reply.err}`;
  const known = reply.response.infos.some((info) => hostPortEquals(info.hpNode ?? info.node, node));
  return known ? node : `invalid host:port '${text}', can't find it in the cluster`;
}

/** The replica server's answer, or the transport error's name. */
async function send(node: HostPort, request: { type: HotkeyType; action: DetectAction; pid: { appId: number; partitionIndex: number } }): Promise<DetectHotkeyResponse | string> {
  const client = new RpcClient(node, { timeoutMs: DETECT_HOTKEY_TIMEOUT_MS });
  try {
    const reply = await client.callRpc(RPCS.RPC_DETECT_HOTKEY, request);
    return reply.error !== 'ERR_OK' || reply.result === undefined ? reply.error : reply.result;
  } catch (error) {
    if (!(error instanceof PteronError)) throw error;
    return error.code;
  } finally {
    client.close();
  }
}

const detectHotkey: ShellCommand = {
  name: 'detect_hotkey',
  usage: '<-a|--app_id num> <-p|--partition_index num> <-t|--hotkey_type read|write> <-c|--detect_action start|stop|query> <-d|--address str>',
  async run(state, words): Promise<CommandResult> {
    // Pegasus's help says --detect_action and its parser takes --hotkey_action: both are taken.
    const parsed = options(state, words, [
      param('a', 'app_id'), param('p', 'partition_index'), param('t', 'hotkey_type'), param('c', 'hotkey_action'), param('d', 'address'),
      { short: '', long: 'detect_action', value: true },
    ]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const appIdText = parsed.options.get('app_id') ?? '';
    const appId = parseInt32(appIdText);
    if (appId === undefined) {
      state.io.err(`"${appIdText}" is an invalid num\n`);
      return 'usage';
    }
    const partitionText = parsed.options.get('partition_index') ?? '';
    const partitionIndex = parseInt32(partitionText);
    if (partitionIndex === undefined) {
      state.io.err(`"${partitionText}" is an invalid num\n`);
      return 'usage';
    }
    const address = parsed.options.get('address') ?? '';
    const node = await clusterNode(state, address);
    if (typeof node === 'string') {
      state.io.err(`${node}\n`);
      return 'usage';
    }
    const typeText = parsed.options.get('hotkey_type') ?? '';
    const type = hotkeyTypeFromName(typeText);
    if (type === undefined) {
      state.io.err(`"${typeText}" is an invalid hotkey type (should be 'read' or 'write')\n`);
      return 'usage';
    }
    const actionText = parsed.options.get('hotkey_action') ?? parsed.options.get('detect_action') ?? '';
    const action = detectActionFromName(actionText);
    if (action === undefined) {
      state.io.err(`"${actionText}" is an invalid hotkey detect action (should be 'start' or 'stop')\n`);
      return 'usage';
    }

    const gpid = `${appId}.${partitionIndex}`;
    const response = await send(node, { type, action, pid: { appId, partitionIndex } });
    if (typeof response === 'string') {
      state.io.err(`Hotkey detection rpc sending failed, in ${gpid}, error_hint:${response}\n`);
      return 'failed';
    }
    if (response.err !== 'ERR_OK') {
      state.io.err(`Hotkey detection performed failed, in ${gpid}, error_hint:${response.err} ${response.errHint ?? ''}\n`);
      return 'failed';
    }
    switch (action) {
      case DetectAction.START:
        state.io.out(`Hotkey detection is starting, using 'detect_hotkey -a ${appId} -p ${partitionIndex} -t ${typeText} -c query -d ${address}' to get the result later\n`);
        break;
      case DetectAction.STOP:
        state.io.out('Hotkey detection is stopped now\n');
        break;
      case DetectAction.QUERY:
        state.io.out(`Find ${typeText} hotkey in ${gpid} result:${response.hotkeyResult ?? ''}\n`);
        break;
    }
    return 'ok';
  },
};

export const HOTKEY_COMMANDS: readonly ShellCommand[] = [detectHotkey];
