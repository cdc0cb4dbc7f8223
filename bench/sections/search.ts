// Tool search: quality on the golden set (real servers' tool lists, queries as an agent
// states a need), the search's speed over 2,000 tools and an index update after a 500-tool
// list change, in process; and the size of the meta surface an agent loads.

import { serializeMessage } from '@modelcontextprotocol/server';
import type { Tool } from '@modelcontextprotocol/server';
import { ToolIndex } from '../../src/gateway/search/toolIndex.js';
import { describeOutcome, evaluate, loadGoldenSet, worstMissed, type GoldenSet } from '../../tests/helpers/searchQuality.js';
import type { Context } from '../lib/context.js';
import { inProcessGateway } from '../lib/inProcess.js';
import { summarize } from '../lib/stats.js';
import { SERVERS } from '../lib/targets.js';

export const RECALL_AT_1_TARGET = 0.6;
export const RECALL_AT_5_TARGET = 0.9;
export const SEARCH_BUDGET_MS = 5;
export const UPDATE_BUDGET_MS = 50;
export const META_SURFACE_BUDGET_TOKENS = 1_000;
const SEARCH_TOOLS = 2_000;
const UPDATE_TOOLS = 500;
/** search_tools' default limit. */
const LIMIT = 5;
const SECTION = 'Tool search';
const RANKING = { text: 'the ranking: the golden queries ranked worst, and what came first instead, are listed after the profiles.' };

/** The golden servers again and again under other names (`github~2`), until there are `min` tools. */
function replicate(golden: GoldenSet, min: number): ToolIndex {
  const index = new ToolIndex();
  for (let copy = 0; index.size < min; copy++) {
    for (const set of golden.toolsets) index.update(copy === 0 ? set.server : `${set.server}~${copy}`, set.description, set.tools);
  }
  return index;
}

/** The first `count` golden tools, as one server would list them (names made unique). */
function bigServer(golden: GoldenSet, count: number): Tool[] {
  const all = golden.toolsets.flatMap((set) => set.tools.map((t) => ({ ...t, name: `${set.server}_${t.name}` })));
  const tools: Tool[] = [];
  for (let i = 0; tools.length < count; i++) tools.push(all[i % all.length]!);
  return tools;
}

function quality(ctx: Context, golden: GoldenSet): void {
  const index = new ToolIndex();
  for (const set of golden.toolsets) index.update(set.server, set.description, set.tools);
  const q = evaluate((query, limit) => index.search(query, { limit, allow: () => true }), golden.queries);
  const what = `${golden.queries.length} queries, ${golden.toolCount} tools of ${golden.toolsets.length} servers`;
  ctx.rows.push(
    {
      section: SECTION,
      metric: `recall@1 on the golden set (${what})`,
      unit: 'score',
      gateway: q.recallAt1,
      budget: `≥ ${RECALL_AT_1_TARGET}`,
      met: q.recallAt1 >= RECALL_AT_1_TARGET,
      explainedBy: RANKING,
    },
    {
      section: SECTION,
      metric: 'recall@5 on the golden set',
      unit: 'score',
      gateway: q.recallAt5,
      budget: `≥ ${RECALL_AT_5_TARGET}`,
      met: q.recallAt5 >= RECALL_AT_5_TARGET,
      explainedBy: RANKING,
    },
    { section: SECTION, metric: 'MRR on the golden set (first expected tool in the top 20)', unit: 'score', gateway: q.mrr },
  );
  const worst = worstMissed(q, 20);
  if (worst.length > 0) {
    ctx.extras.push({
      title: 'Tool search: the golden queries ranked worst',
      markdown: worst.map((o) => `- ${describeOutcome(o)}`).join('\n'),
    });
  }
  ctx.data['searchQuality'] = { recallAt1: q.recallAt1, recallAt5: q.recallAt5, mrr: q.mrr, outcomes: q.outcomes };
}

