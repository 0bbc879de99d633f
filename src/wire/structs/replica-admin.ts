// Structs a tool sends straight to a replica server (idl/replica_admin.thrift): hot-key
// detection on one of its replicas.
import type { Gpid } from '../../base/gpid.ts';
import { errorCodeType, gpidType } from './placeholders.ts';
import { defineStruct, i32Type, stringType, type StructType } from './types.ts';

/** idl/replica_admin.thrift hotkey_type. */
export enum HotkeyType {
  READ = 0,
  WRITE = 1,
}

/** idl/replica_admin.thrift detect_action. */
export enum DetectAction {
  START = 0,
  STOP = 1,
  QUERY = 2,
}

export interface DetectHotkeyRequest {
  /** A HotkeyType; any other number is answered ERR_INVALID_PARAMETERS. */
  type: number;
  /** A DetectAction; likewise. */
  action: number;
  pid: Gpid;
}
export const detectHotkeyRequestCodec: StructType<DetectHotkeyRequest> = defineStruct<DetectHotkeyRequest>('detect_hotkey_request', [
  { id: 1, name: 'type', type: i32Type },
  { id: 2, name: 'action', type: i32Type },
  { id: 3, name: 'pid', type: gpidType },
]);

export interface DetectHotkeyResponse {
  err: string;
  errHint?: string;
  /** QUERY of a finished detection: the hot hash key, C-escaped. */
  hotkeyResult?: string;
}
export const detectHotkeyResponseCodec: StructType<DetectHotkeyResponse> = defineStruct<DetectHotkeyResponse>('detect_hotkey_response', [
  { id: 1, name: 'err', type: errorCodeType },
  { id: 2, name: 'errHint', type: stringType, optional: true },
  { id: 3, name: 'hotkeyResult', type: stringType, optional: true },
]);

const HOTKEY_TYPE_BY_NAME: ReadonlyMap<string, HotkeyType> = new Map([['read', HotkeyType.READ], ['write', HotkeyType.WRITE]]);
const DETECT_ACTION_BY_NAME: ReadonlyMap<string, DetectAction> = new Map([
  ['start', DetectAction.START], ['stop', DetectAction.STOP], ['query', DetectAction.QUERY],
]);

/** `read`/`write` as the tools type them (any case), or undefined. */
export function hotkeyTypeFromName(name: string): HotkeyType | undefined {
  return HOTKEY_TYPE_BY_NAME.get(name.toLowerCase());
}

/** `start`/`stop`/`query` as the tools type them (any case), or undefined. */
export function detectActionFromName(name: string): DetectAction | undefined {
  return DETECT_ACTION_BY_NAME.get(name.toLowerCase());
}
