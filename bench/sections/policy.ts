// Policy decision time, in process: 1,000 agents with 50 patterns each (server and tool
// rules, allow and deny, literals and globs), decided over a seeded mix of queries.

import type { AgentRules, RulesConfig } from '../../src/config/types.js';
import { compilePolicy } from '../../src/policy/engine.js';
import type { Context } from '../lib/context.js';
import { percentile } from '../lib/stats.js';

export const POLICY_BUDGET_US = 20;
const AGENTS = 1_000;

/** 50 patterns: 5 allow.servers, 5 deny.servers, 30 allow.tools, 10 deny.tools. */
function agentRules(i: number): AgentRules {
  return {
    allow: {
      servers: ['srv_a', 'srv_b', 'srv_c', `team${i % 20}_*`, 'db_[0-4]'],
      tools: {
        srv_a: ['read_*', 'list_*', `get_${i % 10}_*`, 'search', `tool_${i}`, 'echo', 'describe_*', `q_[a-f]${i % 7}`, 'stat?', `export_${i % 3}_*`],
        srv_b: ['fetch_*', `item_${i}`, 'lookup', 'find_*_by_id', `r${i % 9}_*`, 'ping', 'health?', 'log_[0-9]*', 'version', `scan_${i % 5}*`],
        srv_c: ['*_read', 'open', `doc_${i}_*`, 'view_*', 'tail', 'head', `grep${i % 4}`, 'ls', 'cat_*', '[a-c]*_info'],
      },
    },
    deny: {
      servers: [`legacy_${i}`, 'prod_*', `tmp?_${i % 50}`, 'old_*_srv', `x_${i}_*`],
      tools: {
        srv_a: ['*_admin', `drop_${i}`, 'delete_*', 'write_secret?', `purge_*_${i % 4}`],
        srv_b: ['rm_*', 'shutdown', `kill_${i % 8}`, '*_force', 'reset?'],
      },
    },
  };
}

function rulesConfig(): RulesConfig {
  const agents: Record<string, AgentRules> = {};
  for (let i = 0; i < AGENTS; i++) agents[`agent_${i}`] = agentRules(i);
  return { agents, defaults: { deny_on_missing_agent: true } };
}

/** mulberry32: a seeded generator, so every run decides the same queries. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERVERS = ['srv_a', 'srv_b', 'srv_c', 'team3_x', 'db_2', 'prod_1', 'other', 'old_x_srv'];
const TOOLS = [
  'read_file',
  'list_dir',
  'get_3_x',
  'search',
  'tool_17',
  'echo',
  'describe_table',
  'q_b3',
  'stats',
  'export_1_csv',
  'drop_17',
  'delete_row',
  'users_admin',
  'write_secret1',
  'purge_all_2',
  'fetch_user',
  'item_5',
  'find_user_by_id',
  'rm_rf',
  'shutdown',
  'doc_9_x',
  'view_log',
  'cat_file',
  'b_info',
  'unknown_tool',
  'a_very_long_tool_name_that_matches_nothing_at_all',
];

export async function runPolicy(ctx: Context): Promise<void> {
  ctx.log('policy: compile');
  const rules = rulesConfig();
  const c0 = performance.now();
  const policy = compilePolicy(rules);
  const compileMs = performance.now() - c0;

  const random = rng(42);
  const Q = 8192;
  const queries = Array.from({ length: Q }, () => ({
    agent: random() < 0.01 ? 'nobody' : `agent_${Math.floor(random() * AGENTS)}`,
    server: SERVERS[Math.floor(random() * SERVERS.length)]!,
    tool: TOOLS[Math.floor(random() * TOOLS.length)]!,
  }));

  ctx.log('policy: decide');
  const n = ctx.sizes.policyDecisions;
  let allowed = 0;
  // Warm-up: as many decisions as are timed (JIT, the matchers' lazy state).
  for (let i = 0; i < n; i++) {
    const q = queries[i & (Q - 1)]!;
    if (policy.decideTool(q.agent, q.server, q.tool).allow) allowed++;
  }
  // The cost of the clock itself, to read the figures against.
  const overhead = new Float64Array(10_000);
  for (let i = 0; i < overhead.length; i++) {
    const t0 = process.hrtime.bigint();
    overhead[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const q = queries[i & (Q - 1)]!;
    const t0 = process.hrtime.bigint();
    const d = policy.decideTool(q.agent, q.server, q.tool);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    if (d.allow) allowed++;
  }
  const sorted = Array.from(samples).sort((a, b) => a - b);
  const clock = percentile(
    Array.from(overhead).sort((a, b) => a - b),
    50,
  );
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const section = `Policy, ${AGENTS.toLocaleString('en-US')} agents × 50 patterns`;
  ctx.rows.push(
    { section, metric: 'decideTool p50 (in process)', unit: 'µs', gateway: p50 },
    { section, metric: 'decideTool p99 (in process)', unit: 'µs', gateway: p99, budget: `≤ ${POLICY_BUDGET_US} µs`, met: p99 <= POLICY_BUDGET_US },
    { section, metric: 'compilePolicy, whole rule set (once per load or reload)', unit: 'ms', gateway: compileMs },
  );
  ctx.notes.push(
    `Policy: ${n.toLocaleString('en-US')} timed decisions after as many untimed, over 8,192 seeded queries ` +
      `(8 servers × 26 tools, 1% unknown agents; ${((allowed / (2 * n)) * 100).toFixed(0)}% allowed); ` +
      `each timed alone with process.hrtime.bigint(), whose own cost (${clock.toFixed(3)} µs median) is included.`,
  );
  ctx.data['policy'] = { compileMs, decisions: n, p50Us: p50, p95Us: percentile(sorted, 95), p99Us: p99, maxUs: sorted[sorted.length - 1], clockUs: clock };
}
