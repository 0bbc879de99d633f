// One simulated replica server hosting the partition's replica: the real PacificA state machine
// (src/replica/pacifica/core.ts) wrapped in a small shell that does what the real I/O shell does
// with its actions, against a simulated disk and network.
//
// Disk model. The mutation log is a list of records; an append becomes durable after a random
// delay (appends become durable in order), and only then is `core.logged` called. A crash loses
// every append not yet reported durable, except that a random prefix of them may have reached
// the disk anyway (written, but the crash came before the completion was seen); the record after
// that prefix is torn and dropped. The store (key → value and its applied decree) survives a
// crash, and so does the last ballot under which the replica was a member (primary or secondary;
// saved before any message of that ballot goes out, as the real shell does). A restart builds a
// new core from the durable log and the store. A wipe empties all three.
//
// The link to the meta. The server runs the real meta link (src/replica/meta-link.ts) against
// the simulated metas: beacons, the lease, switching metas, the config sync and the meta's
// proposals, on the node's tick. It serves (reads and writes) only while the link's lease is
// valid: within `leaseMs` of sending a beacon the primary meta acknowledged, and after a lapse
// only once a config sync sent after the acknowledgement was answered (until then it may still
// believe in a configuration the meta replaced while it was away).
import { ReplicaCore, type CoreAction, type CoreOptions } from '../../src/replica/pacifica/core.ts';
import type { Membership } from '../../src/replica/pacifica/messages.ts';
import type { Mutation } from '../../src/replica/write/mutation.ts';
import { CONFIG_TYPE_VALUES, gpidText, type ConfigType, type PartitionConfiguration } from '../../src/cluster/model.ts';
import type { GuardianProposal } from '../../src/meta/guardian.ts';
import { MetaLink, proposedConfiguration, type MetaLinkAction, type MetaLinkEvent } from '../../src/replica/meta-link.ts';
import { configText } from './network.ts';
import { METAS, type SimContext, type SimMessage } from './types.ts';
import { APP_ID, type SimMeta } from './meta.ts';

export interface LogRecord {
  mutation: Mutation;
  lastCommittedDecree: number;
}

interface PendingAppend {
  record: LogRecord;
}

export class SimDisk {
  log: LogRecord[] = [];
  pending: PendingAppend[] = [];
  /** Bumped when the log is reset or the process dies: completions of older appends are void. */
  logEpoch = 0;
  lastDurableAtMs = 0;
  store = new Map<string, string>();
  applied = 0;
  ballot = 0;
}

/** What a node needs from the rest of the world. */
export interface NodeHooks {
  node(name: string): SimNode;
  /** Before `mutation` is applied to `node`'s store (checks content and order). */
  beforeApply(node: SimNode, mutation: Mutation): void;
  /** After the store changed (apply or checkpoint): checks it against the reference. */
  afterStoreChange(node: SimNode, how: string): void;
  isCut(a: string, b: string): boolean;
  /** `node` answers a client as primary (a read, or a write it accepts): checks its lease. */
  serving(node: SimNode, what: string): void;
  /** After every step of `node`'s meta link and on its ticks: checks a valid lease. */
  checkLease(node: SimNode): void;
  meta(): SimMeta;
}

export interface NodeSettings {
  core: Omit<CoreOptions, 'self'>;
  appendDelayMinMs: number;
  appendDelayMaxMs: number;
  /** Chance that a crash keeps a random prefix of the appends that were not yet reported durable. */
  tornTailRate: number;
  /** Client writes arriving within this many ms share a mutation (0: one write per mutation). */
  batchWindowMs: number;
  /** At most this many mutations prepared but not committed (the primary refuses writes beyond). */
  maxInFlight: number;
  /**
   * After a lease lapse, serve only once a config sync sent afterwards is answered (see above).
   * Off (an experiment): serving resumes as soon as a beacon is acknowledged again.
   */
  syncAfterReconnect: boolean;
  /** 0: the ballot is saved before acting on it. Otherwise saved after up to this long (lost by a crash before). */
  ballotSaveDelayMaxMs: number;
  /**
   * Experiment: a primary that steps down answers its writes in flight as failed. They may still
   * commit (a new primary re-proposes the prepared tail), so this is wrong; the sim keeps them
   * unanswered (the client times out: outcome unknown).
   */
  failWritesOnStepDown: boolean;
}

