// Duplication on the meta state: the status machine, add/modify/query with Pegasus's checks (each
// refusal changes nothing), the replica servers' sync (progress only forward, only from the
// partition's primary, nothing for a node that is dead or unknown), the follower table created on
// a second meta state through DS_PREPARE → DS_APP → DS_LOG, and everything back after a reload.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuplicationGroup, duplicationQueryJson, type PartitionConfiguration } from '../../src/cluster/index.ts';
import {
  checkAlteration, followerReadiness, isValidAlteration, repeatedFollowerCreate, storedDuplicationFromJson, takeConfirm, newProgress,
  ENV_FOLLOWER_APP_STATUS, ENV_MASTER_APP_NAME, ENV_MASTER_CLUSTER, ENV_MASTER_METAS, type DuplicationEnvironment, type RemoteMetas,
} from '../../src/meta/duplication/index.ts';
import { dupProgressMinUpdatePeriodMs } from '../../src/meta/duplication/flags.ts';
import { DuplicationFailMode, DuplicationStatus, PatternMatchType, type DuplicationConfirmEntry } from '../../src/wire/index.ts';
import type { MemoryStateStore } from '../../src/meta/index.ts';
import { createMetaHarness, HARNESS_NODES, type MetaHarness } from '../helpers/meta-harness.ts';

const { DS_INIT, DS_PREPARE, DS_APP, DS_LOG, DS_PAUSE, DS_REMOVED } = DuplicationStatus;
const ALL_STATUSES = [DS_INIT, DS_PREPARE, DS_APP, DS_LOG, DS_PAUSE, DS_REMOVED];
const MASTER = 'master';
const FOLLOWER = 'follower';
const FOLLOWER_METAS = '127.0.0.1:35601';

describe('the status machine', () => {
  it('allows exactly Pegasus\'s moves', () => {
    const allowed = new Set([
      'DS_INIT>DS_PREPARE', 'DS_PREPARE>DS_APP', 'DS_APP>DS_LOG', 'DS_INIT>DS_LOG', 'DS_PAUSE>DS_LOG', 'DS_LOG>DS_PAUSE',
      ...ALL_STATUSES.map((from) => `${DuplicationStatus[from]}>DS_REMOVED`),
      ...ALL_STATUSES.map((status) => `${DuplicationStatus[status]}>${DuplicationStatus[status]}`),
    ]);
    for (const from of ALL_STATUSES) {
      for (const to of ALL_STATUSES) {
        const key = `${DuplicationStatus[from]}>${DuplicationStatus[to]}`;
        assert.equal(isValidAlteration(from, to), allowed.has(key), key);
      }
    }
    assert.equal(checkAlteration({ status: DS_REMOVED }, DS_LOG), 'ERR_OBJECT_NOT_FOUND');
    assert.equal(checkAlteration({ status: DS_PREPARE }, DS_PAUSE), 'ERR_INVALID_PARAMETERS');
    assert.equal(checkAlteration({ status: DS_LOG }, 42 as DuplicationStatus), 'ERR_INVALID_PARAMETERS');
    assert.equal(checkAlteration({ status: DS_LOG }, DS_PAUSE), 'ERR_OK');
  });

  it('takes progress only forward, and not more often than the update period', () => {
    const progress = newProgress(-1n);
    const confirm = (decree: bigint, lastCommitted = 100n): DuplicationConfirmEntry => ({ dupid: 1, confirmedDecree: decree, lastCommittedDecree: lastCommitted });
    assert.equal(takeConfirm(progress, confirm(10n), 1000, 5000), 10n);
    progress.storedDecree = 10n;
    progress.lastUpdateMs = 1000;
    assert.equal(takeConfirm(progress, confirm(5n), 2000, 5000), undefined);
    assert.equal(progress.volatileDecree, 10n);
    assert.equal(takeConfirm(progress, confirm(20n, 120n), 2000, 5000), undefined, 'within the update period');
    assert.equal(progress.lastCommittedDecree, 120n);
    assert.equal(takeConfirm(progress, confirm(15n), 6000, 5000), 20n, 'the highest reported, once the period is over');
  });

  it('reads stored duplications as Pegasus decodes them', () => {
    const stored = storedDuplicationFromJson('{"remote":"c2","status":"DS_WHAT","create_timestamp_ms":5,"fail_mode":"FAIL_NEW"}', 't', 3);
    assert.deepEqual(stored, {
      remote: 'c2', status: DS_REMOVED, createTimestampMs: 5, failMode: DuplicationFailMode.FAIL_SLOW, remoteAppName: 't', remoteReplicaCount: 3,
    });
    assert.throws(() => storedDuplicationFromJson('[]', 't', 3));
    assert.throws(() => storedDuplicationFromJson('{"status":"DS_LOG"}', 't', 3));
  });
});

