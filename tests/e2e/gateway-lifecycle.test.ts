// The gateway's lifecycle over real stdio (issue 3, "Lifecycle" and "Serving"): it exits
// within 1 s after stdin closes or on SIGTERM / SIGINT and leaves no process behind (every
// downstream child and grandchild, including servers started through `sh -c` and a child that
// ignores SIGTERM); stdout carries JSON-RPC only, logs go to stderr with a start-up summary;
// eager start-up is never blocked by a broken or hanging server; a flooding stderr never
// blocks calls.
//
// The gateway is driven with a bare JSON-RPC peer (tests/helpers/rawStdio.ts) so the test sees
// the exact moment of exit, the exit code and every byte on stdout.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJsonl } from '../helpers/gateway.js';
import { GATEWAY_MAIN, SERVER_EVERYTHING, fixture } from '../helpers/paths.js';
import { descendantsOf, isAlive, type ProcessInfo, waitFor } from '../helpers/processes.js';
import { spawnRaw, type JsonRpcResponse, type RawExit, type RawStdioPeer } from '../helpers/rawStdio.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { textOf } from '../helpers/results.js';
import { DEBUG_META_TOOL_NAMES, META_TOOL_NAMES } from '../helpers/metaTools.js';

const MARKER = `gw-lifecycle-${process.pid}-${Date.now()}`;
const BASE_ENV: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) BASE_ENV[k] = v;
BASE_ENV.GW_E2E_MARKER = MARKER;

const AGENT = 'tester';
const RULES = { agents: { [AGENT]: { allow: { servers: ['*'] } } } };
/** The issue's deadline: Claude Code kills a server about 0.5 s after asking; we allow 1 s. */
const EXIT_DEADLINE_MS = 1000;

/** Measured exit times, printed at the end for the report. */
const measured: string[] = [];

interface Gw {
  peer: RawStdioPeer;
  pid: number;
  dir: string;
  mcpConfigPath: string;
  rulesPath: string;
  auditPath: string;
  /** performance.now() at the child's 'exit' event (before its pipes close). */
  exitedAt: Promise<number>;
}

const gateways: Gw[] = [];

function spawnGateway(mcpServers: object, opts: { args?: string[]; env?: Record<string, string>; rules?: object } = {}): Gw {
  const dir = makeTmpDir('amg-life-');
  const mcpConfigPath = join(dir, '.mcp.json');
  const rulesPath = join(dir, '.mcp-gateway-rules.json');
  const auditPath = join(dir, 'audit.jsonl');
  writeJson(mcpConfigPath, { mcpServers });
  writeJson(rulesPath, opts.rules ?? RULES);
  const peer = spawnRaw(process.execPath, [GATEWAY_MAIN, '--mcp-config', mcpConfigPath, '--rules', rulesPath, '--audit-log', auditPath, ...(opts.args ?? [])], {
    env: { ...BASE_ENV, ...opts.env },
    cwd: dir,
  });
  const exitedAt = new Promise<number>((resolve) => peer.child.once('exit', () => resolve(performance.now())));
  const gw = { peer, pid: peer.pid, dir, mcpConfigPath, rulesPath, auditPath, exitedAt };
  gateways.push(gw);
  return gw;
}

async function exec(gw: Gw, server: string, tool: string, args: Record<string, unknown> = {}, timeoutMs = 30_000) {
  const res = await gw.peer.request('tools/call', { name: 'execute_tool', arguments: { agent_id: AGENT, server, tool, args } }, timeoutMs);
  if (res.error) throw new Error(`execute_tool ${server}/${tool}: JSON-RPC error ${res.error.message}`);
  return res.result as { content: Array<{ type: string; text?: string }>; isError?: boolean; structuredContent?: unknown };
}

