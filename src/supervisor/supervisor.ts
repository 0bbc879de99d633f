// The supervisor: runs the manifest's services in dependency order and carries out the
// session-state API's operations (restart, stop, reload, repository update), one at a time.
import fs from 'node:fs';
import path from 'node:path';
import { log } from '../base/index.ts';
import { ApiError } from './api-format.ts';
import { build, BuildState, fileHash, runStep, type BuildResult } from './build.ts';
import { BUILD_OUTPUT_DIR } from './child-command.ts';
import { waitClusterHealthy } from './cluster-gate.ts';
import {
  blobId, findRepository, firstRemote, git, gitFailure, headReference, remoteReference, type Reference,
} from './git.ts';
import { RotatingLog } from './log-file.ts';
import { loadManifest, ManifestError, type Manifest, type ServiceSpec } from './manifest.ts';
import { ProcessRegistry } from './process-registry.ts';
import { newServiceId, Service } from './service.ts';
import { MetricsCollector, type ServiceMetrics } from './service-metrics.ts';

/** Runs one operation at a time; a caller that cannot get its turn in time gives up. */
class OperationLock {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private static readonly QUEUED_MAX = 32;

  async run<T>(operation: () => Promise<T>, waitMs: number): Promise<T> {
    if (this.queued >= OperationLock.QUEUED_MAX) throw new ApiError('too many operations waiting; try again later');
    this.queued++;
    const previous = this.tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    // The next operation waits for the one before us as well as for us, so giving up early
    // (and releasing) never lets it overtake.
    this.tail = previous.then(() => mine);
    let timer: NodeJS.Timeout | undefined;
    try {
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs)));
      const turn = await Promise.race([previous.then(() => 'turn' as const), timedOut]);
      if (turn === 'timeout') throw new ApiError('failed to lock session in time');
      return await operation();
    } finally {
      clearTimeout(timer);
      this.queued--;
      release();
    }
  }
}

const reloadLog = log.child({ operation: 'reload' });
const updateLog = log.child({ operation: 'update' });
const rollingRestartLog = log.child({ operation: 'rolling restart' });

const LOCK_WAIT_MS = 10 * 60 * 1000;
const DEPENDENCY_POLL_MS = 100;

export interface UpdateAnswer {
  from: Reference;
  to: Reference;
}

export class Supervisor {
  manifest: Manifest;
  readonly registry: ProcessRegistry;
  private readonly services = new Map<string, Service>();
  /** Services a reload dropped: stopped, and still listed, as pmesh keeps them. */
  private readonly retired = new Map<string, Service>();
  private readonly lock = new OperationLock();
  private readonly collector = new MetricsCollector();
  private readonly buildState: BuildState;
  private readonly buildLog: RotatingLog;
  private generation = 0;
  private shuttingDown = false;

  constructor(manifest: Manifest) {
    this.manifest = manifest;
    this.registry = new ProcessRegistry(manifest.supervisor.runDir);
    this.buildState = new BuildState(manifest.supervisor.runDir);
    this.buildLog = new RotatingLog({ file: path.join(manifest.supervisor.logDir, 'build.log'), bytesMax: manifest.supervisor.logBytesMax, files: manifest.supervisor.logFiles });
    for (const spec of manifest.services) this.services.set(spec.name, this.newService(spec));
  }

  /** Claims the run directory, clears what a dead predecessor left, and starts the services. */
  async start(): Promise<void> {
    this.registry.acquireLock();
    const leftovers = await this.registry.stopLeftovers();
    if (leftovers > 0) log.warn({ count: leftovers }, 'stopped processes a previous supervisor left running');
    this.registry.startWatchdog();
    this.buildState.initialise(path.join(this.manifest.root, this.manifest.supervisor.build.lockfile));
    void this.startAll(this.generation);
  }

  /** Every service known: the manifest's in start order, then those a reload dropped. */
  knownServices(): Service[] {
    return [...this.services.values(), ...[...this.retired.values()].filter((service) => !this.services.has(service.name))];
  }

  find(name: string): Service | undefined {
    return this.services.get(name) ?? this.retired.get(name);
  }

  metrics(services: Service[]): Promise<Map<string, ServiceMetrics>> {
    return this.collector.collect(services);
  }

  private newService(spec: ServiceSpec): Service {
    const { supervisor } = this.manifest;
    return new Service(spec, {
      registry: this.registry,
      logDir: supervisor.logDir,
      logBytesMax: supervisor.logBytesMax,
      logFiles: supervisor.logFiles,
      supervisorTag: `${process.pid}:${this.manifest.file}`,
    });
  }

