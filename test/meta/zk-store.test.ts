// The ZooKeeper meta state store, the leader lock and the session layer against a real
// ZooKeeper server (Debian's package, tickTime 500 ms), plus the pure helpers around them.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { log, PteronError } from '../../src/base/index.ts';
import { ensurePath, LeaderElection, lockNodeSequence, lockOrder, lockRootFrom, MetaServerState, parseStateServiceType, resolveStateServiceType, ZkError, ZkSession, ZooKeeperMetaGroup, ZooKeeperStateStore, type ElectionView } from '../../src/meta/index.ts';
import { createMetaHarness, HARNESS_FAILURE_DETECTOR } from '../helpers/meta-harness.ts';
import { MetaGroupTarget } from '../../src/cluster/index.ts';
import { zooCfg } from '../../src/meta/zk/server.ts';
import { startTestZooKeeper, zooKeeperSkipReason, type TestZooKeeper } from '../helpers/zookeeper.ts';
import { waitFor } from '../helpers/process.ts';

log.level = 'warn';

const data = (text: string): Buffer => Buffer.from(text);
// The longest session the test ZooKeeper grants (20 ticks): a loaded machine never loses a session
// by pausing, and "at once" below means far sooner than a session timeout.
const SESSION_TIMEOUT_MS = 10_000;
/** How long the waits for elections, hand-overs and ZooKeeper's state may take before they count as hung. */
const SETTLE_MS = 30_000;

/** Whether every thread of `pid` is stopped (Linux /proc; elsewhere: after a short pause). */
async function processStopped(pid: number): Promise<boolean> {
  let threads: string[];
  try {
    threads = await readdir(`/proc/${pid}/task`);
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return true;
  }
  for (const thread of threads) {
    const stat = await readFile(`/proc/${pid}/task/${thread}/stat`, 'utf8').catch(() => '');
    // The state is the first field after the parenthesised command name.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state !== '' && state !== 'T' && state !== 't') return false;
  }
  return true;
}

function errorCode(error: unknown): string {
  return error instanceof PteronError ? error.code : `not a PteronError: ${String(error)}`;
}

describe('pure helpers', () => {
  it('picks the state store from the flag and the number of metas', () => {
    assert.equal(resolveStateServiceType('', 1), 'simple');
    assert.equal(resolveStateServiceType('', 3), 'zookeeper');
    assert.equal(resolveStateServiceType('simple', 3), 'simple');
    assert.equal(resolveStateServiceType('meta_state_service_zookeeper', 1), 'zookeeper');
    assert.equal(resolveStateServiceType('meta_state_service_simple', 2), 'simple');
    assert.equal(parseStateServiceType('etcd'), undefined);
    assert.throws(() => resolveStateServiceType('etcd', 1), /not simple or zookeeper/);
  });

  it('orders lock nodes by sequence and finds the lock root', () => {
    assert.equal(lockNodeSequence('LOCKNODE0000000042'), 42);
    assert.equal(lockNodeSequence('other'), undefined);
    assert.deepEqual(lockOrder(['LOCKNODE0000000010', 'x', 'LOCKNODE0000000002', 'LOCKNODE0000000007']), [
      'LOCKNODE0000000002', 'LOCKNODE0000000007', 'LOCKNODE0000000010',
    ]);
    assert.equal(lockRootFrom('', '/pegasus/c1'), '/pegasus/c1');
    assert.equal(lockRootFrom('/pegasus/onebox/lock/', '/pegasus/c1'), '/pegasus/onebox/lock');
    assert.equal(lockRootFrom('/a,extra', '/'), '/a');
  });

  it('MetaGroupTarget follows the named primary and cycles through the list when a meta is unreachable', () => {
    const target = new MetaGroupTarget(['h:1', 'h:2', 'h:3']);
    assert.equal(target.current, 'h:1');
    assert.equal(target.redirected('h:3'), 'h:3');
    assert.equal(target.redirected('h:3'), 'h:3', 'a meta naming itself is becoming the primary: stay');
    assert.equal(target.unreachable(), 'h:1');
    assert.equal(target.redirected(undefined), 'h:2', 'a backup that knows no primary: try the next');
    assert.equal(target.redirected('elsewhere:9'), 'elsewhere:9', 'a primary outside the list is followed');
    assert.equal(target.unreachable(), 'h:2', 'and forgotten when it fails');
  });
});

describe('the ZooKeeper server config', () => {
  it('writes a zoo.cfg on one loopback port with the admin server off', () => {
    const text = zooCfg({ dataDir: '/d', host: '127.0.0.1', port: 2181, tickTimeMs: 500 });
    for (const line of ['tickTime=500', 'dataDir=/d', 'clientPort=2181', 'clientPortAddress=127.0.0.1', 'admin.enableServer=false']) {
      assert.ok(text.split('\n').includes(line), line);
    }
    assert.match(text, /^4lw\.commands\.whitelist=.*srvr/m);
  });
});

