// Loads config.ini plus `--set section.key=value` overrides, applies them to the declared flags,
// and keeps the structured sections (such as `[meta_server.apps.temp]`) for the roles to read.
import { readFileSync } from 'node:fs';
import { parseIni, type IniEntry } from './ini.ts';
import { findFlag, groupValidatorFailures, setFlagFromText } from './flags.ts';
import { PteronError } from '../base/index.ts';

export class ConfigError extends Error {}

export interface LoadedConfig {
  /** Entries of one section, in file order; marks them as used. */
  section(name: string): Map<string, string>;
  /** Names of every section that starts with `prefix`. */
  sectionsWithPrefix(prefix: string): string[];
  /** `[section] key` entries that neither a flag nor a role has read. */
  unknownKeys(): string[];
  readonly source: string;
}

/** `section.key=value`: the section is everything before the last dot of the left-hand side. */
export function parseSetOption(option: string): IniEntry {
  const equals = option.indexOf('=');
  const left = equals < 0 ? '' : option.slice(0, equals).trim();
  const dot = left.lastIndexOf('.');
  if (equals < 0 || dot <= 0 || dot === left.length - 1) {
    throw new ConfigError(`--set expects section.key=value, got "${option}"`);
  }
  return { section: left.slice(0, dot), key: left.slice(dot + 1), value: option.slice(equals + 1).trim(), line: 0 };
}

export function loadConfig(file: string | undefined, sets: string[]): LoadedConfig {
  let entries: IniEntry[] = [];
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
    }
    try {
      entries = parseIni(text, file);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  entries = entries.concat(sets.map(parseSetOption));
  const source = file ?? '(defaults)';

  // The last assignment of a key wins: --set overrides the file.
  const sections = new Map<string, Map<string, IniEntry>>();
  for (const entry of entries) {
    let section = sections.get(entry.section);
    if (!section) sections.set(entry.section, (section = new Map()));
    section.set(entry.key, entry);
  }

  const used = new Set<string>();
  for (const [sectionName, section] of sections) {
    for (const entry of section.values()) {
      const flag = findFlag(entry.key);
      if (!flag || flag.section !== sectionName) continue;
      try {
        setFlagFromText(entry.key, entry.value, true);
      } catch (error) {
        const where = entry.line > 0 ? `${source}:${entry.line}` : '--set';
        const reason = error instanceof PteronError ? error.message : String(error);
        throw new ConfigError(`${where}: [${sectionName}] ${entry.key} = "${entry.value}": ${reason} (expected ${flag.type})`);
      }
      used.add(`${sectionName}\u0000${entry.key}`);
    }
  }
  const failures = groupValidatorFailures();
  if (failures.length > 0) throw new ConfigError(`${source}: ${failures.join('; ')}`);

  return {
    source,
    section(name) {
      const result = new Map<string, string>();
      for (const entry of sections.get(name)?.values() ?? []) {
        used.add(`${name}\u0000${entry.key}`);
        result.set(entry.key, entry.value);
      }
      return result;
    },
    sectionsWithPrefix(prefix) {
      return [...sections.keys()].filter((name) => name.startsWith(prefix));
    },
    unknownKeys() {
      const unknown: string[] = [];
      for (const [sectionName, section] of sections) {
        for (const key of section.keys()) if (!used.has(`${sectionName}\u0000${key}`)) unknown.push(`[${sectionName}] ${key}`);
      }
      return unknown;
    },
  };
}
