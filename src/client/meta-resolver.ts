// Asks the meta group for a table's partition configuration (spec pegasus-arch §1.15): any
// listed meta may be asked; a backup answers ERR_FORWARD_TO_OTHERS naming the leader in
// partitions[0].primary; a leader still loading answers ERR_SERVICE_NOT_ACTIVE; an unreachable
// meta is skipped for the next. Every loop is bounded by a hop count and the caller's deadline.
import { PteronError } from '../base/errors.ts';
import { formatHostPort, hostPortEquals, type HostPort } from '../base/host-port.ts';
import { RPCS, type QueryCfgResponse } from '../wire/index.ts';
import { PegasusError, wireErrorCode } from './errors.ts';
import { forwardHint, MetaList } from './meta-list.ts';

export interface MetaResolverOptions {
  /** Timeout of one query to one meta. */
  queryTimeoutMs: number;
  /** Wait before asking again after every meta failed, or a leader said it is not active yet. */
  retryDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Asks of metas per resolution, whatever the deadline. */
const HOPS_MAX = 64;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class MetaResolver {
  private readonly metas: MetaList;
  private readonly options: MetaResolverOptions;
  private readonly sleep: (ms: number) => Promise<void>;
  private closed = false;

  constructor(metas: readonly HostPort[], options: MetaResolverOptions) {
    if (metas.length === 0) throw new PegasusError('ERR_INVALID_PARAMETERS', 'create_client', 'no meta server given');
    this.metas = new MetaList(metas, options.queryTimeoutMs);
    this.options = options;
    this.sleep = options.sleep ?? defaultSleep;
  }

  get metaList(): readonly HostPort[] {
    return this.metas.all;
  }

  /**
   * The table's configuration as the leader sees it. Resolves with any meta-level answer other
   * than a forward or "not active yet" (the caller judges ERR_OBJECT_NOT_FOUND and the like);
   * rejects with a PegasusError when no meta answered before `deadlineMs` (ERR_TIMEOUT, or the
   * last transport error).
   */
  async queryConfig(appName: string, deadlineMs: number, operation = 'query_config'): Promise<QueryCfgResponse> {
    let lastFailure: PegasusError | undefined;
    let failuresInARow = 0;
    let forwardsWithoutLeader = 0;
    for (let hop = 0; hop < HOPS_MAX; hop++) {
      if (this.closed) throw new PegasusError('ERR_NETWORK_FAILURE', operation, 'client is closed');
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) break;
      const target = this.metas.first;
      let reply;
      try {
        reply = await this.metas.clientFor(target).callRpc(
          RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX,
          { appName, partitionIndices: [] },
          { timeoutMs: Math.max(1, Math.min(remainingMs, this.options.queryTimeoutMs)) },
        );
      } catch (error) {
        if (!(error instanceof PteronError)) throw error;
        lastFailure = new PegasusError(error.code, operation, `meta ${formatHostPort(target)}: ${error.message}`);
        this.metas.rotate();
        if (++failuresInARow % this.metas.size === 0) await this.pause(deadlineMs);
        continue;
      }
      if (reply.error !== 'ERR_OK' || reply.result === undefined) {
        // The meta could not run the query at all (e.g. ERR_HANDLER_NOT_FOUND): try another.
        lastFailure = new PegasusError(wireErrorCode(reply.error), operation, `meta ${formatHostPort(target)}`);
        this.metas.rotate();
        if (++failuresInARow % this.metas.size === 0) await this.pause(deadlineMs);
        continue;
      }
      failuresInARow = 0;
      const response = reply.result;
      switch (response.err) {
        case 'ERR_FORWARD_TO_OTHERS': {
          lastFailure = new PegasusError(response.err, operation, `meta ${formatHostPort(target)} is not the leader`);
          const hint = forwardHint(response);
          if (hint && !hostPortEquals(hint, target)) {
            this.metas.moveTo(hint);
          } else {
            this.metas.rotate();
            // A whole round of "not me" without a leader named: an election may be under way.
            if (++forwardsWithoutLeader % this.metas.size === 0) await this.pause(deadlineMs);
          }
          continue;
        }
        case 'ERR_SERVICE_NOT_ACTIVE':
        case 'ERR_BUSY_CREATING':
          lastFailure = new PegasusError(response.err, operation, `meta ${formatHostPort(target)}`);
          await this.pause(deadlineMs);
          continue;
        default:
          return response;
      }
    }
    if (Date.now() >= deadlineMs) {
      throw new PegasusError('ERR_TIMEOUT', operation, `no configuration of table "${appName}" in time${lastFailure ? ` (last: ${lastFailure.code})` : ''}`);
    }
    throw lastFailure ?? new PegasusError('ERR_TIMEOUT', operation, `no configuration of table "${appName}"`);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.metas.close();
  }

  private async pause(deadlineMs: number): Promise<void> {
    const waitMs = Math.min(this.options.retryDelayMs, deadlineMs - Date.now());
    if (waitMs > 0) await this.sleep(waitMs);
  }
}
