// The bulk load RPCs of the primary meta (idl/bulk_load.thrift).
import type { RpcServer } from '../../net/index.ts';
import { RPCS } from '../../wire/index.ts';
import { registerPrimaryRpc, type Standing } from './primary-rpc.ts';

export function registerBulkLoadRpcs(rpc: RpcServer, standing: () => Standing): void {
  registerPrimaryRpc(rpc, RPCS.RPC_CM_START_BULK_LOAD, standing, (err) => ({ err, hintMsg: '' }), (request, state) => state.startBulkLoad(request));
  registerPrimaryRpc(rpc, RPCS.RPC_CM_CONTROL_BULK_LOAD, standing, (err) => ({ err }), (request, state) => state.controlBulkLoad(request.appName, request.type));
  registerPrimaryRpc(
    rpc, RPCS.RPC_CM_QUERY_BULK_LOAD_STATUS, standing,
    (err, request) => ({ err, appName: request.appName, appStatus: 0, partitionsStatus: [], maxReplicaCount: 0, bulkLoadStates: [] }),
    (request, state) => state.queryBulkLoad(request.appName),
  );
  registerPrimaryRpc(rpc, RPCS.RPC_CM_CLEAR_BULK_LOAD, standing, (err) => ({ err, hintMsg: '' }), (request, state) => state.clearBulkLoad(request.appName));
}
