// Table administration as the Pegasus shell has it (src/shell/commands/table_management.cpp):
// `rename` (RPC_CM_RENAME_APP), `get_replica_count` and `set_replica_count`
// (RPC_CM_GET/SET_MAX_REPLICA_COUNT), `get_atomic_idempotent`, `enable_atomic_idempotent` and
// `disable_atomic_idempotent` (RPC_CM_GET/SET_ATOMIC_IDEMPOTENT), and `ddd_diagnose` and
// `recover` (src/shell/commands/recovery.cpp, RPC_CM_DDD_DIAGNOSE, RPC_CM_START_RECOVERY), with
// their checks, confirmations and messages. A failure goes to stderr, so `-j` output pipes into
// `jq`.
import { readFileSync, writeFileSync } from 'node:fs';
import { formatHostPort, formatLocalTime, parseHostPort, PteronError, renderTable, singleTable, type HostPort } from '../../base/index.ts';
import { parseGpid } from '../../cluster/index.ts';
import { RPCS, type DddPartitionInfo } from '../../wire/structs/index.ts';
import { parseInt32 } from './command-line.ts';
import { replyError, replyHint } from './meta-client.ts';
import { action } from './meta-level-commands.ts';
import { flag, options, param, type ShellCommand, type ShellState } from './shell-command.ts';

const CONFIRM_ATTEMPTS_MAX = 5;

/** Pegasus's confirm_unsafe_command: asks up to five times for a single `y` or `n`. */
async function confirmUnsafe(state: ShellState, what: string): Promise<boolean> {
  for (let attempt = 0; attempt < CONFIRM_ATTEMPTS_MAX; attempt++) {
    state.io.out(`PLEASE be CAUTIOUS with this operation ! Are you sure to ${what} ? [y/n]: `);
    const answer = await state.readLine();
    if (answer === undefined) break;
    if (answer === 'y') {
      state.io.out("you've chosen YES, we will continue ...\n");
      return true;
    }
    if (answer === 'n') {
      state.io.out("you've chosen NO, we will stop !\n");
      return false;
    }
  }
  state.io.out('too many failed attempts, we will stop !\n');
  return false;
}

const rename: ShellCommand = {
  name: 'rename',
  usage: '<old_app_name> <new_app_name>',
  async run(state, words) {
    if (words.length !== 2) return 'usage';
    const [oldAppName, newAppName] = words as [string, string];
    const reply = await state.meta.call(RPCS.RPC_CM_RENAME_APP, { oldAppName, newAppName });
    const names = `old_app_name(${oldAppName}), new_app_name(${newAppName})`;
    if (reply.err !== 'ERR_OK') {
      state.io.err(`rename app failed, ${names}, failed: ${replyError(reply, ', ')}\n`);
      return 'failed';
    }
    state.io.out(`rename app ok, ${names}\n`);
    return 'ok';
  },
};

const getReplicaCount: ShellCommand = {
  name: 'get_replica_count',
  usage: '<app_name> [-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [flag('j', 'json')]);
    if (!parsed || parsed.positionals.length !== 1) return 'usage';
    const appName = parsed.positionals[0]!;
    const reply = await state.meta.call(RPCS.RPC_CM_GET_MAX_REPLICA_COUNT, { appName });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      // Pegasus prints the error alone here (its error_s carries no hint).
      state.io.err(`get replica count of app(${appName}) failed: ${reply.detail ? `${reply.err}: ${reply.detail}` : reply.err}\n`);
      return 'failed';
    }
    const table = singleTable('max_replica_count', [['max_replica_count', String(reply.response.maxReplicaCount)]]);
    state.io.out(renderTable(table, parsed.options.has('json')));
    return 'ok';
  },
};

