// heapdump: writes a V8 heap snapshot (open it in Chrome DevTools' Memory tab) into the output
// directory. Files go only there, under a plain name, so the command cannot overwrite anything
// else; GET /api/download/<file> serves it. Writing is synchronous: the event loop stops for as long as V8 takes.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { outputDir } from '../flags.ts';
import { STATUS_ERROR } from '../results.ts';
import type { CommandSpec } from './registry.ts';

const SNAPSHOT_SUFFIX = '.heapsnapshot';
/** A plain file name in the output directory: no directories, no leading dot. */
export const PLAIN_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/** Where GET /api/download serves a file of the output directory. */
export function downloadUrl(fileName: string): string {
  return `/api/download/${encodeURIComponent(fileName)}`;
}

export function diagOutputDir(): string {
  return outputDir.value === '' ? path.join(os.tmpdir(), 'pteron-output') : outputDir.value;
}

const pad = (n: number): string => String(n).padStart(2, '0');

function defaultFileName(now: Date): string {
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-${pad(now.getHours())}-${pad(now.getMinutes())}-${pad(now.getSeconds())}`;
  return `heapdump-${stamp}-${process.pid}${SNAPSHOT_SUFFIX}`;
}

/** A full collection before the snapshot, so it holds only reachable objects. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
}

export const heapdumpCommand: CommandSpec = {
  name: 'heapdump',
  summary: 'Write a V8 heap snapshot into the output directory',
  description: `Writes a .heapsnapshot file (Chrome DevTools, Memory tab, Load) into the diag.api_output_dir directory. The event loop stops while it is written.`,
  options: [{ name: 'live', short: 'l', type: 'boolean', description: 'Collect garbage first, so only reachable objects are dumped' }],
  arguments: [{ name: 'file', type: 'string', description: `A file name (no directories) in the output directory; ${SNAPSHOT_SUFFIX} is added if missing` }],
  examples: ['heapdump', 'heapdump --live', 'heapdump before-load.heapsnapshot'],
  run({ append, args, clock }) {
    const requested = args.argumentText('file');
    if (requested !== undefined && !PLAIN_FILE_NAME.test(requested)) {
      return { statusCode: STATUS_ERROR, message: `heapdump writes only into the output directory; '${requested}' is not a plain file name` };
    }
    const name = requested === undefined ? defaultFileName(new Date(clock.now())) : requested.endsWith(SNAPSHOT_SUFFIX) ? requested : `${requested}${SNAPSHOT_SUFFIX}`;
    const directory = diagOutputDir();
    mkdirSync(directory, { recursive: true });
    const dumpFile = path.join(directory, name);
    const live = args.flag('live');
    append({ type: 'message', message: `Dumping heap to ${dumpFile} ...` });
    if (live) collectGarbage();
    v8.writeHeapSnapshot(dumpFile);
    append({ type: 'message', message: 'Heap dump file created' });
    append({ type: 'heapdump', dumpFile, downloadUrl: downloadUrl(name), live });
  },
};
