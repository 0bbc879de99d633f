// One hosted replica: its store, mutation log and PacificA state machine, its configuration as
// the meta last told it, its write path (while primary), scanner contexts and metrics. It is the
// I/O shell of the state machine (./pacifica/core.ts): it feeds it configurations, peer
// messages, durable log appends and the clock, and carries out the actions it returns. The stub
// opens and closes it; the data plane asks it whether it may serve (an open primary that has
// committed the tail it inherited and still holds the meta's lease).
import { renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PteronError, assert, log, type Gpid } from '../base/index.ts';
import { parseCInteger } from '../config/index.ts';
import { MANUAL_COMPACT_STATUS_VALUES, appInfoToJson, gpidText, type AppInfo, type PartitionConfiguration } from '../cluster/index.ts';
import { ReplicaStore, classicLevelEngine, type EngineFactory } from '../storage/index.ts';
import { PartitionStatus, type IngestionRequest, type ReplicaInfo } from '../wire/index.ts';
import {
  configChangeRetryMs, durableIntervalMs, groupCheckIntervalMs, iterationThresholdTimeMs, learnCacheBytesMax, learnCacheDecreesMax, learnTimeoutMs, plogForceFlush,
  prepareRetryMs, prepareTimeoutMsForSecondaries, scanContextsMax, scanContextTimeoutMs, stalenessForCommit, writeQueueMax,
} from './flags.ts';
import { ReplicaMetrics } from './metrics.ts';
import { CompactionService, CompactionSlots } from './compaction-service.ts';
import type { Mutation, WriteOutcome } from './write/mutation.ts';
import { MutationLog } from './log/mutation-log.ts';
import type { SharedLog } from './log/shared-log.ts';
import { MutationPath, StoreApplier, type MutationCommitter } from './write/mutation-path.ts';
import { ReplicaCore, type ChangeType, type CoreAction, type CoreOptions, type ReplicaRole } from './pacifica/core.ts';
import type { Membership, PeerMessage } from './pacifica/messages.ts';
import { ScannerContexts } from './read/scanner.ts';
import { restoreSourceOf } from './restore.ts';
import { ReplicaSplitState } from './split/split-state.ts';
import { ReplicaThrottling } from './throttling/replica-throttling.ts';
import { DuplicationManager, duplicationMetrics, type DuplicateSender, type DuplicationMetrics } from './duplication/index.ts';
import {
  parseUsageScenario, SCENARIO_SETTINGS, ScenarioRecorder, USAGE_SCENARIO_ENV, WRITE_BUFFER_SIZE_ENV, writeBufferBytesFor, type UsageScenario,
} from './usage-scenario.ts';

export type ReplicaState = Lifecycle['state'];

/** What open() made; a replica holds it from then on, and closes it in close(). */
interface OpenParts {
  readonly store: ReplicaStore;
  readonly mutationLog: MutationLog;
  readonly applier: StoreApplier;
  readonly core: ReplicaCore;
}

/** A serving replica; `path`, the write path, exists while it is primary. */
interface Serving {
  readonly state: 'serving';
  readonly parts: OpenParts;
  path: MutationPath | undefined;
}

/**
 * Where a replica is in its life. Every state after a successful open keeps the parts (a failed
 * or closed replica still reports its decrees); `parts` is undefined when the open failed or was
 * overtaken by close().
 */
type Lifecycle =
  | { readonly state: 'opening' }
  | Serving
  | { readonly state: 'error' | 'closing' | 'closed'; readonly parts: OpenParts | undefined };

/** What the data plane uses of a primary that may answer clients. */
export interface ServingPrimary {
  readonly store: ReplicaStore;
  readonly path: MutationPath;
}

/** What a primary offers a learner: the store to copy and the signature of the learning. */
export interface LearnerCheckpoint {
  readonly store: ReplicaStore;
  readonly signature: number;
}

/** The table envs the data plane reads (spec pegasus-http §5.14). */
export interface ReplicaEnvs {
  defaultTtlSeconds: number;
  splitValidatePartitionHash: boolean;
  iterationThresholdMs: number;
  /** `replica.deny_client_request`: which requests are refused, and how. */
  denyClient: { reads: boolean; writes: boolean; reconfig: boolean };
  /** `rocksdb.usage_scenario` (./usage-scenario.ts); bulk_load also pauses the background TTL sweep. */
  usageScenario: UsageScenario;
  /** `rocksdb.write_buffer_size`, when set: the store's write buffer from its next open on. */
  writeBufferBytes: number | undefined;
  /** `replica.rocksdb_block_cache_enabled`: false makes reads leave LevelDB's block cache alone. */
  blockCacheEnabled: boolean;
  /** `replica.slow_query_threshold` in ms, when set; else the `rocksdb_slow_query_threshold_ns` flag applies. */
  slowQueryThresholdMs: number | undefined;
}

