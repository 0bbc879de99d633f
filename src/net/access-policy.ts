// Who may make a call that changes a server's state. Every HTTP call and every RPC is of one
// kind, from the tables below:
// - `read`: answers without changing anything (GET /meta/app, /metrics, list and query RPCs);
// - `data`: the data plane, Pegasus's client traffic (reads and writes of table data);
// - `peer`: what the servers of a cluster send one another (beacons, config sync, proposals,
//   PacificA's prepare and learn, duplication sync, a split's registration);
// - `admin`: what an operator sends to change the cluster or a server (create/drop tables,
//   control_meta, /updateConfig, /api, the supervisor's restarts).
// `read` and `data` calls are always served. A `peer` or `admin` call is served when the caller
// is trusted (its address is in `[security] trusted_addresses`: loopback by default) or presents
// `[security] admin_secret`; otherwise it is refused (HTTP 403, RPC ERR_ACL_DENY), unless
// `[security] allow_remote_admin_without_secret` turns the check off. The servers of a cluster
// present the secret on every connection they open, so peers on other machines keep working.
// Pure functions over an address, headers and the settings, so the rules are tested without a network.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { defineFlag } from '../config/index.ts';

export type CallKind = 'read' | 'data' | 'peer' | 'admin';

/** HTTP calls that change state, by normalised path (no leading slash). */
const STATE_CHANGING_HTTP: ReadonlySet<string> = new Set([
  'updateConfig', 'api', 'ui/ws', 'meta/app/start_compaction', 'meta/app/usage_scenario', 'meta/app/start_bulk_load',
  // The supervisor's.
  'repo/update', 'reload', 'service/restart', 'service/stop', 'shutdown',
]);
/** The supervisor's calls on one service: `service/restart/<svc>`, `service/stop/<svc>`. */
const STATE_CHANGING_HTTP_PREFIXES: readonly string[] = ['service/restart/', 'service/stop/'];

/** The kind of an HTTP call by its normalised path; every other path reads. */
export function httpCallKind(path: string): CallKind {
  if (STATE_CHANGING_HTTP.has(path) || STATE_CHANGING_HTTP_PREFIXES.some((prefix) => path.startsWith(prefix))) return 'admin';
  return 'read';
}

/** Every RPC Pteron speaks. A name missing here (a new RPC) counts as `admin` until it is added. */
export const RPC_KINDS: Readonly<Record<string, CallKind>> = {
  RPC_RRDB_RRDB_PUT: 'data',
  RPC_RRDB_RRDB_MULTI_PUT: 'data',
  RPC_RRDB_RRDB_REMOVE: 'data',
  RPC_RRDB_RRDB_MULTI_REMOVE: 'data',
  RPC_RRDB_RRDB_INCR: 'data',
  RPC_RRDB_RRDB_CHECK_AND_SET: 'data',
  RPC_RRDB_RRDB_CHECK_AND_MUTATE: 'data',
  RPC_RRDB_RRDB_GET: 'data',
  RPC_RRDB_RRDB_MULTI_GET: 'data',
  RPC_RRDB_RRDB_BATCH_GET: 'data',
  RPC_RRDB_RRDB_SORTKEY_COUNT: 'data',
  RPC_RRDB_RRDB_TTL: 'data',
  RPC_RRDB_RRDB_GET_SCANNER: 'data',
  RPC_RRDB_RRDB_SCAN: 'data',
  RPC_RRDB_RRDB_CLEAR_SCANNER: 'data',
  // The writes a master cluster's primaries ship to this (follower) cluster: table data.
  RPC_RRDB_RRDB_DUPLICATE: 'data',

  RPC_NEGOTIATION: 'read',
  RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX: 'read',
  RPC_CM_LIST_APPS: 'read',
  RPC_CM_LIST_NODES: 'read',
  RPC_CM_CLUSTER_INFO: 'read',
  RPC_CM_GET_MAX_REPLICA_COUNT: 'read',
  RPC_CM_GET_ATOMIC_IDEMPOTENT: 'read',
  RPC_CM_DDD_DIAGNOSE: 'read',
  RPC_CM_QUERY_MANUAL_COMPACT_STATUS: 'read',
  RPC_CM_QUERY_DUPLICATION: 'read',
  RPC_CM_LIST_DUPLICATION: 'read',
  RPC_CM_QUERY_BACKUP_POLICY: 'read',
  RPC_CM_QUERY_BACKUP_STATUS: 'read',
  RPC_CM_QUERY_BULK_LOAD_STATUS: 'read',
  RPC_CM_QUERY_RESTORE_STATUS: 'read',
  RPC_CM_QUERY_PARTITION_SPLIT: 'read',
  RPC_CM_QUERY_CHILD_STATE: 'read',
  RPC_QUERY_APP_INFO: 'read',
  RPC_QUERY_REPLICA_INFO: 'read',

  RPC_FD_FAILURE_DETECTOR_PING: 'peer',
  RPC_CM_CONFIG_SYNC: 'peer',
  RPC_CM_UPDATE_PARTITION_CONFIGURATION: 'peer',
  RPC_CONFIG_PROPOSAL: 'peer',
  RPC_PREPARE: 'peer',
  RPC_PREPARE_ACK: 'peer',
  RPC_GROUP_CHECK: 'peer',
  RPC_GROUP_CHECK_ACK: 'peer',
  RPC_LEARN_ADD_LEARNER: 'peer',
  RPC_LEARN: 'peer',
  RPC_LEARN_REPLY: 'peer',
  RPC_LEARN_COMPLETION_NOTIFY: 'peer',
  RPC_LEARN_CHECKPOINT_CHUNK: 'peer',
  RPC_CM_DUPLICATION_SYNC: 'peer',
  RPC_CM_REPORT_RESTORE_STATUS: 'peer',
  RPC_COLD_BACKUP: 'peer',
  RPC_BULK_LOAD: 'peer',
  RPC_CM_REGISTER_CHILD_REPLICA: 'peer',
  RPC_CM_NOTIFY_STOP_SPLIT: 'peer',

  RPC_CM_CREATE_APP: 'admin',
  RPC_CM_DROP_APP: 'admin',
  RPC_CM_RECALL_APP: 'admin',
  RPC_CM_RENAME_APP: 'admin',
  RPC_CM_UPDATE_APP_ENV: 'admin',
  RPC_CM_CONTROL_META: 'admin',
  RPC_CM_PROPOSE_BALANCER: 'admin',
  RPC_CM_SET_MAX_REPLICA_COUNT: 'admin',
  RPC_CM_SET_ATOMIC_IDEMPOTENT: 'admin',
  RPC_CM_START_RECOVERY: 'admin',
  RPC_CM_START_MANUAL_COMPACT: 'admin',
  RPC_CM_ADD_DUPLICATION: 'admin',
  RPC_CM_MODIFY_DUPLICATION: 'admin',
  RPC_CM_ADD_BACKUP_POLICY: 'admin',
  RPC_CM_MODIFY_BACKUP_POLICY: 'admin',
  RPC_CM_START_BACKUP_APP: 'admin',
  RPC_CM_START_RESTORE: 'admin',
  RPC_CM_START_BULK_LOAD: 'admin',
  RPC_CM_CONTROL_BULK_LOAD: 'admin',
  RPC_CM_CLEAR_BULK_LOAD: 'admin',
  RPC_CM_START_PARTITION_SPLIT: 'admin',
  RPC_CM_CONTROL_PARTITION_SPLIT: 'admin',
  RPC_DETECT_HOTKEY: 'admin',
  // Remote commands can change flags, kill partitions, flush logs: all of them count as admin.
  RPC_CLI_CLI_CALL: 'admin',
};

