// Who is calling: the shared credential (Basic and/or Bearer, from the settings), a
// per-agent bearer token (its SHA-256 in the rules file's `credentials`), a JWT of an
// identity provider of the rules file's `oauth` section (jwtAuth.ts), or nobody (only where
// no credential of any kind exists and the host allows it).
//
// Order: Basic, then a bearer is compared with the shared and per-agent tokens; only one that
// matches neither, has the shape of a JWT and meets a configured issuer is validated as a JWT.
//
// Secrets are compared as SHA-256 digests with timingSafeEqual: equal lengths always, so
// neither the content nor the length of the configured secret leaks through timing. Input
// that is not printable ASCII is refused as unauthenticated before any decoding.
import { hash, timingSafeEqual } from 'node:crypto';
import type { OAuthRules } from '../config/types.js';
import { JWT_SHAPE, TokenVerifier } from './jwtAuth.js';
import { metadataDocument, metadataPaths, metadataUrl, quoted } from './protectedResource.js';
import { HttpError } from './respond.js';

export interface SharedCredentials {
  readonly basic?: { readonly user: string; readonly password: string };
  readonly token?: string;
}

/** The caller as the rest of the HTTP layer sees it. */
export interface Principal {
  readonly kind: 'anonymous' | 'shared' | 'agent' | 'oauth';
  /** Stable identity: owner of MCP and REST sessions, rate-limit key. Never contains a secret. */
  readonly key: string;
  /** Set for a per-agent credential or a token: the session is bound to this agent (like --agent). */
  readonly boundAgent?: string;
}

export type AuthOutcome =
  | { readonly ok: true; readonly principal: Principal }
  /** `presented`: the request carried an Authorization header (wrong or malformed). */
  | {
      readonly ok: false;
      readonly presented: boolean;
      readonly reason: string;
      /** A JWT was presented and validated: the challenge says invalid_token. */
      readonly token?: boolean;
      /** A valid token that may not come in (403): lacking `scope`, or mapped to no agent. */
      readonly forbidden?: { readonly scope?: string };
    };

