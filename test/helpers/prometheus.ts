// A real Prometheus server (Debian's `prometheus` package) scraping Pteron servers' `/metrics`
// in Prometheus's text format, and a query helper on its HTTP API.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, stopWithTestProcess } from './process.ts';

export function requireCommand(name: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
  assert.ok(found, `${name} not found: install Debian's prometheus package`);
}

export type PromSample = { metric: Record<string, string>; value: [number, string] };

export interface RunningPrometheus {
  /** An instant query; the samples of its vector. */
  query(expression: string): Promise<PromSample[]>;
  /** What Prometheus printed so far, for a failure's message. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus in `dir` scraping every `host:port` of `targets` each second as job `pteron`. */
export async function startPrometheus(dir: string, targets: string[]): Promise<RunningPrometheus> {
  requireCommand('prometheus');
  const port = await freePort();
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, [
    'global:',
    '  scrape_interval: 1s',
    'scrape_configs:',
    '  - job_name: pteron',
    '    metrics_path: /metrics',
    '    params: { format: [prometheus] }',
    `    static_configs: [{ targets: [${targets.map((target) => `'${target}'`).join(', ')}] }]`,
    '',
  ].join('\n'));
  const prometheus: ChildProcess = spawn('prometheus', [
    `--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  stopWithTestProcess(prometheus);
  let output = '';
  prometheus.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => prometheus.once('exit', resolve));
  return {
    async query(expression) {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expression)}`);
      const body = (await response.json()) as { status: string; data: { result: PromSample[] } };
      assert.equal(body.status, 'success');
      return body.data.result;
    },
    log: () => output,
    async stop() {
      if (prometheus.exitCode !== null || prometheus.signalCode !== null) return;
      process.kill(prometheus.pid!, 'SIGTERM');
      const timer = setTimeout(() => prometheus.exitCode === null && process.kill(prometheus.pid!, 'SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
