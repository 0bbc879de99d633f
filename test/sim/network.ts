// The simulated network: every message gets a random delay (so messages overtake each other),
// may be lost or delivered twice, and never crosses a cut link. A cut is checked when the
// message is sent and again when it arrives, so a partition that starts while a message is in
// flight loses it. Cuts are counted per pair of endpoints, so overlapping partitions heal
// independently.
import type { Label } from './event-queue.ts';
import type { Prng } from '../helpers/prng.ts';
import type { SimMessage } from './types.ts';

export interface NetworkHooks {
  nowMs(): number;
  schedule(delayMs: number, label: Label, run: () => void): void;
  deliver(from: string, to: string, message: SimMessage): void;
  trace(text: string): void;
}

export interface NetworkProfile {
  /** Loss probability outside bursts. */
  baseDropRate: number;
  duplicateRate: number;
  delayMinMs: number;
  delayMaxMs: number;
  /** Chance of a long delay (a slow path), up to `slowDelayMaxMs`. */
  slowRate: number;
  slowDelayMaxMs: number;
}

export class Network {
  private readonly cuts = new Map<string, number>();
  /** Loss probability while a burst lasts (0 outside). */
  burstDropRate = 0;
  private burstUntilMs = 0;
  extraDelayMs = 0;
  private extraDelayUntilMs = 0;
  /** Messages sent and lost, for the run summary. */
  sent = 0;
  lost = 0;

  constructor(
    private readonly rng: Prng,
    private readonly hooks: NetworkHooks,
    public profile: NetworkProfile,
  ) {}

  send(from: string, to: string, message: SimMessage): void {
    this.sent += 1;
    if (this.isCut(from, to) || this.rng.chance(this.dropRate())) {
      this.lost += 1;
      return;
    }
    this.dispatch(from, to, message);
    const clientRequest = message.type === 'client_put' || message.type === 'client_get';
    if (!clientRequest && this.rng.chance(this.profile.duplicateRate)) this.dispatch(from, to, message);
  }

  private dispatch(from: string, to: string, message: SimMessage): void {
    const { profile } = this;
    let delayMs = this.rng.int(profile.delayMinMs, profile.delayMaxMs);
    if (this.rng.chance(profile.slowRate)) delayMs += this.rng.int(0, profile.slowDelayMaxMs);
    if (this.hooks.nowMs() < this.extraDelayUntilMs) delayMs += this.rng.int(0, this.extraDelayMs);
    this.hooks.schedule(delayMs, () => `${from}→${to} ${describe(message)}`, () => {
      if (this.isCut(from, to)) {
        this.lost += 1;
        return;
      }
      this.hooks.deliver(from, to, message);
    });
  }

  private dropRate(): number {
    return this.hooks.nowMs() < this.burstUntilMs ? Math.max(this.burstDropRate, this.profile.baseDropRate) : this.profile.baseDropRate;
  }

  isCut(a: string, b: string): boolean {
    return (this.cuts.get(pairKey(a, b)) ?? 0) > 0;
  }

  /** Cuts every link between a node of `sideA` and a node of `sideB`; returns the heal function. */
  cut(sideA: readonly string[], sideB: readonly string[]): () => void {
    const keys: string[] = [];
    for (const a of sideA) {
      for (const b of sideB) {
        if (a === b) continue;
        const key = pairKey(a, b);
        keys.push(key);
        this.cuts.set(key, (this.cuts.get(key) ?? 0) + 1);
      }
    }
    let healed = false;
    return () => {
      if (healed) return;
      healed = true;
      for (const key of keys) {
        const count = (this.cuts.get(key) ?? 0) - 1;
        if (count > 0) this.cuts.set(key, count);
        else this.cuts.delete(key);
      }
    };
  }

  lossBurst(dropRate: number, durationMs: number): void {
    this.burstDropRate = dropRate;
    this.burstUntilMs = this.hooks.nowMs() + durationMs;
  }

  delaySpike(extraMs: number, durationMs: number): void {
    this.extraDelayMs = extraMs;
    this.extraDelayUntilMs = this.hooks.nowMs() + durationMs;
  }

  healAll(): void {
    this.cuts.clear();
    this.burstUntilMs = 0;
    this.extraDelayUntilMs = 0;
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** A short text for the trace. */
export function describe(message: SimMessage): string {
  switch (message.type) {
    case 'peer': {
      const peer = message.message;
      switch (peer.type) {
        case 'prepare':
          return `prepare d${peer.mutation.decree}b${peer.mutation.ballot} (b${peer.membership.ballot} lc${peer.lastCommitted})`;
        case 'prepare_ack':
          return `prepare_ack ${peer.err} d${peer.decree}b${peer.mutationBallot} (b${peer.ballot})`;
        case 'group_check':
          return `group_check b${peer.membership.ballot} lc${peer.lastCommitted} sig${peer.learnerSignature}`;
        case 'group_check_ack':
          return `group_check_ack ${peer.err} b${peer.ballot} lc${peer.lastCommitted} lp${peer.lastPrepared}`;
        case 'add_learner':
          return `add_learner b${peer.membership.ballot} sig${peer.signature}`;
        case 'learn':
          return `learn sig${peer.signature} lc${peer.lastCommitted}`;
        case 'learn_reply':
          return `learn_reply ${peer.err} ${peer.kind} sig${peer.signature} lc${peer.lastCommitted} ps${peer.prepareStart} n${peer.mutations.length}`;
        case 'learn_completed':
          return `learn_completed sig${peer.signature} lp${peer.lastPrepared}`;
      }
      return 'peer';
    }
    case 'beacon':
    case 'beacon_ack':
      return `${message.type} ${message.sentMs}`;
    case 'update_config':
      return `update_config ${message.change} ${message.node} → ${configText(message.config)}`;
    case 'update_reply':
      return `update_reply ${message.err} ${configText(message.config)}`;
    case 'config_push':
      return `config_push ${configText(message.config)}`;
    case 'config_sync':
      return `config_sync #${message.syncId}${message.report ? ` b${message.report.ballot} lc${message.report.lastCommitted} lp${message.report.lastPrepared}` : ''}`;
    case 'config_sync_reply':
      return `config_sync_reply #${message.syncId} ${message.config ? configText(message.config) : 'not a member'}`;
    case 'proposal':
      return `proposal ${message.proposal.type} ${message.proposal.node} on ${configText(message.proposal.config)}`;
    case 'query_config':
      return `query_config #${message.queryId}`;
    case 'query_reply':
      return `query_reply #${message.queryId} ${configText(message.config)}`;
    case 'client_put':
      return `put #${message.requestId} ${message.key}=${message.value}`;
    case 'client_get':
      return `get #${message.requestId} ${message.key}`;
    case 'client_reply':
      return `reply #${message.requestId} ${message.ok ? 'ok' : `error ${message.error}`}${message.value !== undefined ? ` ${message.value}` : ''}`;
  }
}

export function configText(config: { ballot: number; primary: string; secondaries: readonly string[] }): string {
  return `b${config.ballot}[${config.primary || '-'}|${config.secondaries.join(',')}]`;
}
