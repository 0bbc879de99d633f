import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { defaultAppsFromConfig, MemoryStateStore, MetaServerState, ONEBOX_DEFAULT_APPS, type MetaStateStore, type StoreOp } from '../../src/meta/index.ts';
import { appInfoFromJson, applyConfigChange, partitionConfigurationFromJson, PARTITION_FLAG_DROPPED, type ConfigType } from '../../src/cluster/index.ts';
import { createMetaHarness, HARNESS_NODES } from '../helpers/meta-harness.ts';

const [NODE_A, NODE_B, NODE_C] = HARNESS_NODES as [string, string, string];
const create = { partitionCount: 4, replicaCount: 3 };

/** A store whose writes wait until released: makes the in-between states observable. */
class GatedStore extends MemoryStateStore {
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release?.();
    this.gate = undefined;
  }
  override async multi(ops: StoreOp[]): Promise<void> {
    if (this.gate) await this.gate;
    return super.multi(ops);
  }
  override async set(path: string, data: Buffer): Promise<void> {
    if (this.gate) await this.gate;
    return super.set(path, data);
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('create_app', () => {
  it('creates a table with ids from 1, persisted as Pegasus JSON', async () => {
    const meta = await createMetaHarness();
    const result = await meta.state.createApp({ appName: 'orders', ...create, envs: { 'business.info': 'x' } });
    assert.deepEqual(result, { err: 'ERR_OK', hintMessage: '', appId: 1 });
    const second = await meta.state.createApp({ appName: 'users', partitionCount: 8, replicaCount: 2 });
    assert.equal(second.appId, 2);

    const stored = (await meta.store.get('/pegasus/test/apps/1'))!.toString();
    assert.equal(
      stored,
      `{"status":"app_status::AS_AVAILABLE","app_type":"pegasus","app_name":"orders","app_id":1,"partition_count":4,` +
        `"envs":{"business.info":"x"},"is_stateful":true,"max_replica_count":3,"expire_second":0,` +
        `"create_second":${Math.floor(meta.now() / 1000)},"drop_second":0,"duplicating":false,"init_partition_count":4,` +
        `"is_bulk_loading":false,"atomic_idempotent":false}`,
    );
    assert.equal(appInfoFromJson(stored).appName, 'orders');
    assert.deepEqual(await meta.store.children('/pegasus/test/apps/1'), ['0', '1', '2', '3']);
    const partition = partitionConfigurationFromJson((await meta.store.get('/pegasus/test/apps/1/3'))!.toString());
    assert.deepEqual(partition.gpid, { appId: 1, partitionIndex: 3 });
    assert.equal(partition.maxReplicaCount, 3);
    assert.equal((await meta.store.get('/pegasus/test/apps'))!.toString(), 'unlock');
  });

  it('rejects bad parameters with ERR_INVALID_PARAMETERS', async () => {
    const meta = await createMetaHarness();
    const cases: Array<[string, Parameters<MetaServerState['createApp']>[0], RegExp]> = [
      ['empty name', { appName: '', ...create }, /shouldn't be empty/],
      ['bad characters', { appName: 'a b', ...create }, /invalid characters/],
      ['zero partitions', { appName: 't', partitionCount: 0, replicaCount: 3 }, /power of two/],
      ['not a power of two', { appName: 't', partitionCount: 6, replicaCount: 3 }, /power of two/],
      ['negative partitions', { appName: 't', partitionCount: -4, replicaCount: 3 }, /power of two/],
      ['zero replicas', { appName: 't', partitionCount: 4, replicaCount: 0 }, /range \[1, 5\]/],
      ['too many replicas', { appName: 't', partitionCount: 4, replicaCount: 6 }, /range \[1, 5\]/],
      ['more replicas than alive nodes', { appName: 't', partitionCount: 4, replicaCount: 4 }, /exceeds the 3 alive/],
      ['bad rocksdb option', { appName: 't', ...create, envs: { 'rocksdb.num_levels': '11' } }, /should be 'In range \[1, 10\]'/],
      ['unimplemented env', { appName: 't', ...create, envs: { 'replica.backup_request_throttling': '100*reject*0' } }, /'replica.backup_request_throttling' is not implemented by Pteron/],
    ];
    for (const [what, request, hint] of cases) {
      const result = await meta.state.createApp(request);
      assert.equal(result.err, 'ERR_INVALID_PARAMETERS', what);
      assert.match(result.hintMessage, hint, what);
    }
    assert.deepEqual(meta.state.listAllApps(), []);
  });

  it('answers ERR_APP_EXIST for a taken name, or ERR_OK with success_if_exist and equal options', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 't', ...create });
    assert.equal((await meta.state.createApp({ appName: 't', ...create })).err, 'ERR_APP_EXIST');
    assert.deepEqual(await meta.state.createApp({ appName: 't', ...create, successIfExist: true }), { err: 'ERR_OK', hintMessage: '', appId: 1 });
    const different = await meta.state.createApp({ appName: 't', partitionCount: 8, replicaCount: 3, successIfExist: true });
    assert.equal(different.err, 'ERR_INVALID_PARAMETERS');
  });

  it('is refused at function level freezed and below', async () => {
    const meta = await createMetaHarness();
    for (const level of ['fl_freezed', 'fl_blind', 'fl_stopped'] as const) {
      meta.state.setFunctionLevel(level);
      assert.equal((await meta.state.createApp({ appName: 't', ...create })).err, 'ERR_STATE_FREEZED');
    }
    meta.state.setFunctionLevel('fl_lively');
    assert.equal((await meta.state.createApp({ appName: 't', ...create })).err, 'ERR_OK');
  });

  it('shows the table as being created while it is written', async () => {
    const store = new GatedStore();
    const meta = await createMetaHarness({ store });
    store.hold();
    const creating = meta.state.createApp({ appName: 'slow', ...create });
    await tick();
    assert.equal(meta.state.findApp('slow')?.status, 'AS_CREATING');
    assert.equal(meta.state.queryConfiguration('slow').err, 'ERR_BUSY_CREATING');
    store.open();
    assert.equal((await creating).err, 'ERR_OK');
    assert.equal(meta.state.queryConfiguration('slow').err, 'ERR_OK');
  });

  it('refuses to load a stored partition whose membership the meta could never have written', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 'orders', ...create });
    const path = '/pegasus/test/apps/1/2';
    const stored = JSON.parse((await meta.store.get(path))!.toString()) as Record<string, unknown>;
    for (const [field, value, why] of [
      ['hp_secondaries', ['h:1', 'h:1'], /a secondary is listed twice/],
      ['hp_secondaries', [''], /a secondary has no address/],
    ] as const) {
      await meta.store.set(path, Buffer.from(JSON.stringify({ ...stored, hp_primary: 'h:9', [field]: value })));
      await assert.rejects(
        createMetaHarness({ store: meta.store }),
        (error: Error) => /\/pegasus\/test\/apps\/1\/2 is not a valid partition_configuration/.test(error.message) && why.test(error.message),
      );
    }
  });

  it('places every partition on the alive nodes through the guardian', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 't', partitionCount: 8, replicaCount: 3 });
    await meta.settle();
    const configs = meta.state.partitionsOf(1);
    for (const config of configs) {
      assert.notEqual(config.primary, '');
      assert.equal(config.secondaries.length, 2);
      assert.equal(config.ballot, 3, 'assign primary + two add-secondary changes');
    }
    const primaries = new Map<string, number>();
    for (const config of configs) primaries.set(config.primary, (primaries.get(config.primary) ?? 0) + 1);
    assert.deepEqual([...primaries.values()].sort(), [2, 3, 3]);
  });
});

