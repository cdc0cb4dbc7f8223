// Supervision of downstream servers through the built gateway over real stdio (issue 4,
// "Supervision"): a server that crashes in the middle of a call fails that call at once and
// recovers on the next; a server that never starts backs off (0.5 s, 1 s, 2 s, 4 s), is marked
// failed after 5 failures in a row and then refused at once with the time of the next retry;
// a failing, hanging or flooding server never delays calls to the others; health is visible
// in list_servers (include_metadata) and get_gateway_status.
import { afterAll, describe, expect, it } from 'vitest';
import { callTool } from '../helpers/gateway.js';
import { fixture } from '../helpers/paths.js';
import { isAlive } from '../helpers/processes.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';
import { AGENT, ALLOW_ALL, GatewayFarm, echoPid, exec, serverHealth } from './reload-support.js';
import { textOf, errorOf } from '../helpers/results.js';

const farm = new GatewayFarm('supervision');
const measured: string[] = [];

const node = (name: string, env?: Record<string, string>) => ({
  command: process.execPath,
  args: [fixture(name)],
  ...(env ? { env } : {}),
});

afterAll(async () => {
  await farm.closeAll();
  cleanupTmpDirs();
  if (measured.length) console.log(`supervision timings:\n  ${measured.join('\n  ')}`);
});

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

describe('a server that crashes on its third call', () => {
  it('fails the call in flight at once with the exit code and stderr, then recovers on the next call', async () => {
    const gw = await farm.start({ mcpServers: { crash: node('crash-on-call', { CRASH_ON_CALL: '3' }), echo: node('echo') }, rules: ALLOW_ALL });
    const first = textOf(await exec(gw, 'crash', 'hello'));
    expect(first).toMatch(/^hello from \d+$/);
    const firstPid = Number(first.split(' ').pop());
    expect(textOf(await exec(gw, 'crash', 'ok'))).toBe('ok');

    // A long timeout: the failure must come from the exit, not from the clock.
    const crash = await timed(() => exec(gw, 'crash', 'ok', {}, { timeout_ms: 60_000 }));
    measured.push(`crash in flight -> SERVER_UNAVAILABLE: ${crash.ms.toFixed(0)} ms`);
    expect(crash.ms).toBeLessThan(2_000);
    expect(crash.value.isError).toBe(true);
    expect(errorOf(crash.value)?.code).toBe('SERVER_UNAVAILABLE');
    expect(errorOf(crash.value)?.message).toContain("Server 'crash' exited with code 42");
    expect(errorOf(crash.value)?.message).toContain('crashing on call 3');

    let health = await serverHealth(gw, 'crash');
    expect(health).toMatchObject({ state: 'failed', restarts: 0, consecutive_failures: 1 });
    expect(health.last_error).toContain('exited with code 42');
    expect(Date.parse(health.next_retry!)).not.toBeNaN();
    expect(isAlive(firstPid)).toBe(false);
    // The other server never noticed.
    expect(textOf(await exec(gw, 'echo', 'echo', { message: 'fine' }))).toBe('fine');

    // The next call starts a new process (after the 0.5 s backoff) and works.
    const again = await timed(() => exec(gw, 'crash', 'hello'));
    measured.push(`next call after the crash (restart included): ${again.ms.toFixed(0)} ms`);
    expect(again.value.isError).not.toBe(true);
    expect(textOf(again.value)).toMatch(/^hello from \d+$/);
    expect(textOf(again.value)).not.toBe(first);
    health = await serverHealth(gw, 'crash');
    expect(health).toMatchObject({ state: 'ready', restarts: 1, consecutive_failures: 0, next_retry: null, last_error: null });
  });
});

