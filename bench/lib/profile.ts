// Runs a gateway under `node --cpu-prof` and summarizes where its time went.

import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Context } from './context.js';
import { summarizeProfile } from './cpuprofile.js';
import { sleep } from './stats.js';
import { LEGACY_ERA, PROFILE_DIR, REPO_ROOT, startGateway, type Era, type GatewayStart, type Target } from './targets.js';

export { PROFILE_DIR };

/**
 * Starts a gateway with --cpu-prof, lets `work` drive it, closes it (a clean exit writes the
 * profile) and records a summary of the window `work` reports (ms since spawn).
 */
export async function profileGateway<E extends Era = typeof LEGACY_ERA>(
  ctx: Context,
  what: string,
  start: Omit<GatewayStart<E>, 'nodeFlags'>,
  work: (gateway: Target<E>) => Promise<{ fromMs: number; toMs: number; calls?: number }>,
): Promise<void> {
  mkdirSync(ctx.profileDir, { recursive: true });
  const name = `${ctx.stamp}-${what}.cpuprofile`;
  const file = join(ctx.profileDir, name);
  ctx.log(`profiling: ${what} -> ${relative(REPO_ROOT, file)}`);
  const gateway = (await startGateway({
    era: LEGACY_ERA,
    ...(start as Omit<GatewayStart<Era>, 'nodeFlags'>),
    nodeFlags: ['--cpu-prof', '--cpu-prof-dir', ctx.profileDir, '--cpu-prof-name', name, '--cpu-prof-interval', '100'],
  })) as Target<E>;
  let window: { fromMs: number; toMs: number; calls?: number };
  try {
    window = await work(gateway);
  } finally {
    await gateway.close();
  }
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(50);
  if (!existsSync(file)) {
    ctx.log(`profile ${name} was not written`);
    return;
  }
  const summary = summarizeProfile(file, { fromMs: window.fromMs, toMs: window.toMs });
  ctx.profiles.push({
    what,
    summary: { ...summary, file: relative(REPO_ROOT, file) },
    ...(window.calls ? { perCallUs: (summary.busyMs * 1000) / window.calls, calls: window.calls } : {}),
  });
}
