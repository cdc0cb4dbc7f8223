// Supervision as real processes report it: a server process that starts but exits on every
// call counts as failing (the messages quote its exit code). The streak and backoff logic
// itself is covered in memory by tests/unit/downstream/backoff.test.ts.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeTracked, connection, expectNoLeftovers, fixtureSpec, unavailable } from '../helpers/downstream.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };

afterEach(closeTracked);
afterAll(expectNoLeftovers);

describe('DownstreamConnection supervision of processes', () => {
  it('counts a server that starts but crashes on every call as failing', async () => {
    const loop = connection(fixtureSpec('loop', 'crash-on-call', { env: { CRASH_ON_CALL: '1' } }), {
      backoff: { baseMs: 50, maxMs: 100, failFastAfter: 3 },
    });
    for (let i = 1; i <= 3; i++) {
      expect((await unavailable(loop.callTool('ok', {}, CALL))).message).toContain('exited with code 42');
      expect(loop.consecutiveFailures).toBe(i);
    }
    expect(loop.failingFast).toBe(true);
  });
});
