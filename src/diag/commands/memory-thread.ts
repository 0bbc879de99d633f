// memory (V8 heap spaces, code, RSS, off-heap buffers) and thread (Node's view of threads: the
// one event loop that runs all JS, its delay and utilisation, and what keeps it busy).
import { STATUS_ERROR } from '../results.ts';
import { activeResources, EventLoopSampler, mainThreadStats, memoryInfo, threadPoolSize } from './node-stats.ts';
import type { CommandSpec } from './registry.ts';
import { threadId } from 'node:worker_threads';

export const memoryCommand: CommandSpec = {
  name: 'memory',
  summary: 'Display memory: the V8 heap and its spaces, code, RSS, and buffers held outside the heap',
  run({ append }) {
    append({ type: 'memory', memoryInfo: memoryInfo() });
  },
};

const THREAD_STATES = ['NEW', 'RUNNABLE', 'BLOCKED', 'WAITING', 'TIMED_WAITING', 'TERMINATED'] as const;

export const threadCommand: CommandSpec = {
  name: 'thread',
  summary: "Display the event loop (Node's JS thread): CPU, utilisation and delay over an interval, active handles",
  description:
    'Node.js runs all JavaScript on one event-loop thread; `thread` samples it for -i milliseconds: CPU use, ' +
    'event-loop utilisation and delay, the resources keeping the loop alive, and the libuv thread pool size. ' +
    '`thread <id>` (the main thread is ' + threadId + ') adds the libuv handle list from a diagnostic report.',
  options: [{ name: 'interval', short: 'i', type: 'integer', description: 'Sampling interval in ms', defaultValue: 200, min: 10, max: 60000 }],
  arguments: [{ name: 'id', type: 'integer', description: 'Show one thread in detail' }],
  examples: ['thread', 'thread -i 1000', `thread ${threadId}`],
  async run({ append, args, sleep }) {
    const id = args.argument('id') as number | undefined;
    if (id !== undefined && id !== threadId) {
      return { statusCode: STATUS_ERROR, message: `thread id ${id} not found; JavaScript runs on thread ${threadId} (workers are not listed)` };
    }
    const sampler = new EventLoopSampler();
    let sample;
    try {
      if (!(await sleep(args.integer('interval')!))) return;
      sample = sampler.take();
    } finally {
      sampler.stop();
    }
    const main = mainThreadStats(sample.cpuPercent, sample.cpuDeltaMs);
    if (id !== undefined) {
      const report = process.report.getReport() as unknown as { libuv?: Array<Record<string, unknown>> };
      append({
        type: 'thread',
        all: false,
        threadInfo: {
          threadId: main.id,
          threadName: main.name,
          threadState: main.state,
          cpu: main.cpu,
          time: main.time,
          eventLoop: sample.loop,
          activeResources: activeResources(),
          handles: (report.libuv ?? []).map((handle) => ({
            type: handle.type,
            isActive: handle.is_active,
            isReferenced: handle.is_referenced,
            ...(handle.localEndpoint ? { localEndpoint: handle.localEndpoint } : {}),
            ...(handle.remoteEndpoint ? { remoteEndpoint: handle.remoteEndpoint } : {}),
          })),
        },
      });
      return;
    }
    const threadStateCount: Record<string, number> = {};
    for (const state of THREAD_STATES) threadStateCount[state] = state === 'RUNNABLE' ? 1 : 0;
    append({
      type: 'thread',
      all: false,
      threadStateCount,
      threadStats: [main],
      eventLoop: sample.loop,
      activeResources: activeResources(),
      threadPoolSize: threadPoolSize(),
      sampleIntervalMs: sample.windowMs,
    });
  },
};
