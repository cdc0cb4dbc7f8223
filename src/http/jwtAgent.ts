// Which agent a verified token acts as: the rules file's `oauth.agents`, in order; the first
// mapping whose claims all match wins. A string claim matches its glob pattern; an array claim
// (groups, roles) matches when any of its string elements does; anything else never matches.
import type { OAuthRules } from '../config/types.js';
import { compilePattern, type NameMatcher } from '../policy/pattern.js';

interface CompiledMapping {
  readonly agent: string;
  readonly issuer?: string;
  readonly claims: readonly (readonly [string, NameMatcher])[];
}

/** Compiled once per rules version (a reload brings a new frozen object). */
const compiled = new WeakMap<OAuthRules, readonly CompiledMapping[]>();

function mappingsOf(rules: OAuthRules): readonly CompiledMapping[] {
  let out = compiled.get(rules);
  if (!out) {
    out = rules.agents.map((m) => ({
      agent: m.agent,
      ...(m.issuer !== undefined ? { issuer: m.issuer } : {}),
      claims: Object.entries(m.match).map(([claim, pattern]) => [claim, compilePattern(pattern)] as const),
    }));
    compiled.set(rules, out);
  }
  return out;
}

function claimMatches(value: unknown, matches: NameMatcher): boolean {
  if (typeof value === 'string') return matches(value);
  if (Array.isArray(value)) return value.some((v) => typeof v === 'string' && matches(v));
  return false;
}

/** The agent of a token of `issuer` with these (verified) claims, or undefined: refused. */
export function agentForClaims(rules: OAuthRules, issuer: string, claims: Readonly<Record<string, unknown>>): string | undefined {
  for (const mapping of mappingsOf(rules)) {
    if (mapping.issuer !== undefined && mapping.issuer !== issuer) continue;
    if (mapping.claims.every(([claim, matches]) => Object.hasOwn(claims, claim) && claimMatches(claims[claim], matches))) return mapping.agent;
  }
  return undefined;
}

/** The scopes a token grants: its `scope` string (RFC 9068) and its `scp` claim (a list, or a string as Entra ID writes it). */
export function grantedScopes(claims: Readonly<Record<string, unknown>>): Set<string> {
  const out = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string') for (const s of value.split(' ')) if (s !== '') out.add(s);
  };
  add(claims['scope']);
  const scp = claims['scp'];
  if (Array.isArray(scp)) scp.forEach(add);
  else add(scp);
  return out;
}
