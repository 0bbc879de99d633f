// Meta RPCs to a meta group (spec pegasus-arch §1.15): any listed meta may be asked; a backup
// answers ERR_FORWARD_TO_OTHERS inside the response (for the partition-config query with the
// leader in partitions[0].primary), a leader still loading answers ERR_SERVICE_NOT_ACTIVE, and
// an unreachable meta is skipped. Every loop here is bounded. The shell asks its cluster's metas
// with it, a meta the metas of the clusters it duplicates to.
import { hostPortEquals, PteronError, type HostPort } from '../base/index.ts';
import { forwardHint, LEARNED_METAS_MAX, MetaList } from './meta-list.ts';
import type { CallDefinition } from '../wire/structs/index.ts';

/** What a meta call ends with: the meta-level `err` (or the frame/transport error) and the response. */
export interface MetaReply<R> {
  /** ERR_OK, a meta-level error from the response, a frame error, or ERR_NETWORK_FAILURE/ERR_TIMEOUT. */
  readonly err: string;
  /** The decoded response whenever the meta answered with one (even with err ≠ ERR_OK). */
  readonly response: R | undefined;
  /** Why a transport failure happened, for the user. */
  readonly detail?: string;
}

/** Anything that answers meta RPCs; the shell's commands only see this. */
export interface MetaCaller {
  /** `timeoutMs`: of each RPC, for a call that takes longer than the client's timeout (recover). */
  call<A, R extends { err: string }>(rpc: CallDefinition<A, R>, args: A, options?: { timeoutMs?: number }): Promise<MetaReply<R>>;
  close(): Promise<void>;
}

export interface MetaClientOptions {
  /** Timeout of one RPC. */
  timeoutMs?: number;
  /** Wait between two asks of a leader that answered ERR_SERVICE_NOT_ACTIVE. */
  notActiveRetryMs?: number;
  /** How many times a not-yet-active leader is asked again. */
  notActiveRetriesMax?: number;
  /** Wait between two asks answered ERR_BUSY_CREATING/ERR_BUSY_DROPPING. */
  busyRetryMs?: number;
  /** How many times a busy answer is retried. */
  busyRetriesMax?: number;
  sleep?: (ms: number) => Promise<void>;
}

export const META_CLIENT_DEFAULTS = Object.freeze({
  timeoutMs: 10_000,
  notActiveRetryMs: 500,
  notActiveRetriesMax: 10,
  busyRetryMs: 1000,
  busyRetriesMax: 2,
});

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The leader named by a non-leader's partition-config answer, if any. */
export const leaderHint = (response: unknown): HostPort | undefined => forwardHint(response as Parameters<typeof forwardHint>[0]);

export class MetaClient implements MetaCaller {
  private readonly metas: MetaList;
  private readonly options: Required<Omit<MetaClientOptions, 'sleep'>>;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(metas: readonly HostPort[], options: MetaClientOptions = {}) {
    if (metas.length === 0) throw new PteronError('ERR_INVALID_PARAMETERS', 'no meta server given');
    this.options = {
      timeoutMs: options.timeoutMs ?? META_CLIENT_DEFAULTS.timeoutMs,
      notActiveRetryMs: options.notActiveRetryMs ?? META_CLIENT_DEFAULTS.notActiveRetryMs,
      notActiveRetriesMax: options.notActiveRetriesMax ?? META_CLIENT_DEFAULTS.notActiveRetriesMax,
      busyRetryMs: options.busyRetryMs ?? META_CLIENT_DEFAULTS.busyRetryMs,
      busyRetriesMax: options.busyRetriesMax ?? META_CLIENT_DEFAULTS.busyRetriesMax,
    };
    this.sleep = options.sleep ?? defaultSleep;
    this.metas = new MetaList(metas, this.options.timeoutMs);
  }

  /** The meta that will be asked first. */
  get leader(): HostPort {
    return this.metas.first;
  }

  get metaList(): readonly HostPort[] {
    return this.metas.all;
  }

  async call<A, R extends { err: string }>(rpc: CallDefinition<A, R>, args: A, options: { timeoutMs?: number } = {}): Promise<MetaReply<R>> {
    // Each meta may be visited twice (a forward can point back at one already tried), plus hops
    // to learned leaders.
    const hopsMax = 2 * (this.metas.size + LEARNED_METAS_MAX) + 1;
    let unreachableInARow = 0;
    let notActiveRetries = 0;
    let busyRetries = 0;
    let forwardsWithoutLeader = 0;
    let last: MetaReply<R> = { err: 'ERR_NETWORK_FAILURE', response: undefined, detail: 'no meta server answered' };
    for (let hop = 0; hop < hopsMax; hop++) {
      const target = this.metas.first;
      let reply;
      try {
        reply = await this.metas.clientFor(target).callRpc(rpc, args, { timeoutMs: options.timeoutMs });
      } catch (error) {
        if (!(error instanceof PteronError)) throw error;
        const prefix = `${error.code}: `;
        const detail = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
        last = { err: error.code, response: undefined, detail };
        // Every meta failed in a row: give up with the last transport error.
        if (++unreachableInARow >= this.metas.size) return last;
        this.metas.rotate();
        continue;
      }
      unreachableInARow = 0;
      if (reply.error !== 'ERR_OK' || reply.result === undefined) return { err: reply.error, response: undefined };
      const response = reply.result;
      last = { err: response.err, response };
      switch (response.err) {
        case 'ERR_FORWARD_TO_OTHERS': {
          const hint = leaderHint(response);
          if (hint && !hostPortEquals(hint, target)) {
            this.metas.moveTo(hint);
            continue;
          }
          this.metas.rotate();
          // Every meta said "not me" without naming a leader: an election may be under way.
          if (++forwardsWithoutLeader % this.metas.size === 0) await this.sleep(this.options.notActiveRetryMs);
          continue;
        }
        case 'ERR_SERVICE_NOT_ACTIVE':
          if (notActiveRetries >= this.options.notActiveRetriesMax) return last;
          notActiveRetries++;
          await this.sleep(this.options.notActiveRetryMs);
          continue;
        case 'ERR_BUSY_CREATING':
        case 'ERR_BUSY_DROPPING':
          if (busyRetries >= this.options.busyRetriesMax) return last;
          busyRetries++;
          await this.sleep(this.options.busyRetryMs);
          continue;
        default:
          return last;
      }
    }
    return last;
  }

  async close(): Promise<void> {
    await this.metas.close();
  }
}
