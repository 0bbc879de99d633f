// The meta state store in ZooKeeper (spec pegasus-arch §2.12): the paths of MetaStateStore are
// ZooKeeper paths, every node is persistent, and a multi-op is one ZooKeeper `multi`, so a
// table's app node and all its partition nodes appear (or change) together.
//
// Limits and what happens at them:
//   - ZooKeeper refuses a request larger than its jute.maxbuffer (1 MiB by default). A batch
//     whose encoded size passes MULTI_BYTES_MAX is sent as several multis, in order; that is
//     the only case where a batch is not atomic, and a failure after the first part counts as
//     a write incident (see below). 512 KiB holds about 1500 partition configurations.
//   - A recursive delete lists the subtree first and deletes it children-first in the same
//     multi. Only the primary meta writes, so nothing is added in between.
//   - Requests are refused at once while the session is not connected (zk/session.ts), so a
//     meta that lost ZooKeeper changes nothing and tells its caller so.
//
// Write incidents: a write whose outcome is unknown (the connection broke, no answer in time)
// or a batch that was only partly applied. The memory of the meta may then differ from
// ZooKeeper; the meta role re-reads its state when `writeIncidents` has grown.
import { PteronError, type ErrorName } from '../../base/index.ts';
import { defineFlag } from '../../config/index.ts';
import { parentOf, joinPath, MULTI_OPS_MAX, NODE_DATA_BYTES_MAX, validatePath, type MetaStateStore, type StoreOp } from '../state-store.ts';
import { ZkError, ZkSession, type ZkOp } from './session.ts';

export const metaStateServiceType = defineFlag({
  section: 'meta_server',
  name: 'meta_state_service_type',
  type: 'FV_STRING',
  default: '',
  description:
    'Where the meta servers keep their state: simple (a local file, one meta server only) or zookeeper (several meta servers ' +
    'with leader election). Empty: simple when [meta_server] server_list names one meta server, zookeeper when it names several. ' +
    "Pegasus's names meta_state_service_simple and meta_state_service_zookeeper are accepted",
  validator: (value) => parseStateServiceType(value) !== undefined,
});

export type StateServiceType = 'simple' | 'zookeeper' | 'auto';

export function parseStateServiceType(text: string): StateServiceType | undefined {
  switch (text.trim()) {
    case '':
    case 'auto':
      return 'auto';
    case 'simple':
    case 'meta_state_service_simple':
      return 'simple';
    case 'zookeeper':
    case 'meta_state_service_zookeeper':
      return 'zookeeper';
    default:
      return undefined;
  }
}

/** The store a meta uses, given the flag and how many metas server_list names. */
export function resolveStateServiceType(text: string, metaCount: number): 'simple' | 'zookeeper' {
  const type = parseStateServiceType(text);
  if (type === undefined) throw new Error(`[meta_server] meta_state_service_type = "${text}" is not simple or zookeeper`);
  if (type !== 'auto') return type;
  return metaCount > 1 ? 'zookeeper' : 'simple';
}

/** Encoded size bound of one ZooKeeper multi; larger batches are split. */
export const MULTI_BYTES_MAX = 512 * 1024;
/** Rough per-op overhead in a multi request (header, ACL, lengths). */
const MULTI_OP_OVERHEAD_BYTES = 64;
/** A recursive delete visits at most this many nodes. */
const SUBTREE_NODES_MAX = 1_000_000;

const STORE_ERRORS: Record<string, ErrorName> = {
  NO_NODE: 'ERR_OBJECT_NOT_FOUND',
  NODE_EXISTS: 'ERR_NODE_ALREADY_EXIST',
  NOT_EMPTY: 'ERR_DIR_NOT_EMPTY',
  NO_CHILDREN_FOR_EPHEMERALS: 'ERR_INVALID_PARAMETERS',
  CLIENT: 'ERR_INVALID_PARAMETERS',
};

