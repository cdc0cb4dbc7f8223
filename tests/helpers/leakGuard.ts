// The one leak check every file that starts processes ends with: close what the file opened,
// then wait for every process carrying its marker to be gone. A process that outlives the
// bound is killed and named in the error, so one file's leak never reaches the next file.
import { afterAll } from 'vitest';
import { killPids, processesWithEnv, waitFor } from './processes.js';
import { cleanupTmpDirs } from './tmp.js';

export interface LeakGuardOptions {
  /** Closes what the file opened (gateways, clients, peers), before the check. */
  close?: () => unknown;
  /** How long the processes get to go after `close`. */
  timeoutMs?: number;
  /** Names the leak in the error. */
  what?: string;
  /** The environment variable the file's processes carry `marker` in. */
  markerVar?: string;
}

/** Registers the file's `afterAll`: close, check for leftovers, remove the temporary folders. */
export function guardAgainstLeaks(marker: string, options: LeakGuardOptions = {}): void {
  const { close, ...check } = options;
  afterAll(async () => {
    try {
      await close?.();
      await expectNoProcessesLeft(marker, check);
    } finally {
      cleanupTmpDirs();
    }
  });
}

/** The check itself, for files whose afterAll does more (tests/helpers/downstream.ts). */
export async function expectNoProcessesLeft(marker: string, options: Omit<LeakGuardOptions, 'close'> = {}): Promise<void> {
  const { timeoutMs = 10_000, what = 'processes left behind', markerVar = 'GW_E2E_MARKER' } = options;
  try {
    await waitFor(() => processesWithEnv(markerVar, marker).length === 0, { timeoutMs, message: what });
  } catch (e) {
    const left = processesWithEnv(markerVar, marker);
    killPids(left.map((p) => p.pid));
    throw new Error(`${(e as Error).message}: ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`, { cause: e });
  }
}
