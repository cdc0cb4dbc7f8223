// The tasks-extension fixture (tests/fixtures/era/v2-tasks.mjs) driven directly by a v2 client
// pinned to 2026-07-28, no gateway: it pins the wire the gateway has to carry (a task-augmented
// tools/call, tasks/get until done, tasks/update answering a parked task, tasks/cancel), and
// shows why task ids need namespacing: two server processes both hand out `task-1`.
//
// The v2 Client (2.4.0) rejects a `resultType: "task"` result with UNSUPPORTED_RESULT_TYPE and
// keeps nothing of it, so the CreateTaskResult is read off the transport: whoever calls a
// task-capable server through the SDK (the gateway included) has to do the same.
import { Client, ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { eraFixture } from '../fixtures/era/eraHarness.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { waitFor } from '../helpers/processes.js';

const MARKER = `gw-era-tasks-${process.pid}-${Date.now()}`;
const ENV: Record<string, string> = { ...(process.env as Record<string, string>), GW_E2E_MARKER: MARKER };
const TASKS = 'io.modelcontextprotocol/tasks';
const MODERN = '2026-07-28';
const TIMEOUT_MS = 30_000;
const ANY_RESULT = z.looseObject({});

/** A subclass, so the SDK probes server/discover in place instead of on a sibling process. */
class FixtureTransport extends StdioClientTransport {}

interface Connected {
  client: Client;
  /** CreateTaskResults seen on the wire, oldest first. */
  created: Record<string, unknown>[];
}

const opened: Client[] = [];

async function connect(extensions: boolean): Promise<Connected> {
  const client = new Client(
    { name: 'era-tasks-test', version: '2.0.0' },
    { capabilities: extensions ? { extensions: { [TASKS]: {} } } : {}, versionNegotiation: { mode: { pin: MODERN } } },
  );
  const transport = new FixtureTransport({ command: process.execPath, args: [eraFixture('v2-tasks.mjs')], env: ENV, stderr: 'inherit' });
  opened.push(client);
  await client.connect(transport, { timeout: TIMEOUT_MS });
  const created: Record<string, unknown>[] = [];
  const deliver = transport.onmessage;
  transport.onmessage = (message) => {
    const result = (message as { result?: Record<string, unknown> }).result;
    if (result?.['resultType'] === 'task') created.push(result);
    deliver?.(message);
  };
  return { client, created };
}

/** A task-augmented slow_job call: the SDK refuses the result, the transport kept it. */
async function createTask({ client, created }: Connected, args: { ms: number; ask?: boolean }): Promise<Record<string, unknown>> {
  const before = created.length;
  const refused = await client.callTool({ name: 'slow_job', arguments: args }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(refused).toBeInstanceOf(SdkError);
  expect((refused as SdkError).code).toBe(SdkErrorCode.UnsupportedResultType);
  expect(created).toHaveLength(before + 1);
  return created[before]!;
}

function tasksRequest(client: Client, method: 'tasks/get' | 'tasks/update' | 'tasks/cancel', params: Record<string, unknown>) {
  return client.request({ method, params }, ANY_RESULT, { timeout: TIMEOUT_MS });
}

async function untilStatus(client: Client, taskId: string, status: string): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  await waitFor(
    async () => {
      last = await tasksRequest(client, 'tasks/get', { taskId });
      return last['status'] === status;
    },
    { timeoutMs: TIMEOUT_MS, intervalMs: 50, message: `task ${taskId} never reached ${status}` },
  );
  return last;
}

/** What `run` threw or rejected with (the SDK refuses some requests before sending, synchronously). */
async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  return Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
}

const closeAll = () => Promise.all(opened.splice(0).map((c) => c.close()));
afterAll(closeAll);
guardAgainstLeaks(MARKER, { close: closeAll, what: 'v2-tasks fixtures left behind' });

