// A table's atomic_idempotent flag (Pegasus's server_state::get_atomic_idempotent and
// set_atomic_idempotent): whether the primaries turn incr, check_and_set and check_and_mutate
// into the plain writes they result in before replicating them. The flag is part of the table's
// app_info, so it reaches the replicas with the table (config sync, proposals).
import { log, type ErrorName } from '../base/index.ts';
import { appInfoToJson, cloneAppInfo, levelAtMost, type FunctionLevel } from '../cluster/model.ts';
import type { MetaStateStore } from './state-store.ts';
import type { MetaTables } from './tables.ts';

export interface GetAtomicIdempotentResult {
  err: ErrorName;
  hintMessage: string;
  atomicIdempotent: boolean;
}

export interface SetAtomicIdempotentResult {
  err: ErrorName;
  hintMessage: string;
  oldAtomicIdempotent: boolean;
}

/** What the flag's requests need from the rest of the meta. */
export interface AtomicIdempotentContext {
  readonly tables: MetaTables;
  readonly store: MetaStateStore;
  /** The level set by config or operator. */
  functionLevel(): FunctionLevel;
}

/** `set` assumes its caller holds the serial queue. */
export class AtomicIdempotentSettings {
  constructor(private readonly context: AtomicIdempotentContext) {}

  /** `RPC_CM_GET_ATOMIC_IDEMPOTENT`. */
  get(appName: string): GetAtomicIdempotentResult {
    const app = this.context.tables.findApp(appName);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', hintMessage: `app(${appName}) does not exist`, atomicIdempotent: false };
    return { err: 'ERR_OK', hintMessage: '', atomicIdempotent: app.atomicIdempotent };
  }

  /** `RPC_CM_SET_ATOMIC_IDEMPOTENT`. */
  async set(appName: string, atomicIdempotent: boolean): Promise<SetAtomicIdempotentResult> {
    const { tables, store } = this.context;
    const app = tables.findApp(appName);
    if (!app) return { err: 'ERR_APP_NOT_EXIST', hintMessage: `app(${appName}) does not exist`, oldAtomicIdempotent: false };
    const old = app.atomicIdempotent;
    const fail = (err: ErrorName, hintMessage: string): SetAtomicIdempotentResult => ({ err, hintMessage, oldAtomicIdempotent: old });
    if (app.status !== 'AS_AVAILABLE') return fail('ERR_INVALID_STATE', `app(${appName}) is not in available status`);
    if (levelAtMost(this.context.functionLevel(), 'fl_freezed')) {
      return fail('ERR_STATE_FREEZED', 'current meta function level is freezed, since there are too few alive nodes');
    }
    if (atomicIdempotent === old) return { err: 'ERR_OK', hintMessage: "no need to update atomic_idempotent since it's unchanged", oldAtomicIdempotent: old };
    const updated = { ...cloneAppInfo(tables.appsById.get(app.appId)!), atomicIdempotent };
    await store.set(tables.appPath(app.appId), Buffer.from(appInfoToJson(updated)));
    tables.appsById.set(app.appId, updated);
    log.info({ appName, appId: app.appId, from: old, to: atomicIdempotent }, 'atomic_idempotent updated');
    return { err: 'ERR_OK', hintMessage: '', oldAtomicIdempotent: old };
  }
}
