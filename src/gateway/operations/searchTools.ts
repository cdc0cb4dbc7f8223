import type { CallToolResult } from '@modelcontextprotocol/server';
import { patternProblem } from '../../config/patternSyntax.js';
import { compilePattern, type NameMatcher } from '../../policy/pattern.js';
import { invalid, optionalInteger, requiredString, typeOf, type Args } from '../arguments.js';
import type { OperationContext } from '../context.js';
import { jsonResult } from '../results.js';
import type { IndexedTools } from '../search/indexedTools.js';
import type { SearchHit } from '../search/toolIndex.js';

// search_tools: the tools this agent may call, ranked for a free-text need, from the tool
// lists the gateway has cached. Servers the agent may not use are neither searched nor named;
// a server that is not running and was never listed is named in servers_not_indexed, not
// started. The audit line names no server: the call reads the index, no downstream.

const DEFAULT_LIMIT = 5;
const MAX_LIMIT = 20;
const MAX_QUERY_CHARS = 1_000;
const MAX_SERVER_PATTERNS = 32;
const MAX_PATTERN_CHARS = 256;

/** Turns the server and tool names of hits into the names the caller calls (native mode); a hit left without one is dropped. */
export type HitNames = (ctx: OperationContext) => Promise<(hit: SearchHit) => SearchHit | undefined>;

export function searchToolsOperation(tools: IndexedTools, names?: HitNames): (ctx: OperationContext, args: Args) => Promise<CallToolResult> {
  return async (ctx, args) => {
    const query = requiredString(args, 'query', 'what you want to do, in a few words', ctx.fields);
    if (query.trim() === '') throw invalid('query', 'must contain words, got only white space', ctx.fields);
    if (query.length > MAX_QUERY_CHARS) throw invalid('query', `must be at most ${MAX_QUERY_CHARS} characters, got ${query.length}`, ctx.fields);
    const limit = optionalInteger(args, 'limit', 1) ?? DEFAULT_LIMIT;
    if (limit > MAX_LIMIT) throw invalid('limit', `must be at most ${MAX_LIMIT}, got ${limit}`, ctx.fields);
    const wanted = serverMatcher(args);

    const { policy, serverNames } = ctx.snapshot;
    const servers = policy.visibleServers(ctx.agentId, serverNames).filter((server) => wanted === undefined || wanted(server));
    const notIndexed = await tools.refresh(ctx.snapshot, ctx.pool, servers, ctx.signal);
    const searched = new Set(servers);
    const agent = ctx.agentId;
    const annotations = policy.annotationRules(agent);
    // A hit the caller cannot call is dropped, so ask for a few more when names may drop some.
    const rename = names ? await names(ctx) : undefined;
    const hits = tools.index.search(query, {
      limit: rename ? MAX_LIMIT * 2 : limit,
      servers: (server) => searched.has(server),
      allow: (server, tool) =>
        policy.remembered.tool(agent, server, tool).allow &&
        (annotations?.hasDenies !== true || annotations.denied(server, tools.definition(server, tool) ?? { name: tool }) === undefined),
    });
    const results = (rename ? hits.map(rename).filter((hit) => hit !== undefined) : hits).slice(0, limit);
    return jsonResult({ results, total_indexed: tools.allowedCount(policy, agent, servers), servers_not_indexed: notIndexed });
  };
}

/** `servers`: one glob or an array of globs; undefined when absent. */
function serverMatcher(args: Args): NameMatcher | undefined {
  const value = args['servers'];
  if (value === undefined || value === null) return undefined;
  const patterns = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(patterns)) throw invalid('servers', `must be a glob or an array of globs, got ${typeOf(value)}`);
  if (patterns.length > MAX_SERVER_PATTERNS) throw invalid('servers', `must have at most ${MAX_SERVER_PATTERNS} patterns, got ${patterns.length}`);
  const matchers = patterns.map((pattern: unknown, i) => {
    const field = typeof value === 'string' ? 'servers' : `servers[${i}]`;
    if (typeof pattern !== 'string') throw invalid(field, `must be a string, got ${typeOf(pattern)}`);
    if (pattern.length > MAX_PATTERN_CHARS) throw invalid(field, `must be at most ${MAX_PATTERN_CHARS} characters, got ${pattern.length}`);
    const problem = patternProblem(pattern);
    if (problem) throw invalid(field, problem);
    return compilePattern(pattern);
  });
  return (server) => matchers.some((matches) => matches(server));
}
