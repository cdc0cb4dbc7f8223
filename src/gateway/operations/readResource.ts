import type { InputRequiredResult, ReadResourceResult } from '@modelcontextprotocol/server';
import { isInputRequiredResult } from '../../downstream/connection.js';
import type { ToolAnswer } from '../calls/toolAnswer.js';
import { ReadResourceResultSchema } from '@modelcontextprotocol/core';
import { GatewayError } from '../../errors.js';
import { optionalString, requiredString, type Args } from '../arguments.js';
import type { OfferLists, OperationContext } from '../context.js';
import { jsonResult } from '../results.js';
import { authorizeResource, authorizeServer } from './access.js';
import { connectionFor } from './lease.js';
import { downstreamRequestAsking } from './downstreamRequest.js';

/** The read_resource meta-tool: `server` and the server's own `uri`; without `uri`, what the agent may read there. */
export function readResourceOperation(catalog: OfferLists): (ctx: OperationContext, args: Args) => Promise<ToolAnswer> {
  return async (ctx, args) => {
    const server = requiredString(args, 'server', 'a server name from list_servers');
    const uri = optionalString(args, 'uri');
    if (uri !== undefined && uri !== '') {
      // The contents as embedded resources, with the server's own URIs.
      const result = await readResourceOn(ctx, server, uri);
      if (isInputRequiredResult(result)) return result;
      return { content: result.contents.map((resource) => ({ type: 'resource' as const, resource })) };
    }
    authorizeServer(ctx, server);
    const connection = connectionFor(ctx, server);
    const release = ctx.trackCall(server);
    try {
      const [resources, templates] = await Promise.all([catalog.resources(connection), catalog.resourceTemplates(connection)]);
      const policy = ctx.snapshot.policy;
      return jsonResult({
        server,
        resources: resources.filter((r) => policy.decideResource(ctx.agentId, server, r.uri).allow),
        resource_templates: templates.filter((t) => policy.decideResource(ctx.agentId, server, t.uriTemplate).allow),
      });
    } finally {
      release();
    }
  };
}

/** Reads under the policy, asking the server for the canonical URI that was decided on. */
export async function readResourceOn(ctx: OperationContext, server: string, uri: string): Promise<ReadResourceResult | InputRequiredResult> {
  const spec = authorizeServer(ctx, server);
  const canonical = authorizeResource(ctx, server, uri);
  const connection = connectionFor(ctx, server);
  const request = { method: 'resources/read', params: { uri: canonical } };
  return downstreamRequestAsking(
    ctx,
    connection,
    spec,
    request,
    ReadResourceResultSchema,
    () => new GatewayError('RESOURCE_NOT_FOUND', `Resource '${canonical}' not found on server '${server}'`, { server }),
  );
}
