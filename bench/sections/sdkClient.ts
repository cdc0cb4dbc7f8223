// Issue 20's stdio rows: the SDK's OWN client drives the bench. A v2 `Client`
// (@modelcontextprotocol/client, its default 2025-11-25 connect) over the SDK's own
// `StdioClientTransport` calls server-everything's `echo` directly, through the gateway with
// the audit log on, through the gateway with it off (the audit's cost on the critical path is
// the difference of the two), and through @civic/passthrough-mcp-server (the best stdio proxy
// we know, bench/fixtures/civic-relay.mjs), all interleaved round by round.

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { join } from 'node:path';
import { shouldProfile, type Context } from '../lib/context.js';
import { profileGateway } from '../lib/profile.js';
import { readCpuMs } from '../lib/proc.js';
import { median, summarize, timeConcurrent, timeSequential, type Summary } from '../lib/stats.js';
import { AGENT, childEnv, echoCaller, GATEWAY_MAIN, gatewayRules, makeTmpDir, REPO_ROOT, SERVERS, writeJsonAtomic, type ServerCommand } from '../lib/targets.js';
import { P50_BUDGET_MS, THROUGHPUT_BUDGET } from './latency.js';

/** Gateway CPU per call over the server's own CPU per call. */
export const CPU_RATIO_BUDGET = 1.2;
/** What the audit line may add to a call's critical path (p50, audit on − audit off). */
export const AUDIT_BUDGET_MS = 0.02;

const ECHO_ARGS = { message: 'hello from the benchmark' };
const SERVER: ServerCommand = SERVERS.everything;

interface Arm {
  readonly key: 'direct' | 'gateway' | 'gateway_noaudit' | 'civic' | 'raw';
  readonly label: string;
  readonly client: Client;
  readonly transport: StdioClientTransport;
  readonly call: () => Promise<unknown>;
  readonly samples: number[];
  readonly rates: number[];
  cpuUsPerCall: number;
}

