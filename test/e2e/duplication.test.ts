// Cross-cluster duplication between two real clusters on this machine: `alpha` (two metas on a
// real ZooKeeper, three replica servers) duplicates table `temp` to `beta` (one meta, three
// replica servers) with a checkpoint first. Every kind of write on alpha reaches beta byte for
// byte (full scans compared); pause stops shipping and start resumes it; beta's replica servers
// down for a while lose nothing (FAIL_SLOW); a SIGKILLed primary on alpha and a meta failover on
// alpha both continue from the confirmed decree; two tables duplicated both ways end with the
// later write on both sides; bad input gets Pegasus's errors and changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseHostPort } from '../../src/base/index.ts';
import { createClient, type PegasusClient, type PegasusTable } from '../../src/client/index.ts';
import { RpcClient } from '../../src/net/index.ts';
import { CasCheckType, DuplicationStatus, encodeArgs, RPCS, type DuplicationEntry } from '../../src/wire/index.ts';
import { BoundedLoad } from '../helpers/bounded-load.ts';
import { TableRouter, TestCluster } from '../helpers/data-plane.ts';
import { freePort, sleep, waitFor } from '../helpers/process.ts';
import { startTestZooKeeper, zooKeeperSkipReason, type TestZooKeeper } from '../helpers/zookeeper.ts';

const PARTITIONS = 4;
/** Only tells a duplication that converges from a stuck one. */
const CONVERGE_MS = 180_000;
/** Beta's copy of alpha's `temp` (beta has a `temp` of its own). */
const FOLLOWER_TABLE = 'temp_from_alpha';
const SYNC_PERIOD_SECONDS = 1;

interface Side {
  name: string;
  cluster: TestCluster;
  client: PegasusClient;
}

/** Every record of a table as `hashKey/sortKey=value` in hex, sorted: equal scans are equal tables. */
async function fullScan(table: PegasusTable): Promise<string[]> {
  const records: string[] = [];
  for (const scanner of await table.getUnorderedScanners(PARTITIONS)) {
    for await (const entry of scanner) records.push(`${entry.hashKey.toString('hex')}/${entry.sortKey.toString('hex')}=${entry.value.toString('hex')}`);
  }
  return records.sort();
}

