// The layers of src/, top to bottom: a folder imports only from folders listed before it.
// DESIGN.md ("Layers") explains each; test/layers.test.ts holds the code to it.
export const LAYER_ORDER: readonly string[] = [
  'base',
  'wire',
  'config',
  'metrics',
  'net',
  'storage',
  'block',
  'cluster',
  'meta',
  'replica',
  'client',
  'diag',
  'server',
  'supervisor',
  'cli',
];
