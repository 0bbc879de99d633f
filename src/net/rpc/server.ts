// The server side of Pegasus's thrift RPC: THFT frames in, `<name>_ACK` frames out, matched by
// seqid. Handlers are registered by RPC name; a request for an unknown name gets
// ERR_HANDLER_NOT_FOUND with an empty body, as rDSN answers it. Replies ready within one turn of
// the event loop go out together (one writev per connection) once its I/O callbacks have run.
import type net from 'node:net';
import { log, type ErrorName } from '../../base/index.ts';
import { defineFlag } from '../../config/index.ts';
import { defineMetric, serverEntity } from '../../metrics/index.ts';
import {
  decodeArgs, encodeResponseFrame, encodeResult, FrameError, MessageType, NegotiationStatus, parseRequestFrame, RPCS, ThriftDecodeError,
  type CallDefinition, type NegotiationMessage, type OnewayDefinition, type RequestFrame,
} from '../../wire/index.ts';
import { accessSettings, decideAccess, plainSecretShown, refusalMessage, rpcKind, type SecretShown } from '../access-policy.ts';
import type { RpcConnectionHandler } from '../listener.ts';

export const frameBodyBytesMax = defineFlag({
  section: 'network',
  name: 'max_frame_body_bytes',
  type: 'FV_UINT64',
  default: 16 * 1024 * 1024,
  description: 'A THFT frame whose body is longer than this closes the connection',
  validator: (value) => value >= 4096,
});

/** Requests of one connection being handled at once; past it the connection stops being read. */
const IN_FLIGHT_PER_CONNECTION_MAX = 1024;

const framesRejectedMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'rpc_frames_rejected', unit: 'Frames',
  desc: 'The number of RPC frames rejected as malformed (bad header, oversized body, bad thrift, bad arguments)',
});
const rpcRequestsMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'rpc_requests', unit: 'Requests',
  desc: 'The number of RPC requests received',
});
const accessDeniedMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'rpc_access_denied', unit: 'Requests',
  desc: 'The number of peer or admin RPCs refused (ERR_ACL_DENY) because the caller is not trusted and its connection did not present the admin secret',
});
const unknownRpcMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'rpc_unknown_requests', unit: 'Requests',
  desc: 'The number of RPC requests whose name has no handler (answered ERR_HANDLER_NOT_FOUND)',
});

export interface RpcRequest {
  frame: RequestFrame;
  remoteAddress: string;
  remotePort: number;
}

/** `result` is the encoded result struct; it is sent only with ERR_OK. */
export interface RpcReply {
  error: ErrorName;
  result?: Buffer;
}

/** Returns undefined for one-way requests (nothing is sent back). */
export type RpcHandler = (request: RpcRequest) => RpcReply | undefined | Promise<RpcReply | undefined>;

export class RpcServer implements RpcConnectionHandler {
  private readonly handlers = new Map<string, RpcHandler>();
  private readonly framesRejected = serverEntity().counter(framesRejectedMetric);
  private readonly requests = serverEntity().counter(rpcRequestsMetric);
  private readonly unknownRequests = serverEntity().counter(unknownRpcMetric);
  private readonly accessDenied = serverEntity().counter(accessDeniedMetric);

  register(name: string, handler: RpcHandler): void {
    if (this.handlers.has(name)) throw new Error(`rpc handler ${name} registered twice`);
    this.handlers.set(name, handler);
  }

