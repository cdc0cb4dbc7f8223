// Issue 20's REST rows: the SignalWire drop-in as SignalWire runs it, one server process per
// session (a SignalWire config.json, `--config`), called with keep-alive fetch on
// POST /services/echo/call. Direct: the SDK's own client (v2 Client + StdioClientTransport)
// to a process of the same server per session. Measured: the gateway's CPU per warm call,
// 8 sessions called concurrently, and the first call after a fresh start.

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { join } from 'node:path';
import { shouldProfile, type Context } from '../lib/context.js';
import { summarizeProfile } from '../lib/cpuprofile.js';
import { readCpuMs, readMemory, spawnGroup, type GroupProcess } from '../lib/proc.js';
import { median, sleep, summarize, timeSequential } from '../lib/stats.js';
import { childEnv, GATEWAY_MAIN, makeTmpDir, REPO_ROOT, SERVERS } from '../lib/targets.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

export const REST_CPU_BUDGET_MS = 0.3;
export const SESSIONS_BUDGET = 0.45;
/** "No slow first call": the first /call after start at most this many times a direct cold call (spawn, connect, call). */
export const FIRST_CALL_BUDGET = 1.5;
export const HTTP_IDLE_BUDGET_MB = 70;
const SESSIONS = 8;
const ECHO_ARGS = { message: 'hello from the benchmark' };
const AUTH = `Basic ${Buffer.from('bench:bench-password').toString('base64')}`;

interface RestGateway {
  readonly process: GroupProcess;
  readonly base: string;
  /** ms from just before spawn to the listening line. */
  readonly readyMs: number;
}

async function startRestGateway(nodeFlags: readonly string[] = []): Promise<RestGateway> {
  const dir = makeTmpDir();
  const config = {
    server: { host: '127.0.0.1', port: 0, auth_user: 'bench', auth_password: 'bench-password' },
    services: { echo: { command: [SERVERS.echo.command, ...SERVERS.echo.args], description: 'echo', enabled: true } },
    session: { default_timeout: 300, max_sessions_per_service: 100 },
    rate_limiting: { default_limits: ['100000000 per minute'], tools_limit: '100000000 per minute', call_limit: '100000000 per minute' },
    logging: { level: 'INFO' },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const t0 = performance.now();
  const proc = await spawnGroup(
    { command: process.execPath, args: [...nodeFlags, GATEWAY_MAIN, '--config', join(dir, 'config.json'), '--audit-log', 'off'], env: childEnv(), cwd: dir },
    /"url":"(http:\/\/[^"]+)"/,
  );
  return { process: proc, base: proc.ready, readyMs: performance.now() - t0 };
}

function restCaller(base: string, session: string): () => Promise<void> {
  const body = JSON.stringify({ tool: 'echo', arguments: ECHO_ARGS, session_id: session, metadata: { agent_id: 'bench' } });
  const url = `${base}/services/echo/call`;
  return async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`REST /call answered ${res.status}: ${text.slice(0, 300)}`);
  };
}

interface Direct {
  readonly client: Client;
  readonly pid: number;
  readonly call: () => Promise<void>;
}

