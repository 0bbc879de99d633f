// The supervisor's manifest (`pteron.yml`): which processes run, on which ports, how they are
// checked, restarted and stopped, and in which order they start. Parsing resolves everything
// a process needs (argv, cwd, env, ports, data directory), so the rest of the supervisor never
// looks at YAML.
import fs from 'node:fs';
import path from 'node:path';
import { zooCfg, zooKeeperClassPath } from '../meta/zk/server.ts';
import { TrustedAddresses, trustedAddresses } from '../net/access-policy.ts';
import { childCommand } from './child-command.ts';
import { ManifestError, YamlReader, type Located } from './yaml-reader.ts';
import { parseDuration, parseOptionalDuration, parseRate, parseSize, type Parsed, type Rate } from './units.ts';

export { ManifestError };

export const SERVICE_KINDS = ['meta', 'replica', 'collector', 'zookeeper', 'app'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];
const PTERON_KINDS: readonly ServiceKind[] = ['meta', 'replica', 'collector'];

export const RESTART_POLICIES = ['always', 'on-failure', 'never'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGKILL'] as const;

export type HealthCheck =
  | { type: 'http'; path: string; expectStatus: number }
  | { type: 'tcp' }
  /** ZooKeeper's four-letter `srvr` command answers with a `Mode:` line once it serves. */
  | { type: 'zookeeper' }
  /** Healthy while the process runs. */
  | { type: 'none' };

export interface HealthSpec {
  check: HealthCheck;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive passing checks that make an instance healthy. */
  healthyThreshold: number;
  /** Consecutive failing checks that make it unhealthy. */
  unhealthyThreshold: number;
  /** A new process must become healthy within this, or it is stopped and counted as a failure. */
  startTimeoutMs: number;
  /** An instance unhealthy this long is restarted; undefined = never. */
  unhealthyTimeoutMs: number | undefined;
}

export interface RestartSpec {
  policy: RestartPolicy;
  /** The first delay; each consecutive failure doubles it, up to `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /** A process that ran this long resets the failure count (and so the delay). */
  resetAfterMs: number;
}

export interface StopSpec {
  signal: NodeJS.Signals;
  /** After the signal, how long to wait before SIGKILL of the process group. */
  graceMs: number;
}

export interface RollingSpec {
  /** `cluster`: after each instance, wait until the meta reports every partition healthy. */
  gate: 'cluster' | 'none';
  timeoutMs: number;
  pollMs: number;
}

export interface InstanceSpec {
  /** `<service><index>`: `meta1`, `replica2`. */
  name: string;
  /** 1-based. */
  index: number;
  host: string;
  port: number | undefined;
  dataDir: string | undefined;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Files to write before each start (ZooKeeper's zoo.cfg). */
  files: Array<{ path: string; text: string }>;
}

export interface ServiceSpec {
  name: string;
  kind: ServiceKind;
  instances: InstanceSpec[];
  dependsOn: string[];
  health: HealthSpec;
  restart: RestartSpec;
  stop: StopSpec;
  rolling: RollingSpec;
}

export interface RateLimitSpec extends Rate {
  /** 0: over the limit is answered 429; otherwise the client is blocked (403) this long. */
  blockForMs: number;
}

export interface BuildSpec {
  /** Run when the lockfile changed since the last install. */
  install: string;
  /** The build proper (type-check and compile to dist/): a failing check refuses the new code. */
  check: string;
  timeoutMs: number;
  lockfile: string;
}

export interface SupervisorSpec {
  host: string;
  port: number;
  runDir: string;
  logDir: string;
  logBytesMax: number;
  logFiles: number;
  secret: string;
  /** The callers that may restart, stop, reload or update without the secret (`[security] trusted_addresses`). */
  trustedAddresses: string;
  rateLimit: RateLimitSpec | undefined;
  build: BuildSpec;
}

export interface Manifest {
  file: string;
  root: string;
  supervisor: SupervisorSpec;
  /** In start order: every service after the services it depends on, otherwise manifest order. */
  services: ServiceSpec[];
}

export const DEFAULT_SUPERVISOR_PORT = 34001;
/** What onebox uses (Debian's jars, or PTERON_ZOOKEEPER_CLASSPATH); a fixed guess when they are missing. */
function defaultZooKeeperClassPath(): string {
  try {
    return zooKeeperClassPath();
  } catch {
    return '/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar';
  }
}
const SECRET_ENV = 'PTERON_SUPERVISOR_SECRET';

const TOP_KEYS = ['root', 'supervisor', 'services'] as const;
const SUPERVISOR_KEYS = ['host', 'port', 'run_dir', 'log_dir', 'log_max_size', 'log_files', 'secret', 'secret_env', 'trusted_addresses', 'rate_limit', 'build'] as const;
const SERVICE_KEYS = [
  'kind', 'instances', 'port', 'ports', 'host', 'data_dir', 'depends_on', 'health', 'restart', 'stop', 'rolling', 'env',
  // pteron kinds
  'config', 'settings', 'node_args',
  // app
  'command', 'cwd',
  // zookeeper
  'java', 'classpath', 'tick_time',
] as const;
const KIND_ONLY_KEYS: Record<string, readonly ServiceKind[]> = {
  config: PTERON_KINDS, settings: PTERON_KINDS, node_args: PTERON_KINDS,
  command: ['app'], cwd: ['app'],
  java: ['zookeeper'], classpath: ['zookeeper'], tick_time: ['zookeeper'],
};
const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const SERVICES_MAX = 64;
const INSTANCES_MAX = 64;

export interface ParseOptions {
  /** Overrides `supervisor.port` (the command line's --port). */
  port?: number;
  /** The environment the secret is read from; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

export function loadManifest(file: string, options: ParseOptions = {}): Manifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ManifestError(`cannot read the manifest ${file}: ${(error as Error).message}`);
  }
  return parseManifest(text, path.resolve(file), options);
}

interface RawService {
  name: string;
  located: Located;
  kind: ServiceKind;
  fields: Map<string, Located>;
  hosts: string;
  ports: Array<number | undefined>;
  dependsOn: Array<{ name: string; located: Located }>;
}

export function parseManifest(text: string, file: string, options: ParseOptions = {}): Manifest {
  const reader: YamlReader = new YamlReader(path.basename(file), text);
  const manifestDir = path.dirname(file);
  if (reader.isMissing(reader.root())) reader.fail(reader.root(), 'the manifest is empty; it needs a services: mapping');
  // Top-level keys starting with `x-` are the user's own (a place for YAML anchors).
  const top = new Map(reader.entries(reader.root()).filter(([name]) => !name.startsWith('x-')));
  for (const [name, value] of top) {
    if (!(TOP_KEYS as readonly string[]).includes(name)) reader.fail({ node: value.parent, path: name }, `unknown key; expected one of ${TOP_KEYS.join(', ')} (or x-… for your own anchors)`);
  }
  const rootField = top.get('root');
  const root = rootField && !reader.isMissing(rootField) ? path.resolve(manifestDir, reader.string(rootField)) : manifestDir;
  const resolvePath = (value: string): string => path.resolve(root, value);

  const supervisor = parseSupervisor(reader, top.get('supervisor'), resolvePath, options);
  const servicesField = top.get('services');
  if (!servicesField || reader.isMissing(servicesField)) reader.fail({ node: undefined, path: 'services', parent: reader.root().node }, 'missing; list the processes to run');
  const entries = reader.entries(servicesField);
  if (entries.length === 0) reader.fail(servicesField, 'no services');
  if (entries.length > SERVICES_MAX) reader.fail(servicesField, `at most ${SERVICES_MAX} services`);

  const raws: RawService[] = [];
  const usedPorts = new Map<number, string>([[supervisor.port, 'supervisor.port']]);
  for (const [name, located] of entries) {
    if (!NAME_PATTERN.test(name)) reader.fail(located, 'a service name is a letter followed by letters, digits, _ or - (at most 64)');
    const fields = reader.object(located, SERVICE_KEYS);
    const kindField = fields.get('kind');
    if (!kindField) reader.fail({ node: undefined, path: `${located.path}.kind`, parent: located.parent }, `missing; expected one of ${SERVICE_KINDS.join(', ')}`);
    const kind = reader.oneOf(kindField, SERVICE_KINDS);
    for (const [key, only] of Object.entries(KIND_ONLY_KEYS)) {
      const field = fields.get(key);
      if (field && !only.includes(kind)) reader.fail(field, `only for kind ${only.join(' or ')}, not ${kind}`);
    }
    const ports = parsePorts(reader, located, fields, kind);
    for (const port of ports) {
      if (port === undefined) continue;
      const other = usedPorts.get(port);
      if (other) reader.fail(fields.get('ports') ?? fields.get('port')!, `port ${port} is already used by ${other}`);
      usedPorts.set(port, name);
    }
    const hosts = fields.has('host') ? reader.string(fields.get('host')!) : '127.0.0.1';
    const dependsField = fields.get('depends_on');
    const dependsOn = dependsField ? reader.list(dependsField).map((item) => ({ name: reader.string(item), located: item })) : [];
    raws.push({ name, located, kind, fields, hosts, ports, dependsOn });
  }

  const byName = new Map(raws.map((raw) => [raw.name, raw]));
  for (const raw of raws) {
    if (raw.fields.has('depends_on')) {
      for (const dependency of raw.dependsOn) {
        if (!byName.has(dependency.name)) reader.fail(dependency.located, `unknown service "${dependency.name}"`);
        if (dependency.name === raw.name) reader.fail(dependency.located, 'a service cannot depend on itself');
      }
      continue;
    }
    // Defaults: replica servers and collectors wait for the metas, metas wait for ZooKeeper.
    const upstreamKind: ServiceKind | undefined = raw.kind === 'replica' || raw.kind === 'collector' ? 'meta' : raw.kind === 'meta' ? 'zookeeper' : undefined;
    raw.dependsOn = raws.filter((other) => other.kind === upstreamKind).map((other) => ({ name: other.name, located: raw.located }));
  }
  const ordered = startOrder(reader, raws);

  const addresses = (service: string): string | undefined => {
    const raw = byName.get(service);
    if (!raw) return undefined;
    return raw.ports.filter((port) => port !== undefined).map((port) => `${raw.hosts}:${port}`).join(',');
  };
  const services = ordered.map((raw) => buildService(reader, raw, { root, resolvePath, addresses, supervisor }));
  return { file, root, supervisor, services };
}

function parsePorts(reader: YamlReader, located: Located, fields: Map<string, Located>, kind: ServiceKind): Array<number | undefined> {
  const portField = fields.get('port');
  const portsField = fields.get('ports');
  const instancesField = fields.get('instances');
  if (portField && portsField) reader.fail(portsField, 'give either port (the first of consecutive ports) or ports (a list), not both');
  let instances = instancesField ? reader.integer(instancesField, 1, INSTANCES_MAX) : undefined;
  let ports: Array<number | undefined>;
  if (portsField) {
    const list = reader.list(portsField).map((item) => reader.integer(item, 1, 65535));
    if (instances !== undefined && instances !== list.length) reader.fail(instancesField!, `${instances} instances but ${list.length} ports`);
    if (list.length === 0 || list.length > INSTANCES_MAX) reader.fail(portsField, `expected 1 to ${INSTANCES_MAX} ports`);
    if (new Set(list).size !== list.length) reader.fail(portsField, 'the same port is listed twice');
    ports = list;
  } else if (portField) {
    const first = reader.integer(portField, 1, 65535);
    instances ??= 1;
    if (first + instances - 1 > 65535) reader.fail(portField, `${instances} consecutive ports from ${first} go past 65535`);
    ports = Array.from({ length: instances }, (_, index) => first + index);
  } else {
    if (kind !== 'app') reader.fail({ node: undefined, path: `${located.path}.port`, parent: located.parent }, `missing; a ${kind} service needs port or ports`);
    ports = Array.from({ length: instances ?? 1 }, () => undefined);
  }
  if (kind === 'zookeeper' && ports.length !== 1) reader.fail(instancesField ?? portsField!, 'a ZooKeeper ensemble is not supported yet; use one instance');
  return ports;
}

/** Kahn's algorithm, taking ready services in manifest order so the order stays predictable. */
function startOrder(reader: YamlReader, raws: RawService[]): RawService[] {
  const done = new Set<string>();
  const ordered: RawService[] = [];
  while (ordered.length < raws.length) {
    const next = raws.find((raw) => !done.has(raw.name) && raw.dependsOn.every((dependency) => done.has(dependency.name)));
    if (!next) {
      const stuck = raws.filter((raw) => !done.has(raw.name));
      reader.fail(stuck[0]!.located, `dependency cycle among ${stuck.map((raw) => raw.name).join(', ')}`);
    }
    done.add(next.name);
    ordered.push(next);
  }
  return ordered;
}

function parseTrustedAddresses(text: string): Parsed<string> {
  try {
    return { ok: true, value: new TrustedAddresses(text).text };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

function parseSupervisor(reader: YamlReader, located: Located | undefined, resolvePath: (value: string) => string, options: ParseOptions): SupervisorSpec {
  const fields = located && !reader.isMissing(located) ? reader.object(located, SUPERVISOR_KEYS) : new Map<string, Located>();
  const get = (key: string): Located | undefined => fields.get(key);
  const runDir = resolvePath(get('run_dir') ? reader.string(get('run_dir')!) : 'var/supervisor');
  const env = options.env ?? process.env;
  const secretEnv = get('secret_env') ? reader.string(get('secret_env')!) : SECRET_ENV;
  let rateLimit: RateLimitSpec | undefined;
  const rateField = get('rate_limit');
  if (rateField && !reader.isMissing(rateField)) {
    const rate = reader.object(rateField, ['rate', 'block_for']);
    if (!rate.get('rate')) reader.fail(rateField, 'rate_limit needs rate, such as 100/1s');
    rateLimit = {
      ...reader.parsed(rate.get('rate')!, parseRate),
      blockForMs: rate.get('block_for') ? reader.parsed(rate.get('block_for')!, parseDuration) : 0,
    };
  }
  const buildField = get('build');
  const build = buildField && !reader.isMissing(buildField) ? reader.object(buildField, ['install', 'check', 'timeout', 'lockfile']) : new Map<string, Located>();
  return {
    host: get('host') ? reader.string(get('host')!) : '127.0.0.1',
    port: options.port ?? (get('port') ? reader.integer(get('port')!, 0, 65535) : DEFAULT_SUPERVISOR_PORT),
    runDir,
    logDir: get('log_dir') ? resolvePath(reader.string(get('log_dir')!)) : path.join(runDir, 'logs'),
    logBytesMax: get('log_max_size') ? reader.parsed(get('log_max_size')!, parseSize) : 10 * 1024 * 1024,
    logFiles: get('log_files') ? reader.integer(get('log_files')!, 1, 100) : 3,
    secret: get('secret') ? reader.string(get('secret')!) : (env[secretEnv] ?? ''),
    trustedAddresses: get('trusted_addresses') ? reader.parsed(get('trusted_addresses')!, parseTrustedAddresses) : trustedAddresses.defaultValue,
    rateLimit,
    build: {
      install: build.get('install') ? reader.string(build.get('install')!) : 'npm ci',
      check: build.get('check') ? reader.string(build.get('check')!) : 'npm run build',
      timeoutMs: build.get('timeout') ? reader.parsed(build.get('timeout')!, parseDuration) : 600000,
      lockfile: build.get('lockfile') ? reader.string(build.get('lockfile')!) : 'package-lock.json',
    },
  };
}

interface BuildContext {
  root: string;
  resolvePath: (value: string) => string;
  addresses: (service: string) => string | undefined;
  supervisor: SupervisorSpec;
}

function buildService(reader: YamlReader, raw: RawService, context: BuildContext): ServiceSpec {
  const { fields, kind } = raw;
  const field = (key: string): Located | undefined => {
    const value = fields.get(key);
    return value && !reader.isMissing(value) ? value : undefined;
  };
  const health = parseHealth(reader, field('health'), kind, raw.ports[0] !== undefined);
  const restart = parseRestart(reader, field('restart'));
  const stop = parseStop(reader, field('stop'));
  const rolling = parseRolling(reader, field('rolling'), kind);
  const settings = field('settings') ? reader.strings(field('settings')!) : [];
  const nodeArgs = field('node_args') ? reader.strings(field('node_args')!) : [];
  const env = field('env') ? reader.stringMap(field('env')!) : {};
  const dataDirTemplate = field('data_dir') ? reader.string(field('data_dir')!) : kind === 'app' ? undefined : 'data/{name}';
  const instances = raw.ports.map((port, offset): InstanceSpec => {
    const index = offset + 1;
    const name = `${raw.name}${index}`;
    const expand = (text: string, located: Located): string => expandPlaceholders(reader, text, located, {
      name, index, port, host: raw.hosts, root: context.root, addresses: context.addresses, dataDir: undefined,
    });
    const dataDir = dataDirTemplate === undefined ? undefined : context.resolvePath(expand(dataDirTemplate, field('data_dir') ?? raw.located));
    const expandAll = (text: string, located: Located): string => expandPlaceholders(reader, text, located, {
      name, index, port, host: raw.hosts, root: context.root, addresses: context.addresses, dataDir,
    });
    const instanceEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(env)) instanceEnv[key] = expandAll(value, field('env')!);
    const base = { name, index, host: raw.hosts, port, dataDir, env: instanceEnv, files: [] as InstanceSpec['files'] };
    if (kind === 'app') {
      const commandField = field('command');
      if (!commandField) reader.fail({ node: undefined, path: `${raw.located.path}.command`, parent: raw.located.parent }, 'missing; an app service needs the command to run');
      const command = reader.strings(commandField).map((part) => expandAll(part, commandField));
      const isText = !reader.isList(commandField);
      // A text command goes through the shell (quoting, $VARS); `exec` keeps the pid the program's.
      const argv = isText ? ['/bin/sh', '-c', `exec ${command[0]}`] : command;
      if (argv.length === 0 || argv[0] === '') reader.fail(commandField, 'the command is empty');
      const cwd = field('cwd') ? context.resolvePath(expandAll(reader.string(field('cwd')!), field('cwd')!)) : context.root;
      return { ...base, argv, cwd };
    }
    if (kind === 'zookeeper') return { ...base, ...zookeeperCommand(reader, field, port!, raw.hosts, dataDir!), cwd: context.root };
    const configFile = field('config') ? context.resolvePath(expandAll(reader.string(field('config')!), field('config')!)) : undefined;
    const argv = childCommand({
      root: context.root,
      nodeArgs: nodeArgs.map((arg) => expandAll(arg, field('node_args')!)),
      args: [
        kind, '--port', String(port),
        ...(configFile ? ['--config', configFile] : []),
        '--set', `core.data_dir=${dataDir}`,
        ...(raw.hosts !== '127.0.0.1' ? ['--set', `network.listen_address=${raw.hosts}`] : []),
        ...settings.flatMap((setting) => ['--set', expandAll(setting, field('settings')!)]),
      ],
    });
    return { ...base, argv, cwd: context.root };
  });
  return { name: raw.name, kind, instances, dependsOn: raw.dependsOn.map((dependency) => dependency.name), health, restart, stop, rolling };
}

function zookeeperCommand(
  reader: YamlReader, field: (key: string) => Located | undefined, port: number, host: string, dataDir: string,
): Pick<InstanceSpec, 'argv' | 'files'> {
  const java = field('java') ? reader.string(field('java')!) : 'java';
  const classpath = field('classpath') ? reader.string(field('classpath')!) : defaultZooKeeperClassPath();
  const tickTimeMs = field('tick_time') ? reader.parsed(field('tick_time')!, parseDuration) : 2000;
  const configFile = path.join(dataDir, 'zoo.cfg');
  // The same server and settings as `pteron onebox --metas 3`.
  return {
    argv: [
      java, '-Xmx256m', `-Djute.maxbuffer=${4 * 1024 * 1024}`, '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', `-Dzookeeper.log.dir=${dataDir}`,
      '-cp', classpath, 'org.apache.zookeeper.server.ZooKeeperServerMain', configFile,
    ],
    files: [{ path: configFile, text: zooCfg({ dataDir: path.join(dataDir, 'data'), host, port, tickTimeMs }) }],
  };
}

interface PlaceholderValues {
  name: string;
  index: number;
  port: number | undefined;
  host: string;
  root: string;
  dataDir: string | undefined;
  addresses: (service: string) => string | undefined;
}

/**
 * `{name}`, `{index}`, `{port}`, `{host}`, `{root}`, `{data_dir}` and `{addresses:SERVICE}`
 * (that service's host:port list). Other braces are left alone, so shell text like `${HOME}`
 * passes through as long as it does not use one of these names.
 */
function expandPlaceholders(reader: YamlReader, text: string, located: Located, values: PlaceholderValues): string {
  return text.replace(/\{(name|index|port|host|root|data_dir|addresses:([A-Za-z0-9_-]+))\}/g, (whole, key: string, service?: string) => {
    if (service !== undefined) {
      const list = values.addresses(service);
      if (list === undefined) reader.fail(located, `${whole}: no service named "${service}"`);
      return list;
    }
    switch (key) {
      case 'name': return values.name;
      case 'index': return String(values.index);
      case 'host': return values.host;
      case 'root': return values.root;
      case 'port':
        if (values.port === undefined) reader.fail(located, '{port} is used but the service has no port');
        return String(values.port);
      case 'data_dir':
        if (values.dataDir === undefined) reader.fail(located, '{data_dir} is used but the service has no data_dir');
        return values.dataDir;
      default: return whole;
    }
  });
}

function parseHealth(reader: YamlReader, located: Located | undefined, kind: ServiceKind, hasPort: boolean): HealthSpec {
  const fields = located ? reader.object(located, [
    'http', 'tcp', 'zookeeper', 'none', 'expect_status', 'interval', 'timeout', 'healthy_threshold', 'unhealthy_threshold', 'start_timeout', 'unhealthy_timeout',
  ]) : new Map<string, Located>();
  const chosen = ['http', 'tcp', 'zookeeper', 'none'].filter((key) => fields.has(key));
  if (chosen.length > 1) reader.fail(fields.get(chosen[1]!)!, `choose one check: ${chosen.join(' or ')}`);
  let check: HealthCheck;
  if (fields.has('http')) {
    const pathText = reader.string(fields.get('http')!);
    if (!pathText.startsWith('/')) reader.fail(fields.get('http')!, 'expected a path starting with /');
    check = { type: 'http', path: pathText, expectStatus: fields.get('expect_status') ? reader.integer(fields.get('expect_status')!, 100, 599) : 200 };
  } else if (fields.has('tcp')) {
    if (!reader.boolean(fields.get('tcp')!)) reader.fail(fields.get('tcp')!, 'write tcp: true, or choose another check');
    check = { type: 'tcp' };
  } else if (fields.has('zookeeper')) {
    if (!reader.boolean(fields.get('zookeeper')!)) reader.fail(fields.get('zookeeper')!, 'write zookeeper: true, or choose another check');
    check = { type: 'zookeeper' };
  } else if (fields.has('none')) {
    if (!reader.boolean(fields.get('none')!)) reader.fail(fields.get('none')!, 'write none: true, or choose a check');
    check = { type: 'none' };
  } else {
    check = PTERON_KINDS.includes(kind) ? { type: 'http', path: '/version', expectStatus: 200 } : kind === 'zookeeper' ? { type: 'zookeeper' } : hasPort ? { type: 'tcp' } : { type: 'none' };
  }
  if (fields.has('expect_status') && check.type !== 'http') reader.fail(fields.get('expect_status')!, 'only for an http check');
  if (check.type !== 'none' && !hasPort) reader.fail(located ?? { node: undefined, path: 'health' }, `a ${check.type} check needs the service to have a port`);
  const duration = (key: string, fallback: number): number => (fields.get(key) ? reader.parsed(fields.get(key)!, parseDuration) : fallback);
  const health: HealthSpec = {
    check,
    intervalMs: duration('interval', 2000),
    timeoutMs: duration('timeout', 1000),
    healthyThreshold: fields.get('healthy_threshold') ? reader.integer(fields.get('healthy_threshold')!, 1, 100) : 1,
    unhealthyThreshold: fields.get('unhealthy_threshold') ? reader.integer(fields.get('unhealthy_threshold')!, 1, 100) : 3,
    startTimeoutMs: duration('start_timeout', 60000),
    unhealthyTimeoutMs: fields.get('unhealthy_timeout') ? reader.parsed(fields.get('unhealthy_timeout')!, parseOptionalDuration) : 10000,
  };
  if (health.intervalMs < 50) reader.fail(fields.get('interval')!, 'at least 50ms');
  if (health.timeoutMs < 10) reader.fail(fields.get('timeout')!, 'at least 10ms');
  if (health.startTimeoutMs < 100) reader.fail(fields.get('start_timeout')!, 'at least 100ms');
  return health;
}

function parseRestart(reader: YamlReader, located: Located | undefined): RestartSpec {
  const fields = located ? reader.object(located, ['policy', 'backoff', 'backoff_max', 'reset_after']) : new Map<string, Located>();
  const duration = (key: string, fallback: number): number => (fields.get(key) ? reader.parsed(fields.get(key)!, parseDuration) : fallback);
  const restart: RestartSpec = {
    policy: fields.get('policy') ? reader.oneOf(fields.get('policy')!, RESTART_POLICIES) : 'always',
    backoffMs: duration('backoff', 1000),
    backoffMaxMs: duration('backoff_max', 30000),
    resetAfterMs: duration('reset_after', 30000),
  };
  if (restart.backoffMs < 10) reader.fail(fields.get('backoff')!, 'at least 10ms');
  if (restart.backoffMaxMs < restart.backoffMs) reader.fail(fields.get('backoff_max') ?? fields.get('backoff')!, 'backoff_max is less than backoff');
  return restart;
}

function parseStop(reader: YamlReader, located: Located | undefined): StopSpec {
  const fields = located ? reader.object(located, ['signal', 'grace']) : new Map<string, Located>();
  return {
    signal: fields.get('signal') ? reader.oneOf(fields.get('signal')!, STOP_SIGNALS) : 'SIGTERM',
    graceMs: fields.get('grace') ? reader.parsed(fields.get('grace')!, parseDuration) : 10000,
  };
}

function parseRolling(reader: YamlReader, located: Located | undefined, kind: ServiceKind): RollingSpec {
  const fields = located ? reader.object(located, ['gate', 'timeout', 'poll']) : new Map<string, Located>();
  return {
    gate: fields.get('gate') ? reader.oneOf(fields.get('gate')!, ['cluster', 'none'] as const) : kind === 'replica' ? 'cluster' : 'none',
    timeoutMs: fields.get('timeout') ? reader.parsed(fields.get('timeout')!, parseDuration) : 120000,
    pollMs: fields.get('poll') ? reader.parsed(fields.get('poll')!, parseDuration) : 1000,
  };
}
