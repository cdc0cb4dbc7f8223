// Added latency and throughput of execute_tool over a direct tools/call of the same tool on
// the same server, with the targets interleaved (A B A B ...) so drift hits both alike.

import { shouldProfile, type Context } from '../lib/context.js';
import { profileGateway } from '../lib/profile.js';
import { readCpuMs, readMemory, sampleRss } from '../lib/proc.js';
import { median, summarize, timeConcurrent, timeSequential, type Summary } from '../lib/stats.js';
import { echoCaller, SERVERS, startDirect, startGateway, startRelay, type Caller, type ServerCommand, type Target } from '../lib/targets.js';

export const P50_BUDGET_MS = 0.3;
export const P99_BUDGET_MS = 1.5;
export const THROUGHPUT_BUDGET = 0.8;

interface Arm {
  readonly key: string;
  readonly target: Target;
  readonly caller: Caller;
  readonly samples: number[];
  readonly roundP50: number[];
  readonly rates: number[];
  cpuMsPerCall?: number;
  peakRssMb?: number;
}

interface Scenario {
  readonly label: string;
  readonly server: ServerCommand;
  readonly name: string;
  /** Also a gateway with the audit log on, and the two reference relays. */
  readonly extras: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  { label: 'echo fixture', server: SERVERS.echo, name: 'echo', extras: true },
  { label: 'server-everything echo', server: SERVERS.everything, name: 'everything', extras: false },
];

const ECHO_ARGS = { message: 'hello from the benchmark' };

