// get_server_tools from the gateway's cache on a server with 500 tools, with and without a
// token budget; in process (the gateway's own work) and end to end over stdio.

import { serializeMessage } from '@modelcontextprotocol/server';
import { ListToolsResultSchema } from '@modelcontextprotocol/core';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { shouldProfile, type Context } from '../lib/context.js';
import { inProcessGateway } from '../lib/inProcess.js';
import { profileGateway } from '../lib/profile.js';
import { summarize, timeSequential, type Summary } from '../lib/stats.js';
import { AGENT, call, SERVERS, startDirect, startGateway, type Target } from '../lib/targets.js';

export const DISCOVERY_BUDGET_MS = 1;
const TOKEN_BUDGET = 2_000;
const ROUNDS = 5;

interface Variant {
  readonly key: string;
  readonly label: string;
  readonly args: Record<string, unknown>;
}

const VARIANTS: readonly Variant[] = [
  { key: 'all', label: 'no budget', args: { agent_id: AGENT, server: 'many' } },
  { key: 'budget', label: `max_schema_tokens ${TOKEN_BUDGET.toLocaleString('en-US')}`, args: { agent_id: AGENT, server: 'many', max_schema_tokens: TOKEN_BUDGET } },
];

function describe(result: CallToolResult): { returned: number; bytes: number; tokensUsed: unknown } {
  const first = result.content[0];
  const text = first && first.type === 'text' ? first.text : '{}';
  const parsed = JSON.parse(text) as { returned?: number; tokens_used?: unknown };
  return { returned: parsed.returned ?? -1, bytes: Buffer.byteLength(serializeMessage({ jsonrpc: '2.0', id: 1, result })), tokensUsed: parsed.tokens_used };
}

