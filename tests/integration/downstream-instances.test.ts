// InstanceRegistry in process, with real fixture processes and a clock the test moves: idle
// expiry (never under a running call), a dead instance reported once then replaced, limits
// checked before anything is spawned, a failed start keeping no slot, scopes closed whole.
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { InstanceRegistry, type InstanceLimits } from '../../src/downstream/instances.js';
import { ManualClock } from '../helpers/manualClock.js';
import { isAlive, processesWithEnv, waitFor } from '../helpers/processes.js';
import { MARKER, MARKER_NAME, expectNoLeftovers, fixtureSpec, options, stdioSpec, textOf, track, closeTracked } from '../helpers/downstream.js';

// Sweeps every second of the test's clock, which moves only when a test advances it.
const LIMITS: InstanceLimits = { defaultTimeoutS: 10, cleanupIntervalS: 1, maxPerServer: 2, maxTotal: 3 };
const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };
const todo = fixtureSpec('todo', 'todo', { isolation: 'session' });

let clock = new ManualClock();
function registry(limits: InstanceLimits = LIMITS): InstanceRegistry {
  clock = new ManualClock();
  return track(new InstanceRegistry(options({ clock }), limits));
}
const request = (scope: string, extra: { timeoutS?: number } = {}) => ({ spec: todo, scope, label: `session "${scope}"`, agentId: 'a', ...extra });

async function pidOf(reg: InstanceRegistry, scope: string): Promise<number> {
  const lease = await reg.acquire(request(scope));
  try {
    return Number(textOf(await lease.connection.callTool('pid', {}, CALL)));
  } finally {
    lease.release();
  }
}

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

afterEach(async () => {
  await closeTracked();
  await expectNoLeftovers();
});

describe('InstanceRegistry', () => {
  it('sweeps an instance idle past its timeout, never one with a call running', async () => {
    const reg = registry();
    const pid = await pidOf(reg, 's1');
    const held = await reg.acquire(request('s1', { timeoutS: 5 }));
    clock.advance(6_000);
    expect(isAlive(pid)).toBe(true);
    held.release();
    clock.advance(4_000);
    expect(reg.find('todo', 's1')?.pid).toBe(pid);
    clock.advance(2_000);
    await waitFor(() => !isAlive(pid), { message: 'idle instance not closed' });
    expect(reg.find('todo', 's1')).toBeUndefined();
  });

  it('a dead instance found by the sweep is reported to the next call, then replaced', async () => {
    const reg = registry();
    const pid = await pidOf(reg, 's1');
    process.kill(pid, 'SIGKILL');
    await waitFor(() => reg.find('todo', 's1')?.state === 'failed', { message: 'death not noticed' });
    clock.advance(1_000);
    const lost = await refusal(reg.acquire(request('s1')));
    expect(lost.code).toBe('SERVER_UNAVAILABLE');
    expect(lost.message).toContain('was killed by signal SIGKILL');
    expect(lost.message).toContain('The instance of server \'todo\' for session "s1" is gone and its state was lost');
    expect(await pidOf(reg, 's1')).not.toBe(pid);
  });

  it('limits refuse before anything is spawned; other scopes keep working', async () => {
    const reg = registry();
    await pidOf(reg, 's1');
    await pidOf(reg, 's2');
    const before = processesWithEnv(MARKER_NAME, MARKER).length;
    const perServer = await refusal(reg.acquire(request('s3')));
    expect(perServer.code).toBe('TOO_MANY_SESSIONS');
    const other = fixtureSpec('todo2', 'todo', { isolation: 'session' });
    const lease = await reg.acquire({ ...request('s4'), spec: other });
    lease.release();
    const total = await refusal(reg.acquire({ ...request('s5'), spec: other }));
    expect(total.message).toContain('max_total_sessions');
    expect(processesWithEnv(MARKER_NAME, MARKER).length).toBe(before + 1);
    expect(reg.size).toBe(3);
  });

  it('a failed start keeps no slot and no process; concurrent first calls share it', async () => {
    const reg = registry({ ...LIMITS, maxPerServer: 1 });
    const broken = stdioSpec('broken', ['-e', 'process.exit(3)'], { isolation: 'session' });
    const attempts = await Promise.allSettled([1, 2].map(() => reg.acquire({ ...request('s1'), spec: broken })));
    expect(attempts.map((a) => a.status)).toEqual(['rejected', 'rejected']);
    expect(reg.size).toBe(0);
    // The slot is free again.
    expect(await pidOf(reg, 's1')).toBeGreaterThan(0);
  });

  it('closeScope closes every server of the scope and waits for the processes', async () => {
    const reg = registry();
    const pid = await pidOf(reg, 's1');
    const other = await pidOf(reg, 's2');
    expect(await reg.closeScope('s1')).toBe(1);
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(other)).toBe(true);
    await reg.close();
    await reg.close();
    expect(isAlive(other)).toBe(false);
    await expect(reg.acquire(request('s3'))).rejects.toThrow('shutting down');
  });
});
