// Command sessions without HTTP: consumers, the sharing distributor, jobs and the session
// manager, driven by a manual clock so every wait and expiry is exact.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock, flushPromises } from '../../src/diag/clock.ts';
import { ResultConsumer, DEFAULT_CONSUMER_LIMITS } from '../../src/diag/consumer.ts';
import { PackingSink, SharingDistributor, UNHEALTHY_CONSUMERS_MESSAGE } from '../../src/diag/distributor.ts';
import { Job, JobStateError, type JobBody } from '../../src/diag/job.ts';
import { inputStatusResult, makeResult, messageResult, resultItemCount, type Result } from '../../src/diag/results.ts';
import { CONSUMER_INACTIVE_MESSAGE, DEFAULT_SESSION_LIMITS, SessionLimitError, SessionManager, type SessionLimits } from '../../src/diag/sessions.ts';

const result = (jobId: number, n: number): Result => makeResult(jobId, { type: 'message', message: `m${n}` });

/** Runs `poll`, advancing the clock by `stepMs` until it settles; returns the results and the time taken. */
async function pollWithClock(clock: ManualClock, poll: Promise<Result[]>, stepMs = 10, limitMs = 10_000): Promise<{ results: Result[]; tookMs: number }> {
  const startMs = clock.now();
  let settled: Result[] | undefined;
  void poll.then((value) => (settled = value));
  await flushPromises();
  while (settled === undefined) {
    assert.ok(clock.now() - startMs <= limitMs, 'poll never returned');
    await clock.advance(stepMs);
  }
  return { results: settled, tookMs: clock.now() - startMs };
}

describe('ResultConsumer', () => {
  test('its queue holds 50 results and drops the oldest on overflow', () => {
    const clock = new ManualClock();
    const consumer = new ResultConsumer('c_1', clock);
    for (let n = 1; n <= 53; n++) consumer.append(result(1, n));
    assert.equal(consumer.queuedCount, 50);
    assert.equal(consumer.droppedCount, 3);
  });

  test('a pull with nothing to read returns an empty list after 2 s', async () => {
    const clock = new ManualClock();
    const consumer = new ResultConsumer('c_1', clock);
    const { results, tookMs } = await pollWithClock(clock, consumer.pollResults());
    assert.deepEqual(results, []);
    assert.equal(tookMs, 2000);
  });

  test('a pull returns 100 ms after the last result arrived', async () => {
    const clock = new ManualClock();
    const consumer = new ResultConsumer('c_1', clock);
    const poll = consumer.pollResults();
    await clock.advance(500);
    consumer.append(result(1, 1));
    await clock.advance(50);
    consumer.append(result(1, 2));
    const { results, tookMs } = await pollWithClock(clock, poll, 10);
    assert.deepEqual(results.map((r) => r.message), ['m1', 'm2']);
    assert.equal(tookMs, 100);
  });

  test('a pull stops at 20 results, or once the item count reaches 100', async () => {
    const clock = new ManualClock();
    const consumer = new ResultConsumer('c_1', clock);
    for (let n = 1; n <= 30; n++) consumer.append(result(1, n));
    const first = await pollWithClock(clock, consumer.pollResults());
    assert.equal(first.results.length, 20);
    assert.equal(first.tookMs, 0);
    const big = makeResult(1, { type: 'thread', threadStats: new Array(60).fill({}) });
    assert.equal(resultItemCount(big), 60);
    const other = new ResultConsumer('c_2', clock);
    other.append(big);
    other.append(big);
    other.append(big);
    const second = await pollWithClock(clock, other.pollResults());
    assert.equal(second.results.length, 2);
  });

  test('a second pull on the same consumer waits 500 ms for the first, then returns empty', async () => {
    const clock = new ManualClock();
    const consumer = new ResultConsumer('c_1', clock);
    const first = consumer.pollResults();
    await flushPromises();
    const second = pollWithClock(clock, consumer.pollResults());
    const { results, tookMs } = await second;
    assert.deepEqual(results, []);
    assert.equal(tookMs, 500);
    consumer.append(result(1, 1));
    assert.equal((await pollWithClock(clock, first)).results.length, 1);
  });

  test('closing the consumer ends a waiting pull at once with what it has', async () => {
    const clock = new ManualClock();
    const consumer = new ResultConsumer('c_1', clock);
    const poll = consumer.pollResults();
    await clock.advance(300);
    consumer.close();
    const { results, tookMs } = await pollWithClock(clock, poll);
    assert.deepEqual(results, []);
    assert.equal(tookMs, 0);
    consumer.append(result(1, 1));
    assert.equal(consumer.queuedCount, 0);
  });

  test('health: polling, room in the queue, or accessed within 1 s', async () => {
    const clock = new ManualClock();
    const consumer = new ResultConsumer('c_1', clock);
    for (let n = 1; n <= DEFAULT_CONSUMER_LIMITS.queueSize; n++) consumer.append(result(1, n));
    assert.equal(consumer.isHealthy(), true, 'accessed just now');
    await clock.advance(1000);
    assert.equal(consumer.isHealthy(), false);
  });
});

