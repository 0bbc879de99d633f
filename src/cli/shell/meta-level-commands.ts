// The meta's function level and manual balancing, as the Pegasus shell has them: `set_meta_level`,
// `get_meta_level` (RPC_CM_CONTROL_META), `balance` and `propose` (RPC_CM_PROPOSE_BALANCER), with
// its options, checks and messages. What the meta answers is printed by error name; a refusal
// goes to stderr.
import { INVALID_HOST_PORT, ipv4ToU32, parseHostPort, PteronError, type Gpid, type HostPort } from '../../base/index.ts';
import { CONFIG_TYPE_VALUES, FUNCTION_LEVEL_VALUES, parseGpid, SETTABLE_FUNCTION_LEVELS, type ConfigType, type FunctionLevel } from '../../cluster/index.ts';
import { RPCS, type ProposalAction } from '../../wire/structs/index.ts';
import { flag, options, param, type ShellCommand, type ShellState } from './shell-command.ts';

/** The level's name as Pegasus's enum prints it (`fl_steady`), or the number it does not know. */
function levelName(value: number): string {
  const level = (Object.keys(FUNCTION_LEVEL_VALUES) as FunctionLevel[]).find((name) => FUNCTION_LEVEL_VALUES[name] === value);
  return level ?? String(value);
}

/** `host:port`, or undefined after printing why not. */
function address(state: ShellState, text: string, what: string): HostPort | undefined {
  try {
    return parseHostPort(text);
  } catch (error) {
    if (!(error instanceof PteronError)) throw error;
    state.io.err(`parse ${text} as ${what} failed\n`);
    return undefined;
  }
}

/** A proposal action; a host name that is no IPv4 address travels only in the host_port fields. */
export function action(target: HostPort, node: HostPort, type: ConfigType): ProposalAction {
  const rpcAddress = (hostPort: HostPort): HostPort => (ipv4ToU32(hostPort.host) === undefined ? INVALID_HOST_PORT : hostPort);
  return { target: rpcAddress(target), node: rpcAddress(node), type: CONFIG_TYPE_VALUES[type], hpTarget: target, hpNode: node };
}

/** The gpid of `-g`, or undefined after printing why not. */
function gpidOption(state: ShellState, text: string): Gpid | undefined {
  const gpid = parseGpid(text);
  if (!gpid) state.io.err(`parse ${text} as gpid failed\n`);
  return gpid;
}

async function sendProposal(state: ShellState, request: { gpid: Gpid; actionList: ProposalAction[]; force: boolean }, said: string): Promise<'ok' | 'failed'> {
  const reply = await state.meta.call(RPCS.RPC_CM_PROPOSE_BALANCER, request);
  if (reply.err !== 'ERR_OK') {
    state.io.err(`${said}: ${reply.err}${reply.detail ? ` (${reply.detail})` : ''}\n`);
    return 'failed';
  }
  state.io.out(`${said}: ERR_OK\n`);
  return 'ok';
}

const setMetaLevel: ShellCommand = {
  name: 'set_meta_level',
  usage: '<stopped|blind|freezed|steady|lively>',
  async run(state, words) {
    if (words.length !== 1) return 'usage';
    const name = `fl_${words[0]!.toLowerCase()}`;
    const level = (SETTABLE_FUNCTION_LEVELS as readonly string[]).includes(name) ? (name as FunctionLevel) : undefined;
    if (!level) {
      state.io.err(`parse ${words[0]} as meta function level failed\n`);
      return 'usage';
    }
    const reply = await state.meta.call(RPCS.RPC_CM_CONTROL_META, { level: FUNCTION_LEVEL_VALUES[level] });
    if (reply.err !== 'ERR_OK') {
      state.io.err(`control meta level got error ${reply.err}\n`);
      return 'failed';
    }
    state.io.out(`control meta level ok, the old level is ${levelName(reply.response!.oldLevel)}\n`);
    return 'ok';
  },
};

const getMetaLevel: ShellCommand = {
  name: 'get_meta_level',
  usage: '',
  async run(state, words) {
    if (words.length > 0) return 'usage';
    const reply = await state.meta.call(RPCS.RPC_CM_CONTROL_META, { level: FUNCTION_LEVEL_VALUES.fl_invalid });
    if (reply.err !== 'ERR_OK') {
      state.io.err(`get meta level got error ${reply.err}\n`);
      return 'failed';
    }
    state.io.out(`current meta level is ${levelName(reply.response!.oldLevel)}\n`);
    return 'ok';
  },
};

