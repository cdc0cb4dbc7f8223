// Added latency and throughput of execute_tool over a direct tools/call of the same tool on
// the same server, with the targets interleaved (A B A B ...) so drift hits both alike.
// Rows without an era in their name are 2025-11-25 through the v1 SDK client, as in every run
// before the v2 SDK; the v2 echo fixture is measured in both eras, 2026-07-28 with the v2 client.

import { shouldProfile, type Context } from '../lib/context.js';
import { profileGateway } from '../lib/profile.js';
import { readCpuMs, readMemory, sampleRss } from '../lib/proc.js';
import { median, summarize, timeConcurrent, timeSequential, type Summary } from '../lib/stats.js';
import {
  echoCaller,
  LEGACY_ERA,
  MODERN_ERA,
  SERVERS,
  startDirect,
  startGateway,
  startRelay,
  type Caller,
  type Era,
  type RelayKind,
  type ServerCommand,
  type Target,
} from '../lib/targets.js';

export const P50_BUDGET_MS = 0.3;
export const P99_BUDGET_MS = 1.5;
export const THROUGHPUT_BUDGET = 0.8;

interface Arm {
  readonly key: string;
  readonly target: Target<Era>;
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
  readonly era: Era;
  readonly args: Record<string, unknown>;
  /** Also a gateway with the audit log on. */
  readonly audit: boolean;
  /** The reference relays run beside it. */
  readonly relays: readonly RelayKind[];
  /** What its profile is called when a row misses. */
  readonly profile: string;
}

const ECHO_ARGS = { message: 'hello from the benchmark' };
const TEXT_ARGS = { text: 'hello from the benchmark' };

const SCENARIOS: readonly Scenario[] = [
  {
    label: 'echo fixture',
    server: SERVERS.echo,
    name: 'echo',
    era: LEGACY_ERA,
    args: ECHO_ARGS,
    audit: true,
    relays: ['raw', 'sdk', 'sdk2'],
    profile: 'execute_tool',
  },
  {
    label: 'server-everything echo',
    server: SERVERS.everything,
    name: 'everything',
    era: LEGACY_ERA,
    args: ECHO_ARGS,
    audit: false,
    relays: [],
    profile: 'execute_tool',
  },
  {
    label: `v2 echo fixture, ${LEGACY_ERA} (v1 client)`,
    server: SERVERS.v2echo,
    name: 'v2echo',
    era: LEGACY_ERA,
    args: TEXT_ARGS,
    audit: false,
    relays: [],
    profile: 'execute_tool',
  },
  {
    label: `v2 echo fixture, ${MODERN_ERA} (v2 client)`,
    server: SERVERS.v2echo,
    name: 'v2echo',
    era: MODERN_ERA,
    args: TEXT_ARGS,
    audit: false,
    relays: ['sdk2'],
    profile: `execute_tool-${MODERN_ERA}`,
  },
];

const RELAY_LABELS: Record<RelayKind, string> = {
  raw: 'raw byte relay (no parsing)',
  sdk: 'bare SDK relay (Server + Client, nothing else)',
  sdk2: 'bare v2 SDK relay (Server + Client, nothing else)',
};

export async function runLatency(ctx: Context): Promise<void> {
  const { sizes } = ctx;
  const results: Record<string, unknown> = {};
  let missed = false;
  for (const scenario of SCENARIOS) {
    ctx.log(`latency: ${scenario.label}`);
    // Started together (start-up is not what this section measures).
    const spec = { [scenario.name]: scenario.server };
    const { era } = scenario;
    const started = await Promise.allSettled([
      startDirect(scenario.server, `direct ${scenario.name} ${era}`, era),
      startGateway({ servers: spec, era, label: `gateway ${scenario.name} ${era}` }),
      scenario.audit ? startGateway({ servers: spec, era, audit: true, label: `gateway+audit ${scenario.name} ${era}` }) : undefined,
      ...scenario.relays.map((kind) => startRelay(kind, scenario.server, era)),
    ]);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      for (const s of started) if (s.status === 'fulfilled') await s.value?.close();
      // A gateway build from before the v2 SDK (BENCH_GATEWAY_MAIN) cannot speak 2026-07-28: say so, measure the rest.
      if (era === LEGACY_ERA) throw failed.reason;
      const why = failed.reason instanceof Error ? failed.reason.message.split('\n')[0] : String(failed.reason);
      ctx.rows.push({ section: `Latency, ${scenario.label}`, metric: 'sequential p50', unit: 'ms', text: `n/a (${why})` });
      continue;
    }
    const [direct, gateway, audited, ...relays] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    if (!direct || !gateway) throw new Error(`${scenario.label}: a target is missing though every start succeeded`);
    const arm = (key: string, target: Target<Era>, viaGateway: boolean): Arm => ({
      key,
      target,
      caller: echoCaller(target, viaGateway, scenario.name, 'echo', scenario.args),
      samples: [],
      roundP50: [],
      rates: [],
    });
    const arms = [
      arm('direct', direct, false),
      ...relays.map((r, i) => arm(`${scenario.relays[i]!}_relay`, r!, false)),
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
        const sec = `${section}, reference: ${RELAY_LABELS[a.key.slice(0, -'_relay'.length) as RelayKind]}`;
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
      const profile = a.key === 'gateway_audit' ? 'execute_tool-audit-on' : scenario.profile;
      // A 2026 call takes the SDK's path on both sides; a 2025 one the path past it (docs/sdk-replacements.md).
      const relay =
        scenario.era === MODERN_ERA
          ? `the bare v2 SDK relay (this scenario's reference rows) adds about as much with no gateway code at all`
          : `the raw byte relay (reference rows of the echo fixture), which parses nothing, stays under 0.8× too, and the bare SDK relays add as much or more`;
      const why = {
        p50: {
          profile,
          text:
            scenario.era === MODERN_ERA
              ? `mostly the SDK's per-message work in the middle process (JSON parse, zod validation, an AbortController per request) and the extra pipe hops; ${relay}.`
              : `the extra process and its two pipe hops (the raw byte relay pays them too), then the gateway's call path and audit line; ${relay}.`,
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
    results[scenario.era === LEGACY_ERA ? scenario.name : `${scenario.name}-${scenario.era}`] = Object.fromEntries(
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
    const profiled = [
      { what: 'execute_tool', server: SERVERS.echo, name: 'echo', era: LEGACY_ERA, args: ECHO_ARGS, audit: false },
      { what: 'execute_tool-audit-on', server: SERVERS.echo, name: 'echo', era: LEGACY_ERA, args: ECHO_ARGS, audit: true },
      { what: `execute_tool-${MODERN_ERA}`, server: SERVERS.v2echo, name: 'v2echo', era: MODERN_ERA, args: TEXT_ARGS, audit: false },
    ] as const;
    for (const p of profiled) {
      await profileGateway(ctx, p.what, { servers: { [p.name]: p.server }, era: p.era as Era, audit: p.audit }, async (gw) => {
        const caller = echoCaller(gw, true, p.name, 'echo', p.args);
        await timeSequential(caller, ctx.sizes.latencyWarmup, []);
        const fromMs = performance.now() - gw.transport.spawnedAt;
        await timeSequential(caller, ctx.sizes.profileCalls, []);
        return { fromMs, toMs: performance.now() - gw.transport.spawnedAt, calls: ctx.sizes.profileCalls };
      });
    }
  }
}
