// Data-plane test helpers: a cluster of real processes (one meta, three replica servers), a raw
// THFT connection that writes request frames exactly as built with encodeRequestFrameV0, and a
// table router that asks the meta for the partition configuration and routes by crc64 the way
// the official clients do.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { compositeKeyHash, formatHostPort, hashKeyHash, partitionIndexOf } from '../../src/base/index.ts';
import {
  decodeResult, encodeArgs, encodeRequestFrameV0, parseResponseFrame, RPCS, type ResponseFrame, type RpcArgs, type RpcName, type RpcResult,
} from '../../src/wire/index.ts';
import { freePort, startPteron, waitFor, type RunningProcess } from './process.ts';

/** One TCP connection speaking THFT: pipelined requests, replies matched by seqid. */
export class RawConnection {
  private readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private readonly pending = new Map<number, (frame: ResponseFrame) => void>();
  private nextSeqid = 1;
  private closedWith: Error | undefined;
  readonly ready: Promise<void>;

  constructor(readonly port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      for (;;) {
        const parsed = parseResponseFrame(this.buffered, 1 << 28);
        if (!parsed) break;
        this.buffered = this.buffered.subarray(parsed.bytes);
        const resolve = this.pending.get(parsed.frame.seqid);
        this.pending.delete(parsed.frame.seqid);
        resolve?.(parsed.frame);
      }
    });
    this.socket.on('error', (error) => (this.closedWith = error));
    this.socket.on('close', () => {
      this.closedWith ??= new Error('connection closed');
      for (const [seqid] of this.pending) this.pending.delete(seqid);
    });
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends raw bytes (possibly not a frame at all). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a request frame and resolves with the reply (or rejects after `timeoutMs`). */
  async request(
    name: string,
    args: Buffer,
    target: { appId?: number; partitionIndex?: number; partitionHash?: bigint } = {},
    timeoutMs = 10000,
  ): Promise<ResponseFrame> {
    await this.ready;
    if (this.closedWith) throw this.closedWith;
    const seqid = this.nextSeqid++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seqid);
        reject(new Error(`${name} seqid ${seqid}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seqid, (frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
      this.socket.write(encodeRequestFrameV0(name, seqid, args, target));
    });
  }

  /** Sends a request that expects no reply; returns its seqid. */
  async send(name: string, args: Buffer, target: { appId?: number; partitionIndex?: number; partitionHash?: bigint; oneway?: boolean } = {}): Promise<number> {
    await this.ready;
    const seqid = this.nextSeqid++;
    this.socket.write(encodeRequestFrameV0(name, seqid, args, target));
    return seqid;
  }

  /** True if a reply with `seqid` arrives within `ms`. */
  async repliedWithin(seqid: number, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(seqid);
        resolve(false);
      }, ms);
      this.pending.set(seqid, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface TypedReply<R> {
  error: string;
  result: R | undefined;
}

/** Encodes args, sends, decodes the reply of an RPC from the table. */
export async function callRaw<N extends RpcName>(
  connection: RawConnection,
  name: N,
  args: RpcArgs<N>,
  target: { appId?: number; partitionIndex?: number; partitionHash?: bigint } = {},
): Promise<TypedReply<RpcResult<N>>> {
  const definition = RPCS[name];
  const frame = await connection.request(name, encodeArgs(definition.args as never, args as never), target);
  if (frame.error !== 'ERR_OK' || !definition.result) return { error: frame.error, result: undefined };
  return { error: frame.error, result: decodeResult(definition.result as never, frame.result) as RpcResult<N> };
}

export interface PartitionView {
  pidx: number;
  ballot: number;
  primary: string;
  secondaries: string[];
}

/** A table as a client sees it: app id, partition count, primaries, and routing by crc64. */
export class TableRouter {
  appId = 0;
  partitionCount = 0;
  partitions: PartitionView[] = [];
  private readonly connections = new Map<string, RawConnection>();
  private readonly metaConnection: RawConnection;

  constructor(metaPort: number, readonly tableName: string) {
    this.metaConnection = new RawConnection(metaPort);
  }

  async refresh(): Promise<void> {
    const reply = await callRaw(this.metaConnection, 'RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX', { appName: this.tableName, partitionIndices: [] });
    if (reply.error !== 'ERR_OK' || reply.result?.err !== 'ERR_OK') throw new Error(`query config of ${this.tableName}: ${reply.error}/${reply.result?.err}`);
    this.appId = reply.result.appId;
    this.partitionCount = reply.result.partitionCount;
    this.partitions = reply.result.partitions.map((config) => ({
      pidx: config.pid.partitionIndex,
      ballot: Number(config.ballot),
      primary: config.primary.port === 0 ? '' : formatHostPort(config.primary),
      secondaries: config.secondaries.map(formatHostPort),
    }));
  }

  connection(address: string): RawConnection {
    let connection = this.connections.get(address);
    if (!connection) {
      connection = new RawConnection(Number(address.split(':')[1]));
      this.connections.set(address, connection);
    }
    return connection;
  }

  pidxOfHash(hash: bigint): number {
    return partitionIndexOf(hash, this.partitionCount);
  }

  /** Sends to the primary of the partition `hash` routes to; no retry. */
  async call<N extends RpcName>(name: N, args: RpcArgs<N>, hash: bigint, override: { partitionIndex?: number; address?: string } = {}): Promise<TypedReply<RpcResult<N>>> {
    const pidx = override.partitionIndex ?? this.pidxOfHash(hash);
    const address = override.address ?? this.partitions[pidx]!.primary;
    return callRaw(this.connection(address), name, args, { appId: this.appId, partitionIndex: pidx, partitionHash: hash });
  }

  /** As call, but re-queries the meta and retries on the errors clients retry on. */
  async callRetrying<N extends RpcName>(name: N, args: RpcArgs<N>, hash: bigint, attempts = 20): Promise<TypedReply<RpcResult<N>>> {
    for (let attempt = 1; ; attempt++) {
      const reply = await this.call(name, args, hash);
      const retry = ['ERR_OBJECT_NOT_FOUND', 'ERR_INVALID_STATE', 'ERR_NOT_ENOUGH_MEMBER', 'ERR_PARENT_PARTITION_MISUSED'].includes(reply.error);
      if (!retry || attempt >= attempts) return reply;
      await new Promise((resolve) => setTimeout(resolve, 200));
      await this.refresh();
    }
  }

  close(): void {
    this.metaConnection.close();
    for (const connection of this.connections.values()) connection.close();
  }
}

export const keyHashOf = (compositeKey: Buffer): bigint => compositeKeyHash(compositeKey);
export const hashOfHashKey = (hashKey: Buffer): bigint => hashKeyHash(hashKey);

export interface ClusterOptions {
  /** `replication.cluster_name` of every server; default `test`. */
  clusterName?: string;
  /** The metas' ports, when another cluster must know them before this one starts. */
  metaPorts?: number[];
  /** Extra `--set` settings for every server of the cluster. */
  settings?: string[];
  /** Metas (default 1); more than one needs `zookeeperHosts`. */
  metaCount?: number;
  /** The metas keep their state in this ZooKeeper (`host:port`) instead of a local file. */
  zookeeperHosts?: string;
  /** Extra `--set` settings for every replica server. */
  replicaSettings?: string[];
  /** Extra `--set` settings for the meta server. */
  metaSettings?: string[];
  /** Partitions of the default table `temp`. */
  partitionCount?: number;
  /** Replica servers (default 3). */
  replicaCount?: number;
  /** Extra environment of the replica server at `index` (e.g. a fault file). */
  replicaEnv?: (index: number) => NodeJS.ProcessEnv;
}

/** One meta (or several on ZooKeeper) and three (or more) replica servers, with fast failure detection and config sync. */
export class TestCluster {
  readonly dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-data-plane-'));
  /** The first meta's port (clients given it find the primary). */
  metaPort = 0;
  readonly metaPorts: number[] = [];
  /** Undefined while a test has a meta stopped. */
  readonly metas: (RunningProcess | undefined)[] = [];
  readonly replicaPorts: number[] = [];
  readonly replicas: RunningProcess[] = [];

  constructor(private readonly options: ClusterOptions = {}) {}

  /** `meta1,meta2,…` as config.ini's meta_server.server_list and [pegasus.clusters] take it. */
  metaList(): string {
    return this.metaPorts.map((port) => `127.0.0.1:${port}`).join(',');
  }

  private commonSettings(): string[] {
    return [
      `meta_server.server_list=${this.metaList()}`,
      `replication.cluster_name=${this.options.clusterName ?? 'test'}`,
      'replication.fd_beacon_interval_seconds=1',
      'replication.fd_check_interval_seconds=1',
      'replication.fd_lease_seconds=2',
      'replication.fd_grace_seconds=3',
      'replication.config_sync_interval_ms=1000',
      ...(this.options.settings ?? []),
    ].flatMap((setting) => ['--set', setting]);
  }

  async start(): Promise<void> {
    const metaCount = this.options.metaCount ?? 1;
    this.metaPorts.push(...(this.options.metaPorts ?? []));
    while (this.metaPorts.length < metaCount) this.metaPorts.push(await freePort());
    this.metaPort = this.metaPorts[0]!;
    const replicaCount = this.options.replicaCount ?? 3;
    for (let index = 0; index < replicaCount; index++) this.replicaPorts.push(await freePort());
    for (let index = 0; index < metaCount; index++) this.metas.push(await this.startMeta(index));
    for (let index = 0; index < replicaCount; index++) this.replicas.push(await this.startReplica(index));
  }

  /** The first meta; with several metas on ZooKeeper, not necessarily the primary. */
  get meta(): RunningProcess | undefined {
    return this.metas[0];
  }

  /** `extraSettings`: `--set` values for this start only (e.g. a recovery mode). */
  startMeta(index: number, extraSettings: string[] = []): Promise<RunningProcess> {
    const zookeeper = this.options.zookeeperHosts === undefined ? [] : [
      'meta_server.meta_state_service_type=zookeeper',
      `zookeeper.hosts_list=${this.options.zookeeperHosts}`,
      'zookeeper.timeout_ms=2000',
      `meta_server.cluster_root=/pegasus/${this.options.clusterName ?? 'test'}`,
    ];
    return startPteron('meta', {
      port: this.metaPorts[index],
      args: [
        ...this.commonSettings(),
        '--set', `core.data_dir=${path.join(this.dataRoot, `meta${index + 1}`)}`,
        '--set', 'meta_server.min_live_node_count_for_unfreeze=1',
        '--set', 'replication.lb_interval_ms=1000',
        '--set', `meta_server.apps.temp.partition_count=${this.options.partitionCount ?? 8}`,
        '--set', 'meta_server.apps.temp.max_replica_count=3',
        ...[...zookeeper, ...(this.options.metaSettings ?? []), ...extraSettings].flatMap((setting) => ['--set', setting]),
      ],
    });
  }

  startReplica(index: number): Promise<RunningProcess> {
    return startPteron('replica', {
      port: this.replicaPorts[index],
      args: [
        ...this.commonSettings(),
        '--set', `core.data_dir=${path.join(this.dataRoot, `replica${index + 1}`)}`,
        ...(this.options.replicaSettings ?? []).flatMap((setting) => ['--set', setting]),
      ],
      env: this.options.replicaEnv?.(index),
    });
  }

  /** Waits until every partition of `table` has a primary and two secondaries that serve. */
  async waitHealthy(table: string, partitions: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${table} fully healthy`, async () => {
      const response = await fetch(`http://127.0.0.1:${this.metaPort}/meta/app?name=${table}&detail`);
      if (response.status !== 200) return false;
      const view = (await response.json()) as { healthy: Record<string, string> };
      return view.healthy.fully_healthy_partition_count === String(partitions);
    }, timeoutMs, 200);
  }

  /** Waits until every partition's primary answers a read of `table` (its replica is open). */
  async waitServing(router: TableRouter, timeoutMs = 60_000): Promise<void> {
    const lastErrors: string[] = [];
    await waitFor(`${router.tableName} served by its primaries`, async () => {
      await router.refresh();
      for (const partition of router.partitions) {
        if (partition.primary === '') return false;
        const reply = await router.call('RPC_RRDB_RRDB_SORTKEY_COUNT', Buffer.from('probe'), 0n, { partitionIndex: partition.pidx });
        if (reply.error !== 'ERR_OK') {
          lastErrors.splice(0, lastErrors.length, `partition ${partition.pidx} at ${partition.primary}: ${reply.error}`);
          return false;
        }
      }
      return true;
    }, timeoutMs, 100).catch((error: Error) => {
      error.message += `\nlast answer: ${lastErrors.join(', ')}\nerrors logged: ${this.errorLines().slice(0, 5).join('\n')}`;
      throw error;
    });
  }

  /** Everything the processes logged at error level (pino 50/60) or as crashes, prefixed with the process's port. */
  errorLines(): string[] {
    const processes = [...this.metas, ...this.replicas].filter((item): item is RunningProcess => item !== undefined);
    return processes.flatMap((item) => item.output().split('\n')
      .filter((line) => /"level":(50|60)/.test(line) || /Uncaught|FATAL|TypeError|RangeError/.test(line))
      .map((line) => `${item.port}: ${line}`));
  }

  async stop(): Promise<void> {
    for (const replica of this.replicas) await replica.stop();
    for (const meta of this.metas) await meta?.stop();
    rmSync(this.dataRoot, { recursive: true, force: true });
  }
}