export const APP_INFO_FILE = '.app-info';
export const INIT_INFO_FILE = '.init-info';

function envInteger(envs: Record<string, string>, name: string, min: number, max: number): number | undefined {
  const text = envs[name];
  if (text === undefined) return undefined;
  const value = parseCInteger(text, false);
  return value === undefined || value < BigInt(min) || value > BigInt(max) ? undefined : Number(value);
}

export function envsOf(info: AppInfo): ReplicaEnvs {
  const envs = info.envs;
  const deny = envs['replica.deny_client_request'];
  const [mode, scope] = deny === undefined ? [] : deny.split('*');
  const denying = mode === 'timeout' || mode === 'reconfig';
  // An invalid scenario (the meta refuses one; an older table may hold it) is run as normal.
  const usageScenario = parseUsageScenario(envs[USAGE_SCENARIO_ENV]) ?? 'normal';
  return {
    defaultTtlSeconds: envInteger(envs, 'default_ttl', 0, 0x7fffffff) ?? 0,
    splitValidatePartitionHash: (envs['replica.split.validate_partition_hash'] ?? '').toLowerCase() === 'true',
    iterationThresholdMs: envInteger(envs, 'replica.rocksdb_iteration_threshold_time_ms', 0, Number.MAX_SAFE_INTEGER) ?? iterationThresholdTimeMs.value,
    denyClient: {
      reads: denying && (scope === 'all' || scope === 'read'),
      writes: denying && (scope === 'all' || scope === 'write'),
      reconfig: mode === 'reconfig',
    },
    usageScenario,
    writeBufferBytes: envInteger(envs, WRITE_BUFFER_SIZE_ENV, 1, Number.MAX_SAFE_INTEGER),
    blockCacheEnabled: (envs['replica.rocksdb_block_cache_enabled'] ?? '').toLowerCase() !== 'false',
    slowQueryThresholdMs: envInteger(envs, 'replica.slow_query_threshold', 1, Number.MAX_SAFE_INTEGER),
  };
}

/** What a replica needs from its server: the network, the meta, and the meta's lease. */
export interface ReplicaServices {
  sendPeer(to: string, replica: Replica, message: PeerMessage): void;
  /** Ask the meta for a membership change of this partition (ballot + 1). */
  requestChange(replica: Replica, type: ChangeType, node: string): void;
  /** Learner: copy `from`'s checkpoint into `store`; resolves with its decree. */
  fetchCheckpoint(replica: Replica, store: ReplicaStore, from: string, signature: number): Promise<number>;
  /** Whether the meta still counts this server alive (beacons acknowledged within the lease). */
  leaseValid(): boolean;
  /** The server's shared log, through which the mutation log is made durable (when there is one). */
  sharedLog?: SharedLog;
  /** The server's compaction slots (`max_concurrent_running_count` counts per server); default: the replica's own. */
  compactionSlots?: CompactionSlots;
  /** Duplication: this cluster's id for the timetags of its writes, and the sending side of the duplicators. */
  duplication?: { clusterId: number; sender: DuplicateSender };
  /**
   * A restored table's first primary: fills its empty store from the backup (./restore.ts)
   * before it serves; a rejection fails the open.
   */
  restore?(replica: Replica, store: ReplicaStore): Promise<void>;
  /** Applies a committed bulk-load ingestion: the files this replica downloaded go into `store` as `decree` (./bulk-load.ts). */
  ingestBulkLoad?(replica: Replica, store: ReplicaStore, request: IngestionRequest, decree: number): Promise<void>;
}

/** Where a replica keeps its private mutation log. */
export function mutationLogDirOf(replicaDir: string): string {
  return path.join(replicaDir, 'plog');
}

/** The services of a replica that is only stored, never replicated (a ReplicaStub in a test without peer servers). */
export const STANDALONE_SERVICES: ReplicaServices = {
  sendPeer: () => undefined,
  requestChange: () => undefined,
  fetchCheckpoint: () => Promise.reject(new PteronError('ERR_INVALID_STATE', 'no peers')),
  leaseValid: () => true,
};

