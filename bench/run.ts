// `npm run bench`: what the gateway costs over calling a server directly.
//
//   npm run bench                      full run (a few minutes); writes bench/results/latest.{md,json}
//   npx tsx bench/run.ts --quick       smoke run (a few hundred calls); BENCH_QUICK=1 does the same
//   npx tsx bench/run.ts --only latency,policy
//   npx tsx bench/run.ts --profile     profile the gateway even when every budget is met
//
// Method and budget: docs/performance.md. Expects a built gateway (dist/main.js).

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { FULL, QUICK, type Context } from './lib/context.js';
import { describeMachine } from './lib/machine.js';
import { killAllGroupsSync } from './lib/proc.js';
import { checkText, diffOf, markdownTable, simpleTable } from './lib/report.js';
import { closeAll, GATEWAY_MAIN, PROFILE_DIR, REPO_ROOT, removeTmpDirs } from './lib/targets.js';
import { runColdStart } from './sections/coldStart.js';
import { runDiscovery } from './sections/discovery.js';
import { runHttp } from './sections/http.js';
import { runLargeResult } from './sections/largeResult.js';
import { runLatency } from './sections/latency.js';
import { runMemory } from './sections/memory.js';
import { runPolicy } from './sections/policy.js';
import { runReload } from './sections/reload.js';
import { runRest } from './sections/rest.js';
import { runSdkClient } from './sections/sdkClient.js';
import { runSearch } from './sections/search.js';

const SECTIONS = {
  cold: runColdStart,
  stdio: runSdkClient,
  latency: runLatency,
  memory: runMemory,
  discovery: runDiscovery,
  search: runSearch,
  policy: runPolicy,
  reload: runReload,
  http: runHttp,
  rest: runRest,
  large: runLargeResult,
} as const satisfies Record<string, (ctx: Context) => Promise<void>>;
type SectionName = keyof typeof SECTIONS;

interface Options {
  quick: boolean;
  out: string;
  only: SectionName[];
  profile: Context['profile'];
  latest: boolean;
}

const USAGE = `usage: tsx bench/run.ts [--quick] [--only ${Object.keys(SECTIONS).join(',')}] [--profile|--no-profile] [--out DIR] [--no-latest]
  --quick       a smoke run: a few hundred calls, no 20-server starts, no profiles (also BENCH_QUICK=1)
  --only LIST   run only these sections (comma-separated)
  --profile     always run the gateway under --cpu-prof; --no-profile never (default: profile what misses, full runs only)
  --out DIR     where the per-run JSON (and latest.*) go (default bench/results)
  --no-latest   do not overwrite latest.md / latest.json (quick runs and --only runs never do)`;

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = {
    quick: process.env['BENCH_QUICK'] === '1',
    out: join(REPO_ROOT, 'bench', 'results'),
    only: Object.keys(SECTIONS) as SectionName[],
    profile: 'on-miss',
    latest: true,
  };
  let onlyGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    switch (arg) {
      case '--quick':
        opts.quick = true;
        break;
      case '--only': {
        const names = value().split(',').filter(Boolean);
        for (const n of names) if (!(n in SECTIONS)) throw new Error(`unknown section ${n}\n${USAGE}`);
        opts.only = names as SectionName[];
        onlyGiven = true;
        break;
      }
      case '--profile':
        opts.profile = 'always';
        break;
      case '--no-profile':
        opts.profile = 'never';
        break;
      case '--out':
        opts.out = resolve(value());
        break;
      case '--no-latest':
        opts.latest = false;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  // latest.* is the published full run: never replaced by a smoke or partial run.
  if (opts.quick || onlyGiven) opts.latest = false;
  return opts;
}

