// A duplication query answer as Pegasus renders it (duplication_query_response_to_string in
// src/common/duplication_common.cpp): what /meta/app/duplication answers and `query_dup -d`
// prints. nlohmann's JSON: keys sorted, entries numbered from 1, and `null` for no entry.
import { formatLocalTime } from '../base/index.ts';
import { nj } from '../net/index.ts';
import { DuplicationFailMode, DuplicationStatus, type DuplicationEntry } from '../wire/index.ts';

export function duplicationStatusName(status: DuplicationStatus): string {
  return DuplicationStatus[status] ?? `DS_${status}`;
}

export function duplicationFailModeName(mode: DuplicationFailMode): string {
  return DuplicationFailMode[mode] ?? `FAIL_${mode}`;
}

function entryJson(entry: DuplicationEntry): Record<string, unknown> {
  const json: Record<string, unknown> = {
    dupid: entry.dupid,
    create_ts: formatLocalTime(new Date(Number(entry.createTs))),
    remote: entry.remote,
    status: duplicationStatusName(entry.status),
    fail_mode: duplicationFailModeName(entry.failMode ?? DuplicationFailMode.FAIL_SLOW),
  };
  if (entry.progress) json.progress = Object.fromEntries([...entry.progress].map(([index, decree]) => [String(index), Number(decree)]));
  if (entry.remoteAppName !== undefined) json.remote_app_name = entry.remoteAppName;
  if (entry.remoteReplicaCount !== undefined) json.remote_replica_count = entry.remoteReplicaCount;
  if (entry.partitionStates) {
    json.partition_states = Object.fromEntries([...entry.partitionStates].map(([index, state]) => [
      String(index), { confirmed_decree: Number(state.confirmedDecree), last_committed_decree: Number(state.lastCommittedDecree) },
    ]));
  }
  return json;
}

/** `{"1":{…},"2":{…},"appid":N}`, or `null` when the table has no duplication. */
export function duplicationQueryJson(appid: number, entries: readonly DuplicationEntry[]): string {
  if (entries.length === 0) return 'null';
  const json: Record<string, unknown> = { appid };
  entries.forEach((entry, index) => (json[String(index + 1)] = entryJson(entry)));
  return nj(json);
}
