// The replica state machine of one partition replica: PacificA (spec pegasus-arch §3.1–§3.6).
//
// It is deterministic and does no I/O: the caller feeds it events (a configuration from the
// meta, a client mutation, a peer message, a log write that became durable, the clock) and then
// takes the actions it produced (append to the log, apply to the store, send a message, ask the
// meta for a change, copy a checkpoint). The I/O shell (src/replica/replica.ts) and the fault
// simulator (test/sim/) are its two callers.
//
// The rules it keeps:
// - A primary commits decree d only when its own log has d durable and every secondary (and
//   every learner that receives prepares from d on) acknowledged d under the entry's ballot;
//   commits are applied strictly in decree order. So every member holds every committed
//   mutation, and any secondary can take over.
// - Messages from an older ballot are refused; a newer ballot is adopted from whoever brings it.
// - A new primary cuts its prepared tail at the first gap (nothing after a gap can have been
//   committed), re-sends the rest under its ballot, and refuses reads until that tail is
//   committed (`readBarrier`).
// - A member that fails to acknowledge within `prepareTimeoutMs` (prepare or group check) is
//   removed through the meta (ballot + 1); a learner that fails is just dropped.
// - A learner drops its uncommitted tail, gets either the mutations after its commit point (when
//   the primary still has them in memory) or a checkpoint first, and is promoted through the
//   meta once the mutations it was given are durable.
import { assert } from '../../base/index.ts';
import type { Mutation } from '../write/mutation.ts';
import type { Membership, PeerError, PeerMessage } from './messages.ts';

export type ReplicaRole = 'inactive' | 'primary' | 'secondary' | 'learner' | 'error';

export interface CoreOptions {
  self: string;
  /** A member that has not acknowledged a prepare or group check for this long is removed. */
  prepareTimeoutMs: number;
  /** Unacknowledged prepares (and unanswered learn requests) are sent again after this long. */
  prepareRetryMs: number;
  groupCheckIntervalMs: number;
  /** A learner the primary has not heard from for this long is dropped, and gives up itself. */
  learnTimeoutMs: number;
  /** Committed mutations kept in memory, so a learner close behind needs no checkpoint. */
  cacheDecreesMax: number;
  /** ... and at most about this many bytes of them (keys and values); the oldest go first. */
  cacheBytesMax?: number;
  /** A configuration change the meta has not answered is asked for again after this long. */
  changeRetryMs: number;
}

export type ChangeType = 'CT_DOWNGRADE_TO_INACTIVE' | 'CT_ADD_SECONDARY' | 'CT_PRIMARY_FORCE_UPDATE_BALLOT';

export type CoreAction =
  /** Append to the mutation log; report `logged(decree, mutation.ballot)` once durable. */
  | { kind: 'append'; mutation: Mutation; lastCommitted: number }
  /** The mutation is committed: apply it to the store. Emitted in decree order. */
  | { kind: 'apply'; mutation: Mutation }
  | { kind: 'send'; to: string; message: PeerMessage }
  /** Ask the meta to change the membership from `ballot` (to ballot + 1). */
  | { kind: 'change'; type: ChangeType; node: string; ballot: number }
  /**
   * Learner: replace the store with a checkpoint of `from`'s and empty the mutation log, then call
   * `checkpointInstalled` (which appends again what the learner holds after the checkpoint).
   */
  | { kind: 'fetch_checkpoint'; from: string; signature: number }
  | { kind: 'role'; role: ReplicaRole; previous: ReplicaRole };

/** What a replica finds on disk when it opens. */
export interface RestoredState {
  /** The store's last applied decree. */
  lastApplied: number;
  /**
   * The ballot the replica last knew. It must be at least every ballot under which this replica
   * sent anything before it stopped: the shell saves a new ballot before acting on it.
   */
  ballot: number;
  /** The log's records in append order (a decree may repeat with a newer ballot). */
  records: ReadonlyArray<{ mutation: Mutation; lastCommittedDecree: number }>;
}

interface Entry {
  mutation: Mutation;
  /** The ballot of the version handed to the log, and whether that append is durable. */
  appendedBallot: number;
  logged: boolean;
  /** Primary: who acknowledged this entry's current ballot. */
  acks: Set<string>;
  /** Primary: per receiver, when the prepare was first and last sent. */
  sent: Map<string, { firstMs: number; lastMs: number }>;
}

interface Learner {
  signature: number;
  /** Set once the learner got the cache: prepares from this decree on go to it, and commits wait for it. */
  prepareStart: number | undefined;
  completed: boolean;
  lastHeardMs: number;
}

interface Learning {
  primary: string;
  signature: number;
  phase: 'requesting' | 'checkpoint' | 'logging' | 'completed';
  /** Logging phase: the last decree of the learned cache. */
  cacheLast: number;
  /** The last decree appended again after a checkpoint: completion waits for those appends too. */
  reappendedLast: number;
  lastHeardMs: number;
  lastSentMs: number;
}

interface PendingChange {
  type: ChangeType;
  node: string;
  ballot: number;
  sentMs: number;
}

const NO_MEMBERSHIP: Membership = { ballot: 0, primary: '', secondaries: [] };

