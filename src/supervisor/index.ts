// The supervisor layer: runs the cluster's processes from a manifest and serves pmesh's
// session-state API; `pteron svc` and `pteron repo` are its clients.
export { runSupervisor, DEFAULT_MANIFEST } from './run.ts';
export { runSvcCommand, runRepoCommand } from './commands.ts';
export { loadManifest, parseManifest, ManifestError, type Manifest, type ServiceSpec, type InstanceSpec } from './manifest.ts';
export { Supervisor } from './supervisor.ts';
export { childCommand, PACKAGE_ROOT, BUILD_OUTPUT_DIR, type ChildCommandOptions } from './child-command.ts';
