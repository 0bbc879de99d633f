// The replica server: hosted replicas (stub), their write path and the RRDB data plane.
export { ReplicaStub, type ReplicaStubOptions } from './stub.ts';
export { Replica, envsOf, type ReplicaEnvs, type ReplicaState } from './replica.ts';
export { MutationPath, StoreApplier, type MutationCommitter, type MutationPathOptions, type CommitResult } from './write/mutation-path.ts';
export { isAtomicWrite, isBatchable, readsBeforeWrite, type ClientWrite, type Mutation, type WriteOutcome } from './write/mutation.ts';
export { applyMutationWrites, type ApplyEnv, type AppliedMutation } from './write/apply-writes.ts';
export { STATUS_OK, STATUS_NOT_FOUND, STATUS_INVALID_ARGUMENT, STATUS_INCOMPLETE, STATUS_TRY_AGAIN } from './status.ts';
export { MetaLink, proposedConfiguration, type MetaLinkAction, type MetaLinkEvent, type MetaLinkOptions, type SyncedPartition } from './meta-link.ts';
export { registerDataPlane, slowQueryThresholdNsOf, type DataPlane } from './data-plane.ts';
export {
  USAGE_SCENARIOS, USAGE_SCENARIO_ENV, WRITE_BUFFER_SIZE_ENV, META_USAGE_SCENARIO, SCENARIO_SETTINGS, parseUsageScenario, writeBufferBytesFor,
  type UsageScenario, type ScenarioSettings,
} from './usage-scenario.ts';
export { registerReplicaHttpCalls, dataVersionCall, duplicationCall } from './http.ts';
export { decodeRawMessage, duplicateRequestRefusal, isDuplicatedWrite, rawMessageOf, type DuplicatedWrite } from './write/duplicated-writes.ts';
export * from './duplication/index.ts';
export { evaluateCheck, matchesFilter, parseInt64, isFilterTypeSupported, isCheckTypeSupported } from './predicates.ts';
export * from './flags.ts';