export class ReplicaCore {
  private readonly options: CoreOptions;
  private readonly self: string;
  private outbox: CoreAction[] = [];
  private currentRole: ReplicaRole = 'inactive';
  private membershipNow: Membership = NO_MEMBERSHIP;
  private committed: number;
  private prepared: number;
  private readonly entries = new Map<number, Entry>();
  /** Primary: no reads until this decree is committed (the tail inherited at promotion). */
  private barrier = 0;
  private readonly learnersNow = new Map<string, Learner>();
  private learning: Learning | undefined;
  private pendingChange: PendingChange | undefined;
  private lastGroupCheckMs = Number.NEGATIVE_INFINITY;
  private readonly awaitingGroupCheck = new Map<string, number>();
  private signatureSeq = 0;
  /** Committed decrees still held in `entries` for learners, oldest first (from `cachedHead`), with their sizes. */
  private readonly cached: Array<{ decree: number; bytes: number }> = [];
  private cachedHead = 0;
  private cachedBytes = 0;
  /**
   * The highest ballot known when this replica was opened from disk. It may have been primary
   * under that ballot and proposed mutations it has since forgotten (they never became durable
   * here), so it never proposes under that ballot again: told it is primary of it, it first asks
   * the meta for the next ballot (CT_PRIMARY_FORCE_UPDATE_BALLOT).
   */
  private readonly restoredBallot: number;
  /** The ballot and committed decree at the last invariant check: neither may go back (checkInvariants). */
  private ballotChecked = 0;
  private committedChecked: number;
  /**
   * The highest learner signature this replica started learning under (in this life). Learning
   * starts again only under a newer one: a stale message (a delayed group check or add_learner)
   * must not restart it, and a learning given up stays given up (the primary drops it and adds
   * the node again under a new signature).
   */
  private learnSignatureMax = 0;
  /**
   * A configuration named this replica a secondary while it had not completed learning: it
   * stays out of every configuration up to this ballot (the primary removes it and adds it again).
   */
  private unfitBallot = -1;
  /**
   * Whether this replica's data is that of a member: it restored some ballot (it was a member
   * before it stopped), or it learned, or it led. A replica opened on an empty (for example
   * wiped) data dir is not, even if the meta still lists it as a secondary: it must learn first.
   */
  private holdsMemberData: boolean;
  /** The last ballot under which this replica was primary or secondary (the saved one after a restart). */
  private memberBallot: number;

  constructor(options: CoreOptions, restored: RestoredState) {
    this.options = options;
    this.self = options.self;
    assert(isDecree(restored.lastApplied), `restored last applied decree ${restored.lastApplied} is a decree`);
    assert(isDecree(restored.ballot), `restored ballot ${restored.ballot} is a ballot`);
    this.committed = restored.lastApplied;
    this.committedChecked = restored.lastApplied;
    this.prepared = restored.lastApplied;
    let ballot = restored.ballot;
    let committedKnown = restored.lastApplied;
    for (const record of restored.records) {
      const { mutation } = record;
      assert(mutation.decree > 0 && isDecree(mutation.decree), `restored decree ${mutation.decree} is a decree`);
      assert(record.lastCommittedDecree < mutation.decree, `restored decree ${mutation.decree} follows the commit point ${record.lastCommittedDecree} logged with it`);
      ballot = Math.max(ballot, mutation.ballot);
      committedKnown = Math.max(committedKnown, record.lastCommittedDecree);
      if (mutation.decree <= restored.lastApplied) continue;
      const existing = this.entries.get(mutation.decree);
      if (existing && existing.mutation.ballot > mutation.ballot) continue;
      this.entries.set(mutation.decree, newEntry(mutation, true));
    }
    this.membershipNow = { ...NO_MEMBERSHIP, ballot };
    this.restoredBallot = ballot;
    this.holdsMemberData = ballot > 0;
    this.memberBallot = restored.ballot;
    // Every durable record stays, also past a gap: this replica may have acknowledged it before it
    // stopped, and the primary may have counted that acknowledgement for a commit (found by the
    // fault simulator: a secondary acknowledged d60 before d59, restarted, dropped d60 here, then
    // took d59 and later became primary without the committed d60). A new primary still cuts at
    // the first gap (becomePrimary); a secondary fills gaps from prepares.
    for (const decree of this.entries.keys()) if (decree > this.prepared) this.prepared = decree;
    // What the log says was committed but the store had not applied yet.
    this.commitUpTo(committedKnown);
    this.checkInvariants();
  }

  // -------------------------------------------------------------------------------------------
  // what the shell reads

  get role(): ReplicaRole {
    return this.currentRole;
  }

  get membership(): Membership {
    return this.membershipNow;
  }

  get ballot(): number {
    return this.membershipNow.ballot;
  }

  get lastCommitted(): number {
    return this.committed;
  }

  get lastPrepared(): number {
    return this.prepared;
  }

  get readBarrier(): number {
    return this.barrier;
  }

  /**
   * The ballot a config sync reports for this replica, which the meta compares to pick the primary
   * of a partition whose replicas all died (DDD): the last ballot under which it was a member, 0
   * without a member's data. Not the ballot it merely adopted, the newest of all (both found by the
   * fault simulator with wiped disks): a replica without data (opened on an empty or wiped data
   * dir, not learned since) was picked to lead, refused, left, and was picked again, round after
   * round; and a secondary that adopted the ballot b removing it outranked the primary of b, which
   * had reported before it took b up and then committed more on its own.
   */
  get dataBallot(): number {
    return this.holdsMemberData ? this.memberBallot : 0;
  }

  /** A primary that has committed the tail it inherited. */
  get canServeReads(): boolean {
    return this.currentRole === 'primary' && this.committed >= this.barrier;
  }

  get learners(): ReadonlyMap<string, { signature: number; completed: boolean; prepareStart: number | undefined }> {
    return this.learnersNow;
  }

