// Restart backoff and fail-fast of DownstreamConnection, with real fixture processes and a
// shortened backoff policy (the e2e supervision test covers the real 0.5 s .. 30 s numbers).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../../src/downstream/connection.js';
import { GatewayError } from '../../../src/errors.js';
import { closeTracked, connection, expectNoLeftovers, fixtureSpec, textOf } from '../../integration/downstream-support.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(closeTracked);
afterAll(expectNoLeftovers);

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  expect((err as GatewayError).code).toBe('SERVER_UNAVAILABLE');
  return err as GatewayError;
}

describe('backoffDelay', () => {
  it('is 0.5 s doubling to 30 s by default', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 500, maxMs: 30_000, failFastAfter: 5, stableMs: 30_000 });
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 1_000].map((n) => backoffDelay(n))).toEqual([
      0, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('follows a custom policy', () => {
    const policy = { baseMs: 100, maxMs: 250, failFastAfter: 2, stableMs: 1 };
    expect([1, 2, 3].map((n) => backoffDelay(n, policy))).toEqual([100, 200, 250]);
  });
});

describe('DownstreamConnection supervision', () => {
  it('waits out the backoff before each new attempt, shares it among callers, then fails fast', async () => {
    const c = connection(fixtureSpec('dead', 'never-starts'), { backoff: { baseMs: 300, maxMs: 1_000, failFastAfter: 3 } });
    await failure(c.connect());
    expect(c.consecutiveFailures).toBe(1);
    expect(c.nextRetryAt! - c.lastFailureAt!).toBe(300);
    expect(c.failingFast).toBe(false);

    // Three callers during the wait: one attempt for all of them, made after the delay.
    const started = performance.now();
    const errors = await Promise.all([failure(c.connect()), failure(c.listTools()), failure(c.callTool('x', {}, CALL))]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(new Set(errors.map((e) => e.message)).size).toBe(1);
    expect(c.consecutiveFailures).toBe(2);
    expect(c.restarts).toBe(1);

    await failure(c.connect());
    expect(c.consecutiveFailures).toBe(3);
    expect(c.failingFast).toBe(true);
    expect(c.state).toBe('failed');

    // Fail fast: no wait, no attempt, and the message says when the next one will be.
    const refusedAt = performance.now();
    const refused = await failure(c.callTool('x', {}, CALL));
    // Refused without waiting out the 1 s until the retry time.
    expect(performance.now() - refusedAt).toBeLessThan(500);
    expect(refused.message).toMatch(
      /^Server 'dead' is marked failed after 3 failures in a row; next retry at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(in 1 s\)\. Last error: Server 'dead' exited with code 3/,
    );
    expect(refused.message).toContain(new Date(c.nextRetryAt!).toISOString());
    expect(c.restarts).toBe(2);

    // Once the retry time has passed, the next call makes one attempt.
    await sleep(c.nextRetryAt! - Date.now() + 20);
    expect(c.failingFast).toBe(false);
    await failure(c.connect());
    expect(c.consecutiveFailures).toBe(4);
    expect(c.restarts).toBe(3);
    expect(c.nextRetryAt! - c.lastFailureAt!).toBe(1_000);
  });

  it('counts a server that starts but crashes on every call as failing; an answered call resets', async () => {
    const loop = connection(fixtureSpec('loop', 'crash-on-call', { env: { CRASH_ON_CALL: '1' } }), {
      backoff: { baseMs: 50, maxMs: 100, failFastAfter: 3 },
    });
    for (let i = 1; i <= 3; i++) {
      expect((await failure(loop.callTool('ok', {}, CALL))).message).toContain('exited with code 42');
      expect(loop.consecutiveFailures).toBe(i);
    }
    expect(loop.failingFast).toBe(true);

    const flaky = connection(fixtureSpec('flaky', 'crash-on-call', { env: { CRASH_ON_CALL: '2' } }), {
      backoff: { baseMs: 50, maxMs: 100, failFastAfter: 3 },
    });
    expect(textOf(await flaky.callTool('ok', {}, CALL))).toBe('ok');
    await failure(flaky.callTool('ok', {}, CALL));
    expect(flaky.consecutiveFailures).toBe(1);
    expect(textOf(await flaky.callTool('ok', {}, CALL))).toBe('ok');
    expect(flaky.consecutiveFailures).toBe(0);
    expect(flaky.restarts).toBe(1);
    expect(flaky.nextRetryAt).toBeUndefined();
  });

  it('starts a new streak when a connection that stayed up for stableMs breaks', async () => {
    const c = connection(fixtureSpec('crash', 'crash-on-call', { env: { CRASH_ON_CALL: '1' } }), {
      backoff: { baseMs: 20, maxMs: 50, failFastAfter: 10, stableMs: 300 },
    });
    await failure(c.callTool('ok', {}, CALL));
    await failure(c.callTool('ok', {}, CALL));
    expect(c.consecutiveFailures).toBe(2);
    await c.connect();
    await sleep(400);
    await failure(c.callTool('crash_now', {}, CALL));
    expect(c.consecutiveFailures).toBe(1);
  });

  it('close() ends a backoff wait at once', async () => {
    const c = connection(fixtureSpec('dead', 'never-starts'), { backoff: { baseMs: 10_000 } });
    await failure(c.connect());
    const waiting = c.connect();
    await sleep(50);
    const started = performance.now();
    await c.close();
    const err = await failure(waiting);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(err.message).toBe("Connection to server 'dead' is closed");
    expect(c.state).toBe('closed');
  });
});

describe('DownstreamConnection.drain', () => {
  it('does not count the moment between listing tools and calling one as idle', async () => {
    const c = connection(fixtureSpec('echo', 'echo'));
    await c.connect();
    // What execute_tool does: list (to check the tool exists), then call.
    let calledAt = 0;
    const call = (async () => {
      await c.listTools();
      const result = await c.callTool('slow', { ms: 300 }, CALL);
      calledAt = performance.now();
      return result;
    })();
    let drainedAt = 0;
    const drained = c.drain(5_000).then(() => (drainedAt = performance.now()));
    expect(textOf(await call)).toBe('slept 300');
    await drained;
    expect(drainedAt).toBeGreaterThanOrEqual(calledAt);
  });
});
