// One TCP port per process. The first bytes of a connection choose its protocol for good:
// "THFT" → Pegasus thrift RPC, an HTTP method → the admin HTTP server, anything else → closed.
import net from 'node:net';
import type http from 'node:http';
import { defineMetric, serverEntity } from '../metrics/index.ts';

const SNIFF_BYTES = 4;
/** A connection that sends fewer than four bytes within this time is dropped. */
const SNIFF_TIMEOUT_MS = 10000;
const HTTP_PREFIXES = ['GET ', 'POST', 'PUT ', 'HEAD', 'DELE', 'OPTI', 'PATC'];

const sessionsMetric = defineMetric({
  entityType: 'server', type: 'Gauge', name: 'network_server_sessions', unit: 'Sessions',
  desc: 'The number of sessions from server side',
});
const rejectedMetric = defineMetric({
  entityType: 'server', type: 'Counter', name: 'network_rejected_connections', unit: 'Connections',
  desc: 'The number of connections closed because their first bytes were neither a THFT frame nor an HTTP request',
});

export interface RpcConnectionHandler {
  /** Takes over a connection whose first bytes (already read, in `head`) are "THFT". */
  accept(socket: net.Socket, head: Buffer): void;
}

export interface ListenerOptions {
  host: string;
  port: number;
  http: http.Server;
  rpc: RpcConnectionHandler;
}

export interface Listener {
  readonly server: net.Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function listen(options: ListenerOptions): Promise<Listener> {
  const entity = serverEntity();
  const sessions = entity.gauge(sessionsMetric);
  const rejected = entity.counter(rejectedMetric);
  const sockets = new Set<net.Socket>();

  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    sessions.set(sockets.size);
    socket.once('close', () => {
      sockets.delete(socket);
      sessions.set(sockets.size);
    });
    socket.on('error', () => socket.destroy());

    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS);
    socket.once('close', () => clearTimeout(timer));
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (head.length < SNIFF_BYTES) return;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.pause();
      const prefix = head.toString('latin1', 0, SNIFF_BYTES);
      if (prefix === 'THFT') {
        options.rpc.accept(socket, head);
      } else if (HTTP_PREFIXES.includes(prefix)) {
        socket.unshift(head);
        options.http.emit('connection', socket);
        socket.resume();
      } else {
        rejected.increment();
        socket.destroy();
      }
    };
    socket.on('data', onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  // The HTTP server never listens itself; node starts its per-connection bookkeeping (the
  // headersTimeout/requestTimeout checks that end slow or stalled requests) on 'listening'.
  options.http.emit('listening');
  const address = server.address() as net.AddressInfo;
  return {
    server,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        // Stops the bookkeeping started above; the HTTP server has no socket of its own to close.
        options.http.close();
      }),
  };
}
