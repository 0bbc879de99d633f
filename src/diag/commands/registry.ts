// The command registry: what each command is called, its help, its typed options and arguments,
// and its body. Parsing is done here, once, so every command reports bad input the same way:
// status -10 with a message naming the option or argument, never an exception.
import type { JobContext, JobOutcome } from '../job.ts';
import type { Session, SessionManager } from '../sessions.ts';

export type OptionType = 'boolean' | 'integer' | 'string';

export interface OptionSpec {
  /** Long name, used as `--name value` or `--name=value`, and as the key in parsed options. */
  name: string;
  /** One-letter name, used as `-x value`. */
  short?: string;
  type: OptionType;
  description: string;
  defaultValue?: number | string | boolean;
  /** Integers only: inclusive bounds. */
  min?: number;
  max?: number;
}

export interface ArgumentSpec {
  name: string;
  type: 'integer' | 'string';
  description: string;
  required?: boolean;
  /** Takes every remaining word; only the last argument may be variadic. */
  variadic?: boolean;
}

/** What the server tells commands about itself. */
export interface ServerInfo {
  role: string;
  version: string;
  port: number;
  startTime: Date;
}

/** What a command body may use besides its arguments. */
export interface CommandServices {
  readonly sessions: SessionManager;
  readonly commands: CommandRegistry;
  readonly server: ServerInfo;
}

export interface CommandInvocation extends JobContext {
  readonly args: ParsedArgs;
  /** The session the command runs in (a one-time session for a plain `exec`). */
  readonly session: Session;
  readonly line: string;
  readonly services: CommandServices;
}

export interface CommandSpec {
  /** Lower-case word that starts the command line. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Longer text for `help <name>`. */
  description?: string;
  options?: readonly OptionSpec[];
  arguments?: readonly ArgumentSpec[];
  examples?: readonly string[];
  run(invocation: CommandInvocation): JobOutcome | Promise<JobOutcome>;
}

export class ArgumentError extends Error {}

export class ParsedArgs {
  constructor(
    private readonly spec: CommandSpec,
    private readonly options: ReadonlyMap<string, number | string | boolean>,
    private readonly values: ReadonlyMap<string, number | string | readonly string[]>,
    /** `-h` / `--help` was given: the command's help is shown instead of running it. */
    readonly help: boolean,
  ) {}

  private option(name: string, type: OptionType): OptionSpec {
    const option = this.spec.options?.find((candidate) => candidate.name === name);
    if (!option || option.type !== type) throw new Error(`${this.spec.name} has no ${type} option "${name}"`);
    return option;
  }

  flag(name: string): boolean {
    const option = this.option(name, 'boolean');
    return (this.options.get(name) ?? option.defaultValue ?? false) as boolean;
  }

  integer(name: string): number | undefined {
    const option = this.option(name, 'integer');
    return (this.options.get(name) ?? option.defaultValue) as number | undefined;
  }

  text(name: string): string | undefined {
    const option = this.option(name, 'string');
    return (this.options.get(name) ?? option.defaultValue) as string | undefined;
  }

  /** A positional argument: a string, a number (integer arguments), or a list (variadic). */
  argument(name: string): string | number | readonly string[] | undefined {
    if (!this.spec.arguments?.some((argument) => argument.name === name)) throw new Error(`${this.spec.name} has no argument "${name}"`);
    return this.values.get(name);
  }

  argumentText(name: string): string | undefined {
    const value = this.argument(name);
    return value === undefined ? undefined : Array.isArray(value) ? value.join(' ') : String(value);
  }
}

