// Pegasus's two request-throttling controllers, as state machines over a clock the caller passes
// in (milliseconds), so that tests need no timing.
//
// - `WindowThrottlingController` (Pegasus's throttling_controller): units (requests, or bytes)
//   counted per clock second on one partition replica. The table's rule is for the whole table:
//   each partition takes units / partition count + 1. A request that takes the second's count
//   past the reject limit is refused (and not counted); past the delay limit, it waits. Either
//   wait is the rule's milliseconds, at most half the client's timeout.
// - `TokenBucketThrottlingController` (Pegasus's token_bucket_throttling_controller, on folly's
//   dynamic token bucket): bytes per second, rate and burst both the table's reject value /
//   partition count. Reads check that the bucket is not empty before they run and take what
//   they read afterwards, borrowing from the future when the bucket runs short.
import { parseSizeThrottlingRate, parseThrottlingRules } from '../../cluster/index.ts';

export type ThrottlingDecision = { readonly action: 'pass' } | { readonly action: 'delay' | 'reject'; readonly delayMs: number };

const PASS: ThrottlingDecision = { action: 'pass' };

/** What taking an env's value did: whether the controller changed, from which value, and why a value was dropped. */
export interface ControllerChange {
  changed: boolean;
  previous: string;
  /** The value did not parse; throttling is off (as Pegasus resets the controller). */
  parseError?: string;
}

/** The per-partition share of a table-wide limit; 0 stays "no limit". */
function perPartition(units: bigint, partitionCount: number): number {
  // A replica that does not know its table's partition count yet takes the whole limit.
  return units === 0n ? 0 : Number(units / BigInt(Math.max(1, partitionCount)) + 1n);
}

interface WindowRules {
  envValue: string;
  partitionCount: number;
  delayUnits: number;
  delayMs: number;
  rejectUnits: number;
  rejectDelayMs: number;
}

export class WindowThrottlingController {
  private rules: WindowRules | undefined;
  private windowSecond = 0;
  private windowUnits = 0;

  get envValue(): string {
    return this.rules?.envValue ?? '';
  }

  /** Takes the env's value (undefined: the env is not set) and the table's partition count. */
  configure(value: string | undefined, partitionCount: number): ControllerChange {
    const previous = this.envValue;
    if (value === undefined) return { changed: this.reset(), previous };
    if (this.rules !== undefined && this.rules.envValue === value && this.rules.partitionCount === partitionCount) return { changed: false, previous };
    const parsed = parseThrottlingRules(value);
    if ('hint' in parsed) return { changed: this.reset(), previous, parseError: parsed.hint };
    // The second's count goes on: only a reset starts it again.
    this.rules = {
      envValue: value,
      partitionCount,
      delayUnits: perPartition(parsed.delayUnits, partitionCount),
      delayMs: Number(parsed.delayMs),
      rejectUnits: perPartition(parsed.rejectUnits, partitionCount),
      rejectDelayMs: Number(parsed.rejectDelayMs),
    };
    return { changed: true, previous };
  }

  /** Counts a request of `units` at `nowMs` and decides it. */
  control(nowMs: number, clientTimeoutMs: number, units: number): ThrottlingDecision {
    const rules = this.rules;
    if (rules === undefined) return PASS;
    const second = Math.floor(nowMs / 1000);
    if (second !== this.windowSecond) {
      this.windowSecond = second;
      this.windowUnits = 0;
    }
    this.windowUnits += units;
    if (rules.rejectUnits > 0 && this.windowUnits > rules.rejectUnits) {
      this.windowUnits -= units;
      return { action: 'reject', delayMs: cappedByTimeout(rules.rejectDelayMs, clientTimeoutMs) };
    }
    if (rules.delayUnits > 0 && this.windowUnits > rules.delayUnits) {
      return { action: 'delay', delayMs: cappedByTimeout(rules.delayMs, clientTimeoutMs) };
    }
    return PASS;
  }

  private reset(): boolean {
    if (this.rules === undefined) return false;
    this.rules = undefined;
    this.windowSecond = 0;
    this.windowUnits = 0;
    return true;
  }
}

