// The JSON body decoder of the admin calls (spec pegasus-http §2.6): strict JSON, an object at
// the top, typed fields, int32 range, integers written as integers, and the acceptance rule
// "all declared fields present, or nothing but declared fields".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJsonStruct } from '../../src/net/index.ts';

const SCENARIO = { app_name: 'string', scenario: 'string' } as const;
const COMPACTION = {
  app_name: 'string', type: 'string', target_level: 'int32', bottommost_level_compaction: 'string',
  max_concurrent_running_count: 'int32', trigger_time: 'string',
} as const;
const FLAGGED = { name: 'string', on: 'bool' } as const;

describe('decodeJsonStruct: strict JSON', () => {
  it('refuses an empty body, text that is not JSON, and JSON with extensions', () => {
    for (const body of [
      '', ' ', 'app_name=t', '{', '{"app_name":"t"', '{"app_name":"t",}', '{"app_name":"t"}x', "{'app_name':'t'}",
      '{app_name:"t"}', '{"app_name":"t"} {}', '/* c */{"app_name":"t"}', '{"app_name":"t"}//', '{"a":01}', '{"a":1.}',
      '{"a":.5}', '{"a":+1}', '{"a":NaN}', '{"a":Infinity}', '{"a":-}', '{"a":1e}', '{"a":tru}', '{"a":nul}', '{"a" 1}',
      '{"a":[1,]}', '{"a":"tab\there"}', '{"a":"\\x41"}', '{"a":"\\u12"}', '{"a":"\\ud800"}', '{"a":"\\ud800\\u0041"}',
      '{"a":1e400}', '\u00a0{}',
    ]) {
      assert.equal(decodeJsonStruct(body, SCENARIO), undefined, JSON.stringify(body));
    }
  });

  it('accepts whitespace around tokens, escapes, and a NUL byte after the document (read as its end)', () => {
    assert.deepEqual(
      decodeJsonStruct(' \t\r\n{ "app_name" : "a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00" , "scenario":"normal" }\n', SCENARIO),
      { app_name: 'a"\\/\b\f\n\r\té😀', scenario: 'normal' },
    );
    assert.deepEqual(decodeJsonStruct(Buffer.from('{"scenario":"x"}\0garbage', 'latin1'), SCENARIO), { scenario: 'x' });
    // Raw UTF-8 in a string is taken as it is.
    assert.deepEqual(decodeJsonStruct(Buffer.from('{"app_name":"表"}'), SCENARIO), { app_name: '表' });
    // Members of other types, nested values included, are parsed (and must be valid) when tolerated.
    const all = '"app_name":"t","scenario":"normal"';
    assert.deepEqual(decodeJsonStruct(`{${all},"x":{"y":[1,2.5,-3e2,true,false,null,{"z":[]}]}}`, SCENARIO), { app_name: 't', scenario: 'normal' });
    assert.equal(decodeJsonStruct(`{${all},"x":{"y":[1,]}}`, SCENARIO), undefined);
  });

  it('refuses a top level that is not an object', () => {
    for (const body of ['[]', '[{"app_name":"t","scenario":"normal"}]', '"text"', '1', 'true', 'null']) {
      assert.equal(decodeJsonStruct(body, SCENARIO), undefined, body);
    }
  });

  it('refuses nesting deeper than any struct needs, without overflowing the stack', () => {
    const deep = `{"app_name":"t","scenario":"normal","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    assert.equal(decodeJsonStruct(deep, SCENARIO), undefined);
    const shallow = `{"app_name":"t","scenario":"normal","x":${'['.repeat(100)}${']'.repeat(100)}}`;
    assert.deepEqual(decodeJsonStruct(shallow, SCENARIO), { app_name: 't', scenario: 'normal' });
  });
});

describe('decodeJsonStruct: field types', () => {
  it('a string field takes a JSON string only', () => {
    for (const value of ['1', 'true', 'null', '["t"]', '{}']) {
      assert.equal(decodeJsonStruct(`{"app_name":${value}}`, SCENARIO), undefined, value);
    }
    assert.deepEqual(decodeJsonStruct('{"app_name":""}', SCENARIO), { app_name: '' });
  });

  it('an int32 field takes an integer literal in int32 range: not 1.0, 1e0, "1" or 2^31', () => {
    const level = (text: string) => decodeJsonStruct(`{"target_level":${text}}`, COMPACTION)?.target_level;
    assert.equal(level('1'), 1);
    assert.equal(level('-1'), -1);
    assert.equal(level('-0'), 0);
    assert.equal(level('2147483647'), 2147483647);
    assert.equal(level('-2147483648'), -2147483648);
    for (const text of ['1.0', '1e0', '1E2', '"1"', 'true', 'null', '2147483648', '-2147483649', '9223372036854775808', '1' + '0'.repeat(30)]) {
      assert.equal(decodeJsonStruct(`{"target_level":${text}}`, COMPACTION), undefined, text);
    }
  });

  it('a bool field takes true, false or an int32 (non-zero is true)', () => {
    const on = (text: string) => decodeJsonStruct(`{"on":${text}}`, FLAGGED)?.on;
    assert.equal(on('true'), true);
    assert.equal(on('false'), false);
    assert.equal(on('0'), false);
    assert.equal(on('-7'), true);
    for (const text of ['"true"', '1.0', '2147483648', 'null']) assert.equal(decodeJsonStruct(`{"on":${text}}`, FLAGGED), undefined, text);
  });

  it('checks the type of the first of duplicate members, and takes its value', () => {
    assert.deepEqual(decodeJsonStruct('{"app_name":"a","app_name":1,"scenario":"normal"}', SCENARIO), { app_name: 'a', scenario: 'normal' });
    assert.equal(decodeJsonStruct('{"app_name":1,"app_name":"a","scenario":"normal"}', SCENARIO), undefined);
  });
});

describe('decodeJsonStruct: acceptance rule (P == A or P == M)', () => {
  it('all declared fields present (P == A): unknown members are tolerated', () => {
    assert.deepEqual(decodeJsonStruct('{"app_name":"t","scenario":"normal","extra":1}', SCENARIO), { app_name: 't', scenario: 'normal' });
  });

  it('only declared fields (P == M): missing ones are left out', () => {
    assert.deepEqual(decodeJsonStruct('{"scenario":"normal"}', SCENARIO), { scenario: 'normal' });
    assert.deepEqual(decodeJsonStruct('{}', SCENARIO), {});
  });

  it('neither: an unknown member with a declared field missing fails (the spec\'s "app" test vector)', () => {
    assert.equal(decodeJsonStruct('{"app":"test_bulk_load","scenario":"normal"}', SCENARIO), undefined);
    assert.equal(decodeJsonStruct('{"extra":1}', SCENARIO), undefined);
  });

  it('duplicates count as members: a declared field given twice with another one missing fails', () => {
    assert.equal(decodeJsonStruct('{"app_name":"a","app_name":"b"}', SCENARIO), undefined);
    assert.deepEqual(decodeJsonStruct('{"app_name":"a","app_name":"b","scenario":"normal"}', SCENARIO), { app_name: 'a', scenario: 'normal' });
  });

  it('decodes the spec\'s manual_compaction_info vector, and refuses a count given as a string', () => {
    const body = '{"app_name":"test_bulk_load","type":"once","target_level":-1,"bottommost_level_compaction":"skip","max_concurrent_running_count":0,"trigger_time":""}';
    assert.deepEqual(decodeJsonStruct(body, COMPACTION), {
      app_name: 'test_bulk_load', type: 'once', target_level: -1, bottommost_level_compaction: 'skip', max_concurrent_running_count: 0, trigger_time: '',
    });
    assert.equal(decodeJsonStruct(body.replace('"max_concurrent_running_count":0', '"max_concurrent_running_count":"0"'), COMPACTION), undefined);
  });
});