const STATUS_OF_ROLE: Record<ReplicaRole, PartitionStatus> = {
  inactive: PartitionStatus.PS_INACTIVE,
  primary: PartitionStatus.PS_PRIMARY,
  secondary: PartitionStatus.PS_SECONDARY,
  learner: PartitionStatus.PS_POTENTIAL_SECONDARY,
  error: PartitionStatus.PS_ERROR,
};

export function coreOptionsFromFlags(self: string): CoreOptions {
  return {
    self,
    prepareTimeoutMs: prepareTimeoutMsForSecondaries.value,
    prepareRetryMs: prepareRetryMs.value,
    groupCheckIntervalMs: groupCheckIntervalMs.value,
    learnTimeoutMs: learnTimeoutMs.value,
    cacheDecreesMax: learnCacheDecreesMax.value,
    cacheBytesMax: learnCacheBytesMax.value,
    changeRetryMs: configChangeRetryMs.value,
  };
}

export function membershipOf(config: PartitionConfiguration): Membership {
  return { ballot: config.ballot, primary: config.primary, secondaries: config.secondaries };
}

/** A write that was waiting when the replica stopped being primary: the client asks the meta again. */
class NotPrimaryError extends PteronError {
  constructor(why: string) {
    super('ERR_INVALID_STATE', why);
  }
}

interface CommitWaiter {
  resolve: (outcomes: WriteOutcome[]) => void;
  reject: (error: unknown) => void;
}

export class Replica implements MutationCommitter {
  readonly gpid: Gpid;
  readonly dir: string;
  readonly scanners: ScannerContexts;
  readonly metrics: ReplicaMetrics;
  /** The table's request throttling envs, as this partition applies them. */
  readonly throttling: ReplicaThrottling;
  /** Manual compactions and TTL sweeps of the store. */
  readonly compaction: CompactionService;
  /** The duplications this replica ships (as primary) or keeps the log for (otherwise). */
  readonly duplication: DuplicationManager;
  readonly duplicationMetrics: DuplicationMetrics;
  /** What this replica knows of its table's partition split (./split/). */
  readonly split = new ReplicaSplitState();
  info: AppInfo;
  config: PartitionConfiguration | undefined;
  envs: ReplicaEnvs;
  private lifecycle: Lifecycle = { state: 'opening' };
  /** Settles when open() finished (either way). */
  opened: Promise<void> = Promise.resolve();
  /** The stub's update counter when the meta last told this replica something. */
  updateSeq = 0;
  /** Opened because a primary made this node a learner (not because the meta listed it). */
  openedToLearn = false;
  /** While this primary's bulk-load ingestion is on its way (./bulk-load.ts): writes get ERR_OPERATION_DISABLED. */
  ingestingBulkLoad = false;
  private readonly waiters = new Map<number, CommitWaiter>();
  /** Committed mutations a secondary has yet to hand to its store (see deferApply). */
  private deferredApplies: Mutation[] = [];
  private deferredFlush: NodeJS.Timeout | undefined;
  private writtenInfo = '';
  private persisting: Promise<void> = Promise.resolve();
  private lastDurableMs = Date.now();
  private savedBallotOnDisk: number;
  private syncing = false;
  private readonly scenarioRecorder: ScenarioRecorder;
  /** The applied decree the record count was taken at (-1: never counted). */
  private keysCountedAtDecree = -1;

