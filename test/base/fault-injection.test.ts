// The fault file's format: every fault, and clear errors for anything else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFaults } from '../../src/base/fault-injection.ts';

test('parseFaults reads each fault and defaults the rest to off', () => {
  assert.deepEqual(parseFaults('{}'), { diskFull: false, fsyncDelayMs: 0, clockSkewSeconds: 0 });
  assert.deepEqual(parseFaults('{"diskFull":true,"fsyncDelayMs":500,"clockSkewSeconds":-60}'), { diskFull: true, fsyncDelayMs: 500, clockSkewSeconds: -60 });
});

test('parseFaults refuses what is not a fault description', () => {
  assert.throws(() => parseFaults('[]'), /JSON object/);
  assert.throws(() => parseFaults('{"meteor":1}'), /unknown fault "meteor"/);
  assert.throws(() => parseFaults('{"diskFull":"yes"}'), /boolean/);
  assert.throws(() => parseFaults('{"fsyncDelayMs":-1}'), /negative/);
  assert.throws(() => parseFaults('{"clockSkewSeconds":1.5}'), /integer/);
});