describe('drop_app and recall_app', () => {
  it('soft-drops: members move to last_drops, the name is freed, expiry is set', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 't', ...create });
    await meta.settle();
    const before = meta.state.partitionsOf(1);
    assert.deepEqual(await meta.state.dropApp({ appName: 't' }), { err: 'ERR_OK', hintMessage: '' });
    const app = meta.state.getApp(1)!;
    assert.equal(app.status, 'AS_DROPPED');
    assert.equal(app.dropSecond, Math.floor(meta.now() / 1000));
    assert.equal(app.expireSecond, app.dropSecond + 604800);
    assert.equal(meta.state.findApp('t'), undefined);
    for (const [index, config] of meta.state.partitionsOf(1).entries()) {
      assert.equal(config.ballot, before[index]!.ballot + 1);
      assert.equal(config.primary, '');
      assert.deepEqual(config.secondaries, []);
      assert.deepEqual([...config.lastDrops].sort(), [before[index]!.primary, ...before[index]!.secondaries].sort());
      assert.equal(config.partitionFlags & PARTITION_FLAG_DROPPED, PARTITION_FLAG_DROPPED);
    }
    assert.equal(appInfoFromJson((await meta.store.get('/pegasus/test/apps/1'))!.toString()).status, 'AS_DROPPED');
    assert.equal(meta.state.queryConfiguration('t').err, 'ERR_OBJECT_NOT_FOUND');
    // The name can be used again; ids are never reused.
    assert.equal((await meta.state.createApp({ appName: 't', ...create })).appId, 2);
  });

  it('answers ERR_APP_NOT_EXIST for an unknown table unless success_if_not_exist', async () => {
    const meta = await createMetaHarness();
    assert.equal((await meta.state.dropApp({ appName: 'nope' })).err, 'ERR_APP_NOT_EXIST');
    assert.equal((await meta.state.dropApp({ appName: 'nope', successIfNotExist: true })).err, 'ERR_OK');
  });

  it('uses reserve_seconds instead of hold_seconds_for_dropped_app when given', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 't', ...create });
    await meta.state.dropApp({ appName: 't', reserveSeconds: 60 });
    const app = meta.state.getApp(1)!;
    assert.equal(app.expireSecond - app.dropSecond, 60);
  });

  it('recalls within the window, optionally renamed, and the replicas come back from last_drops', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 't', ...create });
    await meta.settle();
    await meta.state.dropApp({ appName: 't' });
    const dropped = meta.state.partitionsOf(1);

    assert.equal((await meta.state.recallApp({ appId: 9 })).err, 'ERR_APP_NOT_EXIST');
    await meta.state.createApp({ appName: 't', ...create });
    const taken = await meta.state.recallApp({ appId: 1 });
    assert.equal(taken.err, 'ERR_INVALID_PARAMETERS');
    assert.match(taken.hintMessage, /already in use/);
    assert.equal((await meta.state.recallApp({ appId: 2 })).err, 'ERR_APP_EXIST');

    // The replica servers report what they still hold for the dropped table.
    for (const node of HARNESS_NODES) {
      const stored = dropped.map((config) => ({
        gpid: config.gpid, ballot: config.ballot - 1, status: 'PS_INACTIVE' as const, lastCommittedDecree: 0,
        lastPreparedDecree: 0, lastDurableDecree: 0, appType: 'pegasus', diskTag: 'default',
      }));
      meta.state.onConfigSync(node, stored);
    }
    const recalled = await meta.state.recallApp({ appId: 1, newAppName: 't_old' });
    assert.equal(recalled.err, 'ERR_OK');
    assert.equal(recalled.info?.appName, 't_old');
    assert.equal(recalled.info?.status, 'AS_AVAILABLE');
    assert.equal(meta.state.findApp('t_old')?.appId, 1);
    for (const config of meta.state.partitionsOf(1)) assert.equal(config.partitionFlags & PARTITION_FLAG_DROPPED, 0);
    await meta.settle();
    for (const config of meta.state.partitionsOf(1)) {
      assert.notEqual(config.primary, '', `partition ${config.gpid.partitionIndex} has a primary again`);
      assert.equal(config.secondaries.length, 2);
    }
  });

  it('refuses to recall an expired table', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 't', ...create });
    await meta.state.dropApp({ appName: 't', reserveSeconds: 10 });
    meta.advance(10_000);
    const result = await meta.state.recallApp({ appId: 1 });
    assert.equal(result.err, 'ERR_APP_NOT_EXIST');
    assert.match(result.hintMessage, /expired/);
  });
});

