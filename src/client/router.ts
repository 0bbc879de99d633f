// One table's routing: its partition configuration (fetched from the meta), the partition a
// key hashes to, and the retry loop every data operation runs in (spec pegasus-arch §1.10,
// §1.11, §1.14):
//
// - partition = crc64(hash key) mod partition count; a split child not yet ready (ballot < 0)
//   is served by its parent, pidx - count/2;
// - requests go to the partition's primary, one RpcClient per replica server;
// - ERR_OBJECT_NOT_FOUND / ERR_INVALID_STATE / ERR_PARENT_PARTITION_MISUSED and transport
//   failures (timeouts, lost connections) mean the configuration is stale: it is fetched again
//   (one fetch shared by every request that saw the same stale version) and the request retried;
// - ERR_BUSY / ERR_SPLITTING / ERR_NOT_ENOUGH_MEMBER / ERR_CAPACITY_EXCEEDED are retried after
//   a pause with the same configuration;
// - retries are bounded in count and by the operation's deadline, back off exponentially when
//   they would hit the same server again, and never repeat a non-idempotent write that may
//   have reached the server (a transport failure after sending).
import { PteronError } from '../base/errors.ts';
import { partitionIndexOf } from '../base/crc64.ts';
import { formatHostPort, type HostPort } from '../base/host-port.ts';
import { primaryOf } from '../cluster/health.ts';
import type { CallDefinition, OnewayDefinition, QueryCfgResponse } from '../wire/index.ts';
import { PegasusError, untilAborted, wireErrorCode, type OperationInfo } from './errors.ts';
import type { MetaResolver } from './meta-resolver.ts';
import type { ReplicaPool } from './replica-pool.ts';

export interface RetryPolicy {
  /** Default deadline of one operation, from call to result. */
  timeoutMs: number;
  /** One attempt's timeout when an operation does not give its own (capped by what is left). */
  attemptTimeoutMs: number | undefined;
  /** Attempts after the first. */
  retriesMax: number;
  /** First pause before retrying against the same server; doubles up to retryDelayMaxMs. */
  retryDelayMs: number;
  retryDelayMaxMs: number;
}

export interface PartitionRoute {
  /** Undefined while the partition has no primary. */
  readonly primary: HostPort | undefined;
  readonly ballot: bigint;
}

export interface RoutingTable {
  readonly appId: number;
  readonly partitionCount: number;
  readonly partitions: readonly PartitionRoute[];
  /** Bumped by every configuration fetched. */
  readonly version: number;
}

/** What one data request needs besides its arguments. */
export interface RequestSpec<A, R> {
  /** The operation's name in errors ("get", "multi_set", …). */
  operation: string;
  rpc: CallDefinition<A, R>;
  args: A;
  /** The key hash: picks the partition and goes in the request header. */
  partitionHash: bigint;
  /** Scanners of a whole partition name it directly instead of hashing a key. */
  partitionIndex?: number;
  /** Whether sending the request twice is harmless (reads, put, remove, multi_put, multi_remove). */
  idempotent: boolean;
  timeoutMs?: number;
  /** Cancels the request (ERR_ABORTED), retries included. */
  signal?: AbortSignal;
}

export interface RequestOutcome<R> {
  result: R;
  info: OperationInfo;
}

/** The fields every data response carries (they name the replica that answered). */
export interface ResponseOrigin {
  appId?: number;
  partitionIndex?: number;
  server?: string;
  decree?: bigint;
}

type ErrorReaction = 'refresh' | 'pause' | 'fail';

/** How a replica's frame-level error is handled. */
export function reactionTo(error: string): ErrorReaction {
  switch (error) {
    case 'ERR_OBJECT_NOT_FOUND':
    case 'ERR_INVALID_STATE':
    case 'ERR_PARENT_PARTITION_MISUSED':
    case 'ERR_TIMEOUT':
    case 'ERR_NETWORK_FAILURE':
      return 'refresh';
    case 'ERR_BUSY':
    case 'ERR_SPLITTING':
    case 'ERR_NOT_ENOUGH_MEMBER':
    case 'ERR_CAPACITY_EXCEEDED':
      return 'pause';
    default:
      return 'fail';
  }
}