describe('the follower table', () => {
  it('answers a repeated create as Pegasus\'s follower meta does', () => {
    const envs = (status?: string, master = MASTER): Record<string, string> =>
      ({ [ENV_MASTER_CLUSTER]: master, ...(status === undefined ? {} : { [ENV_FOLLOWER_APP_STATUS]: status }) });
    assert.deepEqual(repeatedFollowerCreate(envs('creating'), envs('creating')), { kind: 'answer', err: 'ERR_OK' });
    assert.deepEqual(repeatedFollowerCreate(envs('creating'), envs('created')), { kind: 'mark_created' });
    assert.deepEqual(repeatedFollowerCreate(envs('created'), envs('created')), { kind: 'answer', err: 'ERR_OK' });
    assert.deepEqual(repeatedFollowerCreate(envs('created'), envs('creating')), { kind: 'answer', err: 'ERR_APP_EXIST' });
    assert.deepEqual(repeatedFollowerCreate(envs('creating', 'other'), envs('creating')), { kind: 'answer', err: 'ERR_APP_EXIST' });
    assert.deepEqual(repeatedFollowerCreate({}, envs('creating')), { kind: 'answer', err: 'ERR_APP_EXIST' });
    assert.deepEqual(repeatedFollowerCreate(envs('creating'), envs()), { kind: 'answer', err: 'ERR_APP_EXIST' });
    assert.deepEqual(repeatedFollowerCreate(envs(), envs('creating')), { kind: 'answer', err: 'ERR_INVALID_STATE' });
    assert.deepEqual(repeatedFollowerCreate(envs('creating'), envs('bogus')), { kind: 'answer', err: 'ERR_INVALID_PARAMETERS' });
  });

  it('counts it ready once every partition has its primary and, with more than one replica, a secondary', () => {
    const config = (primary: string, secondaries: string[], maxReplicaCount = 3): PartitionConfiguration =>
      ({ primary, secondaries, maxReplicaCount } as PartitionConfiguration);
    assert.equal(followerReadiness([config('a', ['b'])], 1), 'ERR_OK');
    assert.equal(followerReadiness([config('a', [], 1)], 1), 'ERR_OK');
    assert.equal(followerReadiness([config('a', ['b'])], 2), 'ERR_INCONSISTENT_STATE');
    assert.equal(followerReadiness([config('', ['b'])], 1), 'ERR_INACTIVE_STATE');
    assert.equal(followerReadiness([config('a', [])], 1), 'ERR_NOT_ENOUGH_MEMBER');
  });
});

// ---------------------------------------------------------------------------------------------
// two meta states: the master, and the follower cluster it reaches through RemoteMetas

interface Clusters {
  master: MetaHarness;
  follower: MetaHarness;
  environment: DuplicationEnvironment;
  createCalls: number;
}

