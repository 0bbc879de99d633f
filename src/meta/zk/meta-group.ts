// A meta server in a group of metas that share their state in ZooKeeper: its session, its
// place in the leader election, and its standing (backup, loading, primary).
//
//   backup  ──lock granted──▶ loading ──state read from ZooKeeper──▶ primary
//     ▲                                                                  │
//     └──── session expired (step down, new session, enter again) ◀──────┘
//
// - A primary keeps its standing while ZooKeeper is unreachable: the lock is only lost when
//   the server expires the session, and no other meta can take the lock before that. Its
//   writes fail at once meanwhile (zk/session.ts), its periodic work pauses (`writable`),
//   and it keeps answering reads from memory.
// - A write that may or may not have landed, or a batch applied in part, leaves memory and
//   ZooKeeper possibly different; the primary then reloads its state as a new primary would
//   (a short `loading` standing) once the store is writable again.
// - Transitions run one at a time, in order.
import { log } from '../../base/index.ts';
import { LeaderElection, type ElectionView } from './leader-election.ts';
import { ZooKeeperStateStore } from './store.ts';
import { ZkSession } from './session.ts';

export interface PrimaryHandle {
  /** Stops the primary's work and waits for the changes under way. */
  stop(): Promise<void>;
}

export type Standing<P> =
  | { kind: 'primary'; primary: P }
  /** Holds the lock, reading its state: answer ERR_SERVICE_NOT_ACTIVE. */
  | { kind: 'loading' }
  /** `leader` is the primary's host:port, or undefined when none is known. */
  | { kind: 'backup'; leader: string | undefined };

export interface MetaGroupOptions<P extends PrimaryHandle> {
  hosts: string;
  sessionTimeoutMs: number;
  /** The cluster root (zookeeper_root). */
  root: string;
  lockRoot: string;
  /** This meta's host:port. */
  self: string;
  /** Reads the state from the store and starts the primary's work. */
  openPrimary(store: ZooKeeperStateStore): Promise<P>;
  /** Wait before retrying a failed load. Default 500 ms. */
  retryDelayMs?: number;
  /** How often to look for write incidents that call for a reload. Default 1000 ms. */
  incidentCheckMs?: number;
}

interface Generation {
  id: number;
  session: ZkSession;
  store: ZooKeeperStateStore;
  election: LeaderElection;
}

export class ZooKeeperMetaGroup<P extends PrimaryHandle> {
  private generation: Generation | undefined;
  private generations = 0;
  private primary: P | undefined;
  private loading = false;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private incidentsSeen = 0;
  private readonly retryDelayMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private incidentTimer: NodeJS.Timeout | undefined;
  /** When this meta last lost sight of a primary (for the takeover time in the log). */
  private leaderGoneAtMs: number | undefined;
  /** Primary terms served by this process (for tests and diagnostics). */
  terms = 0;

  constructor(private readonly options: MetaGroupOptions<P>) {
    this.retryDelayMs = options.retryDelayMs ?? 500;
  }

  start(): void {
    this.openGeneration();
    this.incidentTimer = setInterval(() => this.checkIncidents(), this.options.incidentCheckMs ?? 1000);
    this.incidentTimer.unref();
  }

  standing(): Standing<P> {
    if (this.primary && !this.loading) return { kind: 'primary', primary: this.primary };
    const election = this.generation?.election;
    if (election?.isLeader || this.loading) return { kind: 'loading' };
    return { kind: 'backup', leader: election?.leader };
  }

  /** The current session's store (undefined between sessions). */
  get store(): ZooKeeperStateStore | undefined {
    return this.generation?.store;
  }

  /** Whether state changes can be written now. */
  writable(): boolean {
    return this.generation?.store.writable ?? false;
  }

  /** The current ZooKeeper session (for tests and diagnostics). */
  get session(): ZkSession | undefined {
    return this.generation?.session;
  }

  private enqueue(what: string, step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((error: unknown) => log.error({ err: error, step: what }, 'meta group transition failed'));
  }

