// The layering of src/ (DESIGN.md, "Layers"): each folder imports only from folders above it
// in LAYER_ORDER; no files import from each other in a loop, and no two folders of the same
// parent do (a folder and its own subfolders may: the parent's index.ts is their public face).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LAYER_ORDER } from '../src/layers.ts';
import { PROJECT_ROOT } from './helpers/process.ts';

const SRC = path.join(PROJECT_ROOT, 'src');
const IMPORT_SPECIFIER = /(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*'(\.{1,2}\/[^']+)'|\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

interface ImportEdge {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import in src/, as repo-relative paths (`src/meta/guardian.ts`). */
function importEdges(): ImportEdge[] {
  return sourceFiles(SRC).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(IMPORT_SPECIFIER)].map((match) => ({
      from: path.relative(PROJECT_ROOT, file),
      to: path.relative(PROJECT_ROOT, path.resolve(path.dirname(file), match[1] ?? match[2]!)),
    }));
  });
}

/** `src/meta/zk/store.ts` → `meta`. */
function layerOf(file: string): string {
  return file.split('/')[1]!;
}

/**
 * The pair of sibling folders an import crosses: for `src/replica/read/scanner.ts` →
 * `src/replica/status.ts` none (a child uses its parent); for `src/replica/read/x.ts` →
 * `src/replica/write/y.ts`, `replica/read` and `replica/write`.
 */
function siblingFolders(edge: ImportEdge): ImportEdge | undefined {
  const from = path.dirname(edge.from).split('/');
  const to = path.dirname(edge.to).split('/');
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  if (common === from.length || common === to.length) return undefined;
  return { from: from.slice(1, common + 1).join('/'), to: to.slice(1, common + 1).join('/') };
}

/** The loops of a graph (Tarjan's strongly connected components of more than one node). */
function cycles(edges: readonly ImportEdge[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const { from: a, to: b } of edges) {
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    if (!graph.has(b)) graph.set(b, new Set());
    graph.get(a)!.add(b);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)!) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components;
}

describe('layers', () => {
  const edges = importEdges();

  it('every folder of src/ has a place in the layer order', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    assert.deepEqual(folders.filter((folder) => !LAYER_ORDER.includes(folder)), []);
    assert.deepEqual(LAYER_ORDER.filter((layer) => !folders.includes(layer)), []);
  });

  it('a layer imports only from the layers above it', () => {
    const rank = (file: string) => LAYER_ORDER.indexOf(layerOf(file));
    const upward = edges.filter((edge) => rank(edge.to) > rank(edge.from)).map((edge) => `${edge.from} -> ${edge.to}`);
    assert.deepEqual(upward, []);
  });

  it('no files import from each other in a loop', () => {
    assert.deepEqual(cycles(edges), []);
  });

  it('no folders of one parent import from each other in a loop', () => {
    assert.deepEqual(cycles(edges.flatMap((edge) => siblingFolders(edge) ?? [])), []);
  });

  it('the check sees imports (it is not vacuous)', () => {
    assert.ok(edges.some((edge) => edge.from === 'src/meta/guardian.ts' && layerOf(edge.to) === 'cluster'));
    const loop = [{ from: 'src/a/x.ts', to: 'src/b/y.ts' }, { from: 'src/b/y.ts', to: 'src/a/x.ts' }];
    assert.deepEqual(cycles(loop), [['src/a/x.ts', 'src/b/y.ts']]);
    assert.deepEqual(siblingFolders({ from: 'src/r/read/x.ts', to: 'src/r/write/y.ts' }), { from: 'r/read', to: 'r/write' });
    assert.equal(siblingFolders({ from: 'src/r/read/x.ts', to: 'src/r/status.ts' }), undefined);
  });
});