const setReplicaCount: ShellCommand = {
  name: 'set_replica_count',
  usage: '<app_name> <replica_count>',
  async run(state, words) {
    if (words.length !== 2) return 'usage';
    const [appName, countText] = words as [string, string];
    const maxReplicaCount = parseInt32(countText);
    if (maxReplicaCount === undefined) {
      state.io.err(`parse '${countText}' as replica count failed\n`);
      return 'usage';
    }
    if (maxReplicaCount < 1) {
      state.io.err('replica count should be >= 1\n');
      return 'usage';
    }
    if (!await confirmUnsafe(state, `set the replica count of app(${appName}) to ${maxReplicaCount}`)) return 'ok';
    const reply = await state.meta.call(RPCS.RPC_CM_SET_MAX_REPLICA_COUNT, { appName, maxReplicaCount });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.err(`set replica count of app(${appName}) failed: ${replyError(reply, ', ')}\n`);
      return 'failed';
    }
    const { oldMaxReplicaCount, hintMessage } = reply.response;
    state.io.out(`set replica count of app(${appName}) from ${oldMaxReplicaCount} to ${maxReplicaCount}: ${hintMessage === '' ? 'success' : hintMessage}\n`);
    return 'ok';
  },
};

const getAtomicIdempotent: ShellCommand = {
  name: 'get_atomic_idempotent',
  usage: '<app_name> [-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [flag('j', 'json')]);
    if (!parsed || parsed.positionals.length !== 1) return 'usage';
    const appName = parsed.positionals[0]!;
    const reply = await state.meta.call(RPCS.RPC_CM_GET_ATOMIC_IDEMPOTENT, { appName });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.err(`ERROR: get_atomic_idempotent failed, error=${replyError(reply)}\n`);
      return 'failed';
    }
    const table = singleTable('atomic_idempotent', [['atomic_idempotent', String(reply.response.atomicIdempotent)]]);
    state.io.out(renderTable(table, parsed.options.has('json')));
    return 'ok';
  },
};

