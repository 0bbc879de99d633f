// Usage scenarios: the table env `rocksdb.usage_scenario` (normal | prefer_write | bulk_load),
// applied by every replica of the table (spec pegasus-arch §3.8). Pegasus changes RocksDB options
// at run time; LevelDB fixes its options when it opens, so a scenario here means:
//
//   - the secondary's deferred apply (how long and how many committed mutations it gathers into
//     one store batch) grows with the scenario, at once;
//   - the write buffer is the base times 1 / 2 / 4 (Pegasus: about x1, x1-x2, about x4), or the
//     table's `rocksdb.write_buffer_size` when set (Pegasus applies that after the scenario); it
//     takes effect when the store is next opened, because reopening LevelDB in place would end
//     every open iterator (parked scanner contexts, a learner's checkpoint);
//   - bulk_load pauses the background TTL sweep (its owner reads `ReplicaEnvs.usageScenario`).
//
// The scenario is recorded in the store's meta keys, as Pegasus records it in its meta column
// family, so the store says which scenario it last ran under.
import { log } from '../base/index.ts';
import { LEVELDB_WRITE_BUFFER_DEFAULT, type ReplicaStore } from '../storage/index.ts';

export const USAGE_SCENARIOS = ['normal', 'prefer_write', 'bulk_load'] as const;
export type UsageScenario = (typeof USAGE_SCENARIOS)[number];

export const USAGE_SCENARIO_ENV = 'rocksdb.usage_scenario';
export const WRITE_BUFFER_SIZE_ENV = 'rocksdb.write_buffer_size';
/** The store's meta key holding the scenario last applied (Pegasus uses the env's name too). */
export const META_USAGE_SCENARIO = 'rocksdb.usage_scenario';

/** An unset env is `normal`, as in Pegasus; undefined for a value that is no scenario. */
export function parseUsageScenario(value: string | undefined): UsageScenario | undefined {
  if (value === undefined) return 'normal';
  return (USAGE_SCENARIOS as readonly string[]).includes(value) ? (value as UsageScenario) : undefined;
}

export interface ScenarioSettings {
  /** A secondary hands its committed mutations to the store after this long... */
  deferredApplyMs: number;
  /** ...or once it holds this many. */
  deferredAppliesMax: number;
  /** The write buffer as a multiple of the base one. */
  writeBufferFactor: number;
}

/**
 * Normal keeps the batch the kv bench was tuned with (100 ms instead of 20 gave three-replica
 * writes about 15% more); the write-heavy scenarios gather more per LevelDB batch, trading a
 * secondary's store lag (never seen by clients: a secondary serves no reads, and one that becomes
 * primary applies everything before it serves) for fewer thread-pool round trips.
 */
export const SCENARIO_SETTINGS: Readonly<Record<UsageScenario, ScenarioSettings>> = {
  normal: { deferredApplyMs: 100, deferredAppliesMax: 256, writeBufferFactor: 1 },
  prefer_write: { deferredApplyMs: 200, deferredAppliesMax: 1024, writeBufferFactor: 2 },
  bulk_load: { deferredApplyMs: 500, deferredAppliesMax: 4096, writeBufferFactor: 4 },
};

/** The write buffer a store opens with: the table's explicit size if set, else the base times the scenario's factor. */
export function writeBufferBytesFor(scenario: UsageScenario, explicitBytes: number | undefined, baseBytes = LEVELDB_WRITE_BUFFER_DEFAULT): number {
  return explicitBytes ?? baseBytes * SCENARIO_SETTINGS[scenario].writeBufferFactor;
}

/**
 * Keeps a store's META_USAGE_SCENARIO key equal to the scenario the replica applies. Calls run
 * one at a time, in order; a failed write is only logged (the key records, it does not steer).
 */
export class ScenarioRecorder {
  private recorded: UsageScenario | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly replicaName: string) {}

  record(store: ReplicaStore, scenario: UsageScenario): void {
    this.chain = this.chain.then(async () => {
      this.recorded ??= parseUsageScenario(await store.readMeta(META_USAGE_SCENARIO)) ?? 'normal';
      if (this.recorded === scenario) return;
      await store.writeMeta({ [META_USAGE_SCENARIO]: scenario });
      log.info({ gpid: this.replicaName, from: this.recorded, to: scenario }, 'usage scenario changed');
      this.recorded = scenario;
    }).catch((error: unknown) => {
      log.warn({ gpid: this.replicaName, err: (error as Error).message }, 'could not record the usage scenario in the store');
    });
  }

  /** Settles once every recording so far finished. */
  settled(): Promise<void> {
    return this.chain;
  }
}
