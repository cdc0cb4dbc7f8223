// Memory of the gateway process alone (/proc/<pid>/status; its children are other
// processes and are not counted): idle, and over a long run of calls.

import type { Context } from '../lib/context.js';
import { importCosts } from './coldStart.js';
import { GroupStdioTransport, readMemory } from '../lib/proc.js';
import { sleep, timeConcurrent } from '../lib/stats.js';
import { call, AGENT, childEnv, echoCaller, SERVERS, startDirect, startGateway } from '../lib/targets.js';

export const IDLE_BUDGET_MB = 60;
/**
 * "No growth". RSS of a busy Node process is a sawtooth (tens of MB between garbage
 * collections), so two single readings say little. RSS is read after every twentieth of the
 * calls; growth is the lowest reading of the last third minus the lowest reading of the middle
 * third. The first third is left out: V8 is still sizing its heap there, and with the young
 * generation held small (config/codeCacheLoader.mjs) that takes the first 10,000 calls or so.
 * The lows are the readings just after a collection: a leak raises them steadily (between the
 * middle and the last third too), a sawtooth does not.
 */
export const GROWTH_BUDGET_MB = 5;

export async function runMemory(ctx: Context): Promise<void> {
  ctx.log('memory: idle');
  const [direct, gateway] = await Promise.all([
    startDirect(SERVERS.echo, 'direct echo (memory)'),
    startGateway({ servers: { echo: SERVERS.echo }, label: 'gateway (memory)' }),
  ]);
  try {
    const atStart = readMemory(gateway.pid);
    await call(gateway, 'list_servers', { agent_id: AGENT });
    const gwEcho = echoCaller(gateway, true, 'echo', 'echo', { message: 'idle' });
    await gwEcho();
    await echoCaller(direct, false, 'echo', 'echo', { message: 'idle' })();
    await sleep(ctx.quick ? 300 : 1_000);
    const idleGw = readMemory(gateway.pid);
    const idleDirect = readMemory(direct.pid);
    const idleMet = (idleGw?.rssMb ?? Infinity) <= IDLE_BUDGET_MB;
    ctx.rows.push({
      section: 'Memory',
      metric: 'idle RSS after start, one call, 1 s quiet (direct = the echo server)',
      unit: 'MB',
      direct: idleDirect?.rssMb ?? NaN,
      gateway: idleGw?.rssMb ?? NaN,
      budget: `gateway ≤ ${IDLE_BUDGET_MB} MB`,
      met: idleMet,
      explainedBy: {
        text: 'the code loaded: a bare node process and the SDK server + client alone (the floor of an SDK-based gateway) take most of it; see the RSS column of the table *Cold start: what each import costs* below, and docs/performance.md (Third round: idle RSS).',
      },
    });
    // The table the row points to, also when the cold-start rows are met (they add it only when they miss).
    if (!idleMet) await importCosts(ctx);
    await direct.close();
    const bare = await bareNodeRss();
    ctx.rows.push({ section: 'Memory', metric: 'reference: idle RSS of a bare node process (no imports)', unit: 'MB', direct: bare });

    const total = ctx.sizes.growthCalls;
    ctx.log(`memory: ${total.toLocaleString('en-US')} calls`);
    const steps = 20;
    const checkpoints: { calls: number; rssMb: number; hwmMb: number }[] = [];
    let done = 0;
    for (let i = 0; i < steps; i++) {
      const n = Math.round((total * (i + 1)) / steps) - done;
      await timeConcurrent(gwEcho, n, ctx.sizes.inFlight);
      done += n;
      const m = readMemory(gateway.pid);
      checkpoints.push({ calls: done, rssMb: m?.rssMb ?? NaN, hwmMb: m?.hwmMb ?? NaN });
    }
    const third = Math.floor(steps / 3);
    const low = (from: number, to: number): number => Math.min(...checkpoints.slice(from, to).map((c) => c.rssMb));
    const early = low(third, 2 * third);
    const late = low(steps - third, steps);
    const growth = late - early;
    const last = checkpoints[checkpoints.length - 1]!;
    ctx.rows.push({
      section: 'Memory',
      metric: `RSS growth over ${total.toLocaleString('en-US')} calls (low of the last third − low of the middle third)`,
      unit: 'MB',
      gateway: growth,
      budget: `≤ ${GROWTH_BUDGET_MB} MB (no growth)`,
      met: growth <= GROWTH_BUDGET_MB,
      explainedBy: {
        text: 'see the readings in the notes: a leak lifts the post-collection lows steadily; lows that rise while V8 sizes its heap and then stay flat are not a leak (quick runs are too short to tell).',
      },
    });
    ctx.notes.push(
      `Memory growth: ${total.toLocaleString('en-US')} echo calls through one gateway, ${ctx.sizes.inFlight} in flight, audit log off; ` +
        `RSS at each twentieth: ${checkpoints.map((c) => c.rssMb.toFixed(0)).join(', ')} MB (lows ${early.toFixed(1)} → ${late.toFixed(1)} MB); peak (VmHWM) ${last.hwmMb.toFixed(1)} MB.`,
    );
    ctx.data['memory'] = {
      startMb: atStart,
      idleGatewayMb: idleGw,
      idleDirectServerMb: idleDirect,
      growthCheckpoints: checkpoints,
    };
  } finally {
    await gateway.close();
    await direct.close();
  }
}

/** VmRSS of a node process that imports nothing and waits: what the runtime alone costs. */
async function bareNodeRss(): Promise<number> {
  const t = new GroupStdioTransport({ command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: childEnv() });
  await t.start();
  try {
    await sleep(500);
    return readMemory(t.pid)?.rssMb ?? NaN;
  } finally {
    await t.close(0);
  }
}
