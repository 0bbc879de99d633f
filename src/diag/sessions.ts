// Command sessions: who is connected, their result streams, their jobs, and when they expire.
// Everything here is driven by calls and by the injected clock; nothing touches HTTP.
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from './clock.ts';
import { DEFAULT_CONSUMER_LIMITS, type ConsumerLimits } from './consumer.ts';
import { SharingDistributor, UNHEALTHY_CONSUMERS_MESSAGE, type ResultSink } from './distributor.ts';
import { Job, type JobBody } from './job.ts';
import { inputStatusResult, messageResult, SESSION_JOB_ID, STATUS_TERMINATED } from './results.ts';

export const CONSUMER_INACTIVE_MESSAGE = 'consumer is inactive for a while, please refresh the page.';

export class Session {
  readonly createTimeMs: number;
  lastAccessTimeMs: number;
  userId: string | undefined;
  /** The job that holds the session's input; at most one. */
  foregroundJob: Job | undefined;
  /** Jobs started with a trailing `&`, until they end. */
  readonly backgroundJobs = new Set<Job>();

  constructor(
    readonly id: string,
    readonly pid: number,
    nowMs: number,
    /** A throw-away session of one `exec` request: no stream, removed when the request ends. */
    readonly oneTime: boolean,
    /** The shared result stream; one-time sessions have none. */
    readonly distributor: SharingDistributor | undefined,
  ) {
    this.createTimeMs = nowMs;
    this.lastAccessTimeMs = nowMs;
  }
}

export interface SessionLimits {
  /** A session idle this long, and without a foreground job, is removed. */
  sessionTimeoutMs: number;
  /** A consumer not pulled for this long is removed; its client must join again. */
  consumerTimeoutMs: number;
  /** How often idle sessions and consumers are looked for. */
  reaperIntervalMs: number;
  /** Any job still running after this long is ended with status -10. */
  jobTimeoutMs: number;
  /** Sessions alive at once, one-time ones included. */
  sessionsMax: number;
  /** Consumers of one session. */
  consumersPerSessionMax: number;
  /** Results a joining consumer is replayed. */
  historySize: number;
  /** Command lines kept for `history`, shared by all sessions. */
  historyLinesMax: number;
  consumerLimits: ConsumerLimits;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  sessionTimeoutMs: 10800 * 1000,
  consumerTimeoutMs: 5 * 60 * 1000,
  reaperIntervalMs: 60 * 1000,
  jobTimeoutMs: 24 * 3600 * 1000,
  sessionsMax: 1000,
  consumersPerSessionMax: 64,
  historySize: 50,
  historyLinesMax: 500,
  consumerLimits: DEFAULT_CONSUMER_LIMITS,
};

export class SessionLimitError extends Error {}

export interface StartJobRequest {
  session: Session;
  line: string;
  body: JobBody;
  /** Where the job's results go: the session stream, or one `exec` request's list. */
  sink: ResultSink;
  background: boolean;
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly liveJobs = new Map<number, Job>();
  private readonly historyLines: string[] = [];
  private jobCounter = 0;
  private reaper: TimerHandle | undefined;

  constructor(
    readonly clock: Clock,
    /** Read on every use, so limits backed by mutable flags take effect at once. */
    private readonly limits: () => SessionLimits = () => DEFAULT_SESSION_LIMITS,
    readonly pid = process.pid,
  ) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  createSession(oneTime: boolean): Session {
    const limits = this.limits();
    if (this.sessions.size >= limits.sessionsMax) {
      throw new SessionLimitError(`too many sessions: ${this.sessions.size} (limit ${limits.sessionsMax})`);
    }
    const id = randomUUID();
    let session: Session | undefined;
    const distributor = oneTime
      ? undefined
      : new SharingDistributor(this.clock, {
          historySize: limits.historySize,
          consumerLimits: limits.consumerLimits,
          onAllConsumersUnhealthy: () => this.interruptForUnhealthyConsumers(session!),
        });
    session = new Session(id, this.pid, this.clock.now(), oneTime, distributor);
    this.sessions.set(id, session);
    return session;
  }

