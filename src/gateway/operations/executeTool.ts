import type { Tool } from '@modelcontextprotocol/server';
import { isInputRequiredResult } from '../../downstream/connection.js';
import { isTaskCreated, TaskAckSchema } from '../../downstream/tasks.js';
import { offersTasks, recordTask } from './tasks.js';
import { downstreamEnvelope, inputImpossible } from '../calls/envelope.js';
import type { ToolAnswer } from '../calls/toolAnswer.js';
import { GatewayError } from '../../errors.js';
import { optionalInteger, optionalObject, requiredString, type Args } from '../arguments.js';
import type { OperationContext } from '../context.js';
import { authorizeServer, authorizeTool } from './access.js';
import { checkArguments } from './argumentCheck.js';
import { checkAnnotations, recheckAfterApproval, requestApproval } from '../calls/approval.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import { isolatedLease, readyIsolatedLease, sharedLease } from './lease.js';
import { CallDeadline, callTimeoutMs } from './deadline.js';
import { listToolsOf } from './listTools.js';
import { quarantinedTool } from '../pins/quarantine.js';

// Name lookups per cached tool list. The list object is frozen and replaced whenever the
// downstream's tools change, so it is the owner: a WeakMap keyed by it lives exactly as long.
const nameIndex = new WeakMap<readonly Tool[], ReadonlySet<string>>();

function hasTool(tools: readonly Tool[], name: string): boolean {
  let names = nameIndex.get(tools);
  if (!names) {
    names = new Set(tools.map((t) => t.name));
    nameIndex.set(tools, names);
  }
  return names.has(name);
}

export async function executeTool(ctx: OperationContext, args: Args): Promise<ToolAnswer> {
  const server = requiredString(args, 'server', 'a server name from list_servers', ctx.fields);
  const tool = requiredString(args, 'tool', 'a tool name from get_server_tools', ctx.fields);
  const toolArgs = optionalObject(args, 'args', ctx.fields);
  const requestedTimeout = optionalInteger(args, 'timeout_ms', 1);
  return callDownstreamTool(ctx, server, tool, toolArgs, requestedTimeout);
}

/**
 * The one path of a tool call to a downstream server, for execute_tool and native tools
 * alike: policy, existence, timeout, progress relay and cancellation. The timeout (the call's,
 * else the server's, else the global) bounds the whole call, starting the server included.
 */
export async function callDownstreamTool(
  ctx: OperationContext,
  server: string,
  tool: string,
  toolArgs: Record<string, unknown>,
  requestedTimeout: number | undefined,
): Promise<ToolAnswer> {
  const spec = authorizeServer(ctx, server);
  // A denied call never reaches the downstream server: both checks come before any I/O.
  authorizeTool(ctx, server, tool);
  // From here on, the arguments are those the rules decided on (normalized paths and URLs).
  toolArgs = checkArguments(ctx, server, tool, toolArgs);

  const timeoutMs = callTimeoutMs(ctx.settings, requestedTimeout ?? spec.timeoutMs);
  // A shared connection, or an isolated instance that is up: nothing to wait for to have it.
  const ready = spec.isolation === 'shared' ? sharedLease(ctx, server) : readyIsolatedLease(ctx, spec);
  // The cached list exists only while the connection is ready: nothing to wait for, so no deadline timer.
  const cached = ready?.connection.cachedTools;
  const deadline = cached === undefined ? new CallDeadline(timeoutMs, { server, tool }, ctx.signal) : undefined;
  try {
    const lease = ready ?? (await deadline!.before(isolatedLease(ctx, spec), 'starting', (late) => late.release()));
    const connection = lease.connection;
    let release: (() => void) | undefined;
    try {
      release = ctx.trackCall(lease.routeKey);
      const tools = cached ?? connection.cachedTools ?? (await toolsBefore(deadline!, connection, server));
      if (!hasTool(tools, tool)) {
        // Pins: a tool withheld from the list (quarantined) is refused as such, after the name policy.
        throw notFound(connection, server, tool);
      }
      const approvalRule = checkAnnotations(ctx, server, tool, tools);
      if (approvalRule !== undefined) {
        const asked = performance.now();
        await requestApproval(ctx, server, tool, toolArgs, approvalRule);
        // The user's time to answer is not the server's: the timeout covers starting and the call.
        deadline?.exclude(performance.now() - asked);
        recheckAfterApproval(ctx, server, tool, tools, connection.cachedTools, () => notFound(connection, server, tool));
      }
      const progress = ctx.progress;
      const result = await connection.callTool(tool, toolArgs, {
        signal: ctx.signal,
        // What starting the server left of the timeout; messages still name the timeout itself.
        timeoutMs: deadline ? deadline.remainingMs() : timeoutMs,
        budgetMs: timeoutMs,
        // The hard maximum counts from the call's start, as the timeout does.
        maxTotalTimeoutMs: deadline ? Math.max(1, Math.floor(ctx.settings.maxTimeoutMs - deadline.spentMs)) : ctx.settings.maxTimeoutMs,
        ...(progress !== undefined ? { onprogress: progress } : {}),
        ...downstreamEnvelope(ctx.forward),
      });
      if (isTaskCreated(result)) {
        // Only a 2026 caller that declared the extension polls for it (envelope.ts forwards no other).
        if (!offersTasks(ctx.forward)) {
          // Nobody could ever poll or cancel it: it is cancelled at once, without waiting.
          connection.request({ method: 'tasks/cancel', params: { taskId: result.task.taskId } }, TaskAckSchema).catch(() => undefined);
          throw new GatewayError('SERVER_UNAVAILABLE', `Server '${server}' answered with a task this caller did not ask for`, { server, tool });
        }
        return recordTask(ctx, server, tool, connection, result);
      }
      if (isInputRequiredResult(result)) {
        // An MCP caller answers it (a 2025 one through the SDK's own requests); REST cannot.
        if (ctx.forward === undefined) throw inputImpossible(result, server, tool);
        return result;
      }
      ctx.note.isError = result.isError === true;
      return result;
    } catch (err) {
      throw lease.explain(err);
    } finally {
      release?.();
      lease.release();
    }
  } finally {
    deadline?.dispose();
  }
}

/** A tool not in the checked list: quarantined (pins withheld it), else not found. */
function notFound(connection: DownstreamConnection, server: string, tool: string): GatewayError {
  return quarantinedTool(connection, server, tool) ?? new GatewayError('TOOL_NOT_FOUND', `Tool '${tool}' not found on server '${server}'`, { server, tool });
}

/** The server's tools, starting it if needed, within the call's deadline. */
async function toolsBefore(deadline: CallDeadline, connection: DownstreamConnection, server: string): Promise<readonly Tool[]> {
  if (connection.state !== 'ready') await deadline.before(connection.connect(), 'starting');
  try {
    return await listToolsOf(connection, server, deadline.signal);
  } catch (err) {
    if (deadline.signal.aborted) throw deadline.failure('listing its tools');
    throw err;
  }
}
