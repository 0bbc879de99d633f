// Remote commands: Pegasus's text commands every server answers over RPC_CLI_CLI_CALL
// (command {cmd, arguments} in, a plain string out). One registry per process; the same
// implementation is reachable through the /api command sessions.

/** A remote command's body: the words after the command name in, the text to print out. */
export type RemoteCommandHandler = (args: readonly string[]) => string | Promise<string>;

export interface RemoteCommandSpec {
  /** The command name; several names may share one body (aliases). */
  names: readonly string[];
  /** One line on what the command does. */
  help: string;
  /** The arguments it takes, e.g. `[app_id]`; empty when none. */
  usage?: string;
  handler: RemoteCommandHandler;
}

/** Thrown by a handler for bad arguments: its message is the answer, not a failure. */
export class RemoteCommandArgumentError extends Error {}

export function unknownCommandText(cmd: string): string {
  return `unknown command '${cmd}'`;
}

export class RemoteCommandRegistry {
  private readonly byName = new Map<string, RemoteCommandSpec>();
  private readonly specs: RemoteCommandSpec[] = [];

  register(spec: RemoteCommandSpec): this {
    if (spec.names.length === 0) throw new Error('a remote command needs a name');
    for (const name of spec.names) {
      if (this.byName.has(name)) throw new Error(`remote command "${name}" registered twice`);
    }
    for (const name of spec.names) this.byName.set(name, spec);
    this.specs.push(spec);
    return this;
  }

  find(name: string): RemoteCommandSpec | undefined {
    return this.byName.get(name);
  }

  list(): readonly RemoteCommandSpec[] {
    return [...this.specs].sort((a, b) => (a.names[0]! < b.names[0]! ? -1 : a.names[0]! > b.names[0]! ? 1 : 0));
  }

  /** Runs `cmd`; never throws: an unknown command, bad arguments or a failure become text. */
  async run(cmd: string, args: readonly string[]): Promise<string> {
    const spec = this.byName.get(cmd);
    if (!spec) return unknownCommandText(cmd);
    try {
      return await spec.handler(args);
    } catch (error) {
      if (error instanceof RemoteCommandArgumentError) return `ERR: ${error.message}\nUSAGE: ${usageLine(spec)}`;
      return `ERR: ${cmd} failed: ${(error as Error).message ?? String(error)}`;
    }
  }
}

export function usageLine(spec: RemoteCommandSpec): string {
  return `${spec.names.join('|')}${spec.usage ? ` ${spec.usage}` : ''}`;
}
