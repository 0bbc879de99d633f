// Who may use /api. Without a configured password only loopback clients may; with one, a client
// must present the user name and password (Basic auth, or ?username=&password=), except that
// loopback clients may skip it when `api_local_connection_non_auth` is on. Pure functions, so
// the rules are tested without a network.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The user name when only a password is configured. */
export const DEFAULT_USERNAME = 'pteron';
const SHA256_PREFIX = 'sha256:';

export interface AuthConfig {
  /** False: no password configured, only loopback clients are served. */
  required: boolean;
  username: string;
  /** The password, or `sha256:<hex digest>` of it. */
  password: string;
  localConnectionNonAuth: boolean;
}

export interface Credentials {
  username: string;
  password: string;
}

export type AuthDecision = { allowed: true; username?: string } | { allowed: false; reason: string };

/**
 * Arthas's rules for the two settings: both empty means no password; a password alone goes with
 * the default user name; a user name alone gets a random password, which `onGenerated` reports.
 */
export function resolveAuthConfig(
  username: string,
  password: string,
  localConnectionNonAuth: boolean,
  onGenerated: (password: string) => void = () => {},
): AuthConfig {
  if (username === '' && password === '') return { required: false, username: '', password: '', localConnectionNonAuth };
  if (password === '') {
    password = randomBytes(24).toString('base64url');
    onGenerated(password);
  }
  return { required: true, username: username === '' ? DEFAULT_USERNAME : username, password, localConnectionNonAuth };
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
export function isLoopback(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

/** The credentials a request presents; undefined when none, 'malformed' for an unreadable header. */
export function presentedCredentials(headers: IncomingHttpHeaders, query: ReadonlyMap<string, string>): Credentials | 'malformed' | undefined {
  const header = headers.authorization;
  if (header !== undefined) {
    const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
    if (!match) return 'malformed';
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'malformed';
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const password = query.get('password');
  if (password !== undefined) return { username: query.get('username') || DEFAULT_USERNAME, password };
  return undefined;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Compares digests, so the time taken says nothing about where the texts differ. */
function sameText(expected: string, presented: string): boolean {
  return timingSafeEqual(digest(expected), digest(presented));
}

function passwordMatches(configured: string, presented: string): boolean {
  const expected = configured.startsWith(SHA256_PREFIX)
    ? Buffer.from(configured.slice(SHA256_PREFIX.length).toLowerCase(), 'hex')
    : digest(configured);
  const actual = digest(presented);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function authorize(config: AuthConfig, remoteAddress: string, credentials: Credentials | 'malformed' | undefined): AuthDecision {
  const loopback = isLoopback(remoteAddress);
  if (!config.required) {
    return loopback
      ? { allowed: true }
      : { allowed: false, reason: 'only loopback clients may use /api when no password is configured' };
  }
  if (credentials === 'malformed') return { allowed: false, reason: 'malformed Authorization header' };
  if (credentials !== undefined) {
    // Both compared, whatever the first gives, so timing tells nothing about which was wrong.
    const userOk = sameText(config.username, credentials.username);
    const passwordOk = passwordMatches(config.password, credentials.password);
    return userOk && passwordOk ? { allowed: true, username: credentials.username } : { allowed: false, reason: 'wrong user name or password' };
  }
  if (loopback && config.localConnectionNonAuth) return { allowed: true };
  return { allowed: false, reason: 'credentials required' };
}