describe('list_apps, rename_app, query_configuration', () => {
  it('filters by status and name', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 'a1', ...create });
    await meta.state.createApp({ appName: 'b2', ...create });
    await meta.state.createApp({ appName: 'a3', ...create });
    await meta.state.dropApp({ appName: 'b2' });
    const names = (filter: Parameters<MetaServerState['listApps']>[0]) => meta.state.listApps(filter).infos.map((app) => app.appName);
    assert.deepEqual(names({}), ['a1', 'b2', 'a3']);
    assert.deepEqual(names({ status: 'AS_AVAILABLE' }), ['a1', 'a3']);
    assert.deepEqual(names({ status: 'AS_DROPPED' }), ['b2']);
    assert.deepEqual(names({ namePattern: 'a', match: 'prefix' }), ['a1', 'a3']);
    assert.deepEqual(names({ namePattern: '3', match: 'postfix' }), ['a3']);
    assert.deepEqual(names({ namePattern: 'a1', match: 'exact' }), ['a1']);
  });

  it('renames available tables only, to free names', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 'x', ...create });
    await meta.state.createApp({ appName: 'y', ...create });
    assert.equal((await meta.state.renameApp('x', 'y')).err, 'ERR_INVALID_PARAMETERS');
    assert.equal((await meta.state.renameApp('nope', 'z')).err, 'ERR_APP_NOT_EXIST');
    assert.equal((await meta.state.renameApp('x', 'z')).err, 'ERR_OK');
    assert.equal(meta.state.findApp('z')?.appId, 1);
    assert.equal(meta.state.findApp('x'), undefined);
  });

  it('returns the configurations a client routes with', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 't', ...create });
    const all = meta.state.queryConfiguration('t');
    assert.equal(all.err, 'ERR_OK');
    assert.equal(all.appId, 1);
    assert.equal(all.partitionCount, 4);
    assert.equal(all.partitions.length, 4);
    const some = meta.state.queryConfiguration('t', [2, 7]);
    assert.deepEqual(some.partitions.map((config) => config.gpid.partitionIndex), [2]);
    // Only indices out of range: every partition, as Pegasus answers.
    assert.equal(meta.state.queryConfiguration('t', [9]).partitions.length, 4);
    // An error answer carries thrift's defaults (the Python client takes is_stateful as success).
    const missing = meta.state.queryConfiguration('nope');
    assert.deepEqual([missing.err, missing.appId, missing.partitionCount, missing.isStateful, missing.partitions], ['ERR_OBJECT_NOT_FOUND', 0, 0, false, []]);
  });
});

