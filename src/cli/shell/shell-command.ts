// What every shell command is and shares: the session state it runs on, its result, and the
// option and current-table checks that print the same errors in every command.
import type { HostPort } from '../../base/index.ts';
import { CommandLineError, parseOptions, type OptionSpec, type ParsedOptions } from './command-line.ts';
import type { MetaCaller } from './meta-client.ts';

export interface ShellOutput {
  out(text: string): void;
  err(text: string): void;
}

export interface ShellState {
  readonly meta: MetaCaller;
  readonly io: ShellOutput;
  /** The table `use` chose; '' for none. */
  currentApp: string;
  readonly sleep: (ms: number) => Promise<void>;
  /** `create` and `recall` poll the table's partitions this often until they are all complete… */
  readonly readyPollMs: number;
  /** …for at most this long. */
  readonly readyWaitMs: number;
  /** Printed by `version`. */
  readonly version: string;
  /** The next line of the shell's input (check_and_mutate reads its mutations so); undefined at its end. */
  readLine: () => Promise<string | undefined>;
  /** Fires when the running command is cancelled (Ctrl-C): its loops stop at the next step. */
  signal: AbortSignal;
}

/** ok/failed: the command ran; usage: its words were wrong (the usage line is printed); exit: leave. */
export type CommandResult = 'ok' | 'failed' | 'usage' | 'exit';

export interface ShellCommand {
  readonly name: string;
  /** Option syntax shown by `help`. */
  readonly usage: string;
  run(state: ShellState, words: readonly string[]): Promise<CommandResult>;
}

export const SHELL_DEFAULTS = Object.freeze({
  readyPollMs: 1000,
  readyWaitMs: 300_000,
});

export const flag = (short: string, long: string): OptionSpec => ({ short, long, value: false });
export const param = (short: string, long: string): OptionSpec => ({ short, long, value: true });

/** Parses options; prints the problem and returns undefined when the words are wrong. */
export function options(state: ShellState, words: readonly string[], specs: readonly OptionSpec[]): ParsedOptions | undefined {
  try {
    return parseOptions(words, specs);
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    state.io.err(`ERROR: ${error.message}\n`);
    return undefined;
  }
}

/** The current table, or undefined after printing the `use` hint. */
export function requireCurrentApp(state: ShellState): string | undefined {
  if (state.currentApp !== '') return state.currentApp;
  state.io.err('No app is using now\nUSAGE: use [app_name]\n');
  return undefined;
}

/** The meta servers the shell was started with (empty when its MetaCaller does not say). */
export function metaListOf(state: ShellState): readonly HostPort[] {
  return (state.meta as { metaList?: readonly HostPort[] }).metaList ?? [];
}
