import type { AgentRules, RuleSection, RulesConfig } from '../../../src/config/types.js';

// Builds the normalized rules IR by hand: the loader is tested on its own, and these tests
// must pin down the engine's semantics without depending on how a file is parsed.

export interface SectionInput {
  servers?: readonly string[];
  tools?: Record<string, readonly string[]>;
}

export interface AgentInput {
  allow?: SectionInput;
  deny?: SectionInput;
}

function section(input: SectionInput | undefined): RuleSection {
  return { servers: input?.servers ?? [], tools: input?.tools ?? {} };
}

export function agent(input: AgentInput = {}): AgentRules {
  return { allow: section(input.allow), deny: section(input.deny) };
}

export function rules(agents: Record<string, AgentInput>, denyOnMissingAgent = true): RulesConfig {
  const out: Record<string, AgentRules> = {};
  for (const [id, a] of Object.entries(agents)) out[id] = agent(a);
  return { agents: out, defaults: { deny_on_missing_agent: denyOnMissingAgent } };
}

/** The reference's R0 fixture (§D). */
export const R0_AGENTS: Record<string, AgentInput> = {
  researcher: { allow: { servers: ['search', 'db'], tools: { db: ['query'] } } },
  backend: {
    allow: { servers: ['db'], tools: { db: ['query', 'list_*', 'delete_user'] } },
    deny: { tools: { db: ['drop_*', 'delete_*'] } },
  },
  admin: { allow: { servers: ['*'] }, deny: { servers: ['api'], tools: { db: ['drop_table'] } } },
  default: { deny: { servers: ['*'] } },
};

export const R0: RulesConfig = rules(R0_AGENTS);

/** The reference's `.mcp.json` fixture, in file order. */
export const CONFIGURED = ['db', 'search', 'api'] as const;
