// The RPC client against a real one-port server (createServer with an RpcServer): pipelining,
// timeouts, rDSN errors, connection loss, reconnection, bounds and one-way requests.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc64 } from '../../src/base/crc64.ts';
import { PteronError } from '../../src/base/errors.ts';
import { RpcClient } from '../../src/net/rpc/client.ts';
import type { RpcRequest } from '../../src/net/rpc/server.ts';
import { createServer, type PteronServer } from '../../src/server/server.ts';
import { encodeRequestFrameV0, parseResponseFrame } from '../../src/wire/frame.ts';
import { decodeArgs, encodeResult, RPCS, readResponseCodec } from '../../src/wire/structs/index.ts';
import { waitFor } from '../helpers/process.ts';

const LOCALHOST = '127.0.0.1';

function failsWith(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PteronError, `expected a PteronError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

/**
 * A server whose RPC_TEST_ECHO handler waits `args[0]` × 10 ms and answers with the args, and whose
 * RPC_TEST_HELD handler answers with the args only once the test calls `release(args[0])`: replies
 * in an order, or after a timeout, that no timer on a busy machine can change.
 */
async function startServer(port = 0): Promise<{ server: PteronServer; port: number; requests: RpcRequest[]; release: (tag: number) => void }> {
  const server = createServer({ role: 'test', port });
  const requests: RpcRequest[] = [];
  const held = new Map<number, () => void>();
  const releasedEarly = new Set<number>();
  server.rpc.register('RPC_TEST_HELD', async (request) => {
    requests.push(request);
    const tag = request.frame.args[0] ?? 0;
    if (!releasedEarly.delete(tag)) await new Promise<void>((resolve) => held.set(tag, resolve));
    return { error: 'ERR_OK', result: request.frame.args };
  });
  const release = (tag: number): void => {
    const resolve = held.get(tag);
    if (resolve === undefined) releasedEarly.add(tag);
    else {
      held.delete(tag);
      resolve();
    }
  };
  server.rpc.register('RPC_TEST_ECHO', async (request) => {
    requests.push(request);
    const delayMs = (request.frame.args[0] ?? 0) * 10;
    if (delayMs > 0) await sleep(delayMs);
    return { error: 'ERR_OK', result: request.frame.args };
  });
  server.rpc.register('RPC_TEST_NEVER', () => new Promise(() => {}));
  server.rpc.register('RPC_TEST_BUSY', () => ({ error: 'ERR_BUSY' }));
  server.rpc.register('RPC_RRDB_RRDB_GET', (request) => {
    requests.push(request);
    const key = decodeArgs(RPCS.RPC_RRDB_RRDB_GET.args, request.frame.args);
    return {
      error: 'ERR_OK',
      result: encodeResult(readResponseCodec, {
        error: 0, value: Buffer.concat([Buffer.from('value-of-'), key]), appId: request.frame.header.appId,
        partitionIndex: request.frame.header.partitionIndex, server: `${LOCALHOST}:${server.identity.port}`,
      }),
    };
  });
  server.rpc.register('RPC_RRDB_RRDB_CLEAR_SCANNER', (request) => {
    requests.push(request);
    return undefined;
  });
  return { server, port: await server.start(), requests, release };
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('RpcClient', () => {
  it('calls a handler and returns the result bytes', async () => {
    const { server, port, requests } = await startServer();
    cleanups.push(() => server.close());
    const client = new RpcClient({ host: LOCALHOST, port });
    cleanups.push(() => client.close());
    const response = await client.call('RPC_TEST_ECHO', Buffer.from([0, 1, 2, 3]), { appId: 5, partitionIndex: 6, timeoutMs: 1234 });
    assert.deepEqual(response, { error: 'ERR_OK', result: Buffer.from([0, 1, 2, 3]) });
    const header = requests[0]!.frame.header;
    assert.equal(header.version, 0);
    assert.equal(header.appId, 5);
    assert.equal(header.partitionIndex, 6);
    assert.equal(header.clientTimeoutMs, 1234);
    assert.equal(header.threadHash, 5 * 7919 + 6);
    assert.equal(client.inFlight, 0);
  });

  it('encodes and decodes through the RPC table', async () => {
    const { server, port, requests } = await startServer();
    cleanups.push(() => server.close());
    const client = new RpcClient({ host: LOCALHOST, port });
    cleanups.push(() => client.close());
    const key = Buffer.from('0002686b736b', 'hex');
    const partitionHash = crc64(Buffer.from('hk'));
    const reply = await client.callRpc(RPCS.RPC_RRDB_RRDB_GET, key, { appId: 2, partitionIndex: 3, partitionHash });
    assert.equal(reply.error, 'ERR_OK');
    assert.deepEqual(reply.result, {
      error: 0, value: Buffer.concat([Buffer.from('value-of-'), key]), appId: 2, partitionIndex: 3, server: `${LOCALHOST}:${port}`,
    });
    assert.equal(requests[0]!.frame.header.partitionHash, partitionHash);
    // Every server answers remote commands; a STRING result decodes through the RPC table too.
    const command = await client.callRpc(RPCS.RPC_CLI_CLI_CALL, { cmd: 'no-such-command', arguments: ['a', 'b'] });
    assert.deepEqual(command, { error: 'ERR_OK', result: "unknown command 'no-such-command'" });
  });

  it('matches pipelined replies that come back out of order', async () => {
    const { server, port, requests, release } = await startServer();
    cleanups.push(() => server.close());
    const client = new RpcClient({ host: LOCALHOST, port });
    cleanups.push(() => client.close());
    const order: number[] = [];
    const calls = [0, 1, 2, 3].map((index) =>
      client.call('RPC_TEST_HELD', Buffer.from([index, 100 + index])).then((response) => {
        order.push(index);
        return response;
      }),
    );
    assert.equal(client.inFlight, 4);
    await waitFor('four requests at the server', () => requests.length === 4);
    // Each reply is let go only after the one released before it has come back.
    for (const index of [3, 2, 1, 0]) {
      release(index);
      await waitFor(`reply ${index}`, () => order.includes(index));
    }
    const responses = await Promise.all(calls);
    responses.forEach((response, index) => assert.deepEqual(response.result, Buffer.from([index, 100 + index])));
    assert.deepEqual(order, [3, 2, 1, 0]);
    const seqids = new Set(requests.map((request) => request.frame.seqid));
    assert.equal(seqids.size, 4, 'each call has its own seqid');
    assert.equal(client.inFlight, 0);
  });

  it('times out a call, ignores its late reply and keeps the connection', async () => {
    const { server, port, requests, release } = await startServer();
    cleanups.push(() => server.close());
    const client = new RpcClient({ host: LOCALHOST, port });
    cleanups.push(() => client.close());
    // The reply is held until after the rejection, so the rejection can only be the timeout's.
    await assert.rejects(client.call('RPC_TEST_HELD', Buffer.from([7]), { timeoutMs: 40 }), failsWith('ERR_TIMEOUT'));
    assert.equal(client.inFlight, 0);
    await waitFor('the held request to arrive', () => requests.length === 1);
    // The late reply goes out before the next call's, on the same connection, and is dropped.
    release(7);
    const response = await client.call('RPC_TEST_ECHO', Buffer.from([0, 42]));
    assert.deepEqual(response.result, Buffer.from([0, 42]));
    assert.ok(client.isConnected);
  });

  it('returns rDSN errors such as ERR_HANDLER_NOT_FOUND as replies', async () => {
    const { server, port } = await startServer();
    cleanups.push(() => server.close());
    const client = new RpcClient({ host: LOCALHOST, port });
    cleanups.push(() => client.close());
    assert.deepEqual(await client.call('RPC_NO_SUCH_THING', Buffer.from([0])), { error: 'ERR_HANDLER_NOT_FOUND', result: Buffer.alloc(0) });
    assert.deepEqual(await client.call('RPC_TEST_BUSY', Buffer.alloc(1)), { error: 'ERR_BUSY', result: Buffer.alloc(0) });
    assert.deepEqual(await client.callRpc(RPCS.RPC_RRDB_RRDB_TTL, Buffer.from('0000', 'hex')), { error: 'ERR_HANDLER_NOT_FOUND', result: undefined });
  });

  it('fails in-flight calls when the server closes the connection, then reconnects', async () => {
    const first = await startServer();
    const client = new RpcClient({ host: LOCALHOST, port: first.port });
    cleanups.push(() => client.close());
    assert.equal((await client.call('RPC_TEST_ECHO', Buffer.from([0]))).error, 'ERR_OK');
    const hanging = client.call('RPC_TEST_NEVER', Buffer.alloc(0), { timeoutMs: 5000 });
    await waitFor('the hanging call', () => client.inFlight === 1);
    await first.server.close();
    await assert.rejects(hanging, failsWith('ERR_NETWORK_FAILURE'));
    assert.equal(client.isConnected, false);
    assert.equal(client.inFlight, 0);

    // Nothing listens now: the next call fails, and is not retried.
    await assert.rejects(client.call('RPC_TEST_ECHO', Buffer.from([0])), failsWith('ERR_NETWORK_FAILURE'));

    const second = await startServer(first.port);
    cleanups.push(() => second.server.close());
    const response = await client.call('RPC_TEST_ECHO', Buffer.from([0, 7]));
    assert.deepEqual(response, { error: 'ERR_OK', result: Buffer.from([0, 7]) });
    assert.ok(client.isConnected);
  });

  it('bounds the calls in flight and those waiting', async () => {
    const { server, port } = await startServer();
    cleanups.push(() => server.close());
    const client = new RpcClient({ host: LOCALHOST, port }, { inFlightMax: 2, queuedMax: 1 });
    cleanups.push(() => client.close());
    const calls = [client.call('RPC_TEST_ECHO', Buffer.from([5, 0])), client.call('RPC_TEST_ECHO', Buffer.from([5, 1])), client.call('RPC_TEST_ECHO', Buffer.from([0, 2]))];
    assert.equal(client.inFlight, 2);
    assert.equal(client.queued, 1);
    await assert.rejects(client.call('RPC_TEST_ECHO', Buffer.from([0, 3])), failsWith('ERR_BUSY'));
    const responses = await Promise.all(calls);
    assert.deepEqual(responses.map((response) => response.result[1]), [0, 1, 2]);
    assert.equal(client.queued, 0);
  });

  it('times out a call still waiting for a slot', async () => {
    const { server, port, release } = await startServer();
    cleanups.push(() => server.close());
    const client = new RpcClient({ host: LOCALHOST, port }, { inFlightMax: 1 });
    cleanups.push(() => client.close());
    const slow = client.call('RPC_TEST_HELD', Buffer.from([1]));
    await assert.rejects(client.call('RPC_TEST_ECHO', Buffer.from([0]), { timeoutMs: 30 }), failsWith('ERR_TIMEOUT'));
    assert.equal(client.queued, 0);
    release(1);
    assert.equal((await slow).error, 'ERR_OK');
  });

  it('sends one-way requests without waiting for a reply', async () => {
    const { server, port, requests } = await startServer();
    cleanups.push(() => server.close());
    const client = new RpcClient({ host: LOCALHOST, port });
    cleanups.push(() => client.close());
    assert.deepEqual(await client.callRpc(RPCS.RPC_RRDB_RRDB_CLEAR_SCANNER, 0x1234n << 32n, { appId: 1 }), { error: 'ERR_OK', result: undefined });
    await waitFor('the clear_scanner request', () => requests.length === 1);
    assert.equal(decodeArgs(RPCS.RPC_RRDB_RRDB_CLEAR_SCANNER.args, requests[0]!.frame.args), 0x1234n << 32n);
    assert.equal(client.inFlight, 0);
    // The connection still serves calls afterwards.
    assert.equal((await client.call('RPC_TEST_ECHO', Buffer.from([0]))).error, 'ERR_OK');
  });

  it('answers every request of a client that half-closes, then ends the connection', async () => {
    const { server, port } = await startServer();
    cleanups.push(() => server.close());
    const socket = net.connect(port, LOCALHOST);
    await new Promise((resolve) => socket.once('connect', resolve));
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise((resolve) => socket.once('end', resolve));
    // The second answer takes 50 ms, long after the client's FIN.
    socket.end(Buffer.concat([encodeRequestFrameV0('RPC_TEST_ECHO', 1, Buffer.from([0])), encodeRequestFrameV0('RPC_TEST_ECHO', 2, Buffer.from([5]))]));
    await ended;
    let rest = Buffer.concat(received);
    const answers: Array<[number, string]> = [];
    for (let parsed = parseResponseFrame(rest, 1 << 20); parsed; parsed = parseResponseFrame(rest, 1 << 20)) {
      answers.push([parsed.frame.seqid, parsed.frame.error]);
      rest = rest.subarray(parsed.bytes);
    }
    assert.deepEqual(answers, [[1, 'ERR_OK'], [2, 'ERR_OK']]);
    socket.destroy();
  });

  it('closes cleanly: pending calls fail and later calls are refused', async () => {
    const { server, port } = await startServer();
    cleanups.push(() => server.close());
    const client = new RpcClient({ host: LOCALHOST, port }, { inFlightMax: 1 });
    const inFlight = client.call('RPC_TEST_NEVER', Buffer.alloc(0));
    const waiting = client.call('RPC_TEST_ECHO', Buffer.from([0]));
    const outcomes = [assert.rejects(inFlight, failsWith('ERR_NETWORK_FAILURE')), assert.rejects(waiting, failsWith('ERR_NETWORK_FAILURE'))];
    await client.close();
    await Promise.all(outcomes);
    assert.equal(client.inFlight, 0);
    assert.equal(client.queued, 0);
    await assert.rejects(client.call('RPC_TEST_ECHO', Buffer.from([0])), failsWith('ERR_NETWORK_FAILURE'));
    await client.close();
  });

  it('drops the connection on a malformed reply', async () => {
    const raw = net.createServer((socket) => {
      socket.once('data', () => socket.write(Buffer.from('0000000c00000063ffffffff', 'hex')));
    });
    await new Promise<void>((resolve) => raw.listen(0, LOCALHOST, resolve));
    cleanups.push(() => new Promise<void>((resolve) => raw.close(() => resolve())));
    const client = new RpcClient({ host: LOCALHOST, port: (raw.address() as net.AddressInfo).port });
    cleanups.push(() => client.close());
    await assert.rejects(client.call('RPC_TEST_ECHO', Buffer.from([0])), failsWith('ERR_INVALID_DATA'));
    assert.equal(client.isConnected, false);
  });

  it('rejects a reply whose name does not match the request', async () => {
    const raw = net.createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        // Echo the request's seqid under another RPC's name.
        const nameLength = chunk.readInt32BE(52);
        const seqid = chunk.readInt32BE(56 + nameLength);
        const name = Buffer.from('RPC_OTHER_ACK');
        const error = Buffer.from('ERR_OK');
        const frame = Buffer.alloc(4 + 4 + error.length + 4 + 4 + name.length + 4);
        let offset = frame.writeInt32BE(frame.length, 0);
        offset = frame.writeInt32BE(error.length, offset);
        offset += error.copy(frame, offset);
        offset = frame.writeUInt32BE(0x80010002, offset);
        offset = frame.writeInt32BE(name.length, offset);
        offset += name.copy(frame, offset);
        frame.writeInt32BE(seqid, offset);
        socket.write(frame);
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, LOCALHOST, resolve));
    cleanups.push(() => new Promise<void>((resolve) => raw.close(() => resolve())));
    const client = new RpcClient({ host: LOCALHOST, port: (raw.address() as net.AddressInfo).port });
    cleanups.push(() => client.close());
    await assert.rejects(client.call('RPC_TEST_ECHO', Buffer.from([0])), failsWith('ERR_INVALID_DATA'));
  });

  it('refuses an address it cannot connect to', () => {
    assert.throws(() => new RpcClient({ host: '', port: 1 }), PteronError);
    assert.throws(() => new RpcClient({ host: LOCALHOST, port: 70000 }), PteronError);
  });
});
