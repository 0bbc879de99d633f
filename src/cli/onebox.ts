// `pteron onebox`: one meta and three replica servers on this machine, as child processes,
// until Ctrl-C. (The supervisor issue replaces this with a manifest-driven supervisor.)
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ONEBOX = [
  { role: 'meta', port: 34601 },
  { role: 'replica', port: 34801 },
  { role: 'replica', port: 34802 },
  { role: 'replica', port: 34803 },
];

const mainScript = fileURLToPath(new URL('./main.ts', import.meta.url));

export async function onebox(passThrough: string[]): Promise<void> {
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
  for (const { role, port } of ONEBOX) {
    const child = spawn(process.execPath, ['--import', 'tsx', mainScript, role, '--port', String(port), ...passThrough], {
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
