// Origin validation (MCP Streamable HTTP: a server MUST answer 403 to an invalid Origin; it
// is also the DNS-rebinding defence for the REST routes). A request without Origin (curl,
// SDK clients, server-to-server) is allowed: only browsers send one.

/** Parses one allow-list entry; undefined when it is not an origin (scheme://host[:port]). */
export function normalizeOrigin(text: string): string | undefined {
  if (text === '*') return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return undefined;
  if (text.endsWith('/')) return undefined;
  return url.origin;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export class OriginPolicy {
  readonly #allowed: ReadonlySet<string> | undefined;

  /** `allowed`: normalized origins; undefined means the default (loopback origins on any port). */
  constructor(allowed: readonly string[] | undefined) {
    this.#allowed = allowed === undefined ? undefined : new Set(allowed);
  }

  allows(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.#allowed !== undefined) return this.#allowed.has(normalizeOrigin(origin) ?? '\0');
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname);
  }
}
