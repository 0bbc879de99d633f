// Which meta server is the primary: a ZooKeeper lock (spec pegasus-arch §2.2).
//
// Each meta creates an ephemeral sequential node `<lock_root>/dsn.meta.server.leader/LOCKNODE<seq>`
// holding its host:port. The lowest sequence number holds the lock. Every other contender
// watches the node just before its own (so a release wakes one meta, not all) and the owner's
// node (so it always knows whom to forward to). An ephemeral node lives as long as its
// session: when the primary dies, ZooKeeper deletes its node once the session timeout has
// passed, and the next contender takes over.
//
// A create whose answer was lost (the connection broke) may still have made a node. Such a
// node belongs to our session but we do not know its name; left alone it could hold the lock
// with nobody acting on it. So before creating, a contender adopts any node of the directory
// that its own session owns.
import { EventEmitter } from 'node:events';
import { log } from '../../base/index.ts';
import { defineFlag } from '../../config/index.ts';
import { joinPath, normalizeRootPath, validatePath } from '../state-store.ts';
import { ZkError, type ZkSession } from './session.ts';

export const LEADER_LOCK_ID = 'dsn.meta.server.leader';
export const LOCK_NODE_PREFIX = 'LOCKNODE';

export const distributedLockServiceParameters = defineFlag({
  section: 'meta_server',
  name: 'distributed_lock_service_parameters',
  type: 'FV_STRING',
  default: '',
  description: "The ZooKeeper path under which the meta servers' leader lock lives; empty means [meta_server] cluster_root",
});

/** The lock root from the flag, falling back to the cluster root. */
export function lockRootFrom(flagValue: string, clusterRootPath: string): string {
  // Pegasus's value may carry more parameters after the path, separated by commas or spaces.
  const first = flagValue.split(/[,\s]+/).find((part) => part !== '');
  return normalizeRootPath(first ?? clusterRootPath);
}

export type ElectionView =
  | { role: 'leader' }
  /** `leader` is the owner's host:port, or undefined while nobody holds the lock (or it is unreadable). */
  | { role: 'follower'; leader: string | undefined };

export interface LeaderElectionOptions {
  session: ZkSession;
  /** The lock root; the lock directory is `<lockRoot>/dsn.meta.server.leader`. */
  lockRoot: string;
  /** This meta's host:port, written into its lock node. */
  self: string;
}

/** Sequence number of `LOCKNODE0000000042`; undefined for names that are not lock nodes. */
export function lockNodeSequence(name: string): number | undefined {
  if (!name.startsWith(LOCK_NODE_PREFIX)) return undefined;
  const digits = name.slice(LOCK_NODE_PREFIX.length);
  return /^\d+$/.test(digits) ? Number(digits) : undefined;
}

/** Lock node names in lock order (lowest sequence first); other names are left out. */
export function lockOrder(names: readonly string[]): string[] {
  return names
    .filter((name) => lockNodeSequence(name) !== undefined)
    .sort((a, b) => lockNodeSequence(a)! - lockNodeSequence(b)! || (a < b ? -1 : a > b ? 1 : 0));
}

/** Rounds of one evaluation that found the directory changing under it; then it waits for a watch. */
const EVALUATE_ROUNDS_MAX = 16;

/**
 * Events: `change` (ElectionView) whenever the role or the known leader changes.
 * The election ends with its session: after expiry, make a new session and a new election.
 */
export class LeaderElection extends EventEmitter {
  readonly lockDir: string;
  private readonly session: ZkSession;
  private readonly self: string;
  private myNode: string | undefined;
  private current: ElectionView = { role: 'follower', leader: undefined };
  private running = false;
  private again = false;
  private stopped = false;
  private readonly onConnected = (): void => this.evaluate();

  constructor(options: LeaderElectionOptions) {
    super();
    this.session = options.session;
    this.self = options.self;
    this.lockDir = joinPath(normalizeRootPath(options.lockRoot), LEADER_LOCK_ID);
    validatePath(this.lockDir);
  }

  get view(): ElectionView {
    return this.current;
  }

  get isLeader(): boolean {
    return this.current.role === 'leader';
  }

  /** The primary's host:port (this meta's own when it leads), or undefined when unknown. */
  get leader(): string | undefined {
    return this.current.role === 'leader' ? this.self : this.current.leader;
  }

  /** The name of this meta's lock node, once created. */
  get lockNode(): string | undefined {
    return this.myNode;
  }

