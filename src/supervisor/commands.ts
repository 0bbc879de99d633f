// `pteron svc ls|health|metrics|restart|stop [SVC]` and `pteron repo [update]`: clients of a
// running supervisor's API. Each returns the process exit code: 0 done, 1 the supervisor
// refused or could not be reached, 2 a usage error.
import { parseArgs } from 'node:util';
import { DEFAULT_SUPERVISOR_PORT } from './manifest.ts';
import { formatDuration } from './units.ts';

const SVC_USAGE = `usage:
  pteron svc ls                      services: status, healthy/total, pids, CPU, memory, restarts, uptime
  pteron svc health [SVC]            health (status, healthy, total, err)
  pteron svc metrics [SVC]           the full /service/metrics JSON
  pteron svc restart [SVC] [--invalidate]   restart one service, or all (replica servers one at a time);
                                     --invalidate builds first and refuses a failing build
  pteron svc stop [SVC]              stop one service, or all
options: --url URL (default $PTERON_SUPERVISOR_URL or http://127.0.0.1:${DEFAULT_SUPERVISOR_PORT}),
         --secret S (default $PTERON_SUPERVISOR_SECRET), --json (print the API's JSON)
`;

const REPO_USAGE = `usage:
  pteron repo                        the checkout's branch and commit, and the remote's
  pteron repo update [--invalidate]  fetch, build the remote commit, move to it, restart everything
options: --url URL, --secret S, --json
`;

interface ClientOptions {
  url: string;
  secret: string;
  json: boolean;
  invalidate: boolean;
  positionals: string[];
}

