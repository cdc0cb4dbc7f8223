// The tasks extension (io.modelcontextprotocol/tasks, 2026-07-28) through the gateway: a
// downstream's task goes to the caller under a namespaced id (calls/taskTable.ts), and the
// caller's tasks/get, tasks/update and tasks/cancel reach that downstream again, each one a
// call of its own through the pipeline (identity, policy, audit line, metrics): see
// operations/tasks.ts.

import type { Result } from '@modelcontextprotocol/server';
import { TASKS_EXTENSION } from '../downstream/tasks.js';
import { protocolError } from '../protocolError.js';
import { isPlainObject } from '../values.js';
import type { CallPipeline } from './calls/pipeline.js';
import { protocolValue } from './calls/protocolValue.js';
import type { CallRequest } from './calls/request.js';
import { forwardTask, unknownTask, type TaskMethod } from './operations/tasks.js';
import { callerCapabilities, type RequestExtra, type UpstreamSession } from './serverRequests.js';

/** JSON-RPC error of a request whose client did not declare a capability it needs (2026-07-28). */
const MISSING_CLIENT_CAPABILITY = -32021;

export class TaskRelay {
  readonly #calls: CallPipeline;

  constructor(calls: CallPipeline) {
    this.#calls = calls;
  }

  /** One tasks/* request of a 2026 client: `params` as the SDK handed them over (`_meta` lifted off). */
  async handle(method: TaskMethod, params: Readonly<Record<string, unknown>>, extra: RequestExtra, session: UpstreamSession): Promise<Result> {
    const peer = { session, extra };
    const capabilities = callerCapabilities(peer);
    if (!isPlainObject(capabilities?.extensions) || capabilities.extensions[TASKS_EXTENSION] === undefined) {
      throw protocolError(MISSING_CLIENT_CAPABILITY, `Missing required client capability: extensions["${TASKS_EXTENSION}"]`, {
        requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
      });
    }
    const id = params['taskId'];
    const entry = this.#calls.tasks.find(id, session.boundAgent ?? '');
    if (entry === undefined || typeof id !== 'string') throw unknownTask();
    const request: CallRequest = {
      operation: method,
      caller: session,
      // The gateway's own arguments: the agent the task was created as, and where it runs.
      args: { agent_id: entry.agent, server: entry.server, tool: entry.tool },
      ownArgs: true,
      signal: extra.mcpReq.signal,
      peer,
    };
    const outcome = await this.#calls.run(request, (ctx) => forwardTask(ctx, this.#calls.tasks, method, id, entry));
    return protocolValue(outcome, {});
  }
}