describe('update_app_env', () => {
  it('sets, deletes and clears envs with Pegasus error names', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 't', ...create });
    const set = (keys: string[], values: string[]) => meta.state.updateAppEnv({ appName: 't', op: 'SET', keys, values });
    assert.deepEqual(await set(['replica.slow_query_threshold', 'manual_compact.once.target_level'], ['100', '-1']), { err: 'ERR_OK', hintMessage: '' });
    assert.deepEqual(await set(['no.such.env'], ['1']), { err: 'ERR_INVALID_PARAMETERS', hintMessage: "app_env 'no.such.env' is not supported" });
    assert.deepEqual(await set(['replica.slow_query_threshold'], ['10']), { err: 'ERR_INVALID_PARAMETERS', hintMessage: "invalid value '10', should be '>= 20'" });
    assert.deepEqual(await set(['default_ttl'], ['abc']), { err: 'ERR_INVALID_PARAMETERS', hintMessage: "invalid value 'abc', should be an 32 bits integer" });
    assert.deepEqual(await set(['manual_compact.disabled'], ['yes']), { err: 'ERR_INVALID_PARAMETERS', hintMessage: "invalid value 'yes', should be a boolean" });
    assert.deepEqual(await set(['rocksdb.usage_scenario'], ['fast']), { err: 'ERR_INVALID_PARAMETERS', hintMessage: 'bulk_load | normal | prefer_write' });
    // Pegasus's hint for a bad value; a good value of an env Pteron does not act on is refused by name.
    assert.deepEqual(await set(['replica.write_throttling'], ['100*wait*100']), {
      err: 'ERR_INVALID_PARAMETERS', hintMessage: "'wait' should be 'delay' or 'reject'",
    });
    assert.deepEqual(await set(['replica.write_throttling'], ['100K*delay*100,200K*reject*100']), { err: 'ERR_OK', hintMessage: '' });
    assert.deepEqual(await set(['replica.backup_request_throttling'], ['100K*delay*100']), {
      err: 'ERR_INVALID_PARAMETERS',
      hintMessage: "app_env 'replica.backup_request_throttling' is not implemented by Pteron: backup requests (reads served by secondaries) are not implemented",
    });
    assert.equal((await set(['rocksdb.num_levels'], ['6'])).err, 'ERR_INVALID_PARAMETERS');
    assert.equal((await set(['replica.deny_client_request'], ['timeout*all'])).err, 'ERR_OK');
    assert.equal((await set(['a', 'b'], ['1'])).err, 'ERR_INVALID_PARAMETERS');
    assert.equal((await set([], [])).err, 'ERR_INVALID_PARAMETERS');
    // A failed SET changes nothing: the first key that fails stops the whole request.
    assert.equal((await set(['business.info', 'bad.key'], ['x', 'y'])).err, 'ERR_INVALID_PARAMETERS');
    assert.equal(meta.state.findApp('t')!.envs['business.info'], undefined);

    assert.deepEqual(meta.state.findApp('t')!.envs, {
      'manual_compact.once.target_level': '-1',
      'replica.deny_client_request': 'timeout*all',
      'replica.slow_query_threshold': '100',
      'replica.write_throttling': '100K*delay*100,200K*reject*100',
    });
    assert.equal((await meta.state.updateAppEnv({ appName: 't', op: 'DEL', keys: ['replica.deny_client_request', 'absent'] })).err, 'ERR_OK');
    assert.equal((await meta.state.updateAppEnv({ appName: 't', op: 'CLEAR', clearPrefix: 'replica' })).err, 'ERR_OK');
    assert.deepEqual(meta.state.findApp('t')!.envs, { 'manual_compact.once.target_level': '-1' });
    assert.equal((await meta.state.updateAppEnv({ appName: 't', op: 'CLEAR' })).err, 'ERR_OK');
    assert.deepEqual(meta.state.findApp('t')!.envs, {});
    assert.equal((await meta.state.updateAppEnv({ appName: 't', op: 'DEL', keys: [] })).err, 'ERR_INVALID_PARAMETERS');
    assert.deepEqual(await meta.state.updateAppEnv({ appName: 'nope', op: 'CLEAR' }), { err: 'ERR_APP_NOT_EXIST', hintMessage: 'app cannot be found' });
    // Persisted with the table.
    assert.deepEqual(appInfoFromJson((await meta.store.get('/pegasus/test/apps/1'))!.toString()).envs, {});
  });
});