export interface FrontDoorOptions {
  /** --resource-url, normalized: the audience tokens must carry. Without it no token is accepted. */
  readonly resourceUrl?: string;
  /** An identity provider's metadata or keys could not be fetched. */
  readonly onProviderError?: (issuer: string, err: unknown) => void;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

// One-shot hashing: no Hash object per digest (two or three digests on every request).
function digest(bytes: string): Buffer {
  return hash('sha256', bytes, 'buffer');
}

/** Constant-time equality of two secrets of any length. */
export function secretEquals(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Hex SHA-256 of a token: the key of the rules file's `credentials` map. */
export function tokenDigest(token: string): string {
  return hash('sha256', token, 'hex');
}

export class Authenticator {
  readonly #shared: SharedCredentials;
  readonly #sharedDigests: { user?: Buffer; password?: Buffer; token?: Buffer };
  /** Digest of the whole `user:password`, when the user name has no colon (so the text splits back into the same halves). */
  readonly #basicDigest: Buffer | undefined;
  readonly #anonymousAllowed: boolean;
  readonly #resourceUrl: string | undefined;
  readonly #tokens: TokenVerifier;

  /**
   * `anonymousAllowed`: no shared credential is configured and the host permits it
   * (loopback, or --allow-unauthenticated). Even then a request is anonymous only while
   * the rules hold no per-agent credential or identity provider either: auth cannot be
   * silently off. `frontDoor`: what identity-provider tokens need (jwtAuth.ts).
   */
  constructor(shared: SharedCredentials, anonymousAllowed: boolean, frontDoor: FrontDoorOptions = {}) {
    this.#resourceUrl = frontDoor.resourceUrl;
    this.#tokens = new TokenVerifier(frontDoor.onProviderError ?? (() => undefined));
    this.#shared = shared;
    this.#sharedDigests = {
      ...(shared.basic ? { user: digest(shared.basic.user), password: digest(shared.basic.password) } : {}),
      ...(shared.token !== undefined ? { token: digest(shared.token) } : {}),
    };
    this.#basicDigest = shared.basic && !shared.basic.user.includes(':') ? digest(`${shared.basic.user}:${shared.basic.password}`) : undefined;
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
   * The whole front door: what authenticate() accepts, then JWTs of the issuers in `oauth`
   * (the rules in force, hot-reloaded like `agentCredentials`).
   */
  async authenticateRequest(
    header: string | undefined,
    agentCredentials: Readonly<Record<string, string>> | undefined,
    oauth: OAuthRules | undefined,
  ): Promise<AuthOutcome> {
    const active = oauth !== undefined && oauth.issuers.length > 0;
    const outcome = this.authenticate(header, agentCredentials, active);
    if (outcome.ok || !active || header === undefined || !header.startsWith('Bearer ')) return outcome;
    const token = header.slice(7);
    if (!JWT_SHAPE.test(token)) return outcome;
    if (this.#resourceUrl === undefined) return { ok: false, presented: true, reason: 'OAuth issuers are configured but --resource-url is not' };
    const verdict = await this.#tokens.verify(token, oauth, this.#resourceUrl);
    if (verdict.ok) return { ok: true, principal: { kind: 'oauth', key: verdict.key, boundAgent: verdict.agent } };
    if (verdict.status === 403) {
      return { ok: false, presented: true, reason: verdict.reason, forbidden: verdict.scope !== undefined ? { scope: verdict.scope } : {} };
    }
    return { ok: false, presented: true, reason: verdict.reason, token: true };
  }

  /** The answer to a failed authentication: 401 with every challenge, or 403 for a valid token that may not come in. */
  refusal(outcome: Extract<AuthOutcome, { ok: false }>, oauth: OAuthRules | undefined): HttpError {
    const metadata =
      this.#resourceUrl !== undefined && oauth !== undefined && oauth.issuers.length > 0 ? `resource_metadata=${quoted(metadataUrl(this.#resourceUrl))}` : undefined;
    if (outcome.forbidden?.scope !== undefined) {
      const challenge = ['Bearer error="insufficient_scope"', `scope=${quoted(outcome.forbidden.scope)}`, ...(metadata ? [metadata] : [])].join(', ');
      return new HttpError(403, 'INSUFFICIENT_SCOPE', `The token lacks a required scope (${outcome.forbidden.scope})`, { 'WWW-Authenticate': challenge });
    }
    if (outcome.forbidden) {
      return new HttpError(403, 'INVALID_AGENT_ID', 'The token is valid but maps to no agent: the rules file has no oauth.agents entry matching it');
    }
    if (metadata === undefined) return new HttpError(401, 'UNAUTHENTICATED', 'Authentication required', { 'WWW-Authenticate': this.challenges() });
    // Bearer first: MCP clients read the first challenge of the header for resource_metadata.
    const bearer = ['Bearer realm="MCP Gateway"', metadata, ...(outcome.token ? ['error="invalid_token"'] : [])].join(', ');
    return new HttpError(401, 'UNAUTHENTICATED', 'Authentication required', {
      'WWW-Authenticate': [bearer, ...this.challenges().filter((c) => !c.startsWith('Bearer'))],
    });
  }

  /** Where the protected-resource metadata is served (none without --resource-url). */
  metadataPaths(): string[] {
    return this.#resourceUrl !== undefined ? metadataPaths(this.#resourceUrl) : [];
  }

  /** The RFC 9728 document for the rules in force; 404 while no issuer is configured. */
  protectedResourceMetadata(oauth: OAuthRules | undefined): { status: number; body: Record<string, unknown> } {
    if (this.#resourceUrl === undefined || oauth === undefined || oauth.issuers.length === 0) {
      throw new HttpError(404, 'NOT_FOUND', 'No identity provider is configured (oauth.issuers in the rules file)');
    }
    return { status: 200, body: metadataDocument(this.#resourceUrl, oauth) };
  }

  /**
   * `agentCredentials`: the rules in force (hot-reloaded), hex SHA-256 -> agent id.
   * `tokensAccepted`: identity-provider tokens are configured, so nobody is anonymous.
   */
  authenticate(header: string | undefined, agentCredentials: Readonly<Record<string, string>> | undefined, tokensAccepted = false): AuthOutcome {
    const perAgent = agentCredentials !== undefined && hasEntries(agentCredentials);
    if (header === undefined || header === '') {
      if (this.#anonymousAllowed && !perAgent && !tokensAccepted) return { ok: true, principal: { kind: 'anonymous', key: 'anonymous' } };
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
      // One digest of the whole text compares both halves at once: the time does not tell
      // whether the user name was right. (The text is user:password exactly when both match.)
      if (this.#basicDigest !== undefined) {
        if (timingSafeEqual(digest(decoded), this.#basicDigest)) return { ok: true, principal: { kind: 'shared', key: 'shared' } };
        return { ok: false, presented: true, reason: 'wrong user name or password' };
      }
      // Both halves are always compared: the time does not tell whether the user name was right.
      const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), expected.user);
      const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), expected.password);
      if (userOk && passwordOk) return { ok: true, principal: { kind: 'shared', key: 'shared' } };
      return { ok: false, presented: true, reason: 'wrong user name or password' };
    }
    return { ok: false, presented: true, reason: 'unsupported authorization scheme' };
  }
}

function hasEntries(record: Readonly<Record<string, string>>): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return true;
  return false;
}