function remoteOf(clusters: () => Clusters): RemoteMetas {
  return {
    async createApp(metas, request) {
      assert.equal(metas.map((meta) => `${meta.host}:${meta.port}`).join(','), FOLLOWER_METAS);
      clusters().createCalls++;
      const result = await clusters().follower.state.createApp({ ...request, successIfExist: false });
      return result.err;
    },
    async queryConfiguration(_metas, appName) {
      const result = clusters().follower.state.queryConfiguration(appName);
      return { err: result.err, partitions: result.partitions };
    },
  };
}

async function twoClusters(masterStore?: MemoryStateStore): Promise<Clusters> {
  let clusters: Clusters | undefined;
  const environment: DuplicationEnvironment = {
    group: () => parseDuplicationGroup(new Map([[FOLLOWER, FOLLOWER_METAS], [MASTER, '127.0.0.1:34601']]), new Map([[MASTER, '1'], [FOLLOWER, '2']])),
    clusterName: () => MASTER,
    ownMetaList: () => '127.0.0.1:34601',
    remote: remoteOf(() => clusters!),
  };
  const master = await createMetaHarness({ duplication: environment, ...(masterStore ? { store: masterStore } : {}) });
  if (!masterStore) {
    await master.state.createApp({ appName: 't', partitionCount: 4, replicaCount: 3, envs: { 'rocksdb.usage_scenario': 'normal' } });
    await master.state.createApp({ appName: 'u', partitionCount: 2, replicaCount: 3 });
  }
  await master.settle();
  const follower = await createMetaHarness();
  clusters = { master, follower, environment, createCalls: 0 };
  return clusters;
}

/** Lets queued work (the follower steps' remote calls and their writes) run; no clock involved. */
async function drain(): Promise<void> {
  for (let round = 0; round < 50; round++) await new Promise((resolve) => setImmediate(resolve));
}

/** What the primary of each partition of `appName` reports: its confirm entries for `dupid`. */
function confirmsFrom(meta: MetaHarness, appName: string, dupid: number, entry: Partial<DuplicationConfirmEntry>) {
  const app = meta.state.findApp(appName)!;
  const byNode = new Map<string, Map<{ appId: number; partitionIndex: number }, DuplicationConfirmEntry[]>>();
  for (const config of meta.state.partitionsOf(app.appId)) {
    let list = byNode.get(config.primary);
    if (!list) byNode.set(config.primary, (list = new Map()));
    list.set(config.gpid, [{ dupid, confirmedDecree: -1n, ...entry }]);
  }
  return byNode;
}

async function syncAll(meta: MetaHarness, appName: string, dupid: number, entry: Partial<DuplicationConfirmEntry>): Promise<void> {
  for (const [node, list] of confirmsFrom(meta, appName, dupid, entry)) {
    assert.equal((await meta.state.onDuplicationSync(node, list)).err, 'ERR_OK');
  }
}

const statusOf = (meta: MetaHarness, appName: string) => meta.state.queryDuplication(appName).entryList.map((entry) => DuplicationStatus[entry.status]);

async function storeDump(store: MemoryStateStore): Promise<string[]> {
  return [...store.tree.walk()].map(([path, data]) => `${path}=${data.toString()}`);
}

