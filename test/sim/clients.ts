// Simulated clients: each runs one operation at a time against the node the meta names primary
// (asked over the network, so the answer may be stale by the time it is used), puts unique
// values and gets on a few keys, and records every operation with its invocation and
// completion times for the linearizability check. A put that times out has an unknown outcome
// (it may still take effect later); a put refused by the node definitely did not happen; a get
// that fails or times out is not recorded (it observed nothing).
import { METAS, type SimContext, type SimMessage } from './types.ts';

export type HistoryOp =
  | { kind: 'write'; key: string; value: string; invokeAt: number; completeAt?: number; ok: boolean | undefined }
  | { kind: 'read'; key: string; value: string | undefined; invokeAt: number; completeAt: number };

export interface ClientSettings {
  keys: readonly string[];
  putRatio: number;
  putTimeoutMs: number;
  getTimeoutMs: number;
  queryTimeoutMs: number;
  thinkMaxMs: number;
  /**
   * Chance that after a failure the client tries the same node again instead of asking the meta
   * (real clients keep their routing table until an error tells them otherwise), so requests
   * keep reaching a stale primary.
   */
  stickiness: number;
}

type Waiting =
  | { kind: 'query'; queryId: number }
  | { kind: 'put'; requestId: number; key: string; value: string; invokeAt: number }
  | { kind: 'get'; requestId: number; key: string; invokeAt: number };

export class SimClient {
  private primary: string | undefined;
  private waiting: Waiting | undefined;
  private seq = 0;
  private stopped = false;
  /** Operations finished (any outcome), for the summary. */
  done = 0;

  constructor(
    readonly name: string,
    private readonly ctx: SimContext,
    private readonly settings: ClientSettings,
    private readonly history: HistoryOp[],
  ) {}

  start(delayMs: number): void {
    this.ctx.schedule(delayMs, () => `${this.name} starts`, () => this.next());
  }

  /** No new operations; the one under way still finishes or times out. */
  stop(): void {
    this.stopped = true;
  }

  get idle(): boolean {
    return this.waiting === undefined || this.waiting.kind === 'query';
  }

  private next(): void {
    if (this.stopped) {
      this.waiting = undefined;
      return;
    }
    const ctx = this.ctx;
    if (this.primary === undefined) {
      const queryId = ++this.seq;
      this.waiting = { kind: 'query', queryId };
      // Any meta answers: the configuration is shared.
      ctx.send(this.name, ctx.rng.pick(METAS), { type: 'query_config', queryId });
      this.timeout(this.settings.queryTimeoutMs, queryId);
      return;
    }
    const key = ctx.rng.pick(this.settings.keys);
    const requestId = ++this.seq;
    if (ctx.rng.chance(this.settings.putRatio)) {
      const value = `${this.name}.${requestId}`;
      this.waiting = { kind: 'put', requestId, key, value, invokeAt: ctx.nowMs };
      ctx.send(this.name, this.primary, { type: 'client_put', requestId, key, value });
      this.timeout(this.settings.putTimeoutMs, requestId);
    } else {
      this.waiting = { kind: 'get', requestId, key, invokeAt: ctx.nowMs };
      ctx.send(this.name, this.primary, { type: 'client_get', requestId, key });
      this.timeout(this.settings.getTimeoutMs, requestId);
    }
  }

  private forgetPrimaryMaybe(): void {
    if (!this.ctx.rng.chance(this.settings.stickiness)) this.primary = undefined;
  }

  private timeout(afterMs: number, id: number): void {
    this.ctx.schedule(afterMs, () => `${this.name} timeout #${id}`, () => {
      const waiting = this.waiting;
      if (!waiting || idOf(waiting) !== id) return;
      if (waiting.kind === 'put') {
        this.history.push({ kind: 'write', key: waiting.key, value: waiting.value, invokeAt: waiting.invokeAt, ok: undefined });
      }
      if (waiting.kind !== 'query') this.done += 1;
      this.forgetPrimaryMaybe();
      this.waiting = undefined;
      this.next();
    });
  }

  onMessage(_from: string, message: SimMessage): void {
    const waiting = this.waiting;
    if (!waiting) return;
    const now = this.ctx.nowMs;
    if (message.type === 'query_reply') {
      if (waiting.kind !== 'query' || waiting.queryId !== message.queryId) return;
      this.waiting = undefined;
      this.primary = message.config.primary === '' ? undefined : message.config.primary;
      this.ctx.schedule(this.primary === undefined ? 100 : 0, () => `${this.name} next`, () => this.next());
      return;
    }
    if (message.type !== 'client_reply' || waiting.kind === 'query' || waiting.requestId !== message.requestId) return;
    if (waiting.kind === 'put') {
      this.history.push({ kind: 'write', key: waiting.key, value: waiting.value, invokeAt: waiting.invokeAt, completeAt: now, ok: message.ok });
    } else if (message.ok) {
      this.history.push({ kind: 'read', key: waiting.key, value: message.value, invokeAt: waiting.invokeAt, completeAt: now });
    }
    this.done += 1;
    if (!message.ok) this.forgetPrimaryMaybe();
    this.waiting = undefined;
    this.ctx.schedule(this.ctx.rng.int(0, this.settings.thinkMaxMs), () => `${this.name} next`, () => this.next());
  }
}

function idOf(waiting: Waiting): number {
  return waiting.kind === 'query' ? waiting.queryId : waiting.requestId;
}
