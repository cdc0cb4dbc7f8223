// InstanceRegistry's sweep runs on the injected clock: an idle instance is closed once the
// clock passes its idle timeout, never while a call holds it. In memory, no processes.
import { afterEach, describe, expect, it } from 'vitest';
import { InstanceRegistry } from '../../../src/downstream/instances.js';
import { ManualClock } from '../../helpers/manualClock.js';
import { memoryServers, textResult } from '../../helpers/memoryDownstream.js';
import { closeTracked, options, stdioSpec, textOf, track } from '../../helpers/downstream.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };

afterEach(closeTracked);

describe('InstanceRegistry sweep', () => {
  it('closes an idle instance when the clock passes its timeout, not while a call holds it', async () => {
    const clock = new ManualClock();
    const transportFactory = memoryServers((server) => {
      server.registerTool('ok', { description: 'ok' }, () => textResult('ok'));
    });
    const reg = track(new InstanceRegistry(options({ clock, transportFactory }), { defaultTimeoutS: 10, cleanupIntervalS: 1, maxPerServer: 2, maxTotal: 2 }));
    const spec = stdioSpec('todo', [], { isolation: 'session' });
    const lease = await reg.acquire({ spec, scope: 's1', label: 'session "s1"', agentId: 'a' });
    expect(textOf(await lease.connection.callTool('ok', {}, CALL))).toBe('ok');

    // Held by a call: never swept, however long it runs.
    clock.advance(60_000);
    expect(reg.size).toBe(1);

    lease.release();
    clock.advance(10_000);
    expect(reg.size).toBe(1);
    clock.advance(1_000);
    expect(reg.size).toBe(0);
    expect(lease.connection.state).toBe('closed');
  });
});
