// The client side of Pegasus's thrift RPC, for one server address: THFT v0 request frames out
// over one TCP connection, `<name>_ACK` frames back, matched by seqid in any order.
//
// - The connection is opened on the first call and reopened by the first call after it broke;
//   calls that were in flight on a broken connection fail (ERR_NETWORK_FAILURE) and are never
//   re-sent, because a write may have been applied.
// - Every call has a timeout (ERR_TIMEOUT), which also covers connecting and waiting for a slot.
// - At most `inFlightMax` calls are on the wire at once; up to `queuedMax` more wait for a slot;
//   beyond that a call fails at once with ERR_BUSY.
// - A reply's rDSN error is returned, not thrown: `{ error: 'ERR_OBJECT_NOT_FOUND', result }`.
//   Only transport failures reject, always with a PteronError.
// - With a secret (the option, else `setConnectionSecret()`'s, else $PTERON_ADMIN_SECRET), every
//   connection starts with an RPC_NEGOTIATION that presents it (SASL PLAIN), sent ahead of the
//   first call without waiting for its answer: the server judges the calls after it by it.
// - Frames are not written one by one: those queued within one turn of the event loop go out
//   together (one writev) once its I/O callbacks have run, in the order they were queued. On
//   loopback every write is a system call that also runs the receiver's side of TCP and wakes it.
import net from 'node:net';
import { PteronError, type ErrorName } from '../../base/errors.ts';
import { formatHostPort, type HostPort } from '../../base/host-port.ts';
import { encodeRequestFrameV0, FrameError, parseResponseFrame, ThriftDecodeError, type ResponseFrame } from '../../wire/index.ts';
import { decodeResult, encodeArgs, NegotiationStatus, negotiationRequestCodec, type RpcDefinition } from '../../wire/structs/index.ts';

export interface RpcClientOptions {
  /** Default timeout of a call, from call() to its reply. */
  timeoutMs?: number;
  /** Calls on the wire at once. */
  inFlightMax?: number;
  /** Calls waiting for an in-flight slot. */
  queuedMax?: number;
  /** A reply frame longer than this breaks the connection. */
  frameBytesMax?: number;
  /** The admin secret each connection presents; '' presents none. Defaults to `setConnectionSecret()`'s. */
  secret?: string;
  /** The local address connections are made from (the kernel's choice by default). */
  localAddress?: string;
}

let defaultSecret = process.env.PTERON_ADMIN_SECRET ?? '';

/** The secret every client made without the `secret` option presents from now on (a server's `[security] admin_secret`). */
export function setConnectionSecret(secret: string): void {
  defaultSecret = secret;
}

/** Seqids of calls start at 1: the negotiation's answer, on 0, is delivered to nobody. */
const NEGOTIATION_SEQID = 0;

function negotiationFrame(secret: string): Buffer {
  const args = encodeArgs(negotiationRequestCodec, { status: NegotiationStatus.SASL_INITIATE, msg: Buffer.from(`\0pteron\0${secret}`, 'utf8') });
  return encodeRequestFrameV0('RPC_NEGOTIATION', NEGOTIATION_SEQID, args, { appId: 0, partitionIndex: 0, partitionHash: 0n, clientTimeoutMs: RPC_CLIENT_DEFAULTS.timeoutMs });
}

/** Where a request is headed inside the server, and how long to wait for it. */
export interface RpcCallTarget {
  /** Table id; 0 (the default) for meta and admin RPCs. */
  appId?: number;
  partitionIndex?: number;
  /** The key hash, for the server's partition check; 0 for meta RPCs. */
  partitionHash?: bigint;
  /** Overrides the client's default timeout for this call. */
  timeoutMs?: number;
}

export interface RpcResponse {
  /** The rDSN error name of the reply frame, e.g. "ERR_OK". */
  error: string;
  /** The result struct `{0: …}` when error is ERR_OK; empty otherwise. */
  result: Buffer;
}

