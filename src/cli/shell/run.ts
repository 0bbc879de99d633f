// `pteron shell`: commands from `-e`, from stdin when it is not a terminal, or typed at an
// interactive prompt with history and completion. A script stops at its first failed command
// (unless --keep-going) and exits 1 when any command failed. At the prompt, Ctrl-C cancels the
// running command; with none running it leaves.
import { appendFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { formatHostPort, parseHostPortList, PteronError, type HostPort } from '../../base/index.ts';
import { setConnectionSecret } from '../../net/rpc/client.ts';
import { pteronVersion } from '../../server/identity.ts';
import { CommandLineError, splitCommandLine } from './command-line.ts';
import { listAvailableApps, runCommand, SHELL_COMMANDS } from './commands.ts';
import { complete } from './completion.ts';
import { closeDataSession } from './data-commands.ts';
import { SHELL_DEFAULTS, type CommandResult, type ShellOutput, type ShellState } from './shell-command.ts';
import { MetaClient, type MetaCaller } from './meta-client.ts';

export const DEFAULT_META_SERVERS = '127.0.0.1:34601';
const PROMPT = '>>> ';
/** Lines of history kept in memory and loaded from the history file. */
const HISTORY_LINES_MAX = 1000;

export const SHELL_USAGE = `usage:
  pteron shell [--meta host:port[,host:port...]] [--secret S] [-e "command"]... [--keep-going]
    --meta        the meta servers (default ${DEFAULT_META_SERVERS})
    --secret      the servers' [security] admin_secret, presented on every connection so that
                  state-changing commands work from a host outside their trusted_addresses
                  (default $PTERON_ADMIN_SECRET, which keeps it out of the process list)
    -e            run this command and exit (repeatable); without -e, commands are read
                  from stdin when it is not a terminal, else typed at a prompt
    --keep-going  a script (-e or stdin) runs on after a failed command instead of stopping;
                  the exit code is 1 either way
`;

export interface ShellStreams {
  input: Readable & { isTTY?: boolean };
  output: Writable;
  error: Writable;
}

export interface ShellSession {
  readonly state: ShellState;
  /**
   * Runs one line; blank lines succeed. When `signal` fires the line fails at once with
   * "cancelled": the command sees the signal, and what it prints after is dropped.
   */
  runLine(line: string, signal?: AbortSignal): Promise<CommandResult>;
}

export function createShellSession(meta: MetaCaller, io: ShellOutput, overrides: Partial<Omit<ShellState, 'meta' | 'io' | 'signal'>> = {}): ShellSession {
  const noInput = async (): Promise<string | undefined> => undefined;
  const state: ShellState = {
    meta,
    // A cancelled command may still be finishing: nothing it prints reaches the screen.
    io: {
      out: (text) => void (state.signal.aborted || io.out(text)),
      err: (text) => void (state.signal.aborted || io.err(text)),
    },
    currentApp: overrides.currentApp ?? '',
    sleep: overrides.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    readyPollMs: overrides.readyPollMs ?? SHELL_DEFAULTS.readyPollMs,
    readyWaitMs: overrides.readyWaitMs ?? SHELL_DEFAULTS.readyWaitMs,
    version: overrides.version ?? pteronVersion(),
    readLine: overrides.readLine ?? noInput,
    signal: new AbortController().signal,
  };
  return {
    state,
    async runLine(line, signal = new AbortController().signal) {
      let words: string[];
      try {
        words = splitCommandLine(line);
      } catch (error) {
        if (!(error instanceof CommandLineError)) throw error;
        io.out(`Invalid argument(s): ${error.message}\n`);
        return 'failed';
      }
      state.signal = signal;
      const cancelled = new Promise<'cancelled'>((resolve) => signal.addEventListener('abort', () => resolve('cancelled'), { once: true }));
      const result = await Promise.race([runCommand(state, words), cancelled]);
      if (result !== 'cancelled') return result;
      io.err('cancelled\n');
      return 'failed';
    },
  };
}

/** Reads `lines` one at a time, so that a command may read the lines after its own. */
function lineReader(lines: Iterable<string> | AsyncIterable<string>): () => Promise<string | undefined> {
  const iterator = Symbol.asyncIterator in lines ? lines[Symbol.asyncIterator]() : lines[Symbol.iterator]();
  return async () => {
    const next = await iterator.next();
    return next.done ? undefined : next.value;
  };
}

/** Runs lines until one says `exit` or, unless `keepGoing`, one fails; returns whether every command succeeded. */
async function runScript(session: ShellSession, lines: Iterable<string> | AsyncIterable<string>, keepGoing: boolean): Promise<boolean> {
  let allOk = true;
  const readLine = lineReader(lines);
  session.state.readLine = readLine;
  for (let line = await readLine(); line !== undefined; line = await readLine()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const result = await session.runLine(trimmed);
    if (result === 'exit') break;
    if (result !== 'ok') {
      allOk = false;
      if (!keepGoing) break;
    }
  }
  return allOk;
}

/** The available tables, for completion; none when the meta does not answer. */
async function tableNames(state: ShellState): Promise<string[]> {
  const listed = await listAvailableApps(state);
  return 'apps' in listed ? listed.apps.map((app) => app.appName) : [];
}

function historyFile(): string {
  return process.env.PTERON_SHELL_HISTORY ?? path.join(os.homedir(), '.pteron_shell_history');
}

function loadHistory(file: string): string[] {
  try {
    const lines = readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '');
    // readline keeps the newest entry first.
    return lines.slice(-HISTORY_LINES_MAX).reverse();
  } catch {
    return [];
  }
}

