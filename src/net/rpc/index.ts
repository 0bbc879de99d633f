export { RpcServer, frameBodyBytesMax, type RpcHandler, type RpcReply, type RpcRequest } from './server.ts';
