// Runs `pteron shell` as a separate process, as an operator would, and collects what it printed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT, stopWithTestProcess } from './process.ts';

/** The `pteron` command as a checkout runs it (package.json's bin). */
const PTERON_BIN = fileURLToPath(new URL('../../bin/pteron.js', import.meta.url));

export interface ShellRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `pteron shell <args>`, with `input` on stdin when given; killed after 60 s so a hang fails the test. */
export function runShellProcess(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<ShellRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PTERON_BIN, 'shell', ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PTERON_LOG_LEVEL: 'warn', ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    stopWithTestProcess(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/**
 * `pteron shell --meta <meta> -e <command>...`: a script, as an operator passes one. With
 * `keepGoing` (scripts of bad input) it runs past a failed command, as `--keep-going` does.
 */
export function runShellScript(meta: string, commands: readonly string[], options: { keepGoing?: boolean } = {}): Promise<ShellRun> {
  return runShellProcess(['--meta', meta, ...(options.keepGoing ? ['--keep-going'] : []), ...commands.flatMap((command) => ['-e', command])]);
}