  private openGeneration(): void {
    const id = ++this.generations;
    const session = ZkSession.open({ hosts: this.options.hosts, sessionTimeoutMs: this.options.sessionTimeoutMs });
    const store = new ZooKeeperStateStore({ session, root: this.options.root });
    const election = new LeaderElection({ session, lockRoot: this.options.lockRoot, self: this.options.self });
    const generation: Generation = { id, session, store, election };
    this.generation = generation;
    const current = (): boolean => this.generation?.id === id && !this.stopped;
    session.on('connected', () => {
      if (!current()) return;
      log.info({ zookeeper: this.options.hosts, session: session.sessionId, timeoutMs: session.sessionTimeoutMs }, 'connected to ZooKeeper');
      this.checkIncidents();
    });
    session.on('disconnected', () => {
      if (current()) log.warn({ zookeeper: this.options.hosts }, 'lost the connection to ZooKeeper; state changes pause until it is back');
    });
    session.on('expired', () => {
      if (!current()) return;
      log.warn({ zookeeper: this.options.hosts }, 'ZooKeeper session expired; stepping down and entering the election again');
      this.enqueue('session expired', async () => {
        await this.stepDown();
        await election.stop().catch(() => {});
        await store.close();
        await session.close();
        if (!this.stopped) this.openGeneration();
      });
    });
    election.on('change', (view: ElectionView) => {
      if (!current()) return;
      if (view.role === 'leader') {
        this.enqueue('become primary', () => this.becomePrimary(id));
      } else {
        if (view.leader === undefined) this.leaderGoneAtMs ??= Date.now();
        else this.leaderGoneAtMs = undefined;
        log.info({ leader: view.leader ?? 'unknown' }, 'meta is a backup');
        if (this.primary || this.loading) this.enqueue('step down', () => this.stepDown());
      }
    });
    election.start();
  }

  private async becomePrimary(id: number): Promise<void> {
    const generation = this.generation;
    if (this.stopped || !generation || generation.id !== id || !generation.election.isLeader || this.primary) return;
    this.loading = true;
    const startedMs = Date.now();
    try {
      this.primary = await this.options.openPrimary(generation.store);
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'primary meta could not load its state; retrying');
      this.scheduleRetry(id);
      return;
    }
    this.loading = false;
    this.incidentsSeen = generation.store.writeIncidents;
    this.terms++;
    log.info(
      { loadMs: Date.now() - startedMs, sinceLeaderLostMs: this.leaderGoneAtMs === undefined ? undefined : Date.now() - this.leaderGoneAtMs },
      'meta is the primary',
    );
    this.leaderGoneAtMs = undefined;
    // Lost the lock while loading: give it back.
    if (!generation.election.isLeader || this.generation !== generation) await this.stepDown();
  }

  private scheduleRetry(id: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.enqueue('retry primary load', () => this.becomePrimary(id));
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  private async stepDown(): Promise<void> {
    const primary = this.primary;
    this.primary = undefined;
    this.loading = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (primary) {
      log.warn('meta stops being the primary');
      await primary.stop();
    }
  }

  /** A write may have landed without us knowing: read the state again once writes work. */
  private checkIncidents(): void {
    const generation = this.generation;
    if (!generation || !this.primary || this.loading || !generation.store.writable) return;
    if (generation.store.writeIncidents <= this.incidentsSeen) return;
    this.incidentsSeen = generation.store.writeIncidents;
    log.warn('a meta state write ended with an unknown outcome; reloading the state from ZooKeeper');
    const id = generation.id;
    this.enqueue('reload', async () => {
      if (!this.primary) return;
      await this.stepDown();
      await this.becomePrimary(id);
    });
  }

  /** Leaves the group: stops the primary's work, gives up the lock and ends the session. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.incidentTimer) clearInterval(this.incidentTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const generation = this.generation;
    this.chain = this.chain.then(async () => {
      await this.stepDown();
      if (generation) {
        await generation.election.stop().catch(() => {});
        await generation.store.close();
        await generation.session.close();
      }
    });
    await this.chain;
  }
}