describe('ZooKeeper state store, election and session', { skip: zooKeeperSkipReason() }, () => {
  let zk: TestZooKeeper;
  let store: ZooKeeperStateStore;
  let rootCounter = 0;
  const freshRoot = async (): Promise<string> => {
    const root = `/pteron-test/case-${++rootCounter}`;
    await ensurePath(store, root);
    return root;
  };

  before(async () => {
    zk = await startTestZooKeeper();
    store = await ZooKeeperStateStore.connect({ hosts: zk.hostsList, sessionTimeoutMs: SESSION_TIMEOUT_MS, root: '/pteron-test' });
  });

  after(async () => {
    await store?.close();
    await zk?.destroy();
  });

  it('has ZooKeeper semantics: parents must exist, no duplicate creates, non-recursive delete of a parent fails', async () => {
    const root = await freshRoot();
    await store.create(`${root}/a`, data('1'));
    await assert.rejects(store.create(`${root}/a`, data('2')), (error) => errorCode(error) === 'ERR_NODE_ALREADY_EXIST');
    await assert.rejects(store.create(`${root}/x/y`, data('')), (error) => errorCode(error) === 'ERR_OBJECT_NOT_FOUND');
    await assert.rejects(store.set(`${root}/nope`, data('')), (error) => errorCode(error) === 'ERR_OBJECT_NOT_FOUND');
    await assert.rejects(store.delete(`${root}/nope`), (error) => errorCode(error) === 'ERR_OBJECT_NOT_FOUND');
    await assert.rejects(store.children(`${root}/nope`), (error) => errorCode(error) === 'ERR_OBJECT_NOT_FOUND');
    await store.create(`${root}/a/b`, data('b'));
    await assert.rejects(store.delete(`${root}/a`), (error) => errorCode(error) === 'ERR_DIR_NOT_EMPTY');
    assert.deepEqual(await store.children(root), ['a']);
    assert.deepEqual(await store.children(`${root}/a`), ['b']);
    assert.equal((await store.get(`${root}/a/b`))?.toString(), 'b');
    assert.equal(await store.get(`${root}/a/c`), undefined);
    await store.set(`${root}/a`, data('2'));
    assert.equal((await store.get(`${root}/a`))?.toString(), '2');
    await store.create(`${root}/a/b/c`, data(''));
    await store.delete(`${root}/a`, true);
    assert.equal(await store.exists(`${root}/a`), false);
    assert.equal(await store.exists(`${root}/a/b`), false);
    assert.deepEqual(await store.children(root), []);
    // An empty node reads back as empty data, not as missing.
    await store.create(`${root}/empty`, Buffer.alloc(0));
    assert.deepEqual(await store.get(`${root}/empty`), Buffer.alloc(0));
  });

  it('applies a batch atomically: a failing op undoes the ones before it', async () => {
    const root = await freshRoot();
    await store.create(`${root}/keep`, data('old'));
    await assert.rejects(
      store.multi([
        { op: 'set', path: `${root}/keep`, data: data('new') },
        { op: 'create', path: `${root}/n`, data: data('') },
        { op: 'create', path: `${root}/n/m`, data: data('') },
        { op: 'delete', path: `${root}/keep` },
        { op: 'create', path: `${root}/n`, data: data('dup') },
      ]),
      (error) => errorCode(error) === 'ERR_NODE_ALREADY_EXIST' && /\/n already exists/.test((error as Error).message),
    );
    assert.equal((await store.get(`${root}/keep`))?.toString(), 'old');
    assert.equal(await store.exists(`${root}/n`), false);
    assert.deepEqual(await store.children(root), ['keep']);
    // A batch may create a node and then its child, and delete a subtree.
    await store.multi([
      { op: 'create', path: `${root}/t`, data: data('t') },
      { op: 'create', path: `${root}/t/1`, data: data('1') },
      { op: 'delete', path: `${root}/keep`, recursive: true },
    ]);
    assert.deepEqual(await store.children(root), ['t']);
    assert.equal(store.writeIncidents, 0);
  });

  it('rejects malformed paths, oversized data and root changes like the other stores', async () => {
    for (const bad of ['', 'a', '/a/', '//a', '/a//b', '/a/../b']) {
      await assert.rejects(store.create(bad, data('')), (error) => errorCode(error) === 'ERR_INVALID_PARAMETERS');
    }
    const root = await freshRoot();
    await assert.rejects(store.create(`${root}/big`, Buffer.alloc(1024 * 1024 + 1)), /more than/);
    await assert.rejects(store.delete('/'), (error) => errorCode(error) === 'ERR_INVALID_PARAMETERS');
    // ZooKeeper's own node is not part of the meta tree.
    assert.ok(!(await store.children('/')).includes('zookeeper'));
  });

  it('lists children in byte order and describes itself as zookeeper_hosts / zookeeper_root', async () => {
    const root = await freshRoot();
    for (const name of ['b', '10', '2', 'a', 'B']) await store.create(`${root}/${name}`, data(''));
    assert.deepEqual(await store.children(root), ['10', '2', 'B', 'a', 'b']);
    assert.deepEqual(store.describe(), [
      ['zookeeper_hosts', zk.hostsList],
      ['zookeeper_root', '/pteron-test'],
    ]);
  });

  it('splits a batch larger than one multi into several, in order', async () => {
    const root = await freshRoot();
    const small = new ZooKeeperStateStore({ session: store.session, root, multiBytesMax: 2048 });
    const ops = [{ op: 'create' as const, path: `${root}/t`, data: data('') }];
    for (let index = 0; index < 64; index++) ops.push({ op: 'create', path: `${root}/t/${index}`, data: Buffer.alloc(100, 1) });
    await small.multi(ops);
    assert.equal((await store.children(`${root}/t`)).length, 64);
    await small.delete(`${root}/t`, true);
    assert.equal(await store.exists(`${root}/t`), false);
  });

  it('serves a second session the committed state (a meta state survives the meta)', async () => {
    const harness = await createMetaHarness({ store, clusterRoot: '/pteron-test/meta-a' });
    const created = await harness.state.createApp({ appName: 'orders', partitionCount: 4, replicaCount: 3 });
    assert.equal(created.err, 'ERR_OK');
    await harness.settle();
    const configs = harness.state.partitionsOf(created.appId);
    assert.ok(configs.every((config) => config.primary !== ''), 'every partition got a primary');
    await harness.state.close();

    const other = await ZooKeeperStateStore.connect({ hosts: zk.hostsList, sessionTimeoutMs: SESSION_TIMEOUT_MS, root: '/pteron-test' });
    try {
      const reopened = await MetaServerState.open({ store: other, clusterRoot: '/pteron-test/meta-a', failureDetector: HARNESS_FAILURE_DETECTOR });
      assert.deepEqual(reopened.listAllApps().map((app) => [app.appId, app.appName, app.status]), [[created.appId, 'orders', 'AS_AVAILABLE']]);
      assert.deepEqual(reopened.partitionsOf(created.appId), configs);
      // Every stored member counts alive from the load, so nothing is declared dead before a full grace period.
      assert.deepEqual(await reopened.checkNodes(), []);
      await reopened.close();
    } finally {
      await other.close();
    }
  });

  it('elects exactly one leader; the next contender takes over when it leaves', async () => {
    const lockRoot = await freshRoot();
    const sessions = ['h:1', 'h:2', 'h:3'].map(() => ZkSession.open({ hosts: zk.hostsList, sessionTimeoutMs: SESSION_TIMEOUT_MS }));
    const elections = sessions.map((session, index) => new LeaderElection({ session, lockRoot, self: `h:${index + 1}` }));
    const views: ElectionView[][] = elections.map(() => []);
    try {
      for (const session of sessions) await session.waitConnected(SETTLE_MS);
      for (let index = 0; index < elections.length; index++) {
        elections[index]!.on('change', (view: ElectionView) => views[index]!.push(view));
        elections[index]!.start();
        // Enter one after the other, so the lock order is the start order.
        await waitFor(`election ${index} entered`, () => elections[index]!.lockNode !== undefined, SETTLE_MS, 10);
      }
      await waitFor('a leader and two followers who know it', () =>
        elections[0]!.isLeader && elections.slice(1).every((election) => !election.isLeader && election.leader === 'h:1'), SETTLE_MS, 10);
      const children = await store.children(elections[0]!.lockDir);
      assert.equal(children.length, 3);
      for (const name of children) assert.match(name, /^LOCKNODE\d{10}$/);
      assert.equal((await store.get(`${elections[0]!.lockDir}/${elections[1]!.lockNode}`))?.toString(), 'h:2');

      // The leader leaves (its session ends): the next in line leads, the last one follows it.
      const leftAt = Date.now();
      await sessions[0]!.close();
      await waitFor('h:2 leads', () => elections[1]!.isLeader, SETTLE_MS, 5);
      const takeoverMs = Date.now() - leftAt;
      await waitFor('h:3 follows h:2', () => elections[2]!.leader === 'h:2', SETTLE_MS, 5);
      // A clean leave deletes the lock node at once; waiting for the session to expire would take its full timeout.
      assert.ok(takeoverMs < SESSION_TIMEOUT_MS / 2, `takeover after a clean leave took ${takeoverMs} ms`);
      assert.deepEqual(elections.map((election) => election.isLeader), [false, true, false]);
      assert.equal(elections[0]!.leader, undefined, 'without its session a meta knows no leader');
      assert.deepEqual((await store.children(elections[0]!.lockDir)).length, 2);
      assert.deepEqual(views[1], [{ role: 'follower', leader: 'h:1' }, { role: 'leader' }]);

      // A follower leaving changes nothing for the leader.
      await elections[2]!.stop();
      assert.ok(elections[1]!.isLeader);
    } finally {
      for (const election of elections) await election.stop().catch(() => {});
      for (const session of sessions) await session.close();
    }
  });

  it('counts a write that went unanswered as an incident (its outcome is unknown)', async () => {
    const root = await freshRoot();
    const session = ZkSession.open({ hosts: zk.hostsList, sessionTimeoutMs: SESSION_TIMEOUT_MS, opTimeoutMs: 300, heartbeat: false });
    try {
      await session.waitConnected(SETTLE_MS);
      await session.create(`${root}/n`, data('0'));
      process.kill(zk.pid, 'SIGSTOP');
      // The signal is only queued when kill returns: wait until every thread of the server is stopped.
      await waitFor('ZooKeeper stopped', () => processStopped(zk.pid), SETTLE_MS, 5);
      try {
        await assert.rejects(session.setData(`${root}/n`, data('1')), (error: unknown) => error instanceof ZkError && error.code === 'TIMEOUT');
        await assert.rejects(session.getData(`${root}/n`), (error: unknown) => error instanceof ZkError && error.code === 'TIMEOUT');
        assert.equal(session.uncertainWrites, 1, 'only the write counts');
      } finally {
        process.kill(zk.pid, 'SIGCONT');
      }
      // The answer that came late does not resurrect the request; the data shows what happened.
      await waitFor('the set landed after all', async () => (await session.getData(`${root}/n`))?.toString() === '1', SETTLE_MS, 20);
    } finally {
      await session.close();
    }
  });

  it('a meta group takes the lock, loads, and reloads its state after a write incident', async () => {
    const root = await freshRoot();
    let opens = 0;
    let stops = 0;
    const group = new ZooKeeperMetaGroup({
      hosts: zk.hostsList, sessionTimeoutMs: SESSION_TIMEOUT_MS, root, lockRoot: root, self: 'h:1', incidentCheckMs: 50,
      openPrimary: async (groupStore) => {
        opens++;
        await ensurePath(groupStore, `${root}/apps`);
        return { stop: async () => void stops++ };
      },
    });
    const backup = new ZooKeeperMetaGroup({
      hosts: zk.hostsList, sessionTimeoutMs: SESSION_TIMEOUT_MS, root, lockRoot: root, self: 'h:2',
      openPrimary: async () => ({ stop: async () => {} }),
    });
    try {
      assert.equal(group.standing().kind, 'backup');
      group.start();
      await waitFor('h:1 is the primary', () => group.standing().kind === 'primary', SETTLE_MS, 10);
      backup.start();
      await waitFor('h:2 follows h:1', () => {
        const standing = backup.standing();
        return standing.kind === 'backup' && standing.leader === 'h:1';
      }, SETTLE_MS, 10);
      assert.equal(opens, 1);
      group.session!.uncertainWrites++;
      await waitFor('reloaded', () => opens === 2 && group.standing().kind === 'primary', SETTLE_MS, 10);
      assert.equal(stops, 1);
      assert.equal(group.terms, 2);
      // Leaving hands the lock over.
      await group.stop();
      assert.equal(stops, 2);
      await waitFor('h:2 takes over', () => backup.standing().kind === 'primary', SETTLE_MS, 10);
    } finally {
      await group.stop();
      await backup.stop();
    }
  });

  it('refuses writes at once while ZooKeeper is down, keeps the session through a restart, and writes again', async () => {
    const root = await freshRoot();
    const session = store.session;
    const sessionId = session.sessionId;
    await zk.kill('SIGKILL');
    await waitFor('the session notices', () => !store.writable, SETTLE_MS, 10);
    const startedAt = Date.now();
    await assert.rejects(store.create(`${root}/while-down`, data('')), (error) => errorCode(error) === 'ERR_ZOOKEEPER_OPERATION' && /not connected/.test((error as Error).message));
    await assert.rejects(store.get(`${root}`), (error) => errorCode(error) === 'ERR_ZOOKEEPER_OPERATION');
    // Waiting would take an operation timeout (the session timeout) per request.
    assert.ok(Date.now() - startedAt < SESSION_TIMEOUT_MS / 2, 'refused without waiting');
    await zk.restart();
    await session.waitConnected(SETTLE_MS);
    assert.equal(session.sessionId, sessionId, 'the session survived the restart');
    await store.create(`${root}/after`, data('ok'));
    assert.equal((await store.get(`${root}/after`))?.toString(), 'ok');
    assert.equal(await store.exists(`${root}/while-down`), false);
    assert.equal(store.writeIncidents, 0);
  });
});
