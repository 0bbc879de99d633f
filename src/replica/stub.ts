// The replica stub: every replica this server hosts, by gpid. It opens a replica when the meta
// makes this node a member of a partition, closes it when the node leaves (its data stays on disk
// and is still reported, so the meta can use it) — unless it is learning from the partition's
// primary, which the meta does not list yet; it opens a replica when a primary makes this node a
// learner, routes peer messages to replicas, ticks their state machines, finds the replicas left
// on disk at start-up, and moves the ones the meta calls garbage out of the way.
//
// Layout: `<data_dir>/replica/reps/<app_id>.<pidx>.pegasus/` holds `data/rdb` (the store),
// `plog/` (its mutation log) and `.app-info` / `.init-info` (the table and ballot last known, as
// JSON); `<data_dir>/replica/slog/` is the shared log of all of them (shared-log.ts).
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { log, type Gpid } from '../base/index.ts';
import { appInfoFromJson, gpidText, isMember, type AppInfo, type PartitionConfiguration } from '../cluster/index.ts';
import { replicaDirOf, type EngineFactory } from '../storage/index.ts';
import { PartitionStatus, type ReplicaInfo } from '../wire/index.ts';
import type { PeerMessage } from './pacifica/messages.ts';
import { logSharedEnabled, logSharedFileSizeMb, plogForceFlush } from './flags.ts';
import { APP_INFO_FILE, INIT_INFO_FILE, Replica, STANDALONE_SERVICES, mutationLogDirOf, type ReplicaServices } from './replica.ts';
import { CompactionSlots } from './compaction-service.ts';
import { SharedLog } from './log/shared-log.ts';

const REPLICA_DIR_PATTERN = /^(\d{1,10})\.(\d{1,10})\.pegasus$/;

export interface ReplicaStubOptions {
  /** This server as `host:port`, as the meta names it in configurations. */
  self: string;
  dataDir: string;
  engineFactory?: EngineFactory;
  /** The network and the meta, for replication; without them replicas are only stored. */
  services?: ReplicaServices;
  /** How often the replicas' state machines see the clock. */
  tickIntervalMs?: number;
}

/** A replica whose directory is on disk but which is not open. */
interface ClosedReplica {
  gpid: Gpid;
  ballot: number;
  lastCommittedDecree: number;
  /**
   * What its log holds beyond the committed decree. A replica that restarted knows only the
   * commits its log recorded, so the meta choosing a primary for a partition whose members all
   * died needs this to see that the replica still has what the partition committed.
   */
  lastPreparedDecree: number;
  lastDurableDecree: number;
  appType: string;
  /** Its table, for a meta that rebuilds its state from the replica servers (RPC_QUERY_APP_INFO). */
  info: AppInfo;
}

export class ReplicaStub {
  readonly self: string;
  private readonly dataDir: string;
  private readonly engineFactory: EngineFactory | undefined;
  private readonly open = new Map<string, Replica>();
  private readonly closed = new Map<string, ClosedReplica>();
  /** Per gpid text: split children made here and not opened yet, with the ballot of their data. */
  private readonly splitChildBallots = new Map<string, number>();
  /** Per gpid, the open/close work in progress: changes of one replica run one after another. */
  private readonly transitions = new Map<string, Promise<void>>();
  private stopped = false;
  private updates = 0;
  private services: ReplicaServices;
  private sharedLog: SharedLog | undefined;
  private readonly ticker: NodeJS.Timeout;

  constructor(options: ReplicaStubOptions) {
    this.self = options.self;
    this.dataDir = options.dataDir;
    this.engineFactory = options.engineFactory;
    // One set of compaction slots for every replica here: the limits count per server.
    this.services = { ...(options.services ?? STANDALONE_SERVICES), compactionSlots: new CompactionSlots() };
    this.ticker = setInterval(() => {
      const now = Date.now();
      for (const replica of this.open.values()) replica.tick(now);
    }, options.tickIntervalMs ?? 100);
    this.ticker.unref();
  }

  get repsDir(): string {
    return path.join(this.dataDir, 'replica', 'reps');
  }

  /** The replica serving `(appId, partitionIndex)` here, if any (open or not ready yet). */
  find(appId: number, partitionIndex: number): Replica | undefined {
    return this.open.get(`${appId}.${partitionIndex}`);
  }

