// One hosted replica: its store, its configuration as the meta last told it, its write path and
// scanner contexts, and its metrics. The stub opens and closes it; the data plane asks it whether
// it may serve (only an open PRIMARY serves, in this primary-only stage).
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PteronError, log, type Gpid } from '../base/index.ts';
import { parseCInteger } from '../config/index.ts';
import { appInfoToJson, type AppInfo, type PartitionConfiguration } from '../meta/index.ts';
import { ReplicaStore, type EngineFactory } from '../storage/index.ts';
import { PartitionStatus, type ReplicaInfo } from '../wire/index.ts';
import { iterationThresholdTimeMs, scanContextsMax, scanContextTimeoutMs, stalenessForCommit, writeQueueMax } from './flags.ts';
import { ReplicaMetrics } from './metrics.ts';
import { LocalCommitter, MutationPath } from './mutation-path.ts';
import { ScannerContexts } from './scanner.ts';

export type ReplicaState = 'opening' | 'serving' | 'closing' | 'closed' | 'error';

/** The table envs the data plane reads (spec pegasus-http §5.14). */
export interface ReplicaEnvs {
  defaultTtlSeconds: number;
  splitValidatePartitionHash: boolean;
  iterationThresholdMs: number;
  /** `replica.deny_client_request`: which requests are refused, and how. */
  denyClient: { reads: boolean; writes: boolean; reconfig: boolean };
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
  return {
    defaultTtlSeconds: envInteger(envs, 'default_ttl', 0, 0x7fffffff) ?? 0,
    splitValidatePartitionHash: (envs['replica.split.validate_partition_hash'] ?? '').toLowerCase() === 'true',
    iterationThresholdMs: envInteger(envs, 'replica.rocksdb_iteration_threshold_time_ms', 0, Number.MAX_SAFE_INTEGER) ?? iterationThresholdTimeMs.value,
    denyClient: {
      reads: denying && (scope === 'all' || scope === 'read'),
      writes: denying && (scope === 'all' || scope === 'write'),
      reconfig: mode === 'reconfig',
    },
  };
}

export class Replica {
  readonly gpid: Gpid;
  readonly dir: string;
  readonly scanners: ScannerContexts;
  readonly metrics: ReplicaMetrics;
  info: AppInfo;
  config: PartitionConfiguration | undefined;
  envs: ReplicaEnvs;
  state: ReplicaState = 'opening';
  store: ReplicaStore | undefined;
  path: MutationPath | undefined;
  /** Settles when open() finished (either way). */
  opened: Promise<void> = Promise.resolve();
  /** The stub's update counter when the meta last told this replica something. */
  updateSeq = 0;
  private writtenInfo = '';
  private persisting: Promise<void> = Promise.resolve();

  constructor(
    readonly self: string,
    gpid: Gpid,
    dir: string,
    info: AppInfo,
    config: PartitionConfiguration | undefined,
    /** The ballot found on disk, reported until the meta sends a configuration. */
    private readonly savedBallot = 0,
  ) {
    this.gpid = gpid;
    this.dir = dir;
    this.info = info;
    this.config = config;
    this.envs = envsOf(info);
    this.metrics = new ReplicaMetrics(gpid.appId, gpid.partitionIndex);
    this.scanners = new ScannerContexts(() => scanContextTimeoutMs.value, () => scanContextsMax.value);
  }

  get ballot(): number {
    return this.config?.ballot ?? this.savedBallot;
  }

  /** This node's role in the partition, as the last configuration says. */
  get status(): PartitionStatus {
    if (this.state === 'error') return PartitionStatus.PS_ERROR;
    const config = this.config;
    if (config === undefined) return PartitionStatus.PS_INACTIVE;
    if (config.primary === this.self) return PartitionStatus.PS_PRIMARY;
    if (config.secondaries.includes(this.self)) return PartitionStatus.PS_SECONDARY;
    return PartitionStatus.PS_INACTIVE;
  }

  /** Open and primary: may answer client reads and writes. */
  get servingPrimary(): boolean {
    return this.state === 'serving' && this.status === PartitionStatus.PS_PRIMARY;
  }

  get lastCommittedDecree(): number {
    return this.path?.lastCommittedDecree ?? this.store?.lastAppliedDecree ?? 0;
  }

