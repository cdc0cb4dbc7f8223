import { formatPath } from '../config/jsonPath.js';
import type { AgentRules, RulesConfig } from '../config/types.js';
import { compileArgumentRules, type ArgumentDecider } from './arguments.js';
import { compileAnnotationPolicy } from './annotations.js';
import { DecisionMemo } from './decisionMemo.js';
import { uriPatternProblem } from '../config/patternSyntax.js';
import { canonicalResourcePattern, canonicalResourceUri } from '../config/resourceUri.js';
import { RuleList, makeDecision, matcherCache, type PatternCompiler } from './ruleList.js';
import type { AnnotationPolicy, Decision, Policy } from './types.js';

// Precedence per (agent, server, tool), first answer wins:
//   unknown agent                      -> DENY  defaults.deny_on_missing_agent
//   deny.servers matches server        -> DENY  agents.<id>.deny.servers[i]
//   no allow.servers entry matches     -> DENY  agents.<id>.allow.servers
//   deny.tools.<server> matches tool   -> DENY  agents.<id>.deny.tools.<server>[i]
//   allow.tools.<server> matches tool  -> ALLOW agents.<id>.allow.tools.<server>[i]
//   no allow.tools.<server> key        -> ALLOW implicit
//   otherwise (incl. an empty list)    -> DENY  agents.<id>.allow.tools.<server>
// Within one list, exact entries are checked before patterns. Resources (by URI or URI
// template) and prompts (by name) follow the same rows under their own keys.

// An unknown agent is denied even when deny_on_missing_agent is false: that setting is about a
// *missing* id (the identity layer's fallback chain), never a licence for ids nobody configured.
const UNKNOWN_AGENT: Decision = makeDecision(false, 'defaults.deny_on_missing_agent');
const IMPLICIT: Decision = makeDecision(true, 'implicit');
// A resource URI with no canonical form (config/resourceUri.ts) matches no rule in a way anyone could
// rely on; callers refuse it with INVALID_ARGUMENT first, and anything else is denied.
const NO_CANONICAL_URI: Decision = makeDecision(false, 'invalid_uri');

interface AllowTools {
  readonly list: RuleList;
  readonly noMatch: Decision;
}

type ItemKind = 'tools' | 'resources' | 'prompts';

/** The deny and allow lists of one kind of item, keyed by the literal server name. */
interface ItemRules {
  readonly deny: ReadonlyMap<string, RuleList>;
  readonly allow: ReadonlyMap<string, AllowTools>;
}

interface CompiledAgent {
  readonly denyServers: RuleList;
  readonly allowServers: RuleList;
  readonly serverNotAllowed: Decision;
  // Keyed by the literal server name: a tools key "*" only ever applies to a server named "*".
  readonly items: Readonly<Record<ItemKind, ItemRules>>;
  readonly annotations: AnnotationPolicy | undefined;
}

/**
 * Compiles normalized rules into a Policy. Every pattern is compiled here, once.
 * @throws Error naming the rule path when a pattern can never match (validation should have caught it).
 */
