// Scanners (spec pegasus-arch §1.13 get_scanner/scan/clear_scanner): a range of composite keys
// read batch by batch from one partition, or every partition of a list in turn.
//
// A batch comes from RPC_RRDB_RRDB_GET_SCANNER (opening a server-side context) and then
// RPC_RRDB_RRDB_SCAN on that context until the server reports it complete (context id -1).
// When the context is gone (error 1: expired or the primary moved) or a SCAN fails, the scanner
// opens a new context just after the last key it received, so no record is skipped or repeated.
// Failures that survive the request's own retries are thrown from next(); calling next() again
// resumes from the same place.
import { RPCS, SCAN_CONTEXT_ID_COMPLETED, type GetScannerRequest, type KeyValue, type ScanResponse } from '../wire/index.ts';
import { PegasusError, storageErrorName, STORAGE_INCOMPLETE, STORAGE_NOT_FOUND, STORAGE_OK, type OperationInfo } from './errors.ts';
import { decodeCompositeKey } from './keys.ts';
import type { TableRouter } from './router.ts';

export interface ScanEntry {
  hashKey: Buffer;
  sortKey: Buffer;
  /** Empty when the scanner was opened with noValue. */
  value: Buffer;
}

/** One partition to scan, and the hash its requests carry. */
export interface ScanSplit {
  /** Undefined: the partition the hash routes to. */
  partitionIndex: number | undefined;
  partitionHash: bigint;
}

/** Everything a scanner sends in its GET_SCANNER requests, except the start key of a restart. */
export interface ScanRange {
  startKey: Buffer;
  stopKey: Buffer;
  startInclusive: boolean;
  stopInclusive: boolean;
  batchSize: number;
  noValue: boolean;
  hashKeyFilterType: number;
  hashKeyFilterPattern: Buffer;
  sortKeyFilterType: number;
  sortKeyFilterPattern: Buffer;
  validatePartitionHash: boolean;
  fullScan: boolean;
  /** Timeout of each request (undefined: the client's default). */
  timeoutMs: number | undefined;
  /** Cancels the scan's requests. */
  signal: AbortSignal | undefined;
}

type ScanState =
  /** Open a context from the range's start. */
  | 'start'
  /** Open a context just after `lastKey`. */
  | 'resume'
  /** Continue the server-side context `contextId`. */
  | 'context'
  /** This split is finished: move to the next. */
  | 'split-done';

/** Requests one next() call may make: a bound against a server that keeps sending empty batches. */
const REQUESTS_PER_NEXT_MAX = 100_000;

export class PegasusScanner implements AsyncIterable<ScanEntry> {
  private splitIndex = 0;
  private state: ScanState = 'start';
  private contextId = SCAN_CONTEXT_ID_COMPLETED;
  /** The partition the open context lives on. */
  private contextPartition = 0;
  private batch: KeyValue[] = [];
  private batchIndex = 0;
  /** The full composite key of the last record received on this split. */
  private lastKey: Buffer | undefined;
  private running = false;
  private closed = false;
  private lastInfo: OperationInfo | undefined;

  constructor(
    private readonly router: TableRouter,
    private readonly splits: readonly ScanSplit[],
    private readonly range: ScanRange,
  ) {}

  /** Where the last batch came from (app id, partition, server). */
  get info(): OperationInfo | undefined {
    return this.lastInfo;
  }

  /** The partitions this scanner covers, in order (undefined for a hash-key scanner's routed partition). */
  get partitions(): ReadonlyArray<number | undefined> {
    return this.splits.map((split) => split.partitionIndex);
  }

  /** The next record, or undefined once the range is exhausted. */
  async next(): Promise<ScanEntry | undefined> {
    if (this.closed) throw new PegasusError('ERR_INVALID_STATE', 'scan', 'scanner is closed');
    if (this.running) throw new PegasusError('ERR_INVALID_STATE', 'scan', 'next() called again before the previous call finished');
    this.running = true;
    try {
      return await this.advance();
    } finally {
      this.running = false;
    }
  }

