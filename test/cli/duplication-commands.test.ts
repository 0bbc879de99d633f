// The shell's duplication commands against an in-memory meta: the requests they send, Pegasus's
// messages on success and failure, and their checks of the words before anything is sent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatLocalTime } from '../../src/base/index.ts';
import { DuplicationFailMode, DuplicationStatus } from '../../src/wire/index.ts';
import { shellWith, type Answer } from '../helpers/fake-meta-shell.ts';

const CREATE_MS = 1_714_530_030_123;
const entry = (dupid: number, status: DuplicationStatus) => ({
  dupid, status, remote: 'c2', createTs: BigInt(CREATE_MS), failMode: DuplicationFailMode.FAIL_SLOW, remoteAppName: 't', remoteReplicaCount: 3,
  partitionStates: new Map([[0, { confirmedDecree: 1000n, lastCommittedDecree: 1100n }]]),
});
const added: Answer = (args) => ({
  err: 'ERR_OK', response: { err: 'ERR_OK', appid: 2, dupid: 1714530030, remoteAppName: args.remoteAppName, remoteReplicaCount: args.remoteReplicaCount || 3 },
});

describe('add_dup', () => {
  test('sends the options and prints what Pegasus prints', async () => {
    const shell = shellWith({ RPC_CM_ADD_DUPLICATION: added });
    assert.deepEqual(await shell.run('add_dup t c2 -s -a t2 -r 2'), {
      result: 'ok',
      out: 'trying to add duplication [app_name: t, remote_cluster_name: c2, is_duplicating_checkpoint: true, remote_app_name: t2, remote_replica_count: 2]\n'
        + 'adding duplication succeed [app_name: t, remote_cluster_name: c2, appid: 2, dupid: 1714530030, is_duplicating_checkpoint: true, remote_app_name: t2, remote_replica_count: 2]\n',
      err: '',
    });
    assert.equal((await shell.run('add_dup t c2')).result, 'ok');
    assert.deepEqual(shell.calls.map((call) => call.args), [
      { appName: 't', remoteClusterName: 'c2', isDuplicatingCheckpoint: true, remoteAppName: 't2', remoteReplicaCount: 2 },
      { appName: 't', remoteClusterName: 'c2', isDuplicatingCheckpoint: false, remoteAppName: 't', remoteReplicaCount: 0 },
    ]);
  });

  test('an existing duplication, a refusal with its hint, bad words', async () => {
    const shell = shellWith({
      RPC_CM_ADD_DUPLICATION: (args) => args.remoteClusterName === 'c2'
        ? { err: 'ERR_DUP_EXIST', response: { err: 'ERR_DUP_EXIST', appid: 2, dupid: 7, remoteAppName: 't', remoteReplicaCount: 3 } }
        : { err: 'ERR_INVALID_PARAMETERS', response: { err: 'ERR_INVALID_PARAMETERS', appid: 0, dupid: 0, hint: 'illegal operation: adding duplication to itself' } },
    });
    const existing = await shell.run('add_dup t c2');
    assert.equal(existing.out.split('\n')[1], 'duplication has been existing [app_name: t, remote_cluster_name: c2, appid: 2, dupid: 7, remote_app_name: t, remote_replica_count: 3]');
    assert.deepEqual((await shell.run('add_dup t self')).err,
      'adding duplication failed [app_name: t, remote_cluster_name: self, is_duplicating_checkpoint: false, remote_app_name: t, remote_replica_count: 0, '
      + 'error: ERR_INVALID_PARAMETERS]\ndetail:\n  illegal operation: adding duplication to itself\n');
    assert.equal((await shell.run('add_dup')).err, 'missing param <app_name>\n');
    assert.equal((await shell.run('add_dup t')).err, 'missing param <remote_cluster_name>\n');
    const badCount = await shell.run('add_dup t c2 -r x');
    assert.deepEqual([badCount.result, badCount.err], ['usage', "invalid command, 'x' should be an unsigned integer\n"]);
    assert.equal(shell.calls.length, 2);
  });
});

