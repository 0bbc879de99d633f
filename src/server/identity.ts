// Who this process is: its role, port, version and start time, as the admin API reports them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ServerIdentity {
  role: string;
  host: string;
  port: number;
  version: string;
  gitCommit: string;
  startTime: Date;
}

/** The Pegasus release whose wire protocol and admin API Pteron follows. */
export const PEGASUS_COMPATIBLE_VERSION = '2.6.0';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

export function pteronVersion(): string {
  const manifest = JSON.parse(readFileSync(`${projectRoot}package.json`, 'utf8')) as { version: string };
  return `${PEGASUS_COMPATIBLE_VERSION}-pteron-${manifest.version}`;
}

/** The commit of the checkout the server runs from, or "" outside a git checkout. */
export function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return '';
  }
}
