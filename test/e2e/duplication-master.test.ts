// A master cluster whose primaries ship their writes to a second real cluster. The meta's
// duplication service is not part of this half, so the master's replica servers reach their
// meta through a test-only stand-in: a proxy that forwards every frame to the real meta and
// answers RPC_CM_DUPLICATION_SYNC itself, with table `temp` duplicated in DS_LOG to the
// follower's `temp` and the progress the replicas report kept as the confirmed decrees.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createClient, type PegasusClient } from '../../src/client/index.ts';
import {
  DuplicationFailMode, DuplicationStatus, encodeResponseFrame, encodeResult, decodeArgs, parseRequestFrame, parseResponseFrame, RPCS,
  type DuplicationEntry,
} from '../../src/wire/index.ts';
import { TestCluster } from '../helpers/data-plane.ts';
import { freePort, waitFor } from '../helpers/process.ts';

const PARTITIONS = 4;
const DUPID = 1_700_000_000;

/** Forwards frames to the meta at `metaPort()`; answers the duplication sync from `progress`. */
class DuplicationSyncStandIn {
  readonly progress = new Map<number, bigint>();
  appId = 0;
  syncs = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly metaPort: () => number) {
    this.server = net.createServer((client) => this.serve(client));
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  private dupMap(): Map<number, Map<number, DuplicationEntry>> {
    if (this.appId === 0) return new Map();
    const entry: DuplicationEntry = {
      dupid: DUPID, status: DuplicationStatus.DS_LOG, remote: 'follower', createTs: 0n, remoteAppName: 'temp',
      failMode: DuplicationFailMode.FAIL_SLOW, progress: new Map(Array.from({ length: PARTITIONS }, (_unused, index) => [index, this.progress.get(index) ?? 0n])),
    };
    return new Map([[this.appId, new Map([[DUPID, entry]])]]);
  }

  private serve(client: net.Socket): void {
    const meta = net.connect(this.metaPort(), '127.0.0.1');
    this.sockets.add(client).add(meta);
    let fromClient = Buffer.alloc(0);
    let fromMeta = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      fromClient = Buffer.concat([fromClient, chunk]);
      for (;;) {
        const parsed = parseRequestFrame(fromClient, 1 << 26);
        if (parsed.kind !== 'frame') break;
        const bytes = fromClient.subarray(0, parsed.bytes);
        fromClient = fromClient.subarray(parsed.bytes);
        const { frame } = parsed;
        if (frame.name !== RPCS.RPC_CM_DUPLICATION_SYNC.name) {
          meta.write(bytes);
          continue;
        }
        this.syncs += 1;
        const request = decodeArgs(RPCS.RPC_CM_DUPLICATION_SYNC.args, frame.args);
        for (const [gpid, confirms] of request.confirmList) {
          for (const confirm of confirms) {
            if (gpid.appId === this.appId && confirm.confirmedDecree > (this.progress.get(gpid.partitionIndex) ?? 0n)) this.progress.set(gpid.partitionIndex, confirm.confirmedDecree);
          }
        }
        const result = encodeResult(RPCS.RPC_CM_DUPLICATION_SYNC.result, { err: 'ERR_OK', dupMap: this.dupMap() });
        client.write(encodeResponseFrame('ERR_OK', frame.name, frame.seqid, result));
      }
    });
    // Whole response frames only, so that the stand-in's own answers never land inside one.
    meta.on('data', (chunk: Buffer) => {
      fromMeta = Buffer.concat([fromMeta, chunk]);
      for (;;) {
        const parsed = parseResponseFrame(fromMeta, 1 << 26);
        if (!parsed) break;
        client.write(fromMeta.subarray(0, parsed.bytes));
        fromMeta = fromMeta.subarray(parsed.bytes);
      }
    });
    const close = (): void => {
      client.destroy();
      meta.destroy();
    };
    client.on('error', close).on('close', close);
    meta.on('error', close).on('close', close);
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const follower = new TestCluster({ partitionCount: PARTITIONS, replicaSettings: ['duplication-group.follower=1', 'duplication-group.master=2', 'replication.cluster_name=follower'] });
let standIn: DuplicationSyncStandIn;
let master: TestCluster;
let masterClient: PegasusClient;
let followerClient: PegasusClient;

