import { GatewayError } from '../../errors.js';
import type { OperationContext } from '../context.js';

/**
 * The agent's argument rules on a call whose tool is allowed: the arguments to forward (the
 * caller's own object, or a copy with the normalized values that were decided on), or a
 * refusal before anything reaches the server. The message names the pointer, never the value.
 * @throws GatewayError DENIED_BY_POLICY with the deciding condition as `rule`.
 */
export function checkArguments(ctx: OperationContext, server: string, tool: string, args: Record<string, unknown>): Record<string, unknown> {
  const verdict = ctx.snapshot.policy.decideArguments(ctx.agentId, server, tool, args);
  if (verdict === undefined) return args;
  if (verdict.allow) return verdict.args;
  const { rule, pointer, reason } = verdict.refusal;
  ctx.note.rule = rule;
  throw new GatewayError(
    'DENIED_BY_POLICY',
    `Agent '${ctx.agentId}' not authorized to call tool '${tool}' on server '${server}' with these arguments: argument ${pointer} ${reason}`,
    {
      rule,
      server,
      tool,
    },
  );
}
