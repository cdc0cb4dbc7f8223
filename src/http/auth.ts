// Who is calling: the shared credential (Basic and/or Bearer, from the settings), a
// per-agent bearer token (its SHA-256 in the rules file's `credentials`), or nobody (only
// where no credential of any kind exists and the host allows it).
//
// Secrets are compared as SHA-256 digests with timingSafeEqual: equal lengths always, so
// neither the content nor the length of the configured secret leaks through timing. Input
// that is not printable ASCII is refused as unauthenticated before any decoding.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface SharedCredentials {
  readonly basic?: { readonly user: string; readonly password: string };
  readonly token?: string;
}

/** The caller as the rest of the HTTP layer sees it. */
export interface Principal {
  readonly kind: 'anonymous' | 'shared' | 'agent';
  /** Stable identity: owner of MCP and REST sessions, rate-limit key. Never contains a secret. */
  readonly key: string;
  /** Set for a per-agent credential: the session is bound to this agent (like --agent). */
  readonly boundAgent?: string;
}

export type AuthOutcome =
  | { readonly ok: true; readonly principal: Principal }
  /** `presented`: the request carried an Authorization header (wrong or malformed). */
  | { readonly ok: false; readonly presented: boolean; readonly reason: string };

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function digest(bytes: string): Buffer {
  return createHash('sha256').update(bytes, 'utf8').digest();
}

/** Constant-time equality of two secrets of any length. */
export function secretEquals(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Hex SHA-256 of a token: the key of the rules file's `credentials` map. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class Authenticator {
  readonly #shared: SharedCredentials;
  readonly #sharedDigests: { user?: Buffer; password?: Buffer; token?: Buffer };
  readonly #anonymousAllowed: boolean;

  /**
   * `anonymousAllowed`: no shared credential is configured and the host permits it
   * (loopback, or --allow-unauthenticated). Even then a request is anonymous only while
   * the rules hold no per-agent credential either: auth cannot be silently off.
   */
  constructor(shared: SharedCredentials, anonymousAllowed: boolean) {
    this.#shared = shared;
    this.#sharedDigests = {
      ...(shared.basic ? { user: digest(shared.basic.user), password: digest(shared.basic.password) } : {}),
      ...(shared.token !== undefined ? { token: digest(shared.token) } : {}),
    };
    this.#anonymousAllowed = anonymousAllowed && shared.basic === undefined && shared.token === undefined;
  }

  get hasSharedCredential(): boolean {
    return this.#shared.basic !== undefined || this.#shared.token !== undefined;
  }

  /** The schemes to name in WWW-Authenticate. */
  challenges(): string[] {
    const out: string[] = [];
    if (this.#shared.basic) out.push('Basic realm="MCP Gateway", charset="UTF-8"');
    out.push('Bearer realm="MCP Gateway"');
    return out;
  }

  /**
   * `agentCredentials`: the rules in force (hot-reloaded), hex SHA-256 -> agent id.
   */
  authenticate(header: string | undefined, agentCredentials: Readonly<Record<string, string>> | undefined): AuthOutcome {
    const perAgent = agentCredentials !== undefined && Object.keys(agentCredentials).length > 0;
    if (header === undefined || header === '') {
      if (this.#anonymousAllowed && !perAgent) return { ok: true, principal: { kind: 'anonymous', key: 'anonymous' } };
      return { ok: false, presented: false, reason: 'no credentials' };
    }
    if (!PRINTABLE_ASCII.test(header)) return { ok: false, presented: true, reason: 'malformed Authorization header' };
    // As SignalWire's gateway: exactly "Bearer " (its skill and curl scripts send that).
    if (header.startsWith('Bearer ')) {
      const token = header.slice(7);
      if (token === '') return { ok: false, presented: true, reason: 'empty bearer token' };
      const given = digest(token);
      const shared = this.#sharedDigests.token;
      if (shared !== undefined && timingSafeEqual(given, shared)) return { ok: true, principal: { kind: 'shared', key: 'shared' } };
      if (perAgent) {
        const agent = Object.hasOwn(agentCredentials, given.toString('hex')) ? agentCredentials[given.toString('hex')] : undefined;
        if (agent !== undefined) return { ok: true, principal: { kind: 'agent', key: `agent:${agent}`, boundAgent: agent } };
      }
      return { ok: false, presented: true, reason: 'unknown bearer token' };
    }
    const space = header.indexOf(' ');
    if (space > 0 && header.slice(0, space).toLowerCase() === 'basic') {
      const expected = this.#sharedDigests;
      if (expected.user === undefined || expected.password === undefined) return { ok: false, presented: true, reason: 'Basic authentication is not configured' };
      const encoded = header.slice(space + 1).trim();
      if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return { ok: false, presented: true, reason: 'malformed Basic credentials' };
      const decoded = Buffer.from(encoded, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0 || colon === decoded.length - 1) return { ok: false, presented: true, reason: 'malformed Basic credentials' };
      // Both halves are always compared: the time does not tell whether the user name was right.
      const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), expected.user);
      const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), expected.password);
      if (userOk && passwordOk) return { ok: true, principal: { kind: 'shared', key: 'shared' } };
      return { ok: false, presented: true, reason: 'wrong user name or password' };
    }
    return { ok: false, presented: true, reason: 'unsupported authorization scheme' };
  }
}
