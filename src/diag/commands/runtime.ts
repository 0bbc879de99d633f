// Process and runtime facts: sysenv (environment), sysprop (Node's read-only counterpart of Java
// system properties), vmoption (V8/Node options, a few of them settable at runtime).
import os from 'node:os';
import v8 from 'node:v8';
import { STATUS_ERROR } from '../results.ts';
import type { CommandSpec } from './registry.ts';

export const sysenvCommand: CommandSpec = {
  name: 'sysenv',
  summary: 'Display the environment variables of the process',
  arguments: [{ name: 'name', type: 'string', description: 'Show only this variable' }],
  examples: ['sysenv', 'sysenv PATH'],
  run({ append, args }) {
    const name = args.argumentText('name');
    if (name === undefined) {
      const env: Record<string, string> = {};
      for (const key of Object.keys(process.env).sort()) env[key] = process.env[key] ?? '';
      append({ type: 'sysenv', env });
      return;
    }
    const value = process.env[name];
    if (value === undefined) return { statusCode: STATUS_ERROR, message: `no such environment variable: ${name}` };
    append({ type: 'sysenv', env: { [name]: value } });
  },
};

function flatten(prefix: string, value: unknown, into: Record<string, string>): void {
  if (value === undefined || value === null || typeof value === 'function') return;
  if (Array.isArray(value)) into[prefix] = value.map(String).join(' ');
  else if (typeof value === 'object') for (const [key, inner] of Object.entries(value)) flatten(`${prefix}.${key}`, inner, into);
  else into[prefix] = String(value);
}

/** Runtime facts as flat string properties, like Java's system properties. */
export function systemProperties(role: string, version: string): Record<string, string> {
  const props: Record<string, string> = {};
  flatten('node.version', process.version, props);
  flatten('versions', process.versions, props);
  flatten('release', process.release, props);
  flatten('features', process.features, props);
  flatten('process.pid', process.pid, props);
  flatten('process.ppid', process.ppid, props);
  flatten('process.platform', process.platform, props);
  flatten('process.arch', process.arch, props);
  flatten('process.title', process.title, props);
  flatten('process.execPath', process.execPath, props);
  flatten('process.execArgv', process.execArgv, props);
  flatten('process.argv', process.argv, props);
  flatten('process.cwd', process.cwd(), props);
  flatten('process.umask', process.umask().toString(8).padStart(4, '0'), props);
  flatten('os.type', os.type(), props);
  flatten('os.release', os.release(), props);
  flatten('os.version', os.version(), props);
  flatten('os.hostname', os.hostname(), props);
  flatten('os.endianness', os.endianness(), props);
  flatten('os.tmpdir', os.tmpdir(), props);
  flatten('os.homedir', os.homedir(), props);
  flatten('os.availableParallelism', os.availableParallelism(), props);
  flatten('os.totalmem', os.totalmem(), props);
  flatten('user.name', safeUserName(), props);
  flatten('intl.locale', Intl.DateTimeFormat().resolvedOptions().locale, props);
  flatten('intl.timeZone', Intl.DateTimeFormat().resolvedOptions().timeZone, props);
  flatten('pteron.role', role, props);
  flatten('pteron.version', version, props);
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(props).sort()) sorted[key] = props[key]!;
  return sorted;
}

