// A job: one run of one command line. It moves READY → RUNNING → TERMINATED (STOPPED, Arthas's
// suspended state, has no way in over HTTP), puts its results into one sink, and ends with
// exactly one `status` result carrying its exit code; nothing it appends after that is kept.
import { log } from '../base/index.ts';
import type { Clock } from './clock.ts';
import type { ResultSink } from './distributor.ts';
import { makeResult, statusResult, STATUS_ERROR, STATUS_OK, type ResultFields } from './results.ts';

export type JobStatus = 'READY' | 'RUNNING' | 'STOPPED' | 'TERMINATED';

/** What a command's body may return: nothing (success), an exit code, or a code with a message. */
export type JobOutcome = void | number | { statusCode: number; message?: string };

export interface JobContext {
  readonly jobId: number;
  readonly clock: Clock;
  /** Aborted when the job is interrupted or killed; long-running bodies stop on it. */
  readonly signal: AbortSignal;
  /** Adds a result to the job's stream (dropped once the job has ended). */
  append(fields: ResultFields): void;
  /** Waits `ms`; resolves false at once if the job is (or gets) interrupted. */
  sleep(ms: number): Promise<boolean>;
}

export type JobBody = (context: JobContext) => JobOutcome | Promise<JobOutcome>;

export class JobStateError extends Error {}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | undefined)?.then === 'function';
}

export interface JobInit {
  id: number;
  line: string;
  sessionId: string;
  foreground: boolean;
  sink: ResultSink;
  body: JobBody;
  clock: Clock;
  /** Called once, right after the `status` result went out. */
  onTerminated: (job: Job) => void;
}

export class Job {
  readonly id: number;
  readonly line: string;
  readonly sessionId: string;
  readonly foreground: boolean;
  readonly createTimeMs: number;
  private statusValue: JobStatus = 'READY';
  private statusCodeValue: number | undefined;
  private readonly abort = new AbortController();
  private readonly endedPromise: Promise<void>;
  private resolveEnded!: () => void;

  constructor(private readonly init: JobInit) {
    this.id = init.id;
    this.line = init.line;
    this.sessionId = init.sessionId;
    this.foreground = init.foreground;
    this.createTimeMs = init.clock.now();
    this.endedPromise = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get status(): JobStatus {
    return this.statusValue;
  }

  /** The exit code, once terminated. */
  get statusCode(): number | undefined {
    return this.statusCodeValue;
  }

  get terminated(): boolean {
    return this.statusValue === 'TERMINATED';
  }

  /** Resolves when the job has terminated. */
  ended(): Promise<void> {
    return this.endedPromise;
  }

  /** Starts the body; a body that throws or rejects ends the job with status 1, never escapes. */
  run(): void {
    if (this.statusValue !== 'READY') return;
    this.statusValue = 'RUNNING';
    let outcome: JobOutcome | PromiseLike<JobOutcome>;
    try {
      outcome = this.init.body(this.context());
    } catch (error) {
      this.fail(error);
      return;
    }
    if (isPromiseLike(outcome)) {
      outcome.then((value) => this.finish(value), (error: unknown) => this.fail(error));
    } else {
      this.finish(outcome);
    }
  }

  /**
   * Ctrl-C: the job ends at once with status 0 and its body is told to stop. A job that has not
   * started cannot be interrupted (as in Arthas); an ended one is left alone.
   */
  interrupt(): void {
    if (this.statusValue === 'READY') throw new JobStateError('Cannot interrupt process in READY state');
    this.terminate(STATUS_OK);
  }

  /** Ends the job with `statusCode` unless it already ended; safe to call from any state. */
  terminate(statusCode: number, message?: string): void {
    if (this.statusValue === 'TERMINATED') return;
    this.statusValue = 'TERMINATED';
    this.statusCodeValue = statusCode;
    this.abort.abort();
    this.init.sink.appendResult(statusResult(this.id, statusCode, message));
    this.resolveEnded();
    this.init.onTerminated(this);
  }

  private finish(outcome: JobOutcome): void {
    if (outcome === undefined) this.terminate(STATUS_OK);
    else if (typeof outcome === 'number') this.terminate(outcome);
    else this.terminate(outcome.statusCode, outcome.message);
  }

  private fail(error: unknown): void {
    if (this.terminated) return;
    const name = error instanceof Error ? error.name : typeof error;
    const text = error instanceof Error ? error.message : String(error);
    log.warn({ err: error, jobId: this.id, command: this.line }, 'command failed');
    this.terminate(STATUS_ERROR, `Error during processing the command: ${name}, message:${text}, please check the server log for more details.`);
  }

  private context(): JobContext {
    const job = this;
    const clock = this.init.clock;
    const signal = this.abort.signal;
    return {
      jobId: this.id,
      clock,
      signal,
      append(fields) {
        if (!job.terminated) job.init.sink.appendResult(makeResult(job.id, fields));
      },
      sleep(ms) {
        if (signal.aborted) return Promise.resolve(false);
        return new Promise((resolve) => {
          const onAbort = (): void => {
            timer.cancel();
            resolve(false);
          };
          const timer = clock.setTimer(ms, () => {
            signal.removeEventListener('abort', onAbort);
            resolve(!signal.aborted);
          });
          signal.addEventListener('abort', onAbort, { once: true });
        });
      },
    };
  }
}
