import * as z from 'zod';
import { parseArgumentRules } from './argumentRules.js';
import { ALLOW_SECTION_KEYS, APPROVE_AGENT_KEYS, DENY_SECTION_KEYS, checkApprovalRules, withApprovalRules } from './approvalRules.js';
import { frozenArray, frozenRecord } from './frozen.js';
import { configError, configWarning, fromZodError, hasErrors, inDocumentOrder, jsonType } from './issues.js';
import type { PathSegment } from './jsonPath.js';
import { parseOAuthRules } from './oauthRules.js';
import { isLiteralPattern, patternProblem, uriPatternProblem } from './patternSyntax.js';
import { canonicalResourcePattern } from './resourceUri.js';
import { SERVER_NAME, SERVER_NAME_RULE } from './serversFile.js';
import { suggestionSuffix } from './suggest.js';
import type { AgentRules, ConfigIssue, RuleSection, RulesConfig } from './types.js';
import { isPlainObject } from '../values.js';

// `.mcp-gateway-rules.json`. Unlike the reference, which ignores unknown keys, every level is
// strict: a misspelt `"alow"` silently granting nothing (or `"dney"` silently denying nothing)
// is exactly the mistake a policy file must not absorb.

/** Strictly anchored: JS `$` without the m flag does not accept a trailing newline (Python's does). */
export const AGENT_ID = /^[A-Za-z0-9_.-]+$/;
/** Callers send agent ids too: the gateway refuses longer ones before any cache or log, so no configured id may be longer. */
export const AGENT_ID_MAX_LENGTH = 256;
const CREDENTIAL_DIGEST = /^[0-9a-f]{64}$/;

const PatternList = z.array(z.string());

const RuleSectionSchema = z.strictObject({
  servers: PatternList.optional().describe('Server names or glob patterns (*, ?, [...]).'),
  tools: z.record(z.string(), PatternList).optional().describe('Per server: tool names or glob patterns. An empty list under "allow" means no tools.'),
  resources: z
    .record(z.string(), PatternList)
    .optional()
    .describe('Per server: resource URIs or glob patterns (also matched against URI templates). An empty list under "allow" means none.'),
  prompts: z.record(z.string(), PatternList).optional().describe('Per server: prompt names or glob patterns. An empty list under "allow" means none.'),
});

const AgentSchema = z.strictObject({
  allow: RuleSectionSchema.extend(ALLOW_SECTION_KEYS).optional(),
  deny: RuleSectionSchema.extend(DENY_SECTION_KEYS).optional(),
  arguments: z.unknown().optional().describe('Per server and tool pattern: conditions on arguments by JSON Pointer (config/argumentRules.ts).'),
  ...APPROVE_AGENT_KEYS,
});

const DefaultsSchema = z.strictObject({
  deny_on_missing_agent: z.boolean().optional().describe('Refuse calls that give no agent_id (default true).'),
  debug: z.boolean().optional().describe('Offer get_gateway_status, as --debug does; a reload that flips it tells clients the tool list changed.'),
});

const CredentialsSchema = z.record(z.string(), z.string()).describe('Hex SHA-256 of a credential, mapped to the agent id it authenticates.');

// Agents are checked one by one so that each agent's issues come out together.
const TopLevelSchema = z.strictObject({
  $schema: z.string().optional(),
  agents: z.record(z.string(), z.unknown()).optional(),
  defaults: DefaultsSchema.optional(),
  credentials: CredentialsSchema.optional(),
  oauth: z.unknown().optional().describe('Identity providers whose tokens the HTTP mode accepts, and the agent each token acts as (oauthRules.ts).'),
});

const SECTIONS = ['allow', 'deny'] as const;
/** The keys of a section that map server names to patterns; resources hold URI patterns. */
const PER_SERVER_KEYS = ['tools', 'resources', 'prompts'] as const;
type PerServerKey = (typeof PER_SERVER_KEYS)[number];

export interface RulesParseResult {
  /** Undefined when any issue is an error. */
  readonly config: RulesConfig | undefined;
  readonly issues: ConfigIssue[];
}

