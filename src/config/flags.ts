// The process-wide flag registry: every setting is declared once, in the module that uses it,
// with its section, type, default, description and tags. Names are unique across sections,
// as in Pegasus (the HTTP API looks flags up by bare name).
import { PteronError } from '../base/index.ts';
import { formatFlagValue, parseFlagValue, type FlagType, type FlagValue } from './parse.ts';

/** The value type a default stands for: `default: 1` declares a number flag, not a flag of 1. */
export type WidenedValue<T extends FlagValue> = T extends boolean ? boolean : T extends number ? number : string;

export interface FlagSpec<T extends FlagValue> {
  section: string;
  name: string;
  type: FlagType;
  default: T;
  description: string;
  mutable?: boolean;
  /** A mutable string flag /updateConfig may change (Pegasus refuses every string modification). */
  updatableString?: boolean;
  /** A credential: the admin API shows it as `<hidden>` instead of its value. */
  secret?: boolean;
  /** Returns true when the value is acceptable. */
  validator?: (value: WidenedValue<T>) => boolean;
}

export interface Flag<T extends FlagValue = FlagValue> {
  readonly section: string;
  readonly name: string;
  readonly type: FlagType;
  readonly description: string;
  readonly mutable: boolean;
  readonly updatableString: boolean;
  readonly secret: boolean;
  readonly defaultValue: T;
  readonly value: T;
}

interface FlagEntry extends Flag {
  value: FlagValue;
  validator?: (value: FlagValue) => boolean;
  listeners: Array<(value: FlagValue) => void>;
}

/** A cross-flag consistency check: returns true when fine, otherwise a hint for the failure message (may be ""). */
export type GroupValidator = () => true | string;

const flags = new Map<string, FlagEntry>();
const groupValidators = new Map<string, GroupValidator>();

const TYPE_OF_DEFAULT: Record<FlagType, string> = {
  FV_BOOL: 'boolean', FV_INT32: 'number', FV_UINT32: 'number', FV_INT64: 'number',
  FV_UINT64: 'number', FV_DOUBLE: 'number', FV_STRING: 'string',
};

/** Declares a flag, or returns the one already declared with the same spec (modules can be re-imported). */
export function defineFlag<T extends FlagValue>(spec: FlagSpec<T>): Flag<WidenedValue<T>> {
  const existing = flags.get(spec.name);
  if (existing) {
    if (existing.section !== spec.section || existing.type !== spec.type) {
      throw new Error(`flag "${spec.name}" declared twice with different section or type`);
    }
    return existing as unknown as Flag<WidenedValue<T>>;
  }
  const integral = spec.type !== 'FV_BOOL' && spec.type !== 'FV_DOUBLE' && spec.type !== 'FV_STRING';
  if (
    typeof spec.default !== TYPE_OF_DEFAULT[spec.type] ||
    (integral && parseFlagValue(spec.type, String(spec.default)) !== spec.default)
  ) {
    throw new Error(`flag "${spec.name}": default ${String(spec.default)} does not fit ${spec.type}`);
  }
  const entry: FlagEntry = {
    section: spec.section,
    name: spec.name,
    type: spec.type,
    description: spec.description,
    mutable: spec.mutable ?? false,
    updatableString: spec.updatableString ?? false,
    secret: spec.secret ?? false,
    defaultValue: spec.default,
    value: spec.default,
    validator: spec.validator as ((value: FlagValue) => boolean) | undefined,
    listeners: [],
  };
  if (entry.validator && !entry.validator(entry.value)) {
    throw new Error(`flag "${spec.name}": default ${String(spec.default)} fails its own validator`);
  }
  flags.set(spec.name, entry);
  return entry as unknown as Flag<WidenedValue<T>>;
}

export function defineGroupValidator(name: string, check: GroupValidator): void {
  groupValidators.set(name, check);
}

export function findFlag(name: string): Flag | undefined {
  return flags.get(name);
}

export function findFlagBySection(section: string, name: string): Flag | undefined {
  const flag = flags.get(name);
  return flag && flag.section === section ? flag : undefined;
}

/** Every flag, in ascending name order. */
export function allFlags(): Flag[] {
  return [...flags.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Runs `listener` after every successful change of the flag (the owner's update hook). */
export function onFlagChange(flag: Flag, listener: (value: FlagValue) => void): void {
  (flag as FlagEntry).listeners.push(listener);
}

export function formatValue(flag: Flag): string {
  if (flag.secret && flag.value !== '') return '<hidden>';
  return formatFlagValue(flag.type, flag.value);
}

export function tagsOf(flag: Flag): string {
  return flag.mutable ? 'flag_tag::FT_MUTABLE' : '';
}

/** Runs every group validator; returns their failure messages, empty when all pass. */
export function groupValidatorFailures(): string[] {
  const failures: string[] = [];
  for (const [name, check] of groupValidators) {
    const result = check();
    if (result === true) continue;
    failures.push(result === '' ? `group validator "${name}" failed` : `group validator "${name}" failed: "${result}"`);
  }
  return failures;
}

/**
 * Sets a flag from text, with the checks Pegasus's /updateConfig makes, in its order.
 * `fromConfig` is start-up loading: immutability does not apply, string flags may be set, and
 * the group validators are left to the loader, which runs them once every value is in place
 * (checked one by one, a consistent file could fail half-way through).
 */
export function setFlagFromText(name: string, text: string, fromConfig = false): void {
  const flag = flags.get(name);
  if (!flag) throw new PteronError('ERR_OBJECT_NOT_FOUND', `${name} is not found`);
  if (!fromConfig && !flag.mutable) throw new PteronError('ERR_INVALID_PARAMETERS', `${name} is not mutable`);
  if (!fromConfig && flag.type === 'FV_STRING' && !flag.updatableString) {
    throw new PteronError('ERR_INVALID_PARAMETERS', 'string modifications are not supported');
  }
  const parsed = parseFlagValue(flag.type, text);
  if (parsed === undefined) throw new PteronError('ERR_INVALID_PARAMETERS', `${text} is invalid`);
  const previous = flag.value;
  flag.value = parsed;
  if (flag.validator && !flag.validator(parsed)) {
    flag.value = previous;
    throw new PteronError('ERR_INVALID_PARAMETERS', 'value validation failed');
  }
  const failures = fromConfig ? [] : groupValidatorFailures();
  if (failures.length > 0) {
    flag.value = previous;
    throw new PteronError('ERR_INVALID_PARAMETERS', failures.join('; '));
  }
  if (previous !== parsed) for (const listener of flag.listeners) listener(parsed);
}
