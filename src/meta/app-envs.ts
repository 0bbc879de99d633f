// Table environments ("app envs"): the keys a table may carry, how their values are checked,
// and the catalogue /envs/list serves (spec pegasus-arch §2.11, pegasus-http §5.14).
import { parseSizeThrottlingRate, parseThrottlingRules } from '../cluster/index.ts';

export type EnvValueType = 'bool' | 'int32' | 'int64' | 'string';

interface EnvDefinition {
  type: EnvValueType;
  /** Shown in /envs/list and in range-check hints. */
  limitation: string;
  sample: string;
  /** Integer envs: the range rule behind `limitation`. */
  inRange?: (value: bigint) => boolean;
  /** String envs: returns a hint when the value is rejected. */
  check?: (value: string) => string | undefined;
}

const THROTTLING_LIMITATION = '<size[K|M]>*<delay|reject>*<milliseconds>';
const THROTTLING_SAMPLE = '10000*delay*100,20000*reject*100';

/** Pegasus's check_throttling: the value parses as delay and reject rules (../cluster/throttling-env.ts). */
function checkThrottling(value: string): string | undefined {
  const parsed = parseThrottlingRules(value);
  return 'hint' in parsed ? parsed.hint : undefined;
}

/** read_throttling_by_size is a token bucket: Pegasus validates it as the bucket reads it. */
function checkSizeThrottling(value: string): string | undefined {
  const parsed = parseSizeThrottlingRate(value);
  return 'hint' in parsed ? parsed.hint : undefined;
}

const DENY_CLIENT_LIMITATION = 'timeout*all | timeout*write | timeout*read | reconfig*all | reconfig*write | reconfig*read';

function oneOf(limitation: string, allowed: readonly string[]): (value: string) => string | undefined {
  return (value) => (allowed.includes(value) ? undefined : limitation);
}

const BOOL: EnvDefinition = { type: 'bool', limitation: 'true | false', sample: 'true' };
const STRING: EnvDefinition = { type: 'string', limitation: '', sample: '' };
const THROTTLING: EnvDefinition = { type: 'string', limitation: THROTTLING_LIMITATION, sample: THROTTLING_SAMPLE, check: checkThrottling };
const BOTTOMMOST: EnvDefinition = {
  type: 'string', limitation: 'force | skip', sample: 'skip', check: oneOf('force | skip', ['force', 'skip']),
};
const TARGET_LEVEL: EnvDefinition = { type: 'int64', limitation: '-1 or >= 1', sample: '6', inRange: (v) => v === -1n || v >= 1n };

export const APP_ENV_DEFINITIONS: ReadonlyMap<string, EnvDefinition> = new Map<string, EnvDefinition>([
  ['replica.slow_query_threshold', { type: 'int64', limitation: '>= 20', sample: '1000', inRange: (v) => v >= 20n }],
  ['replica.write_throttling', THROTTLING],
  ['replica.write_throttling_by_size', THROTTLING],
  ['replica.read_throttling', THROTTLING],
  ['replica.read_throttling_by_size', { type: 'string', limitation: '', sample: '20000*delay*100,20000*reject*100', check: checkSizeThrottling }],
  ['replica.backup_request_throttling', THROTTLING],
  ['replica.rocksdb_iteration_threshold_time_ms', { type: 'int64', limitation: '>= 0', sample: '1000', inRange: (v) => v >= 0n }],
  ['replica.rocksdb_block_cache_enabled', BOOL],
  ['replica.split.validate_partition_hash', BOOL],
  ['user_specified_compaction', STRING],
  ['rocksdb.allow_ingest_behind', BOOL],
  ['replica.deny_client_request', {
    type: 'string', limitation: DENY_CLIENT_LIMITATION, sample: 'timeout*all',
    check: oneOf(DENY_CLIENT_LIMITATION, ['timeout*all', 'timeout*write', 'timeout*read', 'reconfig*all', 'reconfig*write', 'reconfig*read']),
  }],
  ['rocksdb.write_buffer_size', {
    type: 'int64', limitation: 'In range [16777216, 536870912]', sample: '16777216', inRange: (v) => v >= 16777216n && v <= 536870912n,
  }],
  ['rocksdb.num_levels', { type: 'int64', limitation: 'In range [1, 10]', sample: '6', inRange: (v) => v >= 1n && v <= 10n }],
  ['business.info', STRING],
  ['default_ttl', { type: 'int32', limitation: '>= 0', sample: '86400', inRange: (v) => v >= 0n }],
  ['rocksdb.usage_scenario', {
    type: 'string', limitation: 'bulk_load | normal | prefer_write', sample: 'normal',
    check: oneOf('bulk_load | normal | prefer_write', ['bulk_load', 'normal', 'prefer_write']),
  }],
  ['rocksdb.checkpoint.reserve_min_count', { type: 'int32', limitation: '> 0', sample: '2', inRange: (v) => v > 0n }],
  ['rocksdb.checkpoint.reserve_time_seconds', { type: 'int32', limitation: '>= 0', sample: '3600', inRange: (v) => v >= 0n }],
  ['manual_compact.disabled', BOOL],
  ['manual_compact.max_concurrent_running_count', { type: 'int32', limitation: '>= 0', sample: '8', inRange: (v) => v >= 0n }],
  ['manual_compact.once.trigger_time', {
    type: 'int64', limitation: '> 0, timestamp (in seconds) to trigger the once manual compaction', sample: '1700000000',
    inRange: (v) => v >= 0n,
  }],
  ['manual_compact.once.target_level', TARGET_LEVEL],
  ['manual_compact.once.bottommost_level_compaction', BOTTOMMOST],
  ['manual_compact.periodic.trigger_time', STRING],
  ['manual_compact.periodic.target_level', TARGET_LEVEL],
  ['manual_compact.periodic.bottommost_level_compaction', BOTTOMMOST],
  ['replica_access_controller.allowed_users', STRING],
  ['replica_access_controller.ranger_policies', STRING],
  ['duplication.master_cluster', STRING],
  ['duplication.master_metas', STRING],
  ['duplication.master_app_name', STRING],
  ['duplication.follower_app_status', STRING],
]);

