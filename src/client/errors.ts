// What the client throws. Every failure of an operation is a PegasusError whose `code` names the
// cause: an rDSN error name from the reply frame or the transport ("ERR_TIMEOUT",
// "ERR_OBJECT_NOT_FOUND", "ERR_NETWORK_FAILURE"…), or — when the server ran the operation and
// its storage refused it — the Pegasus name of the storage status ("PERR_INVALID_ARGUMENT",
// "PERR_TRY_AGAIN"…, spec pegasus-arch §1.11). Outcomes that are answers rather than failures
// (a missing record, an incomplete multi_get, a check that did not pass) are never thrown.

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

export function storageErrorName(status: number): string {
  return STORAGE_ERROR_NAMES[status] ?? `PERR_UNKNOWN(${status})`;
}

export class PegasusError extends Error {
  /** rDSN error name (ERR_*) or storage status name (PERR_*). */
  readonly code: string;
  /** The operation that failed, e.g. "get", "multi_set". */
  readonly operation: string;
  /** The storage status, when the failure came from the response's `error` field. */
  readonly storageError: number | undefined;
  readonly info: OperationInfo | undefined;

  constructor(code: string, operation: string, detail = '', options: { storageError?: number; info?: OperationInfo } = {}) {
    super(`${operation} failed: ${code}${detail === '' ? '' : `: ${detail}`}`);
    this.name = 'PegasusError';
    this.code = code;
    this.operation = operation;
    this.storageError = options.storageError;
    this.info = options.info;
  }
}

export function isPegasusError(error: unknown, code?: string): error is PegasusError {
  return error instanceof PegasusError && (code === undefined || error.code === code);
}
