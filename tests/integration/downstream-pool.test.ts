// DownstreamPool: eager start that never blocks, parallel close with no process left,
// the last-resort kill, and apply() (the reload diff of the next issue).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DownstreamPool, connectionKey } from '../../src/downstream/pool.js';
import { isAlive, processGroupMembers, waitFor } from '../helpers/processes.js';
import { closeTracked, connectedAs, expectNoLeftovers, fixtureSpec, options, recordingLogger, textOf, track } from '../helpers/downstream.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };

afterEach(closeTracked);
afterAll(expectNoLeftovers);

const recorded = recordingLogger();

function pool(specs: Parameters<typeof fixtureSpec>[], connectTimeoutMs?: number): DownstreamPool {
  return track(
    new DownstreamPool(
      specs.map((args) => fixtureSpec(...args)),
      options(connectTimeoutMs === undefined ? { logger: recorded.logger } : { connectTimeoutMs, logger: recorded.logger }),
    ),
  );
}

async function pidOf(p: DownstreamPool, name: string): Promise<number> {
  return Number(textOf(await p.get(name)!.callTool('pid', {}, CALL)));
}

describe('DownstreamPool', () => {
  it('keeps config order and starts nothing until asked', () => {
    const p = pool([
      ['b', 'echo'],
      ['a', 'echo'],
      ['c', 'paged'],
    ]);
    expect(p.names()).toEqual(['b', 'a', 'c']);
    expect(p.connections().map((c) => c.state)).toEqual(['idle', 'idle', 'idle']);
    expect(p.get('a')?.name).toBe('a');
    expect(p.get('zzz')).toBeUndefined();
  });

  it('connectAll starts all in parallel without blocking or throwing; failures are only recorded', async () => {
    const p = pool(
      [
        ['good', 'echo'],
        ['dead', 'never-starts'],
        ['hung', 'slow-start'],
      ],
      3_000,
    );
    const started = Date.now();
    p.connectAll();
    // It returns while every server is still starting (spawning is synchronous in Node, so
    // only a loose bound on the time itself).
    expect(p.connections().every((c) => c.state === 'connecting')).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);

    await waitFor(() => p.get('good')!.state !== 'connecting');
    expect(p.get('good')!.lastError).toBeUndefined();
    expect(p.get('good')!.state).toBe('ready');
    await waitFor(() => p.get('dead')!.state === 'failed');
    // The good server is usable while the hung one is still starting.
    expect(textOf(await p.get('good')!.callTool('echo', { message: 'ok' }, CALL))).toBe('ok');
    expect(p.get('dead')!.lastError).toContain('exited with code 3');
    await waitFor(() => p.get('hung')!.state === 'failed', { timeoutMs: 8_000 });
    expect(p.get('hung')!.lastError).toContain('did not complete initialization within 3000ms');
  });

  it('close shuts every server down in parallel, quickly, and is idempotent', async () => {
    const p = pool([
      ['e1', 'echo'],
      ['e2', 'echo'],
      ['sp', 'spawner'],
      ['st', 'spawner', { env: { SPAWNER_STUBBORN: '1' } }],
    ]);
    const pids = [await pidOf(p, 'e1'), await pidOf(p, 'e2')];
    for (const name of ['sp', 'st']) {
      await p.get(name)!.callTool('children', {}, CALL);
      pids.push(p.get(name)!.pid!);
    }
    await waitFor(() => pids.slice(2).every((pid) => processGroupMembers(pid).length >= 4));

    const started = Date.now();
    const first = p.close();
    expect(p.close()).toBe(first);
    await first;
    expect(Date.now() - started).toBeLessThan(1_000);
    for (const pid of pids) expect(processGroupMembers(pid)).toEqual([]);
    expect(p.connections().every((c) => c.state === 'closed')).toBe(true);
    p.connectAll(); // no-op after close
    expect(p.connections().every((c) => c.state === 'closed')).toBe(true);
  });

  it('killAllSync SIGKILLs every process group at once', async () => {
    const p = pool([
      ['e1', 'echo'],
      ['st', 'spawner', { env: { SPAWNER_STUBBORN: '1' } }],
      ['idle', 'echo'],
    ]);
    const echoPid = await pidOf(p, 'e1');
    await p.get('st')!.callTool('children', {}, CALL);
    const spawnerPid = p.get('st')!.pid!;
    await waitFor(() => processGroupMembers(spawnerPid).length >= 4);

    p.killAllSync();
    await waitFor(() => !isAlive(echoPid) && processGroupMembers(spawnerPid).length === 0, { timeoutMs: 2_000 });
  });

  it('apply keeps unchanged servers, replaces changed ones, closes removed ones, adds new ones', async () => {
    const p = pool([
      ['keep', 'echo', { description: 'old text' }],
      ['change', 'echo'],
      ['remove', 'spawner'],
    ]);
    const keepPid = await pidOf(p, 'keep');
    const changePid = await pidOf(p, 'change');
    await p.get('remove')!.callTool('children', {}, CALL);
    const removePid = p.get('remove')!.pid!;
    const keepConnection = p.get('keep');
    const oldChange = p.get('change')!;

    const result = p.apply(
      [
        fixtureSpec('added', 'echo'),
        fixtureSpec('keep', 'echo', { description: 'new text', timeoutMs: 5 }),
        fixtureSpec('change', 'echo', { env: { ECHO_SERVER_NAME: 'renamed' } }),
      ],
      { connect: true },
    );
    expect(result).toMatchObject({ added: ['added'], removed: ['remove'], changed: ['change'], unchanged: ['keep'] });
    expect(p.names()).toEqual(['added', 'keep', 'change']);
    await result.retired;

    expect(p.get('keep')).toBe(keepConnection);
    expect(p.get('keep')!.spec.description).toBe('new text');
    expect(await pidOf(p, 'keep')).toBe(keepPid);
    expect(oldChange.state).toBe('closed');
    expect(isAlive(changePid)).toBe(false);
    expect(await pidOf(p, 'change')).not.toBe(changePid);
    expect(connectedAs(recorded.records, 'change')).toBe('renamed');
    expect(processGroupMembers(removePid)).toEqual([]);
    expect(p.get('remove')).toBeUndefined();
    await waitFor(() => p.get('added')!.state === 'ready');
  });

  it('apply lets calls on a replaced connection finish within drainMs', async () => {
    const p = pool([['srv', 'echo']]);
    const old = p.get('srv')!;
    const running = old.callTool('slow', { ms: 400 }, CALL);
    await waitFor(() => old.state === 'ready');
    const result = p.apply([fixtureSpec('srv', 'echo', { env: { CHANGED: '1' } })], { drainMs: 5_000 });
    expect(result.changed).toEqual(['srv']);
    expect(textOf(await running)).toBe('slept 400');
    await result.retired;
    expect(old.state).toBe('closed');
  });

  it('connectionKey ignores description, timeout and env order, not env values', () => {
    const a = fixtureSpec('x', 'echo', { env: { A: '1', B: '2' }, description: 'one', timeoutMs: 1 });
    const b = fixtureSpec('x', 'echo', { env: { B: '2', A: '1' }, description: 'two' });
    const c = fixtureSpec('x', 'echo', { env: { A: '1', B: '3' } });
    expect(connectionKey(a)).toBe(connectionKey(b));
    expect(connectionKey(a)).not.toBe(connectionKey(c));
  });
});
