import type { ServerSpec } from '../../config/types.js';
import { GatewayError } from '../../errors.js';
import type { OperationContext } from '../context.js';

/**
 * The server check every operation shares. A server the agent may not use answers
 * DENIED_BY_POLICY whether it exists or not, so names cannot be probed; only a name the
 * agent's rules would allow (a glob such as `*`) learns that it is not configured.
 */
export function authorizeServer(ctx: OperationContext, server: string): ServerSpec {
  ctx.note.server = server;
  const decision = ctx.snapshot.policy.decideServer(ctx.agentId, server);
  ctx.note.rule = decision.rule;
  if (!decision.allow) {
    throw new GatewayError('DENIED_BY_POLICY', `Agent '${ctx.agentId}' cannot access server '${server}'`, {
      rule: decision.rule,
      server,
    });
  }
  const spec = ctx.snapshot.servers.get(server);
  if (!spec) throw new GatewayError('SERVER_NOT_FOUND', `Server '${server}' not found in configured servers`, { server });
  return spec;
}

export function authorizeTool(ctx: OperationContext, server: string, tool: string): void {
  ctx.note.tool = tool;
  const decision = ctx.snapshot.policy.decideTool(ctx.agentId, server, tool);
  ctx.note.rule = decision.rule;
  if (!decision.allow) {
    throw new GatewayError(
      'DENIED_BY_POLICY',
      `Agent '${ctx.agentId}' not authorized to call tool '${tool}' on server '${server}'`,
      { rule: decision.rule, server, tool },
    );
  }
}
