// Restart backoff and fail-fast of DownstreamConnection, in memory on a clock the test moves
// (the e2e supervision test covers the real 0.5 s .. 30 s numbers, and
// tests/integration/downstream-supervision.test.ts what real processes report).
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../../src/downstream/supervision.js';
import { GatewayError } from '../../../src/errors.js';
import { ManualClock } from '../../helpers/manualClock.js';
import { memoryServers, stillPending, textResult } from '../../helpers/memoryDownstream.js';
import { closeTracked, connection, stdioSpec, textOf, unavailable } from '../../helpers/downstream.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };

afterEach(closeTracked);

/** Stands in for a process that dies at start: the transport cannot be made. */
function neverStarts(name: string): () => never {
  return () => {
    throw new GatewayError('SERVER_UNAVAILABLE', `Server '${name}' exited with code 3 during initialization`, { server: name });
  };
}

/** Like the crash-on-call fixture: each fresh server breaks the connection on its `crashOn`-th call. */
function crashOnCall(crashOn: number): ReturnType<typeof memoryServers> {
  return memoryServers((server, { crash }) => {
    let calls = 0;
    const tool = (name: string, answer: () => ReturnType<typeof textResult>): void => {
      server.registerTool(name, { description: name }, () => {
        calls++;
        if (name === 'crash_now' || calls === crashOn) return crash();
        return answer();
      });
    };
    tool('ok', () => textResult('ok'));
    tool('crash_now', () => textResult('never'));
  });
}

describe('backoffDelay', () => {
  it('is 0.5 s doubling to 30 s by default', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 500, maxMs: 30_000, failFastAfter: 5, stableMs: 30_000 });
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 1_000].map((n) => backoffDelay(n))).toEqual([0, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('follows a custom policy', () => {
    const policy = { baseMs: 100, maxMs: 250, failFastAfter: 2, stableMs: 1 };
    expect([1, 2, 3].map((n) => backoffDelay(n, policy))).toEqual([100, 200, 250]);
  });
});

describe('DownstreamConnection supervision', () => {
  it('waits out the backoff before each new attempt, shares it among callers, then fails fast', async () => {
    const clock = new ManualClock();
    const c = connection(stdioSpec('dead', []), {
      transportFactory: neverStarts('dead'),
      clock,
      backoff: { baseMs: 300, maxMs: 1_000, failFastAfter: 3 },
    });
    await unavailable(c.connect());
    expect(c.consecutiveFailures).toBe(1);
    expect(c.nextRetryAt! - clock.now()).toBe(300);
    expect(c.failingFast).toBe(false);

    // Three callers during the wait: one attempt for all of them, made after the delay.
    const all = Promise.all([unavailable(c.connect()), unavailable(c.listTools()), unavailable(c.callTool('x', {}, CALL))]);
    clock.advance(299);
    expect(await stillPending(all)).toBe(true);
    clock.advance(1);
    const errors = await all;
    expect(new Set(errors.map((e) => e.message)).size).toBe(1);
    expect(c.consecutiveFailures).toBe(2);
    expect(c.restarts).toBe(1);

    const third = unavailable(c.connect());
    clock.advance(600);
    await third;
    expect(c.consecutiveFailures).toBe(3);
    expect(c.failingFast).toBe(true);
    expect(c.state).toBe('failed');

    // Fail fast: no wait (the clock does not move), no attempt, and the message says when the next one will be.
    const refused = await unavailable(c.callTool('x', {}, CALL));
    expect(refused.message).toMatch(
      /^Server 'dead' is marked failed after 3 failures in a row; next retry at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(in 1 s\)\. Last error: Server 'dead' exited with code 3/,
    );
    expect(refused.message).toContain(new Date(c.nextRetryAt!).toISOString());
    expect(c.restarts).toBe(2);

    // Once the retry time has passed, the next call makes one attempt.
    clock.advance(c.nextRetryAt! - clock.now() + 20);
    expect(c.failingFast).toBe(false);
    await unavailable(c.connect());
    expect(c.consecutiveFailures).toBe(4);
    expect(c.restarts).toBe(3);
    expect(c.nextRetryAt! - clock.now()).toBe(1_000);
  });

  it('an answered call resets the streak of a server that crashes on calls', async () => {
    const clock = new ManualClock();
    const flaky = connection(stdioSpec('flaky', []), {
      transportFactory: crashOnCall(2),
      clock,
      backoff: { baseMs: 50, maxMs: 100, failFastAfter: 3 },
    });
    expect(textOf(await flaky.callTool('ok', {}, CALL))).toBe('ok');
    await unavailable(flaky.callTool('ok', {}, CALL));
    expect(flaky.consecutiveFailures).toBe(1);
    const answered = flaky.callTool('ok', {}, CALL);
    clock.advance(50);
    expect(textOf(await answered)).toBe('ok');
    expect(flaky.consecutiveFailures).toBe(0);
    expect(flaky.restarts).toBe(1);
    expect(flaky.nextRetryAt).toBeUndefined();
  });

  it('starts a new streak when a connection that stayed up for stableMs breaks', async () => {
    const clock = new ManualClock();
    const c = connection(stdioSpec('crash', []), {
      transportFactory: crashOnCall(1),
      clock,
      backoff: { baseMs: 20, maxMs: 50, failFastAfter: 10, stableMs: 300 },
    });
    await unavailable(c.callTool('ok', {}, CALL));
    const second = unavailable(c.callTool('ok', {}, CALL));
    clock.advance(20);
    await second;
    expect(c.consecutiveFailures).toBe(2);
    const reconnected = c.connect();
    clock.advance(50);
    await reconnected;
    clock.advance(300);
    await unavailable(c.callTool('crash_now', {}, CALL));
    expect(c.consecutiveFailures).toBe(1);
  });

  it('close() ends a backoff wait at once', async () => {
    const clock = new ManualClock();
    const c = connection(stdioSpec('dead', []), { transportFactory: neverStarts('dead'), clock, backoff: { baseMs: 10_000 } });
    await unavailable(c.connect());
    const waiting = c.connect();
    expect(await stillPending(waiting)).toBe(true);
    await c.close();
    const err = await unavailable(waiting);
    expect(err.message).toBe("Connection to server 'dead' is closed");
    expect(c.state).toBe('closed');
  });
});

describe('DownstreamConnection.drain', () => {
  it('does not count the moment between listing tools and calling one as idle', async () => {
    let entered!: () => void;
    const inTool = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const c = connection(stdioSpec('echo', []), {
      clock: new ManualClock(),
      transportFactory: memoryServers((server) => {
        server.registerTool('slow', { description: 'slow' }, async () => {
          entered();
          await released;
          return textResult('slept');
        });
      }),
    });
    await c.connect();
    // What execute_tool does: list (to check the tool exists), then call.
    let calledAt = 0;
    let step = 0;
    const call = (async () => {
      await c.listTools();
      const result = await c.callTool('slow', {}, CALL);
      calledAt = ++step;
      return result;
    })();
    let drainedAt = 0;
    const drained = c.drain(5_000).then(() => (drainedAt = ++step));
    await inTool;
    release();
    expect(textOf(await call)).toBe('slept');
    await drained;
    expect(drainedAt).toBeGreaterThanOrEqual(calledAt);
  });
});
