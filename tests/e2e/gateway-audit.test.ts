// The audit log and metrics of the built gateway over real stdio (issue 3, "Audit log and
// metrics"): one whole JSONL line per gateway tool call, whatever its outcome (allowed, denied,
// failed, timed out, invalid, cancelled), with the documented fields; argument values only with
// GATEWAY_AUDIT_ARGS=full; every record present and whole under 1,000 concurrent calls and
// flushed on exit; `off` writes nothing; get_gateway_status reports per-operation and per-agent
// statistics and each server's state.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { callTool, readJsonl, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { GATEWAY_MAIN, fixture } from '../helpers/paths.js';
import { descendantsOf, isAlive, waitFor } from '../helpers/processes.js';
import { spawnRaw, type RawStdioPeer } from '../helpers/rawStdio.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { codeOf } from '../helpers/results.js';

const MARKER = `gw-audit-${process.pid}-${Date.now()}`;
const ENV = { GW_E2E_MARKER: MARKER };
const BASE_ENV: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) BASE_ENV[k] = v;
BASE_ENV.GW_E2E_MARKER = MARKER;

/** A value that must never appear in the audit log unless GATEWAY_AUDIT_ARGS=full. */
const SECRET = `s3cr3t-${Date.now()}-do-not-log`;

const ECHO = { command: process.execPath, args: [fixture('echo')] };
const RULES = {
  agents: {
    tester: { allow: { servers: ['echo', 'ghost'] }, deny: { tools: { echo: ['pid'] } } },
    other: { allow: { servers: ['echo'] } },
  },
};

const REQUIRED_FIELDS = [
  'ts',
  'id',
  'agent',
  'identity_source',
  'operation',
  'server',
  'tool',
  'decision',
  'code',
  'rule',
  'latency_ms',
  'arg_keys',
  'args_sha256',
  'isError',
] as const;

const gateways: GatewayHandle[] = [];
const rawPeers: RawStdioPeer[] = [];

async function start(opts: Partial<Parameters<typeof startGateway>[0]> = {}): Promise<GatewayHandle> {
  const gw = await startGateway({ mcpServers: { echo: ECHO }, rules: RULES, ...opts, env: { ...ENV, ...opts.env } });
  gateways.push(gw);
  return gw;
}

