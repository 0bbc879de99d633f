// The meta state store: a small hierarchical key/value tree with ZooKeeper's semantics
// (absolute `/a/b/c` paths, a node must have a parent, create/set/delete/get/children, and an
// atomic multi-op), so that the local "simple" store and a ZooKeeper store are interchangeable
// behind the meta's server state (spec pegasus-arch §2.12–§2.13).
import { PteronError } from '../base/index.ts';

/** ZooKeeper's default jute.maxbuffer: a node's data is at most this big in any store. */
export const NODE_DATA_BYTES_MAX = 1024 * 1024;
export const PATH_BYTES_MAX = 4096;
/** One multi-op: bounded so a commit record stays small enough to write and replay in one go. */
export const MULTI_OPS_MAX = 100_000;

export type StoreOp =
  | { op: 'create'; path: string; data: Buffer }
  | { op: 'set'; path: string; data: Buffer }
  | { op: 'delete'; path: string; recursive?: boolean };

export interface MetaStateStore {
  /** `simple`, `zookeeper`, `memory`. */
  readonly type: string;
  /**
   * What /meta/cluster shows about the store, in place of Pegasus's zookeeper_hosts and
   * zookeeper_root: e.g. `[["meta_state_store","simple"],["meta_state_store_file","/…/meta_state_service.log"]]`.
   */
  describe(): Array<[string, string]>;
  exists(path: string): Promise<boolean>;
  /** The node's data, or undefined when the node does not exist. */
  get(path: string): Promise<Buffer | undefined>;
  /** Child names (not paths), in ascending byte order. ERR_OBJECT_NOT_FOUND if the node is missing. */
  children(path: string): Promise<string[]>;
  /** ERR_NODE_ALREADY_EXIST if it exists, ERR_OBJECT_NOT_FOUND if the parent is missing. */
  create(path: string, data: Buffer): Promise<void>;
  /** ERR_OBJECT_NOT_FOUND if the node is missing. */
  set(path: string, data: Buffer): Promise<void>;
  /** ERR_OBJECT_NOT_FOUND if missing; ERR_DIR_NOT_EMPTY if it has children and `recursive` is false. */
  delete(path: string, recursive?: boolean): Promise<void>;
  /** All ops or none; they apply in order, so a create may follow the create of its parent. */
  multi(ops: StoreOp[]): Promise<void>;
  close(): Promise<void>;
}

/** Throws ERR_INVALID_PARAMETERS unless `path` is `/` or `/a/b` with non-empty, dot-free-of-meaning components. */
export function validatePath(path: string): void {
  const bad = (why: string): never => {
    throw new PteronError('ERR_INVALID_PARAMETERS', `invalid meta store path ${JSON.stringify(path)}: ${why}`);
  };
  if (!path.startsWith('/')) bad('it must start with "/"');
  if (Buffer.byteLength(path) > PATH_BYTES_MAX) bad(`it is longer than ${PATH_BYTES_MAX} bytes`);
  if (path === '/') return;
  if (path.endsWith('/')) bad('it must not end with "/"');
  for (const component of path.slice(1).split('/')) {
    if (component === '') bad('it has an empty component');
    if (component === '.' || component === '..') bad('"." and ".." are not allowed');
    if (component.includes('\u0000')) bad('it contains a NUL character');
  }
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

export function joinPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}

/** `/a/b/c` → `/a/b/c` with any duplicate or trailing slashes removed (config values are forgiving). */
export function normalizeRootPath(text: string): string {
  const components = text.split('/').filter((component) => component !== '');
  return components.length === 0 ? '/' : `/${components.join('/')}`;
}

interface TreeNode {
  data: Buffer;
  children: Set<string>;
}

type UndoStep = () => void;

/**
 * The in-memory tree every store keeps: ZooKeeper semantics, atomic batches by undo log.
 * Synchronous and deterministic; the stores add persistence around it.
 */
export class MemoryTree {
  private readonly nodes = new Map<string, TreeNode>([['/', { data: Buffer.alloc(0), children: new Set() }]]);

  get size(): number {
    return this.nodes.size;
  }

  exists(path: string): boolean {
    validatePath(path);
    return this.nodes.has(path);
  }

  get(path: string): Buffer | undefined {
    validatePath(path);
    return this.nodes.get(path)?.data;
  }

  children(path: string): string[] {
    validatePath(path);
    const node = this.nodes.get(path);
    if (!node) throw new PteronError('ERR_OBJECT_NOT_FOUND', `meta store node ${path} does not exist`);
    return [...node.children].sort(compareBytes);
  }

  /** Checks that `ops` apply, without changing anything. */
  check(ops: readonly StoreOp[]): void {
    const undo = this.applyWithUndo(ops);
    for (let index = undo.length - 1; index >= 0; index--) undo[index]!();
  }

  /** Applies all ops or, when one fails, none (and throws its error). */
  apply(ops: readonly StoreOp[]): void {
    this.applyWithUndo(ops);
  }

  /** Every node in pre-order (parents before children), root excluded. */
  *walk(): IterableIterator<[string, Buffer]> {
    const stack: string[] = [...this.children('/')].reverse().map((name) => joinPath('/', name));
    while (stack.length > 0) {
      const path = stack.pop()!;
      const node = this.nodes.get(path)!;
      yield [path, node.data];
      const names = [...node.children].sort(compareBytes).reverse();
      for (const name of names) stack.push(joinPath(path, name));
    }
  }

