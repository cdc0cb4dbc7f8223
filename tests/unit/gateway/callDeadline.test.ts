// A call's deadline: waits end at the timeout or when the caller cancels, the signal (built
// on first use) says the same, and a start that outlives the wait is handed to `late`.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { CallDeadline } from '../../../src/gateway/operations/deadline.js';

const target = { server: 'srv', tool: 'echo' };
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe('CallDeadline', () => {
  it('passes a value that comes in time, and its signal stays quiet', async () => {
    const deadline = new CallDeadline(1_000, target);
    try {
      await expect(deadline.before(Promise.resolve(7), 'starting')).resolves.toBe(7);
      expect(deadline.signal.aborted).toBe(false);
    } finally {
      deadline.dispose();
    }
  });

  it('passes a start failure that comes before the deadline as it is', async () => {
    const deadline = new CallDeadline(1_000, target);
    try {
      await expect(deadline.before(Promise.reject(new Error('spawn failed')), 'starting')).rejects.toThrow('spawn failed');
    } finally {
      deadline.dispose();
    }
  });

  it('ends the wait with TIMEOUT at the deadline, hands a late value to `late`, and aborts the signal', async () => {
    const deadline = new CallDeadline(20, target);
    let resolveStart!: (v: string) => void;
    const start = new Promise<string>((r) => (resolveStart = r));
    const late: string[] = [];
    try {
      const err = await deadline.before(start, 'starting', (v) => late.push(v)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).code).toBe('TIMEOUT');
      expect((err as GatewayError).message).toContain("server 'srv' was still starting");
      expect(deadline.signal.aborted).toBe(true);
      resolveStart('lease');
      await expect.poll(() => late).toEqual(['lease']);
    } finally {
      deadline.dispose();
    }
  });

  it('a signal asked for before the deadline aborts when it passes', async () => {
    const deadline = new CallDeadline(20, target);
    try {
      const signal = deadline.signal;
      expect(signal.aborted).toBe(false);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      expect(signal.aborted).toBe(true);
    } finally {
      deadline.dispose();
    }
  });

  it("ends the wait with the caller's own reason when the caller cancels", async () => {
    const caller = new AbortController();
    const deadline = new CallDeadline(10_000, target, caller.signal);
    try {
      const waiting = deadline.before(never<number>(), 'starting').catch((e: unknown) => e);
      const reason = new Error('client went away');
      caller.abort(reason);
      await expect(waiting).resolves.toBe(reason);
      expect(deadline.signal.aborted).toBe(true);
    } finally {
      deadline.dispose();
    }
  });

  it('refuses at once when the caller had already cancelled', async () => {
    const caller = new AbortController();
    const reason = new Error('gone');
    caller.abort(reason);
    const deadline = new CallDeadline(10_000, target, caller.signal);
    try {
      await expect(deadline.before(never<number>(), 'listing its tools')).rejects.toBe(reason);
    } finally {
      deadline.dispose();
    }
  });
});
