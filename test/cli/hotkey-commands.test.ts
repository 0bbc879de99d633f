// The shell's detect_hotkey against an in-memory meta (the node list) and a real RPC server on
// 127.0.0.1 answering RPC_DETECT_HOTKEY from real collectors: its checks, Pegasus's messages on
// stdout and stderr, and what it sends.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createShellSession, type MetaCaller, type MetaReply } from '../../src/cli/shell/index.ts';
import { registerTypedRpc } from '../../src/net/index.ts';
import { HotkeyDetectors, type CollectorSettings } from '../../src/replica/hotkey/index.ts';
import { createServer, type PteronServer } from '../../src/server/index.ts';
import { DetectAction, HotkeyType, NodeStatus, RPCS, type CallDefinition, type DetectHotkeyRequest } from '../../src/wire/index.ts';

const settings: CollectorSettings = {
  bucketCount: 37, fineQueueMax: 1000, hotBucketThreshold: () => 7, hotKeyThreshold: () => 5, maxSecondsToDetect: () => 150, nowSeconds: () => 0,
};

describe('detect_hotkey', () => {
  let server: PteronServer;
  let address = '';
  const replica = {};
  const detectors = new HotkeyDetectors({ find: (appId, partitionIndex) => (appId === 3 && partitionIndex === 1 ? replica : undefined) }, settings);
  const received: DetectHotkeyRequest[] = [];

  before(async () => {
    server = createServer({ role: 'replica', port: 0 });
    registerTypedRpc(server.rpc, RPCS.RPC_DETECT_HOTKEY, (request) => {
      received.push(request);
      return detectors.handle(request);
    });
    address = `127.0.0.1:${await server.start()}`;
  });
  after(() => server.close());

  function shell(listNodes: () => MetaReply<any> = () => ({
    err: 'ERR_OK', response: { err: 'ERR_OK', infos: [{ status: NodeStatus.NS_ALIVE, node: parseAddress(address), hpNode: parseAddress(address) }] },
  })) {
    const meta: MetaCaller = {
      async call<A, R extends { err: string }>(rpc: CallDefinition<A, R>): Promise<MetaReply<R>> {
        assert.equal(rpc.name, 'RPC_CM_LIST_NODES');
        return listNodes();
      },
      async close() {},
    };
    let out = '';
    let err = '';
    const session = createShellSession(meta, { out: (text) => (out += text), err: (text) => (err += text) }, {
      sleep: async () => {}, readyPollMs: 1, readyWaitMs: 1, version: 'test',
    });
    return async (line: string) => {
      out = '';
      err = '';
      const result = await session.runLine(line);
      return { result, out, err };
    };
  }
  const parseAddress = (text: string) => ({ host: text.split(':')[0]!, port: Number(text.split(':')[1]) });

  test('start, query and stop print Pegasus\'s lines; the replica\'s refusals go to stderr with its hint', async () => {
    const run = shell();
    assert.deepEqual(await run(`detect_hotkey -a 3 -p 1 -t write -c start -d ${address}`), {
      result: 'ok', err: '',
      out: `Hotkey detection is starting, using 'detect_hotkey -a 3 -p 1 -t write -c query -d ${address}' to get the result later\n`,
    });
    assert.deepEqual(received.at(-1), { type: HotkeyType.WRITE, action: DetectAction.START, pid: { appId: 3, partitionIndex: 1 } });
    assert.deepEqual(await run(`detect_hotkey --app_id 3 --partition_index 1 --hotkey_type WRITE --hotkey_action start --address ${address}`), {
      result: 'failed', out: '',
      err: 'Hotkey detection performed failed, in 3.1, error_hint:ERR_BUSY still detecting replication::hotkey_type::WRITE hotkey, state is hotkey_collector_state::COARSE_DETECTING\n',
    });
    assert.deepEqual(await run(`detect_hotkey -a 3 -p 1 -t write -c query -d ${address}`), {
      result: 'failed', out: '',
      err: "Hotkey detection performed failed, in 3.1, error_hint:ERR_BUSY Can't get hotkey now, now state: hotkey_collector_state::COARSE_DETECTING\n",
    });
    for (let period = 0; period < 2; period++) {
      for (let count = 0; count < 90; count++) detectors.onWrite(replica, 'RPC_RRDB_RRDB_MULTI_PUT', { hashKey: Buffer.from('hot"key'), kvs: [{}] }, { error: 0 });
      for (let count = 0; count < 10; count++) detectors.onWrite(replica, 'RPC_RRDB_RRDB_MULTI_PUT', { hashKey: Buffer.from(`cold${count}`), kvs: [{}] }, { error: 0 });
      detectors.analyse();
    }
    assert.deepEqual(await run(`detect_hotkey -a 3 -p 1 -t write -c query -d ${address}`), { result: 'ok', err: '', out: 'Find write hotkey in 3.1 result:hot\\"key\n' });
    assert.deepEqual(await run(`detect_hotkey -a 3 -p 1 -t write --detect_action stop -d ${address}`), { result: 'ok', err: '', out: 'Hotkey detection is stopped now\n' });
    assert.deepEqual(await run(`detect_hotkey -a 3 -p 9 -t read -c start -d ${address}`), {
      result: 'failed', out: '', err: 'Hotkey detection performed failed, in 3.9, error_hint:ERR_OBJECT_NOT_FOUND not find the replica 3.9 \n\n',
    });
  });

  test('bad options are refused before anything is sent, as Pegasus\'s shell words them', async () => {
    const run = shell();
    const sent = received.length;
    const refused = async (line: string, err: string) => {
      const answer = await run(line);
      assert.equal(answer.result, 'usage', line);
      assert.equal(answer.err, err, line);
      assert.match(answer.out, /^USAGE: \tdetect_hotkey +<-a\|--app_id num> <-p\|--partition_index num>\n[^]*<-c\|--detect_action start\|stop\|query>[^]*<-d\|--address str>\n$/);
    };
    await refused(`detect_hotkey -a x -p 1 -t read -c start -d ${address}`, '"x" is an invalid num\n');
    await refused(`detect_hotkey -p 1 -t read -c start -d ${address}`, '"" is an invalid num\n');
    await refused(`detect_hotkey -a 3 -p 1.5 -t read -c start -d ${address}`, '"1.5" is an invalid num\n');
    await refused(`detect_hotkey -a 3 -p 1 -t scan -c start -d ${address}`, '"scan" is an invalid hotkey type (should be \'read\' or \'write\')\n');
    await refused(`detect_hotkey -a 3 -p 1 -t constructor -c start -d ${address}`, '"constructor" is an invalid hotkey type (should be \'read\' or \'write\')\n');
    await refused(`detect_hotkey -a 3 -p 1 -t read -c pause -d ${address}`, '"pause" is an invalid hotkey detect action (should be \'start\' or \'stop\')\n');
    await refused('detect_hotkey -a 3 -p 1 -t read -c start -d nowhere', "invalid host:port 'nowhere', can't transform it into host_port\n");
    await refused('detect_hotkey -a 3 -p 1 -t read -c start -d 127.0.0.1:1', "invalid host:port '127.0.0.1:1', can't find it in the cluster\n");
    await refused(`detect_hotkey -a 3 -p 1 -t read -c start -x -d ${address}`, "ERROR: unknown option '-x'\n");
    const noMeta = shell(() => ({ err: 'ERR_NETWORK_FAILURE', response: undefined }));
    const answer = await noMeta(`detect_hotkey -a 3 -p 1 -t read -c start -d ${address}`);
    assert.equal(answer.err, 'list nodes failed, error=ERR_NETWORK_FAILURE\n');
    assert.equal(received.length, sent);
  });

  test('a server that does not answer is a sending failure', async () => {
    const silent = createServer({ role: 'replica', port: 0 });
    const silentAddress = `127.0.0.1:${await silent.start()}`;
    await silent.close();
    const run = shell(() => ({
      err: 'ERR_OK', response: { err: 'ERR_OK', infos: [{ status: NodeStatus.NS_ALIVE, node: parseAddress(silentAddress) }] },
    }));
    const answer = await run(`detect_hotkey -a 3 -p 1 -t read -c query -d ${silentAddress}`);
    assert.equal(answer.result, 'failed');
    assert.match(answer.err, /^Hotkey detection rpc sending failed, in 3\.1, error_hint:ERR_[A-Z_]+\n$/);
  });
});