/** The store's error for a failed request about `path` (with the same codes the other stores use). */
function storeError(error: unknown, path: string, op: string): Error {
  if (!(error instanceof ZkError)) return error as Error;
  const code = STORE_ERRORS[error.code] ?? 'ERR_ZOOKEEPER_OPERATION';
  switch (error.code) {
    case 'NO_NODE':
      return new PteronError(code, op === 'create' ? `parent ${parentOf(path)} of meta store node ${path} does not exist` : `meta store node ${path} does not exist`);
    case 'NODE_EXISTS':
      return new PteronError(code, `meta store node ${path} already exists`);
    case 'NOT_EMPTY':
      return new PteronError(code, `meta store node ${path} has children`);
    default:
      return new PteronError(code, `ZooKeeper ${op} of ${path} failed: ${error.message}`);
  }
}

function checkOp(op: StoreOp): void {
  validatePath(op.path);
  if (op.path === '/' && op.op !== 'set') throw new PteronError('ERR_INVALID_PARAMETERS', `cannot ${op.op} the meta store root`);
  if (op.op !== 'delete') {
    if (!Buffer.isBuffer(op.data)) throw new PteronError('ERR_INVALID_PARAMETERS', `data for ${op.path} is not a Buffer`);
    if (op.data.length > NODE_DATA_BYTES_MAX) {
      throw new PteronError('ERR_INVALID_PARAMETERS', `data for ${op.path} has ${op.data.length} bytes, more than ${NODE_DATA_BYTES_MAX}`);
    }
  }
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export interface ZooKeeperStoreOptions {
  session: ZkSession;
  /** The cluster root, shown as zookeeper_root in /meta/cluster. */
  root: string;
  /** Close the session with the store (when the store opened it). */
  ownsSession?: boolean;
  /** Split bound of one multi (tests use a small one). */
  multiBytesMax?: number;
}

export class ZooKeeperStateStore implements MetaStateStore {
  readonly type = 'zookeeper';
  readonly session: ZkSession;
  readonly root: string;
  private readonly ownsSession: boolean;
  private readonly multiBytesMax: number;
  private closed = false;
  private partialBatches = 0;

  constructor(options: ZooKeeperStoreOptions) {
    this.session = options.session;
    this.root = options.root;
    this.ownsSession = options.ownsSession ?? false;
    this.multiBytesMax = options.multiBytesMax ?? MULTI_BYTES_MAX;
  }

  /** Opens its own session to `hosts` and waits (up to the session timeout) for the connection. */
  static async connect(options: { hosts: string; sessionTimeoutMs: number; root: string; multiBytesMax?: number }): Promise<ZooKeeperStateStore> {
    const session = ZkSession.open({ hosts: options.hosts, sessionTimeoutMs: options.sessionTimeoutMs });
    try {
      await session.waitConnected(Math.max(options.sessionTimeoutMs, 5000));
    } catch (error) {
      await session.close();
      throw new PteronError('ERR_ZOOKEEPER_OPERATION', (error as Error).message);
    }
    return new ZooKeeperStateStore({ session, root: options.root, ownsSession: true, multiBytesMax: options.multiBytesMax });
  }

  describe(): Array<[string, string]> {
    return [
      ['zookeeper_hosts', this.session.hosts],
      ['zookeeper_root', this.root],
    ];
  }

  /** Whether a write can be tried now (the session is connected). */
  get writable(): boolean {
    return !this.closed && this.session.connected;
  }

  /** Writes with an unknown outcome plus batches applied in part, since the session opened. */
  get writeIncidents(): number {
    return this.session.uncertainWrites + this.partialBatches;
  }

  private live(): ZkSession {
    if (this.closed) throw new PteronError('ERR_SERVICE_NOT_ACTIVE', 'the meta state store is closed');
    return this.session;
  }

  async exists(path: string): Promise<boolean> {
    validatePath(path);
    try {
      return (await this.live().exists(path)) !== undefined;
    } catch (error) {
      throw storeError(error, path, 'exists');
    }
  }

  async get(path: string): Promise<Buffer | undefined> {
    validatePath(path);
    try {
      return await this.live().getData(path);
    } catch (error) {
      throw storeError(error, path, 'get');
    }
  }

  async children(path: string): Promise<string[]> {
    validatePath(path);
    let names: string[];
    try {
      names = await this.live().getChildren(path);
    } catch (error) {
      throw storeError(error, path, 'children');
    }
    // ZooKeeper's own /zookeeper node is not part of the meta's tree.
    if (path === '/') names = names.filter((name) => name !== 'zookeeper');
    return names.sort(compareBytes);
  }

  async create(path: string, data: Buffer): Promise<void> {
    checkOp({ op: 'create', path, data });
    try {
      await this.live().create(path, data);
    } catch (error) {
      throw storeError(error, path, 'create');
    }
  }

  async set(path: string, data: Buffer): Promise<void> {
    checkOp({ op: 'set', path, data });
    try {
      await this.live().setData(path, data);
    } catch (error) {
      throw storeError(error, path, 'set');
    }
  }

  async delete(path: string, recursive = false): Promise<void> {
    if (!recursive) {
      checkOp({ op: 'delete', path });
      try {
        await this.live().remove(path);
      } catch (error) {
        throw storeError(error, path, 'delete');
      }
      return;
    }
    await this.multi([{ op: 'delete', path, recursive: true }]);
  }

  async multi(ops: StoreOp[]): Promise<void> {
    if (ops.length > MULTI_OPS_MAX) {
      throw new PteronError('ERR_INVALID_PARAMETERS', `a meta store batch has ${ops.length} ops, more than ${MULTI_OPS_MAX}`);
    }
    for (const op of ops) checkOp(op);
    const session = this.live();
    const expanded: Array<{ zk: ZkOp; source: StoreOp }> = [];
    for (const op of ops) {
      if (op.op === 'delete' && op.recursive) {
        for (const path of await this.subtreeChildrenFirst(op.path)) expanded.push({ zk: { op: 'delete', path }, source: op });
      } else if (op.op === 'delete') {
        expanded.push({ zk: { op: 'delete', path: op.path }, source: op });
      } else {
        expanded.push({ zk: { op: op.op, path: op.path, data: op.data }, source: op });
      }
    }
    const batches = this.split(expanded);
    for (let index = 0; index < batches.length; index++) {
      const batch = batches[index]!;
      try {
        await session.multi(batch.map((entry) => entry.zk));
      } catch (error) {
        if (index > 0) this.partialBatches++;
        const failed = error instanceof ZkError && error.opIndex !== undefined ? batch[error.opIndex] : undefined;
        throw storeError(error, failed?.zk.path ?? batch[0]!.zk.path, failed?.source.op ?? 'multi');
      }
    }
  }

  /** `path` and everything under it, deepest first. ERR_OBJECT_NOT_FOUND when `path` is missing. */
  private async subtreeChildrenFirst(path: string): Promise<string[]> {
    const session = this.live();
    const order: string[] = [];
    const queue = [path];
    while (queue.length > 0) {
      const current = queue.shift()!;
      order.push(current);
      if (order.length > SUBTREE_NODES_MAX) {
        throw new PteronError('ERR_INVALID_PARAMETERS', `cannot delete ${path}: more than ${SUBTREE_NODES_MAX} nodes`);
      }
      let names: string[];
      try {
        names = await session.getChildren(current);
      } catch (error) {
        throw storeError(error, current, 'delete');
      }
      for (const name of names) queue.push(joinPath(current, name));
    }
    return order.reverse();
  }

  private split<T extends { zk: ZkOp }>(ops: T[]): T[][] {
    const batches: T[][] = [];
    let batch: T[] = [];
    let bytes = 0;
    for (const op of ops) {
      const size = Buffer.byteLength(op.zk.path) + ('data' in op.zk ? op.zk.data.length : 0) + MULTI_OP_OVERHEAD_BYTES;
      if (batch.length > 0 && bytes + size > this.multiBytesMax) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(op);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
    return batches;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsSession) await this.session.close();
  }
}
