import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../src/config/jsonPath.js';
import type { RuleSection, RulesConfig } from '../../../src/config/types.js';
import { compilePolicy } from '../../../src/policy/engine.js';
import { resolveIdentity } from '../../../src/policy/identity.js';
import { isLiteralPattern } from '../../../src/config/patternSyntax.js';
import { compilePattern } from '../../../src/policy/pattern.js';
import type { Decision } from '../../../src/policy/types.js';

// Small alphabets, so that generated rules and questions actually meet.
const SERVER_PATTERNS = ['db', 'api', 'fs', 'd*', '*', 'a?i', '[ad]*'];
const TOOL_PATTERNS = ['query', 'drop_table', 'drop_*', '*', 'get_?', 'get_1'];
const SERVER_NAMES = ['db', 'api', 'fs', 'dev', 'adi', 'x', '*'];
const TOOL_NAMES = ['query', 'drop_table', 'drop_', 'get_1', 'get_?', 'get_12', 'list'];
const AGENT_IDS = ['alice', 'bob', 'default'];
const UNKNOWN_IDS = ['nobody', 'Alice', 'alice ', 'constructor', '__proto__', 'toString', 'hasOwnProperty'];

const section: fc.Arbitrary<RuleSection> = fc.record({
  servers: fc.array(fc.constantFrom(...SERVER_PATTERNS), { maxLength: 4 }),
  // Tools keys include "*", which is a literal server name, not a wildcard.
  tools: fc.dictionary(fc.constantFrom('db', 'api', 'fs', 'dev', '*'), fc.array(fc.constantFrom(...TOOL_PATTERNS), { maxLength: 4 }), {
    maxKeys: 3,
  }),
});

const rulesArb: fc.Arbitrary<RulesConfig> = fc.record({
  agents: fc.dictionary(fc.constantFrom(...AGENT_IDS), fc.record({ allow: section, deny: section }), { maxKeys: 3 }),
  defaults: fc.record({ deny_on_missing_agent: fc.boolean() }),
});

const question = fc.record({
  agent: fc.constantFrom(...AGENT_IDS, 'nobody'),
  server: fc.constantFrom(...SERVER_NAMES),
  tool: fc.constantFrom(...TOOL_NAMES),
});

const matchesAny = (patterns: readonly string[], name: string) => patterns.some((p) => compilePattern(p)(name));
const toolsFor = (s: RuleSection, server: string): readonly string[] | undefined => (Object.hasOwn(s.tools, server) ? s.tools[server] : undefined);

// The precedence table, written as plainly as possible, to check the compiled engine against.
function firstIndex(patterns: readonly string[], name: string): number {
  const exact = patterns.findIndex((p) => isLiteralPattern(p) && p === name);
  if (exact !== -1) return exact;
  return patterns.findIndex((p) => !isLiteralPattern(p) && compilePattern(p)(name));
}

function model(rules: RulesConfig, agentId: string, server: string, tool?: string): Decision {
  if (!Object.hasOwn(rules.agents, agentId)) return { allow: false, rule: 'defaults.deny_on_missing_agent' };
  const a = rules.agents[agentId];
  if (a === undefined) throw new Error('unreachable');
  const base = formatPath(['agents', agentId]);
  let i = firstIndex(a.deny.servers, server);
  if (i !== -1) return { allow: false, rule: `${base}.deny.servers[${i}]` };
  i = firstIndex(a.allow.servers, server);
  if (i === -1) return { allow: false, rule: `${base}.allow.servers` };
  if (tool === undefined) return { allow: true, rule: `${base}.allow.servers[${i}]` };
  const deny = toolsFor(a.deny, server) ?? [];
  i = firstIndex(deny, tool);
  if (i !== -1) return { allow: false, rule: `${formatPath(['agents', agentId, 'deny', 'tools', server])}[${i}]` };
  const allow = toolsFor(a.allow, server);
  if (allow === undefined) return { allow: true, rule: 'implicit' };
  i = firstIndex(allow, tool);
  if (i !== -1) return { allow: true, rule: `${formatPath(['agents', agentId, 'allow', 'tools', server])}[${i}]` };
  return { allow: false, rule: formatPath(['agents', agentId, 'allow', 'tools', server]) };
}

