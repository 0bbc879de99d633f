// The throttling envs' values as the meta checks them: the vectors of Pegasus's own validator
// test, the token-bucket form of read_throttling_by_size, and backup_request_throttling, which
// Pteron refuses by name (it serves no backup requests).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateAppEnv, validateCreateAppEnvs } from '../../src/meta/app-envs.ts';

describe('throttling envs', () => {
  test('write_throttling, write_throttling_by_size and read_throttling: delay and reject rules', () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['replica.write_throttling', '100*delay*100', undefined],
      ['replica.write_throttling', '20K*delay*100', undefined],
      ['replica.write_throttling', '20M*delay*100', undefined],
      ['replica.write_throttling', '20M*reject*100', undefined],
      ['replica.write_throttling', '20A*delay*100', "'20A' should be an unsigned integer"],
      ['replica.write_throttling', '-20*delay*100', "'-20' should be an unsigned integer"],
      ['replica.write_throttling', '', "The value shouldn't be empty"],
      ['replica.write_throttling', '20A*delay', "The field count of '20A*delay' separated by '*' must be 3"],
      ['replica.write_throttling', '20K*pass*100', "'pass' should be 'delay' or 'reject'"],
      ['replica.write_throttling', '20K*delay*-100', "'-100' should be an unsigned integer"],
      ['replica.write_throttling', '2K**delay*100', "The field count of '2K**delay*100' separated by '*' must be 3"],
      ['replica.write_throttling', '2K*delay**100', "The field count of '2K*delay**100' separated by '*' must be 3"],
      ['replica.write_throttling', '2K*delay*100,3K*delay*100', "duplicate 'delay' config"],
      ['replica.write_throttling', '2K*reject*100,3K*reject*100', "duplicate 'reject' config"],
      ['replica.write_throttling_by_size', '300*delay*100', undefined],
      ['replica.write_throttling_by_size', '1M*delay*100,2M*reject*10', undefined],
      ['replica.write_throttling_by_size', '1G*delay*100', "'1G' should be an unsigned integer"],
      ['replica.read_throttling', '1000*reject*0', undefined],
      ['replica.read_throttling', '1000*drop*0', "'drop' should be 'delay' or 'reject'"],
    ];
    for (const [key, value, hint] of cases) assert.equal(validateAppEnv(key, value), hint, `${key}=${value}`);
  });

  test('read_throttling_by_size: a size, or rules whose reject part is above 0', () => {
    for (const value of ['200', '200K', '20000*delay*100', '20000*delay*100,20000*reject*100', '20K*reject*100']) {
      assert.equal(validateAppEnv('replica.read_throttling_by_size', value), undefined, value);
    }
    const refused: Array<[string, string]> = [
      ['0', "The field count of '0' separated by '*' must be 3"],
      ['200G', "The field count of '200G' separated by '*' must be 3"],
      ['0*reject*100', 'reject value should be greater than 0'],
      ['20*delay*100,0*reject*100', 'reject value should be greater than 0'],
      ['', "The value shouldn't be empty"],
    ];
    for (const [value, hint] of refused) assert.equal(validateAppEnv('replica.read_throttling_by_size', value), hint, value);
  });

  test('backup_request_throttling: a valid value is refused by name; create_app refuses it too', () => {
    assert.equal(validateAppEnv('replica.backup_request_throttling', '20K*pass*100'), "'pass' should be 'delay' or 'reject'");
    const notImplemented = "app_env 'replica.backup_request_throttling' is not implemented by Pteron: backup requests (reads served by secondaries) are not implemented";
    assert.equal(validateAppEnv('replica.backup_request_throttling', '100*delay*100'), notImplemented);
    assert.equal(validateCreateAppEnvs({ 'replica.backup_request_throttling': '100*delay*100' }), notImplemented);
    assert.equal(validateCreateAppEnvs({ 'replica.write_throttling': '100*reject*0', 'replica.read_throttling_by_size': '1M' }), undefined);
  });
});