describe('persistence and default tables', () => {
  it('loads tables, partitions and ballots back, and continues the id sequence', async () => {
    const store = new MemoryStateStore();
    const first = await createMetaHarness({ store });
    await first.state.createApp({ appName: 'a', ...create });
    await first.settle();
    await first.state.createApp({ appName: 'b', ...create });
    await first.state.dropApp({ appName: 'b' });
    const before = first.state.partitionsOf(1);
    await first.state.close();

    const second = await createMetaHarness({ store, nodes: [] });
    assert.deepEqual(second.state.partitionsOf(1), before);
    assert.equal(second.state.getApp(2)?.status, 'AS_DROPPED');
    assert.equal(second.state.findApp('b'), undefined);
    // Nodes named in the configurations count as alive until their grace runs out.
    assert.deepEqual([...second.state.aliveNodes()].sort(), [...HARNESS_NODES].sort());
    assert.equal((await second.state.createApp({ appName: 'c', ...create })).appId, 3);
  });

  it('creates the default tables on the first start only', async () => {
    const store = new MemoryStateStore();
    const first = await createMetaHarness({ store, defaultApps: ONEBOX_DEFAULT_APPS });
    const temp = first.state.findApp('temp')!;
    assert.equal(temp.appId, 1);
    assert.equal(temp.partitionCount, 8);
    assert.equal(temp.maxReplicaCount, 3);
    await first.state.dropApp({ appName: 'temp' });
    await first.state.close();
    const second = await createMetaHarness({ store, defaultApps: ONEBOX_DEFAULT_APPS });
    assert.equal(second.state.findApp('temp'), undefined);
    assert.equal(second.state.getApp(1)?.status, 'AS_DROPPED');
  });

  it('reads [meta_server.apps.<name>] sections', async () => {
    const config = loadConfig(undefined, [
      'meta_server.apps.temp.partition_count=8',
      'meta_server.apps.stat.app_name=stat',
      'meta_server.apps.stat.partition_count=4',
      'meta_server.apps.stat.max_replica_count=2',
      'meta_server.apps.stat.envs=business.info=x,default_ttl=3600',
      'meta_server.apps.stat.stateful=true',
    ]);
    const specs = defaultAppsFromConfig(config);
    assert.deepEqual(specs, [
      { appName: 'temp', appType: 'pegasus', partitionCount: 8, maxReplicaCount: 3, isStateful: true, envs: {} },
      { appName: 'stat', appType: 'pegasus', partitionCount: 4, maxReplicaCount: 2, isStateful: true, envs: { 'business.info': 'x', default_ttl: '3600' } },
    ]);
    const meta = await createMetaHarness({ defaultApps: specs });
    assert.deepEqual(meta.state.listAllApps().map((app) => [app.appId, app.appName, app.partitionCount]), [[1, 'temp', 8], [2, 'stat', 4]]);
    await assert.rejects(createMetaHarness({ defaultApps: [{ ...specs[0]!, partitionCount: 3 }] }), /default table "temp": partition count 3/);
  });
});

