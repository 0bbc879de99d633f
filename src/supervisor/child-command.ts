// The command line of every Pteron child process (the supervisor's servers and watchdog,
// onebox's servers): plain `node` on the compiled JavaScript under `dist/`, so no TypeScript
// compiler or loader runs in production. `npm run build` writes that tree.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder `npm run build` compiles `src/` into, relative to the package root. */
export const BUILD_OUTPUT_DIR = 'dist';

/** The root of the package this code runs from (the same for `src/…` and `dist/…`). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildCommandOptions {
  /** The package whose build runs: the supervisor's manifest root, or PACKAGE_ROOT. */
  root?: string;
  /** The compiled script, relative to the build output; the `pteron` command by default. */
  script?: string;
  /** Arguments for the script (for the `pteron` command: the role and its flags). */
  args?: readonly string[];
  /** Options for node itself, before the script. */
  nodeArgs?: readonly string[];
}

export function childCommand(options: ChildCommandOptions): string[] {
  const root = options.root ?? PACKAGE_ROOT;
  const script = path.join(root, BUILD_OUTPUT_DIR, options.script ?? 'cli/main.js');
  return [process.execPath, ...(options.nodeArgs ?? []), script, ...(options.args ?? [])];
}
