// Backup policies' pure rules (meta/backup/policy.ts): Pegasus's start-time parsing, interval and
// name checks, the schedule, and the JSON a policy and a backup are stored as.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backupInfoFromJson, backupInfoToJson, backupIntervalProblem, formatStartTime, parseStartTime, policyFromJson, policyNameProblem, policyToJson,
  shouldStartBackup, type Policy,
} from '../../src/meta/backup/policy.ts';

const policy = (overrides: Partial<Policy> = {}): Policy => ({
  policyName: 'p', backupProviderType: 'local', appIds: [1, 2], appNames: new Map([[1, 'a'], [2, 'b']]), backupIntervalSeconds: 86400,
  backupHistoryCountToKeep: 3, isDisable: false, startTime: { hour: 24, minute: 0 }, ...overrides,
});
const at = (hour: number, minute = 0, day = 7): number => new Date(2026, 11, day, hour, minute).getTime();

describe('backup policy rules', () => {
  it('parses start times as Pegasus does', () => {
    assert.deepEqual(parseStartTime('2:05', { hour: 0, minute: 0 }), { time: { hour: 2, minute: 5 }, valid: true });
    assert.deepEqual(parseStartTime('25:00', { hour: 1, minute: 0 }), { time: { hour: 24, minute: 0 }, valid: false });
    assert.deepEqual(parseStartTime('24:10', { hour: 1, minute: 0 }), { time: { hour: 24, minute: 0 }, valid: false });
    assert.deepEqual(parseStartTime('', { hour: 1, minute: 2 }), { time: { hour: 1, minute: 2 }, valid: false });
    assert.equal(formatStartTime({ hour: 2, minute: 5 }), '02:05');
  });

  it('checks intervals and names with Pegasus\'s messages', () => {
    assert.equal(backupIntervalProblem(600), 'backup interval must be larger than cold_backup_checkpoint_reserve_minutes=10');
    assert.equal(backupIntervalProblem(3600), 'backup interval must be >= 86400 (1 day)');
    assert.equal(backupIntervalProblem(86400), undefined);
    assert.equal(policyNameProblem('my_backup_info'), 'policy name is reserved');
    assert.match(policyNameProblem('9lives')!, /metric name in prometheus/);
    assert.match(policyNameProblem('a:b')!, /metric label in prometheus/);
    assert.equal(policyNameProblem('daily_1'), undefined);
  });

  it('starts the first backup in the start hour and later ones an interval on, corrected for a late start', () => {
    const twoAm = policy({ startTime: { hour: 2, minute: 0 } });
    assert.equal(shouldStartBackup(twoAm, undefined, at(1, 59)), false);
    assert.equal(shouldStartBackup(twoAm, undefined, at(2, 30)), true);
    // The last one started 40 minutes late: the next is due at 02:00 the day after, not 02:40.
    assert.equal(shouldStartBackup(twoAm, at(2, 40, 6), at(2, 1)), true);
    assert.equal(shouldStartBackup(twoAm, at(2, 40, 6), at(1, 59)), false);
    const anyTime = policy({ backupIntervalSeconds: 60 });
    assert.equal(shouldStartBackup(anyTime, at(10, 0), at(10, 0) + 59_000), false);
    assert.equal(shouldStartBackup(anyTime, at(10, 0), at(10, 1)), true);
  });

  it('stores policies and backups in Pegasus\'s JSON and reads them back', () => {
    const stored = policyToJson(policy());
    assert.deepEqual(JSON.parse(stored), {
      policy_name: 'p', backup_provider_type: 'local', app_ids: [1, 2], app_names: { 1: 'a', 2: 'b' }, backup_interval_seconds: 86400,
      backup_history_count_to_keep: 3, is_disable: false, start_time: { hour: 24, minute: 0 },
    });
    assert.deepEqual(policyFromJson(stored), policy());
    const info = { backupId: 5, startTimeMs: 5, endTimeMs: 9, appIds: [1], appNames: new Map([[1, 'a']]) };
    assert.deepEqual(JSON.parse(backupInfoToJson(info)), { backup_id: 5, start_time_ms: 5, end_time_ms: 9, app_ids: [1], app_names: { 1: 'a' }, info_status: 1 });
    assert.deepEqual(backupInfoFromJson(backupInfoToJson(info)), info);
    assert.throws(() => policyFromJson('{}'));
  });
});
