// rDSN error names. They travel on the wire as strings, so the name is the identity;
// the order is rDSN's registration order (src/utils/error_code.h), kept for reference only.
export const ERROR_NAMES = [
  'ERR_OK', 'ERR_UNKNOWN', 'ERR_SERVICE_NOT_FOUND', 'ERR_SERVICE_ALREADY_RUNNING', 'ERR_IO_PENDING',
  'ERR_TIMEOUT', 'ERR_SERVICE_NOT_ACTIVE', 'ERR_BUSY', 'ERR_NETWORK_INIT_FAILED', 'ERR_FORWARD_TO_OTHERS',
  'ERR_OBJECT_NOT_FOUND', 'ERR_HANDLER_NOT_FOUND', 'ERR_LEARN_FILE_FAILED', 'ERR_GET_LEARN_STATE_FAILED',
  'ERR_INVALID_VERSION', 'ERR_INVALID_PARAMETERS', 'ERR_CAPACITY_EXCEEDED', 'ERR_INVALID_STATE',
  'ERR_INACTIVE_STATE', 'ERR_NOT_ENOUGH_MEMBER', 'ERR_FILE_OPERATION_FAILED', 'ERR_HANDLE_EOF',
  'ERR_WRONG_CHECKSUM', 'ERR_INVALID_DATA', 'ERR_INVALID_HANDLE', 'ERR_INCOMPLETE_DATA',
  'ERR_VERSION_OUTDATED', 'ERR_PATH_NOT_FOUND', 'ERR_PATH_ALREADY_EXIST', 'ERR_ADDRESS_ALREADY_USED',
  'ERR_STATE_FREEZED', 'ERR_LOCAL_APP_FAILURE', 'ERR_BIND_IOCP_FAILED', 'ERR_NETWORK_START_FAILED',
  'ERR_NOT_IMPLEMENTED', 'ERR_CHECKPOINT_FAILED', 'ERR_WRONG_TIMING', 'ERR_NO_NEED_OPERATE',
  'ERR_CORRUPTION', 'ERR_TRY_AGAIN', 'ERR_CLUSTER_NOT_FOUND', 'ERR_CLUSTER_ALREADY_EXIST',
  'ERR_SERVICE_ALREADY_EXIST', 'ERR_INJECTED', 'ERR_REPLICATION_FAILURE', 'ERR_APP_EXIST',
  'ERR_APP_NOT_EXIST', 'ERR_BUSY_CREATING', 'ERR_BUSY_DROPPING', 'ERR_NETWORK_FAILURE',
  'ERR_UNDER_RECOVERY', 'ERR_LEARNER_NOT_FOUND', 'ERR_OPERATION_DISABLED', 'ERR_EXPIRED',
  'ERR_LOCK_ALREADY_EXIST', 'ERR_HOLD_BY_OTHERS', 'ERR_RECURSIVE_LOCK', 'ERR_NO_OWNER',
  'ERR_NODE_ALREADY_EXIST', 'ERR_INCONSISTENT_STATE', 'ERR_ARRAY_INDEX_OUT_OF_RANGE',
  'ERR_DIR_NOT_EMPTY', 'ERR_FS_INTERNAL', 'ERR_IGNORE_BAD_DATA', 'ERR_APP_DROPPED', 'ERR_MOCK_INTERNAL',
  'ERR_ZOOKEEPER_OPERATION', 'ERR_CHILD_REGISTERED', 'ERR_INGESTION_FAILED', 'ERR_UNAUTHENTICATED',
  'ERR_KRB5_INTERNAL', 'ERR_SASL_INTERNAL', 'ERR_SASL_INCOMPLETE', 'ERR_ACL_DENY', 'ERR_SPLITTING',
  'ERR_PARENT_PARTITION_MISUSED', 'ERR_CHILD_NOT_READY', 'ERR_DISK_INSUFFICIENT',
  // From here on only the ones Pteron uses, in rDSN's order.
  'ERR_DUP_EXIST',
] as const;

export type ErrorName = (typeof ERROR_NAMES)[number];

/** An error a user or a peer can cause: it carries a stable rDSN code and a readable message. */
export class PteronError extends Error {
  readonly code: ErrorName;
  constructor(code: ErrorName, message = '') {
    super(message === '' ? code : `${code}: ${message}`);
    this.code = code;
    this.name = 'PteronError';
  }
  /** Pegasus's `error_s` rendering: `<CODE>: <message>`, or just `<CODE>` without a message. */
  get detail(): string {
    return this.message;
  }
}

/** Bugs are asserts: a broken invariant stops the caller loudly. */
export function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${what}`);
}
