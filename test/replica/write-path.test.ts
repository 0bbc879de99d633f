// The replica's write path in process: decrees and batching of the mutation path over a
// controllable committer, the local committer on a real store (read-before-write ops see every
// earlier decree), Pegasus's write semantics as pure functions, and the shared predicates.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PteronError } from '../../src/base/index.ts';
import {
  applyMutationWrites, evaluateCheck, StoreApplier, matchesFilter, MutationPath, parseInt64, type ClientWrite, type Mutation, type MutationCommitter,
  type WriteOutcome,
} from '../../src/replica/index.ts';
import { encodeKey, EXPIRE_TS_MAX, memoryEngine, ReplicaStore, splitTimetag, type StoredRecord } from '../../src/storage/index.ts';
import { CasCheckType, FilterType } from '../../src/wire/index.ts';

const k = (hashKey: string, sortKey: string): Buffer => encodeKey(Buffer.from(hashKey), Buffer.from(sortKey));
const putWrite = (sortKey: string, value = 'v', expireTsSeconds = 0): ClientWrite => ({
  op: 'put', request: { key: k('h', sortKey), value: Buffer.from(value), expireTsSeconds },
});
const incrWrite = (sortKey: string, increment: bigint, expireTsSeconds = 0): ClientWrite => ({
  op: 'incr', request: { key: k('h', sortKey), increment, expireTsSeconds },
});

/** A committer that records mutations and commits them only when told to. */
class ManualCommitter implements MutationCommitter {
  readonly mutations: Mutation[] = [];
  private readonly pending: Array<{ resolve: (outcomes: WriteOutcome[]) => void; reject: (error: unknown) => void; mutation: Mutation }> = [];
  commit(mutation: Mutation): Promise<WriteOutcome[]> {
    this.mutations.push(mutation);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject, mutation }));
  }
  commitNext(): void {
    const next = this.pending.shift()!;
    next.resolve(next.mutation.writes.map(() => ({ error: 0 })));
  }
  failNext(error: Error): void {
    this.pending.shift()!.reject(error);
  }
  get waiting(): number {
    return this.pending.length;
  }
}