before(async () => {
  await follower.start();
  await follower.waitHealthy('temp', PARTITIONS);
  const standInPort = await freePort();
  master = new TestCluster({
    partitionCount: PARTITIONS,
    replicaSettings: [
      `meta_server.server_list=127.0.0.1:${standInPort}`,
      'replication.cluster_name=master',
      'duplication-group.follower=1',
      'duplication-group.master=2',
      `pegasus.clusters.follower=127.0.0.1:${follower.metaPort}`,
      'replication.duplication_sync_period_second=1',
    ],
  });
  standIn = new DuplicationSyncStandIn(() => master.metaPort);
  await standIn.listen(standInPort);
  await master.start();
  await master.waitHealthy('temp', PARTITIONS);
  masterClient = createClient({ metaServers: [`127.0.0.1:${master.metaPort}`], timeoutMs: 20_000 });
  followerClient = createClient({ metaServers: [`127.0.0.1:${follower.metaPort}`], timeoutMs: 20_000 });
});

after(async () => {
  await masterClient?.close();
  await followerClient?.close();
  await master?.stop();
  await standIn?.close();
  await follower.stop();
});

describe('a duplicating master', () => {
  test('ships its writes in DS_LOG to the follower table, byte for byte, and reports its progress', async () => {
    const table = await masterClient.openTable('temp');
    // Written before the duplication reaches the replicas: the stand-in confirms decree 0, so it is shipped too.
    await table.set('before', 's', 'shipped from decree 0');
    standIn.appId = table.appId;
    await waitFor('every primary running the duplication', async () => {
      const answers = await Promise.all(master.replicaPorts.map(async (port) => (await fetch(`http://127.0.0.1:${port}/replica/duplication?appid=${table.appId}`)).text()));
      const primaries = answers.flatMap((body) => (body.startsWith('{') ? Object.keys((JSON.parse(body) as Record<string, object>)[String(DUPID)] ?? {}) : []));
      return primaries.length === PARTITIONS;
    }, 60_000, 200);

    const binary = Buffer.from([0, 1, 2, 200, 255]);
    const written = new Map<string, Buffer>();
    for (let index = 0; index < 40; index++) {
      const value = Buffer.concat([binary, Buffer.from(String(index))]);
      await table.set(`hk${index}`, 'sk', value);
      written.set(`hk${index}`, value);
    }
    await table.multiSet('multi', [{ sortKey: 'a', value: 'A' }, { sortKey: 'b', value: 'B' }]);
    await table.del('hk0', 'sk');
    written.delete('hk0');

    const mirror = await followerClient.openTable('temp');
    await waitFor('the follower has every write', async () => {
      for (const [hashKey, value] of written) {
        const got = await mirror.get(hashKey, 'sk');
        if (got === undefined || !got.equals(value)) return false;
      }
      return (await mirror.get('multi', 'b'))?.toString() === 'B' && (await mirror.get('hk0', 'sk')) === undefined;
    }, 60_000, 200);
    assert.equal((await mirror.get('multi', 'a'))?.toString(), 'A');
    assert.equal((await mirror.get('before', 's'))?.toString(), 'shipped from decree 0');

    // The progress reaches the stand-in's confirmed decrees, and /replica/duplication shows the duplication.
    await waitFor('progress confirmed', () => [...standIn.progress.values()].reduce((sum, decree) => sum + decree, 0n) >= 43n, 60_000, 200);
    const bodies = await Promise.all(master.replicaPorts.map(async (port) => (await fetch(`http://127.0.0.1:${port}/replica/duplication?appid=${table.appId}`)).text()));
    const states = bodies.flatMap((body) => (body.startsWith('{') ? Object.values((JSON.parse(body) as Record<string, Record<string, Record<string, unknown>>>)[String(DUPID)]!) : []));
    assert.equal(states.length, PARTITIONS);
    for (const state of states) {
      assert.deepEqual(Object.keys(state), ['duplicating', 'fail_mode', 'not_confirmed_mutations_num', 'not_duplicated_mutations_num', 'remote_app_name']);
      assert.equal(state.duplicating, true);
      assert.equal(state.fail_mode, 'FAIL_SLOW');
      assert.equal(state.remote_app_name, 'temp');
    }
  });
});
