// Cold start: spawn of the gateway -> initialize answered -> first list_servers answered,
// lazy and eager, 1 and 20 servers, beside the start of a bare `node -e 0`.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { shouldProfile, type Context } from '../lib/context.js';
import { profileGateway } from '../lib/profile.js';
import { timeProcess } from '../lib/proc.js';
import { simpleTable } from '../lib/report.js';
import { median, sleep } from '../lib/stats.js';
import { AGENT, call, childEnv, GATEWAY_MAIN, REPO_ROOT, SERVERS, startGateway, type ServerCommand } from '../lib/targets.js';

export const READY_BUDGET_MS = 150;

interface Config {
  readonly strategy: 'lazy' | 'eager';
  readonly count: number;
}

function servers(count: number): Record<string, ServerCommand> {
  const out: Record<string, ServerCommand> = {};
  for (let i = 0; i < count; i++) out[count === 1 ? 'echo' : `echo_${String(i).padStart(2, '0')}`] = SERVERS.echo;
  return out;
}

export async function runColdStart(ctx: Context): Promise<void> {
  const configs: Config[] = [
    { strategy: 'lazy', count: 1 },
    { strategy: 'eager', count: 1 },
    ...(ctx.sizes.coldTwenty ? [{ strategy: 'lazy', count: 20 } as const, { strategy: 'eager', count: 20 } as const] : []),
  ];
  const bare: number[] = [];
  const init = new Map<Config, number[]>(configs.map((c) => [c, []]));
  const ready = new Map<Config, number[]>(configs.map((c) => [c, []]));
  const env = childEnv();
  // One untimed start first: page cache and the filesystem's metadata warm for everyone.
  await timeProcess(process.execPath, ['-e', '0'], env);
  for (let rep = 0; rep < ctx.sizes.coldReps; rep++) {
    ctx.log(`cold start: round ${rep + 1}/${ctx.sizes.coldReps}`);
    bare.push(await timeProcess(process.execPath, ['-e', '0'], env));
    for (const c of configs) {
      const gw = await startGateway({ servers: servers(c.count), initStrategy: c.strategy, label: `cold ${c.strategy} ${c.count}` });
      try {
        init.get(c)!.push(gw.initializedAt - gw.transport.spawnedAt);
        await call(gw, 'list_servers', { agent_id: AGENT });
        ready.get(c)!.push(performance.now() - gw.transport.spawnedAt);
      } finally {
        await gw.close();
      }
      await sleep(100);
    }
  }
  const bareMs = median(bare);
  let missed = false;
  for (const c of configs) {
    const label = `${c.strategy}, ${c.count} server${c.count === 1 ? '' : 's'}`;
    const readyMs = median(ready.get(c)!);
    const budgeted = c.strategy === 'lazy';
    if (budgeted && readyMs > READY_BUDGET_MS) missed = true;
    ctx.rows.push(
      { section: 'Cold start', metric: `${label}: spawn → initialize done`, unit: 'ms', direct: bareMs, gateway: median(init.get(c)!) },
      {
        section: 'Cold start',
        metric: `${label}: spawn → first list_servers answer`,
        unit: 'ms',
        direct: bareMs,
        gateway: readyMs,
        ...(budgeted
          ? {
              budget: `gateway ≤ ${READY_BUDGET_MS} ms`,
              met: readyMs <= READY_BUDGET_MS,
              explainedBy: {
                profile: 'cold-start',
                text: "module loading: node's own start plus the v2 SDK server and client (zod schemas, ajv) that serving MCP on the SDK needs, then yargs and the rest of main.ts's imports; see the import-cost table.",
              },
            }
          : {}),
      },
    );
  }
  ctx.notes.push(
    `Cold start: median of ${ctx.sizes.coldReps} start(s) per configuration, interleaved; "direct" is a bare \`node -e 0\` (spawn → exit, median ${bareMs.toFixed(1)} ms)` +
      (ctx.sizes.coldTwenty ? '.' : '; 20-server starts skipped in quick mode.'),
  );
  ctx.data['coldStart'] = {
    bareNodeMs: bare,
    configs: configs.map((c) => ({ ...c, initializeMs: init.get(c), listServersMs: ready.get(c) })),
  };

  if (shouldProfile(ctx, missed)) {
    await importCosts(ctx);
    await profileGateway(ctx, 'cold-start', { servers: servers(1) }, async (gw) => {
      await call(gw, 'list_servers', { agent_id: AGENT });
      return { fromMs: 0, toMs: performance.now() - gw.transport.spawnedAt };
    });
  }
}