function parseInteger(what: string, text: string, min?: number, max?: number): number {
  if (!/^[+-]?\d+$/.test(text)) throw new ArgumentError(`${what} expects an integer, got '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new ArgumentError(`${what} is out of range: ${text}`);
  if (min !== undefined && value < min) throw new ArgumentError(`${what} must be at least ${min}, got ${text}`);
  if (max !== undefined && value > max) throw new ArgumentError(`${what} must be at most ${max}, got ${text}`);
  return value;
}

/** Parses the words after the command name; throws ArgumentError with a message for the user. */
export function parseArguments(spec: CommandSpec, words: readonly string[]): ParsedArgs {
  const options = new Map<string, number | string | boolean>();
  const positionals: string[] = [];
  let help = false;
  let optionsEnded = false;
  const specOptions = spec.options ?? [];
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    const looksLikeOption = !optionsEnded && word.startsWith('-') && word !== '-' && !/^-\d/.test(word);
    if (!looksLikeOption) {
      positionals.push(word);
      continue;
    }
    if (word === '--') {
      optionsEnded = true;
      continue;
    }
    const isLong = word.startsWith('--');
    const equals = word.indexOf('=');
    const key = isLong ? word.slice(2, equals > 0 ? equals : undefined) : word.slice(1, 2);
    if ((isLong && key === 'help') || (!isLong && key === 'h' && !specOptions.some((option) => option.short === 'h'))) {
      help = true;
      continue;
    }
    const option = specOptions.find((candidate) => (isLong ? candidate.name === key : candidate.short === key));
    if (!option) throw new ArgumentError(`Unknown option '${isLong ? `--${key}` : `-${key}`}'`);
    let inline: string | undefined;
    if (isLong && equals > 0) inline = word.slice(equals + 1);
    else if (!isLong && word.length > 2) inline = word.slice(word[2] === '=' ? 3 : 2);
    if (option.type === 'boolean') {
      if (inline === undefined) options.set(option.name, true);
      else if (inline === 'true' || inline === 'false') options.set(option.name, inline === 'true');
      else throw new ArgumentError(`The option '${option.name}' is a switch and takes no value, got '${inline}'`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (index + 1 >= words.length) throw new ArgumentError(`The option '${option.name}' requires a value`);
      value = words[++index]!;
    }
    options.set(
      option.name,
      option.type === 'integer' ? parseInteger(`The option '${option.name}'`, value, option.min, option.max) : value,
    );
  }

  const values = new Map<string, number | string | readonly string[]>();
  const specArguments = spec.arguments ?? [];
  let next = 0;
  for (const argument of specArguments) {
    if (argument.variadic) {
      const rest = positionals.slice(next);
      next = positionals.length;
      if (rest.length > 0) values.set(argument.name, rest);
      else if (argument.required && !help) throw new ArgumentError(`The argument '${argument.name}' is required`);
      continue;
    }
    const word = positionals[next];
    if (word === undefined) {
      if (argument.required && !help) throw new ArgumentError(`The argument '${argument.name}' is required`);
      continue;
    }
    next++;
    values.set(argument.name, argument.type === 'integer' ? parseInteger(`The argument '${argument.name}'`, word) : word);
  }
  if (next < positionals.length && !help) throw new ArgumentError(`Too many arguments: '${positionals[next]}'`);
  return new ParsedArgs(spec, options, values, help);
}

/** A one-line synopsis: `dashboard [-i <interval>] [-n <count>]`. */
export function usageOf(spec: CommandSpec): string {
  const parts = [spec.name];
  for (const option of spec.options ?? []) {
    const flag = option.short ? `-${option.short}` : `--${option.name}`;
    parts.push(option.type === 'boolean' ? `[${flag}]` : `[${flag} <${option.name}>]`);
  }
  for (const argument of spec.arguments ?? []) {
    const text = argument.variadic ? `<${argument.name}>...` : `<${argument.name}>`;
    parts.push(argument.required ? text : `[${text}]`);
  }
  return parts.join(' ');
}

/** The `help <name>` model: the command's help as data. */
export function describeCommand(spec: CommandSpec): Record<string, unknown> {
  return {
    name: spec.name,
    summary: spec.summary,
    description: spec.description ?? spec.summary,
    usage: usageOf(spec),
    examples: spec.examples ?? [],
    options: (spec.options ?? []).map((option) => ({
      longName: option.name,
      shortName: option.short,
      type: option.type,
      description: option.description,
      defaultValue: option.defaultValue,
      min: option.min,
      max: option.max,
    })),
    arguments: (spec.arguments ?? []).map((argument) => ({
      argName: argument.name,
      type: argument.type,
      description: argument.description,
      required: argument.required ?? false,
      multiValued: argument.variadic ?? false,
    })),
  };
}

const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

export class CommandRegistry {
  private readonly commands = new Map<string, CommandSpec>();
  /** Names answered with "command not found" although registered (operator's choice). */
  private disabled: (name: string) => boolean = () => false;

  /** Adds a command; a name can be registered once. Roles call this to add their own commands. */
  register(spec: CommandSpec): this {
    if (!NAME_PATTERN.test(spec.name)) throw new Error(`bad command name "${spec.name}"`);
    if (this.commands.has(spec.name)) throw new Error(`command "${spec.name}" registered twice`);
    const variadic = (spec.arguments ?? []).findIndex((argument) => argument.variadic);
    if (variadic >= 0 && variadic !== (spec.arguments ?? []).length - 1) throw new Error(`${spec.name}: only the last argument may be variadic`);
    const names = new Set<string>();
    for (const option of spec.options ?? []) {
      if (names.has(option.name) || (option.short && names.has(`-${option.short}`))) throw new Error(`${spec.name}: option ${option.name} declared twice`);
      names.add(option.name);
      if (option.short) names.add(`-${option.short}`);
    }
    this.commands.set(spec.name, spec);
    return this;
  }

  setDisabled(isDisabled: (name: string) => boolean): void {
    this.disabled = isDisabled;
  }

  find(name: string): CommandSpec | undefined {
    return this.disabled(name) ? undefined : this.commands.get(name);
  }

  /** Enabled commands, by name. */
  list(): CommandSpec[] {
    return [...this.commands.values()].filter((spec) => !this.disabled(spec.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}
