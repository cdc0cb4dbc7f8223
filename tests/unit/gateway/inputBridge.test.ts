import type { CallToolResult, InputRequiredResult } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InputBridge, isGatewayState, type InputChannel } from '../../../src/gateway/calls/inputBridge.js';

const done = (text: string): CallToolResult => ({ content: [{ type: 'text', text }] });
const never = new AbortController().signal;

function asInputRequired(r: CallToolResult | InputRequiredResult): InputRequiredResult {
  expect(r.resultType).toBe('input_required');
  return r as InputRequiredResult;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('InputBridge', () => {
  it('answers a call that asks nothing with its result', async () => {
    const bridge = new InputBridge(60_000);
    expect(await bridge.run('a', 'tool', undefined, undefined, never, () => Promise.resolve(done('plain')))).toEqual(done('plain'));
  });

  it("turns a downstream's question into input_required, and the retry's answer into the call's result", async () => {
    const bridge = new InputBridge(60_000);
    const start = async (channel: InputChannel): Promise<CallToolResult> => {
      const answer = (await channel.ask('elicitation/create', { message: 'colour?' }, never)) as { content: { colour: string } };
      return done(`got ${answer.content.colour}`);
    };
    const first = asInputRequired(await bridge.run('a', 'tool', undefined, undefined, never, start));
    expect(first.inputRequests).toEqual({ 'input-1': { method: 'elicitation/create', params: { message: 'colour?' } } });
    expect(isGatewayState(first.requestState!)).toBe(true);
    const second = await bridge.run('a', 'tool', first.requestState, { 'input-1': { action: 'accept', content: { colour: 'blue' } } }, never, () => {
      throw new Error('a retry resumes, it does not start again');
    });
    expect(second).toEqual(done('got blue'));
  });

  it('asks again when the call asks again, and each state works once', async () => {
    const bridge = new InputBridge(60_000);
    const start = async (channel: InputChannel): Promise<CallToolResult> => {
      await channel.ask('roots/list', {}, never);
      await channel.ask('sampling/createMessage', { messages: [] }, never);
      return done('both answered');
    };
    const first = asInputRequired(await bridge.run('a', 'tool', undefined, undefined, never, start));
    const second = asInputRequired(await bridge.run('a', 'tool', first.requestState, { 'input-1': { roots: [] } }, never, start));
    expect(Object.values(second.inputRequests!).map((q) => q.method)).toEqual(['sampling/createMessage']);
    await expect(bridge.run('a', 'tool', first.requestState, {}, never, start)).rejects.toMatchObject({ code: -32602 });
    expect(
      await bridge.run('a', 'tool', second.requestState, { 'input-2': { role: 'assistant', content: { type: 'text', text: 'x' }, model: 'm' } }, never, start),
    ).toEqual(done('both answered'));
  });

  it("refuses another caller's state, and one it never made", async () => {
    const bridge = new InputBridge(60_000);
    const first = asInputRequired(await bridge.run('alice', 'tool', undefined, undefined, never, (c) => c.ask('roots/list', {}, never).then(() => done('x'))));
    await expect(bridge.run('bob', 'tool', first.requestState, {}, never, () => Promise.resolve(done('y')))).rejects.toMatchObject({
      code: -32602,
      data: { reason: 'invalid_request_state' },
    });
    await expect(bridge.run('alice', 'tool', 'agent-mcp-gateway.input.forged', {}, never, () => Promise.resolve(done('y')))).rejects.toMatchObject({ code: -32602 });
  });

  it("fails the downstream's question when the caller never comes back", async () => {
    vi.useFakeTimers();
    const bridge = new InputBridge(1_000);
    let failure: unknown;
    await bridge.run('a', 'tool', undefined, undefined, never, (c) =>
      c.ask('roots/list', {}, never).then(
        () => done('answered'),
        (err: unknown) => {
          failure = err;
          return done('gave up');
        },
      ),
    );
    await vi.advanceTimersByTimeAsync(1_001);
    expect(String(failure)).toMatch(/never came: the client did not answer in time/);
  });

  it('a round the caller cancels cancels the call; a round that answered input_required does not', async () => {
    const bridge = new InputBridge(60_000);
    const seen: AbortSignal[] = [];
    const start = async (c: InputChannel, signal: AbortSignal): Promise<CallToolResult> => {
      seen.push(signal);
      await c.ask('roots/list', {}, never);
      // The second question waits on the call's own signal: cancelling the call withdraws it.
      await c.ask('roots/list', {}, signal);
      return done('answered');
    };
    const firstRound = new AbortController();
    const first = asInputRequired(await bridge.run('a', 'tool', undefined, undefined, firstRound.signal, start));
    firstRound.abort(new Error('the first request is over'));
    expect(seen[0]!.aborted).toBe(false);
    const secondRound = new AbortController();
    const second = bridge.run('a', 'tool', first.requestState, { 'input-1': { roots: [] } }, secondRound.signal, start);
    secondRound.abort(new Error('cancelled by the caller'));
    await expect(second).rejects.toThrow('cancelled by the caller');
    expect(seen[0]!.aborted).toBe(true);
  });

  it('a retry naming another tool, or coming after a reload, finds nothing parked', async () => {
    const bridge = new InputBridge(60_000);
    let failure: unknown;
    const start = (c: InputChannel): Promise<CallToolResult> =>
      c.ask('roots/list', {}, never).then(
        () => done('answered'),
        (err: unknown) => {
          failure = err;
          return done('gave up');
        },
      );
    const first = asInputRequired(await bridge.run('a', 'tool', undefined, undefined, never, start));
    await expect(bridge.run('a', 'other_tool', first.requestState, {}, never, start)).rejects.toMatchObject({ code: -32602 });
    bridge.expireAll('the configuration was reloaded');
    await expect(bridge.run('a', 'tool', first.requestState, {}, never, start)).rejects.toMatchObject({ code: -32602 });
    await Promise.resolve();
    expect(String(failure)).toMatch(/the configuration was reloaded/);
  });

  it('parks at most 32 calls per caller: the next question fails at once', async () => {
    const bridge = new InputBridge(60_000);
    const start = (c: InputChannel): Promise<CallToolResult> =>
      c.ask('roots/list', {}, never).then(
        () => done('answered'),
        (err: unknown) => done(`refused: ${String(err)}`),
      );
    for (let i = 0; i < 32; i++) asInputRequired(await bridge.run('greedy', 'tool', undefined, undefined, never, start));
    expect(JSON.stringify(await bridge.run('greedy', 'tool', undefined, undefined, never, start))).toMatch(/Too many calls wait for input/);
    asInputRequired(await bridge.run('someone else', 'tool', undefined, undefined, never, start));
  });

  it('a missing answer fails that question only', async () => {
    const bridge = new InputBridge(60_000);
    const start = (c: InputChannel): Promise<CallToolResult> =>
      c.ask('elicitation/create', { message: 'm' }, never).then(
        () => done('answered'),
        (err: unknown) => done(`refused: ${String(err)}`),
      );
    const first = asInputRequired(await bridge.run('a', 'tool', undefined, undefined, never, start));
    const second = await bridge.run('a', 'tool', first.requestState, {}, never, start);
    expect(JSON.stringify(second)).toMatch(/gave no answer to elicitation\/create/);
  });
});
