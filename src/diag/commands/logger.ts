// `logger`: the process's logger (pino, one ROOT logger) and its level, as Arthas shows a
// Java application's; `logger --level warn` changes the level through `[core] logging_start_level`.
import { PteronError, log, logFormat } from '../../base/index.ts';
import { changeLogLevel, logLevelOf } from '../logging.ts';
import { STATUS_ERROR } from '../results.ts';
import type { CommandSpec } from './registry.ts';

const ROOT = 'ROOT';

function loggerInfo(): Record<string, unknown> {
  const level = log.level.toUpperCase();
  return {
    name: ROOT,
    class: 'pino',
    level,
    effectiveLevel: level,
    appenders: [{ name: 'stdout', target: 'stdout', format: logFormat() }],
  };
}

export const loggerCommand: CommandSpec = {
  name: 'logger',
  summary: 'Display the logger and its level, or change the level',
  options: [
    { name: 'name', short: 'n', type: 'string', description: `The logger; the process has one, ${ROOT}` },
    {
      name: 'level', short: 'l', type: 'string',
      description: 'The new level: trace, debug, info, warn, error, fatal or silent (any case), or a Pegasus LOG_LEVEL_* name',
    },
  ],
  examples: ['logger', 'logger --level debug', 'logger -n ROOT -l LOG_LEVEL_WARNING'],
  run({ append, args }) {
    const name = args.text('name') ?? ROOT;
    if (name !== ROOT) return { statusCode: STATUS_ERROR, message: `no logger named ${name}; the process has one, ${ROOT}` };
    const level = args.text('level');
    if (level !== undefined) {
      const chosen = logLevelOf(level) ? level : logLevelOf(level.toLowerCase()) ? level.toLowerCase() : undefined;
      if (chosen === undefined) return { statusCode: STATUS_ERROR, message: `unknown level "${level}"` };
      try {
        changeLogLevel(chosen);
      } catch (error) {
        if (!(error instanceof PteronError)) throw error;
        return { statusCode: STATUS_ERROR, message: error.message };
      }
      append({ type: 'message', message: 'Update logger level success.' });
    }
    append({ type: 'logger', loggerInfoMap: { [ROOT]: loggerInfo() } });
  },
};