  /** Where a replica of `gpid` lives (or would) on this node. */
  replicaDirOf(gpid: Gpid): string {
    return replicaDirOf(this.dataDir, gpid.appId, gpid.partitionIndex);
  }

  /** The engine replicas here open their stores with (undefined: LevelDB). */
  get storeEngineFactory(): EngineFactory | undefined {
    return this.engineFactory;
  }

  replicas(): Replica[] {
    return [...this.open.values()];
  }

  /** The replicas of one table open on this node (any role), with their value schema version once open. */
  partitionsOfApp(appId: number): Array<{ partitionIndex: number; dataVersion: number | undefined }> {
    const found: Array<{ partitionIndex: number; dataVersion: number | undefined }> = [];
    for (const replica of this.open.values()) {
      if (replica.gpid.appId === appId) found.push({ partitionIndex: replica.gpid.partitionIndex, dataVersion: replica.store?.dataVersion });
    }
    return found;
  }

  /** Every replica on this node for the config sync: open ones with their role, closed ones as inactive. */
  storedReplicas(): ReplicaInfo[] {
    const infos: ReplicaInfo[] = [];
    for (const replica of this.open.values()) if (replica.state !== 'opening' && replica.state !== 'closed') infos.push(replica.replicaInfo());
    for (const [key, closed] of this.closed) {
      if (this.open.has(key)) continue;
      infos.push({
        pid: { ...closed.gpid }, ballot: BigInt(closed.ballot), status: PartitionStatus.PS_INACTIVE,
        lastCommittedDecree: BigInt(closed.lastCommittedDecree), lastPreparedDecree: BigInt(closed.lastPreparedDecree),
        lastDurableDecree: BigInt(closed.lastDurableDecree), appType: closed.appType, diskTag: 'default',
      });
    }
    return infos;
  }

  /** The tables of every replica on this node, one entry per table (the newest info seen first wins). */
  storedApps(): AppInfo[] {
    const byId = new Map<number, AppInfo>();
    for (const replica of this.open.values()) if (!byId.has(replica.info.appId)) byId.set(replica.info.appId, replica.info);
    for (const closed of this.closed.values()) if (!byId.has(closed.info.appId)) byId.set(closed.info.appId, closed.info);
    return [...byId.values()].sort((a, b) => a.appId - b.appId);
  }

  /** Resolves once every open/close started so far has finished. */
  async settle(): Promise<void> {
    while (this.transitions.size > 0) await Promise.all([...this.transitions.values()]);
  }

  /** Runs `work` after the earlier transitions of the same replica. */
  private transition(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.afterTransitions(key);
    const next = previous.then(work, work).catch((error: unknown) => {
      log.error({ gpid: key, err: (error as Error).message }, 'replica transition failed');
    });
    this.transitions.set(key, next);
    void next.finally(() => {
      if (this.transitions.get(key) === next) this.transitions.delete(key);
    });
    return next;
  }

  /**
   * Writes what the shared log holds back into the replicas' own logs (and from then on makes
   * their logs durable through it, unless that is switched off), then finds the replicas a
   * previous run left on disk and opens them as inactive: they report their decrees in the first
   * config sync and serve again if the meta still lists this node.
   */
  async loadFromDisk(): Promise<number> {
    await this.openSharedLog();
    let names: string[];
    try {
      names = await readdir(this.repsDir);
    } catch {
      return 0;
    }
    let loaded = 0;
    for (const name of names.sort()) {
      const match = REPLICA_DIR_PATTERN.exec(name);
      if (!match) continue;
      const gpid = { appId: Number(match[1]), partitionIndex: Number(match[2]) };
      if (gpid.appId <= 0 || gpid.appId > 0x7fffffff || gpid.partitionIndex > 0x7fffffff) continue;
      const key = gpidText(gpid);
      if (this.open.has(key)) continue;
      const dir = path.join(this.repsDir, name);
      const saved = await readSavedInfo(dir, gpid);
      const replica = new Replica(this.self, gpid, dir, saved.info, undefined, saved.ballot, this.services);
      this.open.set(key, replica);
      await this.transition(key, () => replica.open(this.engineFactory));
      loaded += 1;
    }
    return loaded;
  }

