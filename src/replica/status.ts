// RocksDB status codes, which Pegasus puts in the `error` field of data responses.
export const STATUS_OK = 0;
export const STATUS_NOT_FOUND = 1;
export const STATUS_INVALID_ARGUMENT = 4;
export const STATUS_INCOMPLETE = 7;
export const STATUS_TRY_AGAIN = 13;
