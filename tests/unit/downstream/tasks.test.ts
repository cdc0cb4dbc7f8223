import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { interceptTaskResults, isTaskCreated, takeCarriedTask } from '../../../src/downstream/tasks.js';

/** A transport whose Client is `received`: what the Client would be handed. */
function fakeTransport(): { transport: Transport; received: JSONRPCMessage[]; deliver(message: JSONRPCMessage): void } {
  const received: JSONRPCMessage[] = [];
  const transport: Transport = {
    start: async () => {},
    close: async () => {},
    send: async () => {},
    onmessage: (message) => received.push(message),
  };
  return { transport, received, deliver: (message) => transport.onmessage?.(message) };
}

const TASK = { resultType: 'task', taskId: 'task-1', status: 'working', ttlMs: 1000 };
const call = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow_job' } });

describe('interceptTaskResults', () => {
  it('turns the task answering a tools/call into a complete result that carries it', async () => {
    const { transport, received, deliver } = fakeTransport();
    interceptTaskResults(transport, 7);
    await transport.send(call(1));
    deliver({ jsonrpc: '2.0', id: 1, result: TASK });
    const result = (received[0] as { result: Record<string, unknown> }).result;
    expect(result['resultType']).toBe('complete');
    const taken = takeCarriedTask(result);
    expect(isTaskCreated(taken) && taken).toMatchObject({ kind: 'task', generation: 7, task: TASK });
  });

  it('leaves a task answering anything else, an over-long id, and a given-up call to the Client', async () => {
    const { transport, received, deliver } = fakeTransport();
    interceptTaskResults(transport, 1);
    await transport.send({ jsonrpc: '2.0', id: 2, method: 'prompts/get', params: { name: 'p' } });
    deliver({ jsonrpc: '2.0', id: 2, result: TASK });
    await transport.send(call(3));
    deliver({ jsonrpc: '2.0', id: 3, result: { ...TASK, taskId: 'x'.repeat(300) } });
    await transport.send(call(4));
    await transport.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 4 } });
    deliver({ jsonrpc: '2.0', id: 4, result: TASK });
    for (const message of received) expect((message as { result: Record<string, unknown> }).result['resultType']).toBe('task');
  });

  it('drops a server’s own key of the carrying name from a complete result', async () => {
    const { transport, received, deliver } = fakeTransport();
    interceptTaskResults(transport, 1);
    await transport.send(call(5));
    deliver({ jsonrpc: '2.0', id: 5, result: { content: [], 'agent-mcp-gateway/task': { task: TASK, generation: 1 } } });
    const result = (received[0] as { result: Record<string, unknown> }).result;
    expect(result).toEqual({ content: [] });
    expect(isTaskCreated(takeCarriedTask(result))).toBe(false);
  });
});
