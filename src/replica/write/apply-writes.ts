// Applying a mutation: turns its client writes into storage ops and per-write outcomes, with
// Pegasus's write semantics (spec pegasus-arch §1.13). Invalid writes still consume the decree
// (their ops are simply empty), as Pegasus writes an "empty put" for them.
//
// Deviations, both for input the reference mishandles: a put/remove whose key is not a
// well-formed composite key, or a hash key of 64 KiB or more, answers kInvalidArgument instead
// of being stored raw (or aborting the process); a negative expire_ts (which Pegasus stores as a
// year-2084+ u32) is stored as the largest expire_ts a value may carry, 0x7fffffff.
import { EXPIRE_TS_MAX, encodeKey, isValidKey, makeTimetag, type MutationOp, type StoredRecord } from '../../storage/index.ts';
import { MutateOperation, UpdateType, type DuplicateRequest, type IncrRequest } from '../../wire/index.ts';
import type { ClientWrite, Mutation, WriteOutcome } from './mutation.ts';
import { decodeRawMessage, MalformedEntryError, type DuplicatedWrite } from './duplicated-writes.ts';
import { addInt64, evaluateCheck, isCheckTypeSupported, parseInt64 } from '../predicates.ts';
import { STATUS_INVALID_ARGUMENT, STATUS_OK, STATUS_TRY_AGAIN } from '../status.ts';


export interface ApplyEnv {
  /** The live record at a composite key: expired records read as absent. */
  read(key: Buffer): Promise<StoredRecord | undefined>;
  /** Seconds since 2016, for the table's default TTL. */
  now: number;
  /** The table's `default_ttl` env: given to records written without a TTL (0: none). */
  defaultTtlSeconds: number;
  /** Pegasus's cluster id for timetags (`[duplication-group]`); 0 when unset. */
  clusterId?: number;
}

export interface AppliedMutation {
  ops: MutationOp[];
  /** One per write of the mutation, in order. */
  outcomes: WriteOutcome[];
}

const EMPTY = Buffer.alloc(0);
const invalid = (): WriteOutcome => ({ error: STATUS_INVALID_ARGUMENT });

/** A composite key, or undefined when the hash key is too long for one. */
function compositeKey(hashKey: Buffer, sortKey: Buffer): Buffer | undefined {
  try {
    return encodeKey(hashKey, sortKey);
  } catch {
    return undefined;
  }
}

class MutationBuilder {
  readonly ops: MutationOp[] = [];
  private readonly timetag: bigint;

  constructor(mutation: Pick<Mutation, 'timestampUs'>, private readonly env: ApplyEnv) {
    this.timetag = makeTimetag(mutation.timestampUs, env.clusterId ?? 0, false);
  }

  /** The stored expire_ts of a write's signed i32 expire_ts_seconds. */
  expireTsOf(requested: number): number {
    if (requested < 0) return EXPIRE_TS_MAX;
    if (requested === 0 && this.env.defaultTtlSeconds > 0) return Math.min(this.env.now + this.env.defaultTtlSeconds, EXPIRE_TS_MAX);
    return Math.min(requested, EXPIRE_TS_MAX);
  }

  put(key: Buffer, userData: Buffer, requestedExpireTs: number): void {
    this.ops.push({ type: 'put', key, userData, expireTs: this.expireTsOf(requestedExpireTs), timetag: this.timetag });
  }

  /** A put that keeps an expire_ts exactly as given (incr keeps the old record's). */
  putWithExpireTs(key: Buffer, userData: Buffer, expireTs: number): void {
    const stored = expireTs === 0 ? this.expireTsOf(0) : Math.min(expireTs, EXPIRE_TS_MAX);
    this.ops.push({ type: 'put', key, userData, expireTs: stored, timetag: this.timetag });
  }

  del(key: Buffer): void {
    this.ops.push({ type: 'del', key });
  }
}