const balance: ShellCommand = {
  name: 'balance',
  usage: '<-g|--gpid appid.pidx> <-p|--type move_pri|copy_pri|copy_sec> <-f|--from from_address> <-t|--to to_address>',
  async run(state, words) {
    const parsed = options(state, words, [param('g', 'gpid'), param('p', 'type'), param('f', 'from'), param('t', 'to')]);
    if (!parsed || parsed.positionals.length > 0 || words.length < 8) return 'usage';
    const gpidText = parsed.options.get('gpid');
    const gpid = gpidText === undefined ? undefined : gpidOption(state, gpidText);
    if (gpidText !== undefined && !gpid) return 'usage';
    const fromText = parsed.options.get('from');
    const from = fromText === undefined ? undefined : address(state, fromText, 'from_host_port');
    if (fromText !== undefined && !from) return 'usage';
    const toText = parsed.options.get('to');
    const to = toText === undefined ? undefined : address(state, toText, 'target_address');
    if (toText !== undefined && !to) return 'usage';

    const type = parsed.options.get('type') ?? '';
    if (type !== 'move_pri' && type !== 'copy_pri' && type !== 'copy_sec') {
      state.io.err(`parse ${type} as a balance type failed\n`);
      return 'usage';
    }
    if (!from) {
      state.io.err('need set from address by -f\n');
      return 'usage';
    }
    if (!to) {
      state.io.err('need set target address by -t\n');
      return 'usage';
    }
    if (!gpid) {
      state.io.err('need set the gpid by -g\n');
      return 'usage';
    }
    // The steps Pegasus's shell sends; copy_sec leaves the target to the meta (the primary).
    const actionList =
      type === 'move_pri' ? [action(from, from, 'CT_DOWNGRADE_TO_SECONDARY'), action(to, to, 'CT_UPGRADE_TO_PRIMARY')]
        : type === 'copy_pri' ? [action(from, to, 'CT_ADD_SECONDARY_FOR_LB'), action(from, from, 'CT_DOWNGRADE_TO_SECONDARY'), action(to, to, 'CT_UPGRADE_TO_PRIMARY')]
          : [action(INVALID_HOST_PORT, to, 'CT_ADD_SECONDARY_FOR_LB'), action(INVALID_HOST_PORT, from, 'CT_DOWNGRADE_TO_INACTIVE')];
    return sendProposal(state, { gpid, actionList, force: false }, 'send balance proposal result');
  },
};

const propose: ShellCommand = {
  name: 'propose',
  usage: '[-f|--force] <-g|--gpid appid.pidx> <-p|--type ASSIGN_PRIMARY|ADD_SECONDARY|DOWNGRADE_TO_INACTIVE...> <-t|--target node_to_exec_command> <-n|--node node_to_be_affected>',
  async run(state, words) {
    const parsed = options(state, words, [flag('f', 'force'), param('g', 'gpid'), param('p', 'type'), param('t', 'target'), param('n', 'node')]);
    if (!parsed || parsed.positionals.length > 0 || words.length < 8) return 'usage';
    const gpidText = parsed.options.get('gpid');
    const gpid = gpidText === undefined ? undefined : gpidOption(state, gpidText);
    if (gpidText !== undefined && !gpid) return 'usage';
    const targetText = parsed.options.get('target');
    const target = targetText === undefined ? undefined : address(state, targetText, 'target_host_port');
    if (targetText !== undefined && !target) return 'usage';
    const nodeText = parsed.options.get('node');
    const node = nodeText === undefined ? undefined : address(state, nodeText, 'node');
    if (nodeText !== undefined && !node) return 'usage';

    if (!target) {
      state.io.err('need set target by -t\n');
      return 'usage';
    }
    if (!node) {
      state.io.err('need set node by -n\n');
      return 'usage';
    }
    if (!gpid) {
      state.io.err('need set gpid by -g\n');
      return 'usage';
    }
    const typeName = `CT_${parsed.options.get('type') ?? ''}`;
    const type = (Object.keys(CONFIG_TYPE_VALUES) as ConfigType[]).find((name) => name.toLowerCase() === typeName.toLowerCase());
    if (!type || type === 'CT_INVALID') {
      state.io.err(`parse ${typeName} as config_type failed.\n`);
      return 'usage';
    }
    return sendProposal(state, { gpid, actionList: [action(target, node, type)], force: parsed.options.has('force') }, 'send proposal response');
  },
};

export const META_LEVEL_COMMANDS: readonly ShellCommand[] = [setMetaLevel, getMetaLevel, balance, propose];