  getSession(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  allSessions(): Session[] {
    return [...this.sessions.values()];
  }

  touch(session: Session): void {
    session.lastAccessTimeMs = this.clock.now();
  }

  /** Adds a consumer to a session's stream; `replay` gives it the history first (join). */
  addConsumer(session: Session, replay: boolean) {
    const distributor = session.distributor;
    if (!distributor) throw new SessionLimitError('a one-time session has no result stream');
    const limits = this.limits();
    if (distributor.allConsumers().length >= limits.consumersPerSessionMax) {
      throw new SessionLimitError(`too many consumers: ${limits.consumersPerSessionMax}`);
    }
    return distributor.addConsumer(replay);
  }

  /** Interrupts the foreground job, closes the stream and its consumers, forgets the session. */
  removeSession(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    const job = session.foregroundJob;
    if (job && job.status !== 'READY') job.interrupt();
    else job?.terminate(STATUS_TERMINATED);
    session.distributor?.close();
  }

  /** Every live session's foreground job is interrupted and every session removed. */
  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.removeSession(id);
    this.stopReaper();
  }

  // ---- jobs

  nextJobId(): number {
    return ++this.jobCounter;
  }

  addHistory(line: string): void {
    this.historyLines.push(line);
    const excess = this.historyLines.length - this.limits().historyLinesMax;
    if (excess > 0) this.historyLines.splice(0, excess);
  }

  history(): string[] {
    return [...this.historyLines];
  }

  clearHistory(): void {
    this.historyLines.length = 0;
  }

  /** Jobs that have not ended yet, by id. */
  jobs(): Job[] {
    return [...this.liveJobs.values()];
  }

  findJob(id: number): Job | undefined {
    return this.liveJobs.get(id);
  }

  /**
   * Creates a job and starts it on the next microtask (it reports READY until then). A foreground
   * job takes the session's input: the stream shows ALLOW_INTERRUPT now and ALLOW_INPUT when it
   * ends; a background job leaves the input free at once.
   */
  startJob(request: StartJobRequest, jobId = this.nextJobId()): Job {
    const { session } = request;
    const foreground = !request.background;
    const limits = this.limits();
    let timeout: TimerHandle | undefined;
    const job = new Job({
      id: jobId,
      line: request.line,
      sessionId: session.id,
      foreground,
      sink: request.sink,
      body: request.body,
      clock: this.clock,
      onTerminated: (ended) => {
        timeout?.cancel();
        this.liveJobs.delete(ended.id);
        session.backgroundJobs.delete(ended);
        if (session.foregroundJob === ended) {
          session.foregroundJob = undefined;
          session.distributor?.appendResult(inputStatusResult('ALLOW_INPUT'));
        }
      },
    });
    this.liveJobs.set(job.id, job);
    if (foreground) {
      session.foregroundJob = job;
      session.distributor?.appendResult(inputStatusResult('ALLOW_INTERRUPT'));
    } else {
      session.backgroundJobs.add(job);
      session.distributor?.appendResult(inputStatusResult('ALLOW_INPUT'));
    }
    timeout = this.clock.setTimer(limits.jobTimeoutMs, () =>
      job.terminate(STATUS_TERMINATED, `job timeout: the job ran longer than ${Math.round(limits.jobTimeoutMs / 1000)} s`),
    );
    queueMicrotask(() => job.run());
    return job;
  }

  private interruptForUnhealthyConsumers(session: Session): void {
    const job = session.foregroundJob;
    if (!job || job.status !== 'RUNNING') return;
    session.distributor?.appendResult(messageResult(job.id, UNHEALTHY_CONSUMERS_MESSAGE));
    job.interrupt();
  }

  // ---- expiry

  startReaper(): void {
    if (this.reaper) return;
    const tick = (): void => {
      this.sweep();
      this.reaper = this.clock.setTimer(this.limits().reaperIntervalMs, tick);
    };
    this.reaper = this.clock.setTimer(this.limits().reaperIntervalMs, tick);
  }

  stopReaper(): void {
    this.reaper?.cancel();
    this.reaper = undefined;
  }

  /** Removes idle consumers, then idle sessions that run no foreground job. */
  sweep(): void {
    const limits = this.limits();
    const nowMs = this.clock.now();
    for (const session of [...this.sessions.values()]) {
      const distributor = session.distributor;
      if (distributor) {
        for (const consumer of distributor.allConsumers()) {
          if (consumer.isPolling || nowMs - consumer.lastAccessMs <= limits.consumerTimeoutMs) continue;
          consumer.append(messageResult(SESSION_JOB_ID, CONSUMER_INACTIVE_MESSAGE));
          distributor.removeConsumer(consumer.id);
        }
      }
      if (session.foregroundJob || nowMs - session.lastAccessTimeMs <= limits.sessionTimeoutMs) continue;
      const minutes = Math.floor(limits.sessionTimeoutMs / 60000);
      distributor?.appendResult(messageResult(SESSION_JOB_ID, `session is inactive for ${minutes} min(s).`));
      this.removeSession(session.id);
    }
  }
}