describe('add, modify and query', () => {
  it('refuses what Pegasus refuses, with its errors and hints, and changes nothing', async () => {
    const { master } = await twoClusters();
    const before = await storeDump(master.store as MemoryStateStore);
    const add = (request: Partial<Parameters<typeof master.state.addDuplication>[0]>) =>
      master.state.addDuplication({ appName: 't', remoteClusterName: FOLLOWER, ...request });
    assert.deepEqual(await add({ remoteClusterName: MASTER }), {
      err: 'ERR_INVALID_PARAMETERS', hint: 'illegal operation: adding duplication to itself', appid: 0, dupid: 0,
    });
    assert.deepEqual(await add({ remoteClusterName: 'nowhere' }), {
      err: 'ERR_INVALID_PARAMETERS', hint: 'get_duplication_cluster_id(nowhere) failed, error: ERR_OBJECT_NOT_FOUND: failed to get cluster id for nowhere',
      appid: 0, dupid: 0,
    });
    assert.deepEqual(await add({ remoteReplicaCount: -1 }), {
      err: 'ERR_INVALID_PARAMETERS', hint: 'invalid remote_replica_count(-1) which should never be negative', appid: 0, dupid: 0,
    });
    assert.deepEqual(await add({ appName: 'nope' }), { err: 'ERR_APP_NOT_EXIST', hint: 'app nope was not found', appid: 0, dupid: 0 });
    await master.state.dropApp({ appName: 'u' });
    assert.deepEqual(await add({ appName: 'u' }), { err: 'ERR_APP_NOT_EXIST', hint: 'app u was not found', appid: 0, dupid: 0 });
    assert.deepEqual(master.state.queryDuplication('nope'), { err: 'ERR_APP_NOT_EXIST', appid: 0, entryList: [] });
    assert.deepEqual(await master.state.modifyDuplication({ appName: 'nope', dupid: 1, status: DS_PAUSE }), { err: 'ERR_APP_NOT_EXIST', appid: 0 });
    assert.deepEqual(await master.state.modifyDuplication({ appName: 't', dupid: 1, status: DS_PAUSE }), { err: 'ERR_OBJECT_NOT_FOUND', appid: 0 });
    const after = (await storeDump(master.store as MemoryStateStore)).filter((line) => !line.startsWith('/pegasus/test/apps/2'));
    assert.deepEqual(after, before.filter((line) => !line.startsWith('/pegasus/test/apps/2')));
  });

  it('a remote cluster without meta list, a second duplication to the same remote, another table to the same remote table', async () => {
    const master = await createMetaHarness({
      duplication: {
        group: () => parseDuplicationGroup(new Map([[FOLLOWER, FOLLOWER_METAS]]), new Map([[MASTER, '1'], [FOLLOWER, '2'], ['lost', '3']])),
        clusterName: () => MASTER, ownMetaList: () => '', remote: remoteOf(() => { throw new Error('not called'); }),
      },
    });
    await master.state.createApp({ appName: 't', partitionCount: 2, replicaCount: 3 });
    await master.state.createApp({ appName: 'u', partitionCount: 2, replicaCount: 3 });
    assert.deepEqual(await master.state.addDuplication({ appName: 't', remoteClusterName: 'lost' }), {
      err: 'ERR_INVALID_PARAMETERS', hint: 'failed to find cluster[lost] address in config [pegasus.clusters]', appid: 0, dupid: 0,
    });
    const first = await master.state.addDuplication({ appName: 't', remoteClusterName: FOLLOWER, remoteAppName: 'x', remoteReplicaCount: 2 });
    assert.deepEqual({ ...first, dupid: 0 }, { err: 'ERR_OK', hint: '', appid: 1, dupid: 0, remoteAppName: 'x', remoteReplicaCount: 2 });
    assert.equal(first.dupid, Math.floor(master.now() / 1000));
    const before = await storeDump(master.store as MemoryStateStore);
    assert.deepEqual(await master.state.addDuplication({ appName: 't', remoteClusterName: FOLLOWER }), {
      err: 'ERR_DUP_EXIST', hint: '', appid: 1, dupid: first.dupid, remoteAppName: 'x', remoteReplicaCount: 2,
    });
    assert.deepEqual(await master.state.addDuplication({ appName: 'u', remoteClusterName: FOLLOWER, remoteAppName: 'x' }), {
      err: 'ERR_INVALID_PARAMETERS',
      hint: 'illegal operation: another app(t) is also duplicated to the same remote app(cluster=follower, app=x)', appid: 0, dupid: 0,
    });
    assert.deepEqual(await storeDump(master.store as MemoryStateStore), before);
    // Without a cluster id for the remote, dup_ignore_other_cluster_ids is what lets it through.
    assert.equal(master.state.getApp(1)!.duplicating, true);
    assert.equal(master.state.getApp(2)!.duplicating, false);
  });

  it('pauses, starts, changes the fail mode and removes; refuses moves the status machine does not allow', async () => {
    const { master } = await twoClusters();
    const { dupid } = await master.state.addDuplication({ appName: 't', remoteClusterName: FOLLOWER, isDuplicatingCheckpoint: false });
    assert.deepEqual(statusOf(master, 't'), ['DS_LOG']);
    const modify = (request: { status?: DuplicationStatus; failMode?: DuplicationFailMode }) => master.state.modifyDuplication({ appName: 't', dupid, ...request });
    assert.deepEqual(await modify({ status: DS_APP }), { err: 'ERR_INVALID_PARAMETERS', appid: 0 });
    assert.deepEqual(await modify({ status: DS_PAUSE }), { err: 'ERR_OK', appid: 1 });
    assert.deepEqual(statusOf(master, 't'), ['DS_PAUSE']);
    assert.deepEqual(await modify({ status: DS_PAUSE }), { err: 'ERR_OK', appid: 0 }, 'nothing to change');
    assert.deepEqual(await modify({ status: DS_LOG }), { err: 'ERR_OK', appid: 1 });
    assert.deepEqual(await modify({ failMode: DuplicationFailMode.FAIL_SKIP }), { err: 'ERR_OK', appid: 1 });
    assert.equal(master.state.queryDuplication('t').entryList[0]!.failMode, DuplicationFailMode.FAIL_SKIP);
    const stored = JSON.parse((await master.store.get(`/pegasus/test/apps/1/duplication/${dupid}`))!.toString());
    assert.deepEqual(stored, {
      remote: FOLLOWER, status: 'DS_LOG', create_timestamp_ms: master.now(), fail_mode: 'FAIL_SKIP', remote_app_name: 't', remote_replica_count: 3,
    });
    assert.deepEqual(await modify({ status: DS_REMOVED }), { err: 'ERR_OK', appid: 1 });
    assert.deepEqual(master.state.queryDuplication('t'), { err: 'ERR_OK', appid: 1, entryList: [] });
    assert.equal(await master.store.exists(`/pegasus/test/apps/1/duplication/${dupid}`), false);
    assert.equal(master.state.getApp(1)!.duplicating, false);
    assert.deepEqual(await modify({ status: DS_LOG }), { err: 'ERR_OBJECT_NOT_FOUND', appid: 0 });
  });

  it('lists by pattern and renders the query as Pegasus\'s JSON', async () => {
    const { master } = await twoClusters();
    const { dupid } = await master.state.addDuplication({ appName: 'u', remoteClusterName: FOLLOWER, isDuplicatingCheckpoint: false });
    const listed = master.state.listDuplications('u', PatternMatchType.PMT_MATCH_EXACT);
    assert.equal(listed.err, 'ERR_OK');
    assert.deepEqual([...listed.appStates.keys()], ['u']);
    assert.deepEqual([...listed.appStates.get('u')!.duplications.keys()], [dupid]);
    assert.deepEqual([...master.state.listDuplications('', PatternMatchType.PMT_MATCH_ALL).appStates.keys()], ['t', 'u']);
    assert.equal(master.state.listDuplications('x', PatternMatchType.PMT_MATCH_REGEX).err, 'ERR_NOT_IMPLEMENTED');

    const query = master.state.queryDuplication('u');
    assert.equal(duplicationQueryJson(1, master.state.queryDuplication('t').entryList), 'null');
    const json = JSON.parse(duplicationQueryJson(query.appid, query.entryList));
    assert.deepEqual(Object.keys(json), ['1', 'appid']);
    assert.equal(json.appid, 2);
    assert.deepEqual({ ...json['1'], create_ts: 'ts' }, {
      create_ts: 'ts', dupid, fail_mode: 'FAIL_SLOW', remote: FOLLOWER, remote_app_name: 'u', remote_replica_count: 3, status: 'DS_LOG',
      partition_states: { 0: { confirmed_decree: -1, last_committed_decree: -1 }, 1: { confirmed_decree: -1, last_committed_decree: -1 } },
    });
    assert.match(json['1'].create_ts, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });
});

describe('the replica servers\' sync', () => {
  it('stores progress from the primaries only, only forward; answers the tables of its primaries; nothing for dead or unknown nodes', async () => {
    const { master } = await twoClusters();
    const { dupid } = await master.state.addDuplication({ appName: 't', remoteClusterName: FOLLOWER, isDuplicatingCheckpoint: false });
    await syncAll(master, 't', dupid, { confirmedDecree: 10n, lastCommittedDecree: 12n });
    const progress = (): string[] => master.state.queryDuplication('t').entryList[0]!.partitionStates!.size === 4
      ? [...master.state.queryDuplication('t').entryList[0]!.partitionStates!.values()].map((state) => `${state.confirmedDecree}/${state.lastCommittedDecree}`)
      : [];
    assert.deepEqual(progress(), ['10/12', '10/12', '10/12', '10/12']);
    for (let index = 0; index < 4; index++) {
      assert.equal((await master.store.get(`/pegasus/test/apps/1/duplication/${dupid}/${index}`))!.toString(), '10');
    }

    master.advance(dupProgressMinUpdatePeriodMs.value);
    await syncAll(master, 't', dupid, { confirmedDecree: 5n, lastCommittedDecree: 13n });
    assert.deepEqual(progress(), ['10/13', '10/13', '10/13', '10/13'], 'a smaller confirmed decree does not move it back');

    // A secondary of partition 0 reporting about it is not heard.
    const config = master.state.partitionsOf(1)[0]!;
    const secondary = config.secondaries[0]!;
    const reply = await master.state.onDuplicationSync(secondary, new Map([[config.gpid, [{ dupid, confirmedDecree: 50n }]]]));
    assert.equal(reply.err, 'ERR_OK');
    assert.equal(progress()[0], '10/13');

    // The answer covers the tables the node is primary of; `u` has no duplication.
    const primaries = new Set(master.state.partitionsOf(1).map((partition) => partition.primary));
    for (const node of HARNESS_NODES) {
      const answer = await master.state.onDuplicationSync(node, new Map());
      assert.deepEqual([...answer.dupMap.keys()], primaries.has(node) ? [1] : []);
      if (primaries.has(node)) {
        const entry = answer.dupMap.get(1)!.get(dupid)!;
        assert.equal(entry.status, DS_LOG);
        assert.deepEqual([...entry.progress!.values()], [10n, 10n, 10n, 10n]);
      }
    }

    assert.deepEqual(await master.state.onDuplicationSync('127.0.0.1:1', new Map()), { err: 'ERR_OBJECT_NOT_FOUND', dupMap: new Map() });
    const primary = config.primary;
    master.advance(60_000);
    await master.beacon(...HARNESS_NODES.filter((node) => node !== primary));
    await master.state.checkNodes();
    const dead = await master.state.onDuplicationSync(primary, new Map([[config.gpid, [{ dupid, confirmedDecree: 99n }]]]));
    assert.deepEqual(dead, { err: 'ERR_OK', dupMap: new Map() });
    assert.notEqual(progress()[0], '99/13');
  });

  it('creates the follower table on the remote cluster: DS_PREPARE → DS_APP → DS_LOG', async () => {
    const clusters = await twoClusters();
    const { master, follower } = clusters;
    const added = await master.state.addDuplication({ appName: 't', remoteClusterName: FOLLOWER, remoteAppName: 't2', remoteReplicaCount: 3 });
    assert.equal(added.err, 'ERR_OK');
    assert.deepEqual(statusOf(master, 't'), ['DS_PREPARE']);

    // Until every partition has prepared its checkpoint, nothing is created.
    await syncAll(master, 't', added.dupid, { checkpointPrepared: false });
    await drain();
    assert.equal(clusters.createCalls, 0);
    await syncAll(master, 't', added.dupid, { checkpointPrepared: true });
    await drain();
    assert.deepEqual(statusOf(master, 't'), ['DS_APP']);
    const table = follower.state.findApp('t2')!;
    assert.equal(table.partitionCount, 4);
    assert.equal(table.maxReplicaCount, 3);
    assert.deepEqual(table.envs, {
      'rocksdb.usage_scenario': 'normal',
      [ENV_MASTER_CLUSTER]: MASTER, [ENV_MASTER_METAS]: '127.0.0.1:34601', [ENV_MASTER_APP_NAME]: 't', [ENV_FOLLOWER_APP_STATUS]: 'creating',
    });

    // DS_APP: marked created at once; DS_LOG only when the follower's partitions are healthy.
    await syncAll(master, 't', added.dupid, { checkpointPrepared: true });
    await drain();
    assert.equal(follower.state.findApp('t2')!.envs[ENV_FOLLOWER_APP_STATUS], 'created');
    assert.deepEqual(statusOf(master, 't'), ['DS_APP']);
    await follower.settle();
    await syncAll(master, 't', added.dupid, { checkpointPrepared: true });
    await drain();
    assert.deepEqual(statusOf(master, 't'), ['DS_LOG']);
    assert.equal(follower.state.listAllApps().filter((app) => app.appName === 't2').length, 1);
  });

  it('a table of that name on the remote cluster that is not this follower stops it at DS_PREPARE', async () => {
    const clusters = await twoClusters();
    const { master, follower } = clusters;
    await follower.state.createApp({ appName: 't', partitionCount: 8, replicaCount: 3 });
    const { dupid } = await master.state.addDuplication({ appName: 't', remoteClusterName: FOLLOWER });
    await syncAll(master, 't', dupid, { checkpointPrepared: true });
    await drain();
    assert.equal(clusters.createCalls > 0, true);
    assert.deepEqual(statusOf(master, 't'), ['DS_PREPARE']);
    assert.equal(follower.state.findApp('t')!.partitionCount, 8);
  });
});

describe('after a restart', () => {
  it('loads every duplication with its status and stored progress', async () => {
    const clusters = await twoClusters();
    const { master } = clusters;
    const log = await master.state.addDuplication({ appName: 't', remoteClusterName: FOLLOWER, isDuplicatingCheckpoint: false });
    const prepare = await master.state.addDuplication({ appName: 'u', remoteClusterName: FOLLOWER, remoteAppName: 'u2' });
    await master.state.modifyDuplication({ appName: 't', dupid: log.dupid, failMode: DuplicationFailMode.FAIL_SKIP });
    await syncAll(master, 't', log.dupid, { confirmedDecree: 7n, lastCommittedDecree: 9n });
    const before = [master.state.queryDuplication('t'), master.state.queryDuplication('u')];
    await master.state.close();

    const reopened = await twoClusters(master.store as MemoryStateStore);
    const after = [reopened.master.state.queryDuplication('t'), reopened.master.state.queryDuplication('u')];
    // The last committed decree is not stored: the primaries report it again.
    const stored = (query: (typeof before)[number]) => query.entryList.map((entry) => ({
      ...entry, partitionStates: [...entry.partitionStates!.values()].map((state) => state.confirmedDecree),
    }));
    assert.deepEqual(after.map(stored), before.map(stored));
    assert.deepEqual(statusOf(reopened.master, 'u'), ['DS_PREPARE']);
    assert.equal(prepare.remoteAppName, 'u2');
    assert.equal(reopened.master.state.getApp(1)!.duplicating, true);
  });
});