describe('SharingDistributor', () => {
  test('every result reaches every consumer, each with its own queue', async () => {
    const clock = new ManualClock();
    const distributor = new SharingDistributor(clock);
    const a = distributor.addConsumer(false);
    const b = distributor.addConsumer(false);
    assert.match(a.id, /^[0-9a-f]{32}_1$/);
    assert.match(b.id, /^[0-9a-f]{32}_2$/);
    distributor.appendResult(result(1, 1));
    distributor.appendResult(result(1, 2));
    const fromA = await pollWithClock(clock, a.pollResults());
    assert.deepEqual(fromA.results.map((r) => r.message), ['m1', 'm2']);
    assert.equal(b.queuedCount, 2, 'pulling from one consumer leaves the other alone');
  });

  test('a joining consumer gets DISABLED, the last 50 results, then the latest input status', async () => {
    const clock = new ManualClock();
    const distributor = new SharingDistributor(clock);
    distributor.appendResult(inputStatusResult('ALLOW_INPUT'));
    for (let n = 1; n <= 55; n++) distributor.appendResult(result(1, n));
    distributor.appendResult(inputStatusResult('ALLOW_INTERRUPT'));
    const joined = distributor.addConsumer(true);
    // 52 entries into a 50-slot queue: DISABLED and m6 fall off the front.
    const queued: Result[] = [];
    while (joined.queuedCount > 0) queued.push(...(await pollWithClock(clock, joined.pollResults())).results);
    assert.equal(queued.length, 50);
    assert.equal(queued[0]!.message, 'm7');
    assert.deepEqual(queued[queued.length - 1], inputStatusResult('ALLOW_INTERRUPT'));
    const small = new SharingDistributor(clock);
    small.appendResult(result(2, 1));
    const c = small.addConsumer(true);
    const replay = await pollWithClock(clock, c.pollResults());
    assert.deepEqual(replay.results, [inputStatusResult('DISABLED'), result(2, 1)]);
  });

  test('when no consumer is healthy the callback runs once, and again only after one recovered', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const distributor = new SharingDistributor(clock, {
      historySize: 50,
      consumerLimits: DEFAULT_CONSUMER_LIMITS,
      onAllConsumersUnhealthy: () => calls++,
    });
    const consumer = distributor.addConsumer(false);
    await clock.advance(2000);
    for (let n = 1; n <= 60; n++) distributor.appendResult(result(1, n));
    assert.equal(calls, 1);
    await pollWithClock(clock, consumer.pollResults());
    distributor.appendResult(result(1, 61));
    await clock.advance(2000);
    for (let n = 62; n <= 120; n++) distributor.appendResult(result(1, n));
    assert.equal(calls, 2);
  });

  test('a packing sink keeps 500 results and drops the rest', () => {
    const sink = new PackingSink();
    for (let n = 0; n < 510; n++) sink.appendResult(result(1, n));
    assert.equal(sink.results.length, 500);
    assert.equal(sink.droppedCount, 10);
  });
});

function makeJob(clock: ManualClock, body: JobBody, sink = new PackingSink()): { job: Job; sink: PackingSink; ended: Job[] } {
  const ended: Job[] = [];
  const job = new Job({ id: 7, line: 'test', sessionId: 's', foreground: true, sink, body, clock, onTerminated: (j) => ended.push(j) });
  return { job, sink, ended };
}

