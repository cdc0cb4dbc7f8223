// Host header validation, the DNS-rebinding defence: a browser page on a name its attacker
// re-points at 127.0.0.1 reaches a loopback-bound gateway with that name in Host (and, for a
// simple GET, no Origin). On a loopback bind only loopback names are served, plus the names
// listed with --allowed-hosts; a listed name is enforced on any bind. The MCP transport
// spec asks servers on localhost to validate the Host as well as the Origin.
import { isIP } from 'node:net';

const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** One --allowed-hosts entry in canonical form (lower case, IPv6 in brackets); undefined when it is not a host name or IP address. */
export function normalizeHostName(text: string): string | undefined {
  const name = text.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) return isIP(name.slice(1, -1)) === 6 ? name : undefined;
  if (isIP(name) === 6) return `[${name}]`;
  if (isIP(name) === 4 || DNS_NAME.test(name)) return name;
  return undefined;
}

/** The name of a Host header value (`name`, `name:port`, `[v6]:port`), lower case; undefined when malformed. */
export function hostNameOf(header: string): string | undefined {
  const h = header.toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(h);
  if (!m) return undefined;
  return normalizeHostName(m[1]!);
}

/** Allowed Host values remembered at most (each is an allowed name with a port, so few exist). */
const SEEN_MAX = 64;

export class HostPolicy {
  /** undefined: every Host is served (a non-loopback bind without --allowed-hosts). */
  readonly #allowed: ReadonlySet<string> | undefined;
  /** Header values already allowed, as sent: every request of a client sends the same one. */
  readonly #seen = new Set<string>();

  /**
   * `listed`: normalized --allowed-hosts entries (undefined: none given). Loopback names and
   * the bound address itself are always served, so a health check on 127.0.0.1 works
   * whatever is listed.
   */
  constructor(listed: readonly string[] | undefined, bind: { readonly host: string; readonly loopback: boolean }) {
    if (listed === undefined && !bind.loopback) {
      this.#allowed = undefined;
      return;
    }
    const own = normalizeHostName(bind.host);
    this.#allowed = new Set([...LOOPBACK_NAMES, ...(own !== undefined ? [own] : []), ...(listed ?? [])]);
  }

  allows(header: string | undefined): boolean {
    if (this.#allowed === undefined) return true;
    if (header === undefined) return false;
    if (this.#seen.has(header)) return true;
    const name = hostNameOf(header);
    const allowed = name !== undefined && this.#allowed.has(name);
    if (allowed && this.#seen.size < SEEN_MAX) this.#seen.add(header);
    return allowed;
  }
}
