// What the client throws. Every failure of an operation is a PegasusError whose `code` names the
// cause: an rDSN error name from the reply frame or the transport ("ERR_TIMEOUT",
// "ERR_OBJECT_NOT_FOUND", "ERR_NETWORK_FAILURE"…), or — when the server ran the operation and
// its storage refused it — the Pegasus name of the storage status ("PERR_INVALID_ARGUMENT",
// "PERR_TRY_AGAIN"…, spec pegasus-arch §1.11). Outcomes that are answers rather than failures
// (a missing record, an incomplete multi_get, a check that did not pass) are never thrown.
// An operation whose AbortSignal fired fails with "ERR_ABORTED", the client's own code.
import type { ErrorName } from '../base/errors.ts';

/** Where an operation ended up: the replica that answered (or was asked last). */
export interface OperationInfo {
  appId: number;
  partitionIndex: number;
  /** Write operations: the decree the mutation was committed at; -1 otherwise. */
  decree: bigint;
  /** `host:port` of the replica server, as it names itself ('' when none answered). */
  server: string;
}

export function emptyOperationInfo(): OperationInfo {
  return { appId: 0, partitionIndex: 0, decree: -1n, server: '' };
}

/** The RocksDB status codes in data responses' `error` field, by their Pegasus client names. */
export const STORAGE_ERROR_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: 'PERR_OK',
  1: 'PERR_NOT_FOUND',
  2: 'PERR_CORRUPTION',
  3: 'PERR_NOT_SUPPORTED',
  4: 'PERR_INVALID_ARGUMENT',
  5: 'PERR_IO_ERROR',
  6: 'PERR_MERGE_IN_PROGRESS',
  7: 'PERR_INCOMPLETE',
  8: 'PERR_SHUTDOWN_IN_PROGRESS',
  9: 'PERR_TIMED_OUT',
  10: 'PERR_ABORTED',
  11: 'PERR_BUSY',
  12: 'PERR_EXPIRED',
  13: 'PERR_TRY_AGAIN',
});

/** Storage statuses with a meaning of their own. */
export const STORAGE_OK = 0;
export const STORAGE_NOT_FOUND = 1;
export const STORAGE_INVALID_ARGUMENT = 4;
export const STORAGE_INCOMPLETE = 7;
export const STORAGE_TRY_AGAIN = 13;

/** The Pegasus names of the storage statuses. */
export type StorageErrorName =
  | 'PERR_OK' | 'PERR_NOT_FOUND' | 'PERR_CORRUPTION' | 'PERR_NOT_SUPPORTED' | 'PERR_INVALID_ARGUMENT' | 'PERR_IO_ERROR'
  | 'PERR_MERGE_IN_PROGRESS' | 'PERR_INCOMPLETE' | 'PERR_SHUTDOWN_IN_PROGRESS' | 'PERR_TIMED_OUT' | 'PERR_ABORTED'
  | 'PERR_BUSY' | 'PERR_EXPIRED' | 'PERR_TRY_AGAIN' | `PERR_UNKNOWN(${number})`;

/** What a PegasusError's `code` can be: an rDSN error name, a storage status name, ERR_ABORTED, or the geo index's value error. */
export type PegasusErrorCode = ErrorName | StorageErrorName | 'ERR_ABORTED' | 'PERR_GEO_DECODE_VALUE_ERROR';

export function storageErrorName(status: number): StorageErrorName {
  return (STORAGE_ERROR_NAMES[status] as StorageErrorName | undefined) ?? `PERR_UNKNOWN(${status})`;
}

export class PegasusError extends Error {
  /** rDSN error name (ERR_*), storage status name (PERR_*), or ERR_ABORTED. */
  readonly code: PegasusErrorCode;
  /** The operation that failed, e.g. "get", "multi_set". */
  readonly operation: string;
  /** The storage status, when the failure came from the response's `error` field. */
  readonly storageError: number | undefined;
  readonly info: OperationInfo | undefined;

  constructor(code: PegasusErrorCode, operation: string, detail = '', options: { storageError?: number; info?: OperationInfo } = {}) {
    super(`${operation} failed: ${code}${detail === '' ? '' : `: ${detail}`}`);
    this.name = 'PegasusError';
    this.code = code;
    this.operation = operation;
    this.storageError = options.storageError;
    this.info = options.info;
  }
}

export function isPegasusError(error: unknown, code?: PegasusErrorCode): error is PegasusError {
  return error instanceof PegasusError && (code === undefined || error.code === code);
}

/** An error name from a reply frame or a meta response: servers send rDSN's names only. */
export function wireErrorCode(name: string): PegasusErrorCode {
  return name as ErrorName;
}

/**
 * Runs `work` unless `signal` has fired, and fails with ERR_ABORTED as soon as it fires. A
 * request already sent is not recalled: the server may still apply it, its answer is dropped.
 */
export async function untilAborted<T>(signal: AbortSignal | undefined, operation: string, work: () => Promise<T>): Promise<T> {
  if (!signal) return work();
  const aborted = (): PegasusError => new PegasusError('ERR_ABORTED', operation, String(signal.reason ?? 'aborted'));
  if (signal.aborted) throw aborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    work().then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
