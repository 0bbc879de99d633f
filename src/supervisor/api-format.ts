// pmesh's request and response conventions for the session-state API:
// - parameters come from the query (any method; keys case-insensitive; booleans as Go parses
//   them, plus `on`) and, for POST, PUT and PATCH, from a JSON object body whose keys must be
//   known (case-insensitive); body values win;
// - success is 200 with JSON and a newline (`?pretty` indents by two), or exactly `{}` for
//   calls that return nothing; a failure is 400 `{"error":"…"}`;
// - refusals (403, 404, 429) are error pages in JSON, text or HTML, as the Accept header asks.
import { randomBytes } from 'node:crypto';
import type { AdminRequest, AdminResponse } from '../net/index.ts';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A failure the caller caused or should know about: answered 400 with its message. */
export class ApiError extends Error {
  override name = 'ApiError';
}

export interface InvalidateParams {
  invalidate: boolean;
}

const TRUE_TEXTS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', 'on']);
const FALSE_TEXTS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** Reads `invalidate` the way pmesh does; an unparsable query value is ignored, a bad body is an error. */
export function parseInvalidate(request: Pick<AdminRequest, 'method' | 'query' | 'body'>): InvalidateParams {
  const params: InvalidateParams = { invalidate: false };
  for (const [key, value] of request.query) {
    if (key.toLowerCase() !== 'invalidate') continue;
    if (TRUE_TEXTS.has(value)) params.invalidate = true;
    else if (FALSE_TEXTS.has(value)) params.invalidate = false;
  }
  if (!BODY_METHODS.has(request.method) || request.body.length === 0) return params;
  const text = request.body.toString('utf8');
  if (text.trim() === '') return params;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ApiError(`json: ${(error as Error).message}`);
  }
  if (body === null) return params;
  if (jsonKind(body) !== 'object') throw new ApiError(`json: cannot unmarshal ${jsonKind(body)} into the parameters object`);
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key.toLowerCase() !== 'invalidate') throw new ApiError(`json: unknown field "${key}"`);
    if (value === null) continue;
    if (typeof value !== 'boolean') throw new ApiError(`json: cannot unmarshal ${jsonKind(value)} into field invalidate of type bool`);
    params.invalidate = value;
  }
  return params;
}

export function rayId(): string {
  return randomBytes(8).toString('hex');
}

/** 200 with the value as JSON and a newline; `undefined` (nothing to say) is exactly `{}`. */
export function jsonAnswer(value: unknown, pretty: boolean, ray: string): AdminResponse {
  const body = value === undefined ? '{}' : `${JSON.stringify(value, null, pretty ? 2 : undefined)}\n`;
  return { status: 200, body, contentType: JSON_CONTENT_TYPE, headers: { 'X-Ray': ray } };
}

export function errorAnswer(message: string, ray: string): AdminResponse {
  return { status: 400, body: `${JSON.stringify({ error: message === '' ? 'error' : message })}\n`, contentType: JSON_CONTENT_TYPE, headers: { 'X-Ray': ray } };
}

const PAGES: Record<number, { title: string; message: string }> = {
  403: { title: 'Forbidden', message: 'You have been blocked from accessing this resource.' },
  404: { title: 'Not Found', message: 'The requested resource was not found.' },
  429: { title: 'Too Many Requests', message: 'You are sending requests too fast; slow down and try again later.' },
};

type PageFormat = 'html' | 'json' | 'text';

/** The first of text/html, application/json, text/plain the client lists; JSON when none. */
function pageFormat(accept: string | undefined): PageFormat {
  for (const part of (accept ?? '').split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type === 'text/html') return 'html';
    if (type === 'application/json') return 'json';
    if (type === 'text/plain') return 'text';
  }
  return 'json';
}

const escapeHtml = (text: string): string => text.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);

export function errorPage(status: 403 | 404 | 429, request: Pick<AdminRequest, 'method' | 'headers'>, ray: string, extraHeaders: Record<string, string> = {}): AdminResponse {
  const page = PAGES[status]!;
  const headers = { 'X-Content-Type-Options': 'nosniff', 'X-Ray': ray, ...extraHeaders };
  if (request.method === 'HEAD') return { status, body: '', contentType: JSON_CONTENT_TYPE, headers };
  switch (pageFormat(request.headers.accept)) {
    case 'html':
      return {
        status,
        body: `<!DOCTYPE html>\n<html><head><title>${status} ${escapeHtml(page.title)}</title></head><body><h1>${status} ${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p><p>Ray: ${ray}</p></body></html>\n`,
        contentType: 'text/html; charset=utf-8',
        headers,
      };
    case 'text':
      return { status, body: `${status} ${page.title}: ${page.message}\n`, contentType: 'text/plain; charset=utf-8', headers };
    case 'json':
      return { status, body: JSON.stringify({ code: status, error: page.title, message: page.message }), contentType: JSON_CONTENT_TYPE, headers };
  }
}

/** A JSON object with its keys in byte order, as Go writes maps. */
export function sortedObject<T>(entries: Iterable<[string, T]>): Record<string, T> {
  const result: Record<string, T> = {};
  for (const [key, value] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) result[key] = value;
  return result;
}
