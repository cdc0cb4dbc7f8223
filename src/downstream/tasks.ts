// The tasks extension (io.modelcontextprotocol/tasks, 2026-07-28) on the downstream side. A
// server may answer tools/call with a task (`resultType: "task"`): the SDK Client (2.4.0)
// refuses that result with UNSUPPORTED_RESULT_TYPE and keeps nothing of it, so the task id
// would be lost while the task runs on. No request option changes that, and the schema passed
// to client.request is applied only after the refusal. So the answer is taken off the
// transport before the Client decodes it: a task answering a tools/call we sent becomes a
// plain complete result that carries the task under a key of our own, and callTool turns it
// back into a TaskCreated. Everything else on the transport passes untouched.

import { ProtocolError, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/client';
import { z } from 'zod';
import { isPlainObject } from '../values.js';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** Where an intercepted task rides through the Client; a server's own key of that name is dropped. */
const CARRIED_TASK = 'agent-mcp-gateway/task';

/** A task id is a handle the gateway prefixes and echoes in headers: a longer one is refused. */
const MAX_TASK_ID_LENGTH = 256;

/** A tools/call answered with a task, as the gateway receives it (not a wire shape). */
export interface TaskCreated {
  /** Open like the SDK's result types, so a ToolCallResult's fields can be read without narrowing. */
  readonly [key: string]: unknown;
  readonly kind: 'task';
  /** The server's CreateTaskResult, its own serverInfo and cache hints removed. */
  readonly task: Readonly<Record<string, unknown>> & { readonly taskId: string };
  /** The connection generation (SupervisedClient.generation) of the client that received it. */
  readonly generation: number;
}

export function isTaskCreated(value: unknown): value is TaskCreated {
  return isPlainObject(value) && value['kind'] === 'task' && isPlainObject(value['task']);
}

/** tasks/get: a task with its outcome (`result`, `error`) or its questions (`inputRequests`). */
export const DetailedTaskSchema = z.looseObject({ taskId: z.string(), status: z.string() });
/** tasks/update and tasks/cancel answer an empty acknowledgement. */
export const TaskAckSchema = z.looseObject({});

/**
 * Makes `transport`'s task answers to tools/call readable through the Client that is connected
 * to it (call after connect: the Client installs its own onmessage there).
 */
export function interceptTaskResults(transport: Transport, generation: number): void {
  const calls = new Set<string | number>();
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    if ('method' in message) {
      if (message.method === 'tools/call' && 'id' in message && message.id !== undefined) calls.add(message.id);
      // A call given up (cancelled, timed out) gets no answer: its id would stay for ever.
      else if (message.method === 'notifications/cancelled') calls.delete(message.params?.['requestId'] as string | number);
    }
    return send(message, options);
  };
  const deliver = transport.onmessage;
  if (deliver === undefined) return;
  transport.onmessage = (message, extra) => deliver(carryTask(message, calls, generation), extra);
}

function carryTask(message: JSONRPCMessage, calls: Set<string | number>, generation: number): JSONRPCMessage {
  if (!('id' in message) || 'method' in message || message.id === undefined || !calls.delete(message.id)) return message;
  if (!('result' in message) || !isPlainObject(message.result)) return message;
  const result = carriedTaskResult(message.result as Record<string, unknown>, generation);
  return result === message.result ? message : { ...message, result };
}

/**
 * A tools/call result as the Client is to read it: a task answer carried inside a complete
 * result, and the carrying key removed from any other result (a server cannot forge it).
 * Calls made past the Client (directCalls.ts) read their results through it too.
 */
export function carriedTaskResult(result: Record<string, unknown>, generation: number): Record<string, unknown> {
  if (result['resultType'] !== 'task') {
    if (!(CARRIED_TASK in result)) return result;
    const rest = { ...result };
    delete rest[CARRIED_TASK];
    return rest;
  }
  const taskId = result['taskId'];
  // An unusable id is left to the Client, which refuses the task as it always would.
  if (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > MAX_TASK_ID_LENGTH) return result;
  return { resultType: 'complete', content: [], [CARRIED_TASK]: { task: result, generation } };
}

/** The TaskCreated a complete result carries (see carryTask), else the result itself. */
export function takeCarriedTask<T>(result: T): T | TaskCreated {
  if (!isPlainObject(result)) return result;
  const carried = result[CARRIED_TASK];
  if (!isPlainObject(carried) || !isPlainObject(carried['task']) || typeof carried['generation'] !== 'number') return result;
  return { kind: 'task', task: carried['task'] as TaskCreated['task'], generation: carried['generation'] };
}

/** The JSON-RPC error a server answered with, when `err` (as DownstreamConnection reports it) is one. */
export function serverErrorOf(err: unknown): { code: number; message: string; data?: unknown } | undefined {
  const cause = err instanceof Error ? err.cause : undefined;
  if (!(cause instanceof ProtocolError)) return undefined;
  return { code: cause.code, message: cause.message, ...(cause.data !== undefined ? { data: cause.data } : {}) };
}
