// The tasks extension's operations (io.modelcontextprotocol/tasks, 2026-07-28): recording the
// task a downstream created for a call under the gateway's id (calls/taskTable.ts), and taking
// a caller's tasks/get, tasks/update or tasks/cancel back to that downstream, as the agent the
// task was created by and under the policy in force now (the agent must still be allowed the
// server and the tool).

import { CLIENT_CAPABILITIES_META_KEY, ProtocolError, ProtocolErrorCode, type CallToolResult, type Result } from '@modelcontextprotocol/server';
import { DetailedTaskSchema, TASKS_EXTENSION, TaskAckSchema, serverErrorOf, type TaskCreated } from '../../downstream/tasks.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import { protocolError } from '../../protocolError.js';
import { isPlainObject } from '../../values.js';
import type { ForwardedEnvelope } from '../calls/envelope.js';
import type { TaskEntry, TaskTable } from '../calls/taskTable.js';
import type { OperationContext } from '../context.js';
import { authorizeServer, authorizeTool } from './access.js';
import { isolatedLease, isolatedScopeKey, sharedLease } from './lease.js';

export type TaskMethod = 'tasks/get' | 'tasks/update' | 'tasks/cancel';

/** Whether the caller declared the tasks extension in what goes downstream with its request. */
export function offersTasks(forward: ForwardedEnvelope | undefined): boolean {
  const capabilities = forward?.meta[CLIENT_CAPABILITIES_META_KEY];
  return isPlainObject(capabilities) && isPlainObject(capabilities['extensions']) && capabilities['extensions'][TASKS_EXTENSION] !== undefined;
}

/** The task a downstream created for this call, as the caller gets it: under the gateway's id. */
export function recordTask(ctx: OperationContext, server: string, tool: string, connection: DownstreamConnection, created: TaskCreated): CallToolResult {
  const entry: TaskEntry = {
    owner: ctx.tasks.owner,
    agent: ctx.agentId,
    server,
    tool,
    connection,
    generation: created.generation,
    downstreamId: created.task.taskId,
  };
  // A CreateTaskResult (`resultType: "task"`), which the SDK's Server passes as a tools/call answer.
  return { content: [], ...created.task, resultType: 'task', taskId: ctx.tasks.table.add(entry, created.task['ttlMs']) };
}

/** Every id the caller may not use is answered the same, so the id space tells nothing. */
export function unknownTask(): Error {
  return protocolError(ProtocolErrorCode.InvalidParams, 'Unknown taskId');
}

function isCurrent(entry: TaskEntry): boolean {
  return entry.connection.state === 'ready' && entry.connection.generation === entry.generation;
}

/** The operation of one tasks/* request about `entry` (the caller's id `id`). */
export async function forwardTask(ctx: OperationContext, table: TaskTable, method: TaskMethod, id: string, entry: TaskEntry): Promise<Result> {
  const spec = authorizeServer(ctx, entry.server);
  authorizeTool(ctx, entry.server, entry.tool);
  // The process the task lived in is gone (or about to be replaced): so is the task. A request
  // now would start a new process, which may hand out the same downstream id for another task.
  if (!isCurrent(entry)) {
    table.forget(id);
    throw unknownTask();
  }
  // A task of an isolated server lives in an instance of the caller's scope, which exists already:
  // a caller of another scope must not start one just to be told the id is unknown.
  if (spec.isolation !== 'shared' && ctx.instances.find(spec.name, isolatedScopeKey(ctx, spec)) === undefined) throw unknownTask();
  const lease = spec.isolation === 'shared' ? sharedLease(ctx, entry.server) : await isolatedLease(ctx, spec);
  try {
    // Another session's instance of an isolated server, or a replaced connection.
    if (lease.connection !== entry.connection || !isCurrent(entry)) throw unknownTask();
    const params: Record<string, unknown> = { taskId: entry.downstreamId };
    // The SDK lifted the answers off the params (its input_required seam); they go back on.
    if (method === 'tasks/update') params['inputResponses'] = { ...(ctx.forward?.inputResponses ?? {}) };
    const result = await lease.connection.request({ method, params }, method === 'tasks/get' ? DetailedTaskSchema : TaskAckSchema, {
      signal: ctx.signal,
      timeoutMs: ctx.settings.defaultTimeoutMs,
      ...(ctx.forward !== undefined ? { meta: { ...ctx.forward.meta } } : {}),
    });
    // Answered by a client of another generation (the connection was renewed meanwhile): not this task's process.
    if (lease.connection.generation !== entry.generation) throw unknownTask();
    table.seen(id, result['ttlMs']);
    if (method !== 'tasks/get') return result;
    ctx.note.isError = result['status'] === 'failed';
    return { ...result, taskId: id };
  } catch (err) {
    // The gateway's own answer (the downstream's errors come as GatewayErrors).
    if (err instanceof ProtocolError) throw err;
    const answered = serverErrorOf(err);
    // The downstream no longer knows the task (its message names its own id: not passed on).
    if (answered?.code === ProtocolErrorCode.InvalidParams && /unknown|not found|expired/i.test(answered.message)) {
      table.forget(id);
      throw unknownTask();
    }
    if (answered !== undefined) throw protocolError(answered.code, answered.message, answered.data);
    throw lease.explain(err);
  } finally {
    lease.release();
  }
}
