export { HttpRouter, DEFAULT_METHODS, text, type AdminRequest, type AdminResponse, type AdminHandler, type HttpCall, type UpgradeHandler } from './router.ts';
export { createAdminHttpServer } from './server.ts';
export { nj } from './emit.ts';
export { percentDecode, normalizePath, parseQuery, splitTarget } from './request.ts';
export { decodeJsonStruct, INVALID_REQUEST_STRUCTURE, type JsonFieldType, type JsonFields, type JsonStruct } from './json-body.ts';
