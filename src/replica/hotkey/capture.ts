// Which hash keys a request feeds to the hot-key collectors, and with what weight, as Pegasus's
// capacity-unit calculator feeds them: by the request's outcome (a RocksDB status code), reads
// to the read collector, writes to the write collector, and incr and check_and_* (which read
// before they write) to both. Scans feed nothing, as in Pegasus.
import { isValidKey, hashKeyOf } from '../../storage/index.ts';
import type { RpcArgs, RpcName, RpcResult } from '../../wire/structs/index.ts';
import { STATUS_INCOMPLETE, STATUS_INVALID_ARGUMENT, STATUS_NOT_FOUND, STATUS_OK, STATUS_TRY_AGAIN } from '../status.ts';
import type { WriteOutcome } from '../write/mutation.ts';

export interface KeyCapture {
  hashKey: Buffer;
  weight: number;
}

export interface Captures {
  read: KeyCapture[];
  write: KeyCapture[];
}

const NONE: Captures = Object.freeze({ read: [], write: [] }) as Captures;

/** The hash key of a composite key, one capture of weight 1; none for a malformed key (the request failed anyway). */
function ofCompositeKey(key: Buffer): KeyCapture[] {
  return isValidKey(key) ? [{ hashKey: hashKeyOf(key), weight: 1 }] : [];
}

const one = (hashKey: Buffer, weight = 1): KeyCapture[] => [{ hashKey, weight }];
const when = (condition: boolean, captures: KeyCapture[]): KeyCapture[] => (condition ? captures : []);
const isAnyOf = (status: number, ...accepted: number[]): boolean => accepted.includes(status);

type Rule<N extends RpcName, O> = (args: RpcArgs<N>, outcome: O) => Captures;
type ReadRpc = 'RPC_RRDB_RRDB_GET' | 'RPC_RRDB_RRDB_MULTI_GET' | 'RPC_RRDB_RRDB_BATCH_GET' | 'RPC_RRDB_RRDB_SORTKEY_COUNT' | 'RPC_RRDB_RRDB_TTL';
type WriteRpc = 'RPC_RRDB_RRDB_PUT' | 'RPC_RRDB_RRDB_REMOVE' | 'RPC_RRDB_RRDB_MULTI_PUT' | 'RPC_RRDB_RRDB_MULTI_REMOVE'
  | 'RPC_RRDB_RRDB_INCR' | 'RPC_RRDB_RRDB_CHECK_AND_SET' | 'RPC_RRDB_RRDB_CHECK_AND_MUTATE';

const READ_RULES: { [N in ReadRpc]: Rule<N, RpcResult<N>> } = {
  RPC_RRDB_RRDB_GET: (key, response) => ({ read: when(isAnyOf(response.error, STATUS_OK, STATUS_NOT_FOUND), ofCompositeKey(key)), write: [] }),
  RPC_RRDB_RRDB_MULTI_GET: (request, response) => ({
    read: when(isAnyOf(response.error, STATUS_OK, STATUS_NOT_FOUND, STATUS_INCOMPLETE, STATUS_INVALID_ARGUMENT), one(request.hashKey, response.kvs.length)),
    write: [],
  }),
  // Every row the answer carries, whatever its status.
  RPC_RRDB_RRDB_BATCH_GET: (_request, response) => ({ read: response.data.map((row) => ({ hashKey: row.hashKey, weight: 1 })), write: [] }),
  RPC_RRDB_RRDB_SORTKEY_COUNT: (hashKey, response) => ({ read: when(isAnyOf(response.error, STATUS_OK, STATUS_NOT_FOUND), one(hashKey)), write: [] }),
  RPC_RRDB_RRDB_TTL: (key, response) => ({ read: when(isAnyOf(response.error, STATUS_OK, STATUS_NOT_FOUND), ofCompositeKey(key)), write: [] }),
};

const WRITE_RULES: { [N in WriteRpc]: Rule<N, WriteOutcome> } = {
  RPC_RRDB_RRDB_PUT: (request, outcome) => ({ read: [], write: when(outcome.error === STATUS_OK, ofCompositeKey(request.key)) }),
  RPC_RRDB_RRDB_REMOVE: (key, outcome) => ({ read: [], write: when(outcome.error === STATUS_OK, ofCompositeKey(key)) }),
  // Whatever its status.
  RPC_RRDB_RRDB_MULTI_PUT: (request) => ({ read: [], write: one(request.hashKey, request.kvs.length) }),
  RPC_RRDB_RRDB_MULTI_REMOVE: (request, outcome) => ({ read: [], write: when(outcome.error === STATUS_OK, one(request.hashKey, request.sortKeys.length)) }),
  RPC_RRDB_RRDB_INCR: (request, outcome) => ({
    read: when(isAnyOf(outcome.error, STATUS_OK, STATUS_INVALID_ARGUMENT), ofCompositeKey(request.key)),
    write: when(outcome.error === STATUS_OK, ofCompositeKey(request.key)),
  }),
  RPC_RRDB_RRDB_CHECK_AND_SET: (request, outcome) => ({
    read: when(isAnyOf(outcome.error, STATUS_OK, STATUS_INVALID_ARGUMENT, STATUS_TRY_AGAIN), one(request.hashKey)),
    write: when(outcome.error === STATUS_OK, one(request.hashKey)),
  }),
  RPC_RRDB_RRDB_CHECK_AND_MUTATE: (request, outcome) => ({
    read: when(isAnyOf(outcome.error, STATUS_OK, STATUS_INVALID_ARGUMENT, STATUS_TRY_AGAIN), one(request.hashKey)),
    write: when(outcome.error === STATUS_OK, one(request.hashKey, request.mutateList.length)),
  }),
};

type AnyRule = (args: unknown, outcome: unknown) => Captures;

function ruleOf(rules: object, rpc: string): AnyRule | undefined {
  return Object.hasOwn(rules, rpc) ? (rules as Record<string, AnyRule>)[rpc] : undefined;
}

/** What a served read feeds; nothing for an RPC without a rule (the scans). */
export function readCaptures(rpc: string, args: unknown, result: unknown): Captures {
  const rule = ruleOf(READ_RULES, rpc);
  return rule ? rule(args, result) : NONE;
}

/** What a committed write feeds. */
export function writeCaptures(rpc: string, args: unknown, outcome: WriteOutcome): Captures {
  const rule = ruleOf(WRITE_RULES, rpc);
  return rule ? rule(args, outcome) : NONE;
}