  private async openSharedLog(): Promise<void> {
    if (this.sharedLog !== undefined) return;
    const dir = path.join(this.dataDir, 'replica', 'slog');
    // Switched off, a shared log a previous run left is still written back (and emptied).
    const recovered = await SharedLog.open({
      dir,
      privateLogDirOf: (gpid) => mutationLogDirOf(replicaDirOf(this.dataDir, gpid.appId, gpid.partitionIndex)),
      fileBytesMax: logSharedFileSizeMb.value * 1024 * 1024,
    });
    if (recovered.groupsRedone > 0 || recovered.tornBytes > 0) {
      log.info({ dir, groupsRedone: recovered.groupsRedone, groupsSkipped: recovered.groupsSkipped, tornBytes: recovered.tornBytes }, 'shared log written back into the replicas\' logs');
    }
    if (plogForceFlush.value && logSharedEnabled.value) {
      this.sharedLog = recovered.log;
      this.services = { ...this.services, sharedLog: recovered.log };
    } else {
      await recovered.log.close();
    }
  }

  /** A counter of configuration updates, to tell them apart from a config sync in flight. */
  get updateSeq(): number {
    return this.updates;
  }

  /**
   * A configuration from the meta (config sync or an accepted proposal). This node being a
   * member opens the replica if needed; not being one closes it.
   */
  update(info: AppInfo, config: PartitionConfiguration): void {
    if (this.stopped) return;
    const key = gpidText(config.gpid);
    const existing = this.open.get(key);
    if (existing?.config && existing.config.ballot > config.ballot) return;
    this.updates += 1;
    if (existing) existing.updateSeq = this.updates;
    if (!isMember(config, this.self)) {
      if (existing && isLearningFrom(existing, config.primary)) existing.applyConfig(info, config);
      else if (existing) this.closeReplica(key, existing);
      return;
    }
    if (existing?.state === 'error') {
      // A replica that failed (to open, or under a write) is closed and opened afresh: each
      // configuration the meta sends is another try.
      this.closeReplica(key, existing);
    } else if (existing && existing.state !== 'closing' && existing.state !== 'closed') {
      existing.applyConfig(info, config);
      return;
    }
    this.openReplica(key, info, config).updateSeq = this.updates;
  }

  /**
   * A split child whose data its parent just made here, a member's of `dataBallot`: however its
   * registration reaches this node (the parent's answer or a config sync), it opens with that
   * ballot. `undefined` forgets it (the registration failed).
   */
  expectSplitChild(gpid: Gpid, dataBallot: number | undefined): void {
    if (dataBallot === undefined) this.splitChildBallots.delete(gpidText(gpid));
    else this.splitChildBallots.set(gpidText(gpid), dataBallot);
  }

  private openReplica(
    key: string, info: AppInfo, config: PartitionConfiguration | undefined, gpid: Gpid = config!.gpid,
    // A closed replica's data ballot (never one it only heard of while inactive): only that says its data is a member's.
    dataBallot = this.splitChildBallots.get(key) ?? this.closed.get(key)?.ballot ?? 0,
  ): Replica {
    this.splitChildBallots.delete(key);
    const dir = replicaDirOf(this.dataDir, gpid.appId, gpid.partitionIndex);
    const replica = new Replica(this.self, { ...gpid }, dir, info, config, dataBallot, this.services);
    this.open.set(key, replica);
    void this.transition(key, async () => {
      await mkdir(dir, { recursive: true });
      await replica.open(this.engineFactory);
    });
    return replica;
  }

  /**
   * A message from a peer replica server. A primary's `add_learner` for a replica this node does
   * not serve opens it (with the table the primary sent), so it can learn.
   */
  onPeerMessage(gpid: Gpid, from: string, message: PeerMessage, appInfo: AppInfo | undefined): void {
    if (this.stopped) return;
    const key = gpidText(gpid);
    let replica = this.open.get(key);
    if (message.type === 'add_learner' && appInfo !== undefined && (replica === undefined || replica.state === 'error')) {
      if (replica) this.closeReplica(key, replica);
      replica = this.openReplica(key, appInfo, undefined, gpid);
      replica.openedToLearn = true;
    }
    if (!replica) return;
    const target = replica;
    // Delivered once the replica's open (queued behind earlier transitions) has finished.
    if (target.state === 'opening') void this.afterTransitions(key).then(() => target.onPeerMessage(from, message));
    else target.onPeerMessage(from, message);
  }