describe('query_dup', () => {
  test('the table, once per row as Pegasus prints it, and the detail as JSON', async () => {
    const shell = shellWith({
      RPC_CM_QUERY_DUPLICATION: (args) => args.appName === 'nope'
        ? { err: 'ERR_APP_NOT_EXIST', response: { err: 'ERR_APP_NOT_EXIST', appid: 0, entryList: [] } }
        : { err: 'ERR_OK', response: { err: 'ERR_OK', appid: 2, entryList: [entry(1714530030, DuplicationStatus.DS_LOG)] } },
    });
    const created = formatLocalTime(new Date(CREATE_MS), true);
    assert.deepEqual(await shell.run('query_dup t'), {
      result: 'ok',
      out: 'duplications of app [t] are listed as below:\n'
        + `dup_id      status  remote cluster  create time  \n`.replace('create time  ', `${'create time'.padEnd(created.length)}  `)
        + `1714530030  DS_LOG  c2              ${created}  \n\n`,
      err: '',
    });
    const detail = await shell.run('query_dup t -d');
    const json = `{"1":{"create_ts":"${formatLocalTime(new Date(CREATE_MS))}","dupid":1714530030,"fail_mode":"FAIL_SLOW",`
      + '"partition_states":{"0":{"confirmed_decree":1000,"last_committed_decree":1100}},"remote":"c2","remote_app_name":"t","remote_replica_count":3,'
      + '"status":"DS_LOG"},"appid":2}';
    assert.equal(detail.out, `duplications of app [t] in detail:\n${json}\n\n`);
    assert.deepEqual(await shell.run('query_dup nope'), { result: 'failed', out: '', err: 'querying duplications of app [nope] failed, error=ERR_APP_NOT_EXIST\n' });
    assert.equal((await shell.run('query_dup')).err, 'missing param <app_name>\n');
    assert.equal((await shell.run('query_dup a b')).err, 'too many params\n');
  });
});

describe('start_dup, pause_dup, remove_dup, set_dup_fail_mode', () => {
  test('send the status or fail mode; print success, or the error with Pegasus\'s hint', async () => {
    const shell = shellWith({
      RPC_CM_MODIFY_DUPLICATION: (args) => args.dupid === 9
        ? { err: 'ERR_OBJECT_NOT_FOUND', response: { err: 'ERR_OBJECT_NOT_FOUND', appid: 0 } }
        : { err: 'ERR_OK', response: { err: 'ERR_OK', appid: 2 } },
    });
    assert.deepEqual(await shell.run('pause_dup t 7'), { result: 'ok', out: 'pausing duplication(7) for app t succeed\n', err: '' });
    assert.deepEqual(await shell.run('start_dup t 7'), { result: 'ok', out: 'starting duplication(7) for app t succeed\n', err: '' });
    assert.deepEqual(await shell.run('set_dup_fail_mode t 7 skip'), { result: 'ok', out: 'set duplication(7) fail_mode (skip) for app t succeed\n', err: '' });
    assert.deepEqual(await shell.run('remove_dup t 9'), {
      result: 'failed', out: '', err: 'removing duplication(9) for app t failed, error=ERR_OBJECT_NOT_FOUND [duplication not found]\n',
    });
    assert.deepEqual(shell.calls.map((call) => call.args), [
      { appName: 't', dupid: 7, status: DuplicationStatus.DS_PAUSE },
      { appName: 't', dupid: 7, status: DuplicationStatus.DS_LOG },
      { appName: 't', dupid: 7, failMode: DuplicationFailMode.FAIL_SKIP },
      { appName: 't', dupid: 9, status: DuplicationStatus.DS_REMOVED },
    ]);
    assert.equal((await shell.run('remove_dup t')).result, 'usage');
    assert.equal((await shell.run('remove_dup t x')).err, 'parsing x as positive int failed\n');
    assert.equal((await shell.run('set_dup_fail_mode t x slow')).err, 'invalid dup_id x\n');
    assert.equal((await shell.run('set_dup_fail_mode t 7 fast')).err, 'fail_mode must be "slow" or  "skip": fast\n');
    assert.equal((await shell.run('set_dup_fail_mode t 7 slow extra')).err, 'too many params\n');
    assert.equal(shell.calls.length, 4);
  });
});