function parseClientArgs(args: string[]): ClientOptions {
  const { values, positionals } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      json: { type: 'boolean' },
      invalidate: { type: 'boolean', short: 'i' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  return {
    url: (values.url ?? process.env.PTERON_SUPERVISOR_URL ?? `http://127.0.0.1:${DEFAULT_SUPERVISOR_PORT}`).replace(/\/+$/, ''),
    secret: values.secret ?? process.env.PTERON_SUPERVISOR_SECRET ?? '',
    json: values.json ?? false,
    invalidate: values.invalidate ?? false,
    positionals: values.help ? ['help'] : positionals,
  };
}

class ClientError extends Error {}

async function call<T>(options: ClientOptions, path: string, params: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${options.url}${path}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        ...(options.secret !== '' ? { Authorization: `Bearer ${options.secret}` } : {}),
      },
      body: JSON.stringify(params),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ClientError(`cannot reach the supervisor at ${options.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ClientError(`${path}: unexpected answer ${response.status}: ${text.slice(0, 200)}`);
  }
  if (response.status === 200) return body as T;
  const message = (body as { error?: string; message?: string }).error ?? '';
  const detail = (body as { message?: string }).message;
  throw new ClientError(`${path}: ${response.status} ${message}${detail ? `: ${detail}` : ''}`);
}

interface Health {
  status: string;
  healthy: number;
  total: number;
  err?: string;
}

interface Metrics extends Health {
  id: string | null;
  type: string;
  processes: Array<{ pid: number; cpu?: number; rss?: number; instance?: string; uptime_ms?: number; restarts?: number }> | null;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function megabytes(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)}M`;
}

function listServices(metrics: Record<string, Metrics>): string {
  const rows = [['SERVICE', 'TYPE', 'STATUS', 'HEALTHY', 'PIDS', 'CPU', 'RSS', 'RESTARTS', 'UPTIME']];
  for (const [name, service] of Object.entries(metrics)) {
    const processes = service.processes ?? [];
    const cpu = processes.reduce((sum, process) => sum + (process.cpu ?? 0), 0);
    const rss = processes.reduce((sum, process) => sum + (process.rss ?? 0), 0);
    const restarts = processes.reduce((sum, process) => sum + (process.restarts ?? 0), 0);
    const uptimes = processes.map((process) => process.uptime_ms ?? 0);
    rows.push([
      name, service.type, service.status, `${service.healthy}/${service.total}`,
      processes.map((process) => process.pid).join(',') || '-',
      processes.length > 0 ? cpu.toFixed(2) : '-',
      processes.length > 0 ? megabytes(rss) : '-',
      processes.length > 0 ? String(restarts) : '-',
      uptimes.length > 0 ? formatDuration(Math.min(...uptimes)) : '-',
    ]);
  }
  let text = table(rows);
  for (const [name, service] of Object.entries(metrics)) if (service.err) text += `${name}: ${service.err}\n`;
  return text;
}

function healthLines(map: Record<string, Health>): string {
  const rows = [['SERVICE', 'STATUS', 'HEALTHY', 'ERR']];
  for (const [name, health] of Object.entries(map)) rows.push([name, health.status, `${health.healthy}/${health.total}`, health.err ?? '']);
  return table(rows);
}

const print = (text: string): void => void process.stdout.write(text);
const printJson = (value: unknown): void => print(`${JSON.stringify(value, null, 2)}\n`);
const plural = (count: number): string => `${count} service${count === 1 ? '' : 's'}`;

async function svc(options: ClientOptions): Promise<number> {
  const [action, name, ...extra] = options.positionals;
  if (extra.length > 0 || action === undefined || action === 'help') {
    print(SVC_USAGE);
    return action === 'help' ? 0 : 2;
  }
  const suffix = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  switch (action) {
    case 'ls':
    case 'list': {
      const metrics = await call<Record<string, Metrics>>(options, '/service/metrics');
      if (options.json) printJson(metrics);
      else print(listServices(metrics));
      return 0;
    }
    case 'health': {
      const health = await call<Health | Record<string, Health>>(options, `/service/health${suffix}`);
      if (options.json) printJson(health);
      else print(name === undefined ? healthLines(health as Record<string, Health>) : healthLines({ [name]: health as Health }));
      return 0;
    }
    case 'metrics':
    case 'info':
      printJson(await call(options, `/service/metrics${suffix}`));
      return 0;
    case 'restart': {
      const result = await call<{ count: number }>(options, `/service/restart${suffix}`, { invalidate: options.invalidate });
      if (options.json) printJson(result);
      else print(`${options.invalidate ? 'Rebuilt and restarted' : 'Restarted'} ${plural(result.count)}\n`);
      return 0;
    }
    case 'stop': {
      const result = await call<{ count: number }>(options, `/service/stop${suffix}`);
      if (options.json) printJson(result);
      else print(`Stopped ${plural(result.count)}\n`);
      return 0;
    }
    default:
      process.stderr.write(`pteron svc: unknown action "${action}"\n${SVC_USAGE}`);
      return 2;
  }
}

interface Reference {
  branch: string;
  hash: string;
  author: string;
  message: string;
}

const describeReference = (reference: Reference): string =>
  reference.hash === '' ? '(none)' : `${reference.branch} ${reference.hash.slice(0, 12)} ${reference.author}: ${reference.message.split('\n')[0]}`;

async function repo(options: ClientOptions): Promise<number> {
  const [action, ...extra] = options.positionals;
  if (extra.length > 0 || action === 'help' || (action !== undefined && action !== 'update')) {
    print(REPO_USAGE);
    return action === 'help' ? 0 : 2;
  }
  if (action === undefined) {
    const info = await call<{ sys: string; ref: Reference; remote: Reference; url: string }>(options, '/repo');
    if (options.json) printJson(info);
    else print(`checkout: ${describeReference(info.ref)}\nremote:   ${describeReference(info.remote)}\nurl:      ${info.url || '(no remote)'}\n`);
    return 0;
  }
  const result = await call<{ from: Reference; to: Reference }>(options, '/repo/update', { invalidate: options.invalidate });
  if (options.json) printJson(result);
  else if (result.from.hash === result.to.hash) print(`Already at ${describeReference(result.from)}\n`);
  else print(`Updated from ${result.from.hash.slice(0, 12)} to ${describeReference(result.to)}\n`);
  return 0;
}

async function guarded(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    process.stderr.write(`pteron: ${error.message}\n`);
    return 1;
  }
}

export function runSvcCommand(args: string[]): Promise<number> {
  return guarded(() => svc(parseClientArgs(args)));
}

export function runRepoCommand(args: string[]): Promise<number> {
  return guarded(() => repo(parseClientArgs(args)));
}
