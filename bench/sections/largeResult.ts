// Issue 20's large-result row: a 10 MB text result (tests/fixtures/servers/huge-output.mjs,
// `big({bytes})`) called directly and through the gateway with the SDK's own client (v2
// Client + StdioClientTransport), interleaved; the budget is on the ratio of the medians.

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { join } from 'node:path';
import type { Context } from '../lib/context.js';
import { median } from '../lib/stats.js';
import { AGENT, childEnv, GATEWAY_MAIN, gatewayRules, makeTmpDir, REPO_ROOT, writeJsonAtomic } from '../lib/targets.js';

export const LARGE_RATIO_BUDGET = 2;
const BYTES = 10 * 1024 * 1024;
const HUGE = { command: process.execPath, args: [join(REPO_ROOT, 'tests', 'fixtures', 'servers', 'huge-output.mjs')] };

async function connect(command: string, args: readonly string[], cwd?: string): Promise<{ client: Client }> {
  const transport = new StdioClientTransport({
    command,
    args: [...args],
    env: childEnv(),
    stderr: 'ignore',
    maxBufferSize: 64 * 1024 * 1024,
    ...(cwd ? { cwd } : {}),
  });
  const client = new Client({ name: 'amg-bench', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport, { timeout: 30_000 });
  return { client };
}

export async function runLargeResult(ctx: Context): Promise<void> {
  ctx.log('large result: 10 MB through the gateway');
  const dir = makeTmpDir();
  writeJsonAtomic(join(dir, '.mcp.json'), { mcpServers: { huge: { command: HUGE.command, args: [...HUGE.args] } } });
  writeJsonAtomic(join(dir, '.mcp-gateway-rules.json'), gatewayRules());
  const gwArgs = [
    GATEWAY_MAIN,
    '--mcp-config',
    join(dir, '.mcp.json'),
    '--rules',
    join(dir, '.mcp-gateway-rules.json'),
    '--audit-log',
    join(makeTmpDir(), 'audit.jsonl'),
  ];
  const targets = await Promise.all([connect(HUGE.command, HUGE.args), connect(process.execPath, gwArgs, dir)]);
  const [direct, gateway] = targets;
  const times = { direct: [] as number[], gateway: [] as number[] };
  const timed = async (into: number[], run: () => Promise<{ isError?: boolean; content: unknown[] }>): Promise<void> => {
    const t0 = performance.now();
    const r = await run();
    into.push(performance.now() - t0);
    const first = r.content[0] as { text?: string } | undefined;
    if (r.isError || first?.text?.length !== BYTES) throw new Error('the 10 MB result did not arrive whole');
  };
  try {
    const reps = ctx.quick ? 2 : 12;
    for (let i = 0; i < reps; i++) {
      await timed(times.direct, () => direct.client.request({ method: 'tools/call', params: { name: 'big', arguments: { bytes: BYTES } } }));
      await timed(times.gateway, () =>
        gateway.client.request({
          method: 'tools/call',
          params: { name: 'execute_tool', arguments: { agent_id: AGENT, server: 'huge', tool: 'big', args: { bytes: BYTES } } },
        }),
      );
    }
  } finally {
    await Promise.all(targets.map((t) => t.client.close().catch(() => undefined)));
  }
  // The first pair warms both (JIT, the gateway's lazy connect): left out.
  const d = median(times.direct.slice(1));
  const g = median(times.gateway.slice(1));
  ctx.rows.push({
    section: 'Large result (10 MB text, SDK client, audit log on)',
    metric: 'one call, median',
    unit: 'ms',
    direct: d,
    gateway: g,
    budget: `ratio ≤ ${LARGE_RATIO_BUDGET}`,
    met: g / d <= LARGE_RATIO_BUDGET,
    explainedBy: { text: 'the gateway reads, parses and re-serializes the whole result (SDK client and server), and the client parses it once more.' },
  });
  ctx.notes.push(`Large result: ${times.direct.length - 1} calls per arm after one warm-up pair, alternating direct and gateway.`);
  ctx.data['largeResult'] = times;
}