  constructor(
    readonly self: string,
    gpid: Gpid,
    dir: string,
    info: AppInfo,
    config: PartitionConfiguration | undefined,
    /** The ballot found on disk, reported until the meta sends a configuration. */
    savedBallot = 0,
    private readonly services: ReplicaServices = STANDALONE_SERVICES,
  ) {
    this.gpid = gpid;
    this.dir = dir;
    this.info = info;
    this.config = config;
    this.savedBallotOnDisk = savedBallot;
    this.envs = envsOf(info);
    this.metrics = new ReplicaMetrics(gpid.appId, gpid.partitionIndex);
    this.throttling = new ReplicaThrottling(gpidText(gpid), this.metrics);
    this.throttling.updateEnvs(info.envs, info.partitionCount);
    this.compaction = new CompactionService({
      gpid,
      slots: services.compactionSlots ?? new CompactionSlots(),
      entity: this.metrics.entity,
      table: () => ({
        envs: this.info.envs, partitionCount: this.keyPartitionCount,
        defaultTtlSeconds: this.envs.defaultTtlSeconds, splitValidatePartitionHash: this.envs.splitValidatePartitionHash,
      }),
    });
    this.metrics.sampleStorageSettings({
      writeBufferBytes: () => this.store?.engine.writeBufferBytes ?? 0,
      writeBufferBytesOnReopen: () => this.writeBufferBytesOnOpen(),
      deferredAppliesMax: () => SCENARIO_SETTINGS[this.envs.usageScenario].deferredAppliesMax,
    });
    this.scenarioRecorder = new ScenarioRecorder(gpidText(gpid));
    this.duplicationMetrics = duplicationMetrics(this.metrics.entity, () => this.duplication.lag());
    this.duplication = new DuplicationManager({
      gpid,
      appName: () => this.info.appName,
      clusterId: () => this.clusterId,
      isPrimary: () => this.role === 'primary' && this.state === 'serving',
      lastCommittedDecree: () => this.lastCommittedDecree,
      lastAppliedDecree: () => this.store?.lastAppliedDecree ?? 0,
      readLog: (after) => {
        const mutationLog = this.parts?.mutationLog;
        return mutationLog ? mutationLog.readAfter(after) : Promise.reject(new PteronError('ERR_INVALID_STATE', 'the replica is not open'));
      },
      syncStore: () => this.store ? this.store.syncApplied() : Promise.reject(new PteronError('ERR_INVALID_STATE', 'the replica is not open')),
      sender: services.duplication?.sender,
      metrics: this.duplicationMetrics,
    });
    this.scanners = new ScannerContexts(() => scanContextTimeoutMs.value, () => scanContextsMax.value);
  }

  get state(): ReplicaState {
    return this.lifecycle.state;
  }

  private get parts(): OpenParts | undefined {
    return this.lifecycle.state === 'opening' ? undefined : this.lifecycle.parts;
  }

  private get serving(): Serving | undefined {
    return this.lifecycle.state === 'serving' ? this.lifecycle : undefined;
  }

  /** The store, once opened (still there after a failure or close, for what it reports). */
  get store(): ReplicaStore | undefined {
    return this.parts?.store;
  }

  /**
   * Updates the store's gauges (table files, their size in whole MB, records), as Pegasus does
   * every `update_rdb_stat_interval`. Records are counted by a key scan, so only when the
   * store applied something since the last count.
   */
  async refreshStorageStats(): Promise<void> {
    const store = this.store;
    if (!store || this.state === 'error') return;
    const files = await store.tableFiles();
    this.metrics.sstFiles.set(files.count);
    this.metrics.sstSizeMb.set(Math.floor(files.bytes / (1 << 20)));
    const decree = store.lastAppliedDecree;
    if (decree === this.keysCountedAtDecree) return;
    this.metrics.estimatedKeys.set(await store.countKeys());
    this.keysCountedAtDecree = decree;
  }

  /** The membership the state machine holds, once opened. */
  get membership(): Membership | undefined {
    return this.parts?.core.membership;
  }

  get ballot(): number {
    return Math.max(this.config?.ballot ?? this.savedBallotOnDisk, this.parts?.core.ballot ?? 0);
  }

  /**
   * The ballot this replica's data belongs to: the last one under which it was a member (0 when
   * it holds no member's data). The config sync reports it, so the meta never ranks a replica by
   * a ballot it merely heard of when it picks a primary for a partition whose members all died.
   */
  get dataBallot(): number {
    return this.parts?.core.dataBallot ?? this.savedBallotOnDisk;
  }

  get role(): ReplicaRole {
    return this.parts?.core.role ?? 'inactive';
  }

  /** This node's role in the partition. */
  get status(): PartitionStatus {
    if (this.state === 'error') return PartitionStatus.PS_ERROR;
    return STATUS_OF_ROLE[this.role];
  }

  /** Open primary, caught up with what it inherited, within the meta's lease: may answer clients. */
  get servingPrimary(): ServingPrimary | undefined {
    const serving = this.serving;
    if (serving?.path === undefined) return undefined;
    const { core, store } = serving.parts;
    // Reads go to the store: a new primary serves them once the tail it inherited is not only
    // committed but applied, or a read could miss a write the previous primary acknowledged.
    if (!core.canServeReads || store.lastAppliedDecree < core.readBarrier || !this.services.leaseValid()) return undefined;
    return { store, path: serving.path };
  }