interface QueuedPut {
  client: string;
  requestId: number;
  key: string;
  value: string;
}

export class SimNode {
  up = false;
  /** Bumped by every replica open: timers of an older replica life are void. */
  incarnation = 0;
  /** Bumped by every process start: the tick loop of an older process stops. */
  private boots = 0;
  core: ReplicaCore | undefined;
  link: MetaLink | undefined;
  readonly disk = new SimDisk();
  /** The newest `answerSeq` of a config sync answer this process received (for the lease invariants). */
  syncAnswerSeq = 0;
  /** Counts configurations handed to the replica, like the stub's update counter. */
  private configSeq = 0;
  /** The config sync in flight and the configuration count when it was sent. */
  private syncInFlight: { syncId: number; configSeqAtSend: number } | undefined;
  private readonly pendingPuts = new Map<string, { client: string; requestId: number }>();
  private queuedPuts: QueuedPut[] = [];
  private checkpointSignature: number | undefined;
  private slowDiskUntilMs = 0;
  private slowDiskExtraMs = 0;
  private timestampSeq = 0;
  private lastLearningPhase: string | undefined;
  /** Mutations this node proposed and applied (for the summary). */
  applies = 0;
  /** Checkpoints installed, for the run summary. */
  checkpoints = 0;
  /** Meta switches and lease lapses, for the run summary. */
  metaSwitches = 0;
  leaseLapses = 0;

  constructor(
    readonly name: string,
    private readonly ctx: SimContext,
    private readonly hooks: NodeHooks,
    private readonly settings: NodeSettings,
  ) {}

  // -------------------------------------------------------------------------------------------
  // process lifecycle

  start(): void {
    this.up = true;
    this.boots += 1;
    const timings = this.ctx.timings;
    this.link = new MetaLink({
      self: this.name, metas: METAS, beaconIntervalMs: timings.beaconIntervalMs, leaseMs: timings.leaseMs,
      configSyncIntervalMs: timings.configSyncIntervalMs, answerTimeoutMs: timings.answerTimeoutMs,
    }, this.ctx.nowMs);
    this.syncAnswerSeq = 0;
    this.syncInFlight = undefined;
    this.openReplica();
    const boots = this.boots;
    const tick = (): void => {
      if (!this.up || this.boots !== boots) return;
      this.core?.tick(this.ctx.nowMs);
      // The link has work only when it says so (the real shell sets its timer to the same time).
      if (this.ctx.nowMs >= this.link!.nextDueMs) this.stepLink({ kind: 'tick' });
      else this.runActions();
      this.hooks.checkLease(this);
      this.ctx.schedule(timings.tickIntervalMs + this.ctx.rng.int(0, 9), () => `${this.name} tick`, tick);
    };
    tick();
  }

  /** A new state machine from what the disk holds. */
  private openReplica(): void {
    this.incarnation += 1;
    const disk = this.disk;
    this.core = new ReplicaCore({ ...this.settings.core, self: this.name }, {
      lastApplied: disk.applied,
      ballot: disk.ballot,
      records: disk.log.map((record) => ({ ...record })),
    });
    this.ctx.trace(`${this.name}: started (applied ${disk.applied}, ballot ${disk.ballot}, ${disk.log.length} log records)`);
    this.runActions();
  }

  /** The process dies: everything volatile is gone, and so is the log's unsynced tail. */
  crash(): void {
    if (!this.up) return;
    this.closeReplica('crashed');
    this.up = false;
    this.link = undefined;
  }

  /** The replica's volatile state is gone, and so is the log's unsynced tail (but for a random written prefix). */
  private closeReplica(how: string): void {
    const disk = this.disk;
    let kept = 0;
    if (disk.pending.length > 0 && this.ctx.rng.chance(this.settings.tornTailRate)) {
      kept = this.ctx.rng.int(0, disk.pending.length - 1);
      for (const append of disk.pending.slice(0, kept)) disk.log.push(append.record);
    }
    const lost = disk.pending.length - kept;
    disk.pending = [];
    disk.logEpoch += 1;
    disk.lastDurableAtMs = 0;
    // Records the store already covers are never needed again (the real log collects them too).
    disk.log = disk.log.filter((record) => record.mutation.decree > disk.applied);
    this.core = undefined;
    this.pendingPuts.clear();
    this.queuedPuts = [];
    this.checkpointSignature = undefined;
    this.ctx.trace(`${this.name}: ${how} (applied ${disk.applied}, log ${logText(disk.log)}, ${lost} unsynced appends lost${kept > 0 ? `, ${kept} written anyway` : ''})`);
  }