export async function runLatency(ctx: Context): Promise<void> {
  const { sizes } = ctx;
  const results: Record<string, unknown> = {};
  let missed = false;
  for (const scenario of SCENARIOS) {
    ctx.log(`latency: ${scenario.label}`);
    // Started together (start-up is not what this section measures).
    const spec = { [scenario.name]: scenario.server };
    const [direct, gateway, audited, raw, sdk] = await Promise.all([
      startDirect(scenario.server, `direct ${scenario.name}`),
      startGateway({ servers: spec, label: `gateway ${scenario.name}` }),
      scenario.extras ? startGateway({ servers: spec, audit: true, label: `gateway+audit ${scenario.name}` }) : undefined,
      scenario.extras ? startRelay('raw', scenario.server) : undefined,
      scenario.extras ? startRelay('sdk', scenario.server) : undefined,
    ]);
    const arm = (key: string, target: Target, viaGateway: boolean): Arm => ({
      key,
      target,
      caller: echoCaller(target, viaGateway, scenario.name, 'echo', ECHO_ARGS),
      samples: [],
      roundP50: [],
      rates: [],
    });
    const arms = [
      arm('direct', direct, false),
      ...(raw ? [arm('raw_relay', raw, false)] : []),
      ...(sdk ? [arm('sdk_relay', sdk, false)] : []),
      arm('gateway', gateway, true),
      ...(audited ? [arm('gateway_audit', audited, true)] : []),
    ];
    try {
      // Warm-up, interleaved too: JIT in all three processes, the gateway's lazy connect.
      for (const a of arms) await timeSequential(a.caller, sizes.latencyWarmup, []);

      // Sequential latency: A B (C) A B (C) ... one block per arm per round.
      const perRound = Math.ceil(sizes.latencyCalls / sizes.latencyRounds);
      const cpuStart = arms.map((a) => readCpuMs(a.target.pid));
      for (let r = 0; r < sizes.latencyRounds; r++) {
        for (const a of arms) {
          const block: number[] = [];
          await timeSequential(a.caller, perRound, block);
          a.samples.push(...block);
          a.roundP50.push(median(block));
        }
      }
      arms.forEach((a, i) => (a.cpuMsPerCall = (readCpuMs(a.target.pid) - (cpuStart[i] ?? NaN)) / a.samples.length));

      // Throughput with `inFlight` calls outstanding, interleaved the same way.
      for (const a of arms) await timeConcurrent(a.caller, sizes.inFlight * 20, sizes.inFlight);
      for (let r = 0; r < sizes.throughputRounds; r++) {
        for (const a of arms) {
          const sampler = sampleRss(a.target.pid);
          a.rates.push(await timeConcurrent(a.caller, sizes.throughputCalls, sizes.inFlight));
          const peak = sampler.stop().maxRssMb;
          a.peakRssMb = Math.max(a.peakRssMb ?? 0, peak, readMemory(a.target.pid)?.hwmMb ?? 0);
        }
      }
    } finally {
      await Promise.all(arms.map((a) => a.target.close()));
    }

    const sums = new Map<string, Summary>(arms.map((a) => [a.key, summarize(a.samples)]));
    const d = sums.get('direct')!;
    const section = `Latency, ${scenario.label}`;
    const rd = median(arms[0]!.rates);
    // The gateway's rows first, the reference relays after them.
    const isRelay = (a: Arm): number => (a.key.endsWith('_relay') ? 1 : 0);
    for (const a of [...arms].sort((x, y) => isRelay(x) - isRelay(y))) {
      if (a.key === 'direct') continue;
      const g = sums.get(a.key)!;
      if (a.key.endsWith('_relay')) {
        const sec = `${section}, reference: ${a.key === 'raw_relay' ? 'raw byte relay (no parsing)' : 'bare SDK relay (Server + Client, nothing else)'}`;
        ctx.rows.push(
          { section: sec, metric: 'sequential p50', unit: 'ms', direct: d.p50, gateway: g.p50 },
          { section: sec, metric: 'sequential p99', unit: 'ms', direct: d.p99, gateway: g.p99 },
          { section: sec.replace('Latency', 'Throughput'), metric: `${sizes.inFlight} in flight`, unit: 'calls/s', direct: rd, gateway: median(a.rates) },
          {
            section: sec.replace('Latency', 'CPU per call'),
            metric: 'server process vs relay process (sequential run)',
            unit: 'µs',
            direct: (arms[0]!.cpuMsPerCall ?? NaN) * 1000,
            gateway: (a.cpuMsPerCall ?? NaN) * 1000,
          },
        );
        continue;
      }
      const sec = a.key === 'gateway_audit' ? `${section}, audit log on` : section;
      const profile = a.key === 'gateway_audit' ? 'execute_tool-audit-on' : 'execute_tool';
      const relay = `the bare SDK relay (reference rows of the echo fixture) adds about as much with no gateway code at all`;
      const why = {
        p50: {
          profile,
          text: `mostly the SDK's per-message work in the middle process (JSON parse, zod validation, an AbortController per request) and the extra pipe hops; ${relay}.`,
        },
        p99: {
          profile,
          text: `the tail of three processes sharing 2 cores (a woken process waits for a CPU) plus the SDK's per-message allocation and GC; ${relay}.`,
        },
        throughput: {
          profile,
          text: `with 16 in flight the client, the middle process and the server share 2 cores, so the middle process's CPU per message bounds the rate; ${relay}.`,
        },
      };
      const p50Met = g.p50 - d.p50 <= P50_BUDGET_MS;
      const p99Met = g.p99 - d.p99 <= P99_BUDGET_MS;
      missed ||= !p50Met || !p99Met;
      ctx.rows.push(
        {
          section: sec,
          metric: 'sequential p50',
          unit: 'ms',
          direct: d.p50,
          gateway: g.p50,
          budget: `diff ≤ ${P50_BUDGET_MS} ms`,
          met: p50Met,
          explainedBy: why.p50,
        },
        { section: sec, metric: 'sequential p95', unit: 'ms', direct: d.p95, gateway: g.p95 },
        {
          section: sec,
          metric: 'sequential p99',
          unit: 'ms',
          direct: d.p99,
          gateway: g.p99,
          budget: `diff ≤ ${P99_BUDGET_MS} ms`,
          met: p99Met,
          explainedBy: why.p99,
        },
      );
      const rg = median(a.rates);
      const tpMet = rg / rd >= THROUGHPUT_BUDGET;
      missed ||= !tpMet;
      ctx.rows.push({
        section: sec.replace('Latency', 'Throughput'),
        metric: `${sizes.inFlight} in flight`,
        unit: 'calls/s',
        direct: rd,
        gateway: rg,
        budget: `ratio ≥ ${THROUGHPUT_BUDGET}`,
        met: tpMet,
        explainedBy: why.throughput,
      });
      ctx.rows.push({
        section: sec.replace('Latency', 'CPU per call'),
        metric: 'server process vs gateway process (sequential run)',
        unit: 'µs',
        direct: (arms[0]!.cpuMsPerCall ?? NaN) * 1000,
        gateway: (a.cpuMsPerCall ?? NaN) * 1000,
      });
      const roundDiffs = a.roundP50.map((p, i) => p - (arms[0]!.roundP50[i] ?? NaN));
      ctx.notes.push(
        `${sec}: ${a.samples.length} sequential calls per target after ${sizes.latencyWarmup} warm-up, ${sizes.latencyRounds} interleaved rounds; ` +
          `per-round p50 difference ${Math.min(...roundDiffs).toFixed(3)}–${Math.max(...roundDiffs).toFixed(3)} ms; ` +
          `throughput median of ${sizes.throughputRounds} round(s) of ${sizes.throughputCalls} calls.`,
      );
    }
    if (scenario.name === 'echo') {
      const g = arms.find((a) => a.key === 'gateway')!;
      ctx.rows.push({
        section: 'Memory',
        metric: `peak RSS under the throughput run (VmHWM; direct = the echo server)`,
        unit: 'MB',
        direct: arms[0]!.peakRssMb ?? NaN,
        gateway: g.peakRssMb ?? NaN,
      });
    }
    results[scenario.name] = Object.fromEntries(
      arms.map((a) => [
        a.key,
        {
          summary: sums.get(a.key),
          roundP50: a.roundP50,
          throughput: a.rates,
          cpuUsPerCall: (a.cpuMsPerCall ?? NaN) * 1000,
          peakRssMb: a.peakRssMb,
        },
      ]),
    );
  }
  ctx.data['latency'] = results;

  if (shouldProfile(ctx, missed)) {
    for (const audit of [false, true]) {
      await profileGateway(ctx, audit ? 'execute_tool-audit-on' : 'execute_tool', { servers: { echo: SERVERS.echo }, audit }, async (gw) => {
        const caller = echoCaller(gw, true, 'echo', 'echo', ECHO_ARGS);
        await timeSequential(caller, ctx.sizes.latencyWarmup, []);
        const fromMs = performance.now() - gw.transport.spawnedAt;
        await timeSequential(caller, ctx.sizes.profileCalls, []);
        return { fromMs, toMs: performance.now() - gw.transport.spawnedAt, calls: ctx.sizes.profileCalls };
      });
    }
  }
}