describe('duplication between two clusters', { skip: zooKeeperSkipReason() }, () => {
  let zk: TestZooKeeper;
  let alpha: Side;
  let beta: Side;
  /** The port of a side's primary meta, found by asking each meta (a backup answers a redirect). */
  const primaryMetaPort = async (side: Side): Promise<number> => {
    for (const port of side.cluster.metaPorts) {
      const response = await fetch(`http://127.0.0.1:${port}/meta/cluster`, { redirect: 'manual' }).catch(() => undefined);
      if (response?.status === 200) return port;
    }
    throw new Error(`no primary meta on ${side.name}`);
  };
  const primaryMeta = async (side: Side): Promise<RpcClient> =>
    new RpcClient(parseHostPort(`127.0.0.1:${await primaryMetaPort(side)}`), { timeoutMs: 10_000 });
  const callMeta = async <R>(side: Side, call: (meta: RpcClient) => Promise<R>): Promise<R> => {
    const meta = await primaryMeta(side);
    try {
      return await call(meta);
    } finally {
      meta.close();
    }
  };
  const addDup = (side: Side, appName: string, remoteClusterName: string, extra: { isDuplicatingCheckpoint?: boolean; remoteAppName?: string } = {}) =>
    callMeta(side, async (meta) => (await meta.callRpc(RPCS.RPC_CM_ADD_DUPLICATION, { appName, remoteClusterName, ...extra })).result!);
  const queryDup = (side: Side, appName: string) =>
    callMeta(side, async (meta) => (await meta.callRpc(RPCS.RPC_CM_QUERY_DUPLICATION, { appName })).result!);
  const modifyDup = (side: Side, appName: string, dupid: number, change: { status?: DuplicationStatus; failMode?: number }) =>
    callMeta(side, async (meta) => (await meta.callRpc(RPCS.RPC_CM_MODIFY_DUPLICATION, { appName, dupid, ...change })).result!);
  const entryOf = async (side: Side, appName: string, dupid: number): Promise<DuplicationEntry> => {
    const reply = await queryDup(side, appName);
    assert.equal(reply.err, 'ERR_OK');
    const entry = reply.entryList.find((item) => item.dupid === dupid);
    assert.ok(entry, `duplication ${dupid} of ${appName} on ${side.name}`);
    return entry;
  };
  const waitStatus = (side: Side, appName: string, dupid: number, status: DuplicationStatus) =>
    waitFor(`${appName}'s duplication ${dupid} in ${DuplicationStatus[status]}`, async () => (await entryOf(side, appName, dupid)).status === status, CONVERGE_MS, 500);
  const waitSame = async (what: string, source: PegasusTable, target: PegasusTable): Promise<string[]> => {
    let last = { source: [] as string[], target: [] as string[] };
    await waitFor(what, async () => {
      last = { source: await fullScan(source), target: await fullScan(target) };
      return last.source.length > 0 && JSON.stringify(last.source) === JSON.stringify(last.target);
    }, CONVERGE_MS, 1000).catch((error: Error) => {
      const missing = last.source.filter((record) => !last.target.includes(record));
      const extra = last.target.filter((record) => !last.source.includes(record));
      error.message += `\n${missing.length} records missing on the follower (first: ${missing.slice(0, 3).join(', ')}), ${extra.length} extra (first: ${extra.slice(0, 3).join(', ')})`;
      throw error;
    });
    return last.source;
  };

  let temp: PegasusTable;
  let follower: PegasusTable;
  let dupid = 0;

  before(async () => {
    zk = await startTestZooKeeper();
    const alphaMetas = [await freePort(), await freePort()];
    const betaMetas = [await freePort()];
    const list = (ports: number[]) => ports.map((port) => `127.0.0.1:${port}`).join(',');
    const settings = [
      `pegasus.clusters.alpha=${list(alphaMetas)}`,
      `pegasus.clusters.beta=${list(betaMetas)}`,
      'duplication-group.alpha=1',
      'duplication-group.beta=2',
      `replication.duplication_sync_period_second=${SYNC_PERIOD_SECONDS}`,
    ];
    const alphaCluster = new TestCluster({
      clusterName: 'alpha', metaPorts: alphaMetas, metaCount: 2, zookeeperHosts: zk.hostsList, partitionCount: PARTITIONS, settings,
    });
    const betaCluster = new TestCluster({ clusterName: 'beta', metaPorts: betaMetas, partitionCount: PARTITIONS, settings });
    await Promise.all([alphaCluster.start(), betaCluster.start()]);
    const clientOf = (cluster: TestCluster) => createClient({ metaServers: cluster.metaList().split(','), timeoutMs: 10_000 });
    alpha = { name: 'alpha', cluster: alphaCluster, client: clientOf(alphaCluster) };
    beta = { name: 'beta', cluster: betaCluster, client: clientOf(betaCluster) };
    await Promise.all([alphaCluster.waitHealthy('temp', PARTITIONS, CONVERGE_MS), betaCluster.waitHealthy('temp', PARTITIONS, CONVERGE_MS)]);
    temp = await alpha.client.openTable('temp');
  });

  after(async () => {
    await alpha?.client.close();
    await beta?.client.close();
    await alpha?.cluster.stop();
    await beta?.cluster.stop();
    await zk?.destroy();
  });

  test('add_dup with a checkpoint copies temp to beta, then ships every kind of write byte for byte', async () => {
    for (let index = 0; index < 100; index++) await temp.set(`before-${index}`, 's', `checkpointed ${index}`);
    // incr and check_and_set ship as the idempotent writes they become on an atomic_idempotent table.
    const idempotent = await callMeta(alpha, async (meta) => (await meta.callRpc(RPCS.RPC_CM_SET_ATOMIC_IDEMPOTENT, { appName: 'temp', atomicIdempotent: true })).result!);
    assert.equal(idempotent.err, 'ERR_OK');

    const added = await addDup(alpha, 'temp', 'beta', { isDuplicatingCheckpoint: true, remoteAppName: FOLLOWER_TABLE });
    assert.equal(added.err, 'ERR_OK', added.hint);
    dupid = added.dupid;
    await waitStatus(alpha, 'temp', dupid, DuplicationStatus.DS_LOG);
    follower = await beta.client.openTable(FOLLOWER_TABLE);
    await waitSame('the checkpoint on beta', temp, follower);

    await temp.set('kinds', 'put', Buffer.from([0, 1, 2, 255]));
    await temp.set('kinds', 'ttl', 'kept for a day', 86_400);
    await temp.multiSet('kinds-multi', new Map([['a', '1'], ['b', '2'], ['c', '3']]));
    await temp.del('before-0', 's');
    await temp.multiDel('kinds-multi', ['b']);
    await temp.incr('kinds', 'counter', 5n);
    await temp.incr('kinds', 'counter', 2n);
    await temp.checkAndSet('kinds', 'counter', CasCheckType.CT_VALUE_BYTES_EQUAL, '7', 'cas', 'swapped');
    const records = await waitSame('every kind of write on beta', temp, follower);
    assert.ok(records.length >= 100 + 5);
    assert.equal((await follower.get('kinds', 'cas'))?.toString(), 'swapped');
    assert.equal((await follower.get('kinds', 'counter'))?.toString(), '7');
    assert.equal(await follower.get('before-0', 's'), undefined);
    const ttl = await follower.ttl('kinds', 'ttl');
    assert.ok(ttl !== undefined && ttl > 3600, `the TTL travels with the value: ${ttl}`);
  });

  test('pause stops shipping; start resumes from where it stopped', async () => {
    assert.equal((await modifyDup(alpha, 'temp', dupid, { status: DuplicationStatus.DS_PAUSE })).err, 'ERR_OK');
    await waitStatus(alpha, 'temp', dupid, DuplicationStatus.DS_PAUSE);
    // The replica servers learn the pause at their next sync; writes after that stay on alpha.
    await sleep(3 * SYNC_PERIOD_SECONDS * 1000);
    for (let index = 0; index < 20; index++) await temp.set('paused', `s${index}`, `written while paused ${index}`);
    await sleep(5 * SYNC_PERIOD_SECONDS * 1000);
    assert.equal((await follower.multiGet('paused')).kvs.length, 0, 'nothing ships while paused');

    assert.equal((await modifyDup(alpha, 'temp', dupid, { status: DuplicationStatus.DS_LOG })).err, 'ERR_OK');
    await waitSame('the writes made while paused on beta', temp, follower);
  });

  test('beta\'s replica servers down for a while lose nothing (FAIL_SLOW)', async () => {
    for (const replica of beta.cluster.replicas) await replica.stop('SIGKILL');
    for (let index = 0; index < 50; index++) await temp.set('while-beta-down', `s${index}`, `value ${index}`);
    await sleep(5 * SYNC_PERIOD_SECONDS * 1000);
    for (let index = 0; index < 3; index++) beta.cluster.replicas[index] = await beta.cluster.startReplica(index);
    await beta.cluster.waitHealthy(FOLLOWER_TABLE, PARTITIONS, CONVERGE_MS);
    await waitSame('the writes made while beta was down on beta', temp, follower);
  });

  test('a SIGKILLed replica server on alpha: the new primaries continue from the confirmed decree', async () => {
    const load = new BoundedLoad(temp, { opsMax: 4000 });
    load.start();
    await waitFor('the load running', () => load.ops > 300, 60_000);
    await alpha.cluster.replicas[0]!.stop('SIGKILL');
    const opsAtKill = load.ops;
    await waitFor('the load going on after the kill', () => load.ops > opsAtKill + 300, CONVERGE_MS);
    alpha.cluster.replicas[0] = await alpha.cluster.startReplica(0);
    await load.finish(0);
    assert.deepEqual(load.failures, []);
    await alpha.cluster.waitHealthy('temp', PARTITIONS, CONVERGE_MS);
    await waitSame('every acknowledged write of the load on beta', temp, follower);
    for (const [hashKey, value] of load.acked) assert.equal((await follower.get(hashKey, 's'))?.toString(), value, hashKey);
  });

  test('a meta failover on alpha continues the duplication with its progress', async () => {
    const before = await entryOf(alpha, 'temp', dupid);
    const primaryPort = await primaryMetaPort(alpha);
    const index = alpha.cluster.metaPorts.indexOf(primaryPort);
    await alpha.cluster.metas[index]!.stop('SIGKILL');
    alpha.cluster.metas[index] = undefined;
    try {
      await waitFor('a new primary meta on alpha', async () => (await primaryMetaPort(alpha).catch(() => primaryPort)) !== primaryPort, CONVERGE_MS, 500);
      const after = await entryOf(alpha, 'temp', dupid);
      assert.equal(after.status, DuplicationStatus.DS_LOG);
      for (const [partition, decree] of before.progress ?? new Map()) {
        assert.ok((after.progress?.get(partition) ?? -1n) >= decree, `partition ${partition}'s confirmed decree kept: ${after.progress?.get(partition)} >= ${decree}`);
      }
      for (let index = 0; index < 50; index++) await temp.set('after-failover', `s${index}`, `value ${index}`);
      await waitSame('the writes made after the failover on beta', temp, follower);
    } finally {
      alpha.cluster.metas[index] = await alpha.cluster.startMeta(index);
    }
  });

  test('active-active: two tables duplicated both ways end with the later write on both sides', async () => {
    const create = async (side: Side) => callMeta(side, async (meta) => (await meta.callRpc(RPCS.RPC_CM_CREATE_APP, {
      appName: 'both_ways',
      options: { partitionCount: PARTITIONS, replicaCount: 3, successIfExist: false, appType: 'pegasus', envs: new Map(), isStateful: true },
    })).result!);
    assert.equal((await create(alpha)).err, 'ERR_OK');
    assert.equal((await create(beta)).err, 'ERR_OK');
    await alpha.cluster.waitHealthy('both_ways', PARTITIONS, CONVERGE_MS);
    await beta.cluster.waitHealthy('both_ways', PARTITIONS, CONVERGE_MS);
    const toBeta = await addDup(alpha, 'both_ways', 'beta', { isDuplicatingCheckpoint: false });
    const toAlpha = await addDup(beta, 'both_ways', 'alpha', { isDuplicatingCheckpoint: false });
    assert.equal(toBeta.err, 'ERR_OK', toBeta.hint);
    assert.equal(toAlpha.err, 'ERR_OK', toAlpha.hint);
    await waitStatus(alpha, 'both_ways', toBeta.dupid, DuplicationStatus.DS_LOG);
    await waitStatus(beta, 'both_ways', toAlpha.dupid, DuplicationStatus.DS_LOG);
    await sleep(3 * SYNC_PERIOD_SECONDS * 1000);

    const onAlpha = await alpha.client.openTable('both_ways');
    const onBeta = await beta.client.openTable('both_ways');
    // The same keys written on both sides at once, several times each: whichever write is later
    // (timetag: time, then cluster id) must be the value on both sides in the end.
    await Promise.all([
      (async () => { for (let round = 0; round < 5; round++) for (let key = 0; key < 20; key++) await onAlpha.set(`k${key}`, 's', `alpha ${round}`); })(),
      (async () => { for (let round = 0; round < 5; round++) for (let key = 0; key < 20; key++) await onBeta.set(`k${key}`, 's', `beta ${round}`); })(),
    ]);
    const records = await waitSame('both sides equal', onAlpha, onBeta);
    assert.equal(records.length, 20);
  });

  test('bad input gets Pegasus\'s errors and changes nothing', async () => {
    const unknownRemote = await addDup(alpha, 'temp', 'nowhere');
    assert.equal(unknownRemote.err, 'ERR_INVALID_PARAMETERS');
    const toItself = await addDup(alpha, 'temp', 'alpha');
    assert.equal(toItself.err, 'ERR_INVALID_PARAMETERS');
    assert.match(toItself.hint ?? '', /illegal operation: adding duplication to itself/);
    assert.equal((await addDup(alpha, 'no_such_table', 'beta')).err, 'ERR_APP_NOT_EXIST');
    const again = await addDup(alpha, 'temp', 'beta', { remoteAppName: FOLLOWER_TABLE });
    assert.equal(again.err, 'ERR_DUP_EXIST');
    assert.equal(again.dupid, dupid);
    assert.equal((await modifyDup(alpha, 'temp', 12345, { status: DuplicationStatus.DS_PAUSE })).err, 'ERR_OBJECT_NOT_FOUND');
    const entries = (await queryDup(alpha, 'temp')).entryList;
    assert.deepEqual(entries.map((entry) => [entry.dupid, entry.status]), [[dupid, DuplicationStatus.DS_LOG]]);

    // A DUPLICATE whose entry does not decode is refused by the follower's primary, which keeps serving.
    const router = new TableRouter(beta.cluster.metaPort, FOLLOWER_TABLE);
    try {
      await router.refresh();
      const garbage = { timestamp: BigInt(Date.now()) * 1000n, taskCode: 'RPC_RRDB_RRDB_PUT', rawMessage: Buffer.from([0xff, 0x00, 0x13]), clusterId: 1, verifyTimetag: true };
      const unknownTask = { ...garbage, taskCode: 'RPC_NO_SUCH_WRITE', rawMessage: encodeArgs(RPCS.RPC_RRDB_RRDB_REMOVE.args, Buffer.from('x')) };
      const fromNowhere = { ...garbage, clusterId: 99 };
      for (const entry of [garbage, unknownTask, fromNowhere]) {
        const reply = await router.call('RPC_RRDB_RRDB_DUPLICATE', { entries: [entry] }, 0n, { partitionIndex: 0 });
        assert.ok(reply.error !== 'ERR_OK' || (reply.result?.error ?? 0) !== 0, `refused: ${JSON.stringify({ entry: entry.taskCode, reply })}`);
      }
      const fromSelf = await router.call('RPC_RRDB_RRDB_DUPLICATE', { entries: [{ ...garbage, clusterId: 2 }] }, 0n, { partitionIndex: 0 });
      assert.equal(fromSelf.result?.errorHint, 'self-duplicating');
      assert.ok((await follower.get('kinds', 'cas'))?.toString() === 'swapped', 'the follower keeps serving');
    } finally {
      router.close();
    }
    await waitSame('nothing changed by the refused requests', temp, follower);
  });
});
