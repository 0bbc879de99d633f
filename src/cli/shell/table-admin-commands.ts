// Table administration as the Pegasus shell has it (src/shell/commands/table_management.cpp):
// `rename` (RPC_CM_RENAME_APP), `get_replica_count` and `set_replica_count`
// (RPC_CM_GET/SET_MAX_REPLICA_COUNT), `get_atomic_idempotent`, `enable_atomic_idempotent` and
// `disable_atomic_idempotent` (RPC_CM_GET/SET_ATOMIC_IDEMPOTENT), with their checks,
// confirmation and messages. A failure goes to stderr, so `-j` output pipes into `jq`.
import { renderTable, singleTable } from '../../base/index.ts';
import { RPCS } from '../../wire/structs/index.ts';
import { parseInt32 } from './command-line.ts';
import type { MetaReply } from './meta-client.ts';
import { flag, options, type ShellCommand, type ShellState } from './shell-command.ts';

/** `ERR_X, hint` as Pegasus's shell joins a failed answer's error and hint (or the transport detail). */
function errorWithHint(reply: MetaReply<{ hintMessage: string }>): string {
  const hint = reply.response?.hintMessage || reply.detail || '';
  return hint === '' ? reply.err : `${reply.err}, ${hint}`;
}

/** Pegasus's confirm_unsafe_command: asks up to five times for a single `y` or `n`. */
async function confirmUnsafe(state: ShellState, action: string): Promise<boolean> {
  const ATTEMPTS_MAX = 5;
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    state.io.out(`PLEASE be CAUTIOUS with this operation ! Are you sure to ${action} ? [y/n]: `);
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
      state.io.err(`rename app failed, ${names}, failed: ${errorWithHint(reply)}\n`);
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
      state.io.err(`set replica count of app(${appName}) failed: ${errorWithHint(reply)}\n`);
      return 'failed';
    }
    const { oldMaxReplicaCount, hintMessage } = reply.response;
    state.io.out(`set replica count of app(${appName}) from ${oldMaxReplicaCount} to ${maxReplicaCount}: ${hintMessage === '' ? 'success' : hintMessage}\n`);
    return 'ok';
  },
};

/** `ERR_X: hint` as Pegasus's error_s prints an error with its message. */
function errorStatus(reply: MetaReply<{ hintMessage: string }>): string {
  const hint = reply.response?.hintMessage || reply.detail || '';
  return hint === '' ? reply.err : `${reply.err}: ${hint}`;
}

const getAtomicIdempotent: ShellCommand = {
  name: 'get_atomic_idempotent',
  usage: '<app_name> [-j|--json]',
  async run(state, words) {
    const parsed = options(state, words, [flag('j', 'json')]);
    if (!parsed || parsed.positionals.length !== 1) return 'usage';
    const appName = parsed.positionals[0]!;
    const reply = await state.meta.call(RPCS.RPC_CM_GET_ATOMIC_IDEMPOTENT, { appName });
    if (reply.err !== 'ERR_OK' || !reply.response) {
      state.io.err(`ERROR: get_atomic_idempotent failed, error=${errorStatus(reply)}\n`);
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
        state.io.err(`ERROR: set_atomic_idempotent failed, error=${errorStatus(reply)}\n`);
        return 'failed';
      }
      const { oldAtomicIdempotent, hintMessage } = reply.response;
      // Pegasus's message ends with a line break of its own before the one its printer adds.
      state.io.out(`set_atomic_idempotent from ${oldAtomicIdempotent} to ${atomicIdempotent}: ${hintMessage === '' ? 'succeed' : hintMessage}\n\n`);
      return 'ok';
    },
  };
}

export const TABLE_ADMIN_COMMANDS: readonly ShellCommand[] = [
  rename, getReplicaCount, setReplicaCount, getAtomicIdempotent,
  setAtomicIdempotent('enable_atomic_idempotent', true), setAtomicIdempotent('disable_atomic_idempotent', false),
];
