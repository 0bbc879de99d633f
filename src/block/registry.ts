// The block services this server may use, as config.ini declares them (Pegasus's
// block_service_manager): `[block_service.<name>]` with `type` (the provider, e.g.
// local_service) and `args` (space-separated; for local_service the root directory). A service
// is created on first use and kept.
import { log } from '../base/index.ts';
import type { LoadedConfig } from '../config/index.ts';
import type { BlockService } from './block-service.ts';
import { LOCAL_SERVICE_TYPE, LocalBlockService } from './local-service.ts';

const SECTION_PREFIX = 'block_service.';

export interface BlockServiceSpec {
  readonly type: string;
  readonly args: readonly string[];
}

/** Why `spec` cannot make a service, or undefined when it can. */
function specProblem(spec: BlockServiceSpec): string | undefined {
  if (spec.type !== LOCAL_SERVICE_TYPE) return spec.type === '' ? 'no type is configured' : `unknown provider type ${spec.type}`;
  if (spec.args.length === 0) return 'local_service needs its root directory as args';
  return undefined;
}

export class BlockServiceRegistry {
  private readonly created = new Map<string, BlockService>();

  constructor(private readonly specs: ReadonlyMap<string, BlockServiceSpec>) {}

  /** The service named `name` (the `<name>` of its section), or undefined when it is not configured or cannot be made. */
  get(name: string): BlockService | undefined {
    const existing = this.created.get(name);
    if (existing) return existing;
    const spec = this.specs.get(name);
    if (spec === undefined) return undefined;
    const problem = specProblem(spec);
    if (problem !== undefined) {
      log.error({ provider: name, type: spec.type }, `block service cannot be created: ${problem}`);
      return undefined;
    }
    const service = new LocalBlockService(spec.args[0]!);
    this.created.set(name, service);
    return service;
  }

  names(): string[] {
    return [...this.specs.keys()].sort();
  }
}

/** The `[block_service.<name>]` sections of a config. */
export function blockServicesFromConfig(config: LoadedConfig): BlockServiceRegistry {
  const specs = new Map<string, BlockServiceSpec>();
  for (const section of config.sectionsWithPrefix(SECTION_PREFIX)) {
    const entries = config.section(section);
    const args = (entries.get('args') ?? '').split(/\s+/).filter((arg) => arg !== '');
    specs.set(section.slice(SECTION_PREFIX.length), { type: entries.get('type') ?? '', args });
  }
  return new BlockServiceRegistry(specs);
}
