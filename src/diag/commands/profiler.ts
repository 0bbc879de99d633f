// profiler: a CPU profile of the main thread from @datadog/pprof's time profiler, written as a
// gzipped pprof protobuf (.pb.gz, which `go tool pprof` reads) into the output directory and
// downloadable at /api/download/<file>. One profile at a time per process, sharing the busy flag
// of /pprof/profile; a forgotten one is stopped and saved after PROFILE_SECONDS_MAX.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encode, time } from '@datadog/pprof';
import { log } from '../../base/index.ts';
import { takeProfilerBusyFlag } from '../pprof/index.ts';
import { systemClock, type TimerHandle } from '../clock.ts';
import { STATUS_ERROR, STATUS_TERMINATED } from '../results.ts';
import { diagOutputDir, downloadUrl, PLAIN_FILE_NAME } from './heapdump.ts';
import type { CommandSpec } from './registry.ts';

const PROFILE_SUFFIX = '.pb.gz';
/** The same bound as /pprof/profile: samples pile up in memory while a profile runs. */
export const PROFILE_SECONDS_MAX = 300;
const ACTIONS = ['start', 'stop', 'status'] as const;

interface RunningProfile {
  startedAtMs: number;
  intervalUs: number;
  autoStop: TimerHandle;
  release: () => void;
}

let running: RunningProfile | undefined;
let lastOutputFile: string | undefined;

const pad = (n: number): string => String(n).padStart(2, '0');

function defaultFileName(now: Date): string {
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-${pad(now.getHours())}-${pad(now.getMinutes())}-${pad(now.getSeconds())}`;
  return `profile-${stamp}-${process.pid}${PROFILE_SUFFIX}`;
}

async function stopProfile(fileName: string): Promise<string> {
  const profile = running!;
  running = undefined;
  profile.autoStop.cancel();
  try {
    const data = await encode(time.stop());
    const directory = diagOutputDir();
    mkdirSync(directory, { recursive: true });
    const outputFile = path.join(directory, fileName);
    writeFileSync(outputFile, data);
    lastOutputFile = outputFile;
    return outputFile;
  } finally {
    profile.release();
  }
}

export const profilerCommand: CommandSpec = {
  name: 'profiler',
  summary: 'Start, stop or inspect a CPU profile of the main thread (pprof .pb.gz into the output directory)',
  description:
    `profiler start begins sampling; profiler stop writes the profile into the diag.api_output_dir directory ` +
    `and reports the file and its download path (/api/download/<file>); profiler status tells whether one runs. A profile still running after ` +
    `${PROFILE_SECONDS_MAX} s is stopped and saved on its own.`,
  options: [
    { name: 'interval', short: 'i', type: 'integer', description: 'Sampling interval in microseconds (start)', defaultValue: 1000, min: 50, max: 1_000_000 },
  ],
  arguments: [
    { name: 'action', type: 'string', required: true, description: 'start, stop or status' },
    { name: 'file', type: 'string', description: `File name for stop (no directories); ${PROFILE_SUFFIX} is added if missing` },
  ],
  examples: ['profiler start', 'profiler status', 'profiler stop', 'profiler stop slow-writes'],
  async run({ append, args, clock }) {
    const action = args.argumentText('action')!;
    if (!(ACTIONS as readonly string[]).includes(action)) {
      return { statusCode: STATUS_TERMINATED, message: `The argument 'action' must be one of ${ACTIONS.join(', ')}, got '${action}'` };
    }
    const result = (fields: Record<string, unknown>) => append({ type: 'profiler', action, ...fields });
    if (action === 'status') {
      if (running) {
        const seconds = Math.floor((clock.now() - running.startedAtMs) / 1000);
        result({ executeResult: `Profiling is running for ${seconds} seconds, sampling every ${running.intervalUs} us` });
      } else {
        result({ executeResult: 'Profiler is not started', outputFile: lastOutputFile, downloadUrl: lastOutputFile && downloadUrl(path.basename(lastOutputFile)) });
      }
      return;
    }
    if (action === 'start') {
      if (running) return { statusCode: STATUS_ERROR, message: 'profiler already started; stop it first' };
      const intervalUs = args.integer('interval')!;
      const release = takeProfilerBusyFlag('the profiler command');
      if (typeof release === 'string') return { statusCode: STATUS_ERROR, message: `another profile is in progress: ${release}` };
      try {
        if (time.isStarted()) throw new Error('the CPU profiler is already in use by other code of this process');
        time.start({ intervalMicros: intervalUs, durationMillis: PROFILE_SECONDS_MAX * 1000 });
      } catch (error) {
        release();
        return { statusCode: STATUS_ERROR, message: `cannot start the CPU profiler: ${(error as Error).message}` };
      }
      // Real time, not the job's clock: the profile outlives the job that started it.
      const autoStop = systemClock.setTimer(PROFILE_SECONDS_MAX * 1000, () => {
        stopProfile(defaultFileName(new Date())).then(
          (file) => log.warn({ file }, `CPU profile ran ${PROFILE_SECONDS_MAX} s without a stop; saved`),
          (error: unknown) => log.error({ err: error }, 'saving a forgotten CPU profile failed'),
        );
      });
      running = { startedAtMs: clock.now(), intervalUs, autoStop, release };
      result({ executeResult: 'Profiling started' });
      return;
    }
    if (!running) return { statusCode: STATUS_ERROR, message: 'profiler is not started' };
    const requested = args.argumentText('file');
    if (requested !== undefined && !PLAIN_FILE_NAME.test(requested)) {
      return { statusCode: STATUS_ERROR, message: `profiler writes only into the output directory; '${requested}' is not a plain file name` };
    }
    const fileName = requested === undefined ? defaultFileName(new Date(clock.now())) : requested.endsWith(PROFILE_SUFFIX) ? requested : `${requested}${PROFILE_SUFFIX}`;
    const outputFile = await stopProfile(fileName);
    result({ executeResult: 'Profiling stopped', outputFile, downloadUrl: downloadUrl(path.basename(outputFile)), format: 'pprof' });
  },
};
