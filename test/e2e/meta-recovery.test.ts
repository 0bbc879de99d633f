// A meta that lost its state, rebuilt from the replica servers (Pegasus's recovery mode) on real
// processes: one meta and three replica servers hold two tables; the meta is stopped and its
// data dir removed; started again with `[meta_server] recover_from_replica_server = true` it
// serves nothing until the shell's `recover -s <nodes>`, after which both tables are back with
// every record, fully healthy. A serving meta refuses a recovery, and a meta in recovery mode
// refuses to start over a store that holds tables.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { RPCS } from '../../src/wire/index.ts';
import { TestCluster } from '../helpers/data-plane.ts';
import { waitFor } from '../helpers/process.ts';
import { runShellScript } from '../helpers/shell-process.ts';

const PARTITIONS = 4;
const RECORDS = 200;
/** Only tells a cluster that heals from a stuck one. */
const HEAL_MS = 180_000;
const RECOVERY_MODE = 'meta_server.recover_from_replica_server=true';

describe('recovering the meta state from the replica servers', () => {
  const cluster = new TestCluster({ partitionCount: PARTITIONS });
  let client: PegasusClient;
  const shell = (...commands: string[]) => runShellScript(`127.0.0.1:${cluster.metaPort}`, commands);
  const nodes = (): string => cluster.replicaPorts.map((port) => `127.0.0.1:${port}`).join(',');

  before(async () => {
    await cluster.start();
    await cluster.waitHealthy('temp', PARTITIONS, HEAL_MS);
    client = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 10_000 });
  });

  after(async () => {
    await client?.close();
    await cluster.stop();
  });

  test('a serving meta refuses a recovery with ERR_SERVICE_ALREADY_RUNNING', async () => {
    const run = await shell(`recover -s ${nodes()}`);
    assert.match(run.stdout, /^Recover result: ERR_SERVICE_ALREADY_RUNNING$/m);
    assert.notEqual(run.code, 0);
  });

  test('after the meta lost its data dir, recover brings back every table and record', async () => {
    const created = await shell('create kept -p 2 -r 3');
    assert.equal(created.code, 0, created.stdout + created.stderr);
    await cluster.waitHealthy('kept', 2, HEAL_MS);
    const temp = await client.openTable('temp');
    const kept = await client.openTable('kept');
    for (let index = 0; index < RECORDS; index++) await temp.set(`h${index}`, 's', `temp ${index}`);
    for (let index = 0; index < 50; index++) await kept.set(`k${index}`, 's', `kept ${index}`);

    await cluster.metas[0]!.stop();
    rmSync(path.join(cluster.dataRoot, 'meta1'), { recursive: true, force: true });
    cluster.metas[0] = await cluster.startMeta(0, [RECOVERY_MODE]);

    // Waiting for `recover`: no table, no state.
    const meta = new RpcClient(parseHostPort(`127.0.0.1:${cluster.metaPort}`), { timeoutMs: 10_000 });
    try {
      const listed = await meta.callRpc(RPCS.RPC_CM_LIST_APPS, { status: 0 });
      assert.equal(listed.result?.err, 'ERR_SERVICE_NOT_ACTIVE');
    } finally {
      meta.close();
    }
    assert.equal((await fetch(`http://127.0.0.1:${cluster.metaPort}/meta/apps`)).status, 503);

    const recovered = await shell(`recover -s ${nodes()} -w 60`);
    assert.match(recovered.stdout, /^Recover result: ERR_OK$/m, recovered.stdout + recovered.stderr);
    assert.equal(recovered.code, 0);

    await cluster.waitHealthy('temp', PARTITIONS, HEAL_MS);
    await cluster.waitHealthy('kept', 2, HEAL_MS);
    const ls = await shell('ls');
    assert.match(ls.stdout, /\btemp\b/);
    assert.match(ls.stdout, /\bkept\b/);
    const reader = createClient({ metaServers: [`127.0.0.1:${cluster.metaPort}`], timeoutMs: 10_000 });
    try {
      const tempAgain = await reader.openTable('temp');
      const keptAgain = await reader.openTable('kept');
      for (let index = 0; index < RECORDS; index++) assert.equal((await tempAgain.get(`h${index}`, 's'))?.toString(), `temp ${index}`);
      for (let index = 0; index < 50; index++) assert.equal((await keptAgain.get(`k${index}`, 's'))?.toString(), `kept ${index}`);
      await tempAgain.set('after', 's', 'writes work');
      assert.equal((await tempAgain.get('after', 's'))?.toString(), 'writes work');
    } finally {
      await reader.close();
    }
  });

  test('a meta in recovery mode refuses to start over a store that holds tables', async () => {
    await cluster.metas[0]!.stop();
    await assert.rejects(cluster.startMeta(0, [RECOVERY_MODE]), /find apps from remote storage, but \[meta_server\]\.recover_from_replica_server = true/);
    cluster.metas[0] = await cluster.startMeta(0);
    await waitFor('the meta serving again', async () => (await fetch(`http://127.0.0.1:${cluster.metaPort}/meta/apps`)).status === 200, HEAL_MS);
    await cluster.waitHealthy('temp', PARTITIONS, HEAL_MS);
  });
});