  get learningPhase(): Learning['phase'] | undefined {
    return this.learning?.phase;
  }

  /** The actions produced since the last call, in order. */
  takeActions(): CoreAction[] {
    // Every event is followed by this call, so the state each event leaves behind is checked here.
    this.checkInvariants();
    const actions = this.outbox;
    this.outbox = [];
    return actions;
  }

  // -------------------------------------------------------------------------------------------
  // events

  /** A configuration from the meta (or a peer of a newer ballot). Older ballots are ignored. */
  onConfig(membership: Membership, nowMs: number): void {
    // A failed replica stays out (the fault simulator saw one adopt a configuration and come back
    // as a secondary after `fail()`).
    if (this.currentRole === 'error') return;
    this.adopt(membership, nowMs);
  }

  /** Primary: a new mutation with the next decree under the current ballot. */
  propose(mutation: Mutation, nowMs: number): void {
    assert(this.currentRole === 'primary', 'only a primary proposes');
    assert(mutation.decree === this.prepared + 1, `proposed decree ${mutation.decree} follows ${this.prepared}`);
    assert(mutation.ballot === this.ballot, `proposed ballot ${mutation.ballot} is the current ${this.ballot}`);
    this.entries.set(mutation.decree, newEntry(mutation, false));
    this.prepared = mutation.decree;
    this.emit({ kind: 'append', mutation, lastCommitted: this.committed });
    for (const node of this.ackersOf(mutation.decree)) this.sendPrepare(mutation.decree, node, nowMs);
    this.tryCommit();
  }

  /** The log made the append of (decree, ballot) durable. */
  logged(decree: number, ballot: number, nowMs: number): void {
    // Appends were emitted under ballots this replica held, and ballots never go back.
    assert(ballot <= this.ballot, `a logged append's ballot ${ballot} is not newer than the replica's ${this.ballot}`);
    const entry = this.entries.get(decree);
    if (!entry || entry.appendedBallot !== ballot || entry.logged) return;
    entry.logged = true;
    if (this.currentRole === 'primary') {
      this.tryCommit();
      return;
    }
    if (this.currentRole === 'secondary' || this.currentRole === 'learner') {
      this.sendTo(this.membershipNow.primary, { type: 'prepare_ack', err: 'ERR_OK', ballot: this.ballot, decree, mutationBallot: entry.mutation.ballot });
    }
    if (this.learning?.phase === 'logging') this.checkLearnedDurable(nowMs);
  }

  /** A primary was asked (by the meta) to add `node`: it starts learning. */
  addLearner(node: string, nowMs: number): void {
    if (this.currentRole !== 'primary' || node === this.self || this.membershipNow.secondaries.includes(node)) return;
    const existing = this.learnersNow.get(node);
    if (existing) {
      this.sendTo(node, { type: 'add_learner', membership: this.membershipNow, signature: existing.signature });
      return;
    }
    this.startLearner(node, nowMs);
  }

  /** Learner: the checkpoint asked for by `fetch_checkpoint` is in the store, at `decree`. */
  checkpointInstalled(signature: number, decree: number, nowMs: number): void {
    const learning = this.learning;
    if (this.currentRole !== 'learner' || !learning || learning.signature !== signature || learning.phase !== 'checkpoint') return;
    assert(isDecree(decree), `checkpoint decree ${decree} is a decree`);
    // Mutations after the checkpoint stay and go to the emptied log again: the learner may have
    // acknowledged them (a learner takes prepares from the primary's prepare start on, also while
    // it copies a checkpoint), and the primary may have counted that for a commit (found by the
    // fault simulator: a learner acknowledged d6, then installed a checkpoint at d3 from a reply
    // that had crossed its newer request, and was promoted without the committed d6).
    for (const key of [...this.entries.keys()]) if (key <= decree) this.entries.delete(key);
    this.resetCache();
    // The checkpoint replaced the store: the one place the committed decree may go back.
    this.committed = decree;
    this.committedChecked = decree;
    this.prepared = decree;
    learning.reappendedLast = decree;
    for (const [key, { mutation }] of [...this.entries].sort(([a], [b]) => a - b)) {
      this.entries.set(key, newEntry(mutation, false));
      this.prepared = key;
      learning.reappendedLast = key;
      this.emit({ kind: 'append', mutation, lastCommitted: decree });
    }
    learning.phase = 'requesting';
    learning.lastHeardMs = nowMs;
    this.sendLearnRequest(nowMs);
  }

  /** Learner: copying the checkpoint failed; ask again. */
  checkpointFailed(signature: number, nowMs: number): void {
    const learning = this.learning;
    if (this.currentRole !== 'learner' || !learning || learning.signature !== signature || learning.phase !== 'checkpoint') return;
    learning.phase = 'requesting';
    this.sendLearnRequest(nowMs);
  }

  /** A local failure (log or store): stop taking part. */
  fail(): void {
    this.learnersNow.clear();
    this.learning = undefined;
    this.pendingChange = undefined;
    this.setRole('error');
  }

  onMessage(from: string, message: PeerMessage, nowMs: number): void {
    if (this.currentRole === 'error') return;
    switch (message.type) {
      case 'prepare':
        this.onPrepare(from, message, nowMs);
        return;
      case 'prepare_ack':
        this.onPrepareAck(from, message, nowMs);
        return;
      case 'group_check':
        this.onGroupCheck(from, message, nowMs);
        return;
      case 'group_check_ack':
        this.onGroupCheckAck(from, message, nowMs);
        return;
      case 'add_learner':
        this.onAddLearner(from, message, nowMs);
        return;
      case 'learn':
        this.onLearn(from, message, nowMs);
        return;
      case 'learn_reply':
        this.onLearnReply(from, message, nowMs);
        return;
      case 'learn_completed':
        this.onLearnCompleted(from, message, nowMs);
        return;
    }
  }

