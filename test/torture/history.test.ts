// The torture checks on hand-made histories: lost writes, counters by bounds, availability.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availabilityPerSecond, availabilityStrip, checkCounters, checkNoLostWrites, checkRegisters, type RecordedOp } from './history.ts';
import { parseTortureArgs } from './schedule.ts';

const write = (value: string, invokeAt: number, completeAt: number, outcome: 'ok' | 'unknown' = 'ok'): RecordedOp =>
  ({ kind: 'write', key: 'k', value, invokeAt, completeAt, ok: outcome === 'ok' ? true : undefined, client: 0, operation: 'set' });
const read = (value: string | undefined, invokeAt: number, completeAt: number): RecordedOp =>
  ({ kind: 'read', key: 'k', value, invokeAt, completeAt, client: 1, operation: 'get' });
const incr = (result: bigint | undefined, invokeAt: number, completeAt: number): RecordedOp =>
  ({ kind: 'incr', key: 'n', invokeAt, completeAt, result, client: 0 });

test('an acknowledged write followed by a final read of an older value is a lost write; an unknown one may land late', () => {
  const ops = [write('a', 0, 1), write('b', 2, 3), write('c', 4, 5, 'unknown')];
  assert.equal(checkNoLostWrites(ops, new Map([['k', 'b']])).length, 0);
  assert.equal(checkNoLostWrites(ops, new Map([['k', 'c']])).length, 0, 'the unknown write may have landed');
  const lost = checkNoLostWrites(ops, new Map([['k', 'a']]));
  assert.equal(lost.length, 1);
  assert.match(lost[0]!.message, /"b"/);
  assert.equal(checkNoLostWrites(ops, new Map([['k', undefined]])).length, 1);
});

test('a stale read is a linearizability violation with the history around it', () => {
  const result = checkRegisters([write('a', 0, 1), write('b', 2, 3), read('a', 4, 5)]);
  assert.equal(result.violations.length, 1);
  assert.ok(result.violations[0]!.history!.length >= 3);
  assert.equal(checkRegisters([write('a', 0, 1), write('b', 2, 6), read('a', 4, 5)]).violations.length, 0);
});

test('counters: duplicate results, results outside the bounds and a final value below the acknowledged count are violations', () => {
  assert.equal(checkCounters([incr(1n, 0, 1), incr(2n, 2, 3), incr(undefined, 4, 5)], new Map([['n', 3n]])).violations.length, 0);
  assert.equal(checkCounters([incr(1n, 0, 1), incr(1n, 2, 3)], new Map([['n', 2n]])).violations.length >= 1, true);
  assert.equal(checkCounters([incr(1n, 0, 1), incr(2n, 2, 3)], new Map([['n', 1n]])).violations.length, 1);
  assert.equal(checkCounters([incr(5n, 0, 1)], new Map([['n', 5n]])).violations.length >= 1, true, 'more than were invoked');
});

test('availability: one character a second', () => {
  const seconds = availabilityPerSecond([write('a', 100, 200), write('b', 1100, 1200, 'unknown'), read('a', 1300, 1400)], 3000);
  assert.equal(availabilityStrip(seconds), '#5.');
});

test('the command line: defaults, nemesis names, and clear errors on bad input', () => {
  const options = parseTortureArgs(['--seconds', '30', '--seed', '5', '--nemesis', 'kill,clock']);
  assert.deepEqual([options.seconds, options.seed, options.nemeses], [30, 5, ['kill', 'clock']]);
  assert.throws(() => parseTortureArgs(['--nemesis', 'meteor']), /unknown nemesis "meteor"/);
  assert.throws(() => parseTortureArgs(['--seconds', 'x']), /--seconds takes a whole number/);
  assert.throws(() => parseTortureArgs(['--bogus']), /unknown argument/);
});
