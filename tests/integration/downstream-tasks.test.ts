// DownstreamConnection and a server offering the tasks extension (tests/fixtures/era/v2-tasks):
// the task a tools/call is answered with comes back as a TaskCreated (the SDK Client alone
// would refuse it and lose the id), with the generation of the client that received it, and
// tasks/get, tasks/update and tasks/cancel go through request() with the tasks schemas.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLIENT_CAPABILITIES_META_KEY } from '@modelcontextprotocol/client';
import { DetailedTaskSchema, TASKS_EXTENSION, TaskAckSchema, isTaskCreated } from '../../src/downstream/tasks.js';
import { eraFixture } from '../fixtures/era/eraHarness.js';
import { closeTracked, connection, expectNoLeftovers, stdioSpec, textOf } from '../helpers/downstream.js';
import { waitFor } from '../helpers/processes.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };
const WITH_TASKS = { [CLIENT_CAPABILITIES_META_KEY]: { extensions: { [TASKS_EXTENSION]: {} } } };

afterEach(() => closeTracked());
afterAll(() => expectNoLeftovers());

describe('a 2026 server with the tasks extension', () => {
  it('hands the task of a tools/call back, and serves tasks/* through request()', async () => {
    const c = connection(stdioSpec('tasks', [eraFixture('v2-tasks.mjs')]));
    const created = await c.callTool('slow_job', { ms: 0, ask: true }, { ...CALL, meta: WITH_TASKS });
    if (!isTaskCreated(created)) throw new Error(`not a task: ${JSON.stringify(created)}`);
    expect(created.generation).toBe(c.generation);
    expect(created.task).toMatchObject({ resultType: 'task', taskId: 'task-1', status: 'input_required', ttlMs: 600_000 });
    expect(created.task['_meta']).toBeUndefined();

    const parked = await c.request({ method: 'tasks/get', params: { taskId: 'task-1' } }, DetailedTaskSchema, { meta: WITH_TASKS });
    expect(parked['inputRequests']).toMatchObject({ confirm: { method: 'elicitation/create' } });
    expect(parked['ttlMs']).toBe(600_000);
    const update = { taskId: 'task-1', inputResponses: { confirm: { action: 'accept', content: { confirm: false } } } };
    await c.request({ method: 'tasks/update', params: update }, TaskAckSchema, { meta: WITH_TASKS });
    let status: unknown;
    await waitFor(async () => {
      const task = await c.request({ method: 'tasks/get', params: { taskId: 'task-1' } }, DetailedTaskSchema, { meta: WITH_TASKS });
      status = task.status;
      return task.status === 'completed';
    });
    expect(status).toBe('completed');

    const running = await c.callTool('slow_job', { ms: 600_000 }, { ...CALL, meta: WITH_TASKS });
    expect(isTaskCreated(running) && running.task.taskId).toBe('task-2');
    await c.request({ method: 'tasks/cancel', params: { taskId: 'task-2' } }, TaskAckSchema, { meta: WITH_TASKS });
    const cancelled = await c.request({ method: 'tasks/get', params: { taskId: 'task-2' } }, DetailedTaskSchema, { meta: WITH_TASKS });
    expect(cancelled.status).toBe('cancelled');
  });

  it('answers a caller without the extension with a plain result', async () => {
    const c = connection(stdioSpec('tasks', [eraFixture('v2-tasks.mjs')]));
    const result = await c.callTool('slow_job', { ms: 5 }, CALL);
    expect(isTaskCreated(result)).toBe(false);
    expect(textOf(result)).toBe('slept 5ms');
  });
});