  /** Closes the replica and opens it again from disk: its volatile state is gone, the process (and its link to the meta) lives on. */
  reopen(why: string): void {
    if (!this.up) return;
    this.ctx.trace(`${this.name}: replica reopens (${why})`);
    this.closeReplica('replica closed');
    this.openReplica();
  }

  /** The disk is replaced while the process is down: log, store and saved ballot are gone. */
  wipe(): void {
    if (this.up) throw new Error(`${this.name}: wiped while up`);
    this.disk.log = [];
    this.disk.pending = [];
    this.disk.logEpoch += 1;
    this.disk.store = new Map();
    this.disk.applied = 0;
    this.disk.ballot = 0;
    this.ctx.trace(`${this.name}: disk wiped`);
  }

  /** A local disk error: the state machine stops (the server reopens the replica later). */
  fail(): void {
    if (!this.up || !this.core) return;
    this.core.fail();
    this.runActions();
    this.ctx.trace(`${this.name}: replica failed`);
  }

  slowDisk(extraMs: number, durationMs: number): void {
    this.slowDiskExtraMs = extraMs;
    this.slowDiskUntilMs = this.ctx.nowMs + durationMs;
  }

  /** Whether the server may serve now (see NodeSettings.syncAfterReconnect for the experiment). */
  get leaseValid(): boolean {
    const link = this.link;
    if (!this.up || !link) return false;
    if (this.settings.syncAfterReconnect) return link.leaseValid(this.ctx.nowMs);
    return this.ctx.nowMs - link.lastAckedBeaconSentMs < this.ctx.timings.leaseMs;
  }

  /** May this node answer a read right now? */
  get servesReads(): boolean {
    return this.up && this.core?.canServeReads === true && this.leaseValid;
  }

  // -------------------------------------------------------------------------------------------
  // the link to the meta

  private stepLink(event: MetaLinkEvent): void {
    const link = this.link;
    if (!link) return;
    const awaitingBefore = link.awaitingSync;
    const ackedBefore = link.lastAckedBeaconSentMs > Number.NEGATIVE_INFINITY;
    for (const action of link.step(event, this.ctx.nowMs)) this.performLink(action);
    // Not the first acknowledgement of this process: that one always waits for a sync.
    if (!awaitingBefore && link.awaitingSync && ackedBefore) this.leaseLapses += 1;
    this.runActions();
    this.hooks.checkLease(this);
  }

  private performLink(action: MetaLinkAction): void {
    const core = this.core;
    switch (action.kind) {
      case 'send_beacon':
        this.ctx.send(this.name, action.to, { type: 'beacon', beaconId: action.beaconId, sentMs: action.sentMs });
        return;
      case 'send_config_sync':
        this.syncInFlight = { syncId: action.syncId, configSeqAtSend: this.configSeq };
        this.ctx.send(this.name, action.to, {
          type: 'config_sync',
          syncId: action.syncId,
          // The ballot of its data (0 without a member's data), which the meta's DDD choice compares.
          report: core && core.role !== 'error' ? { ballot: core.dataBallot, lastCommitted: core.lastCommitted, lastPrepared: core.lastPrepared } : undefined,
        });
        return;
      case 'switch_meta':
        this.metaSwitches += 1;
        this.ctx.trace(`${this.name}: switches from ${action.from} to ${action.to}`);
        return;
      case 'connected':
        this.ctx.trace(`${this.name}: connected to ${action.meta}`);
        return;
      case 'beacon_lost':
        return;
      case 'assign':
        this.assign(action.config);
        return;
      case 'retain_only':
        // Not listed any more, though the replica thinks it is a member: the real server closes
        // such a replica; here it is reopened from disk at once (inactive, its ballot unchanged).
        if (!action.listed.has(gpidText({ appId: APP_ID, partitionIndex: 0 })) && this.configSeq <= action.updateSeqAtSend
          && (core?.role === 'primary' || core?.role === 'secondary')) {
          this.reopen('the meta no longer lists it');
        }
        return;
      case 'collect_garbage':
        // The simulated meta drops no tables.
        return;
      case 'add_learner':
        if (core?.role === 'primary' && core.ballot === action.ballot) core.addLearner(action.node, this.ctx.nowMs);
        return;
      case 'update_config':
        this.ctx.send(this.name, this.link!.meta, { type: 'update_config', config: action.config, change: action.type, node: action.node });
        return;
      case 'proposal_ignored':
        this.ctx.trace(`${this.name}: proposal of type ${action.type} ignored`);
        return;
    }
  }

