// Turns a resolved command and its words into a job body: parse, show help, or run.
import type { JobBody } from '../job.ts';
import { STATUS_TERMINATED } from '../results.ts';
import type { Session } from '../sessions.ts';
import { ArgumentError, describeCommand, parseArguments, type CommandServices, type CommandSpec } from './registry.ts';

export function commandBody(spec: CommandSpec, words: readonly string[], line: string, session: Session, services: CommandServices): JobBody {
  return (context) => {
    let args;
    try {
      args = parseArguments(spec, words.slice(1));
    } catch (error) {
      if (error instanceof ArgumentError) return { statusCode: STATUS_TERMINATED, message: error.message };
      throw error;
    }
    if (args.help) {
      // As in Arthas, asking a command for its help ends it with the "not run" code.
      context.append({ type: 'help', detailCommand: describeCommand(spec) });
      return STATUS_TERMINATED;
    }
    return spec.run({ ...context, args, session, line, services });
  };
}