async function applyWrite(write: ClientWrite, builder: MutationBuilder, env: ApplyEnv): Promise<WriteOutcome> {
  switch (write.op) {
    case 'put': {
      if (!isValidKey(write.request.key)) return invalid();
      builder.put(write.request.key, write.request.value, write.request.expireTsSeconds);
      return { error: STATUS_OK };
    }
    case 'remove': {
      if (!isValidKey(write.key)) return invalid();
      builder.del(write.key);
      return { error: STATUS_OK };
    }
    case 'multi_put': {
      const { hashKey, kvs, expireTsSeconds } = write.request;
      if (kvs.length === 0) return invalid();
      const keys = kvs.map((kv) => compositeKey(hashKey, kv.key));
      if (keys.some((key) => key === undefined)) return invalid();
      kvs.forEach((kv, index) => builder.put(keys[index]!, kv.value, expireTsSeconds));
      return { error: STATUS_OK };
    }
    case 'multi_remove': {
      const { hashKey, sortKeys } = write.request;
      if (sortKeys.length === 0) return { error: STATUS_INVALID_ARGUMENT, count: 0n };
      const keys = sortKeys.map((sortKey) => compositeKey(hashKey, sortKey));
      if (keys.some((key) => key === undefined)) return { error: STATUS_INVALID_ARGUMENT, count: 0n };
      for (const key of keys) builder.del(key!);
      return { error: STATUS_OK, count: BigInt(sortKeys.length) };
    }
    case 'incr':
      return applyIncr(write.request, builder, env);
    case 'duplicate':
      return applyDuplicate(write.request, builder, env);
    case 'ingest':
      // StoreApplier ingests a bulk load's files itself; it is never a write among others.
      throw new Error('an ingestion is applied by the StoreApplier, not as a client write');
    case 'check_and_set': {
      const request = write.request;
      const none = { returned: false, exist: false, value: EMPTY };
      if (!isCheckTypeSupported(request.checkType)) return { error: STATUS_INVALID_ARGUMENT, check: none };
      const checkKey = compositeKey(request.hashKey, request.checkSortKey);
      const setKey = request.setDiffSortKey ? compositeKey(request.hashKey, request.setSortKey) : checkKey;
      if (checkKey === undefined || setKey === undefined) return { error: STATUS_INVALID_ARGUMENT, check: none };
      const current = await env.read(checkKey);
      const check = checkResult(request.returnCheckValue, current);
      const verdict = evaluateCheck(request.checkType, request.checkOperand, current !== undefined, current?.userData ?? EMPTY);
      if (!verdict.passed) return { error: verdict.invalidArgument ? STATUS_INVALID_ARGUMENT : STATUS_TRY_AGAIN, check };
      builder.put(setKey, request.setValue, request.setExpireTsSeconds);
      return { error: STATUS_OK, check };
    }
    case 'check_and_mutate': {
      const request = write.request;
      const none = { returned: false, exist: false, value: EMPTY };
      if (request.mutateList.length === 0) return { error: STATUS_INVALID_ARGUMENT, check: none };
      const validOperation = (operation: number): boolean => operation === MutateOperation.MO_PUT || operation === MutateOperation.MO_DELETE;
      if (!request.mutateList.every((mutate) => validOperation(mutate.operation))) return { error: STATUS_INVALID_ARGUMENT, check: none };
      if (!isCheckTypeSupported(request.checkType)) return { error: STATUS_INVALID_ARGUMENT, check: none };
      const checkKey = compositeKey(request.hashKey, request.checkSortKey);
      const keys = request.mutateList.map((mutate) => compositeKey(request.hashKey, mutate.sortKey));
      if (checkKey === undefined || keys.some((key) => key === undefined)) return { error: STATUS_INVALID_ARGUMENT, check: none };
      const current = await env.read(checkKey);
      const check = checkResult(request.returnCheckValue, current);
      const verdict = evaluateCheck(request.checkType, request.checkOperand, current !== undefined, current?.userData ?? EMPTY);
      if (!verdict.passed) return { error: verdict.invalidArgument ? STATUS_INVALID_ARGUMENT : STATUS_TRY_AGAIN, check };
      request.mutateList.forEach((mutate, index) => {
        if (mutate.operation === MutateOperation.MO_PUT) builder.put(keys[index]!, mutate.value, mutate.setExpireTsSeconds);
        else builder.del(keys[index]!);
      });
      return { error: STATUS_OK, check };
    }
  }
}

/**
 * Another cluster's writes, each entry as Pegasus's follower applies it: its puts carry the
 * entry's timetag (its timestamp and cluster id) and, with verify_timetag, are dropped when the
 * live record's timetag is not older (last writer wins); removes delete. All or nothing: an
 * entry that fails (it does not decode, a bad key) leaves the mutation without ops.
 */