/** Pino lines the gateway wrote to stderr, parsed (every stderr line must be one). */
function logLines(gw: Gw): Array<Record<string, unknown>> {
  return gw.peer
    .stderr()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// A server whose real process is a grandchild of the gateway: sh stays as the parent (the
// trailing `; exit` stops sh from exec-ing node), as with `npx` or a wrapper script.
const everythingViaSh = {
  command: 'sh',
  args: ['-c', `"${process.execPath}" "${SERVER_EVERYTHING}" stdio; exit 0`],
};

/**
 * A minimal hand-written stdio MCP server that will not leave: it ignores SIGTERM, SIGINT and
 * stdin EOF, stays alive on a timer, and has a grandchild (`sleep 1002` under `sh`, with
 * SIGTERM ignored, which `sleep` inherits). Only a group SIGKILL removes them.
 */
const STUBBORN_SERVER = `
import { spawn } from 'node:child_process';
const say = (s) => process.stderr.write('stubborn: ' + s + '\\n');
process.on('SIGTERM', () => say('ignoring SIGTERM'));
process.on('SIGINT', () => say('ignoring SIGINT'));
setInterval(() => {}, 1 << 30);
spawn('sh', ['-c', "trap '' TERM INT; sleep 1002; exit 0"], { stdio: 'ignore' });
const reply = (id, result) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result }) + '\\n');
let buf = '';
process.stdin.on('data', (chunk) => {
  buf += chunk;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    let m;
    try { m = JSON.parse(line); } catch { continue; }
    if (m.id === undefined || typeof m.method !== 'string') continue;
    if (m.method === 'initialize') reply(m.id, { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'stubborn', version: '1.0.0' } });
    else if (m.method === 'tools/list') reply(m.id, { tools: [{ name: 'pid', inputSchema: { type: 'object' } }] });
    else if (m.method === 'tools/call') reply(m.id, { content: [{ type: 'text', text: String(process.pid) }] });
    else reply(m.id, {});
  }
});
process.stdin.on('end', () => say('ignoring stdin EOF'));
`;

/**
 * Starts a gateway with spawner.mjs (grandchildren via spawn and `sh -c`) and server-everything
 * under `sh -c`, connects both, and returns the gateway with a snapshot of its descendants.
 */
async function gatewayWithProcessTree(): Promise<{ gw: Gw; tree: ProcessInfo[] }> {
  const gw = spawnGateway({
    spawner: { command: process.execPath, args: [fixture('spawner')] },
    everything: everythingViaSh,
  });
  await gw.peer.initialize(20_000);
  const kids = JSON.parse(textOf(await exec(gw, 'spawner', 'children'))) as { pid: number; children: number[] };
  expect(textOf(await exec(gw, 'everything', 'echo', { message: 'up' }))).toContain('up');
  // spawner -> sleep 1000; spawner -> sh -> sleep 1001; sh -> node server-everything.
  let tree: ProcessInfo[] = [];
  await waitFor(
    () => {
      tree = descendantsOf(gw.pid);
      const cmds = tree.map((p) => p.cmd);
      return (
        tree.some((p) => p.pid === kids.pid) &&
        kids.children.every((c) => tree.some((p) => p.pid === c)) &&
        cmds.some((c) => c === 'sleep 1000') &&
        cmds.some((c) => c === 'sleep 1001') &&
        cmds.some((c) => c.includes(SERVER_EVERYTHING) && !c.startsWith('sh '))
      );
    },
    { timeoutMs: 15_000, message: 'the expected process tree never appeared' },
  );
  expect(tree.length).toBeGreaterThanOrEqual(6);
  return { gw, tree };
}

async function expectAllGone(tree: ProcessInfo[], what: string): Promise<void> {
  // The gateway waits for every process group to be empty before it exits, so this should
  // hold at once; the short wait only absorbs the kernel finishing a SIGKILL.
  const aliveAtExit = tree.filter((p) => isAlive(p.pid));
  await waitFor(() => tree.every((p) => !isAlive(p.pid)), {
    timeoutMs: 1000,
    intervalMs: 10,
    message: `${what}: processes left behind: ${tree
      .filter((p) => isAlive(p.pid))
      .map((p) => `${p.pid} ${p.cmd}`)
      .join('; ')}`,
  });
  measured.push(`${what}: ${aliveAtExit.length} of ${tree.length} descendants still alive at the exit event`);
}

async function stopAndMeasure(gw: Gw, how: 'stdin' | 'SIGTERM' | 'SIGINT'): Promise<{ ms: number; exit: RawExit }> {
  const t0 = performance.now();
  if (how === 'stdin') gw.peer.endStdin();
  else process.kill(gw.pid, how);
  const t1 = await gw.exitedAt;
  const exit = await gw.peer.exit;
  const ms = t1 - t0;
  return { ms, exit };
}

guardAgainstLeaks(MARKER, {
  close: async () => {
    for (const gw of gateways) gw.peer.endStdin();
    await Promise.allSettled(gateways.map((g) => g.peer.exit));
    if (measured.length) console.log(`gateway lifecycle measurements:\n  ${measured.join('\n  ')}`);
  },
  what: 'processes left behind by gateway-lifecycle tests',
});

// ------------------------------------------------------------------------------------------
describe('shutdown: fast, clean, nothing left behind', () => {
  for (const how of ['stdin', 'SIGTERM', 'SIGINT'] as const) {
    const label = how === 'stdin' ? 'stdin closes' : `${how} arrives`;
    it(`${label}: exit within ${EXIT_DEADLINE_MS} ms, code 0, every descendant gone (spawner + sh -c server-everything)`, async () => {
      const { gw, tree } = await gatewayWithProcessTree();
      const { ms, exit } = await stopAndMeasure(gw, how);
      measured.push(`${how}: exited ${ms.toFixed(1)} ms after ${how === 'stdin' ? 'stdin EOF' : how}`);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(ms).toBeLessThan(EXIT_DEADLINE_MS);
      await expectAllGone(tree, how);
      // The graceful path did it, not the forced-exit fallback.
      expect(gw.peer.stderr()).not.toContain('shutdown grace exceeded');
      expect(gw.peer.nonJsonLines).toEqual([]);
    });
  }

  it("Claude Code's cascade (SIGINT, then SIGTERM 100 ms later) still gives one clean, fast exit", async () => {
    const { gw, tree } = await gatewayWithProcessTree();
    const t0 = performance.now();
    process.kill(gw.pid, 'SIGINT');
    const second = setTimeout(() => {
      try {
        process.kill(gw.pid, 'SIGTERM');
      } catch {
        // already gone: fine
      }
    }, 100);
    const t1 = await gw.exitedAt;
    clearTimeout(second);
    const exit = await gw.peer.exit;
    const ms = t1 - t0;
    measured.push(`SIGINT + SIGTERM 100 ms later: exited ${ms.toFixed(1)} ms after SIGINT`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(EXIT_DEADLINE_MS);
    await expectAllGone(tree, 'cascade');
  });

  it('a server that ignores SIGTERM, SIGINT and stdin EOF, with a grandchild that ignores SIGTERM, is still killed (SIGKILL)', async () => {
    // Not spawner.mjs with SPAWNER_STUBBORN=1: once its grandchildren die of the group SIGTERM
    // its event loop is empty and it exits by itself, so it never needs the SIGKILL.
    const dir = makeTmpDir('amg-stubborn-');
    const script = join(dir, 'stubborn-server.mjs');
    writeFileSync(script, STUBBORN_SERVER);
    const gw = spawnGateway({ stubborn: { command: process.execPath, args: [script] } }, { args: ['--log-level', 'debug'] });
    await gw.peer.initialize(20_000);
    const serverPid = Number(textOf(await exec(gw, 'stubborn', 'pid')));
    let tree: ProcessInfo[] = [];
    await waitFor(
      () => {
        tree = descendantsOf(gw.pid);
        return tree.some((p) => p.pid === serverPid) && tree.some((p) => p.cmd === 'sleep 1002');
      },
      { timeoutMs: 10_000, message: 'the stubborn server and its grandchild never appeared' },
    );
    const { ms, exit } = await stopAndMeasure(gw, 'stdin');
    measured.push(`stubborn server + grandchild (needs SIGKILL), stdin: exited ${ms.toFixed(1)} ms after stdin EOF`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(EXIT_DEADLINE_MS);
    await expectAllGone(tree, 'stubborn');
    // It really took the escalation: SIGTERM was ignored, SIGKILL was sent.
    const signals = logLines(gw)
      .filter((l) => l.msg === 'signalling downstream process group')
      .map((l) => l.signal);
    expect(signals).toEqual(['SIGTERM', 'SIGKILL']);
    expect(gw.peer.stderr()).toContain('stubborn: ignoring SIGTERM');
  });

  it('an idle gateway (no downstream started) exits at once on stdin EOF', async () => {
    const gw = spawnGateway({ echo: { command: process.execPath, args: [fixture('echo')] } });
    await gw.peer.initialize(20_000);
    expect(descendantsOf(gw.pid)).toEqual([]);
    const { ms, exit } = await stopAndMeasure(gw, 'stdin');
    measured.push(`idle, stdin: exited ${ms.toFixed(1)} ms after stdin EOF`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(EXIT_DEADLINE_MS);
  });

  it('a call in flight does not hold up the exit; its downstream goes too', async () => {
    const callLog = join(makeTmpDir('amg-life-calls-'), 'calls.jsonl');
    const gw = spawnGateway({ echo: { command: process.execPath, args: [fixture('echo')], env: { FIXTURE_CALL_LOG: callLog } } });
    await gw.peer.initialize(20_000);
    expect(textOf(await exec(gw, 'echo', 'echo', { message: 'hi' }))).toBe('hi');
    const tree = descendantsOf(gw.pid);
    expect(tree.length).toBeGreaterThanOrEqual(1);
    gw.peer.send({
      jsonrpc: '2.0',
      id: 'slow-1',
      method: 'tools/call',
      params: { name: 'execute_tool', arguments: { agent_id: AGENT, server: 'echo', tool: 'slow', args: { ms: 60_000 } } },
    });
    await waitFor(() => readJsonl(callLog).some((l) => l['tool'] === 'slow'), { message: 'the slow call never reached the downstream' });
    const { ms, exit } = await stopAndMeasure(gw, 'stdin');
    measured.push(`call in flight, stdin: exited ${ms.toFixed(1)} ms after stdin EOF`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(EXIT_DEADLINE_MS);
    await expectAllGone(tree, 'in-flight');
  });
});

// ------------------------------------------------------------------------------------------
describe('stdout is JSON-RPC only; logs go to stderr', () => {
  it('noisy downstream (garbage on its stdout, flood on its stderr) + --log-level debug: stdout stays clean', async () => {
    const gw = spawnGateway(
      {
        noisy: { command: process.execPath, args: [fixture('noisy')] },
        echo: { command: process.execPath, args: [fixture('echo')] },
      },
      { args: ['--log-level', 'debug', '--debug'] },
    );
    await gw.peer.initialize(20_000);
    const list = await gw.peer.request('tools/list', {}, 10_000);
    expect((list.result?.tools as Array<{ name: string }>).map((t) => t.name)).toContain('get_gateway_status');
    await gw.peer.request('tools/call', { name: 'list_servers', arguments: { agent_id: AGENT, include_metadata: true } });
    await gw.peer.request('tools/call', { name: 'get_server_tools', arguments: { agent_id: AGENT, server: 'noisy' } }, 20_000);
    for (let i = 0; i < 5; i++) expect(textOf(await exec(gw, 'noisy', 'echo', { message: `m${i}` }))).toBe(`m${i}`);
    await gw.peer.request('tools/call', {
      name: 'execute_tool',
      arguments: { agent_id: AGENT, server: 'echo', tool: 'progress', args: { steps: 2, delayMs: 20 } },
      _meta: { progressToken: 'p' },
    });
    await exec(gw, 'echo', 'fail'); // a downstream isError result
    await gw.peer.request('tools/call', { name: 'execute_tool', arguments: { agent_id: 'nobody', server: 'echo', tool: 'echo' } });
    await gw.peer.request('tools/call', { name: 'no_such_tool', arguments: {} }); // JSON-RPC error path
    await gw.peer.request('tools/call', { name: 'get_gateway_status', arguments: { agent_id: AGENT } });
    // Let the stderr flood run to its end and the periodic garbage run for ten more ticks.
    const noise = async () => JSON.parse(textOf(await exec(gw, 'noisy', 'noise_stats'))) as { floodDone: boolean; garbageLines: number };
    const garbageBefore = (await noise()).garbageLines;
    await waitFor(
      async () => {
        const now = await noise();
        return now.floodDone && now.garbageLines >= garbageBefore + 30;
      },
      { message: 'the noisy server never finished its flood' },
    );
    gw.peer.endStdin();
    await gw.peer.exit;

    expect(gw.peer.nonJsonLines).toEqual([]);
    expect(gw.peer.messages.length).toBeGreaterThanOrEqual(12);
    for (const m of gw.peer.messages) expect(m).toMatchObject({ jsonrpc: '2.0' });
    // Nothing of the downstream's stdout garbage leaked through as a message either.
    expect(JSON.stringify(gw.peer.messages)).not.toContain('hello from noisy stdout');
    expect(JSON.stringify(gw.peer.messages)).not.toContain('not JSON-RPC');

    // stderr: pino JSON lines only, debug level present, downstream output logged with its server name.
    const logs = logLines(gw);
    expect(logs.some((l) => l.level === 20)).toBe(true);
    expect(logs.some((l) => l.level === 20 && l.server === 'noisy')).toBe(true);
  });

  it('the start-up summary (info, stderr) names config paths, servers, agents, tools, audit log and debug mode', async () => {
    const gw = spawnGateway(
      {
        echo: { command: process.execPath, args: [fixture('echo')] },
        db: { command: process.execPath, args: [fixture('fake-db')] },
      },
      {
        rules: { agents: { tester: { allow: { servers: ['*'] } }, other: { allow: { servers: ['db'] } } } },
        args: ['--debug'],
      },
    );
    await gw.peer.initialize(20_000);
    await waitFor(() => logLines(gw).some((l) => /ready/.test(String(l.msg))), { timeoutMs: 5000 });
    const summary = logLines(gw).find((l) => /ready/.test(String(l.msg)))!;
    expect(summary.level).toBe(30);
    expect(summary).toMatchObject({
      mcp_config: gw.mcpConfigPath,
      rules: gw.rulesPath,
      servers: ['echo', 'db'],
      agents: ['tester', 'other'],
      audit_log: gw.auditPath,
      debug: true,
    });
    expect(summary.tools).toEqual(DEBUG_META_TOOL_NAMES);
    expect(summary.default_policy).toEqual(expect.any(String));
    gw.peer.endStdin();
    await gw.peer.exit;
    expect(gw.peer.nonJsonLines).toEqual([]);
  });

  it('without --debug the summary says debug false and lists the five meta-tools; --log-level warn hides it', async () => {
    const plain = spawnGateway({ echo: { command: process.execPath, args: [fixture('echo')] } });
    const quiet = spawnGateway({ echo: { command: process.execPath, args: [fixture('echo')] } }, { env: { GATEWAY_LOG_LEVEL: 'warn' } });
    await Promise.all([plain.peer.initialize(20_000), quiet.peer.initialize(20_000)]);
    await waitFor(() => logLines(plain).some((l) => /ready/.test(String(l.msg))), { timeoutMs: 5000 });
    const summary = logLines(plain).find((l) => /ready/.test(String(l.msg)))!;
    expect(summary).toMatchObject({ debug: false, tools: META_TOOL_NAMES });
    plain.peer.endStdin();
    quiet.peer.endStdin();
    await Promise.all([plain.peer.exit, quiet.peer.exit]);
    expect(logLines(quiet).filter((l) => (l.level as number) < 40)).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------
describe('start-up and noisy servers never block calls', () => {
  it('--init-strategy eager with a server that dies and one that never answers initialize: start-up and other servers are prompt', async () => {
    const t0 = performance.now();
    const gw = spawnGateway(
      {
        broken: { command: process.execPath, args: [fixture('never-starts')] },
        hanging: { command: process.execPath, args: [fixture('slow-start')] },
        echo: { command: process.execPath, args: [fixture('echo')] },
      },
      { args: ['--init-strategy', 'eager', '--debug'] },
    );
    const init: JsonRpcResponse = await gw.peer.initialize(20_000);
    const initMs = performance.now() - t0;
    expect(init.result?.serverInfo).toMatchObject({ name: 'agent-mcp-gateway' });

    // Eager really started them: all three children exist without any call.
    await waitFor(() => descendantsOf(gw.pid).some((p) => p.cmd.includes('slow-start.mjs')), {
      timeoutMs: 10_000,
      message: 'eager start did not spawn slow-start',
    });
    const t1 = performance.now();
    const r = await exec(gw, 'echo', 'echo', { message: 'prompt' }, 10_000);
    const callMs = performance.now() - t1;
    expect(textOf(r)).toBe('prompt');
    measured.push(`eager: initialize answered after ${initMs.toFixed(0)} ms (incl. node start), echo call ${callMs.toFixed(0)} ms`);
    // Generous bounds for a loaded machine; the hanging server's connect timeout is 30 s.
    expect(initMs).toBeLessThan(10_000);
    expect(callMs).toBeLessThan(5_000);

    const status = await gw.peer.request('tools/call', { name: 'get_gateway_status', arguments: { agent_id: AGENT } });
    const servers = (status.result?.structuredContent as { servers: Array<{ name: string; state: string }> }).servers;
    const state = Object.fromEntries(servers.map((s) => [s.name, s.state]));
    expect(state.echo).toBe('ready');
    expect(state.hanging).toBe('connecting');
    await waitFor(
      async () => {
        const s = await gw.peer.request('tools/call', { name: 'get_gateway_status', arguments: { agent_id: AGENT } });
        const list = (s.result?.structuredContent as { servers: Array<{ name: string; state: string }> }).servers;
        return list.find((x) => x.name === 'broken')?.state === 'failed';
      },
      { timeoutMs: 10_000, message: 'the broken server never showed as failed' },
    );

    // The broken one answers SERVER_UNAVAILABLE with its stderr, promptly.
    const b = await exec(gw, 'broken', 'anything', {}, 15_000);
    expect(b.isError).toBe(true);
    expect((b.structuredContent as { error: { code: string } }).error.code).toBe('SERVER_UNAVAILABLE');
    expect(textOf(b)).toContain('fatal: cannot start (fixture)');

    // Shutdown with a server stuck in initialize is still fast and complete.
    const tree = descendantsOf(gw.pid);
    const { ms, exit } = await stopAndMeasure(gw, 'stdin');
    measured.push(`eager with a hanging server, stdin: exited ${ms.toFixed(1)} ms after stdin EOF`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(EXIT_DEADLINE_MS);
    await expectAllGone(tree, 'eager');
  });

  it('GATEWAY_INIT_STRATEGY=eager works like the flag', async () => {
    const gw = spawnGateway({ echo: { command: process.execPath, args: [fixture('echo')] } }, { env: { GATEWAY_INIT_STRATEGY: 'eager' } });
    await gw.peer.initialize(20_000);
    await waitFor(() => descendantsOf(gw.pid).some((p) => p.cmd.includes('echo.mjs')), {
      timeoutMs: 10_000,
      message: 'GATEWAY_INIT_STRATEGY=eager did not start the server',
    });
    gw.peer.endStdin();
    await gw.peer.exit;
  });

  it('lazy (default): nothing starts before the first call', async () => {
    const gw = spawnGateway({ echo: { command: process.execPath, args: [fixture('echo')] } });
    await gw.peer.initialize(20_000);
    await gw.peer.request('tools/list');
    await gw.peer.request('tools/call', { name: 'list_servers', arguments: { agent_id: AGENT } });
    expect(descendantsOf(gw.pid)).toEqual([]);
    gw.peer.endStdin();
    await gw.peer.exit;
  });

  it('a downstream flooding 2 MiB on stderr never blocks calls', async () => {
    const gw = spawnGateway({ noisy: { command: process.execPath, args: [fixture('noisy')], env: { NOISY_STDERR_BYTES: String(2 * 1024 * 1024) } } });
    await gw.peer.initialize(20_000);
    const latencies: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      expect(textOf(await exec(gw, 'noisy', 'echo', { message: `n${i}` }, 10_000))).toBe(`n${i}`);
      latencies.push(performance.now() - t);
    }
    // The flood finished while we were calling, so it was drained, not just outwaited.
    await waitFor(
      async () => {
        const s = await exec(gw, 'noisy', 'noise_stats', {}, 10_000);
        const stats = s.structuredContent as { floodDone: boolean; stderrBytes: number };
        return stats.floodDone && stats.stderrBytes >= 2 * 1024 * 1024;
      },
      { timeoutMs: 20_000, message: 'the stderr flood never completed (is stderr drained?)' },
    );
    const worst = Math.max(...latencies.slice(1)); // the first call includes the start
    measured.push(`noisy: worst echo latency during the 2 MiB stderr flood ${worst.toFixed(0)} ms`);
    expect(worst).toBeLessThan(5_000);
    // The gateway's own stderr did not get the whole flood (it is debug-level and rate-limited).
    expect(gw.peer.stderr().length).toBeLessThan(1024 * 1024);
    gw.peer.endStdin();
    await gw.peer.exit;
    expect(gw.peer.nonJsonLines).toEqual([]);
  });
});
