export { listen, type Listener, type ListenerOptions, type RpcConnectionHandler } from './listener.ts';
export * from './http/index.ts';
export * from './rpc/index.ts';
export {
  accessSettings, adminSecret, allowRemoteAdminWithoutSecret, trustedAddresses, httpCallKind, rpcKind, ACCESS_DENIED_CODE, type CallKind,
} from './access-policy.ts';
