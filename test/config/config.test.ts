// config.ini parsing, C-style flag value parsing and printing (pegasus-http §4.3–4.5), the flag
// registry with its /updateConfig checks, and loading a config file plus --set overrides.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PteronError } from '../../src/base/index.ts';
import {
  ConfigError, defineFlag, defineGroupValidator, findFlag, findFlagBySection, formatDouble, formatFlagValue, formatValue,
  IniSyntaxError, loadConfig, onFlagChange, parseCInteger, parseFlagValue, parseIni, parseSetOption, setFlagFromText,
  tagsOf, type FlagType, type FlagValue,
} from '../../src/config/index.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-config-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = path.join(scratch, name);
  writeFileSync(file, text);
  return file;
}

/** The message of the PteronError that `action` throws (any other outcome fails the test). */
function pteronMessage(action: () => void): string {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof PteronError, `expected a PteronError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a PteronError');
}

describe('parseIni', () => {
  it('keeps section names flat, values verbatim and skips comments', () => {
    const text = [
      '; a comment',
      '# another comment',
      '',
      '[apps..default]',
      'run = true',
      '[apps.meta]',
      '  type   =   meta  ',
      'ports = 34601',
      'pools = THREAD_POOL_DEFAULT,THREAD_POOL_META_SERVER',
      '\t; indented comment',
      '[meta_server.apps.temp]',
      'url = http://host:8080/path#fragment ; not a comment',
      'empty =',
      'equation = a=b',
      '[ spaced ]',
      'key=value',
    ].join('\r\n');
    assert.deepEqual(parseIni(text, 'x.ini'), [
      { section: 'apps..default', key: 'run', value: 'true', line: 5 },
      { section: 'apps.meta', key: 'type', value: 'meta', line: 7 },
      { section: 'apps.meta', key: 'ports', value: '34601', line: 8 },
      { section: 'apps.meta', key: 'pools', value: 'THREAD_POOL_DEFAULT,THREAD_POOL_META_SERVER', line: 9 },
      { section: 'meta_server.apps.temp', key: 'url', value: 'http://host:8080/path#fragment ; not a comment', line: 12 },
      { section: 'meta_server.apps.temp', key: 'empty', value: '', line: 13 },
      { section: 'meta_server.apps.temp', key: 'equation', value: 'a=b', line: 14 },
      { section: 'spaced', key: 'key', value: 'value', line: 16 },
    ]);
  });

  it('reports syntax errors with file:line', () => {
    const cases: Array<[string, number, RegExp]> = [
      ['[ok]\na = 1\n[broken\n', 3, /unterminated section header/],
      ['[ok]\n\n[]\n', 3, /empty section name/],
      ['[ok]\nno equals sign\n', 2, /expected "key = value"/],
      ['[ok]\n= value\n', 2, /expected "key = value"/],
      ['# comment\nkey = value\n', 2, /outside of any \[section\]/],
    ];
    for (const [text, line, reason] of cases) {
      assert.throws(
        () => parseIni(text, 'conf/x.ini'),
        (error: unknown) =>
          error instanceof IniSyntaxError && error.line === line && error.file === 'conf/x.ini' &&
          error.message.startsWith(`conf/x.ini:${line}: `) && reason.test(error.message),
        JSON.stringify(text),
      );
    }
  });
});

describe('parseSetOption', () => {
  it('splits at the last dot before the first equals sign', () => {
    assert.deepEqual(parseSetOption('apps.meta.ports=34601'), { section: 'apps.meta', key: 'ports', value: '34601', line: 0 });
    assert.deepEqual(parseSetOption(' apps..default.run = a=b '), { section: 'apps..default', key: 'run', value: 'a=b', line: 0 });
    assert.deepEqual(parseSetOption('s.k='), { section: 's', key: 'k', value: '', line: 0 });
  });

  it('rejects options without a section or key', () => {
    for (const option of ['novalue', 'nodot=1', '.key=1', 'section.=1', '=1']) {
      assert.throws(() => parseSetOption(option), ConfigError, option);
    }
  });
});

describe('parseCInteger (strtoll/strtoull, base 0)', () => {
  it('reads decimal, hex and octal with leading blanks and a sign', () => {
    const cases: Array<[string, bigint]> = [
      ['0', 0n], ['42', 42n], ['0x10', 16n], ['0XfF', 255n], ['010', 8n], ['00', 0n], ['+7', 7n], ['-7', -7n],
      [' \t\n\v\f\r12', 12n], ['-0x10', -16n], ['99999999999999999999', 99999999999999999999n],
    ];
    for (const [text, value] of cases) assert.equal(parseCInteger(text, false), value, JSON.stringify(text));
  });

  it('rejects trailing garbage, empty input and bad digits', () => {
    for (const text of ['', ' ', '+', '-', '12 ', '12a', '1.0', '1e3', '0x', '08', '0b1', '- 1', '1 2', '٣']) {
      assert.equal(parseCInteger(text, false), undefined, JSON.stringify(text));
    }
  });

  it('lets unsigned values be negative only as -0', () => {
    assert.equal(parseCInteger('-1', true), undefined);
    assert.equal(parseCInteger('-0', true), 0n);
    assert.equal(parseCInteger('-0x0', true), 0n);
    assert.equal(parseCInteger('-000', true), 0n);
  });
});

describe('parseFlagValue', () => {
  function check(type: FlagType, cases: Array<[string, FlagValue | undefined]>): void {
    for (const [text, value] of cases) assert.equal(parseFlagValue(type, text), value, `${type} ${JSON.stringify(text)}`);
  }

  it('FV_INT32: strtoll over the whole string, int32 range', () => {
    check('FV_INT32', [
      ['0x10', 16], ['010', 8], ['  42', 42], ['+5', 5], ['-5', -5], ['2147483647', 2147483647],
      ['-2147483648', -2147483648], ['0x7fffffff', 2147483647], ['2147483648', undefined], ['-2147483649', undefined],
      ['42 ', undefined], ['42x', undefined], ['', undefined], ['1.5', undefined],
    ]);
  });

  it('FV_UINT32: strtoull, no negatives but -0', () => {
    check('FV_UINT32', [
      ['4294967295', 4294967295], ['0xffffffff', 4294967295], ['4294967296', undefined], ['-1', undefined],
      ['-0', 0], ['+0', 0], ['030000', 12288], ['30000', 30000],
    ]);
    assert.ok(Object.is(parseFlagValue('FV_UINT32', '-0'), 0));
  });

  it('FV_INT64 / FV_UINT64: the range a number holds exactly', () => {
    check('FV_INT64', [
      ['-9007199254740991', -9007199254740991], ['9007199254740991', 9007199254740991], ['9007199254740992', undefined],
      ['-1', -1], ['0x1F', 31],
    ]);
    check('FV_UINT64', [['9007199254740991', 9007199254740991], ['-1', undefined], ['-0', 0], ['18446744073709551616', undefined]]);
  });

  it('FV_DOUBLE: strtod over the whole string, rejecting NaN and infinities', () => {
    check('FV_DOUBLE', [
      ['1.5', 1.5], ['5.12', 5.12], [' 2', 2], ['.5', 0.5], ['5.', 5], ['1e3', 1000], ['-1E-2', -0.01], ['+.5e+1', 5],
      ['0', 0], ['0x10', 16], ['-0x10', -16], ['0x1p4', 16], ['0x1.8p1', 3], ['0X.8', 0.5], ['0x1P-2', 0.25],
      ['0x0p9999', 0], ['1.7976931348623157e308', 1.7976931348623157e308],
      ['nan', undefined], ['NaN', undefined], ['inf', undefined], ['-inf', undefined], ['infinity', undefined],
      ['1e400', undefined], ['-1e400', undefined], ['0x1p2000', undefined],
      ['', undefined], [' ', undefined], ['.', undefined], ['1e', undefined], ['0x', undefined], ['0x1p', undefined],
      ['1.5 ', undefined], ['1.5x', undefined], ['1,5', undefined], ['--1', undefined],
    ]);
  });

  it('FV_BOOL: true/false in any case, nothing else', () => {
    check('FV_BOOL', [
      ['true', true], ['TRUE', true], ['tRuE', true], ['false', false], ['False', false],
      ['1', undefined], ['0', undefined], ['yes', undefined], ['', undefined], [' true', undefined], ['true ', undefined],
    ]);
  });

  it('FV_STRING: verbatim', () => {
    check('FV_STRING', [['', ''], [' a b ', ' a b '], ['0x10', '0x10']]);
  });
});

describe('formatDouble / formatFlagValue', () => {
  it('prints two decimals, and anything below 1e-6 as 0.00', () => {
    const cases: Array<[number, string]> = [
      [5.12, '5.12'], [0.001, '0.00'], [0, '0.00'], [1e-7, '0.00'], [-1e-7, '0.00'], [1, '1.00'], [123.456, '123.46'],
      [-0.001, '-0.00'], [-2.5, '-2.50'], [0.33333, '0.33'], [1e20, '100000000000000000000.00'],
      [1e21, '1000000000000000000000.00'], [-1.5e22, '-15000000000000000000000.00'],
      [Infinity, 'inf'], [-Infinity, '-inf'], [Number.NaN, 'nan'],
    ];
    for (const [value, text] of cases) assert.equal(formatDouble(value), text, String(value));
  });

  it('rounds exact ties to even, as printf does', () => {
    const cases: Array<[number, string]> = [
      [0.125, '0.12'], [0.375, '0.38'], [0.625, '0.62'], [0.875, '0.88'], [-5.125, '-5.12'], [1024.625, '1024.62'],
      // Not ties in binary: these round by their exact value.
      [2.675, '2.67'], [1.005, '1.00'], [0.015, '0.01'], [0.125000001, '0.13'],
    ];
    for (const [value, text] of cases) assert.equal(formatDouble(value), text, String(value));
  });

  it('prints each type as /config shows it', () => {
    assert.equal(formatFlagValue('FV_DOUBLE', 5.12), '5.12');
    assert.equal(formatFlagValue('FV_BOOL', true), 'true');
    assert.equal(formatFlagValue('FV_UINT32', 30000), '30000');
    assert.equal(formatFlagValue('FV_INT32', -1), '-1');
    assert.equal(formatFlagValue('FV_STRING', 'a "b"'), 'a "b"');
  });
});

// Flags for the registry tests; names are unique to this file.
const mutableInt = defineFlag({
  section: 'flag_test', name: 'ct_mutable_int32', type: 'FV_INT32', default: 5, description: 'a mutable int', mutable: true,
  validator: (value) => value >= 0,
});
const mutableUint = defineFlag({
  section: 'flag_test', name: 'ct_mutable_uint32', type: 'FV_UINT32', default: 30000, description: 'a mutable uint', mutable: true,
});
const mutableDouble = defineFlag({
  section: 'flag_test', name: 'ct_mutable_double', type: 'FV_DOUBLE', default: 5.12, description: 'test double', mutable: true,
});
const mutableBool = defineFlag({
  section: 'flag_test', name: 'ct_mutable_bool', type: 'FV_BOOL', default: false, description: 'a mutable bool', mutable: true,
});
const immutableInt = defineFlag({
  section: 'flag_test', name: 'ct_immutable_int64', type: 'FV_INT64', default: -3, description: 'an immutable int',
});
const mutableString = defineFlag({
  section: 'flag_test', name: 'ct_mutable_string', type: 'FV_STRING', default: 'abc', description: 'a mutable string', mutable: true,
});
const immutableString = defineFlag({
  section: 'flag_test', name: 'ct_immutable_string', type: 'FV_STRING', default: '', description: 'an immutable string',
});
// Two flags tied by group validators: low <= high (with a hint) and low != 7 (without one).
const low = defineFlag({ section: 'group_test', name: 'ct_low', type: 'FV_UINT32', default: 1, description: 'low', mutable: true });
const high = defineFlag({ section: 'group_test', name: 'ct_high', type: 'FV_UINT32', default: 10, description: 'high', mutable: true });
defineGroupValidator('ct_low_le_high', () => low.value <= high.value || `ct_low(${low.value}) > ct_high(${high.value})`);
defineGroupValidator('ct_low_not_7', () => low.value !== 7 || '');

describe('flag registry', () => {
  it('declares flags with their defaults, type, tags and lookups', () => {
    assert.equal(mutableInt.value, 5);
    assert.equal(mutableInt.defaultValue, 5);
    assert.equal(mutableInt.section, 'flag_test');
    assert.equal(findFlag('ct_mutable_int32'), mutableInt);
    assert.equal(findFlagBySection('flag_test', 'ct_mutable_int32'), mutableInt);
    assert.equal(findFlagBySection('other', 'ct_mutable_int32'), undefined);
    assert.equal(findFlag('ct_nope'), undefined);
    assert.equal(tagsOf(mutableInt), 'flag_tag::FT_MUTABLE');
    assert.equal(tagsOf(immutableInt), '');
    assert.equal(formatValue(mutableDouble), '5.12');
    assert.equal(formatValue(immutableInt), '-3');
  });

  it('shows a secret flag as <hidden> once it is set, and an unset one as empty', () => {
    const secret = defineFlag({ section: 'flag_test', name: 'ct_secret', type: 'FV_STRING', default: '', description: 'a credential', secret: true });
    assert.equal(formatValue(secret), '');
    setFlagFromText('ct_secret', 's3cret', true);
    assert.equal(secret.value, 's3cret');
    assert.equal(formatValue(secret), '<hidden>');
  });

  it('returns the existing flag on an identical re-declaration, and refuses a conflicting one', () => {
    const again = defineFlag({
      section: 'flag_test', name: 'ct_mutable_int32', type: 'FV_INT32', default: 5, description: 'a mutable int', mutable: true,
    });
    assert.equal(again, mutableInt);
    assert.throws(() => defineFlag({ section: 'other', name: 'ct_mutable_int32', type: 'FV_INT32', default: 5, description: '' }));
    assert.throws(() => defineFlag({ section: 'flag_test', name: 'ct_mutable_int32', type: 'FV_INT64', default: 5, description: '' }));
  });

  it('refuses defaults that do not fit the type or fail the validator', () => {
    const bad: Array<[FlagType, FlagValue]> = [
      ['FV_INT32', 'x'], ['FV_BOOL', 1], ['FV_STRING', 0], ['FV_INT32', 1.5], ['FV_UINT32', -1], ['FV_INT32', 2 ** 31],
      ['FV_UINT64', 2 ** 60],
    ];
    for (const [type, value] of bad) {
      assert.throws(() => defineFlag({ section: 's', name: `ct_bad_${type}_${String(value)}`, type, default: value, description: '' }));
    }
    assert.throws(() =>
      defineFlag({ section: 's', name: 'ct_bad_validated', type: 'FV_INT32', default: -1, description: '', validator: (value) => value >= 0 }),
    );
    assert.equal(findFlag('ct_bad_validated'), undefined);
  });

  it('makes the /updateConfig checks in order, with exact messages', () => {
    assert.equal(pteronMessage(() => setFlagFromText('ct_nope', '1')), 'ERR_OBJECT_NOT_FOUND: ct_nope is not found');
    // Immutability comes before the type, so an immutable string flag is "not mutable".
    assert.equal(pteronMessage(() => setFlagFromText('ct_immutable_string', 'x')), 'ERR_INVALID_PARAMETERS: ct_immutable_string is not mutable');
    assert.equal(pteronMessage(() => setFlagFromText('ct_immutable_int64', 'garbage')), 'ERR_INVALID_PARAMETERS: ct_immutable_int64 is not mutable');
    assert.equal(pteronMessage(() => setFlagFromText('ct_mutable_string', 'x')), 'ERR_INVALID_PARAMETERS: string modifications are not supported');
    assert.equal(pteronMessage(() => setFlagFromText('ct_mutable_uint32', '-1')), 'ERR_INVALID_PARAMETERS: -1 is invalid');
    assert.equal(pteronMessage(() => setFlagFromText('ct_mutable_uint32', '')), 'ERR_INVALID_PARAMETERS:  is invalid');
    assert.equal(pteronMessage(() => setFlagFromText('ct_mutable_bool', 'yes')), 'ERR_INVALID_PARAMETERS: yes is invalid');
    assert.equal(pteronMessage(() => setFlagFromText('ct_mutable_int32', '-1')), 'ERR_INVALID_PARAMETERS: value validation failed');
    const codes = new Set<string>();
    try {
      setFlagFromText('ct_nope', '1');
    } catch (error) {
      codes.add((error as PteronError).code);
    }
    assert.deepEqual([...codes], ['ERR_OBJECT_NOT_FOUND']);
    // Nothing changed.
    assert.equal(mutableInt.value, 5);
    assert.equal(mutableUint.value, 30000);
    assert.equal(mutableString.value, 'abc');
    assert.equal(immutableString.value, '');
  });

  it('sets values that pass, parsed with the C rules', () => {
    setFlagFromText('ct_mutable_uint32', '0x10');
    assert.equal(mutableUint.value, 16);
    setFlagFromText('ct_mutable_uint32', ' 010');
    assert.equal(mutableUint.value, 8);
    setFlagFromText('ct_mutable_bool', 'TRUE');
    assert.equal(mutableBool.value, true);
    setFlagFromText('ct_mutable_double', '0.001');
    assert.equal(formatValue(mutableDouble), '0.00');
    setFlagFromText('ct_mutable_int32', '0');
    assert.equal(mutableInt.value, 0);
    setFlagFromText('ct_mutable_uint32', '30000');
    setFlagFromText('ct_mutable_double', '5.12');
    setFlagFromText('ct_mutable_int32', '5');
    setFlagFromText('ct_mutable_bool', 'false');
  });

  it('runs group validators after the flag is set, restoring it on failure', () => {
    assert.equal(
      pteronMessage(() => setFlagFromText('ct_low', '11')),
      'ERR_INVALID_PARAMETERS: group validator "ct_low_le_high" failed: "ct_low(11) > ct_high(10)"',
    );
    assert.equal(low.value, 1);
    assert.equal(pteronMessage(() => setFlagFromText('ct_low', '7')), 'ERR_INVALID_PARAMETERS: group validator "ct_low_not_7" failed');
    assert.equal(low.value, 1);
    setFlagFromText('ct_high', '12');
    assert.equal(
      pteronMessage(() => setFlagFromText('ct_high', '0')),
      'ERR_INVALID_PARAMETERS: group validator "ct_low_le_high" failed: "ct_low(1) > ct_high(0)"',
    );
    assert.equal(high.value, 12);
    setFlagFromText('ct_high', '10');
  });

  it('joins several group validator failures', () => {
    defineGroupValidator('ct_switch', () => !mutableBool.value || 'ct_mutable_bool must stay false');
    defineGroupValidator('ct_switch_quiet', () => !mutableBool.value || '');
    try {
      assert.equal(
        pteronMessage(() => setFlagFromText('ct_mutable_bool', 'true')),
        'ERR_INVALID_PARAMETERS: group validator "ct_switch" failed: "ct_mutable_bool must stay false"; ' +
          'group validator "ct_switch_quiet" failed',
      );
      assert.equal(mutableBool.value, false);
    } finally {
      defineGroupValidator('ct_switch', () => true);
      defineGroupValidator('ct_switch_quiet', () => true);
    }
  });

  it('calls listeners after a change, not after a failure or a no-op', () => {
    const seen: FlagValue[] = [];
    onFlagChange(mutableUint, (value) => seen.push(value));
    setFlagFromText('ct_mutable_uint32', '100');
    setFlagFromText('ct_mutable_uint32', '0x64'); // same value
    assert.throws(() => setFlagFromText('ct_mutable_uint32', '-5'));
    setFlagFromText('ct_mutable_uint32', '30000');
    assert.deepEqual(seen, [100, 30000]);
  });

  it('lets start-up loading set immutable and string flags', () => {
    setFlagFromText('ct_immutable_string', 'from config', true);
    assert.equal(immutableString.value, 'from config');
    setFlagFromText('ct_immutable_int64', '-0x10', true);
    assert.equal(immutableInt.value, -16);
    assert.equal(pteronMessage(() => setFlagFromText('ct_immutable_int64', 'x', true)), 'ERR_INVALID_PARAMETERS: x is invalid');
    setFlagFromText('ct_immutable_string', '', true);
    setFlagFromText('ct_immutable_int64', '-3', true);
  });
});

describe('loadConfig', () => {
  it('applies the file, then --set overrides, and reports unknown keys', () => {
    const file = writeConfig('good.ini', [
      '[flag_test]',
      'ct_mutable_int32 = 7',
      'ct_mutable_uint32 = 0x20',
      'ct_immutable_string = http://x/#y',
      'ct_unknown_key = 1',
      '[other_section]',
      'ct_mutable_bool = true',
      '[apps.meta]',
      'ports = 34601',
      '[apps.replica]',
      'ports = 34801',
      '[meta_server.apps.temp]',
      'partition_count = 8',
    ].join('\n'));
    const config = loadConfig(file, ['flag_test.ct_mutable_uint32=64', 'flag_test.ct_mutable_double=1.5', 'extra.key=v']);
    try {
      assert.equal(config.source, file);
      assert.equal(mutableInt.value, 7);
      assert.equal(mutableUint.value, 64);
      assert.equal(mutableDouble.value, 1.5);
      assert.equal(immutableString.value, 'http://x/#y');
      // A flag's name under another section is not that flag.
      assert.equal(mutableBool.value, false);
      assert.deepEqual(config.sectionsWithPrefix('apps.'), ['apps.meta', 'apps.replica']);
      assert.deepEqual(config.unknownKeys().sort(), [
        '[apps.meta] ports', '[apps.replica] ports', '[extra] key', '[flag_test] ct_unknown_key',
        '[meta_server.apps.temp] partition_count', '[other_section] ct_mutable_bool',
      ]);
      assert.deepEqual([...config.section('apps.meta')], [['ports', '34601']]);
      assert.deepEqual([...config.section('meta_server.apps.temp')], [['partition_count', '8']]);
      assert.deepEqual([...config.section('missing')], []);
      assert.deepEqual(config.unknownKeys().sort(), [
        '[apps.replica] ports', '[extra] key', '[flag_test] ct_unknown_key', '[other_section] ct_mutable_bool',
      ]);
    } finally {
      for (const [name, value] of [['ct_mutable_int32', '5'], ['ct_mutable_uint32', '30000'], ['ct_mutable_double', '5.12'], ['ct_immutable_string', '']]) {
        setFlagFromText(name!, value!, true);
      }
    }
  });

  it('lets the last assignment win, within the file and from --set', () => {
    const file = writeConfig('twice.ini', '[flag_test]\nct_mutable_int32 = 7\nct_mutable_int32 = 8\n');
    loadConfig(file, []);
    assert.equal(mutableInt.value, 8);
    loadConfig(file, ['flag_test.ct_mutable_int32=9', 'flag_test.ct_mutable_int32=10']);
    assert.equal(mutableInt.value, 10);
    loadConfig(undefined, ['flag_test.ct_mutable_int32=5']);
    assert.equal(mutableInt.value, 5);
  });

  it('names file:line and the flag type in a bad value error', () => {
    const file = writeConfig('bad.ini', '[flag_test]\n\nct_mutable_int32 = 7\nct_mutable_uint32 = -1\n');
    assert.throws(
      () => loadConfig(file, []),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message === `${file}:4: [flag_test] ct_mutable_uint32 = "-1": ERR_INVALID_PARAMETERS: -1 is invalid (expected FV_UINT32)`,
    );
    assert.throws(
      () => loadConfig(undefined, ['flag_test.ct_mutable_int32=-4']),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message === '--set: [flag_test] ct_mutable_int32 = "-4": ERR_INVALID_PARAMETERS: value validation failed (expected FV_INT32)',
    );
    assert.throws(() => loadConfig(writeConfig('syntax.ini', '[flag_test\n'), []), (error: unknown) =>
      error instanceof ConfigError && error.message.startsWith(`${path.join(scratch, 'syntax.ini')}:1: `));
    assert.throws(() => loadConfig(path.join(scratch, 'missing.ini'), []), ConfigError);
    assert.throws(() => loadConfig(undefined, ['bad']), ConfigError);
    setFlagFromText('ct_mutable_int32', '5', true);
  });

  it('runs group validators once every value is loaded', () => {
    // Raising both bounds: checked one assignment at a time, low=20 > high=10 would fail.
    const file = writeConfig('group.ini', '[group_test]\nct_low = 20\nct_high = 30\n');
    loadConfig(file, []);
    assert.equal(low.value, 20);
    assert.equal(high.value, 30);
    assert.throws(
      () => loadConfig(file, ['group_test.ct_high=15']),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message === `${file}: group validator "ct_low_le_high" failed: "ct_low(20) > ct_high(15)"`,
    );
    setFlagFromText('ct_high', '10', true);
    setFlagFromText('ct_low', '1', true);
  });
});
