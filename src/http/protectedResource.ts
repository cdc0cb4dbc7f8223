// OAuth 2.0 Protected Resource Metadata (RFC 9728): how an MCP client that got a 401 finds
// the identity provider to ask for a token. The 401's `WWW-Authenticate: Bearer
// resource_metadata="..."` names the document; the document names the resource (the
// audience tokens must carry), the authorization servers and the scopes.
//
// The document is served at the well-known URL derived from the resource URL (the path
// inserted after `/.well-known/oauth-protected-resource`), at the bare well-known path, and at
// its `/mcp` suffix, which MCP clients try first when they connect to `.../mcp`.
import { isLoopbackHostname } from '../config/oauthRules.js';
import type { OAuthRules } from '../config/types.js';

export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

/** The resource URL as clients compute it (WHATWG-serialized), or why it cannot be one. */
export function normalizeResourceUrl(value: string): { ok: true; url: string } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: 'is not an absolute URL' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHostname(url.hostname))) {
    return { ok: false, reason: 'must be an https URL (http only on a loopback host)' };
  }
  if (url.search !== '' || url.hash !== '' || value.includes('#')) return { ok: false, reason: 'must have no query or fragment (RFC 8707)' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'must not carry credentials' };
  return { ok: true, url: url.href };
}

/** The resource path as the well-known URL's suffix: "" for the root. */
function suffixOf(resourceUrl: string): string {
  return new URL(resourceUrl).pathname.replace(/\/+$/, '');
}

/** Where the metadata document of `resourceUrl` is, for WWW-Authenticate. */
export function metadataUrl(resourceUrl: string): string {
  return `${new URL(resourceUrl).origin}${PROTECTED_RESOURCE_PATH}${suffixOf(resourceUrl)}`;
}

/** The paths this gateway serves the document at. */
export function metadataPaths(resourceUrl: string): string[] {
  return [...new Set([PROTECTED_RESOURCE_PATH, `${PROTECTED_RESOURCE_PATH}/mcp`, `${PROTECTED_RESOURCE_PATH}${suffixOf(resourceUrl)}`])];
}

export function metadataDocument(resourceUrl: string, rules: OAuthRules): Record<string, unknown> {
  return {
    resource: resourceUrl,
    authorization_servers: rules.issuers.map((i) => i.issuer),
    scopes_supported: [...new Set(rules.issuers.flatMap((i) => i.scopes))],
    bearer_methods_supported: ['header'],
  };
}

/** A quoted-string parameter value (RFC 9110): `"` and `\` escaped. */
export function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
