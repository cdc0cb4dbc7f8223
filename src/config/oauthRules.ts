import * as z from 'zod';
import { frozenArray, frozenRecord } from './frozen.js';
import { configError, configWarning, fromZodError } from './issues.js';
import type { PathSegment } from './jsonPath.js';
import { hasUnclosedBracket } from './patternSyntax.js';
import { suggestionSuffix } from './suggest.js';
import type { ConfigIssue, OAuthAgentMapping, OAuthIssuer, OAuthRules } from './types.js';
import { isPlainObject } from '../values.js';

// The rules file's `oauth` section: which identity providers' access tokens the HTTP front
// door accepts, and which agent a token acts as. It lives in the rules file, not in flags, so
// that it reloads with the agents it names. The gateway's own resource URL (the audience
// every token must carry) is a flag: it describes where the gateway is served, not policy.

export const DEFAULT_JWKS_COOLDOWN_SECONDS = 30;

/** RFC 6749 scope-token: printable ASCII without space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const IssuerSchema = z.strictObject({
  issuer: z.string().describe('The issuer identifier, exactly as tokens carry it in "iss".'),
  scopes: z.array(z.string()).optional().describe('Scopes every token of this issuer must hold (in "scope" or "scp").'),
  jwks_cooldown_seconds: z
    .number()
    .int({ error: 'must be a whole number of seconds' })
    .min(1, { error: 'must be at least 1' })
    .max(3600, { error: 'must be at most 3600' })
    .optional()
    .describe('Shortest time between two key-set fetches caused by tokens signed with an unknown key (default 30).'),
});

const MappingSchema = z.strictObject({
  agent: z.string().describe('The agent a matching token acts as.'),
  issuer: z.string().optional().describe('Only tokens of this issuer (one of "issuers").'),
  match: z.record(z.string(), z.string()).describe('Claim name -> glob pattern; every claim listed must match.'),
});

const OAuthSchema = z.strictObject({
  issuers: z.array(IssuerSchema).describe('Identity providers whose tokens are accepted.'),
  agents: z.array(MappingSchema).optional().describe('Token-to-agent mappings; the first that matches wins.'),
});

/**
 * Checks the `oauth` section against the agents the file defines; issues go to `issues`.
 * Returns the section only when it has no error of its own.
 */
export function parseOAuthRules(raw: unknown, agentIds: readonly string[], issues: ConfigIssue[]): OAuthRules | undefined {
  if (raw === undefined) return undefined;
  const base: PathSegment[] = ['oauth'];
  const before = issues.length;
  const parsed = OAuthSchema.safeParse(raw);
  if (!parsed.success) issues.push(...fromZodError(parsed.error, OAuthSchema, raw, base));
  if (!isPlainObject(raw)) return undefined;

  const issuers: OAuthIssuer[] = [];
  const rawIssuers = Array.isArray(raw['issuers']) ? (raw['issuers'] as unknown[]) : [];
  if (Array.isArray(raw['issuers']) && rawIssuers.length === 0) issues.push(configError([...base, 'issuers'], 'list at least one issuer'));
  rawIssuers.forEach((entry, i) => {
    const issuer = checkIssuer(entry, [...base, 'issuers', i], issuers, issues);
    if (issuer !== undefined) issuers.push(issuer);
  });

  const known = new Set(agentIds);
  const mappings: OAuthAgentMapping[] = [];
  const rawAgents = Array.isArray(raw['agents']) ? (raw['agents'] as unknown[]) : [];
  rawAgents.forEach((entry, i) => {
    const mapping = checkMapping(entry, [...base, 'agents', i], { known, agentIds, issuers }, issues);
    if (mapping !== undefined) mappings.push(mapping);
  });
  if (rawAgents.length === 0 && rawIssuers.length > 0) {
    issues.push(configWarning([...base, 'agents'], 'no token-to-agent mapping: every token will be refused'));
  }
  if (!parsed.success || issues.slice(before).some((issue) => issue.severity === 'error')) return undefined;
  return Object.freeze({ issuers: frozenArray(issuers), agents: frozenArray(mappings) });
}

