// Facts about the checkout, from plain `git` (no library): the repository holding the
// manifest's root, HEAD and the first remote's tracking branch as pmesh's Reference objects,
// and the few commands an update needs.
import { execFile } from 'node:child_process';

export interface Reference {
  branch: string;
  hash: string;
  /** `Name <email>` of the commit's author. */
  author: string;
  /** The whole commit message, as stored (usually ending with a newline). */
  message: string;
}

export interface RepoInfo {
  sys: 'git';
  ref: Reference;
  remote: Reference;
  url: string;
}

export const EMPTY_REFERENCE: Reference = Object.freeze({ branch: '', hash: '', author: '', message: '' });

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

const OUTPUT_BYTES_MAX = 16 * 1024 * 1024;

export function git(cwd: string, args: string[], timeoutMs = 60000): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile('git', args, {
      cwd, timeout: timeoutMs, maxBuffer: OUTPUT_BYTES_MAX, encoding: 'utf8',
      // Never wait for a password prompt or an editor.
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_EDITOR: 'true', LC_ALL: 'C' },
    }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (error ? error.message : '') });
    });
  });
}

/** git's own message for a failed command: its first `fatal:`/`error:` line, else its last line. */
export function gitFailure(result: GitResult): string {
  const lines = result.stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.find((line) => /^(fatal|error):/.test(line)) ?? lines.at(-1) ?? `exit status ${result.code}`;
}

/** The top of the work tree that holds `dir` (git looks upwards), or undefined. */
export async function findRepository(dir: string): Promise<string | undefined> {
  const result = await git(dir, ['rev-parse', '--show-toplevel']);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** Author and message of a commit, from its raw object. */
export async function commitReference(top: string, hash: string, branch: string): Promise<Reference> {
  const result = await git(top, ['cat-file', 'commit', hash]);
  if (result.code !== 0) return { ...EMPTY_REFERENCE };
  const headerEnd = result.stdout.indexOf('\n\n');
  const headers = headerEnd < 0 ? result.stdout : result.stdout.slice(0, headerEnd);
  const message = headerEnd < 0 ? '' : result.stdout.slice(headerEnd + 2);
  const author = /^author (.*) \d+ [+-]\d{4}$/m.exec(headers)?.[1] ?? '';
  return { branch, hash, author, message };
}

export async function headReference(top: string): Promise<Reference> {
  const hash = await git(top, ['rev-parse', '--verify', 'HEAD']);
  if (hash.code !== 0) throw new Error(`cannot read HEAD: ${gitFailure(hash)}`);
  const branch = await git(top, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  return commitReference(top, hash.stdout.trim(), branch.code === 0 ? branch.stdout.trim() : 'HEAD');
}

/** The first remote in git's listing (alphabetical), or undefined. */
export async function firstRemote(top: string): Promise<string | undefined> {
  const result = await git(top, ['remote']);
  if (result.code !== 0) return undefined;
  return result.stdout.split('\n').map((line) => line.trim()).find((line) => line !== '');
}

/** `refs/remotes/<remote>/<branch>` as last fetched; empty when HEAD is detached or it is missing. */
export async function remoteReference(top: string, remote: string | undefined, head: Reference): Promise<Reference> {
  if (!remote || head.branch === 'HEAD' || head.branch === '') return { ...EMPTY_REFERENCE };
  const hash = await git(top, ['rev-parse', '--verify', '--quiet', `refs/remotes/${remote}/${head.branch}^{commit}`]);
  if (hash.code !== 0) return { ...EMPTY_REFERENCE };
  return commitReference(top, hash.stdout.trim(), `${remote}/${head.branch}`);
}

export async function remoteUrl(top: string, remote: string | undefined): Promise<string> {
  if (!remote) return '';
  const result = await git(top, ['remote', 'get-url', remote]);
  return result.code === 0 ? result.stdout.trim() : '';
}

/** `/repo`: failures to read the references leave them empty, as pmesh does. */
export async function repoInfo(dir: string): Promise<RepoInfo> {
  const top = await findRepository(dir);
  if (!top) throw new Error('no repository found');
  let ref: Reference = { ...EMPTY_REFERENCE };
  try {
    ref = await headReference(top);
  } catch {
    // an empty repository: no HEAD yet
  }
  const remote = await firstRemote(top);
  return { sys: 'git', ref, remote: await remoteReference(top, remote, ref), url: await remoteUrl(top, remote) };
}

/** The blob id of a file at a commit, to tell whether it changed; undefined when absent. */
export async function blobId(top: string, commit: string, file: string): Promise<string | undefined> {
  const result = await git(top, ['rev-parse', '--verify', '--quiet', `${commit}:${file}`]);
  return result.code === 0 ? result.stdout.trim() : undefined;
}