describe('a server that never starts', () => {
  it('backs off between attempts, then fails fast with the retry time; the others are unaffected', async () => {
    const gw = await farm.start({ mcpServers: { dead: node('never-starts'), echo: node('echo') }, rules: ALLOW_ALL });
    await echoPid(gw, 'echo');

    const first = await timed(() => exec(gw, 'dead', 'anything'));
    expect(errorOf(first.value)?.code).toBe('SERVER_UNAVAILABLE');
    expect(errorOf(first.value)?.message).toContain("Server 'dead' exited with code 3 during initialization");
    expect(errorOf(first.value)?.message).toContain('fatal: cannot start (fixture)');

    // Failures 2 to 5: each attempt waits out the backoff (0.5, 1, 2, 4 s after the previous
    // failure). While a call to `dead` waits, calls to `echo` answer at once.
    const expectedWaits = [500, 1_000, 2_000, 4_000];
    for (const [i, wait] of expectedWaits.entries()) {
      const call = timed(() => exec(gw, 'dead', 'anything'));
      const other = await timed(() => exec(gw, 'echo', 'echo', { message: `during backoff ${i}` }));
      expect(textOf(other.value)).toBe(`during backoff ${i}`);
      expect(other.ms).toBeLessThan(Math.min(wait, 1_000));
      const { value, ms } = await call;
      measured.push(`attempt ${i + 2} after a ${wait} ms backoff answered in ${ms.toFixed(0)} ms (echo meanwhile: ${other.ms.toFixed(0)} ms)`);
      expect(errorOf(value)?.code).toBe('SERVER_UNAVAILABLE');
      expect(errorOf(value)?.message).toContain('exited with code 3 during initialization');
      // Measured from the client, which learned of the previous failure a little after it happened.
      expect(ms).toBeGreaterThanOrEqual(wait - 150);
      expect((await serverHealth(gw, 'dead')).consecutive_failures).toBe(i + 2);
    }

    // Five in a row: refused at once, with when the next attempt will be.
    const refused = await timed(() => exec(gw, 'dead', 'anything'));
    measured.push(`fail-fast refusal: ${refused.ms.toFixed(0)} ms`);
    expect(refused.ms).toBeLessThan(500);
    const message = errorOf(refused.value)?.message ?? '';
    expect(errorOf(refused.value)?.code).toBe('SERVER_UNAVAILABLE');
    const m = /Server 'dead' is marked failed after 5 failures in a row; next retry at (\S+Z) \(in (\d+) s\)\. Last error: .*exited with code 3/s.exec(message);
    expect(m, message).not.toBeNull();
    const retryAt = Date.parse(m![1]!);
    expect(retryAt - Date.now()).toBeGreaterThan(0);
    expect(retryAt - Date.now()).toBeLessThanOrEqual(8_000);
    expect(Number(m![2])).toBeGreaterThanOrEqual(1);
    expect(Number(m![2])).toBeLessThanOrEqual(8);

    const health = await serverHealth(gw, 'dead');
    expect(health).toMatchObject({ state: 'failed', fail_fast: true, consecutive_failures: 5, restarts: 4, next_retry: m![1] });
    expect(health.last_error).toContain('fatal: cannot start (fixture)');

    const listed = (await callTool(gw.client, 'list_servers', { agent_id: AGENT, include_metadata: true })).structuredContent as {
      servers: { name: string; status: string }[];
    };
    expect(listed.servers.map((s) => [s.name, s.status])).toEqual([
      ['dead', 'failed'],
      ['echo', 'ready'],
    ]);
    expect(textOf(await exec(gw, 'echo', 'echo', { message: 'still fine' }))).toBe('still fine');
  });
});

describe('a server that hangs at start-up', () => {
  it('never delays calls to the other servers', async () => {
    const gw = await farm.start({ mcpServers: { hung: node('slow-start'), echo: node('echo') }, rules: ALLOW_ALL });
    await echoPid(gw, 'echo');
    const abort = new AbortController();
    const hanging = callTool(gw.client, 'execute_tool', { agent_id: AGENT, server: 'hung', tool: 'ping_me' }, { signal: abort.signal }).catch((err: unknown) => err);
    try {
      for (let i = 0; i < 5; i++) {
        const { value, ms } = await timed(() => exec(gw, 'echo', 'echo', { message: `m${i}` }));
        expect(textOf(value)).toBe(`m${i}`);
        expect(ms).toBeLessThan(1_000);
      }
      expect((await serverHealth(gw, 'hung')).state).toBe('connecting');
    } finally {
      abort.abort();
      await hanging;
    }
  });
});
