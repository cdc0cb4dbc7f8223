// Process lifecycle of stdio downstream servers: process groups, grandchildren, close timing,
// onclose semantics. Checked against the real process table (/proc).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killGroupSync } from '../../src/downstream/processGroup.js';
import { ProcessGroupTransport } from '../../src/downstream/processGroupTransport.js';
import { buildChildEnv } from '../../src/downstream/childEnv.js';
import { fixture } from '../helpers/paths.js';
import { isAlive, processGroupMembers, waitFor } from '../helpers/processes.js';
import { MARKER, MARKER_NAME, closeTracked, connection, expectNoLeftovers, fixtureSpec, silent, textOf, track } from '../helpers/downstream.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };

afterEach(closeTracked);
afterAll(expectNoLeftovers);

interface Family {
  pid: number;
  children: number[];
}

/** Starts spawner.mjs through a connection and returns it with its process family. */
async function spawner(env: Record<string, string> = {}) {
  const c = connection(fixtureSpec('spawner', 'spawner', { env }));
  const result = await c.callTool('children', {}, CALL);
  const family = result.structuredContent as unknown as Family;
  expect(family.pid).toBe(c.pid);
  expect(family.children).toHaveLength(2);
  // The sh child has its own `sleep 1001` child: three levels, one group.
  await waitFor(() => processGroupMembers(family.pid).length >= 4);
  return { c, family, members: processGroupMembers(family.pid).map((p) => p.pid) };
}

function transport(file: string, env: Record<string, string> = {}): ProcessGroupTransport {
  return track(
    new ProcessGroupTransport({
      serverName: file,
      command: process.execPath,
      args: [fixture(file)],
      env: buildChildEnv(process.env, { [MARKER_NAME]: MARKER, ...env }),
      logger: silent,
    }),
  );
}

describe('close', () => {
  it('kills the whole process group, grandchildren included, within 1 s', async () => {
    const { c, family, members } = await spawner();
    const started = Date.now();
    await c.close();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(1_000);
    expect(processGroupMembers(family.pid)).toEqual([]);
    for (const pid of members) expect(isAlive(pid)).toBe(false);
    expect(c.state).toBe('closed');
    expect(c.pid).toBeUndefined();
  });

  it('escalates to SIGKILL for a server that ignores stdin EOF and SIGTERM, still within 1 s', async () => {
    const { c, family } = await spawner({ SPAWNER_STUBBORN: '1' });
    const started = Date.now();
    await c.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(processGroupMembers(family.pid)).toEqual([]);
  });

  it('is fast for a cooperative server', async () => {
    const c = connection(fixtureSpec('echo', 'echo'));
    await c.connect();
    const pid = c.pid!;
    const started = Date.now();
    await c.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(isAlive(pid)).toBe(false);
  });

  it('is idempotent: one shutdown, one onclose', async () => {
    const t = transport('echo');
    let closes = 0;
    t.onclose = () => closes++;
    await t.start();
    const pid = t.pid!;
    const first = t.close();
    const second = t.close();
    expect(second).toBe(first);
    await Promise.all([first, second, t.close()]);
    expect(closes).toBe(1);
    expect(isAlive(pid)).toBe(false);
    expect(t.exitInfo).toBeDefined();
    await expect(t.send({ jsonrpc: '2.0', method: 'notifications/initialized' })).rejects.toThrow(/Not connected/);

    const c = connection(fixtureSpec('echo', 'echo'));
    await c.connect();
    const p1 = c.close();
    expect(c.close()).toBe(p1);
    await p1;
  });

  it('handles close before start and close of a never-started connection', async () => {
    const t = transport('echo');
    let closes = 0;
    t.onclose = () => closes++;
    await t.close();
    expect(closes).toBe(1);
    await expect(t.start()).rejects.toThrow();

    const c = connection(fixtureSpec('echo', 'echo'));
    await c.close();
    expect(c.state).toBe('closed');
  });
});

describe('when the server dies on its own', () => {
  it('fires onclose exactly once with the exit status', async () => {
    const t = transport('never-starts');
    let closes = 0;
    t.onclose = () => closes++;
    await t.start();
    await waitFor(() => closes === 1);
    expect(t.exitInfo).toEqual({ code: 3, signal: null });
    expect(t.stderrTail()).toBe('fatal: cannot start (fixture)');
    await t.close();
    expect(closes).toBe(1);
  });

  it('reaps the orphaned grandchildren and marks the connection failed', async () => {
    const { c, family, members } = await spawner();
    process.kill(family.pid, 'SIGKILL');
    await waitFor(() => c.state === 'failed', { timeoutMs: 2_000 });
    expect(c.lastError).toContain("Server 'spawner' was killed by signal SIGKILL");
    await waitFor(() => processGroupMembers(family.pid).length === 0, { timeoutMs: 2_000 });
    for (const pid of members) expect(isAlive(pid)).toBe(false);

    // And the next call starts a new family.
    const again = await c.callTool('children', {}, CALL);
    expect((again.structuredContent as unknown as Family).pid).not.toBe(family.pid);
    expect(c.restarts).toBe(1);
  });
});

describe('killGroupSync', () => {
  it('kills every member of the group at once, and tolerates a group that is gone', async () => {
    const { c, family, members } = await spawner({ SPAWNER_STUBBORN: '1' });
    killGroupSync(family.pid);
    await waitFor(() => members.every((pid) => !isAlive(pid)), { timeoutMs: 2_000 });
    await waitFor(() => c.state === 'failed', { timeoutMs: 2_000 });
    expect(c.lastError).toContain('SIGKILL');
    expect(() => killGroupSync(family.pid)).not.toThrow();
  });

  it('is what DownstreamConnection.killSync uses', async () => {
    const c = connection(fixtureSpec('echo', 'echo'));
    expect(textOf(await c.callTool('pid', {}, CALL))).toBe(String(c.pid));
    const pid = c.pid!;
    c.killSync();
    await waitFor(() => !isAlive(pid), { timeoutMs: 2_000 });
  });
});
