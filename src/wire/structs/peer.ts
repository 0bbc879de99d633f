// Replica-to-replica messages of PacificA (prepare, group check, learning). Pteron's own layout:
// mixed clusters of Pegasus and Pteron replica servers are not a goal, so one flat struct
// carries every message type, with the fields a type does not use left out. Mutations travel as
// opaque bytes (the replica layer's mutation codec). The checkpoint copy of learning is a call:
// the learner pulls the primary's checkpoint file chunk by chunk.
import type { Gpid } from '../../base/gpid.ts';
import { errorCodeType, gpidType } from './placeholders.ts';
import { binaryType, boolType, defineStruct, i64Type, listOf, stringType, type StructType } from './types.ts';

export interface PeerMessageWire {
  gpid: Gpid;
  /** The sender as host:port. */
  from: string;
  type: string;
  err?: string;
  ballot?: bigint;
  primary?: string;
  secondaries?: string[];
  lastCommitted?: bigint;
  decree?: bigint;
  mutationBallot?: bigint;
  mutations?: Buffer[];
  signature?: bigint;
  kind?: string;
  prepareStart?: bigint;
  lastPrepared?: bigint;
  /** add_learner: the table, as the JSON the replica keeps in `.app-info`, so a new learner can open. */
  appInfo?: string;
}
export const peerMessageCodec: StructType<PeerMessageWire> = defineStruct<PeerMessageWire>('peer_message', [
  { id: 1, name: 'gpid', type: gpidType },
  { id: 2, name: 'from', type: stringType },
  { id: 3, name: 'type', type: stringType },
  { id: 4, name: 'err', type: errorCodeType, optional: true },
  { id: 5, name: 'ballot', type: i64Type, optional: true },
  { id: 6, name: 'primary', type: stringType, optional: true },
  { id: 7, name: 'secondaries', type: listOf(stringType), optional: true },
  { id: 8, name: 'lastCommitted', type: i64Type, optional: true },
  { id: 9, name: 'decree', type: i64Type, optional: true },
  { id: 10, name: 'mutationBallot', type: i64Type, optional: true },
  { id: 11, name: 'mutations', type: listOf(binaryType), optional: true },
  { id: 12, name: 'signature', type: i64Type, optional: true },
  { id: 13, name: 'kind', type: stringType, optional: true },
  { id: 14, name: 'prepareStart', type: i64Type, optional: true },
  { id: 15, name: 'lastPrepared', type: i64Type, optional: true },
  { id: 16, name: 'appInfo', type: stringType, optional: true },
]);

export interface CheckpointChunkRequest {
  gpid: Gpid;
  /** The learner as host:port, and the learning signature the primary gave it. */
  learner: string;
  signature: bigint;
  offset: bigint;
}
export const checkpointChunkRequestCodec: StructType<CheckpointChunkRequest> = defineStruct<CheckpointChunkRequest>('checkpoint_chunk_request', [
  { id: 1, name: 'gpid', type: gpidType },
  { id: 2, name: 'learner', type: stringType },
  { id: 3, name: 'signature', type: i64Type },
  { id: 4, name: 'offset', type: i64Type },
]);

export interface CheckpointChunkResponse {
  err: string;
  /** The decree the checkpoint holds the state after. */
  decree: bigint;
  totalBytes: bigint;
  data: Buffer;
  eof: boolean;
}
export const checkpointChunkResponseCodec: StructType<CheckpointChunkResponse> = defineStruct<CheckpointChunkResponse>('checkpoint_chunk_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'decree', type: i64Type },
  { id: 3, name: 'totalBytes', type: i64Type },
  { id: 4, name: 'data', type: binaryType },
  { id: 5, name: 'eof', type: boolType },
]);
