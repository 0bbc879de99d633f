// Connection negotiation (idl/security.thrift): `RPC_NEGOTIATION` exchanges a status and a blob.
// Pteron speaks its SASL PLAIN mechanism: the blob of SASL_INITIATE is `authzid\0authcid\0password`.
import { blobType } from './placeholders.ts';
import { defineStruct, i32Type, type StructType } from './types.ts';

export enum NegotiationStatus {
  INVALID = 0,
  SASL_LIST_MECHANISMS = 1,
  SASL_LIST_MECHANISMS_RESP = 2,
  SASL_SELECT_MECHANISMS = 3,
  SASL_SELECT_MECHANISMS_RESP = 4,
  SASL_INITIATE = 5,
  SASL_CHALLENGE = 6,
  SASL_CHALLENGE_RESP = 7,
  SASL_SUCC = 8,
  SASL_AUTH_DISABLE = 9,
  SASL_AUTH_FAIL = 10,
}

export interface NegotiationMessage {
  status: NegotiationStatus;
  msg: Buffer;
}

const negotiationFields = [
  { id: 1, name: 'status', type: i32Type },
  { id: 2, name: 'msg', type: blobType },
] as const;
export const negotiationRequestCodec: StructType<NegotiationMessage> = defineStruct<NegotiationMessage>('negotiation_request', [...negotiationFields]);
export const negotiationResponseCodec: StructType<NegotiationMessage> = defineStruct<NegotiationMessage>('negotiation_response', [...negotiationFields]);