describe('Job', () => {
  test('runs READY → RUNNING → TERMINATED and ends with exactly one status result', async () => {
    const clock = new ManualClock();
    const { job, sink, ended } = makeJob(clock, async ({ append, sleep }) => {
      append({ type: 'message', message: 'a' });
      await sleep(100);
      append({ type: 'message', message: 'b' });
      return 3;
    });
    assert.equal(job.status, 'READY');
    job.run();
    assert.equal(job.status, 'RUNNING');
    await clock.advance(100);
    assert.equal(job.status, 'TERMINATED');
    assert.deepEqual(sink.results, [
      { jobId: 7, message: 'a', type: 'message' },
      { jobId: 7, message: 'b', type: 'message' },
      { jobId: 7, statusCode: 3, type: 'status' },
    ]);
    assert.equal(ended.length, 1);
  });

  test('an exception in the body becomes status 1 with a message; it never escapes', async () => {
    const clock = new ManualClock();
    const thrown = makeJob(clock, () => {
      throw new TypeError('boom');
    });
    thrown.job.run();
    assert.equal(thrown.sink.results.length, 1);
    assert.equal(thrown.sink.results[0]!.statusCode, 1);
    assert.match(String(thrown.sink.results[0]!.message), /^Error during processing the command: TypeError, message:boom/);
    const rejected = makeJob(clock, async () => {
      await Promise.resolve();
      throw new Error('later');
    });
    rejected.job.run();
    await flushPromises();
    assert.equal(rejected.sink.results[0]!.statusCode, 1);
  });

  test('interrupt: refused while READY; ends a running job with status 0 at once, stops its body', async () => {
    const clock = new ManualClock();
    let stoppedEarly = false;
    const { job, sink } = makeJob(clock, async ({ sleep, append }) => {
      stoppedEarly = !(await sleep(60_000));
      append({ type: 'message', message: 'after' });
    });
    assert.throws(() => job.interrupt(), (error: unknown) => error instanceof JobStateError && error.message === 'Cannot interrupt process in READY state');
    job.run();
    job.interrupt();
    await flushPromises();
    assert.equal(stoppedEarly, true);
    assert.deepEqual(sink.results, [{ jobId: 7, statusCode: 0, type: 'status' }], 'nothing after the status');
    job.terminate(-10);
    job.interrupt();
    assert.equal(sink.results.length, 1, 'ending twice adds nothing');
  });
});

function manager(clock: ManualClock, overrides: Partial<SessionLimits> = {}): SessionManager {
  const limits = { ...DEFAULT_SESSION_LIMITS, ...overrides };
  return new SessionManager(clock, () => limits, 4242);
}

const forever: JobBody = async ({ sleep }) => {
  await sleep(10 * 24 * 3600 * 1000);
};