export function compilePolicy(rules: RulesConfig): Policy {
  const agents = new Map<string, CompiledAgent>();
  // Only agents with argument rules have an entry, so a call for any other agent finds nothing and allocates nothing.
  const argumentDeciders = new Map<string, ArgumentDecider>();
  // Many agents repeat the same patterns (`drop_*`, `*`): one matcher each keeps the hot set small.
  const compile = matcherCache();
  // Object.keys, not `in`: ids such as `constructor` or `toString` must not be found on the prototype.
  for (const id of Object.keys(rules.agents)) {
    const agentRules = rules.agents[id];
    if (agentRules !== undefined) agents.set(id, compileAgent(id, agentRules, compile));
    const decideArguments = compileArgumentRules(id, agentRules?.arguments);
    if (decideArguments !== undefined) argumentDeciders.set(id, decideArguments);
  }
  const agentIds = Object.freeze([...agents.keys()]);
  const denyOnMissingAgent = rules.defaults.deny_on_missing_agent;

  const decideServer = (agentId: string, server: string): Decision => {
    const agent = agents.get(agentId);
    return agent === undefined ? UNKNOWN_AGENT : serverDecision(agent, server);
  };

  const decideItem = (kind: ItemKind, agentId: string, server: string, item: string): Decision => {
    const agent = agents.get(agentId);
    if (agent === undefined) return UNKNOWN_AGENT;
    const onServer = serverDecision(agent, server);
    if (!onServer.allow) return onServer;
    const rules = agent.items[kind];
    const denied = rules.deny.get(server)?.first(item);
    if (denied !== undefined) return denied;
    const allowed = rules.allow.get(server);
    if (allowed === undefined) return IMPLICIT;
    return allowed.list.first(item) ?? allowed.noMatch;
  };
  const decideTool = (agentId: string, server: string, tool: string): Decision => decideItem('tools', agentId, server, tool);

  // Built on decideServer so that what an agent is shown is exactly what it may call.
  const visibleServers = (agentId: string, configured: readonly string[]): string[] => {
    if (!agents.has(agentId)) return [];
    const seen = new Set<string>();
    const visible: string[] = [];
    for (const server of configured) {
      if (seen.has(server)) continue;
      seen.add(server);
      if (decideServer(agentId, server).allow) visible.push(server);
    }
    return visible;
  };

  // A frozen object of closures rather than a class, so that `const { decideTool } = policy` works.
  return Object.freeze({
    agentIds,
    denyOnMissingAgent,
    hasAgent: (agentId: string): boolean => agents.has(agentId),
    decideServer,
    decideTool,
    // Rules and URI compare in one canonical form, whatever spelling the caller (or a server's listing) used.
    decideResource: (agentId: string, server: string, uri: string): Decision => {
      const canonical = canonicalResourceUri(uri);
      return canonical.ok ? decideItem('resources', agentId, server, canonical.uri) : NO_CANONICAL_URI;
    },
    decidePrompt: (agentId: string, server: string, prompt: string): Decision => decideItem('prompts', agentId, server, prompt),
    decideArguments: (agentId: string, server: string, tool: string, args: Record<string, unknown>, explain = false) =>
      argumentDeciders.get(agentId)?.(server, tool, args, explain),
    visibleServers,
    annotationRules: (agentId: string): AnnotationPolicy | undefined => agents.get(agentId)?.annotations,
    remembered: new DecisionMemo(decideServer, decideTool),
  });
}

function serverDecision(agent: CompiledAgent, server: string): Decision {
  return agent.denyServers.first(server) ?? agent.allowServers.first(server) ?? agent.serverNotAllowed;
}

function compileAgent(id: string, rules: AgentRules, compile: PatternCompiler): CompiledAgent {
  // Rule paths are written as config messages write them (`agents["team.backend"]...`), so a
  // rule named in a refusal or an audit line is found in the file the same way.
  const base = formatPath(['agents', id]);
  const itemRules = (kind: ItemKind): ItemRules => {
    // Resource rules match URIs, which contain "/"; compiled with their own check, one cache each.
    const problem = kind === 'resources' ? uriPatternProblem : undefined;
    // Index i stays entry i, so a decision still names the rule as written in the file.
    const canonical = (entries: readonly string[]): readonly string[] => (kind === 'resources' ? entries.map((entry) => canonicalPattern(entry)) : entries);
    const deny = new Map<string, RuleList>();
    for (const [server, entries] of Object.entries(rules.deny[kind] ?? {})) {
      deny.set(server, new RuleList(canonical(entries), formatPath(['agents', id, 'deny', kind, server]), false, compile, problem));
    }
    const allow = new Map<string, AllowTools>();
    for (const [server, entries] of Object.entries(rules.allow[kind] ?? {})) {
      const path = formatPath(['agents', id, 'allow', kind, server]);
      allow.set(server, { list: new RuleList(canonical(entries), path, true, compile, problem), noMatch: makeDecision(false, path) });
    }
    return { deny, allow };
  };
  return {
    denyServers: new RuleList(rules.deny.servers, `${base}.deny.servers`, false, compile),
    allowServers: new RuleList(rules.allow.servers, `${base}.allow.servers`, true, compile),
    serverNotAllowed: makeDecision(false, `${base}.allow.servers`),
    items: { tools: itemRules('tools'), resources: itemRules('resources'), prompts: itemRules('prompts') },
    annotations: compileAnnotationPolicy(id, rules, compile),
  };
}

/** A pattern without a canonical form is left for RuleList to refuse, naming its rule path. */
function canonicalPattern(pattern: string): string {
  const canonical = canonicalResourcePattern(pattern);
  return canonical.ok ? canonical.uri : pattern;
}
