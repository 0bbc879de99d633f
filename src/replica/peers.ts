// The wire side of PacificA: turns the state machine's peer messages into one-way RPCs to other
// replica servers and back, and serves and fetches learning checkpoints (the learner pulls the
// primary's checkpoint file in chunks, like Pegasus's learner copies files from the primary).
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { compositeKeyHash, log, parseHostPort, partitionIndexOf, PteronError, type Gpid } from '../base/index.ts';
import { RpcClient } from '../net/index.ts';
import { readCheckpointFile, writeCheckpointFile, type Checkpoint, type ReplicaStore } from '../storage/index.ts';
import { RPCS, type PeerMessageWire } from '../wire/index.ts';
import { decodeMutation, encodeMutation } from './log/mutation-codec.ts';
import type { Membership, PeerError, PeerMessage, PeerMessageType } from './pacifica/messages.ts';
import { heldBeforeSplit } from './split/split-state.ts';

/** The one-way RPC that carries each message type. */
export const PEER_RPCS = {
  prepare: RPCS.RPC_PREPARE,
  prepare_ack: RPCS.RPC_PREPARE_ACK,
  group_check: RPCS.RPC_GROUP_CHECK,
  group_check_ack: RPCS.RPC_GROUP_CHECK_ACK,
  add_learner: RPCS.RPC_LEARN_ADD_LEARNER,
  learn: RPCS.RPC_LEARN,
  learn_reply: RPCS.RPC_LEARN_REPLY,
  learn_completed: RPCS.RPC_LEARN_COMPLETION_NOTIFY,
} as const satisfies Record<PeerMessageType, unknown>;

const PEER_ERRORS: ReadonlySet<string> = new Set<PeerError>(['ERR_OK', 'ERR_VERSION_OUTDATED', 'ERR_INVALID_STATE', 'ERR_OBJECT_NOT_FOUND']);

function membershipToWire(membership: Membership): Pick<PeerMessageWire, 'ballot' | 'primary' | 'secondaries'> {
  return { ballot: BigInt(membership.ballot), primary: membership.primary, secondaries: [...membership.secondaries] };
}

export function peerMessageToWire(gpid: Gpid, from: string, message: PeerMessage): PeerMessageWire {
  const base = { gpid: { ...gpid }, from, type: message.type };
  switch (message.type) {
    case 'prepare':
      return { ...base, ...membershipToWire(message.membership), lastCommitted: BigInt(message.lastCommitted), mutations: [encodeMutation(message.mutation)] };
    case 'prepare_ack':
      return { ...base, err: message.err, ballot: BigInt(message.ballot), decree: BigInt(message.decree), mutationBallot: BigInt(message.mutationBallot) };
    case 'group_check':
      return { ...base, ...membershipToWire(message.membership), lastCommitted: BigInt(message.lastCommitted), signature: BigInt(message.learnerSignature) };
    case 'group_check_ack':
      return { ...base, err: message.err, ballot: BigInt(message.ballot), lastCommitted: BigInt(message.lastCommitted), lastPrepared: BigInt(message.lastPrepared) };
    case 'add_learner':
      return { ...base, ...membershipToWire(message.membership), signature: BigInt(message.signature) };
    case 'learn':
      return { ...base, signature: BigInt(message.signature), lastCommitted: BigInt(message.lastCommitted) };
    case 'learn_reply':
      return {
        ...base, ...membershipToWire(message.membership), err: message.err, signature: BigInt(message.signature), kind: message.kind,
        lastCommitted: BigInt(message.lastCommitted), prepareStart: BigInt(message.prepareStart), mutations: message.mutations.map(encodeMutation),
      };
    case 'learn_completed':
      return { ...base, signature: BigInt(message.signature), lastPrepared: BigInt(message.lastPrepared) };
  }
}

function invalid(what: string): PteronError {
  return new PteronError('ERR_INVALID_DATA', `peer message: ${what}`);
}