  private applyWithUndo(ops: readonly StoreOp[]): UndoStep[] {
    if (ops.length > MULTI_OPS_MAX) {
      throw new PteronError('ERR_INVALID_PARAMETERS', `a meta store batch has ${ops.length} ops, more than ${MULTI_OPS_MAX}`);
    }
    const undo: UndoStep[] = [];
    try {
      for (const op of ops) this.applyOne(op, undo);
    } catch (error) {
      for (let index = undo.length - 1; index >= 0; index--) undo[index]!();
      throw error;
    }
    return undo;
  }

  private applyOne(op: StoreOp, undo: UndoStep[]): void {
    validatePath(op.path);
    if (op.path === '/' && op.op !== 'set') {
      throw new PteronError('ERR_INVALID_PARAMETERS', `cannot ${op.op} the meta store root`);
    }
    switch (op.op) {
      case 'create': {
        checkData(op.path, op.data);
        if (this.nodes.has(op.path)) throw new PteronError('ERR_NODE_ALREADY_EXIST', `meta store node ${op.path} already exists`);
        const parentPath = parentOf(op.path);
        const parent = this.nodes.get(parentPath);
        if (!parent) throw new PteronError('ERR_OBJECT_NOT_FOUND', `parent ${parentPath} of meta store node ${op.path} does not exist`);
        const name = op.path.slice(op.path.lastIndexOf('/') + 1);
        this.nodes.set(op.path, { data: Buffer.from(op.data), children: new Set() });
        parent.children.add(name);
        undo.push(() => {
          parent.children.delete(name);
          this.nodes.delete(op.path);
        });
        return;
      }
      case 'set': {
        checkData(op.path, op.data);
        const node = this.nodes.get(op.path);
        if (!node) throw new PteronError('ERR_OBJECT_NOT_FOUND', `meta store node ${op.path} does not exist`);
        const previous = node.data;
        node.data = Buffer.from(op.data);
        undo.push(() => {
          node.data = previous;
        });
        return;
      }
      case 'delete': {
        const node = this.nodes.get(op.path);
        if (!node) throw new PteronError('ERR_OBJECT_NOT_FOUND', `meta store node ${op.path} does not exist`);
        if (node.children.size > 0 && !op.recursive) {
          throw new PteronError('ERR_DIR_NOT_EMPTY', `meta store node ${op.path} has children`);
        }
        // Children first (post-order), each with its own undo step.
        const removed: Array<[string, TreeNode]> = [];
        const collect = (path: string): void => {
          const current = this.nodes.get(path)!;
          for (const name of current.children) collect(joinPath(path, name));
          removed.push([path, current]);
        };
        collect(op.path);
        const parent = this.nodes.get(parentOf(op.path))!;
        const name = op.path.slice(op.path.lastIndexOf('/') + 1);
        for (const [path] of removed) this.nodes.delete(path);
        parent.children.delete(name);
        undo.push(() => {
          for (const [path, removedNode] of removed) this.nodes.set(path, removedNode);
          parent.children.add(name);
        });
        return;
      }
    }
  }
}

function checkData(path: string, data: Buffer): void {
  if (!Buffer.isBuffer(data)) throw new PteronError('ERR_INVALID_PARAMETERS', `data for ${path} is not a Buffer`);
  if (data.length > NODE_DATA_BYTES_MAX) {
    throw new PteronError('ERR_INVALID_PARAMETERS', `data for ${path} has ${data.length} bytes, more than ${NODE_DATA_BYTES_MAX}`);
  }
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A store that keeps everything in memory: for tests and the deterministic simulator. */
export class MemoryStateStore implements MetaStateStore {
  readonly type = 'memory';
  readonly tree = new MemoryTree();
  private closed = false;

  describe(): Array<[string, string]> {
    return [['meta_state_store', 'memory']];
  }
  private live(): MemoryTree {
    if (this.closed) throw new PteronError('ERR_SERVICE_NOT_ACTIVE', 'the meta state store is closed');
    return this.tree;
  }
  async exists(path: string): Promise<boolean> {
    return this.live().exists(path);
  }
  async get(path: string): Promise<Buffer | undefined> {
    const data = this.live().get(path);
    return data && Buffer.from(data);
  }
  async children(path: string): Promise<string[]> {
    return this.live().children(path);
  }
  async create(path: string, data: Buffer): Promise<void> {
    this.live().apply([{ op: 'create', path, data }]);
  }
  async set(path: string, data: Buffer): Promise<void> {
    this.live().apply([{ op: 'set', path, data }]);
  }
  async delete(path: string, recursive = false): Promise<void> {
    this.live().apply([{ op: 'delete', path, recursive }]);
  }
  async multi(ops: StoreOp[]): Promise<void> {
    this.live().apply(ops);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Creates every missing component of `path` (like `mkdir -p`), each with empty data. */
export async function ensurePath(store: MetaStateStore, path: string): Promise<void> {
  validatePath(path);
  if (path === '/') return;
  let current = '';
  for (const component of path.slice(1).split('/')) {
    current = `${current}/${component}`;
    if (await store.exists(current)) continue;
    try {
      await store.create(current, Buffer.alloc(0));
    } catch (error) {
      // Another meta may have created it in between (ZooKeeper); that is fine.
      if (!(error instanceof PteronError && error.code === 'ERR_NODE_ALREADY_EXIST')) throw error;
    }
  }
}
