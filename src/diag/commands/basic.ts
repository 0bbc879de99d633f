// Commands about the API itself: version, help, session, history, jobs, kill.
import { STATUS_ERROR, STATUS_TERMINATED } from '../results.ts';
import { describeCommand, type CommandSpec } from './registry.ts';
import { formatLocalTime } from '../../base/index.ts';

export const versionCommand: CommandSpec = {
  name: 'version',
  summary: 'Display the server version',
  run({ append, services }) {
    append({ type: 'version', version: services.server.version });
  },
};

export const helpCommand: CommandSpec = {
  name: 'help',
  summary: 'Display the command list, or the help of one command',
  arguments: [{ name: 'command', type: 'string', description: 'The command to describe' }],
  examples: ['help', 'help dashboard'],
  run({ append, args, services }) {
    const name = args.argumentText('command');
    if (name === undefined) {
      append({ type: 'help', commands: services.commands.list().map(describeCommand) });
      return;
    }
    const spec = services.commands.find(name);
    if (!spec) return { statusCode: STATUS_ERROR, message: `${name}: command not found` };
    append({ type: 'help', detailCommand: describeCommand(spec) });
  },
};

export const sessionCommand: CommandSpec = {
  name: 'session',
  summary: 'Display the current session',
  run({ append, session, services }) {
    append({
      type: 'session',
      pid: session.pid,
      sessionId: session.id,
      userId: session.userId,
      role: services.server.role,
      createTime: session.createTimeMs,
      lastAccessTime: session.lastAccessTimeMs,
    });
  },
};

export const historyCommand: CommandSpec = {
  name: 'history',
  summary: 'Display the command lines run through the API (all sessions share one list)',
  options: [
    { name: 'clear', short: 'c', type: 'boolean', description: 'Clear the history' },
    { name: 'number', short: 'n', type: 'integer', description: 'Show only the last N lines', min: 1 },
  ],
  examples: ['history', 'history -n 10', 'history -c'],
  run({ append, args, services }) {
    if (args.flag('clear')) {
      services.sessions.clearHistory();
      append({ type: 'history', history: [] });
      return;
    }
    const lines = services.sessions.history();
    const count = args.integer('number');
    append({ type: 'history', history: count === undefined ? lines : lines.slice(-count) });
  },
};

export const jobsCommand: CommandSpec = {
  name: 'jobs',
  summary: "List the running jobs of this session (or of every session with -a)",
  options: [{ name: 'all', short: 'a', type: 'boolean', description: "Include other sessions' jobs" }],
  run({ append, args, session, services }) {
    const all = args.flag('all');
    const jobs = services.sessions
      .jobs()
      .filter((job) => all || job.sessionId === session.id)
      .map((job) => ({
        id: job.id,
        command: job.line,
        status: job.status,
        foreground: job.foreground,
        sessionId: job.sessionId,
        startTime: formatLocalTime(new Date(job.createTimeMs), true),
      }));
    append({ type: 'jobs', jobs });
  },
};

export const killCommand: CommandSpec = {
  name: 'kill',
  summary: 'End a job of this session (a background job started with &, usually) with status -10',
  arguments: [{ name: 'job-id', type: 'integer', required: true, description: 'The job to end' }],
  examples: ['kill 12'],
  run({ append, args, session, services, jobId }) {
    const target = args.argument('job-id') as number;
    const job = services.sessions.findJob(target);
    if (!job || job.sessionId !== session.id) return { statusCode: STATUS_ERROR, message: `no running job ${target} in this session` };
    if (job.id === jobId) return { statusCode: STATUS_ERROR, message: 'a job cannot kill itself' };
    job.terminate(STATUS_TERMINATED, `killed by job ${jobId}`);
    append({ type: 'kill', killedJobId: target, jobStatus: job.status });
  },
};