  /** A configuration from the meta, handed to the replica (the stub's update). */
  private assign(config: PartitionConfiguration): void {
    this.configSeq += 1;
    this.core?.onConfig(membershipOf(config), this.ctx.nowMs);
  }

  // -------------------------------------------------------------------------------------------
  // messages

  onMessage(from: string, message: SimMessage): void {
    if (!this.up) return;
    const core = this.core;
    const now = this.ctx.nowMs;
    switch (message.type) {
      case 'peer':
        core?.onMessage(from, message.message, now);
        break;
      case 'beacon_ack':
        this.stepLink({ kind: 'beacon_answered', beaconId: message.beaconId, allowed: true, isPrimary: message.isPrimary, primary: message.primary });
        return;
      case 'config_push':
      case 'update_reply':
        this.assign(message.config);
        break;
      case 'config_sync_reply': {
        const sync = this.syncInFlight;
        if (!sync || sync.syncId !== message.syncId) return;
        this.syncInFlight = undefined;
        if (message.err !== 'ERR_OK') {
          this.stepLink({ kind: 'sync_failed', syncId: message.syncId });
          return;
        }
        this.syncAnswerSeq = Math.max(this.syncAnswerSeq, message.answerSeq);
        const partitions = message.config ? [{ info: this.hooks.meta().app, config: message.config }] : [];
        this.stepLink({ kind: 'sync_answered', syncId: message.syncId, partitions, garbage: [], updateSeqAtSend: sync.configSeqAtSend });
        return;
      }
      case 'proposal':
        this.onProposal(message.proposal);
        return;
      case 'client_put':
        this.onClientPut(from, message.requestId, message.key, message.value);
        break;
      case 'client_get':
        if (this.servesReads) {
          this.hooks.serving(this, `a read of ${message.key}`);
          const value = this.disk.store.get(message.key);
          this.ctx.send(this.name, from, { type: 'client_reply', requestId: message.requestId, ok: true, ...(value !== undefined && { value }) });
        } else {
          this.ctx.send(this.name, from, { type: 'client_reply', requestId: message.requestId, ok: false, error: 'ERR_INVALID_STATE' });
        }
        break;
      default:
        break;
    }
    this.runActions();
  }

  /** A configuration proposal from the meta, carried out by the meta link as on the real server. */
  private onProposal(proposal: GuardianProposal): void {
    const core = this.core;
    this.stepLink({
      kind: 'proposal', info: this.hooks.meta().app, config: proposal.config, type: CONFIG_TYPE_VALUES[proposal.type], node: proposal.node,
      local: core && { ballot: core.ballot, lastCommitted: core.lastCommitted },
    });
  }

  /** Asks the meta to move from `base` to the next ballot by `type` of `node`. */
  private requestChange(base: PartitionConfiguration, type: ConfigType, node: string): void {
    const next = proposedConfiguration(base, type, node, this.core?.lastCommitted ?? 0);
    if (next && this.link) this.ctx.send(this.name, this.link.meta, { type: 'update_config', config: next, change: type, node });
  }

  // -------------------------------------------------------------------------------------------
  // client writes

  private onClientPut(client: string, requestId: number, key: string, value: string): void {
    const core = this.core;
    const refuse = (error: string): void => this.ctx.send(this.name, client, { type: 'client_reply', requestId, ok: false, error });
    if (!core || core.role !== 'primary' || !this.leaseValid) return refuse('ERR_INVALID_STATE');
    if (core.membership.secondaries.length + 1 < 2) return refuse('ERR_NOT_ENOUGH_MEMBER');
    this.hooks.serving(this, `a write of ${key}`);
    if (core.lastPrepared - core.lastCommitted >= this.settings.maxInFlight) return refuse('ERR_BUSY');
    this.queuedPuts.push({ client, requestId, key, value });
    if (this.settings.batchWindowMs === 0) {
      this.flushPuts();
    } else if (this.queuedPuts.length === 1) {
      const incarnation = this.incarnation;
      this.ctx.schedule(this.ctx.rng.int(0, this.settings.batchWindowMs), () => `${this.name} flush writes`, () => {
        if (this.up && this.incarnation === incarnation) this.flushPuts();
      });
    }
  }