  /** Enters the election; the outcome arrives as `change` events. Re-evaluates after each reconnect. */
  start(): void {
    this.session.on('connected', this.onConnected);
    // Without its session this meta holds nothing and knows nothing.
    const over = (): void => this.setView({ role: 'follower', leader: undefined });
    this.session.once('expired', over);
    this.session.once('closed', over);
    this.evaluate();
  }

  /** Leaves the election: removes this meta's lock node (if the session still can). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.session.off('connected', this.onConnected);
    const node = this.myNode;
    this.myNode = undefined;
    if (node !== undefined && this.session.connected) {
      await this.session.remove(joinPath(this.lockDir, node)).catch(() => {});
    }
    this.setView({ role: 'follower', leader: undefined });
  }

  /** Runs evaluations one at a time; a request while one runs makes it run once more. */
  private evaluate(): void {
    if (this.stopped || this.session.ended) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        for (let round = 0; round < EVALUATE_ROUNDS_MAX; round++) {
          this.again = false;
          if (this.stopped || !this.session.connected) return;
          await this.evaluateOnce();
          if (!this.again) return;
        }
        log.warn({ lockDir: this.lockDir }, 'leader lock directory keeps changing; waiting for the next watch');
      } catch (error) {
        // Connection trouble: the next `connected` event evaluates again. Anything else is logged.
        if (!(error instanceof ZkError && (error.code === 'NOT_CONNECTED' || error.outcomeUnknown))) {
          log.error({ err: error, lockDir: this.lockDir }, 'leader election step failed');
        }
      } finally {
        this.running = false;
        if (this.again && this.session.connected && !this.stopped) this.evaluate();
      }
    })();
  }

  private readonly onWatch = (): void => this.evaluate();

  private async evaluateOnce(): Promise<void> {
    if (this.myNode === undefined) {
      await this.ensureLockDir();
      this.myNode = (await this.adoptOwnNode()) ?? (await this.createNode());
      log.info({ lockNode: joinPath(this.lockDir, this.myNode) }, 'entered the meta leader election');
    }
    const order = lockOrder(await this.session.getChildren(this.lockDir));
    const position = order.indexOf(this.myNode);
    if (position < 0) {
      // Our node is gone although the session lives (someone deleted it): enter again.
      log.warn({ lockNode: this.myNode }, 'own leader lock node disappeared; entering the election again');
      this.myNode = undefined;
      this.again = true;
      return;
    }
    if (position === 0) {
      this.setView({ role: 'leader' });
      return;
    }
    const owner = order[0]!;
    const ownerData = await this.session.getData(joinPath(this.lockDir, owner), this.onWatch);
    if (ownerData === undefined) {
      this.again = true;
      return;
    }
    const predecessor = order[position - 1]!;
    if (predecessor !== owner) {
      const stat = await this.session.exists(joinPath(this.lockDir, predecessor), this.onWatch);
      if (stat === undefined) {
        this.again = true;
        return;
      }
    }
    const leader = ownerData.toString('utf8').trim();
    this.setView({ role: 'follower', leader: /^[^\s:]+:\d+$/.test(leader) ? leader : undefined });
  }

  private async ensureLockDir(): Promise<void> {
    let path = '';
    for (const component of this.lockDir.slice(1).split('/')) {
      path = `${path}/${component}`;
      if (await this.session.exists(path)) continue;
      try {
        await this.session.create(path, Buffer.alloc(0));
      } catch (error) {
        if (!(error instanceof ZkError && error.code === 'NODE_EXISTS')) throw error;
      }
    }
  }

  /** A lock node this session already owns (from a create whose answer was lost); extras are removed. */
  private async adoptOwnNode(): Promise<string | undefined> {
    const sessionId = this.session.sessionId;
    const mine: string[] = [];
    for (const name of lockOrder(await this.session.getChildren(this.lockDir))) {
      const stat = await this.session.exists(joinPath(this.lockDir, name));
      if (stat && Buffer.from(stat.ephemeralOwner).toString('hex') === sessionId) mine.push(name);
    }
    for (const extra of mine.slice(1)) await this.session.remove(joinPath(this.lockDir, extra)).catch(() => {});
    return mine[0];
  }

  private async createNode(): Promise<string> {
    const created = await this.session.create(joinPath(this.lockDir, LOCK_NODE_PREFIX), Buffer.from(this.self), 'ephemeral_sequential');
    return created.slice(created.lastIndexOf('/') + 1);
  }

  private setView(view: ElectionView): void {
    const same = view.role === this.current.role && (view.role === 'leader' || view.leader === (this.current as { leader?: string }).leader);
    if (same) return;
    this.current = view;
    this.emit('change', view);
  }
}