export interface TypedRpcResponse<R> {
  error: string;
  /** The decoded result when error is ERR_OK. */
  result: R | undefined;
}

export const RPC_CLIENT_DEFAULTS = Object.freeze({
  timeoutMs: 5000,
  inFlightMax: 1024,
  queuedMax: 4096,
  frameBytesMax: 64 * 1024 * 1024,
});

/** setTimeout's own bound. */
const TIMEOUT_MS_MAX = 0x7fffffff;
const SEQID_MAX = 0x7fffffff;
/** A response frame starts with its i32 total length. */
const FRAME_LENGTH_BYTES = 4;

interface PendingCall {
  readonly name: string;
  readonly frame: Buffer;
  readonly resolve: (response: RpcResponse) => void;
  readonly reject: (error: PteronError) => void;
  timer: NodeJS.Timeout | undefined;
  /** Set once on the wire. */
  seqid: number;
  connection: Connection | undefined;
  settled: boolean;
}

interface Connection {
  readonly socket: net.Socket;
  readonly pending: Map<number, PendingCall>;
  chunks: Buffer[];
  buffered: number;
  /** Total length of the frame being received, once its first four bytes are in. */
  frameBytes: number;
  /** Why it broke, for the error of the calls that were on it. */
  failure: string | undefined;
  closed: boolean;
  /** Frames waiting for the next flush, in order, and what to call once each is written (one-way sends). */
  outbox: Buffer[];
  outboxCallbacks: Array<((error: Error | null | undefined) => void) | undefined>;
  flushScheduled: boolean;
}

function positiveInteger(value: number, what: string, max: number): number {
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new RangeError(`${what} must be an integer in 1..${max}, got ${value}`);
  return value;
}

export class RpcClient {
  readonly address: HostPort;
  private readonly timeoutMs: number;
  private readonly inFlightMax: number;
  private readonly queuedMax: number;
  private readonly frameBytesMax: number;
  private readonly secret: string | undefined;
  private readonly localAddress: string | undefined;
  private connection: Connection | undefined;
  private readonly queue: PendingCall[] = [];
  private nextSeqid = 1;
  private closed = false;

  constructor(address: HostPort, options: RpcClientOptions = {}) {
    if (address.host === '' || !Number.isInteger(address.port) || address.port <= 0 || address.port > 0xffff) {
      throw new PteronError('ERR_INVALID_PARAMETERS', `cannot connect to "${address.host}:${address.port}"`);
    }
    this.address = address;
    this.timeoutMs = positiveInteger(options.timeoutMs ?? RPC_CLIENT_DEFAULTS.timeoutMs, 'timeoutMs', TIMEOUT_MS_MAX);
    this.inFlightMax = positiveInteger(options.inFlightMax ?? RPC_CLIENT_DEFAULTS.inFlightMax, 'inFlightMax', SEQID_MAX / 2);
    this.queuedMax = Math.max(0, Math.floor(options.queuedMax ?? RPC_CLIENT_DEFAULTS.queuedMax));
    this.frameBytesMax = positiveInteger(options.frameBytesMax ?? RPC_CLIENT_DEFAULTS.frameBytesMax, 'frameBytesMax', 0x7fffffff);
    this.secret = options.secret;
    this.localAddress = options.localAddress;
  }

  /** Calls on the wire, waiting for their reply. */
  get inFlight(): number {
    return this.connection?.pending.size ?? 0;
  }

  /** Calls waiting for an in-flight slot. */
  get queued(): number {
    return this.queue.length;
  }

  get isConnected(): boolean {
    return this.connection !== undefined && !this.connection.closed;
  }

