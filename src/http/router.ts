// A small router: exact paths and `:param` segments, per-method handlers, 404 for an unknown
// path (a trailing slash included) and 405 with Allow for a known path and another method.
// HEAD is served by the GET handler (Node sends no body); OPTIONS answers 204 with Allow.
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
  readonly handlers: Partial<Record<Method, H>>;
}

export class Router<H> {
  readonly #routes: Route<H>[] = [];

  add(method: Method, pattern: string, handler: H): this {
    let route = this.#routes.find((r) => r.pattern === pattern);
    if (!route) {
      route = { pattern, segments: pattern.split('/').slice(1), handlers: {} };
      this.#routes.push(route);
    }
    route.handlers[method] = handler;
    return this;
  }

  /** Throws HttpError 404/405 (400 for a malformed %-escape); `allow` is set for OPTIONS. */
  match(method: string, pathname: string): RouteMatch<H> | { readonly options: true; readonly allow: string } {
    const parts = pathname.split('/').slice(1);
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      const allow = allowed(route);
      if (method === 'OPTIONS') return { options: true, allow };
      const handler = route.handlers[(method === 'HEAD' ? 'GET' : method) as Method];
      if (!handler) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `Method ${method} is not allowed on ${route.pattern}`, { Allow: allow });
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

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const part = parts[i]!;
    if (p.startsWith(':')) {
      if (part === '') return undefined;
      let decoded: string;
      try {
        decoded = decodeURIComponent(part);
      } catch {
        throw new HttpError(400, 'INVALID_ARGUMENT', `Malformed percent-encoding in the path parameter '${p.slice(1)}'`);
      }
      params[p.slice(1)] = decoded;
    } else if (p !== part) {
      return undefined;
    }
  }
  return params;
}