  /**
   * The meta's proposal to add `learner` to a partition this node is primary of under `ballot`,
   * carried out once the replica's open (queued behind earlier transitions) has finished.
   */
  async addLearner(gpid: Gpid, ballot: number, learner: string): Promise<void> {
    const key = gpidText(gpid);
    await this.afterTransitions(key);
    const replica = this.open.get(key);
    if (replica?.role === 'primary' && replica.ballot === ballot) replica.addLearner(learner);
  }

  private afterTransitions(key: string): Promise<void> {
    return this.transitions.get(key) ?? Promise.resolve();
  }

  /**
   * After a successful config sync: replicas the meta did not list are not served here any more,
   * except those it told us about after the sync was sent (`sentAtSeq`), whose news is newer.
   */
  retainOnly(listed: ReadonlySet<string>, sentAtSeq: number): void {
    for (const [key, replica] of this.open) {
      if (listed.has(key) || replica.updateSeq > sentAtSeq || isLearning(replica)) continue;
      this.closeReplica(key, replica);
    }
  }

  private closeReplica(key: string, replica: Replica): void {
    if (this.open.get(key) !== replica) return;
    this.open.delete(key);
    void this.transition(key, async () => {
      await replica.close();
      const info = replica.replicaInfo();
      this.closed.set(key, {
        gpid: { ...replica.gpid }, ballot: replica.dataBallot, lastCommittedDecree: replica.lastCommittedDecree,
        lastPreparedDecree: Number(info.lastPreparedDecree), lastDurableDecree: Number(info.lastDurableDecree), appType: replica.info.appType,
        info: replica.info,
      });
      log.info({ gpid: key }, 'replica closed; this node no longer serves it');
    });
  }

  /** The meta says these replicas are garbage (their table is gone): move closed ones aside. */
  async collectGarbage(replicas: readonly ReplicaInfo[]): Promise<void> {
    for (const info of replicas) {
      const key = gpidText(info.pid);
      if (this.open.has(key) || !this.closed.has(key)) continue;
      await this.transition(key, async () => {
        if (this.open.has(key)) return;
        const dir = replicaDirOf(this.dataDir, info.pid.appId, info.pid.partitionIndex);
        await rename(dir, `${dir}.${Date.now() * 1000}.gar`).catch((error: unknown) => {
          log.warn({ gpid: key, err: (error as Error).message }, 'could not move a garbage replica aside');
        });
        this.closed.delete(key);
        log.info({ gpid: key }, 'garbage replica moved aside');
      });
    }
  }

  /** Closes every replica. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    const replicas = [...this.open.entries()];
    this.open.clear();
    await Promise.all(replicas.map(([key, replica]) => this.transition(key, () => replica.close())));
    await this.sharedLog?.close();
  }
}

/** A replica learning (or opening to learn) stays open although the meta does not list this node yet. */
function isLearning(replica: Replica): boolean {
  return replica.role === 'learner' || (replica.openedToLearn && replica.state === 'opening');
}

function isLearningFrom(replica: Replica, primary: string): boolean {
  const membership = replica.membership;
  return isLearning(replica) && (membership === undefined || membership.primary === primary);
}

interface SavedInfo {
  info: AppInfo;
  ballot: number | undefined;
}

/** Reads `.app-info` / `.init-info`; a replica without them still loads, with placeholders. */
async function readSavedInfo(dir: string, gpid: Gpid): Promise<SavedInfo> {
  let info: AppInfo = {
    status: 'AS_AVAILABLE', appType: 'pegasus', appName: '', appId: gpid.appId, partitionCount: 0, envs: {}, isStateful: true,
    maxReplicaCount: 0, expireSecond: 0, createSecond: 0, dropSecond: 0, duplicating: false, initPartitionCount: -1,
    isBulkLoading: false, atomicIdempotent: false,
  };
  let ballot: number | undefined;
  try {
    info = appInfoFromJson(await readFile(path.join(dir, APP_INFO_FILE), 'utf8'));
  } catch {
    // Unknown table details: the meta's configuration brings them.
  }
  try {
    const init = JSON.parse(await readFile(path.join(dir, INIT_INFO_FILE), 'utf8')) as { init_ballot?: unknown };
    if (typeof init.init_ballot === 'number' && Number.isSafeInteger(init.init_ballot)) ballot = init.init_ballot;
  } catch {
    // No ballot known: reported as 0.
  }
  return { info, ballot };
}

