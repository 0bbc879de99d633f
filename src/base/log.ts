// One structured logger per process (JSON lines on stdout), named after the role.
import { pino, type Logger } from 'pino';

export type { Logger };

export const log: Logger = pino({
  level: process.env.PTERON_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
});
