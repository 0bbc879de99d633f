export { HttpRouter, DEFAULT_METHODS, text, type AdminRequest, type AdminResponse, type AdminHandler, type HttpCall, type UpgradeHandler } from './router.ts';
export { createAdminHttpServer } from './server.ts';
export { tp, tpRows, nj, type Table } from './emit.ts';
export { percentDecode, normalizePath, parseQuery, splitTarget } from './request.ts';
