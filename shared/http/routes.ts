/** A small route table for the admin API: `METHOD /path/{param}` to a handler, matched on the request's path. */
import { MethodNotAllowedError, NotFoundError } from './errors.js';

export type RouteRequest<P> = {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  /** A request header, looked up without regard to case (If-Match, for instance). */
  header: (name: string) => string | undefined;
  body: unknown;
  principal: P;
};

export type RouteAnswer = { status: number; body?: unknown; headers?: Record<string, string> };

export type Route<P> = { method: string; path: string; handle: (request: RouteRequest<P>) => Promise<RouteAnswer> };

/**
 * No id the admin API serves is longer (ids are at most 64 characters, event ids at most 128
 * or a hash), and a longer value would build a DynamoDB key over its limit (2,048 bytes for a
 * partition key, 1,024 for a sort key), which DynamoDB refuses with a ValidationException: a 500.
 */
export const MAX_PATH_PARAMETER_BYTES = 256;

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const wanted = pattern.split('/');
  const given = path.replace(/\/+$/, '').split('/');
  if (wanted.length !== given.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of wanted.entries()) {
    const value = given[index] ?? '';
    if (part.startsWith('{') && part.endsWith('}')) {
      if (!value) return undefined;
      try {
        params[part.slice(1, -1)] = decodeURIComponent(value);
      } catch {
        return undefined;
      }
    } else if (part !== value) return undefined;
  }
  return params;
}

/** The route for this request and its path parameters; 404 when no path matches, 405 when only the method does not. */
export function matchRoute<P>(routes: readonly Route<P>[], method: string, path: string): { route: Route<P>; params: Record<string, string> } {
  let pathMatched = false;
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const overLong = Object.keys(params).find((name) => Buffer.byteLength(params[name] ?? '', 'utf8') > MAX_PATH_PARAMETER_BYTES);
    // Nothing can have such an id: not found, without reading (the value is not echoed).
    if (overLong) throw new NotFoundError(`no such ${overLong}: at most ${MAX_PATH_PARAMETER_BYTES} bytes`);
    return { route, params };
  }
  if (pathMatched) throw new MethodNotAllowedError(method);
  throw new NotFoundError(`no admin route ${path}`);
}