async function applyDuplicate(request: DuplicateRequest, builder: MutationBuilder, env: ApplyEnv): Promise<WriteOutcome> {
  let writes: DuplicatedWrite[];
  try {
    writes = request.entries.map((entry) => decodeRawMessage(entry.taskCode, entry.rawMessage));
  } catch (error) {
    if (error instanceof MalformedEntryError) return { error: STATUS_INVALID_ARGUMENT, hint: error.hint };
    throw error;
  }
  // The timetags this mutation gave keys so far (undefined: removed), which the store does not show yet.
  const written = new Map<string, bigint | undefined>();
  const localTimetag = async (key: Buffer): Promise<bigint | undefined> => {
    const text = key.toString('latin1');
    return written.has(text) ? written.get(text) : (await env.read(key))?.timetag;
  };
  const accepted: MutationOp[] = [];
  for (const [index, write] of writes.entries()) {
    const entry = request.entries[index]!;
    const entryBuilder = new MutationBuilder({ timestampUs: entry.timestamp ?? 0n }, { ...env, clusterId: entry.clusterId ?? 0 });
    const outcome = await applyWrite(write, entryBuilder, env);
    if (outcome.error !== STATUS_OK) return { error: outcome.error, hint: `entry ${index} (${entry.taskCode}) is invalid` };
    for (const op of entryBuilder.ops) {
      if (op.type === 'put' && entry.verifyTimetag) {
        const local = await localTimetag(op.key);
        if (local !== undefined && local >= (op.timetag ?? 0n)) continue;
      }
      written.set(op.key.toString('latin1'), op.type === 'put' ? op.timetag ?? 0n : undefined);
      accepted.push(op);
    }
  }
  builder.ops.push(...accepted);
  return { error: STATUS_OK };
}

function checkResult(returnCheckValue: boolean, current: StoredRecord | undefined): WriteOutcome['check'] {
  if (!returnCheckValue) return { returned: false, exist: false, value: EMPTY };
  return current === undefined ? { returned: true, exist: false, value: EMPTY } : { returned: true, exist: true, value: current.userData };
}

async function applyIncr(request: IncrRequest, builder: MutationBuilder, env: ApplyEnv): Promise<WriteOutcome> {
  if (!isValidKey(request.key)) return { error: STATUS_INVALID_ARGUMENT, newValue: 0n };
  const current = await env.read(request.key);
  let newValue: bigint;
  let expireTs: number;
  if (current === undefined) {
    // Absent or expired: counts from zero; only a positive TTL request applies.
    newValue = request.increment;
    expireTs = request.expireTsSeconds > 0 ? request.expireTsSeconds : 0;
  } else {
    if (current.userData.length === 0) {
      newValue = request.increment;
    } else {
      const old = parseInt64(current.userData);
      if (old === undefined) return { error: STATUS_INVALID_ARGUMENT, newValue: 0n };
      const sum = addInt64(old, request.increment);
      if (sum === undefined) return { error: STATUS_INVALID_ARGUMENT, newValue: old };
      newValue = sum;
    }
    // 0 keeps the current expiry, < 0 clears it, > 0 sets it.
    expireTs = request.expireTsSeconds === 0 ? current.expireTs : request.expireTsSeconds < 0 ? 0 : request.expireTsSeconds;
  }
  builder.putWithExpireTs(request.key, Buffer.from(newValue.toString(), 'latin1'), expireTs);
  return { error: STATUS_OK, newValue };
}

/**
 * Applies every write of `mutation` in order. Writes that read (incr, check_and_*) see the state
 * through `env.read`, which the caller keeps consistent with every earlier decree.
 */
export async function applyMutationWrites(mutation: Mutation, env: ApplyEnv): Promise<AppliedMutation> {
  const builder = new MutationBuilder(mutation, env);
  const outcomes: WriteOutcome[] = [];
  for (const write of mutation.writes) outcomes.push(await applyWrite(write, builder, env));
  return { ops: builder.ops, outcomes };
}

/** An atomic write turned into the plain writes it results in, and the answer its client gets. */
export interface IdempotentForm {
  /** Empty when the write changes nothing (a failed check, a bad argument): it is answered at once. */
  writes: ClientWrite[];
  outcome: WriteOutcome;
}

const IDEMPOTENT_PUT_TYPE: Partial<Record<ClientWrite['op'], UpdateType>> = {
  incr: UpdateType.UT_INCR,
  check_and_set: UpdateType.UT_CHECK_AND_SET,
  check_and_mutate: UpdateType.UT_CHECK_AND_MUTATE_PUT,
};

/**
 * Pegasus's make_idempotent, on a primary whose earlier writes are all applied: executes an
 * incr or check_and_* against the current state and returns the puts (with the stored expiry)
 * and removes it results in, so every replica writes the same records whatever it holds.
 */
export async function makeIdempotent(write: ClientWrite, timestampUs: bigint, env: ApplyEnv): Promise<IdempotentForm> {
  const builder = new MutationBuilder({ timestampUs }, env);
  const outcome = await applyWrite(write, builder, env);
  if (outcome.error !== STATUS_OK) return { writes: [], outcome };
  const type = IDEMPOTENT_PUT_TYPE[write.op];
  const writes = builder.ops.map((op): ClientWrite => op.type === 'put'
    ? { op: 'put', request: { key: op.key, value: op.userData, expireTsSeconds: op.expireTs, type } }
    : { op: 'remove', key: op.key });
  return { writes, outcome };
}