async function directSession(): Promise<Direct> {
  const transport = new StdioClientTransport({ command: SERVERS.echo.command, args: [...SERVERS.echo.args], env: childEnv(), stderr: 'ignore' });
  const client = new Client({ name: 'amg-bench', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport, { timeout: 30_000 });
  const call = async (): Promise<void> => {
    const r = await client.request({ method: 'tools/call', params: { name: 'echo', arguments: ECHO_ARGS } });
    if (r.isError) throw new Error('direct echo failed');
  };
  return { client, pid: transport.pid ?? -1, call };
}

/** `total` calls spread over the sessions, each session one call at a time; calls/s. */
async function sessionsRate(callers: readonly (() => Promise<void>)[], total: number): Promise<number> {
  const per = Math.ceil(total / callers.length);
  const t0 = performance.now();
  await Promise.all(callers.map(async (c) => timeSequential(c, per, [])));
  return (per * callers.length) / ((performance.now() - t0) / 1000);
}

export async function runRest(ctx: Context): Promise<void> {
  const { sizes } = ctx;
  ctx.log('rest: SignalWire drop-in, a process per session');
  const section = 'REST (SignalWire drop-in, a process per session)';
  const directs: Direct[] = [];
  let gw: RestGateway | undefined;
  const firstGateway: number[] = [];
  const firstDirect: number[] = [];
  let idleRssMb = NaN;
  let warm: { direct: number[]; gateway: number[]; cpuGw: number; cpuServer: number };
  const rates = { direct: [] as number[], gateway: [] as number[] };
  try {
    // First call after a fresh start, interleaved with a direct cold call (spawn, connect, call).
    const reps = ctx.quick ? 1 : 5;
    for (let i = 0; i < reps; i++) {
      const fresh = await startRestGateway();
      try {
        const t0 = performance.now();
        await restCaller(fresh.base, 'first')();
        firstGateway.push(performance.now() - t0);
        if (i === 0) {
          await sleep(ctx.quick ? 300 : 1_000);
          idleRssMb = readMemory(fresh.process.pid)?.rssMb ?? NaN;
        }
      } finally {
        await fresh.process.close();
      }
      const t0 = performance.now();
      const d = await directSession();
      await d.call();
      firstDirect.push(performance.now() - t0);
      await d.client.close();
    }

    gw = await startRestGateway();
    for (let i = 0; i < SESSIONS; i++) directs.push(await directSession());
    const gwCallers = Array.from({ length: SESSIONS }, (_, i) => restCaller(gw!.base, `bench-${i}`));
    const directCallers = directs.map((d) => d.call);
    for (const c of [...gwCallers, ...directCallers]) await timeSequential(c, Math.ceil(sizes.latencyWarmup / 4), []);

    // Warm calls on one session: latency, and CPU per call of the gateway process (and of the server, direct).
    const w = { direct: [] as number[], gateway: [] as number[] };
    const perRound = Math.ceil(sizes.latencyCalls / sizes.latencyRounds);
    let cpuGw = 0;
    let cpuServer = 0;
    for (let r = 0; r < sizes.latencyRounds; r++) {
      let c0 = readCpuMs(gw.process.pid);
      await timeSequential(gwCallers[0]!, perRound, w.gateway);
      cpuGw += readCpuMs(gw.process.pid) - c0;
      c0 = readCpuMs(directs[0]!.pid);
      await timeSequential(directCallers[0]!, perRound, w.direct);
      cpuServer += readCpuMs(directs[0]!.pid) - c0;
    }
    warm = { ...w, cpuGw: cpuGw / w.gateway.length, cpuServer: cpuServer / w.direct.length };

    const total = Math.max(200, Math.round(sizes.throughputCalls / 2));
    for (let r = 0; r < sizes.throughputRounds; r++) {
      rates.gateway.push(await sessionsRate(gwCallers, total));
      rates.direct.push(await sessionsRate(directCallers, total));
    }
  } finally {
    await Promise.all(directs.map((d) => d.client.close().catch(() => undefined)));
    await gw?.process.close();
  }

  const dw = summarize(warm.direct);
  const gww = summarize(warm.gateway);
  const cpuMet = warm.cpuGw <= REST_CPU_BUDGET_MS;
  const rd = median(rates.direct);
  const rg = median(rates.gateway);
  const sessMet = rg / rd >= SESSIONS_BUDGET;
  const fd = median(firstDirect);
  const fg = median(firstGateway);
  const firstMet = fg / fd <= FIRST_CALL_BUDGET;
  const profile = 'rest-call';
  ctx.rows.push(
    { section, metric: 'warm /call p50, one session (direct = SDK client to the server)', unit: 'ms', direct: dw.p50, gateway: gww.p50 },
    {
      section,
      metric: 'CPU per warm /call: the server process (direct) vs the gateway process',
      unit: 'ms',
      direct: warm.cpuServer,
      gateway: warm.cpuGw,
      budget: `gateway ≤ ${REST_CPU_BUDGET_MS} ms`,
      met: cpuMet,
      explainedBy: {
        profile,
        text: "node's HTTP server (header parsing, the answer's writev on loopback TCP, which runs the receiver's side too), the request's write to the session server's pipe, and the call path (the SDK Client is not on it: docs/sdk-replacements.md) (docs/performance.md, Issue 20).",
      },
    },
    {
      section,
      metric: `${SESSIONS} sessions called concurrently (one call at a time each)`,
      unit: 'calls/s',
      direct: rd,
      gateway: rg,
      budget: `ratio ≥ ${SESSIONS_BUDGET}`,
      met: sessMet,
      explainedBy: { profile, text: 'the gateway process is one more busy process on 2 cores: its CPU per call bounds the rate.' },
    },
    {
      section,
      metric: 'first call after start (gateway: listening → first /call answered, server spawn included; direct: spawn, connect, call)',
      unit: 'ms',
      direct: fd,
      gateway: fg,
      budget: `ratio ≤ ${FIRST_CALL_BUDGET}`,
      met: firstMet,
      explainedBy: { text: 'the first call loads the SDK client and compiles the call path (lazy loading moves start-up work here).' },
    },
  );
  ctx.rows.push({
    section: 'Memory',
    metric: 'idle RSS in HTTP mode (the drop-in), after start, one /call, quiet',
    unit: 'MB',
    gateway: idleRssMb,
    budget: `gateway ≤ ${HTTP_IDLE_BUDGET_MB} MB`,
    met: idleRssMb <= HTTP_IDLE_BUDGET_MB,
    explainedBy: {
      text: 'the code loaded in HTTP mode (node:http, the SDK server and client, the REST routes, the rate limiter): the SDK alone is most of it; see the table *Cold start: what each import costs* and docs/performance.md (Third round: idle RSS).',
    },
  });
  ctx.notes.push(
    `${section}: ${warm.gateway.length} warm sequential calls per arm, ${sizes.latencyRounds} interleaved rounds; CPU per call from /proc/<pid>/stat (10 ms ticks); ` +
      `${SESSIONS} sessions: median of ${sizes.throughputRounds} round(s); first call: median of ${firstGateway.length} fresh starts each. Audit log off, rate limits raised out of the way.`,
  );
  ctx.data['rest'] = { warm: { direct: dw, gateway: gww, cpuGwMs: warm.cpuGw, cpuServerMs: warm.cpuServer }, rates, firstGateway, firstDirect };

  if (shouldProfile(ctx, !cpuMet || !sessMet)) await profileRest(ctx, profile);
}

async function profileRest(ctx: Context, what: string): Promise<void> {
  mkdirSync(ctx.profileDir, { recursive: true });
  const name = `${ctx.stamp}-${what}.cpuprofile`;
  const file = join(ctx.profileDir, name);
  ctx.log(`profiling: ${what} -> ${relative(REPO_ROOT, file)}`);
  const t0 = performance.now();
  const gw = await startRestGateway(['--cpu-prof', '--cpu-prof-dir', ctx.profileDir, '--cpu-prof-name', name, '--cpu-prof-interval', '100']);
  const calls = ctx.sizes.profileCalls;
  let window: { fromMs: number; toMs: number };
  try {
    const callers = Array.from({ length: SESSIONS }, (_, i) => restCaller(gw.base, `p-${i}`));
    for (const c of callers) await timeSequential(c, 20, []);
    const fromMs = performance.now() - t0;
    await timeSequential(callers[0]!, calls, []);
    window = { fromMs, toMs: performance.now() - t0 };
  } finally {
    await gw.process.close();
  }
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(50);
  if (!existsSync(file)) return ctx.log(`profile ${name} was not written`);
  const summary = summarizeProfile(file, window);
  ctx.profiles.push({ what, summary: { ...summary, file: relative(REPO_ROOT, file) }, perCallUs: (summary.busyMs * 1000) / calls, calls });
}
