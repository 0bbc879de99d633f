// Fuzzers that need no server: config.ini, the supervisor's manifest and its API parameters, and
// the shell's command line (tokenizer, option parser and every command, over a meta that answers
// every call with an error). Each input is a mutant of a valid one or random; the property is
// always the same: a clear error of the expected kind, never another throw, never a hang.
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createShellSession, SHELL_COMMANDS, type CommandResult, type MetaCaller, type MetaReply } from '../../src/cli/shell/index.ts';
import { ROLES } from '../../src/cli/roles.ts';
import { allFlags, ConfigError, IniSyntaxError, loadConfig, parseIni, setFlagFromText } from '../../src/config/index.ts';
import { ApiError, parseInvalidate } from '../../src/supervisor/api-format.ts';
import { ManifestError, parseManifest } from '../../src/supervisor/manifest.ts';
import { PROJECT_ROOT } from '../helpers/process.ts';
import { awkwardString, mutateJson, mutateText, mutateWords, shellWord, AWKWARD_NUMBERS } from './mutate.ts';
import type { FuzzRng } from './random.ts';
import { Outcomes, type Fuzzer } from './runner.ts';

/** Throws `error` again unless it is one of `expected`, naming what was thrown instead. */
function expectErrorOf(error: unknown, expected: ReadonlyArray<abstract new (...args: never[]) => Error>, what: string): void {
  if (expected.some((kind) => error instanceof kind)) {
    if ((error as Error).message === '') throw new Error(`${what}: an error without a message`);
    return;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  throw new Error(`${what} threw ${error instanceof Error ? error.constructor.name : typeof error} instead of ${expected.map((kind) => kind.name).join(' or ')}: ${detail}`);
}

function filesIn(dir: string, extension: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(extension)).map((name) => path.join(dir, name));
}

// ---- config.ini ---------------------------------------------------------------------------

/** A flag's value as text that parses back to the same value (formatValue rounds doubles). */
const exactText = (value: boolean | number | string): string => String(value);

function mutateIniStructure(rng: FuzzRng, text: string, flagNames: readonly string[]): string {
  const lines = text.split('\n');
  const at = rng.below(lines.length + 1);
  switch (rng.below(6)) {
    case 0:
      lines.splice(at, 0, `${rng.pick(flagNames)} = ${rng.chance(0.5) ? rng.pick(AWKWARD_NUMBERS) : awkwardString(rng, 300)}`);
      break;
    case 1:
      lines.splice(at, 0, `[${rng.chance(0.5) ? rng.pick(['core', 'replication', 'meta_server', 'http', 'network', 'diag', 'apps.meta', 'pegasus.clusters']) : awkwardString(rng, 40)}]`);
      break;
    case 2:
      lines.splice(at, 0, rng.pick(['[', ']', '[]', '[ ]', '=', '= x', 'key', 'key =', ' = value', '[a]b', '[[x]]', ';[x', '#=']));
      break;
    case 3: {
      // A known key with a value of the wrong type, in the section it belongs to.
      const flag = rng.pick(allFlags());
      lines.splice(at, 0, `[${flag.section}]`, `${flag.name} = ${rng.pick(['', 'x', 'true', '-1', '1.5', '0x', '99999999999999999999', '1e400', awkwardString(rng, 64)])}`);
      break;
    }
    case 4:
      lines.splice(at, 0, ...Array.from({ length: rng.pick([2, 100, 20_000]) }, (_, index) => `key${index} = ${'v'.repeat(rng.below(40))}`));
      break;
    default:
      lines.splice(at, 0, `${'k'.repeat(rng.pick([1, 300, 100_000]))} = ${'v'.repeat(rng.pick([0, 300, 300_000]))}`);
  }
  return lines.join('\n');
}