async function sdkTarget(key: Arm['key'], label: string, command: string, args: readonly string[], viaGateway: boolean, cwd?: string): Promise<Arm> {
  const transport = new StdioClientTransport({ command, args: [...args], env: childEnv(), stderr: 'ignore', ...(cwd ? { cwd } : {}) });
  const client = new Client({ name: 'amg-bench', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport, { timeout: 30_000 });
  const request = viaGateway
    ? { method: 'tools/call' as const, params: { name: 'execute_tool', arguments: { agent_id: AGENT, server: 'everything', tool: 'echo', args: ECHO_ARGS } } }
    : { method: 'tools/call' as const, params: { name: 'echo', arguments: ECHO_ARGS } };
  const call = async (): Promise<unknown> => {
    const r = await client.request(request);
    if (r.isError) throw new Error(`${label}: ${JSON.stringify(r.content).slice(0, 300)}`);
    return r;
  };
  return { key, label, client, transport, call, samples: [], rates: [], cpuUsPerCall: NaN };
}

function gatewayArgs(audit: boolean): { args: string[]; cwd: string } {
  const dir = makeTmpDir();
  writeJsonAtomic(join(dir, '.mcp.json'), { mcpServers: { everything: { command: SERVER.command, args: [...SERVER.args] } } });
  writeJsonAtomic(join(dir, '.mcp-gateway-rules.json'), gatewayRules());
  const auditPath = join(makeTmpDir(), 'audit.jsonl');
  const args = [GATEWAY_MAIN, '--mcp-config', join(dir, '.mcp.json'), '--rules', join(dir, '.mcp-gateway-rules.json'), '--audit-log', audit ? auditPath : 'off'];
  return { args, cwd: dir };
}

export async function runSdkClient(ctx: Context): Promise<void> {
  const { sizes } = ctx;
  ctx.log('stdio, SDK client: direct, gateway (audit on / off), civic passthrough, raw byte relay');
  const on = gatewayArgs(true);
  const off = gatewayArgs(false);
  const civic = join(REPO_ROOT, 'bench', 'fixtures', 'civic-relay.mjs');
  const started = await Promise.allSettled([
    sdkTarget('direct', 'direct', SERVER.command, SERVER.args, false),
    sdkTarget('gateway', 'gateway, audit log on', process.execPath, on.args, true, on.cwd),
    sdkTarget('gateway_noaudit', 'gateway, audit log off', process.execPath, off.args, true, off.cwd),
    sdkTarget('civic', '@civic/passthrough-mcp-server', process.execPath, [civic, SERVER.command, ...SERVER.args], false),
    sdkTarget('raw', 'raw byte relay', process.execPath, [join(REPO_ROOT, 'bench', 'fixtures', 'raw-relay.mjs'), SERVER.command, ...SERVER.args], false),
  ]);
  const arms = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    for (const a of arms) await timeSequential(a.call, sizes.latencyWarmup, []);
    const perRound = Math.ceil(sizes.latencyCalls / sizes.latencyRounds);
    const cpu0 = arms.map((a) => readCpuMs(a.transport.pid ?? -1));
    for (let r = 0; r < sizes.latencyRounds; r++) {
      for (const a of arms) await timeSequential(a.call, perRound, a.samples);
    }
    arms.forEach((a, i) => (a.cpuUsPerCall = ((readCpuMs(a.transport.pid ?? -1) - (cpu0[i] ?? NaN)) * 1000) / a.samples.length));
    for (const a of arms) await timeConcurrent(a.call, sizes.inFlight * 20, sizes.inFlight);
    for (let r = 0; r < sizes.throughputRounds; r++) {
      for (const a of arms) a.rates.push(await timeConcurrent(a.call, sizes.throughputCalls, sizes.inFlight));
    }
  } finally {
    await Promise.all(arms.map((a) => a.client.close().catch(() => undefined)));
  }

  const by = (key: Arm['key']): Arm => arms.find((a) => a.key === key)!;
  const sums = new Map<string, Summary>(arms.map((a) => [a.key, summarize(a.samples)]));
  const d = sums.get('direct')!;
  const rd = median(by('direct').rates);
  const serverCpu = by('direct').cpuUsPerCall;
  let missed = false;
  const section = 'Stdio, SDK client (v2 Client + StdioClientTransport), server-everything echo';
  const why = (what: string): { profile: string; text: string } => ({
    profile: 'execute_tool-sdk-client',
    text: `${what}; compare the rows of civic (the same pipe hops and the v1 SDK's parsing, no policy or audit) and of the raw byte relay (the same pipe hops, nothing else) (docs/performance.md, Issue 20).`,
  });
  for (const key of ['gateway', 'gateway_noaudit'] as const) {
    const a = by(key);
    const g = sums.get(key)!;
    const sec = `${section}, ${a.label}`;
    const p50Met = g.p50 - d.p50 <= P50_BUDGET_MS;
    const tpMet = median(a.rates) / rd >= THROUGHPUT_BUDGET;
    const cpuMet = a.cpuUsPerCall / serverCpu <= CPU_RATIO_BUDGET;
    const budgeted = key === 'gateway';
    if (budgeted) missed ||= !p50Met || !tpMet || !cpuMet;
    ctx.rows.push(
      {
        section: sec,
        metric: 'sequential p50',
        unit: 'ms',
        direct: d.p50,
        gateway: g.p50,
        ...(budgeted
          ? { budget: `diff ≤ ${P50_BUDGET_MS} ms`, met: p50Met, explainedBy: why("the middle process's per-message work and one more process on the pipe path") }
          : {}),
      },
      { section: sec, metric: 'sequential p99', unit: 'ms', direct: d.p99, gateway: g.p99 },
      {
        section: sec,
        metric: `throughput, ${sizes.inFlight} in flight`,
        unit: 'calls/s',
        direct: rd,
        gateway: median(a.rates),
        ...(budgeted
          ? {
              budget: `ratio ≥ ${THROUGHPUT_BUDGET}`,
              met: tpMet,
              explainedBy: why(
                "three busy processes on 2 cores: the middle process's CPU per call bounds the rate, and even the raw byte relay (this section's reference row: no parsing at all) stays well under 0.8×",
              ),
            }
          : {}),
      },
      {
        section: sec,
        metric: 'CPU per call: server process (direct) vs gateway process',
        unit: 'µs',
        direct: serverCpu,
        gateway: a.cpuUsPerCall,
        ...(budgeted
          ? {
              budget: `ratio ≤ ${CPU_RATIO_BUDGET}`,
              met: cpuMet,
              explainedBy: why("see the profile's areas: the pipe writes that wake the process at the other end, the audit's write(2), GC"),
            }
          : {}),
      },
    );
  }
  const c = by('civic');
  const cs = sums.get('civic')!;
  const csec = `${section}, reference: @civic/passthrough-mcp-server (library, stdio to stdio, no hooks)`;
  ctx.rows.push(
    { section: csec, metric: 'sequential p50', unit: 'ms', direct: d.p50, gateway: cs.p50 },
    { section: csec, metric: `throughput, ${sizes.inFlight} in flight`, unit: 'calls/s', direct: rd, gateway: median(c.rates) },
    { section: csec, metric: 'CPU per call: server process vs civic process', unit: 'µs', direct: serverCpu, gateway: c.cpuUsPerCall },
  );
  // The floor of any stdio proxy on this machine: one more process and two more pipe hops, no parsing.
  const raw = by('raw');
  const rs = sums.get('raw')!;
  const rsec = `${section}, reference: raw byte relay (no parsing: the floor of any stdio proxy)`;
  ctx.rows.push(
    { section: rsec, metric: 'sequential p50', unit: 'ms', direct: d.p50, gateway: rs.p50 },
    { section: rsec, metric: `throughput, ${sizes.inFlight} in flight`, unit: 'calls/s', direct: rd, gateway: median(raw.rates) },
    { section: rsec, metric: 'CPU per call: server process vs relay process', unit: 'µs', direct: serverCpu, gateway: raw.cpuUsPerCall },
  );
  const g = sums.get('gateway')!;
  const aheadP50 = g.p50 <= cs.p50;
  const aheadTp = median(by('gateway').rates) >= median(c.rates);
  missed ||= !aheadP50 || !aheadTp;
  const asec = `${section}: the gateway (audit on) against civic (direct column = civic)`;
  ctx.rows.push(
    {
      section: asec,
      metric: 'sequential p50',
      unit: 'ms',
      direct: cs.p50,
      gateway: g.p50,
      budget: 'diff ≤ 0 (ahead)',
      met: aheadP50,
      explainedBy: why("the gateway's own work per call over a pure passthrough, mostly the audit line's write(2) (compare the audit-off row's p50 with civic's)"),
    },
    {
      section: asec,
      metric: `throughput, ${sizes.inFlight} in flight`,
      unit: 'calls/s',
      direct: median(c.rates),
      gateway: median(by('gateway').rates),
      budget: 'ratio ≥ 1 (ahead)',
      met: aheadTp,
      explainedBy: why("the gateway's CPU per call against civic's"),
    },
  );
  const n = sums.get('gateway_noaudit')!;
  const auditMs = g.p50 - n.p50;
  const auditMet = auditMs <= AUDIT_BUDGET_MS;
  missed ||= !auditMet;
  ctx.rows.push({
    section: "Audit: its cost on a call's critical path (direct column = audit log off)",
    metric: 'sequential p50, audit on vs off',
    unit: 'ms',
    direct: n.p50,
    gateway: g.p50,
    budget: `diff ≤ ${AUDIT_BUDGET_MS} ms`,
    met: auditMet,
    explainedBy: {
      profile: 'execute_tool-audit-on',
      text: "the reply waits for its batch's write(2) (group commit: an answered call always has its line); the record's hash and JSON are on the call's path.",
    },
  });
  ctx.notes.push(
    `${section}: ${by('direct').samples.length} sequential calls per target after ${sizes.latencyWarmup} warm-up, ${sizes.latencyRounds} interleaved rounds ` +
      `(direct, gateway audit on, gateway audit off, civic, raw byte relay); throughput median of ${sizes.throughputRounds} round(s) of ${sizes.throughputCalls} calls. ` +
      "Each target is the SDK's own StdioClientTransport (a plain child, not a process group) and the v2 Client with its default (2025-11-25) connect; results are validated by the Client as any SDK user's are. CPU per call from /proc/<pid>/stat over the sequential rounds (10 ms ticks).",
  );
  ctx.data['sdkClient'] = Object.fromEntries(arms.map((a) => [a.key, { summary: sums.get(a.key), throughput: a.rates, cpuUsPerCall: a.cpuUsPerCall }]));

  if (shouldProfile(ctx, missed)) {
    await profileGateway(ctx, 'execute_tool-sdk-client', { servers: { everything: SERVER }, audit: true }, async (gw) => {
      const caller = echoCaller(gw, true, 'everything', 'echo', ECHO_ARGS);
      await timeSequential(caller, ctx.sizes.latencyWarmup, []);
      const fromMs = performance.now() - gw.transport.spawnedAt;
      await timeSequential(caller, ctx.sizes.profileCalls, []);
      return { fromMs, toMs: performance.now() - gw.transport.spawnedAt, calls: ctx.sizes.profileCalls };
    });
  }
}