  /**
   * A primary's next tick sends its group check at once instead of after the interval, so the
   * secondaries learn the last commit now (they learn it with the next prepare otherwise, and a
   * bulk-load ingestion is followed by none: writes are held off while it runs).
   */
  groupCheckAtNextTick(): void {
    this.lastGroupCheckMs = Number.NEGATIVE_INFINITY;
  }

  /** The clock: retries, timeouts, group checks. */
  tick(nowMs: number): void {
    if (this.currentRole === 'primary') this.tickPrimary(nowMs);
    else if (this.currentRole === 'learner') this.tickLearner(nowMs);
    else if (this.currentRole === 'inactive') this.retryPendingChange(nowMs);
  }

  // -------------------------------------------------------------------------------------------
  // membership

  private adopt(membership: Membership, nowMs: number): boolean {
    const current = this.membershipNow;
    if (membership.ballot < current.ballot) return false;
    const same = membership.ballot === current.ballot && membership.primary === current.primary
      && sameNodes(membership.secondaries, current.secondaries);
    if (same && this.currentRole !== 'inactive') return true;
    const ballotChanged = membership.ballot !== current.ballot;
    this.membershipNow = { ballot: membership.ballot, primary: membership.primary, secondaries: [...membership.secondaries] };
    if (this.pendingChange && membership.ballot > this.pendingChange.ballot) this.pendingChange = undefined;

    const previous = this.currentRole;
    // Primary of the ballot it restarted with: a mutation it proposed before the restart may sit
    // in a secondary's log under this very ballot with other content, and a secondary acknowledges
    // a (decree, ballot) it already has without taking the new content. So it waits, inactive,
    // for the next ballot (found by the fault simulator: a primary restarted within the meta's
    // grace period re-used decrees of its previous life under the same ballot).
    const staleOwnBallot = membership.primary === this.self && membership.ballot <= this.restoredBallot;
    let next: ReplicaRole;
    // A replica without a member's data (say its data dir was wiped while the meta still lists it)
    // must not lead: it asks the meta to take it out, and a secondary takes over. Only a brand-new
    // partition (ballot 1, assigned with no data anywhere) may be led from an empty replica.
    const unfitToLead = membership.primary === this.self && !this.holdsMemberData && membership.ballot > 1;
    if (unfitToLead) next = 'inactive';
    else if (membership.primary === this.self) next = staleOwnBallot ? 'inactive' : 'primary';
    else if (membership.secondaries.includes(this.self)) {
      // Only a learner that completed learning is fit to be a secondary: one that started learning
      // again may have forgotten mutations it acknowledged, and the primary may have counted those
      // acknowledgements for commits (found by the fault simulator: a learner restarted learning,
      // a completion notice it sent before still arrived, and it became a secondary without a
      // committed decree). It stays inactive; the primary sees it fail and has it removed.
      const learned = previous === 'learner' && this.learning?.phase === 'completed';
      if ((previous === 'learner' && !learned) || (!learned && !this.holdsMemberData) || membership.ballot <= this.unfitBallot) {
        this.unfitBallot = Math.max(this.unfitBallot, membership.ballot);
        next = 'inactive';
      } else {
        next = 'secondary';
      }
    }
    else if (previous === 'learner' && this.learning?.primary === membership.primary) next = 'learner';
    else next = 'inactive';

    if (next !== 'learner') this.learning = undefined;
    if (next !== 'primary') {
      this.learnersNow.clear();
      this.awaitingGroupCheck.clear();
      this.pendingChange = undefined;
    }
    if (next === 'primary' || next === 'secondary') {
      this.holdsMemberData = true;
      this.memberBallot = membership.ballot;
    }
    this.setRole(next);
    if (unfitToLead) this.requestChange('CT_DOWNGRADE_TO_INACTIVE', this.self, nowMs);
    else if (staleOwnBallot) this.requestChange('CT_PRIMARY_FORCE_UPDATE_BALLOT', this.self, nowMs);
    if (next === 'primary' && (previous !== 'primary' || ballotChanged)) this.becomePrimary(nowMs);
    return true;
  }

  /** Takes over the prepared tail under the new ballot and restarts every learner. */
  private becomePrimary(nowMs: number): void {
    for (const node of this.learnersNow.keys()) {
      if (this.membershipNow.secondaries.includes(node)) this.learnersNow.delete(node);
    }
    this.awaitingGroupCheck.clear();
    this.truncateAfter(this.contiguousEnd(this.committed));
    this.barrier = this.prepared;
    for (let decree = this.committed + 1; decree <= this.prepared; decree += 1) {
      const entry = this.entries.get(decree);
      assert(entry !== undefined, `a new primary holds its tail without a gap (decree ${decree})`);
      assert(entry.mutation.ballot <= this.ballot, `an inherited mutation's ballot ${entry.mutation.ballot} is not newer than the new primary's ${this.ballot}`);
      entry.mutation = { ...entry.mutation, ballot: this.ballot };
      entry.acks.clear();
      entry.sent.clear();
      for (const node of this.membershipNow.secondaries) this.sendPrepare(decree, node, nowMs);
    }
    for (const node of [...this.learnersNow.keys()]) this.startLearner(node, nowMs);
    this.lastGroupCheckMs = Number.NEGATIVE_INFINITY;
    this.tryCommit();
  }

