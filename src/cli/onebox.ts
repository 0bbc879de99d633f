// `pteron onebox`: one meta and three replica servers on this machine, as child processes,
// until Ctrl-C. (The supervisor issue replaces this with a manifest-driven supervisor.)
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ONEBOX = [
  { role: 'meta', name: 'meta1', port: 34601 },
  { role: 'replica', name: 'replica1', port: 34801 },
  { role: 'replica', name: 'replica2', port: 34802 },
  { role: 'replica', name: 'replica3', port: 34803 },
];

/** Pegasus's onebox settings: a small cluster may cure with one live node, and starts with table `temp`. */
const ONEBOX_SETTINGS: Record<string, string[]> = {
  meta: [
    'replication.cluster_name=onebox',
    'meta_server.server_list=127.0.0.1:34601',
    'meta_server.min_live_node_count_for_unfreeze=1',
    'meta_server.apps.temp.partition_count=8',
    'meta_server.apps.temp.max_replica_count=3',
  ],
  replica: ['replication.cluster_name=onebox', 'meta_server.server_list=127.0.0.1:34601'],
};

const mainScript = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Each process keeps its state under `<dir>/<name>` (default `onebox/`, as Pegasus's run.sh does). */
export async function onebox(passThrough: string[], dir = 'onebox'): Promise<void> {
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    const deadline = setTimeout(() => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      process.exit(code);
    }, 5000);
    deadline.unref();
    Promise.all(children.map((child) => (child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve))))).then(
      () => process.exit(code),
    );
  };
  for (const { role, name, port } of ONEBOX) {
    const settings = [...ONEBOX_SETTINGS[role]!, `core.data_dir=${path.join(dir, name)}`].flatMap((setting) => ['--set', setting]);
    const child = spawn(process.execPath, ['--import', 'tsx', mainScript, role, '--port', String(port), ...settings, ...passThrough], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(child);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`onebox: ${role} on ${port} exited (${signal ?? code}); stopping the others\n`);
      stopAll(1);
    });
  }
  process.stdout.write(`onebox: meta on 127.0.0.1:34601, replicas on 127.0.0.1:34801-34803 (Ctrl-C stops them)\n`);
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
}