export function rpcKind(name: string): CallKind {
  return RPC_KINDS[name] ?? 'admin';
}

// ---------------------------------------------------------------------------------------------

/** Addresses and subnets (`a.b.c.d/n`, IPv6 too), separated by commas. */
export class TrustedAddresses {
  private readonly list = new net.BlockList();

  constructor(readonly text: string) {
    for (const raw of text.split(',')) {
      const entry = raw.trim();
      if (entry === '') continue;
      const slash = entry.indexOf('/');
      const address = slash < 0 ? entry : entry.slice(0, slash);
      const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
      if (family === undefined) throw new RangeError(`"${entry}" is not an IP address or subnet`);
      if (slash < 0) {
        this.list.addAddress(address, family);
        continue;
      }
      const prefixText = entry.slice(slash + 1);
      const prefix = Number(prefixText);
      if (!/^\d{1,3}$/.test(prefixText) || prefix > (family === 'ipv4' ? 32 : 128)) throw new RangeError(`"${entry}" has a bad prefix length`);
      this.list.addSubnet(address, prefix, family);
    }
  }

  has(address: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const plain = mapped ? mapped[1]! : address;
    if (net.isIPv4(plain)) return this.list.check(plain, 'ipv4');
    if (net.isIPv6(plain)) return this.list.check(plain, 'ipv6');
    return false;
  }
}

function parsesAsTrustedAddresses(text: string): boolean {
  try {
    new TrustedAddresses(text);
    return true;
  } catch {
    return false;
  }
}

export const adminSecret = defineFlag({
  section: 'security',
  name: 'admin_secret',
  type: 'FV_STRING',
  default: '',
  secret: true,
  description:
    'The secret a caller outside trusted_addresses presents to make a state-changing call (HTTP: Authorization: Bearer, ' +
    'or X-Pteron-Secret; RPC: the connection\'s RPC_NEGOTIATION); the servers present it on the connections they open. ' +
    'Empty: only trusted callers may change state',
});

export const trustedAddresses = defineFlag({
  section: 'security',
  name: 'trusted_addresses',
  type: 'FV_STRING',
  default: '127.0.0.0/8,::1',
  description: 'The callers (addresses and subnets, comma-separated) that may make state-changing calls without the admin secret',
  validator: parsesAsTrustedAddresses,
});

export const allowRemoteAdminWithoutSecret = defineFlag({
  section: 'security',
  name: 'allow_remote_admin_without_secret',
  type: 'FV_BOOL',
  default: false,
  description: 'True turns the check off: any caller may make state-changing calls (Pegasus\'s behaviour without ACLs)',
});

