// The two ways connection.callTool forwards a call: the plain path (no progress, idle
// timeout within the hard maximum: the caller's signal goes to the SDK, no timer or
// AbortController of ours) and the bounded path (progress, or an idle timeout above the
// maximum: our own hard-limit timer). Both must report timeouts, aborts and close() alike.
// In memory (memoryEcho) except where a test is about the process.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isAbortError } from '../../src/downstream/abort.js';
import { waitFor } from '../helpers/processes.js';
import { ManualClock } from '../helpers/manualClock.js';
import { memoryEcho } from '../helpers/memoryDownstream.js';
import { callLog, closeTracked, connection, expectGatewayError, expectNoLeftovers, rejection, fixtureSpec, stdioSpec, textOf } from '../helpers/downstream.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };

afterEach(closeTracked);
afterAll(expectNoLeftovers);

describe('downstream call paths', () => {
  it('an idle timeout equal to the maximum is reported as the maximum, and cancels downstream', async () => {
    const c = connection(stdioSpec('echo', []), { transportFactory: memoryEcho().transportFactory });
    const err = await rejection(c.callTool('slow', { ms: 5_000 }, { timeoutMs: 300, maxTotalTimeoutMs: 300 }));
    expect(expectGatewayError(err, 'TIMEOUT').message).toBe('Tool execution exceeded the maximum of 300ms');
    await waitFor(async () => textOf(await c.callTool('cancelled_count', {}, CALL)) === '1');
    expect(c.state).toBe('ready');
  });

  it('an idle timeout above the maximum is cut at the maximum', async () => {
    const clock = new ManualClock();
    const c = connection(stdioSpec('echo', []), { transportFactory: memoryEcho().transportFactory, clock });
    await c.connect();
    const call = rejection(c.callTool('slow', { ms: 5_000 }, { timeoutMs: 5_000, maxTotalTimeoutMs: 300 }));
    clock.advance(300);
    const err = await call;
    expect(expectGatewayError(err, 'TIMEOUT').message).toBe('Tool execution exceeded the maximum of 300ms');
    await waitFor(async () => textOf(await c.callTool('cancelled_count', {}, CALL)) === '1');
  });

  it('close() fails a plain call before the process is gone', async () => {
    const log = callLog();
    const c = connection(fixtureSpec('echo', 'echo', { env: log.env }));
    await c.connect();
    let failedBeforeClosed: boolean | undefined;
    let closed = false;
    const inFlight = c.callTool('slow', { ms: 10_000 }, CALL).catch((err: unknown) => {
      failedBeforeClosed = !closed;
      throw err;
    });
    const outcome = rejection(inFlight);
    await waitFor(() => log.reached('slow'));
    await c.close();
    closed = true;
    const gerr = expectGatewayError(await outcome, 'SERVER_UNAVAILABLE');
    expect(gerr.message).toContain('closed');
    expect(failedBeforeClosed).toBe(true);
  });

  it("many plain calls on one connection leave no listener behind on the caller's signals or the lifetime", async () => {
    const c = connection(stdioSpec('echo', []), { transportFactory: memoryEcho().transportFactory });
    for (let i = 0; i < 50; i++) {
      const abort = new AbortController();
      expect(textOf(await c.callTool('echo', { message: `m${i}` }, { ...CALL, signal: abort.signal }))).toContain(`m${i}`);
    }
    // An abort after the call finished changes nothing.
    const abort = new AbortController();
    await c.callTool('echo', { message: 'x' }, { ...CALL, signal: abort.signal });
    abort.abort();
    expect(c.state).toBe('ready');
    // No call counts as running: a drain ends at once.
    let drained = false;
    void c.drain(60_000).then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(true);
  });

  it("a caller's abort during a plain call is an AbortError", async () => {
    const echo = memoryEcho();
    const c = connection(stdioSpec('echo', []), { transportFactory: echo.transportFactory });
    await c.connect();
    const abort = new AbortController();
    const call = c.callTool('slow', { ms: 5_000 }, { ...CALL, signal: abort.signal });
    await waitFor(() => echo.reached('slow'));
    abort.abort('user cancelled');
    expect(isAbortError(await rejection(call))).toBe(true);
    await waitFor(async () => textOf(await c.callTool('cancelled_count', {}, CALL)) === '1');
  });

  it('cachedTools: only while ready, and the same list listTools() gives', async () => {
    const c = connection(stdioSpec('echo', []), { transportFactory: memoryEcho().transportFactory });
    expect(c.cachedTools).toBeUndefined();
    const tools = await c.listTools();
    expect(c.cachedTools).toBe(tools);
    await c.close();
    expect(c.cachedTools).toBeUndefined();
  });
});
