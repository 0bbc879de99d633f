export { HttpRouter, DEFAULT_METHODS, text, type AdminRequest, type AdminResponse, type AdminHandler, type HttpCall, type UpgradeHandler } from './router.ts';
export { createAdminHttpServer } from './server.ts';
export { tp, tpRows, nj, pj, type Table } from './emit.ts';
export { percentDecode, normalizePath, parseQuery, splitList, splitTarget } from './request.ts';