function decree(value: bigint | undefined, what: string): number {
  if (value === undefined) throw invalid(`${what} is missing`);
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} ${value} is out of range`);
  return Number(value);
}

function membershipFromWire(wire: PeerMessageWire): Membership {
  return { ballot: decree(wire.ballot, 'ballot'), primary: wire.primary ?? '', secondaries: wire.secondaries ?? [] };
}

function peerError(wire: PeerMessageWire): PeerError {
  const err = wire.err ?? '';
  if (!PEER_ERRORS.has(err)) throw invalid(`unknown error ${err}`);
  return err as PeerError;
}

/** Throws ERR_INVALID_DATA for a message a peer could not have meant. */
export function peerMessageFromWire(wire: PeerMessageWire): PeerMessage {
  switch (wire.type) {
    case 'prepare': {
      if (wire.mutations?.length !== 1) throw invalid('a prepare carries one mutation');
      return { type: 'prepare', membership: membershipFromWire(wire), lastCommitted: decree(wire.lastCommitted, 'last committed'), mutation: decodeMutation(wire.mutations[0]!) };
    }
    case 'prepare_ack':
      return { type: 'prepare_ack', err: peerError(wire), ballot: decree(wire.ballot, 'ballot'), decree: decree(wire.decree, 'decree'), mutationBallot: decree(wire.mutationBallot, 'mutation ballot') };
    case 'group_check':
      return { type: 'group_check', membership: membershipFromWire(wire), lastCommitted: decree(wire.lastCommitted, 'last committed'), learnerSignature: decree(wire.signature, 'signature') };
    case 'group_check_ack':
      return {
        type: 'group_check_ack', err: peerError(wire), ballot: decree(wire.ballot, 'ballot'),
        lastCommitted: decree(wire.lastCommitted, 'last committed'), lastPrepared: decree(wire.lastPrepared, 'last prepared'),
      };
    case 'add_learner':
      return { type: 'add_learner', membership: membershipFromWire(wire), signature: decree(wire.signature, 'signature') };
    case 'learn':
      return { type: 'learn', signature: decree(wire.signature, 'signature'), lastCommitted: decree(wire.lastCommitted, 'last committed') };
    case 'learn_reply': {
      if (wire.kind !== 'cache' && wire.kind !== 'checkpoint') throw invalid(`unknown learn kind ${wire.kind}`);
      return {
        type: 'learn_reply', err: peerError(wire), membership: membershipFromWire(wire), signature: decree(wire.signature, 'signature'), kind: wire.kind,
        lastCommitted: decree(wire.lastCommitted, 'last committed'), prepareStart: decree(wire.prepareStart, 'prepare start'),
        mutations: (wire.mutations ?? []).map((bytes) => decodeMutation(bytes)),
      };
    }
    case 'learn_completed':
      return { type: 'learn_completed', signature: decree(wire.signature, 'signature'), lastPrepared: decree(wire.lastPrepared, 'last prepared') };
    default:
      throw invalid(`unknown type ${wire.type}`);
  }
}

/** One RPC client per peer replica server; sends are fire-and-forget (the state machine retries). */
export class PeerTransport {
  private readonly clients = new Map<string, RpcClient>();

  constructor(private readonly self: string, private readonly timeoutMs: number) {}

  client(node: string): RpcClient {
    let client = this.clients.get(node);
    if (!client) {
      client = new RpcClient(parseHostPort(node), { timeoutMs: this.timeoutMs });
      this.clients.set(node, client);
    }
    return client;
  }

  send(to: string, gpid: Gpid, message: PeerMessage, extra: Partial<PeerMessageWire> = {}): void {
    const definition = PEER_RPCS[message.type];
    const wire = { ...peerMessageToWire(gpid, this.self, message), ...extra };
    this.client(to).callRpc(definition, wire, { appId: gpid.appId, partitionIndex: gpid.partitionIndex }).catch((error: unknown) => {
      log.debug({ to, type: message.type, err: (error as Error).message }, 'peer message not sent');
    });
  }

  close(): void {
    for (const client of this.clients.values()) void client.close();
    this.clients.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// checkpoint copy for learning

const CHUNK_BYTES = 1024 * 1024;
/** A checkpoint file nobody asked for in this long is deleted. */
const CHECKPOINT_IDLE_MS = 120_000;

interface ServedCheckpoint {
  file: string;
  decree: number;
  totalBytes: number;
  lastUsedMs: number;
}

/**
 * Primary side: the first chunk request of a learning round writes a checkpoint of the store to
 * a file; later requests read it by offset. Files are removed after the last chunk or when idle.
 */
export class CheckpointServer {
  private readonly served = new Map<string, Promise<ServedCheckpoint>>();

  constructor(private readonly dir: string) {}

  /** Removes checkpoint files a previous run left behind. */
  async clearLeftovers(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  async chunk(
    gpid: Gpid, store: ReplicaStore, learner: string, signature: number, offset: number,
  ): Promise<{ decree: number; totalBytes: number; data: Buffer; eof: boolean }> {
    this.removeIdle();
    // Signatures repeat across partitions (they count within a ballot): the partition is part of the name.
    const key = `${gpid.appId}.${gpid.partitionIndex}.${learner}.${signature}`;
    let served = this.served.get(key);
    if (!served || offset === 0) {
      if (served) await this.remove(key);
      served = this.write(store, key);
      this.served.set(key, served);
      served.catch(() => this.served.delete(key));
    }
    const checkpoint = await served;
    checkpoint.lastUsedMs = Date.now();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > checkpoint.totalBytes) throw new PteronError('ERR_INVALID_PARAMETERS', `offset ${offset} is past the checkpoint's ${checkpoint.totalBytes} bytes`);
    const length = Math.min(CHUNK_BYTES, checkpoint.totalBytes - offset);
    const data = Buffer.alloc(length);
    const handle = await open(checkpoint.file, 'r');
    try {
      const { bytesRead } = await handle.read(data, 0, length, offset);
      if (bytesRead !== length) throw new PteronError('ERR_FILE_OPERATION_FAILED', 'checkpoint file is shorter than written');
    } finally {
      await handle.close();
    }
    const eof = offset + length >= checkpoint.totalBytes;
    if (eof) await this.remove(key);
    return { decree: checkpoint.decree, totalBytes: checkpoint.totalBytes, data, eof };
  }

  private async write(store: ReplicaStore, key: string): Promise<ServedCheckpoint> {
    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, `checkpoint.${key}`);
    const checkpoint = await store.openCheckpoint();
    try {
      const { bytes } = await writeCheckpointFile(file, checkpoint);
      return { file, decree: checkpoint.decree, totalBytes: bytes, lastUsedMs: Date.now() };
    } finally {
      await checkpoint.close();
    }
  }

  private async remove(key: string): Promise<void> {
    const served = this.served.get(key);
    this.served.delete(key);
    const checkpoint = await served?.catch(() => undefined);
    if (checkpoint) await rm(checkpoint.file, { force: true });
  }

  private removeIdle(): void {
    const now = Date.now();
    for (const [key, served] of this.served) {
      void served.then((checkpoint) => {
        if (now - checkpoint.lastUsedMs > CHECKPOINT_IDLE_MS && this.served.get(key) === served) void this.remove(key);
      }, () => undefined);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.served.keys()].map((key) => this.remove(key)));
  }
}

