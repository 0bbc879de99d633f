// Request throttling of one partition replica, from its table's envs (Pegasus's
// replica::update_throttle_envs and throttle_*_request, and the storage handler's read-size
// check): which controller each env drives, the order writes are checked in, the counters, and
// what each read costs against `replica.read_throttling_by_size`.
//
// The data plane asks before a request runs; what a delay or a reject means for the request (a
// wait, then admission again or ERR_BUSY) is the data plane's business.
import { log } from '../../base/index.ts';
import type { Counter } from '../../metrics/index.ts';
import type { BatchGetResponse, MultiGetResponse, ReadResponse, ScanResponse } from '../../wire/index.ts';
import { TokenBucketThrottlingController, WindowThrottlingController, type ControllerChange, type ThrottlingDecision } from './controllers.ts';

export const WRITE_THROTTLING_ENV = 'replica.write_throttling';
export const WRITE_SIZE_THROTTLING_ENV = 'replica.write_throttling_by_size';
export const READ_THROTTLING_ENV = 'replica.read_throttling';
export const READ_SIZE_THROTTLING_ENV = 'replica.read_throttling_by_size';

/** The replica's counters the throttling moves (./metrics.ts). */
export interface ThrottlingCounters {
  readonly throttlingDelayedWrites: Counter;
  readonly throttlingRejectedWrites: Counter;
  readonly throttlingDelayedReads: Counter;
  readonly throttlingRejectedReads: Counter;
}

/** A monotonic clock in ms, large from the start (so a fresh token bucket is full, as with a steady clock since boot). */
const monotonicNowMs = (): number => performance.timeOrigin + performance.now();

export class ReplicaThrottling {
  private readonly writeQps = new WindowThrottlingController();
  private readonly writeSize = new WindowThrottlingController();
  private readonly readQps = new WindowThrottlingController();
  private readonly readSize = new TokenBucketThrottlingController();

  constructor(
    private readonly replicaName: string,
    private readonly counters: ThrottlingCounters,
    private readonly clockMs: () => number = monotonicNowMs,
  ) {}

  /** The table's envs or partition count arrived: every controller takes its env (an unset or unparsable one turns it off). */
  updateEnvs(envs: Readonly<Record<string, string>>, partitionCount: number): void {
    this.logChange(WRITE_THROTTLING_ENV, this.writeQps.configure(envs[WRITE_THROTTLING_ENV], partitionCount), this.writeQps.envValue);
    this.logChange(WRITE_SIZE_THROTTLING_ENV, this.writeSize.configure(envs[WRITE_SIZE_THROTTLING_ENV], partitionCount), this.writeSize.envValue);
    this.logChange(READ_THROTTLING_ENV, this.readQps.configure(envs[READ_THROTTLING_ENV], partitionCount), this.readQps.envValue);
    this.logChange(READ_SIZE_THROTTLING_ENV, this.readSize.configure(envs[READ_SIZE_THROTTLING_ENV], partitionCount), this.readSize.envValue);
  }

  /** A write of `bodyBytes`: requests a second first, then bytes a second (a write refused by the first is not counted by the second). */
  throttleWrite(clientTimeoutMs: number, bodyBytes: number): ThrottlingDecision {
    const nowMs = this.clockMs();
    const byCount = this.countWrite(this.writeQps.control(nowMs, clientTimeoutMs, 1));
    if (byCount.action !== 'pass') return byCount;
    return this.countWrite(this.writeSize.control(nowMs, clientTimeoutMs, bodyBytes));
  }

  /** A read: requests a second. */
  throttleRead(clientTimeoutMs: number): ThrottlingDecision {
    const decision = this.readQps.control(this.clockMs(), clientTimeoutMs, 1);
    if (decision.action === 'delay') this.counters.throttlingDelayedReads.increment();
    if (decision.action === 'reject') this.counters.throttlingRejectedReads.increment();
    return decision;
  }

  /** replica.read_throttling_by_size: false (counted as a rejected read) when the bytes of this second and the debt of earlier reads are spent. */
  readBytesAvailable(): boolean {
    if (this.readSize.available(this.clockMs())) return true;
    this.counters.throttlingRejectedReads.increment();
    return false;
  }

  /** A read ran and cost `bytes` (readCost*). */
  consumeReadBytes(bytes: number): void {
    this.readSize.consume(bytes, this.clockMs());
  }

  private countWrite(decision: ThrottlingDecision): ThrottlingDecision {
    if (decision.action === 'delay') this.counters.throttlingDelayedWrites.increment();
    if (decision.action === 'reject') this.counters.throttlingRejectedWrites.increment();
    return decision;
  }

  private logChange(env: string, change: ControllerChange, current: string): void {
    if (change.parseError !== undefined) log.warn({ gpid: this.replicaName, env, err: change.parseError }, 'throttling env does not parse: throttling off');
    if (change.changed) log.info({ gpid: this.replicaName, env, from: change.previous, to: current }, 'throttling changed');
  }
}

// What a read costs against replica.read_throttling_by_size, as Pegasus's capacity-unit
// calculator counts it: the bytes read, 1 for a miss, nothing for a failed read.
const STATUS_OK = 0;
const STATUS_NOT_FOUND = 1;
const STATUS_INVALID_ARGUMENT = 4;
const STATUS_INCOMPLETE = 7;

/** The statuses of the range reads (multi_get, batch_get, scans) that still count. */
function rangeReadCounts(status: number): boolean {
  return status === STATUS_OK || status === STATUS_NOT_FOUND || status === STATUS_INCOMPLETE || status === STATUS_INVALID_ARGUMENT;
}

export function readCostOfGet(key: Buffer, response: ReadResponse): number {
  if (response.error === STATUS_NOT_FOUND) return 1;
  return response.error === STATUS_OK ? key.length + response.value.length : 0;
}

export function readCostOfMultiGet(hashKey: Buffer, response: MultiGetResponse): number {
  if (!rangeReadCounts(response.error)) return 0;
  if (response.error === STATUS_NOT_FOUND) return 1;
  return response.kvs.reduce((sum, kv) => sum + hashKey.length + kv.key.length + kv.value.length, 0);
}

export function readCostOfBatchGet(response: BatchGetResponse): number {
  if (!rangeReadCounts(response.error)) return 0;
  if (response.error === STATUS_NOT_FOUND) return 1;
  return response.data.reduce((sum, row) => sum + row.hashKey.length + row.sortKey.length + row.value.length, 0);
}

export function readCostOfScan(response: ScanResponse): number {
  if (!rangeReadCounts(response.error)) return 0;
  if (response.error === STATUS_NOT_FOUND) return 1;
  return response.kvs.reduce((sum, kv) => sum + kv.key.length + kv.value.length, 0);
}

/** sortkey_count and ttl. */
export function readCostOfCount(status: number): number {
  return status === STATUS_OK || status === STATUS_NOT_FOUND ? 1 : 0;
}
