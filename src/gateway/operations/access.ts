import type { ServerSpec } from '../../config/types.js';
import { GatewayError } from '../../errors.js';
import { canonicalResourceUri } from '../../config/resourceUri.js';
import type { Decision } from '../../policy/types.js';
import type { OperationContext } from '../context.js';

/**
 * The server check every operation shares. A server the agent may not use answers
 * DENIED_BY_POLICY whether it exists or not, so names cannot be probed; only a name the
 * agent's rules would allow (a glob such as `*`) learns that it is not configured.
 */
export function authorizeServer(ctx: OperationContext, server: string): ServerSpec {
  ctx.note.server = server;
  const decision = ctx.snapshot.policy.remembered.server(ctx.agentId, server);
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
  const decision = ctx.snapshot.policy.remembered.tool(ctx.agentId, server, tool);
  ctx.note.rule = decision.rule;
  if (!decision.allow) {
    throw new GatewayError('DENIED_BY_POLICY', `Agent '${ctx.agentId}' not authorized to call tool '${tool}' on server '${server}'`, {
      rule: decision.rule,
      server,
      tool,
    });
  }
}

/**
 * The canonical form of a caller's resource URI (config/resourceUri.ts): the one form the
 * policy decides on and the downstream receives, so no other spelling can reach a resource
 * a rule names. The message never repeats the value.
 * @throws GatewayError INVALID_ARGUMENT when the URI has no single reading.
 */
export function canonicalUri(uri: string): string {
  const canonical = canonicalResourceUri(uri);
  if (!canonical.ok) throw new GatewayError('INVALID_ARGUMENT', `Invalid argument 'uri': the URI ${canonical.reason}`);
  return canonical.uri;
}

/**
 * The resource and prompt checks, as authorizeTool: the audit names what was used (in its
 * `tool` column) and the deciding rule. A refusal is DENIED_BY_POLICY for the meta-tools;
 * native mode passes `refuse` to answer exactly as for a missing resource, so names cannot
 * be probed.
 * @returns the canonical URI that was decided on: forward exactly this one.
 */
export function authorizeResource(ctx: OperationContext, server: string, uri: string, refuse?: () => GatewayError): string {
  const canonical = canonicalUri(uri);
  const decision = ctx.snapshot.policy.decideResource(ctx.agentId, server, canonical);
  enforce(ctx, canonical, decision, refuse ?? (() => denied(ctx, decision, `read resource '${canonical}'`, server)));
  return canonical;
}

export function authorizePrompt(ctx: OperationContext, server: string, prompt: string): void {
  const decision = ctx.snapshot.policy.decidePrompt(ctx.agentId, server, prompt);
  enforce(ctx, prompt, decision, () => denied(ctx, decision, `get prompt '${prompt}'`, server));
}

function enforce(ctx: OperationContext, used: string, decision: Decision, refuse: () => GatewayError): void {
  ctx.note.tool = used;
  ctx.note.rule = decision.rule;
  if (!decision.allow) throw refuse();
}

function denied(ctx: OperationContext, decision: Decision, what: string, server: string): GatewayError {
  return new GatewayError('DENIED_BY_POLICY', `Agent '${ctx.agentId}' not authorized to ${what} on server '${server}'`, {
    rule: decision.rule,
    server,
  });
}