export function configIniFuzzer(): Fuzzer<string> {
  let seeds: string[] = [];
  let flagNames: string[] = [];
  let dir = '';
  let file = '';
  let defaults = new Map<string, string>();
  const outcomes = new Outcomes();
  return {
    name: 'config-ini',
    outcomes,
    description: 'config.ini texts (mutated sample configs, wrong flag types, broken sections, random bytes): parseIni throws only IniSyntaxError, loadConfig only ConfigError',
    parallel: 1,
    async prepare() {
      // Every flag a server declares, so that the loader checks values as a server would.
      for (const role of Object.values(ROLES)) await role.load();
      seeds = filesIn(path.join(PROJECT_ROOT, 'config'), '.ini').map((name) => readFileSync(name, 'utf8'));
      flagNames = allFlags().map((flag) => flag.name);
      defaults = new Map(allFlags().map((flag) => [flag.name, exactText(flag.value)]));
      dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-fuzz-ini-'));
      file = path.join(dir, 'config.ini');
    },
    generate(rng) {
      if (rng.chance(0.1)) return rng.bytes(rng.length(2000)).toString('latin1');
      let text = rng.pick(seeds);
      if (rng.chance(0.6)) text = mutateIniStructure(rng, text, flagNames);
      return rng.chance(0.6) ? mutateText(rng, text) : text;
    },
    check(text) {
      try {
        parseIni(text, 'config.ini');
      } catch (error) {
        expectErrorOf(error, [IniSyntaxError], 'parseIni');
      }
      writeFileSync(file, text, 'latin1');
      try {
        loadConfig(file, []);
        outcomes.count('loaded');
      } catch (error) {
        expectErrorOf(error, [ConfigError], 'loadConfig');
        outcomes.count('refused');
      } finally {
        // The loader sets the flags of this process: put them back for the next case.
        for (const flag of allFlags()) {
          const original = defaults.get(flag.name);
          if (original !== undefined && exactText(flag.value) !== original) setFlagFromText(flag.name, original, true);
        }
      }
    },
    finish() {
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- the supervisor's manifest ------------------------------------------------------------

/** YAML that only YAML has: aliases (and their blow-up), tags, merge keys, documents, anchors gone missing. */
const YAML_SNIPPETS: readonly string[] = [
  'x-a: &a [1, 2]\nx-b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nx-c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nx-d: [*c, *c, *c, *c, *c, *c, *c, *c]\n',
  'services: *nowhere\n', 'services: !!binary aGVsbG8=\n', 'services: !custom x\n', '<<: {services: {}}\n', '---\n---\n', '...\n',
  'services:\n  - a\n  - b\n', 'services: {a: {kind: app, command: [x]}}\n', 'services:\n  a:\n    kind: app\n    command: "x"\n    depends_on: [a]\n',
  'supervisor: {port: 99999999999999999999}\n', 'supervisor: {port: -1}\n', 'supervisor: {port: 0x10}\n', '? [a, b]\n: c\n', '"\\ud800": x\n',
  'services:\n  m:\n    kind: meta\n    ports: [1, 1, 1]\n', 'services:\n  m:\n    kind: replica\n    ports: "a-b"\n', '\t- tab\n', 'a: b: c\n',
];

export function manifestFuzzer(): Fuzzer<string> {
  let seeds: string[] = [];
  const outcomes = new Outcomes();
  return {
    name: 'manifest',
    outcomes,
    description: "supervisor manifests (mutated repository manifests as YAML and as JSON, YAML's aliases, tags and merges, random bytes): parseManifest throws only ManifestError",
    parallel: 1,
    prepare() {
      seeds = [path.join(PROJECT_ROOT, 'pteron.yml'), ...filesIn(path.join(PROJECT_ROOT, 'manifests'), '.yml')].map((name) => readFileSync(name, 'utf8'));
    },
    generate(rng) {
      const seed = rng.pick(seeds);
      switch (rng.below(5)) {
        case 0:
          return rng.bytes(rng.length(1500)).toString('latin1');
        case 1:
          // YAML reads JSON: the structure-aware mutants go in as JSON documents.
          return mutateJson(rng, parseYaml(seed), ['services', 'supervisor', 'root', 'kind', 'ports', 'hosts', 'command', 'depends_on', 'env', 'health', 'restart', 'stop', 'args', 'data_dir']);
        case 2: {
          const lines = seed.split('\n');
          lines.splice(rng.below(lines.length + 1), 0, rng.pick(YAML_SNIPPETS));
          return lines.join('\n');
        }
        default:
          return mutateText(rng, seed);
      }
    },
    check(text) {
      try {
        parseManifest(text, '/srv/fuzz/pteron.yml', { env: {} });
        outcomes.count('accepted');
      } catch (error) {
        expectErrorOf(error, [ManifestError], 'parseManifest');
        outcomes.count('refused');
      }
    },
  };
}

// ---- the supervisor API's parameters ----------------------------------------------------

interface InvalidateInput {
  method: string;
  query: Array<[string, string]>;
  body: string;
}

export function supervisorParamsFuzzer(): Fuzzer<InvalidateInput> {
  return {
    name: 'supervisor-params',
    description: 'the supervisor API\'s query and JSON body parameters (`invalidate`, as /service/restart and /reload take them): only ApiError (400), never another throw',
    generate(rng) {
      const query: Array<[string, string]> = Array.from({ length: rng.below(3) }, () => [
        rng.pick(['invalidate', 'Invalidate', 'INVALIDATE', 'pretty', awkwardString(rng, 20)]),
        rng.pick(['1', 'true', 'on', 'off', 'yes', '', awkwardString(rng, 20)]),
      ]);
      const body = rng.chance(0.2) ? '' : mutateJson(rng, { invalidate: rng.chance(0.5) }, ['invalidate', 'Invalidate']);
      return { method: rng.pick(['POST', 'PUT', 'PATCH', 'GET', 'DELETE']), query, body };
    },
    check(input) {
      try {
        parseInvalidate({ method: input.method, query: new Map(input.query), body: Buffer.from(input.body, 'utf8') });
      } catch (error) {
        expectErrorOf(error, [ApiError], 'parseInvalidate');
      }
    },
  };
}

// ---- the shell's command line -------------------------------------------------------------

/** Values a command's parameters plausibly take, so that mutants reach past the option parser. */
const PLAUSIBLE_WORDS: readonly string[] = [
  'temp', 'temp2', '1', '0', '3', '8', '100', '-1', '1,2', 'a,b', 'true', 'false', 'normal', 'bulk_load', 'once', 'periodic', 'skip',
  'force', '24:00', '12:30', 'local', 'policy1', '127.0.0.1:34801', 'hash', 'sort', 'value', 'k1', 'v1', 'NO_FILTER', 'prefix',
  'anywhere', 'postfix', 'fail_slow', 'fail_skip', 'primary', 'secondary', 'start', 'stop', 'query', 'freezed', 'steady', 'lively',
  'out.txt', '10s', '1h', '86400',
];

/** The words a command's usage names: its options (`-s|--sst`, `--name str`) and positionals (`<app_name>`). */
function wordsFromUsage(rng: FuzzRng, usage: string): string[] {
  const words: string[] = [];
  const tokens = usage.replace(/[[\]]/g, ' ').split(/\s+/).filter((token) => token !== '');
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (!rng.chance(0.7)) continue;
    if (token.startsWith('-')) {
      const forms = token.split('|').filter((form) => form.startsWith('-'));
      words.push(rng.pick(forms.length > 0 ? forms : [token]));
      const next = tokens[index + 1];
      if (next !== undefined && !next.startsWith('-') && !next.startsWith('<')) words.push(rng.pick(PLAUSIBLE_WORDS));
    } else if (token.startsWith('<')) {
      words.push(rng.pick(PLAUSIBLE_WORDS));
    }
  }
  return words;
}

interface ShellInput {
  line: string;
  currentApp: string;
  /** The error every meta call is answered with. */
  metaError: string;
}

const COMMAND_RESULTS: readonly CommandResult[] = ['ok', 'failed', 'usage', 'exit'];

/** A stack frame or an uncaught error's name in what a command printed: a bug reached the screen. */
const LEAKED_ERROR = /\n\s+at .+:\d+:\d+\)?$|\b(?:TypeError|RangeError|ReferenceError|SyntaxError): /m;

export function shellLineFuzzer(): Fuzzer<ShellInput> {
  let dir = '';
  let previousDir = '';
  const outcomes = new Outcomes();
  return {
    name: 'shell-line',
    outcomes,
    description: "shell command lines (every command with mutated options and arguments, broken quotes and escapes, random text) over a meta answering errors: runLine resolves to a result, never throws, never prints a stack",
    prepare() {
      // Commands with an output file (-o) write it into the working directory.
      dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-fuzz-shell-'));
      previousDir = process.cwd();
      process.chdir(dir);
    },
    generate(rng) {
      const metaError = rng.pick(['ERR_NETWORK_FAILURE', 'ERR_TIMEOUT', 'ERR_OBJECT_NOT_FOUND', 'ERR_INVALID_PARAMETERS', 'ERR_APP_NOT_EXIST', 'ERR_HANDLER_NOT_FOUND']);
      const currentApp = rng.chance(0.5) ? 'temp' : '';
      if (rng.chance(0.1)) return { line: mutateText(rng, rng.text('abc_ -"\'\\x019é', rng.length(80))), currentApp, metaError };
      const command = rng.pick(SHELL_COMMANDS);
      let words = [command.name, ...wordsFromUsage(rng, command.usage)];
      if (rng.chance(0.8)) words = [words[0]!, ...mutateWords(rng, words.slice(1))];
      let line = words.map((word) => shellWord(rng, word)).join(rng.chance(0.9) ? ' ' : rng.pick(['  ', '\t', ' \n ']));
      if (rng.chance(0.15)) line = mutateText(rng, line);
      return { line, currentApp, metaError };
    },
    async check(input) {
      const meta: MetaCaller = {
        async call<R extends { err: string }>(): Promise<MetaReply<R>> {
          return { err: input.metaError, response: undefined };
        },
        async close() {},
      };
      let printed = '';
      const shell = createShellSession(meta, { out: (text) => (printed += text), err: (text) => (printed += text) }, {
        currentApp: input.currentApp, sleep: async () => {}, readyPollMs: 1, readyWaitMs: 1, version: 'fuzz', readLine: async () => undefined,
      });
      let result: CommandResult;
      try {
        result = await shell.runLine(input.line);
      } catch (error) {
        throw new Error(`runLine threw: ${error instanceof Error ? error.stack : String(error)}`);
      }
      outcomes.count(result);
      if (!COMMAND_RESULTS.includes(result)) throw new Error(`runLine answered ${JSON.stringify(result)}`);
      if (LEAKED_ERROR.test(printed)) throw new Error(`the command printed an internal error:\n${printed.slice(0, 2000)}`);
    },
    finish() {
      if (previousDir !== '') process.chdir(previousDir);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function localFuzzers(): Fuzzer<any>[] {
  return [configIniFuzzer(), manifestFuzzer(), supervisorParamsFuzzer(), shellLineFuzzer()];
}
