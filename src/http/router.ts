// A small router: exact paths and `:param` segments, per-method handlers, 404 for an unknown
// path (a trailing slash included) and 405 with Allow for a known path and another method.
// HEAD is served by the GET handler (Node sends no body); OPTIONS answers 204 with Allow.
//
// Matching runs on every request: a route's literal segments are compared before any
// parameter is decoded, and its Allow text is built when a route is added, not per match.
import { HttpError } from './respond.js';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface RouteMatch<H> {
  readonly handler: H;
  readonly params: Readonly<Record<string, string>>;
  readonly pattern: string;
}

interface Route<H> {
  readonly pattern: string;
  readonly segments: readonly string[];
  /** Indexes of the `:param` segments. */
  readonly paramAt: readonly number[];
  readonly handlers: Partial<Record<Method, H>>;
  allow: string;
}

export class Router<H> {
  readonly #routes: Route<H>[] = [];

  add(method: Method, pattern: string, handler: H): this {
    let route = this.#routes.find((r) => r.pattern === pattern);
    if (!route) {
      const segments = pattern.split('/').slice(1);
      const paramAt = segments.flatMap((s, i) => (s.startsWith(':') ? [i] : []));
      route = { pattern, segments, paramAt, handlers: {}, allow: '' };
      this.#routes.push(route);
    }
    route.handlers[method] = handler;
    route.allow = allowed(route);
    return this;
  }

  /** Throws HttpError 404/405 (400 for a malformed %-escape); `allow` is set for OPTIONS. */
  match(method: string, pathname: string): RouteMatch<H> | { readonly options: true; readonly allow: string } {
    const parts = pathname.split('/');
    for (const route of this.#routes) {
      if (!sameShape(route, parts)) continue;
      const params = decodeParams(route, parts);
      if (method === 'OPTIONS') return { options: true, allow: route.allow };
      const handler = route.handlers[(method === 'HEAD' ? 'GET' : method) as Method];
      if (!handler) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `Method ${method} is not allowed on ${route.pattern}`, { Allow: route.allow });
      return { handler, params, pattern: route.pattern };
    }
    throw new HttpError(404, 'NOT_FOUND', `No such endpoint: ${method} ${pathname.length > 200 ? `${pathname.slice(0, 200)}…` : pathname}`);
  }
}

function allowed<H>(route: Route<H>): string {
  const methods = Object.keys(route.handlers);
  if (methods.includes('GET')) methods.push('HEAD');
  methods.push('OPTIONS');
  return methods.join(', ');
}

/**
 * `parts`: the path split on '/', its first element the empty text before the leading slash.
 * Segments are compared in order, as a parameter is decoded where it stands: a malformed
 * escape in a parameter before the first difference is still a 400.
 */
function sameShape<H>(route: Route<H>, parts: readonly string[]): boolean {
  const { segments } = route;
  if (segments.length !== parts.length - 1) return false;
  for (let i = 0; i < segments.length; i++) {
    const p = segments[i]!;
    const part = parts[i + 1]!;
    if (p.charCodeAt(0) === 58 /* : */ ? part === '' : p !== part) {
      for (const j of route.paramAt) if (j < i && parts[j + 1]!.includes('%')) decodeParam(route, parts, j);
      return false;
    }
  }
  return true;
}

function decodeParams<H>(route: Route<H>, parts: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const i of route.paramAt) params[route.segments[i]!.slice(1)] = decodeParam(route, parts, i);
  return params;
}

function decodeParam<H>(route: Route<H>, parts: readonly string[], i: number): string {
  const part = parts[i + 1]!;
  if (!part.includes('%')) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, 'INVALID_ARGUMENT', `Malformed percent-encoding in the path parameter '${route.segments[i]!.slice(1)}'`);
  }
}
