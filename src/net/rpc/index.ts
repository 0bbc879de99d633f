export { RpcServer, frameBodyBytesMax, registerTypedRpc, registerOnewayRpc, type RpcHandler, type RpcReply, type RpcRequest } from './server.ts';
export { RpcClient, RPC_CLIENT_DEFAULTS, setConnectionSecret, type RpcClientOptions, type RpcCallTarget, type RpcResponse, type TypedRpcResponse } from './client.ts';