  accept(socket: net.Socket, head: Buffer): void {
    const chunks: Buffer[] = [head];
    let buffered = head.length;
    let bytesKnown = 0;
    let inFlight = 0;

    // Reading stops while too many requests are in flight, or while the client is not reading
    // its responses (the write buffer is full): otherwise such a client makes the server buffer
    // replies without bound. It resumes once both have cleared.
    let awaitingDrain = false;
    const resumeIfClear = (): void => {
      if (!awaitingDrain && inFlight < IN_FLIGHT_PER_CONNECTION_MAX && socket.isPaused() && !socket.destroyed) socket.resume();
    };
    socket.on('drain', () => {
      awaitingDrain = false;
      resumeIfClear();
    });

    // A client that half-closes (sends its requests, then FIN) still gets every answer; the
    // connection ends once the last one is written.
    socket.allowHalfOpen = true;
    let readEnded = false;
    let outbox: Buffer[] = [];
    let flushScheduled = false;
    const endIfDone = (): void => {
      if (readEnded && inFlight === 0 && outbox.length === 0 && !socket.destroyed) socket.end();
    };
    socket.on('end', () => {
      readEnded = true;
      endIfDone();
    });
    const flush = (): void => {
      flushScheduled = false;
      const frames = outbox;
      outbox = [];
      if (socket.destroyed) return;
      if (frames.length > 0) {
        const corked = frames.length > 1;
        if (corked) socket.cork();
        for (const frame of frames) socket.write(frame);
        if (corked) socket.uncork();
        // What the kernel did not take stays buffered: past the high-water mark, stop reading until 'drain'.
        if (socket.writableLength >= socket.writableHighWaterMark && !awaitingDrain) {
          awaitingDrain = true;
          socket.pause();
        }
      }
      endIfDone();
    };
    const reply = (frame: RequestFrame, answer: RpcReply): void => {
      if (socket.destroyed) return;
      outbox.push(encodeResponseFrame(answer.error, frame.name, frame.seqid, answer.result));
      if (flushScheduled) return;
      flushScheduled = true;
      setImmediate(flush);
    };

    // Whether the peer is trusted is settled at accept; what secret it showed, by its RPC_NEGOTIATION.
    const trusted = accessSettings().trusted.has(socket.remoteAddress ?? '');
    let secretShown: SecretShown = 'none';
    let refusalLogged = false;

    const dispatch = (frame: RequestFrame): void => {
      this.requests.increment();
      // The negotiation and the access check run here, synchronously and in frame order, so the
      // calls after a negotiation are judged by it.
      if (frame.name === RPCS.RPC_NEGOTIATION.name) {
        const answer = negotiate(frame);
        if (answer.shown) secretShown = answer.shown;
        if (frame.messageType !== MessageType.ONEWAY) reply(frame, answer.reply);
        return;
      }
      const settings = accessSettings();
      const verdict = decideAccess(rpcKind(frame.name), { trusted, secret: secretShown }, settings);
      if (!verdict.allowed) {
        this.accessDenied.increment();
        if (!refusalLogged) {
          refusalLogged = true;
          log.warn({ remote: socket.remoteAddress, rpc: frame.name, reason: verdict.reason }, `RPC refused: ${refusalMessage(verdict.reason)}`);
        }
        if (frame.messageType !== MessageType.ONEWAY) reply(frame, { error: 'ERR_ACL_DENY' });
        return;
      }
      const handler = this.handlers.get(frame.name);
      const oneway = frame.messageType === MessageType.ONEWAY;
      if (!handler) {
        this.unknownRequests.increment();
        if (!oneway) reply(frame, { error: 'ERR_HANDLER_NOT_FOUND' });
        return;
      }
      inFlight++;
      if (inFlight >= IN_FLIGHT_PER_CONNECTION_MAX) socket.pause();
      const request: RpcRequest = { frame, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 };
      Promise.resolve()
        .then(() => handler(request))
        .catch((error: unknown): RpcReply => {
          if (error instanceof ThriftDecodeError) {
            this.framesRejected.increment();
            return { error: 'ERR_INVALID_DATA' };
          }
          log.error({ err: error, rpc: frame.name }, 'rpc handler failed');
          return { error: 'ERR_UNKNOWN' };
        })
        .then((answer) => {
          inFlight--;
          if (answer && !oneway) reply(frame, answer);
          else endIfDone();
          resumeIfClear();
        });
    };

    const drain = (): void => {
      while (buffered > 0 && buffered >= bytesKnown) {
        const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
        chunks.length = 0;
        chunks.push(buffer);
        let parsed;
        try {
          parsed = parseRequestFrame(buffer, frameBodyBytesMax.value);
        } catch (error) {
          if (!(error instanceof FrameError)) throw error;
          this.framesRejected.increment();
          log.warn({ remote: socket.remoteAddress, reason: error.message }, 'closing RPC connection after a malformed frame');
          // The replies already made for the well-formed requests before it still go out.
          flush();
          socket.destroy();
          return;
        }
        if (parsed.kind === 'need-more') {
          bytesKnown = parsed.bytesKnown ?? buffered + 1;
          return;
        }
        bytesKnown = 0;
        const rest = buffer.subarray(parsed.bytes);
        chunks.length = 0;
        if (rest.length > 0) chunks.push(rest);
        buffered = rest.length;
        dispatch(parsed.frame);
      }
    };

    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      drain();
    });
    drain();
    resumeIfClear();
  }
}

