// The logger's pure parts: the pretty line, the level names, the flag that holds the level.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPrettyLine, isLogLevel, log, PteronError, setLogLevel } from '../../src/base/index.ts';
import { findFlag, setFlagFromText } from '../../src/config/index.ts';
import { changeLogLevel, logLevelOf, pegasusLevelName } from '../../src/diag/logging.ts';

describe('formatPrettyLine', () => {
  it('puts time, level, name and address in columns and the other fields as key=value', () => {
    const line = JSON.stringify({
      level: 40, time: '2026-12-07T13:28:54.077Z', pid: 7, role: 'replica', name: 'replica2', address: '127.0.0.1:34802',
      gpid: '2.3', reason: 'two words', msg: 'learner behind',
    });
    assert.equal(formatPrettyLine(line), '13:28:54.077 WARN  replica2 127.0.0.1:34802 learner behind gpid=2.3 reason="two words"\n');
  });

  it('prints an error\'s stack on its own indented lines, and a message-only error as its message', () => {
    const withStack = JSON.stringify({ level: 50, time: '2026-12-07T00:00:00.000Z', msg: 'failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' } });
    assert.equal(formatPrettyLine(withStack), '00:00:00.000 ERROR failed err=\n    Error: boom\n        at x\n');
    const messageOnly = JSON.stringify({ level: 30, time: '2026-12-07T00:00:00.000Z', msg: 'm', err: { type: 'Error', message: 'gone' } });
    assert.equal(formatPrettyLine(messageOnly), '00:00:00.000 INFO  m err="gone"\n');
  });

  it('passes a line that is not JSON through unchanged', () => {
    assert.equal(formatPrettyLine('plain text\n'), 'plain text\n');
  });
});

describe('log levels', () => {
  it('knows pino\'s and Pegasus\'s names', () => {
    assert.ok(isLogLevel('warn') && !isLogLevel('WARNING'));
    assert.equal(logLevelOf('LOG_LEVEL_WARNING'), 'warn');
    assert.equal(logLevelOf('debug'), 'debug');
    assert.equal(logLevelOf('LOUD'), undefined);
    assert.equal(pegasusLevelName('error'), 'LOG_LEVEL_ERROR');
    assert.equal(pegasusLevelName('trace'), undefined);
  });

  it('refuses an unknown level with ERR_INVALID_PARAMETERS and keeps the current one', () => {
    const before = log.level;
    assert.throws(() => setLogLevel('loud'), (error: unknown) => error instanceof PteronError && error.message.startsWith('ERR_INVALID_PARAMETERS'));
    assert.throws(() => changeLogLevel('LOUD'), /ERR_INVALID_PARAMETERS: value validation failed/);
    assert.equal(log.level, before);
  });

  it("takes no name of Object's prototype for a level: the flag keeps its value", () => {
    const flag = findFlag('logging_start_level')!;
    const before = [flag.value, log.level];
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      assert.equal(logLevelOf(name), undefined, name);
      assert.throws(() => changeLogLevel(name), /ERR_INVALID_PARAMETERS: value validation failed/, name);
      assert.deepEqual([flag.value, log.level], before, name);
    }
  });

  it('sets the logger through [core] logging_start_level, from config and at run time', () => {
    const before = findFlag('logging_start_level')!.value as string;
    try {
      setFlagFromText('logging_start_level', 'LOG_LEVEL_ERROR', true);
      assert.equal(log.level, 'error');
      setFlagFromText('logging_start_level', 'debug');
      assert.equal(log.level, 'debug');
    } finally {
      changeLogLevel(before);
    }
  });
});