describe('function level', () => {
  it('is set and read like RPC_CM_CONTROL_META, and drops to freezed when too few nodes live', async () => {
    const meta = await createMetaHarness();
    assert.equal(meta.state.functionLevel, 'fl_steady');
    assert.deepEqual(meta.state.setFunctionLevel('fl_lively'), { err: 'ERR_OK', oldLevel: 'fl_steady' });
    assert.deepEqual(meta.state.setFunctionLevel('fl_invalid'), { err: 'ERR_OK', oldLevel: 'fl_lively' });
    assert.equal(meta.state.functionLevel, 'fl_lively');
    assert.equal(meta.state.effectiveFunctionLevel(), 'fl_lively');
    // Only two of three nodes keep sending beacons: below min_live_node_count_for_unfreeze (3).
    meta.advance(1000);
    await meta.beacon(NODE_A, NODE_B);
    meta.advance(1000);
    assert.deepEqual(await meta.state.checkNodes(), [NODE_C]);
    assert.equal(meta.state.functionLevel, 'fl_lively');
    assert.equal(meta.state.effectiveFunctionLevel(), 'fl_freezed');
  });
});

describe('configuration updates from replica servers', () => {
  async function placed() {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 't', partitionCount: 1, replicaCount: 3 });
    await meta.settle();
    return meta;
  }

  it('accepts ballot + 1 only, and treats a repeated update as done', async () => {
    const meta = await placed();
    const current = meta.state.partitionsOf(1)[0]!;
    const victim = current.secondaries[0]!;
    const next = { ...current, ballot: current.ballot + 1, secondaries: current.secondaries.filter((node) => node !== victim), lastDrops: [victim] };
    const skipped = await meta.state.onUpdateConfiguration({ config: { ...next, ballot: current.ballot + 2 }, type: 'CT_DOWNGRADE_TO_INACTIVE', node: victim });
    assert.ok(skipped !== 'ignored');
    assert.equal(skipped.err, 'ERR_INVALID_VERSION');
    assert.equal(skipped.config?.ballot, current.ballot);

    const wrong = await meta.state.onUpdateConfiguration({ config: { ...next, secondaries: [] }, type: 'CT_DOWNGRADE_TO_INACTIVE', node: victim });
    assert.ok(wrong !== 'ignored');
    assert.equal(wrong.err, 'ERR_INVALID_PARAMETERS');

    const done = await meta.state.onUpdateConfiguration({ config: { ...next, lastCommittedDecree: 42 }, type: 'CT_DOWNGRADE_TO_INACTIVE', node: victim });
    assert.ok(done !== 'ignored');
    assert.equal(done.err, 'ERR_OK');
    assert.equal(done.config?.ballot, current.ballot + 1);
    assert.equal(done.config?.lastCommittedDecree, 42);
    assert.deepEqual(done.config?.lastDrops, [victim]);
    // The guardian at once asks the primary to bring the replica count back.
    assert.deepEqual(done.proposals.map((proposal) => [proposal.type, proposal.target, proposal.node]), [['CT_ADD_SECONDARY', current.primary, victim]]);

    const again = await meta.state.onUpdateConfiguration({ config: next, type: 'CT_DOWNGRADE_TO_INACTIVE', node: victim });
    assert.ok(again !== 'ignored');
    assert.equal(again.err, 'ERR_OK');
    assert.equal(again.config?.ballot, current.ballot + 1);
  });

  it('is refused at freezed; waits for a write of the partition in flight, during which config sync of its nodes gets ERR_BUSY', async () => {
    const store = new GatedStore();
    const meta = await createMetaHarness({ store });
    await meta.state.createApp({ appName: 't', partitionCount: 1, replicaCount: 3 });
    const assign = meta.proposals.shift()!;
    meta.state.setFunctionLevel('fl_freezed');
    const frozen = await meta.state.onUpdateConfiguration({ config: assign.expected, type: assign.type, node: assign.node });
    assert.ok(frozen !== 'ignored');
    assert.equal(frozen.err, 'ERR_STATE_FREEZED');
    meta.state.setFunctionLevel('fl_steady');

    store.hold();
    const first = meta.state.onUpdateConfiguration({ config: assign.expected, type: assign.type, node: assign.node });
    const second = meta.state.onUpdateConfiguration({ config: assign.expected, type: assign.type, node: assign.node });
    await tick();
    // While the first is being written, config sync of the nodes it concerns is told to retry.
    assert.equal(meta.state.onConfigSync(assign.node, []).err, 'ERR_BUSY');
    const bystander = HARNESS_NODES.find((node) => node !== assign.node)!;
    assert.equal(meta.state.onConfigSync(bystander, []).err, 'ERR_OK');
    store.open();
    const [firstResult, secondResult] = await Promise.all([first, second]);
    assert.ok(firstResult !== 'ignored' && firstResult.err === 'ERR_OK');
    // The second arrived after the first landed: an identical config is an idempotent retry.
    assert.ok(secondResult !== 'ignored' && secondResult.err === 'ERR_OK');
  });
});