describe('SessionManager', () => {
  test('job ids come from one counter; a foreground job brackets its results with input statuses', async () => {
    const clock = new ManualClock();
    const sessions = manager(clock);
    const session = sessions.createSession(false);
    const consumer = sessions.addConsumer(session, false);
    const job = sessions.startJob({ session, line: 'x', body: ({ append }) => append({ type: 'message', message: 'hi' }), sink: session.distributor!, background: false });
    assert.equal(job.id, 1);
    assert.equal(session.foregroundJob, job);
    assert.equal(job.status, 'READY');
    await flushPromises();
    assert.equal(session.foregroundJob, undefined);
    const { results } = await pollWithClock(clock, consumer.pollResults());
    assert.deepEqual(results.map((r) => [r.type, r.jobId, r.inputStatus ?? r.statusCode ?? r.message]), [
      ['input_status', 0, 'ALLOW_INTERRUPT'],
      ['message', 1, 'hi'],
      ['status', 1, 0],
      ['input_status', 0, 'ALLOW_INPUT'],
    ]);
    assert.equal(sessions.nextJobId(), 2);
  });

  test('a background job leaves the input free and is not the foreground job', async () => {
    const clock = new ManualClock();
    const sessions = manager(clock);
    const session = sessions.createSession(false);
    const consumer = sessions.addConsumer(session, false);
    const job = sessions.startJob({ session, line: 'x &', body: forever, sink: session.distributor!, background: true });
    assert.equal(session.foregroundJob, undefined);
    assert.ok(session.backgroundJobs.has(job));
    const { results } = await pollWithClock(clock, consumer.pollResults());
    assert.deepEqual(results, [inputStatusResult('ALLOW_INPUT')]);
    sessions.removeSession(session.id);
    assert.equal(job.status, 'RUNNING', 'closing the session leaves background jobs running');
    job.terminate(-10);
  });

  test('the job timeout ends a job with status -10', async () => {
    const clock = new ManualClock();
    const sessions = manager(clock, { jobTimeoutMs: 5000 });
    const session = sessions.createSession(true);
    const sink = new PackingSink();
    const job = sessions.startJob({ session, line: 'x', body: forever, sink, background: false });
    await clock.advance(4999);
    assert.equal(job.status, 'RUNNING');
    await clock.advance(1);
    assert.equal(job.status, 'TERMINATED');
    assert.equal(sink.results.at(-1)!.statusCode, -10);
    assert.equal(sessions.jobs().length, 0);
  });

  test('all consumers unhealthy: the foreground job is interrupted with the message clients look for', async () => {
    const clock = new ManualClock();
    const sessions = manager(clock);
    const session = sessions.createSession(false);
    sessions.addConsumer(session, false);
    const job = sessions.startJob({
      session, line: 'flood', sink: session.distributor!, background: false,
      body: async ({ append, sleep }) => {
        for (let n = 0; ; n++) {
          append({ type: 'message', message: String(n) });
          if (!(await sleep(10))) return;
        }
      },
    });
    for (let step = 0; step < 300 && !job.terminated; step++) await clock.advance(10);
    assert.equal(job.status, 'TERMINATED');
    assert.equal(job.statusCode, 0);
    assert.equal(session.foregroundJob, undefined);
  });

  test('idle consumers are removed after the consumer timeout, idle sessions after the session timeout', async () => {
    const clock = new ManualClock();
    const sessions = manager(clock, { consumerTimeoutMs: 5 * 60_000, sessionTimeoutMs: 10 * 60_000, reaperIntervalMs: 60_000 });
    sessions.startReaper();
    const session = sessions.createSession(false);
    const consumer = sessions.addConsumer(session, false);
    await clock.advance(4 * 60_000);
    sessions.touch(session);
    assert.ok(session.distributor!.getConsumer(consumer.id));
    await clock.advance(2 * 60_000);
    assert.equal(session.distributor!.getConsumer(consumer.id), undefined, 'not pulled for 6 min');
    assert.ok(consumer.closed);
    assert.ok(sessions.getSession(session.id), 'the session was touched 2 min ago');
    await clock.advance(7 * 60_000);
    assert.ok(sessions.getSession(session.id), 'idle for 9 min');
    await clock.advance(2 * 60_000);
    assert.equal(sessions.getSession(session.id), undefined);
    sessions.stopReaper();
  });

  test('a session running a foreground job does not expire', async () => {
    const clock = new ManualClock();
    const sessions = manager(clock, { sessionTimeoutMs: 1000, reaperIntervalMs: 100 });
    sessions.startReaper();
    const session = sessions.createSession(false);
    const job = sessions.startJob({ session, line: 'x', body: forever, sink: session.distributor!, background: false });
    await clock.advance(5000);
    assert.ok(sessions.getSession(session.id));
    job.interrupt();
    await clock.advance(200);
    assert.equal(sessions.getSession(session.id), undefined);
    sessions.stopReaper();
  });

  test('the inactivity notices are queued on the consumer, or into the stream, just before removal', async () => {
    const clock = new ManualClock();
    const sessions = manager(clock, { consumerTimeoutMs: 1000, sessionTimeoutMs: 120_000 });
    const session = sessions.createSession(false);
    const stale = sessions.addConsumer(session, false);
    const fresh = sessions.addConsumer(session, false);
    await clock.advance(1500);
    fresh.lastAccessMs = clock.now();
    sessions.sweep();
    assert.ok(stale.closed);
    const notice = await pollWithClock(clock, stale.pollResults());
    assert.deepEqual(notice.results, [messageResult(0, CONSUMER_INACTIVE_MESSAGE)], 'the notice, which no client will read');
    assert.equal(notice.tookMs, 0);
    assert.equal(fresh.closed, false);
    assert.equal(fresh.queuedCount, 0);
    await clock.advance(121_000);
    fresh.lastAccessMs = clock.now();
    sessions.sweep();
    assert.equal(sessions.getSession(session.id), undefined);
    assert.ok(fresh.closed);
    const last = await pollWithClock(clock, fresh.pollResults());
    assert.deepEqual(last.results, [messageResult(0, 'session is inactive for 2 min(s).')]);
  });

  test('session count is bounded', () => {
    const clock = new ManualClock();
    const sessions = manager(clock, { sessionsMax: 2 });
    sessions.createSession(false);
    sessions.createSession(true);
    assert.throws(() => sessions.createSession(false), SessionLimitError);
  });

  test('history keeps the last 500 lines', () => {
    const clock = new ManualClock();
    const sessions = manager(clock);
    for (let n = 0; n < 510; n++) sessions.addHistory(`line ${n}`);
    const lines = sessions.history();
    assert.equal(lines.length, 500);
    assert.equal(lines[0], 'line 10');
  });

  test('unhealthy message text', () => {
    assert.equal(UNHEALTHY_CONSUMERS_MESSAGE, 'all consumers are unhealthy, current job was interrupted.');
  });
});
