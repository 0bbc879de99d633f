// The build that guards every code change: `npm ci` when the lockfile changed since the last
// install, then the build proper (`npm run build`: type-check and compile to dist/). A failing
// step stops the build, and the caller keeps the processes it has. Steps run in their own
// process group, are registered like any other process (so they die with the supervisor), and
// are killed at the time limit.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { log } from '../base/index.ts';
import type { RotatingLog } from './log-file.ts';
import type { BuildSpec } from './manifest.ts';
import { processStartTicks } from './proc-stats.ts';
import type { ProcessRegistry } from './process-registry.ts';
import { formatDuration } from './units.ts';

export interface StepResult {
  ok: boolean;
  command: string;
  /** The last lines of the output, for the error message. */
  tail: string;
  ms: number;
}

export interface BuildResult {
  ok: boolean;
  installed: boolean;
  steps: StepResult[];
  /** Why it failed: the failing command and its last lines. */
  failure?: string;
}

const buildLog = log.child({ operation: 'build' });

const TAIL_LINES = 20;
const TAIL_BYTES_MAX = 64 * 1024;

export interface StepContext {
  cwd: string;
  timeoutMs: number;
  registry: ProcessRegistry;
  output: RotatingLog;
}

export function runStep(command: string, context: StepContext): Promise<StepResult> {
  const startMs = Date.now();
  context.output.write(`\n$ ${command}    # in ${context.cwd}, ${new Date(startMs).toISOString()}\n`);
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: context.cwd,
      env: { ...process.env, PTERON_BUILDING: '1', CI: process.env.CI ?? '1' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      context.output.write(chunk);
      tail += chunk.toString('utf8');
      if (tail.length > TAIL_BYTES_MAX) tail = tail.slice(-TAIL_BYTES_MAX);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let timedOut = false;
    const pid = child.pid;
    if (pid !== undefined) {
      context.registry.add({ pgid: pid, startTicks: processStartTicks(pid) ?? 0, signal: 'SIGTERM', graceMs: 2000, instance: 'build' });
    }
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid);
    }, context.timeoutMs);
    const finish = (ok: boolean, note?: string): void => {
      clearTimeout(timer);
      if (pid !== undefined) {
        killGroup(pid);
        context.registry.remove(pid);
      }
      const lines = tail.split('\n').filter((line) => line.trim() !== '').slice(-TAIL_LINES);
      if (note) lines.push(note);
      resolve({ ok, command, tail: lines.join('\n'), ms: Date.now() - startMs });
    };
    child.once('error', (error) => finish(false, `cannot run: ${error.message}`));
    child.once('close', (code, signal) => {
      if (timedOut) finish(false, `timed out after ${formatDuration(context.timeoutMs)}`);
      else finish(code === 0, code === 0 ? undefined : `exit ${signal ?? `status ${code}`}`);
    });
  });
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // finished already
  }
}

export function fileHash(file: string): string | undefined {
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

interface BuildRecord {
  lockfileSha256?: string;
}

/** Remembers which lockfile the installed node_modules came from. */
export class BuildState {
  private readonly file: string;

  constructor(runDir: string) {
    this.file = path.join(runDir, 'build-state.json');
  }

  read(): BuildRecord {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as BuildRecord;
    } catch {
      return {};
    }
  }

  write(state: BuildRecord): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(`${this.file}.tmp`, JSON.stringify(state));
    fs.renameSync(`${this.file}.tmp`, this.file);
  }

  /** On first start, what is installed is taken to match the lockfile there is. */
  initialise(lockfile: string): void {
    if (this.read().lockfileSha256 === undefined) {
      const hash = fileHash(lockfile);
      if (hash) this.write({ lockfileSha256: hash });
    }
  }
}

export interface BuildOptions {
  spec: BuildSpec;
  /** Where the code to build is (the checkout, or a work tree of the new commit). */
  dir: string;
  registry: ProcessRegistry;
  output: RotatingLog;
  /** Install even if the lockfile looks unchanged. */
  forceInstall?: boolean;
  /** The lockfile hash node_modules was installed from; undefined means install. */
  installedLockfileSha256: string | undefined;
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  const { spec, dir } = options;
  const steps: StepResult[] = [];
  const context: StepContext = { cwd: dir, timeoutMs: spec.timeoutMs, registry: options.registry, output: options.output };
  const lockfileHash = fileHash(path.join(dir, spec.lockfile));
  const install = options.forceInstall === true || (lockfileHash !== undefined && lockfileHash !== options.installedLockfileSha256);
  if (install && spec.install.trim() !== '') {
    buildLog.info({ dir, command: spec.install }, 'installing (the lockfile changed)');
    const step = await runStep(spec.install, context);
    steps.push(step);
    if (!step.ok) return { ok: false, installed: false, steps, failure: `${spec.install} failed:\n${step.tail}` };
  }
  if (spec.check.trim() !== '') {
    buildLog.info({ dir, command: spec.check }, 'checking');
    const step = await runStep(spec.check, context);
    steps.push(step);
    if (!step.ok) return { ok: false, installed: install, steps, failure: `${spec.check} failed:\n${step.tail}` };
  }
  return { ok: true, installed: install, steps };
}
