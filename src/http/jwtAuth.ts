// Bearer JWTs from the identity providers of the rules file's `oauth` section (an OAuth 2.1
// resource server, as the MCP authorization spec asks of an MCP server):
//
//   issuer configured (exact `iss`) -> signature with the issuer's keys (asymmetric
//   algorithms only: never `none`, never HS*, whose "secret" would be a public key) -> `aud`
//   holds the gateway's resource URL (RFC 8707) -> `exp`/`nbf` with LEEWAY_SECONDS ->
//   required scopes (403 insufficient_scope) -> the agent of the first matching mapping
//   (none: 403, as an unknown agent_id).
//
// The token itself is never kept, logged or passed on: the caller becomes an identity key
// and an agent. Reasons given back are fixed texts, never claim values.
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { OAuthIssuer, OAuthRules } from '../config/types.js';
import { agentForClaims, grantedScopes } from './jwtAgent.js';
import { IssuerKeys } from './jwtIssuers.js';

/** Clock skew tolerated on `exp` and `nbf`, between the provider's clock and ours. */
export const LEEWAY_SECONDS = 30;
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Longer than any real access token; a longer one is not decoded at all. */
const MAX_TOKEN_CHARS = 12 * 1024;
const MAX_SUBJECT_CHARS = 255;
const CONTROL = /\p{Cc}/u;

/** Three base64url parts (the last empty for an unsigned token): what goes to JWT validation. */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export type TokenVerdict =
  | { readonly ok: true; readonly agent: string; readonly key: string }
  | { readonly ok: false; readonly status: 401; readonly reason: string }
  | { readonly ok: false; readonly status: 403; readonly reason: string; readonly scope?: string };

export class TokenVerifier {
  readonly #keys = new IssuerKeys();
  readonly #onProviderError: (issuer: string, err: unknown) => void;

  /** `onProviderError`: an issuer's metadata or keys could not be fetched (logged by the caller). */
  constructor(onProviderError: (issuer: string, err: unknown) => void) {
    this.#onProviderError = onProviderError;
  }

  async verify(token: string, rules: OAuthRules, resourceUrl: string): Promise<TokenVerdict> {
    this.#keys.retain(rules.issuers);
    if (token.length > MAX_TOKEN_CHARS) return refused('token too long');
    let alg: unknown;
    let iss: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      return refused('malformed token');
    }
    if (typeof alg !== 'string' || !ALLOWED_ALGORITHMS.includes(alg)) return refused('token algorithm not allowed');
    const issuer = rules.issuers.find((i) => i.issuer === iss);
    if (!issuer) return refused('token of an issuer not configured');
    let payload: JWTPayload;
    try {
      const keys = await this.#keys.keysOf(issuer);
      ({ payload } = await jwtVerify(token, keys, {
        issuer: issuer.issuer,
        audience: resourceUrl,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: LEEWAY_SECONDS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      return refused(this.#failure(issuer, err));
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUBJECT_CHARS || CONTROL.test(sub)) return refused('token subject unusable');
    const granted = grantedScopes(payload);
    if (issuer.scopes.some((s) => !granted.has(s))) {
      return { ok: false, status: 403, reason: 'token lacks a required scope', scope: issuer.scopes.join(' ') };
    }
    const agent = agentForClaims(rules, issuer.issuer, payload);
    if (agent === undefined) return { ok: false, status: 403, reason: 'token maps to no agent' };
    // The agent is part of the identity: a reload that maps the token elsewhere starts new sessions.
    return { ok: true, agent, key: `oauth:${agent}:${issuer.issuer}#${sub}` };
  }

  #failure(issuer: OAuthIssuer, err: unknown): string {
    if (err instanceof errors.JWTExpired) return 'token expired';
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.claim === 'aud') return 'token audience is not this gateway';
      if (err.claim === 'nbf') return 'token not yet valid';
      return `token claim "${err.claim}" invalid`;
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
    if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'token signed by an unknown key';
    if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'token algorithm not allowed';
    if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed token';
    this.#keys.failed(issuer);
    this.#onProviderError(issuer.issuer, err);
    return 'identity provider unavailable';
  }
}

function refused(reason: string): TokenVerdict {
  return { ok: false, status: 401, reason };
}