  /** Starts each pending service once the services it depends on are healthy. */
  private async startAll(generation: number): Promise<void> {
    await Promise.all([...this.services.values()].map((service) => this.startWhenReady(service, generation)));
  }

  private async startWhenReady(service: Service, generation: number): Promise<void> {
    for (;;) {
      if (generation !== this.generation || service.state !== 'pending') return;
      const waiting = service.spec.dependsOn.filter((name) => !this.services.get(name)?.healthy);
      if (waiting.length === 0) break;
      service.waitingFor = `waiting for ${waiting.join(', ')} to be healthy`;
      await sleep(DEPENDENCY_POLL_MS);
    }
    log.info({ service: service.name, instances: service.instances.length }, 'starting service');
    service.start();
  }

  // ---------------------------------------------------------------------------------------
  // operations

  /** `/service/restart[/svc]`: the count of manifest services matched. */
  async restart(name: string | undefined, invalidate: boolean): Promise<number> {
    const matched = [...this.services.values()].filter((service) => name === undefined || service.name === name);
    if (name !== undefined && matched.length === 0) throw new ApiError('service not found');
    return this.lock.run(async () => {
      if (invalidate) await this.buildInPlace();
      for (const service of matched) await this.restartService(service);
      return matched.length;
    }, LOCK_WAIT_MS);
  }

  /** `/service/stop[/svc]`: the count of known services matched (stopped ones included). */
  async stop(name: string | undefined): Promise<number> {
    const matched = this.knownServices().filter((service) => name === undefined || service.name === name);
    if (name !== undefined && matched.length === 0) throw new ApiError('service not found');
    return this.lock.run(async () => {
      // Dependents first: replica servers before the meta they report to.
      for (const service of [...matched].reverse()) await service.stop();
      return matched.length;
    }, LOCK_WAIT_MS);
  }

  /** `/reload`: reads the manifest again and restarts every service in it. */
  reload(invalidate: boolean): Promise<void> {
    return this.lock.run(() => this.reloadLocked(invalidate), LOCK_WAIT_MS);
  }

  /** `/repo/update`: fetch, build the remote's commit apart, move to it, then reload. */
  updateRepo(invalidate: boolean): Promise<UpdateAnswer> {
    return this.lock.run(() => this.updateLocked(invalidate), LOCK_WAIT_MS);
  }

  /** Stops everything, dependents first, and lets the watchdog go. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.generation++;
    const services = this.knownServices().reverse();
    for (const service of services) await service.stop();
    for (const service of services) service.close();
    this.registry.close();
    this.buildLog.close();
  }

  private async restartService(service: Service): Promise<void> {
    const { spec } = service;
    if (service.state !== 'running') {
      service.start();
      try {
        await Promise.all(service.instances.map((instance) => instance.waitHealthy(spec.health.startTimeoutMs)));
      } catch (error) {
        throw new ApiError(`${service.name} did not start: ${(error as Error).message}`);
      }
      return;
    }
    service.id = newServiceId();
    const gated = spec.rolling.gate === 'cluster';
    const metaAddresses = this.metaAddresses();
    const gate = async (node: string | undefined, after: string): Promise<void> => {
      if (!gated || metaAddresses.length === 0) return;
      try {
        await waitClusterHealthy({ metaAddresses, node, timeoutMs: spec.rolling.timeoutMs, pollMs: spec.rolling.pollMs });
      } catch (error) {
        throw new ApiError(`rolling restart of ${service.name} stopped ${after}: ${(error as Error).message}`);
      }
    };
    await gate(undefined, 'before it began');
    for (const instance of service.instances) {
      rollingRestartLog.info({ instance: instance.name }, 'restarting');
      try {
        await instance.restart();
      } catch (error) {
        throw new ApiError(`rolling restart of ${service.name} stopped at ${instance.name}: ${(error as Error).message}`);
      }
      const address = instance.spec.port === undefined ? undefined : `${instance.spec.host}:${instance.spec.port}`;
      await gate(service.spec.kind === 'replica' ? address : undefined, `after ${instance.name}`);
    }
  }

  private metaAddresses(): string[] {
    return [...this.services.values()]
      .filter((service) => service.spec.kind === 'meta')
      .flatMap((service) => service.instances.filter((instance) => instance.spec.port !== undefined).map((instance) => `${instance.spec.host}:${instance.spec.port}`));
  }

  private async reloadLocked(invalidate: boolean): Promise<void> {
    let manifest: Manifest;
    try {
      manifest = loadManifest(this.manifest.file, { port: this.manifest.supervisor.port });
    } catch (error) {
      if (error instanceof ManifestError) throw new ApiError(error.message);
      throw error;
    }
    if (manifest.supervisor.runDir !== this.manifest.supervisor.runDir || manifest.supervisor.host !== this.manifest.supervisor.host) {
      reloadLog.warn('run_dir and host changes take effect at the next start of the supervisor');
    }
    if (invalidate) await this.buildInPlace();
    this.generation++;
    const previous = this.manifest;
    this.manifest = { ...manifest, supervisor: { ...manifest.supervisor, runDir: previous.supervisor.runDir, host: previous.supervisor.host } };
    for (const [name, service] of [...this.services].reverse()) {
      if (manifest.services.some((spec) => spec.name === name)) continue;
      reloadLog.info({ service: name }, 'stopping a service no longer in the manifest');
      await service.stop();
      this.services.delete(name);
      this.retired.set(name, service);
    }
    const next = new Map<string, Service>();
    for (const spec of manifest.services) {
      const existing = this.services.get(spec.name);
      if (existing && JSON.stringify(existing.spec) === JSON.stringify(spec)) {
        next.set(spec.name, existing);
        continue;
      }
      if (existing) {
        await existing.stop();
        existing.close();
      }
      this.retired.delete(spec.name);
      next.set(spec.name, this.newService(spec));
    }
    this.services.clear();
    for (const [name, service] of next) this.services.set(name, service);
    for (const service of this.services.values()) {
      try {
        await this.restartService(service);
      } catch (error) {
        // As in pmesh, one service failing to start does not fail the reload.
        reloadLog.warn({ service: service.name, err: (error as Error).message }, 'service did not restart cleanly');
      }
    }
  }

  /** The type-check (and `npm ci` when the lockfile changed) on the checkout itself. */
  private async buildInPlace(): Promise<void> {
    const { build: spec } = this.manifest.supervisor;
    const result = await build({
      spec, dir: this.manifest.root, registry: this.registry, output: this.buildLog, installedLockfileSha256: this.buildState.read().lockfileSha256,
    });
    if (result.installed && result.ok) this.recordLockfile(this.manifest.root);
    if (!result.ok) throw new ApiError(`build failed; nothing was restarted: ${result.failure}`);
  }