/** The primary-only committer: applies each mutation to the store at once. */
const applierCommitter = (applier: StoreApplier): MutationCommitter => ({ commit: (mutation) => applier.apply(mutation) });

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('mutation path', () => {
  test('decrees follow the last decree, one per mutation, under the current ballot, with increasing timestamps', async () => {
    const committer = new ManualCommitter();
    const path = new MutationPath({ committer, lastDecree: 41, ballot: 3, maxInFlight: 20, maxQueuedWrites: 100 });
    const results = [path.submit(putWrite('a'), 10), path.submit(putWrite('b'), 10), path.submit(incrWrite('c', 1n), 10)];
    assert.equal(committer.mutations.length, 0, 'a mutation leaves at the end of the loop turn');
    await flush();
    assert.deepEqual(committer.mutations.map((mutation) => [mutation.decree, mutation.ballot, mutation.writes.length]), [[42, 3, 2], [43, 3, 1]]);
    assert.ok(committer.mutations[0]!.timestampUs < committer.mutations[1]!.timestampUs);
    path.ballot = 5;
    path.submit(incrWrite('d', 1n), 10).catch(() => undefined);
    path.submit(putWrite('e'), 10).catch(() => undefined);
    await flush();
    assert.deepEqual(committer.mutations.slice(2).map((mutation) => [mutation.decree, mutation.ballot]), [[44, 5]], 'the incr goes at once, the PUT waits while others are in flight');
    for (let index = 0; index < 3; index++) committer.commitNext();
    await flush();
    assert.deepEqual(committer.mutations.slice(3).map((mutation) => [mutation.decree, mutation.ballot]), [[45, 5]]);
    assert.ok(committer.mutations[1]!.timestampUs < committer.mutations[2]!.timestampUs);
    assert.ok(committer.mutations[2]!.timestampUs < committer.mutations[3]!.timestampUs);
    assert.equal(path.lastPreparedDecree, 45);
    committer.commitNext();
    assert.deepEqual((await Promise.all(results)).map((result) => result.decree), [42, 42, 43]);
    await path.drain();
    assert.equal(path.lastCommittedDecree, 45);
  });

  test('PUTs and REMOVEs of one loop turn, and those arriving while every slot is taken, pile into one mutation; other writes wait alone', async () => {
    const committer = new ManualCommitter();
    const path = new MutationPath({ committer, lastDecree: 0, ballot: 1, maxInFlight: 1, maxQueuedWrites: 100, batchBytesMax: 100 });
    const results = [path.submit(putWrite('1'), 10), path.submit(putWrite('2'), 10)];
    await flush();
    assert.equal(committer.mutations.length, 1);
    results.push(
      path.submit(putWrite('3'), 10),
      path.submit({ op: 'remove', key: k('h', '4') }, 10),
      path.submit(incrWrite('5', 1n), 10),
      path.submit(putWrite('6'), 60),
      path.submit(putWrite('7'), 60),
    );
    await flush();
    assert.equal(path.writesWaiting, 5, 'the only slot is taken');
    for (let round = 0; round < 5; round++) {
      committer.commitNext();
      await flush();
    }
    const decrees = (await Promise.all(results)).map((result) => result.decree);
    assert.deepEqual(decrees, [1, 1, 2, 2, 3, 4, 5], 'the size limit splits 6 and 7');
    assert.deepEqual(committer.mutations.map((mutation) => mutation.writes.map((write) => write.op)), [
      ['put', 'put'], ['put', 'remove'], ['incr'], ['put'], ['put'],
    ]);
  });

  test('a mutation of PUTs and REMOVEs gathers writes while another is in flight, and leaves early only once it is full', async () => {
    const committer = new ManualCommitter();
    const path = new MutationPath({ committer, lastDecree: 0, ballot: 1, maxInFlight: 20, maxQueuedWrites: 100, batchBytesMax: 30 });
    const results = [path.submit(putWrite('1'), 10)];
    await flush();
    for (const sortKey of ['2', '3']) {
      results.push(path.submit(putWrite(sortKey), 10));
      await flush();
    }
    assert.deepEqual(committer.mutations.map((mutation) => mutation.writes.length), [1], 'the second mutation waits for the first');
    results.push(path.submit(putWrite('4'), 10));
    await flush();
    assert.deepEqual(committer.mutations.map((mutation) => mutation.writes.length), [1, 3], 'full at 30 bytes: it leaves with one in flight');
    results.push(path.submit(putWrite('5'), 10));
    await flush();
    assert.equal(committer.mutations.length, 2);
    committer.commitNext();
    await flush();
    assert.equal(committer.mutations.length, 2, 'one still in flight');
    committer.commitNext();
    await flush();
    assert.deepEqual(committer.mutations.map((mutation) => mutation.writes.length), [1, 3, 1]);
    committer.commitNext();
    assert.deepEqual((await Promise.all(results)).map((result) => result.decree), [1, 2, 2, 2, 3]);
  });

  test('a full queue answers ERR_BUSY; leaving primary refuses the waiting writes; a commit failure stops the path', async () => {
    const committer = new ManualCommitter();
    const failures: unknown[] = [];
    const path = new MutationPath({ committer, lastDecree: 0, ballot: 1, maxInFlight: 1, maxQueuedWrites: 2, onCommitFailure: (error) => failures.push(error) });
    const first = path.submit(incrWrite('a', 1n), 1);
    await flush();
    const second = path.submit(incrWrite('b', 1n), 1);
    const third = path.submit(incrWrite('c', 1n), 1);
    await assert.rejects(path.submit(incrWrite('d', 1n), 1), (error: unknown) => error instanceof PteronError && error.code === 'ERR_BUSY');
    path.failWaiting(new PteronError('ERR_INVALID_STATE', 'no longer primary'));
    await assert.rejects(second, (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_STATE');
    await assert.rejects(third, (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_STATE');
    committer.commitNext();
    assert.equal((await first).decree, 1, 'the write already handed over still commits');
    await flush();

    const doomed = path.submit(putWrite('x'), 1);
    const queued = path.submit(incrWrite('y', 1n), 1);
    await flush();
    committer.failNext(new Error('disk on fire'));
    await assert.rejects(doomed, (error: unknown) => error instanceof PteronError && error.code === 'ERR_TIMEOUT' && /disk on fire/.test(error.message));
    await assert.rejects(queued, (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_STATE');
    await assert.rejects(path.submit(putWrite('z'), 1), (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_STATE');
    assert.equal(failures.length, 1);
    await path.drain();
  });
});

describe('local committer on a replica store', () => {
  test('pipelined writes apply in decree order, and read-before-write ops see every earlier decree', async () => {
    const store = await ReplicaStore.open({ replicaDir: '/replica/1.0.pegasus', engineFactory: memoryEngine() });
    const path = new MutationPath({ committer: applierCommitter(new StoreApplier(store, () => ({ defaultTtlSeconds: 0 }))), lastDecree: 0, ballot: 1, maxInFlight: 20, maxQueuedWrites: 10000 });
    const writes: Array<Promise<unknown>> = [];
    for (let index = 0; index < 200; index++) {
      writes.push(path.submit(putWrite(`k${index % 7}`, String(index)), 8));
      if (index % 10 === 9) writes.push(path.submit(incrWrite('counter', 1n), 8));
    }
    const results = (await Promise.all(writes)) as Array<{ decree: number; outcome: WriteOutcome }>;
    assert.equal(store.lastAppliedDecree, path.lastPreparedDecree);
    assert.deepEqual(results.filter((result) => result.outcome.newValue !== undefined).map((result) => result.outcome.newValue), Array.from({ length: 20 }, (_, index) => BigInt(index + 1)));
    assert.deepEqual((await store.get(k('h', 'counter')))!.userData, Buffer.from('20'));
    assert.deepEqual((await store.get(k('h', 'k3')))!.userData, Buffer.from('199'), 'the last put of a key wins');
    const record = (await store.get(k('h', 'k0')))!;
    assert.ok(splitTimetag(record.timetag).timestampUs > 0n, 'records carry the mutation timestamp in their timetag');
    await path.drain();
    await store.close();
  });
});

describe('store applier', () => {
  test('settled() resolves once everything handed over reached the store', async () => {
    const store = await ReplicaStore.open({ replicaDir: '/replica/2.0.pegasus', engineFactory: memoryEngine() });
    const applier = new StoreApplier(store, () => ({ defaultTtlSeconds: 0 }));
    for (let decree = 1; decree <= 5; decree++) {
      void applier.apply({ decree, ballot: 1, timestampUs: 1_700_000_000_000_000n, writes: [decree === 3 ? incrWrite('n', 2n) : putWrite(`k${decree}`)] });
    }
    assert.ok(store.lastAppliedDecree < 5, 'applying is asynchronous');
    await applier.settled();
    assert.equal(store.lastAppliedDecree, 5);
    assert.deepEqual((await store.get(k('h', 'n')))!.userData, Buffer.from('2'));
    await store.close();
  });
});

describe('write semantics', () => {
  const mutation = (writes: ClientWrite[]): Mutation => ({ decree: 7, ballot: 1, timestampUs: 1_700_000_000_000_000n, writes });
  const envWith = (records: Record<string, StoredRecord>, defaultTtlSeconds = 0) => ({
    read: async (key: Buffer) => records[key.toString('hex')],
    now: 1000,
    defaultTtlSeconds,
  });

  test('expire_ts: the table default TTL fills in 0, negative values become the largest expire_ts', async () => {
    const applied = await applyMutationWrites(mutation([putWrite('a', 'x', 0), putWrite('b', 'x', 5000), putWrite('c', 'x', -1)]), envWith({}, 60));
    assert.deepEqual(applied.ops.map((op) => (op.type === 'put' ? op.expireTs : -1)), [1060, 5000, EXPIRE_TS_MAX]);
    assert.deepEqual(applied.outcomes, [{ error: 0 }, { error: 0 }, { error: 0 }]);
  });

  test('malformed keys and oversized hash keys are invalid arguments that write nothing', async () => {
    const longHashKey = Buffer.alloc(0x10000);
    const applied = await applyMutationWrites(mutation([
      { op: 'put', request: { key: Buffer.of(0, 5, 1), value: Buffer.alloc(0), expireTsSeconds: 0 } },
      { op: 'remove', key: Buffer.of(9) },
      { op: 'multi_put', request: { hashKey: longHashKey, kvs: [{ key: Buffer.from('s'), value: Buffer.from('v') }], expireTsSeconds: 0 } },
      { op: 'multi_remove', request: { hashKey: longHashKey, sortKeys: [Buffer.from('s')], maxCount: 0n } },
    ]), envWith({}));
    assert.deepEqual(applied.ops, []);
    assert.deepEqual(applied.outcomes.map((outcome) => outcome.error), [4, 4, 4, 4]);
  });

  test('incr keeps, clears or sets the expiry of an existing record', async () => {
    const existing: StoredRecord = { key: k('h', 'n'), userData: Buffer.from('10'), expireTs: 3000, timetag: 0n };
    const env = envWith({ [k('h', 'n').toString('hex')]: existing });
    const expiries = [];
    for (const requested of [0, -5, 4000]) {
      const applied = await applyMutationWrites(mutation([incrWrite('n', 2n, requested)]), env);
      const op = applied.ops[0]!;
      expiries.push(op.type === 'put' ? [op.expireTs, op.userData.toString(), applied.outcomes[0]!.newValue] : undefined);
    }
    assert.deepEqual(expiries, [[3000, '12', 12n], [0, '12', 12n], [4000, '12', 12n]]);
  });
});

describe('predicates', () => {
  test('parseInt64 is strtoll base 0 over the whole value, within int64', () => {
    const cases: Array<[string, bigint | undefined]> = [
      ['0', 0n], ['-17', -17n], ['+5', 5n], ['  42', 42n], ['42 ', undefined], ['0x1F', 31n], ['010', 8n], ['08', undefined], ['0x', undefined],
      ['', undefined], ['-', undefined], ['9223372036854775807', 9223372036854775807n], ['9223372036854775808', undefined],
      ['-9223372036854775808', -9223372036854775808n], ['1\u00002', undefined], ['1.5', undefined],
    ];
    for (const [text, expected] of cases) assert.equal(parseInt64(Buffer.from(text, 'latin1')), expected, JSON.stringify(text));
  });

  test('filters: empty patterns pass everything, longer patterns nothing', () => {
    const value = Buffer.from('abcabc');
    assert.equal(matchesFilter(FilterType.FT_MATCH_ANYWHERE, Buffer.from('ca'), value), true);
    assert.equal(matchesFilter(FilterType.FT_MATCH_PREFIX, Buffer.from('abc'), value), true);
    assert.equal(matchesFilter(FilterType.FT_MATCH_PREFIX, Buffer.from('bc'), value), false);
    assert.equal(matchesFilter(FilterType.FT_MATCH_POSTFIX, Buffer.from('bc'), value), true);
    assert.equal(matchesFilter(FilterType.FT_MATCH_POSTFIX, Buffer.alloc(0), value), true);
    assert.equal(matchesFilter(FilterType.FT_MATCH_ANYWHERE, Buffer.from('abcabca'), value), false);
  });

  test('checks on absent values fail except the not-exist ones; integer checks reject non-integers', () => {
    const empty = Buffer.alloc(0);
    assert.deepEqual(evaluateCheck(CasCheckType.CT_VALUE_NOT_EXIST_OR_EMPTY, empty, true, empty), { passed: true, invalidArgument: false });
    assert.deepEqual(evaluateCheck(CasCheckType.CT_VALUE_MATCH_ANYWHERE, empty, false, empty), { passed: false, invalidArgument: false });
    assert.deepEqual(evaluateCheck(CasCheckType.CT_VALUE_INT_EQUAL, Buffer.from('1'), false, empty), { passed: false, invalidArgument: false });
    assert.deepEqual(evaluateCheck(CasCheckType.CT_VALUE_INT_EQUAL, Buffer.from('1'), true, empty), { passed: false, invalidArgument: true });
    assert.deepEqual(evaluateCheck(CasCheckType.CT_VALUE_BYTES_LESS, Buffer.from('b'), true, Buffer.from('ab')), { passed: true, invalidArgument: false });
    assert.deepEqual(evaluateCheck(CasCheckType.CT_VALUE_BYTES_GREATER, Buffer.from('a'), true, Buffer.from('ab')), { passed: true, invalidArgument: false });
  });
});
