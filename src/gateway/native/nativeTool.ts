import { GatewayError } from '../../errors.js';
import type { Args } from '../arguments.js';
import type { OperationContext } from '../context.js';
import { CallDeadline, callTimeoutMs } from '../operations/deadline.js';
import { callDownstreamTool } from '../operations/executeTool.js';
import type { ToolAnswer } from '../calls/toolAnswer.js';
import type { Target } from './visible.js';

/**
 * A native tool call: the name is looked up in the agent's own list, then the call takes
 * execute_tool's path. A name outside that list is TOOL_NOT_FOUND whether the tool is denied
 * or does not exist, with the same message, so names cannot be probed.
 */
export function nativeToolOperation(
  name: string,
  resolve: (ctx: OperationContext) => Promise<Target | undefined>,
  /** Why a name not found is refused otherwise (a quarantined tool), if it is. */
  unresolved?: (ctx: OperationContext) => GatewayError | undefined,
): (ctx: OperationContext, args: Args) => Promise<ToolAnswer> {
  return async (ctx, args) => {
    // A name not on a running server makes every allowed server list its tools (starting
    // them): that wait is bounded by the call's timeout like the rest of the call.
    const deadline = new CallDeadline(callTimeoutMs(ctx.settings), { server: '', tool: name }, ctx.signal);
    let target: Target | undefined;
    try {
      target = await deadline.before(resolve(ctx), 'finding the tool');
    } finally {
      deadline.dispose();
    }
    if (!target) {
      ctx.note.tool = name;
      throw unresolved?.(ctx) ?? new GatewayError('TOOL_NOT_FOUND', `Unknown tool: ${name}`, { tool: name });
    }
    return callDownstreamTool(ctx, target.server, target.name, args, undefined);
  };
}