  /** The count requests' partition hashes are judged by; undefined for a split parent that does not know yet (./split/split-state.ts). */
  get servingPartitionCount(): number | undefined {
    return this.split.servingCount(this.gpid.partitionIndex, this.info);
  }

  /** The count by which this replica's keys are its own: what compaction, scans and learning keep. */
  get keyPartitionCount(): number {
    return this.split.keyCount(this.gpid.partitionIndex, this.info);
  }

  /**
   * For a split: once the writes admitted so far are committed and applied (the caller holds new
   * ones back), the store, the configuration and the decree it is at; undefined when this
   * replica stopped being primary meanwhile.
   */
  async quiesceWrites(): Promise<{ store: ReplicaStore; config: PartitionConfiguration; decree: number } | undefined> {
    const serving = this.serving;
    const writePath = serving?.path;
    if (!serving || !writePath || !this.config) return undefined;
    await writePath.drain();
    await serving.parts.applier.settled();
    const { store, core } = serving.parts;
    if (this.serving?.path !== writePath || store.lastAppliedDecree < core.lastCommitted) return undefined;
    return { store, config: this.config, decree: store.lastAppliedDecree };
  }

  /** The checkpoint this primary offers `learner` while that node learns from it. */
  checkpointForLearner(learner: string): LearnerCheckpoint | undefined {
    const parts = this.parts;
    if (parts?.core.role !== 'primary') return undefined;
    const learning = parts.core.learners.get(learner);
    return learning && { store: parts.store, signature: learning.signature };
  }

  get lastCommittedDecree(): number {
    return this.parts?.core.lastCommitted ?? 0;
  }

  /** This cluster's id (`[duplication-group]`), which the timetags of the writes applied here carry; 0 without one. */
  get clusterId(): number {
    return this.services.duplication?.clusterId ?? 0;
  }

  /** The write buffer the store opens with, from the table's envs (./usage-scenario.ts). */
  private writeBufferBytesOnOpen(): number {
    return writeBufferBytesFor(this.envs.usageScenario, this.envs.writeBufferBytes);
  }

  /** Whether this open fills the store from a backup: the first primary of a restored table, its store still empty. */
  private restoresOnOpen(store: ReplicaStore): boolean {
    return this.services.restore !== undefined && this.config?.primary === this.self && store.lastAppliedDecree === 0 &&
      restoreSourceOf(this.info.envs) !== undefined;
  }

  /** Opens the store, replays the mutation log and starts the state machine. A failure leaves the replica in the error state. */
  open(engineFactory: EngineFactory = classicLevelEngine()): Promise<void> {
    this.opened = (async () => {
      try {
        const writeBufferBytes = this.writeBufferBytesOnOpen();
        const store = await ReplicaStore.open({ replicaDir: this.dir, engineFactory: (location) => engineFactory(location, { writeBufferBytes }) });
        if (this.restoresOnOpen(store)) {
          await this.services.restore!(this, store).catch(async (error: unknown) => {
            await store.close();
            throw error;
          });
        }
        const sharedLog = this.services.sharedLog;
        const opened = await MutationLog.open({
          dir: mutationLogDirOf(this.dir), fsync: plogForceFlush.value, ...(sharedLog && { shared: { log: sharedLog, gpid: this.gpid } }),
        }).catch(async (error: unknown) => {
          await store.close();
          throw error;
        });
        if (opened.tornBytes > 0) {
          log.warn({ gpid: gpidText(this.gpid), file: opened.tornFile, bytes: opened.tornBytes }, 'mutation log had a torn tail; it was cut at the last whole record');
        }
        if (this.state !== 'opening') {
          await opened.log.close();
          await store.close();
          return;
        }
        const serving: Serving = {
          state: 'serving',
          parts: {
            store,
            mutationLog: opened.log,
            applier: new StoreApplier(
              store,
              () => ({ defaultTtlSeconds: this.envs.defaultTtlSeconds, clusterId: this.clusterId }),
              (request, decree) => this.services.ingestBulkLoad
                ? this.services.ingestBulkLoad(this, store, request, decree)
                : Promise.reject(new PteronError('ERR_INVALID_STATE', 'this server does not ingest bulk loads')),
            ),
            core: new ReplicaCore(coreOptionsFromFlags(this.self), {
              lastApplied: store.lastAppliedDecree,
              ballot: this.savedBallotOnDisk,
              records: opened.records,
            }),
          },
          path: undefined,
        };
        this.lifecycle = serving;
        this.scenarioRecorder.record(store, this.envs.usageScenario);
        if (this.config) this.feedConfig(serving, this.config);
        await this.persistInfo();
        await this.compaction.open(store);
      } catch (error) {
        log.error({ gpid: gpidText(this.gpid), err: (error as Error).message }, 'replica failed to open');
        this.stopWritePath(new PteronError('ERR_INVALID_STATE', 'the replica failed'));
        if (this.state !== 'closing') this.lifecycle = { state: 'error', parts: this.parts };
      }
    })();
    return this.opened;
  }

