// The torture clients: each loops over a small key space doing get, set, multi_get, multi_set,
// check_and_set, incr and scans, and records every operation's invocation, completion and result.
import { CasCheckType, createClient, type PegasusClient, type PegasusTable } from '../../src/client/index.ts';
import type { Prng } from '../helpers/prng.ts';
import type { RecordedOp } from './history.ts';

export const HASH_KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
export const SORT_KEYS = ['s0', 's1', 's2'];
export const COUNTER_HASH_KEYS = ['n0', 'n1'];
export const COUNTER_SORT_KEY = 'c';
/** Records set by the workload carry this TTL: far longer than any run, so none may expire, even on a server whose clock is skewed. */
export const RECORD_TTL_SECONDS = 86_400;
/** Deadline of one client operation, retries included. */
export const OPERATION_TIMEOUT_MS = 10_000;

export const registerKey = (hashKey: string, sortKey: string): string => `${hashKey}/${sortKey}`;
export const counterKey = (hashKey: string): string => `${hashKey}/${COUNTER_SORT_KEY}`;

export class TortureClient {
  private readonly client: PegasusClient;
  private table: PegasusTable | undefined;
  private sequence = 0;
  /** The last value this client saw per register key: its check_and_set operand. */
  private readonly lastSeen = new Map<string, string>();

  constructor(
    readonly id: number,
    metaServers: string,
    private readonly prng: Prng,
    private readonly now: () => number,
    private readonly record: (op: RecordedOp) => void,
  ) {
    this.client = createClient({ metaServers, timeoutMs: OPERATION_TIMEOUT_MS });
  }

  async open(tableName: string): Promise<void> {
    this.table = await this.client.openTable(tableName, { timeoutMs: 60_000 });
  }

  /** Runs operations until `running()` turns false. */
  async run(running: () => boolean): Promise<void> {
    while (running()) await this.step();
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private nextValue(): string {
    this.sequence += 1;
    return `c${this.id}-${this.sequence}`;
  }

  private async step(): Promise<void> {
    const table = this.table!;
    const hashKey = this.prng.pick(HASH_KEYS);
    const sortKey = this.prng.pick(SORT_KEYS);
    const key = registerKey(hashKey, sortKey);
    const roll = this.prng.next();
    const invokeAt = this.now();
    if (roll < 0.25) {
      await this.read('get', [key], invokeAt, async () => {
        const value = await table.get(hashKey, sortKey);
        return new Map([[sortKey, value?.toString()]]);
      }, hashKey);
    } else if (roll < 0.45) {
      const value = this.nextValue();
      await this.write('set', [[key, value]], invokeAt, () => table.set(hashKey, sortKey, value, RECORD_TTL_SECONDS));
    } else if (roll < 0.55) {
      const sortKeys = SORT_KEYS.filter(() => this.prng.chance(0.6));
      if (sortKeys.length === 0) sortKeys.push(sortKey);
      const writes = sortKeys.map((item) => [registerKey(hashKey, item), this.nextValue()] as [string, string]);
      await this.write('multi_set', writes, invokeAt, () =>
        table.multiSet(hashKey, writes.map(([, value], index) => ({ sortKey: sortKeys[index]!, value })), RECORD_TTL_SECONDS));
    } else if (roll < 0.65) {
      await this.read('multi_get', SORT_KEYS.map((item) => registerKey(hashKey, item)), invokeAt, async () => {
        const result = await table.multiGet(hashKey, SORT_KEYS);
        if (!result.allFetched) throw new Error('multi_get did not fetch every sort key');
        const found = new Map(result.kvs.map((kv) => [kv.sortKey.toString(), kv.value.toString()]));
        return new Map(SORT_KEYS.map((item) => [item, found.get(item)]));
      }, hashKey);
    } else if (roll < 0.72) {
      await this.read('scan', SORT_KEYS.map((item) => registerKey(hashKey, item)), invokeAt, async () => {
        const found = new Map<string, string>();
        const scanner = table.getScanner(hashKey, '', '', { batchSize: 2 });
        try {
          for await (const entry of scanner) found.set(entry.sortKey.toString(), entry.value.toString());
        } finally {
          await scanner.close();
        }
        return new Map(SORT_KEYS.map((item) => [item, found.get(item)]));
      }, hashKey);
    } else if (roll < 0.85) {
      await this.checkAndSet(table, hashKey, sortKey, invokeAt);
    } else {
      await this.incr(table, invokeAt);
    }
  }

  private async read(operation: string, keys: string[], invokeAt: number, perform: () => Promise<Map<string, string | undefined>>, hashKey: string): Promise<void> {
    let values: Map<string, string | undefined>;
    try {
      values = await perform();
    } catch {
      return; // a failed read says nothing
    }
    const completeAt = this.now();
    for (const key of keys) {
      const value = values.get(key.slice(hashKey.length + 1));
      if (value !== undefined) this.lastSeen.set(key, value);
      this.record({ kind: 'read', key, value, invokeAt, completeAt, client: this.id, operation });
    }
  }

  private async write(operation: string, writes: Array<[string, string]>, invokeAt: number, perform: () => Promise<void>): Promise<void> {
    let ok: true | undefined;
    try {
      await perform();
      ok = true;
    } catch {
      ok = undefined;
    }
    const completeAt = this.now();
    for (const [key, value] of writes) this.record({ kind: 'write', key, value, invokeAt, completeAt, ok, client: this.id, operation });
  }

  /** Sets the key to a new value if it still holds the last value this client saw (or is absent, if it saw none). */
  private async checkAndSet(table: PegasusTable, hashKey: string, sortKey: string, invokeAt: number): Promise<void> {
    const key = registerKey(hashKey, sortKey);
    const expected = this.lastSeen.get(key);
    const value = this.nextValue();
    const [checkType, operand] = expected === undefined ? [CasCheckType.CT_VALUE_NOT_EXIST, ''] : [CasCheckType.CT_VALUE_BYTES_EQUAL, expected];
    let result;
    try {
      result = await table.checkAndSet(hashKey, sortKey, checkType, operand, sortKey, value, { setValueTtlSeconds: RECORD_TTL_SECONDS, returnCheckValue: true });
    } catch {
      this.record({ kind: 'write', key, value, invokeAt, completeAt: this.now(), ok: undefined, client: this.id, operation: 'check_and_set' });
      return;
    }
    const completeAt = this.now();
    if (result.setSucceed) {
      this.lastSeen.set(key, value);
      this.record({ kind: 'write', key, value, invokeAt, completeAt, ok: true, client: this.id, operation: 'check_and_set' });
      return;
    }
    // Refused: the check read the value it returned.
    const seen = result.checkValueExist ? result.checkValue?.toString() ?? '' : undefined;
    if (seen !== undefined) this.lastSeen.set(key, seen);
    else this.lastSeen.delete(key);
    this.record({ kind: 'read', key, value: seen, invokeAt, completeAt, client: this.id, operation: 'check_and_set' });
  }

  private async incr(table: PegasusTable, invokeAt: number): Promise<void> {
    const hashKey = this.prng.pick(COUNTER_HASH_KEYS);
    let result: bigint | undefined;
    try {
      result = await table.incr(hashKey, COUNTER_SORT_KEY, 1n);
    } catch {
      result = undefined;
    }
    this.record({ kind: 'incr', key: counterKey(hashKey), invokeAt, completeAt: this.now(), result, client: this.id });
  }
}