  private flushPuts(): void {
    const puts = this.queuedPuts;
    this.queuedPuts = [];
    if (puts.length === 0) return;
    const core = this.core;
    if (!core || core.role !== 'primary') {
      for (const put of puts) this.ctx.send(this.name, put.client, { type: 'client_reply', requestId: put.requestId, ok: false, error: 'ERR_INVALID_STATE' });
      return;
    }
    this.timestampSeq += 1;
    const mutation: Mutation = {
      decree: core.lastPrepared + 1,
      ballot: core.ballot,
      timestampUs: BigInt(this.ctx.nowMs) * 1000n + BigInt(this.timestampSeq % 1000),
      writes: puts.map((put) => ({ op: 'put', request: { key: Buffer.from(put.key), value: Buffer.from(put.value), expireTsSeconds: 0 } })),
    };
    for (const put of puts) this.pendingPuts.set(put.value, { client: put.client, requestId: put.requestId });
    core.propose(mutation, this.ctx.nowMs);
    this.runActions();
  }

  // -------------------------------------------------------------------------------------------
  // actions

  /** Carries out everything the state machine asked for, until it has nothing more to say. */
  runActions(): void {
    const core = this.core;
    if (!core) return;
    for (let rounds = 0; ; rounds++) {
      if (rounds > 10_000) throw new Error(`${this.name}: the state machine keeps producing actions`);
      const actions = core.takeActions();
      if (actions.length === 0) break;
      for (const action of actions) this.execute(core, action);
    }
    // The ballot goes to disk before anything of the new ballot leaves (no await in between here),
    // unless the experiment saves it later, the way a shell that writes it in the background does.
    // Like the real shell (src/replica/replica.ts), only a member saves it: a saved ballot also
    // says that the data on this disk is a member's (a learner's or a wiped replica's is not).
    if ((core.role === 'primary' || core.role === 'secondary') && core.ballot > this.disk.ballot) {
      const ballot = core.ballot;
      if (this.settings.ballotSaveDelayMaxMs === 0) {
        this.disk.ballot = ballot;
      } else {
        const incarnation = this.incarnation;
        this.ctx.schedule(this.ctx.rng.int(0, this.settings.ballotSaveDelayMaxMs), () => `${this.name} ballot ${ballot} saved`, () => {
          if (this.up && this.incarnation === incarnation && ballot > this.disk.ballot) this.disk.ballot = ballot;
        });
      }
    }
    const phase = core.learningPhase;
    if (phase !== this.lastLearningPhase) {
      this.lastLearningPhase = phase;
      if (phase !== undefined) this.ctx.trace(`${this.name}: learning ${phase} (committed ${core.lastCommitted}, prepared ${core.lastPrepared})`);
    }
  }

  private execute(core: ReplicaCore, action: CoreAction): void {
    switch (action.kind) {
      case 'append':
        this.append({ mutation: action.mutation, lastCommittedDecree: action.lastCommitted });
        return;
      case 'apply':
        this.apply(action.mutation);
        return;
      case 'send':
        this.ctx.send(this.name, action.to, { type: 'peer', message: action.message });
        return;
      case 'change': {
        const membership = core.membership;
        if (action.ballot !== membership.ballot) {
          this.ctx.trace(`${this.name}: change ${action.type} ${action.node} of ballot ${action.ballot} is stale (now ${membership.ballot})`);
          return;
        }
        this.requestChange(configOf(membership), action.type, action.node);
        return;
      }
      case 'fetch_checkpoint':
        this.fetchCheckpoint(action.from, action.signature);
        return;
      case 'role':
        this.ctx.trace(`${this.name}: ${action.previous} → ${action.role} at ${configText(core.membership)}`);
        if (action.previous === 'primary' && this.settings.failWritesOnStepDown) {
          // The experiment: answer the writes in flight as failed, though they may still commit.
          for (const [value, waiting] of this.pendingPuts) {
            this.pendingPuts.delete(value);
            this.ctx.send(this.name, waiting.client, { type: 'client_reply', requestId: waiting.requestId, ok: false, error: 'ERR_INVALID_STATE' });
          }
        }
        return;
    }
  }