/** A wait leaves the client at least half its timeout (a timeout of 0: none given). */
function cappedByTimeout(ms: number, clientTimeoutMs: number): number {
  return clientTimeoutMs > 0 ? Math.min(ms, Math.trunc(clientTimeoutMs / 2)) : ms;
}

/**
 * folly's BasicDynamicTokenBucket, the calls Pegasus makes: the bucket is the time
 * (`zeroTime`, seconds) at which it was, or will be after borrowing, empty; it refills at `rate`
 * tokens a second up to `burst`.
 */
export class DynamicTokenBucket {
  private zeroTime = 0;

  available(rate: number, burst: number, nowSeconds: number): number {
    if (nowSeconds <= this.zeroTime) return 0;
    return Math.min((nowSeconds - this.zeroTime) * rate, burst);
  }

  /**
   * Takes `tokens`, borrowing what the bucket lacks (it then stays empty until the debt is
   * refilled). Returns the seconds until the debt is paid (0: nothing borrowed), or undefined
   * when `tokens` exceeds the burst: then nothing is taken.
   */
  consumeWithBorrow(tokens: number, rate: number, burst: number, nowSeconds: number): number | undefined {
    if (burst < tokens) return undefined;
    let remaining = tokens;
    while (remaining > 0) {
      const consumed = this.consumeOrDrain(remaining, rate, burst, nowSeconds);
      if (consumed <= 0) {
        this.zeroTime += remaining / rate;
        return Math.max(0, this.zeroTime - nowSeconds);
      }
      remaining -= consumed;
    }
    return 0;
  }

  /** Takes up to `tokens`; returns how many it took. */
  private consumeOrDrain(tokens: number, rate: number, burst: number, nowSeconds: number): number {
    if (nowSeconds <= this.zeroTime) return 0;
    const inBucket = Math.min((nowSeconds - this.zeroTime) * rate, burst);
    const consumed = Math.min(inBucket, tokens);
    this.zeroTime = nowSeconds - (inBucket - consumed) / rate;
    return consumed;
  }
}

interface BucketRules {
  envValue: string;
  partitionCount: number;
  /** Bytes a second, also the burst; 0 when the table's rate is below its partition count (every read is then refused). */
  rate: number;
  /** False for a lone delay rule: accepted, throttles nothing. */
  enabled: boolean;
}

export class TokenBucketThrottlingController {
  private readonly bucket = new DynamicTokenBucket();
  private rules: BucketRules | undefined;

  get envValue(): string {
    return this.rules?.envValue ?? '';
  }

  configure(value: string | undefined, partitionCount: number): ControllerChange {
    const previous = this.envValue;
    if (value === undefined) return { changed: this.reset(), previous };
    if (this.rules !== undefined && this.rules.envValue === value && this.rules.partitionCount === partitionCount) return { changed: false, previous };
    const parsed = parseSizeThrottlingRate(value);
    if ('hint' in parsed) return { changed: this.reset(), previous, parseError: parsed.hint };
    // The bucket itself is kept, as Pegasus keeps it across changes of the rate.
    const rate = Number(parsed.rejectBytes / BigInt(Math.max(1, partitionCount)));
    this.rules = { envValue: value, partitionCount, rate, enabled: parsed.enabled };
    return { changed: true, previous };
  }

  /** Whether a read may run now: the bucket holds a token. */
  available(nowMs: number): boolean {
    const rules = this.rules;
    if (rules === undefined || !rules.enabled) return true;
    return this.bucket.available(rules.rate, rules.rate, nowMs / 1000) > 0;
  }

  /** A read of `bytes` ran. */
  consume(bytes: number, nowMs: number): void {
    const rules = this.rules;
    if (rules === undefined || !rules.enabled) return;
    this.bucket.consumeWithBorrow(bytes, rules.rate, rules.rate, nowMs / 1000);
  }

  private reset(): boolean {
    if (this.rules === undefined) return false;
    this.rules = undefined;
    return true;
  }
}
