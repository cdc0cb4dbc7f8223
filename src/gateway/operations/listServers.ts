import type { CallToolResult } from '@modelcontextprotocol/server';
import type { DownstreamConnection } from '../../downstream/connection.js';
import { optionalBoolean, type Args } from '../arguments.js';
import type { OfferLists, OperationContext } from '../context.js';
import { jsonResult } from '../results.js';
import { redactUrl } from '../../redact.js';
import { errorMessage } from '../../values.js';
import { toolListed } from '../../policy/annotationsVisible.js';

/**
 * list_servers. Each entry counts the tools, resources, resource templates and prompts the
 * agent may use there, for servers that are running (asking would start the others, and
 * list_servers stays lazy): theirs are null until first use, or known from the start with the
 * eager strategy.
 */
export function listServersOperation(catalog: OfferLists): (ctx: OperationContext, args: Args) => Promise<CallToolResult> {
  return async (ctx, args) => {
    const includeMetadata = optionalBoolean(args, 'include_metadata');
    const visible = ctx.snapshot.policy.visibleServers(ctx.agentId, ctx.snapshot.serverNames);
    const servers = await Promise.all(
      visible.map(async (name) => {
        const spec = ctx.snapshot.servers.get(name);
        const connection = ctx.pool.get(name);
        const entry: Record<string, unknown> = {
          name,
          description: spec?.description ?? null,
          ...(await counts(ctx, catalog, name, connection)),
        };
        if (includeMetadata && spec) {
          entry['transport'] = spec.transport;
          // Never args or env: they routinely carry paths and secrets.
          if (spec.command !== undefined) entry['command'] = spec.command;
          if (spec.url !== undefined) entry['url'] = redactUrl(spec.url);
          entry['status'] = connection?.state ?? 'idle';
          const auth = connection?.auth;
          if (auth !== undefined) entry['auth'] = auth;
          // Only a configuration error: a start failure's message holds the server's stderr.
          if (spec.configError !== undefined) entry['error'] = spec.configError;
        }
        return entry;
      }),
    );
    return jsonResult({ servers });
  };
}

const UNKNOWN = { tools: null, resources: null, resource_templates: null, prompts: null } as const;

async function counts(
  ctx: OperationContext,
  catalog: OfferLists,
  server: string,
  connection: DownstreamConnection | undefined,
): Promise<Record<keyof typeof UNKNOWN, number | null>> {
  // Running: asking costs a request, not a start.
  if (!connection || connection.state !== 'ready') return UNKNOWN;
  const policy = ctx.snapshot.policy;
  const agent = ctx.agentId;
  try {
    const [tools, resources, templates, prompts] = await Promise.all([
      connection.listTools(),
      catalog.resources(connection),
      catalog.resourceTemplates(connection),
      catalog.prompts(connection),
    ]);
    return {
      tools: tools.filter((t) => toolListed(policy, agent, server, t)).length,
      resources: resources.filter((r) => policy.decideResource(agent, server, r.uri).allow).length,
      resource_templates: templates.filter((t) => policy.decideResource(agent, server, t.uriTemplate).allow).length,
      prompts: prompts.filter((p) => policy.decidePrompt(agent, server, p.name).allow).length,
    };
  } catch (err) {
    ctx.logger.debug({ server, err: errorMessage(err) }, 'list_servers could not count what the server offers');
    return UNKNOWN;
  }
}