export async function runDiscovery(ctx: Context): Promise<void> {
  const data: Record<string, unknown> = {};

  // In process: Gateway.callTool plus the JSON-RPC serialization the stdio transport would do.
  ctx.log('discovery: in process');
  const ipg = inProcessGateway({ many: SERVERS.many });
  const inProcess = new Map<string, number[]>(VARIANTS.map((v) => [v.key, []]));
  const shape = new Map<string, ReturnType<typeof describe>>();
  const parts = new Map<string, { own: Summary; serialize: Summary }>();
  try {
    let id = 0;
    for (const v of VARIANTS) {
      const r = await ipg.call('get_server_tools', v.args, ++id); // fills the cache on the first
      if (r.isError) throw new Error(`get_server_tools failed in process: ${JSON.stringify(r.content)}`);
      shape.set(v.key, describe(r));
      for (let i = 0; i < 50; i++) serializeMessage({ jsonrpc: '2.0', id: ++id, result: await ipg.call('get_server_tools', v.args, id) });
    }
    const perRound = Math.ceil(ctx.sizes.discoveryInProcess / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of VARIANTS) {
        await timeSequential(
          async () => serializeMessage({ jsonrpc: '2.0', id: ++id, result: await ipg.call('get_server_tools', v.args, id) }),
          perRound,
          inProcess.get(v.key)!,
        );
      }
    }
    // The same two parts timed apart, for the notes: the gateway's own work, then the
    // transport's serialization of the (same) answer.
    for (const v of VARIANTS) {
      const own: number[] = [];
      const serialize: number[] = [];
      const result = await ipg.call('get_server_tools', v.args, ++id);
      await timeSequential(() => ipg.call('get_server_tools', v.args, ++id), perRound, own);
      await timeSequential(async () => serializeMessage({ jsonrpc: '2.0', id: ++id, result }), perRound, serialize);
      parts.set(v.key, { own: summarize(own), serialize: summarize(serialize) });
    }
  } finally {
    await ipg.close();
  }

  // End to end over stdio, beside a direct tools/list of the same server.
  ctx.log('discovery: over stdio');
  const [direct, gateway] = await Promise.all([
    startDirect(SERVERS.many, 'direct many-tools'),
    startGateway({ servers: { many: SERVERS.many }, label: 'gateway many-tools' }),
  ]);
  const e2e = new Map<string, number[]>([['direct', []], ...VARIANTS.map((v) => [v.key, []] as [string, number[]])]);
  const arms: [string, () => Promise<unknown>][] = [
    ['direct', () => direct.client.request({ method: 'tools/list', params: {} }, ListToolsResultSchema)],
    ...VARIANTS.map((v) => [v.key, () => call(gateway, 'get_server_tools', v.args)] as [string, () => Promise<unknown>]),
  ];
  try {
    for (const [, fn] of arms) await timeSequential(fn, 20, []);
    const perRound = Math.ceil(ctx.sizes.discoveryE2e / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) for (const [key, fn] of arms) await timeSequential(fn, perRound, e2e.get(key)!);
  } finally {
    await Promise.all([direct.close(), gateway.close()]);
  }

  const sumIn = new Map<string, Summary>([...inProcess].map(([k, v]) => [k, summarize(v)]));
  const sumE2e = new Map<string, Summary>([...e2e].map(([k, v]) => [k, summarize(v)]));
  let missed = false;
  for (const v of VARIANTS) {
    const s = sumIn.get(v.key)!;
    const met = s.p95 <= DISCOVERY_BUDGET_MS;
    missed ||= !met;
    const sh = shape.get(v.key);
    ctx.rows.push({
      section: 'Discovery, 500 tools',
      metric: `get_server_tools from cache, ${v.label}: in process, p95 (${sh?.returned ?? '?'} tools, ${Math.round((sh?.bytes ?? 0) / 1024)} KiB)`,
      unit: 'ms',
      gateway: s.p95,
      budget: `≤ ${DISCOVERY_BUDGET_MS} ms`,
      met,
      explainedBy: {
        profile: 'get_server_tools',
        text: "the SDK's JSON-RPC serialization (serializeMessage) of the answer: structuredContent and its JSON text, both required; the gateway's own part (Gateway.callTool alone) is in the notes.",
      },
    });
  }
  for (const v of VARIANTS) {
    ctx.rows.push({
      section: 'Discovery, 500 tools',
      metric: `get_server_tools from cache, ${v.label}: over stdio, end to end, p95` + (v.key === 'all' ? ' (direct = tools/list on the server)' : ''),
      unit: 'ms',
      ...(v.key === 'all' ? { direct: sumE2e.get('direct')!.p95 } : {}),
      gateway: sumE2e.get(v.key)!.p95,
    });
  }
  ctx.notes.push(
    `Discovery: the budget rows time the in-process operation (Gateway.callTool('get_server_tools') plus the JSON-RPC serialization the stdio transport does), ` +
      `${ctx.sizes.discoveryInProcess} calls per variant in ${ROUNDS} interleaved rounds: that is the gateway's own work on a cache hit. ` +
      `The stdio rows (${ctx.sizes.discoveryE2e} calls each) add the pipe and, mostly, the client's JSON parse and schema validation of the answer, ` +
      `which grow with the payload and are the client's cost, not the gateway's. ` +
      `p50 in process: ${VARIANTS.map((v) => `${v.label} ${sumIn.get(v.key)!.p50.toFixed(3)} ms`).join(', ')}; ` +
      `over stdio: direct tools/list ${sumE2e.get('direct')!.p50.toFixed(2)} ms, ${VARIANTS.map((v) => `${v.label} ${sumE2e.get(v.key)!.p50.toFixed(2)} ms`).join(', ')}. ` +
      `The two parts timed apart (p50 / p95): ${VARIANTS.map((v) => {
        const pt = parts.get(v.key);
        return pt
          ? `${v.label}: Gateway.callTool alone ${pt.own.p50.toFixed(3)} / ${pt.own.p95.toFixed(3)} ms, serializeMessage of the answer alone ${pt.serialize.p50.toFixed(3)} / ${pt.serialize.p95.toFixed(3)} ms`
          : `${v.label}: not timed`;
      }).join('; ')}.`,
  );
  data['parts'] = Object.fromEntries(parts);
  data['inProcess'] = Object.fromEntries(sumIn);
  data['stdio'] = Object.fromEntries(sumE2e);
  data['payload'] = Object.fromEntries(shape);
  ctx.data['discovery'] = data;

  if (shouldProfile(ctx, missed)) {
    await profileGateway(ctx, 'get_server_tools', { servers: { many: SERVERS.many } }, async (gw: Target) => {
      const fn = (): Promise<unknown> => call(gw, 'get_server_tools', VARIANTS[0]!.args);
      await timeSequential(fn, 50, []);
      const fromMs = performance.now() - gw.transport.spawnedAt;
      const n = ctx.quick ? 50 : 500;
      await timeSequential(fn, n, []);
      return { fromMs, toMs: performance.now() - gw.transport.spawnedAt, calls: n };
    });
  }
}