/** What a short node script printed on stdout. */
function outputOf(command: string, args: readonly string[], env: Readonly<Record<string, string>>, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { env: { ...env }, cwd, timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

/** What each dependency costs to load: a `node` that only imports it, spawn → exit. */
const IMPORTS: readonly (readonly [label: string, specifiers: readonly string[]])[] = [
  ['zod', ['zod']],
  ["@modelcontextprotocol/core (the protocol's zod schemas, both eras)", ['@modelcontextprotocol/core']],
  ['ajv (JSON Schema validator; the SDK server and client load it)', ['ajv']],
  ['@modelcontextprotocol/server', ['@modelcontextprotocol/server']],
  [
    'SDK server + server/stdio (serveStdio: the least a stdio MCP server on the v2 SDK loads)',
    ['@modelcontextprotocol/server', '@modelcontextprotocol/server/stdio'],
  ],
  ['@modelcontextprotocol/client (the downstream side)', ['@modelcontextprotocol/client']],
  [
    'SDK server + server/stdio + client (what the stdio gateway loads of the SDK)',
    ['@modelcontextprotocol/server', '@modelcontextprotocol/server/stdio', '@modelcontextprotocol/client'],
  ],
  // The v1 SDK the gateway ran on before issue 16, measured beside it for the comparison.
  [
    'v1: @modelcontextprotocol/sdk server/index.js + server/stdio.js + client/index.js (before the v2 SDK)',
    ['@modelcontextprotocol/sdk/server/index.js', '@modelcontextprotocol/sdk/server/stdio.js', '@modelcontextprotocol/sdk/client/index.js'],
  ],
  ['pino', ['pino']],
  ['yargs + yargs/helpers', ['yargs', 'yargs/helpers']],
  ['chokidar', ['chokidar']],
  ['minimatch', ['minimatch']],
  ['dist/src/cli/serve.js (the whole serve path, no CLI parsing)', [pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'cli', 'serve.js')).href]],
  ...(existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'serveHttp.js'))
    ? [['dist/src/cli/serveHttp.js (HTTP mode)', [pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'cli', 'serveHttp.js')).href]] as const]
    : []),
];

/** The table of what each import costs in time and memory; once per run (the memory section asks for it too). */
export async function importCosts(ctx: Context): Promise<void> {
  if (ctx.data['importRssMb'] !== undefined) return;
  ctx.log('cold start: import cost by dependency');
  const env = childEnv();
  const reps = ctx.quick ? 1 : 5;
  // Bare specifiers resolve from the script's location: for `-e` that is the working directory.
  const script = (specifiers: readonly string[]): Promise<number> =>
    timeProcess(process.execPath, ['--input-type=module', '-e', specifiers.map((s) => `await import(${JSON.stringify(s)});`).join(' ')], env, REPO_ROOT);
  const EMPTY = '(empty ESM script)';
  const MAIN = 'dist/main.js --version (everything main.ts imports, then exit)';
  const times = new Map<string, number[]>([[EMPTY, []], ...IMPORTS.map(([label]) => [label, []] as [string, number[]]), [MAIN, []]]);
  for (let r = 0; r < reps; r++) {
    times.get(EMPTY)!.push(await script([]));
    for (const [label, specifiers] of IMPORTS) times.get(label)!.push(await script(specifiers));
    times.get(MAIN)!.push(await timeProcess(process.execPath, [GATEWAY_MAIN, '--version'], env));
  }
  // RSS once the imports are done (one process each): what the loaded code costs in memory.
  const rss = new Map<string, number>();
  const rssOf = async (specifiers: readonly string[]): Promise<number> => {
    const code = `${specifiers.map((s) => `await import(${JSON.stringify(s)});`).join(' ')} await new Promise((r) => setTimeout(r, 200)); process.stdout.write(String(process.memoryUsage().rss));`;
    const out = await outputOf(process.execPath, ['--input-type=module', '-e', code], env, REPO_ROOT);
    return Number(out) / (1024 * 1024);
  };
  rss.set(EMPTY, await rssOf([]));
  for (const [label, specifiers] of IMPORTS) rss.set(label, await rssOf(specifiers));
  const base = median(times.get(EMPTY)!);
  const rows = [...times].map(([label, t]) => {
    const m = median(t);
    const r = rss.get(label);
    return [label, `${m.toFixed(0)} ms`, label === EMPTY ? '—' : `+${(m - base).toFixed(0)} ms`, r === undefined || Number.isNaN(r) ? '—' : `${r.toFixed(1)} MB`];
  });
  ctx.extras.push({
    title: 'Cold start: what each import costs',
    markdown:
      `Each line is a fresh \`node\` process that only imports the module (spawn → exit, median of ${reps}). ` +
      `Imports share dependencies (the SDK loads zod), so the lines do not add up. ` +
      `RSS: the same imports in one more process, read 200 ms after they finished (what the loaded code costs in memory; the idle-RSS row's floor).\n\n` +
      simpleTable(['Process', 'Spawn → exit', 'Over an empty script', 'RSS after the imports'], rows),
  });
  ctx.data['importCosts'] = Object.fromEntries(times);
  ctx.data['importRssMb'] = Object.fromEntries(rss);
}
