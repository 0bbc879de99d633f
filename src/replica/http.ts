// The replica server's admin HTTP calls (spec pegasus-http §6).
import { duplicationEnabled } from '../cluster/index.ts';
import { parseCInteger } from '../config/index.ts';
import { nj, type AdminRequest, type AdminResponse, type HttpRouter } from '../net/index.ts';
import { DuplicationFailMode, PartitionStatus } from '../wire/index.ts';
import type { ReplicaStub } from './stub.ts';

const INT32_MAX = 0x7fffffffn;

/** Pegasus's buf2int32 for query parameters; only values >= 0 are accepted here. */
function parseAppId(text: string): number | undefined {
  const value = parseCInteger(text, false);
  return value === undefined || value < 0n || value > INT32_MAX ? undefined : Number(value);
}

/** `/replica/data_version?app_id=<id>`: the value schema version of each replica of a table here. */
export function dataVersionCall(stub: ReplicaStub, request: AdminRequest): AdminResponse {
  const raw = request.query.get('app_id');
  if (raw === undefined) return { status: 400, body: 'app_id should not be empty' };
  const appId = parseAppId(raw);
  if (appId === undefined) return { status: 400, body: `invalid app_id=${raw}` };
  const versions: Record<string, { data_version: string }> = {};
  for (const { partitionIndex, dataVersion } of stub.partitionsOfApp(appId)) {
    if (dataVersion !== undefined) versions[String(partitionIndex)] = { data_version: String(dataVersion) };
  }
  if (Object.keys(versions).length === 0) return { status: 404, body: `app_id=${raw} not found` };
  return { status: 200, body: nj(versions) };
}

/**
 * `/replica/manual_compaction?app_id=<id>`: this node's primaries and secondaries of a table by
 * manual-compaction status; all zeros when it hosts none (spec pegasus-http §6.3).
 */
export function manualCompactionCall(stub: ReplicaStub, request: AdminRequest): AdminResponse {
  const raw = request.query.get('app_id');
  if (raw === undefined) return { status: 400, body: 'app_id should not be empty' };
  const appId = parseAppId(raw);
  if (appId === undefined) return { status: 400, body: `invalid app_id=${raw}` };
  const counts = { finished: 0, idle: 0, queuing: 0, running: 0 };
  for (const replica of stub.replicas()) {
    if (replica.gpid.appId !== appId) continue;
    if (replica.status !== PartitionStatus.PS_PRIMARY && replica.status !== PartitionStatus.PS_SECONDARY) continue;
    const status = replica.compaction.status();
    if (status === 'FINISHED') counts.finished += 1;
    else if (status === 'IDLE') counts.idle += 1;
    else if (status === 'QUEUING') counts.queuing += 1;
    else counts.running += 1;
  }
  return { status: 200, body: nj({ status: counts }) };
}

interface DuplicationStateJson {
  duplicating: boolean;
  fail_mode: string;
  not_confirmed_mutations_num: number;
  not_duplicated_mutations_num: number;
  remote_app_name: string;
}

/**
 * `/replica/duplication?appid=<id>`: per duplication, each primary of the table here with its
 * lag behind the last committed decree, unconfirmed and unshipped (spec pegasus-http §6.1).
 */
export function duplicationCall(stub: ReplicaStub, request: AdminRequest): AdminResponse {
  if (!duplicationEnabled.value) return { status: 404, body: 'duplication is not enabled [FLAGS_duplication_enabled=false]' };
  const raw = request.query.get('appid');
  if (raw === undefined) return { status: 400, body: 'appid should not be empty' };
  const appId = parseAppId(raw);
  if (appId === undefined) return { status: 400, body: `invalid appid=${raw}` };
  const primaries = stub.replicas().filter((replica) => replica.gpid.appId === appId && replica.status === PartitionStatus.PS_PRIMARY);
  if (primaries.length === 0) return { status: 404, body: `no primary for app [appid=${appId}]` };
  const byDupid: Record<string, Record<string, DuplicationStateJson>> = {};
  for (const replica of primaries) {
    const lastCommitted = replica.lastCommittedDecree;
    for (const state of replica.duplication.states()) {
      (byDupid[String(state.dupid)] ??= {})[`${replica.gpid.appId}.${replica.gpid.partitionIndex}`] = {
        duplicating: state.duplicating,
        fail_mode: DuplicationFailMode[state.failMode] ?? String(state.failMode),
        not_confirmed_mutations_num: Math.max(0, lastCommitted - state.confirmedDecree),
        not_duplicated_mutations_num: Math.max(0, lastCommitted - state.lastDecree),
        remote_app_name: state.remoteAppName,
      };
    }
  }
  if (Object.keys(byDupid).length === 0) return { status: 404, body: `no duplication assigned for app [appid=${appId}]` };
  return { status: 200, body: nj(byDupid) };
}

export function registerReplicaHttpCalls(router: HttpRouter, stub: ReplicaStub): void {
  router.register({
    path: 'replica/data_version',
    parameters: 'app_id=<app_id>',
    description: 'Query the data version of an app.',
    handler: (request) => dataVersionCall(stub, request),
  });
  router.register({
    path: 'replica/manual_compaction',
    parameters: 'app_id=<app_id>',
    description: 'Query the manual compaction status of an app.',
    handler: (request) => manualCompactionCall(stub, request),
  });
  router.register({
    path: 'replica/duplication',
    parameters: 'appid=<appid>',
    description: 'Query the duplication status of an app.',
    handler: (request) => duplicationCall(stub, request),
  });
}
