// Hot-key detection end to end: one meta and three replica servers as real processes, a bounded
// load from the TypeScript client that sends nine requests in ten to one hash key (the rest to
// 200 other hash keys of the same partition), and the shell (`pteron shell`, its own process)
// starting, querying and stopping detection on the partition's primary, for writes and then for
// reads. The analysis runs every second instead of every ten; nothing here depends on how fast
// the detection goes: the query is repeated until it answers, within a bound that only tells a
// result from a hang. Bad input gets Pegasus's errors and the cluster keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient, type PegasusClient, type PegasusTable } from '../../src/client/index.ts';
import { hashOfHashKey, TableRouter, TestCluster } from '../helpers/data-plane.ts';
import { waitFor } from '../helpers/process.ts';
import { runShellScript, type ShellRun } from '../helpers/shell-process.ts';

const PARTITIONS = 4;
const HOT_KEY = 'user:hot';
/** The most requests one load sends: it ends here even if the detection never answered. */
const LOAD_REQUESTS_MAX = 200_000;
const LOAD_WORKERS = 4;

describe('hot-key detection on a meta and three replica servers', { timeout: 600_000 }, () => {
  const cluster = new TestCluster({ partitionCount: PARTITIONS, replicaSettings: ['pegasus.server.hotkey_analyse_time_interval_s=1'] });
  let router: TableRouter;
  let client: PegasusClient;
  let table: PegasusTable;
  let hotPartition = 0;
  let primary = '';
  let secondary = '';
  const coldKeys: string[] = [];

  const shell = (...commands: string[]): Promise<ShellRun> =>
    runShellScript(`127.0.0.1:${cluster.metaPort}`, commands, { keepGoing: true });
  const detect = (type: string, action: string, node = primary, partition = hotPartition) =>
    shell(`detect_hotkey -a ${router.appId} -p ${partition} -t ${type} -c ${action} -d ${node}`);

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS);
    router = new TableRouter(cluster.metaPort, 'temp');
    await cluster.waitServing(router);
    client = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 10_000 });
    table = await client.openTable('temp');
    hotPartition = router.pidxOfHash(hashOfHashKey(Buffer.from(HOT_KEY)));
    primary = router.partitions[hotPartition]!.primary;
    secondary = router.partitions[hotPartition]!.secondaries[0]!;
    for (let index = 0; coldKeys.length < 200; index++) {
      if (router.pidxOfHash(hashOfHashKey(Buffer.from(`user:${index}`))) === hotPartition) coldKeys.push(`user:${index}`);
    }
  });

  after(async () => {
    await client?.close();
    router?.close();
    await cluster.stop();
  });

  /**
   * Runs `operation` on the hot key nine times in ten and on the cold keys otherwise, from a few
   * workers, until `done` says so or `limit` were sent. Resolves with how many it sent.
   */
  const runLoad = async (
    operation: (hashKey: string, sortKey: string) => Promise<unknown>, done: () => boolean, limit = LOAD_REQUESTS_MAX,
  ): Promise<number> => {
    let sent = 0;
    await Promise.all(Array.from({ length: LOAD_WORKERS }, async () => {
      while (!done() && sent < limit) {
        const index = sent++;
        const hashKey = index % 10 === 9 ? coldKeys[index % coldKeys.length]! : HOT_KEY;
        await operation(hashKey, `s${index % 100}`);
      }
    }));
    return sent;
  };

  /** Starts detection, loads the partition until the query finds a key, and returns the query's output. */
  const detectUnderLoad = async (type: 'read' | 'write', operation: (hashKey: string, sortKey: string) => Promise<unknown>): Promise<ShellRun> => {
    const started = await detect(type, 'start');
    assert.equal(started.code, 0, started.stderr);
    assert.equal(started.stdout, `Hotkey detection is starting, using 'detect_hotkey -a ${router.appId} -p ${hotPartition} -t ${type} -c query -d ${primary}' to get the result later\n`);
    let found: ShellRun | undefined;
    const load = runLoad(operation, () => found !== undefined);
    try {
      let last: ShellRun | undefined;
      await waitFor(`the ${type} hot key found`, async () => {
        last = await detect(type, 'query');
        if (last.stdout.startsWith('Find ')) found = last;
        else assert.match(last.stderr, /^Hotkey detection performed failed, in \d+\.\d+, error_hint:ERR_BUSY Can't get hotkey now, now state: hotkey_collector_state::(COARSE|FINE)_DETECTING\n$/);
        return found !== undefined;
      }, 180_000, 1000).catch((error: Error) => {
        error.message += `\nlast query: ${JSON.stringify(last)}`;
        throw error;
      });
    } finally {
      found ??= { code: null, stdout: '', stderr: '' };
      const sent = await load;
      assert.ok(sent > 0 && sent <= LOAD_REQUESTS_MAX);
    }
    return found;
  };

  test('writes: nine in ten to one hash key, and the query names exactly that key', async () => {
    const found = await detectUnderLoad('write', (hashKey, sortKey) => table.set(hashKey, sortKey, 'value'));
    assert.deepEqual(found, { code: 0, stdout: `Find write hotkey in ${router.appId}.${hotPartition} result:${HOT_KEY}\n`, stderr: '' });
    // Found stays found until a stop; the read collector was never started.
    const again = await detect('write', 'start');
    assert.equal(again.stderr, `Hotkey detection performed failed, in ${router.appId}.${hotPartition}, error_hint:ERR_BUSY `
      + `replication::hotkey_type::WRITE hotkey result has been found: ${HOT_KEY}, you can send a stop rpc to restart hotkey detection\n`);
    const reads = await detect('read', 'query');
    assert.match(reads.stderr, /ERR_BUSY Can't get hotkey now, now state: hotkey_collector_state::STOPPED\n$/);
    const stopped = await detect('write', 'stop');
    assert.deepEqual(stopped, { code: 0, stdout: 'Hotkey detection is stopped now\n', stderr: '' });
    const afterStop = await detect('write', 'query');
    assert.match(afterStop.stderr, /ERR_BUSY Can't get hotkey now, now state: hotkey_collector_state::STOPPED\n$/);
  });

  test('reads: the same, from gets', async () => {
    const found = await detectUnderLoad('read', (hashKey, sortKey) => table.get(hashKey, sortKey));
    assert.deepEqual(found, { code: 0, stdout: `Find read hotkey in ${router.appId}.${hotPartition} result:${HOT_KEY}\n`, stderr: '' });
    // The same answer as a remote command on the replica server.
    const remote = await shell(`remote_command -l ${primary} replica.detect-hotkey ${router.appId}.${hotPartition} read query`);
    assert.match(remote.stdout, new RegExp(`succeed: \\{\\n  "err": "ERR_OK",\\n  "hotkey_result": "${HOT_KEY}"\\n\\}\\n`));
    assert.deepEqual(await detect('read', 'stop'), { code: 0, stdout: 'Hotkey detection is stopped now\n', stderr: '' });
  });

  test('bad input gets Pegasus\'s errors, and the cluster keeps serving', async () => {
    const gpid = `${router.appId}.99`;
    const unknown = await detect('write', 'start', primary, 99);
    assert.equal(unknown.stderr, `Hotkey detection performed failed, in ${gpid}, error_hint:ERR_OBJECT_NOT_FOUND not find the replica ${gpid} \n\n`);
    const badType = await detect('scan', 'start');
    assert.match(badType.stderr, /^"scan" is an invalid hotkey type \(should be 'read' or 'write'\)\n$/);
    assert.match(badType.stdout, /USAGE: \tdetect_hotkey/);
    const notMember = await detect('write', 'start', '127.0.0.1:1');
    assert.equal(notMember.stderr, "invalid host:port '127.0.0.1:1', can't find it in the cluster\n");
    const remoteBad = await shell(`remote_command -l ${primary} replica.detect-hotkey ${router.appId}.${hotPartition} scan start`);
    assert.match(remoteBad.stdout, /"scan" is an invalid hotkey type/);

    // As in Pegasus, a secondary accepts a detection but sees no client request: it never finds a key.
    const onSecondary = await detect('write', 'start', secondary);
    assert.equal(onSecondary.stderr, '');
    assert.equal(await runLoad((hashKey, sortKey) => table.set(hashKey, sortKey, 'again'), () => false, 2000), 2000);
    const secondaryQuery = await detect('write', 'query', secondary);
    assert.match(secondaryQuery.stderr, /ERR_BUSY Can't get hotkey now, now state: hotkey_collector_state::COARSE_DETECTING\n$/);
    assert.equal((await detect('write', 'stop', secondary)).stdout, 'Hotkey detection is stopped now\n');

    await table.set(HOT_KEY, 'after', 'value');
    assert.equal((await table.get(HOT_KEY, 'after'))?.toString(), 'value');
    assert.deepEqual(cluster.errorLines(), []);
  });
});
