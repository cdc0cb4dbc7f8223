// The golden set (tests/fixtures/toolsets/: real servers' tool lists and queries an agent
// would state) and the quality figures of a search over it: recall@1, recall@5 and MRR.
// Shared by tests/integration/search-quality.test.ts and bench/sections/search.ts.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tool } from '@modelcontextprotocol/server';
import { REPO_ROOT } from './paths.js';

export const TOOLSETS_DIR = join(REPO_ROOT, 'tests', 'fixtures', 'toolsets');
const QUERIES_FILE = 'queries.json';

export interface GoldenToolset {
  readonly server: string;
  readonly description: string;
  readonly source: Readonly<Record<string, string>>;
  readonly tools: readonly Tool[];
}

export interface ToolRef {
  readonly server: string;
  readonly tool: string;
}

export interface GoldenQuery {
  readonly query: string;
  /** Every tool that satisfies the query: finding any one of them is a hit. */
  readonly expected: readonly ToolRef[];
}

export interface GoldenSet {
  readonly toolsets: readonly GoldenToolset[];
  readonly queries: readonly GoldenQuery[];
  readonly toolCount: number;
}

export function loadGoldenSet(): GoldenSet {
  const toolsets = readdirSync(TOOLSETS_DIR)
    .filter((f) => f.endsWith('.json') && f !== QUERIES_FILE)
    .sort()
    .map((f) => JSON.parse(readFileSync(join(TOOLSETS_DIR, f), 'utf8')) as GoldenToolset);
  const queries = JSON.parse(readFileSync(join(TOOLSETS_DIR, QUERIES_FILE), 'utf8')) as GoldenQuery[];
  return { toolsets, queries, toolCount: toolsets.reduce((n, t) => n + t.tools.length, 0) };
}

/** A search as the evaluation sees it: the query and how many hits to return, best first. */
export type Searcher = (query: string, limit: number) => readonly ToolRef[];

export interface QueryOutcome {
  readonly query: string;
  readonly expected: readonly ToolRef[];
  /** 1-based rank of the first expected tool among the hits, undefined when none is in the top DEPTH. */
  readonly rank: number | undefined;
  /** The first hits, as `server/tool`. */
  readonly top: readonly string[];
}

export interface Quality {
  readonly queries: number;
  readonly recallAt1: number;
  readonly recallAt5: number;
  /** Mean reciprocal rank of the first expected tool, counting 0 beyond the top DEPTH. */
  readonly mrr: number;
  readonly outcomes: readonly QueryOutcome[];
}

/** How deep the ranking is read for MRR: search_tools' largest `limit`. */
export const DEPTH = 20;

export function evaluate(search: Searcher, queries: readonly GoldenQuery[]): Quality {
  const outcomes = queries.map((q): QueryOutcome => {
    const hits = search(q.query, DEPTH);
    const wanted = new Set(q.expected.map((e) => `${e.server}/${e.tool}`));
    const index = hits.findIndex((h) => wanted.has(`${h.server}/${h.tool}`));
    return { query: q.query, expected: q.expected, rank: index < 0 ? undefined : index + 1, top: hits.slice(0, 5).map((h) => `${h.server}/${h.tool}`) };
  });
  const within = (k: number): number => outcomes.filter((o) => o.rank !== undefined && o.rank <= k).length / outcomes.length;
  return {
    queries: outcomes.length,
    recallAt1: within(1),
    recallAt5: within(5),
    mrr: outcomes.reduce((sum, o) => sum + (o.rank === undefined ? 0 : 1 / o.rank), 0) / outcomes.length,
    outcomes,
  };
}

/** The queries whose expected tools rank worst (missed entirely first), for a report. */
export function worstMissed(quality: Quality, count: number): QueryOutcome[] {
  return quality.outcomes
    .filter((o) => o.rank === undefined || o.rank > 1)
    .sort((a, b) => (b.rank ?? Infinity) - (a.rank ?? Infinity))
    .slice(0, count);
}

export function describeOutcome(o: QueryOutcome): string {
  const expected = o.expected.map((e) => `${e.server}/${e.tool}`).join(' | ');
  return `"${o.query}": expected ${expected}; rank ${o.rank ?? `> ${DEPTH}`}; top ${o.top.join(', ') || '(none)'}`;
}