describe('policy properties', () => {
  it('(a) deny always wins', () => {
    fc.assert(
      fc.property(rulesArb, question, (rules, { agent, server, tool }) => {
        const policy = compilePolicy(rules);
        const a = Object.hasOwn(rules.agents, agent) ? rules.agents[agent] : undefined;
        if (a === undefined) return;
        const serverDenied = matchesAny(a.deny.servers, server);
        const toolDenied = matchesAny(toolsFor(a.deny, server) ?? [], tool);
        if (serverDenied) expect(policy.decideServer(agent, server).allow).toBe(false);
        if (serverDenied || toolDenied) expect(policy.decideTool(agent, server, tool).allow).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('(b) listed == callable', () => {
    fc.assert(
      fc.property(
        rulesArb,
        fc.constantFrom(...AGENT_IDS, 'nobody'),
        fc.array(fc.constantFrom(...SERVER_NAMES), { maxLength: 8 }),
        fc.constantFrom(...TOOL_NAMES),
        (rules, agent, configured, tool) => {
          const policy = compilePolicy(rules);
          const visible = policy.visibleServers(agent, configured);
          const expected = [...new Set(configured)].filter((n) => policy.decideServer(agent, n).allow);
          expect(visible).toEqual(expected);
          for (const server of configured) {
            if (!visible.includes(server)) expect(policy.decideTool(agent, server, tool).allow).toBe(false);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('(c) no unknown agent ever gets ALLOW', () => {
    const unknownId = fc.oneof(fc.constantFrom(...UNKNOWN_IDS), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(
        rulesArb,
        unknownId,
        question,
        fc.option(fc.constantFrom(...AGENT_IDS, 'ghost', ''), { nil: undefined }),
        fc.option(fc.constantFrom(...AGENT_IDS, 'ghost', ''), { nil: undefined }),
        (rules, id, { server, tool }, bound, fallbackAgent) => {
          fc.pre(id !== '' && !Object.hasOwn(rules.agents, id));
          const policy = compilePolicy(rules);
          expect(policy.hasAgent(id)).toBe(false);
          expect(policy.decideServer(id, server)).toEqual({ allow: false, rule: 'defaults.deny_on_missing_agent' });
          expect(policy.decideTool(id, server, tool).allow).toBe(false);
          expect(policy.visibleServers(id, SERVER_NAMES)).toEqual([]);
          const identity = resolveIdentity({
            policy,
            requested: id,
            ...(bound !== undefined ? { bound } : {}),
            ...(fallbackAgent !== undefined ? { fallbackAgent } : {}),
          });
          expect(identity.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('resolved identities always name a configured agent', () => {
    fc.assert(
      fc.property(
        rulesArb,
        fc.oneof(fc.constantFrom<unknown>(undefined, null, '', 0, false, {}), fc.constantFrom(...AGENT_IDS, ...UNKNOWN_IDS)),
        fc.option(fc.constantFrom(...AGENT_IDS, 'ghost', ''), { nil: undefined }),
        fc.option(fc.constantFrom(...AGENT_IDS, 'ghost', ''), { nil: undefined }),
        (rules, requested, bound, fallbackAgent) => {
          const policy = compilePolicy(rules);
          const identity = resolveIdentity({
            policy,
            requested,
            ...(bound !== undefined ? { bound } : {}),
            ...(fallbackAgent !== undefined ? { fallbackAgent } : {}),
          });
          if (!identity.ok) return;
          expect(policy.hasAgent(identity.agentId)).toBe(true);
          if (bound !== undefined) expect(identity).toEqual({ ok: true, agentId: bound, source: 'bound' });
          else if (typeof requested === 'string' && requested !== '') expect(identity.agentId).toBe(requested);
          else expect(rules.defaults.deny_on_missing_agent).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the compiled engine agrees with the plain precedence table, rule paths included', () => {
    fc.assert(
      fc.property(rulesArb, question, (rules, { agent, server, tool }) => {
        const policy = compilePolicy(rules);
        expect(policy.decideServer(agent, server)).toEqual(model(rules, agent, server));
        expect(policy.decideTool(agent, server, tool)).toEqual(model(rules, agent, server, tool));
      }),
      { numRuns: 1000 },
    );
  });
});
