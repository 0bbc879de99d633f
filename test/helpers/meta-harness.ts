// A meta server state on an in-memory store with a hand-driven clock, plus a minimal stand-in
// for replica servers that carries out the guardian's proposals the way they would (the new
// configuration with ballot + 1, sent back as a configuration update). Deterministic: for
// unit tests and as the meta half of a cluster simulator.
import { MemoryStateStore, type MetaStateStore } from '../../src/meta/state-store.ts';
import type { FailureDetectorOptions } from '../../src/meta/failure-detector.ts';
import type { GuardianProposal } from '../../src/meta/guardian.ts';
import { MetaServerState, type MetaServerStateOptions } from '../../src/meta/server-state.ts';

export const HARNESS_START_MS = 1_700_000_000_000;

/** Short timings: lease 1 s, grace 1.5 s. */
export const HARNESS_FAILURE_DETECTOR: FailureDetectorOptions = {
  checkIntervalMs: 100,
  beaconIntervalMs: 100,
  leaseMs: 1000,
  graceMs: 1500,
  whiteList: undefined,
  stableRunningMs: 0,
  maxUnstableRestarts: 5,
};

export const HARNESS_NODES: readonly string[] = ['127.0.0.1:34801', '127.0.0.1:34802', '127.0.0.1:34803'];

export type Proposal = GuardianProposal;

export interface MetaHarness {
  state: MetaServerState;
  store: MetaStateStore;
  /** Proposals sent and not yet carried out, oldest first. */
  proposals: Proposal[];
  now(): number;
  advance(ms: number): void;
  /** A beacon from each node at the current time. */
  beacon(...nodes: string[]): Promise<void>;
  /** Carries out queued proposals whose target is alive, until none are left; returns how many took effect. */
  settle(limit?: number): Promise<number>;
}

export interface MetaHarnessOptions extends Partial<Omit<MetaServerStateOptions, 'clock' | 'sendProposal'>> {
  /** Nodes that send a first beacon at start (default HARNESS_NODES). */
  nodes?: readonly string[];
  startMs?: number;
}

export async function createMetaHarness(options: MetaHarnessOptions = {}): Promise<MetaHarness> {
  let nowMs = options.startMs ?? HARNESS_START_MS;
  const proposals: Proposal[] = [];
  const store = options.store ?? new MemoryStateStore();
  const state = await MetaServerState.open({
    clusterRoot: '/pegasus/test',
    failureDetector: HARNESS_FAILURE_DETECTOR,
    functionLevel: 'fl_steady',
    ...options,
    store,
    clock: () => nowMs,
    sendProposal: (proposal) => proposals.push(proposal),
  });
  const harness: MetaHarness = {
    state,
    store,
    proposals,
    now: () => nowMs,
    advance(ms) {
      nowMs += ms;
    },
    async beacon(...nodes) {
      for (const node of nodes) await state.onBeacon(node);
    },
    async settle(limit = 10_000) {
      let applied = 0;
      for (let step = 0; step < limit && proposals.length > 0; step++) {
        const proposal = proposals.shift()!;
        if (!state.aliveNodes().has(proposal.target)) continue;
        const result = await state.onUpdateConfiguration({ config: proposal.expected, type: proposal.type, node: proposal.node });
        if (result !== 'ignored' && result.err === 'ERR_OK') applied++;
      }
      return applied;
    },
  };
  for (const node of options.nodes ?? HARNESS_NODES) await state.onBeacon(node);
  return harness;
}