/**
 * Envs that Pegasus supports and Pteron does not act on yet, with what a user is told. Accepting
 * them would be a silent lie (the value stored, nothing done), so set_app_envs and create_app
 * refuse them, naming the env; /envs/list still lists them, as Pegasus does.
 */
const NOT_IMPLEMENTED_ENVS: ReadonlyMap<string, string> = new Map([
  ['replica.backup_request_throttling', 'backup requests (reads served by secondaries) are not implemented'],
  ['rocksdb.num_levels', 'the LevelDB engine has a fixed number of levels'],
  ['rocksdb.checkpoint.reserve_min_count', 'replicas keep no local checkpoints to reserve'],
  ['rocksdb.checkpoint.reserve_time_seconds', 'replicas keep no local checkpoints to reserve'],
  ['replica_access_controller.allowed_users', 'access control is not implemented'],
  ['replica_access_controller.ranger_policies', 'access control is not implemented'],
]);

/** RocksDB option envs: the only ones create_app checks (the others are checked when set later). */
const ROCKSDB_OPTION_ENVS = new Set(['rocksdb.write_buffer_size', 'rocksdb.num_levels']);

const INT_RANGES: Record<'int32' | 'int64', [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** strtoll base 10 over the whole text: optional leading blanks and sign, then digits. */
function parseDecimal(text: string): bigint | undefined {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)$/.exec(text);
  return match ? BigInt(match[1]!) : undefined;
}

/** Returns undefined when `key=value` is acceptable, otherwise the hint message Pegasus gives. */
export function validateAppEnv(key: string, value: string): string | undefined {
  const definition = APP_ENV_DEFINITIONS.get(key);
  if (!definition) return `app_env '${key}' is not supported`;
  const valueProblem = validateValue(definition, value);
  if (valueProblem !== undefined) return valueProblem;
  return notImplementedHint(key);
}

function notImplementedHint(key: string): string | undefined {
  const reason = NOT_IMPLEMENTED_ENVS.get(key);
  return reason === undefined ? undefined : `app_env '${key}' is not implemented by Pteron: ${reason}`;
}

function validateValue(definition: EnvDefinition, value: string): string | undefined {
  switch (definition.type) {
    case 'bool': {
      const lower = value.toLowerCase();
      return lower === 'true' || lower === 'false' ? undefined : `invalid value '${value}', should be a boolean`;
    }
    case 'int32':
    case 'int64': {
      const parsed = parseDecimal(value);
      const [low, high] = INT_RANGES[definition.type];
      if (parsed === undefined || parsed < low || parsed > high) {
        return `invalid value '${value}', should be an ${definition.type === 'int32' ? 32 : 64} bits integer`;
      }
      if (definition.inRange && !definition.inRange(parsed)) return `invalid value '${value}', should be '${definition.limitation}'`;
      return undefined;
    }
    case 'string':
      return definition.check?.(value);
  }
}

/**
 * create_app's check of the envs it is given: RocksDB options must be valid up front (as in
 * Pegasus), and none may be one Pteron does not implement.
 */
export function validateCreateAppEnvs(envs: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(envs)) {
    const hint = ROCKSDB_OPTION_ENVS.has(key) ? validateAppEnv(key, value) : notImplementedHint(key);
    if (hint !== undefined) return hint;
  }
  return undefined;
}

const TYPE_NAMES: Record<EnvValueType, string> = {
  bool: 'bool',
  int32: 'unsigned int32',
  int64: 'unsigned int64',
  string: 'string',
};

/** The /envs/list catalogue: env name → {limitation, sample, type}. */
export function appEnvCatalogue(): Record<string, { limitation: string; sample: string; type: string }> {
  const catalogue: Record<string, { limitation: string; sample: string; type: string }> = {};
  for (const [key, definition] of APP_ENV_DEFINITIONS) {
    catalogue[key] = { limitation: definition.limitation, sample: definition.sample, type: TYPE_NAMES[definition.type] };
  }
  return catalogue;
}

/** Parses `k=v,k=v` (the `envs` key of a `[meta_server.apps.<name>]` section). */
export function parseEnvList(text: string): Record<string, string> {
  const envs: Record<string, string> = {};
  for (const piece of text.split(',')) {
    const trimmed = piece.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    if (equals <= 0) throw new Error(`env "${trimmed}" should be key=value`);
    envs[trimmed.slice(0, equals).trim()] = trimmed.slice(equals + 1).trim();
  }
  return envs;
}
