// Reload: time from writing the rules file to the new rule being in force, seen from a client.
// Support is detected, not assumed: a rule that denies the tool is written and the tool is
// called until it is refused; if that never happens, hot reload is reported as not present.

import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from '../lib/context.js';
import { median, sleep, timeSequential } from '../lib/stats.js';
import { AGENT, echoCaller, gatewayRules, SERVERS, startGateway, writeJsonAtomic, type Target } from '../lib/targets.js';

export const RELOAD_BUDGET_MS = 500;
const POLL_MS = 2;

function deniedByPolicy(result: CallToolResult): boolean {
  const error = (result.structuredContent as { error?: { code?: unknown } } | undefined)?.error;
  return result.isError === true && error?.code === 'DENIED_BY_POLICY';
}

/** Writes the rules, then calls until `inForce` holds; ms from the write, or undefined on timeout. */
async function timeChange(gw: Target, rules: unknown, inForce: (r: CallToolResult) => boolean, timeoutMs: number): Promise<number | undefined> {
  const params = { name: 'execute_tool', arguments: { agent_id: AGENT, server: 'echo', tool: 'echo', args: { message: 'reload?' } } };
  const t0 = performance.now();
  writeJsonAtomic(gw.rulesPath!, rules);
  while (performance.now() - t0 < timeoutMs) {
    const result = await gw.client.request({ method: 'tools/call', params }, CallToolResultSchema);
    if (inForce(result)) return performance.now() - t0;
    await sleep(POLL_MS);
  }
  return undefined;
}

export async function runReload(ctx: Context): Promise<void> {
  ctx.log('reload');
  const gw = await startGateway({ servers: { echo: SERVERS.echo }, label: 'gateway (reload)' });
  const times: number[] = [];
  let supported = true;
  try {
    await timeSequential(echoCaller(gw, true, 'echo', 'echo', { message: 'warm' }), 20, []);
    // Editors keep the mtime granularity in mind; so do we: let the first write be clearly newer.
    await sleep(50);
    for (let rep = 0; rep < ctx.sizes.reloadReps && supported; rep++) {
      const deny = await timeChange(gw, gatewayRules({ deny: { tools: { echo: ['echo'] } } }), deniedByPolicy, ctx.sizes.reloadTimeoutMs);
      if (deny === undefined) {
        supported = false;
        break;
      }
      times.push(deny);
      await sleep(100);
      const allow = await timeChange(gw, gatewayRules(), (r) => !r.isError, ctx.sizes.reloadTimeoutMs);
      if (allow === undefined) throw new Error('reload: the deny rule took effect but removing it did not');
      times.push(allow);
      await sleep(100);
    }
  } finally {
    await gw.close();
  }
  if (!supported) {
    ctx.rows.push({
      section: 'Reload',
      metric: 'rules file written → new rule in force',
      unit: 'ms',
      text: 'n/a (hot reload not present)',
      budget: `≤ ${RELOAD_BUDGET_MS} ms`,
    });
    ctx.notes.push(`Reload: a rule denying the tool was written and the tool called every ${POLL_MS} ms for ${ctx.sizes.reloadTimeoutMs} ms; it was never refused.`);
    ctx.data['reload'] = { supported: false, waitedMs: ctx.sizes.reloadTimeoutMs };
    return;
  }
  const worst = Math.max(...times);
  ctx.rows.push(
    { section: 'Reload', metric: 'rules file written → new rule in force, median', unit: 'ms', gateway: median(times) },
    {
      section: 'Reload',
      metric: `rules file written → new rule in force, worst of ${times.length}`,
      unit: 'ms',
      gateway: worst,
      budget: `≤ ${RELOAD_BUDGET_MS} ms`,
      met: worst <= RELOAD_BUDGET_MS,
    },
  );
  ctx.notes.push(
    `Reload: ${times.length} rule changes (deny, then allow again), each an atomic write (temp file + rename) followed by execute_tool every ${POLL_MS} ms until the new rule answers; ` +
      `the figure is from just before the write to the first answer under the new rule.`,
  );
  ctx.data['reload'] = { supported: true, timesMs: times };
}