export function parseRulesConfig(raw: unknown): RulesParseResult {
  const issues: ConfigIssue[] = [];
  if (!isPlainObject(raw)) {
    issues.push(configError([], `Gateway rules configuration must be a JSON object, got ${jsonType(raw)}`));
    return { config: undefined, issues };
  }
  const top = TopLevelSchema.safeParse(raw);
  if (!top.success) issues.push(...fromZodError(top.error, TopLevelSchema, raw, []));

  const agents: [string, AgentRules][] = [];
  const rawAgents = raw['agents'];
  if (isPlainObject(rawAgents)) {
    for (const [id, entry] of Object.entries(rawAgents)) {
      const agent = parseAgent(id, entry, issues);
      if (agent !== undefined) agents.push([id, agent]);
    }
  }
  if (rawAgents === undefined || (isPlainObject(rawAgents) && Object.keys(rawAgents).length === 0)) {
    issues.push(configWarning(['agents'], 'no agents are defined, so the gateway will refuse every call'));
  }

  const agentIds = isPlainObject(rawAgents) ? Object.keys(rawAgents) : [];
  const credentials = checkCredentials(raw['credentials'], agentIds, issues);
  const oauth = parseOAuthRules(raw['oauth'], agentIds, issues);

  const defaults = raw['defaults'];
  const denyOnMissing = isPlainObject(defaults) ? defaults['deny_on_missing_agent'] : undefined;
  const debug = isPlainObject(defaults) ? defaults['debug'] : undefined;

  const ordered = inDocumentOrder(issues, raw);
  if (hasErrors(ordered)) return { config: undefined, issues: ordered };
  const config: { -readonly [K in keyof RulesConfig]: RulesConfig[K] } = {
    agents: frozenRecord(agents),
    defaults: Object.freeze({
      deny_on_missing_agent: typeof denyOnMissing === 'boolean' ? denyOnMissing : true,
      ...(typeof debug === 'boolean' ? { debug } : {}),
    }),
  };
  if (credentials !== undefined) config.credentials = credentials;
  if (oauth !== undefined) config.oauth = oauth;
  return { config: Object.freeze(config), issues: ordered };
}

function parseAgent(id: string, entry: unknown, issues: ConfigIssue[]): AgentRules | undefined {
  const base: PathSegment[] = ['agents', id];
  const before = issues.length;
  if (id === '') {
    issues.push(configError(base, "Agent ID must be a non-empty string, got ''"));
  } else if (id.length > AGENT_ID_MAX_LENGTH) {
    issues.push(configError(base, `Agent ID is ${id.length} characters long; at most ${AGENT_ID_MAX_LENGTH} are allowed`));
  } else if (!AGENT_ID.test(id)) {
    issues.push(configError(base, `Agent ID ${JSON.stringify(id)} contains invalid characters. Only letters, digits, underscore, dot, and hyphen are allowed`));
  }
  if (!isPlainObject(entry)) {
    issues.push(configError(base, `agent "${id}" configuration must be an object, got ${jsonType(entry)}`));
    return undefined;
  }
  const parsed = AgentSchema.safeParse(entry);
  if (!parsed.success) issues.push(...fromZodError(parsed.error, AgentSchema, entry, base));

  for (const name of SECTIONS) {
    const section = entry[name];
    if (isPlainObject(section)) checkSection(id, name, section, [...base, name], issues);
  }
  const args = entry['arguments'] === undefined ? undefined : parseArgumentRules(entry['arguments'], [...base, 'arguments'], issues);
  checkApprovalRules(entry, base, issues);
  if (hasErrors(issues.slice(before)) || !parsed.success) return undefined;

  // Built from the raw entry, not parsed.data: zod rebuilds records by assignment, which would
  // turn a tools key "__proto__" into a prototype change. The schema has no transforms.
  const agent = entry as z.infer<typeof AgentSchema>;
  return withApprovalRules(
    Object.freeze({ allow: buildSection(agent.allow), deny: buildSection(agent.deny), ...(args !== undefined ? { arguments: args } : {}) }),
    entry,
  );
}