  private requestChange(type: ChangeType, node: string, nowMs: number): void {
    if (this.pendingChange) return;
    this.pendingChange = { type, node, ballot: this.ballot, sentMs: nowMs };
    this.emit({ kind: 'change', type, node, ballot: this.ballot });
  }

  /** A member failed to acknowledge: the meta takes it out. A learner is just dropped. */
  private memberFailed(node: string, nowMs: number): void {
    // A learner whose promotion was asked for stays: the meta may apply the request (it may be on
    // its way) and make it a secondary, so commits keep waiting for its acknowledgements until the
    // answer comes; after that it is a failed secondary like any other (found by the fault
    // simulator: a learner was dropped, decrees committed without it, then the request still
    // landed and it became a secondary missing them).
    const change = this.pendingChange;
    if (change?.type === 'CT_ADD_SECONDARY' && change.node === node && this.learnersNow.has(node)) return;
    if (this.learnersNow.delete(node)) {
      this.awaitingGroupCheck.delete(node);
      this.tryCommit();
      return;
    }
    if (this.membershipNow.secondaries.includes(node)) this.requestChange('CT_DOWNGRADE_TO_INACTIVE', node, nowMs);
  }

  // -------------------------------------------------------------------------------------------
  // two-phase commit

  /** Who must acknowledge `decree` before it commits. */
  private ackersOf(decree: number): string[] {
    const nodes = [...this.membershipNow.secondaries];
    for (const [node, learner] of this.learnersNow) {
      if (learner.prepareStart !== undefined && decree >= learner.prepareStart) nodes.push(node);
    }
    return nodes;
  }

  private sendPrepare(decree: number, node: string, nowMs: number): void {
    const entry = this.entries.get(decree);
    assert(entry !== undefined && decree > this.committed, `a prepare of decree ${decree} is an uncommitted entry (committed ${this.committed})`);
    assert(entry.mutation.ballot === this.ballot, `a prepare carries the primary's ballot ${this.ballot}, not ${entry.mutation.ballot}`);
    const times = entry.sent.get(node);
    if (times) times.lastMs = nowMs;
    else entry.sent.set(node, { firstMs: nowMs, lastMs: nowMs });
    this.sendTo(node, { type: 'prepare', membership: this.membershipNow, lastCommitted: this.committed, mutation: entry.mutation });
  }

  private tryCommit(): void {
    if (this.currentRole !== 'primary') return;
    for (;;) {
      const decree = this.committed + 1;
      const entry = this.entries.get(decree);
      if (!entry || !entry.logged) return;
      if (!this.ackersOf(decree).every((node) => entry.acks.has(node))) return;
      this.commitOne(entry);
    }
  }

  /** Secondary or learner: commits what the primary says is committed, as far as its entries reach. */
  private commitUpTo(decree: number): void {
    while (this.committed < decree) {
      const entry = this.entries.get(this.committed + 1);
      if (!entry) return;
      this.commitOne(entry);
    }
  }

  private commitOne(entry: Entry): void {
    assert(entry.mutation.decree === this.committed + 1, `commit of ${entry.mutation.decree} follows ${this.committed}`);
    assert(entry.mutation.ballot <= this.ballot, `committed ballot ${entry.mutation.ballot} is not newer than the replica's ${this.ballot}`);
    this.committed = entry.mutation.decree;
    if (this.prepared < this.committed) this.prepared = this.committed;
    this.emit({ kind: 'apply', mutation: entry.mutation });
    this.cacheCommitted(entry.mutation);
  }

  /** Keeps committed mutations for learners within the count and byte budget, oldest dropped first. */
  private cacheCommitted(mutation: Mutation): void {
    const bytes = mutationBytes(mutation);
    this.cached.push({ decree: mutation.decree, bytes });
    this.cachedBytes += bytes;
    const bytesMax = this.options.cacheBytesMax ?? Number.POSITIVE_INFINITY;
    while (this.cached.length - this.cachedHead > this.options.cacheDecreesMax || (this.cachedBytes > bytesMax && this.cached.length - this.cachedHead > 1)) {
      const oldest = this.cached[this.cachedHead]!;
      this.cachedHead += 1;
      this.cachedBytes -= oldest.bytes;
      this.entries.delete(oldest.decree);
    }
    if (this.cachedHead > 1024 && this.cachedHead * 2 > this.cached.length) {
      this.cached.splice(0, this.cachedHead);
      this.cachedHead = 0;
    }
  }

  /** Forgets the cache bookkeeping (the committed entries it counted are gone). */
  private resetCache(): void {
    this.cached.length = 0;
    this.cachedHead = 0;
    this.cachedBytes = 0;
  }

  private onPrepare(from: string, message: Extract<PeerMessage, { type: 'prepare' }>, nowMs: number): void {
    const { mutation } = message;
    const reply = (err: PeerError): void => this.sendTo(from, {
      type: 'prepare_ack', err, ballot: this.ballot, decree: mutation.decree, mutationBallot: mutation.ballot,
    });
    if (message.membership.ballot < this.ballot) {
      reply('ERR_VERSION_OUTDATED');
      return;
    }
    this.adopt(message.membership, nowMs);
    if ((this.currentRole !== 'secondary' && this.currentRole !== 'learner') || this.membershipNow.primary !== from) {
      reply('ERR_INVALID_STATE');
      return;
    }
    assert(this.ballot === message.membership.ballot, `a prepare of ballot ${message.membership.ballot} is taken under it, not ${this.ballot}`);
    if (this.learning) this.learning.lastHeardMs = nowMs;
    if (mutation.decree <= this.committed) {
      reply('ERR_OK');
    } else {
      const existing = this.entries.get(mutation.decree);
      if (existing && existing.mutation.ballot === mutation.ballot) {
        if (existing.logged) reply('ERR_OK');
      } else if (!existing || existing.mutation.ballot < mutation.ballot) {
        this.entries.set(mutation.decree, newEntry(mutation, false));
        if (mutation.decree > this.prepared) this.prepared = mutation.decree;
        this.emit({ kind: 'append', mutation, lastCommitted: this.committed });
      }
    }
    this.commitUpTo(message.lastCommitted);
  }

