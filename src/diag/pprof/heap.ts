// Heap profiles for /pprof/heap from V8's sampling heap profiler (through @datadog/pprof).
//
// The sampler runs from start-up at a modest interval: on average one allocation is sampled per
// `heapSampleIntervalBytes` allocated, and a sample stays in the profile while its object is
// alive. So at any moment the profile is a statistical picture of the live heap and of the
// stacks that allocated it, which is what `/pprof/heap` returns at once.
//
// With `seconds=N` the same sampler is read at the start and at the end of the N seconds and
// only the difference is returned: for every allocation stack and object size, the sampled
// objects alive at the end beyond those alive at the start, i.e. the live memory those stacks
// added during the window (stacks that shrank are left out). External memory (Buffers and other
// memory outside the V8 heap) is reported the same way, as its growth over the window.
import { heap, type AllocationProfileNode } from '@datadog/pprof';

/** V8's own default; also the value gperftools users are told to use for heap sampling. */
export const heapSampleIntervalBytes = 512 * 1024;
const heapSampleStackDepthMax = 64;
const EXTERNAL_NODE_NAME = '(external)';

export type HeapProfile = ReturnType<typeof heap.profile>;

let samplerStarted = false;

/**
 * Starts the process's heap sampler (once). Returns why it could not start, or undefined when
 * it runs, be it ours or one that other code of this process started before.
 */
export function startHeapSampler(): string | undefined {
  if (samplerStarted) return undefined;
  try {
    heap.start(heapSampleIntervalBytes, heapSampleStackDepthMax);
  } catch (error) {
    // @datadog/pprof refuses a second start; a sampler started elsewhere serves as well.
    if (!/already started/.test((error as Error).message)) return (error as Error).message;
  }
  samplerStarted = true;
  return undefined;
}

/** The live-heap sample as it is now. Throws when the sampler is not running. */
export function liveHeapProfile(): HeapProfile {
  return heap.profile();
}

export interface HeapBaseline {
  /** stack path → object size → sampled live objects */
  counts: Map<string, Map<number, number>>;
  externalBytes: number;
}

function frameKey(node: AllocationProfileNode): string {
  return `${node.name ?? ''}\u0000${node.scriptName}\u0000${node.scriptId ?? 0}\u0000${node.lineNumber ?? 0}\u0000${node.columnNumber ?? 0}`;
}

function sampledRoot(): AllocationProfileNode {
  // Started without allocation tracking, V8 gives (size, count) pairs per node.
  return heap.v8Profile() as AllocationProfileNode;
}

/** Reads the sampler at the start of a window. Throws when the sampler is not running. */
export function heapBaseline(): HeapBaseline {
  const counts = new Map<string, Map<number, number>>();
  const walk = (node: AllocationProfileNode, path: string): void => {
    if (node.allocations.length > 0) {
      const bySize = new Map<number, number>();
      for (const allocation of node.allocations) bySize.set(allocation.sizeBytes, (bySize.get(allocation.sizeBytes) ?? 0) + allocation.count);
      counts.set(path, bySize);
    }
    for (const child of node.children) walk(child, `${path}\n${frameKey(child)}`);
  };
  walk(sampledRoot(), '');
  return { counts, externalBytes: process.memoryUsage().external };
}

/** The tree of samples that `node` has beyond `baseline`, or undefined when it has none. */
function grownTree(node: AllocationProfileNode, path: string, baseline: HeapBaseline): AllocationProfileNode | undefined {
  const before = baseline.counts.get(path);
  const allocations = [];
  for (const allocation of node.allocations) {
    const grown = allocation.count - (before?.get(allocation.sizeBytes) ?? 0);
    if (grown > 0) allocations.push({ sizeBytes: allocation.sizeBytes, count: grown });
  }
  const children: AllocationProfileNode[] = [];
  for (const child of node.children) {
    const grownChild = grownTree(child, `${path}\n${frameKey(child)}`, baseline);
    if (grownChild) children.push(grownChild);
  }
  if (allocations.length === 0 && children.length === 0) return undefined;
  return {
    name: node.name, scriptName: node.scriptName, scriptId: node.scriptId, lineNumber: node.lineNumber,
    columnNumber: node.columnNumber, allocations, children,
  };
}

/** The live heap added since `baseline` (see the file comment). */
export function heapGrowthProfile(baseline: HeapBaseline): HeapProfile {
  const root = sampledRoot();
  const grown = grownTree(root, '', baseline) ?? { ...root, allocations: [], children: [] };
  const profile = heap.convertProfile(grown);
  replaceExternalSample(profile, process.memoryUsage().external - baseline.externalBytes);
  return profile;
}

/**
 * convertProfile adds one sample for the CURRENT external memory; in a growth profile that
 * sample must show the external memory's growth instead, or nothing when it did not grow.
 */
function replaceExternalSample(profile: HeapProfile, grownBytes: number): void {
  const nameIndex = profile.stringTable.strings.indexOf(EXTERNAL_NODE_NAME);
  if (nameIndex < 0) return;
  const functionIds = new Set(profile.function.filter((fn) => Number(fn.name) === nameIndex).map((fn) => Number(fn.id)));
  const locationIds = new Set(
    profile.location.filter((location) => location.line.some((line) => functionIds.has(Number(line.functionId)))).map((location) => Number(location.id)),
  );
  const isExternal = (locationId: Array<number | bigint>): boolean => locationId.length === 1 && locationIds.has(Number(locationId[0]));
  if (grownBytes > 0) {
    for (const sample of profile.sample) if (isExternal(sample.locationId)) sample.value = [1, grownBytes];
  } else {
    profile.sample = profile.sample.filter((sample) => !isExternal(sample.locationId));
  }
}
