// The deterministic core of manual compaction (once, periodic, disabled, the concurrency limit,
// the minimal interval, status transitions and Pegasus's state report), the server's compaction
// slots, and the stale-split-key rule, all with the time given as an argument.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compositeKeyHash } from '../../src/base/index.ts';
import { CompactionSlots } from '../../src/replica/compaction-service.ts';
import {
  ManualCompactCore, compactRangeSettings, isOnceDue, isPeriodicDue, localDateTime, maxConcurrentRunningCount, secondsOfDay,
  staleSplitKeyPredicate,
} from '../../src/replica/manual-compact.ts';
import { encodeKey } from '../../src/storage/index.ts';

/** 12:00 local time on a fixed day. */
const NOON = new Date(2026, 0, 10, 12, 0, 0).getTime();
const at = (hours: number, minutes = 0): number => new Date(2026, 0, 10, hours, minutes, 0).getTime();
const seconds = (ms: number): string => String(Math.floor(ms / 1000));

describe('manual compaction triggers', () => {
  test('once: a trigger time (seconds) later than the last finish; invalid values never trigger', () => {
    const envs = (value: string) => ({ 'manual_compact.once.trigger_time': value });
    assert.equal(isOnceDue(envs(seconds(NOON)), 0), true);
    assert.equal(isOnceDue(envs(seconds(NOON)), NOON - 1000), true);
    assert.equal(isOnceDue(envs(seconds(NOON)), NOON), false, 'finished in the same second');
    assert.equal(isOnceDue(envs(seconds(NOON)), NOON + 500), false);
    for (const bad of ['0', '-5', 'soon', '', '12x']) assert.equal(isOnceDue(envs(bad), 0), false, bad);
    assert.equal(isOnceDue({}, 0), false);
  });

  test('periodic: a local time of today between the last finish and now', () => {
    const envs = (value: string) => ({ 'manual_compact.periodic.trigger_time': value });
    assert.equal(isPeriodicDue(envs('10:00'), 0, NOON), true);
    assert.equal(isPeriodicDue(envs('13:00'), 0, NOON), false, 'later today');
    assert.equal(isPeriodicDue(envs('10:00'), at(11), NOON), false, 'already done after it');
    assert.equal(isPeriodicDue(envs('10:00'), at(9, 59), NOON), true);
    assert.equal(isPeriodicDue(envs('13:00, 25:00,x,11:30'), at(11), NOON), true, 'any valid time counts, invalid ones are skipped');
    assert.equal(isPeriodicDue(envs('25:00,12:60'), 0, NOON), false);
    assert.equal(isPeriodicDue(envs(''), 0, NOON), false);
    assert.deepEqual(['1:05', ' 01:5', '23:59', '0:00', '24:00', '-1:00', '1:'].map(secondsOfDay), [3900, 3900, 86340, 0, undefined, undefined, undefined]);
  });

  test('target level and bottommost level compaction parse as Pegasus, defaults for invalid values', () => {
    const parse = (level: string, bottommost: string) =>
      compactRangeSettings({ 'manual_compact.once.target_level': level, 'manual_compact.once.bottommost_level_compaction': bottommost }, 'once');
    assert.deepEqual(parse('3', 'force'), { targetLevel: 3, bottommostLevelCompaction: 'force' });
    assert.deepEqual(parse('-1', 'skip'), { targetLevel: -1, bottommostLevelCompaction: 'skip' });
    assert.deepEqual(parse('0', 'FORCE'), { targetLevel: -1, bottommostLevelCompaction: 'skip' });
    assert.deepEqual(parse('8', 'x'), { targetLevel: -1, bottommostLevelCompaction: 'skip' }, 'LevelDB has 7 levels');
    assert.deepEqual(compactRangeSettings({ 'manual_compact.periodic.target_level': '2', 'manual_compact.once.target_level': '5' }, 'periodic').targetLevel, 2);
  });

  test('max_concurrent_running_count: absent or invalid means no limit', () => {
    assert.equal(maxConcurrentRunningCount({}), 0x7fffffff);
    assert.equal(maxConcurrentRunningCount({ 'manual_compact.max_concurrent_running_count': 'many' }), 0x7fffffff);
    assert.equal(maxConcurrentRunningCount({ 'manual_compact.max_concurrent_running_count': '2' }), 2);
  });
});

