// Duplication on the meta: the duplications of each table, their status machine and progress,
// the follower table on the remote cluster.
export * from './duplication-info.ts';
export * from './follower.ts';
export * from './flags.ts';
export * from './service.ts';