  /**
   * Sends one request (`args` = the encoded args struct) and resolves with the reply's error
   * name and result bytes. Rejects only with a PteronError: ERR_TIMEOUT, ERR_BUSY (too many
   * calls waiting), ERR_NETWORK_FAILURE (connection failed or closed), ERR_INVALID_DATA (a
   * malformed reply).
   */
  call(name: string, args: Buffer, target: RpcCallTarget = {}): Promise<RpcResponse> {
    return new Promise<RpcResponse>((resolve, reject) => {
      if (this.closed) {
        reject(this.failure('ERR_NETWORK_FAILURE', 'client is closed'));
        return;
      }
      const timeoutMs = positiveInteger(target.timeoutMs ?? this.timeoutMs, 'timeoutMs', TIMEOUT_MS_MAX);
      const pending: PendingCall = {
        name,
        frame: encodeRequestFrameV0(name, 0, args, {
          appId: target.appId ?? 0,
          partitionIndex: target.partitionIndex ?? 0,
          partitionHash: target.partitionHash ?? 0n,
          clientTimeoutMs: timeoutMs,
        }),
        resolve,
        reject,
        timer: undefined,
        seqid: 0,
        connection: undefined,
        settled: false,
      };
      if (this.inFlight < this.inFlightMax && this.queue.length === 0) {
        this.dispatch(pending);
      } else if (this.queue.length < this.queuedMax) {
        this.queue.push(pending);
      } else {
        reject(this.failure('ERR_BUSY', `${this.inFlight} calls in flight and ${this.queue.length} waiting`));
        return;
      }
      pending.timer = setTimeout(() => this.expire(pending, timeoutMs), timeoutMs);
    });
  }

