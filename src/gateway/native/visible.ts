import type { Prompt, Resource, ResourceTemplateType, Tool } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { DownstreamConnection } from '../../downstream/connection.js';
import type { DownstreamPool } from '../../downstream/pool.js';
import type { Policy } from '../../policy/types.js';
import { toolListed } from '../../policy/annotationsVisible.js';
import type { Snapshot } from '../context.js';
import { listToolsOf } from '../operations/listTools.js';
import type { Catalog } from './catalog.js';
import { assignNames, type NamingOptions } from './names.js';
import { toGatewayUri } from './resourceUris.js';

// What one agent sees of the downstream servers in native mode: exactly the tools, resources,
// templates and prompts the policy lets it use, renamed for the client. Every server the agent
// may use is asked (and so started); one that cannot be reached contributes nothing this time.

export interface Target {
  readonly server: string;
  /** The downstream's own name. */
  readonly name: string;
}

export interface VisibleTools {
  readonly tools: readonly Tool[];
  readonly targets: ReadonlyMap<string, Target>;
}

export interface VisiblePrompts {
  readonly prompts: readonly Prompt[];
  readonly targets: ReadonlyMap<string, Target>;
}

export interface VisibilityContext {
  readonly snapshot: Snapshot;
  readonly pool: DownstreamPool;
  readonly catalog: Catalog;
  readonly naming: NamingOptions;
  readonly logger: Logger;
  /** Names a native tool must not take: the gateway's own tools (mode both). */
  readonly reserved: ReadonlySet<string>;
  readonly toolCache: VisibleToolsCache;
}

/** Per server in config order, what `fetch` gave; servers that failed are left out (and logged). */
async function perServer<T>(
  ctx: VisibilityContext,
  agentId: string,
  fetch: (connection: DownstreamConnection, server: string) => Promise<T>,
  quiet = false,
): Promise<{ server: string; value: T }[]> {
  const servers = ctx.snapshot.policy.visibleServers(agentId, ctx.snapshot.serverNames);
  const settled = await Promise.allSettled(
    servers.map(async (server) => {
      const connection = ctx.pool.get(server);
      if (!connection) throw new Error('not in the pool');
      return { server, value: await fetch(connection, server) };
    }),
  );
  const out: { server: string; value: T }[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') out.push(s.value);
    else if (!quiet) ctx.logger.debug({ server: servers[i], err: (s.reason as Error)?.message }, 'server left out of the native lists');
  });
  return out;
}

/**
 * Answers by policy (a reload compiles a new one), agent, and the servers' tool lists (each
 * frozen and replaced when it changes), so an entry is reused only while all of them hold.
 * The surface owns one, so it goes away with its gateway.
 */
export type VisibleToolsCache = WeakMap<Policy, Map<string, { readonly lists: readonly (readonly Tool[])[]; readonly answer: VisibleTools }>>;

/**
 * The agent's native tools. `runningOnly`: only servers whose tool list is at hand (a
 * native call's first try, so that a call never waits for another server to start).
 */
export async function visibleTools(ctx: VisibilityContext, agentId: string, runningOnly = false): Promise<VisibleTools> {
  const lists = await perServer(
    ctx,
    agentId,
    (connection, server) => {
      if (!runningOnly) return listToolsOf(connection, server);
      const cached = connection.cachedTools;
      return cached ? Promise.resolve(cached) : Promise.reject(new Error('not running'));
    },
    runningOnly,
  );
  const policy = ctx.snapshot.policy;
  let byAgent = ctx.toolCache.get(policy);
  if (!byAgent) {
    byAgent = new Map();
    ctx.toolCache.set(policy, byAgent);
  }
  const key = `${agentId}\u0000${lists.map((l) => l.server).join('\u0000')}\u0000${ctx.naming.separator}\u0000${ctx.naming.maxLength}`;
  const cached = byAgent.get(key);
  if (cached && cached.lists.length === lists.length && cached.lists.every((l, i) => l === lists[i]!.value)) return cached.answer;

  const picked: { server: string; tool: Tool }[] = [];
  for (const { server, value } of lists) {
    for (const tool of value) if (toolListed(policy, agentId, server, tool)) picked.push({ server, tool });
  }
  const names = assignNames(
    picked.map((p) => ({ server: p.server, item: p.tool.name })),
    ctx.naming,
    ctx.reserved,
  );
  const targets = new Map<string, Target>();
  const tools = picked.map((p, i) => {
    const name = names[i]!;
    targets.set(name, { server: p.server, name: p.tool.name });
    // Everything the server said about the tool (title, description, schemas, annotations) but its name.
    return Object.freeze({ ...p.tool, name });
  });
  const answer: VisibleTools = { tools: Object.freeze(tools), targets };
  byAgent.set(key, { lists: lists.map((l) => l.value), answer });
  return answer;
}

export async function visiblePrompts(ctx: VisibilityContext, agentId: string): Promise<VisiblePrompts> {
  const lists = await perServer(ctx, agentId, (connection) => ctx.catalog.prompts(connection));
  const policy = ctx.snapshot.policy;
  const picked: { server: string; prompt: Prompt }[] = [];
  for (const { server, value } of lists) {
    for (const prompt of value) if (policy.decidePrompt(agentId, server, prompt.name).allow) picked.push({ server, prompt });
  }
  const names = assignNames(
    picked.map((p) => ({ server: p.server, item: p.prompt.name })),
    ctx.naming,
  );
  const targets = new Map<string, Target>();
  const prompts = picked.map((p, i) => {
    targets.set(names[i]!, { server: p.server, name: p.prompt.name });
    return { ...p.prompt, name: names[i]! };
  });
  return { prompts, targets };
}

export async function visibleResources(ctx: VisibilityContext, agentId: string): Promise<Resource[]> {
  const lists = await perServer(ctx, agentId, (connection) => ctx.catalog.resources(connection));
  const policy = ctx.snapshot.policy;
  const out: Resource[] = [];
  for (const { server, value } of lists) {
    for (const r of value) if (policy.decideResource(agentId, server, r.uri).allow) out.push({ ...r, uri: toGatewayUri(server, r.uri) });
  }
  return out;
}

export async function visibleResourceTemplates(ctx: VisibilityContext, agentId: string): Promise<ResourceTemplateType[]> {
  const lists = await perServer(ctx, agentId, (connection) => ctx.catalog.resourceTemplates(connection));
  const policy = ctx.snapshot.policy;
  const out: ResourceTemplateType[] = [];
  for (const { server, value } of lists) {
    for (const t of value) {
      if (policy.decideResource(agentId, server, t.uriTemplate).allow) out.push({ ...t, uriTemplate: toGatewayUri(server, t.uriTemplate) });
    }
  }
  return out;
}