  /** Drops the server-side context, if one is open. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.batch = [];
    if (this.state === 'context' && this.contextId >= 0n) {
      const split = this.splits[this.splitIndex]!;
      await this.router.sendOneway(RPCS.RPC_RRDB_RRDB_CLEAR_SCANNER, this.contextId, this.contextPartition, split.partitionHash);
    }
    this.state = 'split-done';
    this.splitIndex = this.splits.length;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ScanEntry> {
    try {
      for (;;) {
        const entry = await this.next();
        if (entry === undefined) return;
        yield entry;
      }
    } finally {
      await this.close();
    }
  }

  // -------------------------------------------------------------------------------------------

  private async advance(): Promise<ScanEntry | undefined> {
    for (let requests = 0; requests < REQUESTS_PER_NEXT_MAX; ) {
      if (this.batchIndex < this.batch.length) {
        const kv = this.batch[this.batchIndex++]!;
        const parts = decodeCompositeKey(kv.key);
        if (!parts) throw new PegasusError('ERR_INVALID_DATA', 'scan', `malformed key of ${kv.key.length} bytes from ${this.lastInfo?.server ?? 'the server'}`);
        return { hashKey: parts.hashKey, sortKey: parts.sortKey, value: kv.value };
      }
      if (this.splitIndex >= this.splits.length) return undefined;
      const split = this.splits[this.splitIndex]!;
      switch (this.state) {
        case 'split-done':
          this.splitIndex++;
          this.state = 'start';
          this.lastKey = undefined;
          continue;
        case 'start':
        case 'resume': {
          requests++;
          const request = this.openRequest();
          const outcome = await this.router.call({
            operation: 'get_scanner',
            rpc: RPCS.RPC_RRDB_RRDB_GET_SCANNER,
            args: request,
            partitionHash: split.partitionHash,
            partitionIndex: split.partitionIndex,
            idempotent: true,
            timeoutMs: this.range.timeoutMs,
            signal: this.range.signal,
          });
          this.lastInfo = outcome.info;
          this.contextPartition = outcome.info.partitionIndex;
          this.accept(outcome.result, 'get_scanner');
          continue;
        }
        case 'context': {
          requests++;
          let response: ScanResponse;
          try {
            const outcome = await this.router.call({
              operation: 'scan',
              rpc: RPCS.RPC_RRDB_RRDB_SCAN,
              args: { contextId: this.contextId },
              partitionHash: split.partitionHash,
              partitionIndex: this.contextPartition,
              // A lost reply would skip a batch if the same context were asked again: reopen instead.
              idempotent: false,
              timeoutMs: this.range.timeoutMs,
              signal: this.range.signal,
            });
            this.lastInfo = outcome.info;
            response = outcome.result;
          } catch (error) {
            // Whatever went wrong with the context, a fresh one opened after the last key is
            // equivalent; if the partition is unreachable, opening it reports that.
            if (!(error instanceof PegasusError) || error.storageError !== undefined || error.code === 'ERR_ABORTED') throw error;
            this.reopen();
            continue;
          }
          if (response.error === STORAGE_NOT_FOUND) {
            // The server forgot the context (idle too long, or another replica answers now).
            this.reopen();
            continue;
          }
          this.accept(response, 'scan');
          continue;
        }
      }
    }
    throw new PegasusError('ERR_TIMEOUT', 'scan', `no record after ${REQUESTS_PER_NEXT_MAX} requests`);
  }

  private openRequest(): GetScannerRequest {
    const resuming = this.state === 'resume' && this.lastKey !== undefined;
    return {
      startKey: resuming ? this.lastKey! : this.range.startKey,
      stopKey: this.range.stopKey,
      startInclusive: resuming ? false : this.range.startInclusive,
      stopInclusive: this.range.stopInclusive,
      batchSize: this.range.batchSize,
      noValue: this.range.noValue,
      hashKeyFilterType: this.range.hashKeyFilterType,
      hashKeyFilterPattern: this.range.hashKeyFilterPattern,
      sortKeyFilterType: this.range.sortKeyFilterType,
      sortKeyFilterPattern: this.range.sortKeyFilterPattern,
      validatePartitionHash: this.range.validatePartitionHash,
      fullScan: this.range.fullScan,
    };
  }

  private reopen(): void {
    this.contextId = SCAN_CONTEXT_ID_COMPLETED;
    this.state = 'resume';
  }

  private accept(response: ScanResponse, operation: string): void {
    // kIncomplete: the server's time budget ran out; more may follow on the context.
    if (response.error !== STORAGE_OK && response.error !== STORAGE_INCOMPLETE) {
      this.state = this.lastKey === undefined ? 'start' : 'resume';
      throw new PegasusError(storageErrorName(response.error), operation, `from ${response.server || 'the server'}`, {
        storageError: response.error, info: this.lastInfo,
      });
    }
    this.batch = response.kvs;
    this.batchIndex = 0;
    const last = response.kvs[response.kvs.length - 1];
    if (last) this.lastKey = last.key;
    this.contextId = response.contextId;
    if (response.contextId >= 0n) {
      this.state = 'context';
    } else if (response.error === STORAGE_INCOMPLETE) {
      this.state = 'resume';
    } else {
      this.state = 'split-done';
    }
  }
}