  /**
   * Sends a one-way request (no reply expected, e.g. RPC_RRDB_RRDB_CLEAR_SCANNER); resolves once
   * the bytes are handed to the kernel. It takes no in-flight slot.
   */
  send(name: string, args: Buffer, target: RpcCallTarget = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) {
        reject(this.failure('ERR_NETWORK_FAILURE', 'client is closed'));
        return;
      }
      const timeoutMs = positiveInteger(target.timeoutMs ?? this.timeoutMs, 'timeoutMs', TIMEOUT_MS_MAX);
      const connection = this.connect();
      const frame = encodeRequestFrameV0(name, this.takeSeqid(connection), args, {
        appId: target.appId ?? 0,
        partitionIndex: target.partitionIndex ?? 0,
        partitionHash: target.partitionHash ?? 0n,
        clientTimeoutMs: timeoutMs,
        oneway: true,
      });
      // A connection that never completes must not hold the caller forever.
      const timer = setTimeout(() => reject(this.failure('ERR_TIMEOUT', `${name} was not sent within ${timeoutMs} ms`)), timeoutMs);
      // Held referenced until flushed, so that a process does not exit with the request unsent.
      connection.socket.ref();
      this.enqueue(connection, frame, (error) => {
        clearTimeout(timer);
        if (connection.pending.size === 0 && !connection.closed) connection.socket.unref();
        if (error) reject(this.failure('ERR_NETWORK_FAILURE', `sending ${name} failed: ${error.message}`));
        else resolve();
      });
    });
  }

  /** A call through the RPC table: encodes the args, decodes an ERR_OK result. */
  async callRpc<A, R>(rpc: RpcDefinition<A, R>, args: A, target: RpcCallTarget = {}): Promise<TypedRpcResponse<R>> {
    const argsBytes = encodeArgs(rpc.args, args);
    if (rpc.oneway || rpc.result === undefined) {
      await this.send(rpc.name, argsBytes, target);
      return { error: 'ERR_OK', result: undefined };
    }
    const response = await this.call(rpc.name, argsBytes, target);
    if (response.error !== 'ERR_OK') return { error: response.error, result: undefined };
    try {
      return { error: response.error, result: decodeResult(rpc.result, response.result) };
    } catch (error) {
      if (error instanceof ThriftDecodeError) throw this.failure('ERR_INVALID_DATA', `bad ${rpc.ackName} result: ${error.message}`);
      throw error;
    }
  }

  /** Fails every waiting and in-flight call (ERR_NETWORK_FAILURE) and closes the connection. */
  close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) this.settle(pending, this.failure('ERR_NETWORK_FAILURE', 'client closed'));
    const connection = this.connection;
    if (!connection || connection.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      connection.socket.once('close', () => resolve());
      this.breakConnection(connection, 'client closed');
    });
  }

  // -------------------------------------------------------------------------------------------

  private label(): string {
    return formatHostPort(this.address);
  }

  private failure(code: ErrorName, message: string): PteronError {
    return new PteronError(code, `${message} (${this.label()})`);
  }

  private dispatch(pending: PendingCall): void {
    const connection = this.connect();
    pending.seqid = this.takeSeqid(connection);
    pending.connection = connection;
    pending.frame.writeInt32BE(pending.seqid, this.seqidOffset(pending));
    connection.pending.set(pending.seqid, pending);
    if (connection.pending.size === 1) connection.socket.ref();
    this.enqueue(connection, pending.frame, undefined);
  }

  /** Queues a frame for the connection's next flush (scheduled once per turn of the event loop). */
  private enqueue(connection: Connection, frame: Buffer, written: ((error: Error | null | undefined) => void) | undefined): void {
    connection.outbox.push(frame);
    connection.outboxCallbacks.push(written);
    if (connection.flushScheduled) return;
    connection.flushScheduled = true;
    setImmediate(() => this.flush(connection));
  }

  /** Writes every queued frame at once: corked, so that the socket hands them to the kernel in one writev. */
  private flush(connection: Connection): void {
    connection.flushScheduled = false;
    const frames = connection.outbox;
    const callbacks = connection.outboxCallbacks;
    // A broken connection's queue was emptied (and its sends failed) by breakConnection.
    if (frames.length === 0 || connection.closed) return;
    connection.outbox = [];
    connection.outboxCallbacks = [];
    const socket = connection.socket;
    const corked = frames.length > 1;
    if (corked) socket.cork();
    for (let index = 0; index < frames.length; index++) socket.write(frames[index]!, callbacks[index]);
    if (corked) socket.uncork();
  }

  /** Where the seqid sits in a v0 frame: after the 48-byte header, version word, and name. */
  private seqidOffset(pending: PendingCall): number {
    return 48 + 4 + 4 + Buffer.byteLength(pending.name, 'utf8');
  }

  private takeSeqid(connection: Connection): number {
    // Bounded: at most inFlightMax seqids are taken, far fewer than the seqid space.
    for (;;) {
      const seqid = this.nextSeqid;
      this.nextSeqid = seqid >= SEQID_MAX ? 1 : seqid + 1;
      if (!connection.pending.has(seqid)) return seqid;
    }
  }

  private connect(): Connection {
    if (this.connection && !this.connection.closed) return this.connection;
    const socket = net.connect({ host: this.address.host, port: this.address.port, noDelay: true, localAddress: this.localAddress });
    const connection: Connection = {
      socket,
      pending: new Map(),
      chunks: [],
      buffered: 0,
      frameBytes: 0,
      failure: undefined,
      closed: false,
      outbox: [],
      outboxCallbacks: [],
      flushScheduled: false,
    };
    this.connection = connection;
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.receive(connection, chunk));
    socket.on('error', (error) => this.breakConnection(connection, error.message));
    socket.on('close', () => this.breakConnection(connection, 'connection closed by the server'));
    socket.on('end', () => socket.end());
    const secret = this.secret ?? defaultSecret;
    if (secret !== '') this.enqueue(connection, negotiationFrame(secret), undefined);
    return connection;
  }

  private receive(connection: Connection, chunk: Buffer): void {
    if (connection.closed) return;
    connection.chunks.push(chunk);
    connection.buffered += chunk.length;
    while (connection.buffered >= FRAME_LENGTH_BYTES) {
      if (connection.frameBytes === 0) {
        if (connection.chunks[0]!.length < FRAME_LENGTH_BYTES) connection.chunks = [Buffer.concat(connection.chunks, connection.buffered)];
        const total = connection.chunks[0]!.readInt32BE(0);
        if (total < FRAME_LENGTH_BYTES || total > this.frameBytesMax) {
          this.breakConnection(connection, `bad reply frame length ${total}`, 'ERR_INVALID_DATA');
          return;
        }
        connection.frameBytes = total;
      }
      if (connection.buffered < connection.frameBytes) return;
      const buffer = connection.chunks.length === 1 ? connection.chunks[0]! : Buffer.concat(connection.chunks, connection.buffered);
      let frame: ResponseFrame;
      try {
        const parsed = parseResponseFrame(buffer.subarray(0, connection.frameBytes), this.frameBytesMax);
        if (!parsed) throw new FrameError('incomplete reply frame');
        frame = parsed.frame;
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        this.breakConnection(connection, error.message, 'ERR_INVALID_DATA');
        return;
      }
      const rest = buffer.subarray(connection.frameBytes);
      connection.chunks = rest.length > 0 ? [rest] : [];
      connection.buffered = rest.length;
      connection.frameBytes = 0;
      this.deliver(connection, frame);
    }
  }

  private deliver(connection: Connection, frame: ResponseFrame): void {
    const pending = connection.pending.get(frame.seqid);
    // A reply to a call that already timed out: nothing waits for it.
    if (!pending) return;
    this.release(pending);
    if (frame.name !== `${pending.name}_ACK`) {
      this.settle(pending, this.failure('ERR_INVALID_DATA', `reply ${frame.name} to request ${pending.name}`));
    } else {
      this.settle(pending, { error: frame.error, result: frame.result });
    }
    this.pump();
  }

  private expire(pending: PendingCall, timeoutMs: number): void {
    pending.timer = undefined;
    if (pending.settled) return;
    if (pending.connection) {
      this.release(pending);
    } else {
      const index = this.queue.indexOf(pending);
      if (index >= 0) this.queue.splice(index, 1);
    }
    this.settle(pending, this.failure('ERR_TIMEOUT', `${pending.name} got no reply within ${timeoutMs} ms`));
    this.pump();
  }

  /** Frees the in-flight slot of a call on the wire. */
  private release(pending: PendingCall): void {
    const connection = pending.connection;
    if (!connection) return;
    if (connection.pending.get(pending.seqid) === pending) connection.pending.delete(pending.seqid);
    if (connection.pending.size === 0 && !connection.closed) connection.socket.unref();
  }

  private settle(pending: PendingCall, outcome: RpcResponse | PteronError): void {
    if (pending.settled) return;
    pending.settled = true;
    if (pending.timer) clearTimeout(pending.timer);
    pending.timer = undefined;
    if (outcome instanceof PteronError) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  /** Moves waiting calls onto the wire while there are free slots. */
  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.inFlight < this.inFlightMax) this.dispatch(this.queue.shift()!);
  }

  private breakConnection(connection: Connection, reason: string, code: ErrorName = 'ERR_NETWORK_FAILURE'): void {
    if (connection.closed) return;
    connection.closed = true;
    connection.failure = reason;
    if (this.connection === connection) this.connection = undefined;
    connection.socket.destroy();
    const calls = [...connection.pending.values()];
    connection.pending.clear();
    connection.chunks = [];
    // Calls among the queued frames are in `pending`; one-way sends learn it from their callback.
    const unsent = connection.outboxCallbacks;
    connection.outbox = [];
    connection.outboxCallbacks = [];
    for (const written of unsent) written?.(new Error(reason));
    for (const pending of calls) this.settle(pending, this.failure(code, `${pending.name} failed: ${reason}`));
    // Calls still waiting for a slot go out on a fresh connection.
    this.pump();
  }
}