/**
 * The checkpoint's entries, leaving out the keys a split gave to another partition (a primary
 * keeps them until its compaction drops them) and refusing (so failing the import of) a key
 * of another partition.
 */
function onlyPartition(checkpoint: Checkpoint, gpid: Gpid, partitionCount: number): Checkpoint {
  return {
    decree: checkpoint.decree,
    dataVersion: checkpoint.dataVersion,
    async *entries() {
      for await (const entry of checkpoint.entries()) {
        const hash = compositeKeyHash(entry[0]);
        const owner = partitionIndexOf(hash, partitionCount);
        if (owner !== gpid.partitionIndex && heldBeforeSplit(hash, gpid.partitionIndex, partitionCount)) continue;
        if (owner !== gpid.partitionIndex) {
          throw new PteronError('ERR_INVALID_DATA', `the checkpoint for partition ${gpid.partitionIndex} holds a key of partition ${owner}`);
        }
        yield entry;
      }
    },
  };
}

/**
 * Learner side: copies the primary's checkpoint into `workDir`, then replaces the store with it.
 * Returns the decree the store is at afterwards.
 */
export async function fetchCheckpoint(
  client: RpcClient, gpid: Gpid, partitionCount: number, learner: string, signature: number, store: ReplicaStore, workDir: string,
): Promise<number> {
  await mkdir(workDir, { recursive: true });
  const file = path.join(workDir, `learn.${signature}`);
  const out = createWriteStream(file);
  let offset = 0;
  try {
    for (;;) {
      const response = await client.callRpc(RPCS.RPC_LEARN_CHECKPOINT_CHUNK, { gpid: { ...gpid }, learner, signature: BigInt(signature), offset: BigInt(offset) }, {
        appId: gpid.appId, partitionIndex: gpid.partitionIndex,
      });
      const result = response.result;
      if (response.error !== 'ERR_OK' || !result || result.err !== 'ERR_OK') {
        throw new PteronError('ERR_LEARN_FILE_FAILED', `checkpoint chunk at ${offset}: ${response.error !== 'ERR_OK' ? response.error : result?.err}`);
      }
      if (!out.write(result.data)) await once(out, 'drain');
      offset += result.data.length;
      if (result.eof) break;
      if (result.data.length === 0) throw new PteronError('ERR_LEARN_FILE_FAILED', 'the primary sent an empty chunk before the end');
    }
    out.end();
    await once(out, 'finish');
    const checkpoint = await readCheckpointFile(file);
    await store.importCheckpoint(partitionCount > 0 ? onlyPartition(checkpoint, gpid, partitionCount) : checkpoint);
    return checkpoint.decree;
  } finally {
    out.destroy();
    await rm(file, { force: true });
  }
}