function renderMarkdown(ctx: Context, meta: Record<string, unknown>, machine: ReturnType<typeof describeMachine>): string {
  const missed = ctx.rows.filter((r) => r.met === false);
  const checked = ctx.rows.filter((r) => r.met !== undefined);
  const lines: string[] = [];
  lines.push(`# agent-mcp-gateway benchmark${ctx.quick ? ' (quick smoke run: figures are not meaningful)' : ''}`);
  lines.push('');
  lines.push(`- Run: ${String(meta['startedAt'])}, ${String(meta['durationS'])} s, ${ctx.quick ? 'quick' : 'full'} mode`);
  lines.push(`- Gateway ${machine.gateway} at ${machine.commit}`);
  lines.push(
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memTotalMb} MB, ${machine.kernel}; ` +
      `load average ${machine.loadAvgStart.join(' / ')} at start, ${(machine.loadAvgEnd ?? []).join(' / ')} at end`,
  );
  lines.push(
    `- Node ${machine.node}, @modelcontextprotocol/sdk ${machine.sdk} (v1: the bench's 2025-11-25 client), ` +
      `@modelcontextprotocol/server ${machine.sdkServer} and client ${machine.sdkClient} (v2: the gateway, and the bench's 2026-07-28 client), ` +
      `server-everything ${machine.serverEverything}`,
  );
  lines.push('');
  lines.push(
    'Stdio rows name their era when it is 2026-07-28 or the v2 echo fixture; every other stdio row is 2025-11-25 through the v1 SDK client, as in the runs before the v2 SDK.',
  );
  lines.push('');
  lines.push(
    'Difference = via gateway − direct; ratio = via gateway ÷ direct; both measured in the same run, interleaved. ' +
      'See docs/performance.md for the method and the budget.',
  );
  lines.push('');
  lines.push(markdownTable(ctx.rows));
  lines.push('');
  lines.push(
    `**Budget: ${checked.length - missed.length} of ${checked.length} checked rows met.**` +
      (missed.length ? ` Missed: ${missed.map((r) => `${r.section} / ${r.metric}`).join('; ')}.` : ''),
  );
  if (missed.length) {
    lines.push('');
    lines.push('## Missed rows: where the time goes');
    lines.push('');
    for (const r of missed) {
      const why = r.explainedBy;
      const profile = why?.profile === undefined ? undefined : ctx.profiles.find((p) => p.what === why.profile);
      const where =
        why?.profile === undefined
          ? ''
          : profile
            ? ` Profile: \`${profile.summary.file}\` (section *Profile: ${why.profile}* below).`
            : ` Profile: none taken in this run (run with --profile for *${why.profile}*).`;
      lines.push(`- **${r.section} / ${r.metric}**: ${why?.text ?? 'no explanation recorded.'}${where}`);
    }
  }
  if (ctx.notes.length) {
    lines.push('');
    lines.push('## Notes');
    lines.push('');
    for (const note of ctx.notes) lines.push(`- ${note}`);
  }
  for (const p of ctx.profiles) {
    lines.push('');
    lines.push(`## Profile: ${p.what}`);
    lines.push('');
    const s = p.summary;
    lines.push(
      `\`${s.file}\` (node --cpu-prof, 100 µs sampling). Window ${s.wallMs.toFixed(0)} ms: busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms` +
        (p.perCallUs !== undefined ? `; gateway busy time per call ≈ ${p.perCallUs.toFixed(1)} µs.` : '.'),
    );
    lines.push('');
    lines.push('Self time by area (share of busy time):');
    lines.push('');
    lines.push(
      simpleTable(
        ['Area', 'Self ms', 'Share'],
        s.areas.slice(0, 12).map((e) => [e.name, e.selfMs.toFixed(1), `${(e.share * 100).toFixed(1)}%`]),
      ),
    );
    lines.push('');
    lines.push('Top functions by self time:');
    lines.push('');
    lines.push(
      simpleTable(
        ['Function', 'Self ms', 'Share'],
        s.topFunctions.slice(0, 12).map((e) => [`\`${e.name}\``, e.selfMs.toFixed(1), `${(e.share * 100).toFixed(1)}%`]),
      ),
    );
    if (s.gatewayInclusive.length) {
      lines.push('');
      lines.push('Gateway functions (dist/src) by inclusive time: the function and everything it calls synchronously' + (p.calls ? ', per call' : '') + ':');
      lines.push('');
      lines.push(
        simpleTable(
          ['Function', p.calls ? 'µs per call' : 'ms', 'Share'],
          s.gatewayInclusive
            .slice(0, 12)
            .map((e) => [`\`${e.name}\``, p.calls ? ((e.selfMs * 1000) / p.calls).toFixed(1) : e.selfMs.toFixed(1), `${(e.share * 100).toFixed(1)}%`]),
        ),
      );
    }
  }
  for (const extra of ctx.extras) {
    lines.push('');
    lines.push(`## ${extra.title}`);
    lines.push('');
    lines.push(extra.markdown);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(GATEWAY_MAIN)) throw new Error(`${GATEWAY_MAIN} is missing: run \`npm run build\` first (npm run bench does)`);
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const machine = describeMachine();
  const ctx: Context = {
    quick: opts.quick,
    sizes: opts.quick ? QUICK : FULL,
    profile: opts.profile,
    profileDir: opts.out === join(REPO_ROOT, 'bench', 'results') ? PROFILE_DIR : join(opts.out, 'profiles'),
    stamp,
    rows: [],
    data: {},
    notes: [],
    profiles: [],
    extras: [],
    log: (message) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${message}\n`),
  };
  const t0 = performance.now();
  for (const name of opts.only) {
    try {
      await SECTIONS[name](ctx);
    } finally {
      await closeAll();
    }
  }
  machine.loadAvgEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  const meta = {
    startedAt: started.toISOString(),
    durationS: Math.round((performance.now() - t0) / 100) / 10,
    mode: opts.quick ? 'quick' : 'full',
    sections: opts.only,
  };
  const markdown = renderMarkdown(ctx, meta, machine);
  const json = {
    ...meta,
    machine,
    sizes: ctx.sizes,
    rows: ctx.rows.map((r) => ({ ...r, ...diffOf(r), check: checkText(r) })),
    notes: ctx.notes,
    profiles: ctx.profiles,
    extras: ctx.extras,
    data: ctx.data,
  };
  mkdirSync(opts.out, { recursive: true });
  const runFile = join(opts.out, `run-${stamp}${opts.quick ? '-quick' : ''}.json`);
  writeFileSync(runFile, `${JSON.stringify(json, null, 2)}\n`);
  if (opts.latest) {
    writeFileSync(join(opts.out, 'latest.md'), markdown);
    writeFileSync(join(opts.out, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  }
  process.stdout.write(markdown);
  ctx.log(`wrote ${relative(process.cwd(), runFile)}${opts.latest ? ' and latest.md / latest.json' : ''}`);
}

let exiting = false;
const emergency = (signal: NodeJS.Signals): void => {
  if (exiting) return;
  exiting = true;
  killAllGroupsSync();
  removeTmpDirs();
  process.exit(signal === 'SIGINT' ? 130 : 143);
};
process.once('SIGINT', () => emergency('SIGINT'));
process.once('SIGTERM', () => emergency('SIGTERM'));
process.once('exit', () => killAllGroupsSync());

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await closeAll();
  killAllGroupsSync();
  removeTmpDirs();
}
