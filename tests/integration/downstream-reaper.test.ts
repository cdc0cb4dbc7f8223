// The reaper (src/downstream/reaper.ts) with real processes: on the end of its pipe it ends
// every group still registered, SIGTERM first and SIGKILL for those that ignore it, leaves
// alone a group that was unregistered (its id may belong to somebody else by then), removes
// the gateway's folder, and exits. The gateway-level SIGKILL test is in
// tests/e2e/gateway-orphans.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Reaper } from '../../src/downstream/reaper.js';
import { createLogger } from '../../src/log.js';
import { isAlive, killPids, waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

const started: number[] = [];

afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  killPids(started);
  cleanupTmpDirs();
});

/** A process group of its own (a stand-in for a downstream); `stubborn` ignores SIGTERM. */
function group(stubborn: boolean): ChildProcess {
  const script = stubborn ? "trap '' TERM; sleep 1000 & wait; sleep 1000" : 'sleep 1000 & wait';
  const child = spawn('/bin/sh', ['-c', script], { stdio: 'ignore', detached: true });
  started.push(child.pid!);
  return child;
}

describe('Reaper', () => {
  it('on EOF: ends the registered groups (SIGKILL for one that ignores SIGTERM), spares an unregistered one, removes the folder', async () => {
    const folder = join(makeTmpDir('amg-reaper-'), 'gw-1-1-00000000');
    mkdirSync(join(folder, 'server-x'), { recursive: true });
    writeFileSync(join(folder, 'server-x', 'file'), 'x');
    const reaper = new Reaper({ folder, path: process.env['PATH'], logger: createLogger('silent') });
    const polite = group(false);
    const stubborn = group(true);
    const spared = group(false);
    for (const c of [polite, stubborn, spared]) reaper.track(c.pid!);
    reaper.untrack(spared.pid!);
    await waitFor(() => reaper.pid !== undefined && isAlive(reaper.pid));
    const reaperPid = reaper.pid!;
    // What the gateway's death does to the pipe, without the gateway dying.
    reaper.close();
    const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
    await waitFor(() => exited(polite) && exited(stubborn) && !isAlive(reaperPid), { timeoutMs: 5_000 });
    expect(polite.signalCode).toBe('SIGTERM');
    expect(stubborn.signalCode).toBe('SIGKILL');
    expect(exited(spared)).toBe(false);
    expect(existsSync(folder)).toBe(false);
    reaper.close(); // idempotent
  });

  it('is not started before the first group, and starts again (with the list) if it dies', async () => {
    const reaper = new Reaper({ path: process.env['PATH'], logger: createLogger('silent') });
    expect(reaper.pid).toBeUndefined();
    const g = group(false);
    reaper.track(g.pid!);
    const first = reaper.pid!;
    await waitFor(() => isAlive(first));
    process.kill(first, 'SIGKILL');
    await waitFor(() => reaper.pid !== undefined && reaper.pid !== first && isAlive(reaper.pid), { timeoutMs: 5_000 });
    reaper.close();
    await waitFor(() => g.signalCode !== null, { timeoutMs: 5_000 });
    expect(g.signalCode).toBe('SIGTERM');
  });
});
