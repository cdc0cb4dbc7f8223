// The rules file's `oauth` section (issue 18, front door): issuers, scopes and the
// token-to-agent mappings, validated with the rest of the file and reloaded with it.
import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import type { ConfigIssue } from '../../../src/config/types.js';

const lines = (issues: readonly ConfigIssue[]): string[] => issues.map((i) => `${i.severity} ${i.path}: ${i.message}`);

const AGENTS = { researcher: {}, ci: {}, admins: {} };
const ISSUER = 'https://idp.example.com/realms/acme';
const rules = (oauth: unknown) => ({ agents: AGENTS, oauth });

describe('oauth section: valid', () => {
  it('normalizes issuers (scopes, cooldown default) and mappings, in file order', () => {
    const result = parseRulesConfig(
      rules({
        issuers: [
          { issuer: ISSUER, scopes: ['mcp', 'mcp:tools'] },
          { issuer: 'http://localhost:9000', jwks_cooldown_seconds: 2 },
        ],
        agents: [
          { agent: 'researcher', match: { sub: 'user-*' } },
          { agent: 'ci', issuer: ISSUER, match: { azp: 'ci-bot' } },
          { agent: 'admins', match: { groups: '/mcp-admins', email: '*@example.com' } },
        ],
      }),
    );
    // With two issuers, a mapping that names none applies to both: said, not refused.
    expect(lines(result.issues)).toEqual([
      'warning oauth.agents[0]: applies to the tokens of every issuer, and claims such as "sub" are unique only within one: name its "issuer"',
      'warning oauth.agents[2]: applies to the tokens of every issuer, and claims such as "sub" are unique only within one: name its "issuer"',
    ]);
    expect(result.config?.oauth).toEqual({
      issuers: [
        { issuer: ISSUER, scopes: ['mcp', 'mcp:tools'], jwksCooldownSeconds: 30 },
        { issuer: 'http://localhost:9000', scopes: [], jwksCooldownSeconds: 2 },
      ],
      agents: [
        { agent: 'researcher', match: { sub: 'user-*' } },
        { agent: 'ci', issuer: ISSUER, match: { azp: 'ci-bot' } },
        { agent: 'admins', match: { groups: '/mcp-admins', email: '*@example.com' } },
      ],
    });
    expect(Object.isFrozen(result.config?.oauth)).toBe(true);
  });

  it('is absent when the file has no oauth section', () => {
    expect(parseRulesConfig({ agents: AGENTS }).config?.oauth).toBeUndefined();
  });

  it('warns that every token is refused when there is no mapping', () => {
    const result = parseRulesConfig(rules({ issuers: [{ issuer: ISSUER }] }));
    expect(lines(result.issues)).toEqual(['warning oauth.agents: no token-to-agent mapping: every token will be refused']);
    expect(result.config?.oauth?.agents).toEqual([]);
  });

  it('accepts http issuers on loopback hosts only (local identity providers)', () => {
    for (const issuer of ['http://127.0.0.1:8080', 'http://[::1]:8080/x', 'http://localhost']) {
      expect(
        lines(parseRulesConfig(rules({ issuers: [{ issuer }], agents: [] })).issues).filter((l) => l.startsWith('error')),
        issuer,
      ).toEqual([]);
    }
  });
});

describe('oauth section: refused', () => {
  it.each([
    ['not an object', [], ['error oauth: must be an object, got an array']],
    ['no issuers key', { agents: [] }, ['error oauth.issuers: required key "issuers" is missing']],
    ['empty issuers', { issuers: [] }, ['error oauth.issuers: list at least one issuer']],
    ['unknown key', { issuers: [{ issuer: ISSUER }], agnets: [] }, null],
    ['http issuer off loopback', { issuers: [{ issuer: 'http://idp.example.com' }], agents: [] }, null],
    ['issuer not a URL', { issuers: [{ issuer: 'acme' }], agents: [] }, ['error oauth.issuers[0].issuer: must be an absolute URL (https://...)']],
    ['issuer with a fragment', { issuers: [{ issuer: `${ISSUER}#x` }], agents: [] }, ['error oauth.issuers[0].issuer: must have no query or fragment (RFC 8414)']],
    ['issuer twice', { issuers: [{ issuer: ISSUER }, { issuer: ISSUER }], agents: [] }, [`error oauth.issuers[1].issuer: issuer "${ISSUER}" is listed twice`]],
    [
      'scope with a space',
      { issuers: [{ issuer: ISSUER, scopes: ['a b'] }], agents: [] },
      ['error oauth.issuers[0].scopes[0]: a scope is printable ASCII without spaces, quotes or backslashes'],
    ],
    ['cooldown 0', { issuers: [{ issuer: ISSUER, jwks_cooldown_seconds: 0 }], agents: [] }, ['error oauth.issuers[0].jwks_cooldown_seconds: must be at least 1']],
    [
      'unknown agent, with a suggestion',
      { issuers: [{ issuer: ISSUER }], agents: [{ agent: 'researchr', match: { sub: 'x' } }] },
      ['error oauth.agents[0].agent: names agent "researchr", which is not defined in "agents" (did you mean "researcher"?)'],
    ],
    [
      'mapping to an issuer not listed',
      { issuers: [{ issuer: ISSUER }], agents: [{ agent: 'ci', issuer: 'https://other.example.com', match: { sub: 'x' } }] },
      ['error oauth.agents[0].issuer: "https://other.example.com" is not one of oauth.issuers'],
    ],
    [
      'empty match',
      { issuers: [{ issuer: ISSUER }], agents: [{ agent: 'ci', match: {} }] },
      ['error oauth.agents[0].match: name at least one claim: an empty match would take every token'],
    ],
    ['empty pattern', { issuers: [{ issuer: ISSUER }], agents: [{ agent: 'ci', match: { sub: '' } }] }, ['error oauth.agents[0].match.sub: pattern is empty']],
    [
      'unclosed bracket',
      { issuers: [{ issuer: ISSUER }], agents: [{ agent: 'ci', match: { sub: 'a[b' } }] },
      ['error oauth.agents[0].match.sub: pattern "a[b" has an unclosed "["'],
    ],
    ['pattern not a string', { issuers: [{ issuer: ISSUER }], agents: [{ agent: 'ci', match: { groups: ['a'] } }] }, null],
    ['mapping without match', { issuers: [{ issuer: ISSUER }], agents: [{ agent: 'ci' }] }, null],
  ])('%s', (_name, oauth, expected) => {
    const result = parseRulesConfig(rules(oauth));
    expect(result.config).toBeUndefined();
    const errors = lines(result.issues).filter((l) => l.startsWith('error'));
    if (expected) expect(errors).toEqual(expected);
    else expect(errors.length).toBeGreaterThan(0);
  });
});
