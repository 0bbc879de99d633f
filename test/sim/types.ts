// What the simulator's parts say to each other, and the context they share. Every message
// travels through the simulated network (delay, loss, duplication, partitions), except that
// client requests are never duplicated: a client's connection is a stream, and a write applied
// twice would not be a bug of the replication protocol.
import type { ConfigType, PartitionConfiguration } from '../../src/cluster/model.ts';
import type { GuardianProposal } from '../../src/meta/guardian.ts';
import type { PeerMessage } from '../../src/replica/pacifica/messages.ts';
import type { Label } from './event-queue.ts';
import type { Prng } from '../helpers/prng.ts';

/**
 * The meta servers' addresses: one meta state (the simulated meta) served at each, one of them the
 * primary at a time; the others are backups that redirect beacons to it and refuse the rest.
 */
export const METAS: readonly string[] = ['meta1', 'meta2', 'meta3'];

/** What a replica reports about itself in a config sync (feeds the meta's dropped history). */
export interface ReplicaReport {
  ballot: number;
  lastCommitted: number;
  lastPrepared: number;
}

export type SimMessage =
  /** replica ↔ replica */
  | { type: 'peer'; message: PeerMessage }
  /** replica → meta */
  | { type: 'beacon'; beaconId: number; sentMs: number }
  | { type: 'update_config'; config: PartitionConfiguration; change: ConfigType; node: string }
  | { type: 'config_sync'; syncId: number; report: ReplicaReport | undefined }
  /** meta → replica; a backup answers `isPrimary` false and names the primary if it knows it. */
  | { type: 'beacon_ack'; beaconId: number; sentMs: number; isPrimary: boolean; primary: string | undefined }
  | { type: 'update_reply'; err: string; config: PartitionConfiguration }
  | { type: 'config_push'; config: PartitionConfiguration }
  /**
   * `config` only when the node is a member (the real meta lists only the partitions a node
   * serves); a backup answers ERR_FORWARD_TO_OTHERS. `answerSeq` orders the answer among the
   * meta's answers and death declarations (for the lease invariants; not on the real wire).
   */
  | { type: 'config_sync_reply'; syncId: number; err: 'ERR_OK' | 'ERR_FORWARD_TO_OTHERS'; config: PartitionConfiguration | undefined; answerSeq: number }
  | { type: 'proposal'; proposal: GuardianProposal }
  /** client ↔ meta */
  | { type: 'query_config'; queryId: number }
  | { type: 'query_reply'; queryId: number; config: PartitionConfiguration }
  /** client ↔ replica */
  | { type: 'client_put'; requestId: number; key: string; value: string }
  | { type: 'client_get'; requestId: number; key: string }
  | { type: 'client_reply'; requestId: number; ok: boolean; value?: string; error?: string };

export interface SimTimings {
  /** Replica → meta beacons. */
  beaconIntervalMs: number;
  /** A replica serves reads only within this long of sending a beacon the meta acknowledged. */
  leaseMs: number;
  /** A beacon or config sync the meta has not answered within this long has failed. */
  answerTimeoutMs: number;
  /** The meta declares a replica dead after this long without a beacon (> leaseMs). */
  graceMs: number;
  configSyncIntervalMs: number;
  metaFdCheckIntervalMs: number;
  metaCheckAllIntervalMs: number;
  replicaAssignDelayMsForDropouts: number;
  tickIntervalMs: number;
}

/** What every part of the simulation reaches: the clock, the randomness, the agenda, the wire. */
export interface SimContext {
  readonly nowMs: number;
  readonly rng: Prng;
  readonly timings: SimTimings;
  schedule(delayMs: number, label: Label, run: () => void): void;
  send(from: string, to: string, message: SimMessage): void;
  trace(text: string): void;
  /** A safety violation: stops the run. */
  violation(text: string): void;
}
