// The cluster's shared model, which the meta and replica servers both speak: tables,
// partition configurations and their wire forms, and the flags both sides read.
export * from './model.ts';
export * from './convert.ts';
export * from './flags.ts';
export { MetaGroupTarget } from './meta-group-target.ts';
export * from './health.ts';
export * from './tables.ts';
export * from './throttling-env.ts';
export * from './duplication-config.ts';
export * from './duplication-json.ts';
export * from './app-stat.ts';
export * from './backup-layout.ts';
export * from './bulk-load-layout.ts';