  // -------------------------------------------------------------------------------------------
  // events into the state machine

  /** Takes a newer (or equal) configuration from the meta; returns false when it was older. */
  applyConfig(info: AppInfo, config: PartitionConfiguration): boolean {
    if (this.config !== undefined && config.ballot < this.config.ballot) return false;
    this.info = info;
    this.envs = envsOf(info);
    this.throttling.updateEnvs(info.envs, info.partitionCount);
    this.config = config;
    this.compaction.onEnvs();
    const serving = this.serving;
    if (serving) {
      this.scenarioRecorder.record(serving.parts.store, this.envs.usageScenario);
      this.feedConfig(serving, config);
      void this.persistInfo();
    }
    return true;
  }

  private feedConfig(serving: Serving, config: PartitionConfiguration): void {
    serving.parts.core.onConfig(membershipOf(config), Date.now());
    this.run(serving);
  }

  onPeerMessage(from: string, message: PeerMessage): void {
    const serving = this.serving;
    if (!serving) return;
    serving.parts.core.onMessage(from, message, Date.now());
    this.run(serving);
  }

  /** The meta asked this primary to add `node`: it learns first. One learner at a time. */
  addLearner(node: string): void {
    const serving = this.serving;
    if (!serving) return;
    const { core } = serving.parts;
    if (core.learners.size > 0 && !core.learners.has(node)) return;
    core.addLearner(node, Date.now());
    this.run(serving);
  }

  /** A primary tells its secondaries how far it committed now (after a bulk-load ingestion). */
  announceCommit(): void {
    const serving = this.serving;
    if (!serving) return;
    serving.parts.core.groupCheckAtNextTick();
    serving.parts.core.tick(Date.now());
    this.run(serving);
  }

  tick(nowMs: number): void {
    const serving = this.serving;
    if (!serving) return;
    serving.parts.core.tick(nowMs);
    this.run(serving);
    this.compaction.tick(nowMs);
    if (nowMs - this.lastDurableMs >= durableIntervalMs.value) {
      this.lastDurableMs = nowMs;
      void this.syncAndCollectLog(serving.parts);
    }
  }