  private onPrepareAck(from: string, message: Extract<PeerMessage, { type: 'prepare_ack' }>, nowMs: number): void {
    if (this.currentRole !== 'primary') return;
    const learner = this.learnersNow.get(from);
    if (message.err !== 'ERR_OK') {
      // A peer on a newer ballot: the meta has moved on and will tell this replica.
      if (message.ballot > this.ballot) return;
      this.memberFailed(from, nowMs);
      return;
    }
    if (learner) learner.lastHeardMs = nowMs;
    const entry = this.entries.get(message.decree);
    if (!entry || entry.mutation.ballot !== message.mutationBallot || message.decree <= this.committed) return;
    entry.acks.add(from);
    this.tryCommit();
  }

  // -------------------------------------------------------------------------------------------
  // group check

  private tickPrimary(nowMs: number): void {
    for (let decree = this.committed + 1; decree <= this.prepared; decree += 1) {
      // Dropping a failed learner below may commit (and forget) decrees this loop has not reached
      // yet (found by the fault simulator: the loop then read a forgotten entry).
      if (decree <= this.committed) continue;
      const entry = this.entries.get(decree);
      assert(entry !== undefined, `a primary holds every uncommitted decree up to its prepared one (decree ${decree})`);
      for (const node of this.ackersOf(decree)) {
        if (entry.acks.has(node)) continue;
        const times = entry.sent.get(node);
        if (!times) {
          this.sendPrepare(decree, node, nowMs);
        } else if (nowMs - times.firstMs >= this.options.prepareTimeoutMs) {
          this.memberFailed(node, nowMs);
        } else if (nowMs - times.lastMs >= this.options.prepareRetryMs) {
          this.sendPrepare(decree, node, nowMs);
        }
      }
    }
    for (const [node, sentMs] of [...this.awaitingGroupCheck]) {
      if (nowMs - sentMs >= this.options.prepareTimeoutMs) {
        this.awaitingGroupCheck.delete(node);
        this.memberFailed(node, nowMs);
      }
    }
    for (const [node, learner] of [...this.learnersNow]) {
      if (nowMs - learner.lastHeardMs >= this.options.learnTimeoutMs) this.memberFailed(node, nowMs);
    }
    if (nowMs - this.lastGroupCheckMs >= this.options.groupCheckIntervalMs) {
      this.lastGroupCheckMs = nowMs;
      for (const node of this.membershipNow.secondaries) this.sendGroupCheck(node, 0, nowMs);
      for (const [node, learner] of this.learnersNow) this.sendGroupCheck(node, learner.signature, nowMs);
    }
    this.retryPendingChange(nowMs);
    this.requestUpgradeOfCompletedLearner(nowMs);
  }

  private retryPendingChange(nowMs: number): void {
    const change = this.pendingChange;
    if (change && nowMs - change.sentMs >= this.options.changeRetryMs) {
      change.sentMs = nowMs;
      this.emit({ kind: 'change', type: change.type, node: change.node, ballot: change.ballot });
    }
  }

  private sendGroupCheck(node: string, learnerSignature: number, nowMs: number): void {
    if (!this.awaitingGroupCheck.has(node)) this.awaitingGroupCheck.set(node, nowMs);
    this.sendTo(node, { type: 'group_check', membership: this.membershipNow, lastCommitted: this.committed, learnerSignature });
  }

  private onGroupCheck(from: string, message: Extract<PeerMessage, { type: 'group_check' }>, nowMs: number): void {
    const reply = (err: PeerError): void => this.sendTo(from, {
      type: 'group_check_ack', err, ballot: this.ballot, lastCommitted: this.committed, lastPrepared: this.prepared,
    });
    if (message.membership.ballot < this.ballot) {
      reply('ERR_VERSION_OUTDATED');
      return;
    }
    this.adopt(message.membership, nowMs);
    if (message.learnerSignature !== 0 && this.membershipNow.primary === from && this.currentRole !== 'secondary' && this.currentRole !== 'primary') {
      if (this.learning?.signature === message.learnerSignature) {
        this.learning.lastHeardMs = nowMs;
      } else if (message.learnerSignature > this.learnSignatureMax) {
        this.startLearning(from, message.learnerSignature, nowMs);
      } else if (this.learning) {
        return; // a stale check for an older learning than the current one
      } else {
        reply('ERR_INVALID_STATE'); // a learning this replica gave up: the primary drops it
        return;
      }
      reply('ERR_OK');
      return;
    }
    if (this.currentRole !== 'secondary' || this.membershipNow.primary !== from) {
      reply('ERR_INVALID_STATE');
      return;
    }
    assert(this.ballot === message.membership.ballot, `a group check of ballot ${message.membership.ballot} is taken under it, not ${this.ballot}`);
    this.commitUpTo(message.lastCommitted);
    reply('ERR_OK');
  }

