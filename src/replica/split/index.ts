// Partition split on the replica side: what a replica knows of its table's split
// (split-state.ts, pure) and the parents' primaries making and registering their children
// (parent-split.ts).
export * from './split-state.ts';
export * from './parent-split.ts';