  private recordLockfile(dir: string): void {
    const hash = fileHash(path.join(dir, this.manifest.supervisor.build.lockfile));
    if (hash) this.buildState.write({ lockfileSha256: hash });
  }

  private async updateLocked(invalidate: boolean): Promise<UpdateAnswer> {
    const root = this.manifest.root;
    const top = await findRepository(root);
    if (!top) throw new ApiError('no repository found');
    const remote = await firstRemote(top);
    if (remote) {
      const fetched = await git(top, ['fetch', '--quiet', remote], 120000);
      if (fetched.code !== 0) throw new ApiError(`git fetch ${remote} failed; nothing changed: ${gitFailure(fetched)}`);
    }
    let from: Reference;
    try {
      from = await headReference(top);
    } catch (error) {
      throw new ApiError((error as Error).message);
    }
    const to = await remoteReference(top, remote, from);
    if (to.hash === '') return { from, to: from };
    if (to.hash === from.hash) return { from, to };

    const short = to.hash.slice(0, 12);
    updateLog.info({ from: from.hash, to: to.hash }, 'building the new commit');
    const built = await this.buildCommit(top, from.hash, to.hash, invalidate);
    let oldModules: string | undefined;
    let oldOutput: string | undefined;
    try {
      if (!built.result.ok) throw new ApiError(`the build of ${short} failed; nothing changed: ${built.result.failure}`);
      const moved = await git(top, ['reset', '--quiet', '--keep', to.hash]);
      if (moved.code !== 0) throw new ApiError(`cannot move the checkout to ${short}; nothing changed: ${gitFailure(moved)}`);
      if (built.result.installed) oldModules = await this.adoptNodeModules(built.buildDir);
      oldOutput = await this.adoptBuildOutput(built.buildDir);
    } finally {
      await built.cleanup();
    }
    updateLog.info({ from: from.hash, to: to.hash }, 'moved; restarting the services');
    try {
      await this.reloadLocked(false);
    } catch (error) {
      throw new ApiError(`moved from ${from.hash.slice(0, 12)} to ${short}, but the restart failed: ${(error as Error).message}`);
    } finally {
      // The processes that could still read the old packages have been replaced now.
      for (const old of [oldModules, oldOutput]) if (old) fs.rm(old, { recursive: true, force: true }, () => {});
    }
    return { from, to };
  }