  private onGroupCheckAck(from: string, message: Extract<PeerMessage, { type: 'group_check_ack' }>, nowMs: number): void {
    if (this.currentRole !== 'primary' || !this.awaitingGroupCheck.has(from)) return;
    this.awaitingGroupCheck.delete(from);
    if (message.err === 'ERR_OK') {
      const learner = this.learnersNow.get(from);
      if (learner) learner.lastHeardMs = nowMs;
      return;
    }
    if (message.ballot > this.ballot) return;
    this.memberFailed(from, nowMs);
  }

  // -------------------------------------------------------------------------------------------
  // learning, primary side

  private startLearner(node: string, nowMs: number): void {
    this.signatureSeq += 1;
    const signature = this.ballot * 1_000_000 + (this.signatureSeq % 1_000_000);
    this.learnersNow.set(node, { signature, prepareStart: undefined, completed: false, lastHeardMs: nowMs });
    this.sendTo(node, { type: 'add_learner', membership: this.membershipNow, signature });
  }

  private onLearn(from: string, message: Extract<PeerMessage, { type: 'learn' }>, nowMs: number): void {
    const learner = this.learnersNow.get(from);
    const replyBase = { type: 'learn_reply' as const, membership: this.membershipNow, signature: message.signature, lastCommitted: this.committed };
    if (this.currentRole !== 'primary' || !learner || learner.signature !== message.signature) {
      this.sendTo(from, { ...replyBase, err: 'ERR_OBJECT_NOT_FOUND', kind: 'checkpoint', prepareStart: 0, mutations: [] });
      return;
    }
    learner.lastHeardMs = nowMs;
    const since = message.lastCommitted;
    const cached = since <= this.committed && (since === this.prepared || this.entries.has(since + 1));
    // A learn request can arrive again (the learner's retry, or the network's duplicate) after the
    // learner took an earlier reply and moved on; the learner ignores the later reply. So a reply
    // never moves the prepare start forward: the prepares promised from the earlier start (which the
    // learner may never get by cache now) still wait for its acknowledgement. And a learner sent
    // to copy a checkpoint is not complete. (Found by the fault simulator: a retried learn request
    // moved the start past a prepare the learner had lost, the decree committed without it, and
    // the learner became a secondary missing a committed decree.)
    learner.completed = false;
    if (!cached) {
      this.sendTo(from, { ...replyBase, err: 'ERR_OK', kind: 'checkpoint', prepareStart: 0, mutations: [] });
      return;
    }
    const mutations: Mutation[] = [];
    for (let decree = since + 1; decree <= this.prepared; decree += 1) {
      const entry = this.entries.get(decree);
      assert(entry !== undefined, `a primary holds the decrees it offers a learner from its cache (decree ${decree})`);
      mutations.push(entry.mutation);
    }
    learner.prepareStart = Math.min(learner.prepareStart ?? Number.POSITIVE_INFINITY, this.prepared + 1);
    this.sendTo(from, { ...replyBase, err: 'ERR_OK', kind: 'cache', prepareStart: this.prepared + 1, mutations });
  }

  private onLearnCompleted(from: string, message: Extract<PeerMessage, { type: 'learn_completed' }>, nowMs: number): void {
    const learner = this.learnersNow.get(from);
    if (this.currentRole !== 'primary' || !learner || learner.signature !== message.signature || learner.prepareStart === undefined) return;
    learner.lastHeardMs = nowMs;
    learner.completed = true;
    this.requestUpgradeOfCompletedLearner(nowMs);
  }