  private append(record: LogRecord): void {
    const disk = this.disk;
    const now = this.ctx.nowMs;
    let delayMs = this.ctx.rng.int(this.settings.appendDelayMinMs, this.settings.appendDelayMaxMs);
    if (now < this.slowDiskUntilMs) delayMs += this.ctx.rng.int(0, this.slowDiskExtraMs);
    const durableAtMs = Math.max(disk.lastDurableAtMs, now + delayMs);
    disk.lastDurableAtMs = durableAtMs;
    const pending: PendingAppend = { record };
    disk.pending.push(pending);
    const epoch = disk.logEpoch;
    const { decree, ballot } = record.mutation;
    this.ctx.schedule(durableAtMs - now, () => `${this.name} log d${decree}b${ballot} durable`, () => {
      if (!this.up || disk.logEpoch !== epoch) return;
      if (disk.pending[0] !== pending) throw new Error(`${this.name}: log appends became durable out of order`);
      disk.pending.shift();
      disk.log.push(record);
      this.core?.logged(decree, ballot, this.ctx.nowMs);
      this.runActions();
    });
  }

  private apply(mutation: Mutation): void {
    this.hooks.beforeApply(this, mutation);
    const disk = this.disk;
    for (const write of mutation.writes) {
      if (write.op !== 'put') throw new Error(`the simulator only writes puts, got ${write.op}`);
      disk.store.set(write.request.key.toString(), write.request.value.toString());
    }
    disk.applied = mutation.decree;
    this.applies += 1;
    this.hooks.afterStoreChange(this, `apply d${mutation.decree}`);
    for (const write of mutation.writes) {
      if (write.op !== 'put') continue;
      const value = write.request.value.toString();
      const waiting = this.pendingPuts.get(value);
      if (!waiting) continue;
      this.pendingPuts.delete(value);
      this.ctx.send(this.name, waiting.client, { type: 'client_reply', requestId: waiting.requestId, ok: true });
    }
  }

  /** Copies `from`'s store after a while, if both are up and can reach each other. */
  private fetchCheckpoint(from: string, signature: number): void {
    this.checkpointSignature = signature;
    const incarnation = this.incarnation;
    this.ctx.schedule(this.ctx.rng.int(5, 200), () => `${this.name} checkpoint from ${from} sig${signature} done`, () => {
      const core = this.core;
      if (!this.up || this.incarnation !== incarnation || !core) return;
      // A stale copy (the learner moved on): the state machine would ignore it, so the store must not change.
      if (this.checkpointSignature !== signature || core.role !== 'learner' || core.learningPhase !== 'checkpoint') return;
      const source = this.hooks.node(from);
      if (!source.up || this.hooks.isCut(this.name, from)) {
        this.ctx.trace(`${this.name}: checkpoint copy from ${from} failed`);
        core.checkpointFailed(signature, this.ctx.nowMs);
        this.runActions();
        return;
      }
      const disk = this.disk;
      disk.store = new Map(source.disk.store);
      disk.applied = source.disk.applied;
      disk.log = [];
      disk.pending = [];
      disk.logEpoch += 1;
      disk.lastDurableAtMs = 0;
      this.checkpoints += 1;
      this.hooks.afterStoreChange(this, `checkpoint from ${from} at d${disk.applied}`);
      core.checkpointInstalled(signature, disk.applied, this.ctx.nowMs);
      this.runActions();
    });
  }
}

function logText(log: readonly LogRecord[]): string {
  if (log.length === 0) return 'empty';
  const shown = log.slice(-8).map((record) => `d${record.mutation.decree}b${record.mutation.ballot}`);
  return `[${log.length > 8 ? '… ' : ''}${shown.join(' ')}]`;
}

export function membershipOf(config: PartitionConfiguration): Membership {
  return { ballot: config.ballot, primary: config.primary, secondaries: [...config.secondaries] };
}

function configOf(membership: Membership): PartitionConfiguration {
  return {
    gpid: { appId: APP_ID, partitionIndex: 0 },
    ballot: membership.ballot,
    maxReplicaCount: 3,
    primary: membership.primary,
    secondaries: [...membership.secondaries],
    lastDrops: [],
    lastCommittedDecree: 0,
    partitionFlags: 0,
  };
}