describe('manual compaction core', () => {
  const once = { 'manual_compact.once.trigger_time': seconds(NOON) };

  test('IDLE, QUEUING, RUNNING, FINISHED; a finished once trigger does not run again', () => {
    const core = new ManualCompactCore();
    assert.equal(core.status(), 'IDLE');
    assert.deepEqual(core.report(localDateTime), { last_finish: '-', last_used_ms: '-', recent_enqueue_at: '-', recent_start_at: '-' });
    const request = core.evaluate({ ...once, 'manual_compact.once.target_level': '2' }, NOON + 1000, 0);
    assert.deepEqual(request, { rule: 'once', settings: { targetLevel: 2, bottommostLevelCompaction: 'skip' } });
    assert.equal(core.status(), 'QUEUING');
    assert.equal(core.queued, true);
    assert.equal(core.evaluate(once, NOON + 2000, 0), 'busy_or_too_soon', 'one at a time');
    assert.equal(core.begin(NOON + 3000), true);
    assert.equal(core.status(), 'RUNNING');
    assert.deepEqual(core.report(localDateTime), {
      last_finish: '-', last_used_ms: '-', recent_enqueue_at: localDateTime((NOON + 1000) / 1000), recent_start_at: localDateTime((NOON + 3000) / 1000),
    });
    core.end(NOON + 7000);
    assert.equal(core.status(), 'FINISHED');
    assert.equal(core.lastFinishTimeMs, NOON + 7000);
    assert.deepEqual(core.report(localDateTime), { last_finish: '2026-01-10 12:00:07', last_used_ms: '4000', recent_enqueue_at: '-', recent_start_at: '-' });
    assert.equal(core.evaluate(once, NOON + 60_000, 0), 'not_due');
    assert.equal(core.evaluate({ 'manual_compact.once.trigger_time': seconds(NOON + 30_000) }, NOON + 60_000, 0) !== 'not_due', true, 'a newer trigger time runs again');
  });

  test('a restored finish time counts, but reports IDLE until this run compacts (Pegasus keeps the time used in memory)', () => {
    const core = new ManualCompactCore();
    core.restoreLastFinish(NOON + 5000);
    assert.equal(core.status(), 'IDLE');
    assert.equal(core.evaluate(once, NOON + 60_000, 0), 'not_due');
  });

  test('periodic is looked at after once, with its own settings', () => {
    const core = new ManualCompactCore();
    const request = core.evaluate({ 'manual_compact.periodic.trigger_time': '3:00', 'manual_compact.periodic.bottommost_level_compaction': 'force' }, NOON, 0);
    assert.deepEqual(request, { rule: 'periodic', settings: { targetLevel: -1, bottommostLevelCompaction: 'force' } });
  });

  test('disabled: nothing is queued, and a queued compaction is dropped when it would start', () => {
    const core = new ManualCompactCore();
    assert.equal(core.evaluate({ ...once, 'manual_compact.disabled': 'true' }, NOON + 1000, 0), 'disabled');
    assert.equal(core.evaluate({ ...once, 'manual_compact.disabled': 'TRUE' }, NOON + 1000, 0) instanceof Object, true, 'only "true" disables');
    assert.equal(core.status(), 'QUEUING');
    assert.equal(core.evaluate({ ...once, 'manual_compact.disabled': 'true' }, NOON + 2000, 0), 'disabled');
    assert.equal(core.begin(NOON + 3000), false);
    assert.equal(core.status(), 'IDLE');
  });

  test('max_concurrent_running_count <= 0 queues nothing', () => {
    const core = new ManualCompactCore();
    assert.equal(core.evaluate({ ...once, 'manual_compact.max_concurrent_running_count': '0' }, NOON + 1000, 0), 'max_concurrent_running_count');
    assert.equal(core.status(), 'IDLE');
    assert.equal(core.evaluate({ ...once, 'manual_compact.max_concurrent_running_count': '3' }, NOON + 1000, 0) instanceof Object, true);
    assert.equal(core.maxConcurrentRunningCount, 3);
  });

  test('manual_compact_min_interval_seconds: a new compaction waits that long after the last finish', () => {
    const core = new ManualCompactCore();
    core.restoreLastFinish(NOON);
    const later = { 'manual_compact.once.trigger_time': seconds(NOON + 2000) };
    assert.equal(core.evaluate(later, NOON + 5000, 10), 'busy_or_too_soon');
    assert.equal(core.evaluate(later, NOON + 10_000, 10), 'busy_or_too_soon', 'strictly more than the interval');
    assert.equal(core.evaluate(later, NOON + 10_001, 10) instanceof Object, true);
    const unlimited = new ManualCompactCore();
    unlimited.restoreLastFinish(NOON);
    assert.equal(unlimited.evaluate(later, NOON + 5000, 0) instanceof Object, true, '0: no limit');
  });

  test('a failed or dropped compaction goes back to the status before it', () => {
    const core = new ManualCompactCore();
    core.evaluate(once, NOON + 1000, 0);
    core.begin(NOON + 2000);
    core.drop();
    assert.equal(core.status(), 'IDLE');
    assert.equal(core.evaluate(once, NOON + 3000, 0) instanceof Object, true, 'the trigger is still due');
  });
});

describe('compaction slots', () => {
  test('at most `limit` per key run; the others wait in order; cancel and a raised limit', async () => {
    const slots = new CompactionSlots();
    let limit = 1;
    const first = slots.acquire('app.1', () => limit);
    const second = slots.acquire('app.1', () => limit);
    const third = slots.acquire('app.1', () => limit);
    const otherTable = slots.acquire('app.2', () => 1);
    assert.equal(await first.granted, true);
    assert.equal(await otherTable.granted, true, 'tables count apart');
    const order: string[] = [];
    void second.granted.then((granted) => order.push(`second ${granted}`));
    void third.granted.then((granted) => order.push(`third ${granted}`));
    await Promise.resolve();
    assert.deepEqual(order, [], 'both wait');
    assert.equal(slots.running('app.1'), 1);
    first.release();
    assert.equal(await second.granted, true);
    third.cancel();
    assert.equal(await third.granted, false);
    const fourth = slots.acquire('app.1', () => limit);
    const fifth = slots.acquire('app.1', () => limit);
    limit = 3;
    slots.pump();
    assert.deepEqual([await fourth.granted, await fifth.granted], [true, true]);
    assert.equal(slots.running('app.1'), 3);
    second.release();
    second.release();
    assert.equal(slots.running('app.1'), 2, 'a second release gives nothing back');
  });
});

describe('stale keys after a split', () => {
  test('a key is stale when its hash masked by partition count - 1 is another partition', () => {
    const stale = staleSplitKeyPredicate(3, 8)!;
    for (let index = 0; index < 200; index++) {
      const key = encodeKey(Buffer.from(`hash${index}`), Buffer.from('s'));
      assert.equal(stale(key), Number(compositeKeyHash(key) & 7n) !== 3);
    }
    assert.equal(staleSplitKeyPredicate(8, 8), undefined, 'an index outside the partition count');
    assert.equal(staleSplitKeyPredicate(0, 0), undefined, 'no partition count known');
  });
});
