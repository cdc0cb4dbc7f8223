import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import type { Policy } from '../../policy/types.js';
import { toolListed } from '../../policy/annotationsVisible.js';
import { patternProblem } from '../../config/patternSyntax.js';
import { invalid, optionalInteger, optionalNameList, optionalString, requiredString, type Args } from '../arguments.js';
import type { OperationContext } from '../context.js';
import { jsonResult } from '../results.js';
import { selectTools } from '../toolView.js';
import { authorizeServer } from './access.js';
import { connectionFor } from './lease.js';
import { listToolsOf } from './listTools.js';

// What get_server_tools computes from a cached tool list, per agent and server: the
// policy's answer for every tool, and the last few answers (by arguments). A reload
// compiles a new Policy object and a tool-list change replaces the (frozen) list, so
// entries keyed by both can never go stale; they go away with either (the two immutable
// objects are the owners, hence WeakMaps rather than a field of either).
interface ListCache {
  readonly allowed: Uint8Array;
  /** Frozen answers by names/pattern/budget; the oldest goes when there are MAX_ANSWERS. */
  readonly answers: Map<string, CallToolResult>;
}
const MAX_ANSWERS = 16;
/** `names` and `pattern` come from the caller: answers to longer ones are computed, not kept. */
const MAX_ANSWER_KEY_CHARS = 4096;
const caches = new WeakMap<Policy, WeakMap<readonly Tool[], Map<string, ListCache>>>();

function cacheFor(policy: Policy, tools: readonly Tool[], agentId: string, server: string): ListCache {
  let byList = caches.get(policy);
  if (!byList) {
    byList = new WeakMap();
    caches.set(policy, byList);
  }
  let byAgent = byList.get(tools);
  if (!byAgent) {
    byAgent = new Map();
    byList.set(tools, byAgent);
  }
  // Agents are the policy's own (identity checked them), so this map is bounded by the rules.
  const key = `${agentId.length}:${agentId}${server}`;
  let cache = byAgent.get(key);
  if (!cache) {
    const allowed = new Uint8Array(tools.length);
    for (let i = 0; i < tools.length; i++) allowed[i] = toolListed(policy, agentId, server, tools[i]!) ? 1 : 0;
    cache = { allowed, answers: new Map() };
    byAgent.set(key, cache);
  }
  return cache;
}

export async function getServerTools(ctx: OperationContext, args: Args): Promise<CallToolResult> {
  const server = requiredString(args, 'server', 'a server name from list_servers', ctx.fields);
  const names = optionalNameList(args, 'names');
  const pattern = optionalString(args, 'pattern');
  if (pattern !== undefined && pattern !== '') {
    const problem = patternProblem(pattern);
    if (problem) throw invalid('pattern', problem);
  }
  const maxTokens = optionalInteger(args, 'max_schema_tokens', 0);
  authorizeServer(ctx, server);

  const connection = connectionFor(ctx, server);
  const release = ctx.trackCall(server);
  let all;
  try {
    all = await listToolsOf(connection, server);
  } finally {
    release();
  }
  const cache = cacheFor(ctx.snapshot.policy, all, ctx.agentId, server);
  const answerKey = JSON.stringify([names ?? null, pattern ?? null, maxTokens ?? null]);
  const cached = cache.answers.get(answerKey);
  if (cached) return cached;

  const allowed = cache.allowed;
  const selected = selectTools(all, {
    ...(names ? { names } : {}),
    ...(pattern ? { pattern } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    allowed: (_tool, index) => allowed[index] === 1,
  });
  const value = {
    server,
    tools: Object.freeze(selected.tools),
    total_available: selected.totalAvailable,
    returned: selected.tools.length,
    tokens_used: selected.tokensUsed,
    truncated: selected.truncated,
  };
  // The same text JSON.stringify(value) gives, from each tool's cached JSON.
  const json =
    `{"server":${JSON.stringify(server)},"tools":[${selected.json.join(',')}],` +
    `"total_available":${value.total_available},"returned":${value.returned},` +
    `"tokens_used":${value.tokens_used === null ? 'null' : value.tokens_used},"truncated":${value.truncated}}`;
  const result = jsonResult(Object.freeze(value), json);
  // Shared by every later call with the same arguments: frozen, so no consumer can change it.
  Object.freeze(result.content[0]);
  Object.freeze(result.content);
  Object.freeze(result);
  if (answerKey.length > MAX_ANSWER_KEY_CHARS) return result;
  if (cache.answers.size >= MAX_ANSWERS) cache.answers.delete(cache.answers.keys().next().value!);
  cache.answers.set(answerKey, result);
  return result;
}