  /** Makes the applied state durable, then drops the log up to it, but never what a duplication has yet to ship. */
  private async syncAndCollectLog({ store, mutationLog }: OpenParts): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const durable = await store.syncApplied();
      await mutationLog.gc(Math.min(durable, this.duplication.logCollectableUpTo));
    } catch (error) {
      log.warn({ gpid: gpidText(this.gpid), err: (error as Error).message }, 'could not sync the store or collect the mutation log');
    } finally {
      this.syncing = false;
    }
  }

  /** MutationCommitter: the write path hands each new mutation to the state machine. */
  commit(mutation: Mutation): Promise<WriteOutcome[]> {
    const serving = this.serving;
    const core = serving?.parts.core;
    if (!serving || !core || core.role !== 'primary' || mutation.ballot !== core.ballot || mutation.decree !== core.lastPrepared + 1) {
      return Promise.reject(new NotPrimaryError('the replica is no longer primary'));
    }
    return new Promise<WriteOutcome[]>((resolve, reject) => {
      this.waiters.set(mutation.decree, { resolve, reject });
      core.propose(mutation, Date.now());
      this.run(serving);
    });
  }

  // -------------------------------------------------------------------------------------------
  // actions out of the state machine

  private run(serving: Serving): void {
    const { core } = serving.parts;
    for (;;) {
      const actions = core.takeActions();
      if (actions.length === 0) break;
      for (const action of actions) this.execute(serving, action);
    }
    // The ballot of a membership is saved before anything else happens under it: restarted, the
    // replica must know every ballot it may have proposed under (RestoredState.ballot), and that
    // its data is a member's. A replica that is not a member (yet) saves nothing.
    if ((core.role === 'primary' || core.role === 'secondary') && core.ballot > this.savedBallotOnDisk) this.saveBallotNow(core.ballot);
    if (serving.path && serving.path.ballot < core.ballot) serving.path.ballot = core.ballot;
  }

  private execute(serving: Serving, action: CoreAction): void {
    const { core, mutationLog, applier } = serving.parts;
    switch (action.kind) {
      case 'append': {
        const { mutation } = action;
        mutationLog.append({ mutation, lastCommittedDecree: action.lastCommitted }).then(() => {
          if (this.lifecycle !== serving) return;
          core.logged(mutation.decree, mutation.ballot, Date.now());
          this.run(serving);
        }, (error: unknown) => this.fail(error, 'mutation log append failed'));
        return;
      }
      case 'apply': {
        const waiter = this.waiters.get(action.mutation.decree);
        this.waiters.delete(action.mutation.decree);
        if (core.role === 'secondary') {
          this.deferApply(action.mutation);
          return;
        }
        this.flushDeferredApplies();
        this.applyNow(applier, action.mutation, waiter);
        return;
      }
      case 'send':
        this.services.sendPeer(action.to, this, action.message);
        return;
      case 'change':
        this.services.requestChange(this, action.type, action.node);
        return;
      case 'fetch_checkpoint':
        void this.learnCheckpoint(serving, action.from, action.signature);
        return;
      case 'role':
        this.onRoleChange(serving, action.role, action.previous);
        return;
    }
  }

  private applyNow(applier: StoreApplier, mutation: Mutation, waiter: CommitWaiter | undefined): void {
    applier.apply(mutation).then(
      (outcomes) => waiter?.resolve(outcomes),
      (error: unknown) => {
        waiter?.reject(error);
        this.fail(error, 'applying a committed mutation failed');
      },
    );
  }

  /**
   * A secondary serves no reads, so its committed mutations reach the store in bunches: one
   * LevelDB batch for many of them instead of one per prepare. They are in its log already, and
   * a secondary that becomes primary hands them over first and serves reads only once they are
   * applied (servingPrimary).
   */
  private deferApply(mutation: Mutation): void {
    const { deferredAppliesMax, deferredApplyMs } = SCENARIO_SETTINGS[this.envs.usageScenario];
    this.deferredApplies.push(mutation);
    if (this.deferredApplies.length >= deferredAppliesMax) this.flushDeferredApplies();
    else this.deferredFlush ??= setTimeout(() => this.flushDeferredApplies(), deferredApplyMs);
  }

  private flushDeferredApplies(): void {
    // Called before every apply of a primary: nothing to do there, so nothing is allocated.
    if (this.deferredApplies.length === 0) return;
    clearTimeout(this.deferredFlush);
    this.deferredFlush = undefined;
    const mutations = this.deferredApplies;
    this.deferredApplies = [];
    // Only a serving secondary defers, so the parts are there.
    const parts = this.parts;
    assert(parts !== undefined, 'deferred applies belong to an opened replica');
    for (const mutation of mutations) this.applyNow(parts.applier, mutation, undefined);
  }

  private async learnCheckpoint(serving: Serving, from: string, signature: number): Promise<void> {
    const { core, store, mutationLog } = serving.parts;
    try {
      const decree = await this.services.fetchCheckpoint(this, store, from, signature);
      await mutationLog.reset();
      if (this.lifecycle !== serving) return;
      log.info({ gpid: gpidText(this.gpid), from, decree }, 'learned a checkpoint');
      core.checkpointInstalled(signature, decree, Date.now());
    } catch (error) {
      log.warn({ gpid: gpidText(this.gpid), from, err: (error as Error).message }, 'copying a checkpoint failed; asking again');
      if (this.lifecycle !== serving) return;
      core.checkpointFailed(signature, Date.now());
    }
    this.run(serving);
  }

  private onRoleChange(serving: Serving, role: ReplicaRole, previous: ReplicaRole): void {
    const { core } = serving.parts;
    this.flushDeferredApplies();
    log.info({ gpid: gpidText(this.gpid), from: previous, to: role, ballot: core.ballot }, 'replica role changed');
    if (previous === 'primary') {
      this.stopWritePath(new NotPrimaryError('the replica is no longer primary'));
      this.duplication.removeAll();
    }
    if (role === 'primary') {
      const writePath = new MutationPath({
        committer: this,
        lastDecree: core.lastPrepared,
        ballot: core.ballot,
        maxInFlight: stalenessForCommit.value,
        maxQueuedWrites: writeQueueMax.value,
        onCommitFailure: (error) => {
          if (serving.path === writePath && !(error instanceof NotPrimaryError)) this.fail(error, 'the write path failed');
        },
        idempotence: { enabled: () => this.info.atomicIdempotent, convert: (write, timestampUs) => serving.parts.applier.makeIdempotent(write, timestampUs) },
      });
      serving.path = writePath;
    }
  }

  /** Refuses the writes waiting for a slot or for their commit; readers re-query the meta. */
  private stopWritePath(error: Error): void {
    const serving = this.serving;
    const writePath = serving?.path;
    if (serving) serving.path = undefined;
    writePath?.failWaiting(error);
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
    void this.scanners.clear();
  }

  /** The log or the store failed: stop serving; the meta moves the partition elsewhere. */
  private fail(error: unknown, what: string): void {
    const serving = this.serving;
    if (!serving) return;
    log.error({ gpid: gpidText(this.gpid), err: (error as Error).message }, `${what}; the replica stops`);
    this.stopWritePath(new PteronError('ERR_INVALID_STATE', 'the replica failed'));
    this.lifecycle = { state: 'error', parts: serving.parts };
    serving.parts.core.fail();
    serving.parts.core.takeActions();
  }

  /** How the config sync reports this replica. */
  replicaInfo(): ReplicaInfo {
    const lastCommitted = BigInt(this.lastCommittedDecree);
    return {
      pid: { ...this.gpid },
      ballot: BigInt(this.dataBallot),
      status: this.status,
      lastCommittedDecree: lastCommitted,
      lastPreparedDecree: BigInt(this.parts?.core.lastPrepared ?? this.lastCommittedDecree),
      lastDurableDecree: BigInt(this.parts?.store.lastAppliedDecree ?? 0),
      appType: this.info.appType,
      diskTag: 'default',
      manualCompactStatus: MANUAL_COMPACT_STATUS_VALUES[this.compaction.status()],
    };
  }

  /** Writes `.init-info` (the ballot) synchronously, a few bytes; a failure stops the replica. */
  private saveBallotNow(ballot: number): void {
    const file = path.join(this.dir, INIT_INFO_FILE);
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify({ init_ballot: ballot }));
      renameSync(`${file}.tmp`, file);
      this.savedBallotOnDisk = ballot;
    } catch (error) {
      this.fail(error, 'could not save the ballot');
    }
  }

  /**
   * Keeps `.app-info` current, so a restarted server can report the replica's table. Writes run
   * one at a time and always write the latest state; a failed write is only logged (the file is
   * a convenience for reporting, the store holds the data). `.init-info` is saveBallotNow's.
   */
  private persistInfo(): Promise<void> {
    this.persisting = this.persisting.then(async () => {
      const appInfo = appInfoToJson(this.info);
      if (appInfo === this.writtenInfo) return;
      await writeAtomically(path.join(this.dir, APP_INFO_FILE), appInfo);
      this.writtenInfo = appInfo;
    }).catch((error: unknown) => {
      log.warn({ gpid: gpidText(this.gpid), err: (error as Error).message }, 'could not save the replica info file');
    });
    return this.persisting;
  }

  /** Stops serving, lets committing writes finish, closes the log and the store. */
  async close(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    const wasOpening = this.state === 'opening';
    const writePath = this.serving?.path;
    this.stopWritePath(new PteronError('ERR_INVALID_STATE', 'the replica is closing'));
    this.duplication.removeAll();
    // An open still under way sees the closing state and closes what it opened itself.
    this.lifecycle = { state: 'closing', parts: this.parts };
    if (wasOpening) await this.opened;
    const parts = this.parts;
    this.flushDeferredApplies();
    await parts?.applier.settled();
    await this.persisting;
    await this.scenarioRecorder.settled();
    await this.scanners.close();
    await writePath?.drain();
    // A compaction still running ends when the store closes under it.
    const compactionStopped = this.compaction.close();
    await parts?.mutationLog.close().catch(() => undefined);
    await parts?.store.close().catch(() => undefined);
    await compactionStopped;
    this.metrics.retire();
    this.lifecycle = { state: 'closed', parts };
  }
}

async function writeAtomically(file: string, content: string): Promise<void> {
  const temporary = `${file}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, file);
}

