// Who a request comes from and whether it may use the supervisor. Pure functions over the peer
// address and the headers, so the rules are tested without a network:
// - the origin is the TCP peer, unless a local peer forwards for a public client
//   (X-Forwarded-For), in which case the first public address in that header is the origin;
// - loopback (127/8, ::1) and private (10/8, 172.16/12, 192.168/16, fc00::/7) origins are
//   internal and may use everything;
// - any other origin must present the configured secret, as Basic auth (user or password) or
//   as a bearer token; without a secret configured, it cannot get in.
// State-changing calls (restart, stop, reload, update, shutdown) are judged before this, by the
// servers' access policy (net/access-policy.ts): a private-network origin needs the secret for those.
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { httpSecretShown } from '../net/access-policy.ts';

/** `::ffff:10.0.0.1` → `10.0.0.1`; IPv6 in its compressed form; anything else unchanged. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  if (mapped) return mapped[1]!;
  if (net.isIPv6(trimmed)) {
    try {
      // The URL parser prints IPv6 in its canonical compressed form.
      return new URL(`http://[${trimmed}]/`).hostname.slice(1, -1);
    } catch {
      return trimmed.toLowerCase();
    }
  }
  return trimmed;
}

function ipv4Octets(address: string): number[] | undefined {
  if (!net.isIPv4(address)) return undefined;
  return address.split('.').map(Number);
}

/** The first 16 bits of an IPv6 address. */
function ipv6FirstGroup(address: string): number | undefined {
  if (!net.isIPv6(address)) return undefined;
  if (address.startsWith('::')) return 0;
  return Number.parseInt(address.split(':')[0]!, 16);
}

export function isLoopback(address: string): boolean {
  const plain = normalizeAddress(address);
  const octets = ipv4Octets(plain);
  if (octets) return octets[0] === 127;
  return plain === '::1';
}

export function isPrivate(address: string): boolean {
  const plain = normalizeAddress(address);
  const octets = ipv4Octets(plain);
  if (octets) {
    const [a, b] = octets as [number, number];
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  const group = ipv6FirstGroup(plain);
  return group !== undefined && (group & 0xfe00) === 0xfc00;
}

/** Loopback or private: a client on this machine or its private network. */
export function isLocal(address: string): boolean {
  return isLoopback(address) || isPrivate(address);
}

/** The client a request stands for (see the file comment for the forwarding rule). */
export function originAddress(peerAddress: string, headers: IncomingHttpHeaders): string {
  const peer = normalizeAddress(peerAddress);
  const forwarded = headers['x-forwarded-for'];
  if (forwarded === undefined || !isLocal(peer)) return peer;
  const list = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',');
  for (const entry of list) {
    const candidate = normalizeAddress(entry);
    if (net.isIP(candidate) !== 0 && !isLocal(candidate)) return candidate;
  }
  return peer;
}

/** The servers' rule for presenting the secret (a bearer token, either half of Basic credentials, X-Pteron-Secret). */
export function presentsSecret(headers: IncomingHttpHeaders, secret: string): boolean {
  return httpSecretShown(headers, secret) === 'valid';
}

export type AccessDecision = { allowed: true; via: 'local' | 'secret' } | { allowed: false };

export function decideAccess(origin: string, headers: IncomingHttpHeaders, secret: string): AccessDecision {
  if (isLocal(origin)) return { allowed: true, via: 'local' };
  if (presentsSecret(headers, secret)) return { allowed: true, via: 'secret' };
  return { allowed: false };
}