/** A partition count the client can move to from `previous` (same, split, or merged back). */
function isCompatibleCount(previous: number, next: number): boolean {
  return previous === 0 || previous === next || previous * 2 === next || next * 2 === previous;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class TableRouter {
  private routing: RoutingTable = { appId: 0, partitionCount: 0, partitions: [], version: 0 };
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly tableName: string,
    private readonly meta: MetaResolver,
    private readonly pool: ReplicaPool,
    readonly policy: RetryPolicy,
  ) {}

  get table(): RoutingTable {
    return this.routing;
  }

  /** Fetches the configuration until it is usable or the deadline passes. */
  async open(deadlineMs: number): Promise<void> {
    await this.fetch(deadlineMs, 'open_table');
  }

  /**
   * Fetches the configuration again unless someone already did since `seenVersion`; concurrent
   * callers share one fetch. A fetch failure is left to the caller's next attempt, except for a
   * table that no longer exists.
   */
  async refresh(seenVersion: number, deadlineMs: number, operation: string): Promise<void> {
    if (this.routing.version > seenVersion) return;
    if (!this.refreshing) {
      this.refreshing = this.fetch(deadlineMs, operation).finally(() => {
        this.refreshing = undefined;
      });
    }
    try {
      await this.refreshing;
    } catch (error) {
      if (error instanceof PegasusError && (error.code === 'ERR_OBJECT_NOT_FOUND' || error.code === 'ERR_APP_NOT_EXIST')) throw error;
      // Anything else (meta unreachable, timeout): the attempt that follows decides.
    }
  }

  /** The partition a hash routes to, in the current configuration. */
  partitionOf(partitionHash: bigint, routing = this.routing): number {
    const count = routing.partitionCount;
    let index = partitionIndexOf(partitionHash, count);
    const route = routing.partitions[index];
    if (route && route.ballot < 0n && index >= count / 2) index -= count / 2;
    return index;
  }

  /** Runs one request with routing, bounded retries and the operation's deadline, until its signal fires. */
  call<A, R extends ResponseOrigin>(spec: RequestSpec<A, R>): Promise<RequestOutcome<R>> {
    return untilAborted(spec.signal, spec.operation, () => this.callWithRetries(spec));
  }

  private async callWithRetries<A, R extends ResponseOrigin>(spec: RequestSpec<A, R>): Promise<RequestOutcome<R>> {
    const timeoutMs = spec.timeoutMs ?? this.policy.timeoutMs;
    if (!(timeoutMs > 0)) throw new PegasusError('ERR_INVALID_PARAMETERS', spec.operation, `timeout must be positive, got ${timeoutMs}`);
    const startMs = Date.now();
    const deadlineMs = startMs + timeoutMs;
    const attemptTimeoutMs = this.policy.attemptTimeoutMs ?? Math.max(1, Math.ceil(timeoutMs / 2));
    let lastError: PegasusError | undefined;
    let lastTarget = '';
    let attempts = 0;
    for (let attempt = 0; attempt <= this.policy.retriesMax; attempt++) {
      // An aborted call stops retrying in the background too.
      if (spec.signal?.aborted) break;
      if (this.pool.isClosed) throw new PegasusError('ERR_NETWORK_FAILURE', spec.operation, 'client is closed');
      if (Date.now() >= deadlineMs) break;
      let routing = this.routing;
      if (routing.partitionCount === 0) {
        await this.refresh(routing.version, deadlineMs, spec.operation);
        routing = this.routing;
        if (routing.partitionCount === 0) {
          lastError = new PegasusError('ERR_INVALID_STATE', spec.operation, `no configuration of table "${this.tableName}"`);
          await this.pause(attempt, deadlineMs);
          continue;
        }
      }
      const partitionIndex = spec.partitionIndex ?? this.partitionOf(spec.partitionHash, routing);
      const info: OperationInfo = { appId: routing.appId, partitionIndex, decree: -1n, server: '' };
      const route = routing.partitions[partitionIndex];
      if (!route?.primary) {
        lastError = new PegasusError('ERR_INVALID_STATE', spec.operation, `partition ${routing.appId}.${partitionIndex} has no primary`, { info });
        // The meta has not named a primary yet (failover under way): ask again after a pause.
        await this.refresh(routing.version, deadlineMs, spec.operation);
        await this.pause(attempt, deadlineMs);
        continue;
      }
      const target = formatHostPort(route.primary);
      info.server = target;
      // Hitting the server that just failed again: give it (and the meta) a moment first.
      if (attempt > 0 && target === lastTarget) await this.pause(attempt, deadlineMs);
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) break;
      lastTarget = target;
      attempts++;
      let error: string;
      let detail: string;
      let sent = true;
      try {
        const reply = await this.pool.get(route.primary).callRpc(spec.rpc, spec.args, {
          appId: routing.appId,
          partitionIndex,
          partitionHash: spec.partitionHash,
          timeoutMs: Math.max(1, Math.min(remainingMs, attemptTimeoutMs)),
        });
        if (reply.error === 'ERR_OK' && reply.result !== undefined) {
          const result = reply.result;
          return {
            result,
            info: {
              appId: result.appId ?? routing.appId,
              partitionIndex: result.partitionIndex ?? partitionIndex,
              decree: result.decree ?? -1n,
              server: result.server || target,
            },
          };
        }
        error = reply.error;
        detail = `from ${target}`;
        // An answered error means the write was not applied, except ERR_TIMEOUT: the server
        // prepared it, lost its role before it committed, and another primary may commit it.
        sent = error === 'ERR_TIMEOUT';
      } catch (caught) {
        if (!(caught instanceof PteronError)) throw caught;
        // The local queue to this server is full: the caller is over its own limit.
        if (caught.code === 'ERR_BUSY') throw new PegasusError('ERR_BUSY', spec.operation, caught.message, { info });
        error = caught.code;
        detail = caught.message.startsWith(`${caught.code}: `) ? caught.message.slice(caught.code.length + 2) : caught.message;
        // A refused connection never carried the request.
        if (caught.code === 'ERR_NETWORK_FAILURE' && /ECONNREFUSED/.test(caught.message)) sent = false;
      }
      lastError = new PegasusError(wireErrorCode(error), spec.operation, detail, { info });
      const reaction = reactionTo(error);
      if (reaction === 'fail') throw lastError;
      // A write that may have been applied is not sent again: its outcome is unknown.
      if (sent && !spec.idempotent) {
        void this.refresh(routing.version, deadlineMs, spec.operation).catch(() => {});
        throw lastError;
      }
      if (reaction === 'refresh') {
        await this.refresh(routing.version, deadlineMs, spec.operation);
      } else {
        await this.pause(attempt, deadlineMs);
        lastTarget = '';
      }
    }
    const elapsedMs = Date.now() - startMs;
    const summary = `gave up after ${attempts} attempt(s) in ${elapsedMs} ms`;
    if (!lastError) throw new PegasusError('ERR_TIMEOUT', spec.operation, summary);
    throw new PegasusError(lastError.code, spec.operation, `${summary}; last: ${lastError.message}`, { info: lastError.info });
  }

  /**
   * Sends a one-way request (RPC_RRDB_RRDB_CLEAR_SCANNER) to a partition's primary. Best effort:
   * nothing answers it, and a failure only means the server drops the context later by itself.
   */
  async sendOneway<A>(rpc: OnewayDefinition<A>, args: A, partitionIndex: number, partitionHash: bigint): Promise<void> {
    const routing = this.routing;
    const primary = routing.partitions[partitionIndex]?.primary;
    if (!primary) return;
    try {
      await this.pool.get(primary).callRpc(rpc, args, { appId: routing.appId, partitionIndex, partitionHash, timeoutMs: this.policy.timeoutMs });
    } catch (error) {
      if (!(error instanceof PteronError)) throw error;
    }
  }

  private async pause(attempt: number, deadlineMs: number): Promise<void> {
    const delayMs = Math.min(this.policy.retryDelayMaxMs, this.policy.retryDelayMs * 2 ** Math.min(attempt, 16));
    const waitMs = Math.min(delayMs, deadlineMs - Date.now());
    if (waitMs > 0) await sleep(waitMs);
  }

  private async fetch(deadlineMs: number, operation: string): Promise<void> {
    const response = await this.meta.queryConfig(this.tableName, deadlineMs, operation);
    this.accept(response, operation);
  }

  /** Checks a configuration and makes it current; throws PegasusError when it is unusable. */
  private accept(response: QueryCfgResponse, operation: string): void {
    if (response.err === 'ERR_OBJECT_NOT_FOUND' || response.err === 'ERR_APP_NOT_EXIST') {
      throw new PegasusError(response.err, operation, `table "${this.tableName}" does not exist`);
    }
    if (response.err !== 'ERR_OK') throw new PegasusError(wireErrorCode(response.err), operation, `querying table "${this.tableName}"`);
    const count = response.partitionCount;
    if (!(count > 0) || response.partitions.length !== count) {
      throw new PegasusError('ERR_INVALID_DATA', operation, `table "${this.tableName}": ${response.partitions.length} partitions for a count of ${count}`);
    }
    const previous = this.routing;
    if (previous.appId === response.appId && !isCompatibleCount(previous.partitionCount, count)) {
      throw new PegasusError('ERR_INVALID_DATA', operation, `table "${this.tableName}": partition count went from ${previous.partitionCount} to ${count}`);
    }
    const partitions = new Array<PartitionRoute>(count);
    for (const config of response.partitions) {
      const index = config.pid.partitionIndex;
      if (!(index >= 0 && index < count) || partitions[index] !== undefined) {
        throw new PegasusError('ERR_INVALID_DATA', operation, `table "${this.tableName}": bad partition index ${index}`);
      }
      partitions[index] = { primary: primaryOf(config), ballot: config.ballot };
    }
    this.routing = { appId: response.appId, partitionCount: count, partitions, version: previous.version + 1 };
  }
}
