// What the replicas of one partition say to each other (PacificA, spec pegasus-arch §3.2–§3.6).
// Every message is one-way: a reply is a message of its own back to the sender. The replica
// state machine only ever sees these shapes; the I/O shell encodes them for the wire
// (src/wire/structs/peer.ts) and the simulator passes them around as they are.
import type { Mutation } from '../write/mutation.ts';

/** The partition's membership under one ballot, as the primary of that ballot sees it. */
export interface Membership {
  ballot: number;
  /** '' when the partition has no primary. */
  primary: string;
  secondaries: readonly string[];
}

export type PeerError = 'ERR_OK' | 'ERR_VERSION_OUTDATED' | 'ERR_INVALID_STATE' | 'ERR_OBJECT_NOT_FOUND';

export type PeerMessage =
  /** Primary → secondary or learner: log this mutation; everything up to `lastCommitted` is committed. */
  | { type: 'prepare'; membership: Membership; lastCommitted: number; mutation: Mutation }
  /** The receiver has the mutation (decree, ballot) durable in its log, or says why not. */
  | { type: 'prepare_ack'; err: PeerError; ballot: number; decree: number; mutationBallot: number }
  /** Primary → members and learners, periodically: the membership and the commit point. */
  | { type: 'group_check'; membership: Membership; lastCommitted: number; learnerSignature: number }
  | { type: 'group_check_ack'; err: PeerError; ballot: number; lastCommitted: number; lastPrepared: number }
  /** Primary → a node it was asked to add: start learning under this signature. */
  | { type: 'add_learner'; membership: Membership; signature: number }
  /** Learner → primary: what it has, so the primary can tell it what is missing. */
  | { type: 'learn'; signature: number; lastCommitted: number }
  /**
   * Primary → learner. `cache`: the mutations after the learner's commit point, and prepares
   * follow from `prepareStart`. `checkpoint`: too far behind; copy the primary's store first.
   */
  | {
    type: 'learn_reply'; err: PeerError; membership: Membership; signature: number; kind: 'cache' | 'checkpoint';
    lastCommitted: number; prepareStart: number; mutations: readonly Mutation[];
  }
  /** Learner → primary: the learned mutations are durable; make me a secondary. */
  | { type: 'learn_completed'; signature: number; lastPrepared: number };

export type PeerMessageType = PeerMessage['type'];
