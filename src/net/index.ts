export { listen, type Listener, type ListenerOptions, type RpcConnectionHandler } from './listener.ts';
export * from './http/index.ts';
export * from './rpc/index.ts';