describe('config sync', () => {
  it('lists the node\'s partitions, refuses unknown nodes, and garbage-collects only at lively', async () => {
    const meta = await createMetaHarness();
    await meta.state.createApp({ appName: 'keep', partitionCount: 2, replicaCount: 3 });
    await meta.settle();
    await meta.state.createApp({ appName: 'gone', partitionCount: 1, replicaCount: 3 });
    await meta.state.dropApp({ appName: 'gone', reserveSeconds: 5 });
    assert.equal(meta.state.onConfigSync('10.0.0.9:1', []).err, 'ERR_OBJECT_NOT_FOUND');

    const replica = (appId: number, partitionIndex: number) => ({
      gpid: { appId, partitionIndex }, ballot: 1, status: 'PS_SECONDARY' as const, lastCommittedDecree: 0,
      lastPreparedDecree: 0, lastDurableDecree: 0, appType: 'pegasus', diskTag: 'default',
    });
    const stored = [replica(1, 0), replica(2, 0), replica(77, 3)];
    const steady = meta.state.onConfigSync(NODE_A, stored);
    assert.equal(steady.err, 'ERR_OK');
    assert.deepEqual(steady.partitions.map((entry) => [entry.info.appName, entry.config.gpid.partitionIndex]), [['keep', 0], ['keep', 1]]);
    assert.deepEqual(steady.gcReplicas, []);

    meta.state.setFunctionLevel('fl_lively');
    const gc = () => meta.state.onConfigSync(NODE_A, stored).gcReplicas.map((entry) => entry.gpid);
    assert.deepEqual(gc(), [{ appId: 77, partitionIndex: 3 }]);
    meta.advance(5000);
    assert.deepEqual(gc(), [{ appId: 2, partitionIndex: 0 }, { appId: 77, partitionIndex: 3 }]);
  });
});

/** A meta harness with table `t` of one partition, placed on three nodes. */
async function onePartition() {
  const meta = await createMetaHarness();
  await meta.state.createApp({ appName: 't', partitionCount: 1, replicaCount: 3 });
  await meta.settle();
  return meta;
}

/** `node`'s config sync, reporting its replica of t's partition 0. */
function reportReplica(
  meta: Awaited<ReturnType<typeof createMetaHarness>>, node: string, ballot: number, status: 'PS_INACTIVE' | 'PS_SECONDARY', committed: number, prepared = committed,
) {
  return meta.state.onConfigSync(node, [{
    gpid: { appId: 1, partitionIndex: 0 }, ballot, status, lastCommittedDecree: committed, lastPreparedDecree: prepared, lastDurableDecree: committed,
    appType: 'pegasus', diskTag: 'default',
  }]);
}