describe('v2-tasks fixture, v2 client pinned to 2026-07-28', () => {
  let server: Connected;

  it('offers the tasks extension in server/discover', async () => {
    server = await connect(true);
    expect(server.client.getNegotiatedProtocolVersion()).toBe(MODERN);
    expect(server.client.getServerCapabilities()?.extensions).toEqual({ [TASKS]: {} });
  });

  it('answers a task-augmented call with a task, then tasks/get inlines the result once done', async () => {
    const task = await createTask(server, { ms: 200 });
    expect(task).toMatchObject({ resultType: 'task', taskId: 'task-1', status: 'working', ttlMs: 600_000, pollIntervalMs: 50 });
    expect(typeof task['createdAt']).toBe('string');
    expect(task).not.toHaveProperty('result');

    const first = await tasksRequest(server.client, 'tasks/get', { taskId: 'task-1' });
    expect(first['taskId']).toBe('task-1');
    expect(['working', 'completed']).toContain(first['status']);

    const done = await untilStatus(server.client, 'task-1', 'completed');
    expect(done['result']).toEqual({ content: [{ type: 'text', text: 'slept 200ms' }] });
  });

  it('parks an asking task in input_required until tasks/update answers it', async () => {
    const task = await createTask(server, { ms: 0, ask: true });
    const taskId = task['taskId'] as string;
    expect(task['status']).toBe('input_required');

    const parked = await tasksRequest(server.client, 'tasks/get', { taskId });
    expect(parked['inputRequests']).toMatchObject({ confirm: { method: 'elicitation/create', params: { mode: 'form' } } });

    const ack = await tasksRequest(server.client, 'tasks/update', {
      taskId,
      inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
    });
    expect(Object.keys(ack).filter((k) => k !== '_meta')).toEqual([]);

    const done = await untilStatus(server.client, taskId, 'completed');
    expect(done['result']).toEqual({ content: [{ type: 'text', text: 'slept 0ms, confirm=true' }] });
    expect(done).not.toHaveProperty('inputRequests');
  });

  it('cancels a running task; unknown ids are -32602; tasks/result does not exist in this era', async () => {
    const task = await createTask(server, { ms: 600_000 });
    const taskId = task['taskId'] as string;
    const ack = await tasksRequest(server.client, 'tasks/cancel', { taskId });
    expect(Object.keys(ack).filter((k) => k !== '_meta')).toEqual([]);
    expect((await tasksRequest(server.client, 'tasks/get', { taskId }))['status']).toBe('cancelled');

    const unknown = await errorOf(() => tasksRequest(server.client, 'tasks/get', { taskId: 'task-999' }));
    expect(unknown).toBeInstanceOf(ProtocolError);
    expect((unknown as ProtocolError).code).toBe(-32602);

    const removed = await errorOf(() => server.client.request({ method: 'tasks/result', params: { taskId } }, ANY_RESULT));
    expect((removed as SdkError).code).toBe(SdkErrorCode.MethodNotSupportedByProtocolVersion);
  });

  it('hands out the same ids in every process: task-1 names a different task on each server', async () => {
    const other = await connect(true);
    const task = await createTask(other, { ms: 600_000 });
    expect(task['taskId']).toBe('task-1');
    expect((await tasksRequest(other.client, 'tasks/get', { taskId: 'task-1' }))['status']).toBe('working');
    expect((await tasksRequest(server.client, 'tasks/get', { taskId: 'task-1' }))['status']).toBe('completed');
  });

  it('runs synchronously for a client without the extension, and refuses it tasks/* with -32021', async () => {
    const plain = await connect(false);
    const result = await plain.client.callTool({ name: 'slow_job', arguments: { ms: 10 } });
    expect(result.content).toEqual([{ type: 'text', text: 'slept 10ms' }]);
    expect(plain.created).toEqual([]);

    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel'] as const) {
      const refused = await errorOf(() => tasksRequest(plain.client, method, { taskId: 'task-1', inputResponses: {} }));
      expect((refused as ProtocolError).code, method).toBe(-32021);
    }
  });
});