function safeUserName(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

export const syspropCommand: CommandSpec = {
  name: 'sysprop',
  summary: 'Display runtime properties of the process (Node, V8, OS, Pteron); they are read-only',
  arguments: [
    { name: 'name', type: 'string', description: 'Show only this property' },
    { name: 'value', type: 'string', description: 'Not supported: Node.js has no settable system properties' },
  ],
  examples: ['sysprop', 'sysprop versions.v8'],
  run({ append, args, services }) {
    const name = args.argumentText('name');
    if (args.argumentText('value') !== undefined) {
      return { statusCode: STATUS_ERROR, message: 'runtime properties are read-only; settable options are listed by vmoption' };
    }
    const props = systemProperties(services.server.role, services.server.version);
    if (name === undefined) {
      append({ type: 'sysprop', props });
      return;
    }
    if (!(name in props)) return { statusCode: STATUS_ERROR, message: `no such property: ${name}` };
    append({ type: 'sysprop', props: { [name]: props[name] } });
  },
};

// ---- vmoption

type Origin = 'DEFAULT' | 'VM_CREATION' | 'ENVIRON_VAR' | 'MANAGEMENT';

interface VmOption {
  name: string;
  value: string;
  origin: Origin;
  writeable: boolean;
}

interface WritableOption {
  kind: 'boolean' | 'integer';
  description: string;
  read?: () => string;
  /** Applies a validated value; the default applies it as a V8 flag. */
  write?: (value: string) => void;
}

/**
 * Options that are safe and meaningful to change in a running process. Most V8 flags only take
 * effect when the isolate starts, so they are listed read-only.
 */
const WRITABLE: Record<string, WritableOption> = {
  trace_gc: { kind: 'boolean', description: 'Print one line per garbage collection on stdout' },
  trace_gc_verbose: { kind: 'boolean', description: 'Print heap details after each garbage collection' },
  trace_gc_ignore_scavenger: { kind: 'boolean', description: 'Leave scavenges out of trace_gc' },
  trace_opt: { kind: 'boolean', description: 'Print optimised functions' },
  trace_deopt: { kind: 'boolean', description: 'Print deoptimisations' },
  expose_gc: { kind: 'boolean', description: 'Give contexts created from now on a gc() function' },
  stack_trace_limit: {
    kind: 'integer',
    description: 'Frames captured in Error stacks (Error.stackTraceLimit)',
    read: () => String(Error.stackTraceLimit),
    write: (value) => void (Error.stackTraceLimit = Number(value)),
  },
};

/** Values changed through vmoption; V8 cannot be asked for a flag's value. */
const changedValues = new Map<string, string>();

const normalizeName = (name: string): string => name.replace(/^-+/, '').replaceAll('-', '_');

/** `--a=1 --b c --no-d` → [[a, 1], [b, c], [d, false]]. */
function parseNodeArgs(words: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (!word.startsWith('-')) continue;
    const equals = word.indexOf('=');
    if (equals > 0) {
      pairs.push([normalizeName(word.slice(0, equals)), word.slice(equals + 1)]);
      continue;
    }
    const name = normalizeName(word);
    const next = words[index + 1];
    if (name.startsWith('no_')) pairs.push([name.slice(3), 'false']);
    else if (next !== undefined && !next.startsWith('-')) pairs.push([name, words[++index]!]);
    else pairs.push([name, 'true']);
  }
  return pairs;
}

export function vmOptions(): VmOption[] {
  const options = new Map<string, VmOption>();
  for (const [name, option] of Object.entries(WRITABLE)) {
    const value = changedValues.get(name) ?? option.read?.() ?? (option.kind === 'boolean' ? 'false' : '');
    options.set(name, { name, value, origin: changedValues.has(name) ? 'MANAGEMENT' : 'DEFAULT', writeable: true });
  }
  const nodeOptions = (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((word) => word !== '');
  const sources: Array<[Origin, readonly string[]]> = [['ENVIRON_VAR', nodeOptions], ['VM_CREATION', process.execArgv]];
  for (const [origin, words] of sources) {
    for (const [name, value] of parseNodeArgs(words)) {
      const writeable = name in WRITABLE;
      if (writeable && changedValues.has(name)) continue;
      options.set(name, { name, value, origin, writeable });
    }
  }
  return [...options.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const vmoptionCommand: CommandSpec = {
  name: 'vmoption',
  summary: 'Display the V8/Node options of the process, or change one of the few that can change at runtime',
  arguments: [
    { name: 'name', type: 'string', description: 'Show (or change) only this option; dashes and underscores are the same' },
    { name: 'value', type: 'string', description: 'The new value' },
  ],
  examples: ['vmoption', 'vmoption trace_gc', 'vmoption trace_gc true', 'vmoption stack_trace_limit 50'],
  run({ append, args }) {
    const rawName = args.argumentText('name');
    const value = args.argumentText('value');
    if (rawName === undefined) {
      append({ type: 'vmoption', vmOptions: vmOptions() });
      return;
    }
    const name = normalizeName(rawName);
    const current = vmOptions().find((option) => option.name === name);
    if (value === undefined) {
      if (!current) return { statusCode: STATUS_ERROR, message: `no such option: ${rawName}` };
      append({ type: 'vmoption', vmOptions: [current] });
      return;
    }
    // Own keys only: `constructor` or `__proto__` is no option.
    const writable = Object.hasOwn(WRITABLE, name) ? WRITABLE[name] : undefined;
    if (!writable) return { statusCode: STATUS_ERROR, message: `${name} cannot be changed at runtime; writeable options: ${Object.keys(WRITABLE).join(', ')}` };
    if (writable.kind === 'boolean' && value !== 'true' && value !== 'false') {
      return { statusCode: STATUS_ERROR, message: `${name} takes true or false, got '${value}'` };
    }
    if (writable.kind === 'integer' && !(/^\d{1,6}$/.test(value))) {
      return { statusCode: STATUS_ERROR, message: `${name} takes an integer from 0 to 999999, got '${value}'` };
    }
    const beforeValue = current?.value ?? '';
    if (writable.write) writable.write(value);
    else v8.setFlagsFromString(writable.kind === 'boolean' ? (value === 'true' ? `--${name}` : `--no-${name}`) : `--${name}=${value}`);
    changedValues.set(name, value);
    append({ type: 'vmoption', changeResult: { name, beforeValue, afterValue: value } });
  },
};