describe('dropped-member history', () => {
  it('forgets a node\'s report when it rejoins: the DDD choice waits for a report made after its next drop', async () => {
    const meta = await onePartition();
    const gpid = { appId: 1, partitionIndex: 0 };
    const change = async (type: ConfigType, node: string): Promise<void> => {
      const next = applyConfigChange(meta.state.partitionsOf(1)[0]!, type, node)!;
      const result = await meta.state.onUpdateConfiguration({ config: next, type, node });
      assert.ok(result !== 'ignored' && result.err === 'ERR_OK', `${type} of ${node}`);
      meta.proposals.length = 0; // the stand-in replica servers stay idle: this test moves the partition itself
    };
    const report = (node: string, ballot: number, decree: number) => reportReplica(meta, node, ballot, 'PS_INACTIVE', decree);
    const history = () => meta.state.droppedHistory(gpid).map((entry) => [entry.node, entry.ballot, entry.lastCommittedDecree]);
    const placed = meta.state.partitionsOf(1)[0]!;
    const primary = placed.primary;
    const [rejoining, other] = placed.secondaries as [string, string];

    // Out for a while, `rejoining` reports what it holds then; it is added again and catches up.
    await change('CT_DOWNGRADE_TO_INACTIVE', rejoining);
    report(rejoining, placed.ballot + 1, 50);
    assert.deepEqual(history(), [[rejoining, placed.ballot + 1, 50]]);
    await change('CT_ADD_SECONDARY', rejoining);
    assert.deepEqual(history(), [], 'a member has no dropped entry');

    // Every member leaves, `rejoining` last: it holds the most.
    await change('CT_DOWNGRADE_TO_INACTIVE', other);
    await change('CT_DOWNGRADE_TO_INACTIVE', primary);
    await change('CT_DOWNGRADE_TO_INACTIVE', rejoining);
    const dead = meta.state.partitionsOf(1)[0]!;
    assert.deepEqual(dead.lastDrops, [other, primary, rejoining]);
    assert.deepEqual(history(), [[other, -1, 0], [primary, -1, 0], [rejoining, -1, 0]], 'no report survives a rejoining');
    report(primary, dead.ballot - 1, 60);
    await meta.state.checkAllPartitions();
    // Its old report (decree 50) would have lost to the primary's, which holds less than it does now.
    assert.equal(meta.proposals.length, 0);
    assert.match(meta.state.dddDiagnose().partitions[0]?.reason ?? '', /have not both reported/);
    report(rejoining, dead.ballot, 100);
    await meta.state.checkAllPartitions();
    assert.deepEqual(meta.proposals.map((proposal) => [proposal.type, proposal.node]), [['CT_ASSIGN_PRIMARY', rejoining]]);
  });
});

describe('member reports', () => {
  it('promotes the secondary whose config sync reported the highest committed decree', async () => {
    const meta = await onePartition();
    const placed = meta.state.partitionsOf(1)[0]!;
    const [behind, ahead] = placed.secondaries as [string, string];
    assert.equal(reportReplica(meta, behind, placed.ballot, 'PS_SECONDARY', 90, 92).err, 'ERR_OK');
    assert.equal(reportReplica(meta, ahead, placed.ballot, 'PS_SECONDARY', 97, 99).err, 'ERR_OK');
    assert.deepEqual(meta.state.droppedHistory(placed.gpid), [], 'a member\'s report is not a dropped entry');
    const next = applyConfigChange(placed, 'CT_DOWNGRADE_TO_INACTIVE', placed.primary)!;
    const result = await meta.state.onUpdateConfiguration({ config: next, type: 'CT_DOWNGRADE_TO_INACTIVE', node: placed.primary });
    assert.ok(result !== 'ignored' && result.err === 'ERR_OK');
    meta.proposals.length = 0;
    await meta.state.checkAllPartitions();
    assert.deepEqual(meta.proposals.map((proposal) => [proposal.type, proposal.node]), [['CT_UPGRADE_TO_PRIMARY', ahead]]);
  });
});

describe('simple store end to end', () => {
  it('keeps tables across a restart on the file store', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const { openSimpleStore } = await import('../../src/meta/index.ts');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pteron-meta-state-'));
    try {
      let store: MetaStateStore = await openSimpleStore(dir);
      const first = await createMetaHarness({ store, defaultApps: ONEBOX_DEFAULT_APPS });
      await first.settle();
      const before = first.state.partitionsOf(1);
      await first.state.close();
      await store.close();
      store = await openSimpleStore(dir);
      const second = await createMetaHarness({ store, defaultApps: ONEBOX_DEFAULT_APPS });
      assert.deepEqual(second.state.partitionsOf(1), before);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