/** Every record has every field, with the documented types. */
function expectWellFormed(rec: Record<string, unknown>): void {
  for (const f of REQUIRED_FIELDS) expect(rec, `field ${f} in ${JSON.stringify(rec)}`).toHaveProperty(f);
  expect(rec.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  expect(new Date(rec.ts as string).toISOString()).toBe(rec.ts);
  expect(rec.id).toEqual(expect.any(String));
  expect((rec.id as string).length).toBeGreaterThan(0);
  expect(['ALLOW', 'DENY', 'ERROR', 'TIMEOUT']).toContain(rec.decision);
  expect(rec.latency_ms).toEqual(expect.any(Number));
  expect(rec.latency_ms as number).toBeGreaterThanOrEqual(0);
  expect(Array.isArray(rec.arg_keys)).toBe(true);
  expect(rec.args_sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(typeof rec.isError).toBe('boolean');
  if (rec.agent !== null) expect(['bound', 'argument', 'env_default', 'default_agent']).toContain(rec.identity_source);
}

/** Spawns the gateway without the helper's --audit-log, to test the default path and `off`. */
function spawnBare(args: string[], env: Record<string, string>): { peer: RawStdioPeer; dir: string; home: string } {
  const dir = makeTmpDir('amg-audit-bare-');
  const home = join(dir, 'home');
  const mcp = join(dir, 'servers.json');
  const rules = join(dir, 'rules.json');
  writeJson(mcp, { mcpServers: { echo: ECHO } });
  writeJson(rules, RULES);
  const peer = spawnRaw(process.execPath, [GATEWAY_MAIN, '--mcp-config', mcp, '--rules', rules, ...args], {
    // The lockfile of first use would be one more file in `dir`; these tests count the audit log's files.
    env: { ...BASE_ENV, HOME: home, GATEWAY_PINNING: 'off', ...env },
    cwd: dir,
  });
  rawPeers.push(peer);
  return { peer, dir, home };
}

guardAgainstLeaks(MARKER, {
  close: async () => {
    await Promise.allSettled(gateways.map((g) => g.close()));
    for (const p of rawPeers) p.endStdin();
    await Promise.allSettled(rawPeers.map((p) => p.exit));
  },
  what: 'processes left behind by gateway-audit tests',
});

// ------------------------------------------------------------------------------------------
describe('one line per gateway tool call, every outcome', () => {
  it('allowed, denied, failed, timed out, invalid and cancelled calls are each recorded with the right fields', async () => {
    const callLog = join(makeTmpDir('amg-audit-calls-'), 'calls.jsonl');
    const gw = await start({ mcpServers: { echo: { ...ECHO, env: { FIXTURE_CALL_LOG: callLog } } } });
    const c = gw.client;
    const x = (args: Record<string, unknown>) => callTool(c, 'execute_tool', args);

    const results: Record<string, CallToolResult> = {};
    results.allow = await x({ agent_id: 'tester', server: 'echo', tool: 'echo_args', args: { b: 2, a: SECRET, nested: { y: 1, x: [1, 2] } } });
    results.allowSameArgsOtherOrder = await x({
      agent_id: 'tester',
      server: 'echo',
      tool: 'echo_args',
      args: { nested: { x: [1, 2], y: 1 }, a: SECRET, b: 2 },
    });
    results.allowOtherArgs = await x({ agent_id: 'tester', server: 'echo', tool: 'echo_args', args: { a: 'different', b: 2 } });
    results.downstreamIsError = await x({ agent_id: 'tester', server: 'echo', tool: 'fail', args: { message: SECRET } });
    results.deniedTool = await x({ agent_id: 'tester', server: 'echo', tool: 'pid', args: { token: SECRET } });
    results.deniedServer = await x({ agent_id: 'other', server: 'ghost', tool: 'anything' });
    results.missingAgent = await x({ server: 'echo', tool: 'echo', args: { message: SECRET } });
    results.unknownAgent = await x({ agent_id: 'nobody', server: 'echo', tool: 'echo' });
    results.serverNotFound = await x({ agent_id: 'tester', server: 'ghost', tool: 'anything' });
    results.toolNotFound = await x({ agent_id: 'tester', server: 'echo', tool: 'no_such_tool' });
    results.invalid = await x({ agent_id: 'tester', server: 'echo' });
    results.timeout = await x({ agent_id: 'tester', server: 'echo', tool: 'slow', args: { ms: 30_000 }, timeout_ms: 100 });
    results.listServers = await callTool(c, 'list_servers', { agent_id: 'tester' });
    results.getServerTools = await callTool(c, 'get_server_tools', { agent_id: 'tester', server: 'echo', pattern: 'e*' });
    // An unknown gateway tool is a JSON-RPC error, and still audited.
    await expect(callTool(c, 'no_such_gateway_tool', { agent_id: 'tester' })).rejects.toThrow(/Unknown tool/);
    // A cancelled call gets no response, and is still audited.
    const controller = new AbortController();
    const cancelled = callTool(
      c,
      'execute_tool',
      { agent_id: 'tester', server: 'echo', tool: 'slow', args: { ms: 30_000 } },
      {
        signal: controller.signal,
      },
    );
    cancelled.catch(() => {});
    // The timed-out call above was the first slow one; abort once this second one is running.
    await waitFor(() => readJsonl(callLog).filter((l) => l['tool'] === 'slow').length === 2, { message: 'the slow call never reached echo' });
    controller.abort();
    await expect(cancelled).rejects.toThrow();

    // Sanity: the calls did what their names say.
    expect(results.allow!.isError).not.toBe(true);
    expect(results.downstreamIsError!.isError).toBe(true);
    expect(codeOf(results.deniedTool!)).toBe('DENIED_BY_POLICY');
    expect(codeOf(results.deniedServer!)).toBe('DENIED_BY_POLICY');
    expect(codeOf(results.missingAgent!)).toBe('MISSING_AGENT_ID');
    expect(codeOf(results.unknownAgent!)).toBe('INVALID_AGENT_ID');
    expect(codeOf(results.serverNotFound!)).toBe('SERVER_NOT_FOUND');
    expect(codeOf(results.toolNotFound!)).toBe('TOOL_NOT_FOUND');
    expect(codeOf(results.invalid!)).toBe('INVALID_ARGUMENT');
    expect(codeOf(results.timeout!)).toBe('TIMEOUT');

    await gw.close();
    const raw = readFileSync(gw.auditPath, 'utf8');
    expect(raw.endsWith('\n')).toBe(true);
    const recs = readJsonl(gw.auditPath);
    expect(recs).toHaveLength(16);
    for (const r of recs) expectWellFormed(r);
    expect(new Set(recs.map((r) => r.id)).size).toBe(16);

    // No argument value anywhere in the file, by default.
    expect(raw).not.toContain(SECRET);
    expect(recs.every((r) => !('args' in r))).toBe(true);
    // ... nor in the gateway's logs.
    expect(gw.stderr()).not.toContain(SECRET);

    const [allow, same, otherArgs, isErr, deniedTool, deniedServer, missing, unknown, notFound, toolNotFound, invalid, timeout, ls, gst, unknownOp, cancel] =
      recs as Array<Record<string, unknown>>;

    expect(allow).toMatchObject({
      agent: 'tester',
      identity_source: 'argument',
      operation: 'execute_tool',
      server: 'echo',
      tool: 'echo_args',
      decision: 'ALLOW',
      code: null,
      rule: 'implicit',
      isError: false,
    });
    expect([...(allow!.arg_keys as string[])].sort()).toEqual(['a', 'b', 'nested']);
    // Canonical hashing: same arguments in another key order hash alike; other values do not.
    expect(same!.args_sha256).toBe(allow!.args_sha256);
    expect(otherArgs!.args_sha256).not.toBe(allow!.args_sha256);

    expect(isErr).toMatchObject({ decision: 'ALLOW', code: null, isError: true, tool: 'fail', arg_keys: ['message'] });
    expect(deniedTool).toMatchObject({
      agent: 'tester',
      decision: 'DENY',
      code: 'DENIED_BY_POLICY',
      server: 'echo',
      tool: 'pid',
      rule: 'agents.tester.deny.tools.echo[0]',
      isError: true,
      arg_keys: ['token'],
    });
    expect(deniedServer).toMatchObject({
      agent: 'other',
      decision: 'DENY',
      code: 'DENIED_BY_POLICY',
      server: 'ghost',
      rule: 'agents.other.allow.servers',
      isError: true,
    });
    expect(missing).toMatchObject({
      agent: null,
      identity_source: null,
      decision: 'DENY',
      code: 'MISSING_AGENT_ID',
      rule: 'defaults.deny_on_missing_agent',
      server: 'echo',
      tool: 'echo',
      isError: true,
    });
    expect(missing).not.toHaveProperty('requested_agent');
    // A refused identity still records who was claimed and what was aimed at.
    expect(unknown).toMatchObject({
      agent: null,
      requested_agent: 'nobody',
      decision: 'DENY',
      code: 'INVALID_AGENT_ID',
      server: 'echo',
      tool: 'echo',
      isError: true,
    });
    expect(allow).not.toHaveProperty('requested_agent');
    expect(notFound).toMatchObject({ agent: 'tester', decision: 'ERROR', code: 'SERVER_NOT_FOUND', server: 'ghost', isError: true });
    expect(toolNotFound).toMatchObject({ decision: 'ERROR', code: 'TOOL_NOT_FOUND', server: 'echo', tool: 'no_such_tool', isError: true });
    expect(invalid).toMatchObject({ decision: 'ERROR', code: 'INVALID_ARGUMENT', isError: true });
    expect(timeout).toMatchObject({ decision: 'TIMEOUT', code: 'TIMEOUT', server: 'echo', tool: 'slow', isError: true, arg_keys: ['ms'] });
    expect(timeout!.latency_ms as number).toBeGreaterThanOrEqual(90);
    expect(ls).toMatchObject({ operation: 'list_servers', decision: 'ALLOW', agent: 'tester', isError: false });
    expect(gst).toMatchObject({ operation: 'get_server_tools', decision: 'ALLOW', server: 'echo', isError: false });
    expect([...(gst!.arg_keys as string[])].sort()).toEqual(['agent_id', 'pattern', 'server']);
    expect(unknownOp).toMatchObject({ operation: 'no_such_gateway_tool', decision: 'ERROR', code: 'TOOL_NOT_FOUND', isError: true });
    expect(cancel).toMatchObject({ operation: 'execute_tool', tool: 'slow', decision: 'ERROR', code: 'CANCELLED', isError: true });
  });

  it('identity_source is bound, argument, env_default or default_agent as the identity was resolved', async () => {
    const fallbackRules = {
      agents: { helper: { allow: { servers: ['echo'] } }, default: { allow: { servers: ['echo'] } } },
      defaults: { deny_on_missing_agent: false },
    };
    const [bound, envDefault, defaultAgent] = await Promise.all([
      start({ args: ['--agent', 'tester'] }),
      start({ rules: fallbackRules, env: { GATEWAY_DEFAULT_AGENT: 'helper' } }),
      start({ rules: fallbackRules }),
    ]);
    await callTool(bound.client, 'list_servers', {});
    await callTool(bound.client, 'list_servers', { agent_id: 'tester' });
    await callTool(envDefault.client, 'list_servers', {});
    await callTool(envDefault.client, 'list_servers', { agent_id: 'default' });
    await callTool(defaultAgent.client, 'list_servers', {});
    await Promise.all([bound.close(), envDefault.close(), defaultAgent.close()]);
    expect(readJsonl(bound.auditPath).map((r) => [r.agent, r.identity_source])).toEqual([
      ['tester', 'bound'],
      ['tester', 'bound'],
    ]);
    expect(readJsonl(envDefault.auditPath).map((r) => [r.agent, r.identity_source])).toEqual([
      ['helper', 'env_default'],
      ['default', 'argument'],
    ]);
    expect(readJsonl(defaultAgent.auditPath).map((r) => [r.agent, r.identity_source])).toEqual([['default', 'default_agent']]);
  });

  it('GATEWAY_AUDIT_ARGS=full (and --audit-args full) records the argument values too', async () => {
    const [viaEnv, viaFlag] = await Promise.all([start({ env: { GATEWAY_AUDIT_ARGS: 'full' } }), start({ args: ['--audit-args', 'full'] })]);
    for (const gw of [viaEnv, viaFlag]) {
      await callTool(gw.client, 'execute_tool', { agent_id: 'tester', server: 'echo', tool: 'echo', args: { message: SECRET } });
      await callTool(gw.client, 'execute_tool', { agent_id: 'tester', server: 'echo', tool: 'pid', args: { token: SECRET } });
    }
    await Promise.all([viaEnv.close(), viaFlag.close()]);
    for (const gw of [viaEnv, viaFlag]) {
      const recs = readJsonl(gw.auditPath);
      expect(recs).toHaveLength(2);
      expect(recs[0]).toMatchObject({ decision: 'ALLOW', args: { message: SECRET }, arg_keys: ['message'] });
      expect(recs[1]).toMatchObject({ decision: 'DENY', args: { token: SECRET } });
      for (const r of recs) expectWellFormed(r);
    }
  });
});

// ------------------------------------------------------------------------------------------
describe('completeness under concurrency, flushed on exit', () => {
  it('1,000 concurrent execute_tool calls -> exactly 1,000 whole lines after the gateway exits', async () => {
    const gw = await start();
    const N = 1000;
    const calls = Array.from({ length: N }, (_, i) =>
      callTool(
        gw.client,
        'execute_tool',
        i % 10 === 0
          ? { agent_id: 'tester', server: 'echo', tool: 'pid', args: { i } } // denied
          : { agent_id: 'tester', server: 'echo', tool: 'echo', args: { message: `m${i}`, pad: 'x'.repeat(i % 97) } },
        { timeout: 120_000 },
      ),
    );
    const results = await Promise.all(calls);
    expect(results.filter((r) => codeOf(r) === 'DENIED_BY_POLICY')).toHaveLength(100);
    // Exit right after the last answer: whatever is still buffered must be flushed on the way out.
    await gw.close();

    const raw = readFileSync(gw.auditPath, 'utf8');
    expect(raw.endsWith('\n')).toBe(true);
    const lines = raw.slice(0, -1).split('\n');
    expect(lines).toHaveLength(N);
    const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>); // each line is one whole record
    for (const r of recs) expectWellFormed(r);
    expect(new Set(recs.map((r) => r.id)).size).toBe(N);
    expect(recs.filter((r) => r.decision === 'ALLOW')).toHaveLength(900);
    expect(recs.filter((r) => r.decision === 'DENY')).toHaveLength(100);
    expect(recs.every((r) => r.operation === 'execute_tool')).toBe(true);
  });

  it('SIGTERM right after 200 calls: every line is still there', async () => {
    const gw = await start();
    const N = 200;
    await Promise.all(
      Array.from({ length: N }, (_, i) => callTool(gw.client, 'execute_tool', { agent_id: 'tester', server: 'echo', tool: 'echo', args: { message: `t${i}` } })),
    );
    process.kill(gw.pid, 'SIGTERM');
    await gw.exited;
    const recs = readJsonl(gw.auditPath);
    expect(recs).toHaveLength(N);
    expect(new Set(recs.map((r) => r.id)).size).toBe(N);
  });
});

// ------------------------------------------------------------------------------------------
describe('where the audit log goes', () => {
  async function runSomeCalls(peer: RawStdioPeer): Promise<void> {
    await peer.initialize(20_000);
    await peer.request('tools/call', { name: 'list_servers', arguments: { agent_id: 'tester' } });
    await peer.request(
      'tools/call',
      {
        name: 'execute_tool',
        arguments: { agent_id: 'tester', server: 'echo', tool: 'echo', args: { message: SECRET } },
      },
      20_000,
    );
    await peer.request('tools/call', { name: 'execute_tool', arguments: { agent_id: 'tester', server: 'echo', tool: 'pid' } });
    peer.endStdin();
    expect(await peer.exit).toEqual({ code: 0, signal: null });
  }

  /** Every file under `dir`, relative. */
  function filesUnder(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort();
  }

  it('default: ~/.cache/agent-mcp-gateway/logs/audit.jsonl', async () => {
    const { peer, home } = spawnBare([], {});
    await runSomeCalls(peer);
    const path = join(home, '.cache', 'agent-mcp-gateway', 'logs', 'audit.jsonl');
    const recs = readJsonl(path);
    expect(recs.map((r) => r.operation)).toEqual(['list_servers', 'execute_tool', 'execute_tool']);
  });

  it('--audit-log off writes nothing anywhere', async () => {
    const { peer, dir } = spawnBare(['--audit-log', 'off'], {});
    await runSomeCalls(peer);
    expect(filesUnder(dir)).toEqual(['rules.json', 'servers.json']);
    expect(peer.stderr()).toMatch(/"audit_log":"off"/);
  });

  it('GATEWAY_AUDIT_LOG=off writes nothing anywhere', async () => {
    const { peer, dir } = spawnBare([], { GATEWAY_AUDIT_LOG: 'off' });
    await runSomeCalls(peer);
    expect(filesUnder(dir)).toEqual(['rules.json', 'servers.json']);
  });

  it('GATEWAY_AUDIT_LOG=<path> is used (relative to the working directory), creating folders', async () => {
    const { peer, dir } = spawnBare([], { GATEWAY_AUDIT_LOG: 'logs/deep/a.jsonl' });
    await runSomeCalls(peer);
    expect(readJsonl(join(dir, 'logs', 'deep', 'a.jsonl'))).toHaveLength(3);
  });
});

// ------------------------------------------------------------------------------------------
describe('get_gateway_status (--debug)', () => {
  interface Summary {
    count: number;
    errors: number;
    p50_ms: number;
    p95_ms: number;
    p99_ms: number;
  }
  interface Status {
    version: string;
    uptime_s: number;
    config_paths: { mcp_config: string; gateway_rules: string };
    agents: { caller: string; ids?: string[] };
    audit_log: string | null;
    servers: Array<{ name: string; state: string; pid: number | null; tools_cached: number | null; last_error: string | null; stderr_tail: string | null }>;
    metrics: { by_operation: Record<string, Summary>; by_agent: Record<string, Record<string, Summary>> };
  }

  it('shows per-operation and per-agent count/errors/p50/p95/p99, server states, pids and cached tools', async () => {
    const gw = await startGateway({
      mcpServers: {
        echo: ECHO,
        unused: { command: process.execPath, args: [fixture('echo')] },
        broken: { command: process.execPath, args: [fixture('never-starts')] },
      },
      rules: {
        agents: {
          tester: { allow: { servers: ['*'] }, deny: { tools: { echo: ['pid'] } } },
          timer: { allow: { servers: ['echo'] } },
        },
      },
      args: ['--debug'],
      env: ENV,
    });
    gateways.push(gw);
    const c = gw.client;
    const x = (args: Record<string, unknown>) => callTool(c, 'execute_tool', args);
    // tester: 3 ok, 1 denied, 1 downstream isError, 1 unavailable server
    for (let i = 0; i < 3; i++) await x({ agent_id: 'tester', server: 'echo', tool: 'echo', args: { message: 'x' } });
    await x({ agent_id: 'tester', server: 'echo', tool: 'pid' });
    await x({ agent_id: 'tester', server: 'echo', tool: 'fail' });
    const b = await x({ agent_id: 'tester', server: 'broken', tool: 'anything' });
    expect(codeOf(b)).toBe('SERVER_UNAVAILABLE');
    await callTool(c, 'list_servers', { agent_id: 'tester' });
    // timer: 4 calls of 250 ms, so its percentiles are known from below.
    for (let i = 0; i < 4; i++) await x({ agent_id: 'timer', server: 'echo', tool: 'slow', args: { ms: 250 } });

    const r = await callTool(c, 'get_gateway_status', { agent_id: 'tester' });
    expect(r.isError).not.toBe(true);
    const status = r.structuredContent as unknown as Status;
    expect(JSON.parse((r.content[0] as { text: string }).text)).toEqual(status);

    expect(status.version).toBe(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).version);
    expect(status.uptime_s).toEqual(expect.any(Number));
    expect(status.config_paths).toEqual({ mcp_config: gw.mcpConfigPath, gateway_rules: gw.rulesPath });
    // Another agent's id is never shown: in a gateway not bound to one agent, the id is all it takes to act as it.
    expect(status.agents.caller).toBe('tester');
    expect(status.agents.ids).toBeUndefined();
    expect(status.audit_log).toBe(gw.auditPath);

    const exec = status.metrics.by_operation.execute_tool!;
    expect(exec).toMatchObject({ count: 10, errors: 3 });
    for (const s of [exec, status.metrics.by_operation.list_servers!]) {
      expect(s.p50_ms).toBeGreaterThanOrEqual(0);
      expect(s.p50_ms).toBeLessThanOrEqual(s.p95_ms);
      expect(s.p95_ms).toBeLessThanOrEqual(s.p99_ms);
    }
    expect(status.metrics.by_operation.list_servers).toMatchObject({ count: 1, errors: 0 });
    expect(status.metrics.by_agent.tester!.execute_tool).toMatchObject({ count: 6, errors: 3 });
    expect(status.metrics.by_agent.tester!.list_servers).toMatchObject({ count: 1, errors: 0 });
    // Each caller sees its own line of by_agent only.
    expect(Object.keys(status.metrics.by_agent)).toEqual(['tester']);
    const timerView = (await callTool(c, 'get_gateway_status', { agent_id: 'timer' })).structuredContent as unknown as Status;
    expect(Object.keys(timerView.metrics.by_agent)).toEqual(['timer']);
    const timer = timerView.metrics.by_agent.timer!.execute_tool!;
    expect(timer).toMatchObject({ count: 4, errors: 0 });
    expect(timer.p50_ms).toBeGreaterThanOrEqual(240);
    expect(timer.p99_ms).toBeGreaterThanOrEqual(timer.p50_ms);
    expect(timerView.metrics.by_agent.timer!.list_servers).toBeUndefined();
    // ... and only the servers its rules allow.
    expect(timerView.servers.map((s) => s.name)).toEqual(['echo']);

    const byName = Object.fromEntries(status.servers.map((s) => [s.name, s]));
    expect(status.servers.map((s) => s.name)).toEqual(['echo', 'unused', 'broken']);
    expect(byName.echo).toMatchObject({ state: 'ready', last_error: null });
    expect(byName.echo!.pid).toEqual(expect.any(Number));
    expect(isAlive(byName.echo!.pid!)).toBe(true);
    expect(descendantsOf(gw.pid).map((p) => p.pid)).toContain(byName.echo!.pid);
    const tools = await callTool(c, 'get_server_tools', { agent_id: 'timer', server: 'echo' });
    expect(byName.echo!.tools_cached).toBe((tools.structuredContent as { total_available: number }).total_available);
    expect(byName.unused).toMatchObject({ state: 'idle', pid: null, tools_cached: null, protocol_version: null });
    // The echo fixture is a v1 server: it answers the 2026 probe as unknown and speaks 2025.
    expect(byName.echo).toMatchObject({ protocol_version: '2025-11-25' });
    expect(byName.broken).toMatchObject({ state: 'failed', pid: null });
    expect(byName.broken!.last_error).toMatch(/broken/);
    expect(byName.broken!.stderr_tail).toContain('fatal: cannot start (fixture)');

    // The status calls themselves are counted afterwards.
    const again = (await callTool(c, 'get_gateway_status', { agent_id: 'timer' })).structuredContent as unknown as Status;
    expect(again.metrics.by_operation.get_gateway_status).toMatchObject({ count: 2 });
    expect(again.metrics.by_operation.execute_tool!.count).toBe(10);
  });

  it('is not offered without --debug', async () => {
    const gw = await start();
    const { tools } = await gw.client.listTools();
    expect(tools.map((t) => t.name)).not.toContain('get_gateway_status');
    await expect(callTool(gw.client, 'get_gateway_status', {})).rejects.toThrow(/Unknown tool/);
  });
});