function checkIssuer(entry: unknown, path: PathSegment[], seen: readonly OAuthIssuer[], issues: ConfigIssue[]): OAuthIssuer | undefined {
  if (!isPlainObject(entry) || typeof entry['issuer'] !== 'string') return undefined;
  const issuer = entry['issuer'];
  const problem = issuerProblem(issuer);
  if (problem !== undefined) {
    issues.push(configError([...path, 'issuer'], problem));
    return undefined;
  }
  if (seen.some((s) => s.issuer === issuer)) {
    issues.push(configError([...path, 'issuer'], `issuer "${issuer}" is listed twice`));
    return undefined;
  }
  const scopes = Array.isArray(entry['scopes']) ? (entry['scopes'] as unknown[]) : [];
  let scopesOk = true;
  scopes.forEach((scope, i) => {
    if (typeof scope === 'string' && !SCOPE_TOKEN.test(scope)) {
      issues.push(configError([...path, 'scopes', i], 'a scope is printable ASCII without spaces, quotes or backslashes'));
      scopesOk = false;
    }
  });
  if (!scopesOk) return undefined;
  const cooldown = entry['jwks_cooldown_seconds'];
  return Object.freeze({
    issuer,
    scopes: frozenArray(scopes.filter((s): s is string => typeof s === 'string')),
    jwksCooldownSeconds: typeof cooldown === 'number' ? cooldown : DEFAULT_JWKS_COOLDOWN_SECONDS,
  });
}

/** Issuers are fetched from (metadata, keys): https, or http on a loopback host for local testing. */
export function issuerProblem(issuer: string): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return 'must be an absolute URL (https://...)';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHostname(url.hostname))) {
    return 'must be an https URL (http is accepted only for localhost, 127.x.x.x and [::1])';
  }
  if (url.search !== '' || url.hash !== '' || issuer.includes('#') || issuer.includes('?')) return 'must have no query or fragment (RFC 8414)';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  return undefined;
}

export function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

interface MappingContext {
  readonly known: ReadonlySet<string>;
  readonly agentIds: readonly string[];
  readonly issuers: readonly OAuthIssuer[];
}

function checkMapping(entry: unknown, path: PathSegment[], ctx: MappingContext, issues: ConfigIssue[]): OAuthAgentMapping | undefined {
  if (!isPlainObject(entry)) return undefined;
  const before = issues.length;
  const agent = entry['agent'];
  if (typeof agent === 'string' && !ctx.known.has(agent)) {
    issues.push(configError([...path, 'agent'], `names agent "${agent}", which is not defined in "agents"${suggestionSuffix(agent, ctx.agentIds)}`));
  }
  const issuer = entry['issuer'];
  if (typeof issuer === 'string' && !ctx.issuers.some((i) => i.issuer === issuer)) {
    issues.push(configError([...path, 'issuer'], `"${issuer}" is not one of oauth.issuers`));
  }
  const match = entry['match'];
  if (isPlainObject(match)) {
    if (Object.keys(match).length === 0) issues.push(configError([...path, 'match'], 'name at least one claim: an empty match would take every token'));
    for (const [claim, pattern] of Object.entries(match)) {
      if (claim === '') issues.push(configError([...path, 'match', claim], 'claim name is empty'));
      if (typeof pattern !== 'string') continue;
      const problem = claimPatternProblem(pattern);
      if (problem !== undefined) issues.push(configError([...path, 'match', claim], problem));
    }
  }
  if (typeof agent !== 'string' || !isPlainObject(match) || issues.length > before) return undefined;
  if (issuer === undefined && ctx.issuers.length > 1) {
    // `sub` and most claims are unique only within one issuer: another provider may mint the same values.
    issues.push(configWarning(path, 'applies to the tokens of every issuer, and claims such as "sub" are unique only within one: name its "issuer"'));
  }
  return Object.freeze({
    agent,
    ...(typeof issuer === 'string' ? { issuer } : {}),
    match: frozenRecord(Object.entries(match).filter((e): e is [string, string] => typeof e[1] === 'string')),
  });
}

/** Claim values are free text ("/" in group paths, spaces in names): only what can never match is refused. */
function claimPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'pattern is empty';
  if (pattern.includes('\u0000')) return `pattern ${JSON.stringify(pattern)} contains a NUL character`;
  if (hasUnclosedBracket(pattern)) return `pattern "${pattern}" has an unclosed "["`;
  return undefined;
}
