// A mutation: the client writes that one decree commits, in order, under one ballot and one
// timestamp. It carries the writes as requests (not yet turned into storage ops), so that every
// replica that applies it (today the primary; with PacificA the secondaries too) executes the
// same requests against the same state and gets the same result.
import type {
  CheckAndMutateRequest, CheckAndSetRequest, DuplicateRequest, IncrRequest, IngestionRequest, MultiPutRequest, MultiRemoveRequest, UpdateRequest,
} from '../../wire/index.ts';

export type ClientWrite =
  | { op: 'put'; request: UpdateRequest }
  | { op: 'remove'; key: Buffer }
  | { op: 'multi_put'; request: MultiPutRequest }
  | { op: 'multi_remove'; request: MultiRemoveRequest }
  | { op: 'incr'; request: IncrRequest }
  | { op: 'check_and_set'; request: CheckAndSetRequest }
  | { op: 'check_and_mutate'; request: CheckAndMutateRequest }
  /** Writes another cluster's replica shipped here (RPC_RRDB_RRDB_DUPLICATE), each with its own timetag. */
  | { op: 'duplicate'; request: DuplicateRequest }
  /** A bulk load's ingestion (Pegasus's RPC_RRDB_RRDB_BULK_LOAD): every replica ingests its downloaded files at this decree. */
  | { op: 'ingest'; request: IngestionRequest };

export type WriteOp = ClientWrite['op'];

/** What applying one write produced, for its response. */
export interface WriteOutcome {
  /** RocksDB status code for the response's `error` field (0 ok, 4 invalid argument, 13 try again). */
  error: number;
  /** multi_remove: the number of sort keys removed. */
  count?: bigint;
  /** incr: the value after the increment (the old value when the increment overflowed). */
  newValue?: bigint;
  /** check_and_set / check_and_mutate: the check value, when the request asked for it. */
  check?: { returned: boolean; exist: boolean; value: Buffer };
  /** duplicate: why it was refused. */
  hint?: string;
}

export interface Mutation {
  readonly decree: number;
  readonly ballot: number;
  /** Unique and increasing per replica (microseconds); every record it writes carries it in its timetag. */
  readonly timestampUs: bigint;
  readonly writes: readonly ClientWrite[];
}

/** PUT and REMOVE may share a mutation with other PUTs and REMOVEs; every other write gets its own. */
export function isBatchable(write: ClientWrite): boolean {
  return write.op === 'put' || write.op === 'remove';
}

/** Writes whose result depends on the current value: they must see every earlier decree applied. */
export function readsBeforeWrite(write: ClientWrite): boolean {
  return write.op === 'incr' || write.op === 'check_and_set' || write.op === 'check_and_mutate' || write.op === 'duplicate' || write.op === 'ingest';
}

/** Writes that are not idempotent: a table that is duplicated refuses them unless it makes them idempotent. */
export function isAtomicWrite(write: ClientWrite): boolean {
  return write.op === 'incr' || write.op === 'check_and_set' || write.op === 'check_and_mutate';
}
