// The replica server's admin HTTP calls (spec pegasus-http §6).
import { parseCInteger } from '../config/index.ts';
import { nj, type AdminRequest, type AdminResponse, type HttpRouter } from '../net/index.ts';
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

export function registerReplicaHttpCalls(router: HttpRouter, stub: ReplicaStub): void {
  router.register({
    path: 'replica/data_version',
    parameters: 'app_id=<app_id>',
    description: 'Query the data version of an app.',
    handler: (request) => dataVersionCall(stub, request),
  });
}