function speed(ctx: Context, golden: GoldenSet): void {
  const index = replicate(golden, SEARCH_TOOLS);
  const queries = golden.queries.map((q) => q.query);
  const options = { limit: LIMIT, allow: () => true };
  for (const query of queries) index.search(query, options); // warm-up: the JIT, not a cache
  const searches = ctx.quick ? 1_000 : 20_000;
  const samples: number[] = [];
  for (let i = 0; i < searches; i++) {
    const query = queries[i % queries.length]!;
    const start = performance.now();
    index.search(query, options);
    samples.push(performance.now() - start);
  }
  const search = summarize(samples);
  const searched = index.size;

  const big = bigServer(golden, UPDATE_TOOLS);
  const updates = ctx.quick ? 10 : 100;
  const updateSamples: number[] = [];
  for (let i = 0; i < 3; i++) index.update('big', 'one server with a large tool list', big); // warm-up
  for (let i = 0; i < updates; i++) {
    // A list change: the same server, a list that differs (one tool's description).
    const changed = big.map((t, j) => (j === i % big.length ? { ...t, description: `${t.description ?? ''} (changed ${i})` } : t));
    const start = performance.now();
    index.update('big', 'one server with a large tool list', changed);
    updateSamples.push(performance.now() - start);
  }
  const update = summarize(updateSamples);

  ctx.rows.push(
    { section: SECTION, metric: `search, ${searched.toLocaleString('en-US')} tools, limit ${LIMIT}: in process, p50`, unit: 'ms', gateway: search.p50 },
    {
      section: SECTION,
      metric: `search, ${searched.toLocaleString('en-US')} tools, limit ${LIMIT}: in process, p95`,
      unit: 'ms',
      gateway: search.p95,
      budget: `≤ ${SEARCH_BUDGET_MS} ms`,
      met: search.p95 <= SEARCH_BUDGET_MS,
    },
    {
      section: SECTION,
      metric: `index update after a list change, ${UPDATE_TOOLS}-tool server: in process, p95`,
      unit: 'ms',
      gateway: update.p95,
      budget: `≤ ${UPDATE_BUDGET_MS} ms`,
      met: update.p95 <= UPDATE_BUDGET_MS,
      explainedBy: { text: "ToolIndex.update: tokenizing, stemming and posting the server's whole list again (no CPU profile is taken of an in-process row)." },
    },
  );
  ctx.notes.push(
    `Tool search: quality is ToolIndex over the golden set (tests/fixtures/toolsets/: the tool lists of real public MCP servers, queries written as an agent states a need, ` +
      `each with every tool that satisfies it); a query is a hit at k when any expected tool is in the top k. ` +
      `Search speed: ${searches.toLocaleString('en-US')} searches (the golden queries in turn, limit ${LIMIT}, every tool allowed) over the golden servers replicated under other names ` +
      `to ${searched.toLocaleString('en-US')} tools, each timed alone; p50 ${search.p50.toFixed(3)} ms, p99 ${search.p99.toFixed(3)} ms. ` +
      `Index update: ${updates} replacements of a ${UPDATE_TOOLS}-tool server's list (one description changed each time) in that index; ` +
      `p50 ${update.p50.toFixed(2)} ms, worst ${update.max.toFixed(2)} ms.`,
  );
  ctx.data['searchSpeed'] = { tools: index.size, search, update };
}

async function metaSurface(ctx: Context): Promise<void> {
  const ipg = inProcessGateway({ echo: SERVERS.echo });
  try {
    // What a client's tools/list answer carries in meta mode, serialized as the transport sends it.
    const tools = ipg.gateway.listTools();
    const chars = serializeMessage({ jsonrpc: '2.0', id: 1, result: { tools } }).length;
    const tokens = Math.ceil(chars / 4);
    const hasSearch = tools.some((t) => t.name === 'search_tools');
    ctx.rows.push({
      section: SECTION,
      metric: `meta surface: tools/list of the gateway's ${tools.length} tools (search_tools ${hasSearch ? 'included' : 'absent'}), chars / 4`,
      unit: 'tokens',
      gateway: tokens,
      budget: `< ${META_SURFACE_BUDGET_TOKENS.toLocaleString('en-US')} tokens`,
      met: tokens < META_SURFACE_BUDGET_TOKENS,
    });
    ctx.data['metaSurface'] = { tools: tools.map((t) => t.name), chars, tokens };
  } finally {
    await ipg.close();
  }
}

export async function runSearch(ctx: Context): Promise<void> {
  ctx.log('search: quality on the golden set');
  const golden = loadGoldenSet();
  quality(ctx, golden);
  ctx.log('search: speed in process');
  speed(ctx, golden);
  ctx.log('search: meta surface');
  await metaSurface(ctx);
}
