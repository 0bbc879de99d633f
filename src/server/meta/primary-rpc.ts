// The meta RPCs only the primary meta serves: how a backup, a loading or a recovering primary refuses them.
import { log, PteronError, type ErrorName } from '../../base/index.ts';
import type { MetaServerState } from '../../meta/server-state.ts';
import { registerTypedRpc, type RpcServer } from '../../net/index.ts';
import type { CallDefinition, RecoveryRequest, RecoveryResponse } from '../../wire/index.ts';

/** What this meta can do right now. A primary in recovery mode waits for `recover` with no state. */
export type Standing =
  | { kind: 'primary'; state: MetaServerState }
  | { kind: 'loading' }
  | { kind: 'recovering'; recover: (request: RecoveryRequest) => Promise<RecoveryResponse> }
  | { kind: 'backup'; leader: string | undefined };

/**
 * Registers a meta RPC that only the primary serves. A backup answers `refuse` with
 * ERR_FORWARD_TO_OTHERS (and the leader), a primary still loading with ERR_SERVICE_NOT_ACTIVE,
 * and a change the store could not make (ZooKeeper unreachable) with the store's error code.
 */
export function registerPrimaryRpc<A, R>(
  rpc: RpcServer,
  definition: CallDefinition<A, R>,
  standing: () => Standing,
  refuse: (err: ErrorName, request: A, leader?: string) => R,
  handler: (request: A, state: MetaServerState) => R | Promise<R>,
): void {
  const refuseFor = (now: Standing, request: A): R =>
    now.kind === 'backup' ? refuse('ERR_FORWARD_TO_OTHERS', request, now.leader) : refuse('ERR_SERVICE_NOT_ACTIVE', request);
  registerTypedRpc(rpc, definition, async (request) => {
    const now = standing();
    if (now.kind !== 'primary') return refuseFor(now, request);
    try {
      return await handler(request, now.state);
    } catch (error) {
      const after = standing();
      // The meta stepped down (or reloaded) while the request waited: answer as it stands now.
      if (after.kind !== 'primary' || after.state !== now.state) return refuseFor(after, request);
      if (!(error instanceof PteronError)) throw error;
      log.warn({ rpc: definition.name, err: error.message }, 'meta request failed');
      return refuse(error.code, request);
    }
  });
}