async function runInteractive(session: ShellSession, metas: readonly HostPort[], streams: ShellStreams): Promise<void> {
  const io = session.state.io;
  io.out(`Pteron Shell ${session.state.version}\n`);
  io.out('Type "help" to list the commands; Tab completes; Ctrl-C cancels a running command; "exit", Ctrl-D or Ctrl-C leaves.\n');
  io.out(`The cluster meta list is: ${metas.map(formatHostPort).join(',')}\n\n`);
  const file = historyFile();
  const rl = readline.createInterface({
    input: streams.input,
    output: streams.output,
    terminal: true,
    history: loadHistory(file),
    historySize: HISTORY_LINES_MAX,
    removeHistoryDuplicates: true,
    prompt: PROMPT,
    completer: (line: string, callback: (error: null, result: [string[], string]) => void): void => {
      void complete(line, SHELL_COMMANDS, () => tableNames(session.state))
        .then(({ hits, word }) => callback(null, [hits, word]), () => callback(null, [[], line]));
    },
  });
  let running: AbortController | undefined;
  rl.on('SIGINT', () => {
    if (running) running.abort();
    else rl.close();
  });
  rl.prompt();
  const readLine = lineReader(rl);
  session.state.readLine = readLine;
  for (let line = await readLine(); line !== undefined; line = await readLine()) {
    const trimmed = line.trim();
    if (trimmed !== '') {
      try {
        appendFileSync(file, `${trimmed}\n`);
      } catch {
        // History is a convenience: an unwritable home directory must not stop the shell.
      }
      running = new AbortController();
      const result = await session.runLine(trimmed, running.signal);
      running = undefined;
      if (result === 'exit') break;
    }
    rl.prompt();
  }
  rl.close();
}

/** `pteron shell …`; resolves with the process exit code. */
export async function runShell(argv: readonly string[], streams: ShellStreams = { input: process.stdin, output: process.stdout, error: process.stderr }): Promise<number> {
  let metas: HostPort[];
  let commands: string[];
  let keepGoing: boolean;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        meta: { type: 'string', default: DEFAULT_META_SERVERS },
        execute: { type: 'string', short: 'e', multiple: true },
        'keep-going': { type: 'boolean' },
        secret: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    });
    if (values.help) {
      streams.output.write(SHELL_USAGE);
      return 0;
    }
    metas = parseHostPortList(values.meta ?? DEFAULT_META_SERVERS);
    if (metas.length === 0) throw new PteronError('ERR_INVALID_PARAMETERS', '--meta names no meta server');
    commands = values.execute ?? [];
    keepGoing = values['keep-going'] ?? false;
    if (values.secret !== undefined) setConnectionSecret(values.secret);
  } catch (error) {
    const message = error instanceof PteronError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (error as Error).message : String(error);
    streams.error.write(`pteron shell: ${message}\n${SHELL_USAGE}`);
    return 2;
  }
  const meta = new MetaClient(metas);
  const io: ShellOutput = { out: (text) => void streams.output.write(text), err: (text) => void streams.error.write(text) };
  const session = createShellSession(meta, io);
  try {
    if (commands.length > 0) return (await runScript(session, commands.flatMap((command) => command.split('\n')), keepGoing)) ? 0 : 1;
    if (!streams.input.isTTY) {
      const rl = readline.createInterface({ input: streams.input, terminal: false, crlfDelay: Infinity });
      try {
        return (await runScript(session, rl, keepGoing)) ? 0 : 1;
      } finally {
        rl.close();
      }
    }
    await runInteractive(session, metas, streams);
    return 0;
  } finally {
    // A command cancelled with Ctrl-C may still wait on its data connections.
    await Promise.all([meta.close(), closeDataSession(session.state)]);
  }
}
