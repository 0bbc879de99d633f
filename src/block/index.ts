// Block services: remote file stores for backups and bulk loads (block-service.ts), Pegasus's
// local_service provider (local-service.ts), and the ones config.ini declares (registry.ts).
export { joinBlockPath, checkBlockPath, type BlockService, type FileMeta, type ListEntry } from './block-service.ts';
export { LocalBlockService, LOCAL_SERVICE_TYPE, metaFileOf, fileMd5 } from './local-service.ts';
export { BlockServiceRegistry, blockServicesFromConfig, type BlockServiceSpec } from './registry.ts';
