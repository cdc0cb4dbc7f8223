// Issue 18, front door: which agent a verified token acts as, the scopes it grants, and the
// protected-resource metadata helpers (pure functions; the real validation against an
// identity provider is tests/e2e/http-oauth.test.ts).
import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import type { OAuthRules } from '../../../src/config/types.js';
import { agentForClaims, grantedScopes } from '../../../src/http/jwtAgent.js';
import { metadataUrls } from '../../../src/http/jwtIssuers.js';
import { metadataDocument, metadataPaths, metadataUrl, normalizeResourceUrl } from '../../../src/http/protectedResource.js';

const A = 'https://a.example.com';
const B = 'https://b.example.com/tenant';

function oauth(agents: unknown[]): OAuthRules {
  const result = parseRulesConfig({
    agents: { researcher: {}, ci: {}, admins: {}, fallback: {} },
    oauth: { issuers: [{ issuer: A, scopes: ['mcp'] }, { issuer: B }], agents },
  });
  if (!result.config?.oauth) throw new Error(JSON.stringify(result.issues));
  return result.config.oauth;
}

describe('agentForClaims', () => {
  const rules = oauth([
    { agent: 'ci', issuer: B, match: { azp: 'ci-bot' } },
    { agent: 'admins', match: { groups: 'mcp-admins' } },
    { agent: 'researcher', match: { sub: 'user-*', email_verified_domain: '*.example.com' } },
    { agent: 'fallback', match: { sub: '*' } },
  ]);

  it('first matching mapping wins', () => {
    expect(agentForClaims(rules, A, { sub: 'user-1', groups: ['mcp-admins'] })).toBe('admins');
    expect(agentForClaims(rules, A, { sub: 'user-1', email_verified_domain: 'eu.example.com' })).toBe('researcher');
  });

  it('every claim of a mapping must match', () => {
    expect(agentForClaims(rules, A, { sub: 'user-1', email_verified_domain: 'evil.com' })).toBe('fallback');
  });

  it('an array claim matches when any string element does; other types never', () => {
    expect(agentForClaims(rules, A, { sub: 'x', groups: ['a', 'mcp-admins'] })).toBe('admins');
    expect(agentForClaims(rules, A, { sub: 'x', groups: [1, { name: 'mcp-admins' }] })).toBe('fallback');
    expect(agentForClaims(rules, A, { groups: true })).toBeUndefined();
  });

  it("a mapping with an issuer takes only that issuer's tokens", () => {
    expect(agentForClaims(rules, B, { sub: 'svc', azp: 'ci-bot' })).toBe('ci');
    expect(agentForClaims(rules, A, { sub: 'svc', azp: 'ci-bot' })).toBe('fallback');
  });

  it('no match: undefined (the token is refused)', () => {
    const strict = oauth([{ agent: 'ci', match: { client_id: 'ci-*' } }]);
    expect(agentForClaims(strict, A, { sub: 'someone' })).toBeUndefined();
    expect(agentForClaims(strict, A, { sub: 'someone', client_id: 'ci-7' })).toBe('ci');
  });

  it('patterns are the rules\' globs: case-sensitive, "/" and spaces are plain characters', () => {
    const groups = oauth([
      { agent: 'admins', match: { groups: '/mcp/*' } },
      { agent: 'ci', match: { name: 'Build Bot' } },
    ]);
    expect(agentForClaims(groups, A, { groups: ['/mcp/admins'] })).toBe('admins');
    expect(agentForClaims(groups, A, { groups: ['/MCP/admins'] })).toBeUndefined();
    expect(agentForClaims(groups, A, { name: 'Build Bot' })).toBe('ci');
  });

  it('inherited properties are not claims', () => {
    const proto = oauth([{ agent: 'ci', match: { constructor: '*' } }]);
    expect(agentForClaims(proto, A, { sub: 'x' })).toBeUndefined();
  });
});

describe('grantedScopes', () => {
  it('reads the scope string and the scp claim, as a list or (Entra ID) a string', () => {
    expect([...grantedScopes({ scope: 'mcp  read' })]).toEqual(['mcp', 'read']);
    expect([...grantedScopes({ scp: ['mcp', 'write'] })]).toEqual(['mcp', 'write']);
    expect([...grantedScopes({ scp: 'mcp write' })]).toEqual(['mcp', 'write']);
    expect([...grantedScopes({ scope: 'a', scp: ['b', 3] })]).toEqual(['a', 'b']);
    expect([...grantedScopes({ scope: ['not', 'a string'] })]).toEqual([]);
  });
});

describe('protected-resource metadata', () => {
  it('normalizes the resource URL as clients compute it', () => {
    expect(normalizeResourceUrl('https://mcp.example.com')).toEqual({ ok: true, url: 'https://mcp.example.com/' });
    expect(normalizeResourceUrl('https://MCP.example.com:443/mcp')).toEqual({ ok: true, url: 'https://mcp.example.com/mcp' });
    expect(normalizeResourceUrl('http://127.0.0.1:8080/mcp')).toEqual({ ok: true, url: 'http://127.0.0.1:8080/mcp' });
    expect(normalizeResourceUrl('http://mcp.example.com/mcp').ok).toBe(false);
    expect(normalizeResourceUrl('https://mcp.example.com/mcp#x').ok).toBe(false);
    expect(normalizeResourceUrl('https://mcp.example.com/mcp?x=1').ok).toBe(false);
    expect(normalizeResourceUrl('/mcp').ok).toBe(false);
  });

  it('derives the well-known URL (RFC 9728 section 3.1) and the paths served', () => {
    expect(metadataUrl('https://mcp.example.com/mcp')).toBe('https://mcp.example.com/.well-known/oauth-protected-resource/mcp');
    expect(metadataUrl('https://mcp.example.com/')).toBe('https://mcp.example.com/.well-known/oauth-protected-resource');
    expect(metadataPaths('https://mcp.example.com/mcp')).toEqual(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']);
    expect(metadataPaths('https://mcp.example.com/gw/mcp')).toContain('/.well-known/oauth-protected-resource/gw/mcp');
  });

  it('names the resource, every issuer and the union of the required scopes', () => {
    expect(metadataDocument('https://mcp.example.com/mcp', oauth([]))).toEqual({
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: [A, B],
      scopes_supported: ['mcp'],
      bearer_methods_supported: ['header'],
    });
  });

  it("looks for an issuer's metadata as RFC 8414 section 5 orders it", () => {
    expect(metadataUrls(B)).toEqual([
      'https://b.example.com/.well-known/oauth-authorization-server/tenant',
      'https://b.example.com/.well-known/openid-configuration/tenant',
      'https://b.example.com/tenant/.well-known/openid-configuration',
    ]);
    expect(metadataUrls(A)).toEqual(['https://a.example.com/.well-known/oauth-authorization-server', 'https://a.example.com/.well-known/openid-configuration']);
  });
});