function negotiationReply(status: NegotiationStatus, msg = ''): RpcReply {
  return { error: 'ERR_OK', result: encodeResult(RPCS.RPC_NEGOTIATION.result, { status, msg: Buffer.from(msg, 'utf8') }) };
}

const PLAIN_MECHANISM = 'PLAIN';

/**
 * One step of Pegasus's negotiation with the PLAIN mechanism as the only one: list, select, then
 * SASL_INITIATE with the secret as password (a client may send SASL_INITIATE at once). `shown`
 * is what the step says of the connection's secret, when it says anything.
 */
function negotiate(frame: RequestFrame): { reply: RpcReply; shown?: SecretShown } {
  let request: NegotiationMessage;
  try {
    request = decodeArgs(RPCS.RPC_NEGOTIATION.args, frame.args);
  } catch (error) {
    if (!(error instanceof ThriftDecodeError)) throw error;
    return { reply: { error: 'ERR_INVALID_DATA' } };
  }
  const { secret } = accessSettings();
  if (secret === '') return { reply: negotiationReply(NegotiationStatus.SASL_AUTH_DISABLE) };
  switch (request.status) {
    case NegotiationStatus.SASL_LIST_MECHANISMS:
      return { reply: negotiationReply(NegotiationStatus.SASL_LIST_MECHANISMS_RESP, PLAIN_MECHANISM) };
    case NegotiationStatus.SASL_SELECT_MECHANISMS:
      return request.msg.toString('utf8') === PLAIN_MECHANISM
        ? { reply: negotiationReply(NegotiationStatus.SASL_SELECT_MECHANISMS_RESP) }
        : { reply: negotiationReply(NegotiationStatus.SASL_AUTH_FAIL, `only ${PLAIN_MECHANISM} is supported`) };
    case NegotiationStatus.SASL_INITIATE: {
      const shown = plainSecretShown(request.msg, secret);
      return { reply: negotiationReply(shown === 'valid' ? NegotiationStatus.SASL_SUCC : NegotiationStatus.SASL_AUTH_FAIL), shown };
    }
    default:
      return { reply: negotiationReply(NegotiationStatus.SASL_AUTH_FAIL, `unexpected negotiation status ${request.status}`) };
  }
}

/** Registers a handler that works on decoded args and returns the decoded result (answered ERR_OK). */
export function registerTypedRpc<A, R>(
  server: RpcServer,
  definition: CallDefinition<A, R>,
  handler: (args: A, request: RpcRequest) => R | Promise<R>,
): void {
  server.register(definition.name, async (request) => {
    const args = decodeArgs(definition.args, request.frame.args);
    const result = await handler(args, request);
    return { error: 'ERR_OK', result: encodeResult(definition.result, result) };
  });
}

/** Registers a handler for a one-way RPC: nothing is sent back. */
export function registerOnewayRpc<A>(server: RpcServer, definition: OnewayDefinition<A>, handler: (args: A, request: RpcRequest) => void | Promise<void>): void {
  server.register(definition.name, async (request) => {
    await handler(decodeArgs(definition.args, request.frame.args), request);
    return undefined;
  });
}