export interface AccessSettings {
  secret: string;
  trusted: TrustedAddresses;
  checkOff: boolean;
}

let parsedTrusted: TrustedAddresses | undefined;

/** The `[security]` flags as they are now (the address list is parsed once per value). */
export function accessSettings(): AccessSettings {
  if (parsedTrusted?.text !== trustedAddresses.value) parsedTrusted = new TrustedAddresses(trustedAddresses.value);
  return { secret: adminSecret.value, trusted: parsedTrusted, checkOff: allowRemoteAdminWithoutSecret.value };
}

// ---------------------------------------------------------------------------------------------

/** What a caller showed: no secret, the configured one, or another. */
export type SecretShown = 'none' | 'valid' | 'wrong';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Compares digests, so the time taken says nothing about where the texts differ. */
function sameSecret(secret: string, presented: string): boolean {
  return timingSafeEqual(digest(secret), digest(presented));
}

/** Whether any of the presented texts is the secret; each is compared, whatever the others give. */
function judge(secret: string, candidates: readonly string[]): SecretShown {
  if (candidates.length === 0) return 'none';
  let matched = false;
  for (const candidate of candidates) if (sameSecret(secret, candidate) && secret !== '') matched = true;
  return matched ? 'valid' : 'wrong';
}

/** The texts an HTTP request offers as the secret: `X-Pteron-Secret`, a bearer token, either half of Basic credentials. */
function httpSecretCandidates(headers: IncomingHttpHeaders): string[] {
  const candidates: string[] = [];
  const header = headers['x-pteron-secret'];
  if (typeof header === 'string') candidates.push(header.trim());
  const authorization = headers.authorization;
  if (authorization === undefined) return candidates;
  const bearer = /^Bearer\s+(\S(?:.*\S)?)\s*$/i.exec(authorization);
  if (bearer) {
    candidates.push(bearer[1]!);
    return candidates;
  }
  const basic = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization);
  if (!basic) return candidates;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // Either half may carry it, so `curl -u :SECRET` and `curl -u SECRET:` both work.
  if (colon < 0) candidates.push(decoded);
  else candidates.push(decoded.slice(0, colon), decoded.slice(colon + 1));
  return candidates;
}

export function httpSecretShown(headers: IncomingHttpHeaders, secret: string): SecretShown {
  return judge(secret, httpSecretCandidates(headers));
}

/** The password of a SASL PLAIN message (`authzid\0authcid\0password`), or undefined when it is not one. */
export function plainPassword(message: Buffer): string | undefined {
  const parts = message.toString('utf8').split('\0');
  return parts.length === 3 ? parts[2] : undefined;
}

export function plainSecretShown(message: Buffer, secret: string): SecretShown {
  const password = plainPassword(message);
  return judge(secret, password === undefined ? [''] : [password]);
}

/**
 * Whether a request counts as coming from a trusted caller: its peer is trusted and so is every
 * address a proxy says it forwards for (a trusted proxy does not make its clients trusted).
 */
export function isTrustedRequest(peerAddress: string, headers: IncomingHttpHeaders, trusted: TrustedAddresses): boolean {
  if (!trusted.has(peerAddress)) return false;
  const forwarded = headers['x-forwarded-for'];
  if (forwarded === undefined) return true;
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',');
  return list.every((entry) => trusted.has(entry.trim()));
}

// ---------------------------------------------------------------------------------------------

/** Stable reasons of a refusal, in the HTTP answer's `reason` and the server's log. */
export type RefusalReason = 'secret_missing' | 'secret_wrong' | 'no_secret_configured';

export type AccessVerdict = { allowed: true } | { allowed: false; reason: RefusalReason };

export interface Caller {
  trusted: boolean;
  secret: SecretShown;
}

const ALLOWED: AccessVerdict = Object.freeze({ allowed: true });

export function decideAccess(kind: CallKind, caller: Caller, settings: Pick<AccessSettings, 'secret' | 'checkOff'>): AccessVerdict {
  if (kind === 'read' || kind === 'data' || settings.checkOff || caller.trusted || caller.secret === 'valid') return ALLOWED;
  if (settings.secret === '') return { allowed: false, reason: 'no_secret_configured' };
  return { allowed: false, reason: caller.secret === 'none' ? 'secret_missing' : 'secret_wrong' };
}

/** The error code every refusal carries (Pegasus's for a denied ACL), over HTTP and RPC alike. */
export const ACCESS_DENIED_CODE = 'ERR_ACL_DENY';

const REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  secret_missing: 'this call changes state: a caller outside [security] trusted_addresses must present [security] admin_secret',
  secret_wrong: 'the secret presented is not [security] admin_secret',
  no_secret_configured: 'this call changes state and [security] admin_secret is not set: only callers in [security] trusted_addresses may make it',
};

export function refusalMessage(reason: RefusalReason): string {
  return REFUSAL_MESSAGES[reason];
}

/** The body of an HTTP refusal (status 403). */
export function refusalBody(reason: RefusalReason): string {
  return JSON.stringify({ error: ACCESS_DENIED_CODE, reason, message: refusalMessage(reason) });
}