  /**
   * Builds `commit` in a separate work tree (under the repository's git directory), so the
   * running checkout is untouched until the build passed. node_modules is shared with the
   * checkout unless the lockfile differs (or `invalidate`), in which case it is installed there.
   */
  private async buildCommit(top: string, head: string, commit: string, invalidate: boolean): Promise<{ result: BuildResult; buildDir: string; cleanup: () => Promise<void> }> {
    const commonDir = (await git(top, ['rev-parse', '--git-common-dir'])).stdout.trim();
    const buildsDir = path.resolve(top, commonDir, 'pteron-build');
    fs.mkdirSync(buildsDir, { recursive: true });
    await git(top, ['worktree', 'prune']);
    const workTree = path.join(buildsDir, `${commit.slice(0, 12)}-${Date.now()}`);
    const cleanup = async (): Promise<void> => {
      fs.rmSync(path.join(buildDir, 'node_modules'), { force: true, recursive: false });
      await git(top, ['worktree', 'remove', '--force', workTree]);
      fs.rmSync(workTree, { force: true, recursive: true });
    };
    const relative = path.relative(top, this.manifest.root);
    const buildDir = path.join(workTree, relative);
    const added = await git(top, ['worktree', 'add', '--quiet', '--detach', workTree, commit]);
    if (added.code !== 0) {
      return { result: { ok: false, installed: false, steps: [], failure: `git worktree add: ${gitFailure(added)}` }, buildDir, cleanup };
    }
    const { build: spec } = this.manifest.supervisor;
    const lockfile = path.join(relative, spec.lockfile);
    const lockfileChanged = (await blobId(top, head, lockfile)) !== (await blobId(top, commit, lockfile));
    const install = lockfileChanged || invalidate;
    const liveModules = path.join(this.manifest.root, 'node_modules');
    if (!install && fs.existsSync(liveModules)) fs.symlinkSync(liveModules, path.join(buildDir, 'node_modules'), 'dir');
    const result = await build({
      spec, dir: buildDir, registry: this.registry, output: this.buildLog, forceInstall: install,
      installedLockfileSha256: fileHash(path.join(buildDir, spec.lockfile)),
    });
    return { result, buildDir, cleanup };
  }

  /**
   * Puts the compiled tree the build wrote in its work tree (dist/) in place of the checkout's, so
   * the restarted services run the code that was built; returns the old tree's new name. A build
   * that writes no such tree (a manifest's own check command) leaves the checkout's alone.
   */
  private async adoptBuildOutput(buildDir: string): Promise<string | undefined> {
    const fresh = path.join(buildDir, BUILD_OUTPUT_DIR);
    if (!fs.existsSync(fresh)) return undefined;
    const live = path.join(this.manifest.root, BUILD_OUTPUT_DIR);
    const old = `${live}.old-${Date.now()}`;
    try {
      if (fs.existsSync(live)) fs.renameSync(live, old);
      fs.renameSync(fresh, live);
    } catch (error) {
      updateLog.warn({ err: (error as Error).message }, 'cannot move the build over; building in place');
      if (!fs.existsSync(live) && fs.existsSync(old)) fs.renameSync(old, live);
      const { check, timeoutMs } = this.manifest.supervisor.build;
      const step = await runStep(check, { cwd: this.manifest.root, timeoutMs, registry: this.registry, output: this.buildLog });
      if (!step.ok) throw new ApiError(`the checkout moved, but building it in place failed: ${step.tail}`);
    }
    return fs.existsSync(old) ? old : undefined;
  }

  /** Puts the node_modules installed in the build's work tree in place of the checkout's; returns the old one's new name. */
  private async adoptNodeModules(buildDir: string): Promise<string | undefined> {
    const live = path.join(this.manifest.root, 'node_modules');
    const fresh = path.join(buildDir, 'node_modules');
    const old = `${live}.old-${Date.now()}`;
    try {
      if (fs.existsSync(live)) fs.renameSync(live, old);
      fs.renameSync(fresh, live);
    } catch (error) {
      updateLog.warn({ err: (error as Error).message }, 'cannot move node_modules over; installing in place');
      if (!fs.existsSync(live) && fs.existsSync(old)) fs.renameSync(old, live);
      const step = await runStep(this.manifest.supervisor.build.install, {
        cwd: this.manifest.root, timeoutMs: this.manifest.supervisor.build.timeoutMs, registry: this.registry, output: this.buildLog,
      });
      if (!step.ok) throw new ApiError(`the checkout moved, but installing its packages failed: ${step.tail}`);
    }
    this.recordLockfile(this.manifest.root);
    return fs.existsSync(old) ? old : undefined;
  }

}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