function setAtomicIdempotent(name: string, atomicIdempotent: boolean): ShellCommand {
  return {
    name,
    usage: '<app_name>',
    async run(state, words) {
      if (words.length !== 1) return 'usage';
      const appName = words[0]!;
      const reply = await state.meta.call(RPCS.RPC_CM_SET_ATOMIC_IDEMPOTENT, { appName, atomicIdempotent });
      if (reply.err !== 'ERR_OK' || !reply.response) {
        state.io.err(`ERROR: set_atomic_idempotent failed, error=${replyError(reply)}\n`);
        return 'failed';
      }
      const { oldAtomicIdempotent, hintMessage } = reply.response;
      // Pegasus's message ends with a line break of its own before the one its printer adds.
      state.io.out(`set_atomic_idempotent from ${oldAtomicIdempotent} to ${atomicIdempotent}: ${hintMessage === '' ? 'succeed' : hintMessage}\n\n`);
      return 'ok';
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ddd_diagnose

const hostPortText = (hostPort: HostPort | undefined): string => (hostPort === undefined || hostPort.port === 0 ? '' : formatHostPort(hostPort));

/** Pegasus's diagnose_recommend: of the last two members to leave, the alive and collected one that holds the most. */
export function recommendPrimary(partition: DddPartitionInfo): string {
  const lastDrops = (partition.config.hpLastDrops ?? partition.config.lastDrops).map(hostPortText);
  if (lastDrops.length < 2) return '';
  const committed = partition.config.lastCommittedDecree;
  const candidates = lastDrops.slice(-2).flatMap((node) => {
    const dropped = partition.dropped.find((entry) => hostPortText(entry.hpNode ?? entry.node) === node);
    return dropped && dropped.isAlive && dropped.isCollected ? [{ node, decree: dropped.lastCommittedDecree, ballot: dropped.ballot }] : [];
  });
  if (candidates.length === 1) return candidates[0]!.decree >= committed ? candidates[0]!.node : '';
  if (candidates.length !== 2) return '';
  const [secondary, latest] = candidates as [typeof candidates[0], typeof candidates[0]];
  if (latest.decree === secondary.decree && latest.decree >= committed) return latest.ballot >= secondary.ballot ? latest.node : secondary.node;
  if (latest.decree > secondary.decree && latest.decree >= committed) return latest.node;
  if (secondary.decree > latest.decree && secondary.decree >= committed) return secondary.node;
  return '';
}

/** The `-g` value: `app_id.partition_index` or `app_id`. */
function dddGpid(text: string): { appId: number; partitionIndex: number } | undefined {
  const gpid = parseGpid(text);
  if (gpid) return gpid;
  const appId = parseInt32(text);
  return appId === undefined ? undefined : { appId, partitionIndex: -1 };
}

/** The operator's word on the recommended primary: y, n or s (skip); undefined at the end of input. */
async function askRecommendation(state: ShellState): Promise<'y' | 'n' | 's' | undefined> {
  for (;;) {
    state.io.out('    > Are you sure to use the recommend primary? [y/n/s(skip)]: ');
    const answer = (await state.readLine())?.trim();
    if (answer === undefined) return undefined;
    if (answer === 'y' || answer === 'n' || answer === 's') return answer;
  }
}

/** A primary the operator types; undefined at the end of input. */
async function askPrimary(state: ShellState): Promise<string | undefined> {
  for (;;) {
    state.io.out('    > Please input the primary node: ');
    const answer = (await state.readLine())?.trim();
    if (answer === undefined) return undefined;
    try {
      return formatHostPort(parseHostPort(answer));
    } catch (error) {
      if (!(error instanceof PteronError)) throw error;
      state.io.out('    > Sorry, you have input an invalid node address.\n');
    }
  }
}

const dddDiagnose: ShellCommand = {
  name: 'ddd_diagnose',
  usage: '[-g|--gpid appid|appid.pidx] [-d|--diagnose] [-a|--auto_diagnose] [-s|--skip_prompt] [-o|--output file_name]',
  async run(state, words) {
    const parsed = options(state, words, [param('g', 'gpid'), flag('d', 'diagnose'), flag('a', 'auto_diagnose'), flag('s', 'skip_prompt'), param('o', 'output')]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const gpidText = parsed.options.get('gpid');
    const pid = gpidText === undefined ? { appId: -1, partitionIndex: -1 } : dddGpid(gpidText);
    if (!pid) {
      state.io.err(`ERROR: invalid gpid ${gpidText}\n`);
      return 'usage';
    }
    const diagnose = parsed.options.has('diagnose');
    const autoDiagnose = parsed.options.has('auto_diagnose');
    const skipPrompt = parsed.options.has('skip_prompt');
    const outFile = parsed.options.get('output');

    const reply = await state.meta.call(RPCS.RPC_CM_DDD_DIAGNOSE, { pid });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.err(`ERROR: DDD diagnose failed with err = ${reply.err}\n`);
      return 'failed';
    }
    const partitions = reply.response.partitions;
    let text = '';
    // Without -o the report is printed as it is built, so that prompts follow what they ask about.
    const out = (line: string): void => {
      if (outFile === undefined) state.io.out(line);
      else text += line;
    };
    out(`Total ${partitions.length} ddd partitions:\n\n`);
    let proposedCount = 0;
    for (const [index, partition] of partitions.entries()) {
      const { config } = partition;
      const gpid = `${config.pid.appId}.${config.pid.partitionIndex}`;
      const lastDrops = (config.hpLastDrops ?? config.lastDrops).map(hostPortText);
      const latest = lastDrops[lastDrops.length - 1] ?? '';
      const secondaryLatest = lastDrops.length > 1 ? lastDrops[lastDrops.length - 2]! : '';
      const mark = (node: string): string => (node !== '' && node === latest ? '  <== the latest' : node !== '' && node === secondaryLatest ? '  <== the secondary latest' : '');
      out(`(${index + 1}) ${gpid}\n`);
      out(`    config: ballot(${config.ballot}), last_committed(${config.lastCommittedDecree})\n`);
      out('    ----\n');
      partition.dropped.forEach((entry, j) => {
        const node = hostPortText(entry.hpNode ?? entry.node);
        out(`    dropped[${j}]: node(${node}), drop_time(${formatLocalTime(new Date(Number(entry.dropTimeMs)), true)}), `
          + `alive(${entry.isAlive}), collected(${entry.isCollected}), ballot(${entry.ballot}), `
          + `last_committed(${entry.lastCommittedDecree}), last_prepared(${entry.lastPreparedDecree})${mark(node)}\n`);
      });
      out('    ----\n');
      lastDrops.forEach((node, j) => {
        const marker = j + 1 === lastDrops.length - 1 ? '  <== the secondary latest' : j + 1 === lastDrops.length ? '  <== the latest' : '';
        out(`    last_drops[${j}]: node(${node})${marker}\n`);
      });
      out('    ----\n');
      out(`    ddd_reason: ${partition.reason}\n`);
      if (diagnose) {
        out('    ----\n');
        let primary = recommendPrimary(partition);
        out(`    recommend_primary: ${primary === '' ? 'none' : primary}${mark(primary)}\n`);
        let skipThis = false;
        if (primary !== '' && !autoDiagnose && !skipPrompt) {
          const answer = await askRecommendation(state);
          if (answer === 'n') primary = '';
          if (answer === 's' || answer === undefined) {
            skipThis = true;
            state.io.out('    > You have choosed to skip diagnosing this partition.\n');
          }
        }
        if (primary === '' && !skipPrompt && !skipThis) {
          primary = (await askPrimary(state)) ?? '';
          skipThis = primary === '';
        }
        if (primary !== '' && !skipThis) {
          const target = parseHostPort(primary);
          const proposal = await state.meta.call(RPCS.RPC_CM_PROPOSE_BALANCER, {
            gpid: config.pid, actionList: [action(target, target, 'CT_ASSIGN_PRIMARY')], force: false,
          });
          out(`    propose_request: propose -g ${gpid} -p ASSIGN_PRIMARY -t ${primary} -n ${primary}\n`);
          out(`    propose_response: ${proposal.err}\n`);
          proposedCount++;
        } else {
          out('    propose_request: none\n');
        }
      }
      // Pegasus prints the count after every partition.
      out(`\nProposed count: ${proposedCount}/${partitions.length}\n\n`);
    }
    if (outFile !== undefined) {
      try {
        writeFileSync(outFile, text);
      } catch (error) {
        state.io.err(`ERROR: write ${outFile} failed: ${(error as Error).message}\n`);
        return 'failed';
      }
    }
    state.io.out('Diagnose ddd done.\n');
    return 'ok';
  },
};

// ---------------------------------------------------------------------------------------------
// recover

/** `host:port`, or undefined for text that is none. */
function nodeOf(text: string): string | undefined {
  try {
    return formatHostPort(parseHostPort(text));
  } catch (error) {
    if (!(error instanceof PteronError)) throw error;
    return undefined;
  }
}

/** The nodes of `-s` or `-f`, or undefined after printing why not. */
function recoveryNodes(state: ShellState, list: string | undefined, file: string | undefined): string[] | undefined {
  if (list !== undefined) {
    const tokens = list.split(',').filter((token) => token !== '');
    if (tokens.length === 0) {
      state.io.err("can't parse node from node_list_str\n");
      return undefined;
    }
    const nodes: string[] = [];
    for (const token of tokens) {
      const node = nodeOf(token);
      if (node === undefined) {
        state.io.err(`parse ${token} as a host:port node failed\n`);
        return undefined;
      }
      nodes.push(node);
    }
    return nodes;
  }
  let text: string;
  try {
    text = readFileSync(file!, 'utf8');
  } catch {
    state.io.err(`open file ${file} failed\n`);
    return undefined;
  }
  const nodes: string[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const node = nodeOf(line);
    if (node === undefined) {
      state.io.err(`parse ${line} at file ${file} line ${index + 1} as host:port failed\n`);
      return undefined;
    }
    nodes.push(node);
  }
  if (nodes.length === 0) state.io.err(`no node specified in file ${file}\n`);
  return nodes.length === 0 ? undefined : nodes;
}

const recover: ShellCommand = {
  name: 'recover',
  usage: '[-f|--node_list_file file_name] [-s|--node_list_str str] [-w|--wait_seconds num] [-b|--skip_bad_nodes] [-l|--skip_lost_partitions] [-o|--output file_name]',
  async run(state, words) {
    const parsed = options(state, words, [
      param('f', 'node_list_file'), param('s', 'node_list_str'), param('w', 'wait_seconds'), flag('b', 'skip_bad_nodes'), flag('l', 'skip_lost_partitions'), param('o', 'output'),
    ]);
    if (!parsed || parsed.positionals.length > 0) return 'usage';
    const waitText = parsed.options.get('wait_seconds');
    const waitSeconds = waitText === undefined ? 100 : parseInt32(waitText);
    if (waitSeconds === undefined) {
      state.io.err(`parse ${waitText} as wait_seconds failed\n`);
      return 'usage';
    }
    if (waitSeconds <= 0) {
      state.io.err(`invalid wait_seconds ${waitSeconds}, should be positive number\n`);
      return 'usage';
    }
    const list = parsed.options.get('node_list_str');
    const file = parsed.options.get('node_list_file');
    if (list === undefined && file === undefined) {
      state.io.err('should specify one of node_list_file/node_list_str\n');
      return 'usage';
    }
    if (list !== undefined && file !== undefined) {
      state.io.err('should only specify one of node_list_file/node_list_str\n');
      return 'usage';
    }
    const nodes = recoveryNodes(state, list, file);
    if (!nodes) return 'failed';

    const outFile = parsed.options.get('output');
    let text = '';
    const out = (line: string): void => {
      if (outFile === undefined) state.io.out(line);
      else text += line;
    };
    const unique: string[] = [];
    for (const node of nodes) {
      if (unique.includes(node)) out(`duplicate replica node ${node}, just ingore it\n`);
      else unique.push(node);
    }
    const skipBadNodes = parsed.options.has('skip_bad_nodes');
    const skipLostPartitions = parsed.options.has('skip_lost_partitions');
    const rule = '='.repeat(29);
    out(`Wait seconds: ${waitSeconds}\nSkip bad nodes: ${skipBadNodes}\nSkip lost partitions: ${skipLostPartitions}\nNode list:\n${rule}\n`);
    for (const node of unique) out(`${node}\n`);
    out(`${rule}\n`);
    const hostPorts = unique.map((node) => parseHostPort(node));
    const reply = await state.meta.call(RPCS.RPC_CM_START_RECOVERY, {
      recoveryNodes: hostPorts, hpRecoveryNodes: hostPorts, skipBadNodes, skipLostPartitions,
    }, { timeoutMs: waitSeconds * 1000 });
    out(`Recover result: ${reply.err}\n`);
    const hint = replyHint(reply);
    if (hint !== '') out(`${rule}\n${hint}${rule}\n`);
    if (outFile !== undefined) {
      try {
        writeFileSync(outFile, text);
      } catch (error) {
        state.io.err(`ERROR: write ${outFile} failed: ${(error as Error).message}\n`);
        return 'failed';
      }
      state.io.out(`recover complete with err = ${reply.err}\n`);
    }
    return reply.err === 'ERR_OK' ? 'ok' : 'failed';
  },
};

export const TABLE_ADMIN_COMMANDS: readonly ShellCommand[] = [
  rename, getReplicaCount, setReplicaCount, getAtomicIdempotent,
  setAtomicIdempotent('enable_atomic_idempotent', true), setAtomicIdempotent('disable_atomic_idempotent', false), dddDiagnose, recover,
];