  /** Opens the store and the write path. A failure leaves the replica in the error state. */
  open(engineFactory?: EngineFactory): Promise<void> {
    this.opened = (async () => {
      try {
        const store = await ReplicaStore.open({ replicaDir: this.dir, ...(engineFactory && { engineFactory }) });
        if (this.state !== 'opening') {
          await store.close();
          return;
        }
        this.store = store;
        this.path = new MutationPath({
          committer: new LocalCommitter(store, () => ({ defaultTtlSeconds: this.envs.defaultTtlSeconds })),
          lastDecree: store.lastAppliedDecree,
          ballot: this.ballot,
          maxInFlight: stalenessForCommit.value,
          maxQueuedWrites: writeQueueMax.value,
          onCommitFailure: () => this.fail(),
        });
        this.state = 'serving';
        await this.persistInfo();
      } catch (error) {
        log.error({ gpid: `${this.gpid.appId}.${this.gpid.partitionIndex}`, err: (error as Error).message }, 'replica failed to open');
        this.state = 'error';
      }
    })();
    return this.opened;
  }

  /** The storage failed under a write: stop serving; the meta moves the partition elsewhere. */
  private fail(): void {
    if (this.state === 'serving') this.state = 'error';
    void this.scanners.clear();
  }

  /** Takes a newer (or equal) configuration from the meta; returns false when it was older. */
  applyConfig(info: AppInfo, config: PartitionConfiguration): boolean {
    if (this.config !== undefined && config.ballot < this.config.ballot) return false;
    const wasPrimary = this.status === PartitionStatus.PS_PRIMARY;
    this.info = info;
    this.envs = envsOf(info);
    this.config = config;
    if (this.path && config.ballot > this.path.ballot) this.path.ballot = config.ballot;
    if (wasPrimary && this.status !== PartitionStatus.PS_PRIMARY) {
      // Writes not yet handed to the commit path are refused; readers re-query the meta.
      this.path?.failWaiting(new PteronError('ERR_INVALID_STATE', 'the replica is no longer primary'));
      void this.scanners.clear();
    }
    if (this.state === 'serving') void this.persistInfo();
    return true;
  }

  /** How the config sync reports this replica. */
  replicaInfo(): ReplicaInfo {
    const lastCommitted = BigInt(this.lastCommittedDecree);
    return {
      pid: { ...this.gpid },
      ballot: BigInt(this.ballot),
      status: this.status,
      lastCommittedDecree: lastCommitted,
      lastPreparedDecree: BigInt(this.path?.lastPreparedDecree ?? this.lastCommittedDecree),
      lastDurableDecree: BigInt(this.store?.lastAppliedDecree ?? 0),
      appType: this.info.appType,
      diskTag: 'default',
    };
  }

  /**
   * Keeps `.app-info` and `.init-info` current, so a restarted server can report the replica.
   * Writes run one at a time and always write the latest state; a failed write is only logged
   * (the files are a convenience for reporting, the store holds the data).
   */
  private persistInfo(): Promise<void> {
    this.persisting = this.persisting.then(async () => {
      const appInfo = appInfoToJson(this.info);
      const initInfo = JSON.stringify({ init_ballot: this.ballot });
      const content = `${appInfo}\n${initInfo}`;
      if (content === this.writtenInfo) return;
      await writeAtomically(path.join(this.dir, APP_INFO_FILE), appInfo);
      await writeAtomically(path.join(this.dir, INIT_INFO_FILE), initInfo);
      this.writtenInfo = content;
    }).catch((error: unknown) => {
      log.warn({ gpid: `${this.gpid.appId}.${this.gpid.partitionIndex}`, err: (error as Error).message }, 'could not save the replica info files');
    });
    return this.persisting;
  }

  /** Stops serving, lets committing writes finish, closes the store. */
  async close(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    const wasOpening = this.state === 'opening';
    this.state = 'closing';
    if (wasOpening) await this.opened;
    this.path?.failWaiting(new PteronError('ERR_INVALID_STATE', 'the replica is closing'));
    await this.persisting;
    await this.scanners.close();
    await this.path?.drain();
    await this.store?.close().catch(() => undefined);
    this.metrics.retire();
    this.state = 'closed';
  }
}

async function writeAtomically(file: string, content: string): Promise<void> {
  const temporary = `${file}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, file);
}

