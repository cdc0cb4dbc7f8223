// Issue 18, front door: how the Authenticator composes identity-provider tokens with the
// shared secret and per-agent tokens, and the refusals it answers. Only cases decided before
// any fetch are here; validation against a real provider is tests/e2e/http-oauth.test.ts.
import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import type { OAuthRules } from '../../../src/config/types.js';
import { Authenticator, tokenDigest } from '../../../src/http/auth.js';

const ISSUER = 'https://idp.example.com';
const RESOURCE = 'https://mcp.example.com/mcp';
const METADATA = 'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"';
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (header: object, payload: object, signature = 'c2ln') => `${b64url(header)}.${b64url(payload)}.${signature}`;

const oauth: OAuthRules = (() => {
  const result = parseRulesConfig({
    agents: { a: {} },
    oauth: { issuers: [{ issuer: ISSUER, scopes: ['mcp'] }], agents: [{ agent: 'a', match: { sub: '*' } }] },
  });
  return result.config!.oauth!;
})();

describe('Authenticator with identity-provider tokens', () => {
  const auth = new Authenticator({ token: 'shared' }, true, { resourceUrl: RESOURCE });
  const creds = { [tokenDigest('agent-tok')]: 'a' };

  it('the shared and per-agent tokens are compared first, as before', async () => {
    expect(await auth.authenticateRequest('Bearer shared', creds, oauth)).toMatchObject({ ok: true, principal: { kind: 'shared' } });
    expect(await auth.authenticateRequest('Bearer agent-tok', creds, oauth)).toMatchObject({ ok: true, principal: { boundAgent: 'a' } });
  });

  it('a token that is not JWT-shaped is an unknown bearer token, not a JWT failure', async () => {
    expect(await auth.authenticateRequest('Bearer opaque-token', creds, oauth)).toEqual({ ok: false, presented: true, reason: 'unknown bearer token' });
  });

  it.each([
    ['alg none', jwt({ alg: 'none' }, { iss: ISSUER }, ''), 'token algorithm not allowed'],
    ['HS256', jwt({ alg: 'HS256' }, { iss: ISSUER }), 'token algorithm not allowed'],
    ['an issuer not configured', jwt({ alg: 'RS256' }, { iss: 'https://evil.example.com' }), 'token of an issuer not configured'],
    ['not JSON inside', 'YQ.Yg.Yw', 'malformed token'],
    ['too long', jwt({ alg: 'RS256' }, { iss: ISSUER, pad: 'x'.repeat(13_000) }), 'token too long'],
  ])('%s: refused before any fetch', async (_name, token, reason) => {
    expect(await auth.authenticateRequest(`Bearer ${token}`, creds, oauth)).toEqual({ ok: false, presented: true, reason, token: true });
  });

  it('with issuers configured nobody is anonymous, even where anonymity is allowed', async () => {
    const open = new Authenticator({}, true, { resourceUrl: RESOURCE });
    expect((await open.authenticateRequest(undefined, {}, undefined)).ok).toBe(true);
    expect((await open.authenticateRequest(undefined, {}, oauth)).ok).toBe(false);
  });

  it('issuers without a resource URL: tokens are refused (fail closed)', async () => {
    const noResource = new Authenticator({}, false);
    const outcome = await noResource.authenticateRequest(`Bearer ${jwt({ alg: 'RS256' }, { iss: ISSUER })}`, {}, oauth);
    expect(outcome).toMatchObject({ ok: false, reason: 'OAuth issuers are configured but --resource-url is not' });
    expect(noResource.metadataPaths()).toEqual([]);
  });

  it('refusals: the Bearer challenge with resource_metadata first; 403s for scope and mapping', () => {
    const both = new Authenticator({ basic: { user: 'u', password: 'p' } }, false, { resourceUrl: RESOURCE });
    const missing = both.refusal({ ok: false, presented: false, reason: 'no credentials' }, oauth);
    expect(missing.status).toBe(401);
    expect(missing.headers['WWW-Authenticate']).toEqual([`Bearer realm="MCP Gateway", ${METADATA}`, 'Basic realm="MCP Gateway", charset="UTF-8"']);
    const invalid = both.refusal({ ok: false, presented: true, reason: 'token expired', token: true }, oauth);
    expect(invalid.headers['WWW-Authenticate']).toContain(`Bearer realm="MCP Gateway", ${METADATA}, error="invalid_token"`);
    const scope = both.refusal({ ok: false, presented: true, reason: 'x', forbidden: { scope: 'mcp' } }, oauth);
    expect([scope.status, scope.code, scope.headers['WWW-Authenticate']]).toEqual([
      403,
      'INSUFFICIENT_SCOPE',
      `Bearer error="insufficient_scope", scope="mcp", ${METADATA}`,
    ]);
    const unmapped = both.refusal({ ok: false, presented: true, reason: 'x', forbidden: {} }, oauth);
    expect([unmapped.status, unmapped.code]).toEqual([403, 'INVALID_AGENT_ID']);
    // Without issuers in force, the challenges of before.
    expect(both.refusal({ ok: false, presented: false, reason: 'no credentials' }, undefined).headers['WWW-Authenticate']).toEqual(both.challenges());
  });

  it('the metadata document follows the rules in force; 404 without issuers', () => {
    expect(auth.protectedResourceMetadata(oauth).body).toMatchObject({ resource: RESOURCE, authorization_servers: [ISSUER] });
    expect(() => auth.protectedResourceMetadata(undefined)).toThrow(/No identity provider/);
  });
});