  private requestUpgradeOfCompletedLearner(nowMs: number): void {
    if (this.pendingChange) return;
    for (const [node, learner] of this.learnersNow) {
      if (learner.completed) {
        this.requestChange('CT_ADD_SECONDARY', node, nowMs);
        return;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // learning, learner side

  private onAddLearner(from: string, message: Extract<PeerMessage, { type: 'add_learner' }>, nowMs: number): void {
    if (message.membership.ballot < this.ballot || message.membership.primary !== from) return;
    if (message.membership.secondaries.includes(this.self) || from === this.self) return;
    if (this.learning?.signature === message.signature || message.signature <= this.learnSignatureMax) return;
    this.adopt(message.membership, nowMs);
    this.startLearning(from, message.signature, nowMs);
  }

  private startLearning(primary: string, signature: number, nowMs: number): void {
    // What this replica prepared but never saw committed may differ from the primary's history.
    this.truncateAfter(this.committed);
    // The dropped tail may hold mutations it acknowledged, which the primary may have counted for
    // commits: its data is a member's again only once this learning completed. Named a secondary
    // or the primary before that (the learning given up, or a promotion asked for in an earlier
    // learning landing late), it refuses (found by the fault simulator: a reopened replica learned
    // again, a promotion from its learning before the reopening made it unfit for one ballot, and it
    // passed for a secondary at the next; its data happened to be whole).
    this.holdsMemberData = false;
    this.learnSignatureMax = Math.max(this.learnSignatureMax, signature);
    this.learning = { primary, signature, phase: 'requesting', cacheLast: 0, reappendedLast: 0, lastHeardMs: nowMs, lastSentMs: nowMs };
    this.setRole('learner');
    this.sendLearnRequest(nowMs);
  }

  private sendLearnRequest(nowMs: number): void {
    const learning = this.learning!;
    learning.lastSentMs = nowMs;
    this.sendTo(learning.primary, { type: 'learn', signature: learning.signature, lastCommitted: this.committed });
  }

  private onLearnReply(from: string, message: Extract<PeerMessage, { type: 'learn_reply' }>, nowMs: number): void {
    const learning = this.learning;
    if (this.currentRole !== 'learner' || !learning || learning.primary !== from || learning.signature !== message.signature) return;
    if (learning.phase !== 'requesting') return;
    if (message.err !== 'ERR_OK') {
      this.learning = undefined;
      this.setRole('inactive');
      return;
    }
    learning.lastHeardMs = nowMs;
    if (message.kind === 'checkpoint') {
      learning.phase = 'checkpoint';
      this.emit({ kind: 'fetch_checkpoint', from, signature: learning.signature });
      return;
    }
    for (const mutation of message.mutations) {
      if (mutation.decree <= this.committed) continue;
      const existing = this.entries.get(mutation.decree);
      if (existing && existing.mutation.ballot >= mutation.ballot) continue;
      this.entries.set(mutation.decree, newEntry(mutation, false));
      if (mutation.decree > this.prepared) this.prepared = mutation.decree;
      this.emit({ kind: 'append', mutation, lastCommitted: this.committed });
    }
    learning.phase = 'logging';
    learning.cacheLast = message.prepareStart - 1;
    this.commitUpTo(message.lastCommitted);
    this.checkLearnedDurable(nowMs);
  }

  private checkLearnedDurable(nowMs: number): void {
    const learning = this.learning!;
    for (let decree = this.committed + 1; decree <= learning.cacheLast; decree += 1) {
      const entry = this.entries.get(decree);
      if (!entry || !entry.logged) return;
    }
    for (let decree = learning.cacheLast + 1; decree <= learning.reappendedLast; decree += 1) {
      const entry = this.entries.get(decree);
      if (entry && !entry.logged) return;
    }
    learning.phase = 'completed';
    this.holdsMemberData = true;
    learning.lastSentMs = nowMs;
    this.sendTo(learning.primary, { type: 'learn_completed', signature: learning.signature, lastPrepared: this.prepared });
  }

  private tickLearner(nowMs: number): void {
    const learning = this.learning!;
    if (nowMs - learning.lastHeardMs >= this.options.learnTimeoutMs) {
      this.learning = undefined;
      this.setRole('inactive');
      return;
    }
    if (nowMs - learning.lastSentMs < this.options.prepareRetryMs) return;
    if (learning.phase === 'requesting') this.sendLearnRequest(nowMs);
    else if (learning.phase === 'completed') {
      learning.lastSentMs = nowMs;
      this.sendTo(learning.primary, { type: 'learn_completed', signature: learning.signature, lastPrepared: this.prepared });
    }
  }

  // -------------------------------------------------------------------------------------------
  // helpers

  private emit(action: CoreAction): void {
    this.outbox.push(action);
  }

  private sendTo(node: string, message: PeerMessage): void {
    if (node === '' || node === this.self) return;
    this.emit({ kind: 'send', to: node, message });
  }

  private setRole(role: ReplicaRole): void {
    if (role === this.currentRole) return;
    const previous = this.currentRole;
    this.currentRole = role;
    this.emit({ kind: 'role', role, previous });
  }

  /** The last decree reachable from `from` without a gap in the entries. */
  private contiguousEnd(from: number): number {
    let decree = from;
    while (this.entries.has(decree + 1)) decree += 1;
    return decree;
  }

  /** The invariants every event leaves behind (see takeActions). */
  private checkInvariants(): void {
    assert(this.committed <= this.prepared, `committed decree ${this.committed} is not past the prepared ${this.prepared}`);
    assert(this.committed >= this.committedChecked, `committed decree went back from ${this.committedChecked} to ${this.committed}`);
    assert(this.ballot >= this.ballotChecked, `ballot went back from ${this.ballotChecked} to ${this.ballot}`);
    if (this.currentRole === 'primary') {
      assert(this.membershipNow.primary === this.self, `a primary leads its membership (which names ${this.membershipNow.primary})`);
      assert(this.barrier <= this.prepared, `a primary's read barrier ${this.barrier} is not past its prepared ${this.prepared}`);
    }
    if (this.currentRole === 'secondary') {
      assert(this.membershipNow.secondaries.includes(this.self), 'a secondary is one of its membership\'s secondaries');
    }
    this.ballotChecked = this.ballot;
    this.committedChecked = this.committed;
  }

  /** Forgets every entry after `decree` (never a committed one). */
  private truncateAfter(decree: number): void {
    assert(decree >= this.committed, `truncation at ${decree} would drop committed decrees up to ${this.committed}`);
    for (const key of [...this.entries.keys()]) if (key > decree) this.entries.delete(key);
    this.prepared = decree;
  }
}

/** About how many bytes a mutation's keys and values take (what the learner cache is bounded by). */
function mutationBytes(mutation: Mutation): number {
  let bytes = 0;
  for (const write of mutation.writes) {
    switch (write.op) {
      case 'put':
        bytes += write.request.key.length + write.request.value.length;
        break;
      case 'multi_put':
        bytes += write.request.hashKey.length;
        for (const kv of write.request.kvs) bytes += kv.key.length + kv.value.length;
        break;
      case 'remove':
        bytes += write.key.length;
        break;
      default:
        bytes += 64;
    }
  }
  return bytes;
}

/** Decrees and ballots count from 0 and stay exact in a double. */
function isDecree(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function newEntry(mutation: Mutation, logged: boolean): Entry {
  return { mutation, appendedBallot: mutation.ballot, logged, acks: new Set(), sent: new Map() };
}

function sameNodes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((node) => b.includes(node));
}