function checkSection(id: string, name: (typeof SECTIONS)[number], section: Record<string, unknown>, base: PathSegment[], issues: ConfigIssue[]): void {
  const checkPatterns = (list: unknown, path: PathSegment[], names: 'servers' | PerServerKey) => {
    if (!Array.isArray(list)) return;
    list.forEach((pattern: unknown, i) => {
      if (typeof pattern !== 'string') return;
      const problem =
        names === 'resources' ? uriPatternProblem(pattern) : (patternProblem(pattern) ?? (names === 'servers' ? literalServerProblem(pattern) : undefined));
      if (problem !== undefined) issues.push(configError([...path, i], problem));
      else if (names === 'resources') canonicalPatternNote(pattern, [...path, i], issues);
    });
  };

  checkPatterns(section['servers'], [...base, 'servers'], 'servers');

  for (const key of PER_SERVER_KEYS) {
    const perServer = section[key];
    if (!isPlainObject(perServer)) continue;
    for (const [server, list] of Object.entries(perServer)) {
      const path = [...base, key, server];
      const keyProblem = perServerKeyProblem(key, server);
      if (keyProblem !== undefined) issues.push(configError(path, keyProblem));
      checkPatterns(list, path, key);
      if (name === 'allow' && Array.isArray(list) && list.length === 0) {
        // The reference reads [] as "every tool"; we read it as "no tool". Either reading
        // surprises someone, so say which one applies.
        issues.push(
          configWarning(
            path,
            `empty list: agent "${id}" may use no ${key} of "${server}" (an absent entry would allow all of them); ` +
              `remove the entry to allow every ${key.slice(0, -1)}, or deny the server to hide it`,
          ),
        );
      }
    }
  }
}

/**
 * URIs are decided in their canonical form, and so are resource patterns: say so when that is
 * not the form written, so `FILE://localhost/srv/../x` is not read as a rule about itself.
 */
function canonicalPatternNote(pattern: string, path: PathSegment[], issues: ConfigIssue[]): void {
  const canonical = canonicalResourcePattern(pattern);
  if (canonical.ok && canonical.uri !== pattern) {
    issues.push(configWarning(path, `resource pattern "${pattern}" is matched in its canonical form "${canonical.uri}"`));
  }
}

/** A literal that is not a legal server name can never match one; the schema cannot say that, so we do. */
function literalServerProblem(pattern: string): string | undefined {
  if (!isLiteralPattern(pattern) || SERVER_NAME.test(pattern)) return undefined;
  return `"${pattern}" can never match a server: server names are ${SERVER_NAME_RULE}`;
}

/**
 * Tools keys are looked up by exact server name (as in the reference), so a key that is not a
 * legal server name is dead. The reference's own docs used `"*"` as if it were a wildcard; in a
 * deny section that silently denies nothing, hence an error rather than a warning.
 */
function perServerKeyProblem(section: PerServerKey, key: string): string | undefined {
  if (SERVER_NAME.test(key)) return undefined;
  if (!isLiteralPattern(key)) {
    return (
      `${section} keys are exact server names, not patterns: "${key}" can never apply, because server names ` +
      `cannot contain "*", "?" or "["; list the ${section} under each server's own name`
    );
  }
  return `"${key}" is not a valid server name (${SERVER_NAME_RULE}), so this entry can never apply`;
}

function checkCredentials(credentials: unknown, agentIds: readonly string[], issues: ConfigIssue[]): Readonly<Record<string, string>> | undefined {
  if (!isPlainObject(credentials)) return undefined;
  const known = new Set(agentIds);
  const out: [string, string][] = [];
  for (const [digest, agent] of Object.entries(credentials)) {
    const path: PathSegment[] = ['credentials', digest];
    if (!CREDENTIAL_DIGEST.test(digest)) {
      issues.push(configError(path, 'key must be the SHA-256 of a credential as 64 lowercase hexadecimal characters (0-9, a-f)'));
    }
    if (typeof agent !== 'string') continue;
    if (!known.has(agent)) {
      issues.push(configError(path, `names agent "${agent}", which is not defined in "agents"${suggestionSuffix(agent, agentIds)}`));
    }
    out.push([digest, agent]);
  }
  return frozenRecord(out);
}

function buildSection(section: z.infer<typeof RuleSectionSchema> | undefined): RuleSection {
  const perServer = (record: Record<string, string[]> | undefined) =>
    frozenRecord(Object.entries(record ?? {}).map(([server, list]) => [server, frozenArray(list)] as const));
  return Object.freeze({
    servers: frozenArray(section?.servers ?? []),
    tools: perServer(section?.tools),
    ...(section?.resources !== undefined ? { resources: perServer(section.resources) } : {}),
    ...(section?.prompts !== undefined ? { prompts: perServer(section.prompts) } : {}),
  });
}
