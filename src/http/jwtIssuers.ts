// The signing keys of each configured issuer: its metadata document (RFC 8414
// `/.well-known/oauth-authorization-server`, then OpenID Connect discovery) names the
// `jwks_uri`; jose's remote key set caches the keys and fetches them again when a token names
// a `kid` it does not know (at most once per cooldown) or when the cache is older than its
// maximum age, so a rotated key is picked up and a removed one stops verifying.
//
// A provider that cannot be reached, or answers something unusable, fails the token (401);
// the failure is remembered for a few seconds so a burst of tokens does not become a burst of
// fetches, and the next attempt starts again from the metadata (its jwks_uri may have moved).
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { isLoopbackHostname } from '../config/oauthRules.js';
import type { OAuthIssuer } from '../config/types.js';
import { FETCH_TIMEOUT_MS, fetchBounded, fetchJsonObject, IssuerFetchError, MAX_JWKS_BYTES, MAX_METADATA_BYTES } from './jwtFetch.js';

/** How long keys are trusted before the set is fetched again even without an unknown `kid`. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
const RETRY_AFTER_FAILURE_MS = 5_000;

interface Entry {
  keys?: Promise<JWTVerifyGetKey>;
  failedAt?: number;
}

export class IssuerKeys {
  readonly #entries = new Map<string, Entry>();

  /** The key resolver of `issuer`; rejects (IssuerFetchError) when its metadata cannot be used. */
  keysOf(issuer: OAuthIssuer): Promise<JWTVerifyGetKey> {
    // A reload that changes the cooldown gets a fresh key set.
    const id = idOf(issuer);
    let entry = this.#entries.get(id);
    if (entry?.failedAt !== undefined && Date.now() - entry.failedAt >= RETRY_AFTER_FAILURE_MS) entry = undefined;
    if (entry?.keys) return entry.keys;
    if (entry?.failedAt !== undefined) return Promise.reject(new IssuerFetchError(`metadata of ${issuer.issuer} is unavailable; retrying shortly`));
    const fresh: Entry = {};
    fresh.keys = discoverKeys(issuer).catch((err: unknown) => {
      fresh.failedAt = Date.now();
      delete fresh.keys;
      throw err;
    });
    this.#entries.set(id, fresh);
    return fresh.keys;
  }

  /** The keys of `issuer` could not be fetched: back off, then discover again (a failure already backing off keeps its time). */
  failed(issuer: OAuthIssuer): void {
    const id = idOf(issuer);
    if (this.#entries.get(id)?.failedAt === undefined) this.#entries.set(id, { failedAt: Date.now() });
  }

  /** Drops the key sets of issuers no longer configured (after a reload). */
  retain(issuers: readonly OAuthIssuer[]): void {
    const live = new Set(issuers.map(idOf));
    for (const id of this.#entries.keys()) if (!live.has(id)) this.#entries.delete(id);
  }
}

function idOf(issuer: OAuthIssuer): string {
  return `${issuer.jwksCooldownSeconds}|${issuer.issuer}`;
}

async function discoverKeys(issuer: OAuthIssuer): Promise<JWTVerifyGetKey> {
  const metadata = await metadataOf(issuer.issuer);
  if (metadata['issuer'] !== issuer.issuer) throw new IssuerFetchError(`the metadata of ${issuer.issuer} names another issuer`);
  const jwksUri = metadata['jwks_uri'];
  if (typeof jwksUri !== 'string' || !fetchable(jwksUri)) throw new IssuerFetchError(`the metadata of ${issuer.issuer} has no usable jwks_uri`);
  return createRemoteJWKSet(new URL(jwksUri), {
    timeoutDuration: FETCH_TIMEOUT_MS,
    cooldownDuration: issuer.jwksCooldownSeconds * 1000,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    [customFetch]: (url, options) => fetchBounded(url, MAX_JWKS_BYTES, { signal: options.signal, headers: options.headers }),
  });
}

/** The first metadata document found, in the order RFC 8414 section 5 gives; all tries share one time bound. */
async function metadataOf(issuer: string): Promise<Record<string, unknown>> {
  const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  let last: unknown;
  for (const url of metadataUrls(issuer)) {
    try {
      return await fetchJsonObject(url, MAX_METADATA_BYTES, signal);
    } catch (err) {
      last = err;
    }
  }
  throw last instanceof Error ? last : new IssuerFetchError(`no metadata found for ${issuer}`);
}

export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const urls = [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
  return [...new Set(urls)];
}

function fetchable(uri: string): boolean {
  try {
    const url = new URL(uri);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHostname(url.hostname));
  } catch {
    return false;
  }
}
