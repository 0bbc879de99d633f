// The shell's bulk load commands against an in-memory meta: the requests they send, Pegasus's
// messages, the query's tables, and their refusals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import type { MetaReply } from '../../src/cli/shell/index.ts';
import { bulkLoadStatusValue } from '../../src/cluster/index.ts';
import type { PartitionBulkLoadState, QueryBulkLoadResponse } from '../../src/wire/index.ts';
import { shellWith } from '../helpers/fake-meta-shell.ts';

const ok = (hintMsg = ''): MetaReply<any> => ({ err: 'ERR_OK', response: { err: 'ERR_OK', hintMsg } });
const refused = (err: string, hintMsg: string): MetaReply<any> => ({ err, response: { err, hintMsg } });

function queryAnswer(appStatus: string, partitions: string[], states: Array<Array<[string, PartitionBulkLoadState]>>, err = 'ERR_OK'): MetaReply<QueryBulkLoadResponse> {
  const response: QueryBulkLoadResponse = {
    err, appName: 't', appStatus: bulkLoadStatusValue(appStatus as never), partitionsStatus: partitions.map((status) => bulkLoadStatusValue(status as never)),
    maxReplicaCount: 2, bulkLoadStates: states.map((members) => new Map(members.map(([node, state]) => [parseHostPort(node), state]))),
    isBulkLoading: appStatus !== 'BLS_SUCCEED' && appStatus !== 'BLS_FAILED',
  };
  return { err, response };
}

describe('bulk load commands', () => {
  test('start sends the request and prints Pegasus\'s messages', async () => {
    const shell = shellWith({ RPC_CM_START_BULK_LOAD: () => ok() });
    assert.deepEqual(await shell.run('start_bulk_load -a t -c c1 -p local -r bulk -i'), { result: 'ok', out: 'start bulk load succeed\n', err: '' });
    assert.deepEqual(shell.calls[0], {
      name: 'RPC_CM_START_BULK_LOAD', args: { appName: 't', clusterName: 'c1', fileProviderType: 'local', remoteRootPath: 'bulk', ingestBehind: true },
    });
    const busy = shellWith({ RPC_CM_START_BULK_LOAD: () => refused('ERR_BUSY', 'app(t) is already executing bulk load') });
    assert.deepEqual(await busy.run('start_bulk_load --app_name t --cluster_name c1 --file_provider_type local --root_path bulk'), {
      result: 'failed', out: '', err: 'start bulk load failed, error=ERR_BUSY [hint:"app(t) is already executing bulk load"]\n',
    });
    for (const [line, message] of [
      ['start_bulk_load -c c1 -p local -r bulk', 'app_name should not be empty'],
      ['start_bulk_load -a t -p local -r bulk', 'cluster_name should not be empty'],
      ['start_bulk_load -a t -c c1 -r bulk', 'file_provider_type should not be empty'],
      ['start_bulk_load -a t -c c1 -p local', 'remote_root_path should not be empty'],
    ]) {
      const answer = await shell.run(line!);
      assert.equal(answer.result, 'usage', line);
      assert.match(answer.err, new RegExp(`^${message}$`, 'm'), line);
    }
    assert.equal(shell.calls.length, 1);
  });

  test('pause, restart, cancel and clear send their control types and print the outcome', async () => {
    const shell = shellWith({ RPC_CM_CONTROL_BULK_LOAD: () => ok(), RPC_CM_CLEAR_BULK_LOAD: () => ok('clear app(t) bulk load result succeed, remove bulk load dir succeed') });
    assert.equal((await shell.run('pause_bulk_load -a t')).out, 'pause bulk load succeed\n');
    assert.equal((await shell.run('restart_bulk_load -a t')).out, 'restart bulk load succeed\n');
    assert.equal((await shell.run('cancel_bulk_load -a t')).out, 'cancel bulk load succeed\n');
    assert.equal((await shell.run('cancel_bulk_load -a t -f')).out, 'cancel bulk load succeed\n');
    assert.equal((await shell.run('clear_bulk_load -a t')).out, 'clear app(t) bulk load result succeed, remove bulk load dir succeed\n');
    assert.deepEqual(shell.calls.map((call) => (call.args as { type?: number }).type), [0, 1, 2, 3, undefined]);
    const refusing = shellWith({
      RPC_CM_CONTROL_BULK_LOAD: () => refused('ERR_INVALID_STATE', 'can not cancel bulk load for app(t) with status(replication::bulk_load_status::BLS_INGESTING)'),
    });
    assert.deepEqual(await refusing.run('cancel_bulk_load -a t'), {
      result: 'failed', out: '',
      err: 'cancel bulk load failed, error=ERR_INVALID_STATE [hint:"can not cancel bulk load for app(t) with status(replication::bulk_load_status::BLS_INGESTING)"]\n' +
        'you can force cancel bulk load by using "-f"\n',
    });
  });

  test('query prints the summary, every partition and one partition\'s members', async () => {
    const downloading = queryAnswer('BLS_DOWNLOADING', ['BLS_DOWNLOADING', 'BLS_DOWNLOADED'], [
      [['127.0.0.1:1', { downloadProgress: 40 }], ['127.0.0.1:2', { downloadProgress: 60 }]],
      [['127.0.0.1:1', { downloadProgress: 100 }], ['127.0.0.1:2', { downloadProgress: 100 }]],
    ]);
    const shell = shellWith({ RPC_CM_QUERY_BULK_LOAD_STATUS: () => downloading });
    assert.match((await shell.run('query_bulk_load_status -a t')).out,
      /^\[summary\]\nis_bulk_loading +: YES *\napp_bulk_load_status +: BLS_DOWNLOADING *\napp_total_download_progress +: 75 *\n\n$/);
    const detailed = (await shell.run('query_bulk_load_status -a t -d')).out;
    assert.match(detailed, /^\[all partitions\]\npartition_index +partition_status +download_progress\(%\) *\n0 +BLS_DOWNLOADING +50 *\n1 +BLS_DOWNLOADED +100 *\n/);
    const single = (await shell.run('query_bulk_load_status -a t -d -i 0')).out;
    assert.match(single, /^\[single partition\]\npartition_index +node_address +download_progress\(%\) *\n0 +127\.0\.0\.1:1 +40 *\n0 +127\.0\.0\.1:2 +60 *\n/);
    assert.match(single, /partition_bulk_load_status +: BLS_DOWNLOADING/);
    assert.deepEqual(await shell.run('query_bulk_load_status -a t -i 5'), {
      result: 'failed', out: '', err: 'query bulk load failed, error=ERR_INVALID_PARAMETERS [hint:"invalid partition index"]\n',
    });
    const failedLoad = shellWith({ RPC_CM_QUERY_BULK_LOAD_STATUS: () => ({ ...queryAnswer('BLS_FAILED', ['BLS_FAILED'], [[]], 'ERR_CORRUPTION'), err: 'ERR_CORRUPTION' }) });
    assert.deepEqual(await failedLoad.run('query_bulk_load_status -a t'), {
      result: 'failed', out: '', err: 'query bulk load failed, error=ERR_CORRUPTION [hint:""]\n',
    });
  });
});
